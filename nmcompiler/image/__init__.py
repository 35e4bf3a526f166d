"""Configuration images: contents per target layout, binary encoding, decoding (docs/image-format.md)."""

from .codec import MAGIC, VERSION, EncodedImage, ImageError, decode, encode, encode_image, read_header
from .contents import CoreImage, ImageContents, build_contents, compiled_target, target_digest
from .memory_map import memory_map
from .program import to_program

__all__ = ["MAGIC", "VERSION", "EncodedImage", "ImageError", "decode", "encode", "encode_image", "read_header", "CoreImage", "ImageContents",
           "build_contents", "compiled_target", "memory_map", "target_digest", "to_program"]
