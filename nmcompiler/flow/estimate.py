"""``nmc estimate`` as a library call: run a configuration image bit-accurately from its own tables,
count its activity per tick on the image's own placement (each core's neurons and mesh position),
and price it with the target's cost model (:mod:`nmcompiler.analysis.estimate`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..analysis.estimate import Estimate, decision_tick, estimate
from ..errors import UserError
from ..image import decode, target_digest, to_program
from ..image.contents import ImageContents, compiled_target
from ..sim.activity import Activity, program_activity
from ..sim.bit_sim import BitAccurateSimulator
from ..sim.result import SimResult
from ..targets import Target

__all__ = ["ImageEstimate", "estimate_image", "image_placement", "image_target"]


@dataclass(frozen=True, kw_only=True, eq=False)
class ImageEstimate:
    estimate: Estimate
    activity: Activity
    result: SimResult
    output: str | None  # the population whose decision the latency follows


def image_target(contents: ImageContents, target: str | None, where: str) -> Target:
    """The target the image was compiled for (``target``: a file or name, else the shipped one of
    the image's name); the description must be the one the image was made from."""
    from ..targets import load_target, target_names

    meta = contents.meta
    if target is None and meta["target"] not in target_names():
        raise UserError(f"{where}: compiled for target '{meta['target']}', which is not shipped: pass its target file "
                        "with --target (nmc compile --size writes it as target.yaml beside the image)")
    tgt = compiled_target(load_target(target or meta["target"]), meta)
    digest = target_digest(tgt, learns=bool(meta.get("plastic")))
    if tgt.name != meta["target"] or digest != meta["target_sha256"]:
        raise UserError(f"{where}: compiled for target '{meta['target']}' (description sha256 "
                        f"{meta['target_sha256'][:12]}), not for '{tgt.name}' ({digest[:12]}): "
                        "pass the target file it was compiled for with --target")
    return tgt


def image_placement(contents: ImageContents, target: Target, n: int, where: str) -> SimpleNamespace:
    """Where the image puts each neuron: ``core_of`` (global neuron -> core), ``position`` (core
    -> chip, row, column) and the target, read from the image's core sections."""
    core_of = np.full(n, -1, dtype=np.int64)
    position = np.zeros((len(contents.cores), 3), dtype=np.int64)
    for c in contents.cores:
        position[c.core] = c.position
        for ids in (c.neurons["neuron"], c.compartments["id"]):
            ids = np.asarray(ids, dtype=np.int64)
            core_of[ids[ids < n]] = c.core
    if (core_of < 0).any():
        raise UserError(f"{where}: {int((core_of < 0).sum())} neurons have no core section in the image "
                        "(convolution cores keep their neurons in layers): estimates need neurons on cores")
    return SimpleNamespace(core_of=core_of, position=position, target=target)


def estimate_image(path: Path, *, steps: int | None = None, duration: float | None = None, seed: int | None = None,
                   target: str | None = None, inputs: Sequence[str] = (), output: str | None = None,
                   clock: float | None = None) -> ImageEstimate:
    """Run the image at ``path`` for ``steps`` ticks (or ``duration`` seconds), its host sources
    replaced by ``inputs`` (``NAME=FILE.npy``), and estimate its energy and latency; ``output``:
    the population whose decision the latency follows (default: the last); ``clock``: Hz, for
    models that count cycles."""
    from ..ir import Probe
    from ..sim.stimulus import drive_program

    where = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    contents = decode(data, where)
    tgt = image_target(contents, target, where)
    model = _cost_model(tgt, clock, where)
    program = to_program(contents)
    placement = image_placement(contents, tgt, program.n, where)
    del contents
    # every spike recorded (the estimate counts them all), no traces
    program = dataclasses.replace(program, probes=tuple(Probe(target=p.name) for p in program.populations))
    program, steps = drive_program(program, inputs, steps, duration, where)
    names = [s.name for s in program.populations]
    if output is not None and output not in names:
        raise UserError(f"{where}: --output '{output}' is not a population of the image (it has {', '.join(names)})")
    output = output or (names[-1] if names else None)
    result = BitAccurateSimulator(program, seed=seed).run(steps)
    activity = program_activity(program, result, steps, placement)
    decision = None
    if output is not None:
        size = next(s.size for s in program.populations if s.name == output)
        decision = decision_tick(np.asarray(result.spike_steps[output]), np.asarray(result.spike_ids[output]),
                                 size, steps)
    est = estimate(activity, model, target=tgt.name, dt=program.dt, decision=decision)
    return ImageEstimate(estimate=est, activity=activity, result=result, output=output)


def _cost_model(tgt: Target, clock: float | None, where: str):
    if tgt.cost is None:
        raise UserError(f"{where}: target '{tgt.name}' has no cost model (a 'cost:' section in its target file): "
                        "give one in a target file of your own (docs/estimates.md) and pass it with --target")
    if clock is None:
        return tgt.cost
    try:
        return tgt.cost.with_clock(clock, "given with --clock")
    except UserError as exc:
        raise UserError(f"{where}: {exc} (target '{tgt.name}' gives times in seconds)") from None
