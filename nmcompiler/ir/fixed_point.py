"""The fixed-point IR: a float network plus the integer tables a numeric format runs on.

Produced by :class:`nmcompiler.passes.quantize.Quantize`; run by the bit-accurate simulator;
later encoded into configuration images. Integer parameters follow docs/datapath.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..datapath import LearningFormat, NeuronParams, NumericFormat
from .network import Network

__all__ = ["QuantizedPopulation", "QuantizedProjection", "QuantizedLearning", "PopulationReport", "FixedPointNetwork",
           "mantissa_type"]


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


@dataclass(frozen=True, kw_only=True, eq=False)
class QuantizedLearning:
    """The integer learning parameters of one plastic projection (docs/datapath.md, "Learning").

    Plastic weights are held in learning units, the mantissa with ``weight_frac_bits`` more bits
    (``m_min``, ``m_max`` too); a synapse delivers ``R(m / 2^weight_frac_bits) << exponent``.
    Traces step by ``trace_inc`` and decay by ``decay_*`` (multiply settings, ``2^F`` scale) once
    per ``epoch`` ticks; a pre-post pair changes ``m`` by ``R(a_plus x / 2^shift)``, a
    post-pre pair by ``-R(a_minus y / 2^shift)`` (times ``(m_max - m) inv_span / 2^16`` or
    ``(m - m_min) inv_span / 2^16`` when multiplicative), kept in ``[m_min, m_max]``. Rewards are
    integers with ``reward_frac_bits`` fraction bits: explicit ones at ``reward_steps``, or
    ``reward_amounts[k]`` per spike of channel ``k`` of ``reward_node``. ``unit``: learning units
    per unit of the network's weight (``w = m / unit``)."""

    rule: str
    trace_inc: int
    decay_pre: int
    decay_post: int
    decay_eligibility: int
    a_plus: int
    a_minus: int
    shift: int
    m_min: int
    m_max: int
    inv_span: int
    multiplicative: bool
    nearest: bool
    epoch: int
    unit: float
    reward_frac_bits: int = 0
    reward_node: str | None = None
    reward_amounts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reward_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reward_values: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def eligible(self) -> bool:
        return self.rule == "reward_stdp"


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
    learning: QuantizedLearning | None = None  # plastic projections: the mantissas are initial values

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
    learning: LearningFormat | None = None  # the learning engine's formats, when projections learn
