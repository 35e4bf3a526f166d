"""Passes over the IR: small frozen objects whose fields are their options."""

from .cluster_weights import ClusterWeights
from .quantize import Quantize
from .relay_delays import RelayLongDelays

__all__ = ["ClusterWeights", "Quantize", "RelayLongDelays"]
