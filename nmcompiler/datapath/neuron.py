"""The datapath contract: one tick of a population of fixed-point neurons.

This module is the single definition of what the hardware computes. The bit-accurate simulator
calls :func:`tick`; the RTL testbench imports it as its reference model. Everything is int64
numpy arithmetic; every state is saturated to its format width after every operation.

Per tick ``t``, for every neuron (docs/datapath.md has the full contract):

1. ``x_k``  = input accumulated for tick ``t`` on channel ``k`` (already saturated to ``acc_bits``)
2. ``i_k``  = sat_i(decay(i_k, di_k) + x_k)              (formats with a current state)
   ``drive`` = sat_v(R(sum_k i_k / 2^c))  or  sat_v(sum_k x_k)   (formats without; c = current_frac_bits)
3. if refractory (``ref > 0``): ``ref -= 1``; ``v`` keeps its value; no spike
   else: ``v = sat_v(sat_v(decay(v, dv) + drive) + bias)``, then ``v = max(v, v_min)`` (formats
   with a lower bound, ``v_min``)
4. spike if not refractory and ``v > threshold`` (``>=`` if the format says so)
5. on a spike: ``v = v_reset`` (reset to value) or ``v = sat_v(v - (threshold - v_reset))``
   (reset by subtraction); in both cases ``ref = refractory`` (ticks held after this one). A neuron
   with ``max_spikes`` k > 1 (reset by subtraction) spikes and subtracts while it is past the
   threshold, up to k times in the tick.

Formats with ``order: input_first`` (Xylo) add the input to the currents before they decay,
``i_k = decay(sat_i(i_k + x_k))``, and update the membrane by its change:
``v = sat_v(v + sat_v(sat_v(-step(v) + sum_k i_k) + bias))`` (``step(v) = v - decay(v)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .format import DecayKind, NumericFormat, Order, Rounding

__all__ = ["NeuronParams", "NeuronState", "saturate", "shift_right", "decay", "tick"]


def saturate(x: np.ndarray, bits: int) -> np.ndarray:
    """Clamp to the two's-complement range of ``bits`` bits (no wraparound)."""
    hi = (1 << (bits - 1)) - 1
    return np.clip(x, -hi - 1, hi)


def shift_right(x: np.ndarray, k, rounding: str) -> np.ndarray:
    """``x / 2^k`` rounded as the format says (``k`` >= 0, scalar or per element)."""
    x = np.asarray(x, dtype=np.int64)
    k = np.asarray(k, dtype=np.int64)
    if rounding == Rounding.FLOOR:
        return x >> k
    if rounding == Rounding.NEAREST:
        half = np.where(k > 0, np.left_shift(np.int64(1), np.maximum(k - 1, 0)), 0)
        return (x + half) >> k
    return np.where(x >= 0, x >> k, -((-x) >> k))  # toward zero


def decay(x: np.ndarray, setting: np.ndarray, fmt: NumericFormat) -> np.ndarray:
    """One tick of decay of a state ``x`` with the per-neuron ``setting`` of the format's kind.

    multiply: ``round(x * (2^F - d) / 2^F)``, ``d`` in [0, 2^F] (0: no decay, 2^F: to zero)
    shift:    ``x - round(x / 2^k)``, ``k`` in [0, 62]; ``k = 63`` means no decay
    leak:     ``x - sign(x) * min(|x|, L)``, ``L`` >= 0 (linear leak toward zero)
    bitshift: ``x - d`` with ``d = x >> k`` (floor), or ``sign(x)`` where that is 0 (Xylo's dash)
    """
    if fmt.decay == DecayKind.MULTIPLY:
        return shift_right(x * ((1 << fmt.decay_bits) - setting), fmt.decay_bits, fmt.rounding)
    if fmt.decay == DecayKind.SHIFT:
        k = np.minimum(setting, 62)
        return np.where(setting >= 63, x, x - shift_right(x, k, fmt.rounding))
    if fmt.decay == DecayKind.BITSHIFT:
        d = np.asarray(x, dtype=np.int64) >> np.asarray(setting, dtype=np.int64)
        return x - np.where(d == 0, np.sign(x), d)
    return x - np.sign(x) * np.minimum(np.abs(x), setting)


@dataclass(frozen=True, kw_only=True)
class NeuronParams:
    """Integer parameters of ``n`` neurons (arrays of shape ``(n,)``; currents ``(R, n)``)."""

    decay_v: np.ndarray
    decay_i: np.ndarray  # (R, n); ignored without a current state
    bias: np.ndarray
    threshold: np.ndarray
    v_reset: np.ndarray
    refractory: np.ndarray  # ticks held after a spike
    subtract: np.ndarray  # bool: reset by subtraction
    spiking: np.ndarray  # bool
    max_spikes: np.ndarray | None = None  # spikes per tick, per neuron (None: one)
    v_min: np.ndarray | None = None  # lower bound of v after integration, per neuron (None: none)


@dataclass(kw_only=True)
class NeuronState:
    v: np.ndarray  # (n,) int64
    i: np.ndarray  # (R, n) int64 (zeros without a current state)
    ref: np.ndarray  # (n,) int64


def _sat(x: np.ndarray, bits: int, counts: np.ndarray | None) -> np.ndarray:
    out = saturate(x, bits)
    if counts is not None:
        counts += (out != x).reshape(-1, counts.size).any(axis=0)
    return out


def tick(state: NeuronState, p: NeuronParams, x: np.ndarray, fmt: NumericFormat,
         saturations: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Advance ``state`` in place by one tick with input ``x`` (``(R, n)`` int64, already saturated to
    ``acc_bits``); return each neuron's spikes in this tick (int64 counts: 0 or 1, up to
    ``max_spikes`` where given). ``saturations`` (optional) maps "i" and "v" to per-neuron
    counters of ticks in which that state saturated."""
    sat_i = saturations.get("i") if saturations else None
    sat_v = saturations.get("v") if saturations else None
    if fmt.order == Order.INPUT_FIRST:
        v_new = _input_first(state, p, x, fmt, sat_i, sat_v)
    else:
        v_new = _decay_first(state, p, x, fmt, sat_i, sat_v)
    if p.v_min is not None:
        v_new = np.maximum(v_new, p.v_min)
    held = state.ref > 0
    v = np.where(held, state.v, v_new)
    crossed = v >= p.threshold if fmt.compare == ">=" else v > p.threshold
    fires = crossed & ~held & p.spiking
    delta = p.threshold - p.v_reset
    count = fires.astype(np.int64)
    if p.max_spikes is not None:  # again while past the threshold after each subtraction (a subtraction
        repeat = fires & p.subtract & (p.max_spikes > 1)  # of nothing or less keeps it past: max_spikes)
        past = v - p.threshold - (0 if fmt.compare == ">=" else 1)
        times = np.where(delta > 0, past // np.where(delta > 0, delta, 1) + 1, p.max_spikes)
        count = np.where(repeat, np.minimum(p.max_spikes, times), count)
    reset_v = np.where(p.subtract, saturate(v - count * delta, fmt.v_bits), p.v_reset)
    state.v = np.where(fires, reset_v, v)
    state.ref = np.where(fires, p.refractory, np.where(held, state.ref - 1, state.ref))
    return count


def _decay_first(state, p, x, fmt, sat_i, sat_v) -> np.ndarray:
    """The currents decay, then take the input; the membrane decays, then takes the drive and bias."""
    if fmt.has_current:
        state.i = _sat(decay(state.i, p.decay_i, fmt) + x, fmt.i_bits, sat_i)
        drive = _sat(shift_right(state.i.sum(axis=0), fmt.current_frac_bits, fmt.rounding), fmt.v_bits, sat_v)
    else:
        drive = _sat(x.sum(axis=0), fmt.v_bits, sat_v)
    return _sat(_sat(decay(state.v, p.decay_v, fmt) + drive, fmt.v_bits, sat_v) + p.bias, fmt.v_bits, sat_v)


def _input_first(state, p, x, fmt, sat_i, sat_v) -> np.ndarray:
    """Xylo's order: the currents take the input, then decay; the membrane adds its change (its
    decay step, the currents' exact sum and the bias, saturated after each addition)."""
    if fmt.has_current:
        state.i = decay(_sat(state.i + x, fmt.i_bits, sat_i), p.decay_i, fmt)
        drive = shift_right(state.i.sum(axis=0), fmt.current_frac_bits, fmt.rounding)
    else:
        drive = x.sum(axis=0)
    change = saturate(decay(state.v, p.decay_v, fmt) - state.v, fmt.v_bits)
    change = _sat(_sat(change + drive, fmt.v_bits, sat_v) + p.bias, fmt.v_bits, sat_v)
    return _sat(state.v + change, fmt.v_bits, sat_v)
