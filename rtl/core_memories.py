"""The memories of one core and their ports: what the neuron phase, the event phase and the
synapse pipeline read and write, the configuration write port and the state read-back port.

Word layouts are :class:`rtl.params.Layouts`; ``cfg_sel`` picks a memory in the order of
:data:`rtl.params.MEMORIES`. Configuration writes happen only while the core is idle; a write to
the state memory takes its write port (the neuron phase's write loses, which cannot happen in a
correct protocol). The accumulator's read port is transparent to its write port, so the synapse
pipeline's back-to-back updates of one word are exact.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from .load import CoreLoad, unpack
from .params import MEMORIES, CoreParams

__all__ = ["CoreMemories", "memory_address_bits"]


def memory_address_bits(depth: int) -> int:
    """Address width of a memory of ``depth`` words (at least 1)."""
    return max(1, (depth - 1).bit_length())


class CoreMemories(wiring.Component):
    """``param``, ``state``, ``axon``, ``row``, ``syn`` and the accumulator ring ``acc`` (one word
    per delay slot and neuron), plus the ``ctrl`` registers ``active`` and ``first_comp``. Read
    ports have a one-cycle latency (``*_addr`` in, ``*_data`` out on the next cycle). A crossbar
    core reads ``param`` twice: ``weight_*`` gives the event phase a neuron's weights."""

    def __init__(self, params: CoreParams, init: CoreLoad | None = None):
        self.params, self.init = params, init
        L, nb, sb = params.layouts, params.local_bits, params.slot_bits
        cfg_width = max(L.width(name) for name in MEMORIES)
        cfg_addr = max(memory_address_bits(L.depth(params, name)) for name in MEMORIES)
        a = {name: memory_address_bits(L.depth(params, name)) for name in MEMORIES}
        super().__init__({
            "cfg_en": In(1), "cfg_sel": In(3), "cfg_addr": In(cfg_addr), "cfg_data": In(cfg_width),
            "active": Out(params.neuron_bits + 1), "first_comp": Out(params.neuron_bits + 1),
            "param_addr": In(a["param"]), "param_data": Out(L.param),
            "state_addr": In(a["state"]), "state_data": Out(L.state),
            "state_wr_addr": In(a["state"]), "state_wr_en": In(1), "state_wr_data": In(L.state),
            "dbg_addr": In(params.neuron_bits), "dbg_state": Out(L.width("state")),
            "axon_addr": In(a["axon"]), "axon_data": Out(L.axon),
            "row_addr": In(a["row"]), "row_data": Out(L.row),
            "syn_addr": In(a["syn"]), "syn_data": Out(L.syn),
            "acc_rd_addr": In(nb + sb), "acc_rd_data": Out(L.acc),
            "acc_wr_addr": In(nb + sb), "acc_wr_en": In(1), "acc_wr_data": In(L.acc),
        } | ({"weight_addr": In(a["param"]), "weight_data": Out(L.param)} if params.crossbar else {}))

    def elaborate(self, platform):
        m = Module()
        p, L = self.params, self.params.layouts
        init = self.init.memories if self.init is not None else {}
        mems = {}
        for name in MEMORIES[:-1]:
            m.submodules[name] = mems[name] = memory.Memory(
                shape=unsigned(L.width(name)), depth=L.depth(p, name), init=init.get(name, []))
        m.submodules.acc = acc = memory.Memory(shape=L.acc, depth=1 << (p.local_bits + p.slot_bits), init=[])
        self._configuration(m, mems)
        for name in ("param", "state", "axon", "row", "syn"):
            port = mems[name].read_port()
            m.d.comb += [port.addr.eq(getattr(self, f"{name}_addr")),
                         Value.cast(getattr(self, f"{name}_data")).eq(port.data)]
        if p.crossbar:  # the event phase reads a neuron's weights per axon type (its parameter word)
            port = mems["param"].read_port()
            m.d.comb += [port.addr.eq(self.weight_addr), Value.cast(self.weight_data).eq(port.data)]
        debug = mems["state"].read_port()
        m.d.comb += [debug.addr.eq(self.dbg_addr), self.dbg_state.eq(debug.data)]
        acc_wr = acc.write_port()
        acc_rd = acc.read_port(transparent_for=(acc_wr,))
        m.d.comb += [acc_rd.addr.eq(self.acc_rd_addr), self.acc_rd_data.eq(acc_rd.data),
                     acc_wr.addr.eq(self.acc_wr_addr), acc_wr.en.eq(self.acc_wr_en),
                     acc_wr.data.eq(self.acc_wr_data)]
        return m

    def _configuration(self, m: Module, mems: dict) -> None:
        """The configuration port's writes, the ``ctrl`` registers and the state write port."""
        p, L = self.params, self.params.layouts
        for name in ("param", "axon", "row", "syn"):
            port = mems[name].write_port()
            m.d.comb += [port.addr.eq(self.cfg_addr), port.data.eq(self.cfg_data[:L.width(name)]),
                         port.en.eq(self.cfg_en & (self.cfg_sel == MEMORIES.index(name)))]
        ctrl = unpack(L.ctrl, self.init.memories["ctrl"][0]) if self.init is not None else {}
        # configuration, like the memories: a reset does not clear it
        active = Signal(p.neuron_bits + 1, init=ctrl.get("active", 0), reset_less=True)
        first_comp = Signal(p.neuron_bits + 1, init=ctrl.get("neurons", 0), reset_less=True)
        with m.If(self.cfg_en & (self.cfg_sel == MEMORIES.index("ctrl"))):
            m.d.sync += active.eq(self.cfg_data[:p.neuron_bits + 1])
            if p.payload_bits:
                m.d.sync += first_comp.eq(self.cfg_data[p.neuron_bits + 1:2 * p.neuron_bits + 2])
        m.d.comb += [self.active.eq(active), self.first_comp.eq(first_comp)]
        state_wr = mems["state"].write_port()
        with m.If(self.cfg_en & (self.cfg_sel == MEMORIES.index("state"))):
            m.d.comb += [state_wr.addr.eq(self.cfg_addr), state_wr.en.eq(1),
                         state_wr.data.eq(self.cfg_data[:L.width("state")])]
        with m.Else():
            m.d.comb += [state_wr.addr.eq(self.state_wr_addr), state_wr.en.eq(self.state_wr_en),
                         state_wr.data.eq(self.state_wr_data)]
