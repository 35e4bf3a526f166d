"""The graph IR: neuron models, nodes, projections and the network graph."""

from .connectivity import Connectivity, Projection
from .convolution import ConvStage, Convolution
from .learned import with_weights
from .learning import LEARNING_RULES, STDP, RewardSTDP
from .models import MEMBRANE, IF, LIF, MODELS, CubaLIF, Integration, NeuronModel, Propagator, ResetMode, ThresholdUnit
from .network import Network, NetworkStats, PopulationStats
from .nodes import NODE_KINDS, CurrentSource, Node, PoissonSource, Population, Probe, Readout, SpikeSource
from .serialize import FORMAT_VERSION, load_network_file, save_network

__all__ = [
    "MEMBRANE", "STDP", "RewardSTDP", "LEARNING_RULES",
    "Connectivity", "Projection", "ConvStage", "Convolution", "IF", "LIF", "MODELS", "CubaLIF", "NeuronModel", "Propagator",
    "ResetMode", "Integration", "ThresholdUnit", "Network", "NetworkStats", "PopulationStats", "NODE_KINDS", "CurrentSource", "Node",
    "PoissonSource", "Population", "Probe", "Readout", "SpikeSource", "FORMAT_VERSION", "load_network_file",
    "save_network", "with_weights",
]
