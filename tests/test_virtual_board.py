"""The virtual board (neurohw.targets.fpga.virtual) through a real serial device path.

The Verilated board design (fpga/common/neurohw_board.v with the real UART)
runs behind a pseudo-terminal; the host opens it with pyserial and talks to it
with link.Link and board.Board, exactly as to a board on a USB UART.  The
program and the expected results come from tests/rtl/test_cmd_frontend.py
(a random core program and the golden model's run of it).
"""
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

sys.path.insert(0, str(Path(__file__).parent / "rtl"))  # the cmd_frontend bench's helpers

from test_cmd_frontend import SEEDS, SHAPE, model_run, random_fpga_program  # noqa: E402

from neurohw.targets.fpga import formats as F  # noqa: E402
from neurohw.targets.fpga.board import Board  # noqa: E402
from neurohw.targets.fpga.link import BoardReset, Link  # noqa: E402
from neurohw.targets.fpga.program import load_model  # noqa: E402
from neurohw.targets.fpga.virtual import VirtualBoard, VirtualBoardError, build_harness  # noqa: E402

BUILD_ID = 0x5EED
CLOCK_HZ = 12_000_000


@pytest.fixture(scope="module")
def virtual_board():
    with VirtualBoard(SHAPE, clks_per_bit=4, build_id=BUILD_ID, clock_hz=CLOCK_HZ) as virtual:
        yield virtual


def test_program_through_the_serial_port(virtual_board):
    port = serial.Serial(virtual_board.port, baudrate=115200, timeout=0.1)
    try:
        # a fixed timer: this checks the wire is clean, not how the timer copes with a loaded host
        board = Board(Link(port, reply_timeout=2.0, min_reply_timeout=2.0))
        info = board.identify()
        assert info.protocol == (3, 3) and info.max_window == 127 and info.max_payload == 255
        assert info.rx_buffer == 2048 and info.step_log == 512 and info.clock_hz == CLOCK_HZ
        assert info.shape == SHAPE and info.weight_bytes == 2 and info.has_core
        assert info.build_id == BUILD_ID and info.spike_buffer == 2 * SHAPE.n_neurons
        assert board.port_name == virtual_board.port

        program = random_fpga_program(SEEDS[0])
        board.upload(program, verify=True)
        model = load_model(program)
        run = board.run_program(program)
        events, cycles = model_run(model, program.inputs)
        assert events, "the program should make the core fire"
        assert list(zip(run.spike_steps.tolist(), run.spike_neurons.tolist())) == events
        assert run.step_cycles.tolist() == cycles and not run.step_late.any()
        counters = run.counters
        assert counters.step == int(model.regs[F.REG_STEP])  # the program sets a random start step
        assert counters.last_step_cycles == cycles[-1] and counters.step_log_entries == len(cycles)
        assert counters.spike_events == len(events) and counters.steps_left == 0

        # a few more steps without inputs, spikes and log read separately
        board.run(3)
        more, log, counters = board.wait()
        events, cycles = model_run(model, [[]] * 3)
        assert more == events and [c for c, _ in log] == cycles
        assert counters.last_step_cycles == cycles[-1]
        assert board.read_bus(F.REGION_V << F.REGION_SHIFT, SHAPE.n_neurons) == \
            [model.read(F.REGION_V << F.REGION_SHIFT | n) for n in range(SHAPE.n_neurons)]
        # the pty is a clean wire: nothing was lost, corrupted or retransmitted
        assert board.link.stats.retransmissions == 0 and board.link.stats.corrupt_replies == 0
        assert counters.frame_errors == 0 and counters.link_nacks == 0
    finally:
        port.close()


def test_port_can_be_reopened(virtual_board):
    """A second session on the same port synchronises again (IDENTIFY) and sees the first's writes."""
    address = F.REGION_V << F.REGION_SHIFT | SHAPE.n_neurons - 1
    with serial.Serial(virtual_board.port, baudrate=115200, timeout=0.1) as port:
        first = Board(port, reply_timeout=2.0)
        first.identify()
        first.write_bus(address, [0x0ABCDE])
    with serial.Serial(virtual_board.port, baudrate=115200, timeout=0.1) as port:
        second = Board(port, reply_timeout=2.0)
        assert second.identify().build_id == BUILD_ID
        assert second.read_bus(address, 1) == [0x0ABCDE]


def test_a_board_reset_mid_session_is_detected(virtual_board):
    """reset_board() pulses the design's reset: the host's next command raises BoardReset
    (NOT_SYNCED: never applied); after IDENTIFY the board works again, its RAMs intact."""
    address = F.REGION_V << F.REGION_SHIFT | 5
    with serial.Serial(virtual_board.port, baudrate=115200, timeout=0.1) as port:
        board = Board(port, reply_timeout=2.0)
        board.identify()
        board.write_bus(address, [0x0C0FFE])
        assert virtual_board.reset_board() >= 1
        with pytest.raises(BoardReset, match=f"{virtual_board.port}: WRITE_BUS .*NOT_SYNCED"):
            board.write_bus(address, [0x0DEAD0])
        board.identify()
        assert board.read_bus(address, 1) == [0x0C0FFE]
        assert board.counters().not_synced == 1


def test_idle_board_does_not_spin():
    """Left alone, the harness sleeps most of the time instead of clocking flat out."""
    with VirtualBoard(SHAPE, clks_per_bit=4, build_id=BUILD_ID, clock_hz=CLOCK_HZ) as virtual:
        pid = virtual.pid
        time.sleep(3)  # past the full-speed grace period after start-up
        before = _cpu_seconds(pid)
        time.sleep(2)
        used = _cpu_seconds(pid) - before
    assert used < 1.0, f"{used:.2f} s of CPU in 2 s of idling"


def _cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def test_missing_harness_is_a_clear_error(tmp_path):
    missing = tmp_path / "board_pty"
    with pytest.raises(VirtualBoardError, match=f"cannot start the virtual board {missing}"):
        VirtualBoard(executable=missing).start()


def test_harness_that_exits_is_a_clear_error(tmp_path):
    # the real harness, allowed 4 file descriptors: it gets the pty's controller side but cannot
    # open the peripheral side, and exits before reporting a port
    harness = build_harness(SHAPE, 4, BUILD_ID, CLOCK_HZ)
    limited = tmp_path / "board_pty_few_files"
    limited.write_text(f"#!/bin/sh\nexec prlimit --nofile=4 {harness}\n")
    limited.chmod(0o755)
    with pytest.raises(VirtualBoardError) as error:
        VirtualBoard(executable=limited).start()
    message = str(error.value)
    assert str(limited) in message and "exit status 1" in message
    assert "Too many open files" in message


def test_the_compact_virtual_board_has_the_icebreakers_front_end():
    """The virtual board with the compact core is built with the front-end parameters the
    iCEBreaker top gives neurohw_board (fpga/icebreaker/top.v), so it answers as that board."""
    import re
    from neurohw.targets.fpga.virtual import UP5K_FRONT_END
    top = (Path(__file__).parents[1] / "fpga" / "icebreaker" / "top.v").read_text()
    start = top.index("neurohw_board #(")
    board = top[start:top.index(") u_board", start)]
    given = {name: int(value) for name, value in re.findall(r"\.([A-Z0-9_]+)\((\d+)\)", board)}
    assert {name: given.get(name) for name in UP5K_FRONT_END} == UP5K_FRONT_END


@pytest.mark.parametrize("architecture", ["pipelined", "compact"])
def test_board_command_serves_until_interrupted(architecture):
    """``neurohw board --virtual`` (add_board_command) prints a port that works, with the
    core ``--architecture`` names behind the link (the host reads it back); Ctrl-C ends it."""
    shape = dataclasses.replace(SHAPE, architecture=F.ARCHITECTURE_NAMES.index(architecture))
    script = ("import argparse, sys\n"
              "from neurohw.targets.fpga.virtual import add_board_command\n"
              "parser = argparse.ArgumentParser(prog='neurohw')\n"
              "add_board_command(parser.add_subparsers(dest='command', required=True))\n"
              "args = parser.parse_args(sys.argv[1:])\n"
              "sys.exit(args.func(args))\n")
    command = subprocess.Popen([sys.executable, "-c", script, "board", "--virtual",
                                "--neurons", str(SHAPE.n_neurons), "--inputs", str(SHAPE.n_inputs),
                                "--delay-depth", str(SHAPE.delay_depth), "--clock-mhz", "12",
                                "--architecture", architecture],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=Path(__file__).parents[1])
    try:
        port_path = command.stdout.readline().strip()
        assert port_path.startswith("/dev/"), command.stderr.read() if command.poll() is not None else port_path
        with serial.Serial(port_path, baudrate=115200, timeout=0.1) as port:
            info = Board(port, reply_timeout=2.0).identify()
        assert info.shape == shape and info.clock_hz == CLOCK_HZ
        # the compact core's board has the iCEBreaker's front end (UP5K_FRONT_END)
        up5k = architecture == "compact"
        assert info.record_commands == info.sparse_weight_commands == (not up5k)
        command.send_signal(signal.SIGINT)
        assert command.wait(10) == 0, command.stderr.read()
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
