"""Frontends: read networks from files into the graph IR."""

from pathlib import Path

from ..errors import UserError
from ..ir import Network, load_network_file
from .yaml_network import load_yaml_network, network_schema

__all__ = ["load_network", "load_yaml_network", "network_schema"]


def load_network(path: str | Path) -> Network:
    """Load a network from a YAML file (``.yaml``/``.yml``) or a saved IR (``.npz`` or folder)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: file not found")
    if path.suffix in (".yaml", ".yml"):
        return load_yaml_network(path)
    if path.suffix == ".npz" or path.is_dir():
        return load_network_file(path).validate()
    raise UserError(f"{path}: unknown network format '{path.suffix}' (use .yaml, or a saved IR .npz or folder)")
