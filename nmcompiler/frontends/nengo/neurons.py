"""Nengo's neuron types as nmcompiler runs them, with the rate curves decoders are solved for.

Nengo's LIF integrates ``v += (J - v)(1 - e^(-dt/tau_rc))`` per step, spikes when ``v > 1`` and
places each spike inside its step (the refractory period then starts part way through a step).
Our datapath, like Loihi's, counts whole steps: a neuron that spikes in step ``k`` subtracts the
threshold (the overshoot carries what Nengo keeps in the spike's time within the step), holds its
``v`` for ``round(tau_ref / dt)`` steps and integrates again from the next one
(:func:`subtract_lif_rates`; :func:`stepped_lif_rates` is the same neuron reset to zero).
``SteppedLIF`` is Nengo's LIF with the rate curve of that stepped neuron, so the decoders Nengo's builder solves
fit the neurons that will run (what Nengo-Loihi's ``LoihiLIF`` does for Loihi). Gains, biases,
encoders and evaluation points stay Nengo's own (the same seeds give the same values).
"""

from __future__ import annotations

import numpy as np

__all__ = ["stepped_lif_rates", "stepped_neuron_type"]


def stepped_lif_rates(J: np.ndarray, tau_rc: float, tau_ref: float, dt: float) -> np.ndarray:
    """Firing rate (Hz) of the stepped LIF for constant input ``J``: after a spike ``R =
    round(tau_ref/dt)`` held steps, then the first step ``m`` with ``J(1 - e^(-m dt/tau_rc)) > 1``."""
    J = np.asarray(J, dtype=np.float64)
    out = np.zeros_like(J)
    on = J > 1
    with np.errstate(divide="ignore"):
        cross = np.floor(-tau_rc / dt * np.log1p(-1.0 / J[on])) + 1
    out[on] = 1.0 / ((np.rint(tau_ref / dt) + cross) * dt)
    return out


def subtract_lif_rates(J: np.ndarray, tau_rc: float, tau_ref: float, dt: float, steps: int = 4000) -> np.ndarray:
    """Long-run rate (Hz) of the stepped LIF that resets by subtracting the threshold (the
    overshoot carries into the next interval), for constant input ``J``: simulated on a grid of
    currents and interpolated."""
    J = np.asarray(J, dtype=np.float64)
    top = max(float(J.max(initial=1.0)), 1.0) + 1.0
    grid = np.concatenate([[1.0], 1.0 + np.geomspace(1e-4, top - 1.0, 2000)])
    decay, hold = np.exp(-dt / tau_rc), int(np.rint(tau_ref / dt))
    v, wait, count = np.zeros_like(grid), np.zeros(grid.size, dtype=np.int64), np.zeros_like(grid)
    for _ in range(steps):
        free = wait == 0
        v = np.where(free, grid + (v - grid) * decay, v)
        wait = np.where(free, 0, wait - 1)
        fire = free & (v > 1)
        v = np.where(fire, v - 1, v)
        wait = np.where(fire, hold, wait)
        count += fire
    return np.where(J > 1, np.interp(J, grid, count / (steps * dt)), 0.0)


def stepped_neuron_type(neuron_type, dt: float):
    """The neuron type whose decoders fit nmcompiler's stepped neurons: for ``nengo.LIF``, a
    subclass with :func:`subtract_lif_rates` as its rate curve (same parameters); other types as
    they are."""
    import nengo

    if type(neuron_type) is not nengo.LIF:
        return neuron_type

    class SteppedLIF(nengo.LIF):
        """Nengo's LIF whose rates are those of the stepped neuron nmcompiler runs."""

        def rates(self, x, gain, bias):
            J = self.current(x, gain, bias)
            return subtract_lif_rates(J, self.tau_rc, self.tau_ref, dt)

    return SteppedLIF(tau_rc=neuron_type.tau_rc, tau_ref=neuron_type.tau_ref, min_voltage=neuron_type.min_voltage,
                      amplitude=neuron_type.amplitude, initial_state=neuron_type.initial_state)
