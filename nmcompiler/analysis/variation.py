"""Chip instances of an analog substrate: the network as one seeded chip runs it.

An analog chip (a target with a ``variation`` section, :mod:`nmcompiler.targets.variation`) keeps
its weights digitally, on the format's grid, and realizes every other parameter with circuits that
differ from neuron to neuron and from synapse to synapse. :func:`nominal` is the network with
digital weights and no variation; :func:`chip_instance` draws chip ``seed`` from the target's
variation model. The same seed is the same chip: its deviations ``z`` are drawn once per
(parameter, node) and scaled by the uncalibrated CV, or by the residual CV after calibration, so
a calibrated instance is that chip after calibration. Instances are float networks: an analog
substrate computes in continuous values, so its meaning is the float simulator's.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..ir import CubaLIF, Network, Population
from ..ir.learned import with_weights
from ..targets.variation import ParameterVariation, VariationSpec

__all__ = ["chip_instance", "digital_weights", "factors", "nominal"]


def digital_weights(net: Network, weight_bits: int) -> Network:
    """``net`` with every spiking projection's weights rounded to a ``weight_bits`` signed grid whose
    largest step holds the projection's largest |weight| (the chip's digital synapse memory)."""
    top = 2 ** (weight_bits - 1) - 1
    grid = {}
    for proj in net.spiking_projections():
        w = proj.connectivity.synapse_weights()
        largest = float(np.max(np.abs(w), initial=0.0))
        if largest > 0:
            step = largest / top
            grid[proj.name] = np.clip(np.rint(w / step), -top - 1, top) * step
    return with_weights(net, grid, freeze=False)


def nominal(net: Network, weight_bits: int) -> Network:
    """The chip without variation: digital weights, every other parameter as designed."""
    return digital_weights(net, weight_bits)


def factors(p: ParameterVariation, z: np.ndarray, calibrated: bool) -> np.ndarray:
    """Multipliers of the nominal values for standard normal deviations ``z``."""
    cv = p.calibrated_cv if calibrated else p.cv
    if p.distribution == "lognormal":
        s = np.sqrt(np.log1p(cv * cv))
        return np.exp(s * z - s * s / 2)
    return np.maximum(1.0 + cv * z, 0.01)


def chip_instance(net: Network, spec: VariationSpec, weight_bits: int, seed: int, calibrated: bool = False) -> Network:
    """Chip ``seed`` of the substrate running ``net`` (digital weights, then each parameter varied)."""
    out = nominal(net, weight_bits)
    for k, p in enumerate(spec.parameters):
        if p.per == "synapse":
            out = with_weights(out, {proj.name: proj.connectivity.synapse_weights() * factors(
                p, _deviations(seed, k, j, proj.connectivity.nnz), calibrated)
                for j, proj in enumerate(out.spiking_projections())}, freeze=False)
            continue
        for j, pop in enumerate(net.populations):
            changed = _vary_population(out.node(pop.name), p, lambda n: _deviations(seed, k, j, n), calibrated)
            if changed is not None:
                out.replace(changed)
    return out


def _deviations(seed: int, parameter: int, node: int, n) -> np.ndarray:
    """Standard normal deviations of one parameter of one node of chip ``seed``: drawn from their
    own stream, so they do not depend on what else varies or on calibration."""
    return np.random.default_rng([seed, parameter, node]).standard_normal(n)


def _vary_population(pop: Population, p: ParameterVariation, z, calibrated: bool) -> Population | None:
    m, n = pop.model, pop.size
    full = lambda x: np.broadcast_to(np.asarray(x, dtype=np.float64), (n,))  # noqa: E731
    if p.parameter == "threshold":
        rest = full(getattr(m, "v_leak", m.v_reset))
        changes = {"v_threshold": rest + (full(m.v_threshold) - rest) * factors(p, z(n), calibrated)}
    elif p.parameter == "tau_mem" and hasattr(m, "tau_mem"):
        changes = {"tau_mem": full(m.tau_mem) * factors(p, z(n), calibrated)}
    elif p.parameter == "tau_syn" and isinstance(m, CubaLIF):
        r = len(m.receptors)
        tau = np.broadcast_to(m.tau_syn.reshape(r, -1), (r, n))
        changes = {"tau_syn": tau * factors(p, z((r, n)), calibrated)}
    elif p.parameter == "bias" and np.any(m.bias != 0):
        changes = {"bias": full(m.bias) * factors(p, z(n), calibrated)}
    else:
        return None
    return dataclasses.replace(pop, model=dataclasses.replace(m, **changes))

