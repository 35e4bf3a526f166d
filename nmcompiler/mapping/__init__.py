"""Mapping a network onto a target: partitioning neurons onto cores and placing cores."""

from .compile import CompileReport, compile_network
from .mapping import CoreUsage, Mapping
from .partition import IndexOrder, Metis

__all__ = ["CompileReport", "compile_network", "CoreUsage", "Mapping", "IndexOrder", "Metis"]
