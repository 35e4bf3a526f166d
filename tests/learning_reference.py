"""A deliberately plain reference of the learning engine: Python ints, one synapse at a time.

Written from docs/datapath.md ("Learning"), independently of nmcompiler.sim.bit_plasticity and
nmcompiler.sim.plastic_layout, to check the compiled kernels. Neurons as in datapath_reference.
"""

from __future__ import annotations

from datapath_reference import step_neuron

TAPS = 0x80200003


class Lfsr:
    def __init__(self, seed: int, p: int):
        self.state = ((seed * 2654435761 + p + 1) & 0xFFFFFFFF) or 1

    def bits(self, k: int) -> int:
        self.state = (self.state >> 1) ^ TAPS if self.state & 1 else self.state >> 1
        u = self.state & ((1 << min(k, 32)) - 1)
        return u << (k - 32) if k > 32 else u


def rnd(v: int, k: int, stochastic: bool, lfsr: Lfsr) -> int:
    if k <= 0:
        return v << -k
    if stochastic:
        return (v + lfsr.bits(k)) >> k
    return (v + (1 << (k - 1))) >> k


class Plastic:
    """One plastic projection's state; ``offset``: where its source starts in the spike ids."""

    def __init__(self, q, lf, lfsr: Lfsr):
        self.q, self.lf, self.L, self.lfsr = q, lf, q.learning, lfsr
        self.syn = []  # [row, post, delay, m]
        for r in range(q.indptr.size - 1):
            for s in range(int(q.indptr[r]), int(q.indptr[r + 1])):
                d = int(q.delays) if q.delays.ndim == 0 else int(q.delays[s])
                self.syn.append([r, int(q.indices[s]), d, int(q.mantissa[s]) << lf.weight_frac_bits])
        self.x = [0] * (q.indptr.size - 1)
        self.y = {}
        self.c = [0] * len(self.syn)
        self.stoch = lf.rounding == "stochastic"

    def step_trace(self, v: int) -> int:
        return self.L.trace_inc if self.L.nearest else min(v + self.L.trace_inc, (1 << self.lf.trace_bits) - 1)

    def change(self, s: int, num: int, shift: int):
        L = self.L
        if L.eligible:
            hi = (1 << (self.lf.eligibility_bits - 1)) - 1
            self.c[s] = max(-hi - 1, min(hi, self.c[s] + rnd(num, shift - self.lf.eligibility_frac_bits, self.stoch,
                                                             self.lfsr)))
        else:
            self.syn[s][3] = max(L.m_min, min(L.m_max, self.syn[s][3] + rnd(num, shift, self.stoch, self.lfsr)))

    def delivered(self, s: int) -> int:
        wf, m = self.lf.weight_frac_bits, self.syn[s][3]
        return ((m + (1 << (wf - 1))) >> wf if wf else m) << self.q.exponent

    def arrive(self, row: int, d: int, deliver):
        L, first = self.L, True
        for s, (r, j, delay, m) in enumerate(self.syn):
            if r != row or delay != d:
                continue
            deliver(j, self.delivered(s))
            if first:
                self.x[r] = self.step_trace(self.x[r])
                first = False
            num, shift = L.a_minus * self.y.get(j, 0), L.shift
            if L.multiplicative:
                num, shift = num * (m - L.m_min) * L.inv_span, shift + 16
            if num:
                self.change(s, -num, shift)

    def post_spike(self, j: int):
        L = self.L
        self.y[j] = self.step_trace(self.y.get(j, 0))
        for s, (r, post, _, m) in enumerate(self.syn):
            if post != j:
                continue
            num, shift = L.a_plus * self.x[r], L.shift
            if L.multiplicative:
                num, shift = num * (L.m_max - m) * L.inv_span, shift + 16
            if num:
                self.change(s, num, shift)

    def reward(self, r: int):
        L = self.L
        for s in range(len(self.syn)):
            if self.c[s]:
                d = rnd(r * self.c[s], L.reward_frac_bits + self.lf.eligibility_frac_bits, self.stoch, self.lfsr)
                self.syn[s][3] = max(L.m_min, min(L.m_max, self.syn[s][3] + d))

    def epoch_end(self, n_post: int):
        F, L = self.lf.trace_decay_bits, self.L
        keep = lambda v, s: rnd(v * ((1 << F) - s), F, self.stoch, self.lfsr) if v else 0  # noqa: E731
        self.x = [keep(v, L.decay_pre) for v in self.x]
        self.y = {j: keep(self.y.get(j, 0), L.decay_post) for j in range(n_post)}
        if L.eligible:
            self.c = [keep(v, L.decay_eligibility) for v in self.c]


def run_learning_reference(fxp, steps: int, source_spikes: dict[str, list[tuple[int, int]]], seed: int):
    """Simulate a FixedPointNetwork with plastic projections; returns ``(spikes, weights)``:
    ``{pop: [(step, id)]}`` and ``{projection: [m in learning units, in its synapse order]}``."""
    fmt, net, R = fxp.format, fxp.network, max(1, fxp.format.receptors)
    plastic = {}
    for k, (name, q) in enumerate((n, q) for n, q in fxp.projections.items() if q.learning is not None):
        plastic[name] = Plastic(q, fxp.learning, Lfsr(seed, k))
    state = {(pop.name, j): {"v": int(fxp.populations[pop.name].v0[j]),
                             "i": [int(fxp.populations[pop.name].i0[k, j]) for k in range(R)], "ref": 0}
             for pop in net.populations for j in range(pop.size)}
    inbox: dict[tuple[int, str, int], list[int]] = {}
    sent: dict[int, list[tuple[str, int]]] = {}  # tick -> (node, channel) in sending order
    spikes = {p.name: [] for p in net.populations}
    max_delay = max([d for p in plastic.values() for _, _, d, _ in p.syn] or [1])
    for t in range(steps):
        for name, p in plastic.items():  # 1. arrivals
            q = p.q
            for d in range(1, max_delay + 1):
                for node, ch in sent.get(t - d, []):
                    if node == q.pre:
                        p.arrive(ch, d, lambda j, w, q=q: _add(inbox, (t, q.post, j), q.channel, w, R))
        fired = _neurons(fxp, state, inbox, t, fmt, R)  # 2. the neurons, spikes in index order
        for pop, j in fired:
            spikes[pop].append((t, j))
            _send(fxp, inbox, pop, j, t, R)
        here = [(pop, j) for pop, j in fired] + sorted((n, ch) for n, ev in source_spikes.items() for s, ch in ev
                                                       if s == t)
        for n, ch in sorted((n, ch) for n, ev in source_spikes.items() for s, ch in ev if s == t):
            _send(fxp, inbox, n, ch, t, R)
        for name, p in plastic.items():
            for pop, j in fired:
                if pop == p.q.post:
                    p.post_spike(j)
            L = p.L
            r = sum(int(v) for st, v in zip(L.reward_steps, L.reward_values) if st == t)
            r += sum(int(L.reward_amounts[ch]) for node, ch in here if node == L.reward_node)
            if r:
                p.reward(r)
        sent[t] = _source_order(net, here)
        for name, p in plastic.items():
            if (t + 1) % p.L.epoch == 0:
                p.epoch_end(fxp.populations[p.q.post].size)
    return spikes, {name: [m for _, _, _, m in p.syn] for name, p in plastic.items()}


def _source_order(net, here):
    """Neurons (populations in order, ascending), then source channels (sources in order)."""
    order = {n.name: k for k, n in enumerate(list(net.populations) + list(net.sources))}
    return sorted(here, key=lambda e: (order[e[0]], e[1]))


def _add(inbox, key, channel, w, R):
    inbox.setdefault(key, [0] * R)[channel] += w


def _send(fxp, inbox, pre, j, t, R):
    for q in fxp.projections.values():
        if q.pre != pre or q.learning is not None:
            continue
        for s in range(int(q.indptr[j]), int(q.indptr[j + 1])):
            d = int(q.delays) if q.delays.ndim == 0 else int(q.delays[s])
            _add(inbox, (t + d, q.post, int(q.indices[s])), q.channel, int(q.mantissa[s]) << q.exponent, R)


def _neurons(fxp, state, inbox, t, fmt, R):
    fired = []
    for pop in fxp.network.populations:
        p = fxp.populations[pop.name].params
        for j in range(pop.size):
            if step_neuron(state[(pop.name, j)], p, j, inbox.pop((t, pop.name, j), [0] * R), fmt, R):
                fired.append((pop.name, j))
    return fired
