"""The synapse table as the projections it is made of, without copying them.

A 10^9-synapse network holds its targets once, in the IR (4 bytes a synapse); the plain table
(:class:`.table.SynapseTable`) would hold them again, with a weight each, and the simulator's
compact table a third time. :class:`SynapsePieces` keeps each fixed-point projection's arrays as
they are (a :class:`TablePiece`: its rows, targets before an offset, mantissas and exponent) and
reads like the plain table: ``indptr``, ``delay`` and ``max_delay`` come from the pieces, while
``target`` and ``weight`` build the plain table on first use (the same arrays, in the same
order, as building it at once). Consumers that can read the pieces themselves (the compiled
simulators' compact table, :func:`incoming_reach`) never build it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numba import njit

from ..arrays import one_value
from .table import SynapseTable, synapse_table

__all__ = ["TablePiece", "SynapsePieces", "incoming_reach", "pieces_of", "weight_range"]


@dataclass(frozen=True, kw_only=True, eq=False)
class TablePiece:
    """One projection's synapses in the table's numbering: row ``r`` (presynaptic index
    ``pre + r``) holds synapses ``indptr[r]:indptr[r + 1]``, targeting ``offset + indices[s]``
    (``channel * n`` plus the target population's first neuron) with weight
    ``mantissa[s] << exponent`` and delay ``delay[s]``. ``mantissa`` and ``delay`` may be one
    value for all (0-d or a zero-stride view)."""

    pre: int
    indptr: np.ndarray
    indices: np.ndarray
    offset: int
    mantissa: np.ndarray
    exponent: int
    delay: np.ndarray

    @property
    def nnz(self) -> int:
        return int(self.indices.size)

    @property
    def rows(self) -> int:
        return int(self.indptr.size - 1)

    def weight_range(self) -> tuple[int, int]:
        """The least and largest weight (``(0, 0)`` when the piece is empty)."""
        m = np.asarray(self.mantissa)
        if not self.nnz:
            return 0, 0
        if one_value(m):
            v = int(m.reshape(-1)[0]) << self.exponent
            return v, v
        return int(m.min()) << self.exponent, int(m.max()) << self.exponent

    def first_values(self) -> tuple[np.ndarray, bool, np.ndarray, bool]:
        """``(mantissa, one, delay, one)`` as compiled code reads them: contiguous arrays, or one
        element with its flag set when one value serves every synapse."""
        out = []
        for a in (np.asarray(self.mantissa), np.asarray(self.delay)):
            one = one_value(a)
            out += [a.reshape(-1)[:1].copy() if one else np.ascontiguousarray(a), one]
        return tuple(out)


@njit(cache=True, nogil=True)
def _reach(total, indices, offset, m, m_one, exponent, lo, comp, inputs):
    """Add each synapse's absolute weight onto its target (a compartment's: onto its neuron)."""
    for s in range(indices.size):
        t = np.int64(indices[s]) + offset
        if comp.size > 0 and t >= inputs:
            t = comp[t - inputs]
        k = t - lo
        if 0 <= k < total.size:
            total[k] += abs(np.int64(m[0] if m_one else m[s]) << exponent)


@dataclass(frozen=True, kw_only=True, eq=False)
class SynapsePieces:
    """The synapse table of :func:`.program.program_from_fixed_point` as its pieces (see the
    module's docstring). ``index_type`` and ``delay_type`` are the plain table's target and delay
    types."""

    n_pre: int
    pieces: tuple[TablePiece, ...]
    index_type: type
    delay_type: type

    @cached_property
    def indptr(self) -> np.ndarray:
        counts = np.zeros(self.n_pre, dtype=np.int64)
        for p in self.pieces:
            counts[p.pre:p.pre + p.rows] += np.diff(p.indptr)
        out = np.zeros(self.n_pre + 1, dtype=np.int64)
        np.cumsum(counts, out=out[1:])
        return out

    @property
    def nnz(self) -> int:
        return sum(p.nnz for p in self.pieces)

    @cached_property
    def _delay_range(self) -> tuple[int, int] | None:
        ranges = [(int(np.min(p.delay)), int(np.max(p.delay))) for p in self.pieces if p.nnz]
        return (min(r[0] for r in ranges), max(r[1] for r in ranges)) if ranges else None

    @property
    def max_delay(self) -> int:
        return self._delay_range[1] if self._delay_range else 1

    @property
    def delay(self) -> np.ndarray:
        """One number when all delays are equal (as the plain table), else per synapse."""
        r = self._delay_range
        if r is None or r[0] == r[1]:
            return np.array(r[0] if r else 1)
        return self.table.delay

    @property
    def target(self) -> np.ndarray:
        return self.table.target

    @property
    def weight(self) -> np.ndarray:
        return self.table.weight

    @cached_property
    def table(self) -> SynapseTable:
        """The plain table (built once, on first use)."""
        pres, targets, weights, delays = [], [], [], []
        index = self.index_type
        for p in self.pieces:
            pres.append(np.repeat(np.arange(p.pre, p.pre + p.rows, dtype=index), np.diff(p.indptr)))
            post = p.indices.astype(index)
            post += p.offset
            targets.append(post)
            m = np.asarray(p.mantissa)
            lo, hi = p.weight_range()
            narrow = -2 ** 31 <= lo and hi < 2 ** 31
            weights.append(m.astype(np.int32) << p.exponent if narrow else m.astype(np.int64) << p.exponent)
            delays.append(np.asarray(p.delay).astype(self.delay_type) if np.ndim(p.delay)
                          else np.asarray(p.delay, self.delay_type))
        return synapse_table(self.n_pre, pres, targets, weights, delays)


def pieces_of(table: SynapseTable | SynapsePieces) -> tuple[TablePiece, ...]:
    """The pieces of ``table``: its own, or a plain (integer or float) table as one piece."""
    if isinstance(table, SynapsePieces):
        return table.pieces
    return (TablePiece(pre=0, indptr=table.indptr, indices=table.target, offset=0, mantissa=np.asarray(table.weight),
                       exponent=0, delay=table.delay),)


def weight_range(table: SynapseTable | SynapsePieces) -> tuple[int, int]:
    """The least and largest integer weight of ``table`` (``(0, 0)`` when it is empty)."""
    ranges = [p.weight_range() for p in pieces_of(table) if p.nnz]
    return (min(r[0] for r in ranges), max(r[1] for r in ranges)) if ranges else (0, 0)


def incoming_reach(table: SynapseTable | SynapsePieces, lo: int, hi: int, comp_target: np.ndarray | None = None,
                   inputs: int = 0) -> np.ndarray:
    """:func:`.table.incoming_weight` of an integer ``table``, piece by piece: the total absolute
    weight onto each target in ``[lo, hi)``; with ``comp_target``, a target ``t >= inputs``
    counts for ``comp_target[t - inputs]`` instead."""
    total = np.zeros(hi - lo, dtype=np.int64)
    comp = np.zeros(0, np.int64) if comp_target is None else np.asarray(comp_target, dtype=np.int64)
    for p in pieces_of(table):
        m, m_one, _, _ = p.first_values()
        _reach(total, p.indices, p.offset, m, m_one, p.exponent, lo, comp, inputs)
    return total
