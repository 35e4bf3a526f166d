"""Per-core resource usage and inter-core traffic of an assignment of neurons to cores."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from ..arrays import BITMAP_LIMIT, distinct, distinct_per_group
from ..ir import CurrentSource, Network
from ..targets import Target
from ..targets.encoding import axon_key_stride, axon_keys
from .mapping import CoreUsage

__all__ = ["synapse_arrays", "core_usage", "traffic", "traffics", "index_order_traffic", "fill_cores", "CorePairs", "core_pairs",
           "crossbar_input_axons"]

DENSE_PAIRS = 1 << 24  # core pairs up to which :func:`core_pairs` keeps dense matrices (2 x 128 MiB)


def synapse_arrays(net: Network, offsets: dict[str, int], n_neurons: int, onto: set[str] | None = None):
    """All spiking synapses (onto the populations in ``onto`` only, if given) as global (pre, post)
    arrays; sources are numbered after the neurons. int32 while the indices fit (8 bytes per
    synapse for both: 2.3 GB for the microcircuit's 0.3 billion), int64 beyond."""
    src_offset = n_neurons
    source_base = {}
    for s in net.sources:
        if not isinstance(s, CurrentSource):
            source_base[s.name] = src_offset
            src_offset += s.size
    projections = [p for p in net.spiking_projections() if onto is None or p.post in onto]
    dtype = np.int32 if src_offset < 2**31 else np.int64
    total = sum(p.connectivity.nnz for p in projections)
    pre, post = np.empty(total, dtype=dtype), np.empty(total, dtype=dtype)
    starts = np.cumsum([0] + [p.connectivity.nnz for p in projections])

    def fill(k: int) -> None:  # each projection writes its own slice: threads cannot collide
        c, a, b = projections[k].connectivity, starts[k], starts[k + 1]
        _rows(np.asarray(c.indptr), offsets.get(projections[k].pre, source_base.get(projections[k].pre)), pre[a:b])
        np.add(c.indices, offsets[projections[k].post], out=post[a:b], casting="unsafe")

    with ThreadPoolExecutor(max_workers=max(1, min(numba.get_num_threads(), len(projections)))) as pool:
        list(pool.map(fill, range(len(projections))))
    return pre, post


@njit(cache=True, nogil=True)
def _rows(indptr, base, out):
    """``out[s]``: ``base`` + the row of synapse ``s`` (CSR ``indptr``)."""
    for r in range(indptr.size - 1):
        out[indptr[r]:indptr[r + 1]] = base + r


@njit(cache=True, nogil=True)
def _usage_pass(core_of, pre, post, n_pre, synapses, inputs, outputs, input_bits, output_bits):
    """One pass over the synapses: per core the synapses stored, the distinct presynaptic sources
    (``input_bits``: cores x n_pre bitmap) and the distinct destination cores of its neurons
    (``output_bits``: cores x cores)."""
    n, K = core_of.size, synapses.size
    for s in range(pre.size):
        c = core_of[post[s]]
        g = pre[s]
        synapses[c] += 1
        key = c * n_pre + g
        bit = np.uint64(1) << np.uint64(key & 63)
        if not input_bits[key >> 6] & bit:
            input_bits[key >> 6] |= bit
            inputs[c] += 1
        if g < n:
            src = core_of[g]
            key = src * K + c
            bit = np.uint64(1) << np.uint64(key & 63)
            if not output_bits[key >> 6] & bit:
                output_bits[key >> 6] |= bit
                outputs[src] += 1


def core_usage(core_of: np.ndarray, n_cores: int, pre: np.ndarray, post: np.ndarray, target: Target) -> CoreUsage:
    """Exact usage: neurons, synapse bits, distinct input axons and distinct destination cores per core."""
    neurons = np.bincount(core_of, minlength=n_cores)
    n_pre = int(pre.max(initial=0)) + 1
    if n_cores * max(n_pre, n_cores) <= BITMAP_LIMIT:  # one compiled pass, no per-synapse temporaries
        synapses, inputs, outputs = (np.zeros(n_cores, dtype=np.int64) for _ in range(3))
        _usage_pass(np.asarray(core_of, dtype=np.int64), pre, post, n_pre, synapses, inputs, outputs,
                    np.zeros((n_cores * n_pre + 63) // 64, dtype=np.uint64),
                    np.zeros((n_cores * n_cores + 63) // 64, dtype=np.uint64))
    else:
        post_core = core_of[post]
        synapses = np.bincount(post_core, minlength=n_cores)
        # distinct (core, presynaptic source) pairs = input axons of each core
        inputs = distinct_per_group(post_core, pre, n_cores, n_pre)
        # distinct (source core, destination core) pairs, for neurons only (sources have no core)
        is_neuron = pre < core_of.size
        outputs = distinct_per_group(core_of[pre[is_neuron]], post_core[is_neuron], n_cores, n_cores)
    bits = target.storage.core_memory_bits(target, synapses, neurons)
    return CoreUsage(neurons=neurons, synapse_bits=bits, input_axons=inputs, output_axons=outputs)


def traffic(core_of: np.ndarray, pre: np.ndarray, post: np.ndarray, rates: np.ndarray | None = None) -> float:
    """Spikes per second that cross between cores (one per (neuron, destination core) pair, as a
    multicast fabric sends them), weighted by per-neuron rates (uniform 1 Hz without rates)."""
    return traffics([core_of], pre, post, rates)[0]


def traffics(partitions: list[np.ndarray], pre: np.ndarray, post: np.ndarray,
             rates: np.ndarray | None = None) -> list[float]:
    """:func:`traffic` of each partition, reading the synapses once for all of them (each pass
    over the microcircuit's 0.3 billion synapses took a second)."""
    if not partitions:
        return []
    n = partitions[0].size
    K = max(int(c.max(initial=0)) + 1 for c in partitions)
    if n * K <= BITMAP_LIMIT:  # as many partitions a pass as their bitmaps allow
        at_once = max(1, BITMAP_LIMIT // max(n * K, 1))
        per_neuron = []
        for i in range(0, len(partitions), at_once):
            some = partitions[i:i + at_once]
            counts = np.zeros((len(some), n), dtype=np.int64)
            _crossing_pass(np.stack([np.asarray(c, dtype=np.int64) for c in some]), pre, post, K, counts,
                           np.zeros((len(some), (n * K + 63) // 64), dtype=np.uint64), _word_splits(n, K))
            per_neuron.extend(counts)
    else:
        is_neuron = pre < n
        per_neuron = []
        for core_of in partitions:
            src, dst = pre[is_neuron], core_of[post[is_neuron]]
            crossing = core_of[src] != dst
            per_neuron.append(distinct_per_group(src[crossing], dst[crossing], n, K))
    return [float(np.dot(p, rates) if rates is not None else p.sum()) for p in per_neuron]


@dataclass(frozen=True)
class CorePairs:
    """What crosses between cores, per (source core, destination core): ``spikes`` per second
    (one per (neuron, destination core) pair, as a multicast fabric sends them, at the neurons'
    rates or 1 Hz; zero diagonal) and ``synapses`` (neuron to neuron; the diagonal counts the
    synapses inside a core)."""

    spikes: np.ndarray  # (K, K) float64
    synapses: np.ndarray  # (K, K) int64


def core_pairs(core_of: np.ndarray, n_cores: int, pre: np.ndarray, post: np.ndarray,
               rates: np.ndarray | None = None) -> CorePairs | None:
    """One compiled pass over the synapses, without per-synapse temporaries; None when the dense
    matrices (``n_cores^2`` over :data:`DENSE_PAIRS`) or the (neuron x core) bitmap would be too big."""
    n = core_of.size
    if n_cores * n_cores > DENSE_PAIRS or n * n_cores > BITMAP_LIMIT:
        return None
    spikes = np.zeros((n_cores, n_cores))
    synapses = np.zeros((n_cores, n_cores), dtype=np.int64)
    _pairs_pass(np.asarray(core_of, dtype=np.int64), pre, post, np.ones(1) if rates is None else np.asarray(
        rates, dtype=np.float64), rates is not None, n_cores, spikes, synapses,
        np.zeros((n * n_cores + 63) // 64, dtype=np.uint64))
    return CorePairs(spikes=spikes, synapses=synapses)


@njit(cache=True, nogil=True)
def _pairs_pass(core_of, pre, post, rates, use_rates, K, spikes, synapses, bits):
    n = core_of.size
    for s in range(pre.size):
        g = pre[s]
        if g >= n:
            continue
        a, c = core_of[g], core_of[post[s]]
        synapses[a, c] += 1
        if c == a:
            continue
        key = g * K + c
        bit = np.uint64(1) << np.uint64(key & 63)
        if not bits[key >> 6] & bit:
            bits[key >> 6] |= bit
            spikes[a, c] += rates[g] if use_rates else 1.0


@njit(cache=True, nogil=True, parallel=True)
def _crossing_pass(core_of, pre, post, K, per_neuron, bits, splits):
    """Per partition ``j`` (a row of ``core_of``) and neuron, the distinct other cores its synapses
    reach (``bits[j]``: neurons x ``K`` cores). Part ``k`` (a thread) counts the neurons
    ``splits[k] .. splits[k + 1] - 1``, whose bits lie in words of their own, reading every synapse."""
    m = core_of.shape[0]
    for part in prange(splits.size - 1):
        lo, hi = splits[part], splits[part + 1]
        for s in range(pre.size):
            g = pre[s]
            if g < lo or g >= hi:
                continue
            p = post[s]
            for j in range(m):
                c = core_of[j, p]
                if c == core_of[j, g]:
                    continue
                key = g * K + c
                bit = np.uint64(1) << np.uint64(key & 63)
                if not bits[j, key >> 6] & bit:
                    bits[j, key >> 6] |= bit
                    per_neuron[j, g] += 1


def _word_splits(n: int, K: int) -> np.ndarray:
    """Ranges of neurons, one per thread, whose rows of a neurons x ``K`` bitmap share no 64-bit word."""
    step = 64 // math.gcd(K, 64)
    parts = max(1, min(numba.get_num_threads(), -(-n // step)))
    cuts = [min(n, round(n * k / parts / step) * step) for k in range(1, parts)]
    return np.array([0, *cuts, n], dtype=np.int64)


def axons_per_neuron(fx, core_of: np.ndarray) -> np.ndarray:
    """Input axons each neuron's spikes must reach: distinct (destination core, delay) pairs of its
    synapses (a crossbar axon carries one source at one delay). Host sources are not counted."""
    from ..lowered import program_from_fixed_point

    prog = program_from_fixed_point(fx)
    n, t = prog.n, prog.synapses
    pre = np.repeat(np.arange(t.indptr.size - 1), np.diff(t.indptr))
    delay = np.broadcast_to(t.delay, pre.shape).astype(np.int64)
    neuron = pre < n
    cores = int(core_of.max()) + 1 if n else 1
    pairs = distinct(axon_keys(pre[neuron] * cores + core_of[t.target[neuron] % n], delay[neuron],
                               fx.format.delay_max))
    return np.bincount(pairs // (cores * axon_key_stride(fx.format.delay_max)), minlength=n)


def crossbar_input_axons(fx, core_of: np.ndarray, n_cores: int) -> np.ndarray:
    """Input axons per core where an axon carries one source at one delay (crossbar cores):
    distinct (source, delay) pairs of the synapses onto each core's neurons."""
    from ..lowered import program_from_fixed_point

    prog = program_from_fixed_point(fx)
    n, t = prog.n, prog.synapses
    if not n:
        return np.zeros(n_cores, dtype=np.int64)
    pre = np.repeat(np.arange(t.indptr.size - 1), np.diff(t.indptr))
    delay = np.broadcast_to(t.delay, pre.shape).astype(np.int64)
    keys = axon_keys(pre, delay, fx.format.delay_max)
    span = int(keys.max(initial=0)) + 1
    pairs = distinct(core_of[t.target % n].astype(np.int64) * span + keys)
    return np.bincount(pairs // span, minlength=n_cores)


def signed_input_rows(fx, core_of: np.ndarray, n_cores: int) -> np.ndarray:
    """Input axons per core where an axon (a synapse row) holds synapses of one sign: distinct
    (source, sign) pairs of the synapses onto each core's neurons (weight 0 counts as excitatory)."""
    from ..lowered import program_from_fixed_point

    prog = program_from_fixed_point(fx)
    n, t = prog.n, prog.synapses
    if not n:
        return np.zeros(n_cores, dtype=np.int64)
    pre = np.repeat(np.arange(t.indptr.size - 1), np.diff(t.indptr)).astype(np.int64)
    keys = pre * 2 + (np.asarray(t.weight) < 0)
    span = int(keys.max(initial=0)) + 1
    pairs = distinct(core_of[t.target % n].astype(np.int64) * span + keys)
    return np.bincount(pairs // span, minlength=n_cores)


@njit(cache=True)
def _add_fan_in(indices, base, fan_in):
    for s in range(indices.size):
        fan_in[base + indices[s]] += 1


@njit(cache=True)
def _fill(fan_in, cap_n, cap_bits, bits):
    core_of = np.empty(fan_in.size, dtype=np.int64)
    core, used_n, used_b = 0, 0, 0
    for i in range(fan_in.size):
        if used_n and (used_n + 1 > cap_n or (used_b + fan_in[i]) * bits > cap_bits):
            core, used_n, used_b = core + 1, 0, 0
        core_of[i] = core
        used_n += 1
        used_b += fan_in[i]
    return core_of


@njit(cache=True)
def _distinct_destinations(indptr, indices, pre_base, post_base, core_of, seen, count):
    for r in range(indptr.size - 1):
        g = pre_base + r
        for s in range(indptr[r], indptr[r + 1]):
            c = core_of[post_base + indices[s]]
            bit = np.uint8(1 << (c & 7))
            if not seen[g, c >> 3] & bit:
                seen[g, c >> 3] |= bit
                if c != core_of[g]:
                    count[g] += 1


def fill_cores(fan_in: np.ndarray, target: Target) -> np.ndarray:
    """Core of each neuron when neurons, in the given order, fill cores up to their neurons and
    synapse memory (``fan_in``: synapses per neuron; axons are not considered)."""
    # a crossbar's memory is the crossbar itself (0 bits per synapse): neurons decide
    return _fill(np.asarray(fan_in, dtype=np.int64), target.core.neurons, target.core.synapse_memory_bits,
                 target.synapse_bits())


def index_order_traffic(tables, n: int, target: Target, rates: np.ndarray | None = None,
                        max_bitmap_bytes: int = 1 << 30) -> float | None:
    """Inter-core spikes per second when neurons fill cores in index order by neurons and synapse
    memory only (input and output axons ignored, which favours the baseline), from per-projection
    tables (:func:`.partial_sums.projection_tables`) without per-synapse global arrays; None when
    the (neuron x core) bitmap would exceed ``max_bitmap_bytes``."""
    fan_in = np.zeros(n, dtype=np.int64)
    for t in tables:
        _add_fan_in(t.indices, t.post_base % n, fan_in)
    core_of = fill_cores(fan_in, target)
    cores = int(core_of.max()) + 1 if n else 0
    if n * (cores // 8 + 1) > max_bitmap_bytes:
        return None
    seen = np.zeros((n, cores // 8 + 1), dtype=np.uint8)
    count = np.zeros(n, dtype=np.int64)
    for t in tables:
        if t.pre_base >= n:  # host sources have no core
            continue
        _distinct_destinations(t.indptr, t.indices, t.pre_base, t.post_base % n, core_of, seen, count)
    return float(count.sum() if rates is None else (count * rates).sum())
