"""Inputs everywhere: an imported model's Input is fed with --input for networks and images alike;
runs without input are refused, never passed empty; bad arrays are exit 2 naming the input and
the expected shape."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nmcompiler.cli.main import main
from nmcompiler.frontends.nir import NirOptions, load_nir
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.sim.stimulus import spike_source_from_array

DIGITS = Path(__file__).resolve().parents[1] / "examples" / "digits"
NIR = str(DIGITS / "digits_snntorch.nir")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    data = np.load(DIGITS / "digits_snntorch_test.npz")
    path = tmp_path_factory.mktemp("input") / "sample0.npy"
    np.save(path, np.unpackbits(data["spikes"][0], axis=-1)[:, :64])
    return path


def _events(tmp_path: Path, samples: int) -> tuple[Path, np.lib.npyio.NpzFile, np.ndarray]:
    """The first ``samples`` test digits as an events .npz (x: spikes, y: labels)."""
    data = np.load(DIGITS / "digits_snntorch_test.npz")
    x = np.unpackbits(data["spikes"][:samples], axis=-1)[..., :64]
    np.savez(tmp_path / "events.npz", x=x, y=data["y"][:samples])
    return tmp_path / "events.npz", data, x


def _run(args, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    captured = capsys.readouterr()
    return exc.value.code or 0, captured.out, captured.err


def test_verify_without_input_is_refused(capsys):
    code, out, err = _run(["verify", NIR, "--from", "snntorch", "--target", "loihi-like", "--levels", "float,int",
                           "--steps", "27"], capsys)
    assert code == 2 and not out
    assert "no input: spike source(s) 'input' have no spikes: give --input input=FILE.npy" in err


def test_verify_with_input_drives_every_level_and_the_rtl(sample, capsys):
    code, out, err = _run(["verify", NIR, "--from", "snntorch", "--target", "fpga-lif", "--steps", "27", "--json",
                           "--input", f"input={sample}"], capsys)
    doc = json.loads(out)
    assert code == 0 and not doc["vacuous"] and doc["rtl_mismatches"] == 0
    assert all(level["spikes"] > 100 for level in doc["levels"])


def test_a_silent_network_is_vacuous_and_exit_2(tmp_path, capsys):
    net = tmp_path / "silent.yaml"
    net.write_text("version: 1\nname: silent\ndt: 1 ms\npopulations:\n"
                   "  a: {model: lif, size: 4, params: {tau_mem: 10 ms, v_threshold: 1.0}}\n")
    code, out, err = _run(["verify", str(net), "--target", "loihi-like", "--levels", "float,int", "--json"], capsys)
    assert code == 2 and json.loads(out)["vacuous"] is True
    assert "no activity: no neuron spiked at any level in 100 steps" in err


def test_an_image_runs_on_given_input_as_its_network_does(sample, tmp_path, capsys):
    assert _run(["compile", NIR, "--from", "snntorch", "--target", "loihi-like", "-o", str(tmp_path)], capsys)[0] == 0
    image = tmp_path / "digits_snntorch.nmc"
    code, out, _ = _run(["simulate", str(image), "--steps", "27", "--json", "-o", str(tmp_path / "sim"),
                         "--input", f"input={sample}"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["populations"]["3"]["spikes"] > 20
    from nmcompiler.compiler import compile_network
    from nmcompiler.targets import load_target

    net = load_nir(NIR, NirOptions.from_preset("snntorch"))
    net.replace(spike_source_from_array("input", np.load(sample), net.dt))
    _, fx, _ = compile_network(net, load_target("loihi-like"))
    expected = BitAccurateSimulator(fx).run(27).spike_counts()
    assert {k: v["spikes"] for k, v in doc["populations"].items()} == expected


@pytest.mark.parametrize("array, message", [
    (np.zeros((27, 63), np.uint8), r"63 channels per step, but the source has 64: expected a \(steps, 64\) array"),
    (np.zeros(64, np.uint8), r"expected a \(steps, 64\) array of 0/1 spikes, not shape \(64,\)"),
    (np.zeros((0, 64), np.uint8), r"not shape \(0, 64\)"),
    (np.full((27, 64), 2, np.int64), r"values must be 0 or 1"),
    (np.full((27, 64), np.nan), r"values must be 0 or 1"),
    (np.array([["a"] * 64] * 27), r"not dtype <U1"),
])
def test_bad_input_arrays_are_exit_2_naming_the_input(tmp_path, capsys, array, message):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    for args in (["simulate", NIR, "--from", "snntorch", "--steps", "5", "-o", str(tmp_path / "o")],
                 ["verify", NIR, "--from", "snntorch", "--target", "loihi-like", "--levels", "float,int"]):
        code, _, err = _run(args + ["--input", f"input={path}"], capsys)
        assert code == 2
        assert "input for 'input'" in err
        import re
        assert re.search(message, err), err


def test_an_unknown_input_name_is_exit_2(sample, tmp_path, capsys):
    code, _, err = _run(["simulate", NIR, "--from", "snntorch", "--steps", "5", "-o", str(tmp_path),
                         "--input", f"pixels={sample}"], capsys)
    assert code == 2 and "'pixels' is not a spike source (spike sources: input)" in err


def test_compare_on_event_data_is_driven_and_matches_snntorch(tmp_path, capsys):
    events, data, x = _events(tmp_path, 60)
    code, out, err = _run(["compare", NIR, "--from", "snntorch", "--target", "loihi-like", "--steps", "27", "--json",
                           "--data", str(events), "--encode", "events", "--output", "3",
                           "-o", str(tmp_path / "cmp")], capsys)
    doc = json.loads(out)
    snntorch = float(np.mean(np.argmax(data["counts"][:60], axis=1) == data["y"][:60]))
    assert code == 0 and doc["float_accuracy"] == snntorch and abs(doc["hw_accuracy"] - snntorch) <= 0.05
    assert doc["populations"]["1"]["float_spikes"] > 100  # the summary is the first sample's driven run
    assert np.asarray(doc["confusion"]["float"]).sum() == 60 and np.trace(doc["confusion"]["float"]) == 60 * snntorch
    assert sum(c["samples"] for c in doc["per_class"].values()) == 60 and 0 < doc["count_agreement"] <= 1
    assert (tmp_path / "cmp" / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert abs(doc["image_accuracy"] - snntorch) <= 0.05 and doc["image_spikes"]["1"] > 1000  # the image's tables
    assert any("constant from step 0" in n for n in doc["image_notes"])
    np.savez(tmp_path / "flat.npz", x=x.reshape(60, -1), y=data["y"][:60])
    code, _, err = _run(["compare", NIR, "--from", "snntorch", "--target", "loihi-like", "--steps", "27",
                         "--data", str(tmp_path / "flat.npz"), "--encode", "events", "-o", str(tmp_path / "c2")], capsys)
    assert code == 2 and "x must be (samples, steps, channels) 0/1 spikes" in err


def test_verify_on_labelled_spike_data(tmp_path, capsys):
    events, data, x = _events(tmp_path, 30)
    code, out, err = _run(["verify", NIR, "--from", "snntorch", "--target", "fpga-lif", "--json", "--rtl-samples", "1",
                           "--data", str(events)], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert code == 0 and doc["steps"] == 27 and doc["rtl_mismatches"] == 0 and not doc["vacuous"]
    assert all(doc["spikes"][level] > 100 for level in ("float", "int", "rtl"))
    snntorch = float(np.mean(np.argmax(data["counts"][:30], axis=1) == data["y"][:30]))
    assert doc["float_accuracy"] == snntorch and abs(doc["int_accuracy"] - snntorch) <= 0.05
    np.savez(tmp_path / "bad.npz", x=x, y=data["y"][:29])
    code, _, err = _run(["verify", NIR, "--from", "snntorch", "--target", "fpga-lif", "--levels", "float,int",
                         "--data", str(tmp_path / "bad.npz")], capsys)
    assert code == 2 and "bad.npz: x must be (samples, steps, channels) 0/1 spikes and y (samples,), got (30, 25, 64) and (29,)" in err


def test_compare_accuracy_against_weight_bits(tmp_path, capsys):
    _events(tmp_path, 20)
    args = ["compare", NIR, "--from", "snntorch", "--target", "loihi-like", "--steps", "27", "--encode", "events",
            "--output", "3", "-o", str(tmp_path / "cmp")]
    code, out, _ = _run(args + ["--data", str(tmp_path / "events.npz"), "--weight-bits", "2..4", "--json"], capsys)
    curve = json.loads(out)["accuracy_vs_weight_bits"]
    assert code == 0 and [p["weight_bits"] for p in curve] == [2, 3, 4]
    assert curve[0]["hw_accuracy"] < 0.5 < curve[2]["hw_accuracy"]  # 2-bit weights lose the classifier
    assert (tmp_path / "cmp" / "accuracy_bits.png").exists()
    for bad, message in (("2..x", "a width such as 6 or a range such as 2..8"), ("8..2", "the range ascending")):
        code, _, err = _run(args + ["--data", str(tmp_path / "events.npz"), "--weight-bits", bad], capsys)
        assert code == 2 and message in err
    code, _, err = _run(args + ["--weight-bits", "2..4"], capsys)
    assert code == 2 and "a range needs --data" in err


def test_compare_without_room_for_the_image_keeps_the_format_comparison(tmp_path, capsys):
    import yaml

    from nmcompiler.targets import load_target

    doc = yaml.safe_load(open(load_target("loihi-like").source).read())
    doc["name"], doc["core"]["neurons"] = "tiny", 16
    doc["chip"] = {"mesh": [1, 1], "board": [1, 1], "max_chips": 1}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(doc))
    _events(tmp_path, 5)
    code, out, err = _run(["compare", NIR, "--from", "snntorch", "--target", str(tmp_path / "tiny.yaml"), "--json",
                           "--steps", "27", "--encode", "events", "--data", str(tmp_path / "events.npz"), "--output", "3",
                           "-o", str(tmp_path / "cmp")], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["samples"] == 5 and "image_accuracy" not in doc
    assert "no accuracy of the compiled image: " in err and "needs at least 7 cores" in err


def test_verify_data_refuses_labels_beyond_the_output(tmp_path, capsys):
    events, data, x = _events(tmp_path, 4)
    np.savez(events, x=x, y=np.array([0, 1, 2, 10]))
    code, _, err = _run(["verify", NIR, "--from", "snntorch", "--target", "loihi-like", "--levels", "float,int",
                         "--data", str(events)], capsys)
    assert code == 2 and "labels must be in [0, 10) (the neurons of '3')" in err
