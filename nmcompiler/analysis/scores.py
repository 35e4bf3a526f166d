"""Two runs of the same labelled samples (float and hardware) scored against each other and the
labels: accuracy, per class, confusion, and how often each population's spike counts agree."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

__all__ = ["SampleScores", "score_samples"]


@dataclass(frozen=True, kw_only=True)
class SampleScores:
    float_accuracy: float
    hw_accuracy: float
    agreement: float  # share of samples both classify alike
    samples: int
    per_class: dict  # label -> {"samples", "float_accuracy", "hw_accuracy"}
    confusion: dict  # "float" / "hw" -> [true label][predicted] counts
    count_agreement: float  # share of samples whose output spike counts are all equal
    first_diverging_sample: int | None  # first sample the two classify differently
    population_agreement: dict  # population -> {"count_agreement", "mean_abs_difference", spikes}

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def score_samples(float_counts: dict[str, np.ndarray], hw_counts: dict[str, np.ndarray], labels: np.ndarray,
                  output: str) -> SampleScores:
    """Score (samples, neurons) spike counts per population; ``output`` classifies by its most
    spikes. Populations only one side has (a mapping's relays) are left out."""
    y = np.asarray(labels)
    f, h = float_counts[output], hw_counts[output]
    pf, ph = np.argmax(f, axis=1), np.argmax(h, axis=1)
    per_class = {int(c): {"samples": int(np.sum(y == c)), "float_accuracy": float(np.mean(pf[y == c] == c)),
                          "hw_accuracy": float(np.mean(ph[y == c] == c))} for c in np.unique(y)}
    classes = f.shape[1]
    confusion = {}
    for name, pred in (("float", pf), ("hw", ph)):
        m = np.zeros((classes, classes), dtype=np.int64)
        np.add.at(m, (y, pred), 1)
        confusion[name] = m.tolist()
    differ = np.flatnonzero(pf != ph)
    return SampleScores(float_accuracy=float(np.mean(pf == y)), hw_accuracy=float(np.mean(ph == y)),
                        agreement=float(np.mean(pf == ph)), samples=int(y.size), per_class=per_class,
                        confusion=confusion, count_agreement=float(np.mean(np.all(f == h, axis=1))),
                        first_diverging_sample=int(differ[0]) if differ.size else None,
                        population_agreement=population_agreement(float_counts, hw_counts))


def population_agreement(float_counts: dict[str, np.ndarray], hw_counts: dict[str, np.ndarray]) -> dict:
    """Per population both runs have: the share of samples on which every neuron's count is
    equal, the mean absolute count difference per neuron and sample, and the spikes of each."""
    out = {}
    for name, f in float_counts.items():
        h = hw_counts.get(name)
        if h is None or h.shape != f.shape:
            continue
        out[name] = {"count_agreement": float(np.mean(np.all(f == h, axis=1))),
                     "mean_abs_difference": float(np.mean(np.abs(f - h))) if f.size else 0.0,
                     "float_spikes": int(f.sum()), "hw_spikes": int(h.sum())}
    return out
