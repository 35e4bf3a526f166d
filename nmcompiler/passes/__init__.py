"""Passes over the IR: small frozen objects whose fields are their options."""

from .quantize import Quantize

__all__ = ["Quantize"]
