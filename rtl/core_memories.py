"""The memories of one core and their ports: what the neuron phase, the event phase and the
synapse pipeline read and write, the configuration write port and the state read-back port.

Word layouts are :class:`rtl.params.Layouts`; ``cfg_sel`` picks a memory in the order of
:data:`rtl.params.MEMORIES`. Configuration writes happen only while the core is idle; a write to
the state memory takes its write port (the neuron phase's write loses, which cannot happen in a
correct protocol). The accumulator's read port is transparent to its write port, so the synapse
pipeline's back-to-back updates of one word are exact.

With ``lanes`` synapse lanes (docs/rtl.md, "Synapse lanes") the synapse memory holds ``lanes`` consecutive
entries per word (``CoreParams.group``; a crossbar row stays one word, its lanes take set bits; the
configuration port writes one entry, its lane by write enable), and the
accumulator is ``lanes`` banks (neuron ``j`` in bank :func:`bank_of`, the XOR of its pieces of
``lane_bits``, at the address of its bits above them): the synapse pipeline reads and
writes each bank through its own ports (``bank_*``), the neuron phase and the learning engine
through the single-word view (``acc_*``) as before. ``ev_en`` low holds the event phase's read
ports (axon, row, synapse), so a stalled event phase finds its data again.
"""

from __future__ import annotations

from amaranth.hdl import C, Cat, Module, Mux, Signal, Value, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from .load import CoreLoad, unpack
from .params import MEMORIES, CoreParams

__all__ = ["CoreMemories", "bank_number", "bank_of", "bank_ports", "memory_address_bits"]


def memory_address_bits(depth: int) -> int:
    """Address width of a memory of ``depth`` words (at least 1)."""
    return max(1, (depth - 1).bit_length())


def bank_of(params: CoreParams, neuron: Value) -> Value:
    """The accumulator bank of a local neuron index: the XOR of its ``lane_bits``-bit pieces.
    Consecutive neurons fall in different banks, and so do neurons a power of two apart (a row of
    one delay in a row ordered by delay, then neuron); with the bits above ``lane_bits`` (the
    address within the bank) it gives the neuron back."""
    lb = params.lane_bits
    if not lb:
        return C(0, 1)
    bits = neuron[:params.local_bits]
    out = bits[:lb]
    for at in range(lb, len(bits), lb):
        out = out ^ bits[at:at + lb]
    return out[:lb]


def bank_number(params: CoreParams, neuron: int) -> int:
    """:func:`bank_of` of a constant neuron index (the crossbar's lanes are wired by it)."""
    lb, out = params.lane_bits, 0
    for at in range(0, params.local_bits, max(1, lb)):
        out ^= (neuron >> at) & ((1 << lb) - 1)
    return out


def bank_ports(params: CoreParams) -> dict:
    """The accumulator banks' ports of the synapse pipeline: per bank a read (``bank_rd_en`` marks
    it, the address within the bank) and a write."""
    L, n = params.layouts, params.lanes
    addr = data.ArrayLayout(unsigned(params.local_bits - params.lane_bits + params.slot_bits), n)
    return {"bank_rd_en": In(n), "bank_rd_addr": In(addr), "bank_rd_data": Out(data.ArrayLayout(L.acc, n)),
            "bank_wr_en": In(n), "bank_wr_addr": In(addr), "bank_wr_data": In(data.ArrayLayout(L.acc, n))}


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
            "syn_addr": In(memory_address_bits(params.syn_groups)), "syn_data": Out(L.memory_width("syn")),
            "acc_rd_addr": In(nb + sb), "acc_rd_data": Out(L.acc),
            "acc_wr_addr": In(nb + sb), "acc_wr_en": In(1), "acc_wr_data": In(L.acc),
            "ev_en": In(1, init=1),
        } | bank_ports(params) | (
            {"weight_addr": In(data.ArrayLayout(unsigned(a["param"]), params.lanes)),
             "weight_data": Out(data.ArrayLayout(L.param, params.lanes))} if params.crossbar else {}))

    def elaborate(self, platform):
        m = Module()
        p, L = self.params, self.params.layouts
        init = self.init.memories if self.init is not None else {}
        mems = {}
        for name in MEMORIES[:-1]:
            depth = p.syn_groups if name == "syn" else L.depth(p, name)
            m.submodules[name] = mems[name] = memory.Memory(
                shape=unsigned(L.memory_width(name)), depth=depth, init=L.memory_words(name, init.get(name, [])))
        self._configuration(m, mems)
        for name in ("param", "state", "axon", "row", "syn"):
            port = mems[name].read_port()
            m.d.comb += [port.addr.eq(getattr(self, f"{name}_addr")),
                         Value.cast(getattr(self, f"{name}_data")).eq(port.data)]
            if name in ("axon", "row", "syn") and p.lanes > 1:
                m.d.comb += port.en.eq(self.ev_en)
        for k in range(p.lanes if p.crossbar else 0):  # per lane, a neuron's weights per axon type
            port = mems["param"].read_port()
            m.d.comb += [port.addr.eq(self.weight_addr[k]), Value.cast(self.weight_data[k]).eq(port.data)]
        debug = mems["state"].read_port()
        m.d.comb += [debug.addr.eq(self.dbg_addr), self.dbg_state.eq(debug.data)]
        self._accumulator(m)
        return m

    def _accumulator(self, m: Module) -> None:
        """The banks: a bank's lane read or write goes first; otherwise the single-word view's, in
        its neuron's bank (:func:`bank_of`). The view's read data comes from the bank read."""
        p, lb = self.params, self.params.lane_bits
        bank = lambda addr: bank_of(p, addr)  # noqa: E731
        within = lambda addr: Cat(addr[lb:p.local_bits], addr[p.local_bits:])  # noqa: E731
        rd_bank = Signal(max(1, lb))
        m.d.sync += rd_bank.eq(bank(self.acc_rd_addr))
        for b in range(p.lanes):
            m.submodules[f"acc{b}" if lb else "acc"] = acc = memory.Memory(
                shape=p.layouts.acc, depth=1 << (p.local_bits - lb + p.slot_bits), init=[])
            wr = acc.write_port()
            rd = acc.read_port(transparent_for=(wr,))
            m.d.comb += [rd.addr.eq(Mux(self.bank_rd_en[b], self.bank_rd_addr[b], within(self.acc_rd_addr))),
                         Value.cast(self.bank_rd_data[b]).eq(rd.data)]
            with m.If(rd_bank == b):
                m.d.comb += self.acc_rd_data.eq(rd.data)
            with m.If(self.bank_wr_en[b]):
                m.d.comb += [wr.addr.eq(self.bank_wr_addr[b]), wr.en.eq(1), wr.data.eq(self.bank_wr_data[b])]
            with m.Elif(self.acc_wr_en & (bank(self.acc_wr_addr) == b)):
                m.d.comb += [wr.addr.eq(within(self.acc_wr_addr)), wr.en.eq(1), wr.data.eq(self.acc_wr_data)]

    def _configuration(self, m: Module, mems: dict) -> None:
        """The configuration port's writes, the ``ctrl`` registers and the state write port."""
        p, L = self.params, self.params.layouts
        for name in ("param", "axon", "row"):
            port = mems[name].write_port()
            m.d.comb += [port.addr.eq(self.cfg_addr), port.data.eq(self.cfg_data[:L.width(name)]),
                         port.en.eq(self.cfg_en & (self.cfg_sel == MEMORIES.index(name)))]
        # an entry goes into its lane of its group's word
        lb, w = p.group_bits, L.width("syn")
        port = mems["syn"].write_port(granularity=w) if lb else mems["syn"].write_port()
        selected = self.cfg_en & (self.cfg_sel == MEMORIES.index("syn"))
        m.d.comb += [port.addr.eq(self.cfg_addr[lb:]), port.data.eq(self.cfg_data[:w].replicate(p.group)),
                     port.en.eq(Mux(selected, 1 << self.cfg_addr[:lb], 0) if lb else selected)]
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
