"""Analyses of simulation results: float vs fixed point comparison, spike-train distances, learned
weight distributions."""

from .compare import CompareResult, compare_networks
from .spike_distance import van_rossum
from .weights import WeightDistribution, weight_distribution

__all__ = ["CompareResult", "WeightDistribution", "compare_networks", "van_rossum", "weight_distribution"]
