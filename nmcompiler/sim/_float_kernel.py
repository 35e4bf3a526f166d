"""Compiled (numba) kernel of the float simulator: the same float64 operations in the same order
as the numpy loop in :mod:`nmcompiler.sim.float_sim`, so both give the same bits (tested).

Order per step (see ``FloatSimulator.run``): ``v' = a v + drive``, plus ``sum_k s_k I_k`` (k
ascending), ``I_k *= d_k``; this step's ring slot (plus the constant input of current sources)
``x_k``: ``I_k += g_k x_k``, ``v' += sum_k h_k x_k``; slot cleared; ``v' = max(v', v_min)``;
refractory neurons keep ``v``; threshold ``v > v_cmp`` (``v_th``, or the float below it for ``>=``), reset; then the
spikes of this step (neurons ascending, then source channels) are added into the slots of their
arrival steps, synapse by synapse in table order, as ``np.add.at`` does (the compact table of
:mod:`.rows` keeps that order for every ring entry). No fast-math: LLVM
neither reassociates nor fuses. Plastic synapses (:mod:`.plasticity`, when ``learns``) deliver
into the slot before the current sources' input is added, and learn after this step's delivery,
as in the numpy loop.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .rows import deliver
from .plasticity import learn_after, learn_arrive

__all__ = ["run_float_kernel"]


@njit(cache=True, nogil=True)
def run_float_kernel(t0, t1, R, a, drive, s, d, g, h, use_syn, use_instant, const_input, use_const, v_th, v_cmp, v_reset,
                     v_min, subtract, refractory_steps, spiking, max_spikes, v, cur, refr, v_new, ring, n_slots, table,
                     src_ptr, src_ids, rec_v_idx, rec_v, rec_i_idx, rec_i, learns, layout, values):
    """Steps ``[t0, t1)``; state (``v``, ``cur``, ``refr``, ``ring``) carries over between calls.
    ``src_ptr``/``src_ids``: source spikes of steps ``t0 .. t1 - 1``; ``max_spikes``: a neuron
    that resets by subtraction repeats compare-and-subtract up to that many times per step, one
    spike each. ``table``: the compact synapse table (:mod:`.rows`). ``layout``, ``values``: the
    plastic synapses (:mod:`.plasticity`; used when ``learns``).
    Returns the spikes (steps, ids) and the number of synaptic events."""
    n = v.size
    stride = R * n
    out_steps = np.empty(1024, dtype=np.int64)
    out_ids = np.empty(1024, dtype=np.int64)
    count = 0
    events = 0
    tmp = np.empty(n)
    flag = np.zeros(n, dtype=np.bool_)
    fired = np.empty(n, dtype=np.int64)
    counts = np.ones(n, dtype=np.int64)
    for t in range(t0, t1):
        base = (t % n_slots) * stride
        for j in range(n):  # row views and one operation per loop: LLVM vectorizes them
            v_new[j] = a[j] * v[j] + drive[j]
        if use_syn:
            c0, s0 = cur[0], s[0]
            for j in range(n):
                tmp[j] = s0[j] * c0[j]
            for k in range(1, R):
                ck, sk = cur[k], s[k]
                for j in range(n):
                    tmp[j] += sk[j] * ck[j]
            for j in range(n):
                v_new[j] += tmp[j]
            for k in range(R):
                ck, dk = cur[k], d[k]
                for j in range(n):
                    ck[j] *= dk[j]
        if learns:
            events += learn_arrive(t, ring, base, layout, values)
        if use_const:
            for k in range(R):
                xk, ek = ring[base + k * n:base + (k + 1) * n], const_input[k]
                for j in range(n):
                    xk[j] += ek[j]
        for k in range(R):
            xk, ck, gk = ring[base + k * n:base + (k + 1) * n], cur[k], g[k]
            for j in range(n):
                ck[j] += gk[j] * xk[j]
        if use_instant:
            x0, h0 = ring[base:base + n], h[0]
            for j in range(n):
                tmp[j] = h0[j] * x0[j]
            for k in range(1, R):
                xk, hk = ring[base + k * n:base + (k + 1) * n], h[k]
                for j in range(n):
                    tmp[j] += hk[j] * xk[j]
            for j in range(n):
                v_new[j] += tmp[j]
        ring[base:base + stride] = 0.0
        # refractory hold, threshold (flags first: a branch-free loop), then the spikes compacted
        for j in range(n):
            held = refr[j] > 0
            vn = v_new[j]
            vn = v_min[j] if vn < v_min[j] else vn
            vj = v[j] if held else vn
            refr[j] -= held
            v[j] = vj
            flag[j] = (not held) and spiking[j] and vj > v_cmp[j]
        nf = 0
        for b0 in range(0, n, 32):  # spikes are rare: test 32 flags at once
            b1 = min(b0 + 32, n)
            any_spike = False
            for j in range(b0, b1):
                any_spike |= flag[j]
            if any_spike:
                for j in range(b0, b1):
                    if flag[j]:
                        fired[nf] = j
                        nf += 1
        total = 0
        for q in range(nf):
            j = fired[q]
            k = 1
            if subtract[j]:
                v[j] = v[j] - (v_th[j] - v_reset[j])
                while k < max_spikes[j] and v[j] > v_cmp[j]:  # a multi-spike neuron: again
                    v[j] = v[j] - (v_th[j] - v_reset[j])
                    k += 1
            else:
                v[j] = v_reset[j]
            refr[j] = refractory_steps[j]
            counts[q] = k
            total += k
        if count + total > out_ids.size:
            grow = max(2 * out_ids.size, count + total)
            new_steps = np.empty(grow, dtype=np.int64)
            new_ids = np.empty(grow, dtype=np.int64)
            new_steps[:count] = out_steps[:count]
            new_ids[:count] = out_ids[:count]
            out_steps, out_ids = new_steps, new_ids
        # deliver this step's spikes (each as often as it fired): neurons, then source channels
        q0, q1 = src_ptr[t - t0], src_ptr[t - t0 + 1]
        rows = np.empty(total + q1 - q0, dtype=np.int64)
        m = 0
        for q in range(nf):
            for _ in range(counts[q]):
                out_steps[count] = t
                out_ids[count] = fired[q]
                count += 1
                rows[m] = fired[q]
                m += 1
        rows[total:] = src_ids[q0:q1]
        events += deliver(ring, table, rows, t % n_slots, n_slots, stride, 0)
        if learns:
            learn_after(t, rows, layout, values)
        for q in range(rec_v_idx.size):
            rec_v[t, q] = v[rec_v_idx[q]]
        for q in range(rec_i_idx.size):
            for k in range(R):
                rec_i[t, k, q] = cur[k, rec_i_idx[q]]
    return out_steps[:count], out_ids[:count], events
