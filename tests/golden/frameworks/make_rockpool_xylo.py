"""Rockpool's own Xylo deployment of three small networks, for the side-by-side test
(tests/test_xylo_rockpool.py).

Run once in the Rockpool venv of requirements-rockpool-xylo.txt (Rockpool 3.1, xylosim 0.1.3,
which builds its C++ simulator from source with g++). samna, which Rockpool's
``config_from_specification`` takes its configuration classes and validator from, does not install
from PyPI here: it is replaced by plain attribute holders with the fields that function sets and
``XyloSim.from_config`` reads, and its ``validate_configuration`` (closed code) is not run; the
golden files say so. For each network (``LinearTorch`` / ``LIFTorch`` stacks, seeded weights,
``dt`` = 1 ms) this stores:

* the float parameters (weights per Linear and per recurrent matrix, time constants, thresholds),
  from which the test builds the same network through nmcompiler's Python API;
* what Rockpool decides: ``mapper(net.as_graph())`` (hidden and output neuron counts, dashes),
  ``channel_quantize`` (8-bit weights and 16-bit thresholds per target neuron), and the
  configuration of ``config_from_specification``;
* ``XyloSim.from_config(config)`` evolved on fixed random input spikes: hidden and output spikes,
  membranes and currents per step.

    /tmp/rockpool/bin/python tests/golden/frameworks/make_rockpool_xylo.py
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from pathlib import Path

import numpy as np
from samna_stand_in import Stub, install


class _Holder:
    """An attribute holder standing in for a samna configuration object."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def _install_samna_stand_in() -> None:
    cfg = Stub("samna.xyloCore2.configuration")
    cfg.ReservoirNeuron = lambda: _Holder(alias_target=None, threshold=0, v_mem_decay=0, i_syn_decay=0,
                                          i_syn2_decay=0, v_mem_bias=0)
    cfg.OutputNeuron = lambda: _Holder(threshold=0, v_mem_decay=0, i_syn_decay=0, v_mem_bias=0)
    cfg.XyloConfiguration = lambda: _Holder(
        bias_enable=False, synapse2_enable=False, debug=_Holder(),
        input=_Holder(weight_bit_shift=0, weights=None, syn2_weights=None),
        reservoir=_Holder(aliasing=False, weight_bit_shift=0, weights=None, syn2_weights=None, neurons=[]),
        readout=_Holder(weight_bit_shift=0, weights=None, neurons=[]))
    core = Stub("samna.xyloCore2")
    core.configuration = cfg
    core.validate_configuration = lambda config: (True, "not validated: samna is not installed")
    samna = Stub("samna")
    samna.xyloCore2 = core
    sys.modules.update({"samna": samna, "samna.xyloCore2": core, "samna.xyloCore2.configuration": cfg})
    install()


_install_samna_stand_in()

import rockpool  # noqa: E402
import torch  # noqa: E402
from rockpool.devices.xylo.syns61201.xylo_mapper import mapper  # noqa: E402
from rockpool.devices.xylo.syns61201.xylo_samna import config_from_specification  # noqa: E402
from rockpool.devices.xylo.syns61201.xylo_sim import XyloSim  # noqa: E402
from rockpool.nn.combinators import Sequential  # noqa: E402
from rockpool.nn.modules import LIFTorch, LinearTorch  # noqa: E402
from rockpool.transform.quantize_methods import channel_quantize  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "rockpool_xylo"
DT, STEPS, N_IN = 1e-3, 200, 16


def _weights(rng, shape, gain, density=1.0):
    w = (rng.random(shape) * 2 - 0.8) * gain
    return (w * (rng.random(shape) < density)).astype(np.float32)


def _linear(w: np.ndarray) -> LinearTorch:
    lin = LinearTorch(w.shape, has_bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(w))
    return lin


def _lif(n_in: int, n: int, tau_mem, tau_syn, w_rec=None) -> LIFTorch:
    kwargs = dict(tau_mem=tau_mem, tau_syn=tau_syn, threshold=1.0, dt=DT)
    if w_rec is not None:
        kwargs.update(has_rec=True, w_rec=torch.from_numpy(w_rec))
    return LIFTorch((n_in, n), **kwargs)


def feed_forward(rng):
    w = [_weights(rng, (N_IN, 40), 0.12), _weights(rng, (40, 30), 0.02), _weights(rng, (30, 8), 0.03)]
    net = Sequential(_linear(w[0]), _lif(40, 40, 0.02, 0.01), _linear(w[1]), _lif(30, 30, 0.04, 0.008),
                     _linear(w[2]), _lif(8, 8, 0.02, 0.004))
    layers = [dict(n=40, receptors=1, tau_mem=0.02, tau_syn=[0.01]), dict(n=30, receptors=1, tau_mem=0.04,
              tau_syn=[0.008]), dict(n=8, receptors=1, tau_mem=0.02, tau_syn=[0.004])]
    return net, w, layers, None


def recurrent(rng):
    w = [_weights(rng, (N_IN, 60), 0.08), _weights(rng, (60, 8), 0.02)]
    w_rec = _weights(rng, (60, 60), 0.02, density=0.3)
    net = Sequential(_linear(w[0]), _lif(60, 60, 0.03, 0.01, w_rec), _linear(w[1]), _lif(8, 8, 0.02, 0.005))
    layers = [dict(n=60, receptors=1, tau_mem=0.03, tau_syn=[0.01]), dict(n=8, receptors=1, tau_mem=0.02,
              tau_syn=[0.005])]
    return net, w, layers, w_rec


def two_synapses(rng):
    """50 hidden neurons with two synaptic states each (tau_syn 4 ms and 32 ms): a LIFTorch of shape
    (100, 50), whose input column 2 j + k feeds synapse k of neuron j."""
    w = [_weights(rng, (N_IN, 100), 0.03), _weights(rng, (50, 8), 0.02)]
    tau_syn = np.tile(np.array([[0.004, 0.032]]), (50, 1))
    net = Sequential(_linear(w[0]), _lif(100, 50, 0.02, torch.from_numpy(tau_syn)), _linear(w[1]),
                     _lif(8, 8, 0.02, 0.005))
    layers = [dict(n=50, receptors=2, tau_mem=0.02, tau_syn=[0.004, 0.032]), dict(n=8, receptors=1, tau_mem=0.02,
              tau_syn=[0.005])]
    return net, w, layers, None


NETWORKS = {"xylo_ff": (feed_forward, 11), "xylo_rec": (recurrent, 12), "xylo_syn2": (two_synapses, 13)}

# networks the mapper is asked to place: (input channels, hidden layer sizes, readout neurons)
FIT_CASES = {"fits_full": (16, (1000,), 8), "inputs_17": (17, (20,), 4), "hidden_1001": (16, (1001,), 4),
             "outputs_9": (16, (20,), 9), "single_layer": (16, (), 8)}


def fit_decisions() -> dict:
    """Rockpool's mapper on networks at and beyond the chip's ports: fits, or its DRC error."""
    out = {}
    for name, (n_in, hidden, n_out) in FIT_CASES.items():
        sizes = [n_in, *hidden, n_out]
        mods = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            mods += [LinearTorch((a, b), has_bias=False), LIFTorch(b, dt=DT)]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                spec = mapper(Sequential(*mods).as_graph())
                out[name] = {"fits": True, "hidden": int(np.asarray(spec["threshold"]).size),
                             "outputs": int(np.asarray(spec["threshold_out"]).size)}
            except Exception as exc:  # the mapper's DRCError, with its cause
                cause = exc.__cause__ or exc.__context__
                out[name] = {"fits": False, "error": _plain(f"{exc}" + (f" ({cause})" if cause else ""))}
        # the mapper only warns about some limits (DRCWarning) and maps anyway
        out[name]["warnings"] = sorted({_plain(str(w.message)) for w in caught if "DRC" in type(w.message).__name__})
    return out


def _plain(message: str) -> str:
    """A message without the object ids Rockpool puts in module names (they change per run)."""
    return re.sub(r"_\d{6,}", "", message)


def _ints(spec: dict) -> dict:
    keys = ("weights_in", "weights_rec", "weights_out", "threshold", "threshold_out", "dash_mem", "dash_mem_out",
            "dash_syn", "dash_syn_2", "dash_syn_out")
    return {k: np.asarray(spec[k]).astype(np.int64) for k in keys}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, (build, seed) in NETWORKS.items():
        rng = np.random.default_rng(seed)
        net, weights, layers, w_rec = build(rng)
        spec = mapper(net.as_graph(), weight_dtype="float", threshold_dtype="float", dash_dtype="float")
        dash_float = {k: np.asarray(spec[k], dtype=np.float64) for k in ("dash_mem", "dash_syn", "dash_syn_2")}
        quant = dict(spec)
        quant.update(channel_quantize(**spec))
        config, valid, message = config_from_specification(**quant)
        sim = XyloSim.from_config(config, dt=DT)
        x = (rng.random((STEPS, N_IN)) < 0.15).astype(np.int64)
        out, _, rec = sim(x, record=True)
        ints = _ints(quant)
        meta = {"rockpool": rockpool.__version__, "xylosim": "0.1.3", "dt": DT, "steps": STEPS, "layers": layers,
                "hidden": int(ints["threshold"].size), "outputs": int(ints["threshold_out"].size),
                "config_valid": bool(valid), "config_message": message,
                "quantize": "channel_quantize", "weight_shift": [int(quant[k]) for k in
                                                                ("weight_shift_in", "weight_shift_rec", "weight_shift_out")]}
        arrays = {f"float_w{k}": w for k, w in enumerate(weights)}
        if w_rec is not None:
            arrays["float_w_rec"] = w_rec
        arrays.update({f"dash_float_{k}": v for k, v in dash_float.items()})
        arrays.update({f"q_{k}": v for k, v in ints.items()})
        arrays.update(input=x.astype(np.uint8), out_spikes=np.asarray(out).astype(np.uint8),
                      hidden_spikes=np.asarray(rec["Spikes"]).astype(np.uint8),
                      hidden_v=np.asarray(rec["Vmem"]).astype(np.int64),
                      hidden_i=np.asarray(rec["Isyn"]).astype(np.int64),
                      hidden_i2=np.asarray(rec["Isyn2"]).astype(np.int64),
                      out_v=np.asarray(rec["Vmem_out"]).astype(np.int64),
                      out_i=np.asarray(rec["Isyn_out"]).astype(np.int64))
        np.savez_compressed(OUT / f"{name}.npz", meta=np.array(json.dumps(meta)), **arrays)
        print(name, {"hidden": meta["hidden"], "outputs": meta["outputs"],
                     "hidden_spikes": int(arrays["hidden_spikes"].sum()), "most": int(arrays["hidden_spikes"].max()),
                     "out_spikes": int(arrays["out_spikes"].sum()), "dash_mem": sorted(set(ints["dash_mem"].tolist())),
                     "dash_syn": sorted(set(ints["dash_syn"].tolist())),
                     "dash_syn_2": sorted(set(ints["dash_syn_2"].tolist()))})


if __name__ == "__main__":
    main()
    decisions = fit_decisions()
    (OUT / "fit_decisions.json").write_text(json.dumps({"rockpool": rockpool.__version__, "cases": FIT_CASES,
                                                         "decisions": decisions}, indent=1) + "\n")
    print(json.dumps(decisions, indent=1))
