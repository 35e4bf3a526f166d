"""PyNN's piecewise-constant injected currents: ``DCSource`` and ``StepCurrentSource``.

Each becomes IR current sources (one per constant piece) with projections into the membrane
equation of the cells it is injected into (``receptor="membrane"``): the current acts from the
step that starts at its onset to the step that ends at its end, NEST's timing as pyNN.nest
arranges it (a DCSource with start 10 ms moves v first in the step 10.0-10.1 ms). On a target
the quantizer holds each current as a constant bias and says so in the compile notes.
Parameters set between runs act from the step that starts at that time (the history is kept,
and the next run replays it from t = 0).

``ACSource`` and ``NoisyCurrentSource`` change at every step and are refused by name.
"""

from __future__ import annotations

import numpy as np
from pyNN.parameters import ParameterSpace, Sequence
from pyNN.standardmodels import StandardCurrentSource, build_translations, electrodes

from .errors import refuse
from .simulator import state

__all__ = ["DCSource", "StepCurrentSource", "ACSource", "NoisyCurrentSource"]

_OPEN_END_MS = 1e12  # PyNN's default DCSource stop: "never"


class _Electrode(StandardCurrentSource):
    """Parameters kept in PyNN's units (nA, ms); the cells as global ids."""

    def __init__(self, **parameters):
        self._store({**self.default_parameters, **parameters})
        self.restart()
        self.cell_ids: list[int] = []
        state.current_sources.append(self)

    def inject_into(self, cells):
        ids = [int(c) for c in cells]
        if not all(c.celltype.injectable for c in cells):
            raise TypeError("Can't inject current into a spike source.")
        state.changed("injecting a current")
        self.cell_ids.extend(ids)

    def set_native_parameters(self, parameters):
        """New values act from now on (the step that starts at the current time): the run so
        far is simulated again with the old values up to now."""
        parameters.evaluate(simplify=True)
        self._store({**{k: Sequence(v) if isinstance(v, np.ndarray) else v for k, v in self._values.items()},
                     **dict(parameters.items())})
        self._history = [h for h in self._history if h[0] < state.t] + [(state.t, self._values)]
        state.invalidate()

    def restart(self) -> None:
        """After reset(): the values set last hold from t = 0."""
        self._history = [(0.0, self._values)]

    def _store(self, values: dict) -> None:
        space = ParameterSpace(values, self.get_schema(), shape=(1,))
        space.evaluate(simplify=True)
        self._values = {k: np.asarray(v.value, dtype=np.float64) if isinstance(v, Sequence) else float(v)
                        for k, v in space.items()}
        self._check()

    def _check(self) -> None:
        """Raise ValueError for parameters PyNN's backends reject."""

    def get_native_parameters(self):
        return ParameterSpace(dict(self._values))

    def record(self):
        refuse(f"recording the current of a {type(self).__name__}: not supported (it is the source's "
               "parameters; record the cells' v)")

    def pieces(self) -> list[tuple[float, float, float]]:
        """``[(start_ms, stop_ms, amplitude_nA)]``: the constant pieces (stop may be inf) of
        each set of values, within the time it held."""
        out = []
        ends = [t for t, _ in self._history[1:]] + [np.inf]
        for (begin, values), end in zip(self._history, ends):
            for a, b, x in self._pieces(values):
                a, b = max(a, begin), min(b, end)
                if b > a:
                    out.append((a, b, x))
        return out

    @staticmethod
    def _pieces(values: dict) -> list[tuple[float, float, float]]:
        raise NotImplementedError


class DCSource(_Electrode, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"), ("stop", "stop"))

    @staticmethod
    def _pieces(values):
        start, stop, amplitude = (values[k] for k in ("start", "stop", "amplitude"))
        stop = np.inf if stop >= _OPEN_END_MS else stop
        return [(start, stop, amplitude)] if stop > start and amplitude != 0 else []


class StepCurrentSource(_Electrode, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    translations = build_translations(("amplitudes", "amplitudes"), ("times", "times"))

    def _check(self):
        """PyNN's rules (non-negative, increasing times), then the times on the time grid: of
        times that meet on one step the last amplitude stays (as pyNN.neuron and pyNN.nest)."""
        times, amplitudes = self._values["times"], self._values["amplitudes"]
        if times.size != amplitudes.size:
            raise ValueError(f"StepCurrentSource: {times.size} times but {amplitudes.size} amplitudes")
        if times.size and times.min() < 0:
            raise ValueError("Step current cannot accept negative timestamps.")
        if times.size > 1 and np.min(np.diff(times)) <= 0:
            raise ValueError("Step current timestamps should be monotonically increasing.")
        steps = np.rint(times / state.dt).astype(np.int64)
        last = np.append(steps[1:] != steps[:-1], True) if steps.size else np.zeros(0, bool)
        self._values.update(times=steps[last] * state.dt, amplitudes=amplitudes[last])

    @staticmethod
    def _pieces(values):
        times, amplitudes = values["times"], values["amplitudes"]
        stops = np.append(times[1:], np.inf)
        return [(float(a), float(b), float(x)) for a, b, x in zip(times, stops, amplitudes) if x != 0]


def _refused(name: str, why: str):
    def __init__(self, *args, **parameters):
        refuse(f"current source {name} cannot be mapped: {why}")

    return type(name, (), {"__init__": __init__, "__doc__": f"Refused: {why}."})


ACSource = _refused("ACSource", "a sinusoidal current changes at every step; the IR's currents are piecewise "
                    "constant (use StepCurrentSource with the samples you need)")
NoisyCurrentSource = _refused("NoisyCurrentSource", "a noise current is redrawn at every step; the IR's currents "
                              "are piecewise constant (use SpikeSourcePoisson inputs, or StepCurrentSource)")
