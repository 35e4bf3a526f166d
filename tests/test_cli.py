"""The nmc command line: outputs, exit codes, no tracebacks, no partial files."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import EXAMPLES


def test_help_lists_commands(run_nmc):
    code, out, _ = run_nmc("--help")
    assert code == 0
    for cmd in ("validate", "info", "simulate", "schema"):
        assert cmd in out


def test_validate_ok_and_bad(run_nmc, write_yaml):
    code, out, err = run_nmc("validate", EXAMPLES / "cuba.yaml")
    assert code == 0 and out.startswith(f"{EXAMPLES / 'cuba.yaml'}: ok (4000 neurons, ") and err == ""
    bad = write_yaml("version: 1\ndt: 0.1 ms\npopulations:\n  a: {model: lif, size: -1}\n  b: {model: x, size: 1}\n")
    code, out, err = run_nmc("validate", bad)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines == [f"error: {bad}:4: population 'a': size must be a positive integer, not -1",
                     f"error: {bad}:5: population 'b': unknown model 'x' (use one of: lif, cuba_lif, if, threshold)"]


def test_info_json(run_nmc):
    code, out, _ = run_nmc("info", EXAMPLES / "synfire.yaml", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["neurons"] == 1000 and isinstance(info["synapses"], int)
    assert info["synapses"] == 9 * 100 * 100 + info["projections"][0]["synapses"]
    assert [p["name"] for p in info["populations"]] == [f"g{i}" for i in range(10)]
    assert info["populations"][1]["fan_in_max"] == 100
    code, out, _ = run_nmc("info", EXAMPLES / "synfire.yaml")
    assert code == 0 and "synfire: 1000 neurons" in out


def test_simulate_writes_outputs_deterministically(run_nmc, tmp_path):
    for name in ("a", "b"):
        code, out, err = run_nmc("simulate", EXAMPLES / "synfire.yaml", "--duration", "50 ms", "-o", tmp_path / name)
        assert code == 0, err
    a, b = tmp_path / "a", tmp_path / "b"
    assert sorted(p.name for p in a.iterdir()) == ["activity.json", "nmc-manifest.json", "raster.png", "spikes.npz",
                                                   "summary.json"]
    assert (a / "spikes.npz").read_bytes() == (b / "spikes.npz").read_bytes()
    assert (a / "activity.json").read_bytes() == (b / "activity.json").read_bytes()
    activity = json.loads((a / "activity.json").read_text())
    assert activity["synaptic_ops"] == json.loads((a / "summary.json").read_text())["synaptic_events"] > 0
    assert (a / "raster.png").read_bytes() == (b / "raster.png").read_bytes()
    summary = json.loads((a / "summary.json").read_text())
    assert summary["steps"] == 500 and summary["synaptic_events"] > 0
    assert set(summary["populations"]) == {f"g{i}" for i in range(10)}
    with np.load(a / "spikes.npz") as data:
        assert data["g0/times"].size == summary["populations"]["g0"]["spikes"]
        assert np.allclose(data["g0/times"], data["g0/steps"] * 1e-4)


def test_simulate_json_and_steps(run_nmc, tmp_path):
    code, out, _ = run_nmc("simulate", EXAMPLES / "single_lif.yaml", "--steps", "300", "-o", tmp_path, "--json",
                           "--no-plot")
    assert code == 0
    assert json.loads(out)["populations"]["neuron"]["spikes"] == 1
    assert not (tmp_path / "raster.png").exists()


def test_user_errors_exit_2_and_write_nothing(run_nmc, tmp_path, write_yaml):
    outdir = tmp_path / "out"
    cases = [
        (["simulate", tmp_path / "missing.yaml", "-o", outdir], f"error: {tmp_path / 'missing.yaml'}: file not found"),
        (["simulate", EXAMPLES / "cuba.yaml", "--duration", "1 s", "--steps", "5", "-o", outdir],
         "error: give either --duration or --steps, not both"),
        (["simulate", write_yaml("version: 1\ndt: 1 ms\npopulations:\n  a: {model: if, size: 1}\n"), "-o", outdir],
         "error: "),
        (["simulate", EXAMPLES / "cuba.yaml", "--duration", "5 mV", "-o", outdir], "Error: Invalid value for '--duration'"),
        (["info", tmp_path / "net.txt"], "error: "),
    ]
    (tmp_path / "net.txt").write_text("x")
    for args, start in cases:
        code, out, err = run_nmc(*args)
        assert code == 2, (args, err)
        assert err.startswith(start) or start in err, err
        assert "Traceback" not in err
        assert not outdir.exists()


def test_internal_error_exit_1(run_nmc, monkeypatch):
    import nmcompiler.cli.app as cli_main

    def boom(path, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(cli_main, "load_model_file", boom)
    code, _, err = run_nmc("info", EXAMPLES / "cuba.yaml")
    assert code == 1 and err.startswith("internal error: RuntimeError: simulated bug") and "Traceback" not in err


def test_real_process_exit_code_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ndt: 0.1 ms\npopulations: {a: {model: lif, size: 1, params: {tau_mem: .nan}}}\n")
    proc = subprocess.run([sys.executable, "-m", "nmcompiler", "validate", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr == f"error: {bad}:3: population 'a': tau_mem: value nan is not finite\n"


BAD_INPUTS = {
    "malformed_yaml": "version: 1\ndt: [0.1 ms\n",
    "unknown_model": "version: 1\ndt: 0.1 ms\npopulations:\n  a: {model: izhikevich, size: 3}\n",
    "negative_size": "version: 1\ndt: 0.1 ms\npopulations:\n  a: {model: if, size: -3}\n",
    "nan_weight": "version: 1\ndt: 0.1 ms\npopulations:\n  a: {model: if, size: 3}\nprojections:\n"
                  "  a_a: {pre: a, post: a, connector: all_to_all, weight: .nan}\n",
    "delay_below_dt": "version: 1\ndt: 0.1 ms\npopulations:\n  a: {model: if, size: 3}\nprojections:\n"
                      "  a_a: {pre: a, post: a, connector: all_to_all, delay: 0.01 ms}\n",
    "missing_field": "version: 1\ndt: 0.1 ms\npopulations:\n  a: {model: if}\n",
    "unknown_top_level_key": "version: 1\ndt: 0.1 ms\nneurons: 5\npopulations:\n  a: {model: if, size: 3}\n",
    "binary_garbage": "\x00\x01\x02version",
}


def test_bad_inputs_exit_2_without_traceback(run_nmc, write_yaml, tmp_path):
    for case, text in BAD_INPUTS.items():
        path = write_yaml(text, name=f"{case}.yaml")
        for cmd in (["validate", path], ["info", path], ["simulate", path, "--steps", "10", "-o", tmp_path / case]):
            code, out, err = run_nmc(*cmd)
            assert code == 2, (case, cmd[0], err)
            assert err.startswith(f"error: {path}:"), (case, err)
            assert "Traceback" not in err and not (tmp_path / case).exists()


def test_validate_json(run_nmc, write_yaml):
    path = write_yaml(BAD_INPUTS["negative_size"])
    code, out, _ = run_nmc("validate", path, "--json")
    assert code == 2
    report = json.loads(out)
    assert report["ok"] is False
    assert report["problems"] == [{"where": f"{path}:4", "message": "population 'a': size must be a positive integer, not -3"}]
    code, out, _ = run_nmc("validate", EXAMPLES / "mlp.yaml", "--json")
    assert code == 0 and json.loads(out)["neurons"] == 42


def test_saved_ir_is_accepted_everywhere(run_nmc, tmp_path):
    from nmcompiler import load_network
    from nmcompiler.ir import save_network

    saved = save_network(load_network(EXAMPLES / "synfire.yaml"), tmp_path / "synfire.npz")
    code, out, _ = run_nmc("info", saved, "--json")
    assert code == 0 and json.loads(out)["neurons"] == 1000
    code_a, _, _ = run_nmc("simulate", saved, "--duration", "30 ms", "-o", tmp_path / "a", "--no-plot")
    code_b, _, _ = run_nmc("simulate", EXAMPLES / "synfire.yaml", "--duration", "30 ms", "-o", tmp_path / "b", "--no-plot")
    assert code_a == code_b == 0
    assert (tmp_path / "a" / "spikes.npz").read_bytes() == (tmp_path / "b" / "spikes.npz").read_bytes()


def test_outputs_are_written_atomically_with_the_usual_permissions(tmp_path):
    """A written file has the mode of a plainly created one (0o666 less the umask), not the
    owner-only mode of its temporary file; a failed write leaves neither file nor temporary."""
    import os

    from nmcompiler.fileio import atomic_open, write_json

    old = os.umask(0o022)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
        assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
        with pytest.raises(RuntimeError):
            with atomic_open(tmp_path / "b.bin") as f:
                f.write(b"partial")
                raise RuntimeError("interrupted")
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
