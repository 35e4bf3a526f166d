"""Encodings a target's numbers imply, defined once: the fields of a synapse entry, the key of an
input axon, and one storage-layout object per kind of synapse memory (sparse, word32, crossbar,
convolution, cam).

Usage counting (:mod:`nmcompiler.mapping.usage`), the image (:mod:`nmcompiler.image`) and the
program decoded from it all take their widths from here, so that a target derived with other
numbers (a longer delay range, more neurons per core) changes every one of them together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from numba import njit

if TYPE_CHECKING:
    from .target import Target

__all__ = ["CROSSBAR_ROW_DELAY_MAX", "ENTRY_BITS", "CamLayout", "ConvolutionLayout", "CrossbarLayout", "EntryLayout",
           "EntryShifts", "SparseLayout", "StorageLayout", "SynapseFields", "Word32Layout", "axon_key_stride", "axon_keys",
           "storage_layout"]

ENTRY_BITS = 32  # a synapse entry or word of the image
WORD32_LOW_BITS = 16  # word32: index, channel and delay in the low half, the weight mantissa in the high half
CROSSBAR_ROW_DELAY_MAX = 255  # crossbar: an axon row stores its delay in one byte (image ROW_DTYPE)
CAM_CORES_PER_CHIP = 8  # cam: an SRAM entry's core mask is one byte (image SRAM_DTYPE)


@dataclass(frozen=True)
class EntryShifts:
    """Where a 32-bit synapse entry holds each field: the lowest bit of the local index, the
    channel, delay - 1 and the weight mantissa, and the mantissa's width (two's complement)."""

    index: int
    channel: int
    delay: int
    mantissa: int
    mantissa_bits: int

    def args(self) -> tuple[int, int, int, int, int]:
        """(index, channel, delay, mantissa shift, mantissa mask): :func:`entry_word`'s arguments."""
        return self.index, self.channel, self.delay, self.mantissa, (1 << self.mantissa_bits) - 1


@njit(cache=True, nogil=True, inline="always")
def entry_word(index, channel, delay, mantissa, s_index, s_channel, s_delay, s_mantissa, mantissa_mask):
    """One synapse's entry: each field wrapped to 32 bits and shifted to its place, the mantissa
    to its two's complement, the word wrapped to 32 bits (:class:`EntryShifts`)."""
    low = np.int64(0xFFFFFFFF)
    w = (((np.int64(index) & low) << s_index) | ((np.int64(channel) & low) << s_channel)
         | (((np.int64(delay) - 1) & low) << s_delay) | ((np.int64(mantissa) & mantissa_mask) << s_mantissa))
    return np.uint32(w & low)


@njit(cache=True, nogil=True)
def _pack_entries(index, channel, delay, mantissa, s_index, s_channel, s_delay, s_mantissa, mantissa_mask, out):
    """:meth:`EntryLayout.pack` entry by entry (one pass, no temporaries)."""
    for i in range(out.size):
        out[i] = entry_word(index[i], channel[i], delay[i], mantissa[i], s_index, s_channel, s_delay, s_mantissa,
                            mantissa_mask)


def _pack_args(index, channel, delay, mantissa, out):
    """The fields as int64 arrays of ``index``'s shape, and ``out`` (a new uint32 array if None)."""
    shape = np.shape(index)
    fields = [np.broadcast_to(np.asarray(a).astype(np.int64, copy=False), shape) for a in (index, channel, delay, mantissa)]
    if out is None:
        out = np.empty(shape, dtype=np.uint32)
    elif out.shape != shape or out.dtype != np.uint32 or not out.flags.c_contiguous:
        raise ValueError(f"pack: out must be contiguous uint32 of shape {shape}, not {out.dtype} {out.shape}")
    return (*fields, out)


def _signed(x: np.ndarray, bits: int) -> np.ndarray:
    """The signed value of ``bits``-bit two's-complement fields."""
    x = x & ((1 << bits) - 1)
    return np.where(x >= (1 << (bits - 1)), x - (1 << bits), x)


def _bits(n: int) -> int:
    """Bits that hold the values 0 .. n - 1 (at least 1)."""
    return max(1, math.ceil(math.log2(max(1, n))))


@dataclass(frozen=True)
class SynapseFields:
    """Bit widths of a synapse entry: local neuron index, delay - 1, current channel, weight."""

    index: int
    delay: int
    channel: int
    weight: int

    @classmethod
    def of(cls, target: Target) -> SynapseFields:
        fmt = target.format
        return cls(index=_bits(target.core.neurons), delay=_bits(fmt.delay_max),
                   channel=max(0, math.ceil(math.log2(max(1, fmt.receptors)))), weight=fmt.weight_bits)

    @property
    def total(self) -> int:
        return self.index + self.delay + self.channel + self.weight


def axon_key_stride(delay_max: int) -> int:
    """The smallest power of two above ``delay_max``: an axon key's delay part ranges below it."""
    return 1 << int(delay_max).bit_length()


def axon_keys(pre: np.ndarray, delay: np.ndarray, delay_max: int) -> np.ndarray:
    """The key of an input axon (one presynaptic source at one delay): ``pre * stride + delay``
    with :func:`axon_key_stride` of ``delay_max``, so that keys ascend by source, then delay,
    and no two (source, delay) pairs share one. Raises ``ValueError`` for a delay outside
    ``1 .. delay_max``."""
    delay = np.asarray(delay, dtype=np.int64)
    if delay.size and (int(delay.min()) < 1 or int(delay.max()) > delay_max):
        raise ValueError(f"axon key: delays must lie in [1, {delay_max}], not [{int(delay.min())}, "
                         f"{int(delay.max())}]")
    return np.asarray(pre, dtype=np.int64) * axon_key_stride(delay_max) + delay


class StorageLayout:
    """How a core's synapse memory holds synapses: what one synapse costs and which targets the
    image can encode (``problems``)."""

    kind: ClassVar[str]
    axon_per_delay: ClassVar[bool] = False  # an input axon is one (source, delay) pair, not one source
    weights_per_synapse: ClassVar[bool] = True  # else per (neuron, axon type)

    def synapse_bits(self, target: Target) -> int:
        """Bits one synapse takes in the core's synapse memory (0: the memory is fixed per core)."""
        raise NotImplementedError

    def problems(self, target: Target) -> list[str]:
        """What of ``target`` this layout cannot encode, each with the limit."""
        return []

    def core_memory_bits(self, target: Target, synapses: np.ndarray, neurons: np.ndarray) -> np.ndarray:
        """Synapse memory each core uses, from its synapses and neurons."""
        return synapses * self.synapse_bits(target)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class EntryLayout(StorageLayout):
    """A 32-bit entry per synapse, its fields where :meth:`shifts` puts them."""

    @staticmethod
    def shifts(f: SynapseFields) -> EntryShifts:
        raise NotImplementedError

    @classmethod
    def pack(cls, f: SynapseFields, index, channel, delay, mantissa, out: np.ndarray | None = None) -> np.ndarray:
        """Entries of synapses (``delay`` >= 1, ``mantissa`` signed, in two's complement), into
        ``out`` (uint32, of ``index``'s shape) when given."""
        index, channel, delay, mantissa, out = _pack_args(index, channel, delay, mantissa, out)
        _pack_entries(index.reshape(-1), channel.reshape(-1), delay.reshape(-1), mantissa.reshape(-1),
                      *cls.shifts(f).args(), out.reshape(-1))
        return out


class SparseLayout(EntryLayout):
    """One 32-bit entry per synapse: index | delay - 1 | channel | weight mantissa (low to high)."""

    kind = "sparse"

    @staticmethod
    def shifts(f: SynapseFields) -> EntryShifts:
        return EntryShifts(index=0, delay=f.index, channel=f.index + f.delay, mantissa=f.index + f.delay + f.channel,
                           mantissa_bits=f.weight)

    @staticmethod
    def unpack(f: SynapseFields, words: np.ndarray):
        """``(index, channel, delay, signed mantissa)`` of entries."""
        words = words.astype(np.int64)
        index = words & ((1 << f.index) - 1)
        delay = ((words >> f.index) & ((1 << f.delay) - 1)) + 1
        channel = (words >> (f.index + f.delay)) & ((1 << f.channel) - 1)
        return index, channel, delay, _signed(words >> (f.index + f.delay + f.channel), f.weight)

    def synapse_bits(self, target: Target) -> int:
        return SynapseFields.of(target).total

    def problems(self, target: Target) -> list[str]:
        f = SynapseFields.of(target)
        if f.total > ENTRY_BITS:
            return [f"a synapse entry needs {f.index} index + {f.delay} delay + {f.channel} channel + {f.weight} "
                    f"weight = {f.total} bits, the image's entries hold {ENTRY_BITS}: fewer neurons per core, a "
                    "shorter delay range or fewer weight bits"]
        return []


class Word32Layout(EntryLayout):
    """One 32-bit word per synapse: index | channel | delay - 1 in the low 16 bits, a 16-bit weight
    mantissa in the high 16 (SpiNNaker's synaptic word)."""

    kind = "word32"

    def synapse_bits(self, target: Target) -> int:
        return ENTRY_BITS

    @staticmethod
    def shifts(f: SynapseFields) -> EntryShifts:
        return EntryShifts(index=0, channel=f.index, delay=f.index + f.channel, mantissa=WORD32_LOW_BITS,
                           mantissa_bits=ENTRY_BITS - WORD32_LOW_BITS)

    @staticmethod
    def unpack(f: SynapseFields, words: np.ndarray):
        words = words.astype(np.int64)
        index = words & ((1 << f.index) - 1)
        channel = (words >> f.index) & ((1 << f.channel) - 1)
        delay = ((words >> (f.index + f.channel)) & ((1 << f.delay) - 1)) + 1
        return index, channel, delay, _signed(words >> WORD32_LOW_BITS, ENTRY_BITS - WORD32_LOW_BITS)

    def problems(self, target: Target) -> list[str]:
        f = SynapseFields.of(target)
        out = []
        if f.index + f.channel + f.delay > WORD32_LOW_BITS:
            out.append(f"{f.index} index + {f.channel} channel + {f.delay} delay bits do not fit the "
                       f"{WORD32_LOW_BITS} low bits of a synaptic word: fewer neurons per core or a shorter delay range")
        if f.weight > ENTRY_BITS - WORD32_LOW_BITS:
            out.append(f"{f.weight}-bit weights do not fit the {ENTRY_BITS - WORD32_LOW_BITS} high bits of a "
                       "synaptic word")
        return out


class CrossbarLayout(StorageLayout):
    """A bit per (input axon, neuron); an input axon is a (source, delay) pair with an axon type,
    and each neuron holds one weight per axon type (TrueNorth)."""

    kind = "crossbar"
    axon_per_delay = True
    weights_per_synapse = False

    def synapse_bits(self, target: Target) -> int:
        return 0

    def core_memory_bits(self, target: Target, synapses: np.ndarray, neurons: np.ndarray) -> np.ndarray:
        return np.full(neurons.shape, target.core.synapse_memory_bits) * (neurons > 0)  # the whole crossbar

    def problems(self, target: Target) -> list[str]:
        if target.format.delay_max > CROSSBAR_ROW_DELAY_MAX:
            return [f"format.delay_max {target.format.delay_max}: a crossbar axon row stores delays up to "
                    f"{CROSSBAR_ROW_DELAY_MAX}"]
        return []


class ConvolutionLayout(StorageLayout):
    """A kernel memory per core holding one layer's kernel once (convolution cores,
    :mod:`.convolution`): a word per kernel weight, addressed as the target's ``convolution``
    section says; the synapses a kernel makes are not stored."""

    kind = "convolution"
    axon_per_delay = False
    weights_per_synapse = True

    def synapse_bits(self, target: Target) -> int:
        return target.format.weight_bits  # a kernel word

    def problems(self, target: Target) -> list[str]:
        return [] if target.format.delay_max >= 1 else ["format.delay_max must be at least 1"]


class CamLayout(StorageLayout):
    """A CAM word per synapse: presynaptic tag, synapse type and base-weight mask
    (:mod:`.cam`); the weight is the sum of the core's base weights the mask selects."""

    kind = "cam"

    def synapse_bits(self, target: Target) -> int:
        return target.cam.word_bits if target.cam is not None else ENTRY_BITS

    def problems(self, target: Target) -> list[str]:
        out = []
        if target.cam is None:
            out.append("a cam core needs a 'cam' section")
        if target.format.delay_max != 1:
            out.append(f"format.delay_max {target.format.delay_max}: a CAM word holds no delay (use 1)")
        if target.format.exponent_scope != "none":
            out.append("format.exponent_scope must be none: a CAM word's weight is a sum of the core's base weights")
        if target.chip.cores_per_chip > CAM_CORES_PER_CHIP:
            out.append(f"chip.mesh {list(target.chip.mesh)}: an SRAM entry's core mask holds {CAM_CORES_PER_CHIP} cores "
                       "of a chip")
        return out


_LAYOUTS = {cls.kind: cls() for cls in (SparseLayout, Word32Layout, CrossbarLayout, ConvolutionLayout, CamLayout)}


def storage_layout(kind: str) -> StorageLayout:
    """The layout object of a ``core.synapse_storage`` kind."""
    try:
        return _LAYOUTS[kind]
    except KeyError:
        raise ValueError(f"unknown synapse storage '{kind}' (use {', '.join(_LAYOUTS)})") from None
