"""Populations of a network on a port-structured core (targets with a ``ports`` section: Xylo),
and the design rules they must meet.

Every spike source is an input port channel. The readout port takes the sink populations (no
projection leaves them), as Rockpool's Xylo mapper takes the neurons that feed the graph's
outputs; every other population is hidden. Rules name the population or projection, the
resource, the amount and the limit, and say how to fix it; none is legalized.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import CurrentSource, Network
from ..targets import Target
from .rules import Rule, Violation

__all__ = ["PortRoles", "port_roles", "port_rules"]


@dataclass(frozen=True, kw_only=True)
class PortRoles:
    """Which port each node of a network takes, in network order."""

    inputs: tuple[str, ...]  # spike sources: input channels, in order
    hidden: tuple[str, ...]  # populations on the hidden neurons, in hidden-id order
    outputs: tuple[str, ...]  # populations on the readout neurons, in readout-id order

    def spikes_per_step(self, target: Target) -> dict[str, int]:
        """Population -> the spikes its port's neurons emit per tick."""
        ports = target.ports
        return ({name: ports.hidden_spikes_per_step for name in self.hidden}
                | {name: ports.output_spikes_per_step for name in self.outputs})


def port_roles(net: Network) -> PortRoles:
    """The port of every node (see the module docstring)."""
    sending = {p.pre for p in net.projections if p.pre != p.post}
    pops = [p.name for p in net.populations]
    outputs = tuple(name for name in pops if name not in sending and len(pops) > 1)
    return PortRoles(inputs=tuple(s.name for s in net.sources if not isinstance(s, CurrentSource)),
                     hidden=tuple(name for name in pops if name not in outputs), outputs=outputs)


def port_rules(net: Network, target: Target) -> list[Violation]:
    roles = port_roles(net)
    return _sizes(net, target, roles) + _structure(net, roles) + _receptors(net, target, roles) + _fan_out(
        net, target, roles) + _neurons(net) + _delays(net)


def _total(net: Network, names) -> int:
    return sum(int(net.node(n).size) for n in names)


def _sizes(net: Network, target: Target, roles: PortRoles) -> list[Violation]:
    ports, out = target.ports, []
    for port, names, limit, fix in (
            ("input channels", roles.inputs, ports.inputs, "encode the input in fewer channels"),
            ("hidden neurons", roles.hidden, ports.hidden, "make the hidden layers smaller"),
            ("readout neurons", roles.outputs, ports.outputs, "read fewer classes out")):
        amount = _total(net, names)
        if amount > limit:
            listing = ", ".join(f"'{n}' ({net.node(n).size})" for n in names)
            out.append(Violation(rule=Rule.PORT_SIZE, subject="network", resource=port, amount=amount, limit=limit,
                                 legalizable=False,
                                 message=f"the network has {amount} {port} ({listing}), {target.name} has {limit}: "
                                         + fix))
    return out


def _structure(net: Network, roles: PortRoles) -> list[Violation]:
    out = []
    readout, inputs = set(roles.outputs), set(roles.inputs)

    def refuse(subject, message):
        out.append(Violation(rule=Rule.PORT_STRUCTURE, subject=subject, resource="port", amount=1, limit=0,
                             legalizable=False, message=message))

    if not net.populations:
        refuse("network", "the network has no population: a port-structured core needs hidden neurons")
    if len(net.populations) == 1:
        name = net.populations[0].name
        refuse(f"population '{name}'", f"population '{name}' is the only one: a port-structured core reads out "
                                       "through readout neurons that hidden neurons feed; add a readout layer")
    for p in net.projections:
        if p.pre in inputs and p.post in readout:
            refuse(f"projection '{p.name}'", f"projection '{p.name}' connects input '{p.pre}' to readout population "
                                             f"'{p.post}': inputs reach only hidden neurons; put a hidden layer "
                                             "between them")
        elif p.pre == p.post and p.post in readout:
            refuse(f"projection '{p.name}'", f"projection '{p.name}' is recurrent on readout population '{p.post}': "
                                             "readout neurons send off chip only; add a hidden layer")
    return out


def _receptors(net: Network, target: Target, roles: PortRoles) -> list[Violation]:
    ports, out = target.ports, []
    for names, limit, port in ((roles.hidden, ports.hidden_receptors, "hidden"),
                               (roles.outputs, ports.output_receptors, "readout")):
        for name in names:
            k = len(net.node(name).model.receptors)
            if k > limit:
                out.append(Violation(rule=Rule.PORT_RECEPTORS, subject=f"population '{name}'",
                                     resource="synaptic currents", amount=k, limit=limit, legalizable=False,
                                     message=f"population '{name}' has {k} synaptic currents, {target.name}'s {port} "
                                             f"neurons {limit}: merge receptors"))
    return out


def _fan_out(net: Network, target: Target, roles: PortRoles) -> list[Violation]:
    limit, hidden, out = target.ports.hidden_fan_out, set(roles.hidden), []
    for name in roles.hidden:
        total = np.zeros(net.node(name).size, dtype=np.int64)
        for p in net.projections:
            if p.pre == name and p.post in hidden:
                total += np.diff(p.connectivity.indptr)
        if total.size and int(total.max()) > limit:
            j = int(np.argmax(total))
            out.append(Violation(rule=Rule.PORT_FAN_OUT, subject=f"population '{name}'", resource="fan-out",
                                 amount=int(total[j]), limit=limit, legalizable=False,
                                 message=f"neuron {j} of population '{name}' projects onto {int(total[j])} hidden "
                                         f"neurons, {target.name}'s hidden neurons reach at most {limit}: thin its "
                                         "connections or split the layer it feeds"))
    return out


def _neurons(net: Network) -> list[Violation]:
    """The neuron the port core runs: reset by subtracting the threshold, no refractory hold."""
    out = []
    for pop in net.populations:
        m = pop.model
        where = f"population '{pop.name}'"
        wrong = []
        if m.spiking and m.reset != "subtract":
            wrong.append("resets to a value (the core subtracts the threshold: reset: subtract)")
        elif m.spiking and np.any(np.asarray(m.v_reset) != np.asarray(getattr(m, "v_leak", 0.0))):
            wrong.append("resets by subtraction to a v_reset other than its rest potential (the core subtracts "
                         "the threshold itself: set v_reset to v_leak)")
        if np.any(m.refractory_steps(net.dt, pop.size) > 0):
            wrong.append("has a refractory period (the core holds no neuron: set refractory 0)")
        out += [Violation(rule=Rule.PORT_NEURON, subject=where, resource="neuron model", amount=1, limit=0,
                          legalizable=False, message=f"{where} {w}") for w in wrong]
    return out


def _delays(net: Network) -> list[Violation]:
    out = []
    for p in net.spiking_projections():
        d = p.connectivity.delays
        if p.connectivity.nnz and (int(d.max()) > 1):
            out.append(Violation(rule=Rule.DELAY_RANGE, subject=f"projection '{p.name}'", resource="delay",
                                 amount=int(d.max()), limit=1, legalizable=False,
                                 message=f"projection '{p.name}' has delays up to {int(d.max())} ticks; a port core "
                                         "delivers every spike in the next tick: use delay 1"))
    return out
