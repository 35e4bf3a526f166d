"""NIR neuron nodes -> IR neuron models, with the factor that turns NIR input into IR weights.

NIR is continuous-time: ``tau dv/dt = (v_leak - v) + r I`` (LIF) with ``I`` the signal on the
node's input. The frameworks that export NIR step it once per ``dt`` with the signal held
constant over the step. The importer therefore multiplies every weight into a neuron by
``input_scale`` so that the IR's discrete jump equals the exporter's per-step effect:

=========  ===========================  ==============================  ======================
node       IR model                     input_scale (euler)             input_scale (exact)
=========  ===========================  ==============================  ======================
LIF, LI    lif                          dt / tau (also exp_euler)       1 - exp(-dt / tau)
CubaLIF/LI cuba_lif (receptor "syn")    w_in dt / tau_syn               w_in (1 - exp(-dt/tau_syn))
IF, I      if                           1  (per-step: v += r x)         same
Threshold  threshold                    1                               same
=========  ===========================  ==============================  ======================

``bias_scale`` converts a constant input ``b`` (an Affine bias) into the IR's bias current.
See docs/nir.md for the conventions and why they were chosen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import nir
import numpy as np

from ...ir import IF, LIF, CubaLIF, NeuronModel, ThresholdUnit

__all__ = ["NEURON_KINDS", "ConvertedNeuron", "convert_neuron", "delayed_reset", "neuron_shape", "parameter_problems",
           "time_step_from_r"]

NEURON_KINDS = (nir.LIF, nir.LI, nir.IF, nir.I, nir.CubaLIF, nir.CubaLI, nir.Threshold)

_TAUS = {"LIF": ("tau",), "LI": ("tau",), "CubaLIF": ("tau_syn", "tau_mem"), "CubaLI": ("tau_syn", "tau_mem")}


@dataclass(frozen=True)
class ConvertedNeuron:
    model: NeuronModel
    input_scale: np.ndarray  # per neuron (flattened) or scalar
    bias_scale: np.ndarray  # constant input b -> IR bias current (or per-step receptor input)
    bias_into_receptor: bool  # CubaLIF: a constant input is a synaptic input, not a membrane current


def _params(node) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in vars(node).items()
            if k not in ("metadata", "input_type", "output_type") and v is not None}


def parameter_problems(node) -> list[str]:
    """NaN/inf, non-positive time constants and inconsistent parameter shapes."""
    params = _params(node)
    out = [f"parameter '{k}' contains NaN or infinite values" for k, v in params.items() if not np.all(np.isfinite(v))]
    for name in _TAUS.get(type(node).__name__, ()):
        if name in params and np.any(params[name] <= 0):
            out.append(f"time constant '{name}' must be > 0 (smallest is {params[name].min():g})")
    shapes = {v.shape for v in params.values() if v.size > 1}
    if len(shapes) > 1:
        listing = ", ".join(f"{k} {v.shape}" for k, v in params.items() if v.size > 1)
        out.append(f"parameters have inconsistent shapes: {listing}")
    return out


def neuron_shape(node) -> tuple[int, ...] | None:
    """Shape given by the parameters (None if all are scalars)."""
    shapes = [v.shape for v in _params(node).values() if v.size > 1]
    return shapes[0] if shapes else None


def _current_input(kind: str, tau_syn: np.ndarray, dt: float, integration: str):
    if kind == "jump":
        return np.asarray(1.0)
    if kind == "decayed_jump":
        return np.exp(-dt / tau_syn)
    return -np.expm1(-dt / tau_syn) if integration == "exact" else dt / tau_syn


def time_step_from_r(tau: np.ndarray, r: np.ndarray) -> float | None:
    """The dt an exporter used when it wrote ``r = tau exp(-dt / tau) / dt`` (Rockpool), solved by
    bisection (the right side falls as dt grows); None if no dt in (0, tau] fits."""
    tau, r = float(np.ravel(tau)[0]), float(np.ravel(r)[0])
    f = lambda dt: tau * math.exp(-dt / tau) / dt - r  # noqa: E731
    lo, hi = tau * 1e-9, tau
    if not (f(lo) > 0 > f(hi)):
        return None
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    return 0.5 * (lo + hi)


def _membrane_decay(tau: np.ndarray, dt: float, integration: str) -> np.ndarray:
    """The factor one step multiplies ``v - v_leak`` by."""
    return 1 - dt / tau if integration == "euler" else np.exp(-dt / tau)


def delayed_reset(v_threshold, v_reset, decay):
    """The ``v_reset`` whose immediate subtraction equals a delayed one: a framework that subtracts
    ``theta = v_threshold - v_reset`` on the step after the spike, undecayed, computes
    ``decay * v + x - theta``; subtracting ``theta / decay`` at the spike gives
    ``decay * (v - theta / decay) + x``, the same. Spikes are the same; the recorded ``v`` at a
    spike step is then after the reset, where the framework shows it before."""
    return v_threshold - (v_threshold - v_reset) / decay


def convert_neuron(node, *, dt: float, integration: str, reset: str, if_per_step: bool,
                   reset_delayed: bool = False, tau_scale: float = 1.0, current_input: str = "nir",
                   unit_current_gain: bool = False, compare: str = ">") -> ConvertedNeuron:
    """The IR model of a NIR neuron node. ``tau_scale`` multiplies every time constant (an
    exporter that wrote ``dt * tau``: ``1 / dt``); ``current_input``: what a unit of CubaLIF input
    adds to the current (``nir``: ``w_in dt / tau_syn``; ``jump``: ``w_in``; ``decayed_jump``:
    ``w_in exp(-dt / tau_syn)``); ``unit_current_gain``: the input (LIF) or current (CubaLIF) enters
    the membrane with gain 1 per step (``r = tau / dt``); ``compare``: spike at ``v > threshold`` or ``v >= threshold``."""
    # per-neuron arrays holding one value (as exporters write them) become shared scalars
    p = {k: v.reshape(-1) if v.size > 1 and np.any(v != v.reshape(-1)[0]) else v.reshape(-1)[0].reshape(())
         for k, v in _params(node).items()}
    for name in ("tau", "tau_mem", "tau_syn"):
        if name in p and tau_scale != 1.0:
            p[name] = p[name] * tau_scale
    kind = type(node).__name__
    spiking = kind in ("LIF", "IF", "CubaLIF", "Threshold")
    common = {"r": p.get("r", 1.0), "reset": reset, "integration": integration, "spiking": spiking,
              "compare": compare}
    if spiking and kind != "Threshold":
        common["v_threshold"] = p["v_threshold"]
        common["v_reset"] = p.get("v_reset", np.asarray(0.0))
        tau = p.get("tau", p.get("tau_mem"))
        if reset_delayed and reset == "subtract" and tau is not None:
            common["v_reset"] = delayed_reset(common["v_threshold"], common["v_reset"],
                                              _membrane_decay(tau, dt, integration))
    if kind in ("LIF", "LI"):
        tau = p["tau"]
        scale = -np.expm1(-dt / tau) if integration == "exact" else dt / tau
        if unit_current_gain and kind == "LIF":
            common["r"] = tau / dt
        model = LIF(tau_mem=tau, v_leak=p["v_leak"], **common)
        return ConvertedNeuron(model, scale, np.asarray(1.0), False)
    if kind in ("CubaLIF", "CubaLI"):
        tau_syn, w_in = p["tau_syn"], p.get("w_in", np.asarray(1.0))
        scale = w_in * _current_input(current_input, tau_syn, dt, integration)
        if unit_current_gain:
            common["r"] = p["tau_mem"] / dt
        model = CubaLIF(tau_mem=p["tau_mem"], tau_syn=tau_syn[None] if tau_syn.ndim else tau_syn, v_leak=p["v_leak"],
                        receptor_names=("syn",), **common)
        return ConvertedNeuron(model, scale, scale, True)
    if kind in ("IF", "I"):
        scale = 1.0 if if_per_step else dt
        model = IF(**common)
        return ConvertedNeuron(model, np.asarray(scale), np.asarray(1.0 / dt if if_per_step else 1.0), False)
    # Threshold: memoryless unit
    model = ThresholdUnit(v_threshold=p["threshold"], r=1.0, reset=reset, integration=integration, compare=compare)
    return ConvertedNeuron(model, np.asarray(1.0), np.asarray(1.0), False)


def time_step_from_metadata(graph) -> float | None:
    """A ``dt`` recorded in the graph's or any node's metadata, if there is exactly one (a value
    that is not a positive finite number, or an array of one, does not count)."""
    found = set()
    for meta in [getattr(graph, "metadata", {}) or {}] + [getattr(n, "metadata", {}) or {} for n in graph.nodes.values()]:
        if isinstance(meta, dict) and "dt" in meta:
            try:
                value = np.asarray(meta["dt"], dtype=np.float64).reshape(-1)
            except (TypeError, ValueError):
                continue
            if value.size and np.all(value == value[0]) and math.isfinite(value[0]) and value[0] > 0:
                found.add(float(value[0]))
    return found.pop() if len(found) == 1 else None
