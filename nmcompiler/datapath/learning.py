"""The learning engine's number formats and integer operations (docs/datapath.md, "Learning").

A target that can learn carries a ``learning:`` section (:class:`LearningFormat`). The per-tick
operations are implemented once, in :mod:`nmcompiler.sim.bit_plasticity` (compiled), on these
primitives; ``tests/datapath_reference.py`` re-implements them with plain Python integers.
"""

from __future__ import annotations

from dataclasses import dataclass

from numba import njit

__all__ = ["LEARN_ROUNDING", "LFSR_TAPS", "INV_BITS", "LearningFormat", "lfsr_next", "round_shift"]

LFSR_TAPS = 0x80200003  # Galois form of x^32 + x^22 + x^2 + x + 1 (maximal length)
INV_BITS = 16  # fraction bits of 1 / (m_max - m_min) in multiplicative weight dependence


class LEARN_ROUNDING:
    NEAREST = "nearest"  # floor(x / 2^k + 1/2)
    STOCHASTIC = "stochastic"  # floor((x + u) / 2^k), u the low k bits of the projection's LFSR
    ALL = (NEAREST, STOCHASTIC)


@dataclass(frozen=True, kw_only=True)
class LearningFormat:
    """Widths of the learning engine: traces unsigned, eligibility and reward signed."""

    trace_bits: int  # pre (per presynaptic row) and post (per neuron) traces, unsigned, saturating
    trace_decay_bits: int  # F of the traces' and eligibility's multiply decay, once per epoch
    param_bits: int  # unsigned mantissas of A_plus and A_minus (one right shift per projection)
    eligibility_bits: int  # signed eligibility trace per synapse (reward-modulated rules)
    eligibility_frac_bits: int  # fraction bits of the eligibility below the weight mantissa's unit
    reward_bits: int  # signed reward of one tick (fraction bits chosen per projection)
    epoch_max: int  # longest learning epoch (ticks between trace decays)
    rounding: str  # LEARN_ROUNDING: of every learning multiply and shift
    weight_frac_bits: int = 0  # plastic weights keep this many bits below the delivered mantissa

    def problems(self) -> list[str]:
        out = []
        for name, lo, hi in (("trace_bits", 2, 16), ("trace_decay_bits", 1, 24), ("param_bits", 2, 16),
                             ("eligibility_bits", 2, 32), ("eligibility_frac_bits", 0, 16), ("reward_bits", 2, 16),
                             ("epoch_max", 1, 4096), ("weight_frac_bits", 0, 16)):
            if not lo <= getattr(self, name) <= hi:
                out.append(f"learning: {name} must lie in [{lo}, {hi}], not {getattr(self, name)}")
        if self.rounding not in LEARN_ROUNDING.ALL:
            out.append(f"learning: rounding '{self.rounding}' is unknown (use {' or '.join(LEARN_ROUNDING.ALL)})")
        return out

    @property
    def trace_max(self) -> int:
        return (1 << self.trace_bits) - 1


@njit(cache=True, nogil=True)
def lfsr_next(state):
    """One step of the 32-bit Galois LFSR (state never 0)."""
    if state & 1:
        return (state >> 1) ^ LFSR_TAPS
    return state >> 1


@njit(cache=True, nogil=True)
def round_shift(x, k, stochastic, state):
    """``(x / 2^k rounded, the LFSR state after)``: to nearest (ties up), or stochastically with
    the low ``min(k, 32)`` bits of the LFSR ``state`` (stepped first, once per call; bits below the
    32nd are zero). ``k <= 0`` shifts left and rounds nothing (no step). Scalars only: a helper
    that takes arrays costs a reference count per call in the per-synapse loops."""
    if k <= 0:
        return x << (-k), state
    if stochastic:
        state = lfsr_next(state)
        u = state & ((1 << min(k, 32)) - 1)
        if k > 32:
            u = u << (k - 32)
        return (x + u) >> k, state
    return (x + (1 << (k - 1))) >> k, state
