"""Batch evaluation (issue 30): ``compare --data`` and ``verify --data`` split their samples over an
executor (Dask) and give the same results as one process: counts, accuracies, per-class scores,
the estimate's energy, byte for byte at the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import EXAMPLES

from nmcompiler.executor import DaskExecutor, chunks

DIGITS = EXAMPLES / "digits" / "digits.yaml"
STEPS = 25


@pytest.fixture(scope="module")
def dask_executor():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        yield DaskExecutor(client, "in-process test cluster")


@pytest.fixture(scope="module")
def digits():
    from nmcompiler import load_network
    from nmcompiler.sim.data import SampleData

    d = np.load(EXAMPLES / "digits" / "digits_test.npz")
    return load_network(DIGITS), SampleData.of(d["x"][:37], d["y"][:37], "rate")


def test_chunks_cover_every_sample_once():
    for n in (1, 2, 7, 37, 450):
        for workers in (1, 2, 3, 8):
            pieces = chunks(n, workers)
            assert [k for p in pieces for k in p] == list(range(n)) and len(pieces) <= max(1, workers * 4)


def test_compare_networks_on_dask_equals_one_process(digits, dask_executor):
    from nmcompiler.analysis import compare_networks
    from nmcompiler.targets import load_target

    net, data = digits
    fmt = load_target("loihi-like").format
    runs = [compare_networks(net, fmt, steps=STEPS, data=data, weight_bits_curve=(3, 4), executor=ex)
            for ex in (None, dask_executor)]
    a, b = (r.to_json() for r in runs)
    assert a == b
    assert a["float_accuracy"] > 0.8 and a["samples"] == 37  # something ran: a working classifier
    assert [p["hw_accuracy"] for p in a["accuracy_vs_weight_bits"]] == [p["hw_accuracy"] for p in b["accuracy_vs_weight_bits"]]


def test_image_runs_and_their_estimate_on_dask_equal_one_process(digits, dask_executor):
    import nmcompiler
    from nmcompiler.flow.estimate import RunRecorder, image_placement, recording_program
    from nmcompiler.flow.image_accuracy import compare_image

    net, data = digits
    chip = nmcompiler.compile(net, "loihi-like")
    out = []
    for ex in (None, dask_executor):
        program, recorder = recording_program(chip.contents), RunRecorder("out")
        cmp = compare_image(net, program, data, target="loihi-like", steps=STEPS, on_run=recorder, executor=ex)
        est, activity = recorder.estimate(program, image_placement(chip.contents, chip.mapping.target, program.n, "t"),
                                          chip.mapping.target.cost)
        out.append((cmp.to_json(), est.to_json(), activity.to_json()))
    assert out[0] == out[1]
    assert out[0][1]["inferences"] == 37 and out[0][2]["synaptic_ops"] > 10_000


def test_verify_data_on_dask_equals_one_process(digits, dask_executor):
    from nmcompiler.flow.verify import compile_for_verification, verify_data
    from nmcompiler.targets import load_target

    net, data = digits
    contents, mapped = compile_for_verification(net, load_target("loihi-like"), False, where="digits")
    samples = np.stack([data.spikes(k, STEPS, net.seed) for k in range(len(data))])
    a, b = (verify_data(contents, mapped, net, samples=samples, labels=data.y, source="pixels", output="out",
                        steps=STEPS, rtl_samples=0, executor=ex).to_json() for ex in (None, dask_executor))
    assert a == b and a["spikes"]["int"] > 0


def test_the_command_line_splits_samples_over_worker_processes(tmp_path, run_nmc):
    d = np.load(EXAMPLES / "digits" / "digits_test.npz")
    np.savez(tmp_path / "d.npz", x=d["x"][:24], y=d["y"][:24])
    args = ["compare", DIGITS, "--target", "loihi-like", "--steps", STEPS, "--data", tmp_path / "d.npz", "--json"]
    code, one, err = run_nmc(*args, "-o", tmp_path / "one")
    assert code == 0, err
    code, two, err = run_nmc(*args, "-o", tmp_path / "two", "--workers", "2")
    assert code == 0, err
    assert one == two and json.loads(one)["image_accuracy"] > 0.5
    assert (tmp_path / "one" / "compare.json").read_bytes() == (tmp_path / "two" / "compare.json").read_bytes()
    assert run_nmc("compile", DIGITS, "--target", "loihi-like", "-o", tmp_path / "c")[0] == 0
    image = ["compare", tmp_path / "c" / "digits.nmc", "--network", DIGITS, "--steps", STEPS, "--data",
             tmp_path / "d.npz", "--json"]
    code, one, err = run_nmc(*image, "-o", tmp_path / "img1")
    assert code == 0, err
    code, two, err = run_nmc(*image, "-o", tmp_path / "img2", "--workers", "2")
    assert code == 0, err
    assert one == two and json.loads(one)["estimate"]["inferences"] == 24
    code, _, err = run_nmc("verify", DIGITS, "--target", "loihi-like", "--levels", "float,int", "--workers", "2")
    assert code == 2 and "--workers and --scheduler split the samples of --data" in err
