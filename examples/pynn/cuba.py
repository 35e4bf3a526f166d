"""The Vogels-Abbott CUBA network (Brette et al. 2007, benchmark 1) as a PyNN script.

    python examples/pynn/cuba.py                 # runs on nmcompiler.pynn (float)
    python examples/pynn/cuba.py loihi-like      # ... as the loihi-like image, bit accurately
    nmc import examples/pynn/cuba.py -o cuba.yaml   # the network, converted at its first run()

Change the import to ``pyNN.nest`` and the same script runs on NEST (pass
``spike_precision="on_grid"`` to setup() to compare spike for spike).
"""

import sys

import nmcompiler.pynn as sim

target = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != "nmcompiler" else None
sim.setup(timestep=0.1, min_delay=0.2, max_delay=1.0, target=target)

n_exc, n_inh = 3200, 800
cell = sim.IF_curr_exp(tau_m=20.0, cm=0.2, v_rest=-49.0, v_thresh=-50.0, v_reset=-60.0, tau_refrac=5.0,
                       tau_syn_E=5.0, tau_syn_I=10.0)
exc = sim.Population(n_exc, cell, label="exc")
inh = sim.Population(n_inh, cell, label="inh")
rng = sim.NumpyRNG(seed=98765)
start = sim.RandomDistribution("uniform", low=-60.0, high=-50.0, rng=rng)
exc.initialize(v=start)
inh.initialize(v=start)

connect = sim.FixedProbabilityConnector(0.02, rng=rng)
w_exc, w_inh = 0.27e-3 * 60.0, -4.5e-3 * 20.0  # nA: conductance x driving force at -60 mV
for pre, weight, receptor in ((exc, w_exc, "excitatory"), (inh, w_inh, "inhibitory")):
    for post in (exc, inh):
        sim.Projection(pre, post, connect, sim.StaticSynapse(weight=weight, delay=0.2), receptor_type=receptor)

exc.record("spikes")
inh.record("spikes")
sim.run(1000.0)
print(f"excitatory {exc.mean_spike_count():.2f} Hz, inhibitory {inh.mean_spike_count():.2f} Hz")
sim.end()
