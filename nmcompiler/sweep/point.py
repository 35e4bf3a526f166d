"""One sweep point, evaluated where a worker runs it: derive its target, compile, build the image,
run the image on every sample (its accuracy; with a cost model, energy and latency per inference),
and for a chip instance of an analog substrate, that instance's accuracy. Everything a point
needs travels in :class:`SweepInputs` and the :class:`Point`; the result is a :class:`PointResult`,
never an exception (a failing point is recorded with its error)."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..ir import Network
from ..sim.data import SampleData
from .spec import Point

__all__ = ["PointResult", "SweepInputs", "evaluate_float", "evaluate_point"]


@dataclass(frozen=True, kw_only=True, eq=False)
class SweepInputs:
    """What every point shares (sent to each worker once)."""

    network: Network
    data: SampleData
    steps: int
    source: str
    output: str
    targets: dict[str, dict]  # base target (name or file) -> its document

    def digest(self) -> str:
        """SHA-256 of the network, the samples and how they are run: a point's key starts here."""
        from ..ir.serialize import network_digest

        h = hashlib.sha256(network_digest(self.network).encode())
        for a in (self.data.x, self.data.y if self.data.y is not None else np.zeros(0)):
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(json.dumps([self.data.encode, self.steps, self.source, self.output]).encode())
        return h.hexdigest()


@dataclass(frozen=True, kw_only=True)
class PointResult:
    """What a point gave (one row of the table). ``status``: ok, misfit (the compile refused the
    network for this target, or its mapping does not fit: ``error`` says what is over) or failed
    (the point's target is not valid, or it crashed: ``error`` says why). Energy and latency are per
    inference (one sample); ``None`` where the target has no cost model or the point did not run."""

    status: str
    error: str | None = None
    cores: int | None = None
    cores_lower_bound: int | None = None
    chips: int | None = None
    image_bytes: int | None = None
    image_sha256: str | None = None
    accuracy: float | None = None  # the image's own tables on the samples
    energy_j: float | None = None
    wall_time_s: float | None = None
    decision_ticks: float | None = None  # mean over the samples
    decision_s: float | None = None
    synaptic_ops: float | None = None
    inter_core_spikes: float | None = None  # per second, at 1 Hz per neuron
    average_hops: float | None = None
    instance_accuracy: float | None = None  # the chip instance (analog targets with an instance axis)
    # not part of the table (they vary from run to run): the evaluation's wall time, and the peak
    # resident memory of the process that ran it (over its life so far)
    seconds: float = 0.0
    peak_rss_bytes: int = 0

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, doc: dict) -> PointResult:
        return cls(**{f.name: doc[f.name] for f in dataclasses.fields(cls) if f.name in doc})


def point_target(inputs: SweepInputs, point: Point):
    """The point's target: its base target's document with the point's fields set."""
    from ..targets.derive import set_field
    from ..targets.target import target_from_document

    base = point.get("target", None) or next(iter(inputs.targets))
    doc = copy.deepcopy(inputs.targets[base])
    for key, value in point.settings:
        set_field(doc, key, value, f"axis target.{key}")
    where = f"point {point.index} ({point.label()})"
    return target_from_document(Path(where), doc)


def evaluate_point(inputs: SweepInputs, point: Point) -> PointResult:
    """Evaluate ``point`` (see the module); never raises for a problem of the point itself."""
    start = time.perf_counter()
    try:
        result = _evaluate(inputs, point)
    except UserError as exc:
        result = PointResult(status="failed", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - a sweep records a point's crash and goes on
        result = PointResult(status="failed", error=f"internal error: {type(exc).__name__}: {exc}")
    return _timed(result, start)


def _timed(result: PointResult, start: float) -> PointResult:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    return dataclasses.replace(result, seconds=time.perf_counter() - start, peak_rss_bytes=int(peak))


def _evaluate(inputs: SweepInputs, point: Point) -> PointResult:
    from ..compiler import compile_network
    from ..image import build_contents, encode_image

    target = point_target(inputs, point)
    try:
        mapping, fx, report = compile_network(inputs.network, target, **point.options)
    except UserError as exc:  # the network does not map onto this target (its bound, a design rule)
        return PointResult(status="misfit", error=str(exc))
    common = dict(cores=report.cores_used, cores_lower_bound=report.cores_lower_bound,
                  inter_core_spikes=report.inter_core_spikes, average_hops=report.average_hops)
    if not report.fits:
        return PointResult(status="misfit", error="; ".join(report.misfits), **common)
    contents = build_contents(mapping, fx)
    image = encode_image(contents)  # its size and SHA-256 without joining its bytes
    common |= dict(image_bytes=image.size, image_sha256=image.sha256,
                   chips=int(np.unique(mapping.position[:, 0]).size) if len(mapping.position) else 0)
    instance = _instance_accuracy(inputs, point, target)
    return PointResult(status="ok", instance_accuracy=instance, **common, **_run_image(inputs, point, contents, target))


def _run_image(inputs: SweepInputs, point: Point, contents, target) -> dict:
    """The image on every sample: accuracy, and with a cost model energy and latency per inference."""
    from ..flow.estimate import estimate_contents
    from ..flow.samples import run_samples
    from ..image import to_program

    if target.cost is None:
        counts = run_samples(to_program(contents), inputs.data, source=inputs.source, output=inputs.output,
                             steps=inputs.steps, seed=point.seed)
        return {"accuracy": counts.accuracy(inputs.data.y)}
    run = estimate_contents(contents, target, target.cost, where=f"point {point.index}", steps=inputs.steps,
                            seed=point.seed, data=inputs.data, source=inputs.source, output=inputs.output)
    est, n = run.estimate, max(run.estimate.inferences, 1)
    times = est.decision_times
    return {"accuracy": run.accuracy, "energy_j": None if est.energy is None else est.energy / n,
            "wall_time_s": est.wall_time / n, "decision_ticks": float(np.mean(est.decisions)),
            "decision_s": float(times.mean()), "synaptic_ops": run.activity.synaptic_ops / n}


def _instance_accuracy(inputs: SweepInputs, point: Point, target) -> float | None:
    """Accuracy of chip instance ``instance`` of the target's substrate (a float run, as ``nmc
    compare --instances``), or None without an instance axis."""
    from ..analysis.variation import WeightGrid, chip_instance
    from ..flow.samples import run_samples

    chip = point.get("instance")
    if chip is None:
        return None
    if target.variation is None:
        raise UserError(f"{target.name} has no device variation: the instance axis applies to analog substrates "
                        "(a target's 'variation' section, e.g. brainscales2-like)")
    net = chip_instance(inputs.network, target.variation, WeightGrid.of(target), int(chip),
                        bool(point.get("calibrated", False)))
    counts = run_samples(net, inputs.data, source=inputs.source, output=inputs.output, steps=inputs.steps,
                         seed=point.seed)
    return counts.accuracy(inputs.data.y)


def evaluate_float(inputs: SweepInputs, seed: int) -> PointResult:
    """The float network's accuracy on the samples at ``seed`` (the reference of every point of that seed)."""
    from ..flow.samples import run_samples

    start = time.perf_counter()
    try:
        counts = run_samples(inputs.network, inputs.data, source=inputs.source, output=inputs.output,
                             steps=inputs.steps, seed=seed)
        result = PointResult(status="ok", accuracy=counts.accuracy(inputs.data.y))
    except UserError as exc:
        result = PointResult(status="failed", error=str(exc))
    return _timed(result, start)
