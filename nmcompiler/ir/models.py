r"""Neuron models of the graph IR and their exact discrete-time propagators.

All models share the spike and reset rules. A neuron spikes in step ``n`` when

.. math:: v_n > v_{th}

(strict comparison, as in NIR, Brian2, snnTorch and Norse), and then

* ``reset = "value"``:    :math:`v \leftarrow v_{reset}`
* ``reset = "subtract"``: :math:`v \leftarrow v - (v_{th} - v_{reset})`

A finite ``v_min`` bounds the membrane from below: after integration (step 2 below) and before
the threshold, :math:`v \leftarrow \max(v, v_{min})` (Loihi's ``vmin``, Nengo's LIF
``min_voltage``, Sinabs' ``min_v_mem``); the default ``-inf`` means no bound.

After a spike the membrane is held for ``round(refractory / dt)`` steps: it neither integrates
nor takes synaptic input into :math:`v` (synaptic currents keep decaying and accumulating).

Per step the simulator applies, in this order (the order of NEST's exact-integration
models ``iaf_psc_delta`` / ``iaf_psc_exp``):

1. propagate the sub-threshold state over ``dt`` exactly, using the state at the start of the step;
2. add the synaptic input arriving in this step (a jump of ``v`` or of a synaptic current);
3. compare with the threshold, spike, reset, start the refractory period. A model with
   ``max_spikes`` k > 1 and reset by subtraction repeats compare-and-subtract up to k times
   within the step, one spike each (a framework's multi-spike neuron: ``floor(v / theta)``).

A model with ``input_before_update`` takes the input of a step into its state *before* step 1
(Brian2's schedule: synapses act after the thresholder, so what arrives in step ``n - 1`` is
integrated in step ``n``; a frontend adds one step to every delay). Its propagator folds the
step into the input coefficients: ``g_k = d_k``, ``h_k = s_k`` with synaptic currents, ``h = a r``
without.

Units: parameters are floats in SI units (s, V, A); ``r`` converts current into voltage and is
dimensionless when currents are expressed in volts, as in Brian2's CUBA example.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np

from ._record import ArrayRecord

MEMBRANE = "membrane"
"""The ``receptor`` of a current-source projection into the membrane equation itself (beside the
bias), not into a synaptic current; no model may name a receptor so."""

__all__ = ["Compare", "ResetMode", "Integration", "NeuronModel", "LIF", "CubaLIF", "IF", "ThresholdUnit", "Propagator",
           "MODELS", "ParamSpec"]


class ResetMode:
    VALUE = "value"
    SUBTRACT = "subtract"
    ALL = (VALUE, SUBTRACT)


class Compare:
    """When a neuron spikes: ``v > v_threshold`` (most frameworks) or ``v >= v_threshold`` (Sinabs'
    ``SingleSpike``, Rockpool's ``LIFTorch``)."""

    GT = ">"
    GE = ">="
    ALL = (GT, GE)


class Integration:
    """How the continuous sub-threshold dynamics become one step.

    * ``exact``: the exact solution over ``dt`` (exponential decay), inputs as impulses at
      step boundaries (NEST's exact integration).
    * ``euler``: one forward-Euler step, ``x' = x + dt/tau * (...)``, with synaptic currents
      updated before the membrane uses them (semi-implicit). This is what snnTorch
      (``beta = 1 - dt/tau``), Norse and most NIR exporters compute; it needs ``tau > dt``.
    * ``exp_euler``: like ``euler`` but every state decays by the exact factor ``exp(-dt/tau)``
      while inputs, leak and bias still enter with ``dt/tau`` (Rockpool's convention).
    * ``forward_euler``: the textbook explicit Euler step: every state from its value at the start
      of the step, ``v' = v + dt/tau_m (v_leak - v + r (I + I_bias))`` with the old ``I``
      (Brian2's ``euler``). Equal to ``euler`` for models without synaptic currents.
    """

    EXACT = "exact"
    EULER = "euler"
    EXP_EULER = "exp_euler"
    FORWARD_EULER = "forward_euler"
    ALL = (EXACT, EULER, EXP_EULER, FORWARD_EULER)
    STEPPED = (EULER, EXP_EULER, FORWARD_EULER)  # not exact: a discrete-time rule over dt/tau


@dataclass(frozen=True)
class ParamSpec:
    """How a parameter is written in files: its physical dimension and default (None: required)."""

    dimension: str
    default: float | None


@dataclass(frozen=True, kw_only=True, eq=False)
class Propagator(ArrayRecord):
    r"""Exact one-step solution of a population's linear sub-threshold dynamics.

    With ``R`` input channels (receptors) and ``n`` neurons, one step is

    .. math::
        v' &= a\,v + b + c\,(I_{bias} + I_{ext}) + \sum_k s_k I_k \\
        I_k' &= d_k I_k + g_k\,x_k \\
        v' &\mathrel{+}= \sum_k h_k\,x_k

    where :math:`x_k` is the summed weight arriving on channel ``k`` in this step.
    """

    decay_v: np.ndarray  # a, (n,)
    leak_v: np.ndarray  # b, (n,)
    current_to_v: np.ndarray  # c, (n,)
    syn_to_v: np.ndarray  # s, (R, n)
    decay_syn: np.ndarray  # d, (R, n)
    input_to_syn: np.ndarray  # g, (R, n)
    input_to_v: np.ndarray  # h, (R, n)


def _as_float_array(value: object) -> np.ndarray:
    return np.array(value, dtype=np.float64)


@dataclass(frozen=True, kw_only=True, eq=False)
class NeuronModel(ArrayRecord):
    """Parameters shared by all models; arrays are scalars (shared) or one value per neuron."""

    kind: ClassVar[str] = ""
    PARAMS: ClassVar[dict[str, ParamSpec]] = {
        "v_threshold": ParamSpec("voltage", 1.0),
        "v_reset": ParamSpec("voltage", 0.0),
        "v_min": ParamSpec("voltage", -np.inf),
        "refractory": ParamSpec("time", 0.0),
        "bias": ParamSpec("any", 0.0),
        "r": ParamSpec("any", 1.0),
    }
    STATE: ClassVar[tuple[str, ...]] = ("v",)
    PER_RECEPTOR: ClassVar[tuple[str, ...]] = ()

    v_threshold: np.ndarray = field(default_factory=lambda: _as_float_array(1.0))
    v_reset: np.ndarray = field(default_factory=lambda: _as_float_array(0.0))
    v_min: np.ndarray = field(default_factory=lambda: _as_float_array(-np.inf))  # lower bound of v (-inf: none)
    refractory: np.ndarray = field(default_factory=lambda: _as_float_array(0.0))
    bias: np.ndarray = field(default_factory=lambda: _as_float_array(0.0))
    r: np.ndarray = field(default_factory=lambda: _as_float_array(1.0))
    reset: str = ResetMode.VALUE
    integration: str = Integration.EXACT
    spiking: bool = True  # False: a non-spiking integrator (NIR LI, I, CubaLI); v is its output
    compare: str = Compare.GT  # spike when v > v_threshold, or v >= v_threshold (Compare.GE)
    max_spikes: int = 1  # most spikes per step: with reset "subtract", a neuron still past its threshold
    # after a subtraction spikes again in the same step (Sinabs' MultiSpike, Rockpool's max_spikes_per_dt)
    input_before_update: bool = False  # a step's input enters the state before that step's update (Brian2)

    def __post_init__(self) -> None:
        for name in self.param_names():
            self._set(name, _as_float_array(getattr(self, name)))

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        return tuple(cls.PARAMS)

    @property
    def receptors(self) -> tuple[str, ...]:
        """Names of the input channels a projection can target; () means one unnamed channel."""
        return ()

    def n_channels(self) -> int:
        return max(1, len(self.receptors))

    def channel_of(self, receptor: str | None) -> int:
        """Input channel index for a projection's ``receptor`` (validated beforehand)."""
        return 0 if receptor is None else self.receptors.index(receptor)

    def problems(self, size: int) -> list[str]:
        """Every parameter problem for a population of ``size`` neurons (empty if valid)."""
        out = []
        if self.reset not in ResetMode.ALL:
            out.append(f"reset mode '{self.reset}' is unknown (use one of {', '.join(ResetMode.ALL)})")
        if self.integration not in Integration.ALL:
            out.append(f"integration '{self.integration}' is unknown (use one of {', '.join(Integration.ALL)})")
        if self.compare not in Compare.ALL:
            out.append(f"compare '{self.compare}' is unknown (use one of {', '.join(Compare.ALL)})")
        if not isinstance(self.input_before_update, (bool, np.bool_)):
            out.append(f"input_before_update must be true or false, not {self.input_before_update!r}")
        if isinstance(self.max_spikes, bool) or not isinstance(self.max_spikes, (int, np.integer)) or self.max_spikes < 1:
            out.append(f"max_spikes must be an integer >= 1, not {self.max_spikes!r}")
        elif self.max_spikes > 1 and (self.reset != ResetMode.SUBTRACT or not self.spiking):
            out.append(f"max_spikes {self.max_spikes} needs reset 'subtract' (each spike subtracts the threshold; "
                       "a reset to a value allows one spike per step)")
        for name in self.param_names():
            value = getattr(self, name)
            if name in self.PER_RECEPTOR:
                continue
            if value.ndim > 1 or (value.ndim == 1 and value.shape[0] != size):
                out.append(f"parameter '{name}' has shape {value.shape}, expected a scalar or ({size},)")
            elif name == "v_min" and np.any(np.isnan(value) | (value == np.inf)):
                out.append("parameter 'v_min' contains NaN or +inf (a lower bound of v: a voltage, or -inf for none)")
            elif name != "v_min" and not np.all(np.isfinite(value)):
                out.append(f"parameter '{name}' contains NaN or infinite values")
        if not out:
            if np.any(self.refractory < 0):
                out.append("parameter 'refractory' must be >= 0")
            if self.reset == ResetMode.SUBTRACT and np.any(self.v_threshold <= self.v_reset):
                out.append("reset by subtraction needs v_threshold > v_reset")
            if np.any(self.v_min >= self.v_threshold):
                out.append("parameter 'v_min' must lie below v_threshold (a lower bound at or above it would fire "
                           "every step)")
        return out

    def time_constants(self) -> dict[str, np.ndarray]:
        """Time constants that forward-Euler integration needs to exceed ``dt``."""
        return {}

    def dt_problems(self, dt: float) -> list[str]:
        """Problems of this model at time step ``dt`` (forward Euler is unstable for tau <= dt; a
        refractory period is counted in steps)."""
        out = []
        if np.any(np.asarray(self.refractory) > (2**31 - 1) * dt):
            out.append(f"refractory {float(np.max(self.refractory)):g} s is beyond 2^31 - 1 steps of {dt:g} s")
        if self.integration not in (Integration.EULER, Integration.FORWARD_EULER):
            return out
        return out + [
            f"euler integration needs {name} > dt ({float(np.min(tau)) * 1e3:g} ms <= {dt * 1e3:g} ms): "
            "use integration 'exact' or a smaller dt"
            for name, tau in self.time_constants().items() if np.any(tau <= dt)
        ]

    @property
    def bounded(self) -> bool:
        """Whether some neuron has a finite lower bound ``v_min``."""
        return bool(np.any(np.isfinite(self.v_min)))

    def refractory_steps(self, dt: float, size: int) -> np.ndarray:
        return np.broadcast_to(np.rint(self.refractory / dt).astype(np.int64), (size,)).copy()

    def propagator(self, dt: float, size: int) -> Propagator:
        raise NotImplementedError

    def _full(self, value: np.ndarray | float, size: int) -> np.ndarray:
        return np.broadcast_to(np.asarray(value, dtype=np.float64), (size,)).copy()

    def _instant(self, dt: float, size: int, decay_v, leak_v, current_to_v) -> Propagator:
        zeros = np.zeros((1, size))
        arrival = self._full(self.r, size)
        if self.input_before_update:  # the input decays over the step it arrives in
            arrival = arrival * self._full(decay_v, size)
        return Propagator(
            decay_v=self._full(decay_v, size),
            leak_v=self._full(leak_v, size),
            current_to_v=self._full(current_to_v, size),
            syn_to_v=zeros,
            decay_syn=zeros.copy(),
            input_to_syn=zeros.copy(),
            input_to_v=arrival[None, :],
        )


@dataclass(frozen=True, kw_only=True, eq=False)
class LIF(NeuronModel):
    r"""Leaky integrate-and-fire neuron with instantaneous (delta) synapses.

    .. math::
        \tau_{mem} \dot v = (v_{leak} - v) + r\, I_{bias}, \qquad
        v \mathrel{+}= r\, w \text{ for each arriving spike of weight } w

    Exact step: :math:`v' = v_{leak} + (v - v_{leak}) e^{-dt/\tau} + r I_{bias}(1 - e^{-dt/\tau})`;
    Euler step: :math:`v' = v + \frac{dt}{\tau}(v_{leak} - v + r I_{bias})`.
    """

    kind: ClassVar[str] = "lif"
    PARAMS: ClassVar[dict[str, ParamSpec]] = {
        **NeuronModel.PARAMS,
        "tau_mem": ParamSpec("time", None),
        "v_leak": ParamSpec("voltage", 0.0),
    }
    tau_mem: np.ndarray = field(default_factory=lambda: _as_float_array(np.nan))
    v_leak: np.ndarray = field(default_factory=lambda: _as_float_array(0.0))

    def problems(self, size: int) -> list[str]:
        out = super().problems(size)
        if not out and np.any(self.tau_mem <= 0):
            out.append("parameter 'tau_mem' must be > 0")
        return out

    def time_constants(self) -> dict[str, np.ndarray]:
        return {"tau_mem": self.tau_mem}

    def propagator(self, dt: float, size: int) -> Propagator:
        if self.integration in Integration.STEPPED:
            step = dt / self.tau_mem
            decay = 1 - step if self.integration == Integration.EULER else np.exp(-step)
            return self._instant(dt, size, decay, self.v_leak * step, self.r * step)
        decay = np.exp(-dt / self.tau_mem)
        return self._instant(dt, size, decay, self.v_leak * (1 - decay), self.r * (1 - decay))


@dataclass(frozen=True, kw_only=True, eq=False)
class IF(NeuronModel):
    r"""Integrate-and-fire neuron without leak (NIR's IF).

    .. math::
        \dot v = r\, I_{bias}, \qquad v \mathrel{+}= r\, w \text{ for each arriving spike}

    Exact step: :math:`v' = v + r I_{bias}\, dt`.
    """

    kind: ClassVar[str] = "if"

    def propagator(self, dt: float, size: int) -> Propagator:
        return self._instant(dt, size, 1.0, 0.0, self.r * dt)


@dataclass(frozen=True, kw_only=True, eq=False)
class CubaLIF(NeuronModel):
    r"""Current-based LIF with exponentially decaying synaptic currents, one per receptor.

    .. math::
        \tau_{syn,k} \dot I_k = -I_k, \qquad I_k \mathrel{+}= w \text{ for each spike on receptor } k \\
        \tau_{mem} \dot v = (v_{leak} - v) + r \big(\textstyle\sum_k I_k + I_{bias}\big)

    ``tau_syn`` has one row per receptor (shape ``(R,)`` or ``(R, n)``). Exact step
    (Rotter & Diesmann 1999), with :math:`x = dt(\tau_s - \tau_m)/(\tau_m \tau_s)`:

    .. math:: v' = \dots + I_k\, r\,\frac{dt}{\tau_m} e^{-dt/\tau_m} \frac{e^{x} - 1}{x}

    which is stable for :math:`\tau_s \to \tau_m` (the factor tends to 1). Euler step (snnTorch's
    ``Synaptic`` order): :math:`I_k' = (1 - dt/\tau_s) I_k + x_k`, then
    :math:`v' = v + \frac{dt}{\tau_m}(v_{leak} - v + r(\sum_k I_k' + I_{bias}))`.
    """

    kind: ClassVar[str] = "cuba_lif"
    PARAMS: ClassVar[dict[str, ParamSpec]] = {
        **NeuronModel.PARAMS,
        "tau_mem": ParamSpec("time", None),
        "v_leak": ParamSpec("voltage", 0.0),
        "tau_syn": ParamSpec("time", None),
    }
    STATE: ClassVar[tuple[str, ...]] = ("v", "i")
    PER_RECEPTOR: ClassVar[tuple[str, ...]] = ("tau_syn",)
    tau_mem: np.ndarray = field(default_factory=lambda: _as_float_array(np.nan))
    v_leak: np.ndarray = field(default_factory=lambda: _as_float_array(0.0))
    tau_syn: np.ndarray = field(default_factory=lambda: _as_float_array([np.nan]))
    receptor_names: tuple[str, ...] = ("syn",)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._set("receptor_names", tuple(self.receptor_names))
        if self.tau_syn.ndim == 0:
            self._set("tau_syn", self.tau_syn[None])

    @property
    def receptors(self) -> tuple[str, ...]:
        return self.receptor_names

    def problems(self, size: int) -> list[str]:
        out = super().problems(size)
        n_rec = len(self.receptor_names)
        if n_rec == 0 or len(set(self.receptor_names)) != n_rec:
            out.append(f"receptor names {list(self.receptor_names)} must be non-empty and unique")
        elif MEMBRANE in self.receptor_names:
            out.append(f"receptor name '{MEMBRANE}' is reserved for currents into the membrane (rename the receptor)")
        elif self.tau_syn.shape not in ((n_rec,), (n_rec, size)):
            out.append(f"parameter 'tau_syn' has shape {self.tau_syn.shape}, expected ({n_rec},) or ({n_rec}, {size})")
        elif not np.all(np.isfinite(self.tau_syn)) or np.any(self.tau_syn <= 0):
            out.append("parameter 'tau_syn' must be finite and > 0")
        if not out and np.any(self.tau_mem <= 0):
            out.append("parameter 'tau_mem' must be > 0")
        return out

    def time_constants(self) -> dict[str, np.ndarray]:
        return {"tau_mem": self.tau_mem, "tau_syn": self.tau_syn}

    def propagator(self, dt: float, size: int) -> Propagator:
        tau_m = self._full(self.tau_mem, size)
        tau_s = np.broadcast_to(self.tau_syn.reshape(len(self.receptors), -1), (len(self.receptors), size))
        r = self._full(self.r, size)
        if self.integration == Integration.EXACT:
            prop = self._exact(dt, tau_m, tau_s, r)
        else:
            prop = self._stepped(dt, tau_m, tau_s, r)
        if self.input_before_update:  # the input joins the currents, then the step propagates both
            prop = replace(prop, input_to_syn=prop.decay_syn.copy(), input_to_v=prop.syn_to_v.copy())
        return prop

    def _stepped(self, dt: float, tau_m: np.ndarray, tau_s: np.ndarray, r: np.ndarray) -> Propagator:
        # euler/exp_euler: I' = d_s I + x;  v' = d_m v + dt/tm (v_leak + r (I' + I_bias)), d = 1 - dt/tau (euler)
        # forward_euler: v' = d_m v + dt/tm (v_leak + r (I + I_bias)) from the old I, then I' = d_s I + x
        step_m = dt / tau_m
        if self.integration == Integration.EXP_EULER:
            decay_m, decay_s = np.exp(-step_m), np.exp(-dt / tau_s)
        else:
            decay_m, decay_s = 1 - step_m, 1 - dt / tau_s
        forward = self.integration == Integration.FORWARD_EULER
        return Propagator(
            decay_v=decay_m, leak_v=self._full(self.v_leak, len(r)) * step_m, current_to_v=r * step_m,
            syn_to_v=np.broadcast_to(r * step_m, tau_s.shape) * (1.0 if forward else decay_s),
            decay_syn=decay_s.copy(), input_to_syn=np.ones_like(tau_s),
            input_to_v=np.zeros_like(tau_s) if forward else np.broadcast_to(r * step_m, tau_s.shape).copy(),
        )

    def _exact(self, dt: float, tau_m: np.ndarray, tau_s: np.ndarray, r: np.ndarray) -> Propagator:
        decay = np.exp(-dt / tau_m)
        x = dt * (tau_s - tau_m) / (tau_m * tau_s)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(x == 0, 1.0, np.expm1(x) / np.where(x == 0, 1.0, x))
        return Propagator(
            decay_v=decay,
            leak_v=self._full(self.v_leak * (1 - decay), len(r)),
            current_to_v=r * (1 - decay),
            syn_to_v=r * dt / tau_m * decay * ratio,
            decay_syn=np.exp(-dt / tau_s),
            input_to_syn=np.ones_like(tau_s),
            input_to_v=np.zeros_like(tau_s),
        )


@dataclass(frozen=True, kw_only=True, eq=False)
class ThresholdUnit(NeuronModel):
    r"""Memoryless threshold unit (NIR's Threshold): spikes when this step's input exceeds the threshold.

    .. math:: v = r\,(x + I_{bias}), \qquad \text{spike if } v > v_{th}

    where :math:`x` is the weight arriving in this step; nothing carries over between steps.
    """

    kind: ClassVar[str] = "threshold"

    def propagator(self, dt: float, size: int) -> Propagator:
        return self._instant(dt, size, 0.0, 0.0, self.r)


MODELS: dict[str, type[NeuronModel]] = {m.kind: m for m in (LIF, CubaLIF, IF, ThresholdUnit)}
"""Registry of neuron models by ``kind`` (the ``model:`` field in YAML files)."""
