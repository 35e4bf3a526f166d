"""Populations, views and assemblies: parameters and initial values held as arrays per
population (PyNN's names and units), turned into IR nodes by ``lower.py`` when the network runs."""

from __future__ import annotations

import numpy as np
from lazyarray import larray
from pyNN import common, errors
from pyNN.parameters import ParameterSpace, simplify

from . import simulator
from .recording import Recorder

__all__ = ["Population", "PopulationView", "Assembly"]


class Assembly(common.Assembly):
    _simulator = simulator


class _Parameters:
    """Parameter access shared by populations and views (identity translations: native names are
    PyNN's standard names)."""

    def _get_parameters(self, *names):
        root, index = self._root_and_index()
        values = {name: simplify(np.asarray(root._parameters[name])[index]) for name in names}
        return ParameterSpace(values, shape=(self.size,))

    def _set_parameters(self, parameter_space):
        root, index = self._root_and_index()
        if type(root.celltype).__name__ == "SpikeSourceArray" and set(parameter_space.keys()) == {"spike_times"}:
            _freeze_emitted(root)  # new spike times act from now on; what was emitted stays
        else:
            simulator.state.changed(f"setting parameters of {root.label!r}")
        parameter_space.evaluate(simplify=False)
        for name, value in parameter_space.items():
            try:
                root._parameters[name][index] = value
            except ValueError as exc:
                raise errors.InvalidParameterValueError(f"{name}: {exc}") from None
        _check_spike_times(root)

    def _set_initial_value_array(self, variable, initial_values):
        root, index = self._root_and_index()
        simulator.state.changed(f"initialising {variable!r} of {root.label!r}")
        values = initial_values.evaluate(simplify=False) if isinstance(initial_values, larray) else initial_values
        root._initial.setdefault(variable, np.zeros(root.size))[index] = values

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


def _check_spike_times(pop) -> None:
    if type(pop.celltype).__name__ != "SpikeSourceArray":
        return
    for k, seq in enumerate(pop._parameters["spike_times"]):
        times = np.asarray(getattr(seq, "value", seq), dtype=float)
        if np.any(np.diff(times) < 0):
            raise errors.InvalidParameterValueError(
                f"population {pop.label!r}: spike times of cell {k} are not in increasing order")


def _freeze_emitted(root) -> None:
    state = simulator.state
    if state.t > 0:
        from .lower import source_spikes

        ids, times = source_spikes(root, state.dt)
        keep = times <= state.t + 1e-9
        root._past_spikes.append((ids[keep], times[keep]))
        root._valid_from = state.t
        state._result = None


class PopulationView(_Parameters, common.PopulationView):
    _assembly_class = Assembly
    _simulator = simulator

    def _root_and_index(self):
        return self.grandparent, self.index_in_grandparent(np.arange(self.size))

    @property
    def initial_values(self):
        return _ViewInitialValues(self)


class _ViewInitialValues(dict):
    """``view.initial_values[v] = ...`` writes through to the root population (PyNN's
    ``initialize`` assigns here after ``_set_initial_value_array``); reads give the view's values."""

    def __init__(self, view):
        super().__init__()
        self._view = view

    def __setitem__(self, key, value):
        pass  # already written by _set_initial_value_array

    def __getitem__(self, key):
        root, index = self._view._root_and_index()
        return larray(root._initial[key][index])

    def __contains__(self, key):
        return key in self._view.grandparent._initial


class Population(_Parameters, common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def _root_and_index(self):
        return self, slice(None)

    def _create_cells(self):
        state = simulator.state
        state.changed(f"creating population {self.label!r}")
        ids = np.arange(state.id_counter, state.id_counter + self.size)
        self.all_cells = np.array([simulator.ID(i) for i in ids], dtype=simulator.ID)
        self._mask_local = np.ones(self.size, dtype=bool)
        space = self.celltype.native_parameters
        space.shape = (self.size,)
        space.evaluate(simplify=False)
        self._parameters = {k: np.array(np.broadcast_to(v, (self.size,))) if np.ndim(v) == 0 else np.asarray(v)
                            for k, v in space.as_dict().items()}
        self._initial = {}
        self._past_spikes = []  # SpikeSourceArray: (ids, times) emitted before a set() after run()
        self._valid_from = 0.0  # ms: the current spike_times apply after this time
        _check_spike_times(self)
        for cell in self.all_cells:
            cell.parent = self
        state.id_counter += self.size
        state.populations.append(self)
