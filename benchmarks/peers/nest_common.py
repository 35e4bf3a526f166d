"""What the NEST peers share: the kernel set up with a thread count and seed, the variant label
(NEST's version and its thread count), and the mean out-degree that events are counted with."""

from __future__ import annotations


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
    spikes x this mean, which differs from the exact count by the spread of the out-degrees
    over the spiking neurons (well under 0.1 % at these rates)."""
    return (nest.GetKernelStatus("num_connections") - other) / sources
