"""Dimension-order routing on the global core grid, and the load it puts on every link.

Cores sit on one grid: chips tile the board (``chip.board``), each chip a ``chip.mesh`` of cores.
A spike from core a to core b travels first along x, then along y (``dimension_order: xy``; ``yx``
swaps them); on a torus each dimension takes the shorter way round. A link's load is the spikes
per second that cross it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


def _walk(load: np.ndarray, fixed: int, start: int, stop: int, size: int, wrap: bool, amount: float, axis: int) -> None:
    """Add ``amount`` to the links crossed going from ``start`` to ``stop`` along one axis."""
    if start == stop:
        return
    forward = (stop - start) % size if wrap else None
    step = 1 if (stop > start if not wrap else forward <= size - forward) else -1
    pos = start
    while pos != stop:
        link = pos if step == 1 else (pos - 1) % size if wrap else pos - 1
        if axis == 1:
            load[fixed, link] += amount
        else:
            load[link, fixed] += amount
        pos = (pos + step) % size if wrap else pos + step


def route_dimension_order(position: np.ndarray, traffic, target: Target) -> LinkLoads:
    """Link loads for directed core-to-core ``traffic`` (spikes/s; a dense array or a scipy sparse
    matrix) with cores at ``position``."""
    gy, gx, height, width = _grid(position, target)
    horizontal = np.zeros((height, width))
    vertical = np.zeros((height, width))
    wrap = target.routing.kind == "torus"
    x_first = target.routing.dimension_order == "xy"
    if hasattr(traffic, "tocoo"):
        coo = traffic.tocoo()
        pairs = zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist())
    else:
        rows_, cols_ = np.nonzero(traffic)
        pairs = zip(rows_.tolist(), cols_.tolist(), traffic[rows_, cols_].tolist())
    for a, b, amount in pairs:
        if a == b or not amount:
            continue
        if x_first:
            _walk(horizontal, gy[a], gx[a], gx[b], width, wrap, amount, axis=1)
            _walk(vertical, gx[b], gy[a], gy[b], height, wrap, amount, axis=0)
        else:
            _walk(vertical, gx[a], gy[a], gy[b], height, wrap, amount, axis=0)
            _walk(horizontal, gy[b], gx[a], gx[b], width, wrap, amount, axis=1)
    return LinkLoads(horizontal=horizontal, vertical=vertical)
