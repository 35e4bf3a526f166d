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

A delayed synapse pairs at its arrival time (Brian2's convention); the plastic synapses deliver
here, at arrival (:mod:`.plastic_layout`). The kernels below are called per step by the numpy loop
and inside the compiled loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from ..ir import Network, RewardSTDP
from ..ir.learning import Dependence, Pairing
from .layout import Layout, presynaptic_count
from .plastic_layout import PlasticPiece, arrivals, build_plastic_layout, queue_spikes, reward_of, skip_past_rewards

__all__ = ["FloatValues", "PlasticWeights", "build_plastic", "learn_arrive", "learn_after"]

# columns of a rule's parameter row, as the kernels read them
_TAU_PRE, _TAU_POST, _A_PLUS, _A_MINUS, _W_MIN, _W_MAX, _MULT, _NEAREST, _TAU_E, _ELIGIBLE = range(10)


@dataclass(frozen=True, kw_only=True)
class PlasticWeights:
    """The weights of one plastic projection, synapse ``k`` from ``pre[k]`` to ``post[k]`` (the
    projection's own synapse order): ``final`` after the run, ``history[i]`` after
    ``steps[i]`` steps (step 0: the initial weights) when snapshots were asked for; in the
    network's weight units. The bit-accurate simulator adds the final integer ``mantissa``."""

    pre: np.ndarray
    post: np.ndarray
    final: np.ndarray
    steps: np.ndarray
    history: np.ndarray
    mantissa: np.ndarray | None = None


class FloatValues(NamedTuple):
    """The float state of the plastic synapses of a :class:`~.plastic_layout.PlasticLayout`:
    weights ``w`` and eligibility ``c`` per synapse, pre traces ``x`` per synapse (decayed from step
    ``x_t``; per synapse, where the fixed-point engine keeps one per row: the same values when a
    row's synapses share their delay), post traces ``y`` per projection and neuron; ``params[p]``
    the rule of projection ``p``; rewards: ``reward_amount`` per reward-node channel, and explicit
    ``(reward_step, reward_proj, reward_value)`` sorted by step, ``reward_at`` the next one."""

    w: np.ndarray
    x: np.ndarray
    x_t: np.ndarray
    c: np.ndarray
    c_t: np.ndarray
    y: np.ndarray
    y_t: np.ndarray
    params: np.ndarray
    reward_amount: np.ndarray
    reward_step: np.ndarray
    reward_proj: np.ndarray
    reward_value: np.ndarray
    reward_at: np.ndarray
    arrived: np.ndarray  # scratch: the synapses reached in one step
    first: np.ndarray  # scratch (unused here: the float pre traces are per synapse)


def _params(rule, dt: float) -> np.ndarray:
    eligible = isinstance(rule, RewardSTDP)
    return np.array([rule.tau_pre / dt, rule.tau_post / dt, rule.A_plus, rule.A_minus, rule.w_min, rule.w_max,
                     float(rule.dependence == Dependence.MULTIPLICATIVE), float(rule.pairing == Pairing.NEAREST),
                     rule.tau_eligibility / dt if eligible else 1.0, float(eligible)])


def _piece(net: Network, layout: Layout, proj) -> PlasticPiece:
    c = proj.connectivity
    node = proj.learning.reward_node()
    reward = None if node is None else (layout.offsets[node], layout.offsets[node] + layout.sizes[node])
    return PlasticPiece(pre=c.pre_indices() + layout.offsets[proj.pre], post=c.indices + layout.offsets[proj.post],
                        channel=net.node(proj.post).model.channel_of(proj.receptor), delay=c.synapse_delays(),
                        pre_lo=layout.offsets[proj.pre], n_pre=c.n_pre, post_lo=layout.offsets[proj.post],
                        n_post=c.n_post, reward=reward)


class Plastic:
    """The plastic projections of ``net`` for the kernels: ``layout`` and ``values`` (the state)."""

    def __init__(self, net: Network, layout: Layout, n_slots: int, max_spikes: int = 1):
        self.projections = [p for p in net.projections if p.learning is not None]
        self.layout, self.position = build_plastic_layout(
            [_piece(net, layout, p) for p in self.projections], presynaptic_count(net, layout), layout.n, n_slots,
            max_spikes)
        starts = np.cumsum([0] + [c.connectivity.nnz for c in self.projections])
        self.spans = list(zip(starts[:-1], starts[1:]))
        nnz, n_y = self.position.size, int(self.layout.y_first[-1])
        w = np.concatenate([p.connectivity.synapse_weights() for p in self.projections] or [np.zeros(0)])
        rule_rows = [_params(p.learning, net.dt) for p in self.projections]
        self.values = FloatValues(
            w=w.astype(np.float64)[np.argsort(self.position)], x=np.zeros(nnz), x_t=np.zeros(nnz, np.int64),
            c=np.zeros(nnz), c_t=np.zeros(nnz, np.int64), y=np.zeros(n_y), y_t=np.zeros(n_y, np.int64),
            params=np.array(rule_rows).reshape(len(rule_rows), 10), **self._rewards(net),
            arrived=np.zeros(max(1, nnz * max_spikes), np.int64), first=np.zeros(max(1, nnz * max_spikes), np.bool_))

    def _rewards(self, net: Network) -> dict:
        amounts, steps, projs, values = [], [], [], []
        for k, proj in enumerate(self.projections):
            rule = proj.learning
            if rule.reward_node() is not None:
                size = net.node(rule.reward_node()).size
                amounts.append(np.broadcast_to(np.asarray(rule.reward_amount, dtype=np.float64), (size,)))
            elif isinstance(rule, RewardSTDP):
                steps += [int(round(t / net.dt)) for t in rule.reward_times]
                projs += [k] * rule.reward_times.size
                values += list(rule.reward_values)
        order = np.argsort(np.array(steps, dtype=np.int64), kind="stable")
        return dict(reward_amount=np.concatenate(amounts) if amounts else np.zeros(0),
                    reward_step=np.array(steps, np.int64)[order], reward_proj=np.array(projs, np.int64)[order],
                    reward_value=np.array(values, np.float64)[order], reward_at=np.zeros(1, np.int64))

    def weights(self, snapshots: list[np.ndarray], steps: list[int]) -> dict[str, PlasticWeights]:
        """Final weights (and the snapshots, table order) per projection, in its synapse order."""
        out = {}
        at = np.array(steps, dtype=np.int64)
        for proj, (a, b) in zip(self.projections, self.spans):
            where = self.position[a:b]
            c = proj.connectivity
            history = np.array([snap[where] for snap in snapshots]).reshape(len(snapshots), b - a)
            out[proj.name] = PlasticWeights(pre=c.pre_indices(), post=c.indices.astype(np.int64),
                                            final=self.values.w[where].copy(), steps=at, history=history)
        return out


def build_plastic(net: Network, layout: Layout, n_slots: int) -> Plastic:
    """The plastic projections of ``net`` (none: an empty table the kernels skip through)."""
    return Plastic(net, layout, n_slots, int(layout.max_spikes.max()) if layout.max_spikes.size else 1)


@njit(cache=True, nogil=True)
def _decayed(value, steps, tau):
    return value * math.exp(-steps / tau)


# Per-synapse work is written out in the loops below: a helper that takes the tuples ``L`` and ``V``
# (40 arrays) costs a reference count per array per call, 6x the work itself.

@njit(cache=True, nogil=True)
def learn_arrive(t, ring, base, L, V):
    """Step 1 for step ``t``: each synapse reached delivers its weight into ``ring[base:]`` (this
    step's input slot), steps its pre trace and is depressed. Returns the number of events."""
    count = arrivals(t, L, V.arrived, V.first)
    for k in range(count):
        s = V.arrived[k]
        p = V.params[L.proj[s]]
        ring[base + L.target[s]] += V.w[s]
        V.x[s] = 1.0 if p[_NEAREST] > 0.0 else _decayed(V.x[s], t - V.x_t[s], p[_TAU_PRE]) + 1.0
        V.x_t[s] = t
        e = L.yidx[s]
        dw = -p[_A_MINUS] * _decayed(V.y[e], t - V.y_t[e], p[_TAU_POST])
        if p[_MULT] > 0.0:
            dw *= (V.w[s] - p[_W_MIN]) / (p[_W_MAX] - p[_W_MIN])
        if p[_ELIGIBLE] > 0.0:  # into the eligibility trace, or the weight within bounds
            V.c[s] = _decayed(V.c[s], t - V.c_t[s], p[_TAU_E]) + dw
            V.c_t[s] = t
        else:
            V.w[s] = min(max(V.w[s] + dw, p[_W_MIN]), p[_W_MAX])
    return count


@njit(cache=True, nogil=True)
def _potentiate(j, t, L, V):
    """Neuron ``j`` spikes in step ``t``: step its traces, potentiate its plastic inputs."""
    for q in range(L.y_ptr[j], L.y_ptr[j + 1]):
        e = L.y_ent[q]
        p = V.params[L.y_proj[e]]
        V.y[e] = 1.0 if p[_NEAREST] > 0.0 else _decayed(V.y[e], t - V.y_t[e], p[_TAU_POST]) + 1.0
        V.y_t[e] = t
    for q in range(L.in_ptr[j], L.in_ptr[j + 1]):
        s = L.in_syn[q]
        p = V.params[L.in_proj[q]]
        dw = p[_A_PLUS] * _decayed(V.x[s], t - V.x_t[s], p[_TAU_PRE])
        if p[_MULT] > 0.0:
            dw *= (p[_W_MAX] - V.w[s]) / (p[_W_MAX] - p[_W_MIN])
        if p[_ELIGIBLE] > 0.0:
            V.c[s] = _decayed(V.c[s], t - V.c_t[s], p[_TAU_E]) + dw
            V.c_t[s] = t
        else:
            V.w[s] = min(max(V.w[s] + dw, p[_W_MIN]), p[_W_MAX])


@njit(cache=True, nogil=True)
def _reward(k, r, t, L, V):
    """A reward ``r`` in step ``t`` moves every synapse of projection ``k`` by ``r`` x eligibility."""
    p = V.params[k]
    for q in range(L.proj_ptr[k], L.proj_ptr[k + 1]):
        s = L.proj_syn[q]
        cs = _decayed(V.c[s], t - V.c_t[s], p[_TAU_E])
        V.c[s] = cs
        V.c_t[s] = t
        V.w[s] = min(max(V.w[s] + r * cs, p[_W_MIN]), p[_W_MAX])


@njit(cache=True, nogil=True)
def learn_after(t, spikes, L, V):
    """Steps 2-4 for step ``t``; ``spikes``: its presynaptic spikes (neurons as often as they
    fired, ascending, then source channels)."""
    n = L.in_ptr.size - 1
    for k in range(spikes.size):
        if spikes[k] < n:
            _potentiate(spikes[k], t, L, V)
    skip_past_rewards(t, V)
    for k in range(V.params.shape[0]):
        r = reward_of(k, t, spikes, L, V, 0.0)
        if r != 0.0:
            _reward(k, r, t, L, V)
    queue_spikes(t, spikes, L)
