"""The host's reliable transport to the board (rtl/PROTOCOL.md, "Host transport").

:class:`Link` works over any byte stream with ``read(size)``, ``write(data)``
and a ``timeout`` attribute: a ``serial.Serial`` on a real board, the same on
the virtual board's pseudo-terminal, or an in-memory pipe in the tests.  It
sends up to ``window`` frames before waiting, retransmits on NACK or on a
reply timeout (go-back-N: every unacknowledged frame, in order), gives up
after ``max_retries`` retransmissions of one frame, and counts what it did in
:class:`LinkStats`.  Every error names the port and the command.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Protocol, Sequence

from neurohw.targets.fpga.protocol import (
    IDEMPOTENT_COMMANDS, MAX_PAYLOAD, MAX_WINDOW, PROTOCOL_VERSION_MAJOR, SEQ_MODULUS, Command,
    ErrorCode, Frame, FrameError, StreamDecoder, encode_frame,
)


class ByteStream(Protocol):
    timeout: Optional[float]

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes) -> Optional[int]: ...


def _command_name(cmd: int) -> str:
    try:
        return Command(cmd).name
    except ValueError:
        return f"command 0x{cmd:02X}"


def _code_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"error 0x{code:02X}"


class LinkError(IOError):
    """The board could not be reached or refused a command."""

    def __init__(self, port: str, cmd: int, seq: Optional[int], reason: str):
        where = f"seq {seq}" if seq is not None else "no seq"
        super().__init__(f"{port}: {_command_name(cmd)} ({where}): {reason}")
        self.port = port
        self.cmd = cmd
        self.seq = seq


class LinkTimeout(LinkError):
    """No acknowledgement after the allowed number of retransmissions."""


class CommandFailed(LinkError):
    """The board received the command intact and answered it with a NACK."""

    def __init__(self, port: str, cmd: int, seq: int, code: int):
        super().__init__(port, cmd, seq, f"rejected by the board: {_code_name(code)}")
        self.code = code


@dataclass
class LinkStats:
    frames_sent: int = 0  # first transmissions
    retransmissions: int = 0  # every frame sent again, whatever the cause
    timeouts: int = 0  # times the reply timer expired
    nacks: int = 0  # NACKs that asked for a retransmission
    corrupt_replies: int = 0  # bytes from the board the decoder dropped
    stale_replies: int = 0  # replies to no frame in flight (e.g. re-ACKs)


@dataclass(frozen=True)
class BoardIdentity:
    protocol_major: int
    protocol_minor: int
    max_payload: int
    max_window: int
    core_info: bytes  # layout defined in rtl/PROTOCOL.md, section 6


@dataclass
class _InFlight:
    index: int  # position in the caller's request list
    cmd: int
    wire: bytes
    sent_at: float
    retransmissions: int = 0
    last_nack: Optional[int] = None


# NACK codes that mean "this frame did not arrive intact or in order: send
# again"; any other NACK code is the board's final answer to the command.
_RETRANSMIT_CODES = frozenset(code for code in ErrorCode if code <= ErrorCode.OUT_OF_ORDER)


class Link:
    """Reliable, windowed command transport to one board.

    Call :meth:`identify` first (it synchronises sequence numbers), then
    :meth:`request` or :meth:`transact`.  After any :class:`LinkError` the
    frames that were in flight are abandoned: call :meth:`identify` again.
    """

    def __init__(self, port: ByteStream, *, port_name: Optional[str] = None,
                 window: int = 8, reply_timeout: float = 0.25, max_retries: int = 10,
                 poll_interval: float = 0.01,
                 clock: Callable[[], float] = time.monotonic):
        if not 1 <= window <= MAX_WINDOW:
            raise ValueError(f"window must be 1..{MAX_WINDOW}, got {window}")
        self.port = port
        self.port_name = port_name or str(getattr(port, "port", None) or getattr(port, "name", None) or port)
        self.window = window
        self.reply_timeout = reply_timeout
        self.max_retries = max_retries
        self.max_payload = MAX_PAYLOAD
        self.stats = LinkStats()
        self._clock = clock
        self._decoder = StreamDecoder()
        self._next_seq = 0
        # A short read timeout, so that the reply timer is checked often; the
        # link owns the port from here on.
        port.timeout = poll_interval

    def identify(self) -> BoardIdentity:
        """Synchronise sequence numbers with the board and read its identity.

        IDENTIFY resets the board's expected sequence number, so it is sent
        alone (window of one); call it first, and again after a board reset.
        """
        # Whatever an earlier session left in the input is not for us.
        if hasattr(self.port, "reset_input_buffer"):
            self.port.reset_input_buffer()
        self._decoder = StreamDecoder()
        reply = self._exchange([(Command.IDENTIFY, b"")], window=1)[0]
        if len(reply) < 4:
            raise LinkError(self.port_name, Command.IDENTIFY, None,
                            f"identify reply of {len(reply)} bytes, expected at least 4")
        identity = BoardIdentity(reply[0], reply[1], reply[2], reply[3], reply[4:])
        if identity.protocol_major != PROTOCOL_VERSION_MAJOR:
            raise LinkError(self.port_name, Command.IDENTIFY, None,
                            f"board speaks protocol {identity.protocol_major}.{identity.protocol_minor}, "
                            f"this host {PROTOCOL_VERSION_MAJOR}.x")
        self.max_payload = min(MAX_PAYLOAD, identity.max_payload)
        self.window = max(1, min(self.window, identity.max_window))
        return identity

    def request(self, cmd: int, payload: bytes = b"") -> bytes:
        """Send one command and return the data of its ACK."""
        return self.transact([(cmd, payload)])[0]

    def transact(self, requests: Sequence[tuple[int, bytes]]) -> list[bytes]:
        """Send commands in order, ``window`` at a time; return each ACK's data.

        Every command is applied exactly once and in order, and a read
        sees the effect of every command before it and of none after it (a
        write is not sent while a read is unanswered).  If the board
        rejects some, the rest are still delivered and the first rejection
        is raised as :class:`CommandFailed` at the end.
        """
        for cmd, payload in requests:
            if cmd == Command.IDENTIFY:
                raise ValueError("IDENTIFY resynchronises the board; use identify(), not transact()")
            if not 0 <= cmd < Command.ACK:
                raise ValueError(f"{self.port_name}: {_command_name(cmd)} is not a host command")
            if len(payload) > self.max_payload:
                raise ValueError(f"{self.port_name}: {_command_name(cmd)} payload of "
                                 f"{len(payload)} bytes exceeds the board's {self.max_payload}")
        return self._exchange(requests, self.window)

    def _exchange(self, requests: Iterable[tuple[int, bytes]], window: int) -> list[bytes]:
        todo = list(requests)
        replies: list[Optional[bytes]] = [None] * len(todo)
        failures: list[CommandFailed] = []
        in_flight: OrderedDict[int, _InFlight] = OrderedDict()
        next_index = 0
        while next_index < len(todo) or in_flight:
            while next_index < len(todo) and len(in_flight) < window:
                cmd, payload = todo[next_index]
                if cmd not in IDEMPOTENT_COMMANDS and any(
                        sent.cmd in IDEMPOTENT_COMMANDS for sent in in_flight.values()):
                    # A read whose reply is lost is executed again when it is
                    # retransmitted; no write may overtake it meanwhile.
                    break
                seq = self._next_seq
                self._next_seq = (seq + 1) % SEQ_MODULUS
                wire = encode_frame(cmd, seq, payload)
                self.port.write(wire)
                self.stats.frames_sent += 1
                in_flight[seq] = _InFlight(next_index, cmd, wire, self._clock())
                next_index += 1
            received = self.port.read(max(1, getattr(self.port, "in_waiting", 0) or 0))
            for event in self._decoder.feed(received):
                if isinstance(event, FrameError):
                    self.stats.corrupt_replies += 1
                elif self._on_reply(event, in_flight, replies, failures):
                    self._retransmit(in_flight)
            if in_flight:
                oldest = next(iter(in_flight.values()))
                if self._clock() - oldest.sent_at >= self.reply_timeout:
                    self.stats.timeouts += 1
                    self._retransmit(in_flight)
        if failures:
            raise failures[0]
        return replies  # type: ignore[return-value]  # every slot is filled

    def _on_reply(self, frame: Frame, in_flight: "OrderedDict[int, _InFlight]",
                  replies: list, failures: list) -> bool:
        """Record one reply; return True if it asks for a retransmission."""
        if frame.cmd not in (Command.ACK, Command.NACK) or not frame.payload:
            self.stats.stale_replies += 1
            return False
        echoed_cmd = frame.payload[0]
        if frame.cmd == Command.NACK:
            if len(frame.payload) != 3:
                self.stats.stale_replies += 1
                return False
            code = frame.payload[1]
            if code in _RETRANSMIT_CODES:
                for sent in in_flight.values():
                    sent.last_nack = code
                self.stats.nacks += 1
                return bool(in_flight)
        sent = in_flight.get(frame.seq)
        if sent is None or sent.cmd != echoed_cmd:
            self.stats.stale_replies += 1  # e.g. the re-ACK of a frame sent twice
            return False
        del in_flight[frame.seq]
        if frame.cmd == Command.ACK:
            replies[sent.index] = frame.payload[1:]
        else:
            failures.append(CommandFailed(self.port_name, sent.cmd, frame.seq, frame.payload[1]))
            replies[sent.index] = b""
        return False

    def _retransmit(self, in_flight: "OrderedDict[int, _InFlight]") -> None:
        """Go back N: resend every unacknowledged frame, oldest first."""
        now = self._clock()
        for seq, sent in in_flight.items():
            if sent.retransmissions >= self.max_retries:
                why = f"no acknowledgement after {sent.retransmissions} retransmissions"
                if sent.last_nack is not None:
                    why += f" (last NACK: {_code_name(sent.last_nack)})"
                raise LinkTimeout(self.port_name, sent.cmd, seq, why)
            sent.retransmissions += 1
            sent.sent_at = now
            self.port.write(sent.wire)
            self.stats.retransmissions += 1
