"""cocotb unit benches: each leaf module of rtl/ against its golden-model function.

Inputs are random with a bias toward the corners (0, +-1, the extremes of each
width), where rounding and saturation bugs live.  The seed comes from
BENCH_SEEDS (first entry) and is printed on failure.  The pipelined leaves
(syn_decay, trace_update, stdp_update, lif_neuron_update) take a new vector
every clock and are checked LATENCY clocks later (class Pipelined).
"""
from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer

from neurohw.targets.fpga import model as M

VECTORS = int(os.environ.get("BENCH_VECTORS", "3000"))
# clocks from a pipelined leaf's inputs to its outputs (the LATENCY in each module's header)
LATENCY = {"syn_decay": 1, "trace_update": 1, "stdp_update": 2, "lif_neuron_update": 3}


def bench_seed() -> int:
    return int(os.environ["BENCH_SEEDS"].split(",")[0])


class Corners:
    """Random integers of a given width, one draw in four from the corners."""

    def __init__(self, rng):
        self.rng = rng

    def signed(self, width: int) -> int:
        lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
        if self.rng.random() < 0.25:
            return int(self.rng.choice([lo, lo + 1, -1, 0, 1, hi - 1, hi]))
        return int(self.rng.integers(lo, hi + 1))

    def unsigned(self, width: int) -> int:
        hi = (1 << width) - 1
        if self.rng.random() < 0.25:
            return int(self.rng.choice([0, 1, hi - 1, hi]))
        return int(self.rng.integers(0, hi + 1))


async def settle():
    await Timer(1, unit="ns")


def check(seed, name, vector, got, want):
    assert got == want, f"seed {seed}: {name}{vector}: RTL {got} model {want}"


class Pipelined:
    """The vectors in flight in one pipelined leaf: ``apply`` is called once per
    clock, just before the rising edge, with the inputs and the model's answer;
    ``check`` just after that edge compares the outputs with the answer of the
    vector applied LATENCY - 1 clocks earlier (the outputs after the edge that
    follows ``apply`` belong to the vector applied at that edge for LATENCY 1)."""

    def __init__(self, seed, name):
        self.seed, self.name, self.latency = seed, name, LATENCY[name]
        self.in_flight: list[tuple[tuple, object]] = []
        self.checked = 0

    def apply(self, vector, want):
        self.in_flight.append((vector, want))

    def check(self, got):
        if len(self.in_flight) < self.latency:
            return
        vector, want = self.in_flight.pop(0)
        check(self.seed, self.name, vector, got, want)
        self.checked += 1


def start_clock(dut):
    Clock(dut.clk_i, 10, unit="ns").start()


@cocotb.test()
async def saturate_and_decay(dut):
    seed = bench_seed()
    c = Corners(np.random.default_rng(seed))
    start_clock(dut)
    await FallingEdge(dut.clk_i)
    decay = Pipelined(seed, "syn_decay")
    for _ in range(VECTORS):
        value = c.signed(43)
        dut.sat_value_i.value = value
        x, r = c.signed(24), c.unsigned(16)
        dut.dec_value_i.value = x
        dut.dec_retention_i.value = r
        decay.apply((x, r), M.syn_decay(x, r))
        await settle()
        check(seed, "saturate", (value,), dut.sat_value_o.value.to_signed(), M.saturate(value, 24))
        await FallingEdge(dut.clk_i)
        decay.check(dut.dec_value_o.value.to_signed())
    assert decay.checked >= VECTORS - LATENCY["syn_decay"]


@cocotb.test()
async def syn_deliver(dut):
    seed = bench_seed()
    c = Corners(np.random.default_rng(seed))
    for _ in range(VECTORS):
        w3, w16, i_exc, i_inh = c.signed(3), c.signed(16), c.signed(24), c.signed(24)
        dut.dlv3_weight_i.value = w3
        dut.dlv16_weight_i.value = w16
        dut.dlv_i_exc_i.value = i_exc
        dut.dlv_i_inh_i.value = i_inh
        await settle()
        check(seed, "syn_deliver[3]", (w3, i_exc, i_inh),
              (dut.dlv3_i_exc_o.value.to_signed(), dut.dlv3_i_inh_o.value.to_signed()),
              M.syn_deliver(w3, i_exc, i_inh, 3))
        check(seed, "syn_deliver[16]", (w16, i_exc, i_inh),
              (dut.dlv16_i_exc_o.value.to_signed(), dut.dlv16_i_inh_o.value.to_signed()),
              M.syn_deliver(w16, i_exc, i_inh, 16))


@cocotb.test()
async def lif_neuron_update(dut):
    seed = bench_seed()
    rng = np.random.default_rng(seed)
    c = Corners(rng)
    ports = ("v", "i_exc", "i_inh", "refrac", "v_decay", "exc_decay", "inh_decay",
             "exc_gain", "inh_gain", "gain_shift", "bias", "v_thresh", "v_reset",
             "refrac_steps")
    start_clock(dut)
    await FallingEdge(dut.clk_i)
    lif = Pipelined(seed, "lif_neuron_update")
    spikes = 0
    for _ in range(VECTORS):
        inputs = {
            "v": c.signed(24), "i_exc": c.signed(24), "i_inh": c.signed(24),
            "refrac": c.unsigned(8) if rng.random() < 0.3 else 0,
            "v_decay": c.unsigned(16), "exc_decay": c.unsigned(16), "inh_decay": c.unsigned(16),
            "exc_gain": c.unsigned(16), "inh_gain": c.unsigned(16),
            "gain_shift": c.unsigned(6), "bias": c.signed(24),
            "v_thresh": c.signed(24), "v_reset": c.signed(24), "refrac_steps": c.unsigned(8),
        }
        for name in ports:
            getattr(dut, f"lif_{name}_i").value = inputs[name]
        lif.apply(tuple(inputs.values()), M.lif_neuron_update(*(inputs[name] for name in ports)))
        await FallingEdge(dut.clk_i)
        got = (dut.lif_v_o.value.to_signed(), dut.lif_i_exc_o.value.to_signed(),
               dut.lif_i_inh_o.value.to_signed(), dut.lif_refrac_o.value.to_unsigned(),
               int(dut.lif_spike_o.value))
        before = lif.checked
        lif.check(got)
        if lif.checked > before:
            spikes += got[4]
    assert lif.checked == VECTORS - LATENCY["lif_neuron_update"] + 1
    # the random inputs must exercise both outcomes of the threshold
    assert 0 < spikes < lif.checked, f"seed {seed}: {spikes} spikes in {lif.checked} vectors"


@cocotb.test()
async def lif_neuron_seq(dut):
    """The sequential neuron update (core_compact.v) against the same model function:
    one neuron per start, its profile fields served as a synchronous RAM would (the
    field named by field_o in one clock arrives on field_i in the next), the u16 and
    u8 fields with random bits above their width (the profile RAM keeps the 24 bits
    a host wrote).  Each result is taken in the clock of its strobe (v 11, i_exc 14,
    i_inh, refrac and the spike 16 clocks after start), and from the clock after a
    strobe its input is replaced by noise, as a RAM that has just been written (with
    an undefined read of the written word) may show: the results must not depend on it."""
    seed = bench_seed()
    rng = np.random.default_rng(seed)
    c = Corners(rng)
    start_clock(dut)
    dut.rst_ni.value = 0
    dut.seq_start_i.value = 0
    await FallingEdge(dut.clk_i)
    dut.rst_ni.value = 1
    await FallingEdge(dut.clk_i)
    fields = ("v_decay", "exc_decay", "inh_decay", "exc_gain", "inh_gain", "bias", "v_thresh",
              "v_reset", "refrac_steps")
    strobes = {"v": 11, "i_exc": 14, "i_inh": 16}
    spikes = checked = 0
    for _ in range(VECTORS // 8):
        state = {"v": c.signed(24), "i_exc": c.signed(24), "i_inh": c.signed(24),
                 "refrac": c.unsigned(8) if rng.random() < 0.3 else 0,
                 "gain_shift": c.unsigned(6)}
        profile = {name: c.unsigned(16) for name in fields[:5]}
        profile.update(bias=c.signed(24), v_thresh=c.signed(24), v_reset=c.signed(24),
                       refrac_steps=c.unsigned(8))
        words = [(profile[name] & 0xFFFFFF) if name in ("bias", "v_thresh", "v_reset")
                 else profile[name] | int(rng.integers(0, 1 << 24)) & ~((1 << (8 if name ==
                 "refrac_steps" else 16)) - 1) & 0xFFFFFF
                 for name in fields]
        want = M.lif_neuron_update(state["v"], state["i_exc"], state["i_inh"], state["refrac"],
                                   *(profile[name] for name in fields[:5]), state["gain_shift"],
                                   *(profile[name] for name in fields[5:]))
        for name, value in state.items():
            getattr(dut, f"seq_{name}_i").value = value
        dut.seq_start_i.value = 1
        requested = dut.seq_field_o.value.to_unsigned()   # micro-op 0's request, seen while idle
        got, seen = {}, {}
        for clock in range(1, 20):
            await FallingEdge(dut.clk_i)   # micro-op `clock` from here to the next rising edge
            dut.seq_start_i.value = 0
            dut.seq_field_i.value = words[requested] if requested < len(words) else 0
            requested = dut.seq_field_o.value.to_unsigned()
            await settle()
            for name, strobe in (("v", dut.seq_v_valid_o), ("i_exc", dut.seq_i_exc_valid_o),
                                 ("i_inh", dut.seq_i_inh_valid_o)):
                if strobe.value == 1:
                    port = dut.seq_v_o if name == "v" else dut.seq_current_o
                    got[name], seen[name] = port.value.to_signed(), clock
            if dut.seq_done_o.value == 1:
                got["refrac"], got["spike"] = (dut.seq_refrac_o.value.to_unsigned(),
                                               int(dut.seq_spike_o.value))
                seen["done"] = clock
                break
            # a word written in this clock: from now on the RAM may show anything
            for name in ("v", "i_exc"):
                if seen.get(name) == clock:
                    getattr(dut, f"seq_{name}_i").value = c.signed(24)
        assert seen == dict(strobes, done=16), f"seed {seed}: strobes at clocks {seen}"
        result = (got["v"], got["i_exc"], got["i_inh"], got["refrac"], got["spike"])
        check(seed, "lif_neuron_seq", (state, profile), result, tuple(int(x) for x in want))
        spikes += got["spike"]
        checked += 1
        await FallingEdge(dut.clk_i)   # back to idle
    assert 0 < spikes < checked, f"seed {seed}: {spikes} spikes in {checked} vectors"


@cocotb.test()
async def trace_and_stdp(dut):
    seed = bench_seed()
    c = Corners(np.random.default_rng(seed))
    start_clock(dut)
    await FallingEdge(dut.clk_i)
    trace_unit = Pipelined(seed, "trace_update")
    stdp3, stdp16 = Pipelined(seed, "stdp_update"), Pipelined(seed, "stdp_update")
    for _ in range(VECTORS):
        trace, jump, decay, r = c.unsigned(16), c.unsigned(1), c.unsigned(1), c.unsigned(16)
        dut.trc_trace_i.value = trace
        dut.trc_jump_i.value = jump
        dut.trc_decay_en_i.value = decay
        dut.trc_retention_i.value = r
        trace_unit.apply((trace, jump, decay, r), M.trace_update(trace, jump, decay, r))
        s_trace, amplitude, potentiate = c.unsigned(16), c.unsigned(16), c.unsigned(1)
        w3, lo3, hi3 = c.signed(3), c.signed(3), c.signed(3)
        w16, lo16, hi16 = c.signed(16), c.signed(16), c.signed(16)
        dut.stdp_trace_i.value = s_trace
        dut.stdp_amplitude_i.value = amplitude
        dut.stdp_potentiate_i.value = potentiate
        dut.stdp3_weight_i.value = w3
        dut.stdp3_w_min_i.value = lo3
        dut.stdp3_w_max_i.value = hi3
        dut.stdp16_weight_i.value = w16
        dut.stdp16_w_min_i.value = lo16
        dut.stdp16_w_max_i.value = hi16
        stdp3.apply((w3, s_trace, amplitude, potentiate, lo3, hi3),
                    M.stdp_update(w3, s_trace, amplitude, potentiate, lo3, hi3))
        stdp16.apply((w16, s_trace, amplitude, potentiate, lo16, hi16),
                     M.stdp_update(w16, s_trace, amplitude, potentiate, lo16, hi16))
        await FallingEdge(dut.clk_i)
        trace_unit.check(dut.trc_trace_o.value.to_unsigned())
        stdp3.check(dut.stdp3_weight_o.value.to_signed())
        stdp16.check(dut.stdp16_weight_o.value.to_signed())
    assert trace_unit.checked == VECTORS and stdp16.checked == stdp3.checked == VECTORS - 1


@cocotb.test()
async def delay_ring(dut):
    """Random pushes, pops and clears against model.ring_push on 8 slots of 16; every pop
    of an entry in its slot's list is checked."""
    seed = bench_seed()
    rng = np.random.default_rng(seed)
    depth, capacity = 8, 16
    ring = np.zeros((depth, capacity), dtype=np.int64)
    count = np.zeros(depth, dtype=np.int64)
    Clock(dut.clk_i, 10, unit="ns").start()
    dut.ring_push_i.value = 0
    dut.ring_clear_i.value = 0
    dut.rst_ni.value = 0
    await FallingEdge(dut.clk_i)
    dut.rst_ni.value = 1
    expected_source = None
    refused = pops_checked = 0
    for cycle in range(VECTORS):
        push = int(rng.random() < 0.7)
        clear = int(not push and rng.random() < 0.3)
        push_slot, source = int(rng.integers(0, depth)), int(rng.integers(0, capacity))
        pop_slot, pop_index = int(rng.integers(0, depth)), int(rng.integers(0, capacity))
        dut.ring_push_i.value = push
        dut.ring_push_slot_i.value = push_slot
        dut.ring_push_source_i.value = source
        dut.ring_pop_slot_i.value = pop_slot
        dut.ring_pop_index_i.value = pop_index
        dut.ring_clear_i.value = clear
        await settle()
        where = f"seed {seed}, cycle {cycle}"
        assert int(dut.ring_push_full_o.value) == int(count[push_slot] == capacity), where
        assert dut.ring_pop_count_o.value.to_unsigned() == count[pop_slot], where
        if expected_source is not None:
            assert dut.ring_pop_source_o.value.to_unsigned() == expected_source, where
            pops_checked += 1
        # an entry in the list, as it was before this edge's write (the list RAM is
        # ram_1r1w_nrw: a read of an entry not yet pushed, which may be the word being
        # written, is undefined, and the cores never use one)
        expected_source = (int(ring[pop_slot, pop_index]) if pop_index < count[pop_slot]
                           else None)
        if push:
            refused += M.ring_push(ring, count, push_slot, source)
        if clear:
            count[pop_slot] = 0
        await FallingEdge(dut.clk_i)
    assert refused > 0, f"seed {seed}: the stimulus never filled a slot"
    assert pops_checked > VECTORS // 4, f"seed {seed}: {pops_checked} pops checked"


@cocotb.test()
async def counter_pair(dut):
    """counter_pair: both builds count every enabled clock, wrap at 2^16 and clear on
    reset; the SB_MAC16 build runs under yosys' model of the DSP."""
    seed = bench_seed()
    rng = np.random.default_rng(seed)
    start_clock(dut)
    dut.cnt_inc_a_i.value = 0
    dut.cnt_inc_b_i.value = 0
    dut.cnt_rst_ni.value = 0
    await FallingEdge(dut.clk_i)
    dut.cnt_rst_ni.value = 1
    a = b = 0
    # dense runs reach the wrap (65536 increments) of counter a; b counts sparsely
    for clock in range(70_000 + VECTORS):
        inc_a = int(rng.random() < 0.97)
        inc_b = int(rng.random() < 0.3)
        reset = clock == 66_000 + VECTORS // 2      # one reset in the middle, after the wrap
        dut.cnt_inc_a_i.value = inc_a
        dut.cnt_inc_b_i.value = inc_b
        if reset:
            dut.cnt_rst_ni.value = 0
        await FallingEdge(dut.clk_i)
        if reset:
            dut.cnt_rst_ni.value = 1
            a = b = 0
        else:
            a, b = (a + inc_a) & 0xFFFF, (b + inc_b) & 0xFFFF
        for build in ("logic", "dsp"):
            got = (getattr(dut, f"cnt_{build}_a_o").value.to_unsigned(),
                   getattr(dut, f"cnt_{build}_b_o").value.to_unsigned())
            check(seed, f"counter_pair ({build})", (clock,), got, (a, b))


@cocotb.test()
async def counter32(dut):
    """counter32: both builds count every enabled clock, take a load over the increment,
    wrap at 2^32 and clear on reset; the SB_MAC16 build runs under yosys' model of the DSP
    (the carry from its bottom half into its top half is the 32-bit mode's)."""
    seed = bench_seed()
    rng = np.random.default_rng(seed)
    start_clock(dut)
    dut.c32_inc_i.value = 0
    dut.c32_load_i.value = 0
    dut.c32_value_i.value = 0
    dut.cnt_rst_ni.value = 0
    await FallingEdge(dut.clk_i)
    dut.cnt_rst_ni.value = 1
    count = 0
    for clock in range(4 * VECTORS):
        inc = int(rng.random() < 0.8)
        load = int(rng.random() < 0.02)
        # loads land near the carries out of bit 15 and bit 31 as often as anywhere
        value = int(rng.choice([rng.integers(0, 1 << 32), 0xFFFF - rng.integers(0, 4),
                                0xFFFF_FFFF - rng.integers(0, 4), rng.integers(0, 1 << 16) << 16 | 0xFFFE]))
        reset = clock == 2 * VECTORS
        dut.c32_inc_i.value = inc
        dut.c32_load_i.value = load
        dut.c32_value_i.value = value
        if reset:
            dut.cnt_rst_ni.value = 0
        await FallingEdge(dut.clk_i)
        if reset:
            dut.cnt_rst_ni.value = 1
            count = 0
        else:
            count = value if load else (count + inc) & 0xFFFF_FFFF
        for build in ("logic", "dsp"):
            got = getattr(dut, f"c32_{build}_o").value.to_unsigned()
            check(seed, f"counter32 ({build})", (clock,), got, count)
