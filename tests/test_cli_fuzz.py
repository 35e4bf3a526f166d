"""Fuzzing at the command line (issue 33): mutated network files through ``nmc check``, ``nmc
compile``, ``nmc simulate`` and ``nmc info``. Every run exits 0 or 2 without a traceback; it writes
nothing outside its ``-o`` folder; a run that exits 2 leaves no output folder behind (nothing
partial); one that exits 0 leaves a whole set (its manifest lists every file).
``NMC_FUZZ_CASES`` / ``NMC_FUZZ_SEED`` as in tests/test_fuzz_entrances.py."""

from __future__ import annotations

import copy
import json
import os
import random
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLES
from fuzz_mutators import JSON_VALUES, _paths, mutate_nir, report

CASES = max(8, int(os.environ.get("NMC_FUZZ_CASES", "200")) // 5)
SEED = int(os.environ.get("NMC_FUZZ_SEED", "20261205"))
COMMANDS = (("check", "--target", "loihi-like"), ("compile", "--target", "loihi-like", "-o", "{out}"),
            ("compile", "--target", "speck-like", "-o", "{out}"), ("simulate", "--steps", "20", "-o", "{out}"),
            ("info",))
BASE = yaml.safe_load((EXAMPLES / "synfire.yaml").read_text())


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _yaml_case(rng: random.Random, path: Path) -> str:
    doc = copy.deepcopy(BASE)
    where = rng.choice([p for p in _paths(doc) if p])
    node = doc
    for key in where[:-1]:
        node = node[key]
    value = rng.choice(JSON_VALUES)
    node[where[-1]] = value
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return f"{'/'.join(map(str, where))} = {value!r}"


def _nir_case(rng: random.Random, path: Path, source: Path) -> str:
    return mutate_nir(source, path, rng)


def _check_run(run_nmc, tmp_path: Path, command: tuple, file: Path, what: str) -> int:
    out = tmp_path / "out"
    before = _tree(tmp_path)
    args = [a.format(out=out) for a in command]
    extra = ["--dt", "1ms"] if file.suffix == ".nir" and command[0] != "info" else []
    code, _, err = run_nmc(command[0], file, *args[1:], *extra)
    where = f"nmc {' '.join(args)} on {file.name} ({what})"
    assert code in (0, 2), f"{where}: exit {code}\n{err[-2000:]}"
    assert "Traceback" not in err and "internal error" not in err, f"{where}:\n{err[-2000:]}"
    made = _tree(tmp_path) - before
    assert all(m == "out" or m.startswith("out/") for m in made), f"{where}: wrote outside -o: {sorted(made)[:5]}"
    if code == 2:
        assert not out.exists(), f"{where}: exit 2 left {sorted(_tree(out))[:5]}"
    elif out.exists():
        listed = set(json.loads((out / "nmc-manifest.json").read_text())["files"])
        assert listed | {"nmc-manifest.json"} >= {p.name for p in out.iterdir() if p.is_file()}, where
    return code


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_mutated_files_at_the_command_line_exit_0_or_2_and_write_only_whole_sets(tmp_path, run_nmc):
    import shutil

    rng = random.Random(SEED)
    nir_source = EXAMPLES / "digits" / "digits.nir"
    codes = {0: 0, 2: 0}
    for k in range(CASES):
        case = tmp_path / f"case{k}"
        case.mkdir()
        if rng.random() < 0.5:
            file = case / "net.yaml"
            for name in ("w_in_hidden.npy", "w_hidden_out.npy"):  # files the examples' connectors name
                if (EXAMPLES / name).exists():
                    shutil.copy(EXAMPLES / name, case / name)
            what = _yaml_case(rng, file)
        else:
            file = case / "net.nir"
            what = _nir_case(rng, file, nir_source)
        code = _check_run(run_nmc, case, rng.choice(COMMANDS), file, what)
        codes[code] += 1
        shutil.rmtree(case)
    report("command line", {"seed": SEED, "cases": CASES, "exit 0": codes[0], "exit 2": codes[2]})
    assert codes[2] > CASES // 4 and codes[0] > 0, codes  # both outcomes are exercised
