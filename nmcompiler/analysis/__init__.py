"""Analyses of simulation results: float vs fixed point comparison, spike-train distances."""

from .compare import CompareResult, compare_networks
from .spike_distance import van_rossum

__all__ = ["CompareResult", "compare_networks", "van_rossum"]
