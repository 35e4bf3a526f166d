"""Placement heatmap: neurons per core on each used chip's mesh."""

from __future__ import annotations

import math

import numpy as np

from .figure import Figure, png_bytes

__all__ = ["placement_figure", "placement_png"]


def placement_png(mapping, title: str) -> bytes:
    return png_bytes(placement_figure(mapping, title), bbox_inches="tight", pad_inches=0.15)  # room for the colorbar label


def placement_figure(mapping, title: str) -> Figure:
    """Neuron utilization of each core on each used chip's mesh (the first 16 chips)."""
    target = mapping.target
    rows, cols = target.chip.mesh
    pos = mapping.position
    chips = int(pos[:, 0].max()) + 1 if pos.size else 1
    shown = min(chips, 16)
    grid_cols = min(shown, 4)
    grid_rows = math.ceil(shown / grid_cols)
    fig = Figure(figsize=(3.2 * grid_cols + 1, 3 * grid_rows + 0.6), dpi=100)
    axes = fig.subplots(grid_rows, grid_cols, squeeze=False)
    util = mapping.usage.neurons / target.core.neurons
    for k in range(grid_rows * grid_cols):
        ax = axes[k // grid_cols][k % grid_cols]
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= shown:
            ax.axis("off")
            continue
        grid = np.full((rows, cols), np.nan)
        on_chip = pos[:, 0] == k
        grid[pos[on_chip, 1], pos[on_chip, 2]] = util[on_chip]
        im = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", interpolation="nearest")
        ax.set_title(f"chip {k}", fontsize="small")
    fig.colorbar(im, ax=axes, fraction=0.03, label="neuron utilization")
    fig.suptitle(title + (f" (first 16 of {chips} chips)" if chips > 16 else ""))
    return fig
