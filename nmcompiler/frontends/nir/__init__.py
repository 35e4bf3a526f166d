"""NIR frontend: import NIR graphs into the IR (export follows in exporter.py)."""

from .importer import load_nir, read_nir_file
from .options import NirOptions

__all__ = ["load_nir", "read_nir_file", "NirOptions"]
