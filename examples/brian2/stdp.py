"""Brian2's STDP example (examples/synapses/STDP.py in Brian2's documentation, after Song, Miller
& Abbott 2000): 1000 Poisson inputs at 15 Hz onto one neuron, additive STDP bounded in
[0, gmax]; after 100 s the weights are bimodal.

    nmc simulate examples/brian2/stdp.py -o out/stdp   # converted (STDP and all) and run in nmcompiler
    python examples/brian2/stdp.py                     # run in Brian2 (about 25 s with Cython)
"""

from brian2 import Hz, NeuronGroup, PoissonGroup, SpikeMonitor, Synapses, defaultclock, ms, mV, run, second, seed

seed(1)
defaultclock.dt = 0.1 * ms
N = 1000
taum = 10 * ms
taupre = 20 * ms
taupost = taupre
Ee = 0 * mV
vt = -54 * mV
vr = -60 * mV
El = -74 * mV
taue = 5 * ms
F = 15 * Hz
gmax = 0.01
dApre = 0.01
dApost = -dApre * taupre / taupost * 1.05
dApost *= gmax
dApre *= gmax

eqs_neurons = """
dv/dt = (ge * (Ee-vr) + El - v) / taum : volt
dge/dt = -ge / taue : 1
"""
poisson_input = PoissonGroup(N, rates=F)
neurons = NeuronGroup(1, eqs_neurons, threshold="v>vt", reset="v = vr", method="euler")
neurons.v = El
S = Synapses(poisson_input, neurons,
             """w : 1
                dApre/dt = -Apre / taupre : 1 (event-driven)
                dApost/dt = -Apost / taupost : 1 (event-driven)""",
             on_pre="""ge += w
                    Apre += dApre
                    w = clip(w + Apost, 0, gmax)""",
             on_post="""Apost += dApost
                     w = clip(w + Apre, 0, gmax)""")
S.connect()
S.w = "rand() * gmax"
spikes = SpikeMonitor(neurons)

run(100 * second)
