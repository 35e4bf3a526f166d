"""The shape of a learned weight distribution: how STDP outcomes are compared between simulators
(Song, Miller & Abbott 2000: additive STDP splits the weights into a group near 0 and a group
near the upper bound)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["WeightDistribution", "weight_distribution"]


@dataclass(frozen=True, kw_only=True)
class WeightDistribution:
    """Weights scaled to ``[0, 1]`` by their bounds: the fractions within ``edge`` of either bound,
    the mean, a 20-bin histogram, and ``bimodal``: both outer tenths (two bins each) hold more than
    ``2 x`` the weights of an average pair of bins in the middle half."""

    near_max: float
    near_min: float
    mean: float
    histogram: list[int]
    bimodal: bool

    def to_json(self) -> dict:
        return {"near_max": self.near_max, "near_min": self.near_min, "mean": self.mean,
                "histogram": self.histogram, "bimodal": self.bimodal}


def weight_distribution(weights: np.ndarray, w_min: float, w_max: float, edge: float = 0.1) -> WeightDistribution:
    scaled = (np.asarray(weights, dtype=np.float64) - w_min) / (w_max - w_min)
    hist = np.histogram(scaled, bins=20, range=(0.0, 1.0))[0]
    middle_pair = 2 * hist[5:15].mean()
    return WeightDistribution(
        near_max=float(np.mean(scaled >= 1 - edge)), near_min=float(np.mean(scaled <= edge)),
        mean=float(scaled.mean()), histogram=hist.tolist(),
        bimodal=bool(min(hist[:2].sum(), hist[-2:].sum()) > 2 * middle_pair))
