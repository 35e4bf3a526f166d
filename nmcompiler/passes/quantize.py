"""Quantization pass: float IR -> fixed-point IR for a numeric format.

Per population, voltages are measured from the rest potential and scaled by one factor ``S``
(integer units per volt), chosen as large as the state width allows (threshold and reset at
most ``2^(v_bits-1-headroom)``) and as the weight format allows (the largest incoming weight
must fit the mantissa at the largest exponent). Synaptic currents are scaled so that the
datapath adds them to ``v`` with gain 1. Weights get an exponent per population or per
projection where the format has one. Decays, biases, thresholds and resets are rounded to
nearest. See docs/datapath.md for the float -> integer mapping of each model.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit

from ..arrays import one_value
from ..datapath import DecayKind, LearningFormat, NeuronParams, NumericFormat, Order, saturate
from ..errors import Diagnostic, ValidationError
from ..ir import CubaLIF, CurrentSource, Network, Population
from ..ir.fixed_point import (FixedPointNetwork, PopulationReport, QuantizedPopulation, QuantizedProjection,
                              mantissa_type)
from ..ir.models import Integration
from .quantize_learning import quantize_learning, row_delay_problems

__all__ = ["Quantize"]


@njit(cache=True)
def _add_abs(total, indices, w, unit):
    """``total[indices[k]] += |w[k]| / unit`` in synapse order (the sums of ``np.add.at``, bit for
    bit, without its ~10x overhead)."""
    for k in range(indices.size):
        total[indices[k]] += abs(w[k]) / unit


@njit(cache=True)
def _rounded_to_zero(m, w):
    """How many synapses have a zero mantissa ``m`` but a nonzero weight ``w``."""
    n = 0
    for k in range(m.size):
        n += m[k] == 0 and w[k] != 0
    return n


@njit(cache=True)
def _max_abs(w):
    out = 0.0
    for k in range(w.size):
        out = max(out, abs(w[k]))
    return out


@njit(cache=True)
def _mantissas(w, s, step, mant, m):
    """One pass over a projection: mantissas ``clip(rint(w s / step), -mant - 1, mant)`` into
    ``m`` (one element when every ``w`` is the same: it takes their one mantissa); returns how
    many were clipped, and the sums of ``(w s)^2`` and of the rounding error squared (for the
    SQNR)."""
    clipped, signal, noise = 0, 0.0, 0.0
    for k in range(w.size):
        x = w[k] * s
        r = np.rint(x / step)
        q = min(max(r, -mant - 1.0), float(mant))
        clipped += q != r
        m[k if m.size > 1 else 0] = q
        signal += x * x
        noise += (x - q * step) ** 2
    return clipped, signal, noise


@dataclass(frozen=True, kw_only=True)
class Quantize:
    """Options: ``fmt`` the numeric format; ``clip`` "max" or a percentile of |w| (e.g. 99.9);
    ``headroom`` bits kept free above the larger of |threshold| and |reset|; ``calibration`` the
    ``ranges`` of a float run on representative stimulus (``FloatSimulator.run(track_ranges=True)``):
    the scale then covers the observed membrane, current and per-tick input ranges instead of the
    worst case (every synapse of a neuron active in one tick). ``learning``: the target's learning
    engine, needed when projections learn (their weights may go anywhere in ``[w_min, w_max]``, so
    the bounds set the scale and exponent); ``learning_epoch``: ticks between trace decays."""

    name: ClassVar[str] = "quantize"
    fmt: NumericFormat
    clip: float | str = "max"
    headroom: int = 2
    calibration: dict | None = None
    learning: LearningFormat | None = None  # the learning engine (target's learning:) for plastic projections
    learning_epoch: int = 1  # ticks between trace decays
    spikes_per_step: dict[str, int] | None = None  # population -> spikes its hardware neurons emit per tick
    # (subtracting the threshold each time; None: one for every population, and multi-spike models are refused)

    def run(self, net: Network) -> FixedPointNetwork:
        net.validate()
        problems: list[Diagnostic] = []
        incoming = {p.name: net.spiking_projections(p.name) for p in net.populations}
        gains = {p.name: self._gains(p, net.dt, problems, incoming[p.name]) for p in net.populations}
        for proj in net.spiking_projections():
            if proj.connectivity.nnz and int(proj.connectivity.delays.max()) > self.fmt.delay_max:
                problems.append(Diagnostic(where=f"projection '{proj.name}'", message=(
                    f"delay of {int(proj.connectivity.delays.max())} ticks exceeds the format's {self.fmt.delay_max} "
                    f"({self.fmt.name}): shorten it or split it into relays")))
        if self.spikes_per_step is None:
            problems += [Diagnostic(where=f"population '{p.name}'", message=(
                f"emits up to {p.model.max_spikes} spikes per step; the fixed-point datapath emits one: import with "
                "--max-spikes 1 (a model trained with one spike per step) or set max_spikes 1"))
                for p in net.populations if p.model.max_spikes > 1]
        if not self.fmt.v_min:
            problems += [Diagnostic(where=f"population '{p.name}'", message=(
                f"bounds its membrane from below (v_min); format {self.fmt.name} has no lower bound (format.v_min): "
                "choose a target whose format has one or drop v_min")) for p in net.populations if p.model.bounded]
        if self.fmt.order == Order.INPUT_FIRST:
            problems += [Diagnostic(where=f"population '{p.name}'", message=(
                "a synaptic current decays to nothing in one tick (tau_syn against dt): on a datapath whose currents "
                "take their input before they decay (order input_first) its input would vanish; lengthen tau_syn"))
                for p in net.populations if not np.all(gains[p.name]["decay_i"] > 0)]
        problems += self._learning_problems(net)
        if problems:
            raise ValidationError(problems)
        pops, projs, report = {}, {}, {}
        for pop in net.populations:
            q, qp, rep = self._population(net, pop, gains[pop.name], incoming[pop.name])
            pops[pop.name], report[pop.name] = q, rep
            projs.update(qp)
        ordered = {p.name: projs[p.name] for p in net.projections if p.name in projs}
        learns = any(q.learning is not None for q in ordered.values())
        return FixedPointNetwork(network=net, format=self.fmt, populations=pops, projections=ordered, report=report,
                                 learning=self.learning if learns else None)

    def _learning_problems(self, net: Network) -> list[Diagnostic]:
        out = []
        for proj in net.projections:
            if proj.learning is None:
                continue
            where = f"projection '{proj.name}'"
            if self.learning is None:
                out.append(Diagnostic(where=where, message=f"learns ({proj.learning.kind}), and format {self.fmt.name} "
                                      "has no learning engine (a target's 'learning:' section)"))
                continue
            if not 1 <= self.learning_epoch <= self.learning.epoch_max:
                out.append(Diagnostic(where=where, message=f"learning epoch {self.learning_epoch} ticks is outside "
                                      f"[1, {self.learning.epoch_max}] (epoch_max of the learning engine)"))
            out += [Diagnostic(where=where, message=m) for m in row_delay_problems(proj)]
        return out

    # -- per population -------------------------------------------------------------------
    def _gains(self, pop: Population, dt: float, problems: list, incoming: list) -> dict:
        """Float coefficients of the datapath form: v' = a v + sum_k g_k i'_k + b, i'_k = d_k i_k + x_k.
        ``shift``: every input arrives one tick later and the initial current is ``i0 / d`` (see below)."""
        prop = pop.model.propagator(dt, pop.size)
        where = f"population '{pop.name}'"
        cuba = isinstance(pop.model, CubaLIF)
        if cuba and not self.fmt.has_current:
            problems.append(Diagnostic(where=where, message=f"format {self.fmt.name} has no synaptic current state; "
                                                            "cuba_lif needs one (use lif, or another target)"))
        if cuba and len(pop.model.receptors) > self.fmt.receptors:
            problems.append(Diagnostic(where=where, message=(
                f"{len(pop.model.receptors)} receptors {list(pop.model.receptors)}, format {self.fmt.name} has "
                f"{self.fmt.receptors} current channel(s): merge receptors or choose another target")))
        shift, early = False, ""
        if cuba:
            gain, decay_i = prop.input_to_v, prop.decay_syn
            if pop.model.integration in (Integration.EXACT, Integration.FORWARD_EULER):
                # v' = a v + s i (the old current), i' = d i + x: the datapath couples v to the new
                # current, so gain s on inputs that arrive one tick later (and i0 / d) is exact;
                # where a delay is already at the format's limit, the input reaches v one tick early
                gain = prop.syn_to_v
                if not np.all(prop.decay_syn > 0):
                    early = "a synaptic current decays to zero in one tick (tau_syn against dt)"
                elif any(int(p.connectivity.delays.max(initial=0)) >= self.fmt.delay_max for p in incoming):
                    early = f"an input delay is at the format's limit ({self.fmt.delay_max} ticks)"
                shift = not early
        else:
            gain, decay_i = prop.input_to_v[:1], np.zeros((1, pop.size))
        rest = np.broadcast_to(getattr(pop.model, "v_leak", 0.0), (pop.size,))
        return {"a": prop.decay_v, "gain": gain, "decay_i": decay_i, "rest": rest, "prop": prop, "shift": shift,
                "early": early}

    def _scale(self, pop: Population, g: dict, incoming: list, effective: dict, largest: dict,
               b_rel: np.ndarray) -> float:
        fmt, m = self.fmt, pop.model
        extent = np.max(np.abs(np.concatenate([np.broadcast_to(m.v_threshold - g["rest"], (pop.size,)),
                                               np.broadcast_to(m.v_reset - g["rest"], (pop.size,))])))
        s_state = 2.0 ** (fmt.v_bits - 1 - self.headroom) / (extent if extent > 0 else 1.0)
        observed = (self.calibration or {}).get(pop.name)
        if observed is not None:  # the membrane must also hold what it reached on the stimulus
            reach = float(np.max(np.abs(np.concatenate([observed["v_min"] - g["rest"], observed["v_max"] - g["rest"]]))))
            if reach > 0:
                s_state = min(s_state, (2.0 ** (fmt.v_bits - 1) - 1) / reach)
        b_max = float(np.max(np.abs(b_rel))) if b_rel.size else 0.0
        if b_max > 0:  # the bias register must hold the largest bias
            s_state = min(s_state, (2.0 ** (fmt.bias_bits - 1) - 1) / b_max)
        s_state = min(s_state, self._input_limit(pop, g, incoming, effective))
        if self.clip == "max":  # the largest |w| of all projections (no joined copy)
            w_max = max(largest.values(), default=0.0)
        else:
            w_all = np.concatenate([np.abs(w) for w in effective.values()] or [np.zeros(0)])
            w_max = float(np.percentile(w_all, float(self.clip))) if np.any(w_all) else 0.0
        if not w_max > 0:
            return s_state
        mant = 2 ** (fmt.weight_bits - 1) - 1
        return min(s_state, mant * 2.0 ** fmt.exponent_max / w_max)

    def _neuron_scales(self, pop: Population, g: dict, incoming: list, reach: dict) -> np.ndarray:
        """``scale_scope: neuron`` (Rockpool's ``channel_quantize`` for Xylo): each neuron's largest
        incoming |weight| fills the mantissa; where its threshold would then leave the membrane
        range, the threshold sets the scale instead. A neuron without inputs keeps scale 1."""
        fmt, n = self.fmt, pop.size
        w_max = np.zeros(n)
        for proj in incoming:
            np.maximum.at(w_max, proj.connectivity.indices, np.abs(reach[proj.name]))
        mant = 2 ** (fmt.weight_bits - 1) - 1
        s = np.where(w_max > 0, mant / np.where(w_max > 0, w_max, 1.0), 1.0)
        extent = np.abs(np.broadcast_to(pop.model.v_threshold - g["rest"], (n,)))
        limit = 2 ** (fmt.v_bits - 1) - 1
        over = (w_max > 0) & (np.rint(extent * s) > limit)
        return np.where(over, limit / np.where(extent > 0, extent, 1.0), s)

    def _spike_notes(self, pop: Population, params: NeuronParams) -> list[str]:
        """Where the hardware's spikes per tick differ from the model's."""
        if self.spikes_per_step is None or not pop.model.spiking:
            return []
        hw, model = self.spikes_per_step.get(pop.name, 1), pop.model.max_spikes
        if hw == model:
            return []
        return [f"the model emits up to {model} spike(s) per step, the target's neurons here emit up to {hw}: "
                "the spike counts differ where the membrane passes the threshold more often than the smaller"]

    def _bitshift_notes(self, pop: Population, g: dict, params: NeuronParams, dt: float) -> list[str]:
        """Bit-shift decays: each time constant as the shift it became and the time constant that
        shift realizes (``tau = -dt / ln(1 - 2^-k)``), with the relative error."""
        if self.fmt.decay != DecayKind.BITSHIFT:
            return []
        out = []
        rows = [("tau_mem", g["a"], params.decay_v)] + [(f"tau_syn[{k}]", g["decay_i"][k], params.decay_i[k])
                                                        for k in range(g["decay_i"].shape[0] if self.fmt.has_current else 0)]
        for name, a, k in rows:
            a, k = np.broadcast_to(a, (pop.size,)), np.broadcast_to(k, (pop.size,))
            if not pop.size or not np.all((a > 0) & (a < 1)):
                continue
            with np.errstate(divide="ignore"):  # shift 0 empties the state in one tick: tau 0
                tau, realized = -dt / np.log(a), -dt / np.log1p(-(2.0 ** -k.astype(np.float64)))
            err = realized / tau - 1
            worst = int(np.argmax(np.abs(err)))
            out.append(f"{name} {tau[worst] * 1e3:.4g} ms becomes bit shift {int(k[worst])}: "
                       f"{realized[worst] * 1e3:.4g} ms ({err[worst] * 100:+.1f} %)")
        return out

    def _input_limit(self, pop: Population, g: dict, incoming: list, effective: dict) -> float:
        """Largest scale at which a tick's input fits the accumulator and a current fits its width.

        Without calibration the input is the worst case (every synapse of a neuron in one tick) and a
        current may grow to that input / (1 - decay); with calibration, the observed extremes."""
        fmt = self.fmt
        observed = (self.calibration or {}).get(pop.name)
        gain = np.max(np.abs(g["gain"]), axis=0)
        if observed is not None:
            tick_in = float(np.max(observed["input_abs"] * gain)) if pop.size else 0.0
            current = float(np.max(observed["i_abs"] * gain)) if pop.size else 0.0
        else:
            per_neuron = np.zeros(pop.size)
            for proj in incoming:
                _add_abs(per_neuron, proj.connectivity.indices, effective[proj.name], self._i_unit())
            tick_in = float(per_neuron.max()) if pop.size else 0.0
            kept = np.max(g["decay_i"]) if g["decay_i"].size else 0.0
            current = tick_in / (1 - kept) if kept < 1 else math.inf
        limit = math.inf
        if tick_in > 0:
            limit = (2.0 ** (fmt.acc_bits - 1) - 1) / (tick_in * self._i_unit())
        if fmt.has_current and current > 0:
            limit = min(limit, (2.0 ** (fmt.i_bits - 1) - 1) / (current * self._i_unit()))
        return limit

    def _effective(self, pop: Population, proj, g) -> np.ndarray:
        """Float weights in volts of membrane change per unit (before the population scale),
        times 2^current_frac_bits: currents carry extra fraction bits."""
        per_post, w = self._unit_per_post(pop, proj, g), proj.connectivity.synapse_weights()
        if not (per_post.size and np.all(per_post == per_post[0])):
            return w * per_post[proj.connectivity.indices]
        if one_value(w):  # one weight and one gain for all: one value, not an array of it
            return np.broadcast_to(w[:1] * per_post[0], w.shape)
        return w * per_post[0]  # one gain for all: the same products, without reading it per synapse

    def _unit(self, pop: Population, proj, g) -> np.ndarray:
        """Per synapse, the effective weight of a unit float weight (``_effective`` of 1)."""
        return self._unit_per_post(pop, proj, g)[proj.connectivity.indices]

    def _unit_per_post(self, pop: Population, proj, g) -> np.ndarray:
        """Per postsynaptic neuron, the effective weight of a unit float weight (a synapse's is
        its neuron's: the same operations)."""
        ch = pop.model.channel_of(proj.receptor)
        unit = g["gain"][min(ch, g["gain"].shape[0] - 1)] * self._i_unit()
        if isinstance(pop.model, CubaLIF) and pop.model.input_before_update:  # the input decays once first
            unit = unit * g["prop"].input_to_syn[ch]
        if self.fmt.order == Order.INPUT_FIRST and self.fmt.has_current:  # the datapath decays it once more
            unit = unit / g["decay_i"][min(ch, g["decay_i"].shape[0] - 1)]
        return unit

    def _reach(self, proj, effective: np.ndarray, pop: Population, g) -> np.ndarray:
        """The effective weights the scale must hold: a plastic synapse may reach either bound."""
        if proj.learning is None:
            return effective
        bound = max(abs(proj.learning.w_min), abs(proj.learning.w_max))
        return np.maximum(np.abs(effective), bound * np.abs(self._unit(pop, proj, g)))

    def _plastic(self, qp: QuantizedProjection, proj, pop: Population, g, s: float, net: Network, warnings: list,
                 problems: list) -> QuantizedProjection:
        """``qp`` with its learning parameters and its mantissas inside the rule's bounds."""
        unit = self._unit(pop, proj, g) * s / 2.0 ** qp.exponent
        if unit.size and np.ptp(unit) > 1e-9 * np.max(np.abs(unit)):
            problems.append((proj.name, "learns, and its synapses' gains differ between postsynaptic neurons (time "
                                        "constants per neuron): the learning engine has one set of amplitudes per "
                                        "projection"))
            return qp
        learning, notes, errors = quantize_learning(proj.learning, float(unit[0]) if unit.size else 1.0, self.fmt,
                                                    self.learning, net, self.learning_epoch)
        problems += [(proj.name, m) for m in errors]
        warnings += [f"projection '{proj.name}': {m}" for m in notes]
        frac = self.learning.weight_frac_bits  # the bounds are in learning units, the mantissas are not
        m = np.clip(qp.mantissa, learning.m_min >> frac, learning.m_max >> frac).astype(qp.mantissa.dtype)
        return dataclasses.replace(qp, mantissa=m, learning=learning)

    def _i_unit(self) -> float:
        return float(2 ** self.fmt.current_frac_bits) if self.fmt.has_current else 1.0

    def _exponent(self, w_max_int: float) -> int:
        fmt = self.fmt
        if fmt.exponent_scope == "none" or w_max_int <= 0:
            return fmt.exponent_min
        mant = 2 ** (fmt.weight_bits - 1) - 1
        e = math.ceil(math.log2(w_max_int / mant)) if w_max_int > mant else 0
        return int(min(max(e, fmt.exponent_min), fmt.exponent_max))

    def _population(self, net: Network, pop: Population, g: dict, incoming: list):
        fmt, m, n = self.fmt, pop.model, pop.size
        warnings: list[str] = []
        # constant currents from current sources: into v (or, for receptors, their steady state)
        i_ext = np.zeros(n)
        for proj in net.projections:
            src = net.node(proj.pre)
            if proj.post == pop.name and isinstance(src, CurrentSource):
                c = proj.connectivity
                amount = np.zeros(n)
                np.add.at(amount, c.indices, np.broadcast_to(src.amplitude, (src.size,))[c.pre_indices()]
                          * c.synapse_weights())
                if not proj.into_membrane(pop):
                    ch = m.channel_of(proj.receptor)
                    d = g["decay_i"][ch]
                    i_ext += amount * g["gain"][ch] / np.where(d < 1, 1 - d, 1.0) / np.where(
                        g["prop"].current_to_v > 0, g["prop"].current_to_v, 1.0)
                    warnings.append(f"current source '{src.name}' into a receptor becomes a membrane bias "
                                    "(same steady state, no rise time)")
                else:
                    i_ext += amount
                if src.start != 0 or np.isfinite(src.stop):
                    on = f"on at step {round(src.start / net.dt)}" if src.start else ""
                    off = f"off at step {round(src.stop / net.dt)}" if np.isfinite(src.stop) else ""
                    warnings.append(f"current source '{src.name}' is switched {' and '.join(x for x in (on, off) if x)}; "
                                    "the datapath holds it on at every step")
        prop = g["prop"]
        b_rel = prop.leak_v + prop.current_to_v * (np.broadcast_to(m.bias, (n,)) + i_ext) - g["rest"] * (1 - prop.decay_v)
        effective = {proj.name: self._effective(pop, proj, g) for proj in incoming}  # once per projection
        reach = {proj.name: self._reach(proj, effective[proj.name], pop, g) for proj in incoming}
        largest = {name: float(_max_abs(w)) for name, w in reach.items()}
        if fmt.scale_scope == "neuron":
            s = self._neuron_scales(pop, g, incoming, reach)
        else:
            s = self._scale(pop, g, incoming, reach, largest, b_rel)
        params, clipped_bias = self._neuron_params(pop, g, s, b_rel, net.dt)
        warnings += self._spike_notes(pop, params) + self._bitshift_notes(pop, g, params, net.dt)
        if clipped_bias:
            warnings.append(f"{clipped_bias} bias values saturate at {fmt.bias_bits} bits")
        projs, sqnr, clipped, exponent = self._weights(pop, s, incoming, effective, largest, int(g["shift"]))
        del effective, reach
        problems = []
        for proj in incoming:
            if proj.learning is not None:
                projs[proj.name] = self._plastic(projs[proj.name], proj, pop, g, s, net, warnings, problems)
        if problems:
            raise ValidationError([Diagnostic(where=f"projection '{name}'", message=m) for name, m in problems])
        init = pop.initial_state()
        v0 = saturate(np.rint((init["v"] - g["rest"]) * s).astype(np.int64), fmt.v_bits)
        i0 = np.zeros((self._channels(), n), dtype=np.int64)
        if "i" in init:
            k = init["i"].shape[0]
            i_start = init["i"] / g["decay_i"][:k] if g["shift"] else init["i"]
            i0[:k] = saturate(np.rint(i_start * g["gain"][:k] * s * self._i_unit()).astype(np.int64),
                              max(fmt.i_bits, 2))
        if clipped:
            warnings.append(f"{clipped} weights clipped to the {fmt.weight_bits}-bit mantissa")
        if g["early"]:
            warnings.append(f"{g['early']}: inputs reach v one tick early (the exact CUBA-LIF step needs them one "
                            "tick later in the datapath)")
        zeroed = sum(_rounded_to_zero(qp.mantissa, p.connectivity.synapse_weights())
                     for qp, p in zip(projs.values(), incoming))
        if incoming and zeroed == sum(p.connectivity.nnz for p in incoming) and zeroed:
            warnings.append(f"all {zeroed} incoming weights round to zero: the population is silent in fixed point")
        if m.spiking and np.all(params.threshold >= 2 ** (fmt.v_bits - 1) - 1):
            warnings.append("the threshold saturates the membrane range: the population can never spike")
        thr = int(np.max(np.abs(params.threshold))) if n else 0
        if m.spiking and 0 < thr < 256 and fmt.scale_scope == "neuron":
            warnings.append(f"the threshold is only {thr} integer units: each neuron's largest weight sets its scale "
                            f"({2 ** (fmt.weight_bits - 1) - 1}), so the threshold is a few weights")
        elif m.spiking and 0 < thr < 256:
            hint = "" if self.calibration else "; calibrating with stimulus data may allow a larger scale"
            warnings.append(f"the threshold is only {thr} integer units: the accumulator or current range limits "
                            f"the scale{hint}")
        decay_err = self._decay_error(g["a"], params.decay_v, params.threshold)
        s_report = float(s) if np.ndim(s) == 0 else float(np.median(s)) if n else 1.0
        rep = PopulationReport(name=pop.name, scale=s_report, exponent=exponent, weight_sqnr_db=sqnr, weights_clipped=clipped,
                               decay_error=decay_err, warnings=tuple(warnings))
        q = QuantizedPopulation(name=pop.name, size=n, scale=s_report, params=params, v0=v0, i0=i0)
        return q, projs, rep

    def _channels(self) -> int:
        return max(1, self.fmt.receptors)

    def _decay_setting(self, a: np.ndarray, bits: int, threshold_int=None) -> np.ndarray:
        fmt = self.fmt
        a = np.clip(np.asarray(a, dtype=np.float64), 0.0, 1.0)
        if fmt.decay == DecayKind.MULTIPLY:
            return np.rint((1 - a) * 2 ** fmt.decay_bits).astype(np.int64)
        if fmt.decay == DecayKind.SHIFT:
            with np.errstate(divide="ignore"):
                k = np.where(a >= 1, 63, np.rint(-np.log2(np.maximum(1 - a, 2.0 ** -62))))
            return np.clip(k, 0, 63).astype(np.int64)
        if fmt.decay == DecayKind.BITSHIFT:  # Rockpool's dash: round(log2(tau / dt)), tau / dt = -1 / ln(a)
            top = 2 ** fmt.decay_bits - 1
            with np.errstate(divide="ignore", invalid="ignore"):
                k = np.where(a >= 1, top, np.where(a <= 0, 0, np.rint(np.log2(-1.0 / np.log(np.clip(a, 1e-300, 1))))))
            return np.clip(k, 0, top).astype(np.int64)
        # leak toward zero: per tick, what the exponential loses at half the threshold
        ref = np.abs(threshold_int) / 2 if threshold_int is not None else 2.0 ** (bits - 2)
        cap = 2.0 ** ((fmt.decay_bits or bits) - 1) - 1  # the leak register's width
        leak = np.where(a <= 0, cap, np.rint((1 - a) * ref))
        return np.clip(leak, 0, cap).astype(np.int64)

    def _decay_error(self, a, setting, threshold) -> float:
        fmt = self.fmt
        if fmt.decay == DecayKind.MULTIPLY:
            a_hat = 1 - setting / 2 ** fmt.decay_bits
        elif fmt.decay == DecayKind.SHIFT:
            a_hat = np.where(setting >= 63, 1.0, 1 - 2.0 ** -np.minimum(setting, 62))
        elif fmt.decay == DecayKind.BITSHIFT:
            a_hat = 1 - 2.0 ** -np.asarray(setting, dtype=np.float64)
        else:
            return float("nan")
        return float(np.max(np.abs(a_hat - a) / np.maximum(a, 1e-12))) if np.size(a) else 0.0

    def _neuron_params(self, pop, g, s, b_rel, dt):
        fmt, m, n = self.fmt, pop.model, pop.size
        full = lambda x: np.broadcast_to(np.asarray(x, dtype=np.float64), (n,))
        threshold = saturate(np.rint((full(m.v_threshold) - g["rest"]) * s).astype(np.int64), fmt.v_bits)
        v_reset = saturate(np.rint((full(m.v_reset) - g["rest"]) * s).astype(np.int64), fmt.v_bits)
        threshold, v_reset = _compare_as(m, fmt, threshold, v_reset)
        v_min = _lower_bound(full(m.v_min) - g["rest"], s, fmt.v_bits) if m.bounded else None
        bias_raw = np.rint(b_rel * s).astype(np.int64)
        bias = saturate(bias_raw, fmt.bias_bits)
        decay_i = np.zeros((self._channels(), n), dtype=np.int64)
        if fmt.has_current:
            full_decay = {DecayKind.MULTIPLY: 2 ** fmt.decay_bits, DecayKind.SHIFT: 0, DecayKind.BITSHIFT: 0,
                          DecayKind.LEAK: 2 ** (fmt.i_bits - 1) - 1}[fmt.decay]
            decay_i[:] = full_decay  # unused channels decay to zero at once
            k = g["decay_i"].shape[0]
            decay_i[:k] = self._decay_setting(g["decay_i"], fmt.i_bits)
        ref = np.minimum(m.refractory_steps(dt, n), 2 ** fmt.refractory_bits - 1)
        params = NeuronParams(
            decay_v=self._decay_setting(g["a"], fmt.v_bits, threshold), decay_i=decay_i, bias=bias,
            threshold=threshold, v_reset=v_reset, refractory=ref,
            subtract=np.full(n, m.reset == "subtract"), spiking=np.full(n, bool(m.spiking)),
            max_spikes=None if self.spikes_per_step is None else np.full(n, self.spikes_per_step.get(pop.name, 1)),
            v_min=v_min,
        )
        return params, int(np.count_nonzero(bias != bias_raw))

    def _weights(self, pop, s, incoming, effective, largest, extra_delay: int = 0):
        """Mantissas and exponents of the scaled weights ``effective x s`` (``largest``: each
        projection's largest |effective|; |w| s is monotone in |w|, so its largest scaled weight is
        ``largest x s``)."""
        fmt = self.fmt
        mant = 2 ** (fmt.weight_bits - 1) - 1
        out, signal, noise, clipped = {}, 0.0, 0.0, 0
        s_top = float(np.max(s, initial=0.0))
        pop_exp = self._exponent(max(largest.values(), default=0.0) * s_top)
        for proj in incoming:
            w = effective[proj.name]
            e = self._exponent(largest[proj.name] * s_top) if fmt.exponent_scope == "projection" else pop_exp
            one = not np.ndim(s) and one_value(w)  # one weight for all: one mantissa, a zero-stride view of it
            m = np.empty(1 if one else w.size, mantissa_type(fmt.weight_bits))
            if np.ndim(s):  # a scale per neuron: each synapse by its target's
                n_clipped, sig, err = _mantissas(w * s[proj.connectivity.indices], 1.0, 2.0 ** e, mant, m)
            else:
                n_clipped, sig, err = _mantissas(w, s, 2.0 ** e, mant, m)
            if one:
                m = np.broadcast_to(m, w.shape)
            clipped += int(n_clipped)
            signal += float(sig)
            noise += float(err)
            c = proj.connectivity
            out[proj.name] = QuantizedProjection(
                name=proj.name, pre=proj.pre, post=proj.post, channel=pop.model.channel_of(proj.receptor),
                indptr=c.indptr, indices=c.indices, mantissa=m, exponent=e,
                delays=c.delays + np.asarray(extra_delay, dtype=c.delays.dtype) if extra_delay else c.delays)
        sqnr = 10 * math.log10(signal / noise) if noise > 0 else (math.inf if signal > 0 else None)
        return out, sqnr, clipped, (pop_exp if incoming else None)


def _lower_bound(v_min: np.ndarray, s, v_bits: int) -> np.ndarray:
    """The integer lower bound of v, ``rint(v_min x s)`` like the threshold and reset; the format's
    least value (no bound) where ``v_min`` is ``-inf``."""
    least = -(1 << (v_bits - 1))
    finite = np.isfinite(v_min)
    scaled = np.clip(np.rint(np.where(finite, v_min, 0.0) * s), least, -least - 1).astype(np.int64)
    return np.where(finite, scaled, least)


def _compare_as(model, fmt: NumericFormat, threshold: np.ndarray, v_reset: np.ndarray):
    """The model's threshold comparison on the datapath's, exactly: over integers ``v >= T`` is
    ``v > T - 1`` and ``v > T`` is ``v >= T + 1``. A subtractive reset keeps removing ``T - v_reset``
    (``v_reset`` moves with ``T``)."""
    shift = {(">=", ">"): -1, (">", ">="): 1}.get((model.compare, fmt.compare), 0)
    if not shift:
        return threshold, v_reset
    limit = 2 ** (fmt.v_bits - 1)
    threshold = np.clip(threshold + shift, -limit, limit - 1)
    if model.reset == "subtract":
        v_reset = np.clip(v_reset + shift, -limit, limit - 1)
    return threshold, v_reset
