"""Energy, latency and throughput estimates: a run's activity (:mod:`nmcompiler.sim.activity`,
counted per tick and core on a mapping) priced by the target's cost model
(:mod:`nmcompiler.targets.cost`).

Energy is the sum over event kinds of count x energy per event, plus a busy core's active power
for the time its work takes and every used chip's static power for the wall time. A tick's work on
a core is its neuron phase (``core_tick`` + ``neuron_update`` x neurons + ``spike`` x spikes) and
its synaptic phase (``synaptic_op`` x operations + ``message_in`` x messages received, plus
``event_phase`` if it receives any); a tick
takes the busiest core's neuron phase, the chip router's share (``router_spike`` x spikes +
``router_message`` x messages), the busiest core's synaptic phase and the ``barrier``. On a
``fixed`` model every tick takes ``period`` and a tick whose work needs longer is an overrun.
Everything is an estimate under the model it names; the figures the model assumes and the events
it leaves out travel with the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..sim.activity import Activity
from ..targets.cost import CostModel

__all__ = ["Estimate", "decision_tick", "estimate"]


@dataclass(frozen=True, kw_only=True, eq=False)
class Estimate:
    target: str
    model: CostModel
    steps: int
    dt: float  # biological time of one tick
    inferences: int  # runs the activity covers (energy and latency per inference divide by it)
    chips: int
    energy_by_kind: dict[str, float]  # J per kind: synaptic_op, neuron_update, spike, message, hop, active, static
    energy_per_core: np.ndarray  # J: the core's events and active power (static power is the chips')
    energy_per_population: dict[str, float]  # J: the events of the population's neurons
    busy_per_core: np.ndarray  # s of work per core over the run
    work_seconds: np.ndarray  # per tick: the time its work takes
    tick_seconds: np.ndarray  # per tick: wall time (the work, or the fixed period)
    # per inference, ticks until the output's decision stops changing (None: no output given)
    decisions: tuple[int, ...] | None = None

    @property
    def ticks_per_inference(self) -> int:
        return self.steps // max(self.inferences, 1)

    @property
    def decision(self) -> int | None:
        """The slowest inference's decision, in ticks."""
        return None if self.decisions is None else max(self.decisions, default=0)

    @property
    def decision_times(self) -> np.ndarray | None:
        """Per inference, the wall time until its decision (its own ticks up to it)."""
        if self.decisions is None:
            return None
        L = self.ticks_per_inference
        return np.array([self.tick_seconds[k * L:k * L + d].sum() for k, d in enumerate(self.decisions)])

    @property
    def energy(self) -> float | None:
        """Joules (None: the model has no energy figures)."""
        return float(sum(self.energy_by_kind.values())) if self.model.has_energy else None

    @property
    def wall_time(self) -> float:
        return float(self.tick_seconds.sum())

    @property
    def biological_time(self) -> float:
        return self.steps * self.dt

    @property
    def overruns(self) -> int:
        """Ticks of a fixed-period model whose work takes longer than the period."""
        if self.model.tick != "fixed":
            return 0
        return int(np.count_nonzero(self.work_seconds > self.model.seconds("period")))

    @property
    def cycles_per_tick(self) -> np.ndarray | None:
        return None if not self.model.cycles else np.rint(self.work_seconds * self.model.clock.value)

    @property
    def decision_time(self) -> float | None:
        """The slowest inference's wall time to its decision."""
        times = self.decision_times
        return None if times is None else float(times.max(initial=0.0))

    def to_json(self) -> dict:
        n, bio = max(self.inferences, 1), self.biological_time
        cycles = self.cycles_per_tick
        return {
            "estimate": True, "target": self.target, "model": self.model.to_json(),
            "assumed": self.model.assumptions(), "not_modelled": self.model.not_modelled(),
            "steps": self.steps, "dt": self.dt, "inferences": self.inferences, "chips": self.chips,
            "energy": None if self.energy is None else {
                "total_j": self.energy, "per_inference_j": self.energy / n,
                "per_biological_second_j": self.energy / bio if bio else None,
                "average_power_w": self.energy / self.wall_time if self.wall_time else None,
                "by_kind_j": dict(sorted(self.energy_by_kind.items())),
                "per_core_j": self.energy_per_core.tolist(), "per_population_j": self.energy_per_population},
            "latency": {"wall_time_s": self.wall_time, "per_inference_s": self.wall_time / n,
                        "tick_mean_s": self.wall_time / max(self.steps, 1),
                        "tick_max_s": float(self.tick_seconds.max(initial=0.0)),
                        "work_max_s": float(self.work_seconds.max(initial=0.0)),
                        "overruns": self.overruns, "decision_ticks": self.decision,
                        "decision_s": self.decision_time, **self._decision_means(),
                        "cycles_per_tick_mean": None if cycles is None else float(cycles.mean()) if cycles.size else 0.0,
                        "cycles_per_tick_max": None if cycles is None else float(cycles.max(initial=0))},
            "throughput": {"inferences_per_s": n / self.wall_time if self.wall_time else None,
                           "real_time_factor": self.wall_time / bio if bio else None},
            "busy_per_core_s": self.busy_per_core.tolist(),
        }

    def _decision_means(self) -> dict:
        if self.decisions is None or len(self.decisions) < 2:
            return {}
        return {"decision_ticks_mean": float(np.mean(self.decisions)),
                "decision_s_mean": float(self.decision_times.mean())}


def estimate(activity: Activity, model: CostModel, *, target: str, dt: float, inferences: int = 1,
             decisions: tuple[int, ...] | None = None) -> Estimate:
    """The estimate of a run whose ``activity`` was counted per tick on a mapping: ``inferences``
    runs of equal length one after another (``decisions``: each one's ticks to its decision)."""
    if activity.steps % max(inferences, 1):
        raise ValueError(f"{activity.steps} ticks do not divide into {inferences} inferences of equal length")
    cores = activity.cores
    if cores is None or cores.ticks is None:
        raise ValueError("estimates need the activity counted per tick on a mapping")
    work, busy = _times(cores, model)
    tick = np.full(activity.steps, model.seconds("period")) if model.tick == "fixed" else work
    chips = cores.chips_used
    by_kind = _events_energy(model, cores.synaptic_ops.sum(), cores.neuron_updates.sum(), cores.spikes_sent.sum(),
                             cores.messages.sum() + cores.host_messages, cores.hops_x.sum(), cores.hops_y.sum())
    by_kind["active"] = model.watts("active_per_core") * float(busy.sum())
    by_kind["static"] = model.watts("static_per_chip") * chips * float(tick.sum())
    per_core = sum(_events_energy(model, cores.synaptic_ops, cores.neuron_updates, cores.spikes_sent, cores.messages,
                                  cores.hops_x, cores.hops_y).values()) + model.watts("active_per_core") * busy
    per_pop = {name: float(sum(_events_energy(model, p.synaptic_ops, p.neuron_updates, p.spikes, p.messages or 0,
                                              p.hops_x or 0, p.hops_y or 0).values()))
               for name, p in activity.populations.items()}
    return Estimate(target=target, model=model, steps=activity.steps, dt=dt, inferences=inferences, chips=chips,
                    energy_by_kind=by_kind, energy_per_core=np.asarray(per_core, dtype=np.float64),
                    energy_per_population=per_pop, busy_per_core=busy, work_seconds=work, tick_seconds=tick,
                    decisions=None if decisions is None else tuple(int(d) for d in decisions))


def _events_energy(model: CostModel, ops, updates, spikes, messages, hops_x, hops_y) -> dict:
    """Energy per event kind of these counts (scalars or per-core arrays)."""
    hops = (model.joules("hop") * (hops_x + hops_y) if "hop" in model.energy
            else model.joules("hop_x") * hops_x + model.joules("hop_y") * hops_y)
    return {"synaptic_op": model.joules("synaptic_op") * ops, "neuron_update": model.joules("neuron_update") * updates,
            "spike": model.joules("spike") * spikes, "message": model.joules("message") * messages, "hop": hops}


def _times(cores, model: CostModel) -> tuple[np.ndarray, np.ndarray]:
    """Per tick the time its work takes, and per core the time it is busy over the run."""
    t = cores.ticks
    s = model.seconds
    neuron_phase = s("core_tick") + s("neuron_update") * cores.neurons[None, :] + s("spike") * t.spikes_sent
    synaptic_phase = (s("synaptic_op") * t.synaptic_ops + s("message_in") * t.messages_in
                      + s("event_phase") * (t.messages_in > 0))
    router = s("router_spike") * t.spikes_sent.sum(axis=1) + s("router_message") * t.messages_in.sum(axis=1)
    work = neuron_phase.max(axis=1, initial=0.0) + router + synaptic_phase.max(axis=1, initial=0.0) + s("barrier")
    return work, (neuron_phase + synaptic_phase).sum(axis=0)


def decision_tick(spike_steps: np.ndarray, spike_ids: np.ndarray, size: int, steps: int) -> int:
    """Ticks until the decision of an output population (the neuron with the most spikes so far,
    lowest index on ties) stops changing: 1 + the last tick at which it changed (0: no spike)."""
    if spike_steps.size == 0:
        return 0
    counts = np.zeros((steps, size), dtype=np.int64)
    np.add.at(counts, (spike_steps, spike_ids), 1)
    winner = np.argmax(np.cumsum(counts, axis=0), axis=1)
    winner[np.cumsum(counts.sum(axis=1)) == 0] = -1  # no spike yet: no decision
    changed = np.flatnonzero(winner[1:] != winner[:-1]) + 1
    return int(changed[-1]) + 1 if changed.size else 1
