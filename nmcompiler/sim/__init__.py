"""Simulators: the float reference simulator (the bit-accurate one follows in a later issue)."""

from .float_sim import FloatSimulator, simulate
from .result import SimResult, Trace

__all__ = ["FloatSimulator", "simulate", "SimResult", "Trace"]
