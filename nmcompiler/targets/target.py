"""Targets as data: chip mesh, per-core limits, numeric format, routing model, tick.

One YAML file per target in ``hwtargets/`` (``name``, ``format``, ``tick``, ``chip``, ``core``,
``routing``, ``convolution`` for convolution cores, ``ports`` for port-structured cores, ``cam`` for
content-addressable synapse memories, ``variation`` for analog substrates, ``cost`` for energy and
latency estimates), validated by ``target.schema.json``; a
user's own file works the same way.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jsonschema

from ..datapath.format import NumericFormat, format_from_document, read_target_document, target_names
from ..datapath.learning import LearningFormat
from ..errors import UserError
from ..units import QuantityError, parse_quantity
from .cam import CamSpec, cam_from_document
from .cost import CostModel, cost_from_document
from .convolution import ConvolutionSpec, convolution_from_document
from .encoding import StorageLayout, axon_keys, storage_layout
from .ports import PortsSpec, ports_from_document
from .variation import VariationSpec, variation_from_document

__all__ = ["ChipSpec", "CoreSpec", "RoutingSpec", "SizingSpec", "Target", "load_target", "target_from_document",
           "target_from_json", "target_names"]


@dataclass(frozen=True, kw_only=True)
class ChipSpec:
    mesh: tuple[int, int]  # the cores (that run neurons) of one chip, as rows x columns
    board: tuple[int, int]  # the chips of the default machine, as rows x columns
    max_chips: int  # the largest machine

    @property
    def cores_per_chip(self) -> int:
        return self.mesh[0] * self.mesh[1]

    @property
    def chips(self) -> int:
        return self.board[0] * self.board[1]


@dataclass(frozen=True, kw_only=True)
class CoreSpec:
    neurons: int
    input_axons: int  # distinct presynaptic sources a core can receive (fan-in)
    output_axons: int  # distinct destinations a core can send to (fan-out)
    synapse_memory_bits: int
    synapse_storage: str  # "sparse" | "crossbar" | "word32" | "convolution" | "cam"
    models: tuple[str, ...]
    axon_types: int | None = None  # crossbar cores: weights per (neuron, axon type)
    fan_out_per_neuron: int | None = None  # crossbar cores: axons one neuron can target
    partial_sum_bits: int | None = None  # graded messages: fan-in beyond the axons through partial sums
    receptor_compartments: int | None = None  # multi-compartment neurons: compartments one neuron may chain
    compartments_per_neuron: int = 1  # set by Target.with_receptors: neuron slots each neuron takes
    spikes_per_step: int = 1  # most spikes one neuron emits per tick (absent from the JSON when 1)
    learning_rules: tuple[str, ...] = ()  # learning rules the core runs on chip (absent from the JSON when none)
    signed_rows: bool = False  # an input axon holds one sign: a mixed-sign source takes two (JSON: only when true)


@dataclass(frozen=True, kw_only=True)
class RoutingSpec:
    kind: str  # "mesh" | "torus"
    dimension_order: str = "xy"
    key_bits: int | None = None
    table_entries: int | None = None


@dataclass(frozen=True, kw_only=True)
class SizingSpec:
    """A core generated to fit the network (fpga-lif): the choices ``nmc compile --size`` tries
    (:mod:`nmcompiler.mapping.sizing`)."""

    neurons: tuple[int, ...]  # neurons per core
    input_axons: tuple[int, ...]  # input axons per core
    memory_granule_bits: int  # the synapse memory is rounded up to a multiple of this
    max_cores: int  # the most cores of a sized chip


@dataclass(frozen=True, kw_only=True)
class Target:
    name: str
    format: NumericFormat
    tick: float
    chip: ChipSpec
    core: CoreSpec
    routing: RoutingSpec
    source: str  # file it was read from
    sizing: SizingSpec | None = None  # the core is generated to fit (None: fixed limits)
    learning: LearningFormat | None = None  # the learning engine's formats (None: cannot learn)
    convolution: ConvolutionSpec | None = None  # convolution cores (None: neurons and synapses)
    ports: PortsSpec | None = None  # a port-structured core (Xylo; None: a mesh of alike cores)
    variation: VariationSpec | None = None  # an analog substrate's device variation (None: digital, exact)
    cam: CamSpec | None = None  # content-addressable synapse memories (DYNAP-SE2; None: tables or crossbars)
    cost: CostModel | None = None  # energy and time per event (.cost; None: no estimates)

    @property
    def storage(self) -> StorageLayout:
        """The layout of the core's synapse memory (:mod:`.encoding`)."""
        return storage_layout(self.core.synapse_storage)

    def synapse_bits(self) -> int:
        """Bits one synapse takes in a sparse or word-based synapse memory (0 for crossbars)."""
        return self.storage.synapse_bits(self)

    def axon_keys(self, pre, delay):
        """Input-axon keys of (source, delay) pairs, sized from the delay range (:func:`.encoding.axon_keys`)."""
        return axon_keys(pre, delay, self.format.delay_max)

    def compartments_per_neuron(self, receptors: int) -> int | None:
        """Compartments a neuron with ``receptors`` current channels takes (None: it cannot be
        built). Each compartment holds ``format.receptors`` channels and one of the core's
        ``neurons`` slots; ``core.receptor_compartments`` is how many one neuron may chain."""
        per = max(1, self.format.receptors)
        k = -(-max(1, receptors) // per)
        return k if k == 1 or k <= (self.core.receptor_compartments or 1) else None

    def supports_model(self, kind: str) -> bool:
        """Whether the cores run neuron model ``kind``: listed in ``core.models``, or a memoryless
        threshold unit on a LIF core whose decay can keep nothing of the membrane (``multiply``
        by ``2^F - 2^F``, ``shift`` by 0: the datapath's full decay)."""
        if kind in self.core.models:
            return True
        return kind == "threshold" and "lif" in self.core.models and self.format.decay in ("multiply", "shift")

    def effective(self, receptors: int) -> Target:
        """The target a network (or image) whose neurons have ``receptors`` current channels is
        compiled for: :meth:`with_receptors` when that is more than the format's channels and the
        core can chain compartments, else ``self`` (the design rules then report what is over).
        The one definition of the effective target: the compile stage and image readers use it."""
        if self.format.has_current and receptors > self.format.receptors and self.compartments_per_neuron(receptors):
            return self.with_receptors(receptors)
        return self

    def with_receptors(self, receptors: int) -> Target:
        """The target as a network whose neurons have ``receptors`` current channels sees it.

        Beyond the format's channels, a neuron chains ``k = compartments_per_neuron(receptors)``
        compartments (Loihi's multi-compartment neurons): the extra compartments hold the extra
        channels' currents, which join (add) into the soma's membrane input. That is the datapath of
        docs/datapath.md with ``receptors`` channels, so the derived target's format has that many;
        its cores hold ``neurons // k`` neurons (each takes k compartment slots), and a synapse
        names its neuron and channel, i.e. its compartment. ``self`` when no compartments are needed.
        """
        k = self.compartments_per_neuron(receptors)
        if k is None:
            raise ValueError(f"{self.name}: a neuron cannot have {receptors} current channels")
        if receptors <= self.format.receptors:
            return self
        return dataclasses.replace(self, format=dataclasses.replace(self.format, receptors=receptors),
                                   core=dataclasses.replace(self.core, neurons=self.core.neurons // k,
                                                            compartments_per_neuron=k))

    @property
    def max_cores(self) -> int:
        return self.chip.max_chips * self.chip.cores_per_chip

    def to_json(self) -> dict:
        out = dataclasses.asdict(self)
        out["format"] = self.format.to_json()
        if out["core"]["spikes_per_step"] == 1:  # the default: descriptions and digests as before it existed
            del out["core"]["spikes_per_step"]
        if not out["core"]["learning_rules"]:
            del out["core"]["learning_rules"]
        if not out["core"]["signed_rows"]:
            del out["core"]["signed_rows"]
        if out["learning"] is None:  # descriptions and digests as before it existed
            del out["learning"]
        if out["convolution"] is None:
            del out["convolution"]
        if out["ports"] is None:
            del out["ports"]
        for section in ("variation", "cam", "cost"):
            if out[section] is None:
                del out[section]
        if self.cost is not None:
            out["cost"] = self.cost.to_json()
        out["synapse_bits"] = self.synapse_bits()
        out["max_cores"] = self.max_cores
        out["chip"]["cores_per_chip"] = self.chip.cores_per_chip
        return out


def target_from_json(doc: dict) -> Target:
    """The target :meth:`Target.to_json` wrote (a mapping file keeps its effective target so)."""
    from ..datapath.format import NumericFormat

    core = dict(doc["core"], models=tuple(doc["core"]["models"]),
                learning_rules=tuple(doc["core"].get("learning_rules", ())))
    chip = {k: (tuple(v) if isinstance(v, list) else v) for k, v in doc["chip"].items() if k != "cores_per_chip"}
    sizing = doc.get("sizing")
    if sizing is not None:
        sizing = SizingSpec(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in sizing.items()})
    learning = LearningFormat(**doc["learning"]) if doc.get("learning") else None
    convolution = convolution_from_document(doc["convolution"]) if doc.get("convolution") else None
    ports = ports_from_document(doc["ports"]) if doc.get("ports") else None
    variation = variation_from_document(doc["variation"]) if doc.get("variation") else None
    cam = cam_from_document(doc["cam"]) if doc.get("cam") else None
    cost = cost_from_document(doc["source"], doc["cost"]) if doc.get("cost") else None
    return Target(name=doc["name"], format=NumericFormat(**doc["format"]), tick=float(doc["tick"]),
                  chip=ChipSpec(**chip), core=CoreSpec(**core), routing=RoutingSpec(**doc["routing"]),
                  source=doc["source"], sizing=sizing, learning=learning, convolution=convolution, ports=ports,
                  variation=variation, cam=cam, cost=cost)


def _schema() -> dict:
    return json.loads(resources.files(__package__).joinpath("target.schema.json").read_text())


def load_target(target: str) -> Target:
    """A shipped target by name, or a target YAML file by path."""
    return target_from_document(*read_target_document(target))


def target_from_document(path: Path, doc: dict) -> Target:
    """The target a parsed target file describes (``path`` names it in messages), validated."""
    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        listing = "; ".join(f"{'.'.join(map(str, e.absolute_path)) or 'top level'}: {e.message}" for e in errors)
        raise UserError(f"{path}: not a valid target description: {listing}")
    try:
        tick = parse_quantity(doc["tick"], "time")
    except QuantityError as exc:
        raise UserError(f"{path}: tick: {exc}") from None
    core = dict(doc["core"])
    core["models"] = tuple(core["models"])
    core["learning_rules"] = tuple(core.get("learning_rules", ()))
    chip = dict(doc["chip"])
    chip["mesh"], chip["board"] = tuple(chip["mesh"]), tuple(chip["board"])
    sizing = None
    if "sizing" in doc:
        sz = dict(doc["sizing"])
        sizing = SizingSpec(**sz | {"neurons": tuple(sorted(sz["neurons"])),
                                    "input_axons": tuple(sorted(sz["input_axons"]))})
    learning = LearningFormat(**doc["learning"]) if "learning" in doc else None
    convolution = convolution_from_document(doc["convolution"]) if "convolution" in doc else None
    if (convolution is None) != (core["synapse_storage"] != "convolution"):
        raise UserError(f"{path}: core.synapse_storage 'convolution' and a 'convolution' section go together")
    ports = ports_from_document(doc["ports"]) if "ports" in doc else None
    variation = variation_from_document(doc["variation"]) if "variation" in doc else None
    cam = cam_from_document(doc["cam"]) if "cam" in doc else None
    if (cam is None) != (core["synapse_storage"] != "cam"):
        raise UserError(f"{path}: core.synapse_storage 'cam' and a 'cam' section go together")
    cost = cost_from_document(path, doc["cost"]) if "cost" in doc else None
    target = Target(name=doc["name"], format=format_from_document(path, doc), tick=tick, chip=ChipSpec(**chip),
                    core=CoreSpec(**core), routing=RoutingSpec(**doc["routing"]), source=str(path), sizing=sizing,
                    learning=learning, convolution=convolution, ports=ports, variation=variation, cam=cam,
                    cost=cost)
    if cam is not None and cam.problems(target.format.receptors):
        raise UserError(f"{path}: cam: " + "; ".join(cam.problems(target.format.receptors)))
    if variation is not None and variation.problems():
        raise UserError(f"{path}: variation: " + "; ".join(variation.problems()))
    if learning is not None and learning.problems():
        raise UserError(f"{path}: " + "; ".join(learning.problems()))
    problems = target.storage.problems(target)
    if problems:
        raise UserError(f"{path}: core.synapse_storage '{target.core.synapse_storage}': " + "; ".join(problems))
    return target
