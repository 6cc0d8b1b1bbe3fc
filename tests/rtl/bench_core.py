"""cocotb benches for rtl/core.v against neurohw.targets.fpga.model.CoreModel.

Every step compares, with the model: the spikes on the spike port, every word
of every state memory (v, currents, control words, traces, weights, the delay
ring's counts and lists), the counters, and the step's cycle count measured
three ways (the testbench's clock count, the core's counter, the model's).
Run through tests/rtl/test_rtl_core.py; the shape and seeds come from the
environment (BENCH_SHAPE="n_neurons,n_inputs,weight_width,delay_depth",
BENCH_SEEDS="1,2,3").
"""
from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from neurohw.targets.fpga import formats as F
from neurohw.targets.fpga.model import CoreModel, accepted_ticks
from neurohw.targets.fpga.quantize import quantize
from random_core import addr, random_ir_network, random_program


def bench_shape() -> F.CoreShape:
    n, n_in, ww, depth = (int(x) for x in os.environ["BENCH_SHAPE"].split(","))
    return F.CoreShape(n_neurons=n, n_inputs=n_in, weight_width=ww, delay_depth=depth)


def bench_seeds() -> list[int]:
    return [int(s) for s in os.environ["BENCH_SEEDS"].split(",")]


class Bench:
    """Drives core.v: all inputs change just after a falling edge, outputs are sampled there."""

    def __init__(self, dut):
        self.dut = dut
        self.shape = bench_shape()

    async def start(self):
        dut = self.dut
        Clock(dut.clk_i, 10, unit="ns").start()
        dut.tick_i.value = 0
        dut.bus_we_i.value = 0
        dut.bus_addr_i.value = 0
        dut.bus_wdata_i.value = 0
        await self.reset()

    async def reset(self):
        self.dut.rst_ni.value = 0
        await FallingEdge(self.dut.clk_i)
        await FallingEdge(self.dut.clk_i)
        self.dut.rst_ni.value = 1
        await FallingEdge(self.dut.clk_i)

    async def write(self, address: int, data: int):
        dut = self.dut
        dut.bus_we_i.value = 1
        dut.bus_addr_i.value = address
        dut.bus_wdata_i.value = data & 0xFFFFFFFF
        await FallingEdge(dut.clk_i)
        dut.bus_we_i.value = 0

    async def read(self, address: int) -> int:
        self.dut.bus_addr_i.value = address
        await FallingEdge(self.dut.clk_i)
        return self.dut.bus_rdata_o.value.to_unsigned()

    async def step(self) -> tuple[list[int], int]:
        """Tick, wait for done; returns (spike port ids, clock cycles from tick to done)."""
        dut = self.dut
        dut.tick_i.value = 1
        await FallingEdge(dut.clk_i)
        dut.tick_i.value = 0
        spikes, cycles = [], 1
        assert dut.busy_o.value == 1, "core did not accept a tick while idle"
        while True:
            if dut.spike_valid_o.value:
                spikes.append(dut.spike_id_o.value.to_unsigned())
            if dut.done_o.value:
                break
            await FallingEdge(dut.clk_i)
            cycles += 1
        await FallingEdge(dut.clk_i)
        assert dut.busy_o.value == 0, "core still busy the cycle after done"
        return spikes, cycles

    # ---- state read-back through the simulator (the bus path has its own bench) ----
    def memory(self, handle) -> np.ndarray:
        return np.array([word.to_unsigned() for word in handle.value], dtype=np.int64)

    def state_words(self) -> dict[str, np.ndarray]:
        dut, sh = self.dut, self.shape
        ring_counts_packed = dut.u_delay_ring.count_q.value.to_unsigned()
        count_w = sh.source_bits + 1
        counts = np.array([(ring_counts_packed >> (k * count_w)) & ((1 << count_w) - 1)
                           for k in range(sh.delay_depth)], dtype=np.int64)
        ring = self.memory(dut.u_delay_ring.u_list_ram.mem_q).reshape(sh.delay_depth, sh.n_sources)
        return {
            "v": self.memory(dut.u_v_ram.mem_q),
            "i_exc": self.memory(dut.u_i_exc_ram.mem_q),
            "i_inh": self.memory(dut.u_i_inh_ram.mem_q),
            "control": self.memory(dut.u_ctl_ram.mem_q),
            "post_trace": self.memory(dut.u_post_trace_ram.mem_q),
            "pre_trace": self.memory(dut.u_pre_trace_ram.mem_q),
            "delay": self.memory(dut.u_delay_ram.mem_q),
            "weight": self.memory(dut.u_weight_ram.mem_q),
            "ring_count": counts,
            "ring": np.concatenate([ring[k, :counts[k]] for k in range(sh.delay_depth)]),
            "counters": np.array([dut.step_q.value.to_unsigned(),
                                  dut.last_cycles_q.value.to_unsigned(),
                                  dut.overruns_q.value.to_unsigned(),
                                  dut.dropped_q.value.to_unsigned()], dtype=np.int64),
        }


def model_words(model: CoreModel) -> dict[str, np.ndarray]:
    sh = model.shape
    mask24 = (1 << 24) - 1
    return {
        "v": model.v & mask24,
        "i_exc": model.i_exc & mask24,
        "i_inh": model.i_inh & mask24,
        "control": (model.spiked << (F.REFRAC_WIDTH + F.PROFILE_WIDTH)
                    | model.profile << F.REFRAC_WIDTH | model.refrac),
        "post_trace": model.post_trace.copy(),
        "pre_trace": model.pre_trace.copy(),
        "delay": model.delay.copy(),
        "weight": (model.plastic << sh.weight_width
                   | model.weight & ((1 << sh.weight_width) - 1)).ravel(),
        "ring_count": model.ring_count.copy(),
        "ring": np.concatenate([model.ring[k, :model.ring_count[k]]
                                for k in range(sh.delay_depth)]),
        "counters": np.array([model.regs[F.REG_STEP], model.regs[F.REG_STEP_CYCLES],
                              model.regs[F.REG_OVERRUNS], model.regs[F.REG_DROPPED]],
                             dtype=np.int64),
    }


def compare_state(bench: Bench, model: CoreModel, where: str) -> None:
    rtl, ref = bench.state_words(), model_words(model)
    problems = []
    for name in ref:
        a, b = rtl[name], ref[name]
        if a.shape != b.shape:
            problems.append(f"{name}: RTL has {a.size} words, model {b.size}")
            continue
        bad = np.flatnonzero(a != b)
        if bad.size:
            shown = ", ".join(f"[{i}] rtl={a[i]:#x} model={b[i]:#x}" for i in bad[:4])
            problems.append(f"{name}: {bad.size} words differ: {shown}")
    assert not problems, f"{where}: state differs from the model:\n  " + "\n  ".join(problems)


async def load(bench: Bench, model: CoreModel, writes) -> None:
    for address, data in writes:
        await bench.write(address, data)
        model.write(address, data)


@cocotb.test()
async def random_networks(dut):
    """Randomized networks, stepped with input spikes, compared every step."""
    bench = Bench(dut)
    await bench.start()
    seen = {"spikes": 0, "events": 0, "weights changed by STDP": 0,
            "refractory neuron-steps": 0}
    model = CoreModel(bench.shape)
    for seed in bench_seeds():
        await bench.reset()
        model.reset()
        program = random_program(bench.shape, seed)
        await load(bench, model, program.writes)
        compare_state(bench, model, f"seed {seed}, after loading")
        initial_weights = model.weight.copy()
        total_spikes = 0
        for k, channels in enumerate(program.inputs):
            where = f"seed {seed}, step {k}"
            for channel in channels:
                await load(bench, model, [(addr(F.REGION_CONTROL, F.REG_INJECT), channel)])
            seen["events"] += int(model.ring_count[int(model.regs[F.REG_STEP]) % bench.shape.delay_depth])
            rtl_spikes, cycles = await bench.step()
            model_spikes = list(model.step())
            assert rtl_spikes == model_spikes, (f"{where}: spikes RTL {rtl_spikes} "
                                                f"model {model_spikes}")
            assert cycles == model.last_cycles == dut.step_cycles_o.value.to_unsigned(), (
                f"{where}: cycles: testbench counted {cycles}, core counter "
                f"{dut.step_cycles_o.value.to_unsigned()}, model {model.last_cycles}")
            compare_state(bench, model, where)
            total_spikes += len(model_spikes)
            seen["refractory neuron-steps"] += int(np.sum(model.refrac > 0))
        seen["spikes"] += total_spikes
        seen["weights changed by STDP"] += int(np.sum(model.weight != initial_weights))
        dut._log.info("seed %d: %d steps, %d spikes, last step %d cycles", seed,
                      len(program.inputs), total_spikes, model.last_cycles)
    # the random programs must exercise what they are meant to (one seed may not)
    dut._log.info("exercised: %s", seen)
    if len(bench_seeds()) >= 4:
        assert all(seen.values()), f"seeds {bench_seeds()} left something unexercised: {seen}"


@cocotb.test()
async def bus_readback(dut):
    """Every mapped word reads back through the bus as the model decodes it."""
    bench = Bench(dut)
    await bench.start()
    sh = bench.shape
    model = CoreModel(sh)
    for seed in bench_seeds()[:2]:
        await bench.reset()
        model.reset()
        program = random_program(sh, seed, n_steps_range=(3, 4))
        await load(bench, model, program.writes)
        for channels in program.inputs:
            for channel in channels:
                await load(bench, model, [(addr(F.REGION_CONTROL, F.REG_INJECT), channel)])
            await bench.step()
            model.step()
        addresses = [addr(F.REGION_CONTROL, r) for r in range(0x40)]
        addresses += [addr(F.REGION_PROFILE, p << 4 | f) for p in range(F.NUM_PROFILES)
                      for f in range(16)]
        for region in (F.REGION_V, F.REGION_I_EXC, F.REGION_I_INH, F.REGION_CONTROL_WORD,
                       F.REGION_POST_TRACE):
            addresses += [addr(region, i) for i in range(sh.n_neurons)]
        for region in (F.REGION_PRE_TRACE, F.REGION_DELAY):
            addresses += [addr(region, s) for s in range(sh.n_sources)]
        rng = np.random.default_rng(seed)
        addresses += [addr(F.REGION_WEIGHT, int(w))
                      for w in rng.integers(0, sh.n_sources * sh.n_neurons, 256)]
        addresses += [addr(region, 0) for region in range(0xA, 0x10)]
        for address in addresses:
            got = await bench.read(address)
            want = model.read(address)
            assert got == want, f"seed {seed}: bus read {address:#08x}: RTL {got:#x} model {want:#x}"


@cocotb.test()
async def overruns(dut):
    """Ticks at a fixed period shorter than some steps: the core counts the ones
    that arrive while it is busy and the model predicts which."""
    bench = Bench(dut)
    await bench.start()
    overrun_total = 0
    model = CoreModel(bench.shape)
    for seed in bench_seeds()[:3]:
        await bench.reset()
        model.reset()
        program = random_program(bench.shape, seed)
        await load(bench, model, program.writes)
        for channel in program.inputs[0]:
            await load(bench, model, [(addr(F.REGION_CONTROL, F.REG_INJECT), channel)])
        rng = np.random.default_rng(seed)
        n_active = int(model.regs[F.REG_N_ACTIVE])
        period = int(rng.integers(n_active + 4, 3 * n_active + 40))
        tick_cycles = [k * period + int(rng.integers(0, 3)) for k in range(20)]
        end = tick_cycles[-1] + 1
        for cycle in range(end):   # one falling edge per cycle; the tick is sampled at the next rising
            dut.tick_i.value = int(cycle in tick_cycles)
            await FallingEdge(dut.clk_i)
        dut.tick_i.value = 0
        while dut.busy_o.value:
            await FallingEdge(dut.clk_i)
        accepted, overrun_count = accepted_ticks(tick_cycles, lambda k: (model.step(),
                                                                         model.last_cycles)[1])
        overrun_total += overrun_count
        dut._log.info("seed %d: period %d, %d ticks accepted, %d overruns", seed, period,
                      len(accepted), overrun_count)
        model.regs[F.REG_OVERRUNS] = overrun_count
        assert dut.overruns_q.value.to_unsigned() == overrun_count, (
            f"seed {seed}, period {period}: RTL counted {dut.overruns_q.value.to_unsigned()} "
            f"overruns, model {overrun_count}")
        assert (dut.overrun_o.value == 1) == (overrun_count > 0)
        compare_state(bench, model, f"seed {seed}, after {len(accepted)} accepted ticks")
        await bench.write(addr(F.REGION_CONTROL, F.REG_OVERRUNS), 0)
        assert dut.overruns_q.value.to_unsigned() == 0 and dut.overrun_o.value == 0
    assert overrun_total > 0, "the tick periods never overran a step"


@cocotb.test()
async def full_delay_slot(dut):
    """More injections into one slot than it holds: the excess is dropped and counted."""
    bench = Bench(dut)
    await bench.start()
    sh = bench.shape
    model = CoreModel(sh)
    for seed in bench_seeds()[:2]:
        await bench.reset()
        model.reset()
        program = random_program(sh, seed, n_steps_range=(3, 4))
        await load(bench, model, program.writes)
        await load(bench, model, [(addr(F.REGION_CONTROL, F.REG_N_INPUTS), sh.n_inputs)])
        # one channel has one delay, so all its injections land in the same slot
        channel = seed % sh.n_inputs
        for _ in range(sh.n_sources + 7):
            await load(bench, model, [(addr(F.REGION_CONTROL, F.REG_INJECT), channel)])
        assert model.regs[F.REG_DROPPED] > 0, "the test must overfill a slot"
        await FallingEdge(dut.clk_i)   # an injection reaches the ring one cycle after its write
        compare_state(bench, model, f"seed {seed}, after overfilling")
        for k in range(sh.delay_depth + 1):
            rtl_spikes, cycles = await bench.step()
            model_spikes = list(model.step())
            assert rtl_spikes == model_spikes and cycles == model.last_cycles, (
                f"seed {seed}, step {k}: spikes {rtl_spikes} vs {model_spikes}, "
                f"cycles {cycles} vs {model.last_cycles}")
            compare_state(bench, model, f"seed {seed}, step {k}")
        await load(bench, model, [(addr(F.REGION_CONTROL, F.REG_DROPPED), 0)])
        compare_state(bench, model, f"seed {seed}, after clearing the drop counter")


@cocotb.test()
async def quantized_networks(dut):
    """Random PyNN-level networks through quantize(), run on the RTL and the model."""
    bench = Bench(dut)
    await bench.start()
    model = CoreModel(bench.shape)
    for seed in bench_seeds():
        await bench.reset()
        model.reset()   # the RAMs keep the previous network's words, in both
        program = quantize(random_ir_network(bench.shape, seed), bench.shape)
        await load(bench, model, program.writes)
        spikes = 0
        for k in range(program.n_steps):
            for channel in program.inputs[k]:
                await load(bench, model, [(addr(F.REGION_CONTROL, F.REG_INJECT), channel)])
            rtl_spikes, cycles = await bench.step()
            model_spikes = list(model.step())
            where = f"seed {seed}, step {k}"
            assert rtl_spikes == model_spikes, f"{where}: spikes RTL {rtl_spikes} model {model_spikes}"
            assert cycles == model.last_cycles, f"{where}: cycles RTL {cycles} model {model.last_cycles}"
            compare_state(bench, model, where)
            spikes += len(model_spikes)
        dut._log.info("seed %d: %d neurons, %d steps, %d spikes", seed,
                      int(model.regs[F.REG_N_ACTIVE]), program.n_steps, spikes)
