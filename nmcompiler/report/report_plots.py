"""The figures of ``report.html`` (PNG bytes, Agg, no software stamp): per-core utilization on the
mesh, link loads, confusion matrices, energy and traffic per core, pass timings."""

from __future__ import annotations

import numpy as np

from .figure import Figure, png_bytes

__all__ = ["bars_png", "confusion_pair_png", "link_load_png", "utilization_png"]

_RESOURCES = ("neurons", "synapse_memory", "input_axons", "output_axons")


def _png(fig: Figure) -> bytes:
    return png_bytes(fig, bbox_inches="tight", pad_inches=0.1)


def _mesh_grid(values: np.ndarray, position: np.ndarray, mesh: tuple[int, int], chip: int) -> np.ndarray:
    grid = np.full(mesh, np.nan)
    on_chip = position[:, 0] == chip
    grid[position[on_chip, 1], position[on_chip, 2]] = values[on_chip]
    return grid


def utilization_png(utilization: dict[str, np.ndarray], position: np.ndarray, mesh: tuple[int, int],
                    title: str) -> bytes:
    """One heatmap per resource (share of the core's limit) on the first chip's mesh."""
    fig = Figure(figsize=(3.1 * len(_RESOURCES) + 0.8, 3.2), dpi=100)
    axes = fig.subplots(1, len(_RESOURCES), squeeze=False)[0]
    im = None
    for ax, kind in zip(axes, _RESOURCES):
        im = ax.imshow(_mesh_grid(utilization[kind], position, mesh, 0), vmin=0, vmax=1, cmap="viridis",
                       interpolation="nearest")
        ax.set_title(kind.replace("_", " "), fontsize="small")
        ax.set_xlabel("x", fontsize="x-small")
        ax.set_ylabel("y", fontsize="x-small")
        ax.tick_params(labelsize="x-small")
    fig.colorbar(im, ax=axes, fraction=0.02, label="share of the core's limit")
    fig.suptitle(title, fontsize="medium")
    return _png(fig)


def link_load_png(horizontal: np.ndarray, vertical: np.ndarray, title: str) -> bytes:
    """Spikes per second on each mesh link, eastward and southward."""
    fig = Figure(figsize=(8, 3.6), dpi=100)
    axes = fig.subplots(1, 2, squeeze=False)[0]
    top = float(max(horizontal.max(initial=0.0), vertical.max(initial=0.0))) or 1.0
    im = None
    for ax, grid, name in ((axes[0], horizontal, "x: (y, x) to (y, x+1)"), (axes[1], vertical, "y: (y, x) to (y+1, x)")):
        im = ax.imshow(grid, vmin=0, vmax=top, cmap="magma", interpolation="nearest")
        ax.set_title(name, fontsize="small")
        ax.tick_params(labelsize="x-small")
    fig.colorbar(im, ax=axes, fraction=0.03, label="spikes per second")
    fig.suptitle(title, fontsize="medium")
    return _png(fig)


def confusion_pair_png(matrices: dict[str, list], labels: dict[str, str]) -> bytes:
    """Confusion matrices side by side (rows: true class, columns: predicted)."""
    fig = Figure(figsize=(4.2 * len(matrices), 3.8), dpi=100)
    axes = fig.subplots(1, len(matrices), squeeze=False)[0]
    for ax, (key, matrix) in zip(axes, matrices.items()):
        m = np.asarray(matrix, dtype=np.float64)
        ax.imshow(m, cmap="Blues", interpolation="nearest")
        ax.set_title(labels.get(key, key), fontsize="small")
        ax.set_xlabel("predicted", fontsize="x-small")
        ax.set_ylabel("true", fontsize="x-small")
        ax.tick_params(labelsize="x-small")
        if m.shape[0] <= 12:
            for (i, j), v in np.ndenumerate(m):
                if v:
                    ax.text(j, i, f"{int(v)}", ha="center", va="center", fontsize="xx-small",
                            color="white" if v > m.max() / 2 else "black")
    return _png(fig)


def bars_png(values: dict[str, float] | list[float], title: str, unit: str, *, horizontal: bool = True) -> bytes:
    """A bar chart of named values (a dict) or of values per index (a list: per core)."""
    names = list(values) if isinstance(values, dict) else [str(i) for i in range(len(values))]
    data = np.asarray(list(values.values()) if isinstance(values, dict) else values, dtype=np.float64)
    many = len(names) > 40
    fig = Figure(figsize=(7, min(0.28 * len(names) + 1.2, 8) if horizontal and not many else 3.2), dpi=100)
    ax = fig.subplots()
    if horizontal and not many:
        ax.barh(names[::-1], data[::-1], color="#4c72b0")
        ax.set_xlabel(unit, fontsize="small")
    else:
        ax.bar(np.arange(len(names)), data, color="#4c72b0", width=1.0 if many else 0.8)
        ax.set_ylabel(unit, fontsize="small")
        ax.set_xlabel("core" if not isinstance(values, dict) else "", fontsize="small")
    ax.tick_params(labelsize="x-small")
    ax.set_title(title, fontsize="medium")
    return _png(fig)
