"""The memory traffic of the compiled simulators, from which docs/performance.md derives each
case's physical bound (``benchmarks/bounds.py``): the bytes a synaptic event and a neuron update
move, and the sizes that decide which level of the memory hierarchy serves them.

A synaptic event streams its synapse's share of the compact table (:mod:`.rows`: the 16-bit
target, a weight or delay only where rows do not share them, the row data spread over the row's
synapses) and adds into the ring: a random read-modify-write inside one block of one slot. A
neuron update reads and writes its state once per step (:func:`bit_update_bytes`,
:func:`float_update_bytes`: the least any implementation of the same state moves).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Traffic", "bit_update_bytes", "float_update_bytes"]


@dataclass(frozen=True)
class Traffic:
    table_bytes: int  # the compact synapse table, all arrays
    synapses: int
    update_bytes: int  # bytes read plus written per neuron per step
    neurons: int
    ring_block_bytes: int  # one block of one ring slot: where a spike's additions land
    threads: int

    @property
    def bytes_per_synapse(self) -> float:
        return self.table_bytes / max(self.synapses, 1)

    @property
    def state_bytes(self) -> int:
        """The neuron state's working set (each array once)."""
        return self.update_bytes * self.neurons // 2

    def to_dict(self) -> dict:
        return dict(asdict(self), bytes_per_synapse=round(self.bytes_per_synapse, 3), state_bytes=self.state_bytes)


def bit_update_bytes(itemsize: int, ring_itemsize: int, channels: int, has_current: bool) -> int:
    """The least a bit-accurate tick moves per neuron: its state read and written (v, the int32
    refractory count and, with currents, one current per channel) and each channel's ring entry
    read and cleared. Parameters shared by a run of neurons are read once (not counted)."""
    return 2 * itemsize + 2 * 4 + channels * (2 * ring_itemsize + (2 * itemsize if has_current else 0))


def float_update_bytes(channels: int, currents: bool) -> int:
    """The least a float step moves per neuron (float64 v and refractory count read and written,
    one current per channel when synaptic currents feed v, each channel's ring entry read and
    cleared); the kernel's passes move more (its temporaries stay in cache)."""
    return 16 + 16 + channels * (16 + (16 if currents else 0))
