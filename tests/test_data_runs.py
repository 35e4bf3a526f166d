"""Labelled data through every command: ``simulate --data`` on a network (float) and on an image
(its own tables), and ``compare IMAGE.nmc --network NET --data`` (the image against the float
network it came from). The float counts are snnTorch's own; the image's are the ones the API's
bit-accurate run of the same image gives."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nmcompiler
from nmcompiler.cli.main import main

DIGITS = Path(__file__).resolve().parents[1] / "examples" / "digits"
NIR = str(DIGITS / "digits_snntorch.nir")
SAMPLES = 40


def _run(args, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return exc.value.code or 0, captured.out, captured.err


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """The first test digits as events, snnTorch's own output and hidden counts, and the image for
    loihi-like."""
    folder = tmp_path_factory.mktemp("data")
    data = np.load(DIGITS / "digits_snntorch_test.npz")
    x = np.unpackbits(data["spikes"][:SAMPLES], axis=-1)[..., :64]
    np.savez(folder / "events.npz", x=x, y=data["y"][:SAMPLES])
    chip = nmcompiler.compile(NIR, target="loihi-like", preset="snntorch")
    (folder / "digits.nmc").write_bytes(chip.image)
    return folder, x, data["y"][:SAMPLES], data["counts"][:SAMPLES], data["hidden_counts"][:SAMPLES], chip


def test_simulate_data_on_the_network_gives_snntorchs_counts(digits, tmp_path, capsys):
    folder, x, y, counts, hidden, _ = digits
    code, out, err = _run(["simulate", NIR, "--from", "snntorch", "--data", folder / "events.npz", "--encode", "events",
                           "--json", "-o", tmp_path], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["samples"] == SAMPLES and doc["steps"] == 27 and doc["output"] == "3"
    with np.load(tmp_path / "counts.npz") as f:
        assert np.array_equal(f["3"], counts)  # every neuron, every sample (25 steps + the output's lag of 2)
    assert doc["accuracy"] == float(np.mean(np.argmax(counts, axis=1) == y))
    assert doc["populations"]["3"]["spikes"] == counts.sum() > 1000 and doc["populations"]["3"]["silent_samples"] == 0
    first = json.loads((tmp_path / "summary.json").read_text())  # the first sample's whole run
    assert first["populations"]["3"]["spikes"] == counts[0].sum()
    assert (tmp_path / "raster.png").read_bytes()[:4] == b"\x89PNG"
    code, out, _ = _run(["simulate", NIR, "--from", "snntorch", "--data", folder / "events.npz", "--encode", "events",
                         "--steps", "26", "--json", "-o", tmp_path / "hidden"], capsys)  # the hidden layer's lag is 1
    with np.load(tmp_path / "hidden" / "counts.npz") as f:
        assert code == 0 and np.array_equal(f["1"], hidden) and hidden.sum() > 10_000


def test_simulate_data_on_the_image_runs_its_tables(digits, tmp_path, capsys):
    folder, x, y, _, _, chip = digits
    code, out, _ = _run(["simulate", folder / "digits.nmc", "--data", folder / "events.npz", "--encode", "events",
                         "--steps", "27", "--json", "-o", tmp_path], capsys)
    doc = json.loads(out)
    acc = chip.accuracy(x, y, output="3", steps=27)
    with np.load(tmp_path / "counts.npz") as f:
        assert np.array_equal(f["3"], acc.hw_counts.counts)
    assert code == 0 and doc["accuracy"] == acc.hw_accuracy and doc["populations"]["1"]["spikes"] > 10_000
    one = chip.simulate({"input": x[3]}, steps=27)  # a sample alone gives the same counts
    assert np.array_equal(np.bincount(one.spike_ids["3"], minlength=10), acc.hw_counts.counts[3])


def test_compare_an_image_against_its_network(digits, tmp_path, capsys):
    folder, x, y, counts, hidden, chip = digits
    code, out, err = _run(["compare", folder / "digits.nmc", "--network", NIR, "--from", "snntorch", "--data",
                           folder / "events.npz", "--encode", "events", "--json", "-o", tmp_path], capsys)
    doc = json.loads(out)
    acc = chip.accuracy(x, y, output="3", steps=27)
    assert code == 0 and doc["target"] == "loihi-like" and doc["steps"] == 27 and doc["samples"] == SAMPLES
    assert doc["float_accuracy"] == float(np.mean(np.argmax(counts, axis=1) == y))
    assert doc["hw_accuracy"] == acc.hw_accuracy and doc["agreement"] == acc.agreement
    agree = doc["population_agreement"]
    assert agree["3"]["float_spikes"] == counts.sum() and agree["1"]["float_spikes"] > 10_000
    assert agree["3"]["hw_spikes"] == acc.hw_counts.counts.sum() > 1000
    same = float(np.mean(np.all(acc.hw_counts.counts == counts, axis=1)))
    assert agree["3"]["count_agreement"] == doc["count_agreement"] == same
    assert 0 <= agree["1"]["mean_abs_difference"] < 0.5  # quantization moves few hidden spikes
    assert doc["populations"]["3"]["float_spikes"] == counts[0].sum()  # the plot's run is the first sample
    assert (tmp_path / "confusion.png").exists() and (tmp_path / "compare.png").exists()


@pytest.mark.parametrize("args, message", [
    (["compare", "{img}", "--data", "{ev}", "--encode", "events"], "give --network NET --data FILE.npz"),
    (["compare", "{img}", "--network", NIR, "--data", "{ev}", "--encode", "events", "--weight-bits", "4"],
     "drop --weight-bits: the image fixes its format"),
    (["compare", "{img}", "--network", NIR, "--data", "{flat}", "--encode", "current"], "use --encode rate or events"),
    (["compare", "{img}", "--network", NIR, "--data", "{ev}", "--encode", "events", "--target", "fpga-lif"],
     "compiled for target 'loihi-like'"),
    (["compare", NIR, "--data", "{ev}"], "compare NETWORK --target TARGET"),
    (["simulate", "{img}", "--data", "{ev}", "--encode", "events"], "give --steps (the samples have 25"),
    (["simulate", NIR, "--data", "{ev}", "--encode", "events", "--input", "input=x.npy"], "either --data or --input"),
    (["simulate", NIR, "--data", "{bad}", "--encode", "events"], "bad.npz: events must be 0 or 1"),
    (["simulate", NIR, "--data", "{big}", "--encode", "events"], "labels must be in [0, 10)"),
    (["simulate", NIR, "--data", "{ev}", "--encode", "events", "--input-source", "pixels"],
     "input 'pixels' is not a SpikeSource"),
])
def test_bad_data_runs_are_exit_2(digits, tmp_path, capsys, args, message):
    folder, x, y, *_ = digits
    np.savez(tmp_path / "bad.npz", x=x * 2, y=y)
    np.savez(tmp_path / "big.npz", x=x, y=y + 10)
    np.savez(tmp_path / "flat.npz", x=x[:, 0], y=y)
    paths = {"img": folder / "digits.nmc", "ev": folder / "events.npz", "bad": tmp_path / "bad.npz",
             "big": tmp_path / "big.npz", "flat": tmp_path / "flat.npz"}
    args = [a.format(**paths) if isinstance(a, str) else a for a in args]
    code, out, err = _run(args + ["--from", "snntorch"] * (NIR in args) + ["-o", tmp_path / "o"], capsys)
    assert code == 2 and message in err and "Traceback" not in err, err
    assert not (tmp_path / "o").exists()  # nothing written


def test_simulate_rate_data_without_labels(write_yaml, tmp_path, capsys):
    from tests.test_compare import TOY

    x = np.array([[1, 1, 0, 0], [0, 0, 1, 1], [0.5, 0.5, 0.5, 0.5]])
    np.savez(tmp_path / "d.npz", x=x)
    code, out, _ = _run(["simulate", write_yaml(TOY), "--data", tmp_path / "d.npz", "--steps", "40", "--json",
                         "-o", tmp_path / "o"], capsys)
    doc = json.loads(out)
    assert code == 0 and "accuracy" not in doc and doc["samples"] == 3 and len(doc["predictions"]) == 3
    assert sum(p["spikes"] for p in doc["populations"].values()) > 0


def test_verify_on_rate_coded_data(digits, tmp_path, capsys):
    folder, x, y, *_ = digits
    np.savez(tmp_path / "rates.npz", x=x.mean(axis=1), y=y)  # each pixel's spike probability per step
    args = ["verify", NIR, "--from", "snntorch", "--target", "fpga-lif", "--data", tmp_path / "rates.npz"]
    code, out, err = _run(args + ["--steps", "27", "--rtl-samples", "1", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["samples"] == SAMPLES and doc["rtl_mismatches"] == 0
    assert doc["float_accuracy"] > 0.8 and abs(doc["int_accuracy"] - doc["float_accuracy"]) <= 0.1
    assert all(doc["spikes"][level] > 100 for level in ("float", "int", "rtl"))
    code, _, err = _run(args, capsys)
    assert code == 2 and "rate-coded data has no length: give --steps" in err
    code, _, err = _run(args + ["--steps", "27", "--encode", "current"], capsys)
    assert code == 2 and "use --encode rate or events" in err


def test_compare_takes_its_length_from_event_samples_or_duration(digits, tmp_path, capsys):
    folder, x, y, counts, *_ = digits
    code, out, err = _run(["compare", NIR, "--from", "snntorch", "--target", "spinnaker-like", "--data",
                           folder / "events.npz", "--json", "-o", tmp_path / "net"], capsys)
    doc = json.loads(out)  # 25 steps of events + the output's lag of 2; events told from the 3-D x
    assert code == 0 and doc["steps"] == 27 and doc["float_accuracy"] == float(np.mean(np.argmax(counts, 1) == y))
    code, out, _ = _run(["compare", folder / "digits.nmc", "--network", NIR, "--from", "snntorch", "--data",
                         folder / "events.npz", "--duration", "2.7ms", "--json", "-o", tmp_path / "img"], capsys)
    assert code == 0 and json.loads(out)["steps"] == 27  # dt = 0.1 ms, the network's
