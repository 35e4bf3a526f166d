"""A multi-core top: N :class:`~rtl.core.LifCore` instances and a spike router.

Each core's spikes of a tick go into its own FIFO (depth = its neurons, so it never fills). The
router takes one spike per clock cycle from the FIFOs (lowest core first), shows it on ``out``
(payload: core, neuron) and reads its route word in every destination core's table at once:
``route<d>[core, neuron]`` -> (valid, axon), built by :func:`rtl.load.chip_load` from the image's
routing section (the cores a core's spikes go to) and the destinations' axon tables. All the
spike's events are offered in the same cycle, one to each destination core's ``inp``: every core
can take one event per cycle. A destination that is not ready keeps the spike (the cores that took
it are done) and the router takes the next spike once the last destination has. Host events
(spike sources) enter through ``inp`` (payload: core, axon) when no spike is waiting. ``busy`` is
high while any core, FIFO or the router works; the host sends the events of tick ``t`` after the
neuron phases of ``t`` (``busy`` low), exactly as for a single core.

With partial-sum compartments (``core.payload_bits``), a FIFO entry also holds the graded flag
and value of a compartment's message; ``out`` shows it (payload: neuron, core, flag, value) and
the router delivers it along the compartment's routes like a spike, flag and value included.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, ClockSignal, Instance, Module, Mux, ResetSignal, Signal, unsigned
from amaranth.lib import data, fifo, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .core import LifCore, config_port, core_signature
from .learn_params import LEARN_BASE
from .params import MEMORIES, CoreParams, address_bits

__all__ = ["ChipParams", "LifChip", "CoreInstance", "ROUTER_SELECT", "chip_memory_bits"]

#: configuration selector of the router's tables (after the core memories; ``cfg_core`` picks the
#: destination core's table)
ROUTER_SELECT = len(MEMORIES)


@dataclass(frozen=True)
class ChipParams:
    core: CoreParams
    cores: int

    @classmethod
    def of(cls, core: CoreParams, cores: int) -> ChipParams:
        return cls(core=core, cores=cores)

    @property
    def core_bits(self) -> int:
        return address_bits(self.cores)

    @property
    def route_depth(self) -> int:
        """Words of each destination's route table: one per (source core, neuron)."""
        return self.cores << self.core.local_bits

    @property
    def route_layout(self):
        """A route word: whether the destination core has an axon for the spike, and which."""
        return data.StructLayout({"axon": unsigned(self.core.axon_bits), "valid": unsigned(1)})

    @property
    def route_names(self) -> tuple[str, ...]:
        """The route tables, one per destination core (memories of the chip, files of rtl.readmem)."""
        return tuple(f"route{d}" for d in range(self.cores))

    def describe(self) -> dict:
        return {"cores": self.cores, "router": "route table per destination core", "core": self.core.describe()}

    def router_memory_bits(self) -> dict[str, int]:
        """Bits of the router's memories (depth x word width): its route tables and the cores'
        spike FIFOs (``SyncFIFOBuffered`` keeps depth - 1 words in memory, the last in a register)."""
        cp = self.core
        return {"route": self.cores * self.route_depth * self.route_layout.size,
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
    ``out`` (spikes: neuron | core << local_bits), ``cfg_*`` with ``cfg_core`` (core memories; with
    selector 6, :data:`ROUTER_SELECT`, the route table of destination core ``cfg_core`` at address
    neuron | source core << local bits), ``dbg_core``/``dbg_addr``/``dbg_state``, and the counters
    summed over the cores."""

    def __init__(self, params: ChipParams, init=None, core_module: str | None = None, file_cores: int = 0):
        self.params = params
        self.init = init  # ChipLoad: memories initialized from an image
        self.core_module = core_module  # without init: the cores as instances of this module (CoreInstance)
        self.file_cores = file_cores  # with core_module: cores 0 .. file_cores-1 read core<c>/*.hex (rtl.readmem)
        cp = params.core
        core_width, core_addr = config_port(cp)
        self.cfg_width = max(core_width, params.route_layout.size)
        self.cfg_addr_bits = max(core_addr, cp.local_bits + params.core_bits)
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

        routes = self._route_tables(m, init)
        router_busy = self._router(m, cores, fifos, routes)
        queued = Cat(f.level != 0 for f in fifos).any()  # level counts a spike as soon as it is written
        m.d.comb += self.busy.eq(router_busy | queued | Cat(c.busy for c in cores).any())
        return m

    def _route_tables(self, m: Module, init) -> list:
        """One route table per destination core, written through the configuration port."""
        p = self.params
        ports = []
        for d, name in enumerate(p.route_names):
            m.submodules[name] = mem = memory.Memory(shape=unsigned(p.route_layout.size), depth=p.route_depth,
                                                     init=init.memories[name] if init is not None else [])
            wr = mem.write_port()
            m.d.comb += [wr.addr.eq(self.cfg_addr), wr.data.eq(self.cfg_data[:p.route_layout.size]),
                         wr.en.eq(self.cfg_en & (self.cfg_sel == ROUTER_SELECT) & (self.cfg_core == d))]
            ports.append(mem.read_port())
        return ports

    def _router(self, m: Module, cores: list, fifos: list, routes: list) -> Signal:
        """Stage A takes a spike (or a host event) when stage B is free; stage B offers its events to
        every destination core at once until each has taken its own. The route reads hold while
        stage B waits."""
        p, cp = self.params, self.params.core
        cb, nb = p.core_bits, cp.local_bits
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
        # stage B: a spike (its route words, read a cycle earlier) or a host event (core, axon)
        b_valid, b_host, b_core, b_axon = Signal(), Signal(), Signal(cb), Signal(cp.axon_bits)
        b_message, done = Signal(cp.message_bits), Signal(p.cores)
        want, taken = Signal(p.cores), Signal(p.cores)
        for d, core in enumerate(cores):
            word = p.route_layout(routes[d].data)
            m.d.comb += [want[d].eq(b_valid & ~done[d] & Mux(b_host, b_core == d, word.valid)),
                         core.inp.valid.eq(want[d]), taken[d].eq(want[d] & core.inp.ready),
                         core.inp.payload.eq(Cat(Mux(b_host, b_axon, word.axon), Mux(b_host, 0, b_message))
                                             if cp.message_bits else Mux(b_host, b_axon, word.axon))]
        free = ~b_valid | ((want & ~taken) == 0)
        m.d.sync += done.eq(Mux(free, 0, done | taken))
        for port in routes:
            m.d.comb += [port.en.eq(free), port.addr.eq(Cat(chosen_neuron, chosen))]
        with m.If(free):
            m.d.sync += b_valid.eq(0)
            with m.If(waiting.any()):
                m.d.comb += [self.out.valid.eq(1), self.out.payload.eq(Cat(chosen_neuron, chosen, chosen_message))]
                with m.If(self.out.ready):
                    for c, f in enumerate(fifos):
                        m.d.comb += f.r_en.eq(chosen == c)
                    m.d.sync += [b_valid.eq(1), b_host.eq(0), b_message.eq(chosen_message)]
            with m.Elif(self.inp.valid):
                m.d.comb += self.inp.ready.eq(1)
                m.d.sync += [b_valid.eq(1), b_host.eq(1), b_core.eq(self.inp.payload[cp.axon_bits:]),
                             b_axon.eq(self.inp.payload[:cp.axon_bits])]
        return b_valid
