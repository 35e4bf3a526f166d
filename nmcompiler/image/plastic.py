"""Plastic projections in configuration images (format version 3, docs/image-format.md).

A plastic projection's synapses are ordinary ``rows``/``synapses`` entries (delivered, routed and
counted like any other) whose rows carry the projection's exponent; the core's ``plastic``
section lists which of its rows learn and for which projection, and meta's ``plastic`` holds
each projection's integer learning parameters (:class:`~nmcompiler.ir.fixed_point.QuantizedLearning`)
and meta's ``learning`` the target's learning engine. Decoding turns every (projection, core)
into one :class:`~nmcompiler.lowered.PlasticProjection`: one learning unit with its own LFSR,
as the core's engine runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..ir.fixed_point import FixedPointNetwork, QuantizedLearning
from ..lowered import PlasticProjection, SimProgram

__all__ = ["PLASTIC_DTYPE", "PlasticRows", "plastic_meta", "plastic_pieces"]

PLASTIC_DTYPE = np.dtype([("row", "<u4"), ("projection", "<u4")])


@dataclass(frozen=True)
class PlasticRows:
    """Which row keys (``pre * row_groups + group``) belong to plastic projection ``k``."""

    pre_lo: np.ndarray
    pre_hi: np.ndarray
    group: np.ndarray
    exponent: np.ndarray
    row_groups: int

    def projection_of(self, keys: np.ndarray) -> np.ndarray:
        """Per row key, the plastic projection it belongs to (-1: a fixed one)."""
        out = np.full(keys.size, -1, dtype=np.int64)
        g, grp = keys // self.row_groups, keys % self.row_groups
        for k in range(self.group.size):
            out[(grp == self.group[k]) & (g >= self.pre_lo[k]) & (g < self.pre_hi[k])] = k
        return out

    def exponents(self, keys: np.ndarray) -> np.ndarray:
        """Per synapse (by its row key), the exponent its row must have (0: any)."""
        k = self.projection_of(keys)
        return np.where(k >= 0, self.exponent[np.maximum(k, 0)], 0)


def plastic_rows(fxp: FixedPointNetwork, prog: SimProgram, channels: int) -> PlasticRows | None:
    """The plastic projections' rows; refuses a fixed projection that would share their rows."""
    plastic = [q for q in fxp.projections.values() if q.learning is not None]
    if not plastic:
        return None
    names = [p.name for p in prog.populations]
    P, offsets = len(names), prog.offsets
    for q in plastic:
        for other in fxp.projections.values():
            if other is not q and (other.pre, other.post, other.channel) == (q.pre, q.post, q.channel):
                raise UserError(f"projection '{q.name}' learns and shares its source, target and receptor with "
                                f"projection '{other.name}': a core's synapse rows hold one of them; merge them or "
                                "use another receptor")
    return PlasticRows(pre_lo=np.array([offsets[q.pre] for q in plastic], dtype=np.int64),
                       pre_hi=np.array([offsets[q.pre] + q.indptr.size - 1 for q in plastic], dtype=np.int64),
                       group=np.array([q.channel * P + names.index(q.post) for q in plastic], dtype=np.int64),
                       exponent=np.array([q.exponent for q in plastic], dtype=np.int64), row_groups=channels * P)


def plastic_meta(fxp: FixedPointNetwork) -> dict:
    """Meta's ``plastic`` and ``learning`` entries (empty when nothing learns)."""
    plastic = [q for q in fxp.projections.values() if q.learning is not None]
    if not plastic:
        return {}
    out = []
    for q in plastic:
        rule = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in vars(q.learning).items()}
        out.append({"name": q.name, "pre": q.pre, "post": q.post, "channel": q.channel, "exponent": q.exponent,
                    "rule": rule})
    return {"plastic": out, "learning": vars(fxp.learning)}


def _learning(d: dict) -> QuantizedLearning:
    fields = dict(d)
    for k in ("reward_amounts", "reward_steps", "reward_values"):
        fields[k] = np.asarray(fields[k], dtype=np.int64)
    return QuantizedLearning(**fields)


def plastic_pieces(meta: dict, plastic_of, sizes: dict[str, int], offsets: dict[str, int]) -> tuple:
    """``plastic_of(k)``: per projection ``k``, a list of ``(core, src, neuron, channel, delay,
    mantissa, core_neurons)`` arrays (global indices, the core's memory order; ``core_neurons``: all
    the core's neurons, ascending). Returns one :class:`PlasticProjection` per (projection, core),
    projections in meta order, cores ascending; its post traces are those of the post population's
    neurons on its core (the core's learning engine holds no others)."""
    pieces = []
    for k, p in enumerate(meta.get("plastic", [])):
        learning = _learning(p["rule"])
        pre_lo, n_pre, post_lo = offsets[p["pre"]], sizes[p["pre"]], offsets[p["post"]]
        n_post = sizes[p["post"]]
        for core, src, neuron, channel, delay, mantissa, core_neurons in plastic_of(k):
            if np.any(channel != p["channel"]) or np.any((src < pre_lo) | (src >= pre_lo + n_pre)):
                raise UserError(f"core {core}: a plastic row of projection '{p['name']}' has a source or channel "
                                "outside the projection")
            row = src - pre_lo
            order = np.argsort(row, kind="stable")
            indptr = np.zeros(n_pre + 1, dtype=np.int64)
            np.cumsum(np.bincount(row, minlength=n_pre), out=indptr[1:])
            node = learning.reward_node
            pieces.append(PlasticProjection(
                name=p["name"], pre_lo=pre_lo, n_pre=n_pre, post_lo=post_lo, n_post=n_post,
                channel=int(p["channel"]), indptr=indptr, indices=(neuron - post_lo)[order].astype(np.int32),
                mantissa=mantissa[order].astype(np.int64), exponent=int(p["exponent"]),
                delays=delay[order].astype(np.int64), learning=learning,
                reward_lo=-1 if node is None else offsets[node],
                traced=np.sort(core_neurons[(core_neurons >= post_lo) & (core_neurons < post_lo + n_post)])))
    return tuple(pieces)

