"""Tags on CAM targets (DYNAP-SE2, :mod:`nmcompiler.targets.cam`): how a spike finds its synapses.

A neuron's spike leaves through SRAM entries, one per destination chip: the entry names a tag,
the hop ``(dx, dy)`` from the neuron's chip to that chip and the mask of the chip's cores the spike
enters; there it reaches every CAM word holding the tag. So among the sources that enter one
core, tags must differ. Host input channels enter the same way (the host's entries are not
limited in number).

Tags are given chip by chip, sources in ascending presynaptic index: a source takes the lowest
tag that no source already tagged uses in any core it enters (greedy colouring; deterministic).
:func:`assign_tags` also lists what does not fit: a neuron with more destination chips than SRAM
entries, a hop beyond the entry's range, a chip whose cores need more tags than there are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..targets import Target

__all__ = ["ROUTE_DTYPE", "TagAssignment", "assign_tags", "chip_xy"]

# one SRAM entry: source (presynaptic index), destination chip, tag, the chip's cores it enters
ROUTE_DTYPE = np.dtype([("source", "<u4"), ("chip", "<u4"), ("tag", "<u2"), ("core_mask", "<u2")])


@dataclass(frozen=True, kw_only=True, eq=False)
class TagAssignment:
    routes: np.ndarray  # ROUTE_DTYPE, ascending (source, chip)
    problems: tuple[str, ...]  # what does not fit, each naming the source or chip and the limit

    def tags_used(self) -> int:
        return int(self.routes["tag"].max()) + 1 if self.routes.size else 0

    def tag_of(self, source: np.ndarray, chip: np.ndarray) -> np.ndarray:
        """The tag each ``source`` enters ``chip`` with (every pair must be one of the routes)."""
        width = int(max(self.routes["chip"].max(initial=0), np.max(chip, initial=0))) + 1
        keys = self.routes["source"].astype(np.int64) * width + self.routes["chip"]
        wanted = np.asarray(source, dtype=np.int64) * width + np.asarray(chip, dtype=np.int64)
        at = np.searchsorted(keys, wanted)
        if wanted.size and not np.array_equal(keys[np.minimum(at, keys.size - 1)], wanted):
            raise ValueError("a (source, chip) pair without a route")
        return self.routes["tag"][at].astype(np.int64)


def chip_xy(chip: np.ndarray, target: Target) -> tuple[np.ndarray, np.ndarray]:
    """Board coordinates (x: column, y: row) of chips numbered row by row over ``chip.board``."""
    cols = max(1, target.chip.board[1])
    y, x = np.divmod(np.asarray(chip, dtype=np.int64), cols)
    return x, y


def _pairs(pre: np.ndarray, post_core: np.ndarray, position: np.ndarray, target: Target):
    """Distinct (source, chip) pairs with the mask of the chip's cores each source enters."""
    mesh_cols = target.chip.mesh[1]
    chip = position[post_core, 0].astype(np.int64)
    local = position[post_core, 1].astype(np.int64) * mesh_cols + position[post_core, 2]
    key = pre.astype(np.int64) * (int(chip.max(initial=0)) + 1) + chip
    uniq, inverse = np.unique(key, return_inverse=True)
    mask = np.zeros(uniq.size, dtype=np.int64)
    np.bitwise_or.at(mask, inverse, np.left_shift(1, local))
    width = int(chip.max(initial=0)) + 1
    return uniq // width, uniq % width, mask


def assign_tags(pre: np.ndarray, post: np.ndarray, core_of: np.ndarray, position: np.ndarray, n: int,
                target: Target) -> TagAssignment:
    """Tags for the synapses ``pre -> post`` (presynaptic index -> neuron index; presynaptic indices
    from ``n`` on are host input channels) of neurons on cores ``core_of`` placed at ``position``."""
    cam = target.cam
    src, chip, mask = _pairs(np.asarray(pre), core_of[np.asarray(post, dtype=np.int64)], position, target)
    routes = np.zeros(src.size, dtype=ROUTE_DTYPE)
    routes["source"], routes["chip"], routes["core_mask"] = src, chip, mask
    problems = []
    per_chip = target.chip.cores_per_chip
    for c in np.unique(chip):
        sel = np.flatnonzero(chip == c)
        used = np.zeros((per_chip, cam.tags + 1), dtype=bool)
        for k in sel:  # ascending source
            cores = [j for j in range(per_chip) if mask[k] >> j & 1]
            tag = int(np.argmin(np.any(used[cores], axis=0)))
            used[cores, tag] = True
            routes["tag"][k] = min(tag, cam.tags - 1)
            if tag >= cam.tags:
                problems.append(f"chip {int(c)}: its cores receive more sources than {cam.tags} tags tell apart "
                                f"(source {int(src[k])} finds no free tag): spread the populations over more chips")
                break
    problems += _entries_and_hops(routes, core_of, position, n, target)
    return TagAssignment(routes=routes, problems=tuple(problems))


def _entries_and_hops(routes: np.ndarray, core_of: np.ndarray, position: np.ndarray, n: int,
                      target: Target) -> list[str]:
    cam, out = target.cam, []
    neuron = routes["source"].astype(np.int64) < n
    src = routes["source"][neuron].astype(np.int64)
    if not src.size:
        return out
    counts = np.bincount(src, minlength=n)
    if int(counts.max()) > cam.destinations:
        k = int(np.argmax(counts))
        out.append(f"neuron {k} sends to {int(counts[k])} chips, a neuron has {cam.destinations} SRAM destination "
                   f"entries: keep the populations it reaches on fewer chips")
    x0, y0 = chip_xy(position[core_of[src], 0], target)
    x1, y1 = chip_xy(routes["chip"][neuron], target)
    hop = np.maximum(np.abs(x1 - x0), np.abs(y1 - y0))
    if hop.size and int(hop.max()) > cam.hop_max:
        k = int(np.argmax(hop))
        out.append(f"neuron {int(src[k])} sends {int(hop[k])} chips away, an SRAM entry hops at most "
                   f"{cam.hop_max}: place its destinations nearer")
    return out
