"""Plastic projections in the bit-accurate simulator: the learning engine of docs/datapath.md
("Learning"), in integers, on the layout both simulators share (:mod:`.plastic_layout`).

Per tick ``t``, in this order (every stochastic rounding steps its projection's LFSR once, so the
order is part of the contract):

1. arrivals (rows sent ``d = 1 .. max_delay`` ticks ago, in sending order; a row's synapses in
   table order): each synapse adds ``R(m / 2^wf) << e`` into this tick's input (``m`` in learning
   units, ``wf`` fraction bits below the mantissa, rounded to nearest); the first synapse of its
   projection in the row steps the row's trace ``x = min(x + inc, x_max)`` (nearest pairing:
   ``x = inc``); then ``m -= R(a_minus y / 2^q)`` (multiplicative: ``R(a_minus y (m - m_min) inv /
   2^(q + 16))``), kept in ``[m_min, m_max]`` (reward rules: into ``c`` with ``q - ef``);
2. the neurons' tick; each spike (ascending) steps the neuron's traces, then every plastic
   synapse into it (in table order) gains ``R(a_plus x / 2^q)`` (multiplicative: ``(m_max - m)``);
3. rewards ``r`` of this tick: every synapse of the projection gains ``R(r c / 2^(rf + ef))``;
4. the tick's spikes go in flight; at the end of an epoch (``(t + 1) % epoch == 0``) every trace
   of the projection decays, ``x = R(x (2^F - s) / 2^F)``: rows, then neurons, then eligibility.

An operation on a zero (a change of zero, a zero trace or eligibility) is skipped and uses no
LFSR bits.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from ..datapath.learning import INV_BITS, LEARN_ROUNDING, round_shift
from ..lowered import SimProgram
from .plastic_layout import PlasticPiece, arrivals, build_plastic_layout, queue_spikes, reward_of, skip_past_rewards
from .plasticity import PlasticWeights

__all__ = ["IntPlastic", "UnitState", "learn_after_int", "learn_arrive_int", "lfsr_seed"]

(_INC, _D_PRE, _D_POST, _D_ELIG, _A_PLUS, _A_MINUS, _Q, _M_MIN, _M_MAX, _INV, _MULT, _NEAREST, _ELIG, _EF, _RF,
 _EPOCH, _EXP, _X_MAX, _C_MAX, _F, _STOCH, _WF) = range(22)


class IntValues(NamedTuple):
    """Integer state: mantissas ``m`` and eligibility ``c`` per synapse (table order), traces
    ``x`` per projection and row, ``y`` per projection and neuron; ``params[p]`` and ``lfsr[p]``
    per projection; rewards as in :class:`~.plasticity.FloatValues`, integers."""

    m: np.ndarray
    c: np.ndarray
    x: np.ndarray
    y: np.ndarray
    params: np.ndarray
    lfsr: np.ndarray
    reward_amount: np.ndarray
    reward_step: np.ndarray
    reward_proj: np.ndarray
    reward_value: np.ndarray
    reward_at: np.ndarray
    arrived: np.ndarray
    first: np.ndarray
    x_live: np.ndarray  # bit i % 32 of word i // 32: trace x[i] may be nonzero (a superset)
    y_live: np.ndarray


def _words(n) -> int:
    return max(1, (int(n) + 31) // 32)


class UnitState(NamedTuple):
    """One learning unit's state after a run: ``m`` and ``c`` per synapse in the unit's order
    (:class:`~nmcompiler.lowered.PlasticProjection`), ``x`` per presynaptic row of the projection,
    ``y`` per traced neuron (``traced``: their global indices), ``lfsr`` the generator's state."""

    name: str
    m: np.ndarray
    c: np.ndarray
    x: np.ndarray
    y: np.ndarray
    traced: np.ndarray
    lfsr: int


def lfsr_seed(seed: int, projection: int) -> int:
    """The LFSR state a projection starts from (never 0)."""
    return ((seed * 2654435761 + projection + 1) & 0xFFFFFFFF) or 1


def _param_row(pp, lf) -> list[int]:
    q = pp.learning
    return [q.trace_inc, q.decay_pre, q.decay_post, q.decay_eligibility, q.a_plus, q.a_minus, q.shift, q.m_min,
            q.m_max, q.inv_span, int(q.multiplicative), int(q.nearest), int(q.eligible), lf.eligibility_frac_bits,
            q.reward_frac_bits, q.epoch, pp.exponent, lf.trace_max, (1 << (lf.eligibility_bits - 1)) - 1,
            lf.trace_decay_bits, int(lf.rounding == LEARN_ROUNDING.STOCHASTIC), lf.weight_frac_bits]


def _reward_range(p) -> tuple[int, int] | None:
    return None if p.reward_lo < 0 else (p.reward_lo, p.reward_lo + p.learning.reward_amounts.size)


class IntPlastic:
    """The plastic projections of ``prog`` for the kernels: ``layout`` and ``values``."""

    def __init__(self, prog: SimProgram, n_pre: int, n_slots: int, seed: int):
        self.projections = list(prog.plastic)
        pieces = [PlasticPiece(pre=p.pre, post=p.post, channel=p.channel, delay=p.delays, pre_lo=p.pre_lo,
                               n_pre=p.n_pre, post_lo=p.post_lo, n_post=p.n_post, reward=_reward_range(p),
                               y_neurons=p.traced)
                  for p in self.projections]
        self.layout, self.position = build_plastic_layout(pieces, n_pre, prog.n, n_slots)
        starts = np.cumsum([0] + [p.mantissa.size for p in self.projections])
        self.spans = list(zip(starts[:-1], starts[1:]))
        nnz = self.position.size
        frac = prog.learning.weight_frac_bits if prog.learning is not None else 0
        m = np.concatenate([p.mantissa for p in self.projections] or [np.zeros(0, np.int64)]) << frac
        rows = [_param_row(p, prog.learning) for p in self.projections]
        steps, projs, values = [], [], []
        for k, p in enumerate(self.projections):
            steps += p.learning.reward_steps.tolist()
            projs += [k] * p.learning.reward_steps.size
            values += p.learning.reward_values.tolist()
        order = np.argsort(np.array(steps, dtype=np.int64), kind="stable")
        self.values = IntValues(
            m=m.astype(np.int64)[np.argsort(self.position)], c=np.zeros(nnz, np.int64),
            x=np.zeros(int(self.layout.x_ptr[-1]), np.int64), y=np.zeros(int(self.layout.y_first[-1]), np.int64),
            params=np.array(rows, dtype=np.int64).reshape(len(rows), 22),
            lfsr=np.array([lfsr_seed(seed, k) for k in range(len(rows))], dtype=np.int64),
            reward_amount=np.concatenate([p.learning.reward_amounts for p in self.projections] or [np.zeros(0)])
            .astype(np.int64), reward_step=np.array(steps, np.int64)[order],
            reward_proj=np.array(projs, np.int64)[order],
            reward_value=np.array(values, np.int64)[order], reward_at=np.zeros(1, np.int64),
            arrived=np.zeros(max(1, nnz), np.int64), first=np.zeros(max(1, nnz), np.bool_),
            x_live=np.zeros(_words(self.layout.x_ptr[-1]), np.int64),
            y_live=np.zeros(_words(self.layout.y_first[-1]), np.int64))

    def fresh(self) -> IntPlastic:
        """A copy at the start of a run: the layout's tables shared, every array a run changes new
        (a simulator builds the layout once and runs from fresh copies)."""
        new = copy.copy(self)
        L = self.layout
        new.layout = L._replace(fifo=np.zeros_like(L.fifo), sent=np.zeros_like(L.sent), head=np.zeros_like(L.head))
        new.values = IntValues(*(a.copy() for a in self.values))
        return new

    def unit_states(self) -> tuple[UnitState, ...]:
        """Every learning unit's integers (for the RTL's bit-for-bit comparison)."""
        L, V, out = self.layout, self.values, []
        for k, (p, (a, b)) in enumerate(zip(self.projections, self.spans)):
            where = self.position[a:b]
            out.append(UnitState(name=p.name, m=V.m[where].copy(), c=V.c[where].copy(),
                                 x=V.x[L.x_ptr[k]:L.x_ptr[k + 1]].copy(), y=V.y[L.y_first[k]:L.y_first[k + 1]].copy(),
                                 traced=self._traced(k), lfsr=int(V.lfsr[k])))
        return tuple(out)

    def _traced(self, k: int) -> np.ndarray:
        p = self.projections[k]
        return (np.arange(p.post_lo, p.post_lo + p.n_post, dtype=np.int64) if p.traced is None
                else np.asarray(p.traced, dtype=np.int64))

    def weights(self, snapshots: list[np.ndarray], steps: list[int]) -> dict[str, PlasticWeights]:
        """Per projection: weights in the network's units (``m / unit``) and the integers themselves
        (learning units: the mantissa with its fraction bits). A projection in several pieces (one
        per core of an image) is joined, its synapses ordered by (pre, post) as the network's are."""
        parts: dict[str, list] = {}
        for p, (a, b) in zip(self.projections, self.spans):
            where = self.position[a:b]
            history = np.array([snap[where] for snap in snapshots]).reshape(len(snapshots), b - a)
            parts.setdefault(p.name, []).append((p.pre - p.pre_lo, p.indices.astype(np.int64),
                                                 self.values.m[where].copy(), history, p.learning.unit))
        out, at = {}, np.array(steps, dtype=np.int64)
        for name, got in parts.items():
            pre, post, m, history = (np.concatenate([g[k] for g in got], axis=-1) for k in range(4))
            if len(got) > 1:
                order = np.lexsort((post, pre))
                pre, post, m, history = pre[order], post[order], m[order], history[:, order]
            unit = got[0][4]
            out[name] = PlasticWeights(pre=pre, post=post, final=m / unit, steps=at, history=history / unit, mantissa=m)
        return out


@njit(cache=True, nogil=True)
def _delivered(m, frac):
    """The mantissa a plastic weight of ``frac`` fraction bits delivers: rounded to nearest."""
    return (m + (1 << (frac - 1))) >> frac if frac > 0 else m


@njit(cache=True, nogil=True)
def learn_arrive_int(t, ring, base, L, V):
    """Step 1 for tick ``t`` (module docstring); returns the number of synaptic events."""
    count = arrivals(t, L, V.arrived, V.first)
    P = V.params  # read as P[projection, column]: a row view per synapse costs a reference count
    for k in range(count):
        s = V.arrived[k]
        pj = L.proj[s]
        ring[base + L.target[s]] += _delivered(V.m[s], P[pj, _WF]) << P[pj, _EXP]
        if V.first[k]:
            xi = L.xidx[s]
            V.x[xi] = P[pj, _INC] if P[pj, _NEAREST] > 0 else min(V.x[xi] + P[pj, _INC], P[pj, _X_MAX])
            V.x_live[xi >> 5] |= 1 << (xi & 31)
        num = P[pj, _A_MINUS] * V.y[L.yidx[s]]
        shift = P[pj, _Q]
        if P[pj, _MULT] > 0:
            num = num * (V.m[s] - P[pj, _M_MIN]) * P[pj, _INV]
            shift += INV_BITS
        if num != 0:  # into the eligibility (reward rules) or the weight within its bounds
            if P[pj, _ELIG] > 0:
                d, V.lfsr[pj] = round_shift(-num, shift - P[pj, _EF], P[pj, _STOCH] > 0, V.lfsr[pj])
                V.c[s] = min(max(V.c[s] + d, -P[pj, _C_MAX] - 1), P[pj, _C_MAX])
            else:
                d, V.lfsr[pj] = round_shift(-num, shift, P[pj, _STOCH] > 0, V.lfsr[pj])
                V.m[s] = min(max(V.m[s] + d, P[pj, _M_MIN]), P[pj, _M_MAX])
    return count


@njit(cache=True, nogil=True)
def _potentiate(j, t, L, V):
    P = V.params
    for q in range(L.y_ptr[j], L.y_ptr[j + 1]):
        e = L.y_ent[q]
        pe = L.y_proj[e]
        V.y[e] = P[pe, _INC] if P[pe, _NEAREST] > 0 else min(V.y[e] + P[pe, _INC], P[pe, _X_MAX])
        V.y_live[e >> 5] |= 1 << (e & 31)
    for q in range(L.in_ptr[j], L.in_ptr[j + 1]):
        s = L.in_syn[q]
        pj = L.in_proj[q]
        num = P[pj, _A_PLUS] * V.x[L.in_xidx[q]]
        shift = P[pj, _Q]
        if P[pj, _MULT] > 0:
            num = num * (P[pj, _M_MAX] - V.m[s]) * P[pj, _INV]
            shift += INV_BITS
        if num != 0:
            if P[pj, _ELIG] > 0:
                d, V.lfsr[pj] = round_shift(num, shift - P[pj, _EF], P[pj, _STOCH] > 0, V.lfsr[pj])
                V.c[s] = min(max(V.c[s] + d, -P[pj, _C_MAX] - 1), P[pj, _C_MAX])
            else:
                d, V.lfsr[pj] = round_shift(num, shift, P[pj, _STOCH] > 0, V.lfsr[pj])
                V.m[s] = min(max(V.m[s] + d, P[pj, _M_MIN]), P[pj, _M_MAX])


@njit(cache=True, nogil=True)
def _decay_all(a, live, lo, hi, d, p, lfsr, pj):
    """Decay the nonzero traces ``a[lo:hi]`` in index order, visiting only those ``live`` marks
    (a trace that decays to zero is unmarked): the same bits as a scan of every entry."""
    stoch = p[_STOCH] > 0
    f, k, state = (1 << p[_F]) - d, p[_F], lfsr[pj]  # the LFSR in a register: a chain through memory is slower
    for w in range(lo >> 5, (hi + 31) >> 5):
        base = w << 5
        bits = live[w] & _range_mask(lo - base, hi - base)
        while bits != 0:
            b = trailing_zeros(bits)
            bits &= bits - 1
            i = base + b
            if a[i] != 0:
                a[i], state = round_shift(a[i] * f, k, stoch, state)
            if a[i] == 0:
                live[w] &= ~(1 << b)
    lfsr[pj] = state


@njit(cache=True, nogil=True)
def _range_mask(lo, hi):
    """The bits ``max(lo, 0) .. min(hi, 32) - 1`` of a 32-bit word."""
    lo, hi = max(lo, 0), min(hi, 32)
    return ((1 << hi) - 1) & ~((1 << lo) - 1) if hi > lo else 0


@njit(cache=True, nogil=True)
def _epoch_end(k, L, V):
    p = V.params[k]
    _decay_all(V.x, V.x_live, L.x_ptr[k], L.x_ptr[k + 1], p[_D_PRE], p, V.lfsr, k)
    _decay_all(V.y, V.y_live, L.y_first[k], L.y_first[k + 1], p[_D_POST], p, V.lfsr, k)
    if p[_ELIG] > 0:
        stoch = p[_STOCH] > 0
        for q in range(L.proj_ptr[k], L.proj_ptr[k + 1]):
            s = L.proj_syn[q]
            if V.c[s] != 0:
                V.c[s], V.lfsr[k] = round_shift(V.c[s] * ((1 << p[_F]) - p[_D_ELIG]), p[_F], stoch, V.lfsr[k])


@njit(cache=True, nogil=True)
def learn_after_int(t, spikes, L, V):
    """Steps 2-4 for tick ``t``; ``spikes`` as for :func:`~.plasticity.learn_after`."""
    n = L.in_ptr.size - 1
    for k in range(spikes.size):
        if spikes[k] < n:
            _potentiate(spikes[k], t, L, V)
    skip_past_rewards(t, V)
    for k in range(V.params.shape[0]):
        p = V.params[k]
        r = reward_of(k, t, spikes, L, V, 0)
        if r != 0:
            stoch = p[_STOCH] > 0
            for q in range(L.proj_ptr[k], L.proj_ptr[k + 1]):
                s = L.proj_syn[q]
                if V.c[s] != 0:
                    d, V.lfsr[k] = round_shift(r * V.c[s], p[_RF] + p[_EF], stoch, V.lfsr[k])
                    V.m[s] = min(max(V.m[s] + d, p[_M_MIN]), p[_M_MAX])
    queue_spikes(t, spikes, L)
    for k in range(V.params.shape[0]):
        if (t + 1) % V.params[k, _EPOCH] == 0:
            _epoch_end(k, L, V)
