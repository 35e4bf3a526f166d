"""Figures without pyplot: every report builds a ``matplotlib.figure.Figure`` of its own (no
global backend is switched, so importing the reports is safe in Jupyter) and renders PNG bytes
with Agg, reproducibly (no software stamp)."""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["Figure", "png_bytes"]


def png_bytes(fig: Figure, **options) -> bytes:
    """``fig`` as PNG bytes (``options``: those of ``Figure.savefig``, e.g. ``bbox_inches``)."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None}, **options)
    return buf.getvalue()
