"""A stand-in for samna in the golden scripts' throwaway venvs: samna (SynSense's closed device
library) does not install from PyPI here, and Sinabs' DYNAP-CNN backend and Rockpool's Xylo
package import it when they load. Every samna module and name becomes an empty placeholder; a
script installs the few real objects it needs (``sys.modules``) before importing those packages.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types

__all__ = ["Stub", "install"]


class Stub(types.ModuleType):
    """A samna module or name: any attribute is another placeholder, and so is calling one."""

    __path__: list = []

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = Stub(f"{self.__name__}.{name}")
        setattr(self, name, value)
        return value

    def __call__(self, *args, **kwargs):
        return Stub("call")


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("samna", "samnagui") and name not in sys.modules:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return Stub(spec.name)

    def exec_module(self, module):
        pass


def install() -> None:
    """Make every ``samna`` / ``samnagui`` import not already in ``sys.modules`` a placeholder."""
    sys.meta_path.insert(0, _Finder())
