"""Passes over the IR: small frozen objects whose fields are their options."""

from .quantize import Quantize
from .relay_delays import RelayLongDelays

__all__ = ["Quantize", "RelayLongDelays"]
