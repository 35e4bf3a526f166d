"""Side-by-side figure of a float vs fixed-point comparison: rasters and per-population rates."""

from __future__ import annotations

import numpy as np

from .figure import Figure, png_bytes

__all__ = ["accuracy_bits_png", "compare_figure", "compare_png", "confusion_png"]


def _raster(ax, result, title):
    offset = 0
    for k, (name, steps) in enumerate(result.spike_steps.items()):
        ids = result.spike_ids[name]
        if steps.size > 100_000:
            keep = np.linspace(0, steps.size - 1, 100_000).astype(np.int64)
            steps, ids = steps[keep], ids[keep]
        ax.scatter(steps * result.dt, ids + offset, s=1.0, marker="|", linewidths=0.6, color=f"C{k}", rasterized=True)
        offset += result.sizes[name]
    ax.set_xlim(0, result.duration)
    ax.set_ylim(0, max(offset, 1))
    ax.set_xlabel("time (s)")
    ax.set_title(title)


def compare_png(cmp) -> bytes:
    return png_bytes(compare_figure(cmp))


def compare_figure(cmp) -> Figure:
    """Float and fixed-point rasters side by side, and the rates of each population."""
    a, b = cmp.float_result, cmp.hw_result
    fig = Figure(figsize=(15, 4.5), dpi=100)
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [2, 2, 1.2]})
    _raster(axes[0], a, "float")
    _raster(axes[1], b, f"fixed point ({cmp.target})")
    axes[0].set_ylabel("neuron")
    names = list(cmp.populations)
    pos = np.arange(len(names))
    axes[2].bar(pos - 0.2, [cmp.populations[p]["float_rate_hz"] for p in names], 0.4, label="float")
    axes[2].bar(pos + 0.2, [cmp.populations[p]["hw_rate_hz"] for p in names], 0.4, label=cmp.target)
    axes[2].set_xticks(pos, names, rotation=45, ha="right", fontsize="small")
    axes[2].set_ylabel("rate (Hz)")
    axes[2].legend(fontsize="small")
    title = "float vs fixed point"
    if cmp.float_accuracy is not None:
        title += f": accuracy {cmp.float_accuracy:.3f} (float) vs {cmp.hw_accuracy:.3f} ({cmp.target})"
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_png(cmp) -> bytes:
    """Confusion matrices of the float and the fixed-point classification (``nmc compare --data``)."""
    fig = Figure(figsize=(10, 4.5), dpi=100)
    axes = fig.subplots(1, 2)
    for ax, (name, accuracy) in zip(axes, (("float", cmp.float_accuracy), ("hw", cmp.hw_accuracy))):
        m = np.asarray(cmp.confusion[name])
        ax.imshow(m, cmap="Blues")
        for (i, j), count in np.ndenumerate(m):
            if count:
                ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                        color="white" if count > m.max() / 2 else "black")
        ax.set_xlabel("predicted")
        ax.set_ylabel("label")
        label = "float" if name == "float" else f"fixed point ({cmp.target})"
        ax.set_title(f"{label}: {100 * accuracy:.1f} % of {cmp.samples}")
    fig.tight_layout()
    return png_bytes(fig)


def accuracy_bits_png(cmp) -> bytes:
    """Hardware accuracy against the weight mantissa's width, with the float accuracy as a line."""
    fig = Figure(figsize=(6, 4), dpi=100)
    ax = fig.subplots()
    bits = [p["weight_bits"] for p in cmp.accuracy_vs_weight_bits]
    ax.plot(bits, [100 * p["hw_accuracy"] for p in cmp.accuracy_vs_weight_bits], "o-", label=f"{cmp.target} format")
    ax.axhline(100 * cmp.float_accuracy, color="k", ls="--", lw=1, label="float")
    ax.set_xlabel("weight bits")
    ax.set_ylabel(f"accuracy (%) on {cmp.samples} samples")
    ax.legend()
    fig.tight_layout()
    return png_bytes(fig)
