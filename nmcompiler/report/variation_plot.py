"""Accuracy (or rates) over chip instances of an analog substrate (``nmc compare --instances``)."""

from __future__ import annotations

import numpy as np

from .figure import Figure, png_bytes

__all__ = ["variation_png"]


def variation_png(report) -> bytes:
    """One point per chip instance, the float network and the nominal chip as lines: accuracy with
    labelled data, else each population's rate."""
    fig = Figure(figsize=(6, 4), dpi=100)
    ax = fig.subplots()
    mode = "calibrated" if report.calibrated else "uncalibrated"
    if report.network.accuracy is not None:
        acc = np.array([100 * r.accuracy for r in report.instances])
        ax.plot(np.arange(acc.size), acc, "o", label=f"chip instances ({mode})")
        ax.axhline(100 * report.network.accuracy, color="k", ls="--", lw=1, label="float network")
        ax.axhline(100 * report.nominal.accuracy, color="C1", ls=":", lw=1, label="nominal chip (digital weights)")
        ax.set_ylabel("accuracy (%)")
    else:
        for k, pop in enumerate(report.network.rates):
            ax.plot([r.rates[pop] for r in report.instances], "o", color=f"C{k}", label=pop)
            ax.axhline(report.network.rates[pop], color=f"C{k}", ls="--", lw=1)
        ax.set_ylabel(f"rate (Hz; {mode}; dashed: float network)")
    ax.set_xlabel("chip instance")
    ax.set_title(f"{report.target}" + (f", every CV {report.cv:g}" if report.cv is not None else ""))
    ax.legend(fontsize="small")
    fig.tight_layout()
    return png_bytes(fig)
