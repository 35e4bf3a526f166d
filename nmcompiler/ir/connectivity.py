r"""Synaptic connectivity of one projection, stored CSR-like by presynaptic index.

Row ``i`` (presynaptic neuron ``i``) holds synapses ``indptr[i]:indptr[i+1]``; for each,
``indices`` is the postsynaptic neuron, ``weights`` the weight and ``delays`` the delay in
whole steps of the network's ``dt`` (``d >= 1``: a spike emitted in step ``t`` arrives in step
``t + d``). ``weights`` and ``delays`` are either one value per synapse or a scalar shared by
all synapses, which keeps uniform projections of 1e8 synapses at 4 bytes per synapse.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from .. import arrays
from ._record import ArrayRecord
from .convolution import Convolution, dense_stage
from .learning import STDP
from .models import MEMBRANE
from .nodes import CurrentSource, Node, Population

__all__ = ["Connectivity", "Projection"]


def _is_row_major(pre: np.ndarray, post: np.ndarray, block: int = 1 << 20) -> bool:
    """True if synapses are already ordered by (pre, post); checked in cache-sized blocks
    (overlapping by one), so no synapse-sized temporaries are made."""
    for start in range(0, max(pre.size - 1, 0), block):
        a, b = pre[start:start + block + 1], post[start:start + block + 1]
        d_pre = np.diff(a)
        if not (np.all(d_pre >= 0) and np.all((d_pre > 0) | (b[1:] >= b[:-1]))):
            return False
    return True


@dataclass(frozen=True, kw_only=True, eq=False)
class Connectivity(ArrayRecord):
    n_pre: int
    n_post: int
    indptr: np.ndarray  # int64, (n_pre + 1,)
    indices: np.ndarray  # int32, (nnz,)
    weights: np.ndarray  # float, () or (nnz,)
    delays: np.ndarray  # int32 steps, () or (nnz,)

    def __post_init__(self) -> None:
        self._set("indptr", np.asarray(self.indptr, dtype=np.int64))
        self._set("indices", np.asarray(self.indices, dtype=np.int32))
        w = np.asarray(self.weights)
        self._set("weights", w if w.dtype in (np.float32, np.float64) else w.astype(np.float64))
        self._set("delays", np.asarray(self.delays, dtype=np.int32))

    @classmethod
    def from_coo(
        cls, n_pre: int, n_post: int, pre: np.ndarray, post: np.ndarray, weights=1.0, delays=1
    ) -> "Connectivity":
        """Build from synapse lists; synapses are ordered by (pre, post), stably."""
        pre, post = np.asarray(pre).reshape(-1), np.asarray(post).reshape(-1)
        if pre.dtype.kind not in "iu" or post.dtype.kind not in "iu":
            pre, post = pre.astype(np.int64), post.astype(np.int64)
        if pre.shape != post.shape:
            raise ValueError(f"pre ({pre.size}) and post ({post.size}) index lists differ in length")
        if pre.size and (pre.min() < 0 or pre.max() >= n_pre or post.min() < 0 or post.max() >= n_post):
            raise ValueError(f"synapse indices out of range for a {n_pre} x {n_post} projection")
        weights, delays = np.asarray(weights), np.asarray(delays)
        if _is_row_major(pre, post):  # generators emit sorted synapses: skip the O(n log n) sort
            order = slice(None)
        else:
            order = np.lexsort((post, pre))
        counts = np.bincount(pre, minlength=n_pre)
        indptr = np.zeros(n_pre + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(
            n_pre=n_pre,
            n_post=n_post,
            indptr=indptr,
            indices=post[order].astype(np.int32, copy=False),
            weights=weights[order] if weights.ndim else weights,
            delays=delays[order] if delays.ndim else delays,
        )

    @classmethod
    def from_dense(cls, matrix: np.ndarray, delays=1) -> "Connectivity":
        """Every non-zero entry ``matrix[pre, post]`` becomes a synapse of that weight."""
        matrix = np.asarray(matrix)
        pre, post = np.nonzero(matrix)
        return cls.from_coo(matrix.shape[0], matrix.shape[1], pre, post, matrix[pre, post], delays)

    @classmethod
    def from_convolution(cls, conv: Convolution, delays=1) -> "Connectivity":
        """The sparse lowering of a convolution chain: one synapse per non-zero (input, output)
        pair of ``conv.matrix()``, weighted by ``gain``."""
        by_pre = conv.matrix().T.tocsr()  # rows = presynaptic neurons
        by_pre.eliminate_zeros()
        by_pre.sort_indices()
        return cls(n_pre=by_pre.shape[0], n_post=by_pre.shape[1], indptr=by_pre.indptr, indices=by_pre.indices,
                   weights=by_pre.data * conv.gain, delays=delays)

    @property
    def nnz(self) -> int:
        return int(self.indices.size)

    def pre_indices(self) -> np.ndarray:
        """Presynaptic index of every synapse (COO row array)."""
        return np.repeat(np.arange(self.n_pre, dtype=np.int64), np.diff(self.indptr))

    def synapse_weights(self) -> np.ndarray:
        return np.broadcast_to(self.weights, (self.nnz,))

    def synapse_delays(self) -> np.ndarray:
        return np.broadcast_to(self.delays, (self.nnz,))

    def fan_out(self) -> np.ndarray:
        return np.diff(self.indptr)

    def fan_in(self) -> np.ndarray:
        """Synapses arriving at each postsynaptic neuron: counted once (design rules ask per
        population and per pass), returned read-only."""
        counts = self.__dict__.get("_fan_in")
        if counts is None:
            counts = arrays.counts(self.indices, self.n_post)
            counts.setflags(write=False)
            object.__setattr__(self, "_fan_in", counts)
        return counts

    def to_dense(self) -> np.ndarray:
        """Summed weight matrix ``(n_pre, n_post)``; for small projections and tests only."""
        dense = np.zeros((self.n_pre, self.n_post))
        np.add.at(dense, (self.pre_indices(), self.indices), self.synapse_weights())
        return dense

    def problems(self) -> list[str]:
        out = []
        if self.indptr.shape != (self.n_pre + 1,) or self.indptr[0] != 0 or np.any(np.diff(self.indptr) < 0):
            return [f"indptr must be non-decreasing with {self.n_pre + 1} entries starting at 0"]
        if self.indptr[-1] != self.nnz:
            return [f"indptr ends at {self.indptr[-1]} but there are {self.nnz} synapses"]
        if self.nnz and (self.indices.min() < 0 or self.indices.max() >= self.n_post):
            out.append(f"postsynaptic indices must lie in [0, {self.n_post})")
        for name, arr in (("weights", self.weights), ("delays", self.delays)):
            if arr.ndim and arr.shape != (self.nnz,):
                out.append(f"{name} has shape {arr.shape}, expected () or ({self.nnz},)")
        if not np.all(np.isfinite(self.weights)):
            out.append("weights contain NaN or infinite values")
        if self.delays.size and self.delays.min() < 1:
            out.append(f"delay of {int(self.delays.min())} steps; delays must be at least 1 step (dt)")
        return out


@dataclass(frozen=True, kw_only=True, eq=False)
class Projection(ArrayRecord):
    """Synapses from node ``pre`` (population or source) to population ``post``.

    ``receptor`` names the input channel of the postsynaptic model (CubaLIF receptors);
    None selects the model's only channel. ``learning`` (a rule of :mod:`.learning`) makes its
    weights plastic. A projection from a current source may name
    :data:`MEMBRANE` instead: its current then enters the membrane equation beside the bias
    (``r * I``), not a synaptic current (PyNN's and NEST's injected currents).

    ``structure`` (a :class:`~.convolution.Convolution`) says the synapses are a convolution
    chain's lowering (``Connectivity.from_convolution``), so convolution cores can store its
    kernels once. Passes that change the synapses go through :meth:`with_connectivity`, which
    drops it.
    """

    name: str
    pre: str
    post: str
    connectivity: Connectivity
    receptor: str | None = None
    learning: STDP | None = None
    meta: dict = field(default_factory=dict)
    structure: Convolution | None = None

    def kernel_structure(self, max_entries: int = 1 << 24) -> Convolution | None:
        """The structure, or for a projection without one a dense layer over its presynaptic
        vector (a kernel of ``n_post x n_pre`` words: how a convolution core holds any synapse
        list, as Sinabs runs ``Linear``) when that matrix has at most ``max_entries`` entries and
        no two synapses join the same pair (the matrix would sum them). None otherwise."""
        if self.structure is not None:
            return self.structure
        c = self.connectivity
        if c.n_pre * c.n_post > max_entries:
            return None
        pairs = c.pre_indices() * c.n_post + c.indices
        if np.unique(pairs).size != pairs.size:
            return None
        return Convolution(stages=(dense_stage(c.to_dense().T, (c.n_pre,)),))

    def with_connectivity(self, connectivity: Connectivity, **changes) -> "Projection":
        """This projection with other synapses (and ``changes``): no longer a convolution's lowering."""
        return dataclasses.replace(self, connectivity=connectivity, structure=None, **changes)

    def problems(self, pre: Node | None, post: Node | None) -> list[str]:
        out = []
        if pre is None:
            out.append(f"presynaptic node '{self.pre}' does not exist")
        if post is None:
            out.append(f"postsynaptic node '{self.post}' does not exist")
        elif not isinstance(post, Population):
            out.append(f"postsynaptic node '{self.post}' is a {post.kind} source, not a population")
        c = self.connectivity
        if pre is not None and c.n_pre != pre.size:
            out.append(f"has {c.n_pre} presynaptic rows but '{self.pre}' has {pre.size} neurons")
        if post is not None and c.n_post != post.size:
            out.append(f"targets {c.n_post} neurons but '{self.post}' has {post.size}")
        if isinstance(post, Population) and not (self.receptor == MEMBRANE and isinstance(pre, CurrentSource)):
            receptors = post.model.receptors
            if self.receptor is None and len(receptors) > 1:
                out.append(f"'{self.post}' has receptors {list(receptors)}: name one with 'receptor'")
            elif self.receptor is not None and self.receptor not in receptors:
                has = f"receptors {list(receptors)}" if receptors else "no named receptors"
                out.append(f"receptor '{self.receptor}' unknown: '{self.post}' ({post.model.kind}) has {has}")
        problems = c.problems()
        if isinstance(pre, CurrentSource):
            problems = [p for p in problems if not p.startswith("delay")]
        return out + problems + self._learning_problems(pre) + self._structure_problems()

    def _structure_problems(self) -> list[str]:
        if self.structure is None:
            return []
        c, s = self.connectivity, self.structure
        try:  # the sizes first (arithmetic only), so no stage is built for a structure of the wrong size
            sizes = math.prod(s.in_shape), math.prod(s.out_shape)
        except (IndexError, TypeError, ValueError):
            sizes = None
        if sizes != (c.n_pre, c.n_post):
            where = "" if not s.stages else f"{s.in_shape} to {s.out_shape}"
            return [f"structure maps {where or 'nothing'} but the synapses are {c.n_pre} x {c.n_post}"]
        return [f"structure: {p}" for p in s.problems()]

    def _learning_problems(self, pre: Node | None) -> list[str]:
        if self.learning is None:
            return []
        if isinstance(pre, CurrentSource):
            return ["learning: a current source has no spikes to pair (learning needs a spiking 'pre')"]
        return self.learning.problems() or self.learning.weight_problems(self.connectivity.synapse_weights())

    def into_membrane(self, post: Population) -> bool:
        """True when this (current-source) projection feeds ``post``'s membrane equation rather
        than one of its synaptic currents."""
        return self.receptor == MEMBRANE or not post.model.receptors
