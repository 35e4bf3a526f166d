"""dynapse2-like side by side with Rockpool 3.1's own DYNAP-SE2 tools, on the four networks of
tests/dynapse_goldens.py (goldens made once by tests/golden/frameworks/make_rockpool_dynapse.py;
Rockpool is not needed here):

* fit decisions: Rockpool's allocator refuses 65 synapses on a neuron and takes 64, as we do;
* base weights: on every core, our fit's relative RMS weight error is below that of Rockpool's
  ``autoencoder_quantization`` (four shared base weights and a 4-bit mask per synapse both);
* memory contents: the synapses our image's tags, SRAM entries and CAM words make are Rockpool's
  allocator's CAM entries (source, dendrite), plus exactly the synapses Rockpool's quantization
  set to zero (an all-zero mask, which its allocator leaves out); every neuron's SRAM entries
  reach the same cores (populations) as Rockpool's.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from nmcompiler.compiler import compile_network
from nmcompiler.compiler.cam import population_cores
from nmcompiler.drc import check
from nmcompiler.image import build_contents, decode, encode
from nmcompiler.image.cam import cam_synapses
from nmcompiler.passes import Quantize
from nmcompiler.passes.cam_weights import CamBaseWeights
from nmcompiler.targets import load_target
from dynapse_goldens import GOLDEN, NAMES, matrices, network

DYNAPSE = load_target("dynapse2-like")
SUMMARY = json.loads((GOLDEN / "summary.json").read_text())


def _golden(name: str) -> dict:
    with np.load(GOLDEN / f"{name}.npz") as z:
        return {k: z[k] for k in z.files}


def test_fit_decisions_agree_with_rockpools_allocator():
    for name in NAMES:
        refused = SUMMARY["networks"][name]["refusal"]
        ours = [v for v in check(network(name), DYNAPSE) if v.rule == "cam_fan_in"]
        assert bool(refused) == bool(ours), name
    assert SUMMARY["networks"]["fan_in_65"]["refusal"] == "Maximum synapse limit per neuron reached!"
    assert "neuron 0 receives 65 synapses" in str(next(v for v in check(network("fan_in_65"), DYNAPSE)
                                                        if v.rule == "cam_fan_in"))


@pytest.mark.parametrize("name", NAMES)
def test_base_weight_error_below_rockpools_autoencoder(name):
    net = network(name)
    fx = Quantize(fmt=DYNAPSE.format).run(net)
    core_of = population_cores([p.size for p in net.populations], DYNAPSE.core.neurons)
    fitted = CamBaseWeights(count=DYNAPSE.cam.base_weights).run(fx, core_of, int(core_of.max()) + 1)
    theirs = _golden(name)["rel_rms"]
    ours = np.array([fitted.changes[c].rms_error / fitted.changes[c].rms_weight for c in sorted(fitted.changes)])
    print(f"{name}: relative RMS weight error per core, ours {np.round(ours, 4)}, Rockpool's {np.round(theirs, 4)}")
    assert ours.shape == theirs.shape and np.all(ours < theirs)


def _our_synapses(name: str):
    """(post, source kind, source, dendrite) of every synapse the compiled image makes, in
    Rockpool's numbering (neurons in matrix order; inputs as kind 0), and each neuron's destination
    populations; and the image's weights."""
    w_in, w_rec, core_of = matrices(name)
    mapping, fx, report = compile_network(network(name), DYNAPSE)
    assert report.fits, report.misfits
    image = decode(encode(build_contents(mapping, fx)))
    n = int(image.meta["neurons"])
    order = np.concatenate([np.flatnonzero(core_of == c) for c in range(int(core_of.max()) + 1)])  # ours -> theirs
    rows, weights = [], []
    for core in image.cores:
        src, j, channel, _, w = cam_synapses(image, n, n + w_in.shape[0])[core.core]
        post = order[core.neurons["neuron"].astype(np.int64)[j]]
        kind = (src >= n).astype(np.int64)
        pre = np.where(src >= n, src - n, order[np.minimum(src, n - 1)])
        dendrite = np.where(w < 0, 1, 0)  # GABA, AMPA (channel 0 both)
        assert np.all(channel == 0)
        rows += list(zip(post.tolist(), (1 - kind).tolist(), pre.tolist(), dendrite.tolist()))
        weights += w.tolist()
    dest = {}
    core_population = {c: int(core_of[order[image.cores[c].neurons["neuron"][0]]]) for c in range(len(image.cores))}
    cols = DYNAPSE.chip.mesh[1]
    at = {(int(c.position[0]), int(c.position[1]) * cols + int(c.position[2])): c.core for c in image.cores}
    for core in image.cores:
        for k, entries in enumerate(core.cam.sram):
            pops = {core_population[at[(int(core.position[0]) + int(e["dx"]), b)]]
                    for e in entries if e["valid"] for b in range(4) if int(e["core_mask"]) >> b & 1}
            dest[int(order[int(core.neurons["neuron"][k])])] = pops
    return rows, np.array(weights), dest


@pytest.mark.parametrize("name", ["ff", "rec", "fan_in_64"])
def test_cam_contents_are_rockpools_allocation(name):
    g = _golden(name)
    rows, weights, dest = _our_synapses(name)
    w_in, w_rec, _ = matrices(name)
    synapses = int(np.count_nonzero(w_in)) + (0 if w_rec is None else int(np.count_nonzero(w_rec)))
    ours = {r[:3] for r in rows}
    assert len(rows) == len(ours) == synapses  # every synapse of the network once, as one CAM word
    theirs = {tuple(int(x) for x in r[:4]) for r in g["cam"]}
    assert len(theirs) == g["cam"].shape[0] == SUMMARY["networks"][name]["cam_entries"]
    assert {r[:3] for r in theirs} <= ours
    zeroed = int(np.count_nonzero(g["s_in"] != 0) - np.count_nonzero(g["q_in"]))
    if "q_rec" in g:
        zeroed += int(np.count_nonzero(g["s_rec"] != 0) - np.count_nonzero(g["q_rec"]))
    assert len(ours) - len(theirs) == zeroed  # the synapses Rockpool's quantization gave an all-zero mask
    typed = {r for r, w in zip(rows, weights) if w != 0}  # our non-zero words: their dendrite is the sign's
    assert {r for r in theirs if r[:3] in {t[:3] for t in typed}} <= typed
    print(f"{name}: {len(rows)} synapses; Rockpool's allocator keeps {len(theirs)} ({zeroed} quantized to zero), "
          f"our image {len(typed)} ({len(rows) - len(typed)} fitted to zero)")
    if "sram" in g:
        _, _, core_of = matrices(name)
        theirs_dest = {}
        for post, _tag, mask, _dx, _dy in g["sram"]:
            theirs_dest.setdefault(int(post), set()).update(b for b in range(4) if int(mask) >> b & 1)
        assert dest == {k: {int(c) for c in v} for k, v in theirs_dest.items()} | {
            k: set() for k in dest if k not in theirs_dest}
