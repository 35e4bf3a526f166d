"""Compiled (numba) kernel of the bit-accurate simulator: the whole run as one loop.

It computes exactly what :func:`nmcompiler.datapath.tick` and the numpy simulator compute (same
integer operations in the same order); tests check the two spike for spike and state for state.
Scalar arithmetic mirrors docs/datapath.md: ``_sat``, ``_rshift`` and ``_decay`` below.

Speed: the format's switches (current state, decay kind, rounding, comparison), its two shift
widths and the channel count are compile-time literals (one specialization per format, compiled
on first use and cached on disk); the per-neuron update is written without branches (selects on
all-ones/all-zeros masks) over contiguous row views, so that LLVM vectorizes the neuron loops.
Where the format allows it (``bit_sim._narrow_state``) states, ring and arithmetic are int32:
8 lanes per AVX2 instruction with native min/max, the decay product split into halves that
never leave int32 (``_mul_shift``). Segments of neurons with identical parameters read them
once, as scalars. A tick runs in passes: delivery of the previous tick's spikes, input and
currents, membrane and spikes, then a compaction of the spike flags. The synapse table is the
compact one of :mod:`.rows` (16-bit targets in blocks, weights shared by a row stored once).
"""

from __future__ import annotations

import gc
from typing import NamedTuple

import numpy as np
from numba import literally, njit, prange, typeof
from numba.extending import overload

from .bit_plasticity import learn_after_int, learn_arrive_int
from .rows import deliver, row_events

__all__ = ["run_kernel", "undelivered_events", "DECAY_CODES", "ROUNDING_CODES",
           "PARALLEL_MIN_NEURONS"]

# Below this many neurons the kernel runs in one chunk on one thread. On this 2-vCPU machine
# (two hyperthreads of one core) the vectorized neuron loop gains nothing from a second thread at
# CUBA size (4000 neurons), while the memory-bound delivery of 1M x 1000 gains 2-3x
# (benchmarks/cuba.py and benchmarks/million.py measure both).
PARALLEL_MIN_NEURONS = 20_000

DECAY_CODES = {"multiply": 0, "shift": 1, "leak": 2}
ROUNDING_CODES = {"floor": 0, "nearest": 1, "zero": 2}


def _as(x, like):
    """``x`` converted to the integer type of ``like`` (used inside compiled code only)."""
    raise NotImplementedError


@overload(_as)
def _as_impl(x, like):
    cast = np.int32 if like.bitwidth <= 32 else np.int64
    return lambda x, like: cast(x)


def _wide(x):
    """Whether ``x`` is a 64-bit integer (a compile-time constant in compiled code)."""
    raise NotImplementedError


@overload(_wide)
def _wide_impl(x):
    wide = x.bitwidth > 32
    return lambda x: wide


# Every helper below computes in the type of its ``like`` argument: each operation is written
# as a 64-bit operation converted back (numba widens int32 arithmetic), which LLVM folds into
# 32-bit vector instructions (8 lanes with AVX2, and native min/max) when the values are int32.
# The bits are the same either way: the caller chooses int32 only when no intermediate value
# can leave the int32 range (bit_sim._narrow_state).


@njit(cache=True, inline="always")
def _sat(x, lo, hi):
    return _as(min(max(x, lo), hi), lo)


@njit(cache=True, inline="always")
def _select(mask, a, b):
    """``a`` where ``mask`` is all ones, ``b`` where it is zero (branch free)."""
    return _as(b ^ ((a ^ b) & mask), mask)


@njit(cache=True, inline="always")
def _rshift(x, k, rounding):
    if rounding == 0:  # floor
        return _as(x >> k, x)
    if rounding == 1:  # nearest, ties up: (x + 2^(k-1)) >> k, nothing added for k = 0
        return _as(_as(x + _as((1 << k) >> 1, x), x) >> k, x)
    sg = _as(-_as(x < 0, x), x)  # toward zero: shift |x|, restore the sign
    return _as(_as(_as(_as(x ^ sg, x) - sg, x) >> k ^ sg, x) - sg, x)


@njit(cache=True, inline="always")
def _mul_shift(x, f, frac, rounding):
    """``x * f`` shifted right by ``frac`` with ``rounding`` (f >= 0) without forming the product:
    with x = xh 2^frac + xl (0 <= xl < 2^frac), x f >> frac = xh f + (xl f >> frac), exactly; the
    rounding constant joins the low part."""
    if _wide(x):  # int64 holds the product
        return _rshift(_as(x * f, x), frac, rounding)
    sg = _as(-_as(x < 0, x), x)
    if rounding == 2:  # toward zero: the product of |x|, sign restored
        x = _as(_as(x ^ sg, x) - sg, x)
    xh = _as(x >> frac, x)
    xl = _as(x & _as((1 << frac) - 1, x), x)
    low = _as(xl * f, x)
    if rounding == 1:
        low = _as(low + _as((1 << frac) >> 1, x), x)
    y = _as(_as(xh * f, x) + _as(low >> frac, x), x)
    if rounding == 2:
        y = _as(_as(y ^ sg, x) - sg, x)
    return y


@njit(cache=True, inline="always")
def _decay(x, s, kind, frac, rounding, smax):
    """One decay step of ``x`` with setting ``s`` (docs/datapath.md); ``smax`` is the largest
    shift the type allows (all larger shifts of the values it holds give the same result)."""
    if kind == 0:  # multiply by (2^F - s) / 2^F
        return _mul_shift(x, _as((1 << frac) - s, x), frac, rounding)
    if kind == 1:  # x - x / 2^s; s >= 63 means no decay
        return _select(_as(-_as(s >= 63, x), x), x, _as(x - _rshift(x, _as(min(s, smax), x), rounding), x))
    ax = _as(abs(x), x)  # linear leak toward zero
    step = _as(min(_as(s, x), ax), x)
    return _as(x - _as(_as(_as(x > 0, x) - _as(x < 0, x), x) * step, x), x)


@njit(cache=True, inline="always")
def _membrane(drive, old, r, dv, bb, th, vr, vm, rf, sb, sp, has_current, kind, frac, rounding, compare_ge, cfrac,
              vlo, vhi, smax):
    """Steps 3-5 of one neuron (refractory hold, membrane and its lower bound ``vm``, threshold,
    reset), branch free, in the
    type of ``vlo``. Returns ``(v, ref, spike)`` with ``spike`` all ones or zero."""
    if has_current:
        d = _sat(_rshift(drive, cfrac, rounding), vlo, vhi)
    else:
        d = _sat(drive, vlo, vhi)
    active = _as(-_as(r <= 0, vlo), vlo)
    x = _sat(_as(_decay(_as(old, vlo), _as(dv, vlo), kind, frac, rounding, smax) + d, vlo), vlo, vhi)
    vj = _as(max(_sat(_as(x + _as(bb, vlo), vlo), vlo, vhi), _as(vm, vlo)), vlo)  # the lower bound v_min
    thj = _as(th, vlo)
    if compare_ge:
        crossed = _as(-_as(vj >= thj, vlo), vlo)
    else:
        crossed = _as(-_as(vj > thj, vlo), vlo)
    spike = _as(crossed & active & _as(-_as(sp, vlo), vlo), vlo)
    after = _select(_as(-_as(sb, vlo), vlo), _sat(_as(vj - _as(thj - _as(vr, vlo), vlo), vlo), vlo, vhi),
                    _as(vr, vlo))
    r2 = _select(spike, _as(rf, vlo), _as(r - _as(r > 0, vlo), vlo))
    return _select(spike, after, _select(active, vj, _as(old, vlo))), r2, spike


@njit(cache=True)
def _deliver_tick(ring, rows, sent, n_slots, stride, fired, n_fired, bounds, src_ids, q0, q1, chunk):
    """Deliver one tick's spikes, the neurons ``fired`` (per chunk) and then the sources
    ``src_ids[q0:q1]``, onto the blocks of ``chunk`` in the compact table (:func:`.rows.deliver`);
    returns the number of synapses. (Inside the tick loop LLVM compiled the delivery loop 2-4x
    slower than in a function of its own: benchmarks/brunel.py.)"""
    nch = bounds.size - 1
    n_rows = q1 - q0
    for cc in range(nch):
        n_rows += n_fired[cc]
    pres = np.empty(n_rows, dtype=np.int64)
    k = 0
    for cc in range(nch):
        for q in range(n_fired[cc]):
            pres[k] = fired[bounds[cc] + q]
            k += 1
    for q in range(q0, q1):
        pres[k] = src_ids[q]
        k += 1
    return deliver(ring, rows, pres, sent, n_slots, stride, chunk)


class KernelArgs(NamedTuple):
    """What one call of the compiled kernel reads and updates (a NamedTuple: numba passes it as one
    typed tuple, and ``_run`` unpacks it by position)."""

    t0: object
    t1: object
    n: object
    channels: object
    decay_v: object
    decay_i: object
    bias: object
    threshold: object
    v_reset: object
    v_min: object
    refractory: object
    subtract: object
    spiking: object
    v: object
    cur: object
    ref: object
    nchunks: object
    bounds: object
    table: object  # the compact synapse table (.rows.Rows, as a plain tuple), cut by chunk
    n_slots: object
    src_ptr: object
    src_ids: object
    vlo: object
    vhi: object
    ilo: object
    ihi: object
    alo: object
    ahi: object
    smax: object
    rec_v_idx: object
    rec_v: object
    rec_i_idx: object
    rec_i: object
    ring: object
    drive: object
    seg_bounds: object
    seg_uniform: object
    chunk_segs: object
    fired: object
    n_fired: object
    events: object
    learns: object  # plastic projections (one chunk): the learning kernels of .bit_plasticity run
    plastic_layout: object
    plastic_values: object


def _run(has_current, kind, rounding, compare_ge, frac, cfrac, R, args):
    """``nchunks`` contiguous neuron ranges (``bounds``) are updated in parallel; the compact table
    ``table`` is cut into blocks within chunks, so that each chunk delivers the
    previous tick's spikes into its own neurons only: one parallel region per tick, no races.
    Each chunk is cut into segments (``seg_bounds``, ``chunk_segs``); in a segment marked uniform
    every neuron has the parameters of its first one, which the loop then reads as scalars.

    Runs ticks ``[t0, t1)`` and can be resumed: ``fired``/``n_fired`` (this and the previous tick's
    spikes per chunk), ``events``, the ring and the states carry over between calls. Source spikes
    ``src_ptr``/``src_ids`` cover ticks ``t0 - 1`` to ``t1 - 1``."""
    (t0, t1, n, _, decay_v, decay_i, bias, threshold, v_reset, v_min, refractory, subtract, spiking, v, cur, ref,  # KernelArgs
     nchunks, bounds, table, n_slots, src_ptr, src_ids, vlo, vhi, ilo, ihi,
     alo, ahi, smax, rec_v_idx, rec_v, rec_i_idx, rec_i, ring, drive, seg_bounds, seg_uniform,
     chunk_segs, fired, n_fired, events, learns, p_layout, p_values) = args
    out_steps = np.empty(1024, dtype=np.int64)
    out_ids = np.empty(1024, dtype=np.int64)
    count = 0
    stride = R * n
    for t in range(t0, t1):
        now = t % 2
        prev = 1 - now
        if learns:  # plastic synapses reached in tick t deliver (the sums are exact: any order)
            events[0] += learn_arrive_int(t, ring, (t % n_slots) * stride, p_layout, p_values)
        for c in prange(nchunks):
            lo = bounds[c]
            # 6 (of tick t-1): deliver the spikes of neurons, then of sources, into this chunk
            if t > 0:
                events[c] += _deliver_tick(ring, table, (t - 1) % n_slots, n_slots, stride, fired[prev],
                                           n_fired[prev], bounds, src_ids, src_ptr[t - t0], src_ptr[t - t0 + 1], c)
            base = (t % n_slots) * stride
            fl = fired[now]
            nf = 0
            for g in range(chunk_segs[c], chunk_segs[c + 1]):
                a = seg_bounds[g]
                b = seg_bounds[g + 1]
                m = b - a
                dr = drive[a:b]  # row views: plain j indexing vectorizes
                vv = v[a:b]
                rr = ref[a:b]
                # 1-2: input of tick t (saturated to acc_bits), currents, drive
                for k in range(R):
                    inp = ring[base + k * n + a:base + k * n + b]
                    if has_current:
                        ck = cur[k][a:b]
                        if seg_uniform[g]:
                            dk0 = _as(decay_i[k][a], ilo)
                            for j in range(m):
                                y = _sat(_as(_decay(_as(ck[j], ilo), dk0, kind, frac, rounding, smax)
                                             + _sat(inp[j], alo, ahi), ilo), ilo, ihi)
                                inp[j] = 0
                                ck[j] = y
                                dr[j] = _select(_as(-_as(k > 0, ilo), ilo), _as(dr[j] + y, ilo), y)
                        else:
                            dk = decay_i[k][a:b]
                            for j in range(m):
                                y = _sat(_as(_decay(_as(ck[j], ilo), _as(dk[j], ilo), kind, frac, rounding, smax)
                                             + _sat(inp[j], alo, ahi), ilo), ilo, ihi)
                                inp[j] = 0
                                ck[j] = y
                                dr[j] = _select(_as(-_as(k > 0, ilo), ilo), _as(dr[j] + y, ilo), y)
                    else:
                        for j in range(m):
                            dr[j] = _as(_select(_as(-_as(k > 0, alo), alo), _as(dr[j], alo), _as(0, alo))
                                        + _sat(inp[j], alo, ahi), alo)
                            inp[j] = 0
                if R == 0:
                    dr[:] = 0
                # 3-5: refractory hold, membrane, threshold, reset; a uniform segment's parameters are
                # read once, as scalars
                if seg_uniform[g]:
                    dv0, bb0, th0, vr0, vm0 = decay_v[a], bias[a], threshold[a], v_reset[a], v_min[a]
                    rf0, sb0, sp0 = refractory[a], subtract[a], spiking[a]
                    for j in range(m):
                        x, y, z = _membrane(dr[j], vv[j], rr[j], dv0, bb0, th0, vr0, vm0, rf0, sb0, sp0,
                                            has_current, kind, frac, rounding, compare_ge, cfrac, vlo, vhi, smax)
                        vv[j] = x
                        rr[j] = y
                        dr[j] = z  # reuse: spike flags for the compaction below
                else:
                    dv, bb, th, vr, vm = decay_v[a:b], bias[a:b], threshold[a:b], v_reset[a:b], v_min[a:b]
                    rf, sb, sp = refractory[a:b], subtract[a:b], spiking[a:b]
                    for j in range(m):
                        x, y, z = _membrane(dr[j], vv[j], rr[j], dv[j], bb[j], th[j], vr[j], vm[j], rf[j], sb[j], sp[j],
                                            has_current, kind, frac, rounding, compare_ge, cfrac, vlo, vhi, smax)
                        vv[j] = x
                        rr[j] = y
                        dr[j] = z
                for b0 in range(0, m, 32):  # spikes are rare: test 32 flags at once
                    b1 = min(b0 + 32, m)
                    any_spike = np.int64(0)
                    for j in range(b0, b1):
                        any_spike |= dr[j]
                    if any_spike:
                        for j in range(b0, b1):
                            if dr[j]:
                                fl[lo + nf] = a + j
                                nf += 1
            n_fired[now, c] = nf
        # record spikes (chunk order = index order)
        total = 0
        for c in range(nchunks):
            total += n_fired[now, c]
        if count + total > out_steps.size:
            grow = max(out_steps.size * 2, count + total)
            new_steps = np.empty(grow, dtype=np.int64)
            new_ids = np.empty(grow, dtype=np.int64)
            for q in range(count):
                new_steps[q] = out_steps[q]
                new_ids[q] = out_ids[q]
            out_steps, out_ids = new_steps, new_ids
        for c in range(nchunks):
            for q in range(n_fired[now, c]):
                out_steps[count] = t
                out_ids[count] = fired[now, bounds[c] + q]
                count += 1
        for q in range(rec_v_idx.size):
            rec_v[t, q] = v[rec_v_idx[q]]
        for q in range(rec_i_idx.size):
            for k in range(R):
                rec_i[t, k, q] = cur[k, rec_i_idx[q]]
        if learns:  # potentiation, rewards, sending and trace decay of tick t (neurons, then sources)
            q0, q1 = src_ptr[t - t0 + 1], src_ptr[t - t0 + 2]
            rows = np.empty(total + q1 - q0, dtype=np.int64)
            rows[:total] = out_ids[count - total:count]
            rows[total:] = src_ids[q0:q1]
            learn_after_int(t, rows, p_layout, p_values)
    return out_steps[:count], out_ids[:count]


@njit(cache=True)
def undelivered_events(rows, nchunks, bounds, fired, n_fired, last, src_ids):
    """Synapses of the spikes of the last tick (neurons in ``fired[last]``, sources ``src_ids``):
    nothing delivers them, but they count as events like every other spike's."""
    total = 0
    for c in range(nchunks):
        total += row_events(rows, fired[last, bounds[c]:bounds[c] + n_fired[last, c]])
    return total + row_events(rows, src_ids)


_serial_run = njit(cache=True)(_run)
_parallel_run = njit(cache=True, parallel=True)(_run)


# The format's structure (current channels, decay kind) becomes compile-time literals: one
# specialization per structure. Shift widths, rounding and the threshold comparison stay runtime
# values (loop-invariant: LLVM hoists their branches), so formats that differ only in them share
# one compiled kernel.
LITERAL_ARGS = (0, 1, 2, 6)  # positions of has_current, kind, rounding, channels


@njit(cache=True, nogil=True)
def _serial(has_current, kind, rounding, compare_ge, frac, cfrac, channels, args):
    return _serial_run(literally(has_current), literally(kind), literally(rounding), compare_ge, frac, cfrac,
                       literally(channels), args)


@njit(cache=True, nogil=True)
def _parallel(has_current, kind, rounding, compare_ge, frac, cfrac, channels, args):
    return _parallel_run(literally(has_current), literally(kind), literally(rounding), compare_ge, frac, cfrac,
                         literally(channels), args)


def run_kernel(has_current: bool, kind: int, rounding: int, compare_ge: bool, frac: int, cfrac: int,
               args: KernelArgs, parallel: bool = False):
    """Run ticks ``args.t0`` to ``args.t1``; with ``parallel``
    the chunks are updated by numba's threads, else one after the other. A specialization compiled
    before is called directly: dispatching through ``literally`` costs tens of milliseconds per
    call, and a run makes one call per piece."""
    outer = _parallel if parallel and args.nchunks > 1 else _serial
    lits = (bool(has_current), int(kind), int(rounding), bool(compare_ge), int(frac), int(cfrac), int(args.channels))
    arg_type = typeof(args)
    for sig, cres in list(outer.overloads.items()):
        if sig[-1] == arg_type and all(getattr(sig[k], "literal_value", None) == lits[k]
                                       and type(sig[k].literal_value) is type(lits[k]) for k in LITERAL_ARGS):
            return cres.entry_point(*lits, args)
    out = outer(*lits, args)
    # numba resolves ``literally`` by raising an exception whose traceback keeps this call's frames,
    # and with them the caller's synapse tables, in a reference cycle: collect it now, not at some
    # later collection (at 0.3 billion synapses those tables are gigabytes)
    gc.collect()
    return out
