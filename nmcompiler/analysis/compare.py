"""Float vs bit-accurate simulation of the same network on the same stimulus (``nmc compare``)."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

import numpy as np

from ..datapath import NumericFormat
from ..errors import UserError
from ..ir import CurrentSource, Network, Probe, SpikeSource
from ..passes import Quantize
from ..sim import FloatSimulator, SimResult
from ..sim.bit_sim import BitAccurateSimulator
from ..sim.stimulus import spike_source_from_array
from ..streams import stream
from .spike_distance import van_rossum

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
    float_result: SimResult | None = field(default=None, repr=False)
    hw_result: SimResult | None = field(default=None, repr=False)

    def to_json(self) -> dict:
        out = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("float_result", "hw_result")}
        return out


def first_divergence(a: SimResult, b: SimResult) -> dict | None:
    """Earliest (step, population, neuron) at which the two runs' spikes differ."""
    best = None
    for pop in a.spike_steps:
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
    rows, warnings = {}, []
    for pop in a.spike_steps:
        n = a.sizes[pop]
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


def _pick_input(net: Network, n_features: int, name: str | None, kind) -> str:
    if name is not None:
        if name not in [s.name for s in net.sources] or not isinstance(net.node(name), kind):
            raise UserError(f"input '{name}' is not a {kind.__name__} of this network")
        return name
    fits = [s.name for s in net.sources if isinstance(s, kind) and s.size == n_features]
    if len(fits) != 1:
        raise UserError(f"need exactly one {kind.__name__} with {n_features} channels for the data, found "
                        f"{fits or 'none'}: name it with --input-source")
    return fits[0]


def compare_networks(net: Network, fmt: NumericFormat, *, steps: int, seed: int | None = None,
                     data: dict | None = None, encode: str = "rate", input_source: str | None = None,
                     output: str | None = None, calibrate: bool = False, clip: float | str = "max",
                     progress=None, weight_bits_curve: tuple[int, ...] = ()) -> CompareResult:
    """Quantize ``net`` for ``fmt``, simulate both ways, and compare (optionally on labelled data).

    With ``calibrate``, the float run's observed ranges calibrate the quantizer (docs/datapath.md).
    """
    seed = net.seed if seed is None else seed
    driven = net
    if data is not None:  # the summaries, the first divergence and the plot come from the first sample
        x, y = _data(data, encode)
        src = _pick_input(net, x.shape[-1], input_source, CurrentSource if encode == "current" else SpikeSource)
        driven = _sample_network(net, src, x[0], encode, steps, seed, 0)
        output = output or net.populations[-1].name
    a = FloatSimulator(driven, seed=seed).run(steps, track_ranges=calibrate)
    fx = Quantize(fmt=fmt, clip=clip, calibration=a.ranges if calibrate else None).run(driven)
    b = BitAccurateSimulator(fx, seed=seed).run(steps, count_saturation=True)
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
                  quantization=quant, warnings=warnings, float_result=a, hw_result=b)
    if data is not None:
        result.update(_classify(net, Quantize(fmt=fmt, clip=clip), steps, seed, x, y, encode, src, output, progress,
                                weight_bits_curve))
    return CompareResult(**result)


def _data(data, encode: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(data["x"]), np.asarray(data["y"])
    if encode not in ("rate", "current", "events"):
        raise UserError(f"unknown encoding '{encode}' (use rate, current or events)")
    if x.dtype.kind not in "biuf" or y.dtype.kind not in "iu":
        raise UserError(f"data: x must be numbers and y integer labels, got dtypes {x.dtype} and {y.dtype}")
    shape = "(samples, steps, channels) 0/1 spikes" if encode == "events" else "(samples, features)"
    if x.ndim != (3 if encode == "events" else 2) or y.shape != (x.shape[0],) or not x.shape[0]:
        raise UserError(f"data: x must be {shape} and y (samples,), got {x.shape} and {y.shape}")
    if not np.all(np.isfinite(x)) or (y.size and y.min() < 0):
        raise UserError("data: x must be finite and labels y non-negative")
    return x.astype(np.float64), y.astype(np.int64)


def _sample_network(net: Network, src: str, sample: np.ndarray, encode: str, steps: int, seed, k: int) -> Network:
    """``net`` fed sample ``k``: its spikes (events), Bernoulli spikes of rate ``sample`` per step
    (rate, seeded per sample) or ``sample`` as constant currents (current)."""
    trial = net.copy()
    if encode == "events":
        trial.replace(spike_source_from_array(src, sample, net.dt, net.node(src).size))
    elif encode == "rate":
        steps_, ids = np.nonzero(rate_spikes(sample, steps, seed, k))
        trial.replace(SpikeSource(name=src, size=sample.size, ids=ids, times=steps_ * net.dt))
    else:
        trial.replace(dataclasses.replace(net.node(src), amplitude=sample))
    return trial


def rate_spikes(sample: np.ndarray, steps: int, seed: int, k: int) -> np.ndarray:
    """Sample ``k`` as (steps, features) Bernoulli spikes of probability ``sample`` per step (the
    stream of ``nmc compare --encode rate``, so every consumer sees the same spikes)."""
    return stream(seed, "encode", str(k)).random((steps, sample.size)) < np.clip(sample, 0, 1)


def _classify(net, quantize: Quantize, steps, seed, x, y, encode, src_name, out_name, progress,
              weight_bits=()) -> dict:
    if out_name not in [p.name for p in net.populations]:
        raise UserError(f"output population '{out_name}' does not exist")
    n_out = net.node(out_name).size
    if y.size and y.max() >= n_out:
        raise UserError(f"labels go up to {y.max()} but output population '{out_name}' has {n_out} neurons")
    trials = [_sample_network(net, src_name, sample, encode, steps, seed, k) for k, sample in enumerate(x)]
    for trial in trials:
        trial.probes = [Probe(target=out_name)]
    per_trial = encode == "current"  # currents change the quantization; spike inputs do not
    counts = np.stack([_counts(trials, None, steps, seed, out_name, n_out, progress, per_trial),
                       _counts(trials, quantize, steps, seed, out_name, n_out, None, per_trial)])
    out = _scores(counts, y, n_out)
    if weight_bits:  # hardware accuracy against the weight mantissa's width, the rest of the format kept
        out["accuracy_vs_weight_bits"] = [
            {"weight_bits": b, "hw_accuracy": float(np.mean(np.argmax(_counts(
                trials, dataclasses.replace(quantize, fmt=dataclasses.replace(quantize.fmt, weight_bits=b)), steps,
                seed, out_name, n_out, None, per_trial), axis=1) == y))} for b in weight_bits]
    return out


def _counts(trials, quantize: Quantize | None, steps, seed, out_name: str, n_out: int, progress,
            per_trial: bool) -> np.ndarray:
    """Output spike counts per trial: float (``quantize`` None) or bit-accurate (quantized once,
    or ``per_trial``)."""
    counts = np.zeros((len(trials), n_out), dtype=np.int64)
    quantized = None
    for k, trial in enumerate(trials):
        if quantize is None:
            sim = FloatSimulator(trial, seed=seed)
        else:
            if quantized is None or per_trial:
                quantized = quantize.run(trial)
            sim = BitAccurateSimulator(dataclasses.replace(quantized, network=trial), seed=seed)
        counts[k] = np.bincount(sim.run(steps).spike_ids[out_name], minlength=n_out)
        if progress is not None:
            progress(1)
    return counts


def _scores(counts: np.ndarray, y: np.ndarray, n_out: int) -> dict:
    """Accuracies, per class, confusion matrices and agreement from (2, samples, n_out) counts."""
    pf, ph = np.argmax(counts[0], axis=1), np.argmax(counts[1], axis=1)
    per_class = {int(c): {"samples": int(np.sum(y == c)), "float_accuracy": float(np.mean(pf[y == c] == c)),
                          "hw_accuracy": float(np.mean(ph[y == c] == c))} for c in np.unique(y)}
    confusion = {}
    for name, pred in (("float", pf), ("hw", ph)):
        m = np.zeros((n_out, n_out), dtype=np.int64)
        np.add.at(m, (y, pred), 1)
        confusion[name] = m.tolist()
    differ = np.flatnonzero(pf != ph)
    return {"float_accuracy": float(np.mean(pf == y)), "hw_accuracy": float(np.mean(ph == y)),
            "agreement": float(np.mean(pf == ph)), "samples": int(y.size), "per_class": per_class,
            "confusion": confusion, "count_agreement": float(np.mean(np.all(counts[0] == counts[1], axis=1))),
            "first_diverging_sample": int(differ[0]) if differ.size else None}
