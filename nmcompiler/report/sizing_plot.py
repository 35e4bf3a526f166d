"""Sizing chart: every candidate core of ``nmc compile --size``, its cores against its chip's memory."""

from __future__ import annotations

from matplotlib import colormaps
from matplotlib.ticker import FormatStrFormatter

from .figure import Figure, png_bytes

__all__ = ["sizing_figure", "sizing_png"]


def sizing_png(sizing, title: str) -> bytes:
    return png_bytes(sizing_figure(sizing, title), bbox_inches="tight", pad_inches=0.15)


def sizing_figure(sizing, title: str) -> Figure:
    """Candidates that hold the network as points (colour: input axons per core; label: neurons
    per core), the chosen one circled; pruned ones (not sized, see :class:`.SizeTarget`) hollow at
    their cost's lower bound; below, how many choices cannot hold the network."""
    fits = [c for c in sizing.candidates if c.rejected is None]
    rejected = len(sizing.candidates) - len(fits)
    pruned = [c for c in fits if c.pruned]
    fits = [c for c in fits if not c.pruned]
    fig = Figure(figsize=(7, 4.6), dpi=100)
    ax = fig.subplots()
    axons = sorted({c.input_axons for c in fits} | {c.input_axons for c in pruned})
    cmap = colormaps["viridis"].resampled(max(len(axons), 2))
    for k, a in enumerate(axons):
        low = [c for c in pruned if c.input_axons == a]
        if low:
            ax.scatter([c.cores for c in low], [c.memory_bits_bound / 2**23 for c in low], facecolors="none",
                       edgecolors=cmap(k), s=36, zorder=3)
        for c in low:
            ax.annotate(str(c.neurons), (c.cores, c.memory_bits_bound / 2**23), textcoords="offset points",
                        xytext=(4, 3), fontsize="x-small", alpha=0.6)
        pts = [c for c in fits if c.input_axons == a]
        ax.scatter([c.cores for c in pts], [c.memory_bits / 2**23 for c in pts], color=cmap(k), s=36,
                   label=f"{a} input axons", zorder=3)
        for c in pts:
            ax.annotate(str(c.neurons), (c.cores, c.memory_bits / 2**23), textcoords="offset points", xytext=(4, 3),
                        fontsize="x-small")
    best = sizing.chosen
    ax.scatter([best.cores], [best.memory_bits / 2**23], s=220, facecolors="none", edgecolors="red", linewidths=1.6,
               label="chosen", zorder=4)
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FormatStrFormatter("%g"))
        axis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.tick_params(which="minor", labelsize="x-small")
    ax.set_xlabel("cores")
    ax.set_ylabel("chip memories (MiB)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small", loc="best")
    ax.set_title(title, fontsize="medium")
    fig.text(0.01, -0.03, f"labels: neurons per core; {rejected} of {len(sizing.candidates)} choices cannot hold "
             f"the network; hollow: {len(pruned)} not sized, at their lower bound (over the chosen)",
             fontsize="x-small")
    return fig
