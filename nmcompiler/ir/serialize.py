"""Save and load the IR: JSON metadata plus numpy arrays (npz), byte-reproducible.

Two layouts hold the same content:

* a directory with ``network.json`` and ``arrays.npz``;
* a single ``.npz`` file whose entry ``__meta__`` holds the JSON as UTF-8 bytes.

Arrays are referenced from the JSON as ``{"array": "<key>"}``. The layout is versioned by
``format_version``; loading a newer version is an error. Loading checks the metadata against its
JSON Schema (:mod:`.checkpoint_schema`, built from the IR's dataclasses) and the arrays' dtypes
before anything is built.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..fileio import MANIFEST, OutputSet, UnreadableArray, atomic_open, check_set, open_npz
from .checkpoint_schema import checkpoint_problems
from .connectivity import Connectivity, Projection
from .convolution import ConvStage, Convolution
from .learning import LEARNING_RULES, STDP
from .models import MODELS, NeuronModel
from .network import Network
from .nodes import NODE_KINDS, Probe, Readout

__all__ = ["save_network", "load_network_file", "network_digest", "FORMAT_VERSION"]

FORMAT = "nmcompiler-ir"
FORMAT_VERSION = 1
_META_KEY = "__meta__"


class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def value(self, v: object, key: str) -> object:
        if isinstance(v, np.ndarray):
            self.arrays[key] = v
            return {"array": key}
        if isinstance(v, NeuronModel):
            return {"kind": v.kind, **self.fields(v, key)}
        if isinstance(v, STDP):
            return {"rule": v.kind, **self.fields(v, key)}
        if isinstance(v, Convolution):
            return {"convolution": self.fields(v, key)}
        if isinstance(v, ConvStage):
            return {"stage": self.fields(v, key)}
        if isinstance(v, dict):
            return {"dict": {k: self.value(x, f"{key}/{k}") for k, x in v.items()}}
        if isinstance(v, tuple):
            return {"tuple": [self.value(x, f"{key}/{i}") for i, x in enumerate(v)]}
        if isinstance(v, (float, np.floating)) and not np.isfinite(v):
            return {"float": str(float(v))}
        if isinstance(v, np.integer):
            return int(v)
        return v

    def fields(self, record: object, key: str) -> dict:
        return {f.name: self.value(getattr(record, f.name), f"{key}/{f.name}") for f in dataclasses.fields(record)}


def _decode(v: object, arrays) -> object:
    if isinstance(v, dict):
        if "array" in v:
            return arrays[v["array"]]
        if "dict" in v:
            return {k: _decode(x, arrays) for k, x in v["dict"].items()}
        if "tuple" in v:
            return tuple(_decode(x, arrays) for x in v["tuple"])
        if "float" in v:
            return float(v["float"])
        if "kind" in v:
            fields = {k: _decode(x, arrays) for k, x in v.items() if k != "kind"}
            return MODELS[v["kind"]](**fields)
        if "convolution" in v:
            return Convolution(**{k: _decode(x, arrays) for k, x in v["convolution"].items()})
        if "stage" in v:
            return ConvStage(**{k: _decode(x, arrays) for k, x in v["stage"].items()})
        if "rule" in v:
            return LEARNING_RULES[v["rule"]](**{k: _decode(x, arrays) for k, x in v.items() if k != "rule"})
    return v


def _to_meta(net: Network) -> tuple[dict, dict[str, np.ndarray]]:
    enc = _Encoder()
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": net.name,
        "dt": net.dt,
        "seed": net.seed,
        "duration": net.duration,
        "nodes": [{"kind": n.kind, **{k: v for k, v in enc.fields(n, f"node/{n.name}").items()
                                      if not (k == "mirror_of" and v is None) and not (k == "inputs" and v == 1)}}
                  for n in net.nodes],  # files of networks without these options stay as they were
        "projections": [
            {**{k: v for k, v in enc.fields(p, f"proj/{p.name}").items()
                if not (k in ("learning", "structure") and v is None)},
             "connectivity": enc.fields(p.connectivity, f"proj/{p.name}/conn")}
            for p in net.projections
        ],
        "probes": [enc.fields(p, f"probe/{i}") for i, p in enumerate(net.probes)],
    }
    if net.readouts:  # files without readouts stay as they were
        meta["readouts"] = [enc.fields(r, f"readout/{i}") for i, r in enumerate(net.readouts)]
    return meta, enc.arrays


def _from_meta(meta: dict, arrays) -> Network:
    if meta.get("format") != FORMAT:
        raise UserError(f"not an nmcompiler IR file (format {meta.get('format')!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise UserError(f"IR format version {meta.get('format_version')} is not supported (this is {FORMAT_VERSION})")
    net = Network(meta["name"], dt=meta["dt"], seed=meta["seed"], duration=meta["duration"])
    for n in meta["nodes"]:
        fields = {k: _decode(v, arrays) for k, v in n.items() if k != "kind"}
        net.add(NODE_KINDS[n["kind"]](**fields))
    for p in meta["projections"]:
        fields = {k: _decode(v, arrays) for k, v in p.items() if k != "connectivity"}
        conn = Connectivity(**{k: _decode(v, arrays) for k, v in p["connectivity"].items()})
        net.connect(Projection(**fields, connectivity=conn))
    for p in meta["probes"]:
        net.probe(Probe(**{k: _decode(v, arrays) for k, v in p.items()}))
    for r in meta.get("readouts", []):
        net.readout(Readout(**{k: _decode(v, arrays) for k, v in r.items()}))
    return net


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def network_digest(net: Network) -> str:
    """SHA-256 of everything :func:`save_network` keeps of ``net`` (equal networks, equal digests)."""
    meta, arrays = _to_meta(net)
    h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}:".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_network(net: Network, path: str | Path) -> Path:
    """Write ``net`` to ``path``: a single file if it ends in ``.npz``, else a directory."""
    meta, arrays = _to_meta(net)
    text = json.dumps(meta, indent=1, sort_keys=True)
    path = Path(path)
    if path.suffix == ".npz":
        arrays = {_META_KEY: np.frombuffer(text.encode(), dtype=np.uint8), **arrays}
        with atomic_open(path, "wb") as f:
            f.write(_npz_bytes(arrays))
    else:  # a folder: its two files as a whole set (a manifest last)
        out = OutputSet(path)
        out.add("arrays.npz", _npz_bytes(arrays))
        out.add("network.json", (text + "\n").encode())
        out.commit()
    return path


def load_network_file(path: str | Path) -> Network:
    """Load an IR written by :func:`save_network` (a ``.npz`` file or a directory)."""
    path = Path(path)
    try:
        if path.is_dir():
            problem = check_set(path) if (path / MANIFEST).exists() else ""
            if problem:
                raise UserError(f"{path}: not a whole saved IR ({problem}): a run killed while writing it, or "
                                "files changed; save the network again")
            meta = json.loads((path / "network.json").read_text())
            with open_npz(path / "arrays.npz") as data:
                arrays = {k: data[k] for k in data.files}
        else:
            with open_npz(path) as data:
                arrays = {k: data[k] for k in data.files}
            meta = json.loads(arrays.pop(_META_KEY).tobytes().decode())
    except (OSError, KeyError, ValueError, RecursionError, zipfile.BadZipFile, UnreadableArray) as exc:
        raise UserError(f"{path}: not a readable nmcompiler IR ({exc})") from None
    if isinstance(meta, dict) and meta.get("format") == FORMAT and meta.get("format_version") != FORMAT_VERSION:
        raise UserError(f"{path}: IR format version {meta.get('format_version')} is not supported (this is "
                        f"{FORMAT_VERSION})")
    problems = checkpoint_problems(meta, arrays) or _array_problems(arrays)
    if problems:
        raise UserError(f"{path}: not a valid nmcompiler IR: " + "; ".join(problems[:5]))
    try:  # the structure as save_network writes it; anything else is a damaged or foreign file
        return _from_meta(meta, arrays).validate()
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, IndexError) as exc:
        raise UserError(f"{path}: not a valid nmcompiler IR ({type(exc).__name__}: {str(exc)[:200]})") from None


_INTEGER_FIELDS = ("indptr", "indices", "delays", "ids", "neurons")  # arrays that hold indices or steps


def _array_problems(arrays: dict[str, np.ndarray]) -> list[str]:
    """Arrays that no field of the IR holds: not real numbers, or indices that are not integers."""
    out = []
    for key, a in arrays.items():
        if a.dtype.kind not in "biuf":
            out.append(f"array '{key}' holds {a.dtype} values, expected real numbers")
        elif key.rsplit("/", 1)[-1] in _INTEGER_FIELDS and a.dtype.kind not in "iu":
            out.append(f"array '{key}' holds {a.dtype} values, expected integers")
    return out
