"""Spike and current inputs of the simulators, generated per step from the network's sources."""

from __future__ import annotations

import numpy as np

from ..frontends.values import stream
from ..ir import CurrentSource, Network, PoissonSource, SpikeSource
from .layout import Layout

__all__ = ["SourceSpikes", "external_current_schedule"]


class SourceSpikes:
    """Spikes of all spike sources, step by step, as global presynaptic indices.

    Poisson draws come in blocks of steps from a per-source random stream, so results depend
    only on the seed and the source's name.
    """

    def __init__(self, net: Network, layout: Layout, seed: int, block: int = 1024):
        self.dt = net.dt
        self.block = block
        self.explicit_steps: list[np.ndarray] = []
        self.explicit_ids: list[np.ndarray] = []
        self.poisson = []
        for src in net.sources:
            offset = layout.offsets[src.name]
            if isinstance(src, SpikeSource):
                self.explicit_steps.append(np.rint(src.times / net.dt).astype(np.int64))
                self.explicit_ids.append(src.ids + offset)
            elif isinstance(src, PoissonSource):
                p = np.clip(np.broadcast_to(src.rate, (src.size,)) * net.dt, 0.0, 1.0)
                self.poisson.append((src, offset, p, stream(seed, "poisson", src.name)))
        steps = np.concatenate(self.explicit_steps or [np.zeros(0, np.int64)])
        ids = np.concatenate(self.explicit_ids or [np.zeros(0, np.int64)])
        order = np.lexsort((ids, steps))
        self._steps, self._ids = steps[order], ids[order]
        self._cache_start = -(1 << 62)
        self._cache: list[np.ndarray] = []

    def _fill(self, start: int) -> None:
        per_step: list[list[np.ndarray]] = [[] for _ in range(self.block)]
        lo, hi = np.searchsorted(self._steps, [start, start + self.block])
        bounds = np.searchsorted(self._steps[lo:hi], np.arange(start, start + self.block + 1)) + lo
        for k in range(self.block):
            if bounds[k + 1] > bounds[k]:
                per_step[k].append(self._ids[bounds[k]:bounds[k + 1]])
        for src, offset, p, rng in self.poisson:
            t = (np.arange(start, start + self.block) * self.dt)[:, None]
            active = (t >= src.start) & (t < src.stop)
            mask = (rng.random((self.block, src.size)) < p) & active
            steps, ids = np.nonzero(mask)
            cuts = np.searchsorted(steps, np.arange(self.block + 1))
            for k in np.flatnonzero(np.diff(cuts)):
                per_step[k].append(ids[cuts[k]:cuts[k + 1]] + offset)
        self._cache = [np.concatenate(x) if len(x) > 1 else (x[0] if x else None) for x in per_step]
        self._cache_start = start

    def at(self, step: int) -> np.ndarray | None:
        """Global presynaptic indices of the source spikes in ``step`` (None if none)."""
        if not (self._cache_start <= step < self._cache_start + self.block):
            self._fill(step - step % self.block)
        return self._cache[step - self._cache_start]


def external_current_schedule(net: Network, layout: Layout) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """``[(step, v_current, channel_input)]``: from ``step`` on, what current sources supply.

    Into a model with receptors (CubaLIF) a current source feeds the named receptor's synaptic
    input every step (``channel_input``, shape ``(channels, n)``); into LIF/IF/threshold neurons
    it is a current in the membrane equation (``v_current``, shape ``(n,)``).
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
        row = post.model.channel_of(proj.receptor) + 1 if post.model.receptors else 0
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
