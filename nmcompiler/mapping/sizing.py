"""Sizing a core that is generated to fit the network (targets with a ``sizing`` section: fpga-lif).

A fixed chip either holds a network or it does not. Our own FPGA core is generated from its
target, so the question becomes: which core, and how many of them, hold the network in the fewest
memory bits? :class:`SizeTarget` answers it:

1. Design rules that no size can fix (an unsupported model, say) are checked on the largest
   choice and reported as :func:`.compile_network` would report them. Delays beyond the
   format's range become relay chains first, as the compile flow will make them.
2. For each (neurons, input axons) of the target's ``sizing`` lists, the neurons fill cores in
   index order and in reverse Cuthill-McKee order (:mod:`.partition`), with the synapse memory
   unbounded; the fill with fewer cores sets the candidate's cores. Its synapse memory is then
   the fewest ``memory_granule_bits`` granules with which that fill still needs no more cores
   (bisection: an unbounded fill leaves the last core part empty and the others full, a bounded
   one spreads the synapses). A choice is rejected when one neuron receives more inputs than its
   axons, or when it needs more than ``max_cores`` cores. The bisection runs cheapest first:
   the cost with the least memory any fill could have (an even share of the synapses) bounds a
   choice's cost from below, and a choice whose bound exceeds the cheapest cost found is not
   bisected (``pruned``: it keeps its cores and the bound; on the NIR CNN 14 of the 19 choices that
   hold it).
3. The candidate whose chip has the fewest memory bits (``cost``: the bits of every memory of
   the chip ``nmc rtl`` generates, cores and router, which :func:`nmcompiler.rtl.chip.chip_memory_bits`
   computes exactly from the RTL's word layouts) is chosen; ties go to fewer cores, then fewer
   neurons per core. Its chip is the most nearly square mesh of that many cores (one chip).

:func:`nmcompiler.compiler.compile_sized` then compiles the network onto the sized target like onto any other. The
auto partitioner tries both fills again under the sized limits (the fill that set the memory fits
them), so it needs no more cores than sizing counted. Mt-KaHyPar may need fewer: the mesh keeps
the counted cores, and the chosen candidate's cores and cost become those of the cores used (the
chip ``nmc rtl`` generates has the image's cores). If another partitioner needs more, the mesh
grows to what it needs and the network is compiled again.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datapath.format import read_target_document
from ..drc import check
from ..drc.rules import fan_in_per_neuron, target_for
from ..errors import Diagnostic, UserError, ValidationError
from ..ir import Network
from ..passes import RelayLongDelays
from ..lowered import neuron_index
from ..targets import Target
from ..targets.target import target_from_document
from .fill import fan_in, fill_in_order, incoming
from .partition import RcmOrder
from .usage import synapse_arrays

__all__ = ["Candidate", "Sizing", "SizeTarget", "grown", "mesh_for", "settled"]

log = logging.getLogger(__name__)

_UNBOUNDED_MEMORY = 1 << 60  # the synapse memory while filling: the fill then sets it
# the rules sizing or compile_network resolve
_SIZED_OR_LEGALIZED = {"population_size", "neuron_fan_in", "neuron_synapse_memory", "machine_capacity",
                       "fan_out_splitters", "delay_range", "axon_type_weights"}


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """One (neurons, input axons) choice: the cores it needs and their memory, or why it cannot hold
    the network."""

    neurons: int
    input_axons: int
    cores: int | None = None
    order: str | None = None  # the fill that set the cores: index-order or rcm-order
    synapse_memory_bits: int | None = None  # per core, rounded up to the granule
    memory_bits: int | None = None  # every memory of the generated chip (the cost)
    memory_bits_bound: int | None = None  # the cost with the least synapse memory: memory_bits >= it
    rejected: str | None = None

    @property
    def pruned(self) -> bool:
        """Holds the network, but its bound exceeds the chosen cost, so its memory was not sized."""
        return self.rejected is None and self.memory_bits is None


@dataclass(frozen=True, kw_only=True)
class Sizing:
    target: Target  # the sized target
    document: dict  # its target file (``nmc compile --size`` writes it as target.yaml)
    chosen: Candidate
    candidates: tuple[Candidate, ...]

    def to_json(self) -> dict:
        return {"chosen": vars(self.chosen), "candidates": [vars(c) | {"pruned": c.pruned} for c in self.candidates],
                "mesh": list(self.target.chip.mesh), "target": self.target.name}


def mesh_for(cores: int) -> tuple[int, int]:
    """The most nearly square rows x columns mesh with at least ``cores`` cells (columns >= rows;
    among the squarest, the fewest cells)."""
    cols = math.ceil(math.sqrt(cores))
    return math.ceil(cores / cols), cols


@dataclass(frozen=True, kw_only=True)
class SizeTarget:
    """Size ``target`` (which has a ``sizing`` section) to a network; see the module docstring.

    ``cost(target, cores)``: the memory bits of a chip of ``cores`` cores of ``target``
    (``nmcompiler.rtl.chip.chip_memory_bits``)."""

    cost: Callable[[Target, int], int]
    name: str | None = None  # of the sized target (default: the base target's name + "-sized")

    def run(self, net: Network, target: Target) -> Sizing:
        sz = target.sizing
        if sz is None:
            raise UserError(f"target '{target.name}' has fixed limits (no 'sizing' section): --size applies to "
                            "targets whose core is generated to fit, such as fpga-lif")
        _, base_doc = read_target_document(target.source)
        largest = _candidate_target(target, max(sz.neurons), max(sz.input_axons), _UNBOUNDED_MEMORY, sz.max_cores)
        violations = check(net, largest)
        blocking = [v for v in violations if v.rule not in _SIZED_OR_LEGALIZED]
        if blocking:
            raise ValidationError([Diagnostic(where="", message=v.message) for v in blocking])
        if any(v.rule == "delay_range" for v in violations):  # the relay neurons compile_network adds
            net = RelayLongDelays(max_delay=target.format.delay_max).run(net)
        fills = functools.cache(lambda: _Fills.of(net))  # built when a candidate gets to filling
        n = sum(p.size for p in net.populations)
        worst_fan_in = max((int(fan_in_per_neuron(net, p).max(initial=0)) for p in net.populations), default=0)
        counted: dict[tuple[int, int], dict] = {}  # (neurons, axons) -> order -> (cores, fullest core's bits)
        candidates = [self._candidate(net, target, neurons, axons, n, worst_fan_in, fills, counted)
                      for neurons in sz.neurons for axons in sz.input_axons]
        if all(c.rejected for c in candidates):
            reasons = list(dict.fromkeys(c.rejected for c in candidates))  # in the order tried
            raise UserError(f"no {target.name} core of the sizing choices holds the network: " + "; ".join(reasons))
        best = None
        for i in sorted((i for i, c in enumerate(candidates) if c.rejected is None),  # cheapest bound first
                        key=lambda i: (candidates[i].memory_bits_bound, candidates[i].cores)):
            c = candidates[i]
            if best is not None and c.memory_bits_bound > best.memory_bits:
                continue  # pruned: it cannot cost less than the best
            candidates[i] = c = self._sized(net, target, c, fills(), counted[c.neurons, c.input_axons])
            if best is None or _key(c) < _key(best):
                best = c
        name = self.name or f"{target.name}-sized"
        doc = sized_document(base_doc, name, best.neurons, best.input_axons, best.synapse_memory_bits,
                             mesh_for(best.cores))
        sized = target_from_document(_where(target, name), doc)
        log.debug("sized %s: %d cores of %d neurons, %d input axons, %d synapse memory bits (%d memory bits in all)",
                  target.name, best.cores, best.neurons, best.input_axons, best.synapse_memory_bits, best.memory_bits)
        return Sizing(target=sized, document=doc, chosen=best, candidates=tuple(candidates))

    def _sized(self, net: Network, target: Target, c: Candidate, fills: _Fills, counted: dict) -> Candidate:
        """``c`` with the fewest granules of synapse memory with which one of its fills keeps its cores."""
        sz = target.sizing
        filling = _filling(net, target, c.neurons, c.input_axons)
        memory, order = min((_smallest_memory(fills, order, c.cores, _least(fills, c.cores, filling),
                                              fullest, sz.memory_granule_bits, filling), order)
                            for order, (k, fullest) in counted.items() if k == c.cores)
        chip_bits = self.cost(_candidate_target(target, c.neurons, c.input_axons, memory, sz.max_cores), c.cores)
        return dataclasses.replace(c, order=order, synapse_memory_bits=memory, memory_bits=chip_bits)

    def _candidate(self, net: Network, target: Target, neurons: int, axons: int,
                   n: int, worst_fan_in: int, prepared: Callable[[], _Fills], counts: dict) -> Candidate:
        sz = target.sizing
        if worst_fan_in > axons:
            return Candidate(neurons=neurons, input_axons=axons,
                             rejected=f"a neuron receives {worst_fan_in} inputs, over {axons} input axons")
        filling = _filling(net, target, neurons, axons)
        unbounded = filling(_UNBOUNDED_MEMORY)
        if n and math.ceil(n / unbounded.core.neurons) > sz.max_cores:
            return Candidate(neurons=neurons, input_axons=axons,
                             rejected=f"{neurons} neurons per core need over {sz.max_cores} cores")
        fills = prepared()
        counted = counts[neurons, axons] = {}  # order -> (cores, synapse bits of the fullest core)
        for order in fills.orders:
            k, synapses = fills.fill(order, unbounded)
            counted[order] = (k, synapses * unbounded.synapse_bits())
        cores = min(k for k, _ in counted.values())
        order = min(counted, key=counted.get)
        if cores > sz.max_cores:
            return Candidate(neurons=neurons, input_axons=axons, cores=cores, order=order,
                             rejected=f"{neurons} neurons and {axons} input axons per core need {cores} cores, over "
                                      f"{sz.max_cores}")
        least = -(-_least(fills, cores, filling) // sz.memory_granule_bits) * sz.memory_granule_bits
        bound = self.cost(_candidate_target(target, neurons, axons, least, sz.max_cores), cores)
        return Candidate(neurons=neurons, input_axons=axons, cores=cores, order=order, memory_bits_bound=bound)


@dataclass(frozen=True, kw_only=True)
class _Fills:
    """A network's synapses, prepared once for the many fills of sizing (index and RCM order)."""

    n: int
    pre: np.ndarray
    post: np.ndarray
    csr: tuple[np.ndarray, np.ndarray]  # :func:`.fill.incoming`
    fan: np.ndarray  # synapses onto each neuron
    orders: dict[str, np.ndarray]

    @classmethod
    def of(cls, net: Network) -> _Fills:
        layout = neuron_index(net)
        n = layout.n
        pre, post = synapse_arrays(net, dict(layout.offsets), n)
        return cls(n=n, pre=pre, post=post, csr=incoming(n, pre, post), fan=fan_in(n, post),
                   orders={"index-order": np.arange(n, dtype=np.int64), "rcm-order": RcmOrder.order(n, pre, post)})

    def fill(self, order: str, target: Target) -> tuple[int, int]:
        """``(cores, synapses of the fullest core)`` of filling in ``order`` (:mod:`.fill`). No core
        is split for its output axons: a sized chip's core sends to at most all of its cores, and
        the sized target has at least that many output axons."""
        core = fill_in_order(self.orders[order], self.n, self.pre, self.post, target, self.csr)
        k = int(core[-1]) + 1 if core.size else 1
        return k, int(np.bincount(core, weights=self.fan[self.orders[order]], minlength=k).max(initial=0))


def _filling(net: Network, target: Target, neurons: int, axons: int) -> Callable[[int], Target]:
    """The candidate target of these limits for a synapse memory, as the network's fills see it."""
    return lambda memory: target_for(net, _candidate_target(target, neurons, axons, memory, target.sizing.max_cores))


def _key(c: Candidate) -> tuple:
    return c.memory_bits, c.cores, c.neurons, c.input_axons


def _least(fills: _Fills, cores: int, filling: Callable[[int], Target]) -> int:
    """The least synapse memory any fill onto ``cores`` cores can have: an even share of the
    synapses, and no less than the most synapses onto one neuron."""
    bits = filling(_UNBOUNDED_MEMORY).synapse_bits()
    return max(-(-fills.post.size * bits // cores), int(fills.fan.max(initial=0)) * bits)


def _smallest_memory(fills: _Fills, order: str, cores: int, least: int, fullest: int, granule: int,
                     filling: Callable[[int], Target]) -> int:
    """The fewest granules of synapse memory with which ``order`` still fills ``cores`` cores:
    bisection between ``least`` bits (an even share of all synapses, and no less than one
    neuron's) and the fullest unbounded core; every answer is a fill that was run."""
    lo = max(1, -(-least // granule))
    hi = max(lo, -(-fullest // granule))
    while lo < hi:
        mid = (lo + hi) // 2
        if fills.fill(order, filling(mid * granule))[0] <= cores:
            hi = mid
        else:
            lo = mid + 1
    return hi * granule


def _candidate_target(target: Target, neurons: int, axons: int, memory: int, cores: int) -> Target:
    """``target`` with these core limits on one chip of ``mesh_for(cores)``, without its sizing."""
    core = dataclasses.replace(target.core, neurons=neurons, input_axons=axons, synapse_memory_bits=memory,
                               output_axons=max(target.core.output_axons, cores))
    chip = dataclasses.replace(target.chip, mesh=mesh_for(cores), board=(1, 1), max_chips=1)
    return dataclasses.replace(target, core=core, chip=chip, sizing=None)


def _where(target: Target, name: str) -> Path:
    return Path(target.source).with_name(f"{name}.yaml")


def sized_document(base_doc: dict, name: str, neurons: int, axons: int, memory: int, mesh: tuple[int, int]) -> dict:
    """The target file of a sized core: ``base_doc`` with these limits, one chip of ``mesh``, no sizing."""
    doc = copy.deepcopy(base_doc)
    doc.pop("sizing", None)
    doc["name"] = name
    doc["core"].update(neurons=neurons, input_axons=axons, synapse_memory_bits=memory,
                       output_axons=max(doc["core"]["output_axons"], mesh[0] * mesh[1]))
    doc["chip"].update(mesh=list(mesh), board=[1, 1], max_chips=1)
    return doc


def grown(sizing: Sizing, cores: int, base: Target) -> Sizing:
    """``sizing`` with a mesh of at least ``cores`` cores (a partitioner other than auto needed more
    than sizing counted), each core reaching all of them."""
    doc = copy.deepcopy(sizing.document)
    doc["chip"]["mesh"] = list(mesh_for(cores))
    doc["core"]["output_axons"] = max(doc["core"]["output_axons"], cores)
    return dataclasses.replace(sizing, document=doc, target=target_from_document(_where(base, doc["name"]), doc))


def settled(sizing: Sizing, cores: int, cost: Callable[[Target, int], int]) -> Sizing:
    """``sizing`` whose chosen candidate has the ``cores`` the compile used (fewer than counted:
    Mt-KaHyPar cut the network to fewer cores), at their cost; its bound was for the counted cores."""
    chosen = dataclasses.replace(sizing.chosen, cores=cores, memory_bits=cost(sizing.target, cores),
                                 memory_bits_bound=None)
    candidates = tuple(chosen if c == sizing.chosen else c for c in sizing.candidates)
    return dataclasses.replace(sizing, chosen=chosen, candidates=candidates)
