"""The host's reliable transport to the board (rtl/PROTOCOL.md, "Host transport").

:class:`Link` works over any byte stream with ``read(size)``, ``write(data)``
and a ``timeout`` attribute: a ``serial.Serial`` on a real board, the same on
the virtual board's pseudo-terminal, the model board's port
(:class:`~neurohw.targets.fpga.board_model.ModelPort`), or an in-memory pipe
in the tests.  It keeps up to ``window`` frames and up to ``rx_buffer`` wire
bytes unacknowledged (the board's window and receive FIFO, from IDENTIFY),
retransmits on NACK, on a damaged reply or on a reply timeout (go-back-N:
every unacknowledged frame, in order), gives up after ``max_retries``
retransmissions of the oldest frame, and counts what it did in
:class:`LinkStats`.

The reply timer adapts to the measured round trip as TCP's does (RFC 6298:
smoothed RTT + 4 x its variation, no samples from retransmitted frames --
Karn's rule -- doubled on every expiry), between ``min_reply_timeout`` and
``reply_timeout``.  It runs from the moment a frame has left at the port's baud
rate (a window of frames queued in the OS buffer at 115200 baud takes a while
to go out) and is held while reply bytes arrive.

Go-back-N resends the whole window after a loss, so on a noisy line a wide
window multiplies the damage.  The number of frames in flight is therefore
limited by a congestion window as in TCP (RFC 5681): halved, once per lost
frame, when a frame has to be sent again, and grown by one frame per window of
clean acknowledgements, up to the board's window.  Every error names the port and
the command; a board that was reset, or whose sequence numbers no longer match
the host's, raises :class:`BoardReset`.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Protocol, Sequence

from neurohw.targets.fpga.protocol import (
    IDEMPOTENT_COMMANDS, MAX_PAYLOAD, MAX_WINDOW, PROTOCOL_VERSION_MAJOR, PROTOCOL_VERSION_MINOR,
    RETRANSMIT_CODES, SEQ_MODULUS, Command, ErrorCode, Frame, FrameError, StreamDecoder,
    encode_frame,
)

# IDENTIFY's link fields (rtl/PROTOCOL.md, IDENTIFY): version, max_payload, max_window, rx_buffer
LINK_IDENTITY_BYTES = 6
DEFAULT_WINDOW = 32
MIN_REPLY_TIMEOUT = 0.05  # s: below this, scheduling jitter on a loaded host looks like loss
BITS_PER_BYTE = 10        # UART 8N1


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


class BoardReset(LinkError):
    """The board lost the link state this session relies on: it was reset (it answers
    NOT_SYNCED), or its sequence numbers no longer match the host's.  The command
    named was not applied, and what the board held (its program, its run) cannot be
    trusted: identify again, upload again and run again."""


@dataclass
class LinkStats:
    frames_sent: int = 0  # first transmissions
    retransmissions: int = 0  # every frame sent again, whatever the cause
    timeouts: int = 0  # times the reply timer expired
    nacks: int = 0  # NACKs that asked for a retransmission
    overflow_nacks: int = 0  # of those, RX_OVERFLOW: the board's receive FIFO overflowed
    corrupt_replies: int = 0  # bytes from the board the decoder dropped
    stale_replies: int = 0  # replies to no frame in flight (e.g. re-ACKs)
    fast_retransmits: int = 0  # retransmissions started by a damaged reply, not the timer
    payload_bytes: int = 0  # command payload bytes acknowledged
    bytes_written: int = 0  # wire bytes written to the port (retransmissions included)
    bytes_read: int = 0  # bytes read from the port


@dataclass(frozen=True)
class BoardIdentity:
    protocol_major: int
    protocol_minor: int
    max_payload: int
    max_window: int
    rx_buffer: int  # bytes of the board's receive FIFO
    core_info: bytes  # the rest of the IDENTIFY reply, layout in rtl/PROTOCOL.md section 6


@dataclass
class _InFlight:
    index: int  # position in the caller's request list
    cmd: int
    wire: bytes
    departs_at: float  # when its last byte has left at the port's baud rate
    payload_bytes: int
    retransmissions: int = 0
    last_nack: Optional[int] = None
    fast_retransmitted: bool = False  # one fast retransmission per oldest frame


class Link:
    """Reliable, windowed command transport to one board.

    Call :meth:`identify` first (it synchronises sequence numbers and reads the
    board's window and receive buffer), then :meth:`request` or
    :meth:`transact`.  After any :class:`LinkError` the frames that were in
    flight are abandoned: call :meth:`identify` again.
    """

    def __init__(self, port: ByteStream, *, port_name: Optional[str] = None,
                 window: int = DEFAULT_WINDOW, reply_timeout: float = 0.25, max_retries: int = 10,
                 poll_interval: float = 0.01, min_reply_timeout: float = MIN_REPLY_TIMEOUT,
                 clock: Callable[[], float] = time.monotonic):
        if not 1 <= window <= MAX_WINDOW:
            raise ValueError(f"window must be 1..{MAX_WINDOW}, got {window}")
        self.port = port
        self.port_name = port_name or str(getattr(port, "port", None) or getattr(port, "name", None) or port)
        self.window = window
        self.reply_timeout = reply_timeout
        self.max_retries = max_retries
        self.max_payload = MAX_PAYLOAD
        # Until IDENTIFY has said how big the board's receive FIFO is, one frame at a time.
        self.rx_buffer: Optional[int] = None
        self.stats = LinkStats()
        self.congestion_window = window
        self._clean_acks = 0
        self._clock = clock
        self._srtt: Optional[float] = None
        self._rttvar = 0.0
        self.rto = reply_timeout
        # in the units of ``clock`` (seconds unless a simulation counts its own time)
        self.min_reply_timeout = min(min_reply_timeout, reply_timeout)
        baudrate = getattr(port, "baudrate", None)
        self._byte_time = BITS_PER_BYTE / baudrate if baudrate else 0.0
        self._line_free_at = 0.0
        self._decoder = StreamDecoder()
        self._next_seq = 0
        # A short read timeout, so that the reply timer is checked often; the
        # link owns the port from here on.
        port.timeout = poll_interval

    def identify(self) -> BoardIdentity:
        """Synchronise sequence numbers with the board and read its identity.

        IDENTIFY resets the board's expected sequence number (and, after a
        board reset, lets it accept frames again), so it is sent alone; call
        it first, and again after any :class:`LinkError`.  A board speaking
        another major version of the protocol is refused (:class:`LinkError`
        naming both versions)."""
        # Whatever an earlier session left in the input is not for us.
        if hasattr(self.port, "reset_input_buffer"):
            self.port.reset_input_buffer()
        self._decoder = StreamDecoder()
        reply = self._exchange([(Command.IDENTIFY, b"")], window=1, rx_buffer=None)[0]
        if len(reply) < 2:
            raise LinkError(self.port_name, Command.IDENTIFY, None,
                            f"identify reply of {len(reply)} bytes, expected at least 2")
        if reply[0] != PROTOCOL_VERSION_MAJOR:
            raise LinkError(self.port_name, Command.IDENTIFY, None,
                            f"board speaks protocol {reply[0]}.{reply[1]}, this host "
                            f"{PROTOCOL_VERSION_MAJOR}.{PROTOCOL_VERSION_MINOR} (major versions "
                            f"must match)")
        if len(reply) < LINK_IDENTITY_BYTES:
            raise LinkError(self.port_name, Command.IDENTIFY, None,
                            f"identify reply of {len(reply)} bytes, expected at least "
                            f"{LINK_IDENTITY_BYTES} for protocol {PROTOCOL_VERSION_MAJOR}.x")
        identity = BoardIdentity(reply[0], reply[1], reply[2], reply[3],
                                 int.from_bytes(reply[4:6], "little"), reply[LINK_IDENTITY_BYTES:])
        self.max_payload = min(MAX_PAYLOAD, identity.max_payload)
        self.window = max(1, min(self.window, identity.max_window))
        self.congestion_window = self.window
        self.rx_buffer = identity.rx_buffer
        return identity

    def request(self, cmd: int, payload: bytes = b"") -> bytes:
        """Send one command and return the data of its ACK."""
        return self.transact([(cmd, payload)])[0]

    def transact(self, requests: Sequence[tuple[int, bytes]],
                 on_reply: Optional[Callable[[int], None]] = None) -> list[bytes]:
        """Send commands in order, ``window`` frames and ``rx_buffer`` bytes at a time;
        return each ACK's data.  ``on_reply(i)`` is called as request ``i`` is answered.

        Every command is applied exactly once and in order, and a read
        sees the effect of every command before it and of none after it (a
        write is not sent while a read is unanswered).  If the board
        rejects some, the rest are still delivered and the first rejection
        is raised as :class:`CommandFailed` at the end.  A board that was
        reset raises :class:`BoardReset` at once.
        """
        for cmd, payload in requests:
            if cmd == Command.IDENTIFY:
                raise ValueError("IDENTIFY resynchronises the board; use identify(), not transact()")
            if not 0 <= cmd < Command.ACK:
                raise ValueError(f"{self.port_name}: {_command_name(cmd)} is not a host command")
            if len(payload) > self.max_payload:
                raise ValueError(f"{self.port_name}: {_command_name(cmd)} payload of "
                                 f"{len(payload)} bytes exceeds the board's {self.max_payload}")
        return self._exchange(requests, self.window, self.rx_buffer, on_reply)

    def _write(self, wire: bytes) -> float:
        """Write a frame; return when its last byte will have left the port."""
        self.port.write(wire)
        self.stats.bytes_written += len(wire)
        self._line_free_at = max(self._clock(), self._line_free_at) + len(wire) * self._byte_time
        return self._line_free_at

    def _sample_round_trip(self, rtt: float) -> None:
        """RFC 6298, section 2: SRTT, RTTVAR and the RTO from one round-trip sample."""
        if self._srtt is None:
            self._srtt, self._rttvar = rtt, rtt / 2
        else:
            self._rttvar = 0.75 * self._rttvar + 0.25 * abs(self._srtt - rtt)
            self._srtt = 0.875 * self._srtt + 0.125 * rtt
        self.rto = min(self.reply_timeout, max(self.min_reply_timeout,
                                               self._srtt + 4 * self._rttvar))

    def _exchange(self, requests: Iterable[tuple[int, bytes]], window: int,
                  rx_buffer: Optional[int],
                  on_reply: Optional[Callable[[int], None]] = None) -> list[bytes]:
        todo = list(requests)
        replies: list[Optional[bytes]] = [None] * len(todo)
        failures: list[CommandFailed] = []
        in_flight: OrderedDict[int, _InFlight] = OrderedDict()
        in_flight_bytes = 0
        next_index = 0
        # The reply timer of the oldest frame runs from its (re)transmission or
        # from the last reply, whichever is later: replies queued behind one
        # another on the board's transmitter are progress, not a loss.
        progress_at = self._clock()
        while next_index < len(todo) or in_flight:
            while next_index < len(todo) and len(in_flight) < min(window,
                                                                  self.congestion_window):
                cmd, payload = todo[next_index]
                if cmd not in IDEMPOTENT_COMMANDS and any(
                        sent.cmd in IDEMPOTENT_COMMANDS for sent in in_flight.values()):
                    # A read whose reply is lost is executed again when it is
                    # retransmitted; no write may overtake it meanwhile.
                    break
                seq = self._next_seq
                wire = encode_frame(cmd, seq, payload)
                if in_flight and (rx_buffer is None or in_flight_bytes + len(wire) > rx_buffer):
                    # byte credit: the unacknowledged frames must fit the board's receive FIFO
                    break
                self._next_seq = (seq + 1) % SEQ_MODULUS
                departs_at = self._write(wire)
                self.stats.frames_sent += 1
                in_flight[seq] = _InFlight(next_index, cmd, wire, departs_at, len(payload))
                in_flight_bytes += len(wire)
                next_index += 1
            received = self.port.read(max(1, getattr(self.port, "in_waiting", 0) or 0))
            self.stats.bytes_read += len(received)
            if received:
                progress_at = self._clock()   # a reply is on its way: hold the timer
            for event in self._decoder.feed(received):
                if isinstance(event, FrameError):
                    self.stats.corrupt_replies += 1
                    oldest = next(iter(in_flight.values()), None)
                    if oldest is not None and not oldest.fast_retransmitted:
                        # a reply was lost: resend now rather than after the timer
                        oldest.fast_retransmitted = True
                        self.stats.fast_retransmits += 1
                        self._retransmit(in_flight)
                    continue
                answered = self._on_reply(event, in_flight, replies, failures)
                if answered is None:
                    self._retransmit(in_flight)
                elif answered:
                    in_flight_bytes -= len(answered.wire)
                    progress_at = self._clock()
                    self.stats.payload_bytes += answered.payload_bytes
                    if answered.retransmissions == 0:   # Karn: only unambiguous samples
                        self._sample_round_trip(progress_at - answered.departs_at)
                        self._clean_acks += 1
                        if self._clean_acks >= self.congestion_window:
                            self._clean_acks = 0
                            self.congestion_window = min(self.window, self.congestion_window + 1)
                    if on_reply is not None:
                        on_reply(answered.index)
            if in_flight:
                oldest = next(iter(in_flight.values()))
                if self._clock() - max(oldest.departs_at, progress_at) >= self.rto:
                    self.stats.timeouts += 1
                    self.rto = min(self.reply_timeout, 2 * self.rto)   # back off
                    self._retransmit(in_flight)
        if failures:
            raise failures[0]
        return replies  # type: ignore[return-value]  # every slot is filled

    def _on_reply(self, frame: Frame, in_flight: "OrderedDict[int, _InFlight]",
                  replies: list, failures: list):
        """Record one reply.  Returns the frame it answered (now out of flight), False if
        it answers none, or None if it asks for a retransmission."""
        if frame.cmd not in (Command.ACK, Command.NACK) or not frame.payload:
            self.stats.stale_replies += 1
            return False
        echoed_cmd = frame.payload[0]
        sent = in_flight.get(frame.seq)
        matched = sent is not None and sent.cmd == echoed_cmd
        if frame.cmd == Command.NACK:
            if len(frame.payload) != 3:
                self.stats.stale_replies += 1
                return False
            code, expected = frame.payload[1], frame.payload[2]
            if matched and code == ErrorCode.NOT_SYNCED:
                raise BoardReset(self.port_name, sent.cmd, frame.seq,
                                 "the board is not synchronised with this host (NACK NOT_SYNCED: "
                                 "it was reset, or identified by another host): it did not apply "
                                 "this command; identify, upload and run again")
            if matched and code == ErrorCode.OUT_OF_ORDER and expected not in in_flight:
                raise BoardReset(self.port_name, sent.cmd, frame.seq,
                                 f"lost sequence sync: the board expects seq {expected}, which is "
                                 f"not a frame in flight ({', '.join(map(str, in_flight))}); "
                                 f"identify again")
            if code in RETRANSMIT_CODES:
                for waiting in in_flight.values():
                    waiting.last_nack = code
                self.stats.nacks += 1
                if code == ErrorCode.RX_OVERFLOW:
                    self.stats.overflow_nacks += 1
                return None if in_flight else False
        if not matched:
            self.stats.stale_replies += 1  # e.g. the re-ACK of a frame sent twice
            return False
        del in_flight[frame.seq]
        if frame.cmd == Command.ACK:
            replies[sent.index] = frame.payload[1:]
        else:
            failures.append(CommandFailed(self.port_name, sent.cmd, frame.seq, frame.payload[1]))
            replies[sent.index] = b""
        return sent

    def _retransmit(self, in_flight: "OrderedDict[int, _InFlight]") -> None:
        """Go back N: resend every unacknowledged frame, oldest first.  Only the oldest
        frame's budget is spent: the others go again because it did, not for themselves."""
        seq, oldest = next(iter(in_flight.items()))
        if oldest.retransmissions >= self.max_retries:
            why = f"no acknowledgement after {oldest.retransmissions} retransmissions"
            if oldest.last_nack is not None:
                why += f" (last NACK: {_code_name(oldest.last_nack)})"
            raise LinkTimeout(self.port_name, oldest.cmd, seq, why)
        if oldest.retransmissions == 0:     # one halving per lost frame, not per resend
            self.congestion_window = max(1, self.congestion_window // 2)
            self._clean_acks = 0
        oldest.retransmissions += 1
        for sent in in_flight.values():
            if sent is not oldest:
                sent.retransmissions = max(sent.retransmissions, 1)   # Karn: no RTT sample
            sent.departs_at = self._write(sent.wire)
            self.stats.retransmissions += 1
