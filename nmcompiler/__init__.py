"""nmcompiler: an open neuromorphic hardware-mapping compiler toolchain."""

from .errors import Diagnostic, UserError, ValidationError
from .frontends import load_network
from .ir import Network
from .sim import SimResult, simulate

__version__ = "0.3.0"

__all__ = ["Diagnostic", "UserError", "ValidationError", "load_network", "Network", "SimResult", "simulate",
           "__version__"]
