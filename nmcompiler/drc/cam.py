"""Design rules of content-addressable synapse memories (targets with a ``cam`` section:
DYNAP-SE2, :mod:`nmcompiler.targets.cam`).

* ``cam_fan_in``: a neuron's synapses (one CAM word each) fit its CAM; the refusal names the
  neuron, its fan-in and the CAM size. Nothing legalizes it: a CAM word holds a spike, not a sum.
* ``cam_synapse_types``: every synapse's (current channel, sign) is one of the chip's synapse types.
* ``core_parameters``: a core's neurons share one parameter set, so a population's neurons must
  agree on every parameter (populations take whole cores, :mod:`nmcompiler.compiler.cam`).
* ``cam_base_weights``: informational and legalized: a core's weights become sums of its base
  weights (:mod:`nmcompiler.passes.cam_weights`); reported where a population's neurons see more
  distinct weight magnitudes than the base weights' subset sums can hold exactly.
"""

from __future__ import annotations

import numpy as np

from ..ir import Network
from ..targets import Target
from .rules import Rule, Violation, fan_in_per_neuron

__all__ = ["cam_rules"]


def cam_rules(net: Network, target: Target) -> list[Violation]:
    return (_fan_in(net, target) + _types(net, target) + _parameters(net, target) + _base_weights(net, target)
            + _capacity(net, target))


def _capacity(net: Network, target: Target) -> list[Violation]:
    """Populations take whole cores: the machine must hold the sum of their cores."""
    per = target.core.neurons
    need = sum(-(-p.size // per) for p in net.populations)
    if need <= target.max_cores:
        return []
    return [Violation(rule=Rule.MACHINE_CAPACITY, subject="network", resource="cores", amount=need,
                      limit=target.max_cores, legalizable=False,
                      message=f"the network's populations take {need} cores (each whole cores of {per} neurons: a "
                              f"core is one parameter set), the largest {target.name} machine has {target.max_cores}: "
                              "merge populations that share their parameters, or make them smaller")]


def _fan_in(net: Network, target: Target) -> list[Violation]:
    limit, out = target.cam.entries, []
    for p in net.populations:
        fan_in = fan_in_per_neuron(net, p)
        if fan_in.size and int(fan_in.max()) > limit:
            worst = int(np.argmax(fan_in))
            over = int(np.count_nonzero(fan_in > limit))
            others = f" ({over - 1} more of its neurons too)" if over > 1 else ""
            out.append(Violation(
                rule=Rule.CAM_FAN_IN, subject=f"population '{p.name}'", resource="CAM words per neuron",
                amount=int(fan_in[worst]), limit=limit, legalizable=False,
                message=f"population '{p.name}' neuron {worst} receives {int(fan_in[worst])} synapses{others}; a "
                        f"{target.name} neuron's CAM holds {limit}: give each neuron at most {limit} inputs "
                        "(sparser projections, or pool the inputs through an intermediate population)"))
    return out


def _types(net: Network, target: Target) -> list[Violation]:
    cam, out = target.cam, []
    for q in net.spiking_projections():
        channel = net.node(q.post).model.channel_of(q.receptor)
        w = q.connectivity.synapse_weights()
        for sign, used in ((1, bool(np.any(w > 0))), (-1, bool(np.any(w < 0)))):
            if used and cam.type_of(channel, sign) is None:
                kinds = ", ".join(f"{t.name} (channel {t.channel}, {'+' if t.sign > 0 else '-'})"
                                  for t in cam.synapse_types)
                out.append(Violation(
                    rule=Rule.CAM_SYNAPSE_TYPES, subject=f"projection '{q.name}'", resource="synapse types",
                    amount=1, limit=0, legalizable=False,
                    message=f"projection '{q.name}' has {'excitatory' if sign > 0 else 'inhibitory'} synapses on "
                            f"current channel {channel}; {target.name}'s synapse types are {kinds}: move it to a "
                            "receptor one of them feeds"))
    return out


def _varying(model, name: str) -> bool:
    """Whether parameter ``name`` of ``model`` differs between neurons."""
    value = np.asarray(getattr(model, name))
    per_neuron = value.ndim == (2 if name in model.PER_RECEPTOR else 1)
    if not per_neuron or value.shape[-1] < 2:
        return False
    return bool(np.any(value != value[..., :1]))


def _parameters(net: Network, target: Target) -> list[Violation]:
    out = []
    for p in net.populations:
        varying = [name for name in p.model.PARAMS if _varying(p.model, name)]
        if varying:
            out.append(Violation(
                rule=Rule.CORE_PARAMETERS, subject=f"population '{p.name}'", resource="parameter sets per core",
                amount=len(varying), limit=0, legalizable=False,
                message=f"population '{p.name}': {', '.join(varying)} differ(s) between its neurons; the neurons of "
                        f"a {target.name} core share one parameter set: split the population by parameter value"))
    return out


def _base_weights(net: Network, target: Target) -> list[Violation]:
    exact = (1 << target.cam.base_weights) - 1  # distinct non-zero sums the base weights can make
    out = []
    for p in net.populations:
        mags = np.concatenate([np.abs(q.connectivity.synapse_weights()) for q in net.spiking_projections(p.name)]
                              or [np.zeros(0)])
        distinct = int(np.unique(mags[mags > 0]).size)
        if distinct > exact:
            out.append(Violation(
                rule=Rule.CAM_BASE_WEIGHTS, subject=f"population '{p.name}'", resource="distinct weight magnitudes",
                amount=distinct, limit=exact, legalizable=True,
                message=f"population '{p.name}': its synapses have {distinct} distinct weight magnitudes, a core's "
                        f"{target.cam.base_weights} base weights make at most {exact} distinct sums: the weights are "
                        "fitted to them per core (the compile report gives the error)"))
    return out
