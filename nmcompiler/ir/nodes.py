r"""Graph nodes: neuron populations and spike/current sources; probes.

Every node has a unique ``name`` and a ``size`` (number of neurons or channels).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ._record import ArrayRecord
from .models import CubaLIF, NeuronModel

__all__ = ["Node", "Population", "PoissonSource", "SpikeSource", "CurrentSource", "Probe", "NODE_KINDS"]


MAX_SIZE = 2**31 - 1  # neurons or channels of one node (indices are int32 where they fit, int64 beyond)


def _problems_size(size: int) -> list[str]:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        return [f"size must be a positive integer, not {size!r}"]
    if size > MAX_SIZE:
        return [f"size {size} is beyond {MAX_SIZE} (2^31 - 1) neurons or channels"]
    return []


def _check_per_neuron(name: str, value: np.ndarray, size: int) -> list[str]:
    if value.ndim > 1 or (value.ndim == 1 and value.shape[0] != size):
        return [f"'{name}' has shape {value.shape}, expected a scalar or ({size},)"]
    if not np.all(np.isfinite(value)):
        return [f"'{name}' contains NaN or infinite values"]
    return []


@dataclass(frozen=True, kw_only=True, eq=False)
class Node(ArrayRecord):
    kind: ClassVar[str] = ""
    name: str
    size: int

    def problems(self) -> list[str]:
        return _problems_size(self.size)


@dataclass(frozen=True, kw_only=True, eq=False)
class Population(Node):
    """``size`` neurons of one model. ``initial`` maps a state variable to its start value.

    ``initial["v"]`` is a scalar or ``(size,)``; ``initial["i"]`` (CubaLIF) is ``(R,)`` or
    ``(R, size)``. Missing entries start at ``v_leak`` (``v_reset`` for IF) and zero current.
    """

    kind: ClassVar[str] = "population"
    model: NeuronModel
    initial: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._set("initial", {k: np.asarray(v, dtype=np.float64) for k, v in sorted(self.initial.items())})

    def problems(self) -> list[str]:
        out = _problems_size(self.size)
        if out:
            return out
        out += self.model.problems(self.size)
        for var, value in self.initial.items():
            if var not in self.model.STATE:
                out.append(f"initial value for unknown state variable '{var}' (model has {', '.join(self.model.STATE)})")
            elif var == "i":
                n_rec = len(self.model.receptors)
                if value.shape not in ((), (n_rec,), (n_rec, self.size)):
                    out.append(f"initial 'i' has shape {value.shape}, expected ({n_rec},) or ({n_rec}, {self.size})")
            else:
                out += [f"initial {p}" for p in _check_per_neuron(var, value, self.size)]
        return out

    def initial_state(self) -> dict[str, np.ndarray]:
        """Full-size start values of every state variable."""
        rest = getattr(self.model, "v_leak", self.model.v_reset)
        v = np.broadcast_to(self.initial.get("v", rest), (self.size,)).astype(np.float64)
        state = {"v": v}
        if isinstance(self.model, CubaLIF):
            n_rec = len(self.model.receptors)
            i = np.asarray(self.initial.get("i", 0.0), dtype=np.float64)
            if i.ndim == 1:
                i = i[:, None]
            state["i"] = np.broadcast_to(i, (n_rec, self.size)).astype(np.float64)
        return state


@dataclass(frozen=True, kw_only=True, eq=False)
class PoissonSource(Node):
    """Independent Poisson spike trains: in each step of ``[start, stop)`` channel ``j`` spikes
    with probability ``rate[j] * dt``.

    ``inputs > 1``: each channel is the sum of that many such inputs (Brian2's ``PoissonInput``):
    it spikes ``Binomial(inputs, rate[j] * dt)`` times per step, several spikes of one channel in
    one step each delivered through its synapses (what a drive of many inputs onto one neuron
    needs, one channel per neuron instead of one per input)."""

    kind: ClassVar[str] = "poisson"
    rate: np.ndarray
    start: float = 0.0
    stop: float = np.inf
    inputs: int = 1

    def __post_init__(self) -> None:
        self._set("rate", np.asarray(self.rate, dtype=np.float64))

    def problems(self) -> list[str]:
        out = _problems_size(self.size) or _check_per_neuron("rate", self.rate, self.size)
        if not out and np.any(self.rate < 0):
            out.append("'rate' must be >= 0")
        if self.stop < self.start:
            out.append("'stop' is before 'start'")
        if isinstance(self.inputs, bool) or not isinstance(self.inputs, (int, np.integer)) or self.inputs < 1:
            out.append(f"'inputs' must be an integer >= 1 (the Poisson inputs each channel sums), not {self.inputs!r}")
        return out


@dataclass(frozen=True, kw_only=True, eq=False)
class SpikeSource(Node):
    """Explicit spikes: channel ``ids[k]`` spikes at time ``times[k]`` (seconds, rounded to the
    nearest step). Stored sorted by time, then channel.

    ``mirror_of`` names another spike source whose spikes this one always sends (a legalization's
    copy that reaches further input axons, :mod:`nmcompiler.passes.axon_planes`): new input for the
    original is new input for its mirrors (``Network.replace``, ``SimProgram.with_source``)."""

    kind: ClassVar[str] = "spikes"
    ids: np.ndarray
    times: np.ndarray
    mirror_of: str | None = None

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids, dtype=np.int64).reshape(-1)
        times = np.asarray(self.times, dtype=np.float64).reshape(-1)
        if ids.shape == times.shape:
            order = np.lexsort((ids, times))
            ids, times = ids[order], times[order]
        self._set("ids", ids)
        self._set("times", times)

    def problems(self) -> list[str]:
        out = _problems_size(self.size)
        if self.ids.shape != self.times.shape:
            return out + [f"'ids' ({self.ids.size}) and 'times' ({self.times.size}) differ in length"]
        if self.ids.size and (self.ids.min() < 0 or (not out and self.ids.max() >= self.size)):
            out.append(f"spike channel ids must lie in [0, {self.size})")
        if not np.all(np.isfinite(self.times)) or np.any(self.times < 0):
            out.append("spike times must be finite and >= 0")
        return out


@dataclass(frozen=True, kw_only=True, eq=False)
class CurrentSource(Node):
    """Constant current ``amplitude[j]`` during ``[start, stop)``. A projection from it adds
    ``sum_j w[j, i] * amplitude[j]`` to neuron ``i``'s input current (its delays are ignored)."""

    kind: ClassVar[str] = "current"
    amplitude: np.ndarray
    start: float = 0.0
    stop: float = np.inf

    def __post_init__(self) -> None:
        self._set("amplitude", np.asarray(self.amplitude, dtype=np.float64))

    def problems(self) -> list[str]:
        out = _problems_size(self.size) or _check_per_neuron("amplitude", self.amplitude, self.size)
        if self.stop < self.start:
            out.append("'stop' is before 'start'")
        return out


@dataclass(frozen=True, kw_only=True, eq=False)
class Probe(ArrayRecord):
    """Record ``variable`` ("spikes", "v" or "i") of population ``target``; ``neurons`` selects
    indices (None: all)."""

    target: str
    variable: str = "spikes"
    neurons: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.neurons is not None:
            self._set("neurons", np.asarray(self.neurons, dtype=np.int64).reshape(-1))

    @property
    def label(self) -> str:
        return f"{self.target}.{self.variable}"


@dataclass(frozen=True, kw_only=True, eq=False)
class Readout(ArrayRecord):
    """A value decoded from population ``target``'s spikes (an NEF decoded output, as Nengo
    probes it): ``decoders`` (dims, neurons) applied to the spikes as impulses of ``1/dt`` and
    filtered by a first-order lowpass of time constant ``tau`` (s; None: unfiltered),
    discretized as Nengo does: ``y[k] = a y[k-1] + (1 - a) x[k]``, ``a = e^(-dt/tau)``."""

    name: str
    target: str
    decoders: np.ndarray
    tau: float | None = None

    def __post_init__(self) -> None:
        self._set("decoders", np.asarray(self.decoders, dtype=np.float64))

    def problems(self, size: int) -> list[str]:
        d = self.decoders
        if d.ndim != 2 or d.shape[1] != size:
            return [f"decoders must be (dims, {size}), not {d.shape}"]
        if not np.all(np.isfinite(d)):
            return ["decoders must be finite"]
        if self.tau is not None and not (np.isfinite(self.tau) and self.tau > 0):
            return [f"tau must be > 0 seconds or none, not {self.tau}"]
        return []

    def decode(self, spike_steps: np.ndarray, spike_ids: np.ndarray, steps: int, dt: float) -> np.ndarray:
        """The decoded value per step, (steps, dims), from the target's spikes."""
        counts = np.zeros((steps, self.decoders.shape[1]))
        np.add.at(counts, (np.asarray(spike_steps, dtype=np.int64), np.asarray(spike_ids, dtype=np.int64)), 1.0)
        return lowpass(counts @ self.decoders.T / dt, self.tau, dt)


def lowpass(x: np.ndarray, tau: float | None, dt: float) -> np.ndarray:
    """A first-order lowpass along axis 0 as Nengo discretizes it: ``y[k] = a y[k-1] + (1 - a)
    x[k]`` (``y[-1] = 0``, ``a = e^(-dt/tau)``); ``tau`` None: ``x`` unfiltered."""
    if tau is None:
        return np.array(x, dtype=np.float64)
    from scipy.signal import lfilter

    a = np.exp(-dt / tau)
    return lfilter([1 - a], [1, -a], np.asarray(x, dtype=np.float64), axis=0)


def decode_readouts(readouts, result) -> dict[str, np.ndarray]:
    """``{name: (steps, dims)}`` of every readout, from a run's spikes (``result``: a ``SimResult``)."""
    empty = np.zeros(0, dtype=np.int64)
    return {r.name: r.decode(result.spike_steps.get(r.target, empty), result.spike_ids.get(r.target, empty),
                             result.steps, result.dt) for r in readouts}


NODE_KINDS: dict[str, type[Node]] = {n.kind: n for n in (Population, PoissonSource, SpikeSource, CurrentSource)}
"""Registry of node classes by ``kind``."""
