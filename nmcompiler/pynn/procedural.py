"""PyNN's procedural API (create, connect, record) over our classes."""

from __future__ import annotations

from pyNN import common
from pyNN.connectors import FixedProbabilityConnector

from . import simulator
from .cells import StaticSynapse
from .populations import Population
from .projections import Projection

__all__ = ["create", "connect", "record"]

create = common.build_create(Population)
connect = common.build_connect(Projection, FixedProbabilityConnector, StaticSynapse)
record = common.build_record(simulator)
