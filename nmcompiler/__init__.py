"""nmcompiler: an open neuromorphic hardware-mapping compiler toolchain."""

from .errors import Diagnostic, UserError, ValidationError
from .frontends import load_network
from .ir import Network
from ._version import __version__
from .sim import SimResult, simulate

__all__ = ["Diagnostic", "UserError", "ValidationError", "load_network", "Network", "SimResult", "simulate",
           "__version__"]
