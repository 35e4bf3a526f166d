"""Seeded fuzzing of the entrances: every mutated file is read or refused with a UserError (exit 2),
quickly; never another exception. ``make test`` runs a few hundred cases per entrance;
``make fuzz N=10000 SEED=1`` runs N (environment ``NMC_FUZZ_CASES``, ``NMC_FUZZ_SEED``)."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from conftest import EXAMPLES
from fuzz_mutators import mutate_checkpoint, mutate_data, mutate_meta, mutate_nir, report
from nmcompiler.errors import UserError

CASES = int(os.environ.get("NMC_FUZZ_CASES", "200"))
SEED = int(os.environ.get("NMC_FUZZ_SEED", "20261205"))
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "nir-paper"
NIR_CORPUS = [EXAMPLES / "digits" / "digits_snntorch.nir"] + sorted(
    p for p in SHARED.glob("*.nir") if p.stat().st_size < 2_000_000)


def _run_cases(name: str, make, read) -> dict:
    """``make(k, rng)`` writes case ``k`` and says what it changed (None: no case); ``read`` reads it."""
    rng = random.Random(SEED)
    outcomes, slowest = {"read": 0, "refused": 0}, 0.0
    for k in range(CASES):
        what = make(k, rng)
        if what is None:
            continue
        t = time.perf_counter()
        try:
            read(k)
            outcomes["read"] += 1
        except UserError:
            outcomes["refused"] += 1
        except Exception as exc:  # noqa: BLE001 (the point: nothing else may come out)
            pytest.fail(f"{name} case {k} ({what}): {type(exc).__name__}: {exc}")
        slowest = max(slowest, time.perf_counter() - t)
        assert slowest < 30, f"{name} case {k} ({what}) took too long"
    report(name, {"seed": SEED, "cases": sum(outcomes.values()), **outcomes, "slowest_s": round(slowest, 3)})
    return outcomes


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::numpy.exceptions.ComplexWarning")
def test_mutated_nir_files_import_or_fail_cleanly(tmp_path):
    from nmcompiler.frontends.nir import NirOptions, load_nir

    outcomes = _run_cases("NIR", lambda k, rng: mutate_nir(rng.choice(NIR_CORPUS), tmp_path / f"m{k % 4}.nir", rng),
                          lambda k: load_nir(tmp_path / f"m{k % 4}.nir", NirOptions(dt=1e-4)))
    assert outcomes["refused"] > CASES // 4, outcomes


@pytest.mark.filterwarnings("error::RuntimeWarning")  # a NaN cast into an index would warn
def test_mutated_ir_checkpoints_load_or_fail_cleanly(tmp_path):
    from nmcompiler import load_network
    from nmcompiler.ir import load_network_file, save_network

    bases = []
    for name in ("cuba.yaml", "stdp_song.yaml", "synfire.yaml"):
        bases.append(tmp_path / f"{name}.npz")
        save_network(load_network(EXAMPLES / name), bases[-1])
    outcomes = _run_cases("checkpoint", lambda k, rng: mutate_checkpoint(rng.choice(bases), tmp_path / f"c{k % 3}.npz",
                                                                          rng),
                          lambda k: load_network_file(tmp_path / f"c{k % 3}.npz"))
    assert outcomes["refused"] > CASES // 2, outcomes


def test_re_signed_images_with_mutated_meta_run_or_fail_cleanly():
    """The checksums are right (the harness encodes again), the meta is hostile: decoded, made a
    program and run for 3 ticks, or refused."""
    import dataclasses

    from nmcompiler import load_network
    from nmcompiler.compiler import compile_network
    from nmcompiler.image import build_contents, decode, encode, to_program
    from nmcompiler.sim.bit_sim import BitAccurateSimulator
    from nmcompiler.targets import load_target

    bases = []
    for name, target in (("synfire.yaml", "loihi-like"), ("mlp.yaml", "truenorth-like"),
                         ("stdp_song.yaml", "fpga-lif"), ("mlp.yaml", "spinnaker-like")):
        mapping, fx, _ = compile_network(load_network(EXAMPLES / name), load_target(target))
        bases.append(decode(encode(build_contents(mapping, fx))))
    images: dict[int, bytes] = {}

    def make(k, rng):
        base = rng.choice(bases)
        meta, what = mutate_meta(base.meta, rng, keep=("target_sha256", "target", "compiler"))
        images[k] = encode(dataclasses.replace(base, meta=meta))
        return what

    outcomes = _run_cases("image", make, lambda k: BitAccurateSimulator(to_program(decode(images.pop(k))),
                                                                         backend="numpy").run(3))
    assert outcomes["refused"] > CASES // 2, outcomes


class _Packed:
    """A layer section given as bytes (``encode`` calls ``pack``)."""

    def __init__(self, data: bytes):
        self.data = data

    def pack(self) -> bytes:
        return self.data


def test_re_signed_images_with_mutated_layer_sections_run_or_fail_cleanly(tmp_path):
    """Convolution cores (speck-like): one 32-bit field of a core's layer section (geometry,
    sources, kernel) replaced, the image signed again: decoded, lowered and run, or refused."""
    import dataclasses
    import struct

    from nmcompiler.compiler import compile_network
    from nmcompiler.frontends.nir import NirOptions, load_nir
    from nmcompiler.image import build_contents, decode, encode, to_program
    from nmcompiler.sim.bit_sim import BitAccurateSimulator
    from nmcompiler.targets import load_target
    from test_conv_targets import _graph

    net = load_nir(_graph(tmp_path, pool=(__import__("nir").SumPool2d, 2, 2)), NirOptions(dt=1e-3))
    base = decode(encode(build_contents(*compile_network(net, load_target("speck-like"))[:2])))
    hostile = (0, 1, 2, 7, 255, 2**16, 2**31 - 1, 2**31, 2**32 - 1)
    images: dict[int, bytes] = {}

    def make(k, rng):
        c = rng.randrange(len(base.cores))
        data = bytearray(base.cores[c].layer.pack())
        at = 4 * rng.randrange(len(data) // 4)
        data[at:at + 4] = struct.pack("<I", rng.choice(hostile))
        cores = tuple(dataclasses.replace(x, layer=_Packed(bytes(data))) if x.core == c else x for x in base.cores)
        images[k] = encode(dataclasses.replace(base, cores=cores))
        return f"core {c}, byte {at}"

    outcomes = _run_cases("layer", make, lambda k: BitAccurateSimulator(to_program(decode(images.pop(k))),
                                                                         backend="numpy").run(3))
    assert outcomes["refused"] > CASES // 4 and outcomes["read"] > 0, outcomes


def test_hostile_sample_files_run_or_fail_cleanly(tmp_path):
    """``--data`` files (x, y) into the digits network and its image: run every sample, or refused."""
    from nmcompiler.frontends.nir import NirOptions, load_nir
    from nmcompiler.flow.samples import run_samples
    from nmcompiler.sim.data import SampleData

    net = load_nir(EXAMPLES / "digits" / "digits_snntorch.nir", NirOptions.from_preset("snntorch"))

    def read(k):
        data = SampleData.load(tmp_path / f"d{k % 3}.npz", None, labels=False)
        counts = run_samples(net, data, source=data.pick_source(net.sources), output="3", steps=5)
        if data.y is not None:
            data.check_labels(counts.counts.shape[1], "3")

    outcomes = _run_cases("data", lambda k, rng: mutate_data(tmp_path / f"d{k % 3}.npz", rng), read)
    assert outcomes["refused"] > CASES // 2 and outcomes["read"] > 0, outcomes


def test_mutated_network_files_load_and_run_or_fail_cleanly(tmp_path, monkeypatch):
    """YAML network files with one value replaced (any type, any place): loaded and run for 20
    steps, or refused. Under a 2 GiB budget (``nmc --max-memory 2G``): a size of 100,000 makes
    the STDP example's all-to-all 10^8 synapses, which are refused by their estimate; allowed,
    they load correctly but take 14-30 s on a VM that backs fresh memory slowly, and the time
    bound is there to catch hangs, not to time this machine's page faults."""
    import yaml

    monkeypatch.setenv("NMC_MAX_MEMORY", "2G")

    from nmcompiler import load_network
    from nmcompiler.sim import FloatSimulator

    bases = [yaml.safe_load((EXAMPLES / name).read_text())
             for name in ("cuba.yaml", "synfire.yaml", "mlp.yaml", "stdp_song.yaml", "single_lif.yaml")]

    def make(k, rng):
        doc, what = mutate_meta(rng.choice(bases), rng)
        (tmp_path / f"n{k % 3}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        return what

    def read(k):
        net = load_network(tmp_path / f"n{k % 3}.yaml")
        if sum(p.size for p in net.populations) <= 20_000:
            FloatSimulator(net).run(20)

    outcomes = _run_cases("network file", make, read)
    assert outcomes["refused"] > CASES // 4 and outcomes["read"] >= CASES // 20, outcomes
