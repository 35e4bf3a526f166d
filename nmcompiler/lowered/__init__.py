"""The lowered form: a network as flat integer tables in one index space, between the IR and
everything that consumes it (the image builder, the mapper's passes, the simulators).

:class:`SimProgram` is what the bit-accurate simulator runs and what an image decodes to;
:class:`SynapseTable` its synapses (CSR by presynaptic index), :class:`SynapsePieces` the same
table as the fixed-point projections' own arrays; :class:`Compartments` the
partial-sum compartments; :class:`PlasticProjection` the projections that learn;
:class:`NeuronIndex` where each population's neurons sit.
"""

from .compartments import Compartments, cannot_saturate
from .index import NeuronIndex, neuron_index
from .pieces import SynapsePieces, TablePiece, incoming_reach, pieces_of, weight_range
from .plastic import PlasticProjection
from .program import PopulationSlot, SimProgram, probe_all, program_from_fixed_point
from .table import SynapseTable, incoming_weight, synapse_table

__all__ = ["Compartments", "NeuronIndex", "PlasticProjection", "PopulationSlot", "SimProgram", "SynapsePieces", "SynapseTable",
           "TablePiece", "probe_all",
           "cannot_saturate",
           "incoming_reach", "incoming_weight", "neuron_index", "pieces_of", "program_from_fixed_point", "synapse_table",
           "weight_range"]
