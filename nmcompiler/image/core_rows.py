"""One core's synapses made into rows, in arrays reused core after core.

:func:`build_contents <.contents.build_contents>` takes each core's synapses from a batch
(:mod:`.synapse_batches`), orders them (row, delay, slot), gathers them and finds each row's
exponent and its synapses' entries. The per-synapse arrays of that work live in one
:class:`CoreScratch` for the whole image: arrays allocated afresh for every core ran about three
times slower while the image's own arrays accumulated (the microcircuit onto spinnaker-like:
the gathers 1.6 s alone, 4.0 s beside the kept rows), since their pages were new each time.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..targets.encoding import EntryShifts, entry_word

__all__ = ["CoreScratch", "CoreSynapses", "fill_rows", "row_exponents", "sort_order"]

_FIELDS = ("key", "pre", "slot", "field", "delay", "weight", "packed", "start", "exp")


class CoreSynapses:
    """A core's synapses in row order: ``key``, ``pre``, ``slot``, ``field``, ``delay`` and
    ``weight`` (integer views into a :class:`CoreScratch` or the batch, valid until the next
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

    def rows(self, syn: CoreSynapses, forced: np.ndarray, wmax: int, shifts: EntryShifts,
             words: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """:func:`row_exponents` of ``syn`` into this scratch (the returned arrays are views of it),
        and in the same pass each synapse's entry into ``words``: its weight shifted right by its
        row's exponent, packed as ``shifts`` says (the row's synapses are still in cache)."""
        arrays = self.take(syn.key.size)
        rows, bad = _row_exponents(syn.key, syn.weight, forced, wmax, arrays["start"], arrays["exp"], words, syn.slot,
                                   syn.field, syn.delay, shifts.args())
        return arrays["start"][:rows], arrays["exp"][:rows], bad


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
    none = np.zeros(0, dtype=np.int64)
    rows, bad = _row_exponents(key, w, forced, wmax, start, exp, np.zeros(0, dtype=np.uint32), none, none, none,
                               (0, 0, 0, 0, 0))
    return start[:rows], exp[:rows], bad


def fill_rows(rows: np.ndarray, pre: np.ndarray, start: np.ndarray, exp: np.ndarray, synapses: int) -> None:
    """Each row's ``source`` (its first synapse's ``pre``), ``start``, ``length`` and ``exponent``
    into the records ``rows`` (the image's row dtype), in one compiled pass."""
    _fill_rows(pre, start, exp, synapses, rows["source"], rows["start"], rows["length"], rows["exponent"])


@njit(cache=True, nogil=True)
def _fill_rows(pre, start, exp, synapses, source, first, length, exponent):
    for r in range(start.size):
        end = start[r + 1] if r + 1 < start.size else synapses
        source[r], first[r], length[r], exponent[r] = pre[start[r]], start[r], end - start[r], exp[r]


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
def _row_exponents(key, w, forced, wmax, start, exp, words, slot, field, delay, shifts):
    """:func:`row_exponents` into ``start`` and ``exp``; returns (rows, bad). ``wmax + 1`` is a
    power of two: ``w >> e`` fits when ``w ^ (w >> 63)`` (``w`` or ``~w``) has at most ``e``
    bits more than ``wmax``, so a row's shift comes from the OR of those values. With ``words``
    (not empty), each row's entries are packed (:func:`entry_word`) as soon as its exponent is known."""
    keep = _bit_length(wmax)
    s_index, s_channel, s_delay, s_mantissa, mantissa_mask = shifts
    rows, bad, i, n = 0, -1, 0, key.size
    while i < n:
        j, ored, least = i, 0, 0
        while j < n and key[j] == key[i]:
            ored |= w[j] ^ (w[j] >> 63)
            if forced.size and forced[j] > least:
                least = forced[j]
            j += 1
        e = max(least, _bit_length(ored) - keep)
        start[rows], exp[rows] = i, e
        rows += 1
        if bad < 0 and e > 0:  # the first weight whose bits the row's exponent drops
            mask = (np.int64(1) << e) - 1
            for k in range(i, j):
                if w[k] & mask:
                    bad = k
                    break
        if words.size:
            for k in range(i, j):
                words[k] = entry_word(slot[k], field[k], delay[k], w[k] >> e, s_index, s_channel, s_delay, s_mantissa,
                                      mantissa_mask)
        i = j
    return rows, bad


@njit(cache=True, nogil=True)
def _bit_length(x):
    """Bits of the non-negative ``x``, in six halving steps (a row's took up to 63 shifts)."""
    b = 0
    for s in (32, 16, 8, 4, 2, 1):
        if x >> s:
            x >>= s
            b += s
    return b + (1 if x else 0)
