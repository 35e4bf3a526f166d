"""NIR's linear operators as sparse matrices on C-order flattened signals.

Each function returns ``(matrix, bias, out_shape)``: ``matrix`` is a ``scipy.sparse`` CSR matrix
of shape ``(out_size, in_size)``, ``bias`` a vector of ``out_size`` or None. Convolutions and
pooling also return their stage (:mod:`nmcompiler.ir.convolution`, which builds their matrices
by index arithmetic), so the importer can keep a chain of them as structure.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ...ir.convolution import ShapeError, conv_stage, dense_stage, pool_stage

__all__ = ["OperatorError", "affine", "scale", "conv", "dense_stage", "pool", "flatten_shape", "identity"]

OperatorError = ShapeError  # an operator's parameters do not fit its input (the message names what and how)


def identity(shape: tuple[int, ...]):
    n = math.prod(shape)
    return sp.identity(n, format="csr"), None, shape


def affine(weight: np.ndarray, bias: np.ndarray | None, in_shape: tuple[int, ...]):
    """``y = W x + b`` on the last axis of the input (block-diagonal over leading axes)."""
    weight = np.asarray(weight, dtype=np.float64)
    if weight.ndim != 2:
        raise OperatorError(f"weight must be 2-D (out, in), not shape {weight.shape}")
    n_out, n_in = weight.shape
    if not in_shape or in_shape[-1] != n_in:
        if math.prod(in_shape) == n_in:
            in_shape = (n_in,)
        else:
            raise OperatorError(f"weight expects {n_in} inputs but receives shape {in_shape}")
    lead = math.prod(in_shape[:-1])
    matrix = sp.csr_matrix(weight)
    if lead > 1:
        matrix = sp.kron(sp.identity(lead, format="csr"), matrix, format="csr")
    out_bias = None
    if bias is not None:
        bias = np.asarray(bias, dtype=np.float64).reshape(-1)
        if bias.size not in (1, n_out):
            raise OperatorError(f"bias has {bias.size} entries for {n_out} outputs")
        out_bias = np.tile(np.broadcast_to(bias, (n_out,)), lead)
    return matrix, out_bias, (*in_shape[:-1], n_out)


def scale(factors: np.ndarray, in_shape: tuple[int, ...]):
    factors = np.asarray(factors, dtype=np.float64)
    try:
        full = np.broadcast_to(factors, in_shape).reshape(-1)
    except ValueError:
        raise OperatorError(f"scale of shape {factors.shape} does not broadcast to {in_shape}") from None
    return sp.diags(full, format="csr"), None, in_shape


def conv(weight, bias, in_shape, *, stride, padding, dilation, groups, spatial: int):
    """N-d convolution (cross-correlation, as in PyTorch) with zero padding, for N = 1 or 2:
    ``(matrix, bias, out_shape, stage)``, the stage being the IR's structure of it."""
    stage = conv_stage(weight, in_shape, stride=stride, padding=padding, dilation=dilation, groups=groups,
                       spatial=spatial)
    out_bias = None
    if bias is not None:
        c_out, positions = stage.out_channels, math.prod(stage.out_shape[1:])
        bias = np.asarray(bias, dtype=np.float64).reshape(-1)
        if bias.size not in (1, c_out):
            raise OperatorError(f"bias has {bias.size} entries for {c_out} output channels")
        out_bias = np.repeat(np.broadcast_to(bias, (c_out,)), positions)
    return stage.matrix(), out_bias, stage.out_shape, stage


def pool(in_shape, *, kernel_size, stride, padding, average: bool):
    """SumPool2d / AvgPool2d (average counts padded zeros, like PyTorch's default):
    ``(matrix, None, out_shape, stage)``."""
    stage = pool_stage(in_shape, kernel_size=kernel_size, stride=stride, padding=padding, average=average)
    return stage.matrix(), None, stage.out_shape, stage


def flatten_shape(in_shape: tuple[int, ...], start_dim: int, end_dim: int) -> tuple[int, ...]:
    """Shape after NIR's Flatten; the flat (C-order) data is unchanged."""
    n = len(in_shape)
    start = start_dim + n if start_dim < 0 else start_dim
    end = end_dim + n if end_dim < 0 else end_dim
    if not (0 <= start <= end < n):
        raise OperatorError(f"cannot flatten dims {start_dim}..{end_dim} of shape {in_shape}")
    return (*in_shape[:start], math.prod(in_shape[start:end + 1]), *in_shape[end + 1:])
