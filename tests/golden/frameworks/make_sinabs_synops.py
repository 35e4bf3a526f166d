"""Sinabs' own count of synaptic operations on the NIR paper's CNN, for tests/test_activity.py.

Run once in a venv with Sinabs 3.1.3 (requirements-sinabs.txt; here the Rockpool venv with
``pip install sinabs==3.1.3``). Reads ``../shared/data/nir-paper/cnn_sinabs.nir`` with Sinabs'
``from_nir`` (its default spike function, MultiSpike; the membrane floor at -threshold that
``from_nir`` adds to every IAF, and that the NIR graph does not hold, removed), drives it with fixed random input events (seeded:
20 steps, each of the 2 x 34 x 34 inputs on with probability 0.1) and stores what Sinabs'
``SNNAnalyzer`` counts: per parameter layer (Conv2d, Linear) its synaptic operations (its exact
connection map times the input it received), and per spiking layer its output spikes.

    /tmp/rockpool/bin/python tests/golden/frameworks/make_sinabs_synops.py
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

logging.disable(logging.WARNING)

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "sinabs_synops"
NIR_FILE = next(p / "shared" / "data" / "nir-paper" / "cnn_sinabs.nir" for p in HERE.parents
                if (p / "shared" / "data" / "nir-paper" / "cnn_sinabs.nir").exists())
STEPS, DENSITY, SEED = 20, 0.1, 0


def main() -> None:
    import nir
    import sinabs
    import torch
    from sinabs import SNNAnalyzer

    graph = nir.read(NIR_FILE)
    model = sinabs.from_nir(graph, batch_size=1)
    floors = 0
    for layer in model.modules():  # from_nir adds a membrane floor at -threshold that the graph does not hold
        if getattr(layer, "min_v_mem", None) is not None:
            layer.min_v_mem, floors = None, floors + 1
    events = (np.random.default_rng(SEED).random((STEPS, 2, 34, 34)) < DENSITY).astype(np.uint8)
    analyzer = SNNAnalyzer(model)
    with torch.no_grad():
        model(torch.tensor(events, dtype=torch.float32))
    stats = analyzer.get_layer_statistics(average=False)
    synops = {name: int(round(float(s["synops"]))) for name, s in stats["parameter"].items()}
    spikes = {name: int(round(float(s["output"].sum()))) for name, s in stats["spiking"].items()}
    OUT.mkdir(exist_ok=True)
    np.savez_compressed(OUT / "cnn_sinabs_input.npz", events=events)
    doc = {"sinabs": sinabs.__version__, "torch": torch.__version__, "steps": STEPS, "density": DENSITY,
           "seed": SEED, "membrane_floors_removed": floors, "synops_per_parameter_layer": synops, "spikes_per_spiking_layer": spikes,
           "synops_total": int(round(float(analyzer.get_model_statistics(average=False)["synops"])))}
    (OUT / "cnn_sinabs_synops.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
