"""Design-space sweeps (``nmc sweep SPEC.yaml``): a grid or random sample over target fields,
compile and quantization options, seeds and chip instances; per point a compile, the image run on
labelled samples (accuracy, energy, latency), on an executor (this process, or Dask:
:mod:`nmcompiler.executor`), cached per point."""

from .point import PointResult, SweepInputs
from .run import SweepRun, prepare_inputs, run_sweep
from .spec import Point, SweepSpec, load_spec
from .table import SweepTable

__all__ = ["Point", "PointResult", "SweepInputs", "SweepRun", "SweepSpec", "SweepTable", "load_spec",
           "prepare_inputs", "run_sweep"]
