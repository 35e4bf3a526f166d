"""The ``nmc`` command group and what its commands share (output console, time and NIR options,
loading a network). Command modules import from here, never from :mod:`.main`, so ``cli/`` has
no import cycle: main -> commands -> app."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from pathlib import Path

import click
from rich.console import Console

from .._version import __version__
from ..errors import UserError
from ..flow.load import load_model_file
from ..units import QuantityError, parse_quantity

__all__ = ["cli", "estimate_line", "executor_for", "executor_options", "load_source", "log", "network_options", "out", "output_file", "output_folder",
           "spike_data_options", "steps_of", "time_option"]

log = logging.getLogger("nmcompiler")


def out() -> Console:
    """Standard output: tables as wide as their contents when piped (not cut to 80 columns)."""
    console = Console(highlight=False, soft_wrap=True)
    return console if console.is_terminal else Console(highlight=False, soft_wrap=True, width=10_000)


def _writable_under(path: Path, what: str) -> None:
    """The nearest existing folder above ``path`` must be a folder we may write in."""
    above = path.parent
    while not os.path.lexists(above) and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise UserError(f"{what} {path}: {above} is a file, so nothing can be made under it")
    if not os.access(above, os.W_OK | os.X_OK):
        raise UserError(f"{what} {path}: cannot write in {above} (permission denied)")


def output_folder(ctx, param, value):
    """``-o OUTDIR``: checked before any work (exit 2): not a file, not a dangling link, writable."""
    if value is None:
        return None
    path = Path(value)
    if path.is_symlink() and not path.exists():
        raise UserError(f"output folder {path}: a symbolic link to {os.readlink(path)}, which does not exist")
    if path.exists():
        if not path.is_dir():
            raise UserError(f"output folder {path}: it is a file, not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise UserError(f"output folder {path}: cannot write in it (permission denied)")
        return path
    _writable_under(path, "output folder")
    return path


def output_file(ctx, param, value):
    """``-o FILE``: checked before any work (exit 2): not a folder, in a folder that can be written."""
    if value is None:
        return None
    path = Path(value)
    if path.is_dir():
        raise UserError(f"output file {path}: it is a folder, not a file")
    if path.is_symlink() and not path.exists():
        raise UserError(f"output file {path}: a symbolic link to {os.readlink(path)}, which does not exist")
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(f"output file {path}: cannot write it (permission denied)")
    _writable_under(path, "output file")
    return path


def time_option(ctx, param, value):
    if value is None:
        return None
    try:
        seconds = parse_quantity(value, "time")
    except QuantityError as exc:
        raise click.BadParameter(str(exc)) from None
    if seconds <= 0:
        raise click.BadParameter(f"must be > 0, not {value}")
    return seconds


def data_options(data_help: str):
    """--data, --encode, --input-source, --output: labelled or unlabelled samples for a run
    (:class:`nmcompiler.sim.data.SampleData`); ``data_help`` says what the command does with them."""

    def decorate(func):
        for option in reversed((
                click.option("--data", "data_file", type=click.Path(path_type=Path), help=data_help),
                click.option("--encode", type=click.Choice(["rate", "current", "events"]), default=None,
                             help="With --data: rate (Bernoulli spikes of probability x per step), current (x as "
                                  "constant current; networks only) or events (x: samples x steps x channels of 0/1); "
                                  "default: events for 3-D x, rate for 2-D."),
                click.option("--input-source", help="With --data: the source that receives it (default: the one of "
                                                    "matching size)."),
                click.option("--output", "output_pop", help="With --data: the population read out by spike count "
                                                            "(default: the last one)."))):
            func = option(func)
        return func

    return decorate


def spike_data_options(data_help: str):
    """--data, --encode rate|events, --input-source: samples fed as spikes to one spike source (an
    image's inputs are spikes); ``data_help`` says what the command does with them."""

    def decorate(func):
        for option in reversed((
                click.option("--data", "data_file", type=click.Path(path_type=Path), help=data_help),
                click.option("--encode", type=click.Choice(["rate", "events"]), default=None,
                             help="With --data: events (x: samples x steps x channels of 0/1) or rate (Bernoulli "
                                  "spikes of probability x per step); default: events for 3-D x, rate for 2-D."),
                click.option("--input-source", help="With --data: the spike source that receives it (default: the "
                                                    "one of matching size)."))):
            func = option(func)
        return func

    return decorate


def executor_options(func):
    """--workers, --scheduler: where the samples of --data run (:mod:`nmcompiler.executor`). The
    command receives ``executor``: an :class:`ExecutorChoice`, or None (this process)."""

    @functools.wraps(func)
    def wrapper(*args, workers, scheduler, **kwargs):
        from ..executor import ExecutorChoice

        choice = None if workers is None and scheduler is None else ExecutorChoice(workers, scheduler)
        return func(*args, executor=choice, **kwargs)

    wrapper = click.option("--scheduler", metavar="ADDRESS", default=None,
                           help="With --data: run the samples on this Dask cluster (e.g. tcp://10.0.0.5:8786).")(wrapper)
    return click.option("--workers", type=click.IntRange(min=1, max=1024), default=None,
                        help="With --data: split the samples over a local Dask cluster of this many worker "
                             "processes (the same results as in one process; default: this process).")(wrapper)


def executor_for(choice, data) -> contextlib.AbstractContextManager:
    """The started executor of ``--workers``/``--scheduler`` (None: this process); they need --data."""
    if choice is None:
        return contextlib.nullcontext(None)
    if data is None:
        raise UserError("--workers and --scheduler split the samples of --data; without --data there is one run")
    return choice.open()


def network_options(func):
    """--from, --dt, --integration, --reset: how to read a NIR file (continuous-time) into the IR.
    The command receives them as one ``source_options`` (:class:`NirOptions` or None)."""

    @functools.wraps(func)
    def wrapper(*args, preset, dt, integration, reset, max_spikes, **kwargs):
        return func(*args, source_options=_nir_options(preset, dt, integration, reset, max_spikes), **kwargs)

    wrapper = click.option("--max-spikes", type=click.IntRange(min=1), default=None,
                           help="NIR: most spikes a neuron that resets by subtraction emits per step (default 1, "
                                "or the preset's: Sinabs' MultiSpike and Rockpool emit floor(v / threshold); "
                                "1 for SingleSpike).")(wrapper)

    wrapper = click.option("--reset", type=click.Choice(["value", "subtract"]), default=None,
                           help="NIR: reset mode of all neurons (NIR 1.0 does not record it; default value, or "
                                "the preset's).")(wrapper)
    wrapper = click.option("--integration", type=click.Choice(["euler", "exact", "exp_euler", "forward_euler"]), default=None,
                           help="NIR: discretization (default euler: snnTorch/Norse/Sinabs; exp_euler: Rockpool).")(wrapper)
    wrapper = click.option("--dt", "dt", callback=time_option, default=None,
                           help="NIR: time step, e.g. '1ms' (default: the preset's, else the graph's metadata).")(wrapper)
    return click.option("--from", "preset", default=None, metavar="FRAMEWORK",
                        help="NIR: the framework that exported the graph (snntorch, norse, rockpool, sinabs, spyx, or auto: told from "
                             "the graph): its dt, reset, same-step timing and exporter quirks, reproduced spike "
                             "for spike (docs/nir.md).")(wrapper)


def _nir_options(preset, dt, integration, reset, max_spikes=None):
    from ..frontends import NirOptions
    from ..frontends.nir.presets import preset as preset_named

    spikes = {"max_spikes": max_spikes} if max_spikes is not None else {}
    if preset is None:
        if dt is None and integration is None and reset is None and not spikes:
            return None
        return NirOptions(dt=dt, **{k: v for k, v in (("integration", integration), ("reset", reset)) if v}, **spikes)
    if integration is not None:
        raise UserError(f"--from {preset} sets the integration; drop --integration")
    opts = NirOptions.from_preset(preset, dt=dt, reset=reset, **spikes)
    if preset != "auto":  # auto: the importer says what it detected
        log.info("%s", preset_named(preset).describe())
    return opts


def steps_of(duration, net) -> int | None:
    """Steps from --duration or the network's duration (None: none known)."""
    length = duration if duration is not None else net.duration
    return None if length is None else max(1, int(round(length / net.dt)))


def estimate_line(e: dict, written: str) -> str:
    """One line of an estimate's JSON (``nmc estimate`` prints the whole of it); ``written``: where
    the whole is (``compare.json``)."""
    from ..units import format_si

    energy = ("energy not modelled" if e["energy"] is None
              else f"{format_si(e['energy']['per_inference_j'], 'J')} per inference")
    time = (f"{format_si(e['latency']['per_inference_s'], 's')} per inference" if e["latency"]["wall_time_s"]
            else "time not modelled")
    return (f"estimate on {e['target']} ({e['inferences']} inferences; model: {e['model']['source'].split(',')[0]}): "
            f"{energy}, {time} ({written}: estimate)")


def load_source(network: Path, source_options):
    return load_model_file(network, nir_options=source_options)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nmc")
@click.option("-v", "--verbose", count=True, help="More log output (-v for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.option("--allow-outside-paths", is_flag=True,
              help="Let network files name .npy arrays outside their own folder (refused by default).")
@click.option("--max-memory", default=None, metavar="SIZE",
              help="Memory a run may allocate for its recordings, e.g. 8G (default: the available memory; also "
                   "NMC_MAX_MEMORY).")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool, debug: bool, allow_outside_paths: bool,
        max_memory: str | None) -> None:
    """nmcompiler: import, check, simulate and map spiking neural networks."""
    if allow_outside_paths:
        _for_this_command(ctx, "NMC_ALLOW_OUTSIDE_PATHS", "1")
    if max_memory is not None:
        from ..sim.budget import parse_bytes

        try:
            parse_bytes(max_memory)
        except ValueError:
            raise UserError(f"--max-memory {max_memory!r}: give bytes, e.g. 8G or 512M") from None
        _for_this_command(ctx, "NMC_MAX_MEMORY", max_memory)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_NoteFormatter())
    root = logging.getLogger("nmcompiler")
    root.handlers[:] = [handler]
    root.propagate = False
    root.setLevel(logging.ERROR if quiet else logging.DEBUG if verbose else logging.INFO)
    ctx.obj = {"debug": debug}


def _for_this_command(ctx: click.Context, name: str, value: str) -> None:
    """Set an environment setting while the command runs (the library reads it), then put it back."""
    before = os.environ.get(name)
    os.environ[name] = value
    ctx.call_on_close(lambda: os.environ.__setitem__(name, before) if before is not None else os.environ.pop(name, None))


class _NoteFormatter(logging.Formatter):
    """'note: ...' for information, 'warning: ...' for warnings: one line, like the errors."""

    def format(self, record: logging.LogRecord) -> str:
        label = {logging.INFO: "note", logging.WARNING: "warning"}.get(record.levelno, record.levelname.lower())
        return f"{label}: {record.getMessage()}"
