"""Seeded mutators of the files nmcompiler reads, for the fuzz tests (``tests/test_fuzz_entrances.py``;
``make fuzz N=10000`` runs many): each takes a valid file and a ``random.Random`` and writes a
hostile variant of it."""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
from pathlib import Path

import h5py
import numpy as np

__all__ = ["DATA_VALUES", "JSON_VALUES", "NIR_VALUES", "mutate_checkpoint", "mutate_data", "mutate_meta", "mutate_nir",
           "report"]


def report(entrance: str, figures: dict) -> None:
    """Append one entrance's figures as a JSON line to the file ``NMC_FUZZ_REPORT`` names (``make
    fuzz`` prints them); nothing without it."""
    path = os.environ.get("NMC_FUZZ_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"entrance": entrance, **figures}, sort_keys=True) + "\n")

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


#: replacements for one value of a JSON document (an IR checkpoint's or an image's meta)
JSON_VALUES = (None, "x", "nan", "inf", "-1", -1, 0, 1, 2, 64, 100_000, 1e308, float("nan"), 2**70, [], {}, [1, 2, 3],
               True, {"array": "nope"}, {"kind": "bogus"}, {"dict": [1]}, {"tuple": 5})
#: replacements for one array of an IR checkpoint
ARRAY_VALUES = (np.array([np.nan]), np.array(["s"]), np.zeros((2, 2, 2)), np.array([2**62]), np.array([-5]),
                np.zeros(0), np.array([1j]), np.array([1e300]), np.array([True]))


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*path, k))
    elif isinstance(node, list) and len(node) <= 64:
        for i, v in enumerate(node):
            yield from _paths(v, (*path, i))


def mutate_meta(meta: dict, rng: random.Random, keep: tuple[str, ...] = ()) -> tuple[dict, str]:
    """A copy of a JSON document with one value (not under ``keep``) replaced; and what changed."""
    out = copy.deepcopy(meta)
    path = rng.choice([p for p in _paths(out) if p and p[0] not in keep])
    value = rng.choice(JSON_VALUES)
    node = out
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return out, f"{'/'.join(map(str, path))} = {value!r}"


def mutate_checkpoint(source: Path, target: Path, rng: random.Random) -> str:
    """An IR checkpoint (``.npz``) with one meta value or one array replaced."""
    with np.load(source, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays["__meta__"].tobytes().decode())
    if rng.random() < 0.5:
        meta, what = mutate_meta(meta, rng)
    else:
        key = rng.choice(sorted(k for k in arrays if k != "__meta__"))
        arrays[key] = rng.choice(ARRAY_VALUES)
        what = f"array {key} = {arrays[key]!r}"
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(target, "wb") as f:
        np.savez(f, **arrays)
    return what


#: hostile arrays for --data's x and y and for --input
DATA_VALUES = (
    lambda rng: np.zeros((0, 25, 64)),
    lambda rng: np.full((2, 25, 64), np.nan),
    lambda rng: np.array([["a"] * 64] * 2),
    lambda rng: np.zeros((2, 25, 64), dtype=np.complex128),
    lambda rng: np.zeros(3, dtype=[("x", "f8")]),
    lambda rng: np.ones((2, 25, 63)),
    lambda rng: np.full((2, 25, 64), 2.0),
    lambda rng: np.full((2, 25, 64), -1),
    lambda rng: (rng.random((2, 25, 64)) < 0.3).astype(np.float32),
    lambda rng: np.ones((2, 64)) * 0.5,
    lambda rng: np.full((2, 64), 7.0),
    lambda rng: np.array(1.0),
    lambda rng: np.zeros((2, 25, 64), dtype=bool),
    lambda rng: np.array([0, 1]),
    lambda rng: np.array([-3, 12]),
    lambda rng: np.array([0.5, 1.5]),
    lambda rng: np.array([np.nan, 1]),
    lambda rng: np.zeros((1, 1, 1, 1, 1)),
)


def mutate_data(target: Path, rng: random.Random) -> str:
    """A ``--data`` file: x and (sometimes) y drawn from :data:`DATA_VALUES`, or a missing x."""
    arrays = {}
    if rng.random() < 0.9:
        arrays["x"] = rng.choice(DATA_VALUES)(np.random.default_rng(rng.randrange(2**32)))
    if rng.random() < 0.6:
        arrays["y"] = rng.choice(DATA_VALUES)(np.random.default_rng(rng.randrange(2**32)))
    with open(target, "wb") as f:
        np.savez(f, **arrays)
    return ", ".join(f"{k}: {v.dtype} {v.shape}" for k, v in arrays.items()) or "no arrays"
