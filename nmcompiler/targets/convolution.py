"""Convolution cores as target data: cores that store a layer's kernel once (Speck's DYNAP-CNN).

A target with a ``convolution`` section runs one convolutional layer per core: the core holds
the layer's kernel in its kernel memory, one state per neuron of its output feature map in its
neuron memory, one bias per output channel, and sends its spikes (optionally sum-pooled) to at
most ``destinations`` other layers. Cores differ in their memories (``cores``), so which layer
goes on which core matters (:mod:`nmcompiler.mapping.conv_layers`).

Memory words follow the chip's address decoding. ``addressing: power_of_two`` (DYNAP-CNN): a
kernel of ``c`` input channels, ``kh x kw`` taps and ``f`` output channels takes
``c * 2^(ceil(log2(kh kw)) + ceil(log2 f))`` words, a ``f x h x w`` output map
``f * 2^(ceil(log2 h) + ceil(log2 w))`` neuron words (the formulas Sinabs' DynapcnnLayer
``memory_summary`` documents for these chips). ``addressing: dense`` (a core that packs its
memories, as a Loihi-like core with convolutional connectivity): ``c kh kw f`` and ``f h w``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ConvCore", "ConvolutionSpec", "convolution_from_document"]


def _ceil_log2(n: int) -> int:
    return max(0, math.ceil(math.log2(max(1, n))))


@dataclass(frozen=True, kw_only=True)
class ConvCore:
    kernel_words: int  # weights the kernel memory holds
    neuron_words: int  # neuron states the neuron memory holds
    bias_words: int  # output-channel biases


@dataclass(frozen=True, kw_only=True)
class ConvolutionSpec:
    cores: tuple[ConvCore, ...]
    kernel_max: int  # largest kernel side
    square_kernel: bool  # one kernel size for both axes
    strides: tuple[int, ...]  # allowed strides, per axis
    padding_max: int  # zero padding per axis
    dilation: bool  # dilated kernels
    groups: bool  # grouped convolutions
    pooling: tuple[int, ...]  # sum-pooling windows a core applies to the spikes it sends (1: none)
    destinations: int  # layers (cores) one core sends to
    channels_max: int  # input and output feature channels of a layer
    input_max: tuple[int, int]  # input feature map, height x width
    output_max: tuple[int, int]  # output feature map, height x width
    addressing: str = "power_of_two"  # or "dense"
    input_axons: int | None = None  # source neurons one core receives from (None: no such limit)

    def kernel_words(self, c_in: int, kernel: tuple[int, int], c_out: int) -> int:
        if self.addressing == "dense":
            return c_in * kernel[0] * kernel[1] * c_out
        return c_in * 2 ** (_ceil_log2(kernel[0] * kernel[1]) + _ceil_log2(c_out))

    def neuron_words(self, c_out: int, size: tuple[int, int]) -> int:
        if self.addressing == "dense":
            return c_out * size[0] * size[1]
        return c_out * 2 ** (_ceil_log2(size[0]) + _ceil_log2(size[1]))

    @property
    def identical(self) -> bool:
        """Every core has the same memories."""
        return len(set(self.cores)) == 1

    @property
    def largest(self) -> ConvCore:
        """Per memory, the largest any core has."""
        return ConvCore(kernel_words=max(c.kernel_words for c in self.cores),
                        neuron_words=max(c.neuron_words for c in self.cores),
                        bias_words=max(c.bias_words for c in self.cores))

    def to_json(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


def convolution_from_document(doc: dict) -> ConvolutionSpec:
    """The ``convolution`` section of a target file (already checked by the target schema)."""
    cores = doc["cores"]
    if isinstance(cores, dict):  # {count: N, kernel_words: ...}: N cores alike
        cores = [{k: v for k, v in cores.items() if k != "count"}] * cores["count"]
    return ConvolutionSpec(cores=tuple(ConvCore(**c) for c in cores), kernel_max=doc["kernel_max"],
                           square_kernel=doc["square_kernel"], strides=tuple(doc["strides"]),
                           padding_max=doc["padding_max"], dilation=doc["dilation"], groups=doc["groups"],
                           pooling=tuple(doc["pooling"]), destinations=doc["destinations"],
                           channels_max=doc["channels_max"], input_max=tuple(doc["input_max"]),
                           output_max=tuple(doc["output_max"]), addressing=doc.get("addressing", "power_of_two"),
                           input_axons=doc.get("input_axons"))
