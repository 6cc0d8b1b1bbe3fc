"""The host <-> board link protocol (see rtl/PROTOCOL.md), bit-identical with the RTL.

* framing: :func:`crc16`, :func:`encode_frame` and :class:`StreamDecoder`, a
  byte-at-a-time decoder that is a transcription of ``rtl/frame_decoder.v``
  (same states, same error codes, reported at the same byte), so that the RTL
  bench can compare the two event by event;
* the board's receive FIFO: :class:`RxFifo`, the model of ``rtl/rx_fifo.v``
  (what is kept, what is dropped and where the overflow mark goes);
* the board's sequence-number rules: :class:`BoardSequencer`, the model of
  ``rtl/frame_sequencer.v`` (which frames to apply, to answer again, to NACK,
  and the NOT_SYNCED rule after a reset);
* :class:`BoardEndpoint`, the whole board side in Python (receive FIFO,
  decoder, sequencer, a command handler, ACK/NACK replies), which applies a
  side-effecting command at most once; :mod:`neurohw.targets.fpga.board_model`
  puts the board's commands and clock behind it;
* constants shared with the host transport in :mod:`neurohw.targets.fpga.link`.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Callable, Iterable, Iterator, Optional, Union

PROTOCOL_VERSION_MAJOR = 3
PROTOCOL_VERSION_MINOR = 3

FLAG = 0x7E  # starts and ends every frame; never appears inside one
ESCAPE = 0x7D  # the next byte is the data byte XOR ESCAPE_XOR
ESCAPE_XOR = 0x20
MAX_PAYLOAD = 255  # LEN is one byte
SEQ_MODULUS = 256
# A sequence number at most this far behind the expected one is a duplicate;
# anything ahead of it is a gap.  The sender's window must stay below it.
DUPLICATE_HORIZON = 128
MAX_WINDOW = DUPLICATE_HORIZON - 1
# Bytes of the board's receive FIFO (rtl/rx_fifo.v RX_FIFO_BYTES); IDENTIFY reports the real one.
DEFAULT_RX_BUFFER = 2048
MAX_RX_BUFFER = 1 << 15  # IDENTIFY's rx_buffer field is a u16 and the FIFO a power of two

CRC16_INIT = 0xFFFF
CRC16_POLY = 0x1021
CRC16_CHECK = 0x29B1  # crc16(b"123456789"), the catalogue's check value


class Command(IntEnum):
    """Command codes (host -> board: < 0x80; board -> host: >= 0x80)."""

    IDENTIFY = 0x01
    RESET = 0x02
    WRITE_BUS = 0x08
    READ_BUS = 0x09
    WRITE_NEURON_PARAMS = 0x10
    READ_NEURON_PARAMS = 0x11
    WRITE_WEIGHTS_BULK = 0x20
    WRITE_WEIGHTS_SPARSE = 0x21
    READ_WEIGHTS_BULK = 0x22
    READ_WEIGHTS_SPARSE = 0x23
    WRITE_DELAYS = 0x24
    WRITE_STDP = 0x30
    LOAD_INPUT_SPIKES = 0x40
    RUN = 0x41
    READ_OUTPUT_SPIKES = 0x42
    READ_STEP_LOG = 0x43
    STOP = 0x44
    READ_COUNTERS = 0x50
    ACK = 0x80
    NACK = 0x81


# Commands whose execution changes no board state: on a duplicate they are
# executed again (their reply was lost), whereas any other command is applied
# at most once and a duplicate of it is only re-acknowledged.
IDEMPOTENT_COMMANDS = frozenset({
    Command.IDENTIFY,
    Command.READ_BUS,
    Command.READ_NEURON_PARAMS,
    Command.READ_WEIGHTS_BULK,
    Command.READ_WEIGHTS_SPARSE,
    Command.READ_OUTPUT_SPIKES,
    Command.READ_STEP_LOG,
    Command.READ_COUNTERS,
})


class ErrorCode(IntEnum):
    """Codes carried by NACK frames.  0x01-0x0F are the frame decoder's own
    (``err_code_o`` of rtl/frame_decoder.v); 0x10 and up are the board's."""

    BAD_CRC = 0x01  # flag after a complete frame, but the CRC check failed
    TRUNCATED = 0x02  # flag before the frame's LEN + 5 bytes were complete
    TOO_LONG = 0x03  # a byte other than the flag after the CRC
    BAD_ESCAPE = 0x04  # ESCAPE followed by anything but 0x5E or 0x5D
    OVERSIZE = 0x05  # LEN above the receiver's maximum payload
    UART_FRAMING = 0x06  # the UART saw a 0 stop bit in this frame
    RX_OVERFLOW = 0x07  # the board's receive FIFO was full: bytes of this frame were dropped
    OUT_OF_ORDER = 0x10  # sequence number ahead of the expected one (a gap)
    UNKNOWN_COMMAND = 0x11
    BAD_LENGTH = 0x12  # payload length wrong for the command
    OUT_OF_RANGE = 0x13  # address, index or count outside the core
    BUSY = 0x14  # the core cannot take the command now (e.g. running)
    NOT_SYNCED = 0x15  # the board was reset and has not been identified since: nothing applied


# NACK codes that mean "this frame did not arrive intact or in order: send it
# again"; any other code is the board's final answer to the frame.
RETRANSMIT_CODES = frozenset(code for code in ErrorCode if code <= ErrorCode.OUT_OF_ORDER)


def _describe(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"0x{code:02X}"


# ----------------------------------------------------------------- CRC ----

def _crc16_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ CRC16_POLY) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC16_TABLE = _crc16_table()


def crc16_update(crc: int, byte: int) -> int:
    """One byte of CRC-16/CCITT-FALSE (what rtl/crc16.v does each clock)."""
    return ((crc << 8) & 0xFFFF) ^ _CRC16_TABLE[((crc >> 8) ^ byte) & 0xFF]


def crc16(data: bytes, crc: int = CRC16_INIT) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0."""
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16_TABLE[(crc >> 8) ^ byte]
    return crc


# ------------------------------------------------------------ framing ----

@dataclass(frozen=True)
class Frame:
    cmd: int
    seq: int
    payload: bytes = b""


@dataclass(frozen=True)
class FrameError:
    """The decoder dropped a frame; ``code`` is an :class:`ErrorCode` < 0x10."""

    code: int

    def __str__(self) -> str:
        return _describe(self.code)


DecodeEvent = Union[Frame, FrameError]


def stuff(data: bytes) -> bytes:
    out = bytearray()
    for byte in data:
        if byte == FLAG or byte == ESCAPE:
            out += bytes((ESCAPE, byte ^ ESCAPE_XOR))
        else:
            out.append(byte)
    return bytes(out)


def frame_body(cmd: int, seq: int, payload: bytes = b"") -> bytes:
    """The unstuffed bytes between the flags: LEN CMD SEQ PAYLOAD CRC_HI CRC_LO."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds the {MAX_PAYLOAD}-byte maximum")
    if not (0 <= cmd <= 0xFF and 0 <= seq <= 0xFF):
        raise ValueError(f"cmd {cmd} and seq {seq} must each fit in a byte")
    body = bytes((len(payload), cmd, seq)) + bytes(payload)
    crc = crc16(body)
    # Big-endian CRC, so that the CRC over body + CRC is 0 (the receiver's check).
    return body + bytes((crc >> 8, crc & 0xFF))


def frame_crc(cmd: int, seq: int, payload: bytes = b"") -> int:
    """The CRC a frame carries (what frame_decoder.v's crc_o holds after it)."""
    return int.from_bytes(frame_body(cmd, seq, payload)[-2:], "big")


def encode_frame(cmd: int, seq: int, payload: bytes = b"") -> bytes:
    """The bytes on the wire, exactly as rtl/frame_encoder.v sends them."""
    return bytes((FLAG,)) + stuff(frame_body(cmd, seq, payload)) + bytes((FLAG,))


# Decoder states, numbered as the localparams of rtl/frame_decoder.v.
_HUNT, _LEN, _CMD, _SEQ, _PAYLOAD, _CRC_HI, _CRC_LO, _END = range(8)


class StreamDecoder:
    """Frames out of an arbitrary byte stream, resynchronising on every FLAG.

    ``feed`` never raises on any input and yields a :class:`Frame` only for a
    complete frame whose length and CRC check; every abandoned frame yields
    one :class:`FrameError`.  Garbage outside a frame is skipped silently.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD):
        if not 0 <= max_payload <= MAX_PAYLOAD:
            raise ValueError(f"max_payload must be 0..{MAX_PAYLOAD}, got {max_payload}")
        self.max_payload = max_payload
        self._state = _HUNT
        self._escaped = False
        self._crc = CRC16_INIT
        self._len = 0
        self._cmd = 0
        self._seq = 0
        self._payload = bytearray()

    def feed(self, data: Iterable[int]) -> Iterator[DecodeEvent]:
        for byte in data:
            event = self.feed_byte(byte)
            if event is not None:
                yield event

    def decode(self, data: Iterable[int]) -> list[DecodeEvent]:
        return list(self.feed(data))

    def feed_byte(self, byte: int, uart_error: bool = False,
                  overflow: bool = False) -> Optional[DecodeEvent]:
        """One received byte; ``uart_error`` marks a byte with a 0 stop bit, ``overflow``
        the receive FIFO's overflow mark (:class:`RxFifo`; its byte is meaningless)."""
        if uart_error or overflow:
            if self._state == _HUNT:
                return None
            return self._abandon(ErrorCode.RX_OVERFLOW if overflow else ErrorCode.UART_FRAMING)
        if byte == FLAG:
            return self._flag()
        if self._state == _HUNT:
            return None
        if self._state == _END:
            return self._abandon(ErrorCode.TOO_LONG)
        if byte == ESCAPE:
            if self._escaped:
                return self._abandon(ErrorCode.BAD_ESCAPE)
            self._escaped = True
            return None
        if self._escaped:
            if byte not in (FLAG ^ ESCAPE_XOR, ESCAPE ^ ESCAPE_XOR):
                return self._abandon(ErrorCode.BAD_ESCAPE)
            byte ^= ESCAPE_XOR
            self._escaped = False
        return self._content(byte)

    def _flag(self) -> Optional[DecodeEvent]:
        state, escaped, crc_residue = self._state, self._escaped, self._crc
        self._start()
        if state == _END:
            # The CRC over body + big-endian CRC leaves a residue of 0.
            return Frame(self._cmd, self._seq, bytes(self._payload)) if crc_residue == 0 \
                else FrameError(ErrorCode.BAD_CRC)
        if state == _HUNT or (state == _LEN and not escaped):
            return None  # resynchronised, or an empty frame between two flags
        return FrameError(ErrorCode.TRUNCATED)

    def _start(self) -> None:
        self._state = _LEN
        self._escaped = False
        self._crc = CRC16_INIT

    def _abandon(self, code: int) -> FrameError:
        self._state = _HUNT
        self._escaped = False
        return FrameError(code)

    def _content(self, byte: int) -> Optional[DecodeEvent]:
        state = self._state
        if state == _LEN:
            if byte > self.max_payload:
                return self._abandon(ErrorCode.OVERSIZE)
            self._len = byte
            self._payload = bytearray()
            self._state = _CMD
        elif state == _CMD:
            self._cmd = byte
            self._state = _SEQ
        elif state == _SEQ:
            self._seq = byte
            self._state = _PAYLOAD if self._len else _CRC_HI
        elif state == _PAYLOAD:
            self._payload.append(byte)
            if len(self._payload) == self._len:
                self._state = _CRC_HI
        elif state == _CRC_HI:
            self._state = _CRC_LO
        else:  # _CRC_LO
            self._state = _END
        self._crc = crc16_update(self._crc, byte)
        return None


    def feed_entry(self, entry: "RxEntry") -> Optional[DecodeEvent]:
        """One entry of the receive FIFO (:class:`RxFifo`)."""
        return self.feed_byte(entry.byte, entry.kind == RxEntry.UART_ERROR,
                              entry.kind == RxEntry.OVERFLOW)


# -------------------------------------------------------- receive FIFO ----

@dataclass(frozen=True)
class RxEntry:
    """One entry of the board's receive FIFO: a byte from the UART, a byte the UART
    received with a 0 stop bit, or the mark left where bytes were dropped."""

    BYTE = 0
    UART_ERROR = 1
    OVERFLOW = 2

    byte: int
    kind: int = BYTE


OVERFLOW_MARK = RxEntry(0, RxEntry.OVERFLOW)


class RxFifo:
    """The board's receive FIFO (rtl/rx_fifo.v, entry for entry).

    ``depth`` entries.  A byte that arrives while the FIFO is full is dropped
    and an *overflow mark* is owed: it is queued at the first clock the FIFO
    is not full (a byte arriving in that clock is dropped too), so that the
    decoder abandons the frame the dropped bytes belonged to with
    ``RX_OVERFLOW`` instead of joining two pieces of frames.  One mark is
    queued per overflow episode (``overflows`` counts them).

    The timed board (:mod:`.board_model`) calls, in each clock, :meth:`clock`
    with the byte that uart_rx delivers (if any) *before* popping, as the RTL's
    full flag is the count at the start of the clock.
    """

    def __init__(self, depth: int = DEFAULT_RX_BUFFER):
        if depth < 2 or depth & (depth - 1) or depth > MAX_RX_BUFFER:
            raise ValueError(f"RxFifo depth must be a power of two, 2..{MAX_RX_BUFFER}, got {depth}")
        self.depth = depth
        self._entries: list[RxEntry] = []
        self._first = 0  # index of the head in _entries (popped entries are trimmed lazily)
        self.mark_owed = False
        self.overflows = 0  # marks queued
        self.dropped = 0  # bytes dropped

    def __len__(self) -> int:
        return len(self._entries) - self._first

    @property
    def full(self) -> bool:
        return len(self) >= self.depth

    def clock(self, entry: Optional[RxEntry]) -> bool:
        """One clock of the write side: ``entry`` from uart_rx, or None.  Returns
        True if something (the entry or an owed mark) was stored."""
        if self.full:
            if entry is not None:
                self.dropped += 1
                self.mark_owed = True
            return False
        if self.mark_owed:
            if entry is not None:
                self.dropped += 1
            self._entries.append(OVERFLOW_MARK)
            self.mark_owed = False
            self.overflows += 1
            return True
        if entry is None:
            return False
        self._entries.append(entry)
        return True

    def push(self, byte: int, uart_error: bool = False) -> bool:
        """A byte from the UART (one clock of :meth:`clock`)."""
        return self.clock(RxEntry(byte, RxEntry.UART_ERROR if uart_error else RxEntry.BYTE))

    def pop(self) -> Optional[RxEntry]:
        if not len(self):
            return None
        entry = self._entries[self._first]
        self._first += 1
        if self._first > 4096:
            del self._entries[:self._first]
            self._first = 0
        return entry

    def clear(self) -> None:
        """What rst_ni does: empty, nothing owed, the counts restarted."""
        self._entries.clear()
        self._first = 0
        self.mark_owed = False
        self.overflows = self.dropped = 0


# --------------------------------------------------- sequence numbers ----

def seq_distance(seq: int, expected: int) -> int:
    """How far ``seq`` is ahead of ``expected``, modulo 256 (0..255)."""
    return (seq - expected) % SEQ_MODULUS


def is_duplicate(seq: int, expected: int) -> bool:
    """``seq`` was already accepted: it lies within the horizon behind ``expected``."""
    return seq_distance(seq, expected) >= SEQ_MODULUS - DUPLICATE_HORIZON


def ack_frame(seq: int, cmd: int, reply: bytes = b"") -> bytes:
    return encode_frame(Command.ACK, seq, bytes((cmd,)) + bytes(reply))


def nack_frame(seq: int, cmd: int, code: int, expected_seq: int) -> bytes:
    return encode_frame(Command.NACK, seq, bytes((cmd, code, expected_seq)))


class CommandRejected(Exception):
    """Raised by a board command handler to answer a valid frame with a NACK."""

    def __init__(self, code: int, detail: str = ""):
        super().__init__(f"{_describe(code)}{': ' + detail if detail else ''}")
        self.code = code


# handler(cmd, payload, apply) -> reply bytes.  It validates the command
# (raising CommandRejected) and executes it.  ``apply`` is False only for a
# duplicate of an idempotent command (a read whose reply was lost), which is
# executed again; it must change no state then.  A duplicate of a
# side-effecting command never reaches the handler: the endpoint answers it
# with the answer its first copy got.
CommandHandler = Callable[[int, bytes, bool], bytes]


@dataclass
class BoardCounters:
    frames_accepted: int = 0  # new frames and IDENTIFYs (Verdict.APPLY)
    duplicates: int = 0  # Verdict.REPLAY
    out_of_order: int = 0  # frames ahead of the expected seq
    frame_errors: int = 0  # frames the decoder dropped
    link_nacks: int = 0  # NACKs for the two above (one per gap)
    rejected: int = 0  # NACKs from the command handler
    not_synced: int = 0  # good frames refused with NOT_SYNCED (before the first IDENTIFY)


class Verdict(IntEnum):
    """What the board does with a decoded frame (``verdict_o`` of rtl/frame_sequencer.v)."""

    SILENT = 0  # nothing: an error while a NACK for this gap is outstanding
    APPLY = 1  # a new frame (or IDENTIFY): validate, apply, answer
    REPLAY = 2  # a duplicate whose reply was lost: validate and answer, apply nothing
    NACK = 3  # answer NACK with the code given (decoder error, OUT_OF_ORDER, NOT_SYNCED)


class BoardSequencer:
    """The board's sequence-number rules; rtl/frame_sequencer.v, state for state.

    After a reset the board is *unsynchronised*: every good frame but IDENTIFY
    is answered NACK NOT_SYNCED (final, nothing applied; every such frame gets
    its NACK), so that a host whose board was reset behind its back learns it
    at the next frame instead of having it applied to a board that lost its
    program.  Once synchronised, each good frame is classified against the
    expected sequence number E:

    * IDENTIFY: APPLY whatever its seq, and E = seq + 1 (link sync);
    * ``seq == E``: APPLY, E += 1 (even if the command is then rejected);
    * ``seq`` at most 128 behind E: REPLAY;
    * ``seq`` ahead of E (a frame was lost): NACK OUT_OF_ORDER.

    Only one NACK is sent per gap (like HDLC's REJ): after a NACK for a lost
    or corrupted frame, further such frames are SILENT until frame E arrives;
    the host's retransmission timer covers a lost NACK.
    """

    def __init__(self):
        self.expected_seq = 0
        self.nack_outstanding = False
        self.synced = False
        self.counters = BoardCounters()

    def step(self, event: DecodeEvent) -> tuple[Verdict, int]:
        """The verdict on one decoder event, and the NACK code if it is NACK."""
        counters = self.counters
        if isinstance(event, FrameError):
            counters.frame_errors += 1
            return self._nack_once(event.code)
        if event.cmd == Command.IDENTIFY:
            self.synced = True
        elif not self.synced:
            counters.not_synced += 1
            return Verdict.NACK, ErrorCode.NOT_SYNCED
        if event.cmd == Command.IDENTIFY or event.seq == self.expected_seq:
            self.expected_seq = (event.seq + 1) % SEQ_MODULUS
            self.nack_outstanding = False
            counters.frames_accepted += 1
            return Verdict.APPLY, 0
        if is_duplicate(event.seq, self.expected_seq):
            counters.duplicates += 1
            return Verdict.REPLAY, 0
        counters.out_of_order += 1
        return self._nack_once(ErrorCode.OUT_OF_ORDER)

    def _nack_once(self, code: int) -> tuple[Verdict, int]:
        if self.nack_outstanding:
            return Verdict.SILENT, 0
        self.nack_outstanding = True
        self.counters.link_nacks += 1
        return Verdict.NACK, code


class BoardEndpoint:
    """The board's side of the link: what the RTL command front end must do.

    Bytes in, reply bytes out: the receive FIFO (:class:`RxFifo`), the
    decoder, the sequencer's verdict, then the command handler (see
    :data:`CommandHandler`) for APPLY (``apply=True``) and REPLAY
    (``apply=False``).  IDENTIFY is answered here: the link fields (version,
    ``max_payload``, ``max_window``, ``rx_buffer``) and then ``identity``, the
    board's own description (rtl/PROTOCOL.md, IDENTIFY).

    :meth:`receive` is an infinitely fast board (each byte is taken from the
    FIFO as soon as it arrives); a timed board calls :meth:`arrive` when a byte
    comes off the wire, :meth:`take` when its front end pops the FIFO, and
    :meth:`handle` with the event ``take`` returned when the front end acts on it.
    """

    def __init__(self, handler: CommandHandler, identity: bytes = b"",
                 max_payload: int = MAX_PAYLOAD, max_window: int = MAX_WINDOW,
                 rx_buffer: int = DEFAULT_RX_BUFFER):
        if not 1 <= max_window <= MAX_WINDOW:
            raise ValueError(f"max_window must be 1..{MAX_WINDOW}, got {max_window}")
        self._handler = handler
        self._identity = bytes(identity)
        self._decoder = StreamDecoder(max_payload)
        self.max_payload = max_payload
        self.max_window = max_window
        self.rx_fifo = RxFifo(rx_buffer)
        self.sequencer = BoardSequencer()
        self.counters = self.sequencer.counters
        # (frame CRC, answer) of the side-effecting command each SEQ last applied (answer 0:
        # ACK, else the NACK code): a duplicate gets the same answer, and a frame with that
        # SEQ but another CRC is not a duplicate but a host out of step (cmd_frontend.v's
        # outcome RAM, zero at power-up)
        self._outcomes = [(0, 0)] * SEQ_MODULUS
        self.last_verdict: Optional[Verdict] = None

    @property
    def expected_seq(self) -> int:
        return self.sequencer.expected_seq

    @property
    def rx_buffer(self) -> int:
        return self.rx_fifo.depth

    def identify_reply(self) -> bytes:
        return bytes((PROTOCOL_VERSION_MAJOR, PROTOCOL_VERSION_MINOR, self.max_payload,
                      self.max_window)) + self.rx_buffer.to_bytes(2, "little") + self._identity

    def reset(self) -> None:
        """What rst_ni does to the link: FIFO emptied, decoder hunting, sequencer unsynchronised."""
        self.rx_fifo.clear()
        self._decoder = StreamDecoder(self.max_payload)
        counters = BoardCounters()
        self.sequencer = BoardSequencer()
        self.sequencer.counters = self.counters = counters
        self.last_verdict = None  # the outcome memory is a RAM: it keeps its words

    def arrive(self, byte: int, uart_error: bool = False) -> bool:
        """A byte off the wire into the receive FIFO (False: it was dropped, the FIFO is full)."""
        return self.rx_fifo.push(byte, uart_error)

    def take(self) -> Optional[DecodeEvent]:
        """Pop one FIFO entry into the decoder; the frame or error it completes, if any."""
        entry = self.rx_fifo.pop()
        return None if entry is None else self._decoder.feed_entry(entry)

    def receive(self, data: bytes) -> bytes:
        replies = bytearray()
        for byte in data:
            self.arrive(byte)
            event = self.take()
            if event is not None:
                replies += self.handle(event)
        return bytes(replies)

    def handle(self, event: DecodeEvent) -> bytes:
        verdict, code = self.sequencer.step(event)
        self.last_verdict = verdict
        if verdict == Verdict.SILENT:
            return b""
        if verdict == Verdict.NACK:
            if isinstance(event, FrameError):  # nothing in it can be trusted
                return nack_frame(self.expected_seq, 0, code, self.expected_seq)
            return nack_frame(event.seq, event.cmd, code, self.expected_seq)
        side_effecting = event.cmd not in IDEMPOTENT_COMMANDS
        crc = frame_crc(event.cmd, event.seq, event.payload)
        if verdict == Verdict.REPLAY and side_effecting:
            applied_crc, outcome = self._outcomes[event.seq]
            if applied_crc != crc:
                outcome = ErrorCode.NOT_SYNCED
            if outcome:
                self.counters.rejected += 1
                return nack_frame(event.seq, event.cmd, outcome, self.expected_seq)
            return ack_frame(event.seq, event.cmd)
        try:
            if event.cmd == Command.IDENTIFY:
                if event.payload:
                    raise CommandRejected(ErrorCode.BAD_LENGTH, "IDENTIFY takes no payload")
                reply = self.identify_reply()
            else:
                reply = self._handler(event.cmd, event.payload, verdict == Verdict.APPLY)
        except CommandRejected as rejection:
            self.counters.rejected += 1
            if side_effecting:
                self._outcomes[event.seq] = (crc, rejection.code)
            return nack_frame(event.seq, event.cmd, rejection.code, self.expected_seq)
        if side_effecting:
            self._outcomes[event.seq] = (crc, 0)
            reply = b""  # side-effecting commands carry no data
        return ack_frame(event.seq, event.cmd, reply)
