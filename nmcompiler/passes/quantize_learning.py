"""Quantization of learning rules: a plastic projection's rule -> :class:`QuantizedLearning`.

``unit`` is the projection's mantissa units per unit of its float weight (its population scale,
gain and exponent, :class:`~nmcompiler.passes.quantize.Quantize`); plastic weights keep
``weight_frac_bits`` more bits ("learning units": the mantissa times ``2^weight_frac_bits``).
Traces count spikes in units of ``trace_inc``; the amplitudes become ``param_bits`` mantissas
over one right shift per projection; rewards integers with as many fraction bits as
``reward_bits`` allows (docs/datapath.md, "Learning").
"""

from __future__ import annotations

import math

import numpy as np

from ..datapath import NumericFormat
from ..datapath.learning import INV_BITS, LEARN_ROUNDING, LearningFormat
from ..ir import Network, RewardSTDP
from ..ir.fixed_point import QuantizedLearning
from ..ir.learning import Dependence, Pairing

__all__ = ["quantize_learning", "row_delay_problems"]

MAX_SHIFT = 40


def _decay(tau: float, dt: float, epoch: int, bits: int) -> int:
    return int(min(max(round((1 - math.exp(-epoch * dt / tau)) * 2 ** bits), 0), 2 ** bits))


def _shift(values: list[float], bits: int) -> int:
    """The largest right shift (<= MAX_SHIFT) at which every value, rounded, fits ``bits`` unsigned."""
    top = max(values, default=0.0)
    if top <= 0:
        return 0
    q = math.floor(math.log2(((1 << bits) - 1) / top))
    while q > -MAX_SHIFT and round(top * 2.0 ** q) > (1 << bits) - 1:
        q -= 1
    return min(q, MAX_SHIFT)


def row_delay_problems(proj) -> list[str]:
    """A plastic projection keeps one presynaptic trace per row: every row one delay."""
    c = proj.connectivity
    if c.delays.ndim == 0 or not c.nnz:
        return []
    d, rows = c.synapse_delays().astype(np.int64), c.pre_indices()
    lo, hi = np.full(c.n_pre, np.iinfo(np.int64).max), np.full(c.n_pre, -1)
    np.minimum.at(lo, rows, d)
    np.maximum.at(hi, rows, d)
    mixed = np.flatnonzero((hi >= 0) & (lo != hi))
    if len(mixed):
        return [f"learns, and presynaptic neuron {int(mixed[0])} has synapses with different delays: the learning "
                "engine keeps one trace per presynaptic neuron and delay (give each presynaptic neuron's synapses "
                "of this projection one delay)"]
    return []


def quantize_learning(rule, unit: float, fmt: NumericFormat, lf: LearningFormat, net: Network,
                      epoch: int) -> tuple[QuantizedLearning, list[str], list[str]]:
    """``(learning, warnings, problems)`` of one plastic projection."""
    problems, warnings = [], []
    dt, F = net.dt, lf.trace_decay_bits
    mant = 2 ** (fmt.weight_bits - 1) - 1
    full = unit * 2 ** lf.weight_frac_bits  # learning units (the mantissa with its fraction bits) per weight unit
    m_min = int(min(max(round(rule.w_min * unit), -mant - 1), mant)) << lf.weight_frac_bits
    m_max = int(min(max(round(rule.w_max * unit), -mant - 1), mant)) << lf.weight_frac_bits
    if m_max <= m_min:
        problems.append(f"learning: w_min and w_max ({rule.w_min:g}, {rule.w_max:g}) become the mantissas {m_min} "
                        f"and {m_max}: no room to learn in {fmt.weight_bits}-bit weights")
    nearest = rule.pairing == Pairing.NEAREST
    inc = lf.trace_max if nearest else 1 << (lf.trace_bits - 2)
    amplitudes = [rule.A_plus * full / inc, rule.A_minus * full / inc]  # learning units per trace unit
    q = _shift(amplitudes, lf.param_bits)
    a_plus, a_minus = (int(round(a * 2.0 ** q)) for a in amplitudes)
    eligible = isinstance(rule, RewardSTDP)
    taus = {"pre": rule.tau_pre, "post": rule.tau_post, "eligibility": rule.tau_eligibility if eligible else 1.0}
    decays = {name: _decay(tau, dt, epoch, F) for name, tau in taus.items()}
    stochastic = lf.rounding == LEARN_ROUNDING.STOCHASTIC
    if not stochastic:
        warnings += _nearest_warnings(decays, inc, a_plus, a_minus, q, F)
    rewards = _rewards(rule, net, lf, problems, warnings) if eligible else {}
    learning = QuantizedLearning(
        rule=rule.kind, trace_inc=inc, decay_pre=decays["pre"], decay_post=decays["post"],
        decay_eligibility=decays["eligibility"], a_plus=a_plus, a_minus=a_minus, shift=q, m_min=m_min, m_max=m_max,
        inv_span=int(round(2 ** INV_BITS / max(1, m_max - m_min))),
        multiplicative=rule.dependence == Dependence.MULTIPLICATIVE, nearest=nearest, epoch=epoch, unit=full,
        **rewards)
    return learning, warnings, problems


def _nearest_warnings(decays: dict, inc: int, a_plus: int, a_minus: int, q: int, F: int) -> list[str]:
    out = []
    for name in ("pre", "post"):
        s = decays[name]
        stuck = math.ceil(2 ** (F - 1) / s) if s else math.inf
        if stuck > inc / 64:  # a residue above 1/64 of a spike that never decays
            out.append(f"learning: under nearest rounding a {name} trace stops decaying below {stuck} units ("
                       f"{stuck / inc:.2g} of a spike): use stochastic rounding or a longer learning epoch")
    if 0 < max(a_plus, a_minus) * inc < 2 ** (q - 1):
        out.append("learning: a spike pair changes a weight by less than half a mantissa unit, which nearest "
                   "rounding loses: use stochastic rounding")
    return out


def _rewards(rule: RewardSTDP, net: Network, lf: LearningFormat, problems: list, warnings: list) -> dict:
    """Integer rewards: explicit values per tick, or amounts per channel of the reward node."""
    amounts = np.zeros(0)
    if rule.reward_node() is not None:
        size = net.node(rule.reward_node()).size
        amounts = np.broadcast_to(np.asarray(rule.reward_amount, dtype=np.float64), (size,))
    steps = np.zeros(0, dtype=np.int64)
    values = np.zeros(0)
    if rule.reward_times is not None:
        steps_all = np.rint(rule.reward_times / net.dt).astype(np.int64)
        steps, where = np.unique(steps_all, return_inverse=True)
        values = np.bincount(where, weights=rule.reward_values, minlength=steps.size)
    top = max(float(np.abs(amounts).sum()), float(np.abs(values).max(initial=0.0)))
    rf = min(_shift([top], lf.reward_bits - 1), 24) if top > 0 else 0
    as_int = lambda x: np.rint(np.asarray(x) * 2.0 ** rf).astype(np.int64)
    lost = int(np.count_nonzero((as_int(amounts) == 0) & (amounts != 0)) + np.count_nonzero(
        (as_int(values) == 0) & (values != 0)))
    if lost:
        warnings.append(f"learning: {lost} rewards round to zero in {lf.reward_bits}-bit rewards (the largest "
                        f"reward of one tick, {top:g}, sets the resolution)")
    return dict(reward_frac_bits=rf, reward_node=rule.reward_node(), reward_amounts=as_int(amounts),
                reward_steps=steps, reward_values=as_int(values))
