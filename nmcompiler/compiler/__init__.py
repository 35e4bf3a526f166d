"""The compile flow: a declared pipeline of stages over one typed state (:mod:`.flow` lists them).

    from nmcompiler.compiler import compile_network
    mapping, fixed_point, report = compile_network(net, load_target("loihi-like"))
"""

from .flow import SizedMesh, compile_network, compile_pipeline, compile_sized
from .pipeline import Checkpoints, Pipeline, RecheckRules, Stage, StageContext, Timings
from .report import CompileReport
from .state import CompileOptions, CompileState, Partition, Placement, RateSource, Routes

__all__ = ["Checkpoints", "CompileOptions", "CompileReport", "CompileState", "Partition", "Pipeline", "Placement",
           "RateSource", "RecheckRules", "Routes", "SizedMesh", "Stage", "StageContext", "Timings", "compile_network",
           "compile_pipeline", "compile_sized"]
