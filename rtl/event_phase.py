"""The event phase of a tick: incoming axon events walk their synapse rows, and the synapse
pipeline adds each synapse's weight into the accumulator ring.

:class:`EventPhase` takes an event from ``inp`` (payload: axon id; with compartments also the
graded flag and value), reads the axon's first row and row count, and issues one synapse entry
per clock cycle. While one event streams, the next is accepted and its axon entry read in the
background (``pend`` 1: the read is in flight, 2: latched), so consecutive events leave no idle
cycle.

:class:`SynapsePipeline`: stage 0 receives the entry read from the synapse memory, stage 1 reads
the accumulator word of slot ``(cur + delay) mod 2^slot_bits``, its neuron and channel, stage 2
writes it back plus ``mantissa << exponent`` (or the event's graded value instead of each weight).
"""

from __future__ import annotations

from amaranth.hdl import C, Cat, Module, Mux, Signal, Value, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .core_memories import memory_address_bits
from .params import CoreParams

__all__ = ["EventPhase", "SynapsePipeline"]


def _value_shape(params: CoreParams):
    return signed(max(1, params.payload_bits))


class EventPhase(wiring.Component):
    """Ports: ``inp``; ``tick`` and ``start`` (the core's tick, and whether the neuron phase takes
    it this cycle) and ``hold`` (the neuron phase runs): no event is accepted then; the axon, row and
    synapse reads it addresses; ``issue`` with the entry's ``exponent`` (and the event's ``graded``
    flag and ``value``) for the synapse pipeline; ``idle`` (no event walked or waiting) and ``busy``."""

    def __init__(self, params: CoreParams):
        self.params = params
        L = params.layouts
        super().__init__({
            "inp": In(stream.Signature(params.axon_bits + params.message_bits)),
            "tick": In(1), "start": In(1), "hold": In(1), "idle": Out(1), "busy": Out(1),
            "axon_addr": Out(memory_address_bits(params.axons)), "axon": In(L.axon),
            "row_addr": Out(memory_address_bits(params.rows)), "row": In(L.row),
            "syn_addr": Out(memory_address_bits(params.entries)),
            "issue": Out(1), "exponent": Out(params.exp_bits), "graded": Out(1), "value": Out(_value_shape(params)),
            # a plastic row (learning cores): its arrival is marked for the learning engine, not streamed
            "mark": Out(1), "mark_row": Out(params.entry_bits), "mark_delay": Out(params.entry_bits + 1),
        } | ({  # a crossbar core: the row's bit per neuron in, each set bit's neuron, delay - 1 and axon type out
            "mask": In(params.neurons), "neuron": Out(params.fields.index), "delay_m1": Out(params.fields.delay),
            "xtype": Out(params.type_bits)} if params.crossbar else {}))

    def elaborate(self, platform):
        m = Module()
        p = self.params
        graded_on = p.payload_bits > 0
        self._rows_left, self._r = Signal(p.row_bits + 1), Signal(p.row_bits)
        self._e, self._left, self._exp = Signal(p.entry_bits), Signal(p.entry_bits + 1), Signal(p.exp_bits)
        # the event being walked and the one waiting: graded flag and value (compartment messages)
        self._ev_graded, self._pend_graded = Signal(), Signal()
        self._ev_value, self._pend_value = Signal(_value_shape(p)), Signal(_value_shape(p))
        self._in_axon = self.inp.payload[:p.axon_bits]
        self._in_graded = self.inp.payload[p.axon_bits] if graded_on else C(0, 1)
        self._in_value = self.inp.payload[p.axon_bits + 1:].as_signed() if graded_on else C(0, signed(1))
        self._pend = pend = Signal(2)
        first, count = Signal(p.row_bits), Signal(p.row_bits + 1)
        with m.If(pend == 1):
            m.d.sync += [first.eq(self.axon.first), count.eq(self.axon.count), pend.eq(2)]
        self._pending = (Mux(pend == 1, self.axon.first, first), Mux(pend == 1, self.axon.count, count))
        m.d.comb += [self.graded.eq(self._ev_graded), self.value.eq(self._ev_value)]
        if p.crossbar:
            self._crossbar_scan(m)
        with m.FSM() as fsm:
            with m.State("IDLE"):
                self._idle(m)
            with m.State("AXON"):
                self._start_event(m, self.axon.first, self.axon.count)
            with m.State("ROW"):
                self._row(m)
            with m.State("STREAM"):
                self._accept_pending(m)
                (self._crossbar_stream if p.crossbar else self._stream)(m)
        m.d.comb += [self.idle.eq(fsm.ongoing("IDLE") & (pend == 0)), self.busy.eq(~self.idle)]
        return m

    def _stream(self, m: Module) -> None:
        """The next entry of a sparse or word32 row."""
        self._issue(m, self._e, self._exp)
        m.d.sync += self._left.eq(self._left - 1)
        with m.If(self._left == 1):
            self._next_row(m)

    # --- crossbar rows: one synapse per set bit, lowest neuron first --------------------------------
    def _crossbar_scan(self, m: Module) -> None:
        """The lowest set bit of ``_scan`` (the row's bits in ROW, the bits left in STREAM): its
        neuron ``_low_index`` and the bits without it ``_rest``."""
        p = self.params
        n = p.neurons
        self._scan, self._rem = Signal(n), Signal(n)
        self._xdelay, self._xtype = Signal(p.fields.delay), Signal(p.type_bits)
        low = Signal(n)
        m.d.comb += low.eq(self._scan & (~self._scan + 1))  # only the lowest set bit
        self._low_index = Signal(p.fields.index)
        for b in range(p.fields.index):  # one-hot to binary: bit b is set where the index has it
            hits = [low[k] for k in range(n) if k >> b & 1]
            if hits:
                m.d.comb += self._low_index[b].eq(Cat(*hits).any())
        self._rest = self._scan & ~low

    def _crossbar_row(self, m: Module, row) -> None:
        m.d.comb += self._scan.eq(self.mask)
        m.d.sync += [self._xdelay.eq(row.delay), self._xtype.eq(row.type), self._rem.eq(self._rest)]
        with m.If(self.mask != 0):
            self._crossbar_issue(m, row.delay, row.type)
        with m.If(self._rest != 0):
            m.next = "STREAM"
        with m.Else():
            self._next_row(m)

    def _crossbar_stream(self, m: Module) -> None:
        m.d.comb += self._scan.eq(self._rem)
        self._crossbar_issue(m, self._xdelay, self._xtype)
        m.d.sync += self._rem.eq(self._rest)
        with m.If(self._rest == 0):
            self._next_row(m)

    def _crossbar_issue(self, m: Module, delay_m1, xtype) -> None:
        m.d.comb += [self.issue.eq(1), self.exponent.eq(0), self.neuron.eq(self._low_index),
                     self.delay_m1.eq(delay_m1), self.xtype.eq(xtype)]

    def _idle(self, m: Module) -> None:
        m.d.comb += self.inp.ready.eq(~self.tick & ~self.hold & (self._pend == 0))
        with m.If(self.start | self.hold):
            pass
        with m.Elif(self._pend != 0):
            self._start_pending(m)
        with m.Elif(self.inp.valid & self.inp.ready):
            m.d.comb += self.axon_addr.eq(self._in_axon)
            m.d.sync += [self._ev_graded.eq(self._in_graded), self._ev_value.eq(self._in_value)]
            m.next = "AXON"

    def _row(self, m: Module) -> None:
        self._accept_pending(m)
        row = self.row
        if self.params.crossbar:
            self._crossbar_row(m, row)
        elif self.params.learning is not None:
            with m.If(row.plastic):
                m.d.comb += [self.mark.eq(1), self.mark_row.eq(row.start), self.mark_delay.eq(row.length)]
                self._next_row(m)
            with m.Else():
                self._fixed_row(m, row)
        else:
            self._fixed_row(m, row)

    def _fixed_row(self, m: Module, row) -> None:
        m.d.sync += [self._exp.eq(row.exponent), self._left.eq(row.length - 1)]
        with m.If(row.length != 0):
            self._issue(m, row.start, row.exponent)
        with m.If(row.length > 1):
            m.next = "STREAM"
        with m.Else():
            self._next_row(m)

    def _start_event(self, m: Module, first, count) -> None:
        """Walk an event's rows (none: back to idle)."""
        m.d.sync += [self._r.eq(first), self._rows_left.eq(count)]
        m.d.comb += self.row_addr.eq(first)
        with m.If(count != 0):
            m.next = "ROW"
        with m.Else():
            m.next = "IDLE"

    def _start_pending(self, m: Module) -> None:
        self._start_event(m, *self._pending)
        m.d.sync += [self._pend.eq(0), self._ev_graded.eq(self._pend_graded), self._ev_value.eq(self._pend_value)]

    def _accept_pending(self, m: Module) -> None:
        with m.If(self._pend == 0):
            m.d.comb += self.inp.ready.eq(1)
            with m.If(self.inp.valid):
                m.d.comb += self.axon_addr.eq(self._in_axon)
                m.d.sync += [self._pend.eq(1), self._pend_graded.eq(self._in_graded),
                             self._pend_value.eq(self._in_value)]

    def _next_row(self, m: Module) -> None:
        """After the last synapse of a row is issued."""
        with m.If(self._rows_left > 1):
            m.d.comb += self.row_addr.eq(self._r + 1)
            m.d.sync += [self._r.eq(self._r + 1), self._rows_left.eq(self._rows_left - 1)]
            m.next = "ROW"
        with m.Elif(self._pend != 0):
            self._start_pending(m)
        with m.Else():
            m.next = "IDLE"

    def _issue(self, m: Module, entry, exponent) -> None:
        m.d.comb += [self.syn_addr.eq(entry), self.issue.eq(1), self.exponent.eq(exponent)]
        m.d.sync += self._e.eq(entry + 1)


class SynapsePipeline(wiring.Component):
    """Ports: ``issue`` with ``exponent``, ``graded`` and ``value`` (the cycle a synapse entry is
    read), ``word`` (the entry, a cycle later), ``cur``; the accumulator read it addresses
    (``acc_addr``, ``acc``) and its write (``wr_*``); ``busy`` and the counter ``synops``."""

    def __init__(self, params: CoreParams):
        self.params = params
        L, nb, sb = params.layouts, params.local_bits, params.slot_bits
        super().__init__({
            "issue": In(1), "exponent": In(params.exp_bits), "graded": In(1), "value": In(_value_shape(params)),
            "word": In(params.word.width), "cur": In(sb),
            "acc_addr": Out(nb + sb), "acc": In(L.acc),
            "wr_en": Out(1), "wr_addr": Out(nb + sb), "wr_data": Out(L.acc),
            "busy": Out(1), "synops": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        p, w = self.params, self.params.word
        nb, sb = p.local_bits, p.slot_bits
        s0_valid, s0_exp, s0_graded = Signal(), Signal(p.exp_bits), Signal()
        s0_value = Signal(_value_shape(p))
        m.d.sync += s0_valid.eq(self.issue)
        with m.If(self.issue):
            m.d.sync += [s0_exp.eq(self.exponent), s0_graded.eq(self.graded), s0_value.eq(self.value)]
        word = self.word
        field = lambda where: word[where[0]:where[0] + where[1]]  # noqa: E731
        delay_m1, mant = field(w.delay), field(w.weight).as_signed()
        slot = (self.cur + delay_m1 + 1)[:sb]
        m.d.comb += self.acc_addr.eq(Cat(word[:nb], slot))  # neuron index < neurons (checked at load)
        s1_valid, s1_addr, s1_ch = Signal(), Signal(nb + sb), Signal(max(1, w.channel[1]))
        s1_delta = Signal.like(Value.cast(self.acc[0]))
        delta = Mux(s0_graded, s0_value, mant << s0_exp) if p.payload_bits else mant << s0_exp
        m.d.sync += [s1_valid.eq(s0_valid), s1_addr.eq(self.acc_addr), s1_delta.eq(delta),
                     s1_ch.eq(field(w.channel) if w.channel[1] else 0)]
        m.d.comb += self.busy.eq(s0_valid | s1_valid)
        with m.If(s1_valid):
            for k in range(p.channels):
                old = self.acc[k]
                m.d.comb += self.wr_data[k].eq(Mux(s1_ch == k, old + s1_delta, old) if p.channels > 1
                                               else old + s1_delta)
            m.d.comb += [self.wr_addr.eq(s1_addr), self.wr_en.eq(1)]
            m.d.sync += self.synops.eq(self.synops + 1)
        return m
