"""Frontends: read networks from files into the graph IR."""

from pathlib import Path

from ..errors import UserError
from ..ir import Network, load_network_file
from .nir import NirOptions, load_nir
from .yaml_network import load_yaml_network, network_schema

__all__ = ["load_network", "load_yaml_network", "load_nir", "NirOptions", "network_schema", "NETWORK_SUFFIXES"]

NETWORK_SUFFIXES = (".yaml", ".yml", ".nir", ".npz", ".py")


def load_network(path: str | Path, *, nir_options: NirOptions | None = None) -> Network:
    """Load a network: YAML (``.yaml``/``.yml``), NIR (``.nir``), a Brian2 script (``.py``) or a
    saved IR (``.npz`` or folder).

    ``nir_options`` (time step, integration, reset mode) apply to NIR files only.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: file not found")
    if path.suffix == ".nir":
        return load_nir(path, nir_options)
    if nir_options is not None and nir_options != NirOptions():
        raise UserError(f"{path}: --dt, --integration and --reset apply to NIR files only "
                        "(YAML files set dt and per-population integration/reset themselves)")
    if path.suffix in (".yaml", ".yml"):
        return load_yaml_network(path)
    if path.suffix == ".py":
        from .brian2 import load_brian2_script

        net = load_brian2_script(path)
        if not net.populations and not net.sources:
            raise UserError(f"{path}: the script built no Brian2 objects (a PyNN script imports pyNN or nmcompiler.pynn)")
        return net.validate()
    if path.suffix == ".npz" or path.is_dir():
        return load_network_file(path).validate()
    raise UserError(f"{path}: unknown network format '{path.suffix}' (use .yaml, .nir, a Brian2 script .py, or a saved IR .npz or folder)")
