"""The datapath contract's arithmetic (docs/datapath.md) as Amaranth expressions.

Each function mirrors one of :mod:`nmcompiler.datapath.neuron`: saturation, the rounded right
shift, the three decay kinds and the neuron update of one tick. The expressions are exact:
intermediate widths grow as Amaranth's arithmetic rules say, and only :func:`sat` narrows.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import C, Module, Mux, Signal, Value, signed

from nmcompiler.datapath.format import DecayKind, NumericFormat, Rounding

__all__ = ["wire", "sat", "shift_right", "decay", "NeuronUpdate", "neuron_update"]


def wire(m: Module, x: Value, name: str | None = None) -> Signal:
    """``x`` as a combinational signal: an expression used more than once is built once (Amaranth
    copies expression trees, so nesting :func:`sat` without this grows the netlist exponentially)."""
    x = Value.cast(x)
    s = Signal(x.shape(), name=name)
    m.d.comb += s.eq(x)
    return s


def sat(m: Module, x: Value, bits: int) -> Value:
    """Clamp ``x`` to ``signed(bits)``: ``[-2^(bits-1), 2^(bits-1) - 1]``."""
    x = wire(m, x)
    shape = x.shape()
    if shape.width <= bits and (shape.signed or shape.width < bits):
        return x.as_signed() if shape.signed else x  # already in range
    hi, lo = (1 << (bits - 1)) - 1, -(1 << (bits - 1))
    narrow = x[:bits].as_signed()
    return Mux(x > hi, C(hi, signed(bits)), Mux(x < lo, C(lo, signed(bits)), narrow))


def shift_right(m: Module, x: Value, k: int | Value, rounding: str) -> Value:
    """``x / 2^k`` rounded as the format says; ``k`` a constant or an unsigned signal."""
    x = wire(m, x)
    x = x if x.shape().signed else x.as_signed()
    if isinstance(k, int):
        if k == 0:
            return x
        if rounding == Rounding.FLOOR:
            return x >> k
        if rounding == Rounding.NEAREST:
            return (x + (1 << (k - 1))) >> k
        return Mux(x < 0, -((-x) >> k), x >> k)
    if rounding == Rounding.FLOOR:
        return x >> k
    if rounding == Rounding.NEAREST:
        half = (C(1, 1) << k) >> 1  # 2^(k-1), 0 for k = 0
        return (x + half) >> k
    return Mux(x < 0, -((-x) >> k), x >> k)


def decay(m: Module, x: Value, setting: Value, fmt: NumericFormat) -> Value:
    """One tick of decay of ``x`` with the neuron's ``setting`` (multiply, shift or leak)."""
    x, setting = wire(m, x), wire(m, setting)
    if fmt.decay == DecayKind.MULTIPLY:
        keep = C(1 << fmt.decay_bits, fmt.decay_bits + 2) - setting  # 2^F - s >= 0
        return shift_right(m, x * keep, fmt.decay_bits, fmt.rounding)
    if fmt.decay == DecayKind.SHIFT:
        k = wire(m, Mux(setting > 62, 62, setting)[:6])
        return Mux(setting >= 63, x, x - shift_right(m, x, k, fmt.rounding))
    step_up = Mux(-x < setting, -x, setting)  # min(|x|, L) for x < 0
    step_down = Mux(x < setting, x, setting)  # min(|x|, L) for x > 0
    return Mux(x > 0, x - step_down, Mux(x < 0, x + step_up, x))


@dataclass(frozen=True)
class NeuronUpdate:
    """Expressions of one neuron's tick: new state, spike, and the input it consumed."""
    v: Value
    i: tuple[Value, ...]
    ref: Value
    spike: Value


def neuron_update(m: Module, fmt: NumericFormat, p, s, acc) -> NeuronUpdate:
    """One tick of docs/datapath.md for one neuron: ``p`` parameter view, ``s`` state view, ``acc``
    the accumulated input per channel (exact sums, saturated here to ``acc_bits``)."""
    R = max(1, fmt.receptors)
    x = [sat(m, acc[k], fmt.acc_bits) for k in range(R)]
    if fmt.has_current:
        i_new = tuple(wire(m, sat(m, decay(m, s.i[k], p.decay_i[k], fmt) + x[k], fmt.i_bits), f"i_new{k}")
                      for k in range(R))
        total = i_new[0]
        for k in range(1, R):
            total = total + i_new[k]
        drive = sat(m, shift_right(m, total, fmt.current_frac_bits, fmt.rounding), fmt.v_bits)
    else:
        i_new = tuple(s.i[k] for k in range(R))
        total = x[0]
        for k in range(1, R):
            total = total + x[k]
        drive = sat(m, total, fmt.v_bits)
    v, thr = wire(m, s.v), wire(m, p.threshold)
    held = wire(m, s.ref != 0, "held")
    v_int = sat(m, sat(m, decay(m, v, p.decay_v, fmt) + drive, fmt.v_bits) + p.bias, fmt.v_bits)
    if fmt.v_min:  # the lower bound of v after integration
        v_int = wire(m, v_int, "v_int")
        v_int = Mux(v_int < p.v_min, p.v_min, v_int)
    v1 = wire(m, Mux(held, v, v_int), "v1")
    crossed = (v1 >= thr) if fmt.compare == ">=" else (v1 > thr)
    spike = wire(m, crossed & ~held & p.spiking, "spike")
    reset = Mux(p.subtract, sat(m, v1 - (thr - p.v_reset), fmt.v_bits), p.v_reset)
    ref = Mux(spike, p.refractory, Mux(held, s.ref - 1, s.ref))
    return NeuronUpdate(v=wire(m, Mux(spike, reset, v1), "v_new"), i=i_new, ref=wire(m, ref, "ref_new"), spike=spike)
