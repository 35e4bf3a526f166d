"""Numeric values in network files: quantities, lists, ``.npy`` files and random draws."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..fileio import ArrayNotFound, UnreadableArray, read_npy
from ..streams import stream  # noqa: F401  (its home before 0.4; scripts import it from here)
from ..units import QuantityError, parse_quantity

__all__ = ["FieldError", "resolve_value"]


class FieldError(ValueError):
    """A field's value is wrong; the message says how (the caller adds file, line and object)."""


def _quantities(value: object, dimension: str) -> np.ndarray:
    if isinstance(value, list):
        if any(isinstance(v, list) for v in value):
            return np.array([_quantities(v, dimension) for v in value], dtype=np.float64)
        return np.array([parse_quantity(v, dimension) for v in value], dtype=np.float64)
    return np.array(parse_quantity(value, dimension), dtype=np.float64)


def load_npy(folder: Path, name: str) -> np.ndarray:
    """The array a network file names: inside the file's folder (``NMC_ALLOW_OUTSIDE_PATHS=1``, or
    ``nmc --allow-outside-paths``, lets it point elsewhere), a regular file of real numbers."""
    path = folder / name
    if os.environ.get("NMC_ALLOW_OUTSIDE_PATHS") != "1":
        inside = folder.resolve()
        if inside not in path.resolve().parents:
            raise FieldError(f"file '{name}' lies outside the network file's folder {folder} (nmc "
                             "--allow-outside-paths reads it)")
    try:
        array = read_npy(path)
    except ArrayNotFound:
        raise FieldError(f"file '{name}' not found (looked in {folder})") from None
    except UnreadableArray as exc:
        raise FieldError(f"file '{name}' (in {folder}): {exc}") from None
    if array.dtype.kind not in "biuf":
        raise FieldError(f"file '{name}' holds a {array.dtype} array, expected real numbers")
    return array


def resolve_value(
    spec: object, dimension: str, *, folder: Path, count: int | None = None, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Turn a file value into a float array.

    ``count`` is how many values a random draw produces; ``rng`` supplies them.
    """
    try:
        if isinstance(spec, dict):
            (kind, arg), = spec.items()
            if kind == "file":
                arr = load_npy(folder, arg)
                if arr.dtype.kind not in "biuf":
                    raise FieldError(f"file '{arg}' holds {arr.dtype} data, expected numbers")
                return arr.astype(np.float64)
            lo, hi = (parse_quantity(v, dimension) for v in arg)
            if count is None or rng is None:
                raise FieldError(f"a random '{kind}' value is not allowed here")
            if kind == "uniform":
                if hi < lo:
                    raise FieldError(f"uniform range [{lo}, {hi}] is empty")
                return rng.uniform(lo, hi, size=count)
            if hi < 0:
                raise FieldError(f"normal standard deviation {hi} is negative")
            return rng.normal(lo, hi, size=count)
        return _quantities(spec, dimension)
    except QuantityError as exc:
        raise FieldError(str(exc)) from None
    except ValueError as exc:  # ragged lists
        if isinstance(exc, FieldError):
            raise
        raise FieldError(f"cannot read value ({exc})") from None
