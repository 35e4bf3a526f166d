"""Learned weights back into a network: deploy what a learning run found (``nmc import NET
--weights weights.npz``), for inference on a target, or to continue learning from it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from ..errors import Diagnostic, ValidationError
from .network import Network

__all__ = ["with_weights"]


def with_weights(net: Network, weights: Mapping[str, np.ndarray], *, freeze: bool = True,
                 synapses: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> Network:
    """A copy of ``net`` whose projections named in ``weights`` carry those weights (one per
    synapse, in the projection's own order: ``SimResult.weights[name].final``). ``freeze`` drops
    their learning rules (fixed weights for inference); otherwise the rules stay and the weights
    are where learning continues from. ``synapses[name] = (pre, post)``, when given, must match the
    projection's synapses (a weights file from another network is refused)."""
    problems, out = [], net.copy()
    for name, w in weights.items():
        where = f"projection '{name}'"
        proj = next((p for p in net.projections if p.name == name), None)
        if proj is None:
            problems.append(Diagnostic(where=where, message=f"has learned weights but is not in network '{net.name}'"))
            continue
        c, w = proj.connectivity, np.asarray(w, dtype=np.float64).reshape(-1)
        if w.size != c.nnz:
            problems.append(Diagnostic(where=where, message=f"{w.size} learned weights for its {c.nnz} synapses"))
            continue
        if synapses is not None and name in synapses:
            w = _in_projection_order(w, *synapses[name], c)
            if w is None:
                problems.append(Diagnostic(where=where, message="the learned weights belong to other synapses (their "
                                                               "pre and post neurons differ from this projection's)"))
                continue
        if not np.all(np.isfinite(w)):
            problems.append(Diagnostic(where=where, message="learned weights contain NaN or infinite values"))
            continue
        learning = None if freeze else proj.learning
        out.disconnect(name)
        out.connect(proj.with_connectivity(dataclasses.replace(c, weights=w), learning=learning))
    if problems:
        raise ValidationError(problems)
    return _in_order(out, [p.name for p in net.projections])


def _in_projection_order(w: np.ndarray, pre: np.ndarray, post: np.ndarray, c) -> np.ndarray | None:
    """``w`` (synapse ``k`` from ``pre[k]`` to ``post[k]``) in ``c``'s synapse order, or None when
    the synapses differ. Another order (an image lists a projection core by core) is matched by
    (pre, post) when no pair repeats."""
    mine_pre, mine_post = c.pre_indices(), c.indices.astype(np.int64)
    pre, post = np.asarray(pre, dtype=np.int64), np.asarray(post, dtype=np.int64)
    if pre.shape != mine_pre.shape or post.shape != mine_post.shape:
        return None
    if np.array_equal(pre, mine_pre) and np.array_equal(post, mine_post):
        return w
    theirs, mine = np.lexsort((post, pre)), np.lexsort((mine_post, mine_pre))
    pairs = np.stack([pre[theirs], post[theirs]])
    if not np.array_equal(pairs, np.stack([mine_pre[mine], mine_post[mine]])):
        return None
    if pairs.shape[1] > 1 and np.any(np.all(pairs[:, 1:] == pairs[:, :-1], axis=0)):
        return None  # a repeated pair: which weight is whose cannot be told
    out = np.empty_like(w)
    out[mine] = w[theirs]
    return out


def _in_order(net: Network, names: list[str]) -> Network:
    """``net`` with its projections in the order ``names`` (reconnected ones went last)."""
    projs = {p.name: p for p in net.projections}
    for name in names:
        net.disconnect(name)
    for name in names:
        net.connect(projs[name])
    return net
