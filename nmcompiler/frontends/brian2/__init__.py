"""Brian2 frontend: a Brian2 network (objects, or a script) into the graph IR.

``from_brian2()`` converts the objects of a ``brian2.Network`` (or, with no argument, those the
caller's magic network would run); ``load_brian2_script(path)`` runs a script until its first
``run()`` and converts what it built then (``nmc import model.py``). Brian2 2.9 needs
numpy < 2.4: install the ``brian2`` extra. See docs/brian2.md for what maps and what is refused.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from ...errors import UserError
from ...ir import Network

__all__ = ["from_brian2", "load_brian2_script"]


def _brian2():
    try:
        import brian2
    except ImportError as exc:
        raise UserError(f"converting Brian2 networks needs Brian2 ({exc}): pip install 'nmcompiler[brian2]'") from None
    return brian2


def _names(namespace: dict) -> dict:
    """Object id -> the variable name the script gave it (the IR's node and projection names)."""
    out: dict[int, str] = {}
    for key, value in namespace.items():
        if not key.startswith("_") and hasattr(value, "clock") and id(value) not in out:
            out[id(value)] = key
    return out


def _simulated(objects) -> list:
    from brian2.groups.subgroup import Subgroup

    chosen = [o for o in objects if not isinstance(o, Subgroup)]
    return sorted(chosen, key=lambda o: o._id)  # creation order: deterministic names and node order


def from_brian2(objects=None, *, namespace: dict | None = None, duration: float | None = None,
                level: int = 0) -> Network:
    """The IR network of Brian2 objects: a ``brian2.Network``, a list of objects, or (None) what
    ``brian2.run()`` would simulate when called from the caller's frame. External constants
    resolve in ``namespace`` (default: the caller's globals and locals); ``duration`` (s) becomes
    the network's default duration."""
    brian2 = _brian2()
    from .convert import convert

    frame = sys._getframe(1 + level)
    scope = {**frame.f_globals, **frame.f_locals}
    if objects is None:
        objects = brian2.collect(level=level + 1)
    elif isinstance(objects, brian2.Network):
        objects = objects.objects
    return convert(_simulated(objects), scope if namespace is None else namespace, _names(scope), duration)


class _Captured(Exception):
    def __init__(self, objects, namespace: dict, duration: float):
        super().__init__("captured")
        self.objects, self.namespace, self.duration = objects, namespace, duration


def _capture_runs(brian2):
    """Replace ``run`` and ``Network.run`` so that a script's first run hands over its network."""

    def magic_run(duration, *args, namespace=None, level=0, **kwargs):
        frame = sys._getframe(1 + level)
        scope = {**frame.f_globals, **frame.f_locals}
        raise _Captured(brian2.collect(level=level + 1), namespace or scope, float(duration))

    def network_run(self, duration, *args, namespace=None, level=0, **kwargs):
        frame = sys._getframe(1 + level)
        scope = {**frame.f_globals, **frame.f_locals}
        raise _Captured(list(self.objects), namespace or scope, float(duration))

    saved = (brian2.run, brian2.core.magic.run, brian2.Network.run)
    brian2.run = brian2.core.magic.run = magic_run
    brian2.Network.run = network_run
    return saved


def load_brian2_script(path: str | Path) -> Network:
    """Run a Brian2 script until its first ``run()`` and convert the network it built then (the
    run's duration becomes the network's); a script without ``run()`` converts what it defines."""
    import runpy

    brian2 = _brian2()
    from .convert import convert

    # the script's objects are converted, never run: Brian2's "never included in a network"
    # warning at their deletion says nothing to the user
    brian2.BrianLogger.suppress_name("unused_brian_object")
    path = Path(path)
    brian2.start_scope()
    brian2.defaultclock.dt = 0.1 * brian2.ms
    # numpy code generation: no compiler run, and the script's random draws (rand() in initial
    # values, connect(p=...)) are the same on every machine; a script may still choose its own
    target = brian2.prefs.codegen.target
    brian2.prefs.codegen.target = "numpy"
    saved = _capture_runs(brian2)
    sys.path.insert(0, str(path.resolve().parent))
    try:
        scope = runpy.run_path(str(path), run_name="__main__")
        captured = _Captured(_defined(scope), scope, None)
    except _Captured as got:
        captured = got
    except UserError:
        raise
    except SyntaxError as exc:
        raise UserError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:  # noqa: BLE001 - a user's script fails: name its line
        raise UserError(f"{path}:{_script_line(exc, path)}: the script raised {type(exc).__name__}: {exc}") from None
    finally:
        brian2.run, brian2.core.magic.run, brian2.Network.run = saved
        brian2.prefs.codegen.target = target
        sys.path.remove(str(path.resolve().parent))
    net = convert(_simulated(captured.objects), captured.namespace, _names(captured.namespace), captured.duration)
    net.name = path.stem
    return net


def _defined(scope: dict) -> list:
    from brian2 import BrianObject

    return [v for k, v in scope.items() if isinstance(v, BrianObject) and not k.startswith("_")]


def _script_line(exc: BaseException, path: Path) -> int | str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == path.resolve()]
    return frames[-1].lineno if frames else "?"
