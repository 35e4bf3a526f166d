"""The compact synapse table of the compiled simulators (nmcompiler.sim.rows): 16-bit offsets in
blocks of target entries, weights and delays a row shares stored once. Delivery through it must
add exactly what the plain table adds, in the same order per ring entry (float sums bit for bit)."""

import numpy as np
import pytest

from nmcompiler.lowered import SynapseTable
from nmcompiler.sim.rows import BY_BLOCK_ABOVE, HEAD_EMPTY, HEAD_UNIT, block_bases, compact_rows, deliver, row_events


def _table(rng, n_pre, entries, per_row, weights="mixed", delays="mixed", comp=0):
    """A random CSR table onto ``entries`` ring entries (plus ``comp`` compartment targets)."""
    lengths = rng.integers(0, per_row + 1, n_pre)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    target = rng.integers(0, entries + comp, indptr[-1])
    if weights == "mixed":
        weight = rng.normal(0, 1, indptr[-1])
    else:  # one weight per row
        weight = np.repeat(rng.normal(0, 1, n_pre), lengths)
    delay = (rng.integers(1, 5, indptr[-1]) if delays == "mixed"
             else np.broadcast_to(np.int64(2), target.shape))
    return indptr, target, weight, delay


def _csr(indptr, target, weight, delay) -> SynapseTable:
    return SynapseTable(indptr=indptr, target=target, weight=weight, delay=delay,
                        max_delay=int(np.max(delay, initial=1)))


def _plain(ring, indptr, target, weight, delay, pres, sent, n_slots, stride, comp=None):
    """The plain table's delivery, one synapse at a time in table order."""
    d = np.broadcast_to(delay, target.shape)
    for pre in pres:
        for s in range(indptr[pre], indptr[pre + 1]):
            t, dd = int(target[s]), int(d[s])
            if comp is not None and t >= stride:
                t, dd = int(comp[t - stride]), dd + 1
            ring[((sent + dd) % n_slots) * stride + t] += weight[s]


@pytest.mark.parametrize("order", ["row", "block"])
@pytest.mark.parametrize("weights,delays", [("mixed", "mixed"), ("row", "shared"), ("row", "mixed")])
@pytest.mark.parametrize("chunks,channels,size", [(1, 1, 65536), (1, 2, 7), (3, 2, 5), (2, 1, 16)])
def test_delivery_equals_the_plain_table_bit_for_bit(weights, delays, chunks, channels, size, order):
    rng = np.random.default_rng(chunks * 100 + channels * 10 + size)
    n, n_pre, n_slots = 40, 30, 6
    stride = channels * n
    indptr, target, weight, delay = _table(rng, n_pre, stride, 12, weights, delays)
    bounds = np.linspace(0, n, chunks + 1).round().astype(np.int64)
    rows = compact_rows(_csr(indptr, target, weight, delay), n, channels, bounds, size)
    assert rows.target.dtype == np.uint16 and (rows.weight.size == 0) == (weights == "row")
    assert (rows.delay.size == 0) == (delays == "shared")
    got, want = np.zeros(n_slots * stride), np.zeros(n_slots * stride)
    assert rows.chunk_blocks.tolist() == block_bases(bounds, n, channels, size)[1].tolist()
    assert rows.by_block == (channels * n / chunks > BY_BLOCK_ABOVE * size)
    rows = rows._replace(by_block=order == "block")  # both orders, whichever the sizes choose
    assert (rows.blocks == 1) == (size == 65536)  # one window, or several: both delivery paths
    events = 0
    for step in range(8):
        pres = rng.choice(n_pre, 10, replace=False).astype(np.int64)
        for c in range(chunks):  # each chunk delivers onto its own blocks
            events += deliver(got, rows, pres, step % n_slots, n_slots, stride, c)
        _plain(want, indptr, target, weight, delay, pres, step % n_slots, n_slots, stride)
        assert row_events(rows, pres) == int(np.sum(indptr[pres + 1] - indptr[pres]))
    assert np.any(want != 0) and events > 100
    assert np.array_equal(got, want)  # the same float additions in the same order per entry


@pytest.mark.parametrize("kind", ["float", "int"])
@pytest.mark.parametrize("delays", ["mixed", "shared"])
@pytest.mark.parametrize("chunks,size,order", [(1, 65536, "row"), (2, 65536, "row"), (2, 7, "row"), (2, 7, "block")])
def test_rows_of_one_synapse_or_none_deliver_through_their_head_words(kind, delays, chunks, size, order):
    """Poisson drives' rows (one channel, one target): each row's head word packs its one synapse
    (offset, delay, an integer weight) or says it is empty; delivery adds what the plain table adds."""
    rng = np.random.default_rng(chunks * 10 + size + (kind == "int"))
    n, n_pre, n_slots = 40, 200, 6
    indptr, target, weight, delay = _table(rng, n_pre, n, 1, "mixed", delays)
    indptr[-1] = indptr[-2] + 3  # one longer row: it is read the usual way
    target = np.concatenate([target, [1, 2, 1]])  # in one block of every size
    weight = np.concatenate([weight, rng.normal(0, 1, 3)])
    delay = (np.concatenate([delay, [1, 2, 3]]) if delays == "mixed" else np.broadcast_to(np.int64(2), target.shape))
    if kind == "int":
        weight = np.rint(weight * 1000).astype(np.int64)
        weight[0] = -(1 << 20)  # a weight beyond 16 bits survives the packing
    bounds = np.linspace(0, n, chunks + 1).round().astype(np.int64)
    rows = compact_rows(_csr(indptr, target, weight, delay), n, 1, bounds, size, weight_type=np.int32 if kind == "int" else None)
    rows = rows._replace(by_block=order == "block")
    words = rows.head[np.diff(rows.ptr) == 1]
    assert rows.head.size == rows.row_weight.size and np.all(words & HEAD_UNIT)
    assert np.all(rows.head[np.diff(rows.ptr) == 0] == HEAD_EMPTY) and np.count_nonzero(rows.head == 0) >= 1
    dtype = np.int64 if kind == "int" else np.float64
    got, want = np.zeros(n_slots * n, dtype), np.zeros(n_slots * n, dtype)
    events = expected = 0
    for step in range(8):
        pres = rng.choice(n_pre, 60).astype(np.int64)  # repeats too: a row delivers each time
        for c in range(chunks):
            events += deliver(got, rows, pres, step % n_slots, n_slots, n, c)
        _plain(want, indptr, target, weight, delay, pres, step % n_slots, n_slots, n)
        expected += int(np.sum(indptr[pres + 1] - indptr[pres]))
    assert events == expected > 100 and np.any(want != 0)
    assert np.array_equal(got, want)


def test_short_rows_get_no_head_words_when_few_rows_are_short():
    rng = np.random.default_rng(5)
    indptr, target, weight, delay = _table(rng, 30, 40, 12)
    indptr[1:] = np.cumsum(np.full(30, 5))  # rows of five synapses
    target, weight = target[:150], weight[:150]
    delay = delay[:150]
    rows = compact_rows(_csr(indptr, target, weight, delay), 40, 1, np.array([0, 40]), 65536)
    assert rows.head.size == 0


def test_windows_cover_each_chunks_entries_and_may_take_several_channels():
    bounds = np.array([0, 10, 23], dtype=np.int64)
    base, first = block_bases(bounds, 23, 2, 4)
    for c in range(2):  # chunk c: every entry it owns lies in exactly one of its windows
        mine = base[first[c]:first[c + 1]]
        owned = [k * 23 + j for k in range(2) for j in range(bounds[c], bounds[c + 1])]
        assert np.all(np.diff(mine) >= 4)  # windows do not overlap
        assert all(np.count_nonzero((mine <= e) & (e < mine + 4)) == 1 for e in owned)
    assert base[first[0]:first[1]].tolist() == [0, 4, 8, 23, 27, 31]  # 8..11 holds entries 8, 9 only
    wide = block_bases(bounds, 23, 2, 40)  # a window wide enough takes both channels' ranges
    assert wide[0].tolist() == [0, 10] and wide[1].tolist() == [0, 1, 2]


def test_compartment_synapses_move_to_their_neuron_one_tick_later():
    rng = np.random.default_rng(3)
    n, n_pre, n_slots, comps = 20, 15, 7, 6
    indptr, target, weight, delay = _table(rng, n_pre, n, 8, "row", "shared", comp=comps)
    comp_target = rng.integers(0, n, comps)
    assert np.any(target >= n)
    rows = compact_rows(_csr(indptr, target, weight, delay), n, 1, np.array([0, n]), 8, comp_target)
    assert rows.delay.size > 0 and set(rows.delay.tolist()) <= {2, 3}  # delays now differ within rows
    got, want = np.zeros(n_slots * n), np.zeros(n_slots * n)
    pres = np.arange(n_pre, dtype=np.int64)
    deliver(got, rows, pres, 0, n_slots, n, 0)
    _plain(want, indptr, target, weight, delay, pres, 0, n_slots, n, comp_target)
    assert np.any(want[3 * n:4 * n] != 0) and np.array_equal(got, want)


def test_integer_weights_are_stored_narrow_and_rows_share_them():
    indptr = np.array([0, 3, 3, 5], dtype=np.int64)
    target = np.array([4, 1, 4, 0, 2])
    weight = np.array([7, 7, 7, -300, -300], dtype=np.int64)
    rows = compact_rows(_csr(indptr, target, weight, np.array(1)), 5, 1, np.array([0, 5]), 8, weight_type=np.int16)
    assert rows.weight.size == 0 and rows.row_weight.dtype == np.int16
    assert rows.row_weight[[0, 2]].tolist() == [7, -300] and rows.row_delay[[0, 2]].tolist() == [1, 1]
    ring = np.zeros(2 * 5, dtype=np.int32)
    assert deliver(ring, rows, np.array([2, 0, 1, 0]), 0, 2, 5, 0) == 8
    assert ring[5:].tolist() == [-300, 14, -300, 0, 28]  # row 0 twice: 7 on 1, 7 twice on 4, twice
    with pytest.raises(ValueError, match="block size"):
        compact_rows(_csr(indptr, target, weight, np.array(1)), 5, 1, np.array([0, 5]), 1 << 17)


def test_simulators_report_their_traffic():
    """What benchmarks/bounds.py divides by: the compact table's bytes per synapse (16-bit targets,
    CUBA's rows each share a weight in the float table) and the least bytes a neuron update moves."""
    from pathlib import Path

    from nmcompiler import load_network
    from nmcompiler.datapath import load_format
    from nmcompiler.passes import Quantize
    from nmcompiler.sim import FloatSimulator
    from nmcompiler.sim.bit_sim import BitAccurateSimulator

    net = load_network(Path(__file__).resolve().parent.parent / "examples" / "cuba.yaml")
    fl = FloatSimulator(net)
    fl.run(5)
    t = fl.traffic()
    assert t.synapses == net.stats().synapses and t.neurons == 4000 and t.threads == 1
    assert 2.0 <= t.bytes_per_synapse < 2.5  # no weight per synapse: rows share theirs
    assert t.update_bytes == 16 + 16 + 2 * (16 + 16)  # v, refractory count; 2 channels: current, ring
    bit = BitAccurateSimulator(Quantize(fmt=load_format("fpga-lif")).run(net))
    with pytest.raises(ValueError, match="run the compiled simulator first"):
        bit.traffic()
    bit.run(5)
    tb = bit.traffic()
    assert tb.synapses == t.synapses and tb.table_bytes == bit._tables[1][1].nbytes
    assert tb.update_bytes == 2 * 4 + 2 * 4 + 2 * (2 * 4 + 2 * 4) and tb.ring_block_bytes == 4 * 2 * 4000
    assert tb.to_dict()["state_bytes"] == tb.update_bytes * 4000 // 2


def test_the_float_simulator_keeps_only_its_compact_table():
    """After a compiled run the full table (24 bytes per synapse) is released; a run that tracks
    ranges (the numpy path) rebuilds it and gives the same spikes."""
    from pathlib import Path

    from nmcompiler import load_network
    from nmcompiler.sim import FloatSimulator

    sim = FloatSimulator(load_network(Path(__file__).resolve().parent.parent / "examples" / "cuba.yaml"))
    compiled = sim.run(300)
    assert sim._syn is None and sim._rows is not None
    tracked = sim.run(300, track_ranges=True)
    assert sim._syn is not None and sum(compiled.spike_counts().values()) > 500
    for pop in compiled.spike_ids:
        assert np.array_equal(compiled.spike_ids[pop], tracked.spike_ids[pop])
        assert np.array_equal(compiled.spike_steps[pop], tracked.spike_steps[pop])


@pytest.mark.parametrize("chunks,size,order", [(1, 65536, "row"), (2, 7, "row"), (2, 7, "block")])
def test_the_longest_delay_may_equal_the_slot_count(chunks, size, order):
    """The compiled bit-accurate kernel keeps ``max_delay`` slots (not one more): a spike of the longest
    delay lands in its sending slot, which that tick's update has read already."""
    rng = np.random.default_rng(7)
    n, n_pre, n_slots = 40, 30, 4
    indptr, target, weight, _ = _table(rng, n_pre, n, 12, "row", "shared")
    delay = rng.integers(1, n_slots + 1, target.size)
    assert delay.max() == n_slots
    bounds = np.linspace(0, n, chunks + 1).round().astype(np.int64)
    rows = compact_rows(_csr(indptr, target, weight, delay), n, 1, bounds, size)._replace(by_block=order == "block")
    got, want = np.zeros(n_slots * n), np.zeros(n_slots * n)
    for step in range(6):
        pres = np.sort(rng.choice(n_pre, 12, replace=False)).astype(np.int64)  # more than the prefetch distances
        for c in range(chunks):
            deliver(got, rows, pres, step % n_slots, n_slots, n, c)
        _plain(want, indptr, target, weight, delay, pres, step % n_slots, n_slots, n)
    assert np.any(want != 0)
    assert np.array_equal(got, want)


@pytest.mark.parametrize("widest", [0, 3, 12])
def test_block_cells_give_every_entrys_block(widest):
    """The compact table finds a target's block in cells holding at most one change of block."""
    from nmcompiler.sim.rows import _cells

    rng = np.random.default_rng(widest)
    for lengths in ([70000, 3, 1, 40000, 9000], rng.integers(1, 50, 200), [5000]):
        block_of = np.repeat(rng.permutation(len(lengths)), lengths).astype(np.int32)
        shift, first, change, after = _cells(block_of, widest)
        assert 2 ** shift <= max(1, min(lengths[:-1], default=2 ** widest)) and shift <= widest
        t = np.arange(block_of.size)
        c = t >> shift
        np.testing.assert_array_equal(np.where(t >= change[c], after[c], first[c]), block_of)
