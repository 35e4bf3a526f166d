"""Cost models as target data: what an event costs in energy and time on a target, each figure with
where it comes from, so that :mod:`nmcompiler.analysis.estimate` turns a run's activity
(:mod:`nmcompiler.sim.activity`) into energy and latency estimates.

A target's ``cost`` section has

* ``energy``: joules per event: ``synaptic_op`` (a synaptic operation), ``neuron_update`` (one
  neuron in one tick), ``spike`` (a spike generated in its core), ``message`` (a spike message
  leaving for one destination core, host input included), ``hop`` or ``hop_x``/``hop_y`` (one hop
  of a message on the mesh, or per direction: x along a row, y along a column);
* ``power``: watts: ``static_per_chip`` (leakage and idle power of every chip used, for the wall
  time of the run) and ``active_per_core`` (drawn while a core is busy, for the time the
  ``time`` table gives its work);
* ``time`` (seconds per event) or ``cycles`` (clock cycles per event, with ``clock``): per core and
  tick ``core_tick`` (fixed overhead), ``neuron_update``, ``spike``, ``synaptic_op``,
  ``message_in`` (a message a core receives), ``event_phase`` (once in a tick in which the core
  receives any message: starting and draining its synaptic phase); per tick for the chip ``router_spike`` and
  ``router_message`` (a router shared by the chip's cores) and ``barrier`` (the end-of-tick
  synchronization); ``period`` (the fixed wall time of a tick);
* ``tick``: ``fixed`` (every tick takes ``period``, as on chips that run in real time; a tick whose
  work needs longer is an overrun) or ``compute`` (a tick takes the work of its busiest core:
  neuron phase, routing, synaptic phase, then the barrier).

Every figure is ``{value, note, assumed}``: ``value`` a quantity with its unit ("23.6 pJ",
"3.5 ns", "360 mW", or a number of cycles), ``note`` where in the ``source`` it is, ``assumed``
true for figures no publication gives (the estimate lists them). An event kind a model leaves out
is not modelled, and estimates say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UserError
from ..units import QuantityError, format_si, parse_quantity

__all__ = ["ENERGY_EVENTS", "TIME_EVENTS", "CostFigure", "CostModel", "cost_from_document"]

ENERGY_EVENTS = ("synaptic_op", "neuron_update", "spike", "message", "hop", "hop_x", "hop_y")
POWERS = ("static_per_chip", "active_per_core")
#: per core and tick / per tick for the whole chip
CORE_TIMES = ("core_tick", "neuron_update", "spike", "synaptic_op", "message_in", "event_phase")
CHIP_TIMES = ("router_spike", "router_message", "barrier")
TIME_EVENTS = CORE_TIMES + CHIP_TIMES + ("period",)


@dataclass(frozen=True, kw_only=True)
class CostFigure:
    value: float  # SI (J, W, s) or cycles
    note: str = ""
    assumed: bool = False

    def to_json(self) -> dict:
        return {"value": self.value, "note": self.note, "assumed": self.assumed}


@dataclass(frozen=True, kw_only=True)
class CostModel:
    source: str
    tick: str  # "fixed" | "compute"
    energy: dict[str, CostFigure] = field(default_factory=dict)
    power: dict[str, CostFigure] = field(default_factory=dict)
    time: dict[str, CostFigure] = field(default_factory=dict)  # seconds per event (cycles / clock when cycles)
    cycles: dict[str, CostFigure] = field(default_factory=dict)  # clock cycles per event
    clock: CostFigure | None = None  # Hz

    def seconds(self, event: str) -> float:
        """Wall time of one ``event`` (0 when the model leaves it out)."""
        if event in self.cycles:
            return self.cycles[event].value / self.clock.value
        figure = self.time.get(event)
        return 0.0 if figure is None else figure.value

    def joules(self, event: str) -> float:
        figure = self.energy.get(event)
        return 0.0 if figure is None else figure.value

    def watts(self, kind: str) -> float:
        figure = self.power.get(kind)
        return 0.0 if figure is None else figure.value

    @property
    def has_energy(self) -> bool:
        return bool(self.energy or self.power)

    @property
    def has_time(self) -> bool:
        return any(e in self.time or e in self.cycles for e in CORE_TIMES + CHIP_TIMES)

    def with_clock(self, hz: float, note: str) -> CostModel:
        """The model at clock ``hz`` (``nmc estimate --clock``, or Fmax from place and route)."""
        from dataclasses import replace

        if not self.cycles:
            raise UserError("--clock applies to targets whose cost model counts clock cycles (fpga-lif)")
        return replace(self, clock=CostFigure(value=hz, note=note))

    def assumptions(self) -> list[str]:
        """The figures no publication gives, as 'table.event: value (note)'."""
        out = []
        for table, figures in (("energy", self.energy), ("power", self.power), ("time", self.time),
                               ("cycles", self.cycles), ("clock", {"clock": self.clock} if self.clock else {})):
            unit = _UNIT[table]
            out += [f"{table}.{k}: {format_si(f.value, unit) if unit else f'{f.value:g}'} ({f.note})"
                    for k, f in sorted(figures.items()) if f.assumed]
        return out

    def not_modelled(self) -> list[str]:
        """What this model leaves out (zero in every estimate)."""
        covered = set(self.energy)
        if not covered & {"hop", "hop_x", "hop_y"}:
            covered |= {"hop_x", "hop_y"}  # listed once, as energy.hop
        else:
            covered |= {"hop", "hop_x", "hop_y"}
        if "active_per_core" in self.power:  # a busy core's power covers the work it does
            covered |= {"synaptic_op", "neuron_update", "spike"}
        out = [f"energy.{e}" for e in ENERGY_EVENTS if e not in covered]
        out += [f"power.{p}" for p in POWERS if p not in self.power]
        if self.tick == "compute" or self.has_time:
            out += [f"time.{t}" for t in CORE_TIMES + CHIP_TIMES if t not in self.time and t not in self.cycles]
        return out

    def to_json(self) -> dict:
        return {"source": self.source, "tick": self.tick,
                "energy": {k: f.to_json() for k, f in sorted(self.energy.items())},
                "power": {k: f.to_json() for k, f in sorted(self.power.items())},
                "time": {k: f.to_json() for k, f in sorted(self.time.items())},
                "cycles": {k: f.to_json() for k, f in sorted(self.cycles.items())},
                "clock": None if self.clock is None else self.clock.to_json()}


_UNIT = {"energy": "J", "power": "W", "time": "s", "cycles": "", "clock": "Hz"}
_DIMENSION = {"energy": "energy", "power": "power", "time": "time", "cycles": "dimensionless", "clock": "rate"}


def _figure(path, table: str, key: str, doc) -> CostFigure:
    raw = doc["value"] if isinstance(doc, dict) else doc
    try:
        value = parse_quantity(raw, _DIMENSION[table])
    except QuantityError as exc:
        raise UserError(f"{path}: cost.{table}.{key}: {exc}") from None
    if value < 0:
        raise UserError(f"{path}: cost.{table}.{key}: {raw!r} is negative; costs are zero or more")
    if table == "clock" and value <= 0:
        raise UserError(f"{path}: cost.clock: {raw!r}: a clock needs a positive frequency")
    extra = doc if isinstance(doc, dict) else {}
    return CostFigure(value=value, note=str(extra.get("note", "")), assumed=bool(extra.get("assumed", False)))


def cost_from_document(path, doc: dict) -> CostModel:
    """The ``cost`` section of a target file (already checked by the target schema; ``path`` names
    the file in messages) or of a target's JSON (values already in SI units)."""
    tables = {t: {k: _figure(path, t, k, v) for k, v in doc.get(t, {}).items()}
              for t in ("energy", "power", "time", "cycles")}
    clock = _figure(path, "clock", "clock", doc["clock"]) if doc.get("clock") is not None else None
    model = CostModel(source=doc.get("source", ""), tick=doc["tick"], clock=clock, **tables)
    both = sorted(set(model.time) & set(model.cycles))
    if both:
        raise UserError(f"{path}: cost: {', '.join(both)} given both as time and as cycles; give one")
    if model.cycles and model.clock is None:
        raise UserError(f"{path}: cost: cycles need a clock (cost.clock, e.g. '100 MHz')")
    if model.tick == "fixed" and "period" not in model.time:
        raise UserError(f"{path}: cost: tick 'fixed' needs time.period (the wall time of one tick, e.g. '1 ms')")
    if "hop" in model.energy and ({"hop_x", "hop_y"} & set(model.energy)):
        raise UserError(f"{path}: cost.energy: give either hop or hop_x and hop_y")
    return model
