"""What a new user hit (issue 29, papercuts): piped tables cut to 80 columns, a missing optional
extra reported as an internal error, --debug only before the subcommand, a single neuron's
spikes on the raster's edge, no network from standard input, no memory map or image digest in
``nmc inspect``."""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from nmcompiler.cli.main import _debug_first

from conftest import EXAMPLES

ROOT = Path(__file__).resolve().parents[1]


def test_piped_tables_keep_long_names(run_nmc):
    code, out, _ = run_nmc("targets")  # captured output is not a terminal
    assert code == 0
    assert "brainscales2-like" in out and "…" not in out


def test_debug_goes_to_the_group_wherever_it_is_written():
    assert _debug_first(["rtl", "x.nmc", "--debug"]) == ["--debug", "rtl", "x.nmc"]
    assert _debug_first(["rtl", "x.nmc"]) == ["rtl", "x.nmc"]
    assert _debug_first(["simulate", "--", "--debug"]) == ["simulate", "--", "--debug"]


def test_debug_after_the_subcommand_is_accepted(run_nmc):
    code, out, err = run_nmc("info", EXAMPLES / "single_lif.yaml", "--debug")
    assert code == 0, err


def test_a_missing_optional_extra_is_exit_2_with_the_install_line(tmp_path, run_nmc, monkeypatch):
    code, _, err = run_nmc("compile", EXAMPLES / "mlp.yaml", "--target", "fpga-lif", "-o", tmp_path / "c")
    assert code == 0, err
    for name in [m for m in sys.modules if m == "amaranth" or m.startswith(("amaranth.", "nmcompiler.rtl"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "amaranth", None)  # import amaranth fails as if it were not installed
    code, _, err = run_nmc("rtl", tmp_path / "c" / "mlp.nmc", "-o", tmp_path / "r")
    assert code == 2, err
    assert "optional package 'amaranth'" in err and "pip install 'nmcompiler[rtl]'" in err
    assert "internal error" not in err and not (tmp_path / "r").exists()


def test_verify_without_the_rtl_level_needs_no_rtl_extra(tmp_path, run_nmc, monkeypatch):
    for name in [m for m in sys.modules if m == "amaranth" or m.startswith(("amaranth.", "nmcompiler.rtl"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "amaranth", None)
    code, out, err = run_nmc("verify", EXAMPLES / "mlp.yaml", "--target", "fpga-lif", "--levels", "float,int",
                             "--steps", "20", "-o", tmp_path / "v")
    assert code == 0, err
    assert json.loads((tmp_path / "v" / "verify.json").read_text())["levels"][1]["spikes"] > 0
    code, _, err = run_nmc("verify", EXAMPLES / "mlp.yaml", "--target", "fpga-lif", "--levels", "int,rtl",
                           "--steps", "20", "-o", tmp_path / "r")
    assert code == 2 and "pip install 'nmcompiler[rtl]'" in err


def test_a_single_neuron_raster_keeps_its_spikes_off_the_edge():
    import matplotlib

    matplotlib.use("Agg")
    from nmcompiler.report.raster import raster_figure
    from nmcompiler.sim import FloatSimulator
    from nmcompiler import load_network

    net = load_network(EXAMPLES / "single_lif.yaml")
    result = FloatSimulator(net).run(1000)
    fig = raster_figure(result)
    low, high = fig.axes[0].get_ylim()
    assert low == pytest.approx(-0.5) and high == pytest.approx(0.5)
    assert np.concatenate(list(result.spike_steps.values())).size > 0


def _stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


@pytest.mark.parametrize("name, options", [("examples/mlp.yaml", ()),
                                           ("tests/golden/frameworks/snntorch_ff_zero.nir", ("--from", "snntorch"))])
def test_info_reads_a_network_from_standard_input(run_nmc, monkeypatch, name, options):
    path = ROOT / name
    code, from_file, err = run_nmc("info", path, "--json", *options)
    assert code == 0, err
    _stdin(monkeypatch, path.read_bytes())
    monkeypatch.chdir(path.parent)  # a YAML network's arrays are read from the working folder
    code, from_stdin, err = run_nmc("info", "-", "--json", *options)
    assert code == 0, err
    read, wanted = json.loads(from_stdin), json.loads(from_file)
    read.pop("name"), wanted.pop("name")  # a NIR graph is named after its file: 'stdin' here
    assert read == wanted and wanted["neurons"] > 0


@pytest.mark.parametrize("data, says", [(b"", "<stdin>: empty"), (b"\xff\xfe\x00", "neither YAML"),
                                        (b"version: 1\n", "<stdin>:1:"),
                                        (b"\x89HDF\r\n\x1a\n" + b"\0" * 40, "<stdin>: not a readable NIR file")])
def test_bad_standard_input_names_stdin(run_nmc, monkeypatch, data, says):
    _stdin(monkeypatch, data)
    code, out, err = run_nmc("info", "-")
    assert code == 2 and says in err and "Traceback" not in err and "nmc-stdin" not in err


def test_inspect_prints_the_memory_map_and_the_image_own_sha256(run_nmc, tmp_path):
    digests = {}
    for name in ("mlp", "single_lif"):
        code, _, err = run_nmc("compile", EXAMPLES / f"{name}.yaml", "--target", "loihi-like", "-o", tmp_path / name)
        assert code == 0, err
        image = tmp_path / name / f"{name}.nmc"
        code, text, err = run_nmc("inspect", image)
        assert code == 0, err
        doc = json.loads(run_nmc("inspect", image, "--json")[1])
        assert doc["image_sha256"] == hashlib.sha256(image.read_bytes()).hexdigest()
        assert f"image sha256 {doc['image_sha256'][:16]}" in text and "target description sha256" in text
        assert "memory map" in text
        for section in doc["memory_map"]:  # every section's row: offset and CRC as stored
            assert f"0x{section['offset']:08x}" in text and f"{section['crc32']:08x}" in text
        digests[name] = (doc["image_sha256"], doc["target_sha256"])
    assert digests["mlp"][0] != digests["single_lif"][0] and digests["mlp"][1] == digests["single_lif"][1]
