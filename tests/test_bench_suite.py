"""The benchmark harness (benchmarks/suite.py): records, peak memory and failures of a case
process, ratios against the peer and the goal table. No timing is asserted."""

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_suite", ROOT / "benchmarks" / "suite.py")
suite = importlib.util.module_from_spec(_spec)
sys.modules["bench_suite"] = suite
_spec.loader.exec_module(suite)


def test_run_case_collects_records_memory_and_errors(tmp_path):
    script = tmp_path / "case.py"
    script.write_text("import json, numpy\nx = numpy.ones(50_000_000)\n"  # 400 MB: the peak must show it
                      "print('warming up')\nprint(json.dumps({'case': 'x', 'variant': 'v', 's_per_bio_s': 2.0}))\n"
                      "print(json.dumps({'not a record': 1}))\n")
    res = suite.run_case(suite.Case("x", "g", (str(script),)), quick=False)
    assert res["exit"] == 0 and "error" not in res
    assert res["records"] == [{"case": "x", "variant": "v", "s_per_bio_s": 2.0}]
    assert res["peak_rss_mb"] > 380
    bad = tmp_path / "bad.py"
    bad.write_text("raise SystemExit('broken on purpose')\n")
    res = suite.run_case(suite.Case("bad", "g", (str(bad),)), quick=False)
    assert res["exit"] == 1 and "broken on purpose" in res["error"]
    res = suite.run_case(suite.Case("skip", "g", (str(bad),), needs=("no_such_module_here",)), quick=False)
    assert res["skipped"].startswith("not installed")


def _result(group, *records):
    return {"name": group, "group": group, "process_wall_s": 1.0, "peak_rss_mb": 10.0, "records": list(records)}


def test_ratios_take_the_fastest_peer_target_and_goals_follow():
    results = [
        _result("cuba", {"case": "cuba", "variant": "float", "simulator": "ours-float", "s_per_bio_s": 0.8,
                         "events_per_s": 2e6},
                {"case": "cuba", "variant": "bit", "simulator": "ours-bit", "s_per_bio_s": 0.1, "events_per_s": 2e7}),
        _result("cuba", {"case": "cuba", "variant": "brian2 (numpy)", "simulator": "brian2", "s_per_bio_s": 1.9}),
        _result("cuba", {"case": "cuba", "variant": "brian2 (cython)", "simulator": "brian2", "s_per_bio_s": 1.4}),
        _result("million", {"case": "million", "simulator": "ours-bit", "s_per_bio_s": 200.0, "peak_rss_gb": 7.0,
                            "events_per_s": 3e7}),
        _result("mapping", {"case": "mapping", "variant": "cuba -> a", "network": "cuba", "target": "a", "fits": True,
                            "seconds": 3.0, "cores_used": 8, "cores_lower_bound": 8,
                            "traffic_reduction_vs_index_order": 1.01},
                {"case": "mapping", "variant": "cuba -> b: does not fit", "network": "cuba", "target": "b",
                 "fits": False, "reason": "r"}),
        _result("microcircuit", {"case": "microcircuit", "scale": 1.0, "target": "loihi-like", "compile_s": 40.0,
                                 "build_s": 10.0, "image_s": 5.0, "peak_rss_gb": 6.0, "cores_used": 107, "cores_lower_bound": 100,
                                 "traffic_reduction_vs_index_order": 7.0, "packets_reduction_vs_index_order": 0.6}),
        _result("microcircuit", {"case": "microcircuit", "scale": 1.0, "target": "spinnaker-like", "compile_s": 85.0,
                                 "build_s": 12.0, "peak_rss_gb": 6.9, "image_peak_rss_gb": 8.6, "cores_used": 1108, "cores_lower_bound": 1087,
                                 "traffic_reduction_vs_index_order": 1.0, "packets_reduction_vs_index_order": None}),
    ]
    rat = suite.ratios(results)
    assert [(r["ours"], r["peer"], r["speedup_vs_peer"]) for r in rat] == [
        ("float", "brian2 (cython)", 1.75), ("bit", "brian2 (cython)", 14.0)]
    goals = {g["goal"]: g for g in suite.goals(results, rat)}
    assert goals["ours-bit: synaptic events per second (best case)"]["met"] is False  # 3e7 < 2e8
    assert goals["CUBA speed vs brian2 (cython) (bit)"]["met"] is True
    assert goals["1M x 1000: seconds per biological second"]["met"] is False
    assert goals["1M x 1000: peak memory (GB)"]["met"] is True
    assert goals["cuba -> a: fits"]["met"] and goals["cuba -> a: compile seconds"]["met"]
    assert goals["cuba -> a: cores / lower bound"]["met"] is True
    assert goals["cuba -> a: inter-core spikes, index order / ours"]["met"] is False
    assert goals["cuba -> b: fits"]["met"] is False and "cuba -> b: does not fit: compile seconds" not in goals
    assert goals["microcircuit -> loihi-like (scale 1.0): build + compile + image seconds"]["value"] == 55.0
    assert goals["microcircuit -> loihi-like (scale 1.0): build + compile + image seconds"]["met"] is True
    assert goals["microcircuit -> loihi-like (scale 1.0): peak memory (GB)"]["met"] is True  # 6 <= 8
    assert goals["microcircuit -> loihi-like: cores / lower bound"]["met"] is True
    assert goals["microcircuit -> loihi-like: inter-core spikes, index order / ours"]["met"] is True
    assert goals["microcircuit -> loihi-like: packets (spikes + partial-sum messages), index order / ours"]["met"] is False
    assert goals["microcircuit -> spinnaker-like (scale 1.0): build + compile + image seconds"]["met"] is False  # 97
    assert goals["microcircuit -> spinnaker-like (scale 1.0): peak memory (GB)"]["met"] is False  # the image's 8.6
    assert goals["microcircuit -> spinnaker-like (scale 1.0): peak memory (GB)"]["value"] == 8.6
    assert goals["microcircuit -> spinnaker-like: cores / lower bound"]["met"] is True
    assert "microcircuit -> spinnaker-like: packets (spikes + partial-sum messages), index order / ours" not in goals
    doc = {"date": "d", "commit": "c", "machine": {"cpu": "cpu", "cores": 2, "python": "3", "packages": {}},
           "cases": results, "ratios": rat, "goals": list(goals.values())}
    text = suite.markdown(doc)
    assert "| cuba | float | brian2 (cython) | 0.8 | 1.4 | 1.75 |" in text
    json.dumps(doc)  # the document is JSON as it stands


def test_nest_is_a_second_peer_with_brunel_goals_and_rates_side_by_side():
    results = [
        _result("brunel", {"case": "brunel", "variant": "bit", "simulator": "ours-bit", "s_per_bio_s": 10.0,
                           "rate_hz": 34.5}),
        _result("brunel", {"case": "brunel", "variant": "brian2 (cython)", "simulator": "brian2", "s_per_bio_s": 11.0,
                           "rate_hz": 38.5}),
        _result("brunel", {"case": "brunel", "variant": "nest 3.10.0 (2 threads)", "simulator": "nest",
                           "s_per_bio_s": 60.0, "rate_hz": 0.0}),
    ]
    rat = suite.ratios(results)
    assert [(r["peer"], r["speedup_vs_peer"], r["ours_rate_hz"], r["peer_rate_hz"]) for r in rat] == [
        ("brian2 (cython)", 1.1, 34.5, 38.5), ("nest 3.10.0 (2 threads)", 6.0, 34.5, 0.0)]
    goals = {g["goal"]: g for g in suite.goals(results, rat)}
    assert goals["Brunel speed vs brian2 (cython) (bit)"]["met"] is False  # 1.1 < 2
    assert goals["Brunel speed vs nest 3.10.0 (2 threads) (bit)"]["met"] is True  # 6 >= 5
    rates = {k: g for k, g in goals.items() if "relative gap" in k}
    assert len(rates) == 2
    brian2 = next(g for k, g in rates.items() if "brian2" in k)
    assert brian2["value"] == 0.104 and brian2["met"] is True
    silent = next(g for k, g in rates.items() if "nest" in k)  # a peer that does not fire proves nothing
    assert silent["value"] == "no spikes" and silent["met"] is False
    doc = {"date": "d", "commit": "c", "machine": {"cpu": "cpu", "cores": 2, "python": "3", "packages": {}},
           "cases": results, "ratios": rat, "goals": list(goals.values())}
    assert "| brunel | bit | nest 3.10.0 (2 threads) | 10.0 | 60.0 | 6.0 | 34.5 | 0.0 |" in suite.markdown(doc)



def _bounds_module():
    spec = importlib.util.spec_from_file_location("bench_bounds", ROOT / "benchmarks" / "bounds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MACHINE = [{"case": "machine", "measure": "caches", "l1": 32768, "l2": 2**20, "l3": 2**25},
           *({"case": "machine", "measure": "triad", "level": lv, "threads": t, "gb_per_s": bw * (1 + (t == 2))}
             for lv, bw in (("l2", 80.0), ("l3", 60.0), ("memory", 20.0)) for t in (1, 2)),
           {"case": "machine", "measure": "scatter", "bytes": 2**18, "ns_per_update": 1.0},
           {"case": "machine", "measure": "scatter", "bytes": 2**28, "ns_per_update": 8.0}]


def test_bounds_take_each_array_from_its_level_and_the_larger_limit():
    bounds = _bounds_module().bounds
    traffic = {"table_bytes": 40 * 2**20, "synapses": 10**7, "bytes_per_synapse": 4.0, "update_bytes": 48,
               "neurons": 10_000, "state_bytes": 240_000, "ring_block_bytes": 2**17, "threads": 1}
    # 1e8 events x 4 B from memory (20 GB/s) = 0.02 s; 1e7 updates x 48 B from L2 (80 GB/s) = 0.006 s;
    # the scatter: 1e8 x 1 ns = 0.1 s, the larger: the bound
    run = {"case": "c", "variant": "v", "synaptic_events": 10**8, "steps": 1000, "wall_s": 0.4, "traffic": traffic}
    (b,) = bounds([*MACHINE, run])
    assert b["table_in"] == "memory" and b["state_in"] == "l2"
    assert abs(b["stream_s"] - 0.026) < 1e-6 and abs(b["scatter_s"] - 0.1) < 1e-9
    assert b["limited_by"] == "scatter" and b["fraction_of_bound"] == 0.25
    two = dict(run, traffic=dict(traffic, threads=2, ring_block_bytes=2**20))  # 2 threads, a bigger block
    (b2,) = bounds([*MACHINE, two])
    assert abs(b2["stream_s"] - 0.013) < 1e-6 and abs(b2["scatter_s"] - 0.4) < 1e-9
    assert bounds([run]) == [] and bounds([*MACHINE, {"case": "x", "wall_s": 1.0}]) == []
    doc = {"date": "d", "commit": "c", "machine": {"cpu": "x", "cores": 2, "python": "3", "packages": {}},
           "cases": [], "ratios": [], "goals": [], "bounds": [b]}
    assert "| c | v | 0.4 | 0.1 | 0.25 | scatter | memory | l2 |" in suite.markdown(doc)


def test_the_microcircuit_is_compared_with_nest_population_by_population():
    rates = {"L23E": 0.9, "L4E": 4.2, "L6I": 7.8}
    ours = {"case": "microcircuit_sim", "variant": "float (numba)", "simulator": "ours-float", "scale": 1.0,
            "s_per_bio_s": 70.0, "rate_hz": 3.0, "rates_hz": rates}
    nest = {"case": "microcircuit_sim", "variant": "nest 3.10 (4 threads)", "simulator": "nest", "scale": 1.0,
            "s_per_bio_s": 280.0, "rate_hz": 3.0, "rates_hz": dict(rates, L23E=1.0)}
    results = [_result("microcircuit-sim", ours, nest)]
    rat = suite.ratios(results)
    assert [(r["network"], r["speedup_vs_peer"]) for r in rat] == [("microcircuit-sim", 4.0)]
    (goal,) = [g for g in suite.goals(results, rat) if g["goal"].startswith("microcircuit (scale")]
    assert goal["value"] == 0.1 and "(L23E)" in goal["goal"] and goal["met"]  # 0.9 against 1.0
    nest["rates_hz"]["L4E"] = 0.0  # a silent population fails the goal
    (goal,) = [g for g in suite.goals(results, rat) if g["goal"].startswith("microcircuit (scale")]
    assert not goal["met"]
    doc = {"date": "d", "commit": "c", "machine": {"cpu": "x", "cores": 2, "python": "3", "packages": {}},
           "cases": results, "ratios": rat, "goals": [], "bounds": []}
    assert "| L23E | 0.9 | 1.0 |" in suite.markdown(doc)


def test_each_state_of_the_sources_gets_its_own_numba_cache(tmp_path, monkeypatch):
    """numba does not invalidate a cached kernel when a module it inlines from changes (a stale
    kernel crashed): the cases' cache is one per digest of the sources, the others removed."""
    (tmp_path / "nmcompiler").mkdir()
    src = tmp_path / "nmcompiler" / "kernel.py"
    src.write_text("x = 1\n")
    monkeypatch.setattr(suite, "ROOT", tmp_path)
    monkeypatch.setattr(suite, "BENCH_NUMBA_CACHE", tmp_path / "cache")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    first = Path(suite._case_env()["NUMBA_CACHE_DIR"])
    assert first.parent == tmp_path / "cache" and first.name == suite.sources_digest()
    (first / "old.nbi").parent.mkdir(parents=True)
    (first / "old.nbi").write_text("stale")
    assert Path(suite._case_env()["NUMBA_CACHE_DIR"]) == first and (first / "old.nbi").exists()
    src.write_text("x = 2\n")
    second = Path(suite._case_env()["NUMBA_CACHE_DIR"])
    assert second != first and not first.exists()
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/elsewhere")
    assert suite._case_env()["NUMBA_CACHE_DIR"] == "/elsewhere"


def test_a_warmed_up_case_runs_once_untimed_before_its_recorded_run(tmp_path):
    script = tmp_path / "case.py"
    runs = tmp_path / "runs"
    script.write_text("import json, pathlib\np = pathlib.Path(r'%s')\nn = len(p.read_text()) if p.exists() else 0\n"
                      "p.write_text('x' * (n + 1))\nprint(json.dumps({'case': 'w', 'run': n + 1}))\n" % runs)
    res = suite.run_case(suite.Case("w", "g", (str(script),), warm_up=True), quick=False)
    assert res["records"] == [{"case": "w", "run": 2}] and runs.read_text() == "xx"
    res = suite.run_case(suite.Case("w", "g", (str(script),), warm_up=True), quick=True)  # quick: no warm-up
    assert res["records"] == [{"case": "w", "run": 3}]


def test_the_sweep_speed_up_counts_only_when_every_point_ran():
    for every, met in ((True, True), (False, False)):
        results = [_result("sweep", {"case": "sweep_speedup", "speedup_2_over_1": 1.7, "tables_identical": True,
                                     "every_point_ok": every})]
        goals = {g["goal"]: g for g in suite.goals(results, [])}
        assert goals["24-point sweep: 2 Dask workers over 1 (2 cores), every point run"]["met"] is met
