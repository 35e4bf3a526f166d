"""Rockpool's own DYNAP-SE2 quantization and memory allocation of four small networks, for the
side-by-side test (tests/test_dynapse_rockpool.py).

Run once in the Rockpool venv of requirements-rockpool-dynapse.txt (Rockpool 3.1 with jax, which
its DYNAP-SE2 quantization trains with). samna is not needed: Rockpool's allocator builds its CAM
and SRAM entries from its own samna aliases. For each network of tests/dynapse_goldens.py this
stores:

* ``autoencoder_quantization`` (default settings: Adam until the loss stops falling) per cluster
  (core): the four base weights Iw_0..Iw_3 over Iscale, each synapse's 4-bit mask and sign, and the
  relative RMS error of the reconstructed weights against the float ones, per core;
* ``WeightAllocator(...).CAM_content()`` on those masks and signs: per neuron its CAM entries as
  (source kind: 0 input, 1 neuron; source index; dendrite: 0 AMPA, 1 GABA, ...; mask), or the
  DRCError it raises (more than 64 synapses on a neuron);
* ``SRAM_content()``: per neuron the destinations after the monitoring entry Rockpool reserves.

    /tmp/rockpool/bin/python tests/golden/frameworks/make_rockpool_dynapse.py
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np

logging.disable(logging.WARNING)  # samna is absent: Rockpool warns on every import

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # tests/: dynapse_goldens
from dynapse_goldens import GOLDEN, NAMES, matrices  # noqa: E402

ISCALE = 1e-8
DENDRITES = ("AMPA", "GABA", "NMDA", "SHUNT")


def _quantize(w_in, w_rec, core_of):
    from rockpool.devices.dynapse import autoencoder_quantization

    clusters = int(core_of.max()) + 1
    spec = autoencoder_quantization(clusters, core_of, w_in, w_rec, Iscale=ISCALE, n_bits=4)
    q_in, s_in = np.zeros(w_in.shape, np.int64), np.zeros(w_in.shape, np.int64)
    q_rec = None if w_rec is None else np.zeros(w_rec.shape, np.int64)
    s_rec = None if w_rec is None else np.zeros(w_rec.shape, np.int64)
    bases, errors = [], []
    for c in range(clusters):
        cols = core_of == c
        iw = np.array([float(spec[f"Iw_{k}"][c]) for k in range(4)]) / ISCALE
        bases.append(iw.tolist())
        q_in[:, cols], s_in[:, cols] = np.asarray(spec["weights_in"][c])[:, cols], np.asarray(spec["sign_in"][c])[:, cols]
        w, q, s = [w_in[:, cols]], [q_in[:, cols]], [s_in[:, cols]]
        if w_rec is not None:
            q_rec[:, cols] = np.asarray(spec["weights_rec"][c])[:, cols]
            s_rec[:, cols] = np.asarray(spec["sign_rec"][c])[:, cols]
            w, q, s = w + [w_rec[:, cols]], q + [q_rec[:, cols]], s + [s_rec[:, cols]]
        w, q, s = (np.concatenate([a.ravel() for a in x]) for x in (w, q, s))
        hat = s * (((q[:, None] >> np.arange(4)) & 1) @ iw)
        on = w != 0
        errors.append(float(np.sqrt(np.mean((hat[on] - w[on]) ** 2)) / np.sqrt(np.mean(w[on] ** 2))))
    return q_in, s_in, q_rec, s_rec, bases, errors


def _allocate(q_in, s_in, q_rec, s_rec, core_of):
    from rockpool.devices.dynapse.hardware.config.allocator import WeightAllocator
    from rockpool.typehints import DRCError

    alloc = WeightAllocator(weights_in=q_in, weights_rec=q_rec, sign_in=s_in, sign_rec=s_rec,
                            core_map=[int(c) for c in core_of])
    source = {int(t): (0, k) for k, t in enumerate(alloc.virtual_tags)}
    source |= {int(t): (1, k) for k, t in enumerate(alloc.recurrent_tags)}
    try:
        cam = alloc.CAM_content()
    except DRCError as exc:
        return None, None, str(exc)
    rows = []
    for post, entries in cam.items():
        for e in entries:
            mask = sum(1 << k for k, bit in enumerate(e.weight) if bit)
            if int(e.tag) in source and mask:
                kind, pre = source[int(e.tag)]
                rows.append((int(post), kind, pre, DENDRITES.index(e.dendrite.name.split("_")[0].upper()), mask))
    sram = []
    if q_rec is not None:
        for post, entries in sorted(alloc.SRAM_content().items()):
            for e in entries[1:]:  # the first entry is Rockpool's monitoring destination
                if any(e.core):
                    sram.append((int(post), int(e.tag), sum(1 << k for k, on in enumerate(e.core) if on),
                                 int(e.x_hop), int(e.y_hop)))
    return np.array(rows, dtype=np.int64).reshape(-1, 5), np.array(sram, dtype=np.int64).reshape(-1, 5), ""


def main() -> None:
    import rockpool

    GOLDEN.mkdir(parents=True, exist_ok=True)
    summary = {"rockpool": rockpool.__version__, "networks": {}}
    for name in NAMES:
        w_in, w_rec, core_of = matrices(name)
        q_in, s_in, q_rec, s_rec, bases, errors = _quantize(w_in, w_rec, core_of)
        cam, sram, refusal = _allocate(q_in, s_in, q_rec, s_rec, core_of)
        arrays = {"q_in": q_in, "s_in": s_in, "bases": np.array(bases), "rel_rms": np.array(errors)}
        if q_rec is not None:
            arrays |= {"q_rec": q_rec, "s_rec": s_rec}
        if cam is not None:
            arrays |= {"cam": cam, "sram": sram}
        np.savez_compressed(GOLDEN / f"{name}.npz", **arrays)
        summary["networks"][name] = {"refusal": refusal, "rel_rms": errors, "bases": bases,
                                     "cam_entries": 0 if cam is None else int(cam.shape[0])}
        print(name, summary["networks"][name])
    (GOLDEN / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
