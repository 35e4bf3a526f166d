"""Options of the NIR importer (the CLI's --dt, --integration, --reset, --if-convention)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import UserError
from ...ir.models import Integration, ResetMode

__all__ = ["NirOptions"]


@dataclass(frozen=True, kw_only=True)
class NirOptions:
    """How to discretize a continuous-time NIR graph.

    ``dt``: time step in seconds (None: take it from the graph's metadata, else an error).
    ``integration``: "euler" (default; what snnTorch, Norse, Sinabs and Lava-dl compute) or "exact".
    ``reset``: "value" (NIR's ``v = v_reset``) or "subtract"; ``reset_per_node`` overrides by node name.
    ``if_per_step``: IF/I nodes integrate ``v += r x`` once per step, as every exporter does
    (True, default), or literally ``dv/dt = r x`` (False).
    """

    dt: float | None = None
    integration: str = Integration.EULER
    reset: str = ResetMode.VALUE
    reset_per_node: dict[str, str] = field(default_factory=dict)
    if_per_step: bool = True

    def check(self) -> None:
        if self.dt is not None and not self.dt > 0:
            raise UserError(f"dt must be > 0, not {self.dt}")
        if self.integration not in Integration.ALL:
            raise UserError(f"integration '{self.integration}' is unknown (use {' or '.join(Integration.ALL)})")
        for mode in (self.reset, *self.reset_per_node.values()):
            if mode not in ResetMode.ALL:
                raise UserError(f"reset mode '{mode}' is unknown (use {' or '.join(ResetMode.ALL)})")

    def reset_for(self, node: str) -> str:
        return self.reset_per_node.get(node, self.reset)
