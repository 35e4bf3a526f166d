"""Flatten nested NIR graphs into one namespace of nodes and edges.

A subgraph node ``sub`` contributes its nodes as ``sub.<name>``. An edge into ``sub`` goes to
the subgraph's Input node (``sub.<input>`` names one explicitly), an edge out of ``sub`` leaves
from its Output node. The subgraph's own Input/Output nodes stay as pass-through nodes, which
the importer treats as identity operators.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nir

__all__ = ["FlatGraph", "flatten", "rnn_inputs_to_neurons"]


@dataclass
class FlatGraph:
    nodes: dict[str, object] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    passthrough: set[str] = field(default_factory=set)  # Input/Output nodes of subgraphs
    problems: list[tuple[str, str]] = field(default_factory=list)  # (node, message)


def _ports(graph: nir.NIRGraph, kind) -> list[str]:
    return [k for k, v in graph.nodes.items() if isinstance(v, kind)]


def _resolve(graph: nir.NIRGraph, name: str, kind, out: FlatGraph, prefix: str) -> str | None:
    """Flat name of the endpoint ``name`` of an edge of ``graph`` (descending into subgraphs)."""
    if name in graph.nodes:
        node = graph.nodes[name]
        if isinstance(node, nir.NIRGraph):
            ports = _ports(node, kind)
            if len(ports) != 1:
                what = "input" if kind is nir.Input else "output"
                out.problems.append((prefix + name, f"subgraph has {len(ports)} {what} nodes: name one as "
                                                    f"'{name}.<{what}>' in the edge"))
                return None
            return _resolve(node, ports[0], kind, out, f"{prefix}{name}.")
        return prefix + name
    head, _, tail = name.partition(".")
    if tail and isinstance(graph.nodes.get(head), nir.NIRGraph):
        return _resolve(graph.nodes[head], tail, kind, out, f"{prefix}{head}.")
    return None


def flatten(graph: nir.NIRGraph) -> FlatGraph:
    out = FlatGraph()
    _flatten(graph, "", out, top=True)
    return out


def _flatten(graph: nir.NIRGraph, prefix: str, out: FlatGraph, top: bool) -> None:
    for name, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):
            _flatten(node, f"{prefix}{name}.", out, top=False)
            continue
        out.nodes[prefix + name] = node
        if not top and isinstance(node, (nir.Input, nir.Output)):
            out.passthrough.add(prefix + name)
    for src, dst in graph.edges:
        a = _resolve(graph, src, nir.Output, out, prefix)
        b = _resolve(graph, dst, nir.Input, out, prefix)
        if a is None and not any(p[0] == prefix + src for p in out.problems):
            out.problems.append((prefix + src, f"edge {src} -> {dst} starts at a node that does not exist"))
        if b is None and not any(p[0] == prefix + dst for p in out.problems):
            out.problems.append((prefix + dst, f"edge {src} -> {dst} ends at a node that does not exist"))
        if a is not None and b is not None:
            out.edges.append((a, b))


def rnn_inputs_to_neurons(flat: FlatGraph) -> list[str]:
    """Reroute a recurrent subgraph's input the way its exporter meant it (Spyx 1.0 writes
    ``input -> w_rec``, ``w_rec <-> lif``, where its RLIF computes ``x + W_rec s``): the edge from
    the subgraph's Input to the recurrent Linear/Affine goes to the neuron instead. Returns the
    neurons whose input was rerouted."""
    edges = set(flat.edges)
    moved = []
    for k, (src, dst) in enumerate(flat.edges):
        if src not in flat.passthrough or not isinstance(flat.nodes.get(src), nir.Input):
            continue
        if not isinstance(flat.nodes.get(dst), (nir.Linear, nir.Affine)):
            continue
        loop = [n for (a, n) in edges if a == dst and (n, dst) in edges
                and isinstance(flat.nodes.get(n), (nir.LIF, nir.IF, nir.CubaLIF))]
        if len(loop) == 1:
            flat.edges[k] = (src, loop[0])
            moved.append(loop[0])
    return moved
