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
from fuzz_mutators import mutate_nir
from nmcompiler.errors import UserError

CASES = int(os.environ.get("NMC_FUZZ_CASES", "200"))
SEED = int(os.environ.get("NMC_FUZZ_SEED", "20261205"))
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "nir-paper"
NIR_CORPUS = [EXAMPLES / "digits" / "digits_snntorch.nir"] + sorted(
    p for p in SHARED.glob("*.nir") if p.stat().st_size < 2_000_000)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::numpy.exceptions.ComplexWarning")
def test_mutated_nir_files_import_or_fail_cleanly(tmp_path):
    from nmcompiler.frontends.nir import NirOptions, load_nir

    rng = random.Random(SEED)
    outcomes = {"imported": 0, "refused": 0}
    for k in range(CASES):
        source = rng.choice(NIR_CORPUS)
        target = tmp_path / f"m{k % 4}.nir"
        what = mutate_nir(source, target, rng)
        t = time.perf_counter()
        try:
            load_nir(target, NirOptions(dt=1e-4))
            outcomes["imported"] += 1
        except UserError:
            outcomes["refused"] += 1
        except Exception as exc:  # noqa: BLE001 (the point: nothing else may come out)
            pytest.fail(f"case {k} ({source.name}: {what}): {type(exc).__name__}: {exc}")
        assert time.perf_counter() - t < 30, f"case {k} ({source.name}: {what}) took too long"
    assert outcomes["refused"] > CASES // 4 and sum(outcomes.values()) == CASES, outcomes
