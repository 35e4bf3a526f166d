"""One neuromorphic core in Amaranth: the datapath contract, time-multiplexed over its neurons.

The core connects four submodules through explicit ports: :class:`~rtl.core_memories.CoreMemories`
(the memories below, the configuration and read-back ports), :class:`~rtl.neuron_phase.NeuronPhase`,
:class:`~rtl.event_phase.EventPhase` (axon events walking their rows) and
:class:`~rtl.event_phase.SynapsePipeline` (one synaptic operation per cycle into the accumulator).
The two phases never run at once, so the accumulator's ports are shared by a multiplexer here.

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

from amaranth.hdl import Cat, Module, Signal, Value, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out, connect, flipped

from .core_memories import CoreMemories, bank_ports
from .event_phase import EventPhase, SynapsePipeline
from .load import CoreLoad
from .neuron_phase import NeuronPhase
from .learn_params import LEARN_BASE, LEARN_MEMORIES
from .learning import LearningEngine
from .params import MEMORIES, CoreParams

__all__ = ["LifCore", "config_port", "core_signature"]


def config_port(params: CoreParams) -> tuple[int, int]:
    """Data and address widths of the core's configuration port (the learning engine's memories
    included)."""
    L, lp = params.layouts, params.learning
    widths = [L.width(m) for m in MEMORIES] + ([lp.layouts.width(m) for m in LEARN_MEMORIES] if lp else [])
    depths = [L.depth(params, m) for m in MEMORIES] + ([lp.depth(m) for m in LEARN_MEMORIES] if lp else [])
    return max(widths), max(max(1, (d - 1).bit_length()) for d in depths)


def core_signature(params: CoreParams) -> wiring.Signature:
    """The ports of :class:`LifCore` (also those of :class:`rtl.chip.CoreInstance`)."""
    cfg_width, cfg_addr_bits = config_port(params)
    lp = params.learning
    learning = {} if lp is None else {
        "tick_end": In(1), "ldbg_sel": In(2), "ldbg_addr": In(max(lp.entry_bits, lp.unit_bits + lp.local_bits)),
        "ldbg_data": Out(max(lp.layouts.width("psyn"), lp.fmt.trace_bits, 32)), "plastic_ops": Out(32),
        "learn_events": Out(32), "learn_cycles": Out(32)}
    return wiring.Signature({
        "tick": In(1),
        "busy": Out(1),
        "inp": In(stream.Signature(unsigned(params.axon_bits + params.message_bits))),
        "out": Out(stream.Signature(unsigned(params.neuron_bits + params.message_bits))),
        "cfg_en": In(1),
        "cfg_sel": In(4 if lp is not None else 3),
        "cfg_addr": In(cfg_addr_bits),
        "cfg_data": In(cfg_width),
        "dbg_addr": In(params.neuron_bits),
        "dbg_state": Out(params.layouts.width("state")),
        "ticks": Out(32),
        "spikes": Out(32),
        "synops": Out(32),
    } | learning)


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
        m.submodules.memories = mem = CoreMemories(self.params, self.init)
        m.submodules.neurons = neu = NeuronPhase(self.params)
        m.submodules.events = ev = EventPhase(self.params)
        m.submodules.synapses = syn = SynapsePipeline(self.params)
        m.d.comb += [mem.cfg_en.eq(self.cfg_en & (self.cfg_sel < LEARN_BASE)), mem.cfg_sel.eq(self.cfg_sel[:3]),
                     mem.cfg_addr.eq(self.cfg_addr), mem.cfg_data.eq(self.cfg_data), mem.dbg_addr.eq(self.dbg_addr),
                     self.dbg_state.eq(mem.dbg_state)]
        # a tick starts the neuron phase once no event is walked, waiting or in the synapse pipeline
        ready = ev.idle & ~syn.busy & ~neu.running
        learn = self._learning(m, ready, neu, ev) if self.params.learning is not None else None
        start = learn.neu_start if learn is not None else self.tick & ready
        hold, busy = (learn.hold, learn.busy) if learn is not None else (0, 0)
        m.d.comb += [neu.start.eq(start), neu.active.eq(mem.active), neu.first_comp.eq(mem.first_comp),
                     ev.tick.eq(self.tick), ev.start.eq(start), ev.hold.eq(neu.running | hold),
                     self.busy.eq(neu.running | ev.busy | syn.busy | busy)]
        connect(m, flipped(self.inp), ev.inp)
        connect(m, neu.out, flipped(self.out))
        self._neuron_phase_memories(m, mem, neu)
        self._event_phase_memories(m, mem, ev, syn, neu)
        # the accumulator: the neuron phase reads and clears a word, the synapse pipeline reads and
        # adds through the banks' ports (one per lane)
        m.d.comb += [mem.acc_rd_addr.eq(neu.acc_addr), mem.acc_wr_en.eq(neu.clear_en),
                     mem.acc_wr_addr.eq(neu.clear_addr), mem.acc_wr_data.eq(0),
                     self.ticks.eq(neu.ticks), self.spikes.eq(neu.spikes), self.synops.eq(syn.synops)]
        for name in bank_ports(self.params):
            if name == "bank_rd_data":
                m.d.comb += Value.cast(syn.bank_rd_data).eq(mem.bank_rd_data)
            else:
                m.d.comb += Value.cast(getattr(mem, name)).eq(getattr(syn, name))
        if learn is not None:  # the learning engine's arrivals (before the neuron phase) add into the tick's slot
            with m.If(learn.acc_use):
                m.d.comb += mem.acc_rd_addr.eq(learn.acc_addr)
            with m.If(learn.acc_wr_en):
                m.d.comb += [mem.acc_wr_en.eq(1), mem.acc_wr_addr.eq(learn.acc_wr_addr),
                             mem.acc_wr_data.eq(learn.acc_wr_data)]
        return m

    def _learning(self, m: Module, ready, neu: NeuronPhase, ev: EventPhase) -> LearningEngine:
        """The learning engine (docs/rtl.md, "Learning"): it takes the tick, runs the arrivals,
        then starts the neuron phase; it sees the spikes leaving the core and the events' plastic
        rows."""
        p = self.params
        m.submodules.learning = eng = LearningEngine(p.learning, p.layouts.acc, self.cfg_width, self.cfg_addr_bits,
                                                     p.channels, self.init.learn if self.init is not None else None)
        m.d.comb += [eng.tick.eq(self.tick), eng.tick_end.eq(self.tick_end), eng.ready.eq(ready),
                     eng.neu_running.eq(neu.running), eng.cur.eq(neu.cur), eng.acc.eq(m.submodules.memories.acc_rd_data),
                     eng.spike.eq(self.out.valid & self.out.ready), eng.spike_neuron.eq(self.out.payload[:p.local_bits]),
                     eng.mark.eq(ev.mark), eng.mark_row.eq(ev.mark_row), eng.mark_delay.eq(ev.mark_delay),
                     eng.cfg_en.eq(self.cfg_en), eng.cfg_sel.eq(self.cfg_sel), eng.cfg_addr.eq(self.cfg_addr),
                     eng.cfg_data.eq(self.cfg_data), eng.ldbg_sel.eq(self.ldbg_sel), eng.ldbg_addr.eq(self.ldbg_addr),
                     self.ldbg_data.eq(eng.ldbg_data), self.plastic_ops.eq(eng.plastic_ops),
                     self.learn_events.eq(eng.learn_events), self.learn_cycles.eq(eng.learn_cycles)]
        return eng

    @staticmethod
    def _neuron_phase_memories(m: Module, mem: CoreMemories, neu: NeuronPhase) -> None:
        m.d.comb += [mem.param_addr.eq(neu.param_addr), neu.param.eq(mem.param_data),
                     mem.state_addr.eq(neu.state_addr), neu.state.eq(mem.state_data), neu.acc.eq(mem.acc_rd_data),
                     mem.state_wr_addr.eq(neu.state_wr_addr), mem.state_wr_en.eq(neu.state_wr_en),
                     mem.state_wr_data.eq(neu.state_wr_data)]

    @staticmethod
    def _event_phase_memories(m: Module, mem: CoreMemories, ev: EventPhase, syn: SynapsePipeline,
                              neu: NeuronPhase) -> None:
        m.d.comb += [mem.axon_addr.eq(ev.axon_addr), ev.axon.eq(mem.axon_data),
                     mem.row_addr.eq(ev.row_addr), ev.row.eq(mem.row_data),
                     syn.issue.eq(ev.issue), syn.lane_mask.eq(ev.lane_mask), syn.exponent.eq(ev.exponent),
                     syn.graded.eq(ev.graded), syn.value.eq(ev.value), syn.cur.eq(neu.cur),
                     ev.stall.eq(syn.stall), mem.ev_en.eq(~syn.stall)]
        if not mem.params.crossbar:
            m.d.comb += [mem.syn_addr.eq(ev.syn_addr), syn.word.eq(mem.syn_data)]
            return
        # a crossbar row is read with its row word; each synapse's word is formed a cycle after its
        # issue from its neuron, the row's delay and the neuron's weight for the row's axon type
        p = mem.params
        neuron = [Signal(p.fields.index, name=f"xneuron{k}") for k in range(p.lanes)]
        delay_m1, xtype = Signal(p.fields.delay), Signal(p.type_bits)
        with m.If(ev.issue):
            m.d.sync += [delay_m1.eq(ev.delay_m1), xtype.eq(ev.xtype)] + [n.eq(ev.neuron[k]) for k, n in enumerate(neuron)]
        m.d.comb += [mem.syn_addr.eq(ev.row_addr), ev.mask.eq(mem.syn_data),
                     syn.word.eq(Cat(Cat(n, delay_m1, mem.weight_data[k].type_w[xtype]) for k, n in enumerate(neuron)))]
        m.d.comb += [mem.weight_addr[k].eq(ev.neuron[k]) for k in range(p.lanes)]
