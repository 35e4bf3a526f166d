from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from nmcompiler.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# ../shared beside the checkout (also found from a clone nested deeper, e.g. in CI)
NIR_PAPER = next((p / "shared" / "data" / "nir-paper" for p in ROOT.parents
                  if (p / "shared" / "data" / "nir-paper").is_dir()), ROOT.parent / "shared" / "data" / "nir-paper")


@pytest.fixture
def write_yaml(tmp_path):
    """Write a dedented YAML text to a file and return its path."""

    def _write(text: str, name: str = "net.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return _write


@pytest.fixture
def run_nmc(capsys):
    """Run ``nmc`` in-process; return (exit code, stdout, stderr)."""

    def _run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exc:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return exc.value.code, out, err

    return _run
