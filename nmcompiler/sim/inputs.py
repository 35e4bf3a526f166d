"""Spike and current inputs of the simulators, generated per step from the network's sources."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from ..streams import stream
from ..ir import CurrentSource, Network, PoissonSource, SpikeSource
from .layout import Layout

__all__ = ["SourceSpikes", "prefetch_spans", "external_current_schedule"]


class SourceSpikes:
    """Spikes of all spike sources, step by step, as global presynaptic indices.

    Every Poisson source has its own random stream (from the seed and the source's name), drawn
    in step order, so results depend only on the seed and the source's name, not on the block
    length or the order in which steps are asked for. A source whose channels share one
    probability ``p < 1`` per step draws the gaps between its spikes over its (active step,
    channel) grid (geometric with parameter ``p``: the same i.i.d. Bernoulli field, compiled), at
    a cost proportional to its spikes rather than to steps x channels; other sources draw one
    uniform number per step and channel. A source of ``inputs > 1`` per channel draws each
    channel's spike count per step, ``Binomial(inputs, p)``: from the binomial's alias table (one
    raw 64-bit word of the stream per step and channel) when the channels share ``p`` and the mean
    is small, else with numpy's binomial draws; a channel's spikes of one step come one after the
    other. Blocks hold about ``budget`` draws (at most 1024 steps) so that their arrays stay
    small and are reused by the allocator.
    """

    def __init__(self, net: Network, layout: Layout, seed: int, block: int | None = None, budget: int = 1 << 20):
        self.dt = net.dt
        self.seed = seed
        self.explicit_steps: list[np.ndarray] = []
        self.explicit_ids: list[np.ndarray] = []
        self.poisson = []
        cost = 0.0
        for src in net.sources:
            offset = layout.offsets[src.name]
            if isinstance(src, SpikeSource):
                self.explicit_steps.append(np.rint(src.times / net.dt).astype(np.int64))
                self.explicit_ids.append(src.ids + offset)
            elif isinstance(src, PoissonSource):
                p = np.clip(np.broadcast_to(src.rate, (src.size,)) * net.dt, 0.0, 1.0)
                mode, table = _mode(p, int(src.inputs))
                self.poisson.append((src, offset, p, mode, table))
                cost += float(p.sum()) if mode == "grid" else src.size
        self.block = block or int(max(1, min(1024, budget // max(1.0, cost))))
        counted = [int(src.inputs) for src, _, p, mode, _ in self.poisson if mode.startswith("binomial") and p.any()]
        steps = np.concatenate(self.explicit_steps or [np.zeros(0, np.int64)])
        ids = np.concatenate(self.explicit_ids or [np.zeros(0, np.int64)])
        order = np.lexsort((ids, steps))
        self._steps, self._ids = steps[order], ids[order]
        # the most spikes one explicit source channel has in one step (Poisson channels and neurons: 1)
        same = np.concatenate([[0], (np.diff(self._steps) == 0) & (np.diff(self._ids) == 0), [0]]).astype(np.int8)
        edges = np.flatnonzero(np.diff(same))  # starts and ends of the runs of repeated spikes
        self.max_repeat = max([int(np.max(edges[1::2] - edges[::2], initial=0)) + 1, *counted])
        self._restart()

    def _restart(self) -> None:
        self._streams = [stream(self.seed, "poisson", src.name) for src, *_ in self.poisson]
        # uniform sources: position of the next success on the grid of the steps not yet drawn
        self._pending = [_first_gap(rng, float(p[0])) if mode == "grid" else 0
                         for rng, (src, offset, p, mode, _) in zip(self._streams, self.poisson)]
        self._next = 0  # first step not drawn yet
        self._cache_start = -(1 << 62)
        self._cache = (np.zeros(1, np.int64), np.zeros(0, np.int64))  # (ptr, ids) of the block drawn last

    def _fill(self, start: int) -> None:
        if start < self._next:
            self._restart()
        while self._next <= start:  # streams advance in step order, skipped blocks included
            self._draw(self._next)
            self._next += self.block

    def _draw(self, start: int) -> None:
        """Draw steps ``[start, start + block)``: the spikes of every step, in source order, as one
        array ``ids`` cut by ``ptr`` (CSR over the block's steps)."""
        parts = []  # in source order: ("list", (block-relative steps ascending, ids, offset)),
        # ("grid", (ascending positions on the (active step, channel) grid, the active steps, channels, offset))
        # or ("counts", (spikes per (drawn step, channel), the drawn steps, offset))
        lo, hi = np.searchsorted(self._steps, [start, start + self.block])
        if hi > lo:
            parts.append(("list", (self._steps[lo:hi] - start, self._ids[lo:hi], 0)))
        for j, (src, offset, p, mode, table) in enumerate(self.poisson):
            rng = self._streams[j]
            t = np.arange(start, start + self.block) * self.dt
            active = (t >= src.start) & (t < src.stop)
            if mode == "grid":  # the grid, row by row
                rows = np.flatnonzero(active)
                pos, self._pending[j] = _bernoulli_grid(rng, _gap_scale(float(p[0])), rows.size * src.size,
                                                        _capacity(rows.size * src.size * p[0]), self._pending[j])
                parts.append(("grid", (pos, rows, src.size, offset)))
            elif mode == "binomial_table":  # the active steps' counts, from a table, a 64-bit word each
                rows = np.flatnonzero(active)
                parts.append(("counts", (_table_counts(rng.bit_generator, table, rows.size, src.size), rows, offset)))
            elif mode == "binomial":  # every step drawn, the inactive ones then cleared
                counts = rng.binomial(int(src.inputs), p, size=(self.block, src.size))
                counts[~active] = 0
                parts.append(("counts", (counts, np.arange(self.block), offset)))
            else:
                mask = (rng.random((self.block, src.size)) < p) & active[:, None]
                steps, ids = np.nonzero(mask)
                parts.append(("list", (steps, ids, offset)))
        counts = np.zeros(self.block, dtype=np.int64)
        for kind, part in parts:
            if kind == "grid":
                _grid_counts(counts, *part[:3])
            elif kind == "counts":
                np.add.at(counts, part[1], part[0].sum(axis=1))
            else:
                counts += np.bincount(part[0], minlength=self.block)
        ptr = np.zeros(self.block + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        ids = np.empty(int(ptr[-1]), dtype=np.int64)
        fill = ptr[:-1].copy()
        for kind, part in parts:
            {"grid": _grid_scatter, "counts": _counts_scatter, "list": _scatter}[kind](ids, fill, *part)
        self._cache = (ptr, ids)
        self._cache_start = start

    @property
    def empty(self) -> bool:
        """No source ever spikes (no Poisson sources and no explicit spikes)."""
        return not self.poisson and not self._steps.size

    def at(self, step: int) -> np.ndarray | None:
        """Global presynaptic indices of the source spikes in ``step`` (None if none)."""
        if not (self._cache_start <= step < self._cache_start + self.block):
            self._fill(step - step % self.block)
        ptr, ids = self._cache
        k = step - self._cache_start
        return ids[ptr[k]:ptr[k + 1]] if ptr[k + 1] > ptr[k] else None

    def span(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """The spikes of steps ``[a, b)`` (steps before 0 have none): ``(ptr, ids)`` with the
        spikes of step ``a + k`` in ``ids[ptr[k]:ptr[k + 1]]``."""
        counts, pieces = [np.zeros(max(0, min(b, 0) - a), np.int64)], []
        step = max(a, 0)
        while step < b:
            if not (self._cache_start <= step < self._cache_start + self.block):
                self._fill(step - step % self.block)
            ptr, ids = self._cache
            k0 = step - self._cache_start
            k1 = min(b - self._cache_start, self.block)
            counts.append(np.diff(ptr[k0:k1 + 1]))
            pieces.append(ids[ptr[k0]:ptr[k1]])
            step = self._cache_start + k1
        out = np.zeros(b - a + 1, dtype=np.int64)
        np.cumsum(np.concatenate(counts), out=out[1:])
        return out, (np.concatenate(pieces) if len(pieces) != 1 else pieces[0]) if pieces else np.zeros(0, np.int64)


def prefetch_spans(sources: SourceSpikes, spans: Iterable[tuple[int, int]]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``sources.span(a, b)`` for each ``(a, b)`` in order, the next one drawn on a worker thread
    while the caller simulates the current one (the compiled kernels and the compiled parts of
    the drawing release the GIL, so a second core draws the inputs). One thread draws every span,
    one after the other, in the same order: the spikes are those of drawing them in sequence."""
    spans = list(spans)
    if not spans:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nmc-inputs") as pool:
        future = pool.submit(sources.span, *spans[0])
        for k in range(len(spans)):
            current = future.result()
            if k + 1 < len(spans):
                future = pool.submit(sources.span, *spans[k + 1])
            yield current


@njit(cache=True, nogil=True)
def _grid_counts(counts, pos, rows, size):
    """Spikes per step of grid positions ``pos`` (ascending; row ``r`` of the grid is step ``rows[r]``)."""
    r, edge = 0, size
    for k in range(pos.size):
        while pos[k] >= edge:
            r += 1
            edge += size
        counts[rows[r]] += 1


@njit(cache=True, nogil=True)
def _grid_scatter(out, fill, pos, rows, size, offset):
    """``_scatter`` for grid positions: the channel is the position within its row."""
    r, base = 0, 0
    for k in range(pos.size):
        while pos[k] >= base + size:
            r += 1
            base += size
        s = rows[r]
        out[fill[s]] = pos[k] - base + offset
        fill[s] += 1


@njit(cache=True, nogil=True)
def _scatter(out, fill, steps, ids, offset):
    for k in range(steps.size):
        s = steps[k]
        out[fill[s]] = ids[k] + offset
        fill[s] += 1


@njit(cache=True, nogil=True)
def _counts_scatter(out, fill, counts, rows, offset):
    """``_scatter`` for spike counts per (drawn step, channel): a channel's spikes one after the
    other. A count of at most 4 is written as four copies, the next channel's writing over the
    extra ones (no branch on the count), while four places remain in the row's own part."""
    for r in range(rows.size):
        s = rows[r]
        at = fill[s]
        end = at
        for j in range(counts.shape[1]):
            end += counts[r, j]
        for j in range(counts.shape[1]):
            c = counts[r, j]
            i = j + offset
            if c <= 4 and at + 4 <= end:
                out[at] = i
                out[at + 1] = i
                out[at + 2] = i
                out[at + 3] = i
            else:
                for q in range(c):
                    out[at + q] = i
            at += c
        fill[s] = at


RAW_CHUNK = 1 << 16  # 64-bit words drawn at a time for table draws (512 KiB: they stay in cache)


def _table_counts(bits, table: tuple, rows: int, size: int) -> np.ndarray:
    """``rows x size`` counts drawn with the alias ``table`` (:func:`_alias_table`), one raw
    64-bit word of the bit generator ``bits`` each, in row-major order."""
    out = np.empty((rows, size), np.int32)
    flat = out.reshape(-1)
    for a in range(0, flat.size, RAW_CHUNK):
        words = bits.random_raw(min(RAW_CHUNK, flat.size - a))
        _alias_pick(words, *table, flat[a:a + words.size])
    return out


@njit(cache=True, nogil=True)
def _alias_pick(words, shift, threshold, alias, out):
    """Alias method (Walker, Vose): a word's top bits pick a column ``i``, its low 53 bits ``u``
    then give ``i`` if ``u < threshold[i]``, else ``alias[i]``. No branch on the data."""
    low = np.uint64((1 << 53) - 1)
    for k in range(words.size):
        w = words[k]
        i = np.int64(w >> np.uint64(shift))
        out[k] = i if (w & low) < threshold[i] else alias[i]


BINOMIAL_TABLE_MEAN = 64.0  # most mean count per step drawn from an alias table (beyond: numpy's draws)


def _mode(p: np.ndarray, inputs: int) -> tuple[str, np.ndarray | None]:
    """How a Poisson source with spike probabilities ``p`` and ``inputs`` per channel is drawn:
    "grid" (one input, one ``p < 1``: the gaps between spikes), "uniform" (one input: a uniform
    number per step and channel), "binomial_table" (one ``p``, small mean: the binomial's alias
    table, returned) or "binomial" (numpy's binomial draws)."""
    shared = bool(p.size) and bool(np.all(p == p[0]))
    if inputs == 1:
        return ("grid" if shared and p[0] < 1.0 else "uniform"), None
    if shared and p[0] < 1.0 and inputs * p[0] <= BINOMIAL_TABLE_MEAN and -inputs * np.log1p(-p[0]) < 700:
        return "binomial_table", _alias_table(np.diff(_binomial_cdf(inputs, float(p[0])), prepend=0.0))
    return "binomial", None


def _alias_table(pmf: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Walker's alias table of the distribution ``pmf`` over ``0 .. pmf.size - 1`` (Vose's
    construction) over ``K = 2^b >= pmf.size`` columns: ``(64 - b, threshold, alias)``, the
    thresholds on the scale of 2^53 (a column's own value is kept below its threshold)."""
    b = max(1, int(np.ceil(np.log2(pmf.size))))
    k = 1 << b
    prob = np.zeros(k)
    prob[:pmf.size] = pmf / pmf.sum() * k
    alias = np.arange(k, dtype=np.int32)
    small = [i for i in range(k) if prob[i] < 1.0]
    large = [i for i in range(k) if prob[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        alias[s] = g
        prob[g] -= 1.0 - prob[s]
        (small if prob[g] < 1.0 else large).append(g)
    for i in small + large:  # what is left is 1 up to rounding
        prob[i] = 1.0
    threshold = np.minimum(np.rint(prob * 2.0 ** 53), 2.0 ** 53).astype(np.uint64)
    return 64 - b, threshold, alias


def _binomial_cdf(n: int, p: float) -> np.ndarray:
    """``P(X <= c)`` for ``X ~ Binomial(n, p)``, ``c = 0, 1, ...`` until it reaches 1 in float64 or
    ``c = n``; the last entry is set to 1 (what is left beyond it is below the uniform numbers'
    resolution of 2^-53 or zero)."""
    pmf = np.exp(n * np.log1p(-p))  # P(X = 0), above e^-700: no underflow
    ratio = p / (1.0 - p)
    cdf = [pmf]
    for c in range(n):
        pmf *= (n - c) / (c + 1) * ratio
        cdf.append(cdf[-1] + pmf)
        if cdf[-1] >= 1.0 or (pmf < 2.0 ** -60 and c + 1 > n * p):
            break
    out = np.array(cdf)
    out[-1] = 1.0
    return out


def _gap_scale(p: float) -> float:
    """``1 + floor(X * scale)`` with X standard exponential is geometric with success probability p."""
    return -1.0 / np.log1p(-p) if p > 0.0 else np.inf


def _capacity(expect: float) -> int:
    return int(expect + 8 * np.sqrt(expect) + 64)


def _first_gap(rng: np.random.Generator, p: float) -> int:
    """Position of the first success (0-based) of a Bernoulli(p) stream."""
    if p <= 0.0:
        return 1 << 62
    return int(rng.standard_exponential() * _gap_scale(p))


@njit(cache=True, nogil=True)
def _bernoulli_grid(rng, scale, end, cap, first):
    """Successes among positions ``[0, end)`` of a stream of i.i.d. trials, ascending: ``first``
    is the position of the next success (drawn before), each further gap is ``1 + floor(X *
    scale)``, X standard exponential, drawn from ``rng`` itself. Returns the positions and the
    position of the next success relative to the stream that follows (``end`` subtracted). ``cap``
    is the expected count with a margin (the array grows if it is exceeded). One array and no
    division in the loop: the exponential draw is most of its ~8 ns per success."""
    if first >= (1 << 62):  # p = 0: never
        return np.empty(0, np.int64), first
    out = np.empty(cap, np.int64)
    k = 0
    c = first
    while c < end:
        if k == cap:
            cap *= 2
            grown = np.empty(cap, np.int64)
            grown[:k] = out[:k]
            out = grown
        out[k] = c
        k += 1
        c += 1 + np.int64(rng.standard_exponential() * scale)
    return out[:k], c - end


def external_current_schedule(net: Network, layout: Layout) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """``[(step, v_current, channel_input)]``: from ``step`` on, what current sources supply.

    Into a model with receptors (CubaLIF) a current source feeds the named receptor's synaptic
    input every step (``channel_input``, shape ``(channels, n)``); into LIF/IF/threshold neurons,
    or named ``MEMBRANE``, it is a current in the membrane equation (``v_current``, shape ``(n,)``).
    """
    pieces = []
    for proj in net.projections:
        src = net.node(proj.pre)
        if not isinstance(src, CurrentSource):
            continue
        post = net.node(proj.post)
        c = proj.connectivity
        amp = np.broadcast_to(src.amplitude, (src.size,))[c.pre_indices()] * c.synapse_weights()
        current = np.zeros((layout.channels + 1) * layout.n)
        row = 0 if proj.into_membrane(post) else post.model.channel_of(proj.receptor) + 1
        np.add.at(current, row * layout.n + layout.offsets[proj.post] + c.indices.astype(np.int64), amp)
        start = int(np.rint(src.start / net.dt))
        stop = int(np.rint(src.stop / net.dt)) if np.isfinite(src.stop) else None
        pieces.append((start, stop, current))
    change_steps = sorted({0} | {p[0] for p in pieces} | {p[1] for p in pieces if p[1] is not None})
    schedule = []
    for step in change_steps:
        total = np.zeros((layout.channels + 1) * layout.n)
        for start, stop, current in pieces:
            if start <= step and (stop is None or step < stop):
                total += current
        total = total.reshape(layout.channels + 1, layout.n)
        schedule.append((step, total[0], total[1:]))
    return schedule
