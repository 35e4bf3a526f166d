"""A mapping, the result of the compile flow (its algorithms live beside it in this package):
which core runs each neuron, where each core sits, what each core uses, the routes and routing
tables, and the partial-sum compartments, for the effective target. ``save``/``load`` keep it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..targets import Target
from .route import LinkLoads
from .tables import RoutingTables

if TYPE_CHECKING:
    from .conv_assign import LayerPart
    from .partial_sums import PartialSums

__all__ = ["CoreUsage", "Mapping", "Routes"]


@dataclass(frozen=True, kw_only=True)
class CoreUsage:
    """Resources used per core (arrays indexed by core id)."""

    neurons: np.ndarray
    synapse_bits: np.ndarray
    input_axons: np.ndarray  # distinct presynaptic sources (crossbar: (source, delay) pairs) per core
    output_axons: np.ndarray  # distinct destination cores per core

    def utilization(self, core) -> dict[str, np.ndarray]:
        """Per core, the share of each of ``core``'s (a target's core) limits in use."""
        return {"neurons": self.neurons / core.neurons, "synapse_memory": self.synapse_bits / core.synapse_memory_bits,
                "input_axons": self.input_axons / core.input_axons, "output_axons": self.output_axons / core.output_axons}


@dataclass(frozen=True, kw_only=True, eq=False)
class Routes:
    """Where the traffic goes: link loads of dimension-order routing (None: one core) and, on
    targets with keyed routing, the routing tables of every chip (from the connectivity, so a
    route exists for every pair of cores a synapse joins, whatever the rates)."""

    links: LinkLoads | None = None
    tables: RoutingTables | None = None

    @property
    def max_link_load(self) -> float | None:
        return None if self.links is None else self.links.max

    @property
    def total_link_load(self) -> float | None:
        return None if self.links is None else self.links.total


@dataclass(frozen=True, kw_only=True, eq=False)
class Mapping:
    target: Target  # the effective target (sized, with multi-compartment neurons)
    core_of: np.ndarray  # global neuron index -> core id (neurons in the simulators' index order)
    position: np.ndarray  # core id -> (chip, row, column) on the target's mesh
    usage: CoreUsage
    offsets: dict[str, int] = field(default_factory=dict)  # population -> first global neuron index
    # crossbar targets: core -> (sorted axon keys, targets.encoding.axon_keys, and the axon type of each),
    # from AssignAxonTypes
    axon_types: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    partial_sums: PartialSums | None = None  # when fan-in goes through compartments (.partial_sums)
    routes: Routes = field(default_factory=Routes)
    # convolution targets: logical core k runs layer_parts[k] (a layer's output channels) on chip core .core
    layer_parts: tuple[LayerPart, ...] = ()
    cam_bases: np.ndarray | None = None  # CAM targets: (cores, base weights) each core's base weights

    @property
    def cores_used(self) -> int:
        return int(self.usage.neurons.size)

    def save(self, path: str | Path) -> bytes:
        """The mapping as ``.npz`` bytes (written to ``path`` too, unless it is None)."""
        from .mapping_io import save_mapping

        return save_mapping(self, path)

    @staticmethod
    def load(path: str | Path) -> Mapping:
        from .mapping_io import load_mapping

        return load_mapping(path)
