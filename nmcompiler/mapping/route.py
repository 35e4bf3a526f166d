"""Dimension-order routing on the global core grid, and the load it puts on every link.

Cores sit on one grid: chips tile the board (``chip.board``), each chip a ``chip.mesh`` of cores.
A spike from core a to core b travels first along x, then along y (``dimension_order: xy``; ``yx``
swaps them); on a torus each dimension takes the shorter way round. A link's load is the spikes
per second that cross it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..targets import Target

__all__ = ["LinkLoads", "route_dimension_order"]


@dataclass(frozen=True, kw_only=True)
class LinkLoads:
    horizontal: np.ndarray  # (rows, cols): link from (y, x) to (y, x+1) (wrapping on a torus)
    vertical: np.ndarray  # (rows, cols): link from (y, x) to (y+1, x)

    @property
    def max(self) -> float:
        return float(max(self.horizontal.max(initial=0.0), self.vertical.max(initial=0.0)))

    @property
    def total(self) -> float:
        return float(self.horizontal.sum() + self.vertical.sum())


def _grid(position: np.ndarray, target: Target):
    rows, cols = target.chip.mesh
    b_rows, b_cols = target.chip.board
    chips_used = int(position[:, 0].max()) + 1 if position.size else 1
    b_rows = max(b_rows, -(-chips_used // max(b_cols, 1)))  # grow the board if more chips are used
    chip_r, chip_c = np.divmod(position[:, 0], max(b_cols, 1))
    return chip_r * rows + position[:, 1], chip_c * cols + position[:, 2], b_rows * rows, b_cols * cols


@njit(cache=True)
def _walk(load, fixed, start, stop, size, wrap, amount, axis):
    """Add ``amount`` to the links crossed going from ``start`` to ``stop`` along one axis."""
    if start == stop:
        return
    forward = (stop - start) % size
    if wrap:
        step = 1 if forward <= size - forward else -1
    else:
        step = 1 if stop > start else -1
    pos = start
    while pos != stop:
        if step == 1:
            link = pos
        else:
            link = (pos - 1) % size if wrap else pos - 1
        if axis == 1:
            load[fixed, link] += amount
        else:
            load[link, fixed] += amount
        pos = (pos + step) % size if wrap else pos + step


@njit(cache=True)
def _route_all(src, dst, amount, gy, gx, height, width, wrap, x_first, horizontal, vertical):
    for k in range(src.size):
        a, b = src[k], dst[k]
        if a == b or amount[k] == 0.0:
            continue
        if x_first:
            _walk(horizontal, gy[a], gx[a], gx[b], width, wrap, amount[k], 1)
            _walk(vertical, gx[b], gy[a], gy[b], height, wrap, amount[k], 0)
        else:
            _walk(vertical, gx[a], gy[a], gy[b], height, wrap, amount[k], 0)
            _walk(horizontal, gy[b], gx[a], gx[b], width, wrap, amount[k], 1)


def route_dimension_order(position: np.ndarray, traffic, target: Target) -> LinkLoads:
    """Link loads for directed core-to-core ``traffic`` (spikes/s; a dense array or a scipy sparse
    matrix) with cores at ``position``."""
    gy, gx, height, width = _grid(position, target)
    horizontal = np.zeros((height, width))
    vertical = np.zeros((height, width))
    if hasattr(traffic, "tocoo"):
        coo = traffic.tocoo()
        src, dst, amount = coo.row, coo.col, coo.data
    else:
        src, dst = np.nonzero(traffic)
        amount = traffic[src, dst]
    _route_all(src.astype(np.int64), dst.astype(np.int64), np.asarray(amount, dtype=np.float64),
               gy.astype(np.int64), gx.astype(np.int64), int(height), int(width),
               target.routing.kind == "torus", target.routing.dimension_order == "xy", horizontal, vertical)
    return LinkLoads(horizontal=horizontal, vertical=vertical)
