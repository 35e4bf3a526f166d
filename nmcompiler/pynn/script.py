"""``nmc import model.py`` for PyNN scripts: the script runs with ``nmcompiler.pynn`` standing in
for whichever PyNN simulator it imports (``pyNN.nest``, ``pyNN.neuron``, ``pyNN.brian2``,
``pyNN.spiNNaker``, or ``get_simulator``'s choice) until its first ``run()``; the network built by
then is converted (the run's length becomes its duration) and nothing is simulated."""

from __future__ import annotations

import re
import runpy
import sys
import traceback
from pathlib import Path

from ..errors import UserError
from ..ir import Network

__all__ = ["is_pynn_script", "load_pynn_script"]

STAND_INS = ("nest", "neuron", "brian2", "spiNNaker", "nmcompiler", "mock")
_IMPORTS_PYNN = re.compile(r"^\s*(?:from\s+(?:pyNN|nmcompiler\.pynn)\b|import\s[^\n#]*\b(?:pyNN|nmcompiler\.pynn)\b)",
                           re.MULTILINE)


def is_pynn_script(path: Path) -> bool:
    """A ``.py`` file that imports PyNN or ``nmcompiler.pynn`` (else it is taken for a Brian2 script)."""
    return path.suffix == ".py" and bool(_IMPORTS_PYNN.search(path.read_text(errors="replace")))


class _FirstRun(Exception):
    def __init__(self, t_stop: float):
        super().__init__("first run")
        self.t_stop = t_stop


def load_pynn_script(path: str | Path) -> Network:
    import nmcompiler.pynn as backend

    from .lower import build_network
    from .simulator import state

    path = Path(path)
    saved_modules = {f"pyNN.{name}": sys.modules.get(f"pyNN.{name}") for name in STAND_INS}
    saved_run, saved_argv = type(state).run_until, sys.argv

    def first_run(self, tstop):
        raise _FirstRun(float(tstop))

    sys.modules.update({f"pyNN.{name}": backend for name in STAND_INS})
    type(state).run_until = first_run
    sys.argv = [str(path), "nmcompiler"]
    sys.path.insert(0, str(path.resolve().parent))
    t_stop = None
    try:
        runpy.run_path(str(path), run_name="__main__")
    except _FirstRun as got:
        t_stop = got.t_stop
    except UserError as exc:
        raise UserError(f"{path}:{_script_line(exc, path)}: {exc}") from None
    except SyntaxError as exc:
        raise UserError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except SystemExit as exc:  # argparse in the script (get_simulator) wanted other arguments
        raise UserError(f"{path}: the script exited ({exc.code}) before its first run(): nmc runs it with the "
                        "single argument 'nmcompiler'") from None
    except Exception as exc:  # noqa: BLE001 - a user's script fails: name its line
        raise UserError(f"{path}:{_script_line(exc, path)}: the script raised {type(exc).__name__}: {exc}") from None
    finally:
        type(state).run_until, sys.argv = saved_run, saved_argv
        sys.path.remove(str(path.resolve().parent))
        for name, module in saved_modules.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    if not state.populations:
        raise UserError(f"{path}: the script built no PyNN population before its first run()")
    net = build_network(state)
    net.name = path.stem
    if t_stop:
        net.duration = t_stop * 1e-3
    return net


def _script_line(exc: BaseException, path: Path) -> int | str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == path.resolve()]
    return frames[-1].lineno if frames else "?"
