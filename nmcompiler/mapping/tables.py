"""Multicast routing keys and per-chip routing tables (SpiNNaker-like targets).

Every core gets a key block: ``key = core << b`` with ``b = ceil(log2(neurons per core))`` bits
for the neuron, and ``mask`` covering the core bits, so one entry routes all spikes of a core.
A core's spikes travel the dimension-order routes (between chips) to every chip that holds one
of its destination cores; every chip on that multicast tree needs an entry (the outgoing links,
plus the local cores), except chips the tree crosses straight through with no local delivery,
which use default routing. Entries with the same outputs are then merged pairwise when their
keys differ in one bit (key/mask merging), as long as the merged entry covers no key routed
differently on that chip. The result is checked against ``routing.table_entries``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..targets import Target

__all__ = ["RoutingTables", "build_tables"]

_LINKS = {(0, 1): "E", (0, -1): "W", (1, 0): "S", (-1, 0): "N"}


@dataclass(frozen=True, kw_only=True)
class RoutingTables:
    key_bits_neuron: int
    entries: dict[int, list[tuple[int, int, frozenset]]]  # chip -> [(key, mask, outputs)], compressed
    entries_before: dict[int, int]  # chip -> entries before compression

    @property
    def max_entries(self) -> int:
        return max((len(v) for v in self.entries.values()), default=0)

    @property
    def max_entries_before(self) -> int:
        return max(self.entries_before.values(), default=0)


def _step(a: int, b: int, size: int, wrap: bool) -> int:
    if a == b:
        return 0
    if not wrap:
        return 1 if b > a else -1
    forward = (b - a) % size
    return 1 if forward <= size - forward else -1


def _chip_path(src, dst, board, wrap):
    """Chips visited from ``src`` to ``dst`` (board coordinates), x first, with the link taken."""
    (y, x), (ty, tx) = src, dst
    rows, cols = board
    path = []
    while x != tx:
        s = _step(x, tx, cols, wrap)
        path.append(((y, x), (0, s)))
        x = (x + s) % cols if wrap else x + s
    while y != ty:
        s = _step(y, ty, rows, wrap)
        path.append(((y, x), (s, 0)))
        y = (y + s) % rows if wrap else y + s
    return path


def _hops(src, dst, board, wrap) -> list[tuple[int, str, int]]:
    """:func:`_chip_path` as (chip, link name, the chip the link leads to), chips numbered row-major."""
    rows, cols = board
    out = []
    for (y, x), link in _chip_path(src, dst, board, wrap):
        ny, nx = (y + link[0]) % rows if wrap else y + link[0], (x + link[1]) % cols if wrap else x + link[1]
        out.append((y * cols + x, _LINKS[link], ny * cols + nx))
    return out


def build_tables(core_traffic, position: np.ndarray, target: Target) -> RoutingTables:
    """Tables for directed ``core_traffic`` (dense array or scipy sparse matrix) at ``position``."""
    bits = max(1, math.ceil(math.log2(target.core.neurons)))
    key_bits = target.routing.key_bits or 32
    n_cores = core_traffic.shape[0]
    if hasattr(core_traffic, "tocsr"):
        csr = core_traffic.tocsr()
        destinations = [csr.indices[csr.indptr[c]:csr.indptr[c + 1]][csr.data[csr.indptr[c]:csr.indptr[c + 1]] > 0]
                        for c in range(n_cores)]
    else:
        destinations = [np.flatnonzero(core_traffic[c] > 0) for c in range(n_cores)]
    if n_cores > 2 ** (key_bits - bits):
        raise ValueError(f"{n_cores} cores need more than {key_bits} key bits")
    mask = ((1 << key_bits) - 1) ^ ((1 << bits) - 1)
    rows, cols = target.chip.board
    chips_used = int(position[:, 0].max()) + 1 if position.size else 1
    rows = max(rows, -(-chips_used // max(cols, 1)))  # the board grows by rows of chips, as in routing
    wrap = target.routing.kind == "torus"
    chip_rc = {c: divmod(int(c), cols) for c in np.unique(position[:, 0])}
    routes: dict[int, dict[int, set]] = {}  # chip -> key -> outputs
    incoming: dict[int, dict[int, set]] = {}  # chip -> key -> links it arrived on
    names = [f"core{d}" for d in range(n_cores)]
    paths: dict[tuple[int, int], list] = {}  # (source chip, destination chip) -> [(chip, link, next chip)]
    for src in range(n_cores):
        dests = destinations[src]
        if dests.size == 0:
            continue
        key = src << bits
        src_chip = int(position[src, 0])
        dest_chips = position[dests, 0]
        for d_chip in np.unique(dest_chips).tolist():  # one path per destination chip
            hops = paths.get((src_chip, d_chip))
            if hops is None:
                hops = paths[src_chip, d_chip] = _hops(chip_rc[src_chip], chip_rc[d_chip], (rows, cols), wrap)
            for chip, link, after in hops:
                routes.setdefault(chip, {}).setdefault(key, set()).add(link)
                incoming.setdefault(after, {}).setdefault(key, set()).add(link)
        # the destination cores, chip by chip in the order the chips first occur among them
        by_chip = np.argsort(dest_chips, kind="stable")
        chips, first, count = np.unique(dest_chips[by_chip], return_index=True, return_counts=True)
        for k in np.argsort(by_chip[first], kind="stable").tolist():
            cores = dests[by_chip[first[k]:first[k] + count[k]]].tolist()
            routes.setdefault(int(chips[k]), {}).setdefault(key, set()).update(names[d] for d in cores)
    entries, before = {}, {}
    for chip, table in routes.items():
        kept = []
        for key, outs in table.items():
            arrived = incoming.get(chip, {}).get(key, set())
            # default routing: a spike that only continues in the direction it travels needs no entry
            default = len(outs) == 1 and outs == arrived
            if not default:
                kept.append((key, mask, frozenset(outs)))
        before[chip] = len(kept)
        entries[chip] = _compress(kept)
    return RoutingTables(key_bits_neuron=bits, entries=entries, entries_before=before)


def _compress(entries: list[tuple[int, int, frozenset]]) -> list[tuple[int, int, frozenset]]:
    """Merge entries with equal outputs whose keys differ in one bit, while no other route is covered.

    Greedy in key order: each entry merges with the first later unmerged entry of its output set
    that has the same mask and a key one bit away, unless the merged block would cover the key of
    an entry with other outputs; repeated until nothing merges."""
    current = sorted(entries)
    flips: dict[int, list[int]] = {}  # mask -> the single bits it keeps (that any key here has set)
    top = max((k for k, _, _ in current), default=0).bit_length()  # flipping a higher bit finds no key
    changed = True
    while changed:
        changed = False
        by_output: dict[frozenset, list] = {}
        for e in current:
            by_output.setdefault(e[2], []).append(e)
        keys = np.array([k for k, _, _ in current], dtype=np.int64)
        group_of = {outs: g for g, outs in enumerate(by_output)}
        group_ids = np.array([group_of[o] for _, _, o in current], dtype=np.int64)
        merged_all = []
        for g, (outs, group) in enumerate(by_output.items()):
            others = keys[group_ids != g]
            position = {(k, m): i for i, (k, m, _) in enumerate(group)}  # group is in key order
            used = set()
            for i, (k1, m1, _) in enumerate(group):
                if i in used:
                    continue
                if m1 not in flips:
                    flips[m1] = [1 << b for b in range(min(m1.bit_length(), top)) if (m1 >> b) & 1]
                partners = sorted(j for f in flips[m1] if (j := position.get((k1 ^ f, m1), -1)) > i and j not in used)
                for j in partners:
                    diff = k1 ^ group[j][0]
                    nk, nm = k1 & ~diff, m1 & ~diff
                    if not np.any((others & nm) == nk):
                        merged_all.append((nk, nm, outs))
                        used.update((i, j))
                        changed = True
                        break
                if i not in used:
                    merged_all.append(group[i])
        current = sorted(merged_all)
    return current
