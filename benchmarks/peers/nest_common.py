"""What the NEST peers share: the kernel set up with a thread count and seed, the variant label
(NEST's version and its thread count), and the mean out-degree that events are counted with."""

from __future__ import annotations

import argparse
import time

import numpy as np


def arguments(duration: float) -> argparse.Namespace:
    """``--threads`` (2), ``--duration`` seconds, ``--seed``: what every NEST peer takes."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--duration", type=float, default=duration)
    ap.add_argument("--seed", type=int, default=1)
    return ap.parse_args()


def setup_kernel(threads: int, seed: int):
    import nest

    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": 0.1, "rng_seed": seed, "local_num_threads": threads})
    return nest


def nest_variant(nest, threads: int) -> str:
    return f"nest {nest.__version__} ({threads} thread{'s' * (threads > 1)})"


def mean_out_degree(nest, sources: int, other: int = 0) -> float:
    """Recurrent synapses per source neuron: the kernel's connection count less ``other`` (those
    from generators and onto recorders). NEST reads one source's connections at about 10 ms, so
    exact per-neuron out-degrees (12,500 sources: minutes) are not read; events are counted as
    spikes x this mean. A neuron's out-degree does not change its own rate, so the two differ
    only by sampling: out-degrees spread about 3 % (Brunel, binomial 12,500 x 0.1), averaged over
    12,500 firing neurons, about 0.03 %."""
    return (nest.GetKernelStatus("num_connections") - other) / sources


def timed_run(nest, neurons, duration_s: float, started: float) -> tuple[np.ndarray, float, float]:
    """Record ``neurons``' spikes, simulate 1 ms (NEST prepares its connection infrastructure, as
    Brian2's first 1 ms compiles: setup, not timed), then ``duration_s``. The senders (indices
    into ``neurons``), the setup seconds since ``started`` and the timed run's wall seconds."""
    rec = nest.Create("spike_recorder", params={"start": 1.0})
    nest.Connect(neurons, rec)
    nest.Simulate(1.0)
    setup = time.perf_counter() - started
    t0 = time.perf_counter()
    nest.Simulate(duration_s * 1000.0)
    wall = time.perf_counter() - t0
    return np.asarray(rec.get("events")["senders"]) - neurons[0].global_id, setup, wall
