"""Numeric formats of the fixed-point neuron datapath: widths, decay kind, rounding, comparison.

A format is data: each target in ``hwtargets/`` carries one under ``format:``. See
docs/datapath.md for the meaning of every field.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


from ..errors import UserError
from ..yamlio import read_yaml

__all__ = ["NumericFormat", "DecayKind", "Order", "Rounding", "load_format", "target_names", "TARGETS_DIR"]

TARGETS_DIR = Path(str(resources.files("nmcompiler.hwtargets")))


class DecayKind:
    MULTIPLY = "multiply"  # x * (2^F - d) / 2^F, d in [0, 2^F]   (Loihi, SpiNNaker)
    SHIFT = "shift"  # x - x / 2^k, k in [0, 62]; k = 63: no decay
    LEAK = "leak"  # x - sign(x) * min(|x|, L): linear leak toward zero (TrueNorth, leak reversal)
    BITSHIFT = "bitshift"  # x - d, d = x >> k (floor) but at least one unit toward zero (Xylo's dash)
    ALL = (MULTIPLY, SHIFT, LEAK, BITSHIFT)


class Order:
    """When a tick's input joins the currents, and how the membrane is updated (docs/datapath.md)."""

    DECAY_FIRST = "decay_first"  # i = sat(decay(i) + x); v = sat(sat(decay(v) + drive) + bias)
    INPUT_FIRST = "input_first"  # i = decay(sat(i + x)); v = sat(v + sat(sat(-step(v) + drive) + bias)) (Xylo)
    ALL = (DECAY_FIRST, INPUT_FIRST)


class Rounding:
    FLOOR = "floor"  # toward -infinity (an arithmetic right shift)
    NEAREST = "nearest"  # to nearest, ties toward +infinity: floor(x + 1/2)
    ZERO = "zero"  # toward zero (truncation)
    ALL = (FLOOR, NEAREST, ZERO)


@dataclass(frozen=True, kw_only=True)
class NumericFormat:
    """Widths are two's-complement bit counts (sign included) unless the name says unsigned."""

    name: str
    v_bits: int  # membrane potential
    i_bits: int  # synaptic current; 0: no current state (input goes straight into v)
    receptors: int  # synaptic current channels per neuron (>= 1 when i_bits > 0)
    acc_bits: int  # per-tick input accumulator (ring-buffer entry)
    weight_bits: int  # weight mantissa
    exponent_scope: str  # "none" | "population" | "projection": where a weight exponent is shared
    exponent_min: int
    exponent_max: int
    decay: str  # DecayKind
    decay_bits: int  # F for multiply; bits of L for leak; unused for shift
    bias_bits: int
    refractory_bits: int  # unsigned counter
    delay_max: int  # ticks
    rounding: str  # Rounding, for every multiply and shift
    compare: str  # ">" or ">=": spike when v (compare) threshold
    current_frac_bits: int = 0  # currents carry this many extra fraction bits: drive = R(sum_k i_k / 2^c)
    order: str = Order.DECAY_FIRST  # Order: decay then input (default), or input then decay (Xylo)
    scale_scope: str = "population"  # one voltage scale per population, or per neuron (Xylo's per-channel)
    v_min: bool = False  # a per-neuron lower bound of v after integration (Loihi's vmin): v = max(v, v_min)

    DEFAULTS = {"order": Order.DECAY_FIRST, "scale_scope": "population", "v_min": False}  # fields a target file may leave out (and JSON omits when so)

    def to_json(self) -> dict:
        """The fields, without those at their default (descriptions and digests as before they existed)."""
        out = dataclasses.asdict(self)
        return {k: v for k, v in out.items() if k not in self.DEFAULTS or v != self.DEFAULTS[k]}

    @property
    def has_current(self) -> bool:
        return self.i_bits > 0

    def problems(self) -> list[str]:
        out = []
        for name in ("v_bits", "acc_bits", "weight_bits", "bias_bits"):
            if not 2 <= getattr(self, name) <= 48:
                out.append(f"{name} must lie in [2, 48], not {getattr(self, name)}")
        if self.i_bits and not 2 <= self.i_bits <= 48:
            out.append(f"i_bits must be 0 (no current) or lie in [2, 48], not {self.i_bits}")
        if self.has_current and self.receptors < 1:
            out.append("receptors must be >= 1 when there is a current state")
        if self.decay not in DecayKind.ALL:
            out.append(f"decay '{self.decay}' is unknown (use {', '.join(DecayKind.ALL)})")
        if self.scale_scope not in ("population", "neuron"):
            out.append(f"scale_scope '{self.scale_scope}' is unknown (use population, neuron)")
        if self.scale_scope == "neuron" and self.exponent_scope != "none":
            out.append("scale_scope 'neuron' needs exponent_scope 'none' (each neuron's weights fill the mantissa)")
        if not isinstance(self.v_min, bool):
            out.append(f"v_min must be true or false (whether the datapath bounds v from below), not {self.v_min!r}")
        if self.order not in Order.ALL:
            out.append(f"order '{self.order}' is unknown (use {', '.join(Order.ALL)})")
        if self.decay == DecayKind.BITSHIFT and not 1 <= self.decay_bits <= 6:
            out.append(f"decay_bits must lie in [1, 6] for bitshift decay (shifts 0 .. 2^bits - 1), not {self.decay_bits}")
        if self.decay == DecayKind.MULTIPLY and not 1 <= self.decay_bits <= 24:
            out.append(f"decay_bits must lie in [1, 24] for multiply decay, not {self.decay_bits}")
        if self.decay == DecayKind.MULTIPLY and max(self.v_bits, self.i_bits) + self.decay_bits > 62:
            out.append("state bits + decay_bits must be <= 62 (the decay product must fit in int64)")
        if self.rounding not in Rounding.ALL:
            out.append(f"rounding '{self.rounding}' is unknown (use {', '.join(Rounding.ALL)})")
        if self.compare not in (">", ">="):
            out.append(f"compare must be '>' or '>=', not {self.compare!r}")
        if self.exponent_scope not in ("none", "population", "projection"):
            out.append(f"exponent_scope '{self.exponent_scope}' is unknown (use none, population, projection)")
        if self.exponent_min > self.exponent_max or self.exponent_min < 0:
            out.append(f"exponent range [{self.exponent_min}, {self.exponent_max}] is empty or negative")
        if not 1 <= self.delay_max <= 4096:
            out.append(f"delay_max must lie in [1, 4096], not {self.delay_max}")
        if not 0 <= self.current_frac_bits <= 16 or (self.current_frac_bits and not self.i_bits):
            out.append(f"current_frac_bits must lie in [0, 16] and needs a current state, not {self.current_frac_bits}")
        if not 0 <= self.refractory_bits <= 16:
            out.append(f"refractory_bits must lie in [0, 16], not {self.refractory_bits}")
        return out


def target_names() -> list[str]:
    return sorted(p.stem for p in TARGETS_DIR.glob("*.yaml"))


def read_target_document(target: str) -> tuple[Path, dict]:
    """``(path, parsed YAML)`` of a shipped target (by name) or a target file (by path)."""
    path = Path(target)
    if path.suffix not in (".yaml", ".yml"):
        path = TARGETS_DIR / f"{target}.yaml"
        if not path.exists():
            raise UserError(f"unknown target '{target}' (shipped: {', '.join(target_names())}; or give a .yaml file)")
    doc = read_yaml(path).data  # bounded: aliases, nesting, string keys
    if not isinstance(doc, dict) or not isinstance(doc.get("format"), dict):
        raise UserError(f"{path}: a target file needs a 'format:' mapping")
    return path, doc


def format_from_document(path: Path, doc: dict, overrides: dict | None = None) -> NumericFormat:
    fields = dict(doc["format"])
    fields.update(overrides or {})
    fields.setdefault("name", doc.get("name", path.stem))
    try:
        fmt = NumericFormat(**fields)
    except TypeError as exc:
        raise UserError(f"{path}: format: {exc}") from None
    problems = fmt.problems()
    if problems:
        raise UserError(f"{path}: format: " + "; ".join(problems))
    return fmt


def load_format(target: str, overrides: dict | None = None) -> NumericFormat:
    """The numeric format of a shipped target (by name) or of a target YAML file (by path)."""
    return format_from_document(*read_target_document(target), overrides)
