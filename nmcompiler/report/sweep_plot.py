"""A sweep's Pareto plot (``nmc sweep``, and its section of ``nmc report``): accuracy against cores
and against energy per inference, every point that ran, the Pareto front joined."""

from __future__ import annotations

from .figure import Figure, png_bytes

__all__ = ["pareto_png"]


def pareto_png(doc: dict) -> bytes:
    """The plot of ``sweep.json``'s rows (``doc``)."""
    rows = [r for r in doc["rows"] if r["status"] == "ok" and r["accuracy"] is not None]
    fig = Figure(figsize=(10, 4), dpi=100)
    axes = fig.subplots(1, 2)
    refs = sorted({r["float_accuracy"] for r in rows if r["float_accuracy"] is not None})
    for ax, column, kind, label in ((axes[0], "cores", "cores", "cores"),
                                    (axes[1], "energy_j", "energy", "energy per inference (J)")):
        pts = [r for r in rows if r[column] is not None]
        if not pts:
            ax.text(0.5, 0.5, f"no {label}\n(no target of the sweep has an energy model)", ha="center",
                    va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        groups = sorted({str(r.get("target")) for r in pts}) if "target" in doc["axes"] else [None]
        for k, group in enumerate(groups):
            mine = [r for r in pts if group is None or str(r.get("target")) == group]
            ax.plot([r[column] for r in mine], [100 * r["accuracy"] for r in mine], "o", ms=5, alpha=0.6,
                    color="0.6" if group is None else f"C{k % 3}", label=f"{group or 'points'} ({len(mine)})")
        front = sorted((r for r in pts if r[f"pareto_{kind}"]), key=lambda r: r[column])
        ax.plot([r[column] for r in front], [100 * r["accuracy"] for r in front], "o-", color="C3", ms=4,
                label=f"Pareto front ({len(front)})")
        for ref in refs:
            ax.axhline(100 * ref, color="k", ls="--", lw=1, label="float network" if ref == refs[0] else None)
        values = [r[column] for r in pts]
        if kind == "energy" and min(values) > 0 and max(values) > 10 * min(values):
            ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("accuracy on the image (%)")
        ax.legend(fontsize="small", loc="lower right")
    c = doc["counts"]
    fig.suptitle(f"{doc['sweep']}: {len(doc['rows'])} points ({c['ok']} ran, {c['misfit']} do not fit, "
                 f"{c['failed']} failed)")
    fig.tight_layout()
    return png_bytes(fig)
