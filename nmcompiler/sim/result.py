"""Simulation results: spikes per population, recorded state traces, run statistics."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..fileio import OutputSet, UnreadableArray, open_npz

__all__ = ["SimResult", "Snapshots", "Trace", "read_weights_npz"]


@dataclass(frozen=True, kw_only=True)
class Trace:
    """State ``variable`` of ``population`` at the end of every step: ``values[step, ..., k]``
    for neuron ``neurons[k]`` (synaptic currents have a receptor axis before it)."""

    population: str
    variable: str
    neurons: np.ndarray
    values: np.ndarray


@dataclass(frozen=True, kw_only=True)
class SimResult:
    network: str
    dt: float
    steps: int
    sizes: dict[str, int]
    spike_steps: dict[str, np.ndarray]  # population -> step of each spike
    spike_ids: dict[str, np.ndarray]  # population -> neuron index of each spike
    traces: dict[str, Trace] = field(default_factory=dict)
    wall_time: float = 0.0
    synaptic_events: int = 0
    seed: int = 0
    simulator: str = "float"
    saturation: dict = field(default_factory=dict)  # bit-accurate: pop -> {"acc", "i", "v"} neuron-ticks saturated
    ranges: dict = field(default_factory=dict)  # float, on request: pop -> observed state ranges
    weights: dict = field(default_factory=dict)  # plastic projection -> PlasticWeights (sim.plasticity)
    learning_state: tuple = ()  # bit-accurate: every learning unit's integers (sim.bit_plasticity.UnitState)

    @property
    def duration(self) -> float:
        return self.steps * self.dt

    def spike_counts(self) -> dict[str, int]:
        return {k: int(v.size) for k, v in self.spike_steps.items()}

    def rates(self) -> dict[str, float]:
        """Mean firing rate per population in Hz."""
        return {k: v.size / (self.sizes[k] * self.duration) for k, v in self.spike_steps.items()}

    def spike_train(self, population: str, neuron: int) -> np.ndarray:
        """Steps at which one neuron spiked."""
        return self.spike_steps[population][self.spike_ids[population] == neuron]

    def summary(self) -> dict:
        rates = self.rates()
        return {
            "network": self.network,
            "simulator": self.simulator,
            "seed": self.seed,
            "dt": self.dt,
            "steps": self.steps,
            "duration": self.duration,
            "wall_time": self.wall_time,
            "realtime_factor": self.wall_time / self.duration if self.duration else None,
            "synaptic_events": self.synaptic_events,
            "synaptic_events_per_second": self.synaptic_events / self.wall_time if self.wall_time else None,
            "populations": {
                name: {"size": self.sizes[name], "spikes": int(self.spike_steps[name].size), "rate_hz": rates[name]}
                for name in self.spike_steps
            },
        }

    def spikes_npz_bytes(self) -> bytes:
        arrays = {"dt": np.array(self.dt), "steps": np.array(self.steps)}
        for name in self.spike_steps:
            arrays[f"{name}/times"] = self.spike_steps[name] * self.dt
            arrays[f"{name}/steps"] = self.spike_steps[name]
            arrays[f"{name}/ids"] = self.spike_ids[name]
        for label, tr in self.traces.items():
            arrays[f"trace/{label}/neurons"] = tr.neurons
            arrays[f"trace/{label}/values"] = tr.values
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()

    def weights_npz_bytes(self) -> bytes:
        """Per plastic projection ``P``: ``P/pre``, ``P/post`` (synapse k's neurons), ``P/final``
        and, when snapshots were recorded, ``P/history`` (one row per entry of ``P/steps``)."""
        arrays = {"dt": np.array(self.dt), "steps": np.array(self.steps)}
        for name, w in self.weights.items():
            arrays.update({f"{name}/pre": w.pre, f"{name}/post": w.post, f"{name}/final": w.final})
            if w.mantissa is not None:
                arrays[f"{name}/mantissa"] = w.mantissa
            if w.steps.size:
                arrays.update({f"{name}/steps": w.steps, f"{name}/times": w.steps * self.dt,
                               f"{name}/history": w.history})
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()

    def save(self, outdir: str | Path, *, include_timing: bool = True, extra: dict[str, bytes] | None = None) -> None:
        """Write ``spikes.npz``, ``summary.json``, (when projections learned) ``weights.npz`` and
        the ``extra`` files into ``outdir`` as one set (:class:`nmcompiler.fileio.OutputSet`)."""
        output = OutputSet(outdir)
        output.add("spikes.npz", self.spikes_npz_bytes())
        if self.weights:
            output.add("weights.npz", self.weights_npz_bytes())
        summary = self.summary()
        if not include_timing:
            for key in ("wall_time", "realtime_factor", "synaptic_events_per_second"):
                summary.pop(key)
        output.add_json("summary.json", summary)
        for name, data in (extra or {}).items():
            output.add(name, data)
        output.commit()


class Snapshots:
    """Copies of a simulator's plastic weights ``w`` (its table order) after step 0 and every
    ``every`` steps; ``weights(plastic)`` hands them to the simulator's ``plastic.weights``."""

    def __init__(self, w: np.ndarray | None, every: int | None):
        self.w, self.every = w, every
        self.steps: list[int] = []
        self.weights_at: list[np.ndarray] = []
        self.after(0)

    def after(self, step: int) -> None:
        if self.w is not None and self.every and step % self.every == 0:
            self.steps.append(step)
            self.weights_at.append(self.w.copy())

    def cuts(self, steps: int) -> set[int]:
        return set(range(0, steps, self.every)) if self.w is not None and self.every else set()

    def weights(self, plastic) -> dict:
        return {} if self.w is None else plastic.weights(self.weights_at, self.steps)


def read_weights_npz(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """Per projection of a ``weights.npz`` (:meth:`SimResult.save`): ``pre``, ``post``, ``final``
    and, from a bit-accurate run, ``mantissa``."""
    from ..errors import UserError

    try:
        with open_npz(path) as z:
            names = sorted({k.rsplit("/", 1)[0] for k in z.files if k.endswith("/final")})
            if not names:
                raise UserError(f"{path}: no learned weights in it (keys 'P/final' of an nmc simulate weights.npz)")
            return {n: {k: z[f"{n}/{k}"] for k in ("pre", "post", "final", "mantissa")
                        if k != "mantissa" or f"{n}/mantissa" in z.files} for n in names}
    except (OSError, ValueError, KeyError, UnreadableArray) as exc:
        raise UserError(f"{path}: cannot read learned weights ({exc})") from None
