"""The library's flows: what the command line runs, as functions that return dataclasses.

They compose the layers that never import each other (the compile flow in :mod:`nmcompiler.mapping`,
the simulators in :mod:`nmcompiler.sim`, the image and the reports)."""

from .compile_dir import CompiledDirectory, compile_to_directory, rtl_memory_cost
from .rates import data_rates, float_rates
from .samples import SampleCounts, run_samples, spike_counts

__all__ = ["CompiledDirectory", "SampleCounts", "compile_to_directory", "data_rates", "float_rates", "rtl_memory_cost",
           "run_samples", "spike_counts"]
