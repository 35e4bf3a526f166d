"""Spike raster plot (a matplotlib figure; reproducible PNG bytes)."""

from __future__ import annotations

import numpy as np

from ..sim.result import SimResult
from .figure import Figure, png_bytes

__all__ = ["raster_figure", "raster_png"]

_MAX_DOTS = 200_000


def raster_png(result: SimResult, title: str | None = None) -> bytes:
    return png_bytes(raster_figure(result, title))


def raster_figure(result: SimResult, title: str | None = None) -> Figure:
    """Raster of every recorded population stacked vertically, with population rates in the legend."""
    fig = Figure(figsize=(10, 5), dpi=100)
    ax = fig.subplots()
    offset = 0
    rates = result.rates()
    for k, (name, steps) in enumerate(result.spike_steps.items()):
        ids = result.spike_ids[name]
        if steps.size > _MAX_DOTS:  # keep the figure light: plot an even subsample
            keep = np.linspace(0, steps.size - 1, _MAX_DOTS).astype(np.int64)
            steps, ids = steps[keep], ids[keep]
        ax.scatter(steps * result.dt, ids + offset, s=1.0, marker="|", linewidths=0.6, color=f"C{k}",
                   label=f"{name} ({rates[name]:.1f} Hz)", rasterized=True)
        offset += result.sizes[name]
    ax.set_xlim(0, result.duration)
    ax.set_ylim(0, max(offset, 1))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("neuron")
    ax.set_title(title or f"{result.network}: {result.duration:g} s, {result.simulator} simulator")
    if result.spike_steps:
        ax.legend(loc="upper right", markerscale=8, fontsize="small")
    fig.tight_layout()
    return fig
