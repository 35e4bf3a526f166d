"""The neuron phase of a tick: neurons ``0 .. active-1`` updated one per clock cycle.

A ``start`` pulse (the core's tick, accepted while nothing else is in flight) advances the slot
of the current tick (``cur``) and reads neuron 0. Each cycle then updates one neuron from its
parameters, its state and its input of slot ``cur`` (read and cleared), writes the new state and
offers a spike on ``out`` (payload: the neuron's index); the phase waits while ``out.ready`` is
low. With partial-sum compartments (``payload_bits > 0``) the slots from ``first_comp`` on are
compartments: each sends its saturated sum, when not zero, as a graded message (payload: slot,
graded flag 1, value) and keeps no state.
"""

from __future__ import annotations

from amaranth.hdl import C, Cat, Module, Mux, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .arith import neuron_update, sat
from .core_memories import memory_address_bits
from .params import CoreParams

__all__ = ["NeuronPhase"]


class NeuronPhase(wiring.Component):
    """Ports: ``start``, ``active``/``first_comp`` (the ``ctrl`` registers), the parameter, state
    and accumulator reads it addresses (``acc_use``: it drives the accumulator's read address this
    cycle), the state write, the accumulator clear, ``out``, ``running``, ``cur`` (the slot of the
    current tick, which the synapse pipeline adds delays to) and the counters ``ticks`` and
    ``spikes``."""

    def __init__(self, params: CoreParams):
        self.params = params
        L, nb, sb = params.layouts, params.local_bits, params.slot_bits
        a = memory_address_bits(params.neurons)
        super().__init__({
            "start": In(1), "running": Out(1), "cur": Out(sb, init=(1 << sb) - 1),
            "active": In(params.neuron_bits + 1), "first_comp": In(params.neuron_bits + 1),
            "param_addr": Out(a), "param": In(L.param),
            "state_addr": Out(a), "state": In(L.state),
            "acc_use": Out(1), "acc_addr": Out(nb + sb), "acc": In(L.acc),
            "state_wr_addr": Out(a), "state_wr_en": Out(1), "state_wr_data": Out(L.state),
            "clear_en": Out(1), "clear_addr": Out(nb + sb),
            "out": Out(stream.Signature(params.neuron_bits + params.message_bits)),
            "ticks": Out(32), "spikes": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        p, nb = self.params, self.params.local_bits
        j = Signal(nb + 1)
        m.d.comb += self.acc_use.eq(self.start | self.running)
        with m.If(self.start & ~self.running):
            self._read(m, 0, (self.cur + 1)[:p.slot_bits])
            m.d.sync += [self.cur.eq(self.cur + 1), j.eq(0)]
            with m.If(self.active != 0):
                m.d.sync += self.running.eq(1)
            with m.Else():
                m.d.sync += self.ticks.eq(self.ticks + 1)
        # the update's wires are built outside any If: assigned in a branch they would gain a mux each
        upd = neuron_update(m, p.fmt, self.param, self.state, self.acc)
        message = sat(m, self.acc[0], p.payload_bits) if p.payload_bits else None
        with m.If(self.running):
            self._update(m, j, upd, message)
        return m

    def _read(self, m: Module, index, slot) -> None:
        """Read neuron ``index``'s parameters, state and input of ``slot`` (ready next cycle)."""
        nb = self.params.local_bits
        local = C(index, nb) if isinstance(index, int) else Value.cast(index)[:nb]
        m.d.comb += [self.param_addr.eq(index), self.state_addr.eq(index), self.acc_addr.eq(Cat(local, slot))]

    def _update(self, m: Module, j: Signal, upd, message) -> None:
        """One cycle of the phase: neuron (or compartment) ``j``, whose new state is ``upd``."""
        p, nb = self.params, self.params.local_bits
        if p.payload_bits:  # a compartment sends its saturated sum, when not zero
            is_comp = j >= self.first_comp
            fire = Mux(is_comp, message != 0, upd.spike)
            spike = upd.spike & ~is_comp
            pad = [C(0, p.neuron_bits - nb)] if p.neuron_bits > nb else []
            payload = Cat(j[:nb], *pad, is_comp, Mux(is_comp, message, 0))  # spikes: flag and value 0
            write_state = ~is_comp
        else:
            fire, spike, payload, write_state = upd.spike, upd.spike, j[:nb], C(1, 1)
        m.d.comb += [self.out.valid.eq(fire), self.out.payload.eq(payload)]
        with m.If(~fire | self.out.ready):
            sw = self.state_wr_data
            m.d.comb += [self.state_wr_addr.eq(j), self.state_wr_en.eq(write_state),
                         sw.v.eq(upd.v), sw.ref.eq(upd.ref),
                         self.clear_en.eq(1), self.clear_addr.eq(Cat(j[:nb], self.cur))]
            m.d.comb += [sw.i[k].eq(upd.i[k]) for k in range(p.channels)]
            m.d.sync += [self.spikes.eq(self.spikes + spike), j.eq(j + 1)]
            self._read(m, j + 1, self.cur)
            with m.If(j + 1 == self.active):
                m.d.sync += [self.ticks.eq(self.ticks + 1), self.running.eq(0)]
        with m.Else():
            self._read(m, j, self.cur)
