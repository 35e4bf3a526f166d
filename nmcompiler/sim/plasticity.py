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
   plus explicit rewards at ``round(time / dt)``) moves every synapse by ``r * c(t)``.

A delayed synapse pairs at its arrival time (Brian2's convention). The weights of plastic
projections are not in the simulator's synapse table: they are delivered here, at arrival, so a
weight that changed in flight is the one delivered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..ir import Network, RewardSTDP
from ..ir.learning import Dependence, Pairing
from .layout import Layout

__all__ = ["PlasticSynapses", "PlasticWeights"]

# parameter vector of a rule, as the kernels read it
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


def _params(rule, dt: float) -> np.ndarray:
    eligible = isinstance(rule, RewardSTDP)
    return np.array([rule.tau_pre / dt, rule.tau_post / dt, rule.A_plus, rule.A_minus, rule.w_min, rule.w_max,
                     float(rule.dependence == Dependence.MULTIPLICATIVE), float(rule.pairing == Pairing.NEAREST),
                     rule.tau_eligibility / dt if eligible else 1.0, float(eligible)])


@njit(cache=True, nogil=True)
def _change(s, dw, t, w, c, c_t, p):
    """Apply ``dw`` to synapse ``s``: into its eligibility trace (reward-modulated rules) or
    its weight, kept in ``[w_min, w_max]``."""
    if p[_ELIGIBLE] > 0.0:
        c[s] = c[s] * math.exp(-(t - c_t[s]) / p[_TAU_E]) + dw
        c_t[s] = t
    else:
        w[s] = min(max(w[s] + dw, p[_W_MIN]), p[_W_MAX])


@njit(cache=True, nogil=True)
def _arrive(syn, t, slot, base, post, w, x, x_t, y, y_t, c, c_t, p):
    """Synapses ``syn`` receive a presynaptic spike in step ``t``: deliver, step ``x``, depress."""
    span = p[_W_MAX] - p[_W_MIN]
    for k in range(syn.size):
        s = syn[k]
        j = post[s]
        slot[base + j] += w[s]
        if p[_NEAREST] > 0.0:
            x[s] = 1.0
        else:
            x[s] = x[s] * math.exp(-(t - x_t[s]) / p[_TAU_PRE]) + 1.0
        x_t[s] = t
        dep = p[_A_MINUS] * y[j] * math.exp(-(t - y_t[j]) / p[_TAU_POST])
        if p[_MULT] > 0.0:
            dep *= (w[s] - p[_W_MIN]) / span
        _change(s, -dep, t, w, c, c_t, p)


@njit(cache=True, nogil=True)
def _post(neurons, t, in_ptr, in_syn, w, x, x_t, y, y_t, c, c_t, p):
    """Postsynaptic ``neurons`` spike in step ``t``: step ``y``, potentiate their input synapses."""
    span = p[_W_MAX] - p[_W_MIN]
    for k in range(neurons.size):
        j = neurons[k]
        if p[_NEAREST] > 0.0:
            y[j] = 1.0
        else:
            y[j] = y[j] * math.exp(-(t - y_t[j]) / p[_TAU_POST]) + 1.0
        y_t[j] = t
        for q in range(in_ptr[j], in_ptr[j + 1]):
            s = in_syn[q]
            pot = p[_A_PLUS] * x[s] * math.exp(-(t - x_t[s]) / p[_TAU_PRE])
            if p[_MULT] > 0.0:
                pot *= (p[_W_MAX] - w[s]) / span
            _change(s, pot, t, w, c, c_t, p)


@njit(cache=True, nogil=True)
def _reward(r, t, w, c, c_t, p):
    """A reward ``r`` in step ``t`` moves every synapse by ``r`` times its eligibility."""
    for s in range(w.size):
        cs = c[s] * math.exp(-(t - c_t[s]) / p[_TAU_E])
        c[s] = cs
        c_t[s] = t
        w[s] = min(max(w[s] + r * cs, p[_W_MIN]), p[_W_MAX])


class _Projection:
    """One plastic projection: its synapses (the projection's order), traces and pending arrivals."""

    def __init__(self, net: Network, layout: Layout, proj, n_slots: int):
        c = proj.connectivity
        post = net.node(proj.post)
        self.name, self.rule = proj.name, proj.learning
        self.p = _params(proj.learning, net.dt)
        self.pre_lo, self.n_pre = layout.offsets[proj.pre], c.n_pre
        self.post_lo, self.n_post = layout.offsets[proj.post], c.n_post
        self.base = post.model.channel_of(proj.receptor) * layout.n + self.post_lo
        self.indptr = c.indptr
        self.pre = c.pre_indices()
        self.post = c.indices.astype(np.int64)
        self.delay = np.ascontiguousarray(c.synapse_delays(), dtype=np.int64)
        self.uniform = int(self.delay[0]) if self.delay.size and np.all(self.delay == self.delay[0]) else None
        self.w = np.array(c.synapse_weights(), dtype=np.float64)
        order = np.argsort(self.post, kind="stable")
        self.in_syn = order.astype(np.int64)
        self.in_ptr = np.zeros(c.n_post + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.post, minlength=c.n_post), out=self.in_ptr[1:])
        nnz = self.w.size
        self.x, self.x_t = np.zeros(nnz), np.zeros(nnz, dtype=np.int64)
        self.y, self.y_t = np.zeros(c.n_post), np.zeros(c.n_post, dtype=np.int64)
        self.c, self.c_t = np.zeros(nnz), np.zeros(nnz, dtype=np.int64)
        self.pending: list[list[np.ndarray]] = [[] for _ in range(n_slots)]
        self.reward = self._reward_steps(net)

    def _reward_steps(self, net: Network) -> dict[int, float]:
        rule = self.rule
        if not isinstance(rule, RewardSTDP) or rule.reward_times is None:
            return {}
        out: dict[int, float] = {}
        for time, value in zip(rule.reward_times, rule.reward_values):
            step = int(round(time / net.dt))
            out[step] = out.get(step, 0.0) + float(value)
        return out

    def send(self, pre: np.ndarray, t: int, n_slots: int) -> None:
        rows = pre[(pre >= self.pre_lo) & (pre < self.pre_lo + self.n_pre)] - self.pre_lo
        if not rows.size:
            return
        starts, lengths = self.indptr[rows], np.diff(self.indptr)[rows]
        total = int(lengths.sum())
        if not total:
            return
        syn = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        if self.uniform is not None:
            self.pending[(t + self.uniform) % n_slots].append(syn)
            return
        slots = (t + self.delay[syn]) % n_slots
        for slot in np.unique(slots):
            self.pending[slot].append(syn[slots == slot])

    def arrive(self, t: int, slot_flat: np.ndarray, n_slots: int) -> int:
        waiting = self.pending[t % n_slots]
        if not waiting:
            return 0
        syn = np.concatenate(waiting) if len(waiting) > 1 else waiting[0]
        waiting.clear()
        _arrive(syn, t, slot_flat, self.base, self.post, self.w, self.x, self.x_t, self.y, self.y_t, self.c,
                self.c_t, self.p)
        return int(syn.size)

    def post_spikes(self, fired: np.ndarray, t: int) -> None:
        local = fired[(fired >= self.post_lo) & (fired < self.post_lo + self.n_post)] - self.post_lo
        if local.size:
            _post(local, t, self.in_ptr, self.in_syn, self.w, self.x, self.x_t, self.y, self.y_t, self.c,
                  self.c_t, self.p)

    def give_reward(self, r: float, t: int) -> None:
        if r != 0.0:
            _reward(r, t, self.w, self.c, self.c_t, self.p)


class PlasticSynapses:
    """The plastic projections of ``net`` for :class:`~nmcompiler.sim.float_sim.FloatSimulator`."""

    def __init__(self, net: Network, layout: Layout, n_slots: int, record_every: int | None = None):
        self.n_slots = n_slots
        self.projections = [_Projection(net, layout, p, n_slots) for p in net.projections if p.learning is not None]
        self.reward_nodes = {}
        for proj in self.projections:
            node = proj.rule.reward_node()
            if node is not None:
                lo = layout.offsets[node]
                self.reward_nodes[proj.name] = (lo, lo + layout.sizes[node], proj.rule.reward_amount)
        self.record_every = record_every
        self.snapshots: list[list[np.ndarray]] = []
        self.snapshot_steps: list[int] = []
        if record_every:
            self._snapshot(0)

    def __bool__(self) -> bool:
        return bool(self.projections)

    def arrive(self, t: int, slot_flat: np.ndarray) -> int:
        """Deliver and learn from the presynaptic spikes reaching their synapses in step ``t``."""
        return sum(proj.arrive(t, slot_flat, self.n_slots) for proj in self.projections)

    def after_spikes(self, t: int, fired: np.ndarray, pre: np.ndarray) -> None:
        """Step ``t``'s neuron spikes ``fired`` and all its presynaptic spikes ``pre`` (neurons and
        source channels, global indices): potentiation, rewards, sends, snapshots."""
        for proj in self.projections:
            if fired.size:
                proj.post_spikes(fired, t)
            r = proj.reward.get(t, 0.0)
            if proj.name in self.reward_nodes and pre.size:
                lo, hi, amount = self.reward_nodes[proj.name]
                r += amount * int(np.count_nonzero((pre >= lo) & (pre < hi)))
            proj.give_reward(r, t)
            if pre.size:
                proj.send(pre, t, self.n_slots)
        if self.record_every and (t + 1) % self.record_every == 0:
            self._snapshot(t + 1)

    def _snapshot(self, step: int) -> None:
        self.snapshots.append([proj.w.copy() for proj in self.projections])
        self.snapshot_steps.append(step)

    def weights(self) -> dict[str, PlasticWeights]:
        steps = np.array(self.snapshot_steps, dtype=np.int64)
        return {proj.name: PlasticWeights(
            pre=proj.pre, post=proj.post, final=proj.w.copy(), steps=steps,
            history=np.array([snap[k] for snap in self.snapshots]).reshape(len(self.snapshots), proj.w.size))
            for k, proj in enumerate(self.projections)}
