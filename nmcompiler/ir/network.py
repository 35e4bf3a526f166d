"""The graph IR: a networkx multi-digraph of populations and sources, projections as edges.

Nodes are keyed by name and carry the node object under ``"node"``; each edge is keyed by
its projection name and carries the :class:`Projection` under ``"projection"``. Synapses live
in each projection's :class:`Connectivity` arrays, never as networkx edges.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import networkx as nx
import numpy as np

from ..errors import Diagnostic, ValidationError
from ..units import format_time
from .connectivity import Projection
from .nodes import CurrentSource, Node, Population, Probe, Readout, SpikeSource

MAX_STEPS = 2**31 - 1  # steps a time in the network may lie at (spike times, refractory periods)
MAX_DT = 1e6  # seconds per step (frameworks that count time in steps use dt = 1)

__all__ = ["Network", "NetworkStats", "PopulationStats"]


@dataclass(frozen=True, kw_only=True)
class PopulationStats:
    name: str
    kind: str  # neuron model kind or source kind
    size: int
    is_source: bool
    synapses_in: int
    synapses_out: int
    fan_in_mean: float
    fan_in_max: int
    fan_out_mean: float
    fan_out_max: int


@dataclass(frozen=True, kw_only=True)
class NetworkStats:
    name: str
    dt: float
    neurons: int
    sources: int
    synapses: int
    populations: tuple[PopulationStats, ...]
    projections: tuple[dict, ...]

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "dt": self.dt,
            "neurons": self.neurons,
            "source_channels": self.sources,
            "synapses": self.synapses,
            "populations": [dataclasses.asdict(p) for p in self.populations if not p.is_source],
            "sources": [dataclasses.asdict(p) for p in self.populations if p.is_source],
            "projections": list(self.projections),
        }


class Network:
    """A spiking network: nodes, projections, probes, time step ``dt`` (s) and default seed.

    The builder methods check names as they go; :meth:`validate` checks everything else and
    raises one :class:`ValidationError` listing all problems.
    """

    def __init__(self, name: str = "network", *, dt: float = 1e-4, seed: int = 0, duration: float | None = None):
        self.name = name
        self.dt = float(dt)
        self.seed = int(seed)
        self.duration = duration
        self.graph = nx.MultiDiGraph()
        self.probes: list[Probe] = []
        self.readouts: list[Readout] = []  # values decoded from spikes (NEF), computed after a run
        self._edges: dict[str, tuple[str, str]] = {}  # projection name -> (pre, post), in insertion order

    # -- building -------------------------------------------------------------------------
    def add(self, node: Node) -> Node:
        if node.name in self.graph:
            raise ValidationError([Diagnostic(where=f"node '{node.name}'", message="name is already used")])
        self.graph.add_node(node.name, node=node)
        return node

    def connect(self, projection: Projection) -> Projection:
        missing = [n for n in (projection.pre, projection.post) if n not in self.graph]
        if missing or projection.name in self._edges:
            msg = f"node '{missing[0]}' does not exist" if missing else "name is already used"
            raise ValidationError([Diagnostic(where=f"projection '{projection.name}'", message=msg)])
        self.graph.add_edge(projection.pre, projection.post, key=projection.name, projection=projection)
        self._edges[projection.name] = (projection.pre, projection.post)
        return projection

    def disconnect(self, name: str) -> Projection:
        """Remove projection ``name`` and return it."""
        if name not in self._edges:
            raise ValidationError([Diagnostic(where=f"projection '{name}'", message="does not exist")])
        pre, post = self._edges.pop(name)
        proj = self.graph.edges[pre, post, name]["projection"]
        self.graph.remove_edge(pre, post, key=name)
        return proj

    def replace(self, node: Node) -> Node:
        """Swap the node of the same name (e.g. new stimulus values); sizes must match."""
        old = self.node(node.name)
        if old.size != node.size or isinstance(old, Population) != isinstance(node, Population):
            raise ValidationError([Diagnostic(where=f"node '{node.name}'",
                                              message="replacement must have the same size and role")])
        self.graph.nodes[node.name]["node"] = node
        if isinstance(node, SpikeSource):  # its mirrors send what it sends
            for other in self.nodes:
                if isinstance(other, SpikeSource) and other.mirror_of == node.name:
                    self.graph.nodes[other.name]["node"] = dataclasses.replace(node, name=other.name,
                                                                              mirror_of=node.name)
        return node

    def probe(self, probe: Probe) -> Probe:
        self.probes.append(probe)
        return probe

    def readout(self, readout: Readout) -> Readout:
        if any(r.name == readout.name for r in self.readouts):
            raise ValidationError([Diagnostic(where=f"readout '{readout.name}'", message="name is already used")])
        self.readouts.append(readout)
        return readout

    def copy(self) -> "Network":
        """A new network sharing the (immutable) node and projection objects."""
        other = copy.copy(self)
        other.graph = self.graph.copy()
        other.probes = list(self.probes)
        other.readouts = list(self.readouts)
        other._edges = dict(self._edges)
        return other

    # -- access ---------------------------------------------------------------------------
    def node(self, name: str) -> Node:
        return self.graph.nodes[name]["node"]

    @property
    def nodes(self) -> list[Node]:
        return [data["node"] for _, data in self.graph.nodes(data=True)]

    @property
    def populations(self) -> list[Population]:
        return [n for n in self.nodes if isinstance(n, Population)]

    @property
    def sources(self) -> list[Node]:
        return [n for n in self.nodes if not isinstance(n, Population)]

    @property
    def projections(self) -> list[Projection]:
        """Projections in the order they were connected."""
        return [self.graph.edges[u, v, name]["projection"] for name, (u, v) in self._edges.items()]

    def spiking_projections(self, post: str | None = None) -> list[Projection]:
        """Projections that carry spikes (not from current sources), optionally only into ``post``."""
        return [p for p in self.projections
                if (post is None or p.post == post) and not isinstance(self.node(p.pre), CurrentSource)]

    def distinct_weights(self, post: str) -> np.ndarray:
        """Per neuron of population ``post``: how many distinct weights its spiking synapses have
        (crossbar cores hold as many as they have axon types)."""
        size = self.node(post).size
        pairs = [np.stack([q.connectivity.indices.astype(np.float64), q.connectivity.synapse_weights().astype(np.float64)],
                          1) for q in self.spiking_projections(post)]
        if not pairs:
            return np.zeros(size, dtype=np.int64)
        return np.bincount(np.unique(np.concatenate(pairs), axis=0)[:, 0].astype(np.int64), minlength=size)

    def projection_names(self) -> list[str]:
        return list(self._edges)

    def effective_probes(self) -> list[Probe]:
        """The probes, or spikes of every population when none are given."""
        return self.probes or [Probe(target=p.name) for p in self.populations]

    # -- checks ---------------------------------------------------------------------------
    def problems(self) -> list[Diagnostic]:
        out = []
        if not (np.isfinite(self.dt) and self.dt > 0):
            out.append(Diagnostic(where=f"network '{self.name}'", message=f"dt must be > 0, not {self.dt}"))
        elif self.dt > MAX_DT:
            out.append(Diagnostic(where=f"network '{self.name}'", message=f"dt {self.dt:g} s is beyond {MAX_DT:g} s"))
        if self.duration is not None and not self.duration > 0:
            out.append(Diagnostic(where=f"network '{self.name}'", message="duration must be > 0"))
        for node in self.nodes:
            label = f"population '{node.name}'" if isinstance(node, Population) else f"source '{node.name}'"
            msgs = node.problems()
            if not msgs and isinstance(node, Population):
                msgs = node.model.dt_problems(self.dt)
            if not msgs and isinstance(node, SpikeSource) and node.times.size and node.times.max() > MAX_STEPS * self.dt:
                msgs = [f"spike times up to {node.times.max():g} s are beyond 2^31 - 1 steps of {self.dt:g} s"]
            out += [Diagnostic(where=label, message=m) for m in msgs]
        nodes = dict(self.graph.nodes(data="node"))
        for proj in self.projections:
            msgs = proj.problems(nodes.get(proj.pre), nodes.get(proj.post))
            reward = proj.learning.reward_node() if proj.learning is not None else None
            if reward is not None and (reward not in nodes or isinstance(nodes[reward], CurrentSource)):
                msgs.append(f"learning: reward node '{reward}' is not a population or spike source of the network")
            elif reward is not None and np.ndim(proj.learning.reward_amount) and (
                    np.size(proj.learning.reward_amount) != nodes[reward].size):
                size = nodes[reward].size
                msgs.append(f"learning: {np.size(proj.learning.reward_amount)} reward amounts, but reward node "
                            f"'{reward}' has {size} channel{'s' * (size != 1)} (give one amount, or one per channel)")
            out += [Diagnostic(where=f"projection '{proj.name}'", message=m) for m in msgs]
        for probe in self.probes:
            out += [Diagnostic(where=f"probe '{probe.label}'", message=m) for m in self._probe_problems(probe)]
        for r in self.readouts:
            target = self.graph.nodes[r.target]["node"] if r.target in self.graph else None
            msgs = (r.problems(target.size) if isinstance(target, Population)
                    else [f"target '{r.target}' is not a population"])
            out += [Diagnostic(where=f"readout '{r.name}'", message=m) for m in msgs]
        return out

    def _probe_problems(self, probe: Probe) -> list[str]:
        target = self.graph.nodes[probe.target]["node"] if probe.target in self.graph else None
        if not isinstance(target, Population):
            return [f"target '{probe.target}' is not a population"]
        allowed = ("spikes", *target.model.STATE)
        if probe.variable not in allowed:
            return [f"variable '{probe.variable}' unknown for model {target.model.kind} (use {', '.join(allowed)})"]
        if probe.neurons is not None and probe.neurons.size and (
            probe.neurons.min() < 0 or probe.neurons.max() >= target.size
        ):
            return [f"neuron indices must lie in [0, {target.size})"]
        return []

    def validate(self) -> "Network":
        """Raise :class:`ValidationError` listing every problem; return self if there are none."""
        problems = self.problems()
        if problems:
            raise ValidationError(problems)
        return self

    # -- summary --------------------------------------------------------------------------
    def stats(self) -> NetworkStats:
        n_in = {n.name: np.zeros(n.size, dtype=np.int64) for n in self.nodes}
        n_out = {n.name: np.zeros(n.size, dtype=np.int64) for n in self.nodes}
        rows = []
        for proj in self.projections:
            c = proj.connectivity
            n_in[proj.post] += c.fan_in()
            n_out[proj.pre] += c.fan_out()
            delays = c.synapse_delays()
            rows.append({
                "name": proj.name, "pre": proj.pre, "post": proj.post, "receptor": proj.receptor,
                "synapses": c.nnz,
                "delay_min": format_time(int(delays.min()) * self.dt) if c.nnz else None,
                "delay_max": format_time(int(delays.max()) * self.dt) if c.nnz else None,
            })
        pops = tuple(
            PopulationStats(
                name=n.name,
                kind=n.model.kind if isinstance(n, Population) else n.kind,
                size=n.size,
                is_source=not isinstance(n, Population),
                synapses_in=int(n_in[n.name].sum()),
                synapses_out=int(n_out[n.name].sum()),
                fan_in_mean=float(n_in[n.name].mean()),
                fan_in_max=int(n_in[n.name].max()),
                fan_out_mean=float(n_out[n.name].mean()),
                fan_out_max=int(n_out[n.name].max()),
            )
            for n in self.nodes
        )
        return NetworkStats(
            name=self.name,
            dt=self.dt,
            neurons=sum(p.size for p in pops if not p.is_source),
            sources=sum(p.size for p in pops if p.is_source),
            synapses=sum(r["synapses"] for r in rows),
            populations=pops,
            projections=tuple(rows),
        )

    def __repr__(self) -> str:
        return (f"Network({self.name!r}, {len(self.populations)} populations, "
                f"{len(self.projections)} projections, dt={self.dt})")
