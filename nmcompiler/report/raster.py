"""Spike raster plot (a matplotlib figure; reproducible PNG bytes)."""

from __future__ import annotations

import numpy as np

from ..sim.result import SimResult
from .figure import Figure, png_bytes

__all__ = ["raster_figure", "raster_png"]

_MAX_DOTS = 200_000
_MAX_READOUT_TRACES = 32


def raster_png(result: SimResult, title: str | None = None) -> bytes:
    return png_bytes(raster_figure(result, title))


def raster_figure(result: SimResult, title: str | None = None) -> Figure:
    """Raster of every recorded population stacked vertically, with population rates in the legend;
    below it, the membrane of non-spiking readouts (recorded ``v`` of populations without spikes)
    when they have at most :data:`_MAX_READOUT_TRACES` neurons in all."""
    readouts = [t for t in result.traces.values() if t.variable == "v" and t.population not in result.spike_steps]
    plot_readouts = bool(readouts) and sum(t.values.shape[-1] for t in readouts) <= _MAX_READOUT_TRACES
    fig = Figure(figsize=(10, 7.5 if plot_readouts else 5), dpi=100)
    if plot_readouts:
        ax, below = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
        _readouts(below, readouts, result.dt)
    else:
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
    ax.set_ylim(-0.5, max(offset, 1) - 0.5)  # each neuron's row centred, the first and last too
    ax.set_xlabel("time (s)")
    ax.set_ylabel("neuron")
    ax.set_title(title or f"{result.network}: {result.duration:g} s, {result.simulator} simulator")
    if result.spike_steps:
        ax.legend(loc="upper right", markerscale=8, fontsize="small")
    fig.tight_layout()
    return fig


def _readouts(ax, traces, dt: float) -> None:
    for trace in traces:
        t = np.arange(trace.values.shape[0]) * dt
        for k, neuron in enumerate(trace.neurons):
            ax.plot(t, trace.values[:, k], lw=0.8, label=f"{trace.population}[{neuron}]")
    ax.set_ylabel("readout v")
    ax.set_xlabel("time (s)")
    ax.legend(loc="upper right", fontsize="x-small", ncol=4)
