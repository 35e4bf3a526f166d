"""Seeded mutators of the files nmcompiler reads, for the fuzz tests (``tests/test_fuzz_entrances.py``;
``make fuzz N=10000`` runs many): each takes a valid file and a ``random.Random`` and writes a
hostile variant of it."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import h5py
import numpy as np

__all__ = ["NIR_VALUES", "mutate_nir"]

#: replacements for one HDF5 dataset of a NIR file: NaN, bytes, strings, integers beyond int64,
#: empty, wrongly shaped, structured, huge, negative, complex, booleans
NIR_VALUES = (
    lambda a: np.full(a.shape, np.nan) if a.dtype.kind == "f" else np.array(np.nan),
    lambda a: np.array(b"junk"),
    lambda a: np.array("str"),
    lambda a: np.array([2**63 + 5], dtype=np.uint64),
    lambda a: np.zeros((0,)),
    lambda a: np.array([[1, 2], [3, 4]]),
    lambda a: np.zeros(3, dtype=[("x", "f8"), ("y", "i4")]),
    lambda a: np.array([1e300]),
    lambda a: np.array(-1),
    lambda a: np.zeros(a.shape, dtype=np.complex128) if a.size < 100_000 else np.array(1j),
    lambda a: np.array(True),
    lambda a: -np.asarray(a, dtype=np.float64) if a.dtype.kind in "iuf" else np.array(0.0),
)


def _datasets(f: h5py.File) -> list[str]:
    out: list[str] = []
    f.visititems(lambda name, obj: out.append(name) if isinstance(obj, h5py.Dataset) else None)
    return sorted(out)


def mutate_nir(source: Path, target: Path, rng: random.Random) -> str:
    """Copy ``source`` to ``target`` with one to three datasets replaced; returns what changed."""
    shutil.copyfile(source, target)
    changed = []
    with h5py.File(target, "r+") as f:
        names = _datasets(f)
        for name in rng.sample(names, k=min(len(names), rng.randint(1, 3))):
            old = np.asarray(f[name][()])
            new = rng.choice(NIR_VALUES)(old)
            del f[name]
            try:
                f.create_dataset(name, data=new)
            except (TypeError, ValueError):  # a value HDF5 cannot store: a plain number instead
                new = np.array(0)
                f.create_dataset(name, data=new)
            changed.append(f"{name}: {new.dtype} {new.shape}")
    return "; ".join(changed)
