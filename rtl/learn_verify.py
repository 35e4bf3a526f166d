"""A learning core against the bit-accurate simulator: weights, eligibilities, traces and LFSRs.

The host's part of the protocol (docs/rtl.md, "Learning"): the reward each unit gets in a tick,
the sum of its projection's explicit rewards and of the reward node's amounts for the node's
spikes in that tick (spike sources from the stimulus; a population's spikes as the reference
recorded them), written before ``tick_end``. After the run the engine's memories are read back
and compared, unit by unit, with :attr:`~nmcompiler.sim.result.SimResult.learning_state`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nmcompiler.errors import UserError
from nmcompiler.sim.inputs import SourceSpikes

from .learn_load import unit_numbers
from .learn_params import LEARN_BASE, LEARN_MEMORIES
from .load import CoreLoad, unpack

__all__ = ["LearnDivergence", "learn_job", "learning_differences"]


@dataclass(frozen=True)
class LearnDivergence:
    """A learning value that differs after the run: ``variable`` m, c, x, y or lfsr of unit
    ``projection`` on ``core``; ``index``: synapse (unit order), presynaptic row, neuron or 0."""
    core: int
    projection: str
    variable: str
    index: int
    expected: int
    got: int


def _rewards(contents, prog, ref, units: list[int], steps: int, width: int) -> list[list[tuple[int, int]]]:
    """Per tick, ``(unit, reward)`` for the units whose reward is not zero."""
    plastic = contents.meta["plastic"]
    src = SourceSpikes(prog, prog, prog.seed)
    fired: dict[int, list[int]] = {}
    for pop in prog.populations:
        for t, j in zip(ref.spike_steps[pop.name].tolist(), ref.spike_ids[pop.name].tolist()):
            fired.setdefault(t, []).append(pop.offset + j)
    out = []
    for t in range(steps):
        spikes = np.array(fired.get(t, []) + ([] if src.at(t) is None else src.at(t).tolist()), dtype=np.int64)
        tick = []
        for u, k in enumerate(units):
            rule = plastic[k]["rule"]
            r = sum(int(v) for s, v in zip(rule["reward_steps"], rule["reward_values"]) if s == t)
            if rule.get("reward_node") is not None:
                lo, amounts = prog.offsets[rule["reward_node"]], rule["reward_amounts"]
                r += sum(int(amounts[i - lo]) for i in spikes.tolist() if lo <= i < lo + len(amounts))
            if r and not -(1 << (width - 1)) <= r < (1 << (width - 1)):
                raise UserError(f"tick {t}: projection '{plastic[k]['name']}' gets a reward of {r}, beyond the "
                                f"learning engine's {width}-bit reward register")
            if r:
                tick.append((u, r))
        out.append(tick)
    return out


def learn_job(contents, loads: tuple[CoreLoad, ...], params, prog, ref, steps: int) -> dict:
    """The testbench's learning part for the cores ``loads`` (in chip order): per tick the
    ``(core, unit, reward)`` writes, and per core the addresses to read back."""
    lp = params.learning
    rewards: list[list[tuple[int, int, int]]] = [[] for _ in range(steps)]
    dumps = []
    for c, load in enumerate(loads):
        ll = load.learn
        for t, tick in enumerate(_rewards(contents, prog, ref, ll.units, steps, lp.reward_width)):
            rewards[t] += [(c, u, r) for u, r in tick]
        dumps.append({"psyn": list(range(ll.unit_of_synapse.size)), "xtr": list(range(ll.x_source.size)),
                      "ytr": [(u << lp.local_bits) | j for u in range(len(ll.units)) for j in range(load.neurons.size)],
                      "lfsr": list(range(len(ll.units)))})
    return {"rewards": rewards, "dump": dumps, "reward_sel": LEARN_BASE + LEARN_MEMORIES.index("reward"),
            "reward_bits": lp.reward_width}


def learning_differences(contents, loads: tuple[CoreLoad, ...], params, prog, ref, words: list[dict]
                         ) -> list[LearnDivergence]:
    """Every learning value of the cores ``loads`` that differs from the reference's units
    (``words``: per core, what the testbench read back)."""
    return [d for load, w in zip(loads, words) for d in _core_differences(contents, load, params, prog, ref, w)]


def _core_differences(contents, load: CoreLoad, params, prog, ref, words: dict) -> list[LearnDivergence]:
    lp, ll = params.learning, load.learn
    numbers, plastic = unit_numbers(contents), contents.meta["plastic"]
    out: list[LearnDivergence] = []
    for u, k in enumerate(ll.units):
        state = ref.learning_state[numbers[(k, load.core)]]
        name = plastic[k]["name"]
        diff = lambda var, i, e, g: out.append(LearnDivergence(load.core, name, var, int(i), int(e), int(g)))  # noqa: E731
        mine = np.flatnonzero(ll.unit_of_synapse == u)
        for i, s in enumerate(mine):
            word = unpack(lp.layouts.psyn, words["psyn"][s])
            for var in ("m", "c"):
                if word[var] != getattr(state, var)[i]:
                    diff(var, i, getattr(state, var)[i], word[var])
        pre_lo = prog.offsets[plastic[k]["pre"]]
        for xa in np.flatnonzero(ll.x_unit == u):
            row = int(ll.x_source[xa]) - pre_lo
            if words["xtr"][xa] != state.x[row]:
                diff("x", row, state.x[row], words["xtr"][xa])
        traced = {int(g): i for i, g in enumerate(state.traced)}
        for j, g in enumerate(load.neurons.tolist()):
            expected = int(state.y[traced[g]]) if g in traced else 0
            got = words["ytr"][u * load.neurons.size + j]
            if got != expected:
                diff("y", g, expected, got)
        if words["lfsr"][u] != state.lfsr:
            diff("lfsr", 0, state.lfsr, words["lfsr"][u])
    return out
