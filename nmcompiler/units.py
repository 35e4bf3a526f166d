"""Physical quantities written as strings ("20 ms", "-50 mV", "10 Hz").

Internally every quantity is a float in SI base units (seconds, volts, amperes, hertz, ohms,
joules, watts).
A plain number is taken as already being in SI units. Each field declares a dimension;
a unit of another dimension is an error.
"""

from __future__ import annotations

import math
import re

__all__ = ["DIMENSIONS", "parse_quantity", "format_si", "format_time", "QuantityError"]

_PREFIX = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3, "u": 1e-6, "µ": 1e-6, "n": 1e-9, "p": 1e-12}
_BASE = {"s": "time", "V": "voltage", "A": "current", "Hz": "rate", "Ohm": "resistance", "J": "energy", "W": "power"}
DIMENSIONS = frozenset(_BASE.values()) | {"dimensionless", "any"}

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_QUANTITY = re.compile(rf"^\s*({_NUMBER})\s*([a-zA-Zµ]*)\s*$")


class QuantityError(ValueError):
    """A quantity string could not be read or has the wrong dimension."""


def _article(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _unit_scale(unit: str) -> tuple[float, str]:
    for base, dim in _BASE.items():
        if unit.endswith(base):
            prefix = unit[: -len(base)]
            if prefix in _PREFIX:
                return _PREFIX[prefix], dim
    raise QuantityError(f"unknown unit '{unit}' (use s, ms, us, V, mV, A, nA, pA, Hz, kHz, Ohm, MOhm, J, pJ, W, mW)")


def parse_quantity(value: object, dimension: str) -> float:
    """Return ``value`` in SI units, checking it has ``dimension``.

    >>> parse_quantity("20 ms", "time")
    0.02
    """
    if isinstance(value, bool):
        raise QuantityError(f"expected a {dimension} quantity, not a boolean")
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, str):
        m = _QUANTITY.match(value)
        if not m:
            raise QuantityError(f"cannot read '{value}' as a quantity (write e.g. '20 ms' or '-50 mV')")
        number, unit = float(m.group(1)), m.group(2)
        if unit:
            scale, dim = _unit_scale(unit)
            if dimension not in ("any", dim):
                raise QuantityError(f"'{value}' is {_article(dim)}, expected {_article(dimension)}")
            result = number * scale
        else:
            result = number
    else:
        raise QuantityError(f"expected a {dimension} quantity, not {type(value).__name__}")
    if not math.isfinite(result):
        raise QuantityError(f"value {value!r} is not finite")
    return result


def format_time(seconds: float) -> str:
    """Format a time for messages: '0.05 ms', '1.5 s'."""
    if seconds == 0:
        return "0 s"
    if abs(seconds) >= 1:
        return f"{seconds:g} s"
    return f"{seconds * 1e3:.6g} ms"


def format_si(value: float, unit: str, digits: int = 4) -> str:
    """``value`` (SI) with the prefix that puts it in [1, 1000): '23.6 pJ', '1.25 ms', '0 J'."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    for prefix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0), ("m", 1e-3), ("u", 1e-6), ("n", 1e-9),
                          ("p", 1e-12), ("f", 1e-15)):
        if abs(value) >= scale * 0.9995:
            return f"{value / scale:.{digits}g} {prefix}{unit}"
    return f"{value:.{digits}g} {unit}"
