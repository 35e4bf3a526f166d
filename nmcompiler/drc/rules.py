"""Design rules: small functions ``rule(net, target) -> list[Violation]``, run all at once.

Graph-level rules say what cannot be mapped at all, and what needs a legalization pass first
(splitting populations, relays for fan-in or long delays, splitter neurons, weight clustering).
The mapper re-checks its result against the per-core rules before anything is written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from ..ir import Network, Population
from ..targets import Target

__all__ = ["Rule", "Violation", "RULES", "check", "cores_lower_bound", "fan_in_per_neuron", "target_for"]


class Rule(StrEnum):
    """The design rules, by name. Legalization stages of the compile flow declare which of them they
    fix (``nmcompiler.compiler``), so check -> legalize -> re-check is data."""

    MODEL_SUPPORTED = "model_supported"
    SPIKES_PER_STEP = "spikes_per_step"
    VOLTAGE_FLOOR = "voltage_floor"
    LEARNING = "learning"
    RECEPTOR_CHANNELS = "receptor_channels"
    POPULATION_SIZE = "population_size"
    NEURON_FAN_IN = "neuron_fan_in"
    NEURON_SYNAPSE_MEMORY = "neuron_synapse_memory"
    DELAY_RANGE = "delay_range"
    FAN_OUT_SPLITTERS = "fan_out_splitters"
    AXON_TYPE_WEIGHTS = "axon_type_weights"
    CROSSBAR_MULTAPSES = "crossbar_multapses"
    MACHINE_CAPACITY = "machine_capacity"
    CONV_STRUCTURE = "conv_structure"  # convolution cores: a layer's input is one kernel
    CONV_KERNEL = "conv_kernel"
    CONV_POOLING = "conv_pooling"
    CONV_MAP = "conv_map"
    CONV_MEMORY = "conv_memory"
    CONV_DESTINATIONS = "conv_destinations"
    PORT_SIZE = "port_size"  # port-structured cores (Xylo): inputs, hidden and readout neurons
    PORT_STRUCTURE = "port_structure"
    PORT_RECEPTORS = "port_receptors"
    PORT_FAN_OUT = "port_fan_out"
    PORT_NEURON = "port_neuron"
    CAM_FAN_IN = "cam_fan_in"  # content-addressable synapse memories (DYNAP-SE2)
    CAM_SYNAPSE_TYPES = "cam_synapse_types"
    CORE_PARAMETERS = "core_parameters"
    CAM_BASE_WEIGHTS = "cam_base_weights"


@dataclass(frozen=True, kw_only=True)
class Violation:
    rule: Rule
    subject: str  # "population 'l2'" / "projection 'a_b'" / "network"
    resource: str
    amount: int
    limit: int
    message: str  # what is wrong and how to fix it, one line
    legalizable: bool  # a legalization pass can fix it (e.g. --split)

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict:
        return dict(vars(self))


def fan_in_per_neuron(net: Network, pop: Population) -> np.ndarray:
    """Synapses arriving at each neuron (spiking projections only)."""
    total = np.zeros(pop.size, dtype=np.int64)
    for proj in net.spiking_projections(pop.name):
        total += proj.connectivity.fan_in()
    return total


def target_for(net: Network, target: Target) -> Target:
    """``target`` as ``net`` sees it: with multi-compartment neurons (``Target.with_receptors``)
    when its populations have more receptors than the format's channels and the core can chain
    compartments; otherwise ``target`` itself (``receptor_channels`` then reports what is over)."""
    return target.effective(max([len(p.model.receptors) for p in net.populations] or [0]))


def model_supported(net: Network, target: Target) -> list[Violation]:
    return [Violation(rule=Rule.MODEL_SUPPORTED, subject=f"population '{p.name}'", resource="neuron model", amount=0,
                      limit=0, legalizable=False,
                      message=_unsupported(p, target))
            for p in net.populations if not target.supports_model(p.model.kind)]


def spikes_per_step(net: Network, target: Target) -> list[Violation]:
    """Multi-spike neurons (``max_spikes`` > 1) on cores that emit fewer spikes per tick."""
    limit = target.core.spikes_per_step
    return [Violation(rule=Rule.SPIKES_PER_STEP, subject=f"population '{p.name}'", resource="spikes per step",
                      amount=int(p.model.max_spikes), limit=limit, legalizable=False,
                      message=f"population '{p.name}' emits up to {p.model.max_spikes} spikes per step (a multi-spike "
                              f"neuron, such as Sinabs' MultiSpike or Rockpool's max_spikes_per_dt), {target.name}'s "
                              f"neurons {limit}: train with one spike per step (Sinabs SingleSpike, Rockpool "
                              f"max_spikes_per_dt=1) and import with --max-spikes {limit}, or set max_spikes {limit}")
            for p in net.populations if p.model.max_spikes > limit]


def voltage_floor(net: Network, target: Target) -> list[Violation]:
    """Neurons bounded from below (a finite ``v_min``) on a datapath without that bound."""
    if target.format.v_min:
        return []
    return [Violation(rule=Rule.VOLTAGE_FLOOR, subject=f"population '{p.name}'", resource="lower voltage bound",
                      amount=1, limit=0, legalizable=False,
                      message=f"population '{p.name}' bounds its membrane from below (v_min, such as Nengo's LIF "
                              f"min_voltage or Loihi's vmin), {target.name}'s datapath has no lower bound "
                              "(format.v_min): choose a target whose format has one (loihi-like, fpga-lif, "
                              "spinnaker-like, truenorth-like) or drop v_min")
            for p in net.populations if p.model.bounded]


def learning(net: Network, target: Target) -> list[Violation]:
    """Plastic projections on cores whose learning engine does not run their rule, or that a
    legalization would restructure (relays for long delays move the pairing time)."""
    runs = target.core.learning_rules
    cores = (f"{target.name}'s cores run only {', '.join(runs)}" if runs
             else f"{target.name}'s cores run no learning rule")
    out = [Violation(rule=Rule.LEARNING, subject=f"projection '{p.name}'", resource="learning rule", amount=1,
                     limit=0, legalizable=False,
                     message=f"projection '{p.name}' learns ({p.learning.kind}); {cores}: deploy the learned "
                             "weights (nmc import NET --weights weights.npz -o frozen.yaml, after nmc simulate), or "
                             f"choose a target whose core.learning_rules has '{p.learning.kind}'")
           for p in net.projections if p.learning is not None and p.learning.kind not in runs]
    for p in net.projections:
        longest = int(p.connectivity.delays.max()) if p.learning is not None and p.connectivity.nnz else 0
        if longest > target.format.delay_max:
            out.append(Violation(rule=Rule.LEARNING, subject=f"projection '{p.name}'", resource="plastic delay",
                                 amount=longest, limit=target.format.delay_max, legalizable=False,
                                 message=f"projection '{p.name}' learns and has a delay of {longest} ticks, over "
                                         f"{target.name}'s {target.format.delay_max}: relays would move the time it "
                                         "pairs spikes at; shorten its delays"))
    return out


def _unsupported(p, target: Target) -> str:
    if p.model.kind == "threshold":
        what = ("a memoryless readout (a NIR Affine -> Output, say)" if not p.model.spiking
                else "a memoryless threshold unit")
        return (f"population '{p.name}' is {what}: {target.name}'s neurons cannot forget their membrane in one "
                f"step (decay '{target.format.decay}'; models {', '.join(target.core.models)}): choose a target "
                "with multiply or shift decay, or make the readout a spiking layer")
    return (f"population '{p.name}' uses model '{p.model.kind}', which {target.name} does not "
            f"support (it has {', '.join(target.core.models)})")


def receptor_channels(net: Network, target: Target) -> list[Violation]:
    fmt = target.format
    out = []
    for p in net.populations:
        n_rec = len(p.model.receptors)
        if n_rec and not fmt.has_current:
            out.append(Violation(rule=Rule.RECEPTOR_CHANNELS, subject=f"population '{p.name}'", resource="current channels",
                                 amount=n_rec, limit=0, legalizable=False,
                                 message=f"population '{p.name}' has synaptic currents, {target.name} has none"))
        elif n_rec > fmt.receptors:
            out.append(Violation(rule=Rule.RECEPTOR_CHANNELS, subject=f"population '{p.name}'", resource="current channels",
                                 amount=n_rec, limit=fmt.receptors, legalizable=False,
                                 message=f"population '{p.name}' has {n_rec} receptors {list(p.model.receptors)}, "
                                         f"{target.name} neurons have {fmt.receptors} current channel(s)"
                                         + (f" (up to {fmt.receptors * target.core.receptor_compartments} as "
                                            "multi-compartment neurons)" if target.core.receptor_compartments else "")
                                         + ": merge receptors or choose another target"))
    return out


def population_size(net: Network, target: Target) -> list[Violation]:
    limit = target.core.neurons
    k = target.core.compartments_per_neuron
    per = f" ({limit * k} compartments, {k} per neuron)" if k > 1 else ""
    return [Violation(rule=Rule.POPULATION_SIZE, subject=f"population '{p.name}'", resource="neurons", amount=p.size,
                      limit=limit, legalizable=True,
                      message=f"population '{p.name}' has {p.size} neurons, core limit {limit}{per}: run with --split "
                              "or choose a larger core")
            for p in net.populations if p.size > limit]


def _partial_sum_fix(target: Target) -> str:
    if target.core.partial_sum_bits:
        return "its inputs are spread over partial-sum compartments on other cores"
    return (f"needs partial sums, and {target.name} sends spikes only: choose a target with graded messages "
            "(core.partial_sum_bits, e.g. loihi-like) or reduce the fan-in")


def neuron_fan_in(net: Network, target: Target) -> list[Violation]:
    limit = target.core.input_axons
    out = []
    for p in net.populations:
        fan_in = fan_in_per_neuron(net, p)
        worst = int(fan_in.max()) if fan_in.size else 0
        if worst > limit:
            n_over = int(np.count_nonzero(fan_in > limit))
            out.append(Violation(rule=Rule.NEURON_FAN_IN, subject=f"population '{p.name}'", resource="input axons",
                                 amount=worst, limit=limit, legalizable=True,
                                 message=f"population '{p.name}': {n_over} neurons receive up to {worst} inputs, a core "
                                         f"has {limit} input axons: " + _partial_sum_fix(target)))
    return out


def neuron_synapse_memory(net: Network, target: Target) -> list[Violation]:
    bits = target.synapse_bits()
    if bits == 0:
        return []
    limit = target.core.synapse_memory_bits
    out = []
    for p in net.populations:
        fan_in = fan_in_per_neuron(net, p)
        worst = int(fan_in.max()) * bits if fan_in.size else 0
        if worst > limit:
            out.append(Violation(rule=Rule.NEURON_SYNAPSE_MEMORY, subject=f"population '{p.name}'",
                                 resource="synapse memory bits", amount=worst, limit=limit, legalizable=True,
                                 message=f"population '{p.name}': one neuron's {worst // bits} synapses need {worst} bits, "
                                         f"a core has {limit}: " + _partial_sum_fix(target)))
    return out


MAX_RELAY_CHAIN = 1024  # relay neurons one delay may need (delay_max x 1024 ticks: 6.3 s at 0.1 ms on loihi-like)


def delay_range(net: Network, target: Target) -> list[Violation]:
    limit = target.format.delay_max
    out = []
    for proj in net.spiking_projections():
        c = proj.connectivity
        if c.nnz and int(c.delays.max()) > limit:
            d = int(c.delays.max())
            chain = math.ceil(d / limit) - 1
            message = (f"projection '{proj.name}' has delays up to {d} ticks, {target.name} allows {limit}: needs a "
                       f"relay chain of {chain} neuron(s)")
            if chain > MAX_RELAY_CHAIN:
                message += (f", beyond the {MAX_RELAY_CHAIN} a chain may have: shorten the delay, or choose a target "
                            "with a longer delay range")
            out.append(Violation(rule=Rule.DELAY_RANGE, subject=f"projection '{proj.name}'", resource="delay (ticks)",
                                 amount=d, limit=limit, legalizable=chain <= MAX_RELAY_CHAIN, message=message))
    return out


def fan_out_splitters(net: Network, target: Target) -> list[Violation]:
    per = target.core.fan_out_per_neuron
    if per is None:
        return []
    out = []
    for node in net.populations:
        targets = [p for p in net.projections if p.pre == node.name]
        if not targets:
            continue
        fan_out = sum(p.connectivity.fan_out() for p in targets)
        posts = len({p.post for p in targets})
        needs = int(np.count_nonzero(fan_out > 0)) if posts > per else int(np.count_nonzero(fan_out > target.core.neurons))
        if needs:
            out.append(Violation(rule=Rule.FAN_OUT_SPLITTERS, subject=f"population '{node.name}'",
                                 resource="axons per neuron", amount=max(posts, 1), limit=per, legalizable=True,
                                 message=f"population '{node.name}': {needs} neurons send to more than {per} axon(s) "
                                         f"(one core's worth of targets): needs splitter neurons"))
    return out


def axon_type_weights(net: Network, target: Target) -> list[Violation]:
    types = target.core.axon_types
    if types is None:
        return []
    out = []
    for p in net.populations:
        distinct = net.distinct_weights(p.name)
        worst = int(distinct.max()) if distinct.size else 0
        if worst > types:
            out.append(Violation(rule=Rule.AXON_TYPE_WEIGHTS, subject=f"population '{p.name}'",
                                 resource="distinct weights per neuron", amount=worst, limit=types, legalizable=True,
                                 message=f"population '{p.name}': neurons see up to {worst} distinct weights, "
                                         f"{target.name} has {types} axon types: weights become bit planes on several "
                                         "axons per source where a core's axons allow, else clustered"))
    return out


def crossbar_multapses(net: Network, target: Target) -> list[Violation]:
    """A crossbar holds one bit per (input axon, neuron): two synapses from one source at one delay
    onto one neuron cannot both be stored."""
    if not target.storage.axon_per_delay:
        return []
    out = []
    for p in net.populations:
        by_pre: dict[str, list] = {}  # repeats can only share a presynaptic node
        for q in net.spiking_projections(p.name):
            by_pre.setdefault(q.pre, []).append(q.connectivity)
        repeated = 0
        for conns in by_pre.values():
            span = max(int(c.delays.max(initial=1)) for c in conns) + 1
            keys = np.concatenate([(c.pre_indices().astype(np.int64) * p.size + c.indices.astype(np.int64)) * span
                                   + c.synapse_delays().astype(np.int64) for c in conns])
            repeated += keys.size - np.unique(keys).size
        if repeated:
            out.append(Violation(rule=Rule.CROSSBAR_MULTAPSES, subject=f"population '{p.name}'",
                                 resource="synapses per axon and neuron", amount=repeated + 1, limit=1,
                                 legalizable=False,
                                 message=f"population '{p.name}': {repeated} synapses repeat a (source, delay, neuron) "
                                         f"of another one, and {target.name}'s crossbar holds one synapse per axon and "
                                         "neuron: merge them into one synapse with the summed weight"))
    return out


def cores_lower_bound(net: Network, target: Target) -> int:
    """max(ceil(neurons / neurons per core), ceil(synapse bits / synapse memory per core)), with the
    fan-in bound on targets with partial sums: a neuron with ``F`` inputs beyond a core's ``A`` input
    axons needs at least ``ceil(F / A)`` compartments, each a neuron slot and a synapse at its soma.
    Computed on ``target_for(net, target)`` (multi-compartment neurons take more slots)."""
    target = target_for(net, target)
    neurons = sum(p.size for p in net.populations)
    synapses = sum(p.connectivity.nnz for p in net.spiking_projections())
    if target.core.partial_sum_bits:
        limit = target.core.input_axons
        for p in net.populations:
            fan_in = fan_in_per_neuron(net, p)
            over = fan_in[fan_in > limit]
            extra = int(np.sum(-(-over // limit)))
            neurons, synapses = neurons + extra, synapses + extra
    bound = math.ceil(neurons / target.core.neurons)
    if target.synapse_bits():
        bound = max(bound, math.ceil(synapses * target.synapse_bits() / target.core.synapse_memory_bits))
    return bound


def machine_capacity(net: Network, target: Target) -> list[Violation]:
    need = cores_lower_bound(net, target)
    if need <= target.max_cores:
        return []
    return [Violation(rule=Rule.MACHINE_CAPACITY, subject="network", resource="cores", amount=need,
                      limit=target.max_cores, legalizable=False,
                      message=f"the network needs at least {need} cores, the largest {target.name} machine has "
                              f"{target.max_cores}: " + _machine_fix(target))]


def _machine_fix(target: Target) -> str:
    if target.sizing is not None:
        return "nmc compile --size generates a core and a mesh that hold it"
    return "choose a target with larger cores or more chips (nmc targets --derive)"


RULES = (model_supported, spikes_per_step, voltage_floor, learning, receptor_channels, population_size, neuron_fan_in,
         neuron_synapse_memory, delay_range, fan_out_splitters, axon_type_weights, crossbar_multapses, machine_capacity)


def check(net: Network, target: Target) -> list[Violation]:
    """Every violation of every rule (empty: the network maps as it is), on ``target_for(net, target)``."""
    net.validate()
    target = target_for(net, target)
    if target.convolution is not None:  # one layer per core: its own rules (drc/conv.py)
        from .conv import conv_rules

        return [v for rule in (model_supported, spikes_per_step, voltage_floor, learning, conv_rules)
                for v in rule(net, target)]
    if target.ports is not None:  # input, hidden and readout ports: their own rules (drc/ports.py); the
        from .ports import port_rules  # quantizer reports where the ports' spikes per tick differ from a model's

        return [v for rule in (model_supported, voltage_floor, learning, port_rules) for v in rule(net, target)]
    if target.cam is not None:  # CAM words instead of input axons and synapse memory (drc/cam.py)
        from .cam import cam_rules

        return [v for rule in (model_supported, spikes_per_step, voltage_floor, learning, receptor_channels, delay_range,
                                 cam_rules)
                for v in rule(net, target)]
    return [v for rule in RULES for v in rule(net, target)]
