"""Simulators, consumers of the IR (float) and of the lowered form (bit-accurate): the float reference
simulator, the bit-accurate simulator (:mod:`.bit_sim`) and results."""

from .float_sim import FloatSimulator, simulate
from .result import SimResult, Trace

__all__ = ["FloatSimulator", "simulate", "SimResult", "Trace"]
