"""Bit-accurate simulator: runs a fixed-point network exactly as the datapath contract says.

Integer arithmetic only (int64 state in the numpy path, saturated by
:func:`nmcompiler.datapath.tick`; the compiled path computes the same bits in int32 where no
value can leave that range). Synaptic
input of a tick is the exact sum of the weights arriving in it, saturated to ``acc_bits`` when
read (docs/datapath.md). Delivery follows the rows of the neurons that spiked, as in the float
simulator; results are deterministic for a seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property

import numpy as np

from ..arrays import one_value
from ..datapath import NeuronState, saturate, tick
from ..errors import UserError
from ..ir.fixed_point import FixedPointNetwork
from .inputs import SourceSpikes, prefetch_spans
from ..lowered import SimProgram, cannot_saturate, incoming_reach, pieces_of, program_from_fixed_point, weight_range
from .bit_plasticity import IntPlastic, learn_after_int, learn_arrive_int
from .budget import check_recording, check_ring, check_steps
from .result import SimResult, Snapshots, Trace
from .rows import block_entries, compact_rows
from .traffic import Traffic, bit_update_bytes

__all__ = ["BitAccurateSimulator"]


def _cat(arrays, axis=-1):
    return np.concatenate(arrays, axis=axis) if arrays else np.zeros(0, dtype=np.int64)


def _numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _compact_table(table, n, channels, nchunks, ring_type, weight_type, compartments=None):
    """Cut the neurons into ``nchunks`` equal index ranges and build the compact table
    (:func:`.rows.compact_rows`, from ``table``'s pieces when it has them): blocks of target
    entries within chunks, so that each chunk delivers into its own neurons only. With
    ``compartments`` (targets ``>= channels * n`` address them) each synapse onto a compartment
    becomes one onto its neuron, one tick later, on the way (exact when
    :func:`.compartments.cannot_saturate`). Returns ``(bounds, rows)``."""
    bounds = np.linspace(0, n, nchunks + 1).round().astype(np.int64)
    size = block_entries(np.dtype(ring_type).itemsize)
    comp = None if compartments is None else compartments.target
    return bounds, compact_rows(table, n, channels, bounds, size, comp, weight_type)


def _narrow_type(a: np.ndarray, smallest=np.int32) -> type:
    """The narrowest of ``smallest``, int32 and int64 that holds ``a`` exactly (less memory and
    memory traffic; few fixed choices keep the compiled specializations few)."""
    return _range_type((int(a.min()), int(a.max())) if a.size else (0, 0), smallest)


def _range_type(lo_hi: tuple[int, int], smallest=np.int32) -> type:
    """The narrowest of ``smallest``, int32 and int64 that holds ``[lo, hi]``."""
    lo, hi = lo_hi
    for t in (smallest, np.int32, np.int64):
        if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
            return t
    return np.int64


def _narrow(a: np.ndarray, smallest=np.int32) -> np.ndarray:
    """``a`` as :func:`_narrow_type` (no copy when it already has that type); a zero-stride view
    (one value for all) stays one."""
    if a.ndim == 1 and one_value(a):
        return np.broadcast_to(_narrow(a[:1], smallest)[0], a.shape)
    return a.astype(_narrow_type(a, smallest), copy=False)


def _narrow_state(fmt, channels: int) -> bool:
    """Whether the compiled kernel may compute in int32: every saturated value and every
    intermediate sum (decayed state plus input, the drive of all channels plus its rounding
    constant, the products' halves in the decay multiply) stays inside the int32 range."""
    widest = max(fmt.v_bits, fmt.i_bits, fmt.acc_bits, fmt.bias_bits)
    drive = channels * (1 << (max(fmt.i_bits, fmt.acc_bits) - 1)) + (1 << max(fmt.current_frac_bits, 0))
    return widest <= 30 and fmt.decay_bits <= 30 and drive < 2 ** 31


def _v_min(p, fmt) -> np.ndarray:
    """Every neuron's lower bound of v; the format's least value (no bound) where none is given.
    A plain array either way, like the other parameters: one compiled specialization serves
    both (a broadcast view would be a second array type)."""
    if p.v_min is not None:
        return np.asarray(p.v_min)
    return np.full(np.shape(p.threshold), -(1 << (fmt.v_bits - 1)), dtype=np.int64)


def _segments(p, bounds: np.ndarray, min_uniform: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut each chunk ``[bounds[c], bounds[c+1])`` into segments: runs of at least ``min_uniform``
    neurons with identical parameters (marked uniform: the kernel reads them as scalars) and the
    mixed ranges between them. Returns ``(seg_bounds, seg_uniform, chunk_segs)``."""
    n = int(bounds[-1])
    rows = [p.decay_v, p.bias, p.threshold, p.v_reset, p.refractory, p.subtract, p.spiking, *p.decay_i,
            *([] if p.v_min is None else [p.v_min])]
    change = np.zeros(n, dtype=bool)
    change[0:1] = True
    for a in rows:
        a = np.asarray(a)
        change[1:] |= a[1:] != a[:-1]
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], n)
    seg_bounds, seg_uniform, chunk_segs = [0], [], [0]
    for c in range(bounds.size - 1):
        lo, hi = int(bounds[c]), int(bounds[c + 1])
        first = int(np.searchsorted(ends, lo, side="right"))
        mixed = False  # a mixed segment is open and ends at seg_bounds[-1]
        for i in range(first, starts.size):
            s, e = max(int(starts[i]), lo), min(int(ends[i]), hi)
            if s >= hi:
                break
            if e - s >= min_uniform:
                seg_bounds.append(e)
                seg_uniform.append(True)
                mixed = False
            elif mixed:
                seg_bounds[-1] = e
            else:
                seg_bounds.append(e)
                seg_uniform.append(False)
                mixed = True
        chunk_segs.append(len(seg_uniform))
    return (np.array(seg_bounds, dtype=np.int64), np.array(seg_uniform, dtype=np.bool_),
            np.array(chunk_segs, dtype=np.int64))


class BitAccurateSimulator:
    """``backend``: "numba" (a compiled loop, the default when numba is installed) or "numpy"
    (vectorized per tick; also used for saturation counting). Both compute the same bits.
    ``threads``: neuron chunks the numba kernel updates in parallel (default: one below
    ``PARALLEL_MIN_NEURONS`` neurons, else numba's thread count); results do not depend on it.
    ``piece_steps``: ticks per kernel call (default: the source spikes' block, at least 64); the
    inputs of one piece are drawn at a time; results do not depend on it either.
    A program with partial-sum compartments (:mod:`.compartments`) runs compiled as its exactly
    equivalent direct table when no compartment's sum can saturate, else in the numpy path."""

    def __init__(self, fxp: FixedPointNetwork | SimProgram, seed: int | None = None, backend: str = "auto",
                 threads: int | None = None, piece_steps: int | None = None):
        if backend not in ("auto", "numba", "numpy"):
            raise UserError(f"unknown backend '{backend}' (use auto, numba or numpy)")
        self.backend = ("numba" if _numba_available() else "numpy") if backend == "auto" else backend
        if threads is not None and threads < 1:
            raise UserError(f"threads must be at least 1, not {threads}")
        self.threads = threads  # numba: neuron chunks updated in parallel (None: by network size)
        self.piece_steps = piece_steps
        self._tables: dict[int, tuple] = {}  # chunk count -> synapse table prepared for the kernel
        self._ring_type = None  # int32 when no ring entry can exceed it
        self._plastic_template = None  # (ring slots, IntPlastic): copied fresh for every run
        self._live = None  # input channels the compiled kernel updates (_live_channels)
        self._unsaturable = None  # compartment programs: whether no sum can saturate (then they run compiled)
        prog = fxp if isinstance(fxp, SimProgram) else program_from_fixed_point(fxp)
        self.program = prog
        self.format = prog.format
        self.seed = prog.seed if seed is None else int(seed)
        self.n = prog.n
        self.channels = prog.channels
        self.params, self.v0, self.i0 = prog.params, prog.v0, prog.i0
        # a fixed-point network's table stays its projections' arrays (SynapsePieces): the compiled
        # path compacts them directly, only the numpy path reads the plain table (self._plain)
        self.table = prog.synapses
        self.max_delay = self.table.max_delay
        self.learns = bool(prog.plastic)  # plastic projections: the learning kernels run (on one thread)
        longest = max((int(p.delays.max(initial=1)) for p in prog.plastic), default=1)
        self.n_slots = max(self.max_delay, longest) + 1
        check_ring(self.n_slots, self.channels * self.n, 8)

    @cached_property
    def _plain(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The plain table for the numpy path: ``(indptr, target, weight, delay)``, integer
        weights, the delay one number for all as a zero-stride view (no 8 GB array for 1e9)."""
        t = self.table
        weight = np.asarray(t.weight)
        return (t.indptr, t.target, weight if weight.dtype.kind == "i" else weight.astype(np.int64),
                np.broadcast_to(t.delay, t.target.shape))

    def _plastic(self, n_slots: int) -> IntPlastic:
        """The plastic synapses' state at the start of a run (their layout built once)."""
        if self._plastic_template is None or self._plastic_template[0] != n_slots:
            self._plastic_template = (n_slots, IntPlastic(self.program, self.table.indptr.size - 1, n_slots, self.seed))
        return self._plastic_template[1].fresh()

    def run(self, steps: int, progress: Callable[[int], None] | None = None,
            count_saturation: bool = False, record_weights: int | None = None) -> SimResult:
        """Run ``steps`` ticks. With ``count_saturation``, ``result.saturation[pop]`` counts the
        saturating operations on the accumulator ("acc"), currents ("i") and membrane ("v").
        Plastic projections learn (:mod:`.bit_plasticity`; compiled, on one thread); ``result.weights``
        holds their weights, with ``record_weights`` a snapshot every that many ticks."""
        if steps < 1:
            raise UserError(f"number of steps must be at least 1, not {steps}")
        check_steps(steps)
        if record_weights is not None and record_weights < 1:
            raise UserError(f"weights are recorded every k >= 1 ticks, not {record_weights}")
        comp = self.program.compartments
        if self.learns and comp is not None:
            raise UserError("a program with partial-sum compartments cannot learn (no target builds both yet)")
        if self.backend == "numba" and not count_saturation:
            if self._compiles():
                return self._run_compiled(steps, progress, record_weights)
        fmt, prog = self.format, self.program
        n, R = self.n, self.channels
        m = 0 if comp is None else comp.size
        width = R * n + m  # ring slot: channel x neuron inputs, then the compartments' sums
        state = NeuronState(v=self.v0.copy(), i=self.i0.copy(), ref=np.zeros(n, dtype=np.int64))
        n_slots = self.n_slots
        ring = np.zeros(n_slots * width, dtype=np.int64)
        plastic = self._plastic(n_slots) if self.learns else None
        snapshots = Snapshots(plastic.values.m if plastic else None, record_weights)
        ring_view = ring.reshape(n_slots, width)
        messages = np.zeros(R * n, dtype=np.int64)  # the compartments' messages of the last tick
        sources = SourceSpikes(prog, prog, self.seed)
        traces, recorders = self._recorders(steps)
        spike_chunks, step_chunks, events = [], [], 0
        kinds = ("acc", "i", "v") + (("payload",) if m else ())
        sat = {k: np.zeros(n, dtype=np.int64) for k in kinds} if count_saturation else None
        multi = self.params.max_spikes is not None and bool(np.any(self.params.max_spikes > 1))
        t0 = time.perf_counter()
        for t in range(steps):
            slot = ring_view[t % n_slots]
            if plastic is not None:
                events += learn_arrive_int(t, ring, (t % n_slots) * width, plastic.layout, plastic.values)
            direct = slot[:R * n].reshape(R, n)
            if m:
                direct = direct + messages.reshape(R, n)
                sums = slot[R * n:]
                sent = saturate(sums, comp.payload_bits)
                if sat is not None:
                    np.add.at(sat["payload"], comp.target[sent != sums] % n, 1)
                messages = np.zeros(R * n, dtype=np.int64)
                np.add.at(messages, comp.target, sent)
            x = saturate(direct, fmt.acc_bits)
            if sat is not None:
                sat["acc"] += (x != direct).any(axis=0)
            slot[...] = 0
            counts = tick(state, self.params, x, fmt, sat)
            fired = np.flatnonzero(counts)
            if multi and fired.size:  # each of a neuron's spikes in the tick is delivered
                fired = np.repeat(fired, counts[fired])
            if fired.size:
                spike_chunks.append(fired)
                step_chunks.append(np.full(fired.size, t, dtype=np.int64))
            src = sources.at(t)
            pre = fired if src is None else (np.concatenate([fired, src]) if fired.size else src)
            if pre.size:
                indptr, target, weight, delay = self._plain
                starts, lengths = indptr[pre], indptr[pre + 1] - indptr[pre]
                total = int(lengths.sum())
                if total:
                    idx = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
                    keys = ((t + delay[idx].astype(np.int64, copy=False)) % n_slots) * width + target[idx]
                    np.add.at(ring, keys, weight[idx])
                    events += total
            if plastic is not None:
                learn_after_int(t, pre, plastic.layout, plastic.values)
                snapshots.after(t + 1)
            for rec in recorders:
                rec(t, state)
            if progress is not None and (t + 1) % 1000 == 0:
                progress(1000)
        wall = time.perf_counter() - t0
        saturation = {} if sat is None else {
            pop.name: {k: int(v[prog.slice(pop.name)].sum()) for k, v in sat.items()} for pop in prog.populations}
        return self._result(steps, _cat(spike_chunks), _cat(step_chunks), traces, wall, events, saturation,
                            snapshots.weights(plastic), plastic)

    def _result(self, steps, ids, at, traces, wall, events, saturation, weights=None, plastic=None) -> SimResult:
        prog = self.program
        spike_steps, spike_ids, sizes = prog.spikes_by_population(ids, at)
        return SimResult(network=prog.name, dt=prog.dt, steps=steps, sizes=sizes, spike_steps=spike_steps,
                         spike_ids=spike_ids, traces=traces, wall_time=wall, synaptic_events=events, seed=self.seed,
                         simulator=f"bit-accurate ({self.format.name}{self._compartment_label})",
                         saturation=saturation, weights=weights or {},
                         learning_state=plastic.unit_states() if plastic is not None and self.learns else ())

    @property
    def _compartment_label(self) -> str:
        comp = self.program.compartments
        return "" if comp is None else f", {comp.size} partial-sum compartments"

    def _compiles(self) -> bool:
        """Whether the compiled kernel can run the program: always without compartments; with
        them when no compartment's sum can saturate (the kernel then runs their exactly
        equivalent direct synapses, :mod:`.compartments`)."""
        from ..datapath import Order
        from ._bit_kernel import DECAY_CODES

        fmt, p = self.format, self.params
        if (fmt.order != Order.DECAY_FIRST or fmt.decay not in DECAY_CODES
                or (p.max_spikes is not None and bool(np.any(p.max_spikes > 1)))):
            return False  # Xylo's order, bit-shift decays and several spikes per tick: the numpy path
        comp = self.program.compartments
        if comp is None:
            return True
        if self._unsaturable is None:
            repeat = SourceSpikes(self.program, self.program, self.seed).max_repeat
            self._unsaturable = cannot_saturate(self.program.synapses, self.channels * self.n, comp, repeat)
        return self._unsaturable

    def _run_compiled(self, steps: int, progress, record_weights: int | None) -> SimResult:
        import numba

        from ._bit_kernel import (DECAY_CODES, PARALLEL_MIN_NEURONS, ROUNDING_CODES, KernelArgs, run_kernel,
                                  undelivered_events)
        fmt, prog, p = self.format, self.program, self.params
        t0 = time.perf_counter()  # the wall time includes drawing the source spikes
        sources = SourceSpikes(prog, prog, self.seed)
        traces, rec_v_idx, rec_i_idx = {}, [], []
        for probe in prog.probes:
            if probe.variable == "spikes":
                continue
            sl = prog.slice(probe.target)
            idx = np.arange(sl.stop - sl.start) if probe.neurons is None else probe.neurons
            check_recording(probe.label, steps, idx.size * (1 if probe.variable == "v" else self.channels))
            (rec_v_idx if probe.variable == "v" else rec_i_idx).append(idx + sl.start)
            traces[probe.label] = (probe.target, probe.variable, idx)
        rv, ri = _cat(rec_v_idx).astype(np.int64), _cat(rec_i_idx).astype(np.int64)
        rec_v = np.zeros((steps, rv.size), dtype=np.int64)
        rec_i = np.zeros((steps, self.channels, ri.size), dtype=np.int64)
        R = self._live_channels()
        v, cur, ref = self.v0.copy(), self.i0[:R].copy(), np.zeros(self.n, dtype=np.int64)
        threads = self.threads or (1 if self.n < PARALLEL_MIN_NEURONS else numba.get_num_threads())
        threads = 1 if self.learns else threads  # the learning engine's order is one sequence
        nchunks = max(1, min(threads, self.n))
        if nchunks not in self._tables:  # compacted once per chunk count, kept for later runs
            self._tables = {}  # the previous chunk count's copy goes first
            comp = prog.compartments
            max_delay = max(self.max_delay + (comp is not None), self.n_slots - 1)  # a message takes a tick
            if self._ring_type is None:  # a source channel may spike several times in one step
                size = self.channels * self.n
                reach = int(incoming_reach(self.table, 0, size, None if comp is None else comp.target, size).max(
                    initial=0)) * sources.max_repeat
                narrow = reach < 2 ** 31 - 1 and not self.learns  # plastic weights may grow: int64
                self._ring_type = np.int32 if narrow else np.int64
            bounds, rows = _compact_table(self.table, self.n, R, nchunks, self._ring_type,
                                          _range_type(weight_range(self.table), np.int16), comp)
            self._tables = {nchunks: (bounds, rows, max_delay)}
        bounds, rows, max_delay = self._tables[nchunks]
        # max_delay slots suffice: the kernel delivers a tick's spikes after that tick's update read
        # its slot, so a spike of the longest delay lands in the slot just read; and with one delay
        # for all synapses, the slot being added into is the one the update has just read and
        # cleared, still in cache (benchmarks/million.py), instead of the one read longest ago
        n_slots = max(1, max_delay)
        seg_bounds, seg_uniform, chunk_segs = _segments(p, bounds)
        # int32 state and ring where they hold every value (the ring's bound is each target's total
        # absolute incoming weight): 8 vector lanes instead of 4, half the memory traffic
        T = np.int32 if _narrow_state(fmt, self.channels) else np.int64
        v, cur, ref = v.astype(T), cur.astype(T), ref.astype(np.int32)
        ring = np.zeros(n_slots * R * self.n, dtype=self._ring_type)
        p32 = [_narrow(np.asarray(a)) for a in (p.decay_v, p.decay_i[:R], p.bias, p.threshold, p.v_reset, _v_min(p, fmt),
                                                p.refractory)]
        bounds_t = [T(-(1 << (b - 1))) if k == 0 else T((1 << (b - 1)) - 1)
                    for b in (fmt.v_bits, max(fmt.i_bits, 1), fmt.acc_bits) for k in (0, 1)]
        drive = np.zeros(self.n, dtype=T)
        fired = np.empty((2, self.n), dtype=np.int64)  # this and the previous tick's spikes, per chunk
        n_fired = np.zeros((2, nchunks), dtype=np.int64)
        events = np.zeros(nchunks, dtype=np.int64)
        # the kernel runs ticks [a, b) per call with the source spikes of ticks a - 1 .. b - 1: the
        # inputs are drawn in pieces (bounded memory, progress between calls), the bits do not change
        piece = self.piece_steps or max(64, sources.block)
        out_s, out_i = [], []
        plastic = self._plastic(n_slots + 1)
        snapshots = Snapshots(plastic.values.m if self.learns else None, record_weights)
        cuts = sorted(set(range(0, steps, piece)) | snapshots.cuts(steps) | {steps})
        pieces = list(zip(cuts[:-1], cuts[1:]))
        inputs = (((np.zeros(b - a + 2, dtype=np.int64), np.zeros(0, dtype=np.int64)) for a, b in pieces)
                  if sources.empty else prefetch_spans(sources, [(a - 1, b) for a, b in pieces]))
        for (a, b), (src_ptr, src_ids) in zip(pieces, inputs):
            got_s, got_i = run_kernel(
                fmt.has_current, DECAY_CODES[fmt.decay], ROUNDING_CODES[fmt.rounding], fmt.compare == ">=",
                fmt.decay_bits, fmt.current_frac_bits,
                KernelArgs(a, b, self.n, R, *p32, p.subtract, p.spiking, v, cur, ref, nchunks, bounds,
                           tuple(rows), n_slots, src_ptr, src_ids, *bounds_t,
                           T(31 if T is np.int32 else 62), rv, rec_v, ri, rec_i, ring, drive, seg_bounds, seg_uniform,
                           chunk_segs, fired, n_fired, events, self.learns, plastic.layout, plastic.values),
                parallel=threads > 1)
            snapshots.after(b)
            out_s.append(got_s)
            out_i.append(got_i)
            if progress is not None:
                progress(b - a)
        # the spikes of the last tick are not delivered (nothing reads them): count their events
        last = src_ids[src_ptr[-2]:src_ptr[-1]]
        total = int(events.sum()) + int(undelivered_events(rows, nchunks, bounds, fired, n_fired, (steps - 1) % 2,
                                                           last.astype(np.int64)))
        out_steps, out_ids = _cat(out_s), _cat(out_i)
        wall = time.perf_counter() - t0
        out_traces, v_at, i_at = {}, 0, 0
        for label, (pop, var, idx) in traces.items():
            if var == "v":
                values, v_at = rec_v[:, v_at:v_at + idx.size], v_at + idx.size
            else:
                values, i_at = rec_i[:, :, i_at:i_at + idx.size], i_at + idx.size
            out_traces[label] = Trace(population=pop, variable=var, neurons=idx, values=values)
        return self._result(steps, out_ids, out_steps, out_traces, wall, total, {}, snapshots.weights(plastic),
                            plastic)

    def _live_channels(self) -> int:
        """The input channels the compiled kernel updates: all but the trailing ones that no synapse
        feeds and whose currents start at zero (they stay zero: a decay of zero is zero, and they
        add nothing to the drive). A LIF network on a two-receptor datapath updates one channel
        (1M x 1000: 32 instead of 48 bytes per neuron and step, half the ring)."""
        if self._live is None:
            R, n = self.channels, self.n
            if self.program.compartments is not None or self.learns:
                self._live = R
            else:
                top = max((p.offset + int(p.indices.max()) for p in pieces_of(self.table) if p.nnz), default=0)
                started = np.flatnonzero(np.any(self.i0 != 0, axis=1))
                self._live = max(1, top // n + 1, int(started.max(initial=-1)) + 1) if top < R * n else R
        return self._live

    def traffic(self) -> Traffic:
        """The compiled kernel's memory traffic (:mod:`.traffic`) for its last run's chunk count."""
        if not self._tables:
            raise ValueError("traffic: run the compiled simulator first (its table is built on the first run)")
        nchunks, (_, rows, _) = next(iter(self._tables.items()))
        item = 4 if _narrow_state(self.format, self.channels) else 8
        ring = np.dtype(self._ring_type).itemsize
        R = self._live_channels()
        widest = R * -(-self.n // nchunks)  # a chunk's entries in one ring slot
        return Traffic(table_bytes=rows.nbytes, synapses=int(rows.target.size),
                       update_bytes=bit_update_bytes(item, ring, R, self.format.has_current),
                       neurons=self.n,
                       ring_block_bytes=ring * min(block_entries(ring), widest), threads=nchunks)

    def _recorders(self, steps: int):
        traces, recorders = {}, []
        for probe in self.program.probes:
            if probe.variable == "spikes":
                continue
            sl = self.program.slice(probe.target)
            idx = np.arange(sl.stop - sl.start) if probe.neurons is None else probe.neurons
            g = idx + sl.start
            check_recording(probe.label, steps, idx.size * (1 if probe.variable == "v" else self.channels))
            if probe.variable == "v":
                buf = np.zeros((steps, idx.size), dtype=np.int64)
                recorders.append(lambda t, s, buf=buf, g=g: buf.__setitem__(t, s.v[g]))
            else:
                buf = np.zeros((steps, self.channels, idx.size), dtype=np.int64)
                recorders.append(lambda t, s, buf=buf, g=g: buf.__setitem__(t, s.i[:, g]))
            traces[probe.label] = Trace(population=probe.target, variable=probe.variable, neurons=idx, values=buf)
        return traces, recorders
