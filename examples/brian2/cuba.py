"""Brian2's CUBA example (benchmark 2 of Brette et al. 2007): 4000 LIF neurons with exponential
currents, 3200 excitatory and 800 inhibitory, 2 % connection probability, exact integration,
initial potentials uniform between Vr and Vt.

    nmc simulate examples/brian2/cuba.py -o out/cuba     # converted and run in nmcompiler
    python examples/brian2/cuba.py                       # run in Brian2
"""

from brian2 import NeuronGroup, SpikeMonitor, Synapses, defaultclock, ms, mV, run, seed

seed(11)
defaultclock.dt = 0.1 * ms
taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
Vt, Vr, El = -50 * mV, -60 * mV, -49 * mV
eqs = """
dv/dt = (ge + gi - (v - El))/taum : volt (unless refractory)
dge/dt = -ge/taue : volt
dgi/dt = -gi/taui : volt
"""
P = NeuronGroup(4000, eqs, threshold="v > Vt", reset="v = Vr", refractory=5 * ms, method="exact")
P.v = "Vr + rand() * (Vt - Vr)"
we = (60 * 0.27 / 10) * mV  # excitatory weight, as a voltage
wi = (-20 * 4.5 / 10) * mV  # inhibitory weight
Ce = Synapses(P, P, on_pre="ge += we")
Ci = Synapses(P, P, on_pre="gi += wi")
Ce.connect("i < 3200", p=0.02)
Ci.connect("i >= 3200", p=0.02)
spikes = SpikeMonitor(P)

run(1000 * ms)

if __name__ == "__main__":
    print(f"{spikes.num_spikes} spikes, {spikes.num_spikes / 4000:.2f} Hz")
