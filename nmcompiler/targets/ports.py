"""Port-structured cores as target data: one SNN core with an input port, a hidden population and
a readout port (SynSense's Xylo).

A target with a ``ports`` section has no mesh to partition onto: input channels (the network's
spike sources) project onto hidden neurons; hidden neurons project onto hidden neurons
(recurrent weights) and onto readout neurons; readout neurons send off chip only. Each port has
its own size, synaptic current channels and spikes per tick (a hidden neuron subtracts its
threshold and spikes again while still above it, up to ``hidden_spikes_per_step`` times); a
hidden neuron reaches at most ``hidden_fan_out`` neurons. The design rules of such targets are
in :mod:`nmcompiler.drc.ports`, the assignment of populations to ports in
:mod:`nmcompiler.mapping.ports`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["PortsSpec", "ports_from_document"]


@dataclass(frozen=True, kw_only=True)
class PortsSpec:
    inputs: int  # input channels (source neurons)
    input_events_per_step: int  # events one input channel delivers per tick
    hidden: int  # hidden neurons
    hidden_receptors: int  # synaptic current channels of a hidden neuron
    hidden_spikes_per_step: int  # spikes a hidden neuron emits per tick
    hidden_fan_out: int  # neurons one hidden neuron projects onto
    outputs: int  # readout neurons
    output_receptors: int  # synaptic current channels of a readout neuron
    output_spikes_per_step: int  # spikes a readout neuron emits per tick

    HIDDEN_CORE = 0  # the logical core of the hidden neurons
    OUTPUT_CORE = 1  # ... and of the readout neurons

    def to_json(self) -> dict:
        return asdict(self)


def ports_from_document(doc: dict) -> PortsSpec:
    """The ``ports`` section of a target file (already checked by the target schema)."""
    return PortsSpec(**doc)
