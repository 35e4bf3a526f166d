"""The pipeline: a declared list of stages over one :class:`.CompileState`, and the callbacks
that do what every stage needs (timing, progress, checkpoints, re-checking) outside the stages.

A stage is a small frozen dataclass with a ``name``, the design rules it ``fixes`` and
``run(state, ctx) -> state``; ``applies(state)`` says whether it has anything to do (a stage
that does not apply is skipped, and the callbacks hear of it). This follows xDSL's
``PassPipeline`` (a callback between passes) and FINN's build steps (named, with checkpoints).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ..drc import Rule, check
from ..errors import UserError
from ..fileio import write_json
from ..mapping.passlog import PassLog
from .state import CompileState

__all__ = ["Checkpoints", "Pipeline", "RecheckRules", "Stage", "StageContext", "Timings"]


@dataclass
class StageContext:
    """What a stage may record besides the state: the seconds of its own sub-steps (``passes``,
    which also tells the progress callback as a sub-step begins)."""

    passes: PassLog = field(default_factory=PassLog)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time a sub-step of a stage under ``name`` (announced to the progress callback)."""
        self.passes.start(name)
        self.passes.setdefault(name, 0.0)
        t = time.perf_counter()
        try:
            yield
        finally:
            self.passes[name] += time.perf_counter() - t


class Stage:
    """One step of the compile flow."""

    name: ClassVar[str]
    fixes: ClassVar[frozenset[Rule]] = frozenset()  # the design rules this stage resolves

    def applies(self, state: CompileState) -> bool:
        return True

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        raise NotImplementedError

    def describe(self) -> str:
        fixes = f" (fixes {', '.join(sorted(self.fixes))})" if self.fixes else ""
        return f"{self.name}{fixes}"


#: ``callback(stage, before, after, seconds)``; ``after`` is None when the stage did not apply
Callback = Callable[[Stage, CompileState, CompileState | None, float], None]


@dataclass(frozen=True)
class Pipeline:
    stages: tuple[Stage, ...]
    callbacks: tuple[Callback, ...] = ()

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def run(self, state: CompileState, ctx: StageContext | None = None) -> CompileState:
        ctx = ctx or StageContext()
        for stage in self.stages:
            if not stage.applies(state):
                for cb in self.callbacks:
                    cb(stage, state, None, 0.0)
                continue
            t = time.perf_counter()
            with ctx.step(stage.name):
                after = stage.run(state, ctx)
            seconds = time.perf_counter() - t
            for cb in self.callbacks:
                cb(stage, state, after, seconds)
            state = after
        return state

    def describe(self) -> str:
        return "\n".join(f"{k + 1:2d}. {s.describe()}" for k, s in enumerate(self.stages))


class Timings:
    """A callback that keeps each stage's seconds (the pipeline's context keeps them too)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.skipped: list[str] = []

    def __call__(self, stage, before, after, seconds) -> None:
        if after is None:
            self.skipped.append(stage.name)
        else:
            self.seconds[stage.name] = seconds


@dataclass(frozen=True)
class RecheckRules:
    """A callback that re-runs the design rules after every stage before quantization that declares
    fixes, and raises when a rule it fixes is still violated (a legalization must leave its rules
    satisfied). Later stages resolve their rules through the mapping (a population split over
    cores, splitter neurons), which the graph-level rules do not see: ``check_fit`` re-checks every
    limit on the mapping itself."""

    def __call__(self, stage, before, after, seconds) -> None:
        if after is None or not stage.fixes or after.fixed_point is not None:
            return
        left = [v for v in check(after.network, after.target) if v.rule in stage.fixes]
        if left:
            raise AssertionError(f"stage {stage.name} left violations of the rules it fixes: "
                                 + "; ".join(v.message for v in left))


@dataclass(frozen=True)
class Checkpoints:
    """A callback that writes the state after the stages named in ``after`` (``nmc compile
    --dump-after STAGE``): ``DIR/NN-STAGE.json`` (what the state holds) and, while the network is
    still being legalized, its IR checkpoint ``DIR/NN-STAGE.npz``."""

    folder: Path
    after: frozenset[str]
    names: Sequence[str]

    def __call__(self, stage, before, after, seconds) -> None:
        if after is None or stage.name not in self.after:
            return
        from ..ir import save_network

        stem = f"{list(self.names).index(stage.name) + 1:02d}-{stage.name}"
        write_json(self.folder / f"{stem}.json", summary(after) | {"stage": stage.name})
        save_network(after.network, self.folder / f"{stem}.npz")


def summary(state: CompileState) -> dict:
    """What a state holds, as JSON (arrays as their shapes)."""
    out = {"network": state.network.name, "target": state.target.name,
           "populations": {p.name: p.size for p in state.network.populations},
           "violations": [v.to_json() for v in state.violations], "legalized": list(state.legalized),
           "notes": list(state.notes), "misfits": list(state.misfits), "bound": state.bound,
           "quantized": state.fixed_point is not None, "rates_measured": state.rates is not None}
    if state.partition is not None:
        p = state.partition
        out["partition"] = {"name": p.name, "cores": p.cores, "core_of": p.core_of.tolist() if p.core_of.size <= 4096
                            else f"{p.core_of.size} neurons", "partial_sums": p.partial_sums is not None}
    if state.placement is not None:
        out["placement"] = state.placement.summary.to_json() | {"position": state.placement.position.tolist()}
    routes = state.routes
    out["routes"] = {"max_link_load": routes.max_link_load, "total_link_load": routes.total_link_load,
                     "table_entries": None if routes.tables is None else routes.tables.max_entries}
    return json.loads(json.dumps(out, default=repr))


def check_dump_names(after: Sequence[str], names: Sequence[str]) -> None:
    unknown = [a for a in after if a not in names]
    if unknown:
        raise UserError(f"--dump-after {', '.join(unknown)}: no such stage in this pipeline (it has "
                        f"{', '.join(names)}; nmc compile --stages lists them)")
