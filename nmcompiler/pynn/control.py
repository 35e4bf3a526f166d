"""setup / run / reset / end and the state queries, over ``simulator.state``."""

from __future__ import annotations

from pyNN import common
from pyNN.common.control import DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

from . import simulator

__all__ = ["setup", "end", "run", "run_until", "run_for", "reset", "initialize", "get_current_time",
           "get_time_step", "get_min_delay", "get_max_delay", "num_processes", "rank"]


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, target=None, **extra_params):
    """Start a new network. ``target``: a target name or file; the network then runs as that
    target's image, bit accurately. ``rng_seed`` seeds our draws (Poisson sources)."""
    max_delay = extra_params.get("max_delay", "auto")
    if extra_params.get("spike_precision", "on_grid") != "on_grid":
        from .errors import refuse

        refuse(f"spike_precision={extra_params['spike_precision']!r}: spikes lie on the time grid ('on_grid')")
    common.setup(timestep, min_delay, **extra_params)
    state = simulator.state
    state.clear()
    state.dt = float(timestep)
    state.min_delay = float(timestep) if min_delay == "auto" else float(min_delay)
    state.max_delay = 10.0 if max_delay == "auto" else float(max_delay)
    state.target = target
    state.seed = int(extra_params.get("rng_seed", extra_params.get("seed", 0)))
    return rank()


def end(compatible_output=True):
    """Write the data of populations recorded to a file, then forget the network."""
    state = simulator.state
    for population, variables, filename in state.write_on_end:
        population.write_data(get_io(filename), variables)
    state.write_on_end = []


run, run_until = common.build_run(simulator)
run_for = run
_reset = common.build_reset(simulator)


def reset(annotations=None):
    """Back to t = 0 with the initial values; recorded data so far becomes a segment."""
    _reset(annotations or {})
    for pop in simulator.state.populations:
        pop._past_spikes, pop._valid_from = [], 0.0
    for recorder in simulator.state.recorders:
        recorder._since = 0.0


initialize = common.initialize
get_current_time, get_time_step, get_min_delay, get_max_delay, num_processes, rank = \
    common.build_state_queries(simulator)
