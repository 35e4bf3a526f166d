"""Physical bounds of the simulator cases (docs/performance.md, "Physical bounds").

A run with ``E`` synaptic events and ``U`` neuron updates (neurons x steps) cannot take less than

    stream  = E * bytes_per_synapse / BW(table) + U * update_bytes / BW(state)
    scatter = E * t_scatter(ring block) / threads
    bound   = max(stream, scatter)

``bytes_per_synapse`` and ``update_bytes`` are the simulator's own traffic
(:mod:`nmcompiler.sim.traffic`); ``BW(x)`` is this machine's triad bandwidth at the level of the
memory hierarchy that holds ``x`` (L2, L3 or memory, by its size; the better of 1 thread and the
run's threads), ``t_scatter`` the time of one random read-modify-write into an array of the
ring block's size (``benchmarks/machine.py``). The fraction ``bound / wall`` says how close a
run came to the machine: 1 would be every byte at full bandwidth and no other work.
"""

from __future__ import annotations

__all__ = ["bound", "bounds"]


def _machine(records: list[dict]) -> dict | None:
    caches = next((r for r in records if r.get("measure") == "caches"), None)
    triads = [r for r in records if r.get("measure") == "triad"]
    scatters = sorted((r for r in records if r.get("measure") == "scatter"), key=lambda r: r["bytes"])
    if not (caches and triads and scatters):
        return None
    return {"caches": caches, "triads": triads, "scatters": scatters}


def _level(machine: dict, nbytes: int) -> str:
    caches = machine["caches"]
    if nbytes <= caches.get("l2", 0):
        return "l2"
    return "l3" if nbytes <= caches.get("l3", 0) else "memory"


def _bandwidth(machine: dict, nbytes: int, threads: int) -> tuple[float, str]:
    level = _level(machine, nbytes)
    best = max(r["gb_per_s"] for r in machine["triads"] if r["level"] == level and r["threads"] <= max(threads, 1))
    return best * 1e9, level


def _scatter_ns(machine: dict, nbytes: int) -> float:
    """The measured random update time into the smallest array at least ``nbytes`` large."""
    for r in machine["scatters"]:
        if r["bytes"] >= nbytes:
            return r["ns_per_update"]
    return machine["scatters"][-1]["ns_per_update"]


def bound(record: dict, machine: dict) -> dict:
    """The bound of one simulator record (with ``traffic``, ``steps``, ``synaptic_events``, ``wall_s``)."""
    tr = record["traffic"]
    events, updates = record["synaptic_events"], tr["neurons"] * record["steps"]
    bw_table, table_level = _bandwidth(machine, tr["table_bytes"], tr["threads"])
    bw_state, state_level = _bandwidth(machine, tr["state_bytes"], tr["threads"])
    stream = events * tr["bytes_per_synapse"] / bw_table + updates * tr["update_bytes"] / bw_state
    scatter = events * _scatter_ns(machine, tr["ring_block_bytes"]) * 1e-9 / max(tr["threads"], 1)
    limit = max(stream, scatter)
    return {"case": record["case"], "variant": record["variant"], "wall_s": record["wall_s"],
            "bound_s": round(limit, 4), "fraction_of_bound": round(limit / record["wall_s"], 3),
            "limited_by": "stream" if stream >= scatter else "scatter", "stream_s": round(stream, 4),
            "scatter_s": round(scatter, 4), "table_in": table_level, "state_in": state_level,
            "bytes_per_synapse": tr["bytes_per_synapse"], "update_bytes": tr["update_bytes"]}


def bounds(records: list[dict]) -> list[dict]:
    """Every simulator record's bound, given the machine's records among ``records``."""
    machine = _machine(records)
    if machine is None:
        return []
    return [bound(r, machine) for r in records if "traffic" in r and "steps" in r and r.get("wall_s")]
