"""What a run may ask for, checked before anything is allocated: a step count that spike times
hold, and recordings that fit the memory budget. The budget is the machine's available memory,
or ``NMC_MAX_MEMORY`` (bytes, or a number with K, M, G or T; ``nmc --max-memory`` sets it).
"""

from __future__ import annotations

import math
import os

from ..errors import UserError

__all__ = ["MAX_STEPS", "check_recording", "check_ring", "check_steps", "memory_budget", "over_budget", "parse_bytes"]

MAX_STEPS = 2**31 - 1  # spike times are held as step numbers
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_bytes(text: str) -> int:
    """``"2G"``, ``"512M"``, ``"1000000"`` -> bytes; ValueError otherwise."""
    text = str(text).strip().upper().removesuffix("B").removesuffix("I")
    unit = text[-1] if text and text[-1] in _UNITS else ""
    value = float(text[:-1] if unit else text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{text!r} is not a positive size")
    return int(value * _UNITS[unit])


def memory_budget() -> int:
    """Bytes a run may allocate: ``NMC_MAX_MEMORY`` when set, else the available memory."""
    setting = os.environ.get("NMC_MAX_MEMORY")
    if setting:
        try:
            return parse_bytes(setting)
        except ValueError:
            raise UserError(f"NMC_MAX_MEMORY={setting!r}: give bytes, e.g. 8G or 512M") from None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PB"


def check_steps(steps: int) -> None:
    if steps > MAX_STEPS:
        raise UserError(f"{steps} steps are beyond the {MAX_STEPS} (2^31 - 1) that spike times hold: simulate a "
                        "shorter duration or use a longer time step")


def check_recording(label: str, steps: int, values: int, itemsize: int = 8) -> None:
    """Refuse a recording of ``values`` numbers per step over ``steps`` steps beyond the budget."""
    why = over_budget(steps * values * itemsize)
    if why:
        raise UserError(f"probe '{label}': recording {values} values over {steps} steps {why}: record fewer neurons or "
                        "a shorter duration")


def over_budget(nbytes: float) -> str:
    """"" when ``nbytes`` fit the budget, else "needs X, more than the Y available (...)"."""
    budget = memory_budget()
    if nbytes <= budget:
        return ""
    return f"needs {_size(nbytes)}, more than the {_size(budget)} available (nmc --max-memory)"


def check_ring(slots: int, width: int, itemsize: int) -> None:
    """Refuse a delay ring of ``slots`` x ``width`` values beyond the budget (the longest delay sets it)."""
    why = over_budget(slots * width * itemsize)
    if why:
        raise UserError(f"the longest delay, {slots - 1} steps, makes the simulator's delay ring {why}: shorten the "
                        "delays or use a longer time step")
