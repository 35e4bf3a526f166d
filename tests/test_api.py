"""``nmcompiler.compile``: one call from a model (path, nir.NIRGraph or Network) to an image, a
report and what comes next; the same bytes and results as the command line."""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np
import pytest

import nmcompiler
from nmcompiler.cli.main import main
from nmcompiler.frontends.nir import NirOptions, load_nir

DIGITS = Path(__file__).resolve().parents[1] / "examples" / "digits"
NIR = DIGITS / "digits_snntorch.nir"


@pytest.fixture(scope="module")
def data():
    d = np.load(DIGITS / "digits_snntorch_test.npz")
    return np.unpackbits(d["spikes"], axis=-1)[..., :64], d["y"], d["counts"]


@pytest.fixture(scope="module")
def chip():
    return nmcompiler.compile(NIR, target="loihi-like", preset="snntorch")


def test_the_api_and_the_cli_make_the_same_image(chip, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["compile", str(NIR), "--from", "snntorch", "--target", "loihi-like", "-o", str(tmp_path / "cli")])
    assert exc.value.code in (0, None)
    capsys.readouterr()
    assert chip.image == (tmp_path / "cli" / "digits_snntorch.nmc").read_bytes()
    saved = chip.save(tmp_path / "api")
    assert (tmp_path / "api" / "digits_snntorch.nmc").read_bytes() == chip.image
    assert set(saved.files) == {"digits_snntorch.nmc", "digits_snntorch.map.npz", "digits_snntorch.placement.png",
                                "digits_snntorch.map.json"}


def test_a_graph_in_memory_and_a_network_compile_alike(chip):
    graph = nir.read(NIR)
    assert nmcompiler.compile(graph, "loihi-like", preset="snntorch", name="digits_snntorch").image == chip.image
    net = load_nir(NIR, NirOptions.from_preset("snntorch"))
    assert nmcompiler.compile(net, "loihi-like").image == chip.image
    with pytest.raises(nmcompiler.UserError, match="apply to NIR graphs"):
        nmcompiler.compile(net, "loihi-like", preset="snntorch")
    with pytest.raises(nmcompiler.UserError, match="cannot compile a dict"):
        nmcompiler.compile({}, "loihi-like")


def test_simulate_accuracy_and_verify(chip, data):
    x, y, counts = data
    result = chip.simulate({"input": x[0]}, steps=27)
    assert result.spike_counts()["3"] > 20
    acc = chip.accuracy(x[:60], y[:60], output="3", steps=27)
    assert np.array_equal(acc.float_counts.counts, counts[:60])  # snnTorch's own counts
    assert abs(acc.hw_accuracy - acc.float_accuracy) <= 0.05 and acc.hw_counts.totals["3"] > 1000
    cmp = chip.compare(x[:60], y[:60])  # steps: the samples' 25 and the output's lag of 2
    assert cmp.steps == 27 and cmp.hw_accuracy == acc.hw_accuracy and cmp.agreement == acc.agreement
    assert cmp.population_agreement["3"]["hw_spikes"] == acc.hw_counts.totals["3"]
    ladder = chip.verify(("float", "int"), {"input": x[0]}, steps=27)
    assert [level.spikes for level in ladder.levels][1] == sum(result.spike_counts().values())
    with pytest.raises(nmcompiler.UserError, match="labels"):
        chip.accuracy(x[:3], y[:2], output="3", steps=27)
    with pytest.raises(nmcompiler.UserError, match="63 channels per step, but the source has 64"):
        chip.simulate({"input": x[0][:, :63]}, steps=27)


def test_a_mapping_that_does_not_fit_is_a_user_error(tmp_path):
    import yaml

    from nmcompiler.targets import load_target

    doc = yaml.safe_load(Path(load_target("loihi-like").source).read_text())
    doc["name"], doc["core"]["neurons"] = "tiny", 16
    doc["chip"] = {"mesh": [1, 1], "board": [1, 1], "max_chips": 1}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(nmcompiler.UserError, match="needs at least 7 cores, the largest tiny machine has 1"):
        nmcompiler.compile(NIR, str(path), preset="snntorch")


def test_the_tutorial_runs(tmp_path):
    import subprocess
    import sys

    script = DIGITS / "tutorial.py"
    run = subprocess.run([sys.executable, str(script), "--samples", "40", "-o", str(tmp_path)], capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "same spike counts as snnTorch: 100.0 % of samples" in run.stdout
    assert (tmp_path / "digits_snntorch.nmc").exists()
