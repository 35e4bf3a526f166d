"""Base for frozen IR records whose fields may be numpy arrays."""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["ArrayRecord", "values_equal"]


def values_equal(a: object, b: object) -> bool:
    """Value equality that treats numpy arrays (and containers of them) element-wise."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a_arr, b_arr = np.asarray(a), np.asarray(b)
        return a_arr.shape == b_arr.shape and a_arr.dtype.kind == b_arr.dtype.kind and bool(
            np.array_equal(a_arr, b_arr, equal_nan=a_arr.dtype.kind == "f")
        )
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    return a == b


class ArrayRecord:
    """Mixin for ``@dataclass(frozen=True, eq=False)`` classes: value equality over fields."""

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        return all(
            values_equal(getattr(self, f.name), getattr(other, f.name)) for f in dataclasses.fields(self)
        )

    __hash__ = None  # type: ignore[assignment]

    def _set(self, name: str, value: object) -> None:
        """Normalise a field in ``__post_init__`` of a frozen dataclass."""
        object.__setattr__(self, name, value)
