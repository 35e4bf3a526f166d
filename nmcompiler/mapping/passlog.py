"""Seconds per compile pass, and who to tell when a pass begins (``nmc compile``'s status line)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["PassLog"]


class PassLog(dict):
    """A dict of pass name -> seconds (what the report holds), which also calls ``on_start(name)``
    when a pass begins (:meth:`start`)."""

    def __init__(self, on_start: Callable[[str], None] | None = None):
        super().__init__()
        self._on_start = on_start

    def start(self, name: str) -> None:
        if self._on_start is not None:
            self._on_start(name)
