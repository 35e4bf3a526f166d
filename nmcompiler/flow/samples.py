"""Run a model on many samples of input spikes: a network on the float simulator, or a decoded
image's own tables on the bit-accurate simulator (accuracy from the image itself, not from a
re-quantized network)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..ir import Network, SpikeSource
from ..lowered import SimProgram
from ..sim.float_sim import FloatSimulator
from ..sim.bit_sim import BitAccurateSimulator
from ..sim.stimulus import spike_source_from_array

__all__ = ["Accuracy", "SampleCounts", "classify", "spike_counts"]


@dataclass(frozen=True)
class SampleCounts:
    """Spike counts of ``output`` per sample (``counts``: (samples, neurons)), and of every
    population in total (``totals``), so a run without activity is seen."""

    output: str
    counts: np.ndarray
    totals: dict[str, int]

    def predictions(self) -> np.ndarray:
        """The neuron with the most spikes per sample (ties: the lowest index)."""
        return np.argmax(self.counts, axis=1)

    def accuracy(self, labels: np.ndarray) -> float:
        return float(np.mean(self.predictions() == np.asarray(labels)))


def _sources(model) -> dict[str, int]:
    return {s.name: s.size for s in model.sources if isinstance(s, SpikeSource)}


def spike_counts(model: Network | SimProgram, source: str, samples: np.ndarray, output: str, steps: int,
                 seed: int | None = None) -> SampleCounts:
    """Run ``model`` once per sample of ``samples`` ((samples, steps, channels...) spikes, non-zero
    = spike) fed to the spike source ``source``, for ``steps`` steps each (at least the samples'
    length: give the lag of ``output`` more to count every spike the input causes)."""
    samples = np.asarray(samples)
    sizes = _sources(model)
    if source not in sizes:
        raise UserError(f"'{source}' is not a spike source of {model.name} (spike sources: {', '.join(sizes) or 'none'})")
    if samples.ndim < 3 or samples.shape[0] == 0:
        raise UserError(f"input for '{source}': expected (samples, steps, channels...) spikes, not shape {samples.shape}")
    names = [p.name for p in model.populations]
    if output not in names:
        raise UserError(f"output population '{output}' does not exist (populations: {', '.join(names)})")
    size = dict(zip(names, (p.size for p in model.populations)))[output]
    counts = np.zeros((samples.shape[0], size), dtype=np.int64)
    totals = dict.fromkeys(names, 0)
    for k, sample in enumerate(samples):
        spikes = spike_source_from_array(source, sample, model.dt, sizes[source])
        if isinstance(model, Network):
            trial = model.copy()
            trial.replace(spikes)
            result = FloatSimulator(trial, seed=seed).run(steps)
        else:
            result = BitAccurateSimulator(model.with_source(spikes), seed=seed).run(steps)
        counts[k] = np.bincount(result.spike_ids[output], minlength=size) if output in result.spike_ids else 0
        for name, n in result.spike_counts().items():
            totals[name] += n
    return SampleCounts(output=output, counts=counts, totals=totals)


@dataclass(frozen=True)
class Accuracy:
    """Classification of labelled samples by the float network and by the image's tables."""

    float_accuracy: float
    hw_accuracy: float
    agreement: float  # share of samples both classify alike
    float_counts: SampleCounts
    hw_counts: SampleCounts

    def to_json(self) -> dict:
        return {"float_accuracy": self.float_accuracy, "hw_accuracy": self.hw_accuracy, "agreement": self.agreement,
                "samples": int(self.float_counts.counts.shape[0]), "float_spikes": self.float_counts.totals,
                "hw_spikes": self.hw_counts.totals}


def classify(net: Network, program: SimProgram, samples: np.ndarray, labels: np.ndarray, *, source: str,
             output: str, steps: int, seed: int | None = None) -> Accuracy:
    """Classify ``samples`` by the most spikes of ``output``, in the float network and on the
    image's ``program``; labels are checked against the output's neurons."""
    labels = np.asarray(labels)
    if labels.shape != (len(samples),) or labels.dtype.kind not in "iu":
        raise UserError(f"labels: expected ({len(samples)},) integer labels for {len(samples)} samples, "
                        f"not {labels.shape} {labels.dtype}")
    f = spike_counts(net, source, samples, output, steps, seed)
    if labels.size and not 0 <= labels.min() <= labels.max() < f.counts.shape[1]:
        raise UserError(f"labels must be in [0, {f.counts.shape[1]}) (the neurons of '{output}')")
    h = spike_counts(program, source, samples, output, steps, seed)
    return Accuracy(float_accuracy=f.accuracy(labels), hw_accuracy=h.accuracy(labels),
                    agreement=float(np.mean(f.predictions() == h.predictions())), float_counts=f, hw_counts=h)
