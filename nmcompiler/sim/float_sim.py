"""Float reference simulator: clock-driven, exact sub-threshold integration, the meaning of a network.

The per-step order and the equations are those of :mod:`nmcompiler.ir.models`. Synaptic input
is delivered only along the rows of neurons (and source channels) that spiked, into a ring
buffer of ``max_delay + 1`` slots, so the cost per step is proportional to the synaptic events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np

from ..errors import UserError
from ..ir import Network
from .budget import check_recording, check_ring, check_steps
from .inputs import SourceSpikes, external_current_schedule, prefetch_spans
from .layout import build_layout, build_synapses, spikes_by_population
from .plasticity import build_plastic, learn_after, learn_arrive
from .result import SimResult, Snapshots, Trace
from .rows import block_entries, compact_rows
from .traffic import Traffic, float_update_bytes

__all__ = ["FloatSimulator", "simulate"]

log = logging.getLogger(__name__)


def _c64(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64)


class FloatSimulator:
    """Simulate ``net`` in float64. ``seed`` (default: the network's) drives Poisson sources.
    ``backend``: "numba" (a compiled loop; "auto" picks it) or "numpy" (a vectorized loop over
    steps; also used when ranges are tracked). Both compute the same bits."""

    def __init__(self, net: Network, seed: int | None = None, backend: str = "auto", piece_steps: int | None = None):
        if backend not in ("auto", "numba", "numpy"):
            raise UserError(f"unknown backend '{backend}' (use auto, numba or numpy)")
        net.validate()
        self.net = net
        self.backend = "numba" if backend == "auto" else backend
        # steps per compiled call (inputs drawn per piece, on a second thread; bits unchanged);
        # default: the source spikes' block, at least 64 (long pieces of dense Poisson input
        # allocate hundreds of MB per piece, and their drawing, not the kernel, set the pace)
        self.piece_steps = piece_steps
        self.seed = net.seed if seed is None else int(seed)
        self.layout = build_layout(net)
        self._syn = build_synapses(net, self.layout)
        self._rows = None  # the compiled kernel's compact table, built on first use
        self.learns = any(p.learning is not None for p in net.projections)
        plastic_delay = max((int(p.connectivity.delays.max()) for p in net.projections
                             if p.learning is not None and p.connectivity.nnz), default=1)
        self.n_slots = max(self.syn.max_delay, plastic_delay) + 1
        check_ring(self.n_slots, self.layout.channels * self.layout.n, 8)
        log.debug("layout: %d neurons, %d channels, %d synapses", self.layout.n, self.layout.channels, self.syn.nnz)

    def run(self, steps: int, progress: Callable[[int], None] | None = None, track_ranges: bool = False,
            record_weights: int | None = None) -> SimResult:
        """Run ``steps`` steps. With ``track_ranges``, ``result.ranges[pop]`` holds the observed extremes of
        ``v``, of every synaptic current and of the per-step synaptic input (for quantizer calibration).
        Plastic projections learn (:mod:`.plasticity`); ``result.weights`` holds their final weights and,
        with ``record_weights`` (steps), a snapshot every that many steps."""
        if steps < 1:
            raise UserError(f"number of steps must be at least 1, not {steps}")
        check_steps(steps)
        if record_weights is not None and record_weights < 1:
            raise UserError(f"weights are recorded every k >= 1 steps, not {record_weights}")
        if self.backend == "numba" and not track_ranges:
            return self._run_compiled(steps, progress, record_weights)
        net, L, syn = self.net, self.layout, self.syn
        n, R = L.n, L.channels
        P = L.prop
        # state
        v, cur = self._initial_state()
        refr = np.zeros(n, dtype=np.int64)
        n_slots = self.n_slots
        plastic = build_plastic(net, L, n_slots)
        learns = self.learns
        snapshots = Snapshots(plastic.values.w if learns else None, record_weights)
        ring = np.zeros(n_slots * R * n)
        ring_view = ring.reshape(n_slots, R, n)
        use_syn = bool(np.any(P.syn_to_v))
        use_instant = bool(np.any(P.input_to_v))
        schedule = external_current_schedule(net, L)
        next_change = 0
        drive = P.leak_v.copy()
        const_input = None  # constant per-step synaptic input from current sources into receptors
        all_spiking = bool(np.all(L.spiking))
        multi = bool(np.any(L.max_spikes > 1))
        bounded = L.bounded
        sources = SourceSpikes(net, L, self.seed)
        uniform_delay = syn.delay.ndim == 0
        recorders = self._recorders(steps)
        spike_chunks: list[np.ndarray] = []
        step_chunks: list[np.ndarray] = []
        events = 0
        tracked = None
        if track_ranges:
            tracked = {"v_min": v.copy(), "v_max": v.copy(), "i_abs": np.abs(cur).max(axis=0),
                       "input_abs": np.zeros(n)}
        t0 = time.perf_counter()
        for t in range(steps):
            if next_change < len(schedule) and schedule[next_change][0] == t:
                _, v_current, channel_input = schedule[next_change]
                drive = P.leak_v + P.current_to_v * (L.bias + v_current)
                const_input = channel_input if channel_input.any() else None
                next_change += 1
            # 1. exact propagation over dt from the state at the start of the step
            v_new = P.decay_v * v
            v_new += drive
            if use_syn:
                v_new += (P.syn_to_v * cur).sum(axis=0)
                cur *= P.decay_syn
            # 2. synaptic input arriving in this step
            slot = ring_view[t % n_slots]
            if learns:
                events += learn_arrive(t, ring, (t % n_slots) * R * n, plastic.layout, plastic.values)
            if const_input is not None:
                slot += const_input
            if tracked is not None:
                np.maximum(tracked["input_abs"], np.abs(slot).max(axis=0), out=tracked["input_abs"])
            cur += P.input_to_syn * slot
            if use_instant:
                v_new += (P.input_to_v * slot).sum(axis=0)
            slot[...] = 0.0
            if bounded:  # the lower bound of v, after integration
                np.copyto(v_new, L.v_min, where=v_new < L.v_min)
            # 3. refractory hold, threshold, reset
            held = refr > 0
            if held.any():
                v_new[held] = v[held]
                refr -= held
            v = v_new
            crossed = (v > L.v_compare) & ~held
            fired = np.flatnonzero(crossed if all_spiking else crossed & L.spiking)
            if fired.size:
                sub = L.subtract[fired]
                v[fired] = np.where(sub, v[fired] - (L.v_threshold[fired] - L.v_reset[fired]), L.v_reset[fired])
                refr[fired] = L.refractory_steps[fired]
                if multi:
                    fired = _more_spikes(fired, v, L)
                spike_chunks.append(fired)
                step_chunks.append(np.full(fired.size, t, dtype=np.int64))
            # deliver this step's spikes (neurons and sources) into future slots
            src = sources.at(t)
            pre = fired if src is None else (np.concatenate([fired, src]) if fired.size else src)
            if pre.size:
                events += self._deliver(pre, t, ring, n_slots, R * n, uniform_delay)
            if learns:
                learn_after(t, pre, plastic.layout, plastic.values)
                snapshots.after(t + 1)
            if tracked is not None:
                np.minimum(tracked["v_min"], v, out=tracked["v_min"])
                np.maximum(tracked["v_max"], v, out=tracked["v_max"])
                np.maximum(tracked["i_abs"], np.abs(cur).max(axis=0), out=tracked["i_abs"])
            for rec in recorders:
                rec(t, v, cur)
            if progress is not None and (t + 1) % 1000 == 0:
                progress(1000)
        wall = time.perf_counter() - t0
        if progress is not None and steps % 1000:
            progress(steps % 1000)
        result = self._result(steps, spike_chunks, step_chunks, wall, events, snapshots.weights(plastic))
        if tracked is not None:
            result.ranges.update({pop.name: {k: a[self.layout.slice(pop.name)].copy() for k, a in tracked.items()}
                                  for pop in self.net.populations})
        return result

    def _initial_state(self):
        L = self.layout
        v = np.zeros(L.n)
        cur = np.zeros((L.channels, L.n))
        for pop in self.net.populations:
            init = pop.initial_state()
            v[L.slice(pop.name)] = init["v"]
            if "i" in init:
                cur[: init["i"].shape[0], L.slice(pop.name)] = init["i"]
        return v, cur

    def _run_compiled(self, steps: int, progress, record_weights: int | None) -> SimResult:
        from ._float_kernel import run_float_kernel

        net, L = self.net, self.layout
        n, R, P = L.n, L.channels, L.prop
        t0 = time.perf_counter()
        v, cur = self._initial_state()
        refr = np.zeros(n, dtype=np.int64)
        n_slots = self.n_slots
        ring = np.zeros(n_slots * R * n)
        sources = SourceSpikes(net, L, self.seed)
        schedule = external_current_schedule(net, L)
        plastic = build_plastic(net, L, n_slots)
        snapshots = Snapshots(plastic.values.w if self.learns else None, record_weights)
        self._recorders(steps)  # sets self.traces (zeroed buffers); the kernel fills rec_v / rec_i below
        probes = list(self.traces.items())
        rec_v_idx = np.concatenate([tr.neurons + L.offsets[tr.population] for _, tr in probes
                                    if tr.variable == "v"] or [np.zeros(0, np.int64)]).astype(np.int64)
        rec_i_idx = np.concatenate([tr.neurons + L.offsets[tr.population] for _, tr in probes
                                    if tr.variable != "v"] or [np.zeros(0, np.int64)]).astype(np.int64)
        rec_v = np.zeros((steps, rec_v_idx.size))
        rec_i = np.zeros((steps, R, rec_i_idx.size))
        table = self._table()
        changes = [c[0] for c in schedule if 0 < c[0] < steps]
        piece = self.piece_steps or max(64, sources.block)
        cuts = sorted(set(range(0, steps, piece)) | set(changes) | {steps} | snapshots.cuts(steps))
        v_new = np.empty(n)
        rows = (_c64(P.syn_to_v), _c64(P.decay_syn), _c64(P.input_to_syn), _c64(P.input_to_v))
        flags = (bool(np.any(P.syn_to_v)), bool(np.any(P.input_to_v)))
        neuron = (_c64(L.v_threshold), _c64(L.v_compare), _c64(L.v_reset), _c64(L.v_min), np.ascontiguousarray(L.subtract, dtype=np.bool_),
                  L.refractory_steps.astype(np.int64), np.ascontiguousarray(L.spiking, dtype=np.bool_),
                  np.ascontiguousarray(L.max_spikes, dtype=np.int64))
        drive, const, use_const, k = P.leak_v.copy(), np.zeros((R, n)), False, 0
        out_s, out_i, events = [], [], 0
        spans = list(zip(cuts[:-1], cuts[1:]))
        inputs = (((np.zeros(b - a + 1, np.int64), np.zeros(0, np.int64)) for a, b in spans) if sources.empty
                  else prefetch_spans(sources, spans))
        for (a, b), (ptr, ids) in zip(spans, inputs):
            while k < len(schedule) and schedule[k][0] <= a:
                _, v_current, channel_input = schedule[k]
                drive = P.leak_v + P.current_to_v * (L.bias + v_current)
                const, use_const = channel_input, bool(channel_input.any())
                k += 1
            got_s, got_i, ev = run_float_kernel(
                a, b, R, _c64(P.decay_v), _c64(drive), *rows, *flags, _c64(const), use_const, *neuron, v, cur, refr, v_new,
                ring, n_slots, table, ptr, ids, rec_v_idx, rec_v, rec_i_idx, rec_i, self.learns, plastic.layout,
                plastic.values)
            snapshots.after(b)
            out_s.append(got_s)
            out_i.append(got_i)
            events += int(ev)
            if progress is not None:
                progress(b - a)
        wall = time.perf_counter() - t0
        v_at = i_at = 0
        for label, tr in probes:
            if tr.variable == "v":
                tr.values[...] = rec_v[:, v_at:v_at + tr.neurons.size]
                v_at += tr.neurons.size
            else:
                tr.values[...] = rec_i[:, :tr.values.shape[1], i_at:i_at + tr.neurons.size]
                i_at += tr.neurons.size
        return self._result(steps, out_i, out_s, wall, events, snapshots.weights(plastic))

    @property
    def syn(self):
        """The synapse table (rebuilt on demand: the compiled kernel keeps only its compact copy)."""
        if self._syn is None:
            self._syn = build_synapses(self.net, self.layout)
        return self._syn

    def traffic(self) -> Traffic:
        """The compiled kernel's memory traffic (:mod:`.traffic`)."""
        L, P = self.layout, self.layout.prop
        rows = self._table()
        return Traffic(table_bytes=rows.nbytes, synapses=int(rows.target.size),
                       update_bytes=float_update_bytes(L.channels, bool(np.any(P.syn_to_v))),
                       neurons=L.n, ring_block_bytes=8 * min(block_entries(8), L.channels * L.n), threads=1)

    def _table(self):
        """The compact synapse table of the compiled kernel (:mod:`.rows`), built on first use."""
        if self._rows is None:
            L, syn = self.layout, self.syn
            self._rows = compact_rows(syn, L.n, L.channels,
                                      np.array([0, L.n], dtype=np.int64), block_entries(8))
            self._syn = None  # 24 bytes per synapse: the numpy path rebuilds it if it is ever needed
        return self._rows

    def _deliver(self, pre, t, ring, n_slots, stride, uniform_delay) -> int:
        syn = self.syn
        starts, ends = syn.indptr[pre], syn.indptr[pre + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return 0
        idx = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        if uniform_delay:
            keys = ((t + int(syn.delay)) % n_slots) * stride + syn.target[idx]
        else:
            keys = ((t + syn.delay[idx]) % n_slots) * stride + syn.target[idx]
        np.add.at(ring, keys, syn.weight[idx])
        return total

    def _recorders(self, steps: int):
        self.traces = {}
        recorders = []
        for probe in self.net.effective_probes():
            if probe.variable == "spikes":
                continue
            pop = self.net.node(probe.target)
            idx = np.arange(pop.size) if probe.neurons is None else probe.neurons
            gidx = idx + self.layout.offsets[pop.name]
            check_recording(probe.label, steps, idx.size * (1 if probe.variable == "v" else len(pop.model.receptors)))
            if probe.variable == "v":
                buf = np.zeros((steps, idx.size))
                recorders.append(lambda t, v, cur, buf=buf, g=gidx: buf.__setitem__(t, v[g]))
            else:
                n_rec = len(pop.model.receptors)
                buf = np.zeros((steps, n_rec, idx.size))
                recorders.append(lambda t, v, cur, buf=buf, g=gidx, r=n_rec: buf.__setitem__(t, cur[:r, g]))
            self.traces[probe.label] = Trace(population=pop.name, variable=probe.variable, neurons=idx, values=buf)
        return recorders

    def _result(self, steps, spike_chunks, step_chunks, wall, events, weights=None) -> SimResult:
        ids = np.concatenate(spike_chunks) if spike_chunks else np.zeros(0, dtype=np.int64)
        at = np.concatenate(step_chunks) if step_chunks else np.zeros(0, dtype=np.int64)
        spike_steps, spike_ids, sizes = spikes_by_population(self.net, self.layout, ids, at)
        return SimResult(
            network=self.net.name, dt=self.net.dt, steps=steps, sizes=sizes, spike_steps=spike_steps,
            spike_ids=spike_ids, traces=self.traces, wall_time=wall, synaptic_events=events, seed=self.seed,
            weights=weights or {},
        )


def simulate(net: Network, *, steps: int | None = None, duration: float | None = None,
             seed: int | None = None, progress: Callable[[int], None] | None = None) -> SimResult:
    """Run the float simulator for ``steps`` or ``duration`` seconds (default: the network's)."""
    if steps is None:
        duration = duration if duration is not None else net.duration
        if duration is None:
            raise UserError("no simulation length: give --duration or --steps, or set 'duration' in the network")
        steps = int(round(duration / net.dt))
    return FloatSimulator(net, seed=seed).run(steps, progress)


def _more_spikes(fired: np.ndarray, v: np.ndarray, L) -> np.ndarray:
    """Multi-spike neurons (``max_spikes`` > 1, reset by subtraction) still past their threshold
    after a subtraction spike again, up to ``max_spikes`` times in the step. Returns ``fired``
    with each neuron repeated once per spike, ascending (the compiled kernel's order)."""
    again = fired[(L.max_spikes[fired] > 1) & L.subtract[fired]]
    spikes = [fired]
    k = 1
    while again.size:
        again = again[(v[again] > L.v_compare[again]) & (L.max_spikes[again] > k)]
        v[again] -= L.v_threshold[again] - L.v_reset[again]
        spikes.append(again)
        k += 1
    out = np.concatenate(spikes)
    return np.sort(out, kind="stable") if out.size > fired.size else fired
