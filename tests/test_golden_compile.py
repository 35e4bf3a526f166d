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
