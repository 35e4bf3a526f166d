"""This machine's physical limits, the bounds docs/performance.md divides every simulator figure by.

- ``triad``: bandwidth, a STREAM-like triad ``a = b + s * c`` over three float64 arrays, on 1 and on
  2 threads, at three sizes: inside the L2 cache (3 x 128 KiB), inside the L3 cache (3 x 4 MiB)
  and in memory (3 x ``--mb`` MB, far beyond the caches); 24 bytes moved per element (the
  write-allocate read of ``a`` not counted, as STREAM does).
- ``latency``: random-access latency, a pointer chase through one random cycle over ``--mb`` MB
  (each load's address is the previous load's value: no overlap).
- ``scatter``: random read-modify-write throughput, ``x[i[k]] += 1`` with random ``i`` into an
  int32 array of 64 KiB, 256 KiB, 1 MiB, 4 MiB and ``--mb`` MB (the ring buffer's access in
  synaptic delivery: independent updates, so the core overlaps them).
- ``caches``: the cache sizes the operating system reports (``/sys/devices/system/cpu``).

Each figure is the best of ``--repeats`` runs. Prints one JSON record per measurement.

    python benchmarks/machine.py [--mb 256] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numba
import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def _triad(a, b, c, s, reps):
    for _ in range(reps):
        for i in prange(a.size):
            a[i] = b[i] + s * c[i]


@njit(cache=True)
def _chase(nxt, steps):
    p = 0
    for _ in range(steps):
        p = nxt[p]
    return p


@njit(cache=True)
def _scatter(x, idx):
    for k in range(idx.size):
        x[idx[k]] += 1


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def triad(mb: int, repeats: int) -> list[dict]:
    out = []
    for level, nbytes in (("l2", 128 * 2**10), ("l3", 4 * 2**20), ("memory", mb * 2**20)):
        n = nbytes // 8
        a, b, c = np.zeros(n), np.ones(n), np.full(n, 2.0)
        reps = max(1, (1 << 28) // (24 * n))  # about 256 MiB moved per timing
        for threads in (1, 2):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            _triad(a, b, c, 3.0, 1)  # compile, touch the pages
            seconds = _best(lambda: _triad(a, b, c, 3.0, reps), repeats)
            out.append({"case": "machine", "variant": f"triad {level}, {threads} thread{'s' * (threads > 1)}",
                        "measure": "triad", "level": level, "threads": threads,
                        "bytes_per_array": nbytes, "gb_per_s": round(24 * n * reps / seconds / 1e9, 2)})
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return out


def caches() -> dict:
    """Data and unified cache sizes by level, in bytes, as the OS reports them for CPU 0."""
    sizes = {}
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            kind = (index / "type").read_text().strip()
            level = int((index / "level").read_text())
            size = (index / "size").read_text().strip()
        except (OSError, ValueError):
            continue
        if kind in ("Data", "Unified"):
            sizes[f"l{level}"] = int(size[:-1]) * {"K": 2**10, "M": 2**20}.get(size[-1], 1) if size[-1] in "KM" else int(size)
    return {"case": "machine", "variant": "caches", "measure": "caches", **sizes}


def latency(mb: int, repeats: int) -> dict:
    n = mb * 2**20 // 8
    order = np.random.default_rng(0).permutation(n)
    nxt = np.empty(n, dtype=np.int64)
    nxt[order] = np.roll(order, -1)  # one cycle through every element
    steps = 2_000_000
    _chase(nxt, 10)
    seconds = _best(lambda: _chase(nxt, steps), repeats)
    return {"case": "machine", "variant": "latency", "measure": "latency", "mb": mb,
            "ns": round(seconds / steps * 1e9, 1)}


def scatter(mb: int, repeats: int) -> list[dict]:
    rng = np.random.default_rng(1)
    out = []
    for size in (64 * 2**10, 256 * 2**10, 2**20, 4 * 2**20, mb * 2**20):
        x = np.zeros(size // 4, dtype=np.int32)
        idx = rng.integers(0, x.size, 4_000_000).astype(np.int32)
        _scatter(x, idx[:10])
        seconds = _best(lambda: _scatter(x, idx), repeats)
        out.append({"case": "machine", "variant": f"scatter {size // 1024} KiB", "measure": "scatter", "bytes": size,
                    "ns_per_update": round(seconds / idx.size * 1e9, 2)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=256, help="MB per array (beyond the last-level cache)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    for record in (caches(), *triad(args.mb, args.repeats), latency(args.mb, args.repeats),
                   *scatter(args.mb, args.repeats)):
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
