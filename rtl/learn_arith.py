"""The learning engine's arithmetic (docs/datapath.md, "Learning") as Amaranth expressions.

Each function mirrors :mod:`nmcompiler.datapath.learning` and :mod:`nmcompiler.sim.bit_plasticity`:
the 32-bit Galois LFSR, the rounded shift ``R(x / 2^k)`` (to nearest, or stochastic with the low
``min(k, 32)`` bits of the stepped LFSR), a trace's step and the clamp of a weight or an
eligibility. Widths grow as Amaranth's rules say; only the clamps narrow.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import C, Cat, Module, Mux, Value

from nmcompiler.datapath.learning import LFSR_TAPS

from .arith import wire

__all__ = ["as_signed", "lfsr_next", "Rounded", "round_shift", "clamp", "trace_step"]


def as_signed(v: Value) -> Value:
    """``v`` as a signed value of the same number (an unsigned one gains a zero sign bit)."""
    v = Value.cast(v)
    return v if v.shape().signed else Cat(v, C(0, 1)).as_signed()


def lfsr_next(m: Module, state: Value) -> Value:
    """One step of the Galois LFSR (taps :data:`LFSR_TAPS`)."""
    state = wire(m, state)
    return wire(m, Mux(state[0], (state >> 1) ^ C(LFSR_TAPS, 32), state >> 1)[:32])


@dataclass(frozen=True)
class Rounded:
    """``value = R(x / 2^k)``; ``state``: the LFSR after it (stepped when ``stepped``)."""
    value: Value
    state: Value
    stepped: Value


def round_shift(m: Module, x: Value, k: Value, stochastic: bool, state: Value) -> Rounded:
    """``R(x / 2^k)`` for a signed shift ``k``: ``k <= 0`` shifts left and rounds nothing (the LFSR
    does not step); else to nearest (``floor(x / 2^k + 1/2)``) or stochastically
    (``floor((x + u) / 2^k)``, ``u`` the low ``min(k, 32)`` bits of the stepped LFSR, shifted up by
    ``k - 32`` beyond 32)."""
    x, k = wire(m, as_signed(x)), wire(m, as_signed(k))
    right = wire(m, k > 0)
    kr = wire(m, Mux(right, k, 0)[:7])  # 0 .. 127
    kl = wire(m, Mux(right, 0, -k)[:5])  # left shifts (eligibility fraction bits) stay below 32
    if stochastic:
        nxt = lfsr_next(m, state)
        low = wire(m, Mux(kr > 32, 32, kr)[:6])
        u = wire(m, (nxt & ((C(1, 33) << low) - 1)[:32]) << Mux(kr > 32, kr - 32, 0)[:7])
        add, new_state = u, Mux(right, nxt, state)
    else:
        add, new_state = (C(1, 1) << kr) >> 1, state  # 2^(k-1)
    value = Mux(right, (x + add) >> kr, x << kl)
    return Rounded(value=wire(m, value), state=wire(m, new_state), stepped=wire(m, right if stochastic else C(0, 1)))


def clamp(m: Module, x: Value, lo: Value, hi: Value, shape) -> Value:
    """``min(max(x, lo), hi)`` as ``shape`` (``lo <= hi``)."""
    x = wire(m, x)
    return wire(m, Mux(x < lo, lo, Mux(x > hi, hi, x)).as_signed()[:shape.width].as_signed())


def trace_step(m: Module, v: Value, inc: Value, nearest: Value, bits: int) -> Value:
    """A trace's step on a spike: ``inc`` (nearest-spike pairing), else ``min(v + inc, 2^bits - 1)``."""
    total = wire(m, v + inc)
    top = (1 << bits) - 1
    return wire(m, Mux(nearest, inc, Mux(total > top, top, total))[:bits])

