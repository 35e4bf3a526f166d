"""The snnTorch twin of the digits classifier: trained and exported by snnTorch itself.

A 64-96-10 network of snnTorch ``Leaky`` neurons (defaults: subtractive reset one step after the
spike) with biases, trained with backpropagation through time on scikit-learn's 8x8 digits
(pixels in [0, 1] as 25 steps of Bernoulli rate coding, spike-count cross-entropy, Adam). It
writes, beside this file:

* ``digits_snntorch.nir``: snnTorch's own NIR export (``export_to_nir``);
* ``digits_snntorch_test.npz``: the 450 test samples as the spikes snnTorch was given
  (``spikes``: (samples, steps, 64) bits packed along the last axis, ``np.unpackbits`` restores
  them), the labels ``y``, and snnTorch's own output spike counts ``counts`` (samples, 10),
  hidden spike counts ``hidden_counts`` and ``accuracy`` (argmax of the counts, ties to the
  lowest index, as nmcompiler counts).

nmcompiler reproduces it with ``--from snntorch`` (tests/test_digits_snntorch.py). Run once in a
throwaway venv with tests/golden/frameworks/requirements-snntorch.txt and scikit-learn:

    python examples/digits/train_snntorch.py
"""

from __future__ import annotations

import copy
from pathlib import Path

import nir
import numpy as np
import snntorch as snn
import snntorch.utils
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from snntorch.export_nir import export_to_nir

HERE = Path(__file__).resolve().parent
STEPS, HIDDEN, EPOCHS = 25, 96, 40


def network() -> torch.nn.Sequential:
    def leaky(n):  # per-neuron tensors: scalars export nodes nir 1.0.8 refuses (docs/nir.md)
        return snn.Leaky(beta=torch.full((n,), 0.9), threshold=torch.full((n,), 1.0), init_hidden=True)

    return torch.nn.Sequential(torch.nn.Linear(64, HIDDEN), leaky(HIDDEN), torch.nn.Linear(HIDDEN, 10), leaky(10))


def run(net: torch.nn.Sequential, spikes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """snnTorch's forward pass over (steps, batch, 64) spikes: output and hidden spike counts."""
    snntorch.utils.reset(net)
    out, hidden = 0, 0
    for t in range(spikes.shape[0]):
        h = net[1](net[0](spikes[t]))
        hidden = hidden + h
        out = out + net[3](net[2](h))
    return out, hidden


def main() -> None:
    torch.manual_seed(0)
    digits = load_digits()
    x = digits.data / 16.0
    x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=0.25, random_state=0)
    xt, yt = torch.tensor(x_train, dtype=torch.float32), torch.tensor(y_train)
    net = network()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(1)
    for epoch in range(EPOCHS):
        order = torch.randperm(len(xt), generator=gen)
        for k in range(0, len(xt), 64):
            idx = order[k:k + 64]
            spikes = (torch.rand((STEPS, len(idx), 64), generator=gen) < xt[idx]).float()
            counts, _ = run(net, spikes)
            loss = torch.nn.functional.cross_entropy(counts, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    rng = np.random.default_rng(2)
    test_spikes = rng.random((len(x_test), STEPS, 64)) < x_test[:, None, :]
    with torch.no_grad():
        counts, hidden = run(net, torch.tensor(np.moveaxis(test_spikes, 1, 0), dtype=torch.float32))
        graph = export_to_nir(copy.deepcopy(net), torch.zeros(1, 64), ignore_dims=[0])
    counts, hidden = counts.numpy().astype(np.int64), hidden.numpy().astype(np.int64)
    accuracy = float(np.mean(np.argmax(counts, axis=1) == y_test))
    nir.write(HERE / "digits_snntorch.nir", graph)
    np.savez_compressed(HERE / "digits_snntorch_test.npz", spikes=np.packbits(test_spikes, axis=-1),
                        y=y_test.astype(np.int64), counts=counts, hidden_counts=hidden, accuracy=accuracy,
                        steps=STEPS, versions=np.array(f"snntorch {snn.__version__}, torch {torch.__version__}"))
    print(f"snnTorch test accuracy {accuracy:.4f} ({len(y_test)} samples, {STEPS} steps)")


if __name__ == "__main__":
    main()
