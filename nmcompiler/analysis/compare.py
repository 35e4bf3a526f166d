"""Float vs bit-accurate simulation of the same network on the same stimulus (``nmc compare``)."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

import numpy as np

from ..datapath import LearningFormat, NumericFormat
from ..errors import UserError
from ..ir import Network
from ..passes import Quantize
from ..sim import FloatSimulator, SimResult
from ..sim.bit_sim import BitAccurateSimulator
from ..sim.data import SampleData, rate_spikes
from ..sim.stimulus import spike_source_from_array
from .scores import score_samples
from .spike_distance import van_rossum
from .weights import weight_distribution

__all__ = ["CompareResult", "compare_networks", "compare_results", "first_divergence", "rate_spikes"]

log = logging.getLogger(__name__)

VR_TAU_STEPS = 10.0


@dataclass(frozen=True, kw_only=True)
class CompareResult:
    target: str
    steps: int
    populations: dict  # per population: spikes, rates, rate error, count correlation, distance
    first_divergence: dict | None
    quantization: dict
    warnings: list[str]
    float_accuracy: float | None = None
    hw_accuracy: float | None = None
    agreement: float | None = None
    samples: int | None = None
    accuracy_vs_weight_bits: list | None = None  # [{"weight_bits", "hw_accuracy"}] (--weight-bits A..B)
    per_class: dict | None = None  # label -> {"samples", "float_accuracy", "hw_accuracy"}
    confusion: dict | None = None  # "float" / "hw" -> [true label][predicted] counts
    count_agreement: float | None = None  # share of samples whose output spike counts are all equal
    first_diverging_sample: int | None = None  # first sample the two classify differently
    population_agreement: dict | None = None  # per population: count agreement over the samples
    learning: dict | None = None  # per plastic projection: the learned weights, float against fixed point
    float_result: SimResult | None = field(default=None, repr=False)
    hw_result: SimResult | None = field(default=None, repr=False)

    def to_json(self) -> dict:
        out = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("float_result", "hw_result")}
        return out


def first_divergence(a: SimResult, b: SimResult) -> dict | None:
    """Earliest (step, population, neuron) at which the two runs' spikes differ."""
    best = None
    for pop in a.spike_steps:
        if pop not in b.spike_steps:
            continue
        ka = set(zip(a.spike_steps[pop].tolist(), a.spike_ids[pop].tolist()))
        kb = set(zip(b.spike_steps[pop].tolist(), b.spike_ids[pop].tolist()))
        diff = ka ^ kb
        if diff:
            step, neuron = min(diff)
            if best is None or (step, pop, neuron) < (best["step"], best["population"], best["neuron"]):
                best = {"step": step, "population": pop, "neuron": neuron,
                        "float_spiked": (step, neuron) in ka, "hw_spiked": (step, neuron) in kb}
    return best


def compare_results(a: SimResult, b: SimResult) -> tuple[dict, list[str]]:
    """Per population both runs have (an image's relays have no float counterpart): spikes, rates,
    count correlation and van Rossum distance, and warnings of silenced populations."""
    rows, warnings = {}, []
    for pop in a.spike_steps:
        n = a.sizes[pop]
        if b.sizes.get(pop) != n:
            continue
        ca = np.bincount(a.spike_ids[pop], minlength=n)
        cb = np.bincount(b.spike_ids[pop], minlength=n)
        corr = float(np.corrcoef(ca, cb)[0, 1]) if n > 1 and ca.std() > 0 and cb.std() > 0 else None
        ra, rb = a.rates()[pop], b.rates()[pop]
        spiking = np.flatnonzero((ca > 0) | (cb > 0))
        dist = float(np.mean([van_rossum(a.spike_train(pop, i), b.spike_train(pop, i), VR_TAU_STEPS)
                              for i in spiking])) if spiking.size else 0.0
        rows[pop] = {"size": n, "float_spikes": int(ca.sum()), "hw_spikes": int(cb.sum()), "float_rate_hz": ra,
                     "hw_rate_hz": rb, "rate_error": (rb - ra) / ra if ra > 0 else None,
                     "count_correlation": corr, "van_rossum_mean": dist}
        if ca.sum() > 0 and cb.sum() == 0:
            warnings.append(f"population '{pop}' spikes {int(ca.sum())} times in float and never in fixed point")
        silent = int(np.count_nonzero((ca >= 3) & (cb == 0)))  # reliably active in float, silent in fixed point
        if silent and cb.sum() > 0:
            warnings.append(f"population '{pop}': {silent} of {n} neurons that spike at least 3 times in float "
                            "never spike in fixed point")
    return rows, warnings


def _learned(a: SimResult, b: SimResult, net: Network) -> dict:
    """Per plastic projection: both runs' learned weight distributions and how far apart they are."""
    out = {}
    for proj in net.projections:
        if proj.learning is None:
            continue
        wf, wb = a.weights[proj.name].final, b.weights[proj.name].final
        lo, hi = proj.learning.w_min, proj.learning.w_max
        fd, bd = weight_distribution(wf, lo, hi), weight_distribution(wb, lo, hi)
        out[proj.name] = {"float": fd.to_json(), "hw": bd.to_json(),
                          "mean_relative_difference": (bd.mean - fd.mean) / fd.mean if fd.mean else None,
                          "mean_abs_difference": float(np.mean(np.abs(wb - wf)) / (hi - lo)) if wf.size else 0.0}
    return out


def compare_networks(net: Network, fmt: NumericFormat, *, steps: int, seed: int | None = None,
                     data: SampleData | dict | None = None, encode: str = "rate", input_source: str | None = None,
                     output: str | None = None, calibrate: bool = False, clip: float | str = "max",
                     progress=None, weight_bits_curve: tuple[int, ...] = (),
                     learning: LearningFormat | None = None,
                     spikes_per_step: dict[str, int] | None = None, executor=None) -> CompareResult:
    """Quantize ``net`` for ``fmt``, simulate both ways, and compare (optionally on labelled data).

    With ``calibrate``, the float run's observed ranges calibrate the quantizer (docs/datapath.md).
    ``data``: labelled samples (a :class:`SampleData`, or ``{"x", "y"}`` arrays with ``encode``).
    ``learning``: the target's learning engine, for networks that learn (their learned weights are
    compared too; the fixed-point run then counts no saturation: it runs compiled).
    ``spikes_per_step``: the spikes each population's hardware neurons emit per tick (port targets).
    ``executor`` (:mod:`nmcompiler.executor`): where the samples of ``data`` run, in pieces (the
    same counts as one after another).
    """
    seed = net.seed if seed is None else seed
    driven = net
    if data is not None:  # the summaries, the first divergence and the plot come from the first sample
        if not isinstance(data, SampleData):
            data = SampleData.of(data["x"], data["y"], encode)
        if data.y is None:
            raise UserError(f"{data.where}: comparing accuracy needs labels y")
        src = data.pick_source(net.sources, input_source)
        driven = _sample_network(net, data, src, 0, steps, seed)
        output = output or net.populations[-1].name
    a = FloatSimulator(driven, seed=seed).run(steps, track_ranges=calibrate)
    fx = Quantize(fmt=fmt, clip=clip, calibration=a.ranges if calibrate else None, learning=learning,
                  spikes_per_step=spikes_per_step).run(driven)
    learns = fx.learning is not None
    b = BitAccurateSimulator(fx, seed=seed).run(steps, count_saturation=not learns)
    rows, warnings = compare_results(a, b)
    for pop, counts in b.saturation.items():
        if pop in rows:
            rows[pop]["saturation_events"] = counts
            if any(counts.values()):
                warnings.append(f"population '{pop}': saturation in fixed point (accumulator {counts['acc']}, "
                                f"current {counts['i']}, membrane {counts['v']} operations)")
    warnings = [f"population '{p}': {w}" for p, r in fx.report.items() for w in r.warnings] + warnings
    quant = {p: r.to_json() for p, r in fx.report.items()}
    result = dict(target=fmt.name, steps=steps, populations=rows, first_divergence=first_divergence(a, b),
                  quantization=quant, warnings=warnings, float_result=a, hw_result=b,
                  learning=_learned(a, b, driven) if learns else None)
    if data is not None:
        quantize = Quantize(fmt=fmt, clip=clip, learning=learning, spikes_per_step=spikes_per_step)
        result.update(_classify(net, quantize, steps, seed, data, src, output, progress, weight_bits_curve,
                                executor))
    return CompareResult(**result)


def _sample_network(net: Network, data: SampleData, src: str, k: int, steps: int, seed) -> Network:
    """``net`` fed sample ``k``: its spikes (events), Bernoulli spikes of rate ``x[k]`` per step
    (rate, seeded per sample) or ``x[k]`` as constant currents (current)."""
    trial = net.copy()
    if data.encode == "current":
        trial.replace(dataclasses.replace(net.node(src), amplitude=data.x[k]))
    else:
        trial.replace(spike_source_from_array(src, data.spikes(k, steps, seed), net.dt, net.node(src).size))
    return trial


def _classify(net, quantize: Quantize, steps, seed, data: SampleData, src_name, out_name, progress,
              weight_bits=(), executor=None) -> dict:
    if out_name not in [p.name for p in net.populations]:
        raise UserError(f"output population '{out_name}' does not exist")
    n_out = net.node(out_name).size
    data.check_labels(n_out, out_name)
    per_trial = data.encode == "current"  # currents change the quantization; spike inputs do not
    runs = _Runs(net=net, data=data, source=src_name, steps=steps, seed=seed, per_trial=per_trial)
    counts = (_counts(runs, None, progress, executor), _counts(runs, quantize, None, executor))
    out = dataclasses.asdict(score_samples(*counts, data.y, out_name))
    if weight_bits:  # hardware accuracy against the weight mantissa's width, the rest of the format kept
        out["accuracy_vs_weight_bits"] = [
            {"weight_bits": b, "hw_accuracy": float(np.mean(np.argmax(_counts(
                runs, dataclasses.replace(quantize, fmt=dataclasses.replace(quantize.fmt, weight_bits=b)), None,
                executor)[out_name], axis=1) == data.y))} for b in weight_bits]
    return out


@dataclass(frozen=True, eq=False)
class _Runs:
    """What every sample's run shares: the network, the samples and how each is fed."""

    net: Network
    data: SampleData
    source: str
    steps: int
    seed: int
    per_trial: bool  # quantize each trial (current inputs), else once


def _counts(runs: _Runs, quantize: Quantize | None, progress, executor) -> dict[str, np.ndarray]:
    """Spike counts per population and sample, (samples, neurons): float (``quantize`` None) or
    bit-accurate (quantized once, or per trial); on ``executor`` in pieces when given."""
    n = len(runs.data)
    if executor is None or executor.workers < 2 or n < 2:
        return _count_piece((runs, quantize, progress), range(n))
    from ..executor import run_pieces

    parts = run_pieces(executor, _count_piece, (runs, quantize, None), n, progress)
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def _count_piece(shared, indices: range) -> dict[str, np.ndarray]:
    """The samples ``indices`` one after another (a piece of :func:`_counts`)."""
    runs, quantize, progress = shared
    sizes = {p.name: p.size for p in runs.net.populations}
    counts = {name: np.zeros((len(indices), n), dtype=np.int64) for name, n in sizes.items()}
    quantized = None
    for j, k in enumerate(indices):
        trial = _sample_network(runs.net, runs.data, runs.source, k, runs.steps, runs.seed)
        if quantize is None:
            sim = FloatSimulator(trial, seed=runs.seed)
        else:
            if quantized is None or runs.per_trial:
                quantized = quantize.run(trial)
            sim = BitAccurateSimulator(dataclasses.replace(quantized, network=trial), seed=runs.seed)
        result = sim.run(runs.steps)
        for name, n in sizes.items():
            counts[name][j] = np.bincount(result.spike_ids[name], minlength=n)
        if progress is not None:
            progress(1)
    return counts
