"""The core's learning engine: pair-based STDP and reward-modulated STDP on the core's plastic
synapses, bit for bit the contract of docs/datapath.md ("Learning") that the bit-accurate
simulator runs (:mod:`nmcompiler.sim.bit_plasticity`). Memories and word layouts:
:mod:`rtl.learn_params`; arithmetic: :mod:`rtl.learn_arith`.

Per tick (the core's ``tick`` goes to the engine first):

1. **Arrivals** (before the neuron phase; events wait): the plastic rows in memory order (delay,
   then source) whose ``hist`` bit of the new tick's slot is set (the event phase set it, ``delay``
   slots ahead, when the row's source spiked). Each such row clears its bit, steps its pre trace
   and walks its synapses: the weight goes into the accumulator of the tick's slot (read and
   written back), then ``m`` (or ``c``) changes by ``-R(a_minus y ...)``. One synapse per cycle
   (a three-stage pipeline), three cycles per row more.
2. The engine starts the **neuron phase** and records its spikes (ascending) in a queue.
3. **Potentiation** (after the neuron phase, while events stream): per queued spike, the neuron's
   post traces step (one per unit in ``pinptr.mask``), then every plastic synapse into it
   (``pin``) gains ``R(a_plus x ...)``. One synapse per cycle (four stages).
4. ``tick_end`` (the host's pulse once the tick's events are in, after writing the units'
   ``reward``): per unit, the reward onto every synapse with ``c != 0``, then, at the end of an
   epoch, the decay of its pre traces, post traces and eligibilities (two cycles per entry).

Every stochastic rounding steps its unit's LFSR once, in this order: the contract's.
"""

from __future__ import annotations

from amaranth.hdl import Array, C, Cat, Module, Mux, Signal, Value, signed
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from nmcompiler.datapath.learning import INV_BITS

from .arith import wire
from .learn_arith import clamp, round_shift, trace_step
from .learn_params import HIST_WORD, LEARN_BASE, LEARN_DEBUG, LEARN_MEMORIES, LearnParams

HIST_SHIFT = HIST_WORD.bit_length() - 1  # log2 of the rows per word of arrival bits
ARRIVAL_STATES = ("SCAN", "ROW", "XSTEP", "ASTREAM")
POT_STATES = ("POT", "POT_PTR", "POT_Y", "POT_YW", "PSTREAM")

__all__ = ["LearningEngine"]


class LearningEngine(wiring.Component):
    """Ports: ``tick``/``tick_end`` (pulses), ``ready`` (the rest of the core is idle),
    ``neu_start``/``neu_running`` (the neuron phase), ``hold`` (no events now), ``busy``; ``cur`` (the
    tick's slot); the accumulator access during arrivals (``acc_*``); ``spike``/``spike_neuron``
    (a spike leaves the core); ``mark``/``mark_row``/``mark_delay`` (an event reached a plastic
    row); the configuration writes (``cfg_*``) and the read-back ``ldbg_*``; ``plastic_ops``."""

    def __init__(self, lp: LearnParams, acc_layout, cfg_width: int, cfg_addr_bits: int, channels: int, init=None):
        self.lp, self.acc_layout, self.channels = lp, acc_layout, channels
        self.init = init  # rtl.learn_load.LearnLoad: memories and registers start with an image
        L, nb, sb = lp.layouts, lp.local_bits, lp.slot_bits
        dbg_width = max(L.width("psyn"), lp.fmt.trace_bits, 32)
        super().__init__({
            "tick": In(1), "tick_end": In(1), "ready": In(1), "neu_start": Out(1), "neu_running": In(1),
            "hold": Out(1), "busy": Out(1), "cur": In(sb),
            "acc_use": Out(1), "acc_addr": Out(nb + sb), "acc": In(acc_layout),
            "acc_wr_en": Out(1), "acc_wr_addr": Out(nb + sb), "acc_wr_data": Out(acc_layout),
            "spike": In(1), "spike_neuron": In(nb),
            "mark": In(1), "mark_row": In(lp.entry_bits), "mark_delay": In(lp.entry_bits + 1),
            "cfg_en": In(1), "cfg_sel": In(4), "cfg_addr": In(cfg_addr_bits), "cfg_data": In(cfg_width),
            "ldbg_sel": In(2), "ldbg_addr": In(max(lp.entry_bits, lp.unit_bits + nb)), "ldbg_data": Out(dbg_width),
            "plastic_ops": Out(32), "learn_events": Out(32), "learn_cycles": Out(32),
        })

    # --- memories and registers ------------------------------------------------------------
    def _memories(self, m: Module) -> None:
        lp, L = self.lp, self.lp.layouts
        words = self.init.memories if self.init is not None else {}
        mk = lambda name, width, depth: memory.Memory(shape=width, depth=depth, init=words.get(name, []))  # noqa: E731
        self.mem = {name: mk(name, L.width(name), lp.depth(name)) for name in ("lrow", "psyn", "pinptr", "pin")}
        self.mem["hist"] = mk("hist", HIST_WORD, lp.hist_groups << lp.slot_bits)
        self.mem["xtr"] = mk("xtr", lp.fmt.trace_bits, lp.rows)
        self.mem["ytr"] = mk("ytr", lp.fmt.trace_bits, lp.units << lp.local_bits)
        self.mem["fifo"] = mk("fifo", lp.local_bits, lp.neurons)
        for name, mem in self.mem.items():
            m.submodules[name] = mem
        self.rd = {name: mem.read_port() for name, mem in self.mem.items()}
        self.wr = {name: mem.write_port(granularity=1 if name == "hist" else None) for name, mem in self.mem.items()}
        for name in ("lrow", "pinptr", "pin"):  # written only by the configuration port
            self._cfg_write(m, name, self.wr[name])
        units = words.get("lunit", []) + [0] * lp.units
        self.unit_words = [Signal(L.lunit.size, name=f"lunit{u}", init=units[u]) for u in range(lp.units)]
        self.lfsr = [Signal(32, name=f"lfsr{u}", init=data.Const(L.lunit, units[u]).seed) for u in range(lp.units)]
        self.count = [Signal(lp.epoch_bits, name=f"epoch{u}") for u in range(lp.units)]
        self.reward = [Signal(lp.reward_width, name=f"reward{u}") for u in range(lp.units)]
        self.rows_used = Signal(lp.row_bits + 1, init=(words.get("lctrl") or [0])[0])
        self._cfg_registers(m)

    def _sel(self, name: str) -> Value:
        return self.cfg_en & (self.cfg_sel == LEARN_BASE + LEARN_MEMORIES.index(name))

    def _cfg_write(self, m: Module, name: str, port) -> None:
        with m.If(self._sel(name)):
            m.d.comb += [port.addr.eq(self.cfg_addr), port.en.eq(1),
                         port.data.eq(self.cfg_data[:self.lp.layouts.width(name)])]

    def _cfg_registers(self, m: Module) -> None:
        L = self.lp.layouts
        for u in range(self.lp.units):
            with m.If(self._sel("lunit") & (self.cfg_addr == u)):
                word = self.cfg_data[:L.width("lunit")]
                m.d.sync += [self.unit_words[u].eq(word), self.lfsr[u].eq(data.View(L.lunit, word).seed),
                             self.count[u].eq(0)]
            with m.If(self._sel("reward") & (self.cfg_addr == u)):
                m.d.sync += self.reward[u].eq(self.cfg_data[:L.width("reward")])
        with m.If(self._sel("lctrl")):
            m.d.sync += self.rows_used.eq(self.cfg_data[:L.width("lctrl")])

    def unit(self, index: Value):
        """The parameters of unit ``index`` (a view of its register)."""
        return data.View(self.lp.layouts.lunit, Array(self.unit_words)[index])

    # --- elaboration ---------------------------------------------------------------------
    def elaborate(self, platform):
        m = Module()
        self._memories(m)
        lp, nb = self.lp, self.lp.local_bits
        self._mark_and_spikes(m)
        self._debug(m)
        self.r = {name: Signal(w, name=name) for name, w in (
            ("g", lp.group_bits + 1), ("slot", lp.slot_bits), ("s", lp.entry_bits + 1), ("left", lp.entry_bits + 1),
            ("s1", lp.entry_bits + 1), ("s2", lp.entry_bits + 1),
            ("u", lp.unit_bits + 1), ("xa", lp.row_bits), ("j", nb), ("rp", nb + 1), ("uu", lp.unit_bits + 1),
            ("mask", lp.units), ("k", lp.entry_bits + 1), ("idx", max(lp.entry_bits, lp.row_bits, lp.unit_bits + nb) + 2),
            ("hi", max(lp.entry_bits, lp.row_bits, lp.unit_bits + nb) + 2))}
        self.have = Signal(2)  # SCAN: 0 read the word, 1 the read is in flight, 2 its bits are latched
        self.word = Signal(lp.layouts.psyn)
        self.sv = Signal()  # a scan's read data is valid
        self.pv = [Signal(name=f"pv{k}") for k in range(3)]  # the stream pipelines' stages hold a synapse
        self.bits, self.lowest = Signal(HIST_WORD), Signal(HIST_SHIFT or 1)  # arrival bits of a word, the lowest set
        for i in reversed(range(HIST_WORD)):
            with m.If(self.bits[i]):
                m.d.comb += self.lowest.eq(i)
        with m.FSM() as fsm:
            with m.State("IDLE"):
                self._idle(m)
            self._arrivals(m)
            with m.State("NEURONS"):
                m.d.comb += self.neu_start.eq(1)
                m.next = "WAIT_NEURONS"
            with m.State("WAIT_NEURONS"):
                with m.If(~self.neu_running):
                    m.d.sync += self.r["rp"].eq(0)
                    m.next = "POT"
            self._potentiation(m)
            self._tick_end(m)
        potentiating = Cat(*(fsm.ongoing(s) for s in POT_STATES)).any()
        arriving = Cat(*(fsm.ongoing(s) for s in ARRIVAL_STATES)).any()
        m.d.comb += [self.hold.eq(~fsm.ongoing("IDLE") & ~potentiating), self.busy.eq(~fsm.ongoing("IDLE"))]
        # counters: synapses walked at arrival and at potentiation, and the cycles spent on both
        with m.If((fsm.ongoing("ASTREAM") & self.pv[1]) | (fsm.ongoing("PSTREAM") & self.pv[2])):
            m.d.sync += self.learn_events.eq(self.learn_events + 1)
        with m.If(arriving | potentiating):
            m.d.sync += self.learn_cycles.eq(self.learn_cycles + 1)
        self._cfg_write(m, "psyn", self.wr["psyn"])  # last: the configuration port wins (the engine is idle then)
        return m

    def _mark_and_spikes(self, m: Module) -> None:
        """Events on plastic rows set their arrival bit; spikes of the neuron phase are queued."""
        lp = self.lp
        self.wp = Signal(lp.local_bits + 1)
        with m.If(self.mark):
            slot = (self.cur + self.mark_delay)[:lp.slot_bits]
            m.d.comb += [self.wr["hist"].addr.eq(Cat(slot, (self.mark_row >> HIST_SHIFT)[:lp.group_bits])),
                         self.wr["hist"].data.eq(-1), self.wr["hist"].en.eq(1 << self.mark_row[:HIST_SHIFT])]
        with m.If(self.spike):
            m.d.comb += [self.wr["fifo"].addr.eq(self.wp), self.wr["fifo"].data.eq(self.spike_neuron),
                         self.wr["fifo"].en.eq(1)]
            m.d.sync += self.wp.eq(self.wp + 1)

    def _debug(self, m: Module) -> None:
        """``ldbg_sel`` (:data:`LEARN_DEBUG`) and ``ldbg_addr`` -> ``ldbg_data`` a cycle later."""
        names = ("psyn", "xtr", "ytr")
        ports = {name: self.mem[name].read_port() for name in names}
        sel = Signal(2)
        m.d.sync += sel.eq(self.ldbg_sel)
        for name, port in ports.items():
            m.d.comb += port.addr.eq(self.ldbg_addr)
        lfsr_at = Signal(32)
        m.d.sync += lfsr_at.eq(Array(self.lfsr)[self.ldbg_addr[:self.lp.unit_bits]])
        m.d.comb += self.ldbg_data.eq(Array([ports["psyn"].data, ports["xtr"].data, ports["ytr"].data, lfsr_at])[sel])
        assert LEARN_DEBUG == names + ("lfsr",)

    def _idle(self, m: Module) -> None:
        r = self.r
        with m.If(self.tick & self.ready):
            m.d.sync += [r["slot"].eq(self.cur + 1), r["g"].eq(0), self.have.eq(0), self.wp.eq(0)]
            m.next = "SCAN"
        with m.Elif(self.tick_end & self.ready):
            m.d.sync += r["u"].eq(0)
            m.next = "END_UNIT"

    # --- 1. arrivals -----------------------------------------------------------------------
    def _arrivals(self, m: Module) -> None:
        r, lp = self.r, self.lp
        hist_rd, lrow_rd = self.rd["hist"], self.rd["lrow"]
        bits, lowest = self.bits, self.lowest
        with m.State("SCAN"):  # one word of arrival bits per cycle, then each set bit's row
            g = r["g"]
            with m.If(self.have == 0):
                m.d.comb += hist_rd.addr.eq(Cat(r["slot"], g[:lp.group_bits]))
                m.d.sync += self.have.eq(1)
            with m.Elif(self.have == 1):
                m.d.sync += [bits.eq(hist_rd.data), self.have.eq(2)]
            with m.Elif(bits != 0):
                m.d.comb += [self.wr["hist"].addr.eq(Cat(r["slot"], g[:lp.group_bits])), self.wr["hist"].data.eq(0),
                             self.wr["hist"].en.eq(1 << lowest), lrow_rd.addr.eq(Cat(lowest, g))]
                m.d.sync += bits.eq(bits & ~(1 << lowest))
                m.next = "ROW"
            with m.Elif(Cat(C(0, HIST_SHIFT), g + 1) >= self.rows_used):
                m.next = "NEURONS"
            with m.Else():
                m.d.comb += hist_rd.addr.eq(Cat(r["slot"], (g + 1)[:lp.group_bits]))
                m.d.sync += [g.eq(g + 1), self.have.eq(1)]
        with m.State("ROW"):
            row = data.View(lp.layouts.lrow, lrow_rd.data)
            m.d.comb += self.rd["xtr"].addr.eq(row.xa)
            m.d.sync += [r["s"].eq(row.first), r["left"].eq(row.length), r["u"].eq(row.unit), r["xa"].eq(row.xa)]
            m.next = "XSTEP"
        with m.State("XSTEP"):
            P = self.unit(r["u"])
            m.d.comb += [self.wr["xtr"].addr.eq(r["xa"]), self.wr["xtr"].en.eq(1),
                         self.wr["xtr"].data.eq(trace_step(m, self.rd["xtr"].data, P.inc, P.nearest, lp.fmt.trace_bits))]
            m.next = "ASTREAM"
        with m.State("ASTREAM"):  # the row's synapses, one per cycle: read, then (y, acc) read, then update
            self._arrival_stream(m)

    def _arrival_stream(self, m: Module) -> None:
        """Stage 0 reads ``psyn[s]``; stage 1 latches it and reads its post trace and accumulator
        word; stage 2 updates (:meth:`_arrive_synapse`). Two synapses in a row onto one neuron
        (multapses) add exactly: the accumulator's read port is transparent to its write port."""
        r, lp, v1, v2 = self.r, self.lp, self.pv[0], self.pv[1]
        with m.If(v2):
            self._arrive_synapse(m, r["s2"])
        with m.If(v1):
            word = data.View(lp.layouts.psyn, self.rd["psyn"].data)
            m.d.comb += [self.rd["ytr"].addr.eq(Cat(word.neuron, r["u"][:lp.unit_bits])), self.acc_use.eq(1),
                         self.acc_addr.eq(Cat(word.neuron, r["slot"]))]
            m.d.sync += [self.word.eq(self.rd["psyn"].data), r["s2"].eq(r["s1"])]
        m.d.sync += v2.eq(v1)
        with m.If(r["left"] != 0):
            m.d.comb += self.rd["psyn"].addr.eq(r["s"])
            m.d.sync += [r["s1"].eq(r["s"]), r["s"].eq(r["s"] + 1), r["left"].eq(r["left"] - 1), v1.eq(1)]
        with m.Else():
            m.d.sync += v1.eq(0)
            with m.If(~v1):
                m.next = "SCAN"

    def _arrive_synapse(self, m: Module, addr: Value) -> None:
        """Deliver the synapse's weight into the tick's input, then its depression."""
        lp, r, w = self.lp, self.r, self.word
        P = self.unit(r["u"])
        wf = lp.fmt.weight_frac_bits
        delivered = wire(m, ((w.m + (1 << (wf - 1))) >> wf) if wf else w.m)
        delta = wire(m, delivered << P.exp)
        m.d.comb += [self.acc_wr_en.eq(1), self.acc_wr_addr.eq(Cat(w.neuron, r["slot"]))]
        for ch in range(self.channels):
            old = self.acc[ch]
            m.d.comb += self.acc_wr_data[ch].eq(Mux(P.channel == ch, old + delta, old) if self.channels > 1
                                                else old + delta)
        y = self.rd["ytr"].data
        num = wire(m, Mux(P.mult, P.a_minus * y * (w.m - P.m_min) * P.inv, P.a_minus * y))
        self._change(m, r["u"], -num, wire(m, P.q + Mux(P.mult, INV_BITS, 0)), num != 0, addr)

    def _change(self, m: Module, u: Value, x: Value, shift: Value, apply: Value, addr: Value) -> None:
        """``m`` (or, for reward rules, ``c``) of the latched synapse changes by ``R(x / 2^shift)``
        (``shift - ef`` for ``c``); written back to ``psyn[addr]``; the unit's LFSR steps."""
        lp, w = self.lp, self.word
        P = self.unit(u)
        lfsr = Array(self.lfsr)[u]
        ef, eb = lp.fmt.eligibility_frac_bits, lp.fmt.eligibility_bits
        k = wire(m, Mux(P.elig, shift - ef, shift))
        rnd = round_shift(m, x, k, lp.stochastic, lfsr)
        new = Signal(lp.layouts.psyn)
        cmax = (1 << (eb - 1)) - 1
        m.d.comb += [new.eq(w), new.m.eq(Mux(P.elig, w.m, clamp(m, w.m + rnd.value, P.m_min, P.m_max, new.m.shape()))),
                     new.c.eq(Mux(P.elig, clamp(m, w.c + rnd.value, C(-cmax - 1, signed(eb + 1)), C(cmax, signed(eb + 1)),
                                                 new.c.shape()), w.c))]
        with m.If(apply):
            m.d.comb += [self.wr["psyn"].addr.eq(addr), self.wr["psyn"].en.eq(1), self.wr["psyn"].data.eq(new)]
            m.d.sync += [lfsr.eq(rnd.state), self.plastic_ops.eq(self.plastic_ops + 1)]

    # --- 3. potentiation -------------------------------------------------------------------
    def _potentiation(self, m: Module) -> None:
        r, lp = self.r, self.lp
        with m.State("POT"):
            with m.If(r["rp"] == self.wp):
                m.next = "IDLE"
            with m.Else():
                m.d.comb += self.rd["fifo"].addr.eq(r["rp"])
                m.d.sync += r["rp"].eq(r["rp"] + 1)
                m.next = "POT_PTR"
        with m.State("POT_PTR"):
            m.d.comb += self.rd["pinptr"].addr.eq(self.rd["fifo"].data)
            m.d.sync += [r["j"].eq(self.rd["fifo"].data), r["uu"].eq(0)]
            m.next = "POT_Y"
        with m.State("POT_Y"):
            ptr = data.View(lp.layouts.pinptr, self.rd["pinptr"].data)
            with m.If(r["uu"] == 0):
                m.d.sync += [r["mask"].eq(ptr.mask), r["k"].eq(ptr.first), r["left"].eq(ptr.count)]
            mask = Mux(r["uu"] == 0, ptr.mask, r["mask"])
            with m.If(r["uu"] == lp.units):
                m.next = "PSTREAM"
            with m.Elif(mask.bit_select(r["uu"][:lp.unit_bits], 1)):
                m.d.comb += self.rd["ytr"].addr.eq(Cat(r["j"], r["uu"][:lp.unit_bits]))
                m.next = "POT_YW"
            with m.Else():
                m.d.sync += r["uu"].eq(r["uu"] + 1)
        with m.State("POT_YW"):
            P = self.unit(r["uu"][:lp.unit_bits])
            m.d.comb += [self.wr["ytr"].addr.eq(Cat(r["j"], r["uu"][:lp.unit_bits])), self.wr["ytr"].en.eq(1),
                         self.wr["ytr"].data.eq(trace_step(m, self.rd["ytr"].data, P.inc, P.nearest,
                                                           lp.fmt.trace_bits))]
            m.d.sync += r["uu"].eq(r["uu"] + 1)
            m.next = "POT_Y"
        with m.State("PSTREAM"):
            self._potentiation_stream(m)

    def _potentiation_stream(self, m: Module) -> None:
        """The spike's plastic synapses, one per cycle: stage 0 reads ``pin[k]``, stage 1 the
        synapse, stage 2 latches it and reads its row's pre trace, stage 3 updates it."""
        r, lp, v1, v2, v3 = self.r, self.lp, *self.pv
        with m.If(v3):
            w = self.word
            P = self.unit(w.unit)
            x = self.rd["xtr"].data
            num = wire(m, Mux(P.mult, P.a_plus * x * (P.m_max - w.m) * P.inv, P.a_plus * x))
            self._change(m, w.unit, num, wire(m, P.q + Mux(P.mult, INV_BITS, 0)), num != 0, r["s2"])
        with m.If(v2):
            word = data.View(lp.layouts.psyn, self.rd["psyn"].data)
            m.d.comb += self.rd["xtr"].addr.eq(word.xa)
            m.d.sync += [self.word.eq(self.rd["psyn"].data), r["s2"].eq(r["s1"])]
        with m.If(v1):
            m.d.comb += self.rd["psyn"].addr.eq(self.rd["pin"].data)
            m.d.sync += r["s1"].eq(self.rd["pin"].data)
        m.d.sync += [v2.eq(v1), v3.eq(v2)]
        with m.If(r["left"] != 0):
            m.d.comb += self.rd["pin"].addr.eq(r["k"])
            m.d.sync += [r["k"].eq(r["k"] + 1), r["left"].eq(r["left"] - 1), v1.eq(1)]
        with m.Else():
            m.d.sync += v1.eq(0)
            with m.If(~v1 & ~v2):
                m.next = "POT"

    # --- 4. rewards and the end of an epoch ------------------------------------------------
    def _tick_end(self, m: Module) -> None:
        r, lp = self.r, self.lp
        P = self.unit(r["u"])
        with m.State("END_UNIT"):
            reward = Array(self.reward)[r["u"]]
            with m.If(r["u"] == lp.units):
                m.next = "IDLE"
            with m.Elif(P.elig & (reward != 0)):
                m.d.sync += [r["idx"].eq(P.s_lo), r["hi"].eq(P.s_hi)]
                m.next = "REWARD"
            with m.Else():
                m.next = "EPOCH"
        self._scan(m, "REWARD", "psyn", self._reward_one, "REWARD_CLEAR")
        with m.State("REWARD_CLEAR"):
            m.d.sync += Array(self.reward)[r["u"]].eq(0)
            m.next = "EPOCH"
        with m.State("EPOCH"):
            count = Array(self.count)[r["u"]]
            with m.If((r["u"] < lp.units) & (count + 1 == P.epoch)):
                m.d.sync += [count.eq(0), r["idx"].eq(P.x_lo), r["hi"].eq(P.x_hi)]
                m.next = "DECAY_X"
            with m.Else():
                m.d.sync += [count.eq(count + 1), r["u"].eq(r["u"] + 1)]
                m.next = "END_UNIT"
        self._scan(m, "DECAY_X", "xtr", lambda m, v: self._decay_trace(m, "xtr", v, P.d_pre), "Y_RANGE")
        with m.State("Y_RANGE"):
            base = Cat(C(0, lp.local_bits), r["u"][:lp.unit_bits])
            m.d.sync += [r["idx"].eq(base), r["hi"].eq(base + (1 << lp.local_bits))]
            m.next = "DECAY_Y"
        self._scan(m, "DECAY_Y", "ytr", lambda m, v: self._decay_trace(m, "ytr", v, P.d_post), "C_RANGE")
        with m.State("C_RANGE"):
            m.d.sync += [r["idx"].eq(P.s_lo), r["hi"].eq(Mux(P.elig, P.s_hi, P.s_lo))]
            m.next = "DECAY_C"
        self._scan(m, "DECAY_C", "psyn", self._decay_eligibility, "NEXT_UNIT")
        with m.State("NEXT_UNIT"):
            m.d.sync += r["u"].eq(r["u"] + 1)
            m.next = "END_UNIT"

    def _scan(self, m: Module, name: str, mem: str, body, after: str) -> None:
        """State ``name``: entries ``[idx, hi)`` of ``mem``, one per cycle: entry ``idx`` is read
        while ``body(m, value)`` writes back the one read the cycle before (``idx - 1``, valid when
        ``sv``); then ``after``."""
        r, sv = self.r, self.sv
        with m.State(name):
            with m.If(sv):
                body(m, self.rd[mem].data)
            with m.If(r["idx"] < r["hi"]):
                m.d.comb += self.rd[mem].addr.eq(r["idx"])
                m.d.sync += [r["idx"].eq(r["idx"] + 1), sv.eq(1)]
            with m.Else():
                m.d.sync += sv.eq(0)
                m.next = after

    def _write_back(self, m: Module, mem: str, value: Value, apply: Value) -> None:
        with m.If(apply):
            port = self.wr[mem]
            m.d.comb += [port.addr.eq(self.r["idx"] - 1), port.en.eq(1), port.data.eq(value)]

    def _decay_trace(self, m: Module, mem: str, v: Value, d: Value) -> None:
        lp, u = self.lp, self.r["u"]
        F = lp.fmt.trace_decay_bits
        lfsr = Array(self.lfsr)[u]
        rnd = round_shift(m, wire(m, v * (C(1 << F, F + 2) - d)), C(F, 8), lp.stochastic, lfsr)
        self._write_back(m, mem, rnd.value[:lp.fmt.trace_bits], v != 0)
        with m.If(v != 0):
            m.d.sync += lfsr.eq(rnd.state)

    def _decay_eligibility(self, m: Module, word: Value) -> None:
        lp, u = self.lp, self.r["u"]
        P, F = self.unit(u), lp.fmt.trace_decay_bits
        w = data.View(lp.layouts.psyn, word)
        lfsr = Array(self.lfsr)[u]
        rnd = round_shift(m, wire(m, w.c * (C(1 << F, F + 2) - P.d_elig)), C(F, 8), lp.stochastic, lfsr)
        new = Signal(lp.layouts.psyn)
        m.d.comb += [new.eq(word), new.c.eq(rnd.value)]
        self._write_back(m, "psyn", new, w.c != 0)
        with m.If(w.c != 0):
            m.d.sync += lfsr.eq(rnd.state)

    def _reward_one(self, m: Module, word: Value) -> None:
        lp, u = self.lp, self.r["u"]
        P = self.unit(u)
        w = data.View(lp.layouts.psyn, word)
        lfsr = Array(self.lfsr)[u]
        reward = Array(self.reward)[u].as_signed()
        rnd = round_shift(m, wire(m, reward * w.c), wire(m, P.rf + lp.fmt.eligibility_frac_bits), lp.stochastic,
                          lfsr)
        new = Signal(lp.layouts.psyn)
        m.d.comb += [new.eq(word), new.m.eq(clamp(m, w.m + rnd.value, P.m_min, P.m_max, new.m.shape()))]
        self._write_back(m, "psyn", new, w.c != 0)
        with m.If(w.c != 0):
            m.d.sync += [lfsr.eq(rnd.state), self.plastic_ops.eq(self.plastic_ops + 1)]
