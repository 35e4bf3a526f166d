"""Independent Poisson drive: ``n_inputs`` Poisson inputs at ``rate`` into every neuron of a population.

The sum of many inputs is a Poisson process whose rate (``n_inputs x rate``) often exceeds one
spike per step, which one Poisson channel (at most one spike per step) cannot carry. The drive is
split into ``k`` channels per neuron at ``n_inputs x rate / k`` each: the same mean, and a
binomial count per step whose variance is ``1 - p`` times the Poisson variance, ``p`` the spike
probability of a channel per step. ``k = n_inputs`` (exact: Brian2's ``PoissonInput`` draws that
binomial) when that is small enough, else the fewest channels with ``p <= p_max``.

``summed=True`` instead gives each neuron one channel that sums its ``n_inputs`` inputs
(``PoissonSource.inputs``): a ``Binomial(n_inputs, rate dt)`` count per step, exactly Brian2's
``PoissonInput``, with one channel and one synapse per neuron, for simulators and targets that
take several spikes of one channel per step.
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Connectivity, Network, PoissonSource, Projection

__all__ = ["P_MAX", "EXACT_CHANNELS", "drive_channels", "add_poisson_drive"]

P_MAX = 0.05  # most spike probability per step of one channel
EXACT_CHANNELS = 200_000  # one channel per input while the source stays this small


def drive_channels(n_inputs: int, rate: float, dt: float, size: int, p_max: float = P_MAX) -> int:
    """Channels per neuron for ``n_inputs`` inputs at ``rate`` (Hz) into ``size`` neurons."""
    if n_inputs * size <= EXACT_CHANNELS:
        return int(n_inputs)
    return max(1, min(int(n_inputs), math.ceil(n_inputs * rate * dt / p_max)))


def add_poisson_drive(net: Network, name: str, post: str, n_inputs: int, rate: float, weight, *,
                      size: int | None = None, offset: int = 0, receptor: str | None = None, delay: int = 1,
                      channels: int | None = None, p_max: float = P_MAX, summed: bool = False,
                      meta: dict | None = None) -> int:
    """Add source ``name`` and projection ``{name}_{post}``: neurons ``offset .. offset + size`` of
    ``post`` each get ``n_inputs`` inputs at ``rate`` of ``weight`` (a scalar, or one value per
    driven neuron). ``channels`` fixes the channels per neuron, else ``p_max`` bounds a channel's
    spike probability per step; ``summed``: one channel per neuron of ``n_inputs`` inputs.
    Returns the channels per neuron."""
    n_post = net.node(post).size
    size = n_post - offset if size is None else size
    if summed:
        k = 1
        net.add(PoissonSource(name=name, size=size, rate=rate, inputs=int(n_inputs)))
    else:
        k = channels or drive_channels(n_inputs, rate, net.dt, size, p_max)
        net.add(PoissonSource(name=name, size=size * k, rate=n_inputs * rate / k))
    local = np.arange(size * k) // k
    w = np.asarray(weight, dtype=np.float64)
    w = w[local] if w.ndim else w
    conn = Connectivity.from_coo(size * k, n_post, np.arange(size * k), offset + local, w, delay)
    net.connect(Projection(name=f"{name}_{post}", pre=name, post=post, connectivity=conn, receptor=receptor,
                           meta=dict(meta or {}, drive=f"{n_inputs} Poisson inputs at {rate:g} Hz as "
                                                       + ("one summed channel" if summed else f"{k} channels"))))
    return k
