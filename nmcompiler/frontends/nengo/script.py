"""Nengo scripts for ``nmc``: a ``.py`` file that imports nengo runs up to its first simulation,
``nengo.Simulator(net, dt=...).run(T)`` (or ``run_steps``), and that network, time step and
length are converted (:func:`.convert.from_nengo`). A script that runs no simulator names its
network ``model`` and its length ``duration`` (seconds; ``dt`` optional) at the top level."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

from ...errors import UserError
from ...ir import Network

__all__ = ["is_nengo_script", "load_nengo_script"]

_IMPORTS_NENGO = re.compile(r"^\s*(import\s+nengo\b|from\s+nengo\b)", re.M)


def is_nengo_script(path: Path) -> bool:
    return path.suffix == ".py" and bool(_IMPORTS_NENGO.search(path.read_text(errors="replace")))


class _FirstRun(Exception):
    def __init__(self, network, dt: float, duration: float):
        super().__init__("first run")
        self.network, self.dt, self.duration = network, dt, duration


class _StandIn:
    """Takes the place of ``nengo.Simulator`` while the script runs: its first run stops the script."""

    def __init__(self, network, dt: float = 0.001, *args, **kwargs):
        self.network, self.dt = network, float(dt)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def run(self, time_in_seconds, *args, **kwargs):
        raise _FirstRun(self.network, self.dt, float(time_in_seconds))

    def run_steps(self, steps, *args, **kwargs):
        raise _FirstRun(self.network, self.dt, int(steps) * self.dt)


def load_nengo_script(path: str | Path) -> Network:
    """The network of the Nengo script at ``path`` (see the module)."""
    import nengo

    from .convert import from_nengo

    path = Path(path)
    saved, saved_argv = nengo.Simulator, sys.argv
    nengo.Simulator, sys.argv = _StandIn, [str(path)]
    sys.path.insert(0, str(path.resolve().parent))
    try:
        try:
            scope = runpy.run_path(str(path), run_name="__main__")
        except _FirstRun as got:
            network, dt, duration = got.network, got.dt, got.duration
        except SyntaxError as exc:
            raise UserError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
        else:
            network, dt, duration = _declared(scope, path)
    finally:
        nengo.Simulator, sys.argv = saved, saved_argv
        sys.path.remove(str(path.resolve().parent))
    if not isinstance(network, nengo.Network):
        raise UserError(f"{path}: 'model' is a {type(network).__name__}, not a nengo.Network")
    try:
        return from_nengo(network, duration=duration, dt=dt, name=path.stem).network
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from None


def _declared(scope: dict, path: Path):
    if "model" not in scope or "duration" not in scope:
        raise UserError(f"{path}: the script runs no nengo.Simulator: name its network 'model' and its length "
                        "'duration' (seconds) at the top level, or end it with nengo.Simulator(model).run(T)")
    try:
        duration, dt = float(scope["duration"]), float(scope.get("dt", 0.001))
    except (TypeError, ValueError):
        raise UserError(f"{path}: 'duration' and 'dt' must be numbers of seconds") from None
    if not (0 < dt and 0 < duration < 1e6):
        raise UserError(f"{path}: 'duration' ({duration}) and 'dt' ({dt}) must be > 0 seconds")
    return scope["model"], dt, duration
