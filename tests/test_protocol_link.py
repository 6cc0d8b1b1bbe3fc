"""The host transport (neurohw.targets.fpga.link) over a faulty, in-memory serial line.

The line is simulated in virtual time: bytes take ``byte_time`` each on the
wire plus a fixed latency, and a read with nothing to deliver advances the
clock by the port timeout, so that thousands of timeouts cost no real time.
At the far end sits the protocol's own board endpoint with a memory board.
"""
import heapq
import os
import random
import select
import threading
import time

import numpy as np
import pytest
import serial

from neurohw.targets.fpga.faults import FaultCounts, damage
from neurohw.targets.fpga.link import BoardReset, CommandFailed, Link, LinkError, LinkTimeout
from neurohw.targets.fpga.protocol import BoardEndpoint, Command, CommandRejected, ErrorCode

BAUD_115200_BYTE_TIME = 10 / 115200  # 8N1: ten bits per byte


class FaultyLine:
    """A serial port (read/write/timeout/in_waiting) wired to a board endpoint."""

    def __init__(self, endpoint, *, bit_error_rate=0.0, drop_rate=0.0, duplicate_rate=0.0,
                 latency=0.0005, byte_time=BAUD_115200_BYTE_TIME, seed=1):
        self.endpoint = endpoint
        self.written = bytearray()  # what the host wrote, before the line's damage
        self.bit_error_rate = bit_error_rate
        self.drop_rate = drop_rate
        self.duplicate_rate = duplicate_rate
        self.latency = latency
        self.byte_time = byte_time
        self.timeout = 0.01
        self.port = "faulty-line"
        self.now = 0.0
        self.bytes_damaged = 0
        self._random = np.random.default_rng(seed)
        self.counts = FaultCounts()
        self._to_board_free_at = 0.0
        self._to_host_free_at = 0.0
        self._arrivals = []  # heap of (time, order, bytes) bound for the host
        self._order = 0
        self._received = bytearray()

    def clock(self):
        return self.now

    def _damage(self, data):
        before = self.counts.damaged
        data = damage(data, self._random, self.bit_error_rate, self.drop_rate,
                      self.duplicate_rate, self.counts)
        self.bytes_damaged += self.counts.damaged - before
        return data

    def write(self, data):
        self.written += data
        self._to_board_free_at = max(self.now, self._to_board_free_at) + len(data) * self.byte_time
        at_board = self._to_board_free_at + self.latency
        reply = self._damage(self.endpoint.receive(self._damage(data)))
        if reply:
            self._to_host_free_at = max(at_board, self._to_host_free_at) + len(reply) * self.byte_time
            heapq.heappush(self._arrivals, (self._to_host_free_at + self.latency, self._order, reply))
            self._order += 1
        return len(data)

    def _deliver_until(self, moment):
        while self._arrivals and self._arrivals[0][0] <= moment:
            self._received += heapq.heappop(self._arrivals)[2]

    @property
    def in_waiting(self):
        self._deliver_until(self.now)
        return len(self._received)

    def read(self, size=1):
        self._deliver_until(self.now)
        if not self._received:
            deadline = self.now + self.timeout
            if self._arrivals and self._arrivals[0][0] <= deadline:
                self.now = self._arrivals[0][0]
                self._deliver_until(self.now)
            else:
                self.now = deadline
                return b""
        data = bytes(self._received[:size])
        del self._received[:size]
        return data


class MemoryBoard:
    """Board state: a byte memory, a run counter; reads are side-effect free."""

    def __init__(self, size=1024):
        self.memory = bytearray(size)
        self.applied = []  # every side-effecting command, in the order applied

    def __call__(self, cmd, payload, apply):
        if cmd == Command.WRITE_WEIGHTS_BULK:
            address, data = int.from_bytes(payload[:2], "little"), payload[2:]
            if len(payload) < 2 or address + len(data) > len(self.memory):
                raise CommandRejected(ErrorCode.OUT_OF_RANGE)
            if apply:
                self.memory[address:address + len(data)] = data
                self.applied.append((cmd, bytes(payload)))
            return b""
        if cmd == Command.RUN:
            if apply:
                self.applied.append((cmd, bytes(payload)))
            return b""
        if cmd == Command.READ_WEIGHTS_BULK:
            if len(payload) != 3:
                raise CommandRejected(ErrorCode.BAD_LENGTH)
            address, count = int.from_bytes(payload[:2], "little"), payload[2]
            return bytes(self.memory[address:address + count])
        raise CommandRejected(ErrorCode.UNKNOWN_COMMAND)


def connect(board=None, **line_options):
    board = board or MemoryBoard()
    line = FaultyLine(BoardEndpoint(board, identity=b"test-board"), **line_options)
    link = Link(line, window=8, reply_timeout=0.05, max_retries=12, clock=line.clock)
    return board, line, link


def random_workload(rng, count, memory_size=1024):
    """Writes, reads and runs, with the replies a correct board must give."""
    shadow = bytearray(memory_size)
    requests, expected_replies = [], []
    for _ in range(count):
        roll = rng.random()
        address = rng.randrange(memory_size - 24)
        if roll < 0.6:
            data = rng.randbytes(rng.randrange(0, 24))
            shadow[address:address + len(data)] = data
            requests.append((Command.WRITE_WEIGHTS_BULK, address.to_bytes(2, "little") + data))
            expected_replies.append(b"")
        elif roll < 0.9:
            count_ = rng.randrange(0, 24)
            requests.append((Command.READ_WEIGHTS_BULK, address.to_bytes(2, "little") + bytes([count_])))
            expected_replies.append(bytes(shadow[address:address + count_]))
        else:
            requests.append((Command.RUN, rng.randrange(1 << 32).to_bytes(4, "little")))
            expected_replies.append(b"")
    return requests, expected_replies


def test_clean_line_sends_each_frame_once():
    board, line, link = connect()
    identity = link.identify()
    assert (identity.protocol_major, identity.core_info) == (3, b"test-board")
    assert identity.max_window == 127 and identity.rx_buffer == 2048
    requests, expected = random_workload(random.Random(5), 300)
    assert link.transact(requests) == expected
    assert link.stats.retransmissions == 0 and link.stats.timeouts == 0
    assert link.stats.frames_sent == 301
    assert board.applied == [r for r in requests if r[0] != Command.READ_WEIGHTS_BULK]
    # the byte counters count the wire bytes both ways
    assert link.stats.bytes_written == len(line.written) > 300 * 7
    assert link.stats.bytes_read > 301 * 8


def test_ber_1e3_over_10000_frames_has_no_silent_corruption():
    board, line, link = connect(bit_error_rate=1e-3, drop_rate=1e-4, duplicate_rate=1e-4, seed=7)
    started = time.perf_counter()
    link.identify()
    requests, expected = random_workload(random.Random(11), 10_000)
    replies = []
    for start in range(0, len(requests), 500):
        replies += link.transact(requests[start:start + 500])
    elapsed = time.perf_counter() - started
    # Every reply is what the shadow memory says, every write and run was
    # applied exactly once and in order: nothing corrupted got through.
    assert replies == expected
    assert board.applied == [r for r in requests if r[0] != Command.READ_WEIGHTS_BULK]
    stats = link.stats
    print(f"\n{len(requests)} frames, {line.bytes_damaged} bytes damaged, {stats}, "
          f"board {line.endpoint.counters}, {elapsed:.1f} s real, {line.now:.1f} s virtual")
    # The damage was real and the link did repair it.
    assert line.bytes_damaged > 500
    assert stats.retransmissions > 500 and stats.nacks > 0 and stats.timeouts > 0
    assert line.endpoint.counters.duplicates > 0 and stats.corrupt_replies > 0


def test_window_hides_the_round_trip():
    elapsed = {}
    for window in (1, 8):
        board, line, link = connect(latency=0.002)
        link.window = window
        link.identify()
        requests, expected = random_workload(random.Random(3), 200)
        requests = [r for r in requests if r[0] != Command.READ_WEIGHTS_BULK]
        start = line.now
        link.transact(requests)
        elapsed[window] = line.now - start
    # A 4 ms round trip against ~2 ms of bytes per frame: window 1 waits on
    # every frame, window 8 keeps the line busy.
    assert elapsed[8] < 0.5 * elapsed[1], elapsed


def test_dead_line_raises_naming_port_and_command_after_bounded_retries():
    board, line, link = connect(drop_rate=1.0)
    with pytest.raises(LinkTimeout, match=r"faulty-line: RUN \(seq 0\): no acknowledgement after 12 "):
        link.request(Command.RUN, b"\x01\x00\x00\x00")
    assert link.stats.retransmissions == 12


def test_rejected_command_is_reported_and_the_rest_delivered():
    board, line, link = connect()
    link.identify()
    requests = [(Command.RUN, b"\x01"), (0x7F, b""), (Command.RUN, b"\x02")]
    with pytest.raises(CommandFailed, match=r"faulty-line: command 0x7F \(seq 2\): rejected by the board: UNKNOWN_COMMAND") as failure:
        link.transact(requests)
    assert failure.value.code == ErrorCode.UNKNOWN_COMMAND
    assert board.applied == [(Command.RUN, b"\x01"), (Command.RUN, b"\x02")]
    # The link is still in step with the board.
    assert link.request(Command.READ_WEIGHTS_BULK, b"\x00\x00\x02") == b"\x00\x00"


@pytest.mark.parametrize("major, link_fields", [
    (1, bytes((1, 0, 255, 1))),                          # 1.0: version, max_payload, window 1
    (2, bytes((2, 0, 255, 127)) + (2048).to_bytes(2, "little")),   # 2.0: the fields of 3.0
])
def test_board_with_another_major_version_is_refused(major, link_fields):
    class BoardSpeakingAnotherVersion(BoardEndpoint):
        def identify_reply(self):
            return link_fields + b"\x00" * 16

    line = FaultyLine(BoardSpeakingAnotherVersion(MemoryBoard()))
    link = Link(line, clock=line.clock)
    with pytest.raises(LinkError, match=rf"faulty-line: IDENTIFY .*board speaks protocol {major}\.0, "
                                        r"this host 3\.3 \(major versions must match\)"):
        link.identify()


def test_a_reset_board_raises_board_reset_naming_port_and_command():
    """The board was reset behind the host's back: its NOT_SYNCED NACK is final, the window's
    other frames are abandoned, and the error names the port and the command."""
    board, line, link = connect()
    link.identify()
    link.request(Command.WRITE_WEIGHTS_BULK, b"\x00\x00\x01")
    line.endpoint.reset()
    requests = [(Command.WRITE_WEIGHTS_BULK, b"\x00\x00\x02"), (Command.RUN, b"\x01\x00\x00\x00")]
    with pytest.raises(BoardReset, match=r"faulty-line: WRITE_WEIGHTS_BULK \(seq 2\): the board "
                                         r"is not synchronised .*NOT_SYNCED"):
        link.transact(requests)
    assert board.memory[0] == 1 and len(board.applied) == 1
    link.identify()
    link.transact(requests)
    assert board.memory[0] == 2 and len(board.applied) == 3


def test_a_board_out_of_step_raises_board_reset_instead_of_retrying():
    """The board's expected SEQ moved behind the host's back (another host identified it):
    ahead of the host, the host's frame looks like a duplicate, but its CRC is not the
    frame's applied under that SEQ (NOT_SYNCED); behind the host, the board NACKs
    OUT_OF_ORDER with an expected SEQ the host has not in flight.  Either way BoardReset,
    not an ACK for a command never applied, nor retrying for ever."""
    board, line, link = connect()
    link.identify()
    line.endpoint.sequencer.expected_seq = 100   # the host's next seq is 1: "a duplicate"
    with pytest.raises(BoardReset, match=r"RUN \(seq 1\): the board is not synchronised"):
        link.request(Command.RUN, b"\x01\x00\x00\x00")
    link.identify()
    line.endpoint.sequencer.expected_seq = 250   # the host's next seq is 3: a gap
    with pytest.raises(BoardReset, match=r"RUN \(seq 3\): lost sequence sync: the board expects seq 250"):
        link.request(Command.RUN, b"\x01\x00\x00\x00")
    assert link.stats.retransmissions == 0 and board.applied == []


def test_link_over_a_pseudo_terminal_with_pyserial():
    """The real stack: pyserial on a pty, the board endpoint on the other side in a thread."""
    master, slave = os.openpty()
    endpoint = BoardEndpoint(MemoryBoard(), identity=b"pty-board")
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            if select.select([master], [], [], 0.02)[0]:
                reply = endpoint.receive(os.read(master, 4096))
                if reply:
                    os.write(master, reply)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    port = serial.Serial(os.ttyname(slave), baudrate=115200)
    try:
        link = Link(port, reply_timeout=1.0, min_reply_timeout=1.0)  # fixed: a clean pty needs no retry
        assert link.identify().core_info == b"pty-board"
        requests, expected = random_workload(random.Random(8), 200)
        assert link.transact(requests) == expected
        assert link.stats.retransmissions == 0
        assert link.port_name == os.ttyname(slave)
    finally:
        stop.set()
        server.join()
        port.close()
        os.close(master)
        os.close(slave)
