"""CP-SAT placement: proves optimality on small instances, uses positions beyond the first k, is
never worse than its hint, deterministic, and wired into nmc compile."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import EXAMPLES
from nmcompiler.cli.main import main
from nmcompiler.mapping.place import SwapRefinement, slot_positions
from nmcompiler.mapping.place_cpsat import CpSatPlacement, placement_cost
from nmcompiler.targets import load_target


def test_chain_on_a_2x2_mesh_is_proved_optimal():
    target = load_target("fpga-lif")  # 2 x 2 cores
    traffic = np.zeros((4, 4))
    traffic[0, 3] = traffic[3, 1] = traffic[1, 2] = 1.0  # a chain 0-3-1-2: index order puts 0 and 3 diagonal
    start = SwapRefinement().run(traffic, target)
    res = CpSatPlacement().run(traffic, target, start)
    assert res.optimal and res.cost == res.lower_bound == 3.0  # one hop per link


def test_a_star_gets_its_centre_beyond_the_first_slots():
    """Five cores, one talking to four: the best place is a centre with four neighbours, which is not
    among the first five positions of a row-by-row order. The swap search (whose blocks have free
    positions) finds it and CP-SAT proves it optimal over the whole chip."""
    target = load_target("spinnaker-like")  # 4 x 4 cores per chip (torus of chips)
    traffic = np.zeros((5, 5))
    traffic[0, 1:] = 1.0
    assert placement_cost(traffic, slot_positions(5, target), target) > 4.0
    start = SwapRefinement().run(traffic, target)
    assert placement_cost(traffic, start, target) == 4.0
    res = CpSatPlacement().run(traffic, target, start)
    assert res.cost == 4.0 and res.optimal
    assert len({tuple(p) for p in res.position.tolist()}) == 5  # distinct positions


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), k=st.integers(3, 10), target=st.sampled_from(["fpga-lif", "spinnaker-like"]))
def test_never_worse_than_swap_refinement_and_deterministic(seed, k, target):
    tgt = load_target(target)
    k = min(k, tgt.chip.cores_per_chip * tgt.chip.max_chips)
    rng = np.random.default_rng(seed)
    traffic = (rng.random((k, k)) < 0.4) * rng.integers(1, 9, (k, k)).astype(float)
    np.fill_diagonal(traffic, 0.0)
    start = SwapRefinement().run(traffic, tgt)
    solver = CpSatPlacement(deterministic_time=0.3)
    a, b = solver.run(traffic, tgt, start), solver.run(traffic, tgt, start)
    assert a.cost <= placement_cost(traffic, start, tgt) + 1e-9
    assert a.cost == placement_cost(traffic, a.position, tgt)
    assert a.lower_bound <= a.cost + 1e-9
    assert np.array_equal(a.position, b.position)
    on_chips = {tuple(p) for p in slot_positions(tgt.chip.cores_per_chip * (int(start[:, 0].max()) + 1), tgt).tolist()}
    assert {tuple(p) for p in a.position.tolist()} <= on_chips


def test_compile_reports_the_placement(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["compile", str(EXAMPLES / "synfire.yaml"), "--target", "loihi-like", "--placer", "cp-sat",
              "-o", str(tmp_path), "--json"])
    assert exc.value.code in (0, None)
    placement = json.loads(capsys.readouterr().out)["placement"]
    assert placement["method"] == "swap-refinement+cp-sat"
    assert placement["cost"] <= placement["swap_cost"] and placement["lower_bound"] <= placement["cost"]
    with pytest.raises(SystemExit) as exc:
        main(["compile", str(EXAMPLES / "synfire.yaml"), "--target", "loihi-like", "--placer", "bogus",
              "-o", str(tmp_path)])
    assert exc.value.code == 2
