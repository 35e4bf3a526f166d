"""Brunel (2000) sparse balanced network, model A, as an nmcompiler network.

N_E = 10,000 excitatory and N_I = 2,500 inhibitory LIF neurons with delta synapses: every pair is
connected with probability epsilon = 0.1 (so C_E = 1000 and C_I = 250 inputs on average, as in
Brian2's ``Brunel_2000`` example), J = 0.1 mV, inhibitory weight -g J, delay D = 1.5 ms,
tau = 20 ms, theta = 20 mV, V_r = 10 mV, refractory 2 ms, dt = 0.1 ms. Regime C of the paper
(asynchronous irregular): g = 5, eta = nu_ext / nu_thr = 2 with nu_thr = theta / (J C_E tau).

External drive: each neuron receives C_E external synapses at nu_ext, a Poisson process of
C_E nu_ext = 20 kHz (two spikes per step on average), which one spike channel per step cannot
carry. It is split into ``k`` (default 20) Poisson channels per neuron at C_E nu_ext / k each,
weight J: the same mean; the per-step count is binomial (variance (1 - p) times the Poisson
variance, p = C_E nu_ext dt / k = 0.1 for k = 20). ``k=None``: one channel per neuron that sums
its C_E inputs (``PoissonSource.inputs``), a Binomial(C_E, nu_ext dt) count per step as Brian2's
``PoissonInput`` draws it (``benchmarks/brunel.py``; a target must then take several spikes of
one channel per step).

    from examples.brunel import build                 # or: python examples/brunel.py
    net = build(g=5.0, eta=2.0)
"""

from __future__ import annotations

N_E, N_I, EPSILON = 10_000, 2_500, 0.1
J, D, TAU, THETA, V_R, T_REF = 0.1e-3, 1.5e-3, 20e-3, 20e-3, 10e-3, 2e-3


def build(g: float = 5.0, eta: float = 2.0, scale: float = 1.0, k: int | None = 20, seed: int = 0, dt: float = 1e-4):
    """``scale`` shrinks both populations and the in-degrees with them (epsilon stays)."""
    from nmcompiler.frontends import connectors
    from nmcompiler.frontends.drives import add_poisson_drive
    from nmcompiler.streams import stream
    from nmcompiler.ir import LIF, Connectivity, Network, Population, Projection

    n_e, n_i = max(1, round(N_E * scale)), max(1, round(N_I * scale))
    c_e = EPSILON * n_e
    net = Network(f"brunel_g{g:g}_eta{eta:g}" + (f"_{scale:g}" if scale != 1 else ""), dt=dt, seed=seed)
    model = LIF(tau_mem=TAU, v_threshold=THETA, v_reset=V_R, refractory=T_REF)
    net.add(Population(name="E", size=n_e, model=model))
    net.add(Population(name="I", size=n_i, model=model))
    delay = int(round(D / dt))
    for source, n_pre, w in (("E", n_e, J), ("I", n_i, -g * J)):
        for target, n_post in (("E", n_e), ("I", n_i)):
            pre, post = connectors.fixed_probability(stream(seed, "brunel", source, target), n_pre, n_post, EPSILON)
            net.connect(Projection(name=f"{source}_{target}", pre=source, post=target,
                                   connectivity=Connectivity.from_coo(n_pre, n_post, pre, post, w, delay)))
    nu_thr = THETA / (J * c_e * TAU)
    for target in ("E", "I"):
        add_poisson_drive(net, f"ext_{target}", target, int(round(c_e)), eta * nu_thr, J, channels=k, summed=k is None)
    return net


if __name__ == "__main__":
    net = build()
    stats = net.stats()
    print(f"{net.name}: {stats.neurons} neurons, {stats.synapses} synapses")
