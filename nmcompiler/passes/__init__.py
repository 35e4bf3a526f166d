"""Passes over the IR: small frozen objects whose fields are their options."""

from .cluster_weights import Clustered, ClusterWeights
from .quantize import Quantize
from .relay_delays import RelayLongDelays
from .results import WeightChange

__all__ = ["Clustered", "ClusterWeights", "Quantize", "RelayLongDelays", "WeightChange"]
