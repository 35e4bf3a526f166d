"""The fixed-point IR: a float network plus the integer tables a numeric format runs on.

Produced by :class:`nmcompiler.passes.quantize.Quantize`; run by the bit-accurate simulator;
later encoded into configuration images. Integer parameters follow docs/datapath.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..datapath import NeuronParams, NumericFormat
from .network import Network

__all__ = ["QuantizedPopulation", "QuantizedProjection", "PopulationReport", "FixedPointNetwork", "mantissa_type"]


def mantissa_type(weight_bits: int) -> type:
    """The narrowest of int16, int32 and int64 that holds a ``weight_bits`` mantissa (a 0.3
    billion synapse network keeps its mantissas in 0.6 GB instead of 2.3 GB)."""
    return np.int16 if weight_bits <= 16 else np.int32 if weight_bits <= 32 else np.int64


@dataclass(frozen=True, kw_only=True)
class QuantizedPopulation:
    name: str
    size: int
    scale: float  # integer units per volt, relative to the rest potential: v_int = (v - v_leak) * scale
    params: NeuronParams
    v0: np.ndarray  # initial v (int)
    i0: np.ndarray  # initial currents (R, n) (int)


@dataclass(frozen=True, kw_only=True)
class QuantizedProjection:
    """Integer synapses: a spike of ``pre`` adds ``mantissa << exponent`` to ``post``'s channel."""

    name: str
    pre: str
    post: str
    channel: int
    indptr: np.ndarray
    indices: np.ndarray
    mantissa: np.ndarray  # (nnz,) of mantissa_type(weight_bits): int16 for up to 16 bits
    exponent: int
    delays: np.ndarray  # int ticks (the IR's own int32 array), () or (nnz,)

    @property
    def weights(self) -> np.ndarray:
        """``mantissa << exponent`` in int64."""
        return self.mantissa.astype(np.int64) << self.exponent


@dataclass(frozen=True, kw_only=True)
class PopulationReport:
    name: str
    scale: float
    exponent: int | None
    weight_sqnr_db: float | None  # signal-to-quantization-noise of the incoming weights
    weights_clipped: int
    decay_error: float  # largest relative error of a decay factor
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(self).items()}


@dataclass(frozen=True, kw_only=True)
class FixedPointNetwork:
    network: Network  # the float network it was made from (names, sources, probes)
    format: NumericFormat
    populations: dict[str, QuantizedPopulation]
    projections: dict[str, QuantizedProjection]
    report: dict[str, PopulationReport] = field(default_factory=dict)
