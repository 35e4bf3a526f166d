"""The event phase of a tick: incoming axon events walk their synapse rows, and the synapse
pipeline adds each synapse's weight into the accumulator ring.

:class:`EventPhase` takes an event from ``inp`` (payload: axon id; with compartments also the
graded flag and value), reads the axon's first row and row count, and issues one synapse entry
per clock cycle (with N lanes: one group of N entries, or on a crossbar core one set bit per
lane). While one event streams, the next is accepted and its axon entry read in the background
(``pend`` 1: the read is in flight, 2: latched), and the one after it is taken in the cycle the
waiting one starts, so consecutive events leave no idle cycle.

:class:`SynapsePipeline`: stage 0 receives the entries read from the synapse memory and gives
each lane its accumulator bank, stage 1 reads the accumulator word of slot
``(cur + delay) mod 2^slot_bits``, its neuron and channel, stage 2 writes it back plus
``mantissa << exponent`` (or the event's graded value instead of each weight).
"""

from __future__ import annotations

from amaranth.hdl import C, Cat, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .core_memories import bank_number, bank_of, bank_ports, memory_address_bits
from .params import CoreParams

__all__ = ["EventPhase", "SynapsePipeline"]


def flipped_bank_ports(params: CoreParams) -> dict:
    """The accumulator banks' ports seen from the synapse pipeline."""
    return {name: (Out if member.flow == In else In)(member.shape, init=member.init)
            for name, member in bank_ports(params).items()}


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
            "syn_addr": Out(memory_address_bits(params.syn_groups)), "stall": In(1), "lane_mask": Out(params.lanes, init=1),
            "issue": Out(1), "exponent": Out(params.exp_bits), "graded": Out(1), "value": Out(_value_shape(params)),
            # a plastic row (learning cores): its arrival is marked for the learning engine, not streamed
            "mark": Out(1), "mark_row": Out(params.entry_bits), "mark_delay": Out(params.entry_bits + 1),
        } | ({  # a crossbar core: the row's bit per neuron in, each set bit's neuron, delay - 1 and axon type out
            "mask": In(params.neurons), "neuron": Out(data.ArrayLayout(unsigned(params.fields.index), params.lanes)),
            "delay_m1": Out(params.fields.delay),
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
        self._first, self._end = Signal(p.entry_bits), Signal(p.entry_bits + 1)  # lanes: the row's entries
        with m.If(~self.stall), m.FSM() as fsm:  # a stall (lanes waiting for their bank) holds everything
            with m.State("IDLE"):
                self._idle(m)
            with m.State("AXON"):
                self._accept_pending(m)
                self._start_event(m, self.axon.first, self.axon.count)
            with m.State("ROW"):
                self._row(m)
            with m.State("STREAM"):
                self._accept_pending(m)
                (self._crossbar_stream if p.crossbar else self._stream)(m)
        m.d.comb += [self.idle.eq(fsm.ongoing("IDLE") & (pend == 0)), self.busy.eq(~self.idle)]
        return m

    def _stream(self, m: Module) -> None:
        """The next entry (lanes: group of entries) of a sparse or word32 row."""
        self._issue(m, self._e, self._exp, self._first, self._end)
        m.d.sync += self._left.eq(self._left - 1)
        with m.If(self._left == 1):
            self._next_row(m)

    # --- crossbar rows: one synapse per set bit, lowest neuron first --------------------------------
    def _crossbar_scan(self, m: Module) -> None:
        """Per lane, the lowest set bit of ``_scan`` (the row's bits in ROW, the bits left in
        STREAM) among the neurons of the lane's accumulator bank: its neuron ``_low_index[k]``
        (``_any[k]``: there is one); ``_rest``: the bits without them. Lanes never meet in a bank."""
        p = self.params
        n = p.neurons
        self._scan, self._rem = Signal(n), Signal(n)
        self._xdelay, self._xtype = Signal(p.fields.delay), Signal(p.type_bits)
        self._low_index = [Signal(p.fields.index, name=f"low_index{k}") for k in range(p.lanes)]
        self._any, cleared = Signal(p.lanes), Signal(n)
        for k in range(p.lanes):
            idx = [j for j in range(n) if bank_number(p, j) == k]
            bits, low = Cat(self._scan[j] for j in idx), Signal(len(idx), name=f"low{k}")
            m.d.comb += [low.eq(bits & (~bits + 1)), self._any[k].eq(bits.any())]  # only the lowest set bit
            for b in range(p.fields.index):  # one-hot to binary: bit b is set where the index has it
                hits = [low[i] for i, j in enumerate(idx) if j >> b & 1]
                if hits:
                    m.d.comb += self._low_index[k][b].eq(Cat(*hits).any())
            m.d.comb += [cleared[j].eq(low[i]) for i, j in enumerate(idx)]
        self._rest = self._scan & ~cleared

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
        m.d.comb += [self.issue.eq(1), self.exponent.eq(0), self.lane_mask.eq(self._any),
                     self.delay_m1.eq(delay_m1), self.xtype.eq(xtype)]
        m.d.comb += [self.neuron[k].eq(self._low_index[k]) for k in range(self.params.lanes)]

    def _idle(self, m: Module) -> None:
        """No event while a tick starts or the neuron phase runs; else the waiting one, or a new one."""
        with m.If(self.start | self.hold):
            pass
        with m.Elif(self._pend != 0):
            self._start_pending(m, accept=~self.tick)
        with m.Elif(~self.tick):
            m.d.comb += self.inp.ready.eq(1)
            with m.If(self.inp.valid):
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
        """A row's first entry (lanes: the group of its first entry; ``_left`` counts the groups
        after it)."""
        lb = self.params.lane_bits
        end = row.start + row.length
        groups = ((end - 1) >> lb) - (row.start >> lb) + 1 if lb else row.length
        m.d.sync += [self._exp.eq(row.exponent), self._left.eq(groups - 1), self._first.eq(row.start),
                     self._end.eq(end)]
        with m.If(row.length != 0):
            self._issue(m, row.start >> lb, row.exponent, row.start, end)
        with m.If((row.length != 0) & (groups > 1)):
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

    def _start_pending(self, m: Module, accept=1) -> None:
        """Walk the waiting event, and take the next one in its place (while ``accept``): its axon
        is read now, and the cycle it is next needed the data is there, so events whose rows
        take one cycle follow one per cycle."""
        self._start_event(m, *self._pending)
        m.d.sync += [self._pend.eq(0), self._ev_graded.eq(self._pend_graded), self._ev_value.eq(self._pend_value)]
        with m.If(accept):
            m.d.comb += self.inp.ready.eq(1)
            with m.If(self.inp.valid):
                self._take(m)

    def _accept_pending(self, m: Module) -> None:
        with m.If(self._pend == 0):
            m.d.comb += self.inp.ready.eq(1)
            with m.If(self.inp.valid):
                self._take(m)

    def _take(self, m: Module) -> None:
        """The offered event waits (``pend`` 1: its axon entry is being read)."""
        m.d.comb += self.axon_addr.eq(self._in_axon)
        m.d.sync += [self._pend.eq(1), self._pend_graded.eq(self._in_graded), self._pend_value.eq(self._in_value)]

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

    def _issue(self, m: Module, group, exponent, first, end) -> None:
        """Read a group of the synapse memory (one entry per lane): ``lane_mask`` marks its entries in
        the row ``first .. end - 1``."""
        p = self.params
        m.d.comb += [self.syn_addr.eq(group), self.issue.eq(1), self.exponent.eq(exponent)]
        if p.lanes > 1:
            entries = [Cat(C(k, p.lane_bits), group) for k in range(p.lanes)]
            m.d.comb += self.lane_mask.eq(Cat((e >= first) & (e < end) for e in entries))
        m.d.sync += self._e.eq(group + 1)


class SynapsePipeline(wiring.Component):
    """Ports: ``issue`` with ``lane_mask`` (the group's entries in the row, one bit per lane),
    ``exponent``, ``graded`` and ``value`` (the cycle a group of the synapse memory is read),
    ``word`` (the group, a cycle later), ``cur``; the accumulator banks' reads and writes
    (:func:`rtl.core_memories.bank_ports`); ``stall`` (the group holds: lanes wait for their bank),
    ``busy`` and the counter ``synops``.

    Stage 0 holds the group. Each cycle every bank takes the lowest waiting lane whose neuron it
    holds (:func:`rtl.core_memories.bank_of`): lanes of one bank (a multapse, two neurons of one bank) go one
    per cycle, and ``stall`` keeps the event phase and the group until the last lane is taken.
    Stage 1 reads the taken lane's accumulator word in its bank, stage 2 writes it back plus the
    weight; a bank's read port is transparent to its write, so back-to-back updates of one word
    are exact. With one lane no group ever waits."""

    def __init__(self, params: CoreParams):
        self.params = params
        super().__init__({
            "issue": In(1), "lane_mask": In(params.lanes, init=1), "exponent": In(params.exp_bits), "graded": In(1),
            "value": In(_value_shape(params)), "word": In(params.lanes * params.word.width), "cur": In(params.slot_bits),
            "stall": Out(1), "busy": Out(1), "synops": Out(32),
        } | flipped_bank_ports(params))

    def elaborate(self, platform):
        m = Module()
        p = self.params
        s0_valid, s0_mask, s0_exp, s0_graded = Signal(), Signal(p.lanes), Signal(p.exp_bits), Signal()
        s0_value = Signal(_value_shape(p))
        with m.If(~self.stall):
            m.d.sync += s0_valid.eq(self.issue)
            with m.If(self.issue):
                m.d.sync += [s0_mask.eq(self.lane_mask), s0_exp.eq(self.exponent), s0_graded.eq(self.graded),
                             s0_value.eq(self.value)]
        lanes = [self._lane(m, k, s0_exp, s0_graded, s0_value) for k in range(p.lanes)]
        grant = self._arbitrate(m, s0_valid, s0_mask, [bank for bank, *_ in lanes])
        s1_valid = Signal(p.lanes)
        for b in range(p.lanes):
            self._bank(m, b, [(grant[k] & (bank == b), *rest) for k, (bank, *rest) in enumerate(lanes)], s1_valid)
        m.d.comb += self.busy.eq(s0_valid | s1_valid.any())
        m.d.sync += self.synops.eq(self.synops + sum(s1_valid[b] for b in range(p.lanes)))
        return m

    def _lane(self, m: Module, k: int, exp, graded, value) -> tuple:
        """Lane ``k``'s entry: its bank, its word's address in the bank, channel and weight (or the
        event's graded value)."""
        p, w = self.params, self.params.word
        word = self.word[k * w.width:(k + 1) * w.width]
        field = lambda where: word[where[0]:where[0] + where[1]]  # noqa: E731
        lb, nb = p.lane_bits, p.local_bits
        delay_m1, mant = field(w.delay), field(w.weight).as_signed()
        slot = (self.cur + delay_m1 + 1)[:p.slot_bits]
        addr = Cat(word[lb:nb], slot)  # neuron index < neurons (checked at load)
        delta = Mux(graded, value, mant << exp) if p.payload_bits else mant << exp
        return bank_of(p, word[:nb]), addr, (field(w.channel) if w.channel[1] else 0), delta

    def _arbitrate(self, m: Module, valid, mask, banks: list) -> Value:
        """Which lanes the banks take this cycle: a waiting lane unless a lower one waits for its
        bank. Lanes taken in an earlier cycle of the group are ``done``."""
        n = self.params.lanes
        done, grant = Signal(n), Signal(n)
        want = Mux(valid, mask & ~done, 0)
        for k in range(n):
            m.d.comb += grant[k].eq(want[k] & ~Cat(want[j] & (banks[j] == banks[k]) for j in range(k)).any()
                                    if k else want[k])
        m.d.comb += self.stall.eq((want & ~grant).any())
        m.d.sync += done.eq(Mux(self.stall, done | grant, 0))
        return grant

    def _bank(self, m: Module, b: int, lanes: list, s1_valid: Signal) -> None:
        """Bank ``b``: the read of the lane it takes, a cycle later the write of that word plus the
        lane's weight into the lane's channel."""
        p = self.params
        s1_addr = Signal.like(Value.cast(self.bank_wr_addr[b]))
        s1_ch = Signal(max(1, p.word.channel[1]))
        s1_delta = Signal.like(Value.cast(self.bank_wr_data[b][0]))
        for taken, addr, channel, delta in lanes:
            with m.If(taken):
                m.d.comb += [self.bank_rd_en[b].eq(1), self.bank_rd_addr[b].eq(addr)]
                m.d.sync += [s1_addr.eq(addr), s1_ch.eq(channel), s1_delta.eq(delta)]
        m.d.sync += s1_valid[b].eq(Cat(taken for taken, *_ in lanes).any())
        with m.If(s1_valid[b]):
            old = self.bank_rd_data[b]
            for k in range(p.channels):
                m.d.comb += self.bank_wr_data[b][k].eq(Mux(s1_ch == k, old[k] + s1_delta, old[k]) if p.channels > 1
                                                       else old[k] + s1_delta)
            m.d.comb += [self.bank_wr_addr[b].eq(s1_addr), self.bank_wr_en[b].eq(1)]
