"""cocotb testbench of :class:`rtl.core.LifCore`, driven by a job file (``NMC_RTL_JOB``).

Python touches the simulation only per configuration word, per event, per spike and per tick
(the clock runs in the simulator, cocotb's GPI clock): it loads the image through the
configuration port, then tick by tick pulses ``tick``, records the spikes of the neuron phase,
feeds the tick's events (source spikes and the core's own spikes looped back to their axons)
and waits for the core to go idle. Results (spikes, optional state words, cycles per tick) go to
``NMC_RTL_OUT`` as JSON; :mod:`rtl.runner` compares them with the bit-accurate simulator.
"""

from __future__ import annotations

import json
import os
import random
import time

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge, First, ReadOnly, RisingEdge, Timer

PERIOD_NS = 10


def _high(signal) -> bool:
    return bool(int(signal.value))


async def _configure(dut, writes) -> None:
    chip = hasattr(dut, "cfg_core")
    dut.cfg_en.value = 1
    for sel, core, addr, word in writes:
        dut.cfg_sel.value, dut.cfg_addr.value, dut.cfg_data.value = sel, addr, word
        if chip:
            dut.cfg_core.value = core
        await RisingEdge(dut.clk)
    dut.cfg_en.value = 0


async def _neuron_phase(dut, random_ready: random.Random | None) -> list[int]:
    """Pulse ``tick`` and collect the spike payloads until the design is idle again."""
    spikes = []
    dut.tick.value = 1
    await RisingEdge(dut.clk)
    dut.tick.value = 0
    while True:
        if random_ready is not None:
            dut.out__ready.value = random_ready.random() < 0.5
        await ReadOnly()
        valid, busy = _high(dut.out__valid), _high(dut.busy)
        if valid:
            if _high(dut.out__ready):
                spikes.append(int(dut.out__payload.value))
            await RisingEdge(dut.clk)
        elif not busy:
            return spikes
        elif random_ready is not None:
            await RisingEdge(dut.clk)
        else:
            await First(RisingEdge(dut.out__valid), FallingEdge(dut.busy))


async def _events(dut, axons) -> None:
    for a in axons:
        dut.inp__payload.value, dut.inp__valid.value = a, 1
        while True:
            await ReadOnly()
            if _high(dut.inp__ready):
                await RisingEdge(dut.clk)
                break
            await RisingEdge(dut.inp__ready)
    dut.inp__valid.value = 0
    await _until_idle(dut)


async def _until_idle(dut) -> None:
    """Wait until ``busy`` is low, then one clock edge."""
    await ReadOnly()
    if _high(dut.busy):
        await FallingEdge(dut.busy)
    await RisingEdge(dut.clk)


async def _dump_state(dut, sizes: list[int]) -> list[list[int]]:
    out = []
    for core, n in enumerate(sizes):
        if hasattr(dut, "dbg_core"):
            dut.dbg_core.value = core
        words = []
        for j in range(n):
            dut.dbg_addr.value = j
            await RisingEdge(dut.clk)
            await ReadOnly()
            words.append(int(dut.dbg_state.value))
            await RisingEdge(dut.clk)
        out.append(words)
    return out


async def _tick_end(dut, learn: dict, t: int) -> None:
    """The learning engine's end of tick ``t``: the units' rewards through the configuration port,
    then a ``tick_end`` pulse; returns once the core is idle."""
    for core, unit, value in learn["rewards"][t]:
        if hasattr(dut, "cfg_core"):
            dut.cfg_core.value = core
        dut.cfg_en.value, dut.cfg_sel.value, dut.cfg_addr.value = 1, learn["reward_sel"], unit
        dut.cfg_data.value = value & ((1 << learn["reward_bits"]) - 1)
        await RisingEdge(dut.clk)
    dut.cfg_en.value = 0
    dut.tick_end.value = 1
    await RisingEdge(dut.clk)
    dut.tick_end.value = 0
    await _until_idle(dut)


async def _dump_learning(dut, dumps: list[dict]) -> list[dict]:
    """Per core, the learning memories' words at the addresses its dump lists per read-back
    selector."""
    out = []
    for core, dump in enumerate(dumps):
        if hasattr(dut, "dbg_core"):
            dut.dbg_core.value = core
        got = {}
        for sel, name in enumerate(("psyn", "xtr", "ytr", "lfsr")):
            words = []
            for addr in dump.get(name, []):
                dut.ldbg_sel.value, dut.ldbg_addr.value = sel, addr
                await RisingEdge(dut.clk)
                await ReadOnly()
                words.append(int(dut.ldbg_data.value))
                await RisingEdge(dut.clk)
            got[name] = words
        out.append(got)
    return out


async def _free_run(dut, cycles: int) -> None:
    """Simulator speed without Python in the loop: ``tick`` held high (a neuron phase whenever the
    core is idle, no events), one timer for all ``cycles``; writes wall seconds and counters."""
    dut.tick.value = 1
    t0 = time.perf_counter()
    await Timer(cycles * PERIOD_NS, unit="ns")
    seconds = time.perf_counter() - t0
    result = {"cycles": cycles, "seconds": seconds,
              "counters": {k: int(getattr(dut, k).value) for k in ("ticks", "spikes", "synops")}}
    with open(os.environ["NMC_RTL_OUT"], "w") as fh:
        json.dump(result, fh)


@cocotb.test()
async def run_job(dut):
    """Load the job's image, run its ticks, write what the core did."""
    with open(os.environ["NMC_RTL_JOB"]) as fh:
        job = json.load(fh)
    Clock(dut.clk, PERIOD_NS, unit="ns", impl="gpi").start()
    dut.tick.value = dut.inp__valid.value = dut.cfg_en.value = 0
    learn = job.get("learn")
    if learn is not None:
        dut.tick_end.value = 0
    dut.out__ready.value = 1
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    await _configure(dut, job["writes"])
    if job.get("free_run"):
        await _free_run(dut, job["free_run"])
        return
    loop = job["loopback"]  # single core: axon of each slot's own spikes (a chip routes them itself)
    # partial-sum compartments: bit of ``out``'s payload that marks a graded message (None: no
    # compartments); a single core's messages go back to their axon with flag and value
    graded, local_bits, axon_bits = job.get("graded_bit"), job.get("local_bits", 0), job.get("axon_bits", 0)
    rng = random.Random(job.get("seed", 0)) if job.get("out_ready") == "random" else None
    spikes, states, neuron_cycles, event_cycles, end_cycles = [], [], [], [], []
    for t in range(job["steps"]):
        t0 = get_sim_time("ns")
        out = await _neuron_phase(dut, rng)
        t1 = get_sim_time("ns")
        await RisingEdge(dut.clk)
        dut.out__ready.value = 1
        spikes.extend([t, j] for j in out if graded is None or not (j >> graded) & 1)
        if job.get("dump_state"):
            states.append(await _dump_state(dut, job["sizes"]))
        t2 = get_sim_time("ns")
        if graded is None:
            axons = [loop[j] for j in out if loop and loop[j] >= 0]
        else:  # slot index, then flag and value: the event keeps flag and value above its axon
            mask = (1 << local_bits) - 1
            axons = [loop[j & mask] | (j >> local_bits) << axon_bits for j in out if loop and loop[j & mask] >= 0]
        axons += job["events"][t]
        await _events(dut, axons)
        neuron_cycles.append(round((t1 - t0) / PERIOD_NS))
        t3 = get_sim_time("ns")
        event_cycles.append(round((t3 - t2) / PERIOD_NS))
        if learn is not None:
            await _tick_end(dut, learn, t)
            end_cycles.append(round((get_sim_time("ns") - t3) / PERIOD_NS))
    counters = ("ticks", "spikes", "synops") + (("plastic_ops", "learn_events", "learn_cycles") if learn is not None else ())
    result = {"spikes": spikes, "states": states, "neuron_cycles": neuron_cycles, "event_cycles": event_cycles,
              "end_cycles": end_cycles, "counters": {k: int(getattr(dut, k).value) for k in counters}}
    if learn is not None:
        result["learning"] = await _dump_learning(dut, learn["dump"])
    with open(os.environ["NMC_RTL_OUT"], "w") as fh:
        json.dump(result, fh)
