"""Load a network file for the command line and the Python API: what ``frontends.load_network``
reads, plus PyNN scripts (a ``.py`` that imports PyNN), which run on ``nmcompiler.pynn``."""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ..frontends import NirOptions, load_network
from ..ir import Network

__all__ = ["load_model_file"]


def load_model_file(path: str | Path, *, nir_options: NirOptions | None = None) -> Network:
    path = Path(path)
    if path.suffix == ".py" and path.is_file() and any(word in path.read_text(errors="replace") for word in ("pyNN", "nmcompiler.pynn")):
        try:
            from ..pynn.script import is_pynn_script, load_pynn_script
        except ImportError as exc:
            raise UserError(f"{path}: a PyNN script needs PyNN: pip install 'nmcompiler[pynn]' ({exc})") from None
        if is_pynn_script(path):
            if nir_options is not None and nir_options != NirOptions():
                raise UserError(f"{path}: --dt, --integration and --reset apply to NIR files only "
                                "(a PyNN script sets its time step in setup())")
            return load_pynn_script(path).validate()
    return load_network(path, nir_options=nir_options)
