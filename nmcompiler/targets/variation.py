"""Device variation as target data: how the parameters of an analog substrate (BrainScaleS-2,
DYNAP-SE2's analog core, Neurogrid) differ between its neurons and synapses, so that one network
behaves differently on every chip instance (fixed-pattern noise).

A target's ``variation`` section lists, per parameter, its distribution and coefficient of
variation (CV) around the nominal value, per neuron or per synapse, and the residual CV left after
calibration. :mod:`nmcompiler.analysis.variation` draws chip instances from it (seeded);
``nmc compare --instances N`` reports accuracy and rates over them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["PARAMETERS", "ParameterVariation", "VariationSpec", "variation_from_document"]

#: parameter -> what varies: per neuron, or per synapse
PARAMETERS = {"threshold": "neuron", "tau_mem": "neuron", "tau_syn": "neuron", "bias": "neuron", "weight": "synapse"}
DISTRIBUTIONS = ("normal", "lognormal")


@dataclass(frozen=True, kw_only=True)
class ParameterVariation:
    """``threshold``: the distance from rest to threshold; ``tau_mem``/``tau_syn``: time constants;
    ``bias``: the constant input; ``weight``: each synapse's gain. ``normal``: the value times
    ``1 + cv z`` (kept at least 1 % of nominal); ``lognormal``: times ``exp(s z - s^2 / 2)`` with
    ``s^2 = ln(1 + cv^2)`` (mean 1, CV ``cv``, always positive)."""

    parameter: str
    distribution: str
    cv: float  # uncalibrated: as the chip comes
    calibrated_cv: float  # residual after calibration

    @property
    def per(self) -> str:
        return PARAMETERS[self.parameter]

    def problems(self) -> list[str]:
        out = []
        if self.parameter not in PARAMETERS:
            out.append(f"parameter '{self.parameter}' is unknown (use {', '.join(PARAMETERS)})")
        if self.distribution not in DISTRIBUTIONS:
            out.append(f"distribution '{self.distribution}' is unknown (use {', '.join(DISTRIBUTIONS)})")
        if not 0 <= self.calibrated_cv <= self.cv <= 1:
            out.append(f"{self.parameter}: need 0 <= calibrated_cv <= cv <= 1, not {self.calibrated_cv} and {self.cv}")
        return out


@dataclass(frozen=True, kw_only=True)
class VariationSpec:
    parameters: tuple[ParameterVariation, ...]
    source: str = ""  # where the figures come from (the target file's own words)

    def scaled(self, cv: float) -> VariationSpec:
        """Every parameter at coefficient of variation ``cv`` (a what-if: ``nmc compare --cv``);
        the calibrated residuals keep their ratio to the uncalibrated CV."""
        return VariationSpec(parameters=tuple(
            ParameterVariation(parameter=p.parameter, distribution=p.distribution, cv=cv,
                               calibrated_cv=cv * (p.calibrated_cv / p.cv if p.cv else 0.0))
            for p in self.parameters), source=f"{self.source}; every CV set to {cv:g}")

    def problems(self) -> list[str]:
        names = [p.parameter for p in self.parameters]
        dup = sorted({n for n in names if names.count(n) > 1})
        return [m for p in self.parameters for m in p.problems()] + (
            [f"parameters listed twice: {', '.join(dup)}"] if dup else [])

    def to_json(self) -> dict:
        return asdict(self)


def variation_from_document(doc: dict) -> VariationSpec:
    """The ``variation`` section of a target file (already checked by the target schema)."""
    return VariationSpec(parameters=tuple(ParameterVariation(**p) for p in doc["parameters"]),
                         source=doc.get("source", ""))
