"""What the PyNN backend refuses, as one exception type that is both PyNN's "no such model"
and nmcompiler's user error (the CLI and scripts see a message, not a traceback)."""

from __future__ import annotations

from pyNN.errors import NoModelAvailableError

from ..errors import UserError

__all__ = ["Unsupported", "refuse"]


class Unsupported(NoModelAvailableError, UserError):
    """A PyNN construct that nmcompiler cannot map; the message names it and the alternative."""


def refuse(message: str):
    raise Unsupported(f"nmcompiler.pynn: {message}")
