"""Exporter presets: how the framework that wrote a NIR graph steps it (``--from FRAMEWORK``).

NIR records continuous-time equations; each framework discretizes them its own way, and NIR 1.0
does not say which. A preset fixes every convention that changes spikes:

* ``dt``: the step the exporter assumed when it wrote time constants (snnTorch writes
  ``tau = 1e-4 / (1 - beta)``, so its graphs mean ``dt = 1e-4`` whatever the training used);
* ``integration``: the decay scheme (:class:`nmcompiler.ir.models.Integration`);
* ``reset``: to ``v_reset`` or by subtracting the threshold; ``reset_delayed``: the subtraction
  happens on the step after the spike, undecayed (snnTorch's default ``reset_delay=True``);
* ``same_step``: the framework evaluates every layer within one step (a spike reaches the next
  layer in the step it was fired, and biases act from step 0 on every layer), where the IR's
  smallest delay is one step. The importer then retimes the network: each neuron node gets a
  level (its longest path from the inputs), each connection the delay of the levels it spans,
  and each bias starts at its population's level; the IR's population at level L then
  reproduces the framework's step ``t`` at step ``t + L``, spike for spike;
* ``if_per_step``: IF nodes integrate ``v += r x`` per step;
* exporter quirks: ``tau_times_dt`` (Norse 1.1 writes ``dt * tau`` as each time constant),
  ``current_input`` (Norse adds a spike's weight to the synaptic current itself, Rockpool adds it
  and decays it in the same step, where NIR's equation scales it by ``dt / tau_syn``),
  ``unit_current_gain`` and ``dt_from_r`` (Rockpool's current enters the membrane with gain 1,
  and its export records dt only in ``r``), ``spike_lag`` (Spyx decides a step's spike from the
  previous membrane: the IR's own one-step connections reproduce it, every membrane one step
  behind, biases from step 1), ``reset_at_spike`` and ``rnn_input_to_neuron`` (Spyx's recurrent
  subgraphs).

docs/nir.md has the table of conventions per framework, and what is verified against each
framework's own forward pass (tests/golden/frameworks/).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import UserError
from ...ir.models import Integration, ResetMode

__all__ = ["MAX_SPIKES", "PRESETS", "Preset", "detect", "preset"]

MAX_SPIKES = 2 ** 16  # Rockpool's default max_spikes_per_dt; Sinabs' MultiSpike has no limit


@dataclass(frozen=True, kw_only=True)
class Preset:
    name: str
    dt: float | None
    integration: str
    reset: str
    reset_delayed: bool
    same_step: bool
    if_per_step: bool = True
    tau_times_dt: bool = False  # the exporter wrote dt * tau for every time constant (Norse 1.1)
    current_input: str = "nir"  # a spike's effect on a CubaLIF current: nir (w_in dt / tau_syn), jump (w_in:
    # Norse), decayed_jump (w_in exp(-dt / tau_syn): added, then decayed in the same step, Rockpool)
    unit_current_gain: bool = False  # the input enters v with gain 1 per step (r = tau / dt; Rockpool, Spyx)
    dt_from_r: str = ""  # dt solved from the exported r: "rockpool" (r = tau exp(-dt / tau) / dt) or "spyx"
    # (r = beta = 1 - dt / tau; a graph without LIF nodes: to_nir's default dt = 1)
    spike_lag: bool = False  # a neuron emits the spike its previous membrane decided (Spyx): the spike
    # leaves one step after the crossing, which is the IR's own one-step connection; every
    # population's membrane then lags the framework's by one step, and biases start at step 1
    reset_at_spike: tuple[str, ...] = ()  # NIR neuron kinds whose subtraction is at the spike despite
    # reset_delayed (Spyx's CuBaLIF subtracts before decaying, its LIF/IF a step later)
    rnn_input_to_neuron: bool = False  # a recurrent subgraph's Input -> w_rec edge means input -> neuron
    # (Spyx 1.0 exports RLIF as input -> w_rec <-> lif, but computes x + W_rec s, and reads it back so)
    compare: str = ">"  # spike at v > threshold, or v >= threshold (Sinabs, Rockpool)
    max_spikes: int = 1  # spikes per step: floor(v / threshold) up to this (Sinabs' MultiSpike, Rockpool)
    source: str = ""  # what in the framework's code says so

    def describe(self) -> str:
        timing = "same-step layers (retimed)" if self.same_step else "one step per connection"
        timing += ", biases from step 1" if self.spike_lag else ""
        reset = f"reset {self.reset}" + (" one step after the spike" if self.reset_delayed else " at the spike")
        dt = f"dt = {self.dt:g} s" if self.dt else "dt from --dt or the graph"
        quirks = (["time constants written as dt * tau"] if self.tau_times_dt else []) + (
            [f"synaptic input as a {self.current_input.replace('_', ' ')}"] if self.current_input != "nir" else []) + (
            ["dt from the exported r"] if self.dt_from_r else []) + (
            ["spikes one step after the crossing (the IR's connection step)"] if self.spike_lag else []) + (
            ["a recurrent subgraph's input goes to its neuron"] if self.rnn_input_to_neuron else [])
        quirks += ["spikes at v >= threshold"] if self.compare == ">=" else []
        quirks += [f"up to {self.max_spikes} spikes per step (floor(v / threshold))"] if self.max_spikes > 1 else []
        return f"preset '{self.name}': {dt}, {self.integration} integration, {reset}, {timing}" + "".join(
            f", {q}" for q in quirks)


PRESETS: dict[str, Preset] = {
    "norse": Preset(
        name="norse", dt=1e-3, integration=Integration.EULER, reset=ResetMode.VALUE, reset_delayed=False,
        same_step=True, tau_times_dt=True, current_input="jump",
        source="norse/torch/utils/export_nir.py writes tau = dt / tau_mem_inv, which is dt * tau, with to_nir's "
               "default dt = 1e-3; lif_feed_forward_step adds the input to the current (i + x), then v uses it, "
               "then i decays; LIFBox steps v += dt tau_mem_inv (x + v_leak - v); reset to v_reset at the spike"),
    "rockpool": Preset(
        name="rockpool", dt=None, integration=Integration.EXP_EULER, reset=ResetMode.SUBTRACT, reset_delayed=False,
        same_step=True, current_input="decayed_jump", unit_current_gain=True, dt_from_r="rockpool", compare=">=",
        max_spikes=MAX_SPIKES,
        source="rockpool/nn/modules/torch/lif_torch.py LIFTorch.forward: isyn += x; vmem *= alpha; isyn *= beta; "
               "vmem += isyn + bias; spikes where vmem >= threshold; vmem -= spikes * threshold (alpha, beta = "
               "exp(-dt / tau)); its to_nir writes CubaLIF with r = tau_mem exp(-dt / tau_mem) / dt and no dt"),
    "sinabs": Preset(
        name="sinabs", dt=1.0, integration=Integration.EXACT, reset=ResetMode.SUBTRACT, reset_delayed=False,
        same_step=True, compare=">=", max_spikes=MAX_SPIKES,
        source="sinabs/layers/functional/lif.py: v = alpha v + (1 - alpha) x with alpha = exp(-1 / tau_mem), tau_mem "
               "in steps (so dt = 1); IAF: v += x; SingleSpike: v - threshold >= 0; MembraneSubtract; its to_nir "
               "writes IF(r=1) and LIF(tau=tau_mem, r=1)"),
    "spyx": Preset(
        name="spyx", dt=None, integration=Integration.EULER, reset=ResetMode.SUBTRACT, reset_delayed=True,
        same_step=False, spike_lag=True, reset_at_spike=("CubaLIF",), current_input="jump", unit_current_gain=True,
        dt_from_r="spyx", rnn_input_to_neuron=True,
        source="spyx/nn.py LIF: spikes = H(V - threshold) of the previous state, then V = beta V + x - spikes "
               "threshold (H: x > 0); IF the same with beta = 1; CuBaLIF: V -= spikes threshold, I = alpha I + x, "
               "V = beta V + I; Sequential steps every layer in one step. spyx/nir.py to_nir (dt = 1) writes "
               "LIF(tau = dt / (1 - beta), r = beta) and CubaLIF(tau_syn = dt / (1 - alpha), r = beta), names "
               "nodes layer_<i>; an RLIF becomes a subgraph input -> w_rec <-> lif that its from_nir reads as x + W_rec s"),
    "snntorch": Preset(
        name="snntorch", dt=1e-4, integration=Integration.EULER, reset=ResetMode.SUBTRACT, reset_delayed=True,
        same_step=True,
        source="snntorch/export_nir.py writes tau = dt / (1 - beta) and r = tau / dt with dt = 1e-4; Leaky's "
               "defaults are reset_mechanism='subtract' and reset_delay=True (the threshold is subtracted in the "
               "next step's state function); nn.Sequential evaluates all layers in one step"),
}


def preset(name: str) -> Preset:
    """The preset of ``name`` (exit 2 naming the known ones)."""
    try:
        return PRESETS[name.lower()]
    except KeyError:
        raise UserError(f"unknown exporter preset '{name}' (known: {', '.join(sorted(PRESETS))}; "
                        "Lava-dl 0.6 writes no NIR of its own: import its graphs with --dt, --integration and "
                        "--reset)") from None


def detect(graph) -> tuple[str, str] | None:
    """The framework whose exporter wrote ``graph`` (anything with ``.nodes``) and the evidence,
    from the traces each leaves (none writes its name into NIR 1.0): Rockpool's node names (``1_LIFTorch``), snnTorch's
    ``r = tau / 1e-4`` with ``v_leak = v_reset = 0`` on every neuron node, Norse's ``r = 1`` with
    time constants below a millisecond (its ``dt * tau``), Sinabs' ``r = 1`` with time constants
    of a step or more (in steps). None when no signature fits all nodes; graphs of IF neurons only
    fit Norse's and Sinabs' exports alike and are not told apart. Spyx: node names ``layer_<i>``."""
    import re

    import nir
    import numpy as np

    neurons = {k: v for k, v in graph.nodes.items() if isinstance(v, (nir.LIF, nir.CubaLIF))}
    if any(k.split(".")[-1].split("_", 1)[-1] in ("LIFTorch", "LinearTorch", "ExpSynTorch") for k in graph.nodes):
        return "rockpool", "node names such as '..._LIFTorch' (Rockpool's modules)"
    if any(re.fullmatch(r"layer_\d+", k.split(".")[0]) for k in graph.nodes) and all(
            re.fullmatch(r"layer_\d+(_threshold)?|input|output|lif|w_rec", part)
            for k in graph.nodes for part in k.split(".")):
        return "spyx", "node names layer_<i> (Spyx's to_nir)"
    if not neurons:
        return None

    def tau(n):
        return np.asarray(getattr(n, "tau", getattr(n, "tau_mem", None)), dtype=np.float64)

    def arr(n, name, default=0.0):
        value = getattr(n, name, None)
        return np.asarray(default if value is None else value, dtype=np.float64)

    if all(np.allclose(arr(n, "r") * 1e-4, tau(n), rtol=1e-5) and not arr(n, "v_leak").any()
           and not arr(n, "v_reset").any() for n in neurons.values()):
        return "snntorch", "every LIF/CubaLIF has r = tau / 1e-4 and v_leak = v_reset = 0 (snnTorch's export)"
    if all(np.all(arr(n, "r") == 1) and np.all(tau(n) < 1e-3) for n in neurons.values()):
        return "norse", "every LIF/CubaLIF has r = 1 and tau below 1 ms (Norse writes dt * tau)"
    if all(isinstance(n, nir.LIF) and np.all(arr(n, "r") == 1) and not arr(n, "v_leak").any()
           and np.all(tau(n) >= 1) for n in neurons.values()):
        return "sinabs", "every LIF has r = 1, v_leak = 0 and tau of a step or more (Sinabs counts tau_mem in steps)"
    return None
