"""The Nengo frontend: NEF models built by Nengo's own builder, converted to nmcompiler networks
(:func:`from_nengo`), with their probes as decoded readouts (docs/nengo.md)."""

from .convert import NengoModel, Readout, from_nengo, lowpass

__all__ = ["NengoModel", "Readout", "from_nengo", "lowpass"]
