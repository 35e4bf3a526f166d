"""``nmc estimate`` as a library call: run a configuration image bit-accurately from its own tables,
count its activity per tick on the image's own placement (each core's neurons and mesh position),
and price it with the target's cost model (:mod:`nmcompiler.analysis.estimate`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..analysis.estimate import Estimate, decision_tick, estimate
from ..errors import UserError
from ..image import decode, target_digest, to_program
from ..image.contents import ImageContents, compiled_target
from ..lowered import probe_all
from ..sim.activity import Activity, program_activity, program_events
from ..sim.data import SampleData
from ..sim.bit_sim import BitAccurateSimulator
from ..sim.result import SimResult
from ..targets import Target

__all__ = ["ImageEstimate", "RunRecorder", "cost_model", "estimate_contents", "estimate_image", "image_placement",
           "image_target", "recording_program"]


@dataclass(frozen=True, kw_only=True, eq=False)
class ImageEstimate:
    estimate: Estimate
    activity: Activity
    result: SimResult
    output: str | None  # the population whose decision the latency follows
    accuracy: float | None = None  # with labelled data: the image's accuracy on it


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


class RunRecorder:
    """What an estimate needs of a series of runs of one image's program, of equal length: their
    spikes per tick and presynaptic index, and each one's ticks to the decision of ``output``
    (None: no decision followed). Called as ``on_run(trial, result)`` of
    :func:`nmcompiler.flow.samples.run_samples`; the runs must record every spike
    (:func:`recording_program`)."""

    def __init__(self, output: str | None):
        self.output = output
        self.steps: int | None = None
        self.events: list = []
        self.decisions: list[int] = []

    def __call__(self, program, result: SimResult) -> None:
        if self.steps not in (None, result.steps):
            raise ValueError(f"runs of {self.steps} and {result.steps} ticks are not inferences of one length")
        self.steps = result.steps
        self.events.append(program_events(program, result, self.steps))
        if self.output is not None:
            size = next(s.size for s in program.populations if s.name == self.output)
            self.decisions.append(decision_tick(np.asarray(result.spike_steps[self.output]),
                                                np.asarray(result.spike_ids[self.output]), size, self.steps))

    def fresh(self) -> RunRecorder:
        """An empty recorder like this one (to run beside a piece of the samples elsewhere)."""
        return RunRecorder(self.output)

    def merge(self, other: RunRecorder) -> None:
        """Take ``other``'s runs after these (pieces merged in sample order)."""
        if other.steps is None:
            return
        if self.steps not in (None, other.steps):
            raise ValueError(f"runs of {self.steps} and {other.steps} ticks are not inferences of one length")
        self.steps = other.steps
        self.events.extend(other.events)
        self.decisions.extend(other.decisions)

    def estimate(self, program, placement: SimpleNamespace, model) -> tuple[Estimate, Activity]:
        """The estimate of the runs so far, one inference each, on ``placement``."""
        activity = program_activity(program, self.events, self.steps, placement)
        est = estimate(activity, model, target=placement.target.name, dt=program.dt, inferences=len(self.events),
                       decisions=tuple(self.decisions) if self.output is not None else None)
        return est, activity


def recording_program(contents: ImageContents):
    """The image's program with every spike of every population recorded (no traces)."""
    return probe_all(to_program(contents))


def estimate_image(path: Path, *, steps: int | None = None, duration: float | None = None, seed: int | None = None,
                   target: str | None = None, inputs: Sequence[str] = (), output: str | None = None,
                   clock: float | None = None, data: SampleData | None = None,
                   source: str | None = None) -> ImageEstimate:
    """Run the image at ``path`` for ``steps`` ticks (or ``duration`` seconds), its host sources
    replaced by ``inputs`` (``NAME=FILE.npy``), or once per sample of ``data`` fed to ``source``
    (an inference each), and estimate its energy and latency; ``output``: the population whose
    decision the latency follows (default: the last); ``clock``: Hz, for models that count cycles."""
    where = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    contents = decode(raw, where)
    tgt = image_target(contents, target, where)
    return estimate_contents(contents, tgt, cost_model(tgt, clock, where), where=where, steps=steps,
                             duration=duration, seed=seed, inputs=inputs, output=output, data=data, source=source)


def estimate_contents(contents: ImageContents, tgt: Target, model, *, where: str, steps: int | None = None,
                      duration: float | None = None, seed: int | None = None, inputs: Sequence[str] = (),
                      output: str | None = None, data: SampleData | None = None,
                      source: str | None = None) -> ImageEstimate:
    """:func:`estimate_image` on decoded contents compiled for ``tgt``, priced by ``model``."""
    from ..sim.stimulus import drive_program
    from .samples import run_samples

    program = recording_program(contents)
    placement = image_placement(contents, tgt, program.n, where)
    names = [s.name for s in program.populations]
    if output is not None and output not in names:
        raise UserError(f"{where}: --output '{output}' is not a population of the image (it has {', '.join(names)})")
    output = output or (names[-1] if names else None)
    if data is None:
        program, steps = drive_program(program, inputs, steps, duration, where)
        recorder = RunRecorder(output)
        result = BitAccurateSimulator(program, seed=seed).run(steps)
        recorder(program, result)
        accuracy = None
    else:
        if output is None:
            raise UserError(f"{where}: the image has no population to read out")
        steps = _data_steps(data, steps, duration, program.dt, where)
        recorder = RunRecorder(output)
        counts = run_samples(program, data, source=data.pick_source(program.sources, source), output=output,
                             steps=steps, seed=program.seed if seed is None else seed, on_run=recorder)
        result = counts.first
        accuracy = None if data.y is None else counts.accuracy(data.y)
    est, activity = recorder.estimate(program, placement, model)
    return ImageEstimate(estimate=est, activity=activity, result=result, output=output, accuracy=accuracy)


def _data_steps(data: SampleData, steps: int | None, duration: float | None, dt: float, where: str) -> int:
    if data.encode == "current":
        raise UserError(f"{where}: an image's inputs are spike sources: use --encode rate or events")
    if steps is None and duration is not None:
        steps = max(1, int(round(duration / dt)))
    if steps is None:
        if data.sample_steps is None:
            raise UserError(f"{where}: rate-coded data has no length: give --steps or --duration")
        steps = data.sample_steps
    return steps


def cost_model(tgt: Target, clock: float | None, where: str):
    """The target's cost model (refused when it has none), at ``clock`` Hz when given."""
    if tgt.cost is None:
        raise UserError(f"{where}: target '{tgt.name}' has no cost model (a 'cost:' section in its target file): "
                        "give one in a target file of your own (docs/estimates.md) and pass it with --target")
    if clock is None:
        return tgt.cost
    try:
        return tgt.cost.with_clock(clock, "given with --clock")
    except UserError as exc:
        raise UserError(f"{where}: {exc} (target '{tgt.name}' gives times in seconds)") from None
