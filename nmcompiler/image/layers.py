"""Convolution cores in the image (format version 4): a ``layer`` section per core instead of
synapse rows (docs/image-format.md, "layer").

A convolution core holds its layer's geometry, the sources that feed it (with the sum-pooling
window each applies to the spikes it sends) and its kernel memory: one integer mantissa per
(output channel of the core, input channel, kernel row, kernel column), the channels
``[c0, c1)`` of the layer the core runs. Running it means lowering that kernel to the synapses it
makes (:meth:`LayerImage.entries`); the image never lists them.

The kernel is read off the quantized network: each synapse of a convolution projection comes
from exactly one kernel entry (pooling windows do not overlap), found by lowering the structure
with entry numbers for weights; every synapse of an entry must carry the same mantissa.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..ir.convolution import ConvStage, Convolution, pool_stage
from ..ir.fixed_point import FixedPointNetwork

__all__ = ["SOURCE_DTYPE", "LayerImage", "layer_images"]

SOURCE_DTYPE = np.dtype([("first", "<u4"), ("channels", "<u4"), ("height", "<u4"), ("width", "<u4"),
                         ("pool", "<u4")])
_HEADER = struct.Struct("<" + "I" * 16 + "iII")  # C H W, F Ho Wo, c0 c1, kh kw sy sx py px dy dx, exp, bytes, S


@dataclass(frozen=True, kw_only=True, eq=False)
class LayerImage:
    in_shape: tuple[int, int, int]  # the map the kernel reads (after pooling)
    out_shape: tuple[int, int, int]  # the layer's whole output map
    channels: tuple[int, int]  # [c0, c1): the output channels this core runs
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    exponent: int  # weights = mantissa << exponent
    sources: np.ndarray  # SOURCE_DTYPE: first presynaptic index, the source's map, its pooling window
    kernel: np.ndarray  # (c1 - c0, C, kh, kw) int16 mantissas
    width: int = 1  # bytes per kernel word: 1 for weights of up to 8 bits, else 2

    def pack(self) -> bytes:
        width = self.width
        kh, kw = self.kernel.shape[2:]
        head = _HEADER.pack(*self.in_shape, *self.out_shape, *self.channels, kh, kw, *self.stride, *self.padding,
                            *self.dilation, self.exponent, width, self.sources.size)
        dtype = "<i1" if width == 1 else "<i2"
        limit = 1 << (8 * width - 1)
        if self.kernel.size and not -limit <= int(self.kernel.min()) <= int(self.kernel.max()) < limit:
            raise UserError(f"a kernel mantissa does not fit {width}-byte kernel words")
        return head + self.sources.astype(SOURCE_DTYPE).tobytes() + np.ascontiguousarray(self.kernel, dtype=dtype).tobytes()

    @classmethod
    def unpack(cls, reader, core: int) -> LayerImage:
        values = reader.unpack(_HEADER.format)
        C, H, W, F, Ho, Wo, c0, c1, kh, kw, sy, sx, py, px, dy, dx, exponent, width, count = values
        size = (c1 - c0) * C * kh * kw
        if width not in (1, 2) or not 0 <= exponent <= 62 or c1 <= c0 or c1 > F or min(C, H, W, kh, kw, sy, sx, dy, dx) < 1:
            raise UserError(f"layer section of core {core}: corrupted geometry (channels {c0}..{c1} of {F}, kernel "
                            f"{kh}x{kw}, {width}-byte weights, exponent {exponent})")
        sources = reader.array(SOURCE_DTYPE, count)
        kernel = reader.array("<i1" if width == 1 else "<i2", size, (c1 - c0, C, kh, kw)).astype(np.int16)
        reader.done()
        return cls(in_shape=(C, H, W), out_shape=(F, Ho, Wo), channels=(c0, c1), stride=(sy, sx), padding=(py, px),
                   dilation=(dy, dx), exponent=exponent, sources=sources, kernel=kernel, width=width)

    def to_json(self) -> dict:
        return {"in_shape": list(self.in_shape), "out_shape": list(self.out_shape), "channels": list(self.channels),
                "kernel_size": list(self.kernel.shape[2:]), "stride": list(self.stride),
                "padding": list(self.padding), "dilation": list(self.dilation), "exponent": self.exponent,
                "word_bytes": self.width,
                "sources": [{k: int(s[k]) for k in SOURCE_DTYPE.names} for s in self.sources],
                "kernel": self.kernel.tolist()}

    def problems(self, n_local: int, n_pre: int) -> list[str]:
        """What contradicts the core's ``n_local`` neurons or the image's ``n_pre`` presynaptic
        indices (a source's map must lie inside them)."""
        out = []
        C, H, W = self.in_shape
        F, Ho, Wo = self.out_shape
        if (self.channels[1] - self.channels[0]) * Ho * Wo != n_local:
            out.append(f"channels {self.channels[0]}..{self.channels[1]} of a {Ho}x{Wo} map make "
                       f"{(self.channels[1] - self.channels[0]) * Ho * Wo} neurons, the core holds {n_local}")
        kh, kw = self.kernel.shape[2:]
        size = [(s + 2 * p - d * (k - 1) - 1) // st + 1 for s, p, d, k, st in
                zip((H, W), self.padding, self.dilation, (kh, kw), self.stride)]
        if size != [Ho, Wo]:
            out.append(f"a {kh}x{kw} kernel over {H}x{W} gives {size[0]}x{size[1]}, not the layer's {Ho}x{Wo}")
        for s in self.sources:
            p = int(s["pool"])
            if int(s["first"]) + int(s["channels"]) * int(s["height"]) * int(s["width"]) > n_pre:
                out.append(f"a source map of {s['channels']}x{s['height']}x{s['width']} from index {s['first']} "
                           f"passes the {n_pre} presynaptic indices")
                continue
            if p < 1 or int(s["channels"]) != C or int(s["height"]) // p != H or int(s["width"]) // p != W:
                out.append(f"a source of {s['channels']}x{s['height']}x{s['width']} pooled {p} does not give the "
                           f"kernel's input {C}x{H}x{W}")
        return out

    def _stages(self, source) -> tuple[ConvStage, ...]:
        c, h, w, p = (int(source[k]) for k in ("channels", "height", "width", "pool"))
        pool = (pool_stage((c, h, w), kernel_size=p, stride=p, padding=0, average=False),) if p > 1 else ()
        conv = ConvStage(kind="conv", in_shape=self.in_shape, weight=self.kernel.astype(np.float64),
                         kernel=self.kernel.shape[2:], stride=self.stride, padding=self.padding,
                         dilation=self.dilation, groups=1)
        return (*pool, conv)

    def entries(self, n_local: int, n_pre: int):
        """The synapses the kernel makes, as the image's rows would list them: global source,
        local neuron, channel 0, delay 1, integer weight."""
        problems = self.problems(n_local, n_pre)
        if problems:
            raise UserError("layer section: " + "; ".join(problems))
        src, j, w = [], [], []
        for source in self.sources:
            m = Convolution(stages=self._stages(source)).matrix().tocoo()
            src.append(int(source["first"]) + m.col.astype(np.int64))
            j.append(m.row.astype(np.int64))
            w.append(np.rint(m.data).astype(np.int64) << self.exponent)
        src = np.concatenate(src) if src else np.zeros(0, np.int64)
        j = np.concatenate(j) if j else np.zeros(0, np.int64)
        w = np.concatenate(w) if w else np.zeros(0, np.int64)
        return src, j, np.zeros_like(j), np.ones_like(j), w


def _planar_stage(stage: ConvStage, kind: str, weight) -> ConvStage:
    """``stage`` in two dimensions, as ``kind`` with ``weight``."""
    g = stage.planar()
    return ConvStage(kind=kind, in_shape=g.in_shape, weight=weight, kernel=g.kernel, stride=g.stride,
                     padding=g.padding, dilation=g.dilation, groups=stage.groups)


def _kernel_of(fxp: FixedPointNetwork, name: str, structure: Convolution) -> tuple[np.ndarray, int]:
    """The kernel mantissas ``(F, C, kh, kw)`` of projection ``name`` and its exponent, read off
    its quantized synapses (every synapse of one kernel entry must carry one mantissa)."""
    final = structure.stages[-1]
    g = final.planar()
    shape = (final.out_channels, int(final.kernel_weights().shape[1]), *g.kernel)
    ids = np.arange(1, math.prod(shape) + 1, dtype=np.float64).reshape(shape)  # entry numbers for weights
    pools = [_planar_stage(s, "sum_pool", s.weight) for s in structure.stages[:-1]]  # avg: its 1/k^2 is quantized in
    by_pre = Convolution(stages=(*pools, _planar_stage(final, "conv", ids))).matrix().T.tocsr()
    by_pre.sort_indices()
    n_post = by_pre.shape[1]
    id_keys = np.repeat(np.arange(by_pre.shape[0], dtype=np.int64), np.diff(by_pre.indptr)) * n_post + by_pre.indices
    q = fxp.projections[name]
    keys = np.repeat(np.arange(q.indptr.size - 1, dtype=np.int64), np.diff(q.indptr)) * n_post + q.indices
    at = np.minimum(np.searchsorted(id_keys, keys), max(id_keys.size - 1, 0))  # both ascend: (pre, post) order
    if keys.size and (id_keys.size == 0 or np.any(id_keys[at] != keys)):
        raise UserError(f"projection '{name}': a synapse is not made by its kernel (the structure does not describe it)")
    entry = by_pre.data[at].astype(np.int64) - 1
    kernel = np.zeros(ids.size, dtype=np.int64)
    kernel[entry] = q.mantissa
    if np.any(kernel[entry] != q.mantissa):
        raise UserError(f"projection '{name}': quantization gave one kernel entry different mantissas")
    return kernel.reshape(shape), int(q.exponent)


def layer_images(mapping, fxp: FixedPointNetwork, offsets: dict[str, int]) -> list[LayerImage]:
    """One :class:`LayerImage` per logical core of a convolution mapping (``mapping.layer_parts``)."""
    net = fxp.network
    out, known = [], {}  # a layer's kernel, read once for all its parts
    for part in mapping.layer_parts:
        incoming = net.spiking_projections(part.layer)
        structures = [p.kernel_structure() for p in incoming]
        if part.layer not in known:
            known[part.layer] = [_kernel_of(fxp, p.name, s) for p, s in zip(incoming, structures)]
        kernels = known[part.layer]
        kernel, exponent = kernels[0]
        if any(e != exponent or not np.array_equal(k, kernel) for k, e in kernels[1:]):
            raise UserError(f"layer '{part.layer}': its projections' quantized kernels differ; a core stores one")
        final = structures[0].stages[-1]
        if final.groups != 1:
            raise UserError(f"layer '{part.layer}': grouped convolutions have no image layout yet")
        sources = np.zeros(len(incoming), dtype=SOURCE_DTYPE)
        for k, (p, st) in enumerate(zip(incoming, structures)):
            window = math.prod(s.kernel[0] for s in st.stages[:-1])  # square, stride = window (drc)
            sources[k] = (offsets[p.pre], *st.stages[0].planar().in_shape, window)
        g, (c0, c1) = final.planar(), part.channels
        out.append(LayerImage(in_shape=g.in_shape, out_shape=g.out_shape, channels=(c0, c1), stride=g.stride,
                              padding=g.padding, dilation=g.dilation, exponent=exponent, sources=sources,
                              kernel=kernel[c0:c1].astype(np.int16), width=1 if fxp.format.weight_bits <= 8 else 2))
    return out
