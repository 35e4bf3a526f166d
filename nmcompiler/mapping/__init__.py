"""Mapping algorithms and their results: partitioning neurons onto cores, placing cores, routes,
usage and traffic (the compile flow that runs them is :mod:`nmcompiler.compiler`)."""

from .mapping import CoreUsage, Mapping
from .partition import IndexOrder, Metis

__all__ = ["CoreUsage", "Mapping", "IndexOrder", "Metis"]
