"""The Nengo frontend: NEF models built by Nengo's own builder, converted to nmcompiler networks
(:func:`from_nengo`), with their probes as decoded readouts (docs/nengo.md)."""

from .convert import NengoModel, from_nengo, lowpass
from .script import load_nengo_script

__all__ = ["NengoModel", "from_nengo", "load_nengo_script", "lowpass"]
