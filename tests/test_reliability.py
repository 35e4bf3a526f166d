"""Hostile input gets exit 2 with its file, line and cause, quickly, and nothing written
(issue 33's causes, one regression test each)."""

from __future__ import annotations

import re
import time

import pytest

LAUGHS = "version: 1\na: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{k}: &{k} [{', '.join([f'*{p}'] * 10)}]\n" for p, k in zip("abcdefg", "bcdefgh"))
CASES = {
    "billion laughs": (LAUGHS, r"8: aliases expand to more than 2,000,000 values: write the values out, or use "
                               r"\.npy files"),
    "an alias inside itself": ("version: 1\npopulations: &a\n  x: *a\n",
                               r"\d+: an alias refers to a list or mapping that contains it"),
    "deep nesting": ("version: 1\nx: " + "[" * 500 + "]" * 500 + "\n",
                     r"2: lists and mappings nested deeper than 64 levels"),
    "deep through aliases": ("version: 1\na0: &a0 [1]\n" + "".join(f"a{k}: &a{k} [*a{k - 1}]\n" for k in range(1, 70)),
                             r"\d+: lists and mappings nested deeper than 64 levels"),
    "an integer key": ("version: 1\ndt: 0.1 ms\npopulations:\n  a: {model: lif, size: 1, params: {tau_mem: 1 ms}}\n"
                       "projections:\n  5: {pre: a, post: a, connector: one_to_one}\n",
                       r"6: mapping key 5 must be a string \(quote it: '5'\)"),
    "a boolean key": ("version: 1\ndt: 0.1 ms\npopulations:\n  yes: {model: lif, size: 1}\n",
                      r"4: mapping key True must be a string \(quote it: 'yes'\)"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["validate", "simulate"])
def test_hostile_yaml_is_refused_before_it_is_built(case, command, run_nmc, tmp_path):
    text, message = CASES[case]
    path = tmp_path / "net.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    args = (command, path) + (("-o", out) if command == "simulate" else ())
    t = time.perf_counter()
    code, stdout, err = run_nmc(*args)
    assert time.perf_counter() - t < 5
    assert code == 2 and stdout == "" and "Traceback" not in err
    assert re.fullmatch(rf"error: {re.escape(str(path))}:{message}\n", err), err
    assert not out.exists()


def test_target_files_are_read_with_the_same_bounds(run_nmc, tmp_path):
    target = tmp_path / "evil.yaml"
    target.write_text(LAUGHS)
    code, _, err = run_nmc("check", tmp_path / "none.yaml", "--target", target)
    assert code == 2 and re.fullmatch(rf"error: {re.escape(str(target))}:8: aliases expand to more than 2,000,000 "
                                      r"values: write the values out, or use \.npy files\n", err), err
    code, _, err = run_nmc("targets", "--derive", "fpga-lif", "--set", "core.neurons=&a [*a]", "-o", tmp_path / "t.yaml")
    assert code == 2 and "an alias refers to a list or mapping that contains it" in err
    assert not (tmp_path / "t.yaml").exists()
