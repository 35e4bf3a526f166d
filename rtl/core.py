"""One neuromorphic core in Amaranth: the datapath contract, time-multiplexed over its neurons.

Memories (word layouts in :class:`rtl.params.Layouts`, filled through the configuration port
from the image by :mod:`rtl.load`):

* ``param[neuron]``, ``state[neuron]``: parameters and state (v, currents, refractory counter);
* ``acc[slot, neuron]``: per channel, the exact sum of the weights due in a tick (ring buffer of
  ``2^slot_bits >= delay_max`` slots);
* ``axon[axon]`` -> first row and row count; ``row[row]`` -> first synapse, length, exponent;
  ``syn[entry]``: sparse synapse entries exactly as in the image (neuron index, delay - 1,
  channel, weight mantissa), as wide as those fields.

Protocol, per tick ``t`` (docs/rtl.md):

1. A one-cycle ``tick`` pulse while idle starts the **neuron phase**: neurons ``0 .. active-1``
   are updated one per clock cycle (the input of slot ``t`` is read and cleared); a spike of
   neuron ``j`` is offered on ``out`` (payload ``j``) and the phase waits while ``out.ready`` is low.
2. The **event phase**: each event on ``inp`` (payload: axon id) whose source spiked in tick
   ``t`` walks the axon's rows; one synapse per clock cycle adds ``mantissa << exponent`` into
   slot ``(t + delay) mod 2^slot_bits`` of its neuron and channel (a two-stage read-modify-write
   pipeline; the read port is transparent to the write port, so back-to-back updates of one
   word are exact).

``busy`` is high from the tick until the neuron phase ends and while events are processed.

**Partial-sum compartments** (``params.payload_bits > 0``): slots ``neurons .. active-1``
(``ctrl``) are compartments. In the neuron phase a compartment reads its slot's exact sum
(channel 0), saturates it to ``payload_bits`` and, if it is not zero, offers it on ``out`` as a
graded message (payload: slot, graded flag 1, value); it has no state. An event with the graded
flag (from ``inp``: axon, flag, value) delivers its value instead of each synapse's weight (the
image gives such an axon one synapse of weight 1 and delay 1 onto the compartment's neuron).
"""

from __future__ import annotations

from amaranth.hdl import C, Cat, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .arith import neuron_update, sat
from .load import CoreLoad, unpack
from .params import MEMORIES, CoreParams

__all__ = ["LifCore", "config_port", "core_signature"]


def config_port(params: CoreParams) -> tuple[int, int]:
    """Data and address widths of the core's configuration port."""
    L = params.layouts
    return (max(L.width(m) for m in MEMORIES),
            max(max(1, (L.depth(params, m) - 1).bit_length()) for m in MEMORIES))


def core_signature(params: CoreParams) -> wiring.Signature:
    """The ports of :class:`LifCore` (also those of :class:`rtl.chip.CoreInstance`)."""
    cfg_width, cfg_addr_bits = config_port(params)
    return wiring.Signature({
        "tick": In(1),
        "busy": Out(1),
        "inp": In(stream.Signature(unsigned(params.axon_bits + params.message_bits))),
        "out": Out(stream.Signature(unsigned(params.neuron_bits + params.message_bits))),
        "cfg_en": In(1),
        "cfg_sel": In(3),
        "cfg_addr": In(cfg_addr_bits),
        "cfg_data": In(cfg_width),
        "dbg_addr": In(params.neuron_bits),
        "dbg_state": Out(params.layouts.width("state")),
        "ticks": Out(32),
        "spikes": Out(32),
        "synops": Out(32),
    })


class LifCore(wiring.Component):
    """The core for :class:`CoreParams` ``params``. Ports: ``tick``, ``busy``, ``inp`` (axon events),
    ``out`` (spikes: local neuron index), the configuration write port ``cfg_*`` (``cfg_sel`` picks
    the memory, :data:`rtl.params.MEMORIES`), the state read port ``dbg_addr``/``dbg_state``, and
    the counters ``ticks``, ``spikes``, ``synops``."""

    def __init__(self, params: CoreParams, init: CoreLoad | None = None):
        self.params = params
        self.init = init  # memories initialized from an image (None: loaded through the cfg port)
        self.cfg_width, self.cfg_addr_bits = config_port(params)
        super().__init__(core_signature(params))

    def elaborate(self, platform):
        m = Module()
        p, L, fmt = self.params, self.params.layouts, self.params.fmt
        nb, sb, R = p.local_bits, p.slot_bits, p.channels
        f = p.fields

        init = self.init.memories if self.init is not None else {}

        def mem(name, depth):
            m.submodules[name] = mm = memory.Memory(shape=unsigned(L.width(name)), depth=depth,
                                                    init=init.get(name, []))
            return mm

        param, state = mem("param", p.neurons), mem("state", p.neurons)
        axon, row, syn = mem("axon", p.axons), mem("row", p.rows), mem("syn", p.entries)
        m.submodules.acc = acc = memory.Memory(shape=L.acc, depth=1 << (nb + sb), init=[])
        param_rd, param_wr = param.read_port(), param.write_port()
        state_wr = state.write_port()
        state_rd, state_dbg = state.read_port(), state.read_port()
        acc_wr = acc.write_port()
        acc_rd = acc.read_port(transparent_for=(acc_wr,))
        axon_rd, axon_wr = axon.read_port(), axon.write_port()
        row_rd, row_wr = row.read_port(), row.write_port()
        syn_rd, syn_wr = syn.read_port(), syn.write_port()

        # --- configuration writes (only while idle) and the debug read port -------------------
        ctrl = unpack(L.ctrl, self.init.memories["ctrl"][0]) if self.init is not None else {}
        graded_on = p.payload_bits > 0
        active = Signal(p.neuron_bits + 1, init=ctrl.get("active", 0))
        first_comp = Signal(p.neuron_bits + 1, init=ctrl.get("neurons", 0))  # slots from here: compartments
        for sel, port in ((0, param_wr), (2, axon_wr), (3, row_wr), (4, syn_wr)):
            width = L.width(MEMORIES[sel])
            m.d.comb += [port.addr.eq(self.cfg_addr), port.data.eq(self.cfg_data[:width]),
                         port.en.eq(self.cfg_en & (self.cfg_sel == sel))]
        cfg_state = self.cfg_en & (self.cfg_sel == 1)
        with m.If(self.cfg_en & (self.cfg_sel == 5)):
            m.d.sync += active.eq(self.cfg_data[:p.neuron_bits + 1])
            if graded_on:
                m.d.sync += first_comp.eq(self.cfg_data[p.neuron_bits + 1:2 * p.neuron_bits + 2])
        m.d.comb += [state_dbg.addr.eq(self.dbg_addr), self.dbg_state.eq(state_dbg.data)]

        # --- the synapse pipeline: stage 0 reads an entry, 1 reads the accumulator, 2 writes it --
        cur = Signal(sb, init=(1 << sb) - 1)  # slot of the current tick
        s0_valid, s0_exp = Signal(), Signal(p.exp_bits)
        s1_valid, s1_addr, s1_ch = Signal(), Signal(nb + sb), Signal(max(1, f.channel))
        s1_delta = Signal.like(Value.cast(acc_rd.data[0]))
        P = p.payload_bits
        # the event being walked and the one waiting: graded flag and value (compartment messages)
        ev_graded, pend_graded, s0_graded = Signal(), Signal(), Signal()
        ev_value, pend_value, s0_value = (Signal(signed(max(1, P))) for _ in range(3))
        in_axon = self.inp.payload[:p.axon_bits]
        in_graded = self.inp.payload[p.axon_bits] if graded_on else C(0, 1)
        in_value = self.inp.payload[p.axon_bits + 1:].as_signed() if graded_on else C(0, signed(1))
        word = syn_rd.data
        prm, st, sw = L.param(param_rd.data), L.state(state_rd.data), L.state(state_wr.data)
        axon_data, row_data = L.axon(axon_rd.data), L.row(row_rd.data)
        j_syn = word[:nb]  # < neurons (checked when the image is loaded)
        delay_m1 = word[f.index:f.index + f.delay]
        ch = word[f.index + f.delay:f.index + f.delay + f.channel] if f.channel else C(0, 1)
        base = f.index + f.delay + f.channel
        mant = word[base:base + f.weight].as_signed()
        slot = (cur + delay_m1 + 1)[:sb]
        m.d.sync += [s1_valid.eq(s0_valid), s1_addr.eq(Cat(j_syn, slot)), s1_ch.eq(ch),
                     s1_delta.eq(Mux(s0_graded, s0_value, mant << s0_exp) if graded_on else mant << s0_exp),
                     s0_valid.eq(0)]
        with m.If(s1_valid):
            for k in range(R):
                old = acc_rd.data[k]
                m.d.comb += acc_wr.data[k].eq(Mux(s1_ch == k, old + s1_delta, old) if R > 1 else old + s1_delta)
            m.d.comb += [acc_wr.addr.eq(s1_addr), acc_wr.en.eq(1)]
            m.d.sync += self.synops.eq(self.synops + 1)

        # --- control --------------------------------------------------------------------------
        j = Signal(nb + 1)
        rows_left, r = Signal(p.row_bits + 1), Signal(p.row_bits)
        e, left, exp = Signal(p.entry_bits), Signal(p.entry_bits + 1), Signal(p.exp_bits)
        upd = neuron_update(m, fmt, prm, st, acc_rd.data)
        pipeline = s0_valid | s1_valid
        # one event waits while the previous one streams: its axon entry is read in the background
        # (pend 1: the read is in flight, 2: latched), so consecutive events leave no idle cycle
        pend, pend_first, pend_count = Signal(2), Signal(p.row_bits), Signal(p.row_bits + 1)
        with m.If(pend == 1):
            m.d.sync += [pend_first.eq(axon_data.first), pend_count.eq(axon_data.count), pend.eq(2)]
        p_first = Mux(pend == 1, axon_data.first, pend_first)
        p_count = Mux(pend == 1, axon_data.count, pend_count)
        m.d.comb += [self.busy.eq(pipeline | (pend != 0)), acc_rd.addr.eq(Cat(j_syn, slot))]

        def read_neuron(index):
            m.d.comb += [param_rd.addr.eq(index), state_rd.addr.eq(index)]

        def start_event(first, count, graded=None, value=None):  # walk an event's rows (none: back to idle)
            m.d.sync += [r.eq(first), rows_left.eq(count)]
            if graded is not None and graded_on:
                m.d.sync += [ev_graded.eq(graded), ev_value.eq(value)]
            m.d.comb += row_rd.addr.eq(first)
            with m.If(count != 0):
                m.next = "ROW"
            with m.Else():
                m.next = "IDLE"

        def accept_pending():
            with m.If(pend == 0):
                m.d.comb += self.inp.ready.eq(1)
                with m.If(self.inp.valid):
                    m.d.comb += axon_rd.addr.eq(in_axon)
                    m.d.sync += pend.eq(1)
                    if graded_on:
                        m.d.sync += [pend_graded.eq(in_graded), pend_value.eq(in_value)]

        def next_row():  # after the last synapse of a row is issued
            with m.If(rows_left > 1):
                m.d.comb += row_rd.addr.eq(r + 1)
                m.d.sync += [r.eq(r + 1), rows_left.eq(rows_left - 1)]
                m.next = "ROW"
            with m.Elif(pend != 0):
                start_event(p_first, p_count, pend_graded, pend_value)
                m.d.sync += pend.eq(0)
            with m.Else():
                m.next = "IDLE"

        def issue(entry, exponent):
            m.d.comb += syn_rd.addr.eq(entry)
            m.d.sync += [s0_valid.eq(1), s0_exp.eq(exponent), e.eq(entry + 1)]
            if graded_on:
                m.d.sync += [s0_graded.eq(ev_graded), s0_value.eq(ev_value)]

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.inp.ready.eq(~self.tick & (pend == 0))
                with m.If(self.tick & ~pipeline & (pend == 0)):
                    read_neuron(0)
                    m.d.comb += acc_rd.addr.eq(Cat(C(0, nb), (cur + 1)[:sb]))
                    m.d.sync += [cur.eq(cur + 1), j.eq(0)]
                    with m.If(active != 0):
                        m.next = "NEURON"
                    with m.Else():
                        m.d.sync += self.ticks.eq(self.ticks + 1)
                with m.Elif(pend != 0):
                    start_event(p_first, p_count, pend_graded, pend_value)
                    m.d.sync += pend.eq(0)
                with m.Elif(self.inp.valid):
                    m.d.comb += axon_rd.addr.eq(in_axon)
                    if graded_on:
                        m.d.sync += [ev_graded.eq(in_graded), ev_value.eq(in_value)]
                    m.next = "AXON"
            with m.State("NEURON"):
                if graded_on:  # a compartment sends its saturated sum, when not zero
                    is_comp = j >= first_comp
                    message = sat(m, acc_rd.data[0], P)
                    fire = Mux(is_comp, message != 0, upd.spike)
                    spike = upd.spike & ~is_comp
                    pad = [C(0, p.neuron_bits - nb)] if p.neuron_bits > nb else []
                    payload = Cat(j[:nb], *pad, is_comp, Mux(is_comp, message, 0))  # spikes: flag and value 0
                else:
                    is_comp, fire, spike, payload = None, upd.spike, upd.spike, j[:nb]
                m.d.comb += [self.busy.eq(1), self.out.valid.eq(fire), self.out.payload.eq(payload)]
                proceed = ~fire | self.out.ready
                with m.If(proceed):
                    m.d.comb += [state_wr.addr.eq(j), state_wr.en.eq(~is_comp if graded_on else 1),
                                 sw.v.eq(upd.v), sw.ref.eq(upd.ref), acc_wr.addr.eq(Cat(j[:nb], cur)),
                                 acc_wr.en.eq(1), Value.cast(acc_wr.data).eq(0)]
                    for k in range(R):
                        m.d.comb += sw.i[k].eq(upd.i[k])
                    m.d.sync += [self.spikes.eq(self.spikes + spike), j.eq(j + 1)]
                    read_neuron(j + 1)
                    m.d.comb += acc_rd.addr.eq(Cat((j + 1)[:nb], cur))
                    with m.If(j + 1 == active):
                        m.d.sync += self.ticks.eq(self.ticks + 1)
                        m.next = "IDLE"
                with m.Else():
                    read_neuron(j)
                    m.d.comb += acc_rd.addr.eq(Cat(j[:nb], cur))
            with m.State("AXON"):
                m.d.comb += self.busy.eq(1)
                start_event(axon_data.first, axon_data.count)
            with m.State("ROW"):
                m.d.comb += self.busy.eq(1)
                accept_pending()
                rw = row_data
                m.d.sync += [exp.eq(rw.exponent), left.eq(rw.length - 1)]
                with m.If(rw.length != 0):
                    issue(rw.start, rw.exponent)
                with m.If(rw.length > 1):
                    m.next = "STREAM"
                with m.Else():
                    next_row()
            with m.State("STREAM"):
                m.d.comb += self.busy.eq(1)
                accept_pending()
                issue(e, exp)
                m.d.sync += left.eq(left - 1)
                with m.If(left == 1):
                    next_row()
        # configuration writes to the state memory take the port when asserted (only while idle)
        with m.If(cfg_state):
            m.d.comb += [state_wr.addr.eq(self.cfg_addr), state_wr.en.eq(1),
                         state_wr.data.eq(self.cfg_data[:L.width("state")])]
        return m
