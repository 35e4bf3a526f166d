"""Task functions for the sweep tests that must be importable by Dask worker processes (which
unpickle them by reference): a point that kills its worker process, once or every time."""

from __future__ import annotations

import os
from pathlib import Path

from nmcompiler.sweep.engine import run_task


def kill_worker_once(flag_folder: str, victim: int):
    """A task function: the point of grid index ``victim`` kills its worker the first time it runs
    (a flag file records that it did); every other task runs normally."""

    def evaluate(inputs, kind, arg):
        flag = Path(flag_folder) / f"killed-{victim}"
        if kind == "point" and arg.index == victim and not flag.exists():
            flag.write_text("killed")
            os._exit(1)
        return run_task(inputs, kind, arg)

    return evaluate


def kill_worker_always(victim: int):
    """A task function: the point of grid index ``victim`` kills its worker every time it runs."""

    def evaluate(inputs, kind, arg):
        if kind == "point" and arg.index == victim:
            os._exit(1)
        return run_task(inputs, kind, arg)

    return evaluate
