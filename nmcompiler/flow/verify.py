"""The verification ladder (``nmc verify``) as a library call: one stimulus through the float
simulator, the bit-accurate simulator and the RTL (one core or the multi-core chip), each level
compared with the one above it. Returns a :class:`Ladder`."""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from ..errors import UserError
from ..image import ImageContents, build_contents, to_program
from ..ir import Network, Probe, SpikeSource, with_weights
from ..lowered import probe_all
from ..sim.bit_sim import BitAccurateSimulator
from ..sim.float_sim import FloatSimulator
from ..targets import Target

__all__ = ["LEVELS", "DataVerification", "Ladder", "Level", "compile_for_verification", "response_lag", "verify_data",
           "verify_ladder", "verify_network"]

LEVELS = ("float", "int", "rtl")


@dataclass(frozen=True, kw_only=True)
class Level:
    level: str  # float | int | rtl
    spikes: int
    agreement: float | None  # share of spikes both have with the level above (rtl: 1.0 when bit-exact)
    first_divergence: dict | None
    mismatches: int | None = None  # rtl: differences from the bit-accurate simulation

    def to_json(self) -> dict:
        out = {"level": self.level, "spikes": self.spikes, "agreement": self.agreement,
               "first_divergence": self.first_divergence}
        return out | ({"mismatches": self.mismatches} if self.level == "rtl" else {})


@dataclass(frozen=True, kw_only=True, eq=False)
class Ladder:
    source: str
    target: str
    steps: int
    levels: tuple[Level, ...]
    rtl: object | None = None  # nmcompiler.rtl.verify.VerifyResult
    notes: tuple[str, ...] = ()  # what the levels hold fixed (plastic synapses), said with the table

    @property
    def bit_exact(self) -> bool:
        """The RTL's spikes (and, learning, its weights, traces and LFSRs) are the bit-accurate ones."""
        return self.rtl is None or not (self.rtl.mismatches or self.rtl.learning_mismatches)

    @property
    def vacuous(self) -> bool:
        """No level spiked: agreement then says nothing (an undriven NIR import, say)."""
        return all(level.spikes == 0 for level in self.levels)

    def to_json(self) -> dict:
        return {"source": self.source, "target": self.target, "steps": self.steps, "vacuous": self.vacuous,
                "notes": list(self.notes), "levels": [level.to_json() for level in self.levels],
                "rtl_mismatches": self.rtl.mismatches if self.rtl else None,
                "rtl": self.rtl.to_json() if self.rtl else None}


def check_levels(levels: str) -> list[str]:
    wanted = [x.strip() for x in levels.split(",") if x.strip()]
    unknown = [x for x in wanted if x not in LEVELS]
    if unknown or not wanted:
        raise UserError(f"--levels: unknown level(s) {', '.join(unknown) or '(none)'} (use float, int, rtl)")
    return wanted


def verify_network(net: Network, target: Target, wanted: list[str], *, size: bool = False, where: str = "",
                   **ladder) -> Ladder:
    """Map ``net`` onto ``target`` in index order (sized first with ``size``) and run the ladder."""
    contents, mapped = compile_for_verification(net, target, "rtl" in wanted, size=size, where=where)
    return verify_ladder(contents, mapped, wanted, net=net, source=where, **ladder)


def compile_for_verification(net: Network, target: Target, rtl: bool, *, size: bool = False,
                             where: str = "") -> tuple[ImageContents, Target]:
    """The image of ``net`` mapped in index order (sized first with ``size``), and the mapped
    target (with multi-compartment neurons where the network needs them)."""
    from ..compiler import compile_network, compile_sized
    from .compile_dir import rtl_memory_cost

    if rtl:  # the RTL's parameters need Amaranth: only when the RTL runs
        from ..rtl.params import CoreParams

        CoreParams.of(target)  # refuses targets the core cannot run, before compiling
    if size:
        _, mapping, fx, report = compile_sized(net, target, rtl_memory_cost(), partitioner="index-order")
    else:
        mapping, fx, report = compile_network(net, target, partitioner="index-order")
    if not report.fits:
        raise UserError(f"{where or net.name}: the mapping does not fit {target.name}: " + "; ".join(report.misfits))
    return build_contents(mapping, fx), mapping.target


def response_lag(net: Network, source: str, output: str) -> int:
    """Steps from a spike of ``source`` to the earliest effect on ``output`` (the shortest path of
    smallest delays): a sample of ``k`` steps needs ``k + lag`` steps to be counted whole."""
    lag, frontier = {source: 0}, [source]
    while frontier:
        node = frontier.pop()
        for proj in net.spiking_projections():
            if proj.pre == node:
                d = lag[node] + int(np.min(proj.connectivity.delays, initial=1))
                if d < lag.get(proj.post, d + 1):
                    lag[proj.post] = d
                    frontier.append(proj.post)
    if output not in lag:
        raise UserError(f"population '{output}' cannot be reached from '{source}'")
    return lag[output]


def verify_ladder(contents: ImageContents, target: Target, wanted: list[str], *, net: Network | None = None,
                  source: str = "", steps: int | None = None, duration: float | None = None,
                  states: bool = False, frozen: bool = False, lanes: int = 1) -> Ladder:
    """The ladder on an image's contents (and, for the float level, the network it was made from).
    Plastic projections learn at every level (the RTL core gets its learning engine, and its
    weights, traces and LFSRs are compared after the run), or, ``frozen``, keep their initial
    weights at every level. ``lanes``: the RTL core's synapse lanes."""
    if "float" in wanted and net is None:
        raise UserError(f"{source}: an image holds no float network: use --levels int,rtl or verify the network")
    plastic = [p["name"] for p in contents.meta.get("plastic", [])]
    learn = bool(plastic) and not frozen
    params = None
    if "rtl" in wanted:  # the RTL needs Amaranth and Verilator: only when it runs
        from ..rtl.params import CoreParams

        params = CoreParams.of(target, learn=learn, lanes=lanes)
    prog = probe_all(to_program(contents, learn=learn))
    empty = [s.name for s in prog.sources if isinstance(s, SpikeSource) and not np.asarray(s.ids).size]
    if empty:  # an undriven input port (a NIR Input, say): the ladder would compare bias-driven noise
        raise UserError(f"{source or prog.name}: no input: spike source(s) {', '.join(repr(n) for n in empty)} have "
                        f"no spikes: give --input {empty[0]}=FILE.npy (a (steps, channels) 0/1 array)")
    if steps is None:
        steps = max(1, int(round(duration / prog.dt))) if duration else 100
    pops = [p.name for p in prog.populations]
    sets, int_spikes = {}, None
    notes = _plastic_notes(plastic, learn)
    if "float" in wanted:
        float_net = net.copy()
        if plastic and not learn:  # the same weights, held, at every level
            weights = {p.name: p.connectivity.synapse_weights() for p in net.projections if p.name in plastic}
            float_net = with_weights(float_net, weights, freeze=True)
        float_net.probes = [Probe(target=p.name) for p in net.populations]
        pops = [p.name for p in net.populations]  # relays of the mapping have no float counterpart
        sets["float"] = _spike_set(FloatSimulator(float_net, seed=prog.seed).run(steps), pops)
    if "int" in wanted or "rtl" in wanted:
        int_result = BitAccurateSimulator(prog).run(steps)
        sets["int"] = _spike_set(int_result, pops)  # float vs int: the populations both have
        int_spikes = sum(int_result.spike_counts().values())  # all, as the RTL counts them
    result = None
    if "rtl" in wanted:
        from ..rtl.verify import verify_image

        # the image-initialized design nmc rtl writes: its memories read the image's files
        result = verify_image(contents, params, steps, states=states, load=_load(params))
    return Ladder(source=source, target=target.name, steps=steps, levels=_levels(wanted, sets, int_spikes, result),
                  rtl=result, notes=notes)


def _load(params) -> str:
    """How the RTL level gets the image: from its $readmemh files (one Verilator build serves every
    image and sample of a target), through the configuration port for a core that learns."""
    return "files" if params.learning is None else "port"


def _plastic_notes(plastic: list[str], learn: bool) -> tuple[str, ...]:
    if not plastic:
        return ()
    if learn:
        return (f"projection(s) {', '.join(plastic)} learn at every level (float in float, int and rtl in the "
                "target's learning format; the RTL's weights, eligibilities, traces and LFSRs are compared with the "
                "bit-accurate ones after the run)",)
    return (f"projection(s) {', '.join(plastic)} learn, but --frozen: every level runs them with their initial "
            "weights",)


def _levels(wanted, sets, int_spikes, result) -> tuple[Level, ...]:
    rows, previous = [], None
    for level in LEVELS:
        if level not in wanted:
            continue
        if level == "rtl":
            fd = result.first_divergence
            rows.append(Level(level=level, spikes=result.rtl_spikes, mismatches=result.mismatches,
                              agreement=1.0 if not result.mismatches else None,
                              first_divergence=fd.to_json() if fd else None))
        else:
            agreement = first = None
            if previous is not None:
                a, b = sets[previous], sets[level]
                diff = sorted(a ^ b)
                agreement = len(a & b) / len(a | b) if a | b else 1.0
                first = {"tick": diff[0][0], "population": diff[0][1], "neuron": diff[0][2]} if diff else None
            rows.append(Level(level=level, spikes=int_spikes if level == "int" else len(sets[level]),
                              agreement=agreement, first_divergence=first))
        previous = level
    return tuple(rows)


def _spike_set(result, populations) -> set[tuple[int, str, int]]:
    """(tick, population, neuron) of every spike of ``populations``."""
    out = set()
    for pop in populations:
        steps = result.spike_steps.get(pop, np.zeros(0, dtype=np.int64))
        out.update((int(t), pop, int(i)) for t, i in zip(steps.tolist(), result.spike_ids[pop].tolist()))
    return out


@dataclass(frozen=True, kw_only=True)
class DataVerification:
    """The ladder on labelled samples: accuracy of the float network and of the image's own
    tables on every sample, and the RTL against the image on the first ``rtl_samples``."""

    source: str
    target: str
    steps: int
    samples: int
    float_accuracy: float
    int_accuracy: float
    agreement: float  # share of samples both classify alike
    spikes: dict[str, int]  # level -> spikes over every sample (rtl: over its samples)
    rtl_samples: int
    rtl_mismatches: int | None

    @property
    def vacuous(self) -> bool:
        return not any(self.spikes.values())

    @property
    def bit_exact(self) -> bool:
        return not self.rtl_mismatches

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in ("source", "target", "steps", "samples", "float_accuracy",
                                              "int_accuracy", "agreement", "spikes", "rtl_samples",
                                              "rtl_mismatches")} | {"vacuous": self.vacuous}


def verify_data(contents: ImageContents, target: Target, net: Network, *, samples: np.ndarray, labels: np.ndarray,
                source: str, output: str, steps: int, rtl_samples: int = 1, where: str = "",
                executor=None, lanes: int = 1) -> DataVerification:
    """Float and bit-accurate (the image's tables) accuracy on ``samples`` ((samples, steps,
    channels) spikes fed to the spike source ``source``; on ``executor`` when given), and the RTL
    on the first ``rtl_samples``."""
    from ..rtl.params import CoreParams
    from ..rtl.verify import verify_image
    from ..sim.stimulus import spike_source_from_array
    from .samples import classify

    acc = classify(net, to_program(contents), samples, labels, source=source, output=output, steps=steps,
                   executor=executor)
    spikes = {"float": sum(acc.float_counts.totals.values()), "int": sum(acc.hw_counts.totals.values())}
    mismatches = None
    if rtl_samples:
        params, mismatches, spikes["rtl"] = CoreParams.of(target, lanes=lanes), 0, 0
        size = next(s["size"] for s in contents.meta["sources"] if s["name"] == source)
        for sample in samples[:rtl_samples]:
            one = contents.with_source(spike_source_from_array(source, sample, net.dt, size))
            result = verify_image(one, params, steps, load=_load(params))
            mismatches += result.mismatches
            spikes["rtl"] += result.rtl_spikes
    return DataVerification(source=where, target=target.name, steps=steps, samples=len(samples),
                            float_accuracy=acc.float_accuracy, int_accuracy=acc.hw_accuracy,
                            agreement=acc.agreement, spikes=spikes,
                            rtl_samples=min(rtl_samples, len(samples)), rtl_mismatches=mismatches)
