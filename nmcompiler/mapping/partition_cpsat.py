"""Exact partitioning of small networks with OR-Tools CP-SAT, every per-core limit as a hard constraint.

Booleans ``x[i, c]`` (neuron ``i`` on core ``c``, exactly one core each), ``y[s, c]`` (presynaptic
source ``s``, a neuron or host channel, reaches core ``c``: implied by any of its targets on
``c``), ``u[i, c]`` (neuron ``i``'s spikes cross to core ``c``: ``y[i, c] and not x[i, c]``) and
``used[c]``. Per core: ``sum_i x <= neurons``, ``sum_i fan_in_i * bits * x <= synapse memory``,
``sum_s y <= input axons`` (distinct sources, exactly as :func:`.usage.core_usage` counts them) and,
when it can bind, ``sum_d z[c, d] <= output axons`` with ``z[c, d] >= x[i, c] and y[i, d]``. The
objective is lexicographic: fewest cores, then least inter-core traffic ``sum_i r_i sum_c u[i, c]``
(``r`` = 1 per neuron, or rates scaled to integers with the busiest neuron at ``scale``). Symmetry
is broken by numbering cores by their lowest neuron (neuron ``i`` sits on a core ``<= i``). The
best heuristic partition is the hint and the number of cores available, so the result is never
worse; with integer traffic a finished search proves the partition optimal. The budget is CP-SAT's
deterministic time with one worker: reproducible on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..arrays import distinct
from ..targets import Target
from .cpsat import solve_deterministic
from .usage import traffic

__all__ = ["CpSatPartition", "PartitionResult"]


@dataclass(frozen=True, kw_only=True)
class PartitionResult:
    core_of: np.ndarray
    cores: int
    traffic: float  # inter-core spikes per second of ``core_of``
    start_cores: int
    start_traffic: float  # of the hint
    traffic_lower_bound: float  # proven for the returned core count (0 when not proven)
    optimal: bool
    status: str


@dataclass(frozen=True, kw_only=True)
class CpSatPartition:
    name: ClassVar[str] = "cp-sat"
    max_neurons: int = 512  # larger networks keep the heuristic partition
    max_terms: int = 200_000  # (synapse pair x core) implications the model may hold
    deterministic_time: float = 5.0
    scale: int = 100  # integer weight of the busiest neuron when rates are given
    seed: int = 0

    def applicable(self, n: int, pairs: int, cores: int, target: Target) -> bool:
        """Small enough, and a target whose per-core limits this model states exactly."""
        return (0 < n <= self.max_neurons and 1 < cores and pairs * cores <= self.max_terms
                and not target.storage.axon_per_delay and target.core.fan_out_per_neuron is None)

    def run(self, n: int, pre: np.ndarray, post: np.ndarray, target: Target, start: np.ndarray,
            rates: np.ndarray | None = None) -> PartitionResult:
        from ortools.sat.python import cp_model

        _, first, inverse = np.unique(start, return_index=True, return_inverse=True)
        start = np.argsort(np.argsort(first))[inverse]  # cores numbered by their lowest neuron, as the model
        k = int(start.max()) + 1
        start_traffic = traffic(start, pre, post, rates)
        pairs = distinct(pre.astype(np.int64) * n + post)  # distinct (source, neuron) pairs; multapses reach one axon
        src, dst = pairs // n, pairs % n
        sources = distinct(src)
        c = target.core
        fan_in = np.bincount(post, minlength=n)
        weight = np.ones(n, dtype=np.int64)
        if rates is not None:
            top = float(np.max(rates)) if rates.size else 0.0
            weight = np.rint(np.maximum(rates, 0.0) / top * self.scale).astype(np.int64) if top > 0 else weight * 0
        m = cp_model.CpModel()
        x = [[m.new_bool_var(f"x{i}_{j}") if j <= i else None for j in range(k)] for i in range(n)]
        for i in range(n):
            m.add_exactly_one(v for v in x[i] if v is not None)
        used = [m.new_bool_var(f"used{j}") for j in range(k)]
        y = {int(s): [m.new_bool_var(f"y{s}_{j}") for j in range(k)] for s in sources}
        for s, d in zip(src.tolist(), dst.tolist()):
            for j in range(min(d, k - 1) + 1):
                m.add_implication(x[d][j], y[s][j])
        bits = target.synapse_bits()
        for j in range(k):
            members = [(i, x[i][j]) for i in range(j, n)]
            for _, v in members:
                m.add_implication(v, used[j])
            m.add(sum(v for _, v in members) <= c.neurons)
            if bits:
                m.add(sum(int(fan_in[i]) * bits * v for i, v in members) <= c.synapse_memory_bits)
            m.add(sum(y[s][j] for s in y) <= c.input_axons)
        crossing = []
        for s in (int(v) for v in sources if v < n):
            for j in range(k):
                u = m.new_bool_var(f"u{s}_{j}")
                own = x[s][j] if j <= s else None
                m.add_bool_or([y[s][j].Not(), u] + ([own] if own is not None else []))
                crossing.append((int(weight[s]), u))
        if c.output_axons < k - 1:
            for a in range(k):
                out = []
                for b in range(k):
                    if a == b:
                        continue
                    z = m.new_bool_var(f"z{a}_{b}")
                    for s in (int(v) for v in sources if v < n and v >= a):
                        m.add_bool_or([x[s][a].Not(), y[s][b].Not(), z])
                    out.append(z)
                m.add(sum(out) <= c.output_axons)
        total = sum(w for w, _ in crossing)
        m.minimize((total + 1) * sum(used) + sum(w * u for w, u in crossing if w))
        for i in range(n):
            for j in range(min(i, k - 1) + 1):
                m.add_hint(x[i][j], int(start[i]) == j)
        solver, status, name, found = solve_deterministic(m, self.deterministic_time, self.seed)
        if not found:
            return PartitionResult(core_of=start, cores=k, traffic=start_traffic, start_cores=k,
                                   start_traffic=start_traffic, traffic_lower_bound=0.0, optimal=False, status=name)
        core_of = np.array([next(j for j in range(min(i, k - 1) + 1) if solver.value(x[i][j])) for i in range(n)],
                           dtype=np.int64)
        _, core_of = np.unique(core_of, return_inverse=True)  # drop unused core numbers, keep their order
        found = traffic(core_of, pre, post, rates)
        cores = int(core_of.max()) + 1
        if (cores, found) > (k, start_traffic):
            core_of, cores, found = start, k, start_traffic
        exact = rates is None
        bound = solver.best_objective_bound - (total + 1) * cores if exact else 0.0
        return PartitionResult(core_of=core_of, cores=cores, traffic=found, start_cores=k, start_traffic=start_traffic,
                               traffic_lower_bound=max(0.0, min(float(bound), found)),
                               optimal=status == cp_model.OPTIMAL and exact, status=name)
