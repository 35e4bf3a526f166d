"""Named random streams: the one source of randomness of every layer (frontends' random
connectors, the simulators' Poisson inputs, sample draws in analyses)."""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["stream"]


def stream(seed: int, *labels: str) -> np.random.Generator:
    """An independent random stream for ``labels`` (e.g. "connector", "e_to_i") under ``seed``.

    Streams depend only on the seed and the labels, so adding or reordering objects in a file
    does not change any other object's random draws.
    """
    key = tuple(zlib.crc32(label.encode()) for label in labels)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
