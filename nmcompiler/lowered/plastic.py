"""Plastic projections in the lowered form: their synapses in global indices, initial mantissas
and integer learning parameters (:class:`~nmcompiler.ir.fixed_point.QuantizedLearning`), kept out
of the fixed synapse table because their weights change (docs/datapath.md, "Learning")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir.fixed_point import QuantizedLearning, QuantizedProjection

__all__ = ["PlasticProjection"]


@dataclass(frozen=True, kw_only=True, eq=False)
class PlasticProjection:
    """Synapse ``k`` (row-major by presynaptic neuron, the projection's order) runs from
    presynaptic index ``pre_lo + row`` to neuron ``post_lo + indices[k]`` on ``channel``; it
    delivers ``mantissa << exponent`` (initially ``mantissa[k]``) ``delays[k]`` ticks after the
    spike. ``reward_lo``: first presynaptic index of the reward node (-1: none). ``traced``: the
    neurons that keep a post trace, ascending (an image's learning unit: the post population's
    neurons on its core)."""

    name: str
    pre_lo: int
    n_pre: int
    post_lo: int
    n_post: int
    channel: int
    indptr: np.ndarray
    indices: np.ndarray
    mantissa: np.ndarray
    exponent: int
    delays: np.ndarray
    learning: QuantizedLearning
    reward_lo: int = -1
    traced: np.ndarray | None = None  # neurons with a post trace (None: the whole post population)

    @classmethod
    def lower(cls, q: QuantizedProjection, offsets: dict[str, int], n_post: int) -> "PlasticProjection":
        node = q.learning.reward_node
        return cls(name=q.name, pre_lo=offsets[q.pre], n_pre=q.indptr.size - 1, post_lo=offsets[q.post],
                   n_post=n_post, channel=q.channel, indptr=q.indptr, indices=q.indices,
                   mantissa=np.asarray(q.mantissa, dtype=np.int64), exponent=q.exponent,
                   delays=np.broadcast_to(q.delays, q.indices.shape).astype(np.int64),
                   learning=q.learning, reward_lo=-1 if node is None else offsets[node])

    @property
    def pre(self) -> np.ndarray:
        """Presynaptic index of every synapse."""
        return self.pre_lo + np.repeat(np.arange(self.n_pre, dtype=np.int64), np.diff(self.indptr))

    @property
    def post(self) -> np.ndarray:
        return self.post_lo + self.indices.astype(np.int64)
