"""Hardware accuracy from the compiled image itself (``nmc compare --data``): the network mapped
onto the target (its format as compared), and each sample run on the image's own tables, so every
legalization of the compile flow (relays, splitters, compartments, axon types, bias onsets) counts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..analysis.compare import rate_spikes
from ..compiler import compile_network
from ..datapath import NumericFormat
from ..errors import UserError
from ..image import build_contents, to_program
from ..ir import Network
from ..targets import Target
from .samples import spike_counts

__all__ = ["ImageAccuracy", "image_accuracy"]


@dataclass(frozen=True, kw_only=True)
class ImageAccuracy:
    accuracy: float
    cores: int
    spikes: dict[str, int]  # per population, over every sample
    notes: list[str]  # what compiling changed

    def to_json(self) -> dict:
        return {"image_accuracy": self.accuracy, "image_cores": self.cores, "image_spikes": self.spikes,
                "image_notes": self.notes}


def image_accuracy(net: Network, target: Target, fmt: NumericFormat, x: np.ndarray, y: np.ndarray, *, encode: str,
                   source: str, output: str, steps: int, seed: int) -> ImageAccuracy:
    """Accuracy of ``net`` compiled for ``target`` with format ``fmt`` on the samples ``x`` (rates
    in [0, 1] per feature, or (steps, channels) spikes for ``events``) and labels ``y``."""
    if encode not in ("rate", "events"):
        raise UserError(f"the image's accuracy needs spike inputs (--encode rate or events), not {encode}")
    # the format as compared differs from the target's only in its weight bits (--weight-bits); the
    # rest (receptors as multi-compartment neurons, say) the compile flow derives from the target
    tgt = dataclasses.replace(target, format=dataclasses.replace(target.format, weight_bits=fmt.weight_bits))
    mapping, fx, report = compile_network(net, tgt, partitioner="index-order")
    if not report.fits:
        raise UserError(f"{net.name}: the mapping does not fit {target.name}: " + "; ".join(report.misfits))
    samples = x if encode == "events" else np.stack([rate_spikes(s, steps, seed, k) for k, s in enumerate(x)])
    counts = spike_counts(to_program(build_contents(mapping, fx)), source, samples, output, steps, seed)
    return ImageAccuracy(accuracy=counts.accuracy(y), cores=report.cores_used, spikes=counts.totals,
                         notes=list(report.notes))
