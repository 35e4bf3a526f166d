"""An image's memory map as JSON: where every section lies and what it holds (``nmc inspect``,
the ``image.memory_map`` of ``<name>.map.json``)."""

from __future__ import annotations

from .codec import SectionEntry

__all__ = ["memory_map"]

_HOLDS = {
    "meta": "compiler, target, numeric format, population names, host sources and probes (JSON)",
    "neurons": "neuron parameter and initial state table",
    "rows": "synaptic row table: source, first entry, length, delay, axon type, exponent",
    "synapses": "synapse entries in the target's storage layout",
    "type_weights": "crossbar weights per neuron and axon type",
    "routes": "routing key, mask and destination cores of the core's spikes",
    "chip_table": "multicast routing table of a chip: key, mask, route bits",
    "compartments": "partial-sum compartments in the slots after the neurons: id, neuron and channel fed",
    "plastic": "rows that learn and their plastic projection (meta's plastic: its learning parameters)",
    "layer": "convolution core: the layer's maps, kernel geometry, sources with their pooling, kernel memory",
    "cam": "CAM core: its base weights and every neuron's CAM words (tag, synapse type, weight mask)",
    "sram": "CAM core: every neuron's destination entries (tag, chip hop, core mask, valid)",
    "host_routes": "CAM image: the host input channels' routes (source, chip, tag, core mask)",
    "v_min": "lower bound of every neuron's membrane potential, in the order of the neuron table",
}


def memory_map(entries: list[SectionEntry]) -> list[dict]:
    """The JSON sidecar: where every section lies and what it holds."""
    return [{"kind": e.kind, "core" if e.kind != "chip_table" else "chip": e.core, "offset": e.offset,
             "size": e.size, "crc32": e.crc32, "holds": _HOLDS[e.kind]} for e in entries]
