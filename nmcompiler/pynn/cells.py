"""PyNN's standard cell types on nmcompiler. Parameters keep PyNN's names and units (mV, ms, nF,
nA, Hz); ``lower.py`` converts them to the IR's SI units.

* ``IF_curr_exp``: CubaLIF with receptors "excitatory" and "inhibitory" (tau_syn_E, tau_syn_I),
  exact integration (NEST's iaf_psc_exp), r = tau_m / cm, i_offset as bias current.
* ``IF_curr_delta``: LIF, a spike moves v by its weight in mV (NEST's iaf_psc_delta).
* ``SpikeSourcePoisson`` (rate, start, duration) and ``SpikeSourceArray`` (spike_times).

Every other standard model (alpha-shaped currents, conductance-based, adaptive, Izhikevich,
Hodgkin-Huxley, gamma sources) has no exact counterpart in the IR and is refused when a
population of it is created, naming the model and what to use instead.
"""

from __future__ import annotations

from pyNN.standardmodels import build_translations, cells, synapses

from .errors import refuse

__all__ = ["IF_curr_exp", "IF_curr_delta", "SpikeSourcePoisson", "SpikeSourceArray", "StaticSynapse",
           "REFUSED_CELLS"]


def _identity(cls) -> tuple:
    return build_translations(*[(name, name) for name in cls.default_parameters])


class IF_curr_exp(cells.IF_curr_exp):
    __doc__ = cells.IF_curr_exp.__doc__
    translations = _identity(cells.IF_curr_exp)


class IF_curr_delta(cells.IF_curr_delta):
    __doc__ = cells.IF_curr_delta.__doc__
    translations = _identity(cells.IF_curr_delta)


class SpikeSourcePoisson(cells.SpikeSourcePoisson):
    __doc__ = cells.SpikeSourcePoisson.__doc__
    translations = _identity(cells.SpikeSourcePoisson)


class SpikeSourceArray(cells.SpikeSourceArray):
    __doc__ = cells.SpikeSourceArray.__doc__
    translations = _identity(cells.SpikeSourceArray)


class StaticSynapse(synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"))

    def _get_minimum_delay(self):
        from .simulator import state

        return state.min_delay


_WHY = {
    "IF_curr_alpha": "alpha-shaped synaptic currents are not in the IR (use IF_curr_exp)",
    "IF_cond_exp": "conductance-based synapses are not in the IR (use IF_curr_exp with weights "
                   "w x (E_rev - V_mean), as Brette et al. 2007 do for CUBA)",
    "IF_cond_alpha": "conductance-based synapses are not in the IR (use IF_curr_exp)",
    "IF_cond_exp_gsfa_grr": "conductance-based, adapting neurons are not in the IR",
    "HH_cond_exp": "Hodgkin-Huxley neurons are not in the IR",
    "EIF_cond_alpha_isfa_ista": "adaptive exponential neurons are not in the IR",
    "EIF_cond_exp_isfa_ista": "adaptive exponential neurons are not in the IR",
    "Izhikevich": "Izhikevich neurons are not in the IR",
    "GIF_cond_exp": "generalised integrate-and-fire neurons are not in the IR",
    "SpikeSourceGamma": "gamma spike sources are not in the IR (use SpikeSourceArray with drawn times)",
    "SpikeSourceInhGamma": "gamma spike sources are not in the IR (use SpikeSourceArray with drawn times)",
    "SpikeSourcePoissonRefractory": "Poisson sources with dead time are not in the IR (use SpikeSourcePoisson)",
}


def _refused(name: str):
    base = getattr(cells, name)

    def __init__(self, **parameters):
        refuse(f"cell type {name} cannot be mapped: {_WHY[name]}")

    return type(name, (base,), {"__init__": __init__, "__doc__": f"Refused: {_WHY[name]}.",
                                "translations": {}})


REFUSED_CELLS = {name: _refused(name) for name in _WHY}
globals().update(REFUSED_CELLS)
__all__ += list(REFUSED_CELLS)


def _refused_other(name: str, why: str):
    def __init__(self, *args, **parameters):
        refuse(f"{name} cannot be mapped: {why}")

    return type(name, (), {"__init__": __init__, "__doc__": f"Refused: {why}."})


_PLASTIC = "only StaticSynapse (plasticity and short-term dynamics are not in the IR yet)"
REFUSED_OTHER = {name: _refused_other(name, why) for name, why in {
    **dict.fromkeys(("TsodyksMarkramSynapse", "StochasticTsodyksMarkramSynapse", "SimpleStochasticSynapse",
                     "MultiQuantalSynapse", "STDPMechanism", "ElectricalSynapse"), _PLASTIC),
    **dict.fromkeys(("AdditiveWeightDependence", "MultiplicativeWeightDependence", "GutigWeightDependence",
                     "AdditivePotentiationMultiplicativeDepression", "SpikePairRule", "Vogels2011Rule"), _PLASTIC),
    **dict.fromkeys(("PointNeuron", "AdExp", "LIF", "CurrExpPostSynapticResponse", "CondExpPostSynapticResponse",
                     "CondAlphaPostSynapticResponse", "MultiCompartmentNeuron"),
                    "composed and multicompartment neurons are not supported (use IF_curr_exp)"),
}.items()}
globals().update(REFUSED_OTHER)
__all__ += list(REFUSED_OTHER)
