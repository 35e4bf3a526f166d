"""The documentation site (issue 29): mkdocs with mkdocs-material and an API reference from the
docstrings (mkdocstrings) builds with --strict (a broken link, a page left out of the navigation
or an unresolved cross-reference fails it), and the tutorials run as written."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.md"))


def _build(config: Path, site: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)


def _config_for(docs: Path, tmp_path: Path) -> Path:
    """mkdocs.yml with its docs folder elsewhere (and the API's sources still this checkout)."""
    doc = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    doc["docs_dir"] = str(docs)
    doc["plugins"][1]["mkdocstrings"]["handlers"]["python"]["paths"] = [str(ROOT)]
    path = tmp_path / "mkdocs.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_the_site_builds_strictly_with_the_api_reference(tmp_path):
    run = _build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert run.returncode == 0, run.stderr
    api = (tmp_path / "site" / "api" / "estimates" / "index.html").read_text()
    assert "estimate_contents" in api and "count_activity" in api  # rendered from the docstrings
    compiled = (tmp_path / "site" / "api" / "compile" / "index.html").read_text()
    assert "Energy, latency and throughput of the image on its target" in compiled  # Compiled.estimate's docstring
    for page in TUTORIALS:
        assert (tmp_path / "site" / "tutorials" / page.stem / "index.html").is_file()


def test_a_broken_link_fails_the_strict_build(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    (docs / "report.md").write_text((docs / "report.md").read_text() + "\nSee [the missing page](missing.md).\n")
    run = _build(_config_for(docs, tmp_path), tmp_path / "site")
    assert run.returncode != 0 and "missing.md" in run.stderr


def _blocks(page: Path) -> list[tuple[str, str]]:
    """The page's ```sh and ```python blocks in order, but those after a "<!-- not run" comment."""
    text = page.read_text()
    blocks = []
    for m in re.finditer(r"(<!-- not run[^>]*-->\s*)?```(sh|python)\n(.*?)```", text, re.S):
        if not m.group(1):
            blocks.append((m.group(2), m.group(3)))
    return blocks


def _commands(block: str) -> list[list[str]]:
    lines = block.replace("\\\n", " ").splitlines()
    return [shlex.split(line, comments=True) for line in lines if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("page", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_the_tutorial_runs_as_written(page, tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = dict(os.environ, MPLBACKEND="Agg")
    outputs = []
    for kind, block in _blocks(page):
        if kind == "python":
            runs = [[sys.executable, "-c", block]]
        else:
            runs = [[sys.executable, "-m", "nmcompiler", *c[1:]] if c[0] == "nmc" else
                    [sys.executable, *c[1:]] if c[0] == "python" else c for c in _commands(block)]
        for argv in runs:
            run = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
            assert run.returncode == 0, (argv, run.stderr[-2000:])
            assert "error:" not in run.stderr, (argv, run.stderr[-2000:])
            if "-o" in argv:
                outputs.append(argv[argv.index("-o") + 1])
    assert outputs and all((tmp_path / o).exists() for o in outputs), outputs
