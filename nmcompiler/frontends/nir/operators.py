"""NIR's linear operators as sparse matrices on C-order flattened signals.

Each function returns ``(matrix, bias, out_shape)``: ``matrix`` is a ``scipy.sparse`` CSR matrix
of shape ``(out_size, in_size)``, ``bias`` a vector of ``out_size`` or None. Convolutions and
pooling are built from index arithmetic, never from dense matrices, in chunks of output
channels so memory stays proportional to the number of non-zero weights.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

__all__ = ["OperatorError", "affine", "scale", "conv", "pool", "flatten_shape", "identity"]

_CHUNK = 4_000_000  # kernel entries x output positions handled at once


class OperatorError(ValueError):
    """An operator's parameters do not fit its input (message names what and how)."""


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


def _pair(value, n: int, name: str, minimum: int = 0) -> tuple[int, ...]:
    """``n`` integers of at least ``minimum`` from a number or a list of ``n`` (or OperatorError)."""
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=np.float64)).reshape(-1)
    except (TypeError, ValueError):
        raise OperatorError(f"{name} {value!r} must be integers") from None
    if arr.size == 1:
        arr = np.repeat(arr, n)
    if arr.size != n:
        raise OperatorError(f"{name} {value!r} needs {n} values")
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)) or np.any(arr < minimum) or np.any(arr > 2**31):
        raise OperatorError(f"{name} {value!r} must be integers from {minimum} up to 2^31")
    return tuple(int(v) for v in arr)


def conv(weight, bias, in_shape, *, stride, padding, dilation, groups, spatial: int):
    """N-d convolution (cross-correlation, as in PyTorch) with zero padding, for N = 1 or 2."""
    weight = np.asarray(weight, dtype=np.float64)
    if weight.ndim != spatial + 2:
        raise OperatorError(f"weight must have {spatial + 2} dimensions, not shape {weight.shape}")
    if len(in_shape) != spatial + 1:
        raise OperatorError(f"input shape {in_shape} must be (channels, {', '.join('HW'[-spatial:])})")
    (groups,) = _pair(groups, 1, "groups", minimum=1)
    c_out, c_per_group = weight.shape[:2]
    c_in = in_shape[0]
    if groups < 1 or c_in != c_per_group * groups or c_out % groups:
        raise OperatorError(f"{c_in} input channels do not fit weight {weight.shape} with groups={groups}")
    kernel = weight.shape[2:]
    stride, dilation = _pair(stride, spatial, "stride", 1), _pair(dilation, spatial, "dilation", 1)
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise OperatorError(f"padding '{padding}' is unknown (use a number, 'valid' or 'same')")
        padding = tuple(0 if padding == "valid" else d * (k - 1) // 2 for k, d in zip(kernel, dilation))
    else:
        padding = _pair(padding, spatial, "padding")
    size = in_shape[1:]
    out = tuple((s + 2 * p - d * (k - 1) - 1) // st + 1
                for s, p, d, k, st in zip(size, padding, dilation, kernel, stride))
    if any(o < 1 for o in out):
        raise OperatorError(f"kernel {kernel} with padding {padding} does not fit input {in_shape}")
    # pad every spatial tuple to 2-D: conv1d is conv2d over a height of 1
    size2, out2, k2 = (1,) * (2 - spatial) + size, (1,) * (2 - spatial) + out, (1,) * (2 - spatial) + kernel
    st2, p2, d2 = (1,) * (2 - spatial) + stride, (0,) * (2 - spatial) + padding, (1,) * (2 - spatial) + dilation
    w = weight.reshape(c_out, c_per_group, *k2)
    oy, ox = np.divmod(np.arange(out2[0] * out2[1]), out2[1])
    rows, cols, vals = [], [], []
    per_channel = max(1, _CHUNK // max(1, c_per_group * k2[0] * k2[1] * oy.size))
    for start in range(0, c_out, per_channel):
        co, cg, ky, kx = np.nonzero(w[start:start + per_channel])
        co = co + start
        weights = w[co, cg, ky, kx]
        ci = (co // (c_out // groups)) * c_per_group + cg
        iy = oy[None, :] * st2[0] - p2[0] + ky[:, None] * d2[0]
        ix = ox[None, :] * st2[1] - p2[1] + kx[:, None] * d2[1]
        ok = (iy >= 0) & (iy < size2[0]) & (ix >= 0) & (ix < size2[1])
        k_idx, pos = np.nonzero(ok)
        rows.append(co[k_idx] * oy.size + pos)
        cols.append((ci[k_idx] * size2[0] + iy[k_idx, pos]) * size2[1] + ix[k_idx, pos])
        vals.append(weights[k_idx])
    shape = (c_out * oy.size, c_in * size2[0] * size2[1])
    matrix = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape)
    out_bias = None
    if bias is not None:
        bias = np.asarray(bias, dtype=np.float64).reshape(-1)
        if bias.size not in (1, c_out):
            raise OperatorError(f"bias has {bias.size} entries for {c_out} output channels")
        out_bias = np.repeat(np.broadcast_to(bias, (c_out,)), oy.size)
    return matrix, out_bias, (c_out, *out)


def pool(in_shape, *, kernel_size, stride, padding, average: bool):
    """SumPool2d / AvgPool2d (average counts padded zeros, like PyTorch's default)."""
    if len(in_shape) != 3:
        raise OperatorError(f"input shape {in_shape} must be (channels, H, W)")
    kernel = _pair(kernel_size, 2, "kernel_size", 1)
    if any(k > 3 * s for k, s in zip(kernel, in_shape[1:])):
        raise OperatorError(f"kernel {kernel} does not fit input {in_shape}")
    c = in_shape[0]
    value = 1.0 / math.prod(kernel) if average else 1.0
    weight = np.zeros((c, 1, *kernel))
    weight[...] = value
    return conv(weight, None, in_shape, stride=stride, padding=padding, dilation=1, groups=c, spatial=2)


def flatten_shape(in_shape: tuple[int, ...], start_dim: int, end_dim: int) -> tuple[int, ...]:
    """Shape after NIR's Flatten; the flat (C-order) data is unchanged."""
    n = len(in_shape)
    start = start_dim + n if start_dim < 0 else start_dim
    end = end_dim + n if end_dim < 0 else end_dim
    if not (0 <= start <= end < n):
        raise OperatorError(f"cannot flatten dims {start_dim}..{end_dim} of shape {in_shape}")
    return (*in_shape[:start], math.prod(in_shape[start:end + 1]), *in_shape[end + 1:])
