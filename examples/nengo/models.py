"""Three of Nengo's own examples, as Nengo's documentation builds them: a communication channel
(also with SpikingRectifiedLinear neurons), a product of two inputs, an integrator. Each function returns (network, duration in seconds,
the ideal output as a function of the time array, the probe to score). Used by
tests/test_nengo_frontend.py and docs/nengo.md.
"""

from __future__ import annotations

import numpy as np


def communication_channel(seed: int = 0):
    """nengo/examples/basic/communication-channel: a sine through A into B."""
    import nengo

    with nengo.Network(label="Communication channel", seed=seed) as model:
        sin = nengo.Node(np.sin, label="sin")
        a = nengo.Ensemble(100, dimensions=1, label="A")
        b = nengo.Ensemble(100, dimensions=1, label="B")
        nengo.Connection(sin, a)
        nengo.Connection(a, b)
        nengo.Probe(a, synapse=0.01, label="A")
        nengo.Probe(b, synapse=0.01, label="B")
    return model, 2.0, lambda t: np.sin(t), "B"


def relu_channel(seed: int = 0):
    """The communication channel with Nengo's SpikingRectifiedLinear neurons (a non-leaky
    integrate-and-fire neuron: Nengo-Loihi's second neuron type)."""
    import nengo

    relu = nengo.SpikingRectifiedLinear()
    with nengo.Network(label="ReLU channel", seed=seed) as model:
        sin = nengo.Node(np.sin, label="sin")
        a = nengo.Ensemble(100, dimensions=1, neuron_type=relu, label="A")
        b = nengo.Ensemble(100, dimensions=1, neuron_type=relu, label="B")
        nengo.Connection(sin, a)
        nengo.Connection(a, b)
        nengo.Probe(b, synapse=0.01, label="B")
    return model, 2.0, lambda t: np.sin(t), "B"


def product(seed: int = 0):
    """nengo/examples/basic/multiplication: A x B through a two-dimensional ensemble."""
    import nengo
    from nengo.processes import Piecewise

    with nengo.Network(label="Multiplication", seed=seed) as model:
        a = nengo.Ensemble(100, dimensions=1, radius=10, label="A")
        b = nengo.Ensemble(100, dimensions=1, radius=10, label="B")
        combined = nengo.Ensemble(220, dimensions=2, radius=15, label="combined",
                                  encoders=nengo.dists.Choice([[1, 1], [-1, 1], [1, -1], [-1, -1]]))
        prod = nengo.Ensemble(100, dimensions=1, radius=20, label="product")
        input_a = nengo.Node(Piecewise({0: 0, 2.5: 10, 4: -10}), label="input_a")
        input_b = nengo.Node(Piecewise({0: 10, 1.5: 2, 3: 0, 4.5: 2}), label="input_b")
        nengo.Connection(input_a, a)
        nengo.Connection(input_b, b)
        nengo.Connection(a, combined[0])
        nengo.Connection(b, combined[1])
        nengo.Connection(combined, prod, function=lambda x: x[0] * x[1])
        nengo.Probe(prod, synapse=0.01, label="product")

    def ideal(t):
        a = np.select([t < 2.5, t < 4], [0.0, 10.0], -10.0)
        b = np.select([t < 1.5, t < 3, t < 4.5], [10.0, 2.0, 0.0], 2.0)
        return a * b

    return model, 5.0, ideal, "product"


def integrator(seed: int = 0):
    """nengo/examples/dynamics/integrator: a recurrent ensemble integrating a piecewise input."""
    import nengo
    from nengo.processes import Piecewise

    steps = {0: 0, 0.2: 1, 1: 0, 2: -2, 3: 0, 4: 1, 5: 0}
    with nengo.Network(label="Integrator", seed=seed) as model:
        a = nengo.Ensemble(100, dimensions=1, label="A")
        stim = nengo.Node(Piecewise(steps), label="input")
        tau = 0.1
        nengo.Connection(a, a, transform=[[1]], synapse=tau)
        nengo.Connection(stim, a, transform=[[tau]], synapse=tau)
        nengo.Probe(a, synapse=0.01, label="A")

    def ideal(t):
        times = sorted(steps)
        value = np.zeros_like(t)
        for start, end in zip(times, times[1:] + [np.inf]):
            value += steps[start] * np.clip(t - start, 0, end - start)
        return value

    return model, 6.0, ideal, "A"


EXAMPLES = {"communication_channel": communication_channel, "relu_channel": relu_channel, "product": product,
            "integrator": integrator}
