"""Placement: put cores on mesh positions so that traffic x hops is small.

Start from index order (chip by chip, row by row) and refine by pairwise swaps of positions
(steepest descent on ``sum_ij traffic_ij * hops(pos_i, pos_j)``, each sweep vectorized over all
partners of a core) until no swap helps or ``max_sweeps`` is reached. Deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..arrays import distinct
from ..targets import Target

__all__ = ["SwapRefinement", "slot_positions", "hop_matrix", "core_traffic"]


def slot_positions(n_slots: int, target: Target) -> np.ndarray:
    """(chip, row, column) of the first ``n_slots`` core positions, chip by chip, row by row."""
    rows, cols = target.chip.mesh
    chip, local = np.divmod(np.arange(n_slots), rows * cols)
    return np.stack([chip, local // cols, local % cols], axis=1)


def hop_matrix(position: np.ndarray, target: Target) -> np.ndarray:
    """Dimension-order hops between positions; chips tile a board, a torus wraps around."""
    rows, cols = target.chip.mesh
    b_rows, b_cols = target.chip.board
    chip_r, chip_c = np.divmod(position[:, 0], max(b_cols, 1))
    gy = chip_r * rows + position[:, 1]
    gx = chip_c * cols + position[:, 2]
    dy = np.abs(gy[:, None] - gy[None, :])
    dx = np.abs(gx[:, None] - gx[None, :])
    if target.routing.kind == "torus":
        dy = np.minimum(dy, b_rows * rows - dy)
        dx = np.minimum(dx, b_cols * cols - dx)
    return dy + dx


def core_traffic(core_of: np.ndarray, n_cores: int, pre: np.ndarray, post: np.ndarray,
                 rates: np.ndarray | None = None) -> np.ndarray:
    """Directed matrix of spikes per second from core to core: one spike per (neuron, destination
    core) pair per presynaptic spike (multicast), at ``rates`` (1 Hz per neuron without them)."""
    n = core_of.size
    is_neuron = pre < n
    src, dst = pre[is_neuron], core_of[post[is_neuron]]
    pairs = distinct(src.astype(np.int64) * n_cores + dst)
    neuron, b = pairs // n_cores, pairs % n_cores
    m = np.zeros((n_cores, n_cores))
    np.add.at(m, (core_of[neuron], b), 1.0 if rates is None else rates[neuron])
    np.fill_diagonal(m, 0.0)
    return m


@dataclass(frozen=True, kw_only=True)
class SwapRefinement:
    name: ClassVar[str] = "swap-refinement"
    max_sweeps: int = 50
    max_cores: int = 256  # each sweep is O(k^3); above this, index order is kept

    def run(self, traffic: np.ndarray, target: Target) -> np.ndarray:
        """Position (chip, row, column) of each core; ``traffic`` may be directed."""
        traffic = traffic + traffic.T
        k = traffic.shape[0]
        slots = slot_positions(k, target)
        if k <= 2 or k > self.max_cores:
            return slots
        hops = hop_matrix(slots, target).astype(np.float64)
        at = np.arange(k)  # core -> slot
        h = hops.copy()  # h[a, b]: hops between cores a and b under the current placement
        for _ in range(self.max_sweeps):
            improved = False
            for i in range(k):
                # cost change of swapping the slots of core i and core j, for every j:
                # sum_m (T_im - T_jm)(h_jm - h_im) over m != i, j
                delta = ((traffic[i][None, :] - traffic) * (h - h[i][None, :])).sum(axis=1) + 2 * traffic[i] * h[i]
                delta[i] = 0.0
                j = int(np.argmin(delta))
                if delta[j] < -1e-9:
                    at[i], at[j] = at[j], at[i]
                    h = hops[at][:, at]
                    improved = True
            if not improved:
                break
        return slots[at]
