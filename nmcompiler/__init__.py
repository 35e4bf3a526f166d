"""nmcompiler: an open neuromorphic hardware-mapping compiler toolchain."""

from .errors import Diagnostic, UserError, ValidationError
from .frontends import load_network
from .ir import Network
from ._version import __version__
from .sim import SimResult, simulate

__all__ = ["Diagnostic", "UserError", "ValidationError", "compile", "load_network", "Network", "SimResult",
           "simulate", "__version__"]


def compile(model, target, *, dt=None, preset=None, reset=None, name=None, **options):  # noqa: A001
    """Import ``model`` (a .nir/.yaml/.npz path, a ``nir.NIRGraph`` or a :class:`Network`) and
    compile it for ``target``; returns a :class:`nmcompiler.flow.api.Compiled` (``.image``,
    ``.report``, ``.save(dir)``, ``.simulate(inputs)``, ``.accuracy(samples, labels)``,
    ``.verify(levels, inputs)``). ``preset``: the framework that exported a NIR graph ("snntorch")."""
    from .flow.api import compile_model

    return compile_model(model, target, dt=dt, preset=preset, reset=reset, name=name, **options)
