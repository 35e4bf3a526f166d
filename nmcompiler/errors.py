"""Exception types of nmcompiler.

Two kinds of failure exist:

* :class:`UserError` and its subclasses: the input (a file, an option, a network) is wrong.
  The CLI prints the message on one line per problem and exits with code 2.
* Anything else is a bug in nmcompiler (exit code 1).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Diagnostic", "UserError", "ValidationError"]


@dataclass(frozen=True, kw_only=True)
class Diagnostic:
    """One problem, located as precisely as the source allows.

    ``where`` is ``file:line`` for file input, or the IR object (``population 'exc'``).
    """

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class UserError(Exception):
    """The user's input is wrong; the message says what and how to fix it."""


class ValidationError(UserError):
    """A network (or file) has one or more problems; all of them are listed."""

    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]):
        if not diagnostics:
            raise ValueError("ValidationError needs at least one diagnostic")
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))
