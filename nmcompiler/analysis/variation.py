"""Chip instances of an analog substrate: the network as one seeded chip runs it.

An analog chip (a target with a ``variation`` section, :mod:`nmcompiler.targets.variation`) keeps
its weights digitally, on the format's grid (:class:`WeightGrid`; a CAM chip such as DYNAP-SE2:
each core's four shared base weights), and realizes every other parameter with circuits that
differ from neuron to neuron and from synapse to synapse. :func:`nominal` is the network with
digital weights and no variation; :func:`chip_instance` draws chip ``seed`` from the target's
variation model. The same seed is the same chip: its deviations ``z`` are drawn once per
(parameter, node) and scaled by the uncalibrated CV, or by the residual CV after calibration, so
a calibrated instance is that chip after calibration. Instances are float networks: an analog
substrate computes in continuous values, so its meaning is the float simulator's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..ir import CubaLIF, Network, Population
from ..ir.learned import with_weights
from ..passes.cam_weights import fit_base_weights, nearest_masks, subset_sums
from ..targets import Target
from ..targets.variation import ParameterVariation, VariationSpec

__all__ = ["WeightGrid", "cam_weights", "chip_instance", "digital_weights", "factors", "nominal"]


@dataclass(frozen=True, kw_only=True)
class WeightGrid:
    """How a chip holds its weights: ``bits`` signed per projection, or (``base_weights`` set) as
    sums of each core's shared base weights, a population on whole cores of ``neurons_per_core``."""

    bits: int
    base_weights: int | None = None
    neurons_per_core: int | None = None
    per_type: tuple[tuple[int, ...], ...] | None = None  # [channel][sign > 0] -> synapse type: bases per type

    @classmethod
    def of(cls, target: Target) -> WeightGrid:
        if target.cam is None:
            return cls(bits=target.format.weight_bits)
        table = target.cam.group_table(target.format.receptors) if target.cam.groups > 1 else None
        return cls(bits=target.format.weight_bits, base_weights=target.cam.base_weights,
                   neurons_per_core=target.core.neurons,
                   per_type=None if table is None else tuple(map(tuple, table.tolist())))

    def apply(self, net: Network) -> Network:
        return digital_weights(net, self.bits) if self.base_weights is None else cam_weights(net, self)


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


def cam_weights(net: Network, grid: WeightGrid) -> Network:
    """``net`` with the weights into every core (a population's neurons in blocks of
    ``neurons_per_core``) signed sums of that core's base weights, fitted to them on a ``bits``
    grid as the compiler fits them (:mod:`nmcompiler.passes.cam_weights`)."""
    limit = 2 ** (grid.bits - 1) - 1
    out = {proj.name: proj.connectivity.synapse_weights().astype(np.float64) for proj in net.spiking_projections()}
    for pop in net.populations:
        incoming = net.spiking_projections(pop.name)
        if not incoming:
            continue
        core = np.concatenate([proj.connectivity.indices // grid.neurons_per_core for proj in incoming])
        w = np.concatenate([out[proj.name] for proj in incoming])
        if grid.per_type is not None:  # a set of bases per (core, synapse type)
            table = np.array(grid.per_type)
            channel = np.concatenate([np.full(proj.connectivity.nnz, pop.model.channel_of(proj.receptor))
                                      for proj in incoming])
            core = core * table.size + table[channel, (w >= 0).astype(np.int64)]
        new = np.zeros_like(w)
        for c in np.unique(core):
            sel = core == c
            step = float(np.max(np.abs(w[sel]), initial=0.0)) / limit
            if step > 0:
                ints = np.rint(np.abs(w[sel]) / step).astype(np.int64)
                bases = fit_base_weights(ints, grid.base_weights, limit)
                new[sel] = np.sign(w[sel]) * subset_sums(bases)[nearest_masks(ints, bases, limit)] * step
        start = 0
        for proj in incoming:
            out[proj.name] = new[start:start + proj.connectivity.nnz]
            start += proj.connectivity.nnz
    return with_weights(net, out, freeze=False)


def nominal(net: Network, weights: int | WeightGrid) -> Network:
    """The chip without variation: digital weights (``weights``: the grid, or its bits per
    projection), every other parameter as designed."""
    grid = weights if isinstance(weights, WeightGrid) else WeightGrid(bits=weights)
    return grid.apply(net)


def factors(p: ParameterVariation, z: np.ndarray, calibrated: bool) -> np.ndarray:
    """Multipliers of the nominal values for standard normal deviations ``z``."""
    cv = p.calibrated_cv if calibrated else p.cv
    if p.distribution == "lognormal":
        s = np.sqrt(np.log1p(cv * cv))
        return np.exp(s * z - s * s / 2)
    return np.maximum(1.0 + cv * z, 0.01)


def chip_instance(net: Network, spec: VariationSpec, weights: int | WeightGrid, seed: int,
                  calibrated: bool = False) -> Network:
    """Chip ``seed`` of the substrate running ``net`` (digital weights, then each parameter varied)."""
    out = nominal(net, weights)
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

