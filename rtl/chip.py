"""A multi-core top: N :class:`~rtl.core.LifCore` instances and a spike router.

Each core's spikes of a tick go into its own FIFO (depth = its neurons, so it never fills). The
router takes spikes from the FIFOs (lowest core first), shows each on ``out`` (payload: core,
neuron) and walks the spike's fan-out list: ``fanptr[core, neuron]`` -> (first, count),
``fan[k]`` -> (destination core, axon), built by :func:`rtl.load.chip_load` from the image's
routing section (the cores a core's spikes go to) and the destinations' axon tables. It sends one
event per clock cycle to the destination core's ``inp``. Host events (spike sources) enter through
``inp`` (payload: core, axon) when no spike is waiting. ``busy`` is high while any core, FIFO or
the router works; the host sends the events of tick ``t`` after the neuron phases of ``t``
(``busy`` low), exactly as for a single core.

With partial-sum compartments (``core.payload_bits``), a FIFO entry also holds the graded flag
and value of a compartment's message; ``out`` shows it (payload: neuron, core, flag, value) and
the router delivers it along the compartment's fan-out list like a spike, flag and value included.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, ClockSignal, Instance, Module, ResetSignal, Signal, unsigned
from amaranth.lib import data, fifo, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .core import LifCore, config_port, core_signature
from .learn_params import LEARN_BASE
from .params import MEMORIES, CoreParams, address_bits

__all__ = ["ChipParams", "LifChip", "CoreInstance", "ROUTER_MEMORIES", "chip_memory_bits"]

#: configuration selectors of the router's tables (after the core memories)
ROUTER_MEMORIES = ("fanptr", "fan")


@dataclass(frozen=True)
class ChipParams:
    core: CoreParams
    cores: int
    fan_entries: int  # depth of the fan-out list memory

    @classmethod
    def of(cls, core: CoreParams, cores: int, fan_entries: int | None = None) -> ChipParams:
        return cls(core=core, cores=cores, fan_entries=fan_entries or cores * core.neurons * cores)

    @property
    def core_bits(self) -> int:
        return address_bits(self.cores)

    @property
    def fan_bits(self) -> int:
        return address_bits(self.fan_entries)

    @property
    def fanptr_layout(self):
        return data.StructLayout({"first": unsigned(self.fan_bits), "count": unsigned(self.core_bits + 1)})

    @property
    def fan_layout(self):
        return data.StructLayout({"axon": unsigned(self.core.axon_bits), "core": unsigned(self.core_bits)})

    def width(self, name: str) -> int:
        return (self.fanptr_layout if name == "fanptr" else self.fan_layout).size

    def describe(self) -> dict:
        return {"cores": self.cores, "fan_entries": self.fan_entries, "core": self.core.describe()}

    def router_memory_bits(self) -> dict[str, int]:
        """Bits of the router's memories (depth x word width): its tables and the cores' spike
        FIFOs (``SyncFIFOBuffered`` keeps depth - 1 words in memory, the last in a register)."""
        cp = self.core
        return {"fanptr": (self.cores << cp.local_bits) * self.width("fanptr"),
                "fan": self.fan_entries * self.width("fan"),
                "spike_fifos": self.cores * (cp.neurons - 1) * (cp.local_bits + cp.message_bits)}


def chip_memory_bits(target, cores: int) -> int:
    """Bits of every memory of what ``nmc rtl`` generates for ``target`` with ``cores`` cores: each
    core's memories, and with more than one core the router's (fan-out tables sized for every
    neuron reaching every core, spike FIFOs). The cost ``nmc compile --size`` minimizes."""
    core = CoreParams.of(target)
    router = sum(ChipParams.of(core, cores).router_memory_bits().values()) if cores > 1 else 0
    return cores * sum(core.memory_bits().values()) + router


class CoreInstance(wiring.Component):
    """A :class:`~rtl.core.LifCore` of ``params`` as an instance of the Verilog module ``module``,
    generated on its own (:func:`rtl.runner.verilog` puts it beside the chip): the cores of a chip
    loaded through the configuration port are all the same design, which is then generated,
    verilated and compiled once instead of once per core. Same ports as the core."""

    def __init__(self, params: CoreParams, module: str, init_files: str = ""):
        self.module, self.cfg_width = module, config_port(params)[0]
        self.init_files = init_files  # the folder prefix of its $readmemh files (rtl.readmem), "" for none
        super().__init__(core_signature(params))

    def elaborate(self, platform):
        m = Module()
        ports = {("i_" if member.flow == In else "o_") + "__".join(map(str, path)): value
                 for path, member, value in self.signature.flatten(self)}
        params = {"p_INIT": self.init_files} if self.init_files else {}
        m.submodules.core = Instance(self.module, i_clk=ClockSignal(), i_rst=ResetSignal(), **params, **ports)
        return m


class LifChip(wiring.Component):
    """``cores`` cores and the router. Ports: ``tick``, ``busy``, ``inp`` (host events: axon | core << axon_bits),
    ``out`` (spikes: neuron | core << local_bits), ``cfg_*`` with ``cfg_core`` (core memories) and
    selectors 6 ``fanptr`` (address neuron | core << local bits), 7 ``fan``, ``dbg_core``/``dbg_addr``/``dbg_state``,
    and the counters summed over the cores."""

    def __init__(self, params: ChipParams, init=None, core_module: str | None = None, file_cores: int = 0):
        self.params = params
        self.init = init  # ChipLoad: memories initialized from an image
        self.core_module = core_module  # without init: the cores as instances of this module (CoreInstance)
        self.file_cores = file_cores  # with core_module: cores 0 .. file_cores-1 read core<c>/*.hex (rtl.readmem)
        cp = params.core
        core_width, core_addr = config_port(cp)
        self.cfg_width = max(core_width, params.width("fanptr"), params.width("fan"))
        self.cfg_addr_bits = max(core_addr, cp.local_bits + params.core_bits, params.fan_bits)
        lp = cp.learning
        learning = {} if lp is None else {  # the cores' learning engines (docs/rtl.md, "Learning")
            "tick_end": In(1), "ldbg_sel": In(2), "ldbg_addr": In(max(lp.entry_bits, lp.unit_bits + lp.local_bits)),
            "ldbg_data": Out(max(lp.layouts.width("psyn"), lp.fmt.trace_bits, 32)),
            "plastic_ops": Out(32), "learn_events": Out(32), "learn_cycles": Out(32)}
        super().__init__({
            "tick": In(1),
            "busy": Out(1),
            "inp": In(stream.Signature(unsigned(cp.axon_bits + params.core_bits))),
            "out": Out(stream.Signature(unsigned(cp.local_bits + params.core_bits + cp.message_bits))),
            "cfg_en": In(1), "cfg_sel": In(4 if lp is not None else 3), "cfg_core": In(params.core_bits),
            "cfg_addr": In(self.cfg_addr_bits), "cfg_data": In(self.cfg_width),
            "dbg_core": In(params.core_bits), "dbg_addr": In(cp.neuron_bits),
            "dbg_state": Out(cp.layouts.width("state")),
            "ticks": Out(32), "spikes": Out(32), "synops": Out(32),
        } | learning)

    def _learning(self, m: Module, cores: list) -> None:
        """Every core's learning engine gets ``tick_end`` and the read-back address; ``dbg_core``
        picks whose word ``ldbg_data`` shows; the counters are summed."""
        for c, core in enumerate(cores):
            m.d.comb += [core.tick_end.eq(self.tick_end), core.ldbg_sel.eq(self.ldbg_sel),
                         core.ldbg_addr.eq(self.ldbg_addr)]
            with m.If(self.dbg_core == c):
                m.d.comb += self.ldbg_data.eq(core.ldbg_data)
        for name in ("plastic_ops", "learn_events", "learn_cycles"):
            m.d.comb += getattr(self, name).eq(sum(getattr(core, name) for core in cores))

    def elaborate(self, platform):
        m = Module()
        p, cp = self.params, self.params.core
        cb, nb = p.core_bits, cp.local_bits
        init = self.init
        cores, fifos = [], []
        for c in range(p.cores):
            if init is None and self.core_module is not None:
                core = CoreInstance(cp, self.core_module, f"core{c}/" if c < self.file_cores else "")
            else:
                core = LifCore(cp, init.cores[c] if init is not None and c < len(init.cores) else None)
            f = fifo.SyncFIFOBuffered(width=nb + cp.message_bits, depth=cp.neurons)
            m.submodules[f"core{c}"], m.submodules[f"spikes{c}"] = core, f
            cores.append(core)
            fifos.append(f)
            message = [core.out.payload[cp.neuron_bits:]] if cp.message_bits else []
            m.d.comb += [core.tick.eq(self.tick), f.w_data.eq(Cat(core.out.payload[:nb], *message)),
                         f.w_en.eq(core.out.valid),
                         core.out.ready.eq(f.w_rdy), core.dbg_addr.eq(self.dbg_addr),
                         core.cfg_en.eq(self.cfg_en & (self.cfg_core == c) & ((self.cfg_sel < len(MEMORIES))
                                                                               | (self.cfg_sel >= LEARN_BASE))),
                         core.cfg_sel.eq(self.cfg_sel), core.cfg_addr.eq(self.cfg_addr),
                         core.cfg_data.eq(self.cfg_data[:core.cfg_width])]
            with m.If(self.dbg_core == c):
                m.d.comb += self.dbg_state.eq(core.dbg_state)
        m.d.comb += [self.ticks.eq(cores[0].ticks), self.spikes.eq(sum(c.spikes for c in cores)),
                     self.synops.eq(sum(c.synops for c in cores))]
        if cp.learning is not None:
            self._learning(m, cores)

        ptr_init = init.memories["fanptr"] if init is not None else []
        fan_init = init.memories["fan"] if init is not None else []
        m.submodules.fanptr = fanptr = memory.Memory(shape=unsigned(p.width("fanptr")), depth=p.cores << nb,
                                                     init=ptr_init)
        m.submodules.fan = fan = memory.Memory(shape=unsigned(p.width("fan")), depth=p.fan_entries, init=fan_init)
        ptr_rd, ptr_wr, fan_rd, fan_wr = fanptr.read_port(), fanptr.write_port(), fan.read_port(), fan.write_port()
        for sel, port, name in ((len(MEMORIES), ptr_wr, "fanptr"), (len(MEMORIES) + 1, fan_wr, "fan")):
            m.d.comb += [port.addr.eq(self.cfg_addr), port.data.eq(self.cfg_data[:p.width(name)]),
                         port.en.eq(self.cfg_en & (self.cfg_sel == sel))]
        ptr, entry = p.fanptr_layout(ptr_rd.data), p.fan_layout(fan_rd.data)

        # --- router -------------------------------------------------------------------------------
        k, left = Signal(p.fan_bits), Signal(cb + 1)
        waiting = Signal(len(fifos))
        m.d.comb += waiting.eq(Cat(f.r_rdy for f in fifos))
        chosen = Signal(cb)
        for c in reversed(range(p.cores)):  # lowest core with a spike
            with m.If(waiting[c]):
                m.d.comb += chosen.eq(c)
        chosen_neuron, chosen_message = Signal(nb), Signal(cp.message_bits)
        for c, f in enumerate(fifos):
            with m.If(chosen == c):
                m.d.comb += chosen_neuron.eq(f.r_data[:nb])
                if cp.message_bits:
                    m.d.comb += chosen_message.eq(f.r_data[nb:])
        ev_message = Signal(cp.message_bits)  # graded flag and value of the message being routed
        host_core, host_axon = Signal(cb), Signal(cp.axon_bits)
        m.d.comb += [host_axon.eq(self.inp.payload[:cp.axon_bits]), host_core.eq(self.inp.payload[cp.axon_bits:])]
        ev_core, ev_axon = Signal(cb), Signal(cp.axon_bits)

        def send(core_sel, axon, message=None):  # offer one event to a core; True-part runs when it is taken
            for c, core in enumerate(cores):
                with m.If(core_sel == c):
                    payload = Cat(axon, message) if message is not None and cp.message_bits else axon
                    m.d.comb += [core.inp.valid.eq(1), core.inp.payload.eq(payload)]
            taken = Signal()
            for c, core in enumerate(cores):
                with m.If(core_sel == c):
                    m.d.comb += taken.eq(core.inp.ready)
            return taken

        router_busy = Signal()
        with m.FSM():
            with m.State("IDLE"):
                with m.If(waiting.any()):
                    m.d.comb += [self.out.valid.eq(1), self.out.payload.eq(Cat(chosen_neuron, chosen, chosen_message))]
                    with m.If(self.out.ready):
                        if cp.message_bits:
                            m.d.sync += ev_message.eq(chosen_message)
                        for c, f in enumerate(fifos):
                            m.d.comb += f.r_en.eq(chosen == c)
                        m.d.comb += ptr_rd.addr.eq(Cat(chosen_neuron, chosen))
                        m.next = "FANPTR"
                with m.Elif(self.inp.valid):
                    m.d.comb += self.inp.ready.eq(1)
                    m.d.sync += [ev_core.eq(host_core), ev_axon.eq(host_axon)]
                    m.next = "HOST"
            with m.State("FANPTR"):
                m.d.comb += [router_busy.eq(1), fan_rd.addr.eq(ptr.first)]
                m.d.sync += [k.eq(ptr.first), left.eq(ptr.count)]
                with m.If(ptr.count != 0):
                    m.next = "FAN"
                with m.Else():
                    m.next = "IDLE"
            with m.State("FAN"):
                m.d.comb += router_busy.eq(1)
                taken = send(entry.core, entry.axon, ev_message)
                with m.If(taken):
                    m.d.comb += fan_rd.addr.eq(k + 1)
                    m.d.sync += [k.eq(k + 1), left.eq(left - 1)]
                    with m.If(left == 1):
                        m.next = "IDLE"
                with m.Else():
                    m.d.comb += fan_rd.addr.eq(k)
            with m.State("HOST"):
                m.d.comb += router_busy.eq(1)
                with m.If(send(ev_core, ev_axon)):
                    m.next = "IDLE"
        queued = Cat(f.level != 0 for f in fifos).any()  # level counts a spike as soon as it is written
        m.d.comb += self.busy.eq(router_busy | queued | Cat(c.busy for c in cores).any())
        return m
