"""Learning rules a projection may carry: pair-based STDP and reward-modulated STDP.

Both keep two exponential traces: ``x_i`` per presynaptic neuron and ``y_j`` per postsynaptic
neuron (time constants ``tau_pre``, ``tau_post``)::

    dx_i/dt = -x_i / tau_pre        on a spike of i arriving at the synapse:  x_i += 1  (all_to_all)
    dy_j/dt = -y_j / tau_post       on a spike of j:                          y_j += 1  (all_to_all)
                                    ("nearest" pairing sets the trace to 1 instead of adding 1)

and change a synapse ``w_ij`` at its events::

    a presynaptic spike arrives (after the synapse's delay):  dw = -A_minus * y_j * f_minus(w)
    the postsynaptic neuron spikes:                           dw = +A_plus  * x_i * f_plus(w)

with the weight dependence ``additive`` (``f = 1``) or ``multiplicative``
(``f_plus = (w_max - w) / (w_max - w_min)``, ``f_minus = (w - w_min) / (w_max - w_min)``); the
weight is kept in ``[w_min, w_max]`` after every change. ``A_plus``, ``A_minus``, ``w_min`` and
``w_max`` are in the projection's weight units. One pre-post pair ``dt = t_post - t_pre > 0``
apart changes ``w`` by ``A_plus exp(-dt / tau_pre)``; a post-pre pair by
``-A_minus exp(-dt / tau_post)`` (additive, away from the bounds).

A presynaptic spike meets the synapse when it arrives there, after the synaptic delay (Brian2's
``on_pre`` convention; NEST delays the postsynaptic side instead: a "dendritic" delay).

:class:`RewardSTDP` sends the same changes into an eligibility trace ``c_ij``
(``dc/dt = -c / tau_eligibility``) instead of the weight; a reward ``r`` changes the weight by
``r * c_ij`` (then kept in bounds). The reward comes from a node of the network (each spike of any
of its channels delivers ``reward_amount``; a spike source is an input port that data replace at
run time; ``reward_amount`` may also give one amount per channel, e.g. ``[1, -1]`` for a reward
and a punishment channel) or from explicit ``reward_times`` (seconds) and ``reward_values``.

NIR has no plasticity: NIR export refuses projections that learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ._record import ArrayRecord

__all__ = ["STDP", "RewardSTDP", "LEARNING_RULES", "Dependence", "Pairing"]


class Dependence:
    ADDITIVE = "additive"
    MULTIPLICATIVE = "multiplicative"
    ALL = (ADDITIVE, MULTIPLICATIVE)


class Pairing:
    ALL_TO_ALL = "all_to_all"
    NEAREST = "nearest"
    ALL = (ALL_TO_ALL, NEAREST)


@dataclass(frozen=True, kw_only=True, eq=False)
class STDP(ArrayRecord):
    """Pair-based STDP with exponential traces (module docstring: the equations)."""

    kind: ClassVar[str] = "stdp"
    tau_pre: float
    tau_post: float
    A_plus: float
    A_minus: float
    w_min: float = 0.0
    w_max: float = 1.0
    dependence: str = Dependence.ADDITIVE
    pairing: str = Pairing.ALL_TO_ALL

    def problems(self) -> list[str]:
        out = []
        for name in ("tau_pre", "tau_post"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                out.append(f"learning: {name} must be finite and > 0, not {value}")
        for name in ("A_plus", "A_minus", "w_min", "w_max"):
            if not np.isfinite(getattr(self, name)):
                out.append(f"learning: {name} must be finite")
        if not out and self.w_max <= self.w_min:
            out.append(f"learning: w_max ({self.w_max}) must be above w_min ({self.w_min})")
        if not out and (self.A_plus < 0 or self.A_minus < 0):
            out.append("learning: A_plus and A_minus are magnitudes (>= 0); the signs are the rule's")
        if self.dependence not in Dependence.ALL:
            out.append(f"learning: dependence '{self.dependence}' is unknown (use {' or '.join(Dependence.ALL)})")
        if self.pairing not in Pairing.ALL:
            out.append(f"learning: pairing '{self.pairing}' is unknown (use {' or '.join(Pairing.ALL)})")
        return out

    def weight_problems(self, weights: np.ndarray) -> list[str]:
        """Initial weights outside ``[w_min, w_max]`` (the rule would clip them at the first event)."""
        if weights.size and (weights.min() < self.w_min or weights.max() > self.w_max):
            return [f"learning: initial weights span [{weights.min():g}, {weights.max():g}], outside "
                    f"[w_min, w_max] = [{self.w_min:g}, {self.w_max:g}]"]
        return []

    def reward_node(self) -> str | None:
        return None


@dataclass(frozen=True, kw_only=True, eq=False)
class RewardSTDP(STDP):
    """Reward-modulated STDP: STDP into an eligibility trace, the weight moved by reward x trace."""

    kind: ClassVar[str] = "reward_stdp"
    tau_eligibility: float
    reward: str | None = None
    reward_amount: float | np.ndarray = 1.0  # per spike of the reward node: one value, or one per channel
    reward_times: np.ndarray | None = None
    reward_values: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("reward_times", "reward_values"):
            value = getattr(self, name)
            if value is not None:
                self._set(name, np.asarray(value, dtype=np.float64).reshape(-1))
        amount = np.asarray(self.reward_amount, dtype=np.float64)
        self._set("reward_amount", amount.reshape(-1) if amount.ndim else float(amount))

    def problems(self) -> list[str]:
        out = super().problems()
        if not (np.isfinite(self.tau_eligibility) and self.tau_eligibility > 0):
            out.append(f"learning: tau_eligibility must be finite and > 0, not {self.tau_eligibility}")
        explicit = self.reward_times is not None or self.reward_values is not None
        if (self.reward is None) == (not explicit):
            out.append("learning: give the reward either as a node ('reward') or as 'reward_times' with "
                       "'reward_values', exactly one of them")
        elif explicit:
            times, values = self.reward_times, self.reward_values
            if times is None or values is None or times.shape != values.shape:
                out.append("learning: 'reward_times' and 'reward_values' must both be given, of equal length")
            elif not (np.all(np.isfinite(times)) and np.all(times >= 0) and np.all(np.isfinite(values))):
                out.append("learning: reward times must be finite and >= 0, reward values finite")
        if not np.all(np.isfinite(self.reward_amount)):
            out.append("learning: reward_amount must be finite")
        elif np.ndim(self.reward_amount) and self.reward is None:
            out.append("learning: one reward_amount per channel needs a reward node ('reward')")
        return out

    def reward_node(self) -> str | None:
        return self.reward


LEARNING_RULES: dict[str, type[STDP]] = {r.kind: r for r in (STDP, RewardSTDP)}
