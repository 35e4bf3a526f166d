"""Exact placement of small mappings with OR-Tools CP-SAT.

Minimize ``sum_{i<j} T_ij * hops(pos_i, pos_j)`` (``T`` symmetrized traffic) over every position
of the chips the mapping occupies, not only the first ``k``: each core gets a position index
(all different); its global row and column come from element constraints; hops are
``|dy| + |dx|`` (on a torus ``min(|d|, size - |d|)`` per axis). The swap-refined placement is the
hint, so the result is never worse; when the search finishes within its budget the placement is
proven optimal. Integer traffic (spikes at 1 Hz per neuron) is used as is; rates are scaled to
integers (heaviest pair = ``scale``) and then no optimality is claimed. The reported cost is
recomputed in floating point. The budget is CP-SAT's *deterministic* time with
one worker, so results do not depend on the machine's speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..targets import Target
from .cpsat import solve_deterministic
from .place import hop_matrix, slot_positions

__all__ = ["CpSatPlacement", "PlacementResult", "placement_cost"]


def placement_cost(traffic: np.ndarray, position: np.ndarray, target: Target) -> float:
    """``sum_ij traffic_ij * hops`` (directed traffic counted as given)."""
    return float((traffic * hop_matrix(position, target)).sum())


@dataclass(frozen=True, kw_only=True)
class PlacementResult:
    position: np.ndarray  # (cores, 3): chip, row, column
    cost: float  # sum traffic x hops of ``position``
    start_cost: float  # of the hint (swap refinement)
    lower_bound: float  # proven by the solver (same units as cost)
    optimal: bool
    status: str


@dataclass(frozen=True, kw_only=True)
class CpSatPlacement:
    name: ClassVar[str] = "cp-sat"
    max_cores: int = 64  # larger mappings keep the heuristic placement
    deterministic_time: float = 5.0  # CP-SAT deterministic seconds
    scale: int = 1000  # integer weight of the heaviest core pair
    seed: int = 0

    def run(self, traffic: np.ndarray, target: Target, start: np.ndarray) -> PlacementResult:
        from ortools.sat.python import cp_model

        k = traffic.shape[0]
        start_cost = placement_cost(traffic, start, target)
        sym = np.triu(traffic + traffic.T, 1)
        if k <= 1 or not sym.any():
            return PlacementResult(position=start, cost=start_cost, start_cost=start_cost, lower_bound=start_cost,
                                   optimal=True, status="trivial")
        per_chip = target.chip.cores_per_chip
        chips = int(start[:, 0].max()) + 1
        slots = slot_positions(chips * per_chip, target)
        rows, cols = target.chip.mesh
        b_rows, b_cols = target.chip.board
        chip_r, chip_c = np.divmod(slots[:, 0], max(b_cols, 1))
        gy = (chip_r * rows + slots[:, 1]).astype(int).tolist()
        gx = (chip_c * cols + slots[:, 2]).astype(int).tolist()
        height, width = max(gy) + 1, max(gx) + 1
        torus = target.routing.kind == "torus"
        full_h, full_w = b_rows * rows, b_cols * cols
        index_of = {tuple(s): i for i, s in enumerate(slots.tolist())}

        m = cp_model.CpModel()
        pos = [m.new_int_var(0, len(slots) - 1, f"pos{i}") for i in range(k)]
        m.add_all_different(pos)
        ys = [m.new_int_var(0, height - 1, f"y{i}") for i in range(k)]
        xs = [m.new_int_var(0, width - 1, f"x{i}") for i in range(k)]
        for i in range(k):
            m.add_element(pos[i], gy, ys[i])
            m.add_element(pos[i], gx, xs[i])
            m.add_hint(pos[i], index_of[tuple(int(v) for v in start[i])])

        def axis_distance(a, b, size, full, tag):
            diff = m.new_int_var(-(size - 1), size - 1, f"d{tag}")
            m.add(diff == a - b)
            dist = m.new_int_var(0, size - 1, f"a{tag}")
            m.add_abs_equality(dist, diff)
            if not torus:
                return dist
            wrapped = m.new_int_var(0, size - 1, f"w{tag}")
            m.add_min_equality(wrapped, [dist, full - dist])
            return wrapped

        if np.array_equal(sym, np.rint(sym)) and sym.max() <= 10**6:  # spike counts: exact integer weights
            unit = 1.0
        else:
            unit = sym.max() / self.scale
        weight = np.maximum(np.rint(sym / unit), (sym > 0).astype(float)).astype(int)
        terms = []
        for i, j in zip(*np.nonzero(weight)):
            dy = axis_distance(ys[i], ys[j], height, full_h, f"y{i}_{j}")
            dx = axis_distance(xs[i], xs[j], width, full_w, f"x{i}_{j}")
            terms.append(int(weight[i, j]) * (dy + dx))
        m.minimize(sum(terms))

        solver, status, name, found = solve_deterministic(m, self.deterministic_time, self.seed)
        if not found:
            return PlacementResult(position=start, cost=start_cost, start_cost=start_cost, lower_bound=0.0,
                                   optimal=False, status=name)
        found = slots[[solver.value(p) for p in pos]]
        cost = placement_cost(traffic, found, target)
        # the model's bound is in integer weight units; it bounds the real cost only when the weights
        # are exact (integer traffic), else the rounding makes it approximate and 0 is reported
        exact = np.array_equal(weight * unit, sym)
        bound = solver.best_objective_bound * unit if exact else 0.0
        if cost > start_cost:
            found, cost = start, start_cost
        return PlacementResult(position=found, cost=cost, start_cost=start_cost, lower_bound=min(bound, cost),
                               optimal=status == cp_model.OPTIMAL and exact, status=name)
