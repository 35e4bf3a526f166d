"""A mapping: which core runs each neuron, where each core sits, and what each core uses."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..targets import Target

__all__ = ["CoreUsage", "Mapping"]


@dataclass(frozen=True, kw_only=True)
class CoreUsage:
    """Resources used per core (arrays indexed by core id)."""

    neurons: np.ndarray
    synapse_bits: np.ndarray
    input_axons: np.ndarray  # distinct presynaptic sources (neurons or source channels) per core
    output_axons: np.ndarray  # distinct destination cores per core


@dataclass(frozen=True, kw_only=True)
class Mapping:
    target: Target
    core_of: np.ndarray  # global neuron index -> core id (neurons in the simulators' index order)
    position: np.ndarray  # core id -> (chip, row, column) on the target's mesh
    usage: CoreUsage
    offsets: dict[str, int] = field(default_factory=dict)  # population -> first global neuron index
    # crossbar targets: core -> (sorted axon keys, targets.encoding.axon_keys, and the axon type of each),
    # from AssignAxonTypes
    axon_types: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    partial_sums: object | None = None  # PartialSums when fan-in goes through compartments (.partial_sums)

    @property
    def cores_used(self) -> int:
        return int(self.usage.neurons.size)
