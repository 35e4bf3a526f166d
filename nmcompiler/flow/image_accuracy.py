"""Hardware accuracy from the compiled image itself (``nmc compare --data``, and ``nmc compare
IMAGE.nmc --network NET --data``): each sample run on the image's own tables, so every
legalization of the compile flow (relays, splitters, compartments, axon types, bias onsets) counts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..analysis.compare import CompareResult, compare_results, first_divergence
from ..analysis.estimate import Estimate
from ..analysis.scores import score_samples
from ..compiler import compile_network
from ..datapath import NumericFormat
from ..errors import UserError
from ..image import build_contents, to_program
from ..ir import Network, SpikeSource
from ..lowered import SimProgram
from ..sim.data import SampleData, rate_spikes
from ..targets import Target
from .estimate import RunRecorder, image_placement, recording_program
from .samples import run_samples, spike_counts
from .verify import response_lag

__all__ = ["ImageAccuracy", "compare_image", "image_accuracy"]


@dataclass(frozen=True, kw_only=True)
class ImageAccuracy:
    accuracy: float
    cores: int
    spikes: dict[str, int]  # per population, over every sample
    notes: list[str]  # what compiling changed
    estimate: Estimate | None = None  # energy and latency per sample (None: the target has no cost model)

    def to_json(self) -> dict:
        return {"image_accuracy": self.accuracy, "image_cores": self.cores, "image_spikes": self.spikes,
                "image_notes": self.notes} | ({} if self.estimate is None else {"estimate": self.estimate.to_json()})


def image_accuracy(net: Network, target: Target, fmt: NumericFormat, x: np.ndarray, y: np.ndarray, *, encode: str,
                   source: str, output: str, steps: int, seed: int, executor=None) -> ImageAccuracy:
    """Accuracy of ``net`` compiled for ``target`` with format ``fmt`` on the samples ``x`` (rates
    in [0, 1] per feature, or (steps, channels) spikes for ``events``) and labels ``y``; the
    samples run on ``executor`` when given (:func:`nmcompiler.flow.samples.run_samples`)."""
    if encode not in ("rate", "events"):
        raise UserError(f"the image's accuracy needs spike inputs (--encode rate or events), not {encode}")
    # the format as compared differs from the target's only in its weight bits (--weight-bits); the
    # rest (receptors as multi-compartment neurons, say) the compile flow derives from the target
    tgt = dataclasses.replace(target, format=dataclasses.replace(target.format, weight_bits=fmt.weight_bits))
    mapping, fx, report = compile_network(net, tgt, partitioner="index-order")
    if not report.fits:
        raise UserError(f"{net.name}: the mapping does not fit {target.name}: " + "; ".join(report.misfits))
    samples = x if encode == "events" else np.stack([rate_spikes(s, steps, seed, k) for k, s in enumerate(x)])
    contents = build_contents(mapping, fx)
    if target.cost is None:
        counts = spike_counts(to_program(contents), source, samples, output, steps, seed, executor=executor)
        return ImageAccuracy(accuracy=counts.accuracy(y), cores=report.cores_used, spikes=counts.totals,
                             notes=list(report.notes))
    program, recorder = recording_program(contents), RunRecorder(output)
    counts = spike_counts(program, source, samples, output, steps, seed, on_run=recorder, executor=executor)
    est, _ = recorder.estimate(program, image_placement(contents, mapping.target, program.n, net.name), target.cost)
    return ImageAccuracy(accuracy=counts.accuracy(y), cores=report.cores_used, spikes=counts.totals,
                         notes=list(report.notes), estimate=est)


def compare_image(net: Network, program: SimProgram, data: SampleData, *, target: str, source: str | None = None,
                  output: str | None = None, steps: int | None = None, seed: int | None = None,
                  progress=None, on_run=None, executor=None) -> CompareResult:
    """The float network against a compiled image's own tables (``nmc compare IMAGE.nmc
    --network NET --data``) on every sample of ``data``: accuracy, per class, confusion, count
    agreement per population; the summaries and plot from the first sample's runs.
    ``on_run(trial, result)`` sees each run of the image; ``executor``: where the samples run
    (:func:`nmcompiler.flow.samples.run_samples`)."""
    if data.y is None:
        raise UserError(f"{data.where}: comparing accuracy needs labels y")
    source = data.pick_source(net.sources, source)
    if source not in {s.name for s in program.sources if isinstance(s, SpikeSource)}:
        raise UserError(f"the image has no spike source '{source}' (it was compiled from another network?)")
    output = output or net.populations[-1].name
    if steps is None:
        if data.sample_steps is None:
            raise UserError("rate-coded data has no length: give --steps")
        steps = data.sample_steps + response_lag(net, source, output)
    seed = net.seed if seed is None else seed
    f = run_samples(net, data, source=source, output=output, steps=steps, seed=seed, progress=progress,
                    executor=executor)
    data.check_labels(f.counts.shape[1], output)
    h = run_samples(program, data, source=source, output=output, steps=steps, seed=seed, on_run=on_run,
                    executor=executor)
    rows, warnings = compare_results(f.first, h.first)
    scores = score_samples(f.populations, h.populations, data.y, output)
    return CompareResult(target=target, steps=steps, populations=rows,
                         first_divergence=first_divergence(f.first, h.first), quantization={}, warnings=warnings,
                         float_result=f.first, hw_result=h.first, **dataclasses.asdict(scores))
