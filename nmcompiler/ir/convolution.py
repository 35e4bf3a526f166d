r"""Convolutional connectivity kept as structure.

A :class:`Convolution` is what a projection computes when it is a chain of convolution and
pooling stages over a feature map: ``y = gain * S_k(... S_1(x))`` on C-order flattened maps
(channels first, as PyTorch and NIR). Each :class:`ConvStage` is a cross-correlation
(Conv1d / Conv2d, zero padding, PyTorch's convention), a sum / average pooling (a depthwise
convolution with a constant kernel), or a dense layer over the whole map (NIR's Linear after a
Flatten: a convolution whose kernel covers the input, as convolution chips run it). ``matrix()`` lowers the chain to the sparse
``(out, in)`` matrix every simulator and every target without convolution storage uses; a
projection that keeps a structure holds exactly that lowering as its connectivity (the NIR
importer builds both from the same stages; :meth:`Convolution.connectivity` rebuilds it).

Convolution targets (speck-like) read the kernels, strides and shapes from here instead of the
synapse list, so a kernel is stored once per layer and not once per output position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._record import ArrayRecord

__all__ = ["ConvStage", "Convolution", "Planar", "ShapeError", "conv_stage", "dense_stage", "pool_stage", "STAGE_KINDS"]

STAGE_KINDS = ("conv", "sum_pool", "avg_pool", "dense")
_CHUNK = 4_000_000  # kernel entries x output positions handled at once


class ShapeError(ValueError):
    """A stage's parameters do not fit its input (the message names what and how)."""


def _ints(value, n: int, name: str, minimum: int = 0) -> tuple[int, ...]:
    """``n`` integers of at least ``minimum`` from a number or a list of ``n`` (or ShapeError)."""
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=np.float64)).reshape(-1)
    except (TypeError, ValueError):
        raise ShapeError(f"{name} {value!r} must be integers") from None
    if arr.size == 1:
        arr = np.repeat(arr, n)
    if arr.size != n:
        raise ShapeError(f"{name} {value!r} needs {n} values")
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)) or np.any(arr < minimum) or np.any(arr > 2**31):
        raise ShapeError(f"{name} {value!r} must be integers from {minimum} up to 2^31")
    return tuple(int(v) for v in arr)


def _map3(shape) -> tuple[int, int, int]:
    shape = tuple(int(v) for v in shape)
    return (shape[0], 1, 1) if len(shape) == 1 else (shape[0], 1, shape[1]) if len(shape) == 2 else shape


@dataclass(frozen=True, kw_only=True)
class Planar:
    """A stage's geometry in two dimensions (:meth:`ConvStage.planar`)."""

    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]


@dataclass(frozen=True, kw_only=True, eq=False)
class ConvStage(ArrayRecord):
    """One convolution or pooling over an input of ``in_shape`` ``(C, L)`` or ``(C, H, W)``.

    ``weight`` is ``(c_out, c_in / groups, *kernel)`` for a convolution; a pooling has an empty
    weight and ``kernel`` (its window), ``groups = C`` and a kernel of ones (sum) or of
    ``1 / prod(kernel)`` (average, padded zeros counted as PyTorch does by default). A dense
    stage has a 2-D weight ``(n_out, prod(in_shape))``, a kernel of the map's spatial size, no
    stride, padding or dilation, and gives ``(n_out,)``."""

    kind: str
    in_shape: tuple[int, ...]
    weight: np.ndarray
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int

    def __post_init__(self) -> None:
        self._set("in_shape", tuple(int(v) for v in self.in_shape))
        self._set("weight", np.asarray(self.weight, dtype=np.float64))
        for name in ("kernel", "stride", "padding", "dilation"):
            self._set(name, tuple(int(v) for v in getattr(self, name)))
        self._set("groups", int(self.groups))

    @property
    def spatial(self) -> int:
        return len(self.in_shape) - 1

    @property
    def out_channels(self) -> int:
        return int(self.weight.shape[0]) if self.kind in ("conv", "dense") else self.in_shape[0]

    @property
    def out_shape(self) -> tuple[int, ...]:
        if self.kind == "dense":
            return (self.out_channels,)
        size = self.in_shape[1:]
        return (self.out_channels, *((s + 2 * p - d * (k - 1) - 1) // st + 1 for s, p, d, k, st in
                                     zip(size, self.padding, self.dilation, self.kernel, self.stride)))

    def planar(self) -> Planar:
        """The stage as a 2-D one over ``(C, H, W)``: a map of ``(C, L)`` is ``(C, 1, L)``, ``(n,)``
        is ``(n, 1, 1)``; a dense stage is a kernel of the map's size, stride 1, no padding."""
        two = lambda t, fill: (fill, *t) if len(t) == 1 else tuple(t) if t else (fill, fill)  # noqa: E731
        return Planar(in_shape=_map3(self.in_shape), out_shape=_map3(self.out_shape),
                      kernel=two(self.kernel, 1), stride=two(self.stride, 1), padding=two(self.padding, 0),
                      dilation=two(self.dilation, 1))

    def kernel_weights(self) -> np.ndarray:
        """``(c_out, c_in / groups, *kernel)``: the convolution's weight, or the pooling's constant."""
        if self.kind == "conv":
            return self.weight
        if self.kind == "dense":
            return self.weight.reshape(self.out_channels, self.in_shape[0], *self.kernel)
        value = 1.0 / math.prod(self.kernel) if self.kind == "avg_pool" else 1.0
        return np.full((self.in_shape[0], 1, *self.kernel), value)

    def problems(self) -> list[str]:
        if self.kind not in STAGE_KINDS:
            return [f"stage kind '{self.kind}' is unknown (one of {', '.join(STAGE_KINDS)})"]
        if self.kind == "dense":
            ok = self.weight.ndim == 2 and self.weight.shape[1] == math.prod(self.in_shape) and self.groups == 1
            return [] if ok and self.kernel == tuple(self.in_shape[1:]) else [
                f"a dense stage over {self.in_shape} needs a weight (n_out, {math.prod(self.in_shape)}), not "
                f"{self.weight.shape}"]
        n = self.spatial
        if n not in (1, 2) or any(len(getattr(self, a)) != n for a in ("kernel", "stride", "padding", "dilation")):
            return [f"a {self.kind} over input {self.in_shape} needs {max(n, 1)} kernel, stride, padding and "
                    "dilation values, 1 or 2 spatial dimensions"]
        if self.kind != "conv" and any(k < 1 or k > 3 * max(1, s) for k, s in zip(self.kernel, self.in_shape[1:])):
            return [f"pooling kernel {self.kernel} does not fit input {self.in_shape}"]  # before building it
        try:
            _check(self.kernel_weights(), self.in_shape, self.stride, self.padding, self.dilation, self.groups)
        except ShapeError as exc:
            return [str(exc)]
        return []

    def matrix(self) -> sp.csr_matrix:
        """The stage as a sparse ``(out_size, in_size)`` matrix, built by index arithmetic in chunks
        of output channels (memory proportional to the non-zero weights, never dense)."""
        if self.kind == "dense":
            return sp.csr_matrix(self.weight)
        return _conv_matrix(self.kernel_weights(), self.in_shape, self.out_shape, self.stride, self.padding,
                            self.dilation, self.groups)


def _check(weight, in_shape, stride, padding, dilation, groups) -> None:
    c_out, c_per_group = weight.shape[:2]
    c_in = in_shape[0]
    if groups < 1 or c_in != c_per_group * groups or c_out % groups:
        raise ShapeError(f"{c_in} input channels do not fit weight {weight.shape} with groups={groups}")
    kernel = weight.shape[2:]
    out = [(s + 2 * p - d * (k - 1) - 1) // st + 1
           for s, p, d, k, st in zip(in_shape[1:], padding, dilation, kernel, stride)]
    if any(o < 1 for o in out):
        raise ShapeError(f"kernel {tuple(kernel)} with padding {tuple(padding)} does not fit input {tuple(in_shape)}")


def conv_stage(weight, in_shape, *, stride, padding, dilation, groups, spatial: int) -> ConvStage:
    """A convolution stage from NIR / PyTorch parameters (``padding`` may be 'valid' or 'same')."""
    weight = np.asarray(weight, dtype=np.float64)
    if weight.ndim != spatial + 2:
        raise ShapeError(f"weight must have {spatial + 2} dimensions, not shape {weight.shape}")
    if len(in_shape) != spatial + 1:
        raise ShapeError(f"input shape {tuple(in_shape)} must be (channels, {', '.join('HW'[-spatial:])})")
    (groups,) = _ints(groups, 1, "groups", minimum=1)
    kernel = weight.shape[2:]
    stride, dilation = _ints(stride, spatial, "stride", 1), _ints(dilation, spatial, "dilation", 1)
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ShapeError(f"padding '{padding}' is unknown (use a number, 'valid' or 'same')")
        padding = tuple(0 if padding == "valid" else d * (k - 1) // 2 for k, d in zip(kernel, dilation))
    else:
        padding = _ints(padding, spatial, "padding")
    _check(weight, in_shape, stride, padding, dilation, groups)
    return ConvStage(kind="conv", in_shape=in_shape, weight=weight, kernel=kernel, stride=stride, padding=padding,
                     dilation=dilation, groups=groups)


def pool_stage(in_shape, *, kernel_size, stride, padding, average: bool) -> ConvStage:
    """SumPool2d / AvgPool2d over ``(C, H, W)``."""
    if len(in_shape) != 3:
        raise ShapeError(f"input shape {tuple(in_shape)} must be (channels, H, W)")
    kernel = _ints(kernel_size, 2, "kernel_size", 1)
    if any(k > 3 * s for k, s in zip(kernel, in_shape[1:])):
        raise ShapeError(f"kernel {kernel} does not fit input {tuple(in_shape)}")
    c = in_shape[0]
    ones = np.ones((c, 1, *kernel))
    stride = _ints(stride, 2, "stride", 1)
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ShapeError(f"padding '{padding}' is unknown (use a number, 'valid' or 'same')")
        padding = tuple(0 if padding == "valid" else (k - 1) // 2 for k in kernel)
    else:
        padding = _ints(padding, 2, "padding")
    _check(ones, in_shape, stride, padding, (1, 1), c)
    return ConvStage(kind="avg_pool" if average else "sum_pool", in_shape=in_shape, weight=np.zeros(0),
                     kernel=kernel, stride=stride, padding=padding, dilation=(1, 1), groups=c)


def dense_stage(weight, map_shape) -> ConvStage:
    """NIR's Linear / Affine over a whole (flattened) map of ``map_shape``."""
    weight = np.asarray(weight, dtype=np.float64)
    if weight.ndim != 2 or weight.shape[1] != math.prod(map_shape):
        raise ShapeError(f"weight {weight.shape} does not take a map of {tuple(map_shape)}")
    return ConvStage(kind="dense", in_shape=map_shape, weight=weight, kernel=tuple(map_shape[1:]), stride=(),
                     padding=(), dilation=(), groups=1)


def _conv_matrix(weight, in_shape, out, stride, padding, dilation, groups) -> sp.csr_matrix:
    spatial = len(in_shape) - 1
    c_out, c_per_group = weight.shape[:2]
    c_in = in_shape[0]
    pad = (1,) * (2 - spatial)  # conv1d is conv2d over a height of 1
    size2, out2, k2 = pad + tuple(in_shape[1:]), pad + tuple(out[1:]), pad + tuple(weight.shape[2:])
    st2, p2, d2 = pad + tuple(stride), (0,) * (2 - spatial) + tuple(padding), pad + tuple(dilation)
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
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape)


@dataclass(frozen=True, kw_only=True, eq=False)
class Convolution(ArrayRecord):
    """``gain * S_k(... S_1(x))``: the stages in order, each fed by the one before."""

    stages: tuple[ConvStage, ...]
    gain: float = 1.0

    def __post_init__(self) -> None:
        self._set("stages", tuple(self.stages))
        self._set("gain", float(self.gain))

    @property
    def in_shape(self) -> tuple[int, ...]:
        return self.stages[0].in_shape

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.stages[-1].out_shape

    @property
    def convolution(self) -> ConvStage | None:
        """The one ``conv`` stage (the kernel a convolution core stores), or None (pooling only)."""
        convs = [s for s in self.stages if s.kind == "conv"]
        return convs[0] if len(convs) == 1 else None

    def problems(self) -> list[str]:
        if not self.stages:
            return ["a convolution needs at least one stage"]
        out = [f"stage {i}: {p}" for i, s in enumerate(self.stages) for p in s.problems()]
        for i, (a, b) in enumerate(zip(self.stages, self.stages[1:])):
            if not out and a.out_shape != b.in_shape:
                out.append(f"stage {i + 1} takes {b.in_shape} but stage {i} gives {a.out_shape}")
        if not np.isfinite(self.gain):
            out.append("gain must be finite")
        return out

    def matrix(self) -> sp.csr_matrix:
        """The lowering, ``(out_size, in_size)``: stage matrices multiplied in order from the identity,
        exactly as the NIR importer composes a chain of operators."""
        t = sp.identity(math.prod(self.in_shape), format="csr")
        for stage in self.stages:
            t = (stage.matrix() @ t).tocsr()
        return t
