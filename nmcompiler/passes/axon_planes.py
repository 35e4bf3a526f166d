"""Legalization for crossbar cores with axon types: trained weights as bit planes.

A crossbar core (TrueNorth-like) stores one bit per (input axon, neuron), and neuron ``j`` weighs
every synapse from an axon of type ``t`` by its own ``W[j, t]``. One axon per source gives each
neuron at most ``T`` weights, shared by type across the core: a trained dense layer does not
survive that (:class:`.ClusterWeights` and the axon-type assignment: 17 % on the digits
classifier). Several axons per source do. With the ``T`` types weighing ``s_j v_t``,
``v = (1, 2, ..., 2^(T-2), -2^(T-1))`` (``T``-bit two's complement, ``s_j`` a per-neuron scale),
a source that reaches the core through the planes of a set ``S`` gives ``j`` any sum of a subset
of ``{s_j v_t : t in S}``: with all ``T`` planes any ``s_j q``, ``q`` an integer in
``[-2^(T-1), 2^(T-1) - 1]``; plane ``t``'s synapse exists where that subset holds ``t`` (the
TrueNorth practice of several copies of an input on typed axons).

Per postsynaptic population whose neurons see more than ``T`` distinct weights:

1. its sources (presynaptic node, index, delay) number ``F``; a core's ``A`` input axons hold
   ``sum |S_u| <= A`` (``F > A``, or a source that cannot be copied, leaves the population to
   clustering). Every source starts with all ``T`` planes; while the sum exceeds ``A``, the source
   whose next plane costs the least squared weight error gives it up, keeping the best set of
   the planes left (``{4, -8}`` for weights of both signs, ``{1, 2}`` for small positive ones).
   A synapse's error counts in proportion to its source's firing rate when ``activity`` gives
   every source's (``nmc compile --rates`` or ``--data``): the planes go where spikes are;
2. ``s_j`` starts at ``max(max_w / (2^(T-1) - 1), -min_w / 2^(T-1))`` and is then searched for
   the least error with the sets chosen, and the sets chosen again once;
3. each projection becomes one projection per plane. Plane ``T - 1`` (the sign) leaves the source
   itself; plane ``t < T - 1`` leaves a copy of it: a host spike source gets a *mirror* (a source
   that sends whatever the original sends: :attr:`SpikeSource.mirror_of`), a population a
   *replica* (the same neurons with copies of every incoming projection, which fire exactly when
   the original does), placed right after it. No timing changes: no splitter, no extra tick. On
   targets whose neurons reach one axon, a population that feeds more than one population is not
   copied (its copies would need splitters).

``hints`` gives the axon type of every plane's sender, which :class:`.AssignAxonTypes` tries first
so that the types come out exact. Deterministic.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..ir import Connectivity, Network, Population, Projection, SpikeSource
from .results import WeightChange, weight_change

__all__ = ["AxonPlanes", "Planes", "PlaneBits"]


@dataclass(frozen=True, kw_only=True)
class PlaneBits:
    """What a population's incoming weights became."""

    sources: int  # distinct (presynaptic node, index, delay)
    bits: dict[int, int]  # planes per source -> number of sources
    change: WeightChange
    by_rate: bool  # whether the sources' rates weighed the error


@dataclass(frozen=True, kw_only=True, eq=False)
class Planes:
    network: Network
    populations: dict[str, PlaneBits]  # population -> its planes
    left: dict[str, str]  # population -> why its weights are left to clustering
    copies: dict[str, tuple[int, ...]]  # presynaptic node -> the planes its copies send
    hints: dict[str, int]  # sending node -> the axon type of its plane


def _grouped(net: Network, copies: dict[str, tuple[int, ...]]) -> Network:
    """``net`` with each node's copies right after it: a partition in index order keeps a neuron
    and its copies, which share every input axon, on one core (the copies reach the next layer's
    core as the original does, without splitters)."""
    out = Network(net.name, dt=net.dt, seed=net.seed, duration=net.duration)
    added = {f"{name}.plane{k}" for name, ks in copies.items() for k in ks}
    for node in net.nodes:
        if node.name in added:
            continue
        out.add(node)
        for k in copies.get(node.name, ()):
            out.add(net.node(f"{node.name}.plane{k}"))
    for p in net.projections:
        out.connect(p)
    out.probes = list(net.probes)
    return out


class _Levels:
    """The weights (in units of a neuron's scale) that a source reaches through a set of its planes:
    ``table[S, m]`` is the sum of the values of the planes in mask ``m`` if ``m`` lies within the
    set ``S``, else infinite."""

    def __init__(self, types: int):
        self.values = np.array([1 << k for k in range(types - 1)] + [-(1 << (types - 1))], dtype=np.float64)
        masks = np.arange(1 << types)
        members = (masks[:, None] >> np.arange(types)) & 1
        self.planes = members.sum(axis=1)  # planes in each set
        self.table = np.where((masks[None, :] & ~masks[:, None]) == 0, (members @ self.values)[None, :], np.inf)

    def nearest(self, w: np.ndarray, scale: np.ndarray, sets) -> np.ndarray:
        """The plane mask of each weight: the nearest level of its set (the lower mask on ties)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(scale > 0, w / np.where(scale > 0, scale, 1.0), 0.0)
        return np.argmin(np.abs(x[:, None] - self.table[sets]), axis=1)

    def error(self, w: np.ndarray, scale: np.ndarray, sets) -> np.ndarray:
        m = self.nearest(w, scale, sets)
        return (w - scale * self.table[m, m]) ** 2


def _best_scale(levels: _Levels, w: np.ndarray, post: np.ndarray, sets: np.ndarray, scale: np.ndarray,
                rate: np.ndarray, steps: int = 41) -> np.ndarray:
    """Each neuron's scale among ``steps`` fractions (0.4 .. 1.2) of ``scale`` with the least
    squared error (weighted by ``rate``) of its weights on their sets' levels."""
    out, best = scale.copy(), np.full(scale.size, np.inf)
    for f in np.linspace(0.4, 1.2, steps):
        trial = scale * f
        err = np.bincount(post, levels.error(w, trial[post], sets) * rate, minlength=scale.size)
        better = err < best
        out, best = np.where(better, trial, out), np.where(better, err, best)
    return out


def _choose_sets(levels: _Levels, cost: np.ndarray, axons: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Planes per source and its set of planes: ``cost[u, S - 1]`` is source ``u``'s error with the
    set ``S``; the best set of each size, and the sizes by :func:`_allot` (None: one each do not fit)."""
    n, top = cost.shape[0], levels.planes.size.bit_length() - 1
    best = np.full((n, top + 1), np.inf)
    choice = np.zeros((n, top + 1), dtype=np.int64)
    for b in range(1, top + 1):
        mine = np.flatnonzero(levels.planes[1:] == b)  # sets (minus 1) of b planes
        k = np.argmin(cost[:, mine], axis=1)
        best[:, b], choice[:, b] = cost[np.arange(n), mine[k]], mine[k] + 1
    planes = _allot(best, axons)
    return None if planes is None else (planes, choice[np.arange(n), planes])


@dataclass(frozen=True, eq=False)
class _Plan:
    scale: np.ndarray  # per neuron
    masks: list[np.ndarray]  # per projection, the plane mask of each synapse
    planes: np.ndarray  # per source, how many planes it may use
    weights: np.ndarray  # the weights before
    by_rate: bool  # whether the sources' rates weighed the error


def _allot(cost: np.ndarray, budget: int) -> np.ndarray | None:
    """Planes per source: ``cost[u, b]`` is source ``u``'s squared error with its best ``b``
    planes; every source starts with all of them, and the source whose next plane costs least gives
    it up until the planes fit ``budget`` (None: one each does not)."""
    n, top = cost.shape[0], cost.shape[1] - 1
    if n > budget:
        return None
    planes = np.full(n, top, dtype=np.int64)
    rows = np.arange(n)
    while planes.sum() > budget:
        delta = np.where(planes > 1, cost[rows, np.maximum(planes - 1, 0)] - cost[rows, planes], np.inf)
        planes[int(np.argmin(delta))] -= 1
    return planes


@dataclass(frozen=True, kw_only=True)
class AxonPlanes:
    name: ClassVar[str] = "axon-planes"
    types: int  # axon types per core (T >= 2)
    axons: int  # input axons per core (A)
    # presynaptic node -> firing rate of each of its neurons or channels: a synapse's error counts
    # in proportion to its source's rate (when every source of a population has one), else alike
    activity: dict[str, np.ndarray] = field(default_factory=dict)
    # axons one neuron may reach (None: any): a population copied for one population only then
    # reaches one core's axons, as the original does
    fan_out: int | None = None

    def run(self, net: Network) -> Planes:
        plans, left = {}, {}
        for pop in net.populations:
            incoming = net.spiking_projections(pop.name)
            if not incoming or int(net.distinct_weights(pop.name).max()) <= self.types:
                continue
            why = self._refusal(net, incoming)
            plan = self._plan(incoming, pop.size) if why is None else None
            if plan is not None:
                plans[pop.name] = (incoming, plan)
            else:
                left[pop.name] = why or (f"{self._sources(incoming)[1]} sources, more than a core's {self.axons} "
                                         "axons")
        copies = self._copies(plans)
        out = net.copy()
        for name, planes in copies.items():  # the senders first, then the projections that use them
            node = net.node(name)
            for k in planes:
                extra = {"mirror_of": name} if isinstance(node, SpikeSource) else {}
                out.add(dataclasses.replace(node, name=f"{name}.plane{k}", **extra))
        done = {name: self._apply(out, incoming, plan) for name, (incoming, plan) in plans.items()}
        hints = {}
        for name, planes in copies.items():
            hints[name] = self.types - 1
            into = [p for p in out.projections if p.post == name]
            for k in planes:
                hints[f"{name}.plane{k}"] = k
                for p in into if isinstance(net.node(name), Population) else ():
                    out.connect(dataclasses.replace(p, name=f"{p.name}@plane{k}", post=f"{name}.plane{k}"))
        return Planes(network=_grouped(out, copies).validate(), populations=done, left=left, copies=copies,
                      hints=hints)

    def _copies(self, plans: dict) -> dict[str, tuple[int, ...]]:
        """Presynaptic node -> the lower planes some synapse of it sets (each needs a copy)."""
        used: dict[str, set[int]] = {}
        for incoming, plan in plans.values():
            for p, m in zip(incoming, plan.masks):
                used.setdefault(p.pre, set()).update(k for k in range(self.types - 1) if np.any((m >> k) & 1))
        return {name: tuple(sorted(ks)) for name, ks in used.items() if ks}

    def _refusal(self, net: Network, incoming: list[Projection]) -> str | None:
        for p in incoming:
            if p.learning is not None:
                return f"projection '{p.name}' learns"
            pre = net.node(p.pre)
            if not isinstance(pre, (Population, SpikeSource)):
                return f"its input '{p.pre}' is a {pre.kind} source, which cannot be copied"
            posts = sorted({q.post for q in net.spiking_projections() if q.pre == p.pre})
            if self.fan_out is not None and isinstance(pre, Population) and len(posts) > 1:
                return (f"its input '{p.pre}' also feeds {', '.join(repr(q) for q in posts if q != p.post)}: "
                        "copies of it would need splitter neurons")
        return None

    @staticmethod
    def _sources(incoming: list[Projection]) -> tuple[list[np.ndarray], int]:
        """Per projection the source number of each synapse, and how many sources there are."""
        keys = [(k, p.connectivity.pre_indices().astype(np.int64), p.connectivity.synapse_delays().astype(np.int64))
                for k, p in enumerate(incoming)]
        node = {name: i for i, name in enumerate(sorted({p.pre for p in incoming}))}
        stacked = [np.stack([np.full(pre.size, node[incoming[k].pre]), pre, d], 1) for k, pre, d in keys]
        uniq, inverse = np.unique(np.concatenate(stacked), axis=0, return_inverse=True)
        bounds = np.cumsum([0] + [s.shape[0] for s in stacked])
        return [inverse.reshape(-1)[a:b] for a, b in zip(bounds[:-1], bounds[1:])], int(uniq.shape[0])

    def _plan(self, incoming: list[Projection], size: int) -> _Plan | None:
        """The planes of a population, or None when one plane per source does not fit a core's axons."""
        t, levels = self.types, _Levels(self.types)
        source, n_sources = self._sources(incoming)
        w = np.concatenate([p.connectivity.synapse_weights().astype(np.float64) for p in incoming])
        post = np.concatenate([p.connectivity.indices.astype(np.int64) for p in incoming])
        src = np.concatenate(source)
        by_rate = all(p.pre in self.activity for p in incoming)
        rate = self._rates(incoming) if by_rate else np.ones(w.size)
        hi, lo = np.full(size, -np.inf), np.full(size, np.inf)
        np.maximum.at(hi, post, w)
        np.minimum.at(lo, post, w)
        scale = np.maximum(np.maximum(hi, 0) / ((1 << (t - 1)) - 1), np.maximum(-lo, 0) / (1 << (t - 1)))
        scale = np.where(np.isfinite(scale), scale, 0.0)
        for _ in range(2):  # planes for the scales, then the scales for the planes, once more
            cost = np.stack([np.bincount(src, levels.error(w, scale[post], S) * rate, minlength=n_sources)
                             for S in range(1, 1 << t)], axis=1)  # (sources, plane sets 1 ..)
            chosen = _choose_sets(levels, cost, self.axons)
            if chosen is None:
                return None
            planes, sets = chosen
            scale = _best_scale(levels, w, post, sets[src], scale, rate)
        masks = [levels.nearest(p.connectivity.synapse_weights().astype(np.float64), scale[p.connectivity.indices],
                                sets[s]) for p, s in zip(incoming, source)]
        return _Plan(scale=scale, masks=masks, planes=planes, weights=w, by_rate=by_rate)

    def _rates(self, incoming: list[Projection]) -> np.ndarray:
        """Each synapse's weight in the error: its source's rate, plus a thousandth of the mean so
        that silent sources still keep a plane."""
        r = np.concatenate([np.asarray(self.activity[p.pre], dtype=np.float64)[p.connectivity.pre_indices()]
                            for p in incoming])
        return r + 1e-3 * max(float(r.mean()), 1e-12) if r.size else r

    def _apply(self, out: Network, incoming, plan: _Plan) -> PlaneBits:
        """Each projection as one projection per plane its synapses use."""
        t, values = self.types, _Levels(self.types).values
        new_w = []
        scale = plan.scale
        for p, m in zip(incoming, plan.masks):
            c = p.connectivity
            pre, post, delay = c.pre_indices(), c.indices, c.synapse_delays()
            out.disconnect(p.name)
            for k in range(t):
                on = (m >> k) & 1 == 1
                if on.any():
                    sender = p.pre if k == t - 1 else f"{p.pre}.plane{k}"
                    out.connect(p.with_connectivity(Connectivity.from_coo(
                        c.n_pre, c.n_post, pre[on], post[on], scale[post[on]] * values[k], delay[on]),
                        name=f"{p.name}.plane{k}", pre=sender))
            new_w.append(scale[post] * (((m[:, None] >> np.arange(t)) & 1) @ values))
        kinds, counts = np.unique(plan.planes, return_counts=True)
        return PlaneBits(sources=int(plan.planes.size), bits={int(b): int(n) for b, n in zip(kinds, counts)},
                         change=weight_change(plan.weights, np.concatenate(new_w)), by_rate=plan.by_rate)
