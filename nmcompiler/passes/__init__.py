"""Passes over the IR: small frozen objects whose fields are their options."""

from .bias_onsets import CompensateBiasOnsets, Compensated
from .cluster_weights import Clustered, ClusterWeights
from .quantize import Quantize
from .relay_delays import RelayLongDelays
from .results import WeightChange

__all__ = ["Clustered", "ClusterWeights", "CompensateBiasOnsets", "Compensated", "Quantize", "RelayLongDelays",
           "WeightChange"]
