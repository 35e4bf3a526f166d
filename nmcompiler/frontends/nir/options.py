"""Options of the NIR importer (the CLI's --from, --dt, --integration, --reset)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ...errors import UserError
from ...ir.models import Integration, ResetMode
from .presets import MAX_SPIKES, preset

__all__ = ["NirOptions"]


@dataclass(frozen=True, kw_only=True)
class NirOptions:
    """How to discretize a continuous-time NIR graph.

    ``dt``: time step in seconds (None: take it from the graph's metadata, else an error).
    ``integration``: "euler" (what snnTorch, Norse and Sinabs compute), "exp_euler" (Rockpool) or
    "exact"; None: the graph's ``nmcompiler.integration`` metadata, else "euler".
    ``reset``: "value" (NIR's ``v = v_reset``) or "subtract"; None: a node's ``nmcompiler.reset``
    metadata, else "value". ``reset_per_node`` overrides by node name.
    ``if_per_step``: IF/I nodes integrate ``v += r x`` once per step, as every exporter does
    (True, default), or literally ``dv/dt = r x`` (False).
    ``reset_delayed``: a subtractive reset happens on the step after the spike, undecayed.
    ``same_step``: the exporter's framework evaluates all layers within one step: retime the
    network (levels, delays, bias onsets; :mod:`.presets`).
    ``tau_times_dt``, ``current_input``, ``unit_current_gain``, ``dt_from_r``, ``spike_lag``,
    ``reset_at_spike``, ``rnn_input_to_neuron``: exporter quirks (:mod:`.presets`).
    ``max_spikes``: most spikes a neuron node that resets by subtraction emits per step (a
    multi-spike framework neuron; a node's ``nmcompiler.max_spikes`` metadata wins).
    ``preset``: the name of the exporter preset these options came from (:meth:`from_preset`).
    """

    dt: float | None = None
    integration: str | None = None
    reset: str | None = None
    reset_per_node: dict[str, str] = field(default_factory=dict)
    if_per_step: bool = True
    reset_delayed: bool = False
    same_step: bool = False
    tau_times_dt: bool = False
    current_input: str = "nir"
    unit_current_gain: bool = False
    dt_from_r: str = ""
    spike_lag: bool = False
    reset_at_spike: tuple[str, ...] = ()
    rnn_input_to_neuron: bool = False
    max_spikes: int | None = None  # most spikes per step of a spiking node that resets by subtraction (None: 1)
    compare: str | None = None  # ">" or ">=" for every neuron (None: a node's nmcompiler.compare, else ">")
    preset: str | None = None

    @classmethod
    def from_preset(cls, name: str, *, dt: float | None = None, reset: str | None = None, **overrides) -> NirOptions:
        """The options of exporter preset ``name`` ("auto": the importer tells it from the graph,
        :func:`.presets.detect`); ``reset`` chooses the framework's reset mechanism
        (snnTorch's ``reset_mechanism="zero"`` is ``reset="value"``); a ``dt`` other than the one the
        exporter implies is refused (it would change every decay)."""
        if name == "auto":  # resolved by the importer from the graph's traces (presets.detect)
            return cls(dt=dt, reset=reset, preset="auto", **overrides)
        p = preset(name)
        if dt is not None and p.dt is not None and not math.isclose(dt, p.dt):
            raise UserError(f"{p.name}'s exporter writes its time constants for dt = {p.dt:g} s (the graph means "
                            f"that step); dt = {dt:g} s would change every decay: drop --dt")
        overrides = overrides | {"max_spikes": overrides.get("max_spikes") or p.max_spikes}
        return cls(dt=p.dt or dt, integration=p.integration, reset=reset or p.reset, if_per_step=p.if_per_step,
                   reset_delayed=p.reset_delayed, same_step=p.same_step, tau_times_dt=p.tau_times_dt,
                   current_input=p.current_input, unit_current_gain=p.unit_current_gain, dt_from_r=p.dt_from_r,
                   spike_lag=p.spike_lag, reset_at_spike=p.reset_at_spike, rnn_input_to_neuron=p.rnn_input_to_neuron,
                   compare=p.compare, preset=p.name,
                   **overrides)

    def check(self) -> None:
        if self.dt is not None and not self.dt > 0:
            raise UserError(f"dt must be > 0, not {self.dt}")
        if self.max_spikes is not None and not 1 <= self.max_spikes <= MAX_SPIKES:
            raise UserError(f"max spikes per step must be in 1..{MAX_SPIKES}, not {self.max_spikes}")
        if self.integration is not None and self.integration not in Integration.ALL:
            raise UserError(f"integration '{self.integration}' is unknown (use {' or '.join(Integration.ALL)})")
        for mode in (self.reset or ResetMode.VALUE, *self.reset_per_node.values()):
            if mode not in ResetMode.ALL:
                raise UserError(f"reset mode '{mode}' is unknown (use {' or '.join(ResetMode.ALL)})")

    def reset_for(self, node: str, metadata: dict) -> str:
        if node in self.reset_per_node:
            return self.reset_per_node[node]
        return self.reset or str(metadata.get("nmcompiler.reset", ResetMode.VALUE))

    def integration_for(self, metadata: dict) -> str:
        return self.integration or str(metadata.get("nmcompiler.integration", Integration.EULER))
