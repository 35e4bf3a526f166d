"""Load a network file for the command line and the Python API: what ``frontends.load_network``
reads, plus PyNN scripts (a ``.py`` that imports PyNN), which run on ``nmcompiler.pynn``, and
Nengo scripts (a ``.py`` that imports nengo), converted at their first simulation."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from ..errors import Diagnostic, UserError, ValidationError
from ..frontends import NirOptions, load_network
from ..frontends.yaml_network import load_yaml_network
from ..ir import Network

__all__ = ["STDIN", "load_model_file"]

STDIN = "-"  # the path that means standard input
_STDIN_NAME = "<stdin>"
_BINARY = {b"\x89HDF\r\n\x1a\n": ".nir", b"PK\x03\x04": ".npz"}  # magic bytes of NIR (HDF5) and saved-IR files


def load_model_file(path: str | Path, *, nir_options: NirOptions | None = None) -> Network:
    """Load ``path`` (``-``: standard input, told apart by its first bytes: NIR, a saved IR or YAML)."""
    if str(path) == STDIN:
        return _load_stdin(nir_options)
    path = Path(path)
    if path.suffix == ".py" and path.is_file() and "nengo" in path.read_text(errors="replace"):
        network = _nengo_script(path, nir_options)
        if network is not None:
            return network
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


def _nengo_script(path: Path, nir_options: NirOptions | None) -> Network | None:
    """A Nengo script's network (None: the file does not import nengo)."""
    try:
        from ..frontends.nengo.script import is_nengo_script, load_nengo_script
    except ImportError as exc:
        raise UserError(f"{path}: a Nengo script needs Nengo: pip install 'nmcompiler[nengo]' ({exc})") from None
    if not is_nengo_script(path):
        return None
    if nir_options is not None and nir_options != NirOptions():
        raise UserError(f"{path}: --dt, --integration and --reset apply to NIR files only (a Nengo script sets its "
                        "time step in nengo.Simulator(dt=...))")
    return load_nengo_script(path).validate()


def _load_stdin(nir_options: NirOptions | None) -> Network:
    data = sys.stdin.buffer.read()
    if not data.strip():
        raise UserError(f"{_STDIN_NAME}: empty; pipe a network into it, e.g. nmc info - < net.yaml")
    suffix = next((s for magic, s in _BINARY.items() if data.startswith(magic)), None)
    if suffix is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UserError(f"{_STDIN_NAME}: neither YAML (UTF-8 text), a NIR file (HDF5) nor a saved IR (.npz); "
                            "scripts (Brian2, PyNN) are read from files only") from None
        if nir_options is not None and nir_options != NirOptions():
            raise UserError(f"{_STDIN_NAME}: --dt, --integration and --reset apply to NIR files only (this is YAML)")
        return load_yaml_network(_STDIN_NAME, text=text)
    with tempfile.TemporaryDirectory(prefix="nmc-stdin-") as folder:
        file = Path(folder) / ("stdin" + suffix)
        file.write_bytes(data)
        try:
            return load_network(file, nir_options=nir_options)
        except ValidationError as exc:
            raise ValidationError([Diagnostic(where=d.where.replace(str(file), _STDIN_NAME),
                                              message=d.message.replace(str(file), _STDIN_NAME))
                                   for d in exc.diagnostics]) from None
        except UserError as exc:
            raise UserError(str(exc).replace(str(file), _STDIN_NAME)) from None
