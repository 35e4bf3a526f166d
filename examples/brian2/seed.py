"""The Brian2 seed example of issue 25: 100 LIF neurons driven through a decaying current by one
input neuron (forward Euler, dt 0.1 ms). The input neuron fires every step from 10 to 160 ms
(a current of about 25 mV: regular firing) and every 0.3 ms from 180 to 240 ms (about 8 mV: the
neurons near threshold still fire); initial potentials are spread between El and Vt.

    nmc import examples/brian2/seed.py -o seed.yaml      # convert
    nmc simulate examples/brian2/seed.py -o out/seed     # run in nmcompiler
    python examples/brian2/seed.py                       # run in Brian2 (prints the spike count)
"""

import numpy as np
from brian2 import NeuronGroup, SpikeGeneratorGroup, SpikeMonitor, Synapses, defaultclock, ms, mV, Mohm, run, seed

seed(2025)
defaultclock.dt = 0.1 * ms
eqs = """
dv/dt = (El - v + RI)/tau : volt (unless refractory)
dRI/dt = -RI/tau_RI : volt
tau : second
El : volt
Vt : volt
Vr : volt
tau_RI : second
R : ohm
"""
burst = np.concatenate([np.arange(100, 1600), np.arange(1800, 2400, 3)])  # steps of 0.1 ms
source = SpikeGeneratorGroup(1, np.zeros(burst.size, dtype=int), burst * 0.1 * ms)
neurons = NeuronGroup(100, eqs, threshold="v > Vt", reset="v = Vr", refractory="5*ms", method="euler")
neurons.tau = 20 * ms
neurons.El = -70 * mV
neurons.Vt = -50 * mV
neurons.Vr = -60 * mV
neurons.tau_RI = 5 * ms
neurons.R = 10 * Mohm
neurons.v = "El + rand() * (Vt - El)"
synapses = Synapses(source, neurons, "w : volt", on_pre="RI += w")
synapses.connect()
synapses.w = 0.5 * mV
spikes = SpikeMonitor(neurons)

run(250 * ms)

if __name__ == "__main__":
    print(f"{spikes.num_spikes} spikes")
