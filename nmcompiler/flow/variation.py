"""Accuracy and rates over chip instances of an analog substrate (``nmc compare --instances N``).

Each instance is one seeded chip (:func:`nmcompiler.analysis.variation.chip_instance`), run in
float on the same input as the network itself and the nominal chip (digital weights, no
variation); the report gives each instance's accuracy (with labelled data) and rates, and their
mean, spread and worst case, uncalibrated or after calibration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..analysis.variation import WeightGrid, chip_instance, nominal
from ..errors import UserError
from ..ir import Network
from ..sim.data import SampleData
from ..sim.float_sim import FloatSimulator
from ..targets import Target
from .samples import run_samples

__all__ = ["InstanceRun", "VariationReport", "compare_instances"]


@dataclass(frozen=True)
class InstanceRun:
    """One run: a chip instance (``seed``), the nominal chip or the network itself."""

    label: str
    seed: int | None
    accuracy: float | None  # with labelled data
    rates: dict[str, float]  # mean spikes per neuron and second, per population

    def to_json(self) -> dict:
        return {"label": self.label, "seed": self.seed, "accuracy": self.accuracy, "rates": self.rates}


def _spread(values) -> dict:
    a = np.asarray(values, dtype=np.float64)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0, "min": float(a.min()),
            "max": float(a.max())}


@dataclass(frozen=True)
class VariationReport:
    target: str
    calibrated: bool
    cv: float | None  # every parameter's CV, when overridden
    network: InstanceRun  # the float network as given
    nominal: InstanceRun  # digital weights, no variation
    instances: tuple[InstanceRun, ...]

    def summary(self) -> dict:
        """Mean, spread (sample standard deviation), worst and best over the instances: accuracy
        (worst = lowest) and each population's rate."""
        out = {"rates": {pop: _spread([r.rates[pop] for r in self.instances]) for pop in self.network.rates}}
        if self.network.accuracy is not None:
            out["accuracy"] = _spread([r.accuracy for r in self.instances])
        return out

    def to_json(self) -> dict:
        return {"target": self.target, "calibrated": self.calibrated, "cv": self.cv, "summary": self.summary(),
                "network": self.network.to_json(), "nominal": self.nominal.to_json(),
                "instances": [r.to_json() for r in self.instances]}


def compare_instances(net: Network, target: Target, *, instances: int, seed: int = 0, calibrated: bool = False,
                      cv: float | None = None, data: SampleData | None = None, source: str | None = None,
                      output: str | None = None, steps: int, progress: Callable[[int], None] | None = None
                      ) -> VariationReport:
    """Run ``net``, its nominal chip and ``instances`` chips (seeds ``seed .. seed + instances - 1``)
    of ``target``'s variation model (every CV set to ``cv`` when given), for ``steps`` steps: on every
    sample of ``data`` (fed to ``source``, classified by ``output``'s most spikes), or once on the
    network's own stimulus."""
    if target.variation is None:
        raise UserError(f"{target.name} has no device variation (a target's 'variation' section: analog "
                        "substrates such as brainscales2-like); its chips are alike")
    if not 1 <= instances <= 10_000:
        raise UserError(f"--instances must lie in [1, 10000], not {instances}")
    if cv is not None and not 0 <= cv <= 1:
        raise UserError(f"--cv must lie in [0, 1], not {cv}")
    spec = target.variation if cv is None else target.variation.scaled(cv)
    grid = WeightGrid.of(target)

    def run(model: Network, label: str, chip: int | None) -> InstanceRun:
        if data is None:
            result = FloatSimulator(model).run(steps)
            rates = {p.name: float(result.spike_ids[p.name].size / p.size / result.duration)
                     for p in model.populations if p.name in result.spike_ids}
            accuracy = None
        else:
            counts = run_samples(model, data, source=source, output=output, steps=steps)
            seconds = counts.first.duration * len(data)
            rates = {name: float(c.sum() / c.shape[1] / seconds) for name, c in counts.populations.items()}
            accuracy = counts.accuracy(data.y) if data.y is not None else None
        if progress is not None:
            progress(1)
        return InstanceRun(label=label, seed=chip, accuracy=accuracy, rates=rates)

    runs = tuple(run(chip_instance(net, spec, grid, seed + k, calibrated), f"chip {seed + k}", seed + k)
                 for k in range(instances))
    return VariationReport(target=target.name, calibrated=calibrated, cv=cv, network=run(net, "network", None),
                           nominal=run(nominal(net, grid), "nominal chip", None), instances=runs)
