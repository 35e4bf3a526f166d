"""The import directions of docs/architecture.md hold: import-linter checks the contracts in
pyproject.toml (no arrows from the compile side into the simulators, and so on)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout and "6 kept" in run.stdout


def test_reports_never_switch_the_global_matplotlib_backend():
    """Importing the reports and the CLI leaves the backend alone (Jupyter keeps its own); the
    reports build Figure objects."""
    code = ("import matplotlib; import nmcompiler.report.placement, nmcompiler.report.sizing_plot, "
            "nmcompiler.report.compare_plot, nmcompiler.cli.main; from nmcompiler.report.raster import raster_figure; "
            "from nmcompiler import simulate, Network; print(matplotlib.get_backend())")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**__import__("os").environ, "MPLBACKEND": "svg"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "svg"


def test_report_functions_return_figures():
    from matplotlib.figure import Figure

    from nmcompiler import Network
    from nmcompiler.ir import IF, Population
    from nmcompiler.report.raster import raster_figure
    from nmcompiler.sim import simulate

    net = Network("one", dt=1e-3)
    net.add(Population(name="p", size=1, model=IF(v_threshold=1.0)))
    fig = raster_figure(simulate(net, steps=10))
    assert isinstance(fig, Figure) and fig.axes[0].get_xlabel() == "time (s)"


def test_every_package_is_installed_under_nmcompiler():
    """pyproject.toml lists the packages (rtl/ and hwtargets/ map into the nmcompiler namespace);
    a new package folder must be listed, or the wheel would lack it."""
    import tomllib

    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "nmcompiler").rglob("__init__.py")}
    on_disk |= {"nmcompiler.rtl", "nmcompiler.hwtargets"}
    assert set(setup["packages"]) == on_disk
    assert setup["package-dir"] == {"nmcompiler": "nmcompiler", "nmcompiler.rtl": "rtl",
                                    "nmcompiler.hwtargets": "hwtargets"}
    import nmcompiler.hwtargets
    import nmcompiler.rtl.params  # noqa: F401

    assert Path(nmcompiler.hwtargets.__file__).parent == ROOT / "hwtargets"
