"""Run an image on the RTL core and compare it bit for bit with the bit-accurate simulator.

The reference is :class:`nmcompiler.sim.bit_sim.BitAccurateSimulator` running the same image
(:func:`nmcompiler.image.to_program`), i.e. the datapath of :mod:`nmcompiler.datapath.neuron`; it
is imported, not rewritten. Spikes are compared per tick and neuron; with ``states`` also the
membrane and every current after each tick.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nmcompiler.errors import UserError
from nmcompiler.image.contents import ImageContents
from nmcompiler.image.program import core_synapses, to_program
from nmcompiler.targets.encoding import storage_layout
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.sim.inputs import SourceSpikes
from nmcompiler.lowered import SimProgram, probe_all

from .chip import ChipParams
from .learn_verify import LearnDivergence, learn_job, learning_differences
from .load import CoreLoad, check_fields, chip_load, core_load, unpack
from .params import CoreParams
from .runner import build, run_chip, run_core

__all__ = ["Divergence", "RtlVerification", "verify_image", "differences", "source_events", "probe_all"]


@dataclass(frozen=True)
class Divergence:
    """The first place where the RTL and the reference differ."""
    tick: int
    core: int
    neuron: int  # global neuron index
    variable: str  # "spike", "v", "i0", "i1", ...
    expected: int
    got: int

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True, kw_only=True)
class RtlVerification:
    steps: int
    cores: int
    reference_spikes: int
    rtl_spikes: int
    mismatches: int  # (tick, neuron, variable) triples that differ
    first_divergence: Divergence | None
    neuron_cycles: list[int]  # per tick, summed over cores
    event_cycles: list[int]
    synops: int
    seconds: dict[str, float]
    # a core that learns: weights, eligibilities, traces and LFSRs that differ after the run, the
    # first of them, the learning engine's weight changes and the weights that moved
    learning_mismatches: int = 0
    first_learning_divergence: LearnDivergence | None = None
    plastic_ops: int = 0
    weights_changed: int = 0
    learn_events: int = 0  # plastic synapses walked at arrival and at potentiation
    learn_cycles: int = 0  # clock cycles of the arrivals and the potentiation
    end_cycles: list[int] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict:
        d = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("first_divergence",
                                                                             "first_learning_divergence")}
        d["first_divergence"] = self.first_divergence.to_json() if self.first_divergence else None
        first = self.first_learning_divergence
        d["first_learning_divergence"] = dataclasses.asdict(first) if first else None
        return d


def source_events(prog: SimProgram, load: CoreLoad, steps: int) -> list[list[int]]:
    """Per tick, the axon ids of ``load``'s core that the sources' spikes of that tick reach."""
    src = SourceSpikes(prog, prog, prog.seed)
    out = []
    for t in range(steps):
        s = src.at(t)
        a = load.axon_of(s) if s is not None else np.zeros(0, dtype=np.int64)
        out.append([int(x) for x in a if x >= 0])
    return out


def _check_accumulator(image, params: CoreParams, events: list[list[int]], presynaptic: int) -> None:
    """The core sums a tick's input exactly in ``acc_width`` bits; prove the stimulus cannot
    overflow it (largest per-axon events in one tick x largest sum of |weight| into one input; a
    compartment's message, at most one per tick, counts as the largest payload)."""
    if not image.synapses.size:
        return
    target, size = _synapse_sizes(image, params, presynaptic)
    peak = int(np.bincount(target, weights=size.astype(np.float64)).max())
    repeat = max([max(np.unique(e, return_counts=True)[1], default=0) for e in events] + [1])
    if peak * repeat > (1 << (params.acc_width - 1)) - 1:
        raise UserError(f"core {image.core}: a source channel spikes {repeat} times in one tick, so one input can "
                        f"receive {peak} x {repeat}, beyond the core's {params.acc_width}-bit accumulator: send at "
                        "most one spike per source channel and tick")


def verify_image(contents: ImageContents, params: CoreParams, steps: int, *, states: bool = False,
                 out_ready: str = "always", build_root: Path | None = None, load: str = "port") -> RtlVerification:
    """Run ``steps`` ticks of the image on the RTL (one core, or a chip of cores and the router)
    and on the reference; compare spikes and, with ``states``, every neuron's state after each
    tick. A core with a learning engine (``params.learning``) learns, as the reference does, and
    every weight, eligibility, trace and LFSR is compared after the run; without one, plastic
    synapses keep their weights at both levels. ``load``: "port" writes the image through the
    configuration port; "files" runs the image-initialized design, whose memories read the image's
    ``$readmemh`` files (:mod:`rtl.readmem`; not for a core with a learning engine)."""
    if steps < 1:
        raise UserError(f"number of steps must be at least 1, not {steps}")
    if load not in ("port", "files") or (load == "files" and params.learning is not None):
        raise ValueError(f"verify_image: load={load!r} (port, or files for a core without a learning engine)")
    t0 = time.perf_counter()
    learns = params.learning is not None
    prog = probe_all(to_program(contents, learn=learns), states)
    ref = BitAccurateSimulator(prog, backend="numpy").run(steps)
    t1 = time.perf_counter()
    single = len(contents.cores) == 1
    design = params if single else ChipParams.of(params, cores=len(contents.cores))  # the chip nmc rtl generates
    loads, events, chip_load_ = _loads_and_events(contents, params, design, prog, steps)
    files = load == "files"
    b = build(design, build_root, init=(loads[0] if single else chip_load_) if files else None)
    t2 = time.perf_counter()
    job = learn_job(contents, loads, params, prog, ref, steps) if learns else None
    if single:
        run = run_core(b, loads[0], [[a for _, a in e] for e in events], steps, dump_state=states,
                       out_ready=out_ready, params=params, learn=job, configure=not files)
    else:
        graded_bit = params.local_bits + design.core_bits if params.payload_bits else None
        run = run_chip(b, chip_load_, events, steps, params.axon_bits, dump_state=states, out_ready=out_ready,
                       graded_bit=graded_bit, learn=job, configure=not files)
    t3 = time.perf_counter()
    diffs = differences(prog, ref, run, loads, params)
    learned = learning_differences(contents, loads, params, prog, ref, run.learning) if learns else None
    return RtlVerification(
        steps=steps, cores=len(loads), reference_spikes=sum(ref.spike_counts().values()),
        rtl_spikes=int(len(run.spikes)), mismatches=len(diffs), first_divergence=diffs[0] if diffs else None,
        neuron_cycles=run.neuron_cycles.tolist(), event_cycles=run.event_cycles.tolist(),
        synops=int(run.counters["synops"]), seconds={"reference": t1 - t0, "build": t2 - t1, "rtl": t3 - t2},
        **({} if learned is None else _learning_fields(learned, run, loads)))


def _loads_and_events(contents, params: CoreParams, design, prog, steps: int):
    """Every core's :class:`CoreLoad`, per tick the ``(core, axon)`` events of the sources, and the
    :class:`ChipLoad` of a chip (None for one core); the stimulus checked against the core."""
    presynaptic = int(contents.meta["presynaptic"])
    if isinstance(design, ChipParams):
        cl = chip_load(contents, design)
        loads = cl.cores
    else:
        cl = None
        check_fields(contents, params)
        loads = (core_load(contents.cores[0], params, presynaptic, contents if params.learning else None),)
    per_core = [source_events(prog, ld, steps) for ld in loads]
    for img, ld, ev in zip(contents.cores, loads, per_core):
        _check_accumulator(img, params, ev, presynaptic)
        _check_plastic_events(ld, ev)
    return loads, [[(c, a) for c in range(len(loads)) for a in per_core[c][t]] for t in range(steps)], cl


def _synapse_sizes(image, params: CoreParams, presynaptic: int) -> tuple[np.ndarray, np.ndarray]:
    """Per synapse of a core image (decoded as the bit-accurate simulator decodes it): its
    accumulator input (slot x channels + channel) and the largest value it adds (a compartment's
    message: the largest payload)."""
    src, j, ch, _, w = core_synapses(image, storage_layout(params.storage), params.fields, presynaptic)
    message = 1 << max(0, params.payload_bits - 1)
    return j * params.channels + ch, np.where(src >= presynaptic, message, np.abs(w.astype(np.int64)))


def _check_plastic_events(load: CoreLoad, events: list[list[int]]) -> None:
    """A plastic row remembers one spike per tick: a source channel may not spike twice in one."""
    if load.learn is None or not load.learn.rows:
        return
    for t, e in enumerate(events):
        if len(set(e)) < len(e):
            raise UserError(f"tick {t}: a source channel spikes more than once; the learning engine takes one spike "
                            "per presynaptic row and tick")


def _learning_fields(learned: list, run, loads: tuple[CoreLoad, ...]) -> dict:
    moved = sum(unpack(load.learn.layouts_psyn, a)["m"] != unpack(load.learn.layouts_psyn, b)["m"]
                for load, words in zip(loads, run.learning) for a, b in zip(load.learn.memories["psyn"], words["psyn"]))
    return {"learning_mismatches": len(learned), "first_learning_divergence": learned[0] if learned else None,
            "plastic_ops": int(run.counters.get("plastic_ops", 0)), "weights_changed": int(moved),
            "learn_events": int(run.counters.get("learn_events", 0)),
            "learn_cycles": int(run.counters.get("learn_cycles", 0)),
            "end_cycles": run.end_cycles.tolist()}


def differences(prog: SimProgram, ref, run, loads, params: CoreParams) -> list[Divergence]:
    """Every (tick, neuron, variable) where the RTL run differs from the reference result, earliest
    first (states only when the run dumped them). ``loads``: the :class:`CoreLoad` of each core."""
    diffs = _spike_differences(prog, ref, run, loads)
    if run.states:
        diffs += _state_differences(prog, ref, run, loads, params)
    return sorted(diffs, key=lambda d: (d.tick, d.neuron, d.variable))


def _spike_differences(prog, ref, run, loads) -> list[Divergence]:
    expected = set()
    for pop in prog.populations:
        expected.update(zip(ref.spike_steps[pop.name].tolist(), (ref.spike_ids[pop.name] + pop.offset).tolist()))
    got = {(int(t), int(loads[c].neurons[j])) for t, c, j in run.spikes}
    core_of = {int(g): ld.core for ld in loads for g in ld.neurons}
    return [Divergence(tick=t, core=core_of.get(g, -1), neuron=g, variable="spike", expected=int((t, g) in expected),
                       got=int((t, g) in got)) for t, g in sorted(expected ^ got)]


def _state_differences(prog, ref, run, loads, params) -> list[Divergence]:
    out = []
    where = {int(g): (c, j) for c, ld in enumerate(loads) for j, g in enumerate(ld.neurons)}
    L = params.layouts
    for t, per_core in enumerate(run.states):
        states = [[unpack(L.state, w) for w in words] for words in per_core]
        for pop in prog.populations:
            v = ref.traces[f"{pop.name}.v"].values[t]
            i = ref.traces[f"{pop.name}.i"].values[t]
            for k in range(pop.size):
                g = pop.offset + k
                c, j = where[g]
                s = states[c][j]
                pairs = [("v", int(v[k]), s["v"])] + [(f"i{c}", int(i[c][k]), s["i"][c])
                                                      for c in range(i.shape[0]) if prog.format.has_current]
                out += [Divergence(tick=t, core=loads[c].core, neuron=g, variable=name, expected=e, got=int(x))
                        for name, e, x in pairs if e != x]
    return out
