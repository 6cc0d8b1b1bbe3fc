"""The sparse core (architecture 2, rtl/core_sparse.v) on the golden model.

Its function is the dense core's on the listed synapses (rtl/README.md, "The
sparse core"), so the strongest check of its model is the dense model itself:
the same synapses written once as a matrix and once as lists must give the same
spikes and the same state words, traces and weights after every run, on random
programs with STDP, delays, inputs, and list layouts the host is free to choose
(shuffled rows, gaps, targets outside N_ACTIVE, columns that also list static
synapses).  The cycle count is checked against the budget recomputed here from
the events and list lengths.  The tests/rtl benches check the model against the
RTL.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import neurohw.pynn as sim
from neurohw.targets.fpga import CapacityError, CoreShape, quantize, run_on_model
from neurohw.targets.fpga import formats as F
from neurohw.targets.fpga import model as M
from neurohw.targets.fpga.model import CoreModel, SparseTableError, pack_inputs

from test_fpga_runner import random_network, spike_set

STATE = ("v", "i_exc", "i_inh", "refrac", "profile", "spiked", "post_trace", "pre_trace",
         "delay", "ring_count")


def at(region: int, offset: int) -> int:
    return region << F.REGION_SHIFT | offset


def sparse_of(shape: CoreShape, synapses: int, plastic: int) -> CoreShape:
    return dataclasses.replace(shape, architecture=F.ARCH_SPARSE, synapses=synapses,
                               plastic_synapses=plastic)


class Pair:
    """One random program, loaded into a dense and a sparse model: the dense matrix
    from the synapse list, the sparse rows at shuffled places with gaps between."""

    def __init__(self, seed: int, shape: CoreShape, density: float):
        rng = np.random.default_rng(seed)
        self.rng = rng
        n, s = shape.n_neurons, shape.n_sources
        self.dense = CoreModel(shape)
        self.sparse = CoreModel(sparse_of(shape, 2 * s * n, s * n))
        n_active = int(rng.integers(n // 2, n + 1))
        n_inputs = int(rng.integers(1, shape.n_inputs + 1))
        self.n_active, self.n_inputs = n_active, n_inputs
        stdp = int(rng.random() < 0.7)
        w = shape.weight_width
        regs = {F.REG_N_ACTIVE: n_active, F.REG_N_INPUTS: n_inputs, F.REG_STDP_ENABLE: stdp,
                F.REG_GAIN_SHIFT: int(rng.integers(6, 14)),
                F.REG_A_PLUS: int(rng.integers(0, 1 << 15)),
                F.REG_A_MINUS: int(rng.integers(0, 1 << 15)),
                F.REG_W_MIN: int(rng.integers(shape.weight_min, 1)) & ((1 << w) - 1),
                F.REG_W_MAX: int(rng.integers(1, shape.weight_max + 1)),
                F.REG_PRE_DECAY: int(rng.integers(50000, 65536)),
                F.REG_POST_DECAY: int(rng.integers(50000, 65536))}
        writes = [(at(F.REGION_CONTROL, r), value) for r, value in regs.items()]
        for p in range(F.NUM_PROFILES):
            fields = [rng.integers(40000, 65536), rng.integers(30000, 65536),
                      rng.integers(30000, 65536), rng.integers(0, 1 << 16),
                      rng.integers(0, 1 << 16), rng.integers(-2000, 4000),
                      rng.integers(1 << 14, 1 << 18), rng.integers(-(1 << 14), 1 << 12),
                      rng.integers(0, 4)]
            for field, value in enumerate(fields):
                width = F.PROFILE_FIELD_WIDTH[F.PROFILE_FIELDS[field]]
                writes.append((at(F.REGION_PROFILE, p << 4 | field), int(value) & ((1 << width) - 1)))
        for i in range(n):
            writes.append((at(F.REGION_CONTROL_WORD, i), int(rng.integers(0, F.NUM_PROFILES)) << 8))
            writes.append((at(F.REGION_V, i), int(rng.integers(-(1 << 16), 1 << 16)) & 0xFFFFFF))
        for src in range(s):
            writes.append((at(F.REGION_DELAY, src), int(rng.integers(0, shape.delay_depth))))
        for write in writes:
            self.dense.write(*write)
            self.sparse.write(*write)

        # synapses: any source (also inactive ones) onto any neuron (also inactive ones)
        self.conn = rng.random((s, n)) < density
        self.weight = rng.integers(shape.weight_min, shape.weight_max + 1, (s, n))
        self.plastic = rng.random((s, n)) < 0.6
        columns: dict[int, list[tuple[int, int]]] = {i: [] for i in range(n)}
        a = int(rng.integers(0, 8))
        order = rng.permutation(s)
        for src in order:
            targets = rng.permutation(np.flatnonzero(self.conn[src]))
            self.sparse.write(at(F.REGION_ROW, src), len(targets) << 20 | a)
            for t in targets:
                word = int(self.plastic[src, t]) << w | int(self.weight[src, t]) & ((1 << w) - 1)
                self.dense.write(at(F.REGION_WEIGHT, src << shape.neuron_bits | t), word)
                self.sparse.write(at(F.REGION_WEIGHT, a), int(t) << (w + 1) | word)
                if self.plastic[src, t] or rng.random() < 0.1:   # static ones may be listed too
                    columns[int(t)].append((int(src), a))
                a += 1
            a += int(rng.integers(0, 3))                        # gaps between rows
        q = 0
        for t in rng.permutation(n):
            entries = [columns[int(t)][i] for i in rng.permutation(len(columns[int(t)]))]
            self.sparse.write(at(F.REGION_COLUMN, int(t)), len(entries) << 20 | q)
            for src, addr in entries:
                self.sparse.write(at(F.REGION_COLUMN_INDEX, q), src << 20 | addr)
                q += 1

    def inputs(self, steps: int):
        return [list(self.rng.integers(0, self.n_inputs, self.rng.poisson(2)))
                for _ in range(steps)]

    def assert_equal(self, where):
        for name in STATE:
            assert np.array_equal(getattr(self.dense, name), getattr(self.sparse, name)), \
                (where, name)
        src, tgt = np.nonzero(self.conn)
        assert np.array_equal(self.dense.weights(src, tgt), self.sparse.weights(src, tgt)), where
        assert np.array_equal(self.dense.plastic_flags(src, tgt),
                              self.sparse.plastic_flags(src, tgt)), where


SHAPES = [CoreShape(16, 8, 8, 4), CoreShape(32, 16, 6, 8), CoreShape(64, 64, 16, 16)]


@pytest.mark.parametrize("seed", range(24))
def test_the_sparse_model_computes_what_the_dense_one_does_on_the_listed_synapses(seed):
    shape = SHAPES[seed % len(SHAPES)]
    pair = Pair(seed, shape, density=[0.05, 0.3, 0.7][seed % 3])
    for chunk in range(3):
        inputs = pair.inputs(60)
        dense = pair.dense.run(*pack_inputs(inputs))
        sparse = pair.sparse.run(*pack_inputs(inputs))
        assert np.array_equal(dense.fired, sparse.fired), (seed, chunk)
        assert np.array_equal(dense.fired_start, sparse.fired_start), (seed, chunk)
        assert np.array_equal(dense.events, sparse.events), (seed, chunk)
        pair.assert_equal((seed, chunk))
    assert pair.dense.regs[F.REG_DROPPED] == pair.sparse.regs[F.REG_DROPPED]


def test_a_step_costs_a_clock_per_listed_synapse_and_a_fixed_cost_per_event():
    pair = Pair(101, SHAPES[1], density=0.3)
    model = pair.sparse
    sh = model.shape
    rows = model.row >> 20
    columns = model.column >> 20
    stdp = int(model.regs[F.REG_STDP_ENABLE])
    for k in range(80):
        slot = int(model.regs[F.REG_STEP]) & (sh.delay_depth - 1)
        channels = pair.inputs(1)[0]
        for c in channels:
            model.write(at(F.REGION_CONTROL, F.REG_INJECT), int(c))
        due = model.ring[slot, :model.ring_count[slot]].copy()
        fired = model.step()
        s = pair.n_active + pair.n_inputs
        expected = (2 + len(due) * M.SPARSE_CYCLES_PER_EVENT + int(rows[due].sum())
                    + pair.n_active + M.PIPELINE_DRAIN_NEURON
                    + stdp * ((s + M.PIPELINE_DRAIN_DECAY)
                              + len(fired) * M.SPARSE_CYCLES_PER_POST_SPIKE
                              + int(columns[fired].sum())))
        assert model.last_cycles == expected, k
        assert model.read(at(F.REGION_CONTROL, F.REG_STEP_CYCLES)) == expected


def test_the_bus_reads_back_the_table_words_cut_to_their_widths():
    shape = sparse_of(CoreShape(16, 8, 8, 4), 256, 64)
    model = CoreModel(shape)
    model.write(at(F.REGION_ROW, 3), 5 << 20 | 0xFFF01)            # first cut to 8 bits
    assert model.read(at(F.REGION_ROW, 3)) == 5 << 20 | 0x01
    model.write(at(F.REGION_COLUMN, 2), 0xFFF << 20 | 0x7F)         # first cut to 6 bits
    assert model.read(at(F.REGION_COLUMN, 2)) == 0xFFF << 20 | 0x3F
    model.write(at(F.REGION_COLUMN_INDEX, 70), 0xFFF << 20 | 0x1234)  # source 5 bits, synapse 8
    assert model.read(at(F.REGION_COLUMN_INDEX, 6)) == 0x1F << 20 | 0x34
    model.write(at(F.REGION_WEIGHT, 0x1FF), 0xFFFFFFFF)             # target 4 bits
    assert model.read(at(F.REGION_WEIGHT, 0xFF)) == 0x1FFF
    for reg, value in ((F.REG_ARCHITECTURE, F.ARCH_SPARSE), (F.REG_SYNAPSES, 256),
                       (F.REG_PLASTIC_SYNAPSES, 64)):
        assert model.read(at(F.REGION_CONTROL, reg)) == value
    dense = CoreModel(CoreShape(16, 8, 8, 4))
    assert dense.read(at(F.REGION_CONTROL, F.REG_SYNAPSES)) == 0
    assert dense.read(at(F.REGION_ROW, 3)) == 0


def test_lists_the_pipeline_cannot_take_are_refused_by_name():
    shape = sparse_of(CoreShape(16, 8, 8, 4), 256, 64)
    model = CoreModel(shape)
    model.write(at(F.REGION_ROW, 20), 3 << 20 | 10)
    for a, target in zip(range(10, 13), (4, 7, 4)):
        model.write(at(F.REGION_WEIGHT, a), target << 9 | 1)
    with pytest.raises(SparseTableError, match="row of source 20 lists neuron 4 twice"):
        model.step()
    model.write(at(F.REGION_WEIGHT, 12), 5 << 9 | 1)
    model.write(at(F.REGION_COLUMN, 9), 2 << 20 | 40)
    model.write(at(F.REGION_COLUMN_INDEX, 40), 20 << 20 | 11)
    model.write(at(F.REGION_COLUMN_INDEX, 41), 3 << 20 | 11)
    with pytest.raises(SparseTableError, match="column of neuron 9 lists synapse 11 twice"):
        model.step()
    model.write(at(F.REGION_COLUMN_INDEX, 41), 3 << 20 | 12)
    model.step()


def test_shapes_of_the_sparse_core_are_checked():
    with pytest.raises(ValueError, match="synapses must be a power of two"):
        CoreShape(architecture=F.ARCH_SPARSE, synapses=1000, plastic_synapses=256)
    with pytest.raises(ValueError, match="<= 1024 on the sparse core"):
        CoreShape(2048, 256, architecture=F.ARCH_SPARSE, synapses=1024, plastic_synapses=256)
    with pytest.raises(ValueError, match="sparse core's"):
        CoreShape(synapses=1024)
    assert CoreShape(1024, 1024, architecture=F.ARCH_SPARSE, synapses=65536,
                     plastic_synapses=16384).n_sources == 2048


# ---- from PyNN: quantize builds the lists, the runner runs them -----------------------------
CORE = dict(n_neurons=64, n_inputs=32, weight_width=16)


@pytest.mark.parametrize("stdp", [False, True])
def test_a_pynn_network_gives_the_dense_cores_spikes_and_weights(stdp):
    results = {}
    for architecture in ("pipelined", "sparse"):
        options = dict(CORE, architecture=architecture)
        if architecture == "sparse":
            options.update(synapses=2048, plastic_synapses=1024)
        with sim.capture() as captured:
            sim.setup(timestep=0.1, target="fpga", **options)
            _, cells, feed = random_network(7, stdp=stdp)
            sim.run(200.0)
            results[architecture] = (spike_set(cells), feed.get("weight", format="array"),
                                     captured.runs[0].result.step_cycles)
        sim.end()
    dense, sparse = results["pipelined"], results["sparse"]
    assert len(dense[0]) > 100
    assert dense[0] == sparse[0]
    np.testing.assert_array_equal(dense[1], sparse[1])
    # the sparse core's steps follow the synapses that are there, not 2N x N
    assert sparse[2].sum() < dense[2].sum()


def test_quantize_names_the_list_that_overflows():
    with sim.capture() as captured:
        sim.setup(timestep=0.1, target="fpga", **CORE)
        random_network(7, stdp=True)
        sim.run(10.0)
    net = captured.runs[0].network
    n_synapses = sum(p.size for p in net.projections)
    n_plastic = sum(p.size for p in net.projections if p.plasticity is not None)
    base = sparse_of(CoreShape(**CORE), 4096, 4096)
    with pytest.raises(CapacityError) as info:
        quantize(net, dataclasses.replace(base, synapses=256))
    assert (info.value.resource, info.value.limit, info.value.demand) == (
        "synapses (the sparse core's synapse memory)", 256, n_synapses)
    with pytest.raises(CapacityError) as info:
        quantize(net, dataclasses.replace(base, plastic_synapses=64))
    assert (info.value.resource, info.value.limit, info.value.demand) == (
        "plastic synapses (the sparse core's column index)", 64, n_plastic)
    # rows by source and columns by neuron, as the program lays them out
    run = run_on_model(quantize(net, base))
    model = run.model
    listed = int((model.row >> 20).sum())
    assert listed == n_synapses and int((model.column >> 20).sum()) == n_plastic


def test_the_sparse_options_need_the_sparse_core():
    with pytest.raises(ValueError, match="give architecture='sparse'"):
        sim.setup(timestep=0.1, target="fpga", synapses=4096)
        sim.Population(1, sim.IF_curr_exp())
        sim.run(1.0)


# ---- a board with the sparse core (BoardModel: cmd_frontend.v with SPARSE = 1) ---------------
def sparse_network_program(seed: int):
    """A small PyNN network with STDP compiled for a 64-neuron sparse core."""
    with sim.capture() as captured:
        sim.setup(timestep=0.1, target="fpga", **CORE)
        random_network(seed, n_inputs=12, n_cells=24, stdp=True)
        sim.run(40.0)
    sim.end()
    shape = sparse_of(CoreShape(64, 32, 8, 16), 1024, 512)
    return quantize(dataclasses.replace(captured.runs[0].network, duration=200.0), shape)


def test_a_sparse_board_is_identified_loaded_through_the_bus_and_runs_as_the_model():
    from neurohw.targets.fpga.board import Board
    from neurohw.targets.fpga.board_model import BoardModel, ModelPort
    from neurohw.targets.fpga.link import Link
    from neurohw.targets.fpga.program import load_model
    from neurohw.targets.fpga.link import CommandFailed
    from neurohw.targets.fpga.protocol import Command, ErrorCode

    program = sparse_network_program(4)
    board_model = BoardModel(program.shape, clks_per_bit=4)
    port = ModelPort(board_model, latency=0.0005)
    board = Board(Link(port, window=32, reply_timeout=0.05, clock=port.clock))
    assert board.identify().shape == program.shape       # architecture and list sizes read back
    board.upload(program, verify=True)
    golden = load_model(program)
    steps = golden.run(*pack_inputs(program.inputs))
    run = board.run_program(program)
    assert run.spike_neurons.tolist() == steps.fired.tolist()
    assert run.step_cycles.tolist() == steps.cycles.tolist()
    assert len(steps.fired) > 25
    # the learned weights, read where the program listed them
    listed = np.flatnonzero(golden.row >> 20)
    address = np.concatenate([np.arange(int(golden.row[s]) & 0xFFFFF,
                                        (int(golden.row[s]) & 0xFFFFF) + int(golden.row[s] >> 20))
                              for s in listed])
    words = board.read_words([at(F.REGION_WEIGHT, int(a)) for a in address])
    assert words == [golden.synapse_word(int(a)) for a in address]
    assert any(golden.syn_weight[address] != load_model(program).syn_weight[address])
    # no (source, neuron) matrix on this core
    for cmd in (Command.READ_WEIGHTS_SPARSE, Command.READ_WEIGHTS_BULK):
        payload = b"\0\0\0\0" if cmd == Command.READ_WEIGHTS_SPARSE else b"\0\0\0\x01"
        with pytest.raises(CommandFailed) as nack:
            board._request(cmd, payload)
        assert nack.value.code == ErrorCode.UNKNOWN_COMMAND
    # the column index ends at PLASTIC_SYNAPSES
    with pytest.raises(CommandFailed) as nack:
        board.read_bus(at(F.REGION_COLUMN_INDEX, program.shape.plastic_synapses - 1), 2)
    assert nack.value.code == ErrorCode.OUT_OF_RANGE
    # RESET's weight bit empties the lists: the synapse words stay, nothing is listed
    board.reset(0x02)
    assert set(board.read_bus(at(F.REGION_ROW, 0), 63)) == {0}
    assert set(board.read_bus(at(F.REGION_COLUMN, 0), 63)) == {0}
    assert board.read_words([at(F.REGION_WEIGHT, int(address[0]))]) == \
        [golden.synapse_word(int(address[0]))]
