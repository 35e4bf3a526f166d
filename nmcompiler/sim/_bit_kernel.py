"""Compiled (numba) kernel of the bit-accurate simulator: the whole run as one loop.

It computes exactly what :func:`nmcompiler.datapath.tick` and the numpy simulator compute (same
integer operations in the same order); tests check the two spike for spike and state for state.
Scalar arithmetic mirrors docs/datapath.md: ``_sat``, ``_rshift`` and ``_decay`` below.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["run_kernel", "DECAY_CODES", "ROUNDING_CODES", "PARALLEL_MIN_NEURONS"]

PARALLEL_MIN_NEURONS = 2048  # below this, starting threads every tick costs more than it saves

DECAY_CODES = {"multiply": 0, "shift": 1, "leak": 2}
ROUNDING_CODES = {"floor": 0, "nearest": 1, "zero": 2}


@njit(cache=True, inline="always")
def _sat(x, bits):
    hi = (np.int64(1) << (bits - 1)) - 1
    if x > hi:
        return hi
    if x < -hi - 1:
        return -hi - 1
    return x


@njit(cache=True, inline="always")
def _rshift(x, k, rounding):
    if rounding == 0:
        return x >> k
    if rounding == 1:
        if k > 0:
            return (x + (np.int64(1) << (k - 1))) >> k
        return x
    if x >= 0:
        return x >> k
    return -((-x) >> k)


@njit(cache=True, inline="always")
def _decay(x, s, kind, frac, rounding):
    if kind == 0:
        return _rshift(x * ((np.int64(1) << frac) - s), frac, rounding)
    if kind == 1:
        if s >= 63:
            return x
        return x - _rshift(x, s, rounding)
    mag = -x if x < 0 else x
    step = s if s < mag else mag
    if x > 0:
        return x - step
    if x < 0:
        return x + step
    return x


def _run(steps, n, R, decay_v, decay_i, bias, threshold, v_reset, refractory, subtract, spiking,
               v, cur, ref, indptr, target, weight, delays, n_slots, src_ptr, src_ids,
               v_bits, i_bits, acc_bits, has_current, kind, frac, rounding, compare_ge, cfrac,
               rec_v_idx, rec_v, rec_i_idx, rec_i):
    ring = np.zeros(n_slots * R * n, dtype=np.int64)
    out_steps = np.empty(1024, dtype=np.int64)
    out_ids = np.empty(1024, dtype=np.int64)
    count = 0
    events = 0
    fired = np.empty(n, dtype=np.int64)
    spiked = np.zeros(n, dtype=np.bool_)
    stride = R * n
    for t in range(steps):
        base = (t % n_slots) * stride
        for j in prange(n):  # neurons are independent within a tick
            spiked[j] = False
            # 1-2: inputs and currents
            drive = np.int64(0)
            if has_current:
                total = np.int64(0)
                for k in range(R):
                    x = _sat(ring[base + k * n + j], acc_bits)
                    ring[base + k * n + j] = 0
                    c = _sat(_decay(cur[k, j], decay_i[k, j], kind, frac, rounding) + x, i_bits)
                    cur[k, j] = c
                    total += c
                drive = _sat(_rshift(total, cfrac, rounding), v_bits)
            else:
                total = np.int64(0)
                for k in range(R):
                    total += _sat(ring[base + k * n + j], acc_bits)
                    ring[base + k * n + j] = 0
                drive = _sat(total, v_bits)
            # 3: refractory hold
            if ref[j] > 0:
                ref[j] -= 1
                continue
            # 4: membrane, threshold
            vj = _sat(_sat(_decay(v[j], decay_v[j], kind, frac, rounding) + drive, v_bits) + bias[j], v_bits)
            spike = spiking[j] and ((vj >= threshold[j]) if compare_ge else (vj > threshold[j]))
            if spike:
                if subtract[j]:
                    vj = _sat(vj - (threshold[j] - v_reset[j]), v_bits)
                else:
                    vj = v_reset[j]
                ref[j] = refractory[j]
                spiked[j] = True
            v[j] = vj
        nf = 0
        for j in range(n):
            if spiked[j]:
                fired[nf] = j
                nf += 1
        # record spikes
        if count + nf > out_steps.size:
            grow = max(out_steps.size * 2, count + nf)
            new_steps = np.empty(grow, dtype=np.int64)
            new_ids = np.empty(grow, dtype=np.int64)
            for q in range(count):
                new_steps[q] = out_steps[q]
                new_ids[q] = out_ids[q]
            out_steps, out_ids = new_steps, new_ids
        for q in range(nf):
            out_steps[count] = t
            out_ids[count] = fired[q]
            count += 1
        # 6: deliver spikes of neurons, then of sources
        for q in range(nf + src_ptr[t + 1] - src_ptr[t]):
            pre = fired[q] if q < nf else src_ids[src_ptr[t] + q - nf]
            for s in range(indptr[pre], indptr[pre + 1]):
                slot = (t + delays[s]) % n_slots
                ring[slot * stride + target[s]] += weight[s]
            events += indptr[pre + 1] - indptr[pre]
        for q in range(rec_v_idx.size):
            rec_v[t, q] = v[rec_v_idx[q]]
        for q in range(rec_i_idx.size):
            for k in range(R):
                rec_i[t, k, q] = cur[k, rec_i_idx[q]]
    return out_steps[:count], out_ids[:count], events


_serial = njit(cache=True)(_run)
_parallel = njit(cache=True, parallel=True)(_run)


def run_kernel(*args):
    """Run the whole simulation (arguments as ``_run``); threads over neurons for large networks."""
    n = args[1]
    return (_parallel if n >= PARALLEL_MIN_NEURONS else _serial)(*args)
