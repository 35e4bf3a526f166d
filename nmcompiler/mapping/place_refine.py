"""Refinement of large placements: moves and swaps toward each core's traffic centre.

For thousands of cores the dense pairwise swap search (:class:`.place.SwapRefinement`, O(k^3) per
sweep) is out of reach. Here each core in turn looks at the grid cell at the traffic-weighted
centre of its neighbours and the four cells around it (among the chips already used); it moves
there when the cell is empty, or swaps with the core there, whenever that lowers
``sum traffic x hops`` (the change is computed exactly from the two cores' neighbour lists, so
the cost never rises). Sweeps repeat until one gains less than ``min_gain`` of the cost. Work per
sweep is linear in the traffic pairs (compiled with numba); deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit
from scipy import sparse

from ..targets import Target
from .place_large import _global_grid

__all__ = ["SparseSwapRefinement"]


@njit(cache=True)
def _hops(y0, x0, y1, x1, height, width, torus):
    dy, dx = abs(y0 - y1), abs(x0 - x1)
    if torus:
        dy, dx = min(dy, height - dy), min(dx, width - dx)
    return dy + dx


@njit(cache=True)
def _change(i, skip, y_new, x_new, indptr, indices, data, gy, gx, height, width, torus):
    """Cost change when core ``i`` moves to (y_new, x_new), ignoring its pair with ``skip``."""
    total = 0.0
    for e in range(indptr[i], indptr[i + 1]):
        m = indices[e]
        if m == i or m == skip:
            continue
        total += data[e] * (_hops(y_new, x_new, gy[m], gx[m], height, width, torus)
                            - _hops(gy[i], gx[i], gy[m], gx[m], height, width, torus))
    return total


@njit(cache=True)
def _sweep(indptr, indices, data, gy, gx, grid, height, width, torus):
    gain = 0.0
    dys = np.array([0, -1, 1, 0, 0])
    dxs = np.array([0, 0, 0, -1, 1])
    for i in range(gy.size):
        weight, sy, sx = 0.0, 0.0, 0.0
        for e in range(indptr[i], indptr[i + 1]):
            m = indices[e]
            if m != i:
                weight += data[e]
                sy += data[e] * gy[m]
                sx += data[e] * gx[m]
        if weight <= 0.0:
            continue
        cy, cx = int(round(sy / weight)), int(round(sx / weight))
        for c in range(5):
            y, x = cy + dys[c], cx + dxs[c]
            if y < 0 or x < 0 or y >= height or x >= width or (y == gy[i] and x == gx[i]):
                continue
            j = grid[y, x]
            if j == -2:  # outside the chips in use
                continue
            delta = _change(i, j, y, x, indptr, indices, data, gy, gx, height, width, torus)
            if j >= 0:
                delta += _change(j, i, gy[i], gx[i], indptr, indices, data, gy, gx, height, width, torus)
            if delta < -1e-9:
                yi, xi = gy[i], gx[i]
                grid[yi, xi] = j
                grid[y, x] = i
                if j >= 0:
                    gy[j], gx[j] = yi, xi
                gy[i], gx[i] = y, x
                gain -= delta
                break
    return gain


@dataclass(frozen=True, kw_only=True)
class SparseSwapRefinement:
    name: ClassVar[str] = "centre-swaps"
    max_sweeps: int = 20
    min_gain: float = 1e-3  # stop when a sweep gains less than this fraction of the cost

    def run(self, traffic: sparse.csr_matrix, position: np.ndarray, target: Target) -> np.ndarray:
        """A refined copy of ``position`` ((chip, row, column) per core) for directed ``traffic``."""
        k = position.shape[0]
        if k <= 1:
            return position
        chips = int(position[:, 0].max()) + 1
        rows, cols, b_rows, b_cols = _global_grid(target, chips)
        height, width = b_rows * rows, b_cols * cols
        chip_r, chip_c = np.divmod(position[:, 0], b_cols)
        gy = (chip_r * rows + position[:, 1]).astype(np.int64)
        gx = (chip_c * cols + position[:, 2]).astype(np.int64)
        cell_y, cell_x = np.divmod(np.arange(height * width), width)
        chip_of_cell = (cell_y // rows) * b_cols + cell_x // cols
        grid = np.where(chip_of_cell < chips, -1, -2).reshape(height, width).astype(np.int64)
        grid[gy, gx] = np.arange(k)
        sym = (traffic + traffic.T).tocsr()
        sym.sum_duplicates()
        indptr, indices = sym.indptr.astype(np.int64), sym.indices.astype(np.int64)
        data = sym.data.astype(np.float64)
        torus = target.routing.kind == "torus"
        src = np.repeat(np.arange(k), np.diff(indptr))
        dy, dx = np.abs(gy[src] - gy[indices]), np.abs(gx[src] - gx[indices])
        if torus:
            dy, dx = np.minimum(dy, height - dy), np.minimum(dx, width - dx)
        cost = float((data * (dy + dx)).sum()) / 2  # every pair appears twice in the symmetric matrix
        for _ in range(self.max_sweeps):
            gain = _sweep(indptr, indices, data, gy, gx, grid, height, width, torus)
            cost -= gain
            if gain <= self.min_gain * max(cost, 1.0):
                break
        out = np.empty_like(position)
        out[:, 0] = (gy // rows) * b_cols + gx // cols
        out[:, 1], out[:, 2] = gy % rows, gx % cols
        return out
