"""Golden bytes: every example and NIR-paper graph compiles, on every shipped target and variant,
to the image, mapping and report recorded in ``tests/golden/compile_hashes.json``
(``tests/golden/compile_goldens.py`` records them; a change of bytes is named in its commit)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))
import compile_goldens as golden  # noqa: E402

RECORDED = json.loads(golden.HASHES.read_text())
NETWORKS = golden.networks()


def test_every_recorded_network_is_checked():
    recorded = {key.split(" -> ")[0] for key in RECORDED}
    here = set(NETWORKS)
    assert here <= recorded
    missing = recorded - here
    assert all(name.startswith("nir-paper/") for name in missing), missing  # only without ../shared
    assert sum("image" in r for r in RECORDED.values()) >= 100  # most cases produce an image


@pytest.mark.parametrize("network", sorted(NETWORKS))
def test_compile_bytes_unchanged(network):
    net = NETWORKS[network]()
    changed = []
    for case in golden.cases(network):
        got = golden.run_case(net, case)
        if got != RECORDED[case.key]:
            changed.append(f"{case.key}: {RECORDED[case.key]} -> {got}")
    assert not changed, "\n".join(changed)


OTHER_KERNELS = ["examples/brunel.py scale=0.05", "examples/cuba.yaml"]


def test_compile_bytes_do_not_depend_on_the_cpu_kernels():
    """The same hashes with numpy's AVX2/FMA3 kernels and OpenBLAS's newer kernels switched off,
    as on a machine without them (numpy's unstable sort broke ties differently there, and
    scipy's reverse Cuthill-McKee order with it)."""
    import os
    import subprocess

    import numpy as np

    features = np._core._multiarray_umath.__cpu_features__
    off = [f for f in ("AVX512F", "AVX2", "FMA3") if features.get(f)]
    if not off:
        pytest.skip("this CPU has none of the kernels to switch off")
    env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=" ".join(off), OPENBLAS_CORETYPE="Nehalem")
    out = subprocess.run([sys.executable, str(golden.HERE / "compile_goldens.py"), "--json", *OTHER_KERNELS],
                         env=env, capture_output=True, text=True, check=True).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert len(got) >= 20
    changed = [key for key, value in got.items() if value != RECORDED[key]]
    assert not changed, changed
