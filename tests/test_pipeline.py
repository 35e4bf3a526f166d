"""The compile pipeline: stages chosen from the target as data, one state passed along and never
mutated, callbacks for re-checking and checkpoints, ``nmc compile --stages`` and ``--dump-after``."""

from __future__ import annotations

import dataclasses
import re
from typing import ClassVar

import numpy as np
import pytest

from conftest import EXAMPLES
from nmcompiler import load_network
from nmcompiler.compiler import (CompileOptions, CompileState, Pipeline, RecheckRules, Stage, StageContext,
                                 compile_network, compile_pipeline)
from nmcompiler.drc import Rule
from nmcompiler.ir import IF, Connectivity, Network, Population, Projection, SpikeSource
from nmcompiler.targets import load_target


def _names(target: str, **options) -> list[str]:
    return compile_pipeline(load_target(target), CompileOptions(**options)).names


def test_stages_follow_the_target():
    """Crossbar cores get splitters and axon types, weight clustering where axons have types;
    rates only when asked; the legalizations declare the rules they fix."""
    assert _names("truenorth-like") == ["design_rules", "legalize_delays", "legalize_weights", "check_legalized",
                                        "target", "bias_onsets", "quantize", "bound", "partition", "legalize_fan_out",
                                        "legalize_axon_types", "usage", "place", "route", "check_fit"]
    assert _names("loihi-like") == ["design_rules", "legalize_delays", "check_legalized", "target", "bias_onsets",
                                    "quantize", "bound", "partition", "usage", "place", "route", "check_fit"]
    assert "rates" in _names("loihi-like", rates=lambda net: np.zeros(0))
    pipeline = compile_pipeline(load_target("truenorth-like"), CompileOptions())
    fixes = {s.name: set(s.fixes) for s in pipeline.stages if s.fixes}
    assert fixes == {"legalize_delays": {Rule.DELAY_RANGE}, "legalize_weights": {Rule.AXON_TYPE_WEIGHTS},
                     "partition": {Rule.POPULATION_SIZE}, "legalize_fan_out": {Rule.FAN_OUT_SPLITTERS}}


def _long_delays() -> Network:
    net = Network("long", dt=1e-3)
    net.add(Population(name="a", size=2, model=IF(v_threshold=0.5)))
    net.add(Population(name="b", size=2, model=IF(v_threshold=0.5)))
    net.add(SpikeSource(name="in", size=1, ids=[0], times=[0.002]))
    net.connect(Projection(name="in_a", pre="in", post="a", connectivity=Connectivity.from_coo(1, 2, [0, 0], [0, 1])))
    net.connect(Projection(name="a_b", pre="a", post="b", connectivity=Connectivity.from_coo(
        2, 2, [0, 1], [1, 0], 1.0, [40, 70])))
    return net.validate()


def test_every_stage_returns_a_new_state_and_rechecking_passes():
    """With the re-checking callback, each legalization leaves no violation of the rules it fixes;
    no stage hands back the state it was given once it changed something."""
    seen = []

    def record(stage, before, after, seconds):
        if after is not None:
            seen.append((stage.name, before, after))

    mapping, fx, report = compile_network(_long_delays(), load_target("truenorth-like"),
                                          callbacks=[RecheckRules(), record])
    assert report.fits and any(n.startswith("relayed:") for n in report.notes)
    names = [name for name, _, _ in seen]
    assert names[:2] == ["design_rules", "legalize_delays"] and names[-1] == "check_fit"
    relayed = next(after for name, before, after in seen if name == "legalize_delays")
    assert len(relayed.network.populations) > 2
    first = seen[0][1]
    assert first.fixed_point is None and len(first.network.populations) == 2  # the input state is untouched


def test_a_stage_that_leaves_its_rule_violated_is_caught():
    class Pretend(Stage):
        name: ClassVar[str] = "pretend"
        fixes: ClassVar[frozenset[Rule]] = frozenset({Rule.DELAY_RANGE})

        def run(self, state, ctx):
            return dataclasses.replace(state, legalized=state.legalized + ("did nothing",))

    target = load_target("truenorth-like")
    state = CompileState(network=_long_delays(), target=target, options=CompileOptions())
    with pytest.raises(AssertionError, match=r"^stage pretend left violations of the rules it fixes: projection "
                                             r"'a_b' has delays up to 70 ticks"):
        Pipeline((Pretend(),), (RecheckRules(),)).run(state, StageContext())


def test_stages_and_dump_after_on_the_command_line(run_nmc, tmp_path):
    code, out, err = run_nmc("compile", "--target", "truenorth-like", "--stages")
    assert code == 0, err
    assert re.search(r"^10\. legalize_fan_out \(fixes fan_out_splitters\)$", out, re.M)
    code, out, _ = run_nmc("compile", "--target", "fpga-lif", "--size", "--stages")
    assert out.splitlines()[1] == " 1. size_core" and "sized_mesh" in out
    for run in ("a", "b"):
        code, _, err = run_nmc("compile", EXAMPLES / "synfire.yaml", "--target", "loihi-like", "-o", tmp_path / run,
                               "--dump-after", "quantize", "--dump-after", "place")
        assert code == 0, err
    dumped = sorted(p.name for p in (tmp_path / "a" / "stages").iterdir())
    assert dumped == ["06-quantize.json", "06-quantize.npz", "10-place.json", "10-place.npz"]
    for name in dumped:  # deterministic
        assert (tmp_path / "a" / "stages" / name).read_bytes() == (tmp_path / "b" / "stages" / name).read_bytes()
    code, _, err = run_nmc("compile", EXAMPLES / "synfire.yaml", "--target", "loihi-like", "-o", tmp_path / "c",
                           "--dump-after", "legalize_axon_types")
    assert code == 2 and re.match(r"^error: --dump-after legalize_axon_types: no such stage in this pipeline", err)
    assert not (tmp_path / "c").exists()


def test_the_pipeline_compiles_as_the_report_says(tmp_path):
    """The report's passes name the stages that ran (and their sub-steps), in order."""
    _, _, report = compile_network(load_network(EXAMPLES / "synfire.yaml"), load_target("truenorth-like"))
    ran = [p for p in report.passes if p in _names("truenorth-like")]
    assert ran[0] == "design_rules" and ran[-1] == "check_fit" and "legalize_axon_types" in ran
