"""``nmc sweep`` (issue 30): a design-space sweep on the digits example gives the same table on Dask
as in one process, byte for byte; a point equals the same compile and estimate made through the
API on a target derived by ``nmc targets --derive``; an interrupted sweep resumes and runs only the
missing points; a worker that dies mid-task has its point retried, or recorded as failed while the
sweep finishes; bad sweep files are exit 2 with their line."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import dask
import numpy as np
import pytest

from conftest import EXAMPLES

from nmcompiler.executor import DaskExecutor, SerialExecutor
from nmcompiler.sweep import load_spec, run_sweep
from nmcompiler.sweep.engine import run_task

import sweep_helpers

STEPS = 20
SPEC = """\
    version: 1
    name: digits-test
    network: digits.yaml
    target: loihi-like
    data: d.npz
    encode: rate
    steps: 20
    axes:
      target.chip.mesh: [[2, 2]]       # one chip of 4 cores: 8-neuron cores do not fit
      target.chip.max_chips: 1
      target.core.neurons: [8, 16, 64]
      target.format.weight_bits: [1, 3, 8]   # 1 bit is not a valid format: those points fail
      seed: [0, 1]
"""


def _folder(root: Path, spec: str = SPEC, samples: int = 20) -> Path:
    for name in ("digits.yaml", "w_in_hidden.npy", "w_hidden_out.npy"):
        shutil.copy(EXAMPLES / "digits" / name, root / name)
    data = np.load(EXAMPLES / "digits" / "digits_test.npz")
    np.savez(root / "d.npz", x=data["x"][:samples], y=data["y"][:samples])
    (root / "sweep.yaml").write_text(textwrap.dedent(spec))
    return root / "sweep.yaml"


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The sweep run in this process, one point after another."""
    root = tmp_path_factory.mktemp("sweep")
    spec = load_spec(_folder(root))
    run = run_sweep(spec, root / "serial", SerialExecutor())
    return root, spec, run


@pytest.fixture(scope="module")
def client():
    """An in-process Dask cluster: two workers of one thread each."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        yield c


def _rows(outdir: Path) -> list[dict]:
    return json.loads((outdir / "sweep.json").read_text())["rows"]


def test_the_sweep_ran_every_kind_of_point(serial):
    root, spec, run = serial
    rows = _rows(root / "serial")
    assert len(rows) == 18 and run.computed == 20 and run.cached == 0  # 18 points, 2 float references
    assert run.table.counts() == {"ok": 8, "misfit": 4, "failed": 6}
    for r in rows:
        if r["target.format.weight_bits"] == 1:
            assert r["status"] == "failed" and "weight_bits must lie in [2, 48]" in r["error"]
        elif r["target.core.neurons"] == 8:
            assert r["status"] == "misfit" and "needs at least 6 cores" in r["error"]
        else:  # something happened: spikes reached the output, energy and latency were counted
            assert r["status"] == "ok" and r["cores"] == (3 if r["target.core.neurons"] == 16 else 1)
            assert r["energy_j"] > 0 and r["synaptic_ops"] > 1000 and r["decision_ticks"] > 0
            assert 0.1 <= r["accuracy"] <= 1 and r["float_accuracy"] >= 0.8
            if r["target.format.weight_bits"] == 8:
                assert r["accuracy_loss"] <= 0.1
    front = [r["point"] for r in rows if r["pareto_cores"]]
    assert front and all(rows[k]["cores"] == 1 for k in front)


def test_dask_gives_the_serial_table_byte_for_byte(serial, client, tmp_path):
    root, spec, _ = serial
    run = run_sweep(spec, tmp_path / "dask", DaskExecutor(client, "in-process test cluster"))
    assert run.computed == 20
    for name in ("sweep.csv", "sweep.parquet"):
        assert (tmp_path / "dask" / name).read_bytes() == (root / "serial" / name).read_bytes(), name
    assert _rows(tmp_path / "dask") == _rows(root / "serial")
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "dask" / "sweep.parquet")
    assert table.num_rows == 18 and table.column("accuracy").type == "double"
    assert table.column("target.core.neurons").to_pylist() == [r["target.core.neurons"] for r in _rows(root / "serial")]


def test_a_point_equals_the_api_on_a_derived_target(serial, tmp_path):
    """Point (16 neurons, 3 bits, seed 1) against nmc targets --derive + nmcompiler.compile + estimate."""
    import nmcompiler
    from nmcompiler.sim.data import SampleData
    from nmcompiler.targets.derive import derive_target

    root, _, _ = serial
    row = next(r for r in _rows(root / "serial") if r["target.core.neurons"] == 16
               and r["target.format.weight_bits"] == 3 and r["seed"] == 1)
    _, target = derive_target("loihi-like", ["chip.mesh=[2,2]", "chip.max_chips=1", "core.neurons=16",
                                             "format.weight_bits=3"], tmp_path / "t.yaml", name="loihi-like")
    chip = nmcompiler.compile(root / "digits.yaml", target, seed=1)
    import hashlib

    assert hashlib.sha256(chip.image).hexdigest() == row["image_sha256"]
    d = np.load(root / "d.npz")
    data = SampleData.of(d["x"], d["y"], "rate")
    spikes = np.stack([data.spikes(k, STEPS, 1) for k in range(len(data))])
    run = chip.estimate(samples=spikes, labels=d["y"], steps=STEPS, source="pixels", output="out", seed=1)
    assert run.accuracy == row["accuracy"]
    assert run.estimate.energy / len(data) == pytest.approx(row["energy_j"], rel=1e-12)
    acc = chip.accuracy(spikes, d["y"], output="out", steps=STEPS, source="pixels", seed=1)
    assert acc.float_accuracy == row["float_accuracy"] and acc.hw_accuracy == row["accuracy"]


def _recording(folder: Path):
    """A task function that leaves a file per task it runs (workers may be threads or processes)."""
    folder.mkdir(parents=True, exist_ok=True)

    def evaluate(inputs, kind, arg):
        name = f"float-{arg}" if kind == "float" else f"point-{arg.index}"
        (folder / name).write_text("ran")
        return run_task(inputs, kind, arg)

    return evaluate


def test_an_interrupted_sweep_resumes_with_the_missing_points_only(serial, client, tmp_path):
    root, spec, _ = serial
    out = tmp_path / "resumed"

    def interrupt(done, total):
        if done >= 8:
            raise KeyboardInterrupt  # as Ctrl-C would: the pending futures are cancelled

    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, out, DaskExecutor(client, "test"), progress=interrupt)
    stored = {json.loads(p.read_text())["key"] for p in (out / "points").glob("*.json")}
    assert 8 <= len(stored) < 20 and not (out / "sweep.csv").exists()
    ran = tmp_path / "ran"
    run = run_sweep(spec, out, DaskExecutor(client, "test"), evaluate=_recording(ran))
    assert run.cached == len(stored) and run.computed == 20 - len(stored)
    assert len(list(ran.iterdir())) == 20 - len(stored)  # nothing ran twice
    assert (out / "sweep.csv").read_bytes() == (root / "serial" / "sweep.csv").read_bytes()
    again = run_sweep(spec, out, DaskExecutor(client, "test"), evaluate=_recording(tmp_path / "none"))
    assert again.computed == 0 and not list((tmp_path / "none").iterdir())


def test_a_killed_worker_has_its_point_retried_or_recorded(tmp_path):
    """Worker processes: one point kills its worker once (retried on a new worker: it runs), one
    every time (recorded as failed once Dask gives up on it); the sweep finishes either way."""
    from distributed import Client, LocalCluster

    spec = load_spec(_folder(tmp_path, SPEC.replace("[8, 16, 64]", "[16, 64]").replace("[1, 3, 8]", "[8]")
                             .replace("seed: [0, 1]", "seed: [0, 1, 2]"), samples=8))
    # as open_executor's clusters: a task per worker at a time, so a dying worker takes only its own
    with dask.config.set({"distributed.scheduler.allowed-failures": 1, "distributed.scheduler.worker-saturation": 1.0}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        once = run_sweep(spec, tmp_path / "once", DaskExecutor(c, "test"),
                         evaluate=sweep_helpers.kill_worker_once(str(tmp_path), 2))
        always = run_sweep(spec, tmp_path / "always", DaskExecutor(c, "test"),
                           evaluate=sweep_helpers.kill_worker_always(4))
    assert (tmp_path / "killed-2").exists()
    assert [r["status"] for r in _rows(tmp_path / "once")] == ["ok"] * 6 and once.computed == 9
    rows = _rows(tmp_path / "always")
    assert [r["status"] for r in rows] == ["ok"] * 4 + ["failed", "ok"], [r["error"] for r in rows]
    assert "KilledWorker" in rows[4]["error"] and "worker died" in rows[4]["error"]
    assert always.table.counts()["failed"] == 1


def test_the_command_line_writes_the_set_and_refuses_bad_sweep_files(tmp_path, run_nmc):
    spec = _folder(tmp_path, SPEC.replace("[8, 16, 64]", "[64]").replace("[1, 3, 8]", "[4]"), samples=5)
    code, text, err = run_nmc("sweep", spec, "-o", tmp_path / "o", "--workers", "0")
    assert code == 0, err
    assert "2 points (2 ran, 0 do not fit, 0 failed); 4 computed" in text
    assert {p.name for p in (tmp_path / "o").iterdir()} >= {"sweep.csv", "sweep.parquet", "sweep.json",
                                                             "pareto.png", "points"}
    code, text, _ = run_nmc("sweep", spec, "-o", tmp_path / "o", "--workers", "0", "--json")
    assert code == 0 and json.loads(text)["cached"] == 4 and json.loads(text)["computed"] == 0
    bad = {"  seed: [0, 1]\n": ("  speed: [0, 1]\n", "sweep.yaml:13: axes: unknown axis 'speed'"),
           "[[2, 2]]": ("[[2, 2], [2, 2]]", "sweep.yaml:9: axes: target.chip.mesh: a value is listed twice"),
           "network: digits.yaml": ("network: ../digits.yaml", "sweep.yaml:3: network: '../digits.yaml' lies outside"),
           "version: 1\n": ("version: 2\n", "sweep.yaml:1: version: 1 was expected")}
    text = spec.read_text()
    for old, (new, message) in bad.items():
        spec.write_text(text.replace(old, new))
        code, _, err = run_nmc("sweep", spec, "-o", tmp_path / "bad")
        assert code == 2 and message in err and "Traceback" not in err, (new, err)
        assert not (tmp_path / "bad").exists()
    spec.write_text(text)
    code, _, err = run_nmc("sweep", spec, "-o", tmp_path / "o", "--scheduler", "tcp://127.0.0.1:1",
                           "--memory-limit", "1G")
    assert code == 2 and "--memory-limit sizes the local cluster" in err


def test_a_random_sample_of_the_grid_is_seeded_and_in_grid_order(tmp_path):
    import itertools

    spec = load_spec(_folder(tmp_path, SPEC + "    sample: {points: 5, seed: 3}\n"))
    points = spec.points()
    assert [p.index for p in points] == [p.index for p in load_spec(tmp_path / "sweep.yaml").points()]
    assert len({p.index for p in points}) == 5 and [p.index for p in points] == sorted(p.index for p in points)
    grid = list(itertools.product(*(v for _, v in spec.axes)))
    assert all(tuple(v for _, v in p.values) == grid[p.index] for p in points) and spec.grid_size == 18


def test_an_unknown_base_target_is_refused_before_any_point_runs(tmp_path, run_nmc):
    spec = _folder(tmp_path, SPEC.replace("target: loihi-like", "target: loihi-lik"), samples=3)
    code, _, err = run_nmc("sweep", spec, "-o", tmp_path / "o", "--workers", "0")
    assert code == 2 and "unknown target 'loihi-lik'" in err and not (tmp_path / "o").exists()


def test_an_existing_cluster_by_its_address_gives_the_same_table(serial, tmp_path, run_nmc):
    from distributed import LocalCluster

    root, _, _ = serial
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://", dashboard_address=":0",
                      scheduler_port=0) as cluster:
        assert cluster.scheduler_address.startswith("tcp://")
        code, text, err = run_nmc("sweep", root / "sweep.yaml", "-o", tmp_path / "remote", "--scheduler",
                                  cluster.scheduler_address)
    assert code == 0, err
    assert f"Dask cluster at {cluster.scheduler_address}" in text
    assert (tmp_path / "remote" / "sweep.csv").read_bytes() == (root / "serial" / "sweep.csv").read_bytes()


def test_chip_instances_of_an_analog_target(tmp_path):
    """brainscales2-like: each instance's accuracy (a float run of that chip, as nmc compare
    --instances); the instance axis on a digital target is a failed point naming why."""
    from nmcompiler.flow.variation import compare_instances
    from nmcompiler.sweep.point import evaluate_point
    from nmcompiler.sweep.run import prepare_inputs
    from nmcompiler.sweep.spec import Point
    from nmcompiler.targets import load_target

    spec = load_spec(_folder(tmp_path, SPEC.replace("target: loihi-like", "target: brainscales2-like"), samples=20))
    inputs = prepare_inputs(spec)
    results = [evaluate_point(inputs, Point(index=k, values=(("instance", k), ("calibrated", False))))
               for k in (0, 1)]
    report = compare_instances(inputs.network, load_target("brainscales2-like"), instances=2, seed=0,
                               data=inputs.data, source="pixels", output="out", steps=STEPS)
    assert [r.status for r in results] == ["ok", "ok"]
    assert [r.instance_accuracy for r in results] == [i.accuracy for i in report.instances]
    assert results[0].accuracy > 0.5  # the image (nominal, digital weights) classifies
    digital = load_spec(_folder(tmp_path, SPEC, samples=20))
    bad = evaluate_point(prepare_inputs(digital), Point(index=0, values=(("instance", 0),)))
    assert bad.status == "failed" and "has no device variation" in bad.error


NUMBA_FIRST = '''
import json
import numba  # imported before the workers' environment is set: each spawned worker imports this script

from nmcompiler.executor import ExecutorChoice


def task(shared, k):
    import numba
    from numba import njit

    launched = numba.get_num_threads()  # starts numba's threads
    f = njit(lambda x: x + k)  # a new compilation, which re-reads numba's environment
    return launched, int(f(1))


if __name__ == "__main__":
    with ExecutorChoice(workers=1).open() as ex:
        print(json.dumps(ex.map(task, None, [1, 2])))
'''


def test_local_workers_compile_after_numba_threads_started_in_a_script_that_imports_numba(tmp_path):
    """A local cluster's tasks run on one numba thread each, and compile after numba's threads
    started even when the main script imported numba (it used to set NUMBA_NUM_THREADS after the
    worker had read it: every sweep point compiling a new kernel failed with an internal error)."""
    import subprocess
    import sys

    script = tmp_path / "numba_first.py"
    script.write_text(NUMBA_FIRST)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [[1, 2], [1, 3]]
