"""Brian2's Brunel (2000) example, regime C (asynchronous irregular: g = 5, nu_ext = 2 nu_thr):
10,000 excitatory and 2,500 inhibitory LIF neurons with delta synapses (J = 0.1 mV, delay
1.5 ms, 10 % connection probability) and 1,000 external Poisson inputs per neuron
(a PoissonInput), exact integration, dt 0.1 ms.

    nmc simulate examples/brian2/brunel.py -o out/brunel   # converted and run in nmcompiler
    python examples/brian2/brunel.py                       # run in Brian2
"""

from brian2 import NeuronGroup, PoissonInput, SpikeMonitor, Synapses, defaultclock, ms, mV, run, seed

seed(7)
defaultclock.dt = 0.1 * ms
N_E, N_I, epsilon = 10000, 2500, 0.1
C_E = int(epsilon * N_E)
tau, theta, V_r, tau_rp = 20 * ms, 20 * mV, 10 * mV, 2 * ms
J, D, g = 0.1 * mV, 1.5 * ms, 5.0
nu_thr = theta / (J * C_E * tau)

neurons = NeuronGroup(N_E + N_I, "dv/dt = -v/tau : volt (unless refractory)", threshold="v > theta",
                      reset="v = V_r", refractory=tau_rp, method="exact")
excitatory, inhibitory = neurons[:N_E], neurons[N_E:]
exc_synapses = Synapses(excitatory, neurons, on_pre="v += J", delay=D)
exc_synapses.connect(p=epsilon)
inh_synapses = Synapses(inhibitory, neurons, on_pre="v += -g*J", delay=D)
inh_synapses.connect(p=epsilon)
external = PoissonInput(neurons, "v", N=C_E, rate=2 * nu_thr, weight=J)
spikes = SpikeMonitor(neurons)

run(1000 * ms)

if __name__ == "__main__":
    print(f"{spikes.num_spikes} spikes, {spikes.num_spikes / (N_E + N_I):.2f} Hz")
