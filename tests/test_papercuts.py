"""What a new user hit (issue 29, papercuts): piped tables cut to 80 columns, a missing optional
extra reported as an internal error, --debug only before the subcommand, a single neuron's
spikes on the raster's edge."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from nmcompiler.cli.main import _debug_first

from conftest import EXAMPLES


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
