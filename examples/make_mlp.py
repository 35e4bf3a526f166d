"""Train the small classifier behind ``examples/mlp.yaml`` and write its ``.npy`` files.

A 64-32-10 ReLU network without biases is trained on scikit-learn's 8x8 digits with plain
numpy gradient descent, then converted to a spiking network of IF neurons (reset by
subtraction) by data-based weight normalisation: each layer's weights are divided by the
99.9th percentile of that layer's activations on the training set, so an IF neuron with
threshold 1 fires at a rate proportional to the ReLU activation.

Run from the repository root with the ``examples`` extra installed::

    python examples/make_mlp.py

Outputs (in ``examples/mlp/``): ``w_in_hidden.npy`` (64 x 32), ``w_hidden_out.npy`` (32 x 10),
``test_inputs.npy`` (50 x 64, pixel values scaled to [0, 1]), ``test_labels.npy``, and
``input.npy`` (the first test digit, used by ``mlp.yaml``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


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


def main() -> None:
    digits = load_digits()
    x = digits.data / 16.0
    x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=0.25, random_state=0)
    w1, w2 = train(x_train, y_train)
    acc = np.mean(np.argmax(np.maximum(x_test @ w1, 0) @ w2, axis=1) == y_test)
    # data-based normalisation (Diehl et al. 2015): scale so activations stay below threshold 1 per step
    a1 = np.percentile(np.maximum(x_train @ w1, 0), 99.9)
    a2 = np.percentile(np.maximum(np.maximum(x_train @ w1, 0) @ w2, 0), 99.9)
    w1_snn, w2_snn = w1 / a1, w2 * a1 / a2
    out = Path(__file__).parent / "mlp"
    out.mkdir(exist_ok=True)
    np.save(out / "w_in_hidden.npy", w1_snn)
    np.save(out / "w_hidden_out.npy", w2_snn)
    np.save(out / "test_inputs.npy", x_test[:50])
    np.save(out / "test_labels.npy", y_test[:50].astype(np.int64))
    np.save(out / "input.npy", x_test[0])
    print(f"ANN test accuracy {acc:.3f}; first test label {y_test[0]}")


if __name__ == "__main__":
    main()
