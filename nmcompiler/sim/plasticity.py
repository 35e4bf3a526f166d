"""Plastic projections in the float simulator: event-driven STDP and reward-modulated STDP.

The equations are those of :mod:`nmcompiler.ir.learning`. Every trace is kept as its value at
its last event and the step of that event, and decays exactly (``exp(-k dt / tau)``) when it is
read, as Brian2's ``(event-driven)`` variables do: the cost is proportional to the spikes and
their synapses, never to all synapses per step. The order within step ``t`` (see
:meth:`FloatSimulator.run <nmcompiler.sim.float_sim.FloatSimulator.run>`):

1. after propagation, the presynaptic spikes that reach their synapses in step ``t`` (sent in
   step ``t - delay``): each synapse adds its weight *as it is now* into this step's input, then
   its pre trace ``x`` steps (``+1``, or ``=1`` for nearest pairing), then depression
   ``-A_minus * y_post(t) * f_minus(w)``;
2. threshold and reset; every spike of a postsynaptic neuron steps its trace ``y``, then
   potentiates each of its plastic input synapses by ``A_plus * x(t) * f_plus(w)``, ``x``
   including arrivals of this step (a pair in the same step counts as pre before post);
3. the reward of step ``t`` (spikes of the reward node in this step times ``reward_amount``,
   plus explicit rewards at ``round(time / dt)``) moves every synapse by ``r * c(t)``;
4. this step's presynaptic spikes are queued for their arrival steps.

A delayed synapse pairs at its arrival time (Brian2's convention). Plastic synapses are not in
the simulator's fixed synapse table: they form one table of their own (:class:`PlasticTable`,
by presynaptic index over all plastic projections) and deliver here, at arrival, so a weight that
changed in flight is the one delivered. Spikes in flight are kept as the presynaptic rows sent in
each of the last ``n_slots`` steps; a row whose synapses have mixed delays is scanned once per
delay. The kernels below are called per step by the numpy loop and inside the compiled loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from ..ir import Network, RewardSTDP
from ..ir.learning import Dependence, Pairing
from .delivery import shared_row_delays
from .layout import Layout, presynaptic_count

__all__ = ["PlasticTable", "PlasticWeights", "build_plastic", "learn_arrive", "learn_after"]

# columns of a rule's parameter row, as the kernels read them
_TAU_PRE, _TAU_POST, _A_PLUS, _A_MINUS, _W_MIN, _W_MAX, _MULT, _NEAREST, _TAU_E, _ELIGIBLE = range(10)


@dataclass(frozen=True, kw_only=True)
class PlasticWeights:
    """The weights of one plastic projection, synapse ``k`` from ``pre[k]`` to ``post[k]`` (the
    projection's own synapse order): ``final`` after the run, ``history[i]`` after
    ``steps[i]`` steps (step 0: the initial weights) when snapshots were asked for."""

    pre: np.ndarray
    post: np.ndarray
    final: np.ndarray
    steps: np.ndarray
    history: np.ndarray


class PlasticTable(NamedTuple):
    """All plastic synapses and their state, as the kernels take them (a tuple of arrays).

    Synapse ``s`` (CSR by presynaptic index ``indptr``) adds into input entry ``target[s]``
    (``channel * n + neuron``) after ``delay[s]`` steps under the rule of projection ``proj[s]``
    (``params[proj[s]]``); its postsynaptic trace is ``y[yidx[s]]`` (one per projection and
    neuron, of projection ``y_proj``). ``in_ptr``/``in_syn`` list the synapses into each neuron,
    ``y_ptr``/``y_ent`` its traces;
    ``proj_ptr``/``proj_syn`` the synapses of each projection. Rewards: ``reward_node[p]`` the
    presynaptic index range ``[lo, hi)`` whose spikes pay, channel ``i`` ``reward_amount[o + i]``
    (``o = reward_node[p, 2]``), and explicit ``(reward_step, reward_proj, reward_value)`` sorted by step. In flight: ``fifo``
    rows, ``sent[slot] = (begin, end)`` of the rows sent in the step of that slot, ``head``."""

    indptr: np.ndarray
    target: np.ndarray
    post: np.ndarray
    delay: np.ndarray
    row_delay: np.ndarray
    proj: np.ndarray
    yidx: np.ndarray
    w: np.ndarray
    x: np.ndarray
    x_t: np.ndarray
    c: np.ndarray
    c_t: np.ndarray
    y: np.ndarray
    y_t: np.ndarray
    in_ptr: np.ndarray
    in_syn: np.ndarray
    y_ptr: np.ndarray
    y_ent: np.ndarray
    y_proj: np.ndarray
    proj_ptr: np.ndarray
    proj_syn: np.ndarray
    params: np.ndarray
    reward_node: np.ndarray
    reward_amount: np.ndarray  # per channel of the reward nodes, projection k's from reward_node[k, 2]
    reward_step: np.ndarray
    reward_proj: np.ndarray
    reward_value: np.ndarray
    reward_at: np.ndarray  # [next explicit reward to look at]
    fifo: np.ndarray
    sent: np.ndarray
    head: np.ndarray  # [rows written so far]
    max_delay: int


def _params(rule, dt: float) -> np.ndarray:
    eligible = isinstance(rule, RewardSTDP)
    return np.array([rule.tau_pre / dt, rule.tau_post / dt, rule.A_plus, rule.A_minus, rule.w_min, rule.w_max,
                     float(rule.dependence == Dependence.MULTIPLICATIVE), float(rule.pairing == Pairing.NEAREST),
                     rule.tau_eligibility / dt if eligible else 1.0, float(eligible)])


def _csr(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable").astype(np.int64)
    ptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=size), out=ptr[1:])
    return ptr, order


class Plastic:
    """The plastic projections of ``net`` laid out for the kernels; ``table`` is the state."""

    def __init__(self, net: Network, layout: Layout, n_slots: int, max_spikes: int = 1):
        self.projections = [p for p in net.projections if p.learning is not None]
        n_pre, n = presynaptic_count(net, layout), layout.n
        pres, targets, posts, delays, projs, yidx, weights = [], [], [], [], [], [], []
        y_neuron, y_proj = [], []
        for k, proj in enumerate(self.projections):
            c = proj.connectivity
            post_lo = layout.offsets[proj.post]
            channel = net.node(proj.post).model.channel_of(proj.receptor)
            pres.append(c.pre_indices() + layout.offsets[proj.pre])
            posts.append(c.indices.astype(np.int64) + post_lo)
            targets.append(channel * n + posts[-1])
            delays.append(c.synapse_delays().astype(np.int64))
            projs.append(np.full(c.nnz, k, dtype=np.int64))
            yidx.append(c.indices.astype(np.int64) + len(y_neuron))
            y_neuron.extend(range(post_lo, post_lo + c.n_post))
            y_proj.extend([k] * c.n_post)
            weights.append(c.synapse_weights().astype(np.float64))
        cat = (lambda a, dt: np.concatenate(a).astype(dt) if a else np.zeros(0, dt))
        pre = cat(pres, np.int64)
        indptr, order = _csr(pre, n_pre)  # stable: within a row, projections then synapses in order
        self.position = np.empty(order.size, dtype=np.int64)  # projection order -> table order
        self.position[order] = np.arange(order.size)
        starts = np.cumsum([0] + [c.connectivity.nnz for c in self.projections])
        self.spans = list(zip(starts[:-1], starts[1:]))
        post, proj = cat(posts, np.int64)[order], cat(projs, np.int64)[order]
        delay = cat(delays, np.int64)[order]
        in_ptr, in_syn = _csr(post, n)
        y_ptr, y_ent = _csr(np.array(y_neuron, dtype=np.int64), n)
        proj_ptr, proj_syn = _csr(proj, len(self.projections))
        rule_rows = [_params(p.learning, net.dt) for p in self.projections]
        rows = np.count_nonzero(np.diff(indptr))
        nnz, n_y = order.size, len(y_neuron)
        self.table = PlasticTable(
            indptr=indptr, target=cat(targets, np.int64)[order], post=post, delay=delay,
            row_delay=shared_row_delays(indptr, delay).astype(np.int64), proj=proj, yidx=cat(yidx, np.int64)[order],
            w=cat(weights, np.float64)[order], x=np.zeros(nnz), x_t=np.zeros(nnz, np.int64), c=np.zeros(nnz),
            c_t=np.zeros(nnz, np.int64), y=np.zeros(n_y), y_t=np.zeros(n_y, np.int64), in_ptr=in_ptr, in_syn=in_syn,
            y_ptr=y_ptr, y_ent=y_ent, y_proj=np.array(y_proj, dtype=np.int64), proj_ptr=proj_ptr, proj_syn=proj_syn,
            params=np.array(rule_rows).reshape(len(rule_rows), 10), **self._rewards(net, layout),
            fifo=np.zeros(max(1, rows * max_spikes * n_slots), np.int64), sent=np.zeros((n_slots, 2), np.int64),
            head=np.zeros(1, np.int64), max_delay=int(delay.max()) if delay.size else 1)

    def _rewards(self, net: Network, layout: Layout) -> dict:
        node = np.full((len(self.projections), 3), -1, dtype=np.int64)
        amounts = []
        steps, projs, values = [], [], []
        for k, proj in enumerate(self.projections):
            rule = proj.learning
            if rule.reward_node() is not None:
                lo, size = layout.offsets[rule.reward_node()], layout.sizes[rule.reward_node()]
                node[k] = (lo, lo + size, sum(a.size for a in amounts))
                amounts.append(np.broadcast_to(np.asarray(rule.reward_amount, dtype=np.float64), (size,)))
            elif isinstance(rule, RewardSTDP):
                steps += [int(round(t / net.dt)) for t in rule.reward_times]
                projs += [k] * rule.reward_times.size
                values += list(rule.reward_values)
        order = np.argsort(np.array(steps, dtype=np.int64), kind="stable")
        amount = np.concatenate(amounts) if amounts else np.zeros(0)
        return dict(reward_node=node, reward_amount=amount, reward_step=np.array(steps, np.int64)[order],
                    reward_proj=np.array(projs, np.int64)[order], reward_value=np.array(values, np.float64)[order],
                    reward_at=np.zeros(1, np.int64))

    def weights(self, snapshots: list[np.ndarray], steps: list[int]) -> dict[str, PlasticWeights]:
        """Final weights (and the snapshots, table order) per projection, in its synapse order."""
        out = {}
        at = np.array(steps, dtype=np.int64)
        for proj, (a, b) in zip(self.projections, self.spans):
            where = self.position[a:b]
            c = proj.connectivity
            history = np.array([snap[where] for snap in snapshots]).reshape(len(snapshots), b - a)
            out[proj.name] = PlasticWeights(pre=c.pre_indices(), post=c.indices.astype(np.int64),
                                            final=self.table.w[where].copy(), steps=at, history=history)
        return out


def build_plastic(net: Network, layout: Layout, n_slots: int) -> Plastic:
    """The plastic projections of ``net`` (none: an empty table the kernels skip through)."""
    return Plastic(net, layout, n_slots, int(layout.max_spikes.max()) if layout.max_spikes.size else 1)


@njit(cache=True, nogil=True)
def _decayed(value, steps, tau):
    return value * math.exp(-steps / tau)


# Per-synapse work is written out in the loops below, on the arrays of ``T``: a helper that takes
# ``T`` (a tuple of 40 arrays) costs a reference count per array per call, 6x the work itself.

@njit(cache=True, nogil=True)
def learn_arrive(t, ring, base, T):
    """Step 1 for step ``t``: the synapses reached this step, rows sent ``d`` steps ago for
    ``d = 1 .. max_delay``, rows in sending order; ``ring[base:]`` is this step's input slot.
    Each delivers its weight, steps its pre trace and is depressed. Returns the number of
    synaptic events."""
    n_slots = T.sent.shape[0]
    cap = T.fifo.size
    events = 0
    for d in range(1, T.max_delay + 1):
        u = t - d
        if u < 0:
            break
        slot = u % n_slots
        for k in range(T.sent[slot, 0], T.sent[slot, 1]):
            r = T.fifo[k % cap]
            shared = T.row_delay[r]
            for s in range(T.indptr[r], T.indptr[r + 1]):
                if shared != d and (shared >= 0 or T.delay[s] != d):
                    continue
                p = T.params[T.proj[s]]
                ring[base + T.target[s]] += T.w[s]
                x = 1.0 if p[_NEAREST] > 0.0 else _decayed(T.x[s], t - T.x_t[s], p[_TAU_PRE]) + 1.0
                T.x[s] = x
                T.x_t[s] = t
                e = T.yidx[s]
                dw = -p[_A_MINUS] * _decayed(T.y[e], t - T.y_t[e], p[_TAU_POST])
                if p[_MULT] > 0.0:
                    dw *= (T.w[s] - p[_W_MIN]) / (p[_W_MAX] - p[_W_MIN])
                if p[_ELIGIBLE] > 0.0:  # into the eligibility trace, or the weight within bounds
                    T.c[s] = _decayed(T.c[s], t - T.c_t[s], p[_TAU_E]) + dw
                    T.c_t[s] = t
                else:
                    T.w[s] = min(max(T.w[s] + dw, p[_W_MIN]), p[_W_MAX])
                events += 1
    return events


@njit(cache=True, nogil=True)
def _potentiate(j, t, T):
    """Neuron ``j`` spikes in step ``t``: step its traces, potentiate its plastic inputs."""
    for q in range(T.y_ptr[j], T.y_ptr[j + 1]):
        e = T.y_ent[q]
        p = T.params[T.y_proj[e]]
        T.y[e] = 1.0 if p[_NEAREST] > 0.0 else _decayed(T.y[e], t - T.y_t[e], p[_TAU_POST]) + 1.0
        T.y_t[e] = t
    for q in range(T.in_ptr[j], T.in_ptr[j + 1]):
        s = T.in_syn[q]
        p = T.params[T.proj[s]]
        dw = p[_A_PLUS] * _decayed(T.x[s], t - T.x_t[s], p[_TAU_PRE])
        if p[_MULT] > 0.0:
            dw *= (p[_W_MAX] - T.w[s]) / (p[_W_MAX] - p[_W_MIN])
        if p[_ELIGIBLE] > 0.0:
            T.c[s] = _decayed(T.c[s], t - T.c_t[s], p[_TAU_E]) + dw
            T.c_t[s] = t
        else:
            T.w[s] = min(max(T.w[s] + dw, p[_W_MIN]), p[_W_MAX])


@njit(cache=True, nogil=True)
def _reward(k, r, t, T):
    """A reward ``r`` in step ``t`` moves every synapse of projection ``k`` by ``r`` x eligibility."""
    p = T.params[k]
    for q in range(T.proj_ptr[k], T.proj_ptr[k + 1]):
        s = T.proj_syn[q]
        cs = _decayed(T.c[s], t - T.c_t[s], p[_TAU_E])
        T.c[s] = cs
        T.c_t[s] = t
        T.w[s] = min(max(T.w[s] + r * cs, p[_W_MIN]), p[_W_MAX])


@njit(cache=True, nogil=True)
def learn_after(t, spikes, T):
    """Steps 2-4 for step ``t``; ``spikes``: its presynaptic spikes (neurons as often as they
    fired, ascending, then source channels)."""
    n = T.in_ptr.size - 1
    for k in range(spikes.size):
        if spikes[k] < n:
            _potentiate(spikes[k], t, T)
    for k in range(T.params.shape[0]):
        r = 0.0
        while T.reward_at[0] < T.reward_step.size and T.reward_step[T.reward_at[0]] < t:
            T.reward_at[0] += 1  # rewards before the run (never: steps start at 0) are skipped
        q = T.reward_at[0]
        while q < T.reward_step.size and T.reward_step[q] == t:
            if T.reward_proj[q] == k:
                r += T.reward_value[q]
            q += 1
        lo, hi, first = T.reward_node[k, 0], T.reward_node[k, 1], T.reward_node[k, 2]
        if lo >= 0:
            for i in range(spikes.size):
                if lo <= spikes[i] < hi:
                    r += T.reward_amount[first + spikes[i] - lo]
        if r != 0.0:
            _reward(k, r, t, T)
    slot = t % T.sent.shape[0]
    T.sent[slot, 0] = T.head[0]
    for k in range(spikes.size):
        r = spikes[k]
        if T.indptr[r + 1] > T.indptr[r]:
            T.fifo[T.head[0] % T.fifo.size] = r
            T.head[0] += 1
    T.sent[slot, 1] = T.head[0]
