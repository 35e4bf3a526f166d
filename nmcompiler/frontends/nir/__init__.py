"""NIR frontend: import NIR graphs into the IR and export the IR as NIR."""

from .exporter import export_nir
from .importer import load_nir, read_nir_file
from .options import NirOptions

__all__ = ["load_nir", "read_nir_file", "export_nir", "NirOptions"]
