"""Train the digit classifiers of the examples (scikit-learn's 8x8 digits, numpy only).

A 64-32-10 ReLU network without biases is trained with plain numpy gradient descent, then
converted to integrate-and-fire neurons with reset by subtraction (rate coding) by data-based
weight normalisation (Diehl et al. 2015): each layer's weights are divided by the 99.9th
percentile of its activations on the training set, so an IF neuron with threshold 1 fires at a
rate proportional to its ReLU activation. Two examples share the trained weights:

* ``examples/digits/``: spike (rate) input; ``digits.yaml`` + ``.npy`` weights, the same network
  as NIR (``digits.nir``), and the test split ``digits_test.npz`` (``x`` in [0, 1], ``y``);
  used by ``nmc compare --data`` and ``benchmarks/digits_accuracy.py``.
* ``examples/mlp.yaml`` (``examples/mlp/``): the first test digit as constant currents.

Run from the repository root with the ``examples`` extra installed (``pip install -e '.[examples]'``):

    python examples/digits/train.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
MLP = HERE.parent / "mlp"


def train(x, y, hidden=32, epochs=300, lr=0.1, seed=0):
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, np.sqrt(2 / x.shape[1]), (x.shape[1], hidden))
    w2 = rng.normal(0, np.sqrt(2 / hidden), (hidden, 10))
    onehot = np.eye(10)[y]
    for _ in range(epochs):
        h = np.maximum(x @ w1, 0)
        logits = h @ w2
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        g_logits = (p - onehot) / len(x)
        g_w2 = h.T @ g_logits
        g_h = (g_logits @ w2.T) * (h > 0)
        w1 -= lr * (x.T @ g_h)
        w2 -= lr * g_w2
    return w1, w2


def normalise(w1, w2, x_train):
    a1 = np.percentile(np.maximum(x_train @ w1, 0), 99.9)
    a2 = np.percentile(np.maximum(np.maximum(x_train @ w1, 0) @ w2, 0), 99.9)
    return w1 / a1, w2 * a1 / a2


def write_digits_example(w1, w2, x_test, y_test) -> None:
    from nmcompiler import load_network
    from nmcompiler.frontends.nir import export_nir
    import nir

    np.save(HERE / "w_in_hidden.npy", w1)
    np.save(HERE / "w_hidden_out.npy", w2)
    np.savez(HERE / "digits_test.npz", x=x_test, y=y_test.astype(np.int64))
    net = load_network(HERE / "digits.yaml")
    nir.write(HERE / "digits.nir", export_nir(net))


def main() -> None:
    digits = load_digits()
    x = digits.data / 16.0
    x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=0.25, random_state=0)
    w1, w2 = train(x_train, y_train)
    acc = np.mean(np.argmax(np.maximum(x_test @ w1, 0) @ w2, axis=1) == y_test)
    w1_snn, w2_snn = normalise(w1, w2, x_train)
    MLP.mkdir(exist_ok=True)
    np.save(MLP / "w_in_hidden.npy", w1_snn)
    np.save(MLP / "w_hidden_out.npy", w2_snn)
    np.save(MLP / "test_inputs.npy", x_test[:50])
    np.save(MLP / "test_labels.npy", y_test[:50].astype(np.int64))
    np.save(MLP / "input.npy", x_test[0])
    write_digits_example(w1_snn, w2_snn, x_test, y_test)
    print(f"ANN test accuracy {acc:.4f} on {len(y_test)} digits; first test label {y_test[0]}")


if __name__ == "__main__":
    main()
