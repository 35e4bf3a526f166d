"""Nengo's integrator example as a script (nengo/examples/dynamics/integrator): nmc reads it up to
its first simulation, e.g.

    nmc simulate examples/nengo/integrator.py -o out/int        # decoded.npz: the readout 'A'
    nmc compare examples/nengo/integrator.py --target loihi-like -o out/int-cmp
"""

import nengo
from nengo.processes import Piecewise

with nengo.Network(label="Integrator", seed=0) as model:
    a = nengo.Ensemble(100, dimensions=1, label="A")
    stim = nengo.Node(Piecewise({0: 0, 0.2: 1, 1: 0, 2: -2, 3: 0, 4: 1, 5: 0}), label="input")
    tau = 0.1
    nengo.Connection(a, a, transform=[[1]], synapse=tau)
    nengo.Connection(stim, a, transform=[[tau]], synapse=tau)
    nengo.Probe(a, synapse=0.01, label="A")

with nengo.Simulator(model) as sim:
    sim.run(6.0)
