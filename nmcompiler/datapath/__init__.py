"""Fixed-point neuron datapath: numeric formats and the per-tick contract (docs/datapath.md)."""

from .format import DecayKind, NumericFormat, Order, Rounding, load_format, target_names
from .learning import LearningFormat
from .neuron import NeuronParams, NeuronState, decay, saturate, shift_right, tick

__all__ = ["DecayKind", "NumericFormat", "Order", "Rounding", "load_format", "target_names", "LearningFormat", "NeuronParams",
           "NeuronState", "decay", "saturate", "shift_right", "tick"]
