"""Legalization for CAM cores: every weight a sum of its core's shared base weights.

On a DYNAP-SE2-like core (:mod:`nmcompiler.targets.cam`) a synapse's CAM word holds a sign (its
synapse type) and a mask of ``B`` bits; its weight is ``sign x sum(base[k] for k in mask)`` with
``B`` base weights shared by the core's neurons (Rockpool fits them per core, as here; with
``weight_sharing: type`` each synapse type of a core has its own ``B``). After
partitioning, this pass fits each core's base weights to the magnitudes of the integer weights of
the synapses into it, minimizing the summed squared error:

1. when the core has at most ``B`` distinct non-zero magnitudes, they are the base weights and every
   weight is kept exactly (each mask selects one);
2. otherwise binary-weighted bases ``s x (1, 2, 4, ...)`` at the best scale ``s`` (on a grid of at
   most 128 scales, then every scale around its best), refined by coordinate descent: each base in
   turn set to its best value (the same grid search over its range), until nothing improves. Over
   1024 distinct magnitudes, the fit weighs them in 1024 bins.

Each weight then becomes the nearest subset sum that fits the format's largest weight (ties: the
lower sum), so every legalized weight fits the format (the bases of 2. sum to at most that).
Deterministic. The report gives per core the synapses changed and the RMS and largest error.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..ir.fixed_point import FixedPointNetwork
from ..lowered import program_from_fixed_point
from .results import WeightChange, weight_change

__all__ = ["CamBaseWeights", "CamWeights", "fit_base_weights", "subset_sums"]


def subset_sums(bases: np.ndarray) -> np.ndarray:
    """``sums[mask]``: the sum of the bases whose bits ``mask`` sets (``2^B`` values)."""
    masks = np.arange(1 << bases.size)
    bits = (masks[:, None] >> np.arange(bases.size)[None, :]) & 1
    return bits @ bases.astype(np.int64)


def _cost(sums: np.ndarray, values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Summed squared error of ``values`` (with ``counts``) to their nearest sum, per row of ``sums``."""
    d = np.abs(sums[..., :, None] - values[None, None, :]).min(axis=-2)
    return (d.astype(np.float64) ** 2 * counts).sum(axis=-1)


def _best_value(bases: np.ndarray, k: int, values: np.ndarray, counts: np.ndarray, room: int):
    """The best integer in ``0 .. room`` for base ``k``, the others fixed: a grid of at most
    ``GRID`` steps, then every integer around its best point."""
    def trial(candidates):
        t = np.repeat(bases[None], candidates.size, axis=0)
        t[:, k] = candidates
        costs = _cost(np.stack([subset_sums(b) for b in t]), values, counts)
        j = int(np.argmin(costs))
        return int(candidates[j]), float(costs[j])

    step = max(1, room // GRID)
    v, _ = trial(np.arange(0, room + 1, step))
    return trial(np.arange(max(0, v - step + 1), min(room, v + step - 1) + 1))


GRID = 128  # grid steps per base before the fine search (exact search when a base's range is smaller)


def _descend(bases: np.ndarray, values: np.ndarray, counts: np.ndarray, limit: int) -> np.ndarray:
    bases = bases.copy()
    best = float(_cost(subset_sums(bases)[None], values, counts)[0])
    for _ in range(20):
        improved = False
        for k in range(bases.size):
            v, cost = _best_value(bases, k, values, counts, limit - (int(bases.sum()) - int(bases[k])))
            if cost < best:
                best, bases[k], improved = cost, v, True
        if not improved:
            break
    return np.sort(bases)


def fit_base_weights(magnitudes: np.ndarray, count: int, limit: int) -> np.ndarray:
    """``count`` non-negative integer base weights whose subset sums (those up to ``limit``) fit the
    integer ``magnitudes`` (at most ``limit``) best (see the module docstring); ascending."""
    values, counts = np.unique(np.asarray(magnitudes, dtype=np.int64), return_counts=True)
    nonzero = values[values > 0]
    if nonzero.size <= count:
        return np.sort(np.concatenate([np.zeros(count - nonzero.size, dtype=np.int64), nonzero]))
    values, counts = _binned(values, counts)
    unit = (1 << np.arange(count)).astype(np.int64)
    top = max(1, limit // int(unit.sum()))
    step = max(1, top // GRID)  # the best scale on a grid, then every scale around it

    def best_scale(scales: np.ndarray) -> int:
        return int(scales[int(np.argmin(_cost(subset_sums(unit)[None, :] * scales[:, None], values, counts)))])

    s = best_scale(np.arange(1, top + 1, step))
    s = best_scale(np.arange(max(1, s - step + 1), min(top, s + step - 1) + 1))
    return _descend(unit * s, values, counts, limit)


FIT_VALUES = 1024  # distinct magnitudes the fit weighs at most (more are binned, counts added)


def _binned(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most ``FIT_VALUES`` magnitudes: beyond that, each bin of equal width is its
    count-weighted mean (the fit's cost then approximates the exact one; the masks are exact)."""
    if values.size <= FIT_VALUES:
        return values, counts
    edges = np.linspace(values[0], values[-1] + 1, FIT_VALUES + 1)
    which = np.searchsorted(edges, values, side="right") - 1
    total = np.bincount(which, weights=counts, minlength=FIT_VALUES)
    mean = np.bincount(which, weights=counts * values, minlength=FIT_VALUES)
    keep = total > 0
    return np.rint(mean[keep] / total[keep]).astype(np.int64), total[keep]


def nearest_masks(magnitudes: np.ndarray, bases: np.ndarray, limit: int | None = None) -> np.ndarray:
    """Per magnitude, the mask whose subset sum (at most ``limit``) is nearest (ties: the lower sum,
    then the lower mask)."""
    sums = subset_sums(bases)
    if limit is not None:
        sums = np.where(sums > limit, np.iinfo(np.int64).max // 4, sums)
    order = np.lexsort((np.arange(sums.size), sums))  # by sum, then mask
    d = np.abs(sums[order][None, :] - np.asarray(magnitudes, dtype=np.int64)[:, None])
    return order[np.argmin(d, axis=1)]


@dataclass(frozen=True, kw_only=True, eq=False)
class CamWeights:
    fixed_point: FixedPointNetwork  # every weight a signed subset sum of its core's base weights
    bases: np.ndarray  # (cores, groups, B) int64: each core's base weights (per synapse type: groups > 1), ascending
    changes: dict[tuple[int, int], WeightChange]  # (core, group) -> how its weights changed


@dataclass(frozen=True, kw_only=True)
class CamBaseWeights:
    """``count`` base weights per core, or per core and synapse type when ``types`` (the table of
    :meth:`nmcompiler.targets.cam.CamSpec.group_table`) is given."""

    name: ClassVar[str] = "cam-base-weights"
    count: int  # base weights per core (or per core and type)
    types: np.ndarray | None = None  # [channel, sign > 0] -> synapse type: one set of bases per type

    def run(self, fxp: FixedPointNetwork, core_of: np.ndarray, cores: int) -> CamWeights:
        limit = (1 << (fxp.format.weight_bits - 1)) - 1
        offsets = program_from_fixed_point(fxp, synapses=False).offsets
        names = list(fxp.projections)
        qs = [fxp.projections[k] for k in names]
        weights = [q.weights.astype(np.int64) for q in qs]
        core = (core_of[np.concatenate([q.indices + offsets[q.post] for q in qs])] if qs
                else np.zeros(0, dtype=np.int64))
        weight = np.concatenate(weights) if weights else np.zeros(0, dtype=np.int64)
        groups = 1 if self.types is None else int(self.types.max()) + 1
        group = np.zeros(weight.size, dtype=np.int64)
        if self.types is not None and weight.size:
            channel = np.concatenate([np.full(w.size, q.channel) for q, w in zip(qs, weights)])
            group = self.types[channel, (weight >= 0).astype(np.int64)]
        new = weight.copy()
        bases = np.zeros((cores, groups, self.count), dtype=np.int64)
        changes = {}
        for key in np.unique(core * groups + group):
            c, g = divmod(int(key), groups)
            sel = np.flatnonzero((core == c) & (group == g))
            mags = np.abs(weight[sel])
            bases[c, g] = fit_base_weights(mags, self.count, limit)
            new[sel] = np.sign(weight[sel]) * subset_sums(bases[c, g])[nearest_masks(mags, bases[c, g], limit)]
            changes[(c, g)] = weight_change(weight[sel], new[sel])
        if np.array_equal(new, weight):
            return CamWeights(fixed_point=fxp, bases=bases, changes=changes)
        projections, start = dict(fxp.projections), 0
        for name, w in zip(names, weights):
            q = projections[name]
            mine = new[start:start + w.size]
            start += w.size
            projections[name] = dataclasses.replace(q, mantissa=(mine >> q.exponent).astype(q.mantissa.dtype))
        return CamWeights(fixed_point=dataclasses.replace(fxp, projections=projections), bases=bases, changes=changes)
