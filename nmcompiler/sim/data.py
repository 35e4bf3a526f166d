"""Samples of input data (``--data FILE.npz --encode rate|current|events``), checked once and
turned into what a simulation takes: spikes for a spike source, or a constant current."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..fileio import UnreadableArray, open_npz
from ..ir import CurrentSource, SpikeSource
from ..streams import stream

__all__ = ["ENCODINGS", "SampleData", "rate_spikes"]

ENCODINGS = ("rate", "current", "events")


def rate_spikes(sample: np.ndarray, steps: int, seed: int, k: int) -> np.ndarray:
    """Sample ``k`` as (steps, features) Bernoulli spikes of probability ``sample`` per step (the
    stream of ``--encode rate``, so every consumer sees the same spikes)."""
    return stream(seed, "encode", str(k)).random((steps, sample.size)) < np.clip(sample, 0, 1)


@dataclass(frozen=True, eq=False)
class SampleData:
    """``x``: (samples, features) values (rate: spike probability per step, current: amplitude)
    or, for ``events``, (samples, steps, channels...) 0/1 spikes; ``y``: integer labels or None."""

    x: np.ndarray
    y: np.ndarray | None
    encode: str
    where: str = "data"

    @classmethod
    def load(cls, path: Path, encode: str | None, *, labels: bool = True) -> SampleData:
        """Read ``x`` (and ``y``; required with ``labels``) from an .npz; ``encode`` None: events
        for (samples, steps, channels) arrays, rate for (samples, features)."""
        need = f"need an .npz with an array x{' and labels y' if labels else ''}"
        try:
            with open_npz(path) as f:
                if "x" not in f.files:
                    raise UserError(f"{path}: {need} (it has {', '.join(f.files) or 'no arrays'})")
                x = f["x"]
                y = f["y"] if "y" in f.files else None
        except UnreadableArray as exc:
            raise UserError(f"{path}: {need}: {exc}") from None
        if labels and y is None:
            raise UserError(f"{path}: no labels: the .npz needs an array y (one integer label per sample)")
        return cls.of(x, y, encode or ("events" if x.ndim >= 3 else "rate"), where=str(path))

    @classmethod
    def of(cls, x, y, encode: str, where: str = "data") -> SampleData:
        x, y = np.asarray(x), None if y is None else np.asarray(y)
        if encode not in ENCODINGS:
            raise UserError(f"unknown encoding '{encode}' (use {', '.join(ENCODINGS)})")
        if x.dtype.kind not in "biuf" or (y is not None and y.dtype.kind not in "iu"):
            raise UserError(f"{where}: x must be numbers and y integer labels, got dtypes {x.dtype} and "
                            f"{None if y is None else y.dtype}")
        events = encode == "events"
        shape = "(samples, steps, channels) 0/1 spikes" if events else "(samples, features)"
        if (x.ndim < 3 if events else x.ndim != 2) or not x.shape[0] or (y is not None and y.shape != (x.shape[0],)):
            raise UserError(f"{where}: x must be {shape} and y (samples,), got {x.shape} and "
                            f"{None if y is None else y.shape}")
        if not np.all(np.isfinite(x)) or (y is not None and y.size and y.min() < 0):
            raise UserError(f"{where}: x must be finite and labels y non-negative")
        if events and not np.isin(x, (0, 1)).all():
            raise UserError(f"{where}: events must be 0 or 1 (spike or not), found {np.unique(x[~np.isin(x, (0, 1))])[:3].tolist()}")
        return cls(x=x if events else x.astype(np.float64), y=None if y is None else y.astype(np.int64),
                   encode=encode, where=where)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def channels(self) -> int:
        return int(np.prod(self.x.shape[2:] if self.encode == "events" else self.x.shape[1:]))

    @property
    def sample_steps(self) -> int | None:
        """The steps of an event sample (None for rate and current data)."""
        return int(self.x.shape[1]) if self.encode == "events" else None

    def source_kind(self) -> type:
        return CurrentSource if self.encode == "current" else SpikeSource

    def pick_source(self, sources, name: str | None = None) -> str:
        """The source of ``sources`` (a model's ``.sources``) that takes the data: ``name``, or the
        only one of the right kind and size."""
        kind = self.source_kind()
        if name is not None:
            if not any(s.name == name and isinstance(s, kind) for s in sources):
                raise UserError(f"input '{name}' is not a {kind.__name__} of this network (the data's encoding "
                                f"'{self.encode}' needs one)")
            return name
        fits = [s.name for s in sources if isinstance(s, kind) and s.size == self.channels
                and getattr(s, "mirror_of", None) is None]  # a mirror sends what its original is given
        if len(fits) != 1:
            raise UserError(f"{self.where}: need exactly one {kind.__name__} with {self.channels} channels for the "
                            f"data, found {fits or 'none'}: name it with --input-source")
        return fits[0]

    def check_labels(self, classes: int, output: str) -> None:
        if self.y is not None and self.y.size and self.y.max() >= classes:
            raise UserError(f"{self.where}: labels go up to {self.y.max()} but output population '{output}' has "
                            f"{classes} neurons: labels must be in [0, {classes})")

    def spikes(self, k: int, steps: int, seed: int) -> np.ndarray:
        """Sample ``k`` as spikes: the events themselves, or rate-coded over ``steps``."""
        if self.encode == "current":
            raise UserError(f"{self.where}: current-encoded data drives a current source, not spikes")
        return self.x[k] if self.encode == "events" else rate_spikes(self.x[k], steps, seed, k)
