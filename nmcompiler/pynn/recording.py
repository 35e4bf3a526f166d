"""Recording: PyNN's Recorder over the cached simulation of ``simulator.state``. Spikes and ``v``
come from the run from t = 0; what was cleared (``get_data(clear=True)``) before a time is left
out by time, so the results stay those of one continuous run."""

from __future__ import annotations

import numpy as np
from pyNN import recording

from . import simulator

__all__ = ["Recorder"]


class Recorder(recording.Recorder):
    _simulator = simulator

    def __init__(self, population, file=None):
        super().__init__(population, file)
        self._since = 0.0  # ms: data before this was cleared

    def _record(self, variable, new_ids, sampling_interval=None):
        if sampling_interval is not None and abs(sampling_interval - simulator.state.dt) > 1e-12:
            from .errors import refuse

            refuse(f"recording {variable.name!r} every {sampling_interval} ms: only every time step "
                   f"({simulator.state.dt} ms) is supported")
        if variable.name != "spikes":
            simulator.state.changed(f"recording {variable.name!r} of {self.population.label!r}")

    def _population_spikes(self):
        from .lower import spikes_of

        return spikes_of(simulator.state, self.population.grandparent if hasattr(self.population, "grandparent")
                         else self.population)

    def _get_spiketimes(self, ids, clear=False):
        root = self.population.grandparent if hasattr(self.population, "grandparent") else self.population
        local, times = self._population_spikes()
        keep = times >= self._since - 1e-9
        local, times = local[keep], times[keep]
        wanted = np.asarray([int(i) for i in ids], dtype=np.int64) - int(root.first_id)
        mask = np.isin(local, wanted)
        return local[mask] + int(root.first_id), times[mask].copy()

    def _get_all_signals(self, variable, ids, clear=False):
        from .lower import trace_of

        root = self.population.grandparent if hasattr(self.population, "grandparent") else self.population
        local = np.asarray([int(i) for i in ids], dtype=np.int64) - int(root.first_id)
        values = trace_of(simulator.state, root, variable.name, local)  # (steps + 1, len(ids)), from t = 0
        first = int(round(self._since / simulator.state.dt))
        return values[first:], None

    def _local_count(self, variable, filter_ids=None):
        ids = sorted(self.filter_recorded(variable, filter_ids))
        found, _ = self._get_spiketimes(ids)
        counts = dict.fromkeys((int(i) for i in ids), 0)
        values, n = np.unique(found, return_counts=True)
        counts.update(zip(values.tolist(), n.tolist()))
        return counts

    def _clear_simulator(self):
        self._since = simulator.state.t

    def _reset(self):
        self._since = 0.0
