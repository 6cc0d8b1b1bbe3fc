"""The model board (neurohw.targets.fpga.board_model) behind the real host driver.

BoardModel is the reference of rtl/cmd_frontend.v (tests/rtl/test_cmd_frontend.py checks
the two against each other clock for clock); here the host's Board and Link talk to it
through ModelPort in virtual time: a whole program against the golden core model, STOP
and Ctrl-C, a board reset behind the host's back, the byte credit that keeps the receive
FIFO from overflowing (and what happens without it), the progress reports, and fuzzing:
random bytes never hang the board, never reach the core, and the next intact frame is
answered.
"""
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent / "rtl"))  # the cmd_frontend bench's helpers

from test_cmd_frontend import SHAPE, model_run, random_fpga_program  # noqa: E402

from neurohw.targets.fpga import formats as F  # noqa: E402
from neurohw.targets.fpga.board import Board, RunStopped  # noqa: E402
from neurohw.targets.fpga.board_model import BoardModel, ModelPort, uart_rx_latency  # noqa: E402
from neurohw.targets.fpga.link import BoardReset, Link  # noqa: E402
from neurohw.targets.fpga.program import load_model  # noqa: E402
from neurohw.targets.fpga.protocol import (  # noqa: E402
    IDEMPOTENT_COMMANDS, Command, ErrorCode, Frame, StreamDecoder, encode_frame,
)

fuzz = settings(derandomize=True, max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def connect(*, latency=0.0005, window=32, **board_options):
    options = dict(clks_per_bit=4, build_id=0x5EED)
    options.update(board_options)
    model = BoardModel(SHAPE, **options)
    port = ModelPort(model, latency=latency)
    board = Board(Link(port, window=window, reply_timeout=0.05, clock=port.clock))
    board.identify()
    return model, port, board


def test_program_round_trip_matches_the_golden_model():
    model, port, board = connect()
    program = random_fpga_program(11)
    reports = []
    board.upload(program, verify=True, progress=lambda done, total: reports.append((done, total)))
    words = len(dict(program.writes))
    assert reports[-1] == (words, words) and len(reports) > 2  # upload, then verify
    golden = load_model(program)
    run = board.run_program(program)
    events, cycles = model_run(golden, program.inputs)
    assert list(zip(run.spike_steps.tolist(), run.spike_neurons.tolist())) == events
    assert run.step_cycles.tolist() == cycles and not run.stopped
    assert run.counters.step_log_entries == len(cycles) == program.n_steps
    assert board.link.stats.retransmissions == 0 and run.counters.rx_overflows == 0
    assert board.bytes_written == board.link.stats.bytes_written > 0 and board.bytes_read > 0


def test_a_board_without_the_record_commands_gets_the_same_words_by_the_bus_commands():
    """RECORD_COMMANDS = 0 (the UP5K board): IDENTIFY says so (features bit 1), the record
    commands are answered UNKNOWN_COMMAND, and the driver writes and reads neuron records,
    delays and the STDP block with WRITE_BUS / READ_BUS: the core holds the same words as
    on a board with them, and a program uploads, verifies and runs as there."""
    from neurohw.targets.fpga.link import CommandFailed
    records = [(0x7FFFFF, 0x800000, 0x123456, 0x5A7, 0xBEEF), (1, 2, 3, 0xF00, 0xFFFF)]
    images = []
    for record_commands in (True, False):
        model, port, board = connect(record_commands=record_commands)
        assert board.info.record_commands == record_commands
        board.write_neurons(SHAPE.n_neurons - 2, records)
        assert board.read_neurons(SHAPE.n_neurons - 2, 2) == records
        board.write_stdp(True, 0x1234, 0x5678, -3, 100, 0xFFF0, 0x8000)
        board.write_delays(SHAPE.n_sources - 3, [1, 2, 3])
        images.append([model.core.read(F.REGION_CONTROL << F.REGION_SHIFT | r) for r in range(10)]
                      + [model.core.read(region << F.REGION_SHIFT | SHAPE.n_neurons - 2 + i)
                         for region in (F.REGION_V, F.REGION_I_EXC, F.REGION_I_INH,
                                        F.REGION_CONTROL_WORD, F.REGION_POST_TRACE)
                         for i in range(2)]
                      + [model.core.read(F.REGION_DELAY << F.REGION_SHIFT | SHAPE.n_sources - 3 + i)
                         for i in range(3)])
        program = random_fpga_program(11)
        board.upload(program, verify=True)
        run = board.run_program(program)
        assert run.step_cycles.tolist() == model_run(load_model(program), program.inputs)[1]
        if not record_commands:
            for cmd in (Command.WRITE_NEURON_PARAMS, Command.READ_NEURON_PARAMS,
                        Command.WRITE_DELAYS, Command.WRITE_STDP):
                with pytest.raises(CommandFailed, match="UNKNOWN_COMMAND"):
                    board.link.request(cmd, bytes(13))
    assert images[0] == images[1]


def test_a_board_without_the_sparse_weight_commands_gets_the_same_weights_by_bulk_runs():
    """SPARSE_WEIGHT_COMMANDS = 0 (the UP5K board): IDENTIFY says so (features bit 2, protocol
    3.2), WRITE/READ_WEIGHTS_SPARSE are answered UNKNOWN_COMMAND, and the driver sends the
    scattered synapses as runs of WRITE/READ_WEIGHTS_BULK: the same weight words land, in
    the writes' order (a synapse written twice keeps its last word), and read back in the
    pairs' order; a pair outside the matrix is refused before anything is sent."""
    from neurohw.targets.fpga.board import BoardError
    from neurohw.targets.fpga.link import CommandFailed
    rng = np.random.default_rng(5)
    pairs = [(int(s), int(n)) for s, n in zip(rng.integers(0, SHAPE.n_sources, 60),
                                              rng.integers(0, SHAPE.n_neurons, 60))]
    pairs += [(3, 4), (3, 5), (3, 6), (3, 4)]           # a run, and a synapse written again
    synapses = [(s, n, int(w)) for (s, n), w in zip(pairs, rng.integers(0, 1 << 9, len(pairs)))]
    weights = []
    for sparse in (True, False):
        model, port, board = connect(sparse_weight_commands=sparse)
        assert board.info.sparse_weight_commands == sparse
        board.write_weights_sparse(synapses)
        weights.append([model.core.weight_word(s, n) for s in range(SHAPE.n_sources)
                        for n in range(SHAPE.n_neurons)])
        assert board.read_weights_sparse(pairs[::-1]) == [
            model.core.weight_word(s, n) for s, n in pairs[::-1]]
        if not sparse:
            sent = port.board.endpoint.counters.frames_accepted
            with pytest.raises(BoardError, match="outside the weight matrix"):
                board.write_weights_sparse([(0, 0, 1), (SHAPE.n_sources, 0, 1)])
            with pytest.raises(BoardError, match="neuron 16"):
                board.read_weights_sparse([(0, SHAPE.n_neurons)])
            assert port.board.endpoint.counters.frames_accepted == sent
            for cmd in (Command.WRITE_WEIGHTS_SPARSE, Command.READ_WEIGHTS_SPARSE):
                with pytest.raises(CommandFailed, match="UNKNOWN_COMMAND"):
                    board.link.request(cmd, bytes(5))
    assert weights[0] == weights[1]
    last = {(s, n): w for s, n, w in synapses}
    assert all(model.core.weight_word(s, n) == w for (s, n), w in last.items())


def test_the_board_says_which_core_it_has_and_the_prediction_counts_its_clocks():
    """IDENTIFY does not carry the core's architecture; Board.identify reads it off the
    bus (REG_ARCHITECTURE), so a compact core's steps are predicted by its own budget."""
    import dataclasses
    pipelined_program = random_fpga_program(5)
    compact = dataclasses.replace(SHAPE, architecture=F.ARCH_COMPACT)
    program = dataclasses.replace(pipelined_program, shape=compact)
    model = BoardModel(compact, clks_per_bit=4)
    port = ModelPort(model, latency=0.0005)
    board = Board(Link(port, window=32, reply_timeout=0.05, clock=port.clock))
    assert board.identify().shape == compact
    board.upload(program, verify=True)
    run = board.run_program(program)
    events, cycles = model_run(load_model(program), program.inputs)
    _, pipelined_cycles = model_run(load_model(pipelined_program), program.inputs)
    assert list(zip(run.spike_steps.tolist(), run.spike_neurons.tolist())) == events
    assert run.step_cycles.tolist() == cycles != pipelined_cycles
    _, _, pipelined_board = connect()
    assert pipelined_board.info.shape.architecture == F.ARCH_PIPELINED


def test_stop_ends_the_run_after_the_step_in_progress():
    model, port, board = connect()
    board.write_bus(F.REGION_PROFILE << 20 | F.PROFILE_V_THRESH, [0x7FFFFF])  # no spikes
    period = 50_000
    board.run(1000, period)
    port.sleep(10.5 * period / model.clock_hz)
    board.stop()
    events, log, counters = board.wait()
    assert counters.steps_left == 0 and 10 <= len(log) <= 12 and counters.step == len(log)
    board.stop()  # idle: a no-op
    assert board.counters().step == len(log)


def test_ctrl_c_stops_the_board_and_keeps_what_it_produced():
    """A KeyboardInterrupt in the middle of run_program: STOP is sent, every spike and log
    entry the board made is fetched, and RunStopped carries them."""
    model, port, board = connect()
    program = random_fpga_program(12)
    board.upload(program, verify=False)

    def interrupt(done, total):
        if done >= 10:
            raise KeyboardInterrupt

    with pytest.raises(RunStopped) as stopped:
        board.run_program(program, period=20_000, progress=interrupt)
    run = stopped.value.run
    assert run.stopped and run.counters.steps_left == 0
    steps = len(run.step_cycles)
    assert 10 <= steps < program.n_steps
    golden = load_model(program)
    events, cycles = model_run(golden, program.inputs[:steps])
    assert run.step_cycles.tolist() == cycles
    assert list(zip(run.spike_steps.tolist(), run.spike_neurons.tolist())) == events
    assert not model.running


def test_a_board_reset_is_detected_and_nothing_applied():
    model, port, board = connect()
    address = F.REGION_V << F.REGION_SHIFT | 2
    board.write_bus(address, [0x1234])
    port.reset_board()
    with pytest.raises(BoardReset, match="model-board: WRITE_BUS .*NOT_SYNCED"):
        board.write_bus(address, [0x5678])
    board.identify()
    assert board.read_bus(address, 1) == [0x1234]
    assert board.counters().not_synced == 1


@pytest.mark.parametrize("credit", [True, False])
def test_the_byte_credit_keeps_the_receive_fifo_from_overflowing(credit):
    """Many reads in flight while the board answers one per 260 reply bytes: with the
    board's 256-byte FIFO as credit, none is lost; without (a host that ignores it), the
    FIFO overflows, the frame that lost bytes fails with RX_OVERFLOW (visible, never
    merged) and go-back-N repairs it: the results are right either way."""
    model, port, board = connect(rx_buffer=256, window=127)
    n_syn = SHAPE.n_sources * SHAPE.n_neurons
    words = [(i * 2654435761 >> 7) & 0x1FF for i in range(n_syn)]
    board.write_bus(F.REGION_WEIGHT << 20, words)
    if not credit:
        board.link.rx_buffer = 1 << 20
    reads = [(Command.READ_BUS, struct.pack("<I", F.REGION_WEIGHT << 20 | 4 * i)[:3]
              + bytes([1 + i % 24])) for i in range(120)]
    replies = board.link.transact(reads)
    assert [list(struct.unpack(f"<{len(r) // 4}I", r)) for r in replies] == \
        [words[4 * i:4 * i + 1 + i % 24] for i in range(120)]
    counters = board.counters()
    if credit:
        assert counters.rx_overflows == 0 and board.link.stats.retransmissions == 0
    else:
        assert counters.rx_overflows > 0 and board.link.stats.overflow_nacks > 0
        assert board.link.stats.retransmissions > 0


def test_windowed_upload_reaches_the_wire_rate():
    """In virtual time: 115200 baud, 1 ms each way; the upload keeps the host's wire busy
    (the credit of a 2048-byte FIFO covers the round trip), the read-back the board's."""
    model = BoardModel(SHAPE, clock_hz=24_000_000, build_id=1)          # 208 clocks a bit
    port = ModelPort(model, baud=115200, latency=0.001)
    board = Board(Link(port, reply_timeout=0.5, clock=port.clock))
    board.identify()
    n_syn = SHAPE.n_sources * SHAPE.n_neurons
    weights = [(i * 37) & 0x1FF for i in range(n_syn)] * 4
    start, written = port.now, board.bytes_written
    board.write_weights(0, weights[:n_syn])
    board.write_weights(0, weights[:n_syn])
    board.write_weights(0, weights[:n_syn])
    utilisation = (board.bytes_written - written) * 10 / 115200 / (port.now - start)
    assert utilisation > 0.9, utilisation
    start, read = port.now, board.bytes_read
    assert board.read_weights(0, n_syn) == weights[:n_syn]
    utilisation = (board.bytes_read - read) * 10 / 115200 / (port.now - start)
    assert utilisation > 0.9, utilisation


def test_progress_reports_to_tqdm_and_rich():
    import io
    import threading

    from rich.console import Console
    from rich.progress import Progress
    from tqdm import tqdm

    model, port, board = connect()
    program = random_fpga_program(13)
    # tqdm's default lock is a multiprocessing lock, which fixes this process's start method;
    # Lava, imported later by another test in the same pytest worker, sets it and would fail
    tqdm.set_lock(threading.RLock())
    bar = tqdm(file=io.StringIO())
    board.upload(program, verify=False, progress=bar)
    assert bar.n == bar.total == len(dict(program.writes))
    with Progress(console=Console(file=io.StringIO())) as progress:
        board.run_program(program, progress=progress)
        (task,) = progress.tasks
        assert task.completed == task.total == program.n_steps
    with pytest.raises(TypeError, match="progress must be"):
        board.upload(program, verify=False, progress=42)


# ---- fuzzing ------------------------------------------------------------------------------------

class RecordingBoard(BoardModel):
    """A model board that records every command it applies (writes, runs, ...)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.applied = []

    def _command(self, cmd, payload, apply):
        reply = super()._command(cmd, payload, apply)
        if cmd not in IDEMPOTENT_COMMANDS:
            self.applied.append((cmd, bytes(payload)))
        return reply


entries = st.lists(st.tuples(st.sampled_from([0x7E, 0x7D, 0x5E, 0x5D, 0x00])
                             | st.integers(0, 255), st.booleans()), max_size=300)


@fuzz
@given(entries, st.integers(0, 255))
def test_garbage_never_hangs_nor_reaches_the_core_and_the_next_frame_is_answered(garbage, seq):
    board = RecordingBoard(SHAPE, clks_per_bit=4, rx_buffer=64)
    core_writes = []
    original_write = board.core.write
    board.core.write = lambda addr, data: (core_writes.append(addr), original_write(addr, data))
    byte_clocks, clock = 10 * 4, 100
    stream = [(b, uart_error and i % 7 == 0) for i, (b, uart_error) in enumerate(garbage)]
    identify = encode_frame(Command.IDENTIFY, seq)
    read = encode_frame(Command.READ_BUS, (seq + 1) % 256, struct.pack("<I", F.REGION_V << 20)[:3] + b"\x02")
    for byte, uart_error in stream + [(b, False) for b in identify + read]:
        board.receive(clock + uart_rx_latency(4), byte, uart_error)
        clock += byte_clocks
    board.advance(clock + 100_000)
    replies = [e for e in StreamDecoder().decode(bytes(b for _, b in board.tx)) if isinstance(e, Frame)]
    # resynchronised: the intact IDENTIFY and READ_BUS after the garbage are answered
    assert replies[-2].cmd == Command.ACK and replies[-2].seq == seq
    assert replies[-2].payload[:3] == bytes([Command.IDENTIFY, 3, 3])
    assert replies[-1] == Frame(Command.ACK, (seq + 1) % 256, bytes([Command.READ_BUS]) + bytes(8))
    # nothing from a damaged frame was applied: whatever the board applied (and wrote) came
    # from a frame that is in the stream, intact (random bytes can hold one, rarely)
    wire = bytes(b for b, uart_error in stream if not uart_error)
    for cmd, payload in board.applied:
        assert any(encode_frame(cmd, s, payload) in wire for s in range(256)), (cmd, payload)
    if not board.applied:
        assert core_writes == []
    # the board was never sent a NACK code it does not have
    for frame in replies:
        if frame.cmd == Command.NACK:
            assert ErrorCode(frame.payload[1])


def test_an_unsynchronised_board_applies_nothing_whatever_arrives():
    """Valid frames of every command before the first IDENTIFY: all NACKed NOT_SYNCED."""
    board = RecordingBoard(SHAPE, clks_per_bit=4)
    clock = 100
    for seq, cmd in enumerate([Command.RESET, Command.WRITE_BUS, Command.RUN, Command.STOP,
                               Command.LOAD_INPUT_SPIKES, Command.READ_COUNTERS]):
        for byte in encode_frame(cmd, seq, b"\x00" * 7):
            board.receive(clock, byte)
            clock += 40
    board.advance(clock + 50_000)
    replies = [e for e in StreamDecoder().decode(bytes(b for _, b in board.tx)) if isinstance(e, Frame)]
    assert [f.payload[1] for f in replies] == [ErrorCode.NOT_SYNCED] * 6
    assert board.applied == [] and board.endpoint.counters.not_synced == 6
