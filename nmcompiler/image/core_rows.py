"""One core's synapses made into rows, in arrays reused core after core.

:func:`build_contents <.contents.build_contents>` takes each core's synapses from a batch
(:mod:`.synapse_batches`), orders them (row, delay, slot), gathers them and finds each row's
exponent and its synapses' mantissas. The per-synapse arrays of that work live in one
:class:`CoreScratch` for the whole image: arrays allocated afresh for every core ran about three
times slower while the image's own arrays accumulated (the microcircuit onto spinnaker-like:
the gathers 1.6 s alone, 4.0 s beside the kept rows), since their pages were new each time.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["CoreScratch", "CoreSynapses", "row_exponents", "row_mantissas", "sort_order"]

_FIELDS = ("key", "pre", "slot", "field", "delay", "weight", "packed", "start", "exp", "mantissa")


class CoreSynapses:
    """A core's synapses in row order: ``key``, ``pre``, ``slot``, ``field``, ``delay`` and
    ``weight`` (int64 views into a :class:`CoreScratch` or the batch, valid until the next
    :meth:`CoreScratch.gather`)."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.key, self.pre, self.slot = arrays["key"], arrays["pre"], arrays["slot"]
        self.field, self.delay, self.weight = arrays["field"], arrays["delay"], arrays["weight"]


class CoreScratch:
    """int64 arrays for the largest core so far, handed out as views of a core's length."""

    def __init__(self) -> None:
        self._size = 0
        self._arrays = {name: np.empty(0, dtype=np.int64) for name in _FIELDS}

    def take(self, m: int) -> dict[str, np.ndarray]:
        if m > self._size:
            self._size = max(m, 2 * self._size)
            self._arrays = {name: np.empty(self._size, dtype=np.int64) for name in _FIELDS}
        return {name: a[:m] for name, a in self._arrays.items()}

    def gather(self, s: dict[str, np.ndarray], lo: int, hi: int) -> CoreSynapses:
        """The batch ``s``'s synapses ``lo .. hi - 1`` (one core's) ordered by row key, delay and
        slot (stably: within those, in batch order)."""
        arrays = self.take(hi - lo)
        order = sort_order((s["key"][lo:hi], s["delay"][lo:hi], s["slot"][lo:hi]), arrays["packed"])
        if order is None:  # in order already (a core fed by projections in source order): views, no copies
            return CoreSynapses({name: s[name][lo:hi] for name in ("key", "pre", "slot", "field", "delay", "weight")})
        _gather(lo + order, s["key"], s["pre"], s["slot"], s["field"], s["delay"], s["weight"], arrays["key"],
                arrays["pre"], arrays["slot"], arrays["field"], arrays["delay"], arrays["weight"])
        return CoreSynapses(arrays)

    def rows(self, key: np.ndarray, w: np.ndarray, forced: np.ndarray, wmax: int) -> tuple[np.ndarray, np.ndarray, int]:
        """:func:`row_exponents` into this scratch (the returned arrays are views of it)."""
        arrays = self.take(key.size)
        rows, bad = _row_exponents(key, w, forced, wmax, arrays["start"], arrays["exp"])
        return arrays["start"][:rows], arrays["exp"][:rows], bad

    def mantissas(self, w: np.ndarray, start: np.ndarray, exp: np.ndarray) -> np.ndarray:
        """:func:`row_mantissas` into this scratch (a view of it)."""
        out = self.take(w.size)["mantissa"]
        _row_mantissas(w, start, exp, out)
        return out


def sort_order(keys, packed: np.ndarray | None = None) -> np.ndarray | None:
    """Stable order by the non-negative integer ``keys`` (most significant first), or None when
    they are in order already: one packed int64 key (into ``packed`` when given) when their bits
    fit, else a lexsort."""
    if len(keys) == 3 and packed is not None:  # a core's (row, delay, slot): two compiled passes
        fits, in_order = _pack3(keys[0], keys[1], keys[2], packed)
        if fits:
            return None if in_order else np.argsort(packed, kind="stable")
    bits = [max(1, int(k.max(initial=0)).bit_length()) for k in keys]
    if sum(bits) > 63:
        order = np.lexsort(keys[::-1])
        return None if np.all(order[1:] > order[:-1]) else order
    packed = np.empty(keys[0].size, dtype=np.int64) if packed is None else packed
    packed[:] = keys[0]
    for k, b in zip(keys[1:], bits[1:]):
        packed <<= b
        packed |= k
    return None if np.all(packed[1:] >= packed[:-1]) else np.argsort(packed, kind="stable")


def row_exponents(key, w, forced, wmax):
    """Rows of a core's synapses (sorted by row ``key``) and their exponents: per synapse the
    smallest shift (at least ``forced``, if given) that brings its weight ``w`` into
    ``[-wmax - 1, wmax]``, per row the largest of its synapses'. Returns (first synapse of each
    row, its exponent, the first synapse whose weight that exponent drops bits of, or -1)."""
    start, exp = np.empty(key.size, dtype=np.int64), np.empty(key.size, dtype=np.int64)
    rows, bad = _row_exponents(key, w, forced, wmax, start, exp)
    return start[:rows], exp[:rows], bad


def row_mantissas(w, start, exp):
    """Each synapse's weight shifted right by its row's exponent (rows begin at ``start``)."""
    out = np.empty(w.size, dtype=np.int64)
    _row_mantissas(w, start, exp, out)
    return out


@njit(cache=True, nogil=True)
def _pack3(k0, k1, k2, packed):
    """:func:`sort_order`'s packed key of three non-negative keys into ``packed``: returns (the
    bits fit 63, the keys are in order already); one pass for the maxima, one to pack and check."""
    m0 = m1 = m2 = 0
    for i in range(k0.size):
        m0, m1, m2 = max(m0, k0[i]), max(m1, k1[i]), max(m2, k2[i])
    b1, b2 = max(1, _bit_length(m1)), max(1, _bit_length(m2))
    if max(1, _bit_length(m0)) + b1 + b2 > 63:
        return False, False
    in_order = True
    for i in range(k0.size):
        packed[i] = (((np.int64(k0[i]) << b1) | np.int64(k1[i])) << b2) | np.int64(k2[i])
        if i and packed[i] < packed[i - 1]:
            in_order = False
    return True, in_order


@njit(cache=True, nogil=True)
def _gather(order, key, pre, slot, field, delay, weight, o_key, o_pre, o_slot, o_field, o_delay, o_weight):
    for i in range(order.size):
        j = order[i]
        o_key[i], o_pre[i], o_slot[i] = key[j], pre[j], slot[j]
        o_field[i], o_delay[i], o_weight[i] = field[j], delay[j], weight[j]


@njit(cache=True, nogil=True)
def _row_exponents(key, w, forced, wmax, start, exp):
    """:func:`row_exponents` into ``start`` and ``exp``; returns (rows, bad). ``wmax + 1`` is a
    power of two: ``w >> e`` fits when ``w ^ (w >> 63)`` (``w`` or ``~w``) has at most ``e``
    bits more than ``wmax``, so a row's shift comes from the OR of those values."""
    keep = _bit_length(wmax)
    rows, ored, least, bad = 0, 0, 0, -1
    for i in range(key.size):
        if i == 0 or key[i] != key[i - 1]:
            if rows:
                bad = _close_row(w, start, exp, rows - 1, i, max(least, _bit_length(ored) - keep), bad)
            start[rows] = i
            rows += 1
            ored, least = 0, 0
        ored |= w[i] ^ (w[i] >> 63)
        if forced.size and forced[i] > least:
            least = forced[i]
    if rows:
        bad = _close_row(w, start, exp, rows - 1, key.size, max(least, _bit_length(ored) - keep), bad)
    return rows, bad


@njit(cache=True, nogil=True, inline="always")
def _close_row(w, start, exp, r, end, e, bad):
    """Row ``r`` (synapses ``start[r] .. end - 1``) gets exponent ``e``; returns ``bad``, or if
    there is none yet the first of the row's weights that ``e`` drops bits of (the row was just
    read: its weights are in cache, so this replaces a second pass over all of them)."""
    exp[r] = e
    if bad < 0 and e > 0:
        mask = (np.int64(1) << e) - 1
        for j in range(start[r], end):
            if w[j] & mask:
                return j
    return bad


@njit(cache=True, nogil=True)
def _bit_length(x):
    """Bits of the non-negative ``x``."""
    b = 0
    while x >> b:
        b += 1
    return b


@njit(cache=True, nogil=True)
def _row_mantissas(w, start, exp, out):
    for r in range(start.size):
        end = start[r + 1] if r + 1 < start.size else w.size
        e = exp[r]
        for i in range(start[r], end):
            out[i] = w[i] >> e
