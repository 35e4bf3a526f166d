"""Spike-train distance used by ``nmc compare``.

van Rossum (2001): convolve each train with ``exp(-t/tau)`` (t >= 0) and take the L2 distance,
normalized so that one unmatched spike contributes 1:

    D^2 = sum_ij k(a_i - a_j) + sum_ij k(b_i - b_j) - 2 sum_ij k(a_i - b_j),   k(d) = exp(-|d| / tau)

(closed form, times in steps). Identical trains give 0; a single spike shifted by ``s`` steps
gives ``sqrt(2 (1 - exp(-s/tau)))``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["van_rossum"]


def _kernel_sum(a: np.ndarray, b: np.ndarray, tau: float) -> float:
    if a.size == 0 or b.size == 0:
        return 0.0
    return float(np.exp(-np.abs(a[:, None] - b[None, :]) / tau).sum())


def van_rossum(a: np.ndarray, b: np.ndarray, tau: float = 10.0) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    d2 = _kernel_sum(a, a, tau) + _kernel_sum(b, b, tau) - 2 * _kernel_sum(a, b, tau)
    return float(np.sqrt(max(d2, 0.0)))
