"""Projections: PyNN's connectors call ``_convergent_connect`` with the synapses onto one
postsynaptic cell; they are kept as flat arrays (pre and post index within the projection's
populations, weight in nA or mV, delay in ms) and lowered to IR projections by ``lower.py``."""

from __future__ import annotations

import numpy as np
from pyNN import common
from pyNN.space import Space

from . import simulator
from .cells import StaticSynapse
from .errors import refuse

__all__ = ["Projection", "Connection"]


class Connection(common.Connection):
    """One synapse of a projection (read access, as PyNN's ``prj[i]``)."""

    def __init__(self, projection, i):
        self.presynaptic_index = int(projection._pre[i])
        self.postsynaptic_index = int(projection._post[i])
        self.weight = float(projection._weight[i])
        self.delay = float(projection._delay[i])

    def as_tuple(self, *attribute_names):
        return tuple(getattr(self, name) for name in attribute_names)


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector, synapse_type=None,
                 source=None, receptor_type=None, space=Space(), label=None):
        if synapse_type is not None and type(synapse_type).__name__ != "StaticSynapse":
            refuse(f"synapse type {type(synapse_type).__name__} cannot be mapped: only StaticSynapse "
                   "(plasticity and short-term dynamics are not in the IR yet)")
        if source not in (None, "spike"):
            refuse(f"projection source {source!r}: only spikes")
        super().__init__(presynaptic_population, postsynaptic_population, connector, synapse_type, source,
                         receptor_type, space, label)
        simulator.state.changed(f"creating projection {self.label!r}")
        self._chunks: list[tuple] = []
        self._arrays = None
        connector.connect(self)
        simulator.state.projections.append(self)

    # --- building ---------------------------------------------------------------------------
    def _convergent_connect(self, presynaptic_indices, postsynaptic_index, location_selector=None,
                            **connection_parameters):
        if location_selector is not None:
            refuse("multicompartment locations are not supported")
        pre = np.arange(self.pre.size)[presynaptic_indices].astype(np.int64).reshape(-1)
        n = pre.size
        weight = np.broadcast_to(np.asarray(connection_parameters.get("weight", 0.0), float), (n,))
        delay = connection_parameters.get("delay")
        delay = np.broadcast_to(np.asarray(simulator.state.min_delay if delay is None else delay, float), (n,))
        self._chunks.append((pre, np.full(n, int(postsynaptic_index), np.int64), weight.copy(), delay.copy()))
        self._arrays = None

    def _flat(self):
        if self._arrays is None:
            if self._chunks:
                self._arrays = tuple(np.concatenate(parts) for parts in zip(*self._chunks))
            else:
                self._arrays = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
            self._chunks = [self._arrays]
        return self._arrays

    _pre = property(lambda self: self._flat()[0])
    _post = property(lambda self: self._flat()[1])
    _weight = property(lambda self: self._flat()[2])
    _delay = property(lambda self: self._flat()[3])

    # --- PyNN access ------------------------------------------------------------------------
    def __len__(self):
        return int(self._pre.size)

    def __getitem__(self, i):
        if isinstance(i, (int, np.integer)):
            if not -len(self) <= i < len(self):
                raise IndexError(f"projection {self.label!r} has {len(self)} connections")
            return Connection(self, int(i) % len(self))
        return [Connection(self, j) for j in np.arange(len(self))[i]]

    @property
    def connections(self):
        return iter(self)

    def _column(self, name):
        columns = {"presynaptic_index": self._pre, "postsynaptic_index": self._post, "weight": self._weight,
                   "delay": self._delay, "weights": self._weight, "delays": self._delay}
        if name not in columns:
            refuse(f"projection attribute {name!r}: StaticSynapse has weight and delay")
        return columns[name]

    def _get_attributes_as_list(self, names):
        cols = [self._column(name).tolist() for name in names]
        return list(zip(*cols)) if cols else []

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        combine = common.Projection.MULTI_SYNAPSE_OPERATIONS[multiple_synapses]
        out = []
        for name in names:
            values = np.full((self.pre.size, self.post.size), np.nan)
            for p, q, v in zip(self._pre, self._post, self._column(name)):
                values[p, q] = v if np.isnan(values[p, q]) else combine(values[p, q], v)
            out.append(values)
        return out

    def _set_attributes(self, parameter_space):
        simulator.state.changed(f"setting connection attributes of {self.label!r}")
        parameter_space.evaluate(simplify=False)
        pre, post, weight, delay = self._flat()
        columns = {"weight": weight.copy(), "delay": delay.copy()}
        for name, value in parameter_space.items():
            if name not in columns:
                refuse(f"projection attribute {name!r}: StaticSynapse has weight and delay")
            columns[name] = np.broadcast_to(value, (self.pre.size, self.post.size))[pre, post].astype(float)
        self._arrays = (pre, post, columns["weight"], columns["delay"])
        self._chunks = [self._arrays]

    def _set_initial_value_array(self, variable, value):
        refuse(f"projection state {variable!r}: static synapses have none")


