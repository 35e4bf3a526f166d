"""The layout of plastic synapses shared by both simulators' learning kernels.

Plastic synapses are not in a simulator's fixed synapse table: all plastic projections form one
table of their own, CSR by presynaptic index (:class:`PlasticLayout`), and deliver at arrival
(a weight that changed in flight is the one delivered). Spikes in flight are the presynaptic
rows sent in each of the last ``n_slots`` steps (:func:`queue_spikes`); :func:`arrivals` lists
the synapses a step's arrivals reach, rows sent ``d = 1 .. max_delay`` steps ago, in sending
order (a row whose synapses have mixed delays is scanned once per delay). The float simulator
(:mod:`.plasticity`) and the bit-accurate one (:mod:`.bit_plasticity`) add their values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from .delivery import shared_row_delays

__all__ = ["PlasticLayout", "PlasticPiece", "arrivals", "build_plastic_layout", "queue_spikes", "reward_of",
           "skip_past_rewards"]


@dataclass(frozen=True, kw_only=True)
class PlasticPiece:
    """One plastic projection in the simulator's global indices (its own synapse order)."""

    pre: np.ndarray  # presynaptic index of every synapse
    post: np.ndarray  # postsynaptic neuron of every synapse
    channel: int
    delay: np.ndarray  # steps, per synapse
    pre_lo: int  # first presynaptic index of the projection's source
    n_pre: int
    post_lo: int
    n_post: int
    reward: tuple[int, int] | None = None  # presynaptic index range of the reward node
    # the neurons that keep a post trace (ascending; None: every neuron of post_lo .. post_lo + n_post):
    # an image's learning unit holds those of its own core
    y_neurons: np.ndarray | None = None

    @property
    def traced(self) -> np.ndarray:
        """Global index of each post trace, in trace order."""
        if self.y_neurons is None:
            return np.arange(self.post_lo, self.post_lo + self.n_post, dtype=np.int64)
        return np.asarray(self.y_neurons, dtype=np.int64)

    def y_index(self) -> np.ndarray:
        """Per synapse, the index of its neuron's post trace."""
        traced = self.traced
        at = np.searchsorted(traced, self.post)
        if self.post.size and (at.max() >= traced.size or np.any(traced[np.minimum(at, traced.size - 1)] != self.post)):
            raise ValueError("a plastic synapse reaches a neuron without a post trace")
        return at


class PlasticLayout(NamedTuple):
    """Synapse ``s`` (CSR ``indptr`` by presynaptic index) adds into input entry ``target[s]``
    (``channel * n + neuron``) after ``delay[s]`` steps under projection ``proj[s]``; its traces are
    ``xidx[s]`` (per projection and presynaptic row) and ``yidx[s]`` (per projection and neuron, of
    projection ``y_proj``). ``in_ptr``/``in_syn``: the synapses into each neuron (``in_xidx``,
    ``in_proj``: their ``xidx`` and ``proj`` in that order, read in sequence); ``y_ptr``/``y_ent``
    its traces; ``proj_ptr``/``proj_syn`` the synapses, ``x_ptr`` and ``y_first`` the trace ranges of
    each projection. ``reward_node[p] = (lo, hi, first)``: the presynaptic range whose spikes pay
    amounts ``first + i`` (or ``lo = -1``). In flight: ``fifo`` rows, ``sent[slot] = (begin, end)``
    of the rows sent in the step of that slot, ``head`` rows written so far."""

    indptr: np.ndarray
    target: np.ndarray
    post: np.ndarray
    delay: np.ndarray
    row_delay: np.ndarray
    proj: np.ndarray
    xidx: np.ndarray
    yidx: np.ndarray
    in_ptr: np.ndarray
    in_syn: np.ndarray
    in_xidx: np.ndarray
    in_proj: np.ndarray
    y_ptr: np.ndarray
    y_ent: np.ndarray
    y_proj: np.ndarray
    proj_ptr: np.ndarray
    proj_syn: np.ndarray
    x_ptr: np.ndarray
    y_first: np.ndarray
    reward_node: np.ndarray
    fifo: np.ndarray
    sent: np.ndarray
    head: np.ndarray
    max_delay: int


def _csr(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable").astype(np.int64)
    ptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=size), out=ptr[1:])
    return ptr, order


def build_plastic_layout(pieces: list[PlasticPiece], n_pre: int, n: int, n_slots: int,
                         max_spikes: int = 1) -> tuple[PlasticLayout, np.ndarray]:
    """The layout of ``pieces`` and ``position``: where each synapse (pieces in order, each in its
    own order) sits in the table. Without pieces the layout is empty (no array per presynaptic
    index or neuron: a 1e9-channel network without learning allocates nothing here)."""
    if not pieces:
        n_pre = n = 0
    cat = (lambda parts: np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64))
    x_first = np.cumsum([0] + [p.n_pre for p in pieces])
    y_first = np.cumsum([0] + [p.traced.size for p in pieces])
    pre = cat([p.pre for p in pieces])
    indptr, order = _csr(pre, n_pre)  # stable: within a row, projections then synapses in order
    position = np.empty(order.size, dtype=np.int64)
    position[order] = np.arange(order.size)
    post = cat([p.post for p in pieces])[order]
    proj = cat([np.full(p.pre.size, k) for k, p in enumerate(pieces)])[order]
    delay = cat([p.delay for p in pieces])[order]
    y_neuron = cat([p.traced for p in pieces])
    in_ptr, in_syn = _csr(post, n)
    y_ptr, y_ent = _csr(y_neuron, n)
    proj_ptr, proj_syn = _csr(proj, len(pieces))
    node = np.full((len(pieces), 3), -1, dtype=np.int64)
    first = 0
    for k, p in enumerate(pieces):
        if p.reward is not None:
            node[k] = (p.reward[0], p.reward[1], first)
            first += p.reward[1] - p.reward[0]
    rows = int(np.count_nonzero(np.diff(indptr)))
    xidx = cat([p.pre - p.pre_lo + x_first[k] for k, p in enumerate(pieces)])[order]
    layout = PlasticLayout(
        indptr=indptr, target=cat([p.channel * n + p.post for p in pieces])[order], post=post, delay=delay,
        row_delay=shared_row_delays(indptr, delay).astype(np.int64), proj=proj,
        xidx=xidx, yidx=cat([p.y_index() + y_first[k] for k, p in enumerate(pieces)])[order],
        in_ptr=in_ptr, in_syn=in_syn, in_xidx=xidx[in_syn], in_proj=proj[in_syn], y_ptr=y_ptr, y_ent=y_ent,
        y_proj=cat([np.full(p.traced.size, k) for k, p in enumerate(pieces)]), proj_ptr=proj_ptr, proj_syn=proj_syn,
        x_ptr=x_first.astype(np.int64), y_first=y_first.astype(np.int64), reward_node=node,
        fifo=np.zeros(max(1, rows * max_spikes * n_slots), np.int64), sent=np.zeros((n_slots, 2), np.int64),
        head=np.zeros(1, np.int64), max_delay=int(delay.max()) if delay.size else 1)
    return layout, position


@njit(cache=True, nogil=True)
def arrivals(t, L, out, first):
    """Fill ``out`` with the synapses that spikes reach in step ``t``; returns how many.
    ``first[k]``: ``out[k]`` is the first synapse of its projection in this arrival of its row
    (where a per-row trace steps)."""
    n_slots = L.sent.shape[0]
    cap = L.fifo.size
    count = 0
    for d in range(1, L.max_delay + 1):
        u = t - d
        if u < 0:
            break
        slot = u % n_slots
        for k in range(L.sent[slot, 0], L.sent[slot, 1]):
            r = L.fifo[k % cap]
            shared = L.row_delay[r]
            last = -1
            for s in range(L.indptr[r], L.indptr[r + 1]):
                if shared == d or (shared < 0 and L.delay[s] == d):
                    out[count] = s
                    first[count] = L.xidx[s] != last
                    last = L.xidx[s]
                    count += 1
    return count


@njit(cache=True, nogil=True)
def queue_spikes(t, spikes, L):
    """Step ``t``'s presynaptic spikes (rows with plastic synapses) go in flight."""
    slot = t % L.sent.shape[0]
    L.sent[slot, 0] = L.head[0]
    for k in range(spikes.size):
        r = spikes[k]
        if L.indptr[r + 1] > L.indptr[r]:
            L.fifo[L.head[0] % L.fifo.size] = r
            L.head[0] += 1
    L.sent[slot, 1] = L.head[0]


@njit(cache=True, nogil=True)
def skip_past_rewards(t, V):
    """Move ``V.reward_at`` to the first explicit reward of step ``t`` or later."""
    while V.reward_at[0] < V.reward_step.size and V.reward_step[V.reward_at[0]] < t:
        V.reward_at[0] += 1


@njit(cache=True, nogil=True)
def reward_of(k, t, spikes, L, V, r):
    """The reward projection ``k`` gets in step ``t``, added to ``r`` (a zero of the simulator's
    type): its explicit rewards of the step, plus per spike of its reward node the channel's
    amount. ``V``: a simulator's values (``reward_*`` fields, float or integer)."""
    q = V.reward_at[0]
    while q < V.reward_step.size and V.reward_step[q] == t:
        if V.reward_proj[q] == k:
            r += V.reward_value[q]
        q += 1
    lo, hi, first = L.reward_node[k, 0], L.reward_node[k, 1], L.reward_node[k, 2]
    if lo >= 0:
        for i in range(spikes.size):
            if lo <= spikes[i] < hi:
                r += V.reward_amount[first + spikes[i] - lo]
    return r
