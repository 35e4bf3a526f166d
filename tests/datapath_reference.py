"""A deliberately plain reference of the datapath contract: Python ints, one neuron at a time.

Written from docs/datapath.md, independently of nmcompiler.datapath, to check the vectorized code.
"""

from __future__ import annotations


def sat(x: int, bits: int) -> int:
    hi = (1 << (bits - 1)) - 1
    return max(-hi - 1, min(hi, x))


def rshift(x: int, k: int, rounding: str) -> int:
    if rounding == "floor":
        return x >> k
    if rounding == "nearest":
        return (x + (1 << (k - 1))) >> k if k > 0 else x
    return x >> k if x >= 0 else -((-x) >> k)


def decay(x: int, s: int, fmt) -> int:
    if fmt.decay == "multiply":
        return rshift(x * ((1 << fmt.decay_bits) - s), fmt.decay_bits, fmt.rounding)
    if fmt.decay == "shift":
        return x if s >= 63 else x - rshift(x, s, fmt.rounding)
    sign = (x > 0) - (x < 0)
    if fmt.decay == "bitshift":  # Xylo: the shifted value, or one unit toward zero where that is 0
        d = x >> s
        return x - (d if d != 0 else sign)
    return x - sign * min(abs(x), s)


def step_neuron(st: dict, p, j: int, inputs: list[int], fmt, R: int) -> bool:
    """One tick of neuron ``j`` (state ``st``: v, i, ref) with the summed ``inputs`` per channel;
    returns whether it spiked."""
    x = [sat(v, fmt.acc_bits) for v in inputs]
    if getattr(fmt, "order", "decay_first") == "input_first":
        return _input_first(st, p, j, x, fmt, R)
    if fmt.i_bits:
        st["i"] = [sat(decay(st["i"][k], int(p.decay_i[k, j]), fmt) + x[k], fmt.i_bits) for k in range(R)]
        drive = sat(rshift(sum(st["i"]), fmt.current_frac_bits, fmt.rounding), fmt.v_bits)
    else:
        drive = sat(sum(x), fmt.v_bits)
    if st["ref"] > 0:
        st["ref"] -= 1
        return False
    v = sat(sat(decay(st["v"], int(p.decay_v[j]), fmt) + drive, fmt.v_bits) + int(p.bias[j]), fmt.v_bits)
    if p.v_min is not None:  # the lower bound, after integration
        v = max(v, int(p.v_min[j]))
    th = int(p.threshold[j])
    spike = bool(p.spiking[j]) and (v >= th if fmt.compare == ">=" else v > th)
    if spike:
        v = sat(v - (th - int(p.v_reset[j])), fmt.v_bits) if p.subtract[j] else int(p.v_reset[j])
        st["ref"] = int(p.refractory[j])
    st["v"] = v
    return spike


def _input_first(st: dict, p, j: int, x: list[int], fmt, R: int) -> int:
    """Xylo's order (docs/datapath.md): currents take the input, then decay; the membrane adds its
    own decay step, the currents and the bias, saturating after each; then it spikes and subtracts
    its threshold while past it, up to max_spikes times. Returns the spike count."""
    st["i"] = [decay(sat(st["i"][k] + x[k], fmt.i_bits), int(p.decay_i[k, j]), fmt) for k in range(R)]
    drive = rshift(sum(st["i"]), fmt.current_frac_bits, fmt.rounding)
    change = sat(decay(st["v"], int(p.decay_v[j]), fmt) - st["v"], fmt.v_bits)
    change = sat(sat(change + drive, fmt.v_bits) + int(p.bias[j]), fmt.v_bits)
    v = sat(st["v"] + change, fmt.v_bits)
    if p.v_min is not None:
        v = max(v, int(p.v_min[j]))
    th, most = int(p.threshold[j]), 1 if p.max_spikes is None else int(p.max_spikes[j])
    count = 0
    while bool(p.spiking[j]) and count < most and (v >= th if fmt.compare == ">=" else v > th):
        count += 1
        if not p.subtract[j]:
            v = int(p.v_reset[j])
            break
        v = sat(v - (th - int(p.v_reset[j])), fmt.v_bits)
    st["v"] = v
    return count


def run_reference(fxp, steps: int, source_spikes: dict[str, list[tuple[int, int]]]):
    """Simulate a FixedPointNetwork; ``source_spikes[name]`` = [(step, channel)]. Returns {pop: [(step, id)]}."""
    fmt = fxp.format
    net = fxp.network
    R = max(1, fmt.receptors)
    neurons = []  # (pop, index)
    state = {}
    for pop in net.populations:
        q = fxp.populations[pop.name]
        for j in range(pop.size):
            key = (pop.name, j)
            neurons.append(key)
            state[key] = {"v": int(q.v0[j]), "i": [int(q.i0[k, j]) for k in range(R)], "ref": 0}
    inbox: dict[tuple[int, str, int], list[int]] = {}  # (step, pop, neuron) -> per-channel sums

    def send(pre: str, j: int, t: int):
        for q in fxp.projections.values():
            if q.pre != pre:
                continue
            for s in range(int(q.indptr[j]), int(q.indptr[j + 1])):
                d = int(q.delays) if q.delays.ndim == 0 else int(q.delays[s])
                box = inbox.setdefault((t + d, q.post, int(q.indices[s])), [0] * R)
                box[q.channel] += int(q.mantissa[s]) << q.exponent

    spikes = {p.name: [] for p in net.populations}
    for t in range(steps):
        fired = []
        for key in neurons:
            pop, j = key
            count = int(step_neuron(state[key], fxp.populations[pop].params, j, inbox.pop((t, pop, j), [0] * R),
                                    fmt, R))
            fired += [key] * count
        for pop, j in fired:
            spikes[pop].append((t, j))
            send(pop, j, t)
        for name, events in source_spikes.items():
            for step, ch in events:
                if step == t:
                    send(name, ch, t)
    return spikes
