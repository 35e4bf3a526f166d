"""Compiled (numba) kernel of the bit-accurate simulator: the whole run as one loop.

It computes exactly what :func:`nmcompiler.datapath.tick` and the numpy simulator compute (same
integer operations in the same order); tests check the two spike for spike and state for state.
Scalar arithmetic mirrors docs/datapath.md: ``_sat``, ``_rshift`` and ``_decay`` below.

Speed: the format's decay kind and current state are compile-time literals (one specialization
each, cached on disk); the per-neuron update is written without branches (selects on
all-ones/all-zeros masks) over contiguous row views, so that LLVM vectorizes the neuron loops.
A tick runs in passes: delivery of the previous tick's spikes, input and currents, membrane and
spikes, then a compaction of the spike flags. Synapse arrays are int32 where they fit.
"""

from __future__ import annotations

import numpy as np
from numba import literally, njit, prange

__all__ = ["run_kernel", "DECAY_CODES", "ROUNDING_CODES", "PARALLEL_MIN_NEURONS"]

# Below this many neurons the kernel runs in one chunk on one thread. On this 2-vCPU machine
# (two hyperthreads of one core) the vectorized neuron loop gains little from a second thread at
# CUBA size (4000 neurons); benchmarks/bit_sim.py measures both.
PARALLEL_MIN_NEURONS = 20_000

DECAY_CODES = {"multiply": 0, "shift": 1, "leak": 2}
ROUNDING_CODES = {"floor": 0, "nearest": 1, "zero": 2}


@njit(cache=True, inline="always")
def _sat(x, bits):
    hi = (np.int64(1) << (bits - 1)) - 1
    return min(max(x, -hi - 1), hi)


@njit(cache=True, inline="always")
def _select(mask, a, b):
    """``a`` where ``mask`` is all ones, ``b`` where it is zero (branch free)."""
    return b ^ ((a ^ b) & mask)


@njit(cache=True, inline="always")
def _rshift(x, k, rounding):
    if rounding == 0:  # floor
        return x >> k
    if rounding == 1:  # nearest, ties up: (x + 2^(k-1)) >> k, nothing added for k = 0
        return (x + ((np.int64(1) << k) >> 1)) >> k
    sg = x >> 63  # toward zero: shift |x|, restore the sign
    return ((((x ^ sg) - sg) >> k) ^ sg) - sg


@njit(cache=True, inline="always")
def _decay(x, s, kind, frac, rounding):
    if kind == 0:  # multiply by (2^F - s) / 2^F
        return _rshift(x * ((np.int64(1) << frac) - s), frac, rounding)
    if kind == 1:  # x - x / 2^s; s >= 63 means no decay
        return _select(-np.int64(s >= 63), x, x - _rshift(x, min(s, np.int64(62)), rounding))
    step = min(s, abs(x))  # linear leak toward zero
    return x - (np.int64(x > 0) - np.int64(x < 0)) * step


def _run(has_current, kind, rounding, compare_ge, args):
    """``nchunks`` contiguous neuron ranges (``bounds``) are updated in parallel; ``indptr`` is the
    synapse table split by (chunk of the target, presynaptic index), so that each chunk delivers
    the previous tick's spikes into its own neurons only: one parallel region per tick, no races."""
    (steps, n, R, decay_v, decay_i, bias, threshold, v_reset, refractory, subtract, spiking, v, cur, ref,
     nchunks, bounds, indptr, target, weight, delays, n_pre, n_slots, src_ptr, src_ids, v_bits, i_bits,
     acc_bits, frac, cfrac, rec_v_idx, rec_v, rec_i_idx, rec_i) = args
    ring = np.zeros(n_slots * R * n, dtype=np.int64)
    out_steps = np.empty(1024, dtype=np.int64)
    out_ids = np.empty(1024, dtype=np.int64)
    count = 0
    fired = np.empty((2, n), dtype=np.int64)  # this tick's and the previous tick's spikes, per chunk
    n_fired = np.zeros((2, nchunks), dtype=np.int64)
    events = np.zeros(nchunks, dtype=np.int64)
    drive = np.zeros(n, dtype=np.int64)
    stride = R * n
    for t in range(steps):
        now = t % 2
        prev = 1 - now
        for c in prange(nchunks):
            lo = bounds[c]
            hi = bounds[c + 1]
            # 6 (of tick t-1): deliver the spikes of neurons, then of sources, into this chunk
            if t > 0:
                row = c * n_pre
                for cc in range(nchunks):
                    for q in range(n_fired[prev, cc]):
                        pre = fired[prev, bounds[cc] + q]
                        for s in range(indptr[row + pre], indptr[row + pre + 1]):
                            slot = (t - 1) % n_slots + delays[s]  # delays lie in [1, n_slots)
                            if slot >= n_slots:
                                slot -= n_slots
                            ring[slot * stride + target[s]] += weight[s]
                        events[c] += indptr[row + pre + 1] - indptr[row + pre]
                for q in range(src_ptr[t - 1], src_ptr[t]):
                    pre = src_ids[q]
                    for s in range(indptr[row + pre], indptr[row + pre + 1]):
                        slot = (t - 1) % n_slots + delays[s]
                        if slot >= n_slots:
                            slot -= n_slots
                        ring[slot * stride + target[s]] += weight[s]
                    events[c] += indptr[row + pre + 1] - indptr[row + pre]
            # 1-2: input of tick t (saturated to acc_bits), currents, drive
            base = (t % n_slots) * stride
            dr = drive[lo:hi]  # row views: plain j indexing vectorizes
            dr[:] = 0
            for k in range(R):
                inp = ring[base + k * n + lo:base + k * n + hi]
                if has_current:
                    ck = cur[k][lo:hi]
                    dk = decay_i[k][lo:hi]
                    for j in range(hi - lo):
                        x = _sat(inp[j], acc_bits)
                        y = _sat(_decay(ck[j], dk[j], kind, frac, rounding) + x, i_bits)
                        inp[j] = 0
                        ck[j] = y
                        dr[j] += y
                else:
                    for j in range(hi - lo):
                        dr[j] += _sat(inp[j], acc_bits)
                        inp[j] = 0
            # 3-5: refractory hold, membrane, threshold, reset
            vv = v[lo:hi]
            rr = ref[lo:hi]
            dv = decay_v[lo:hi]
            bb = bias[lo:hi]
            th = threshold[lo:hi]
            vr = v_reset[lo:hi]
            rf = refractory[lo:hi]
            sb = subtract[lo:hi]
            sp = spiking[lo:hi]
            fl = fired[now][lo:hi]
            nf = 0
            for j in range(hi - lo):
                if has_current:
                    d = _sat(_rshift(dr[j], cfrac, rounding), v_bits)
                else:
                    d = _sat(dr[j], v_bits)
                r = rr[j]
                old = vv[j]
                active = -np.int64(r <= 0)
                vj = _sat(_sat(_decay(old, dv[j], kind, frac, rounding) + d, v_bits) + bb[j], v_bits)
                if compare_ge:
                    crossed = -np.int64(vj >= th[j])
                else:
                    crossed = -np.int64(vj > th[j])
                spike = crossed & active & -np.int64(sp[j])
                after = _select(-np.int64(sb[j]), _sat(vj - (th[j] - vr[j]), v_bits), vr[j])
                vv[j] = _select(spike, after, _select(active, vj, old))
                rr[j] = _select(spike, rf[j], r - (r > 0))
                dr[j] = spike  # reuse: spike flags for the compaction below
            for b0 in range(0, hi - lo, 32):  # spikes are rare: test 32 flags at once
                b1 = min(b0 + 32, hi - lo)
                any_spike = np.int64(0)
                for j in range(b0, b1):
                    any_spike |= dr[j]
                if any_spike:
                    for j in range(b0, b1):
                        if dr[j]:
                            fl[nf] = lo + j
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
    # the spikes of the last tick are not delivered (nothing reads them): count their events
    for c in range(nchunks):
        for q in range(n_fired[(steps - 1) % 2, c]):
            pre = fired[(steps - 1) % 2, bounds[c] + q]
            for cc in range(nchunks):
                events[0] += indptr[cc * n_pre + pre + 1] - indptr[cc * n_pre + pre]
    for q in range(src_ptr[steps - 1], src_ptr[steps]):
        for cc in range(nchunks):
            events[0] += indptr[cc * n_pre + src_ids[q] + 1] - indptr[cc * n_pre + src_ids[q]]
    return out_steps[:count], out_ids[:count], events.sum()


_serial_run = njit(cache=True)(_run)
_parallel_run = njit(cache=True, parallel=True)(_run)


# The format's switches become compile-time literals: one specialization per kind of format.
@njit(cache=True)
def _serial(has_current, kind, rounding, compare_ge, args):
    return _serial_run(literally(has_current), literally(kind), rounding, compare_ge, args)


@njit(cache=True)
def _parallel(has_current, kind, rounding, compare_ge, args):
    return _parallel_run(literally(has_current), literally(kind), rounding, compare_ge, args)


def run_kernel(has_current: bool, kind: int, rounding: int, compare_ge: bool, args: tuple):
    """Run the whole simulation (``args`` as unpacked in ``_run``); threads over neurons for large
    networks."""
    fn = _parallel if args[14] > 1 else _serial
    return fn(bool(has_current), int(kind), int(rounding), bool(compare_ge), args)
