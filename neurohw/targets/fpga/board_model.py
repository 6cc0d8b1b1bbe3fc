"""A complete software board: ``rtl/cmd_frontend.v`` on the golden core model, clock for clock.

:class:`BoardModel` is the board of ``fpga/common/neurohw_board.v`` in Python:
the receive FIFO, decoder and sequencer of :class:`~.protocol.BoardEndpoint`,
the command handler of every command of rtl/PROTOCOL.md section 6 on top of the
golden :class:`~.model.CoreModel` (or the scratch memory of the link build), the
run FSM with its step log, and the reply transmitter.  It is the reference of
``cmd_frontend.v``: the RTL bench (tests/rtl/test_cmd_frontend.py) feeds both
the same timed byte stream and compares every reply byte and the clock it
leaves on.

Time is counted in board clocks.  ``receive(u, byte)`` is a byte that uart_rx
delivers in clock ``u`` (:func:`uart_rx_latency` after its start bit);
``advance(clock)`` runs the board up to that clock; :attr:`BoardModel.tx`
lists every reply byte with the clock uart_tx takes it (its start bit is on the
line from the next clock, 10 bit times each).  Everything the RTL does at a
documented clock (rtl/PROTOCOL.md, "Front-end timing" and "RUN timing") the
model does at that clock: when a frame's command runs, each step's tick,
injections and commit, so READ_COUNTERS and the late flags agree
with the RTL even while a RUN goes on.

:class:`ModelPort` puts a model board behind a serial-port object (``read``,
``write``, ``timeout``, ``in_waiting``) in virtual time, at a given baud rate
and wire latency, so that the host's :class:`~.link.Link` and
:class:`~.board.Board` talk to it in-process, and tests and benchmarks run in
simulated seconds.
"""
from __future__ import annotations

import math
import struct
from collections import deque
from dataclasses import dataclass
from typing import Optional

from . import formats as F
from .model import CoreModel
from .protocol import (
    DEFAULT_RX_BUFFER, MAX_PAYLOAD, BoardEndpoint, Command, CommandRejected, ErrorCode, Frame,
    RxEntry, StreamDecoder, Verdict, stuff,
)

CORE_REGION_SIZE = 1 << F.REGION_SHIFT
# cmd_frontend.v's limits (rtl/PROTOCOL.md section 6)
MAX_BUS_WORDS = 63
MAX_NEURON_RECORDS = 19
MAX_SPIKES_READ = 41
MAX_LOG_READ = 62
NEURON_RECORD_BYTES = 13
STDP_PAYLOAD_BYTES = 13
N_COUNTERS = 16
LOG_CYCLES_MAX = 0xFFFFFF
LOG_LATE_BIT = 1 << 31
FIFO_LATENCY = 2  # clocks from uart_rx's byte to the head of rx_fifo
# the registered core bus (core.v BUS_REGISTERED = 1, the only bus of neurohw_board.v):
# read data BUS_READ_CLOCKS after its address; the core acts on a tick a clock later
BUS_READ_CLOCKS = 3
COUNTER_READ_CLOCKS = 5   # the encoder takes an item's last byte (S_EMIT) -> S_ITEM, S_READ x 3, S_READ_D
TICK_CLOCKS = 1
MASK32 = 0xFFFFFFFF

# RESET sweeps (cmd_frontend.v S_FILL phases): region, RESET bit.  Phases 6 and 7 are
# the synapses: the dense weight matrix (phase 7 unused), or the sparse core's rows and
# columns (emptied: no synapse listed); the last, the profiles: all 128 offsets (the
# cores' rst_ni leaves them as they are)
_FILL_PHASES = ((F.REGION_V, 0), (F.REGION_I_EXC, 0), (F.REGION_I_INH, 0),
                (F.REGION_POST_TRACE, 0), (F.REGION_PRE_TRACE, 0), (F.REGION_CONTROL_WORD, 0),
                (F.REGION_WEIGHT, 1), (F.REGION_COLUMN, 1), (F.REGION_CONTROL, 2),
                (F.REGION_CONTROL, 2), (F.REGION_CONTROL, 2), (F.REGION_PROFILE, 4))
_PROFILE_OFFSETS = 1 << 7   # {profile[2:0], field[3:0]}
# the commands that address the dense weight matrix by (source, neuron): not on the sparse core
_DENSE_WEIGHT_COMMANDS = (Command.WRITE_WEIGHTS_BULK, Command.WRITE_WEIGHTS_SPARSE,
                          Command.READ_WEIGHTS_BULK, Command.READ_WEIGHTS_SPARSE)
# the record commands, conveniences over WRITE_BUS / READ_BUS that a board may leave out
# (cmd_frontend.v RECORD_COMMANDS = 0, IDENTIFY's features bit 1)
_RECORD_COMMANDS = (Command.WRITE_NEURON_PARAMS, Command.READ_NEURON_PARAMS,
                    Command.WRITE_DELAYS, Command.WRITE_STDP)
# and the sparse weight commands (SPARSE_WEIGHT_COMMANDS = 0, features bit 2)
_SPARSE_WEIGHT_COMMANDS = (Command.WRITE_WEIGHTS_SPARSE, Command.READ_WEIGHTS_SPARSE)
_STDP_FIELDS = ((F.REG_STDP_ENABLE, 1), (F.REG_A_PLUS, 2), (F.REG_A_MINUS, 2), (F.REG_W_MIN, 2),
                (F.REG_W_MAX, 2), (F.REG_PRE_DECAY, 2), (F.REG_POST_DECAY, 2))


def uart_rx_latency(clks_per_bit: int) -> int:
    """Clocks from the first clock edge that samples a start bit to the clock in which
    uart_rx.v reports the byte (mid stop bit, after its 2-flop synchroniser)."""
    return 2 + clks_per_bit // 2 + 9 * clks_per_bit


def item_clocks(payload_bytes: int) -> int:
    """Clocks of one item of a command: 3 per payload byte gathered, 1 to act on it."""
    return 3 * payload_bytes + 1


class ScratchBus:
    """fpga/common/bus_scratch.v: 256 words of 32 bits at bus offsets 0..255 (the region
    bits are ignored), the bus of the link bring-up build (no core)."""

    def __init__(self, words: int = 256):
        self.words = [0] * words

    def read(self, addr: int) -> int:
        return self.words[addr % len(self.words)]

    def write(self, addr: int, data: int) -> None:
        self.words[addr % len(self.words)] = data & MASK32


@dataclass
class _Run:
    """The run FSM of cmd_frontend.v between events (see BoardModel._advance_run)."""
    phase: str = "idle"          # idle | inject | wait | step
    sub: str = "INJ"             # in 'inject': RS_INJ, RS_INJ_W or RS_INJ_D
    at: int = 0                  # inject: the clock of the current state; wait: first clock
    left: int = 0                # steps left, the step in progress included
    period: int = 0
    last_tick: Optional[int] = None  # None: no step of this RUN has started (never late)
    done: int = 0                # the step in progress: the core's done clock, ...
    cycles: int = 0
    late: bool = False


@dataclass
class _Tail:
    """A freed index (a tail register) and the clock a free changed it: a free in S_CHECK
    clock s sets the register from clock s + 1, so the run FSM's registered room flag sees
    it from s + 2."""
    value: int = 0
    previous: int = 0
    changed_at: int = -10

    def at(self, clock: int) -> int:
        """The register's value in ``clock``."""
        return self.value if clock > self.changed_at else self.previous

    def free(self, value: int, clock: int) -> None:
        self.previous = self.at(clock)
        self.value = value
        self.changed_at = clock


@dataclass
class _InputEvent:
    step: int
    channel: int
    visible_at: int  # first clock the run FSM sees it in the queue


@dataclass
class _Timing:
    """What the command handler tells the transmitter about the reply."""
    reply_at: int                # clock the command FSM enters S_START
    streamed: bool               # a read's ACK (S_ITEM after the last byte: one clock more)


class BoardModel:
    """The neurohw board (neurohw_board.v with cmd_frontend.v and the core), in clocks.

    Parameters are the RTL's: the core ``shape``, ``has_core`` (False: the link build with
    the scratch memory), ``clks_per_bit`` (default: ``clock_hz`` / 115200), ``rx_buffer``
    (RX_FIFO_BYTES), ``step_log`` (STEP_LOG_DEPTH), ``spike_buffer`` (SPIKE_DEPTH,
    default 2 N), ``input_buffer`` (INPUT_DEPTH), ``max_payload``, ``build_id``,
    ``record_commands`` (RECORD_COMMANDS: False answers the record commands UNKNOWN_COMMAND),
    ``sparse_weight_commands`` (SPARSE_WEIGHT_COMMANDS: False, WRITE/READ_WEIGHTS_SPARSE).
    """

    def __init__(self, shape: F.CoreShape = F.CoreShape(16, 8, 8, 4), *,
                 clock_hz: int = 24_000_000, clks_per_bit: Optional[int] = None,
                 rx_buffer: int = DEFAULT_RX_BUFFER, step_log: int = 512,
                 spike_buffer: Optional[int] = None, input_buffer: int = 256,
                 max_payload: int = MAX_PAYLOAD, has_core: bool = True, build_id: int = 1,
                 record_commands: bool = True, sparse_weight_commands: bool = True):
        self.shape = shape
        self.clock_hz = int(clock_hz)
        self.clks_per_bit = int(clks_per_bit or round(clock_hz / 115200))
        if self.clks_per_bit < 4:
            raise ValueError(f"clks_per_bit must be >= 4 (uart_rx.v), got {self.clks_per_bit}")
        self.byte_clocks = 10 * self.clks_per_bit
        self.spike_buffer = spike_buffer or 2 * shape.n_neurons
        for name, value in (("spike_buffer", self.spike_buffer), ("input_buffer", input_buffer),
                            ("step_log", step_log)):
            if value < 2 or value & (value - 1):
                raise ValueError(f"BoardModel {name} must be a power of two >= 2, got {value}")
        if self.spike_buffer < shape.n_neurons:
            raise ValueError(f"BoardModel spike_buffer ({self.spike_buffer}) must hold a step's "
                             f"spikes (N_NEURONS = {shape.n_neurons})")
        if step_log > 1 << 15:
            raise ValueError(f"BoardModel step_log must be <= 32768 (IDENTIFY's u16), got {step_log}")
        self.input_buffer = input_buffer
        self.step_log = step_log
        self.has_core = has_core
        self.record_commands = record_commands
        self.sparse_weight_commands = sparse_weight_commands
        self.build_id = build_id
        self.weight_bytes = (shape.weight_width + 8) // 8
        self.core = CoreModel(shape) if has_core else None
        self.scratch = None if has_core else ScratchBus()
        identity = struct.pack("<IHHBBBBHHHI", self.clock_hz & MASK32, shape.n_neurons,
                               shape.n_inputs, shape.weight_width, shape.delay_depth,
                               self.weight_bytes,
                               int(has_core) | (0 if record_commands else 2)    # features
                               | (0 if sparse_weight_commands else 4),
                               self.spike_buffer, input_buffer,
                               step_log, build_id & MASK32)
        self.endpoint = BoardEndpoint(self._command, identity=identity, max_payload=max_payload,
                                      rx_buffer=rx_buffer)
        self.tx: list[tuple[int, int]] = []  # (clock uart_tx takes it, byte) of every reply byte
        self.counter_reads: list[int] = []     # the clock each READ_COUNTERS word is read in
        self.now = 0                           # every event before this clock has happened
        self._arrivals: deque[tuple[int, RxEntry]] = deque()
        self._reset_state()

    # ---- reset ---------------------------------------------------------------------------------
    def _reset_state(self) -> None:
        """Everything rst_ni resets (the RAMs keep their words, their pointers do not)."""
        self._visible: deque[int] = deque()    # clock each FIFO entry reaches the head
        self._mark_at: Optional[int] = None
        self._fe_ready_at = 0                  # the command FSM is idle from this clock
        self._tx_next_take = 0                 # uart_tx can take a byte from this clock
        self._enc_idle_from = 0                # frame_encoder is idle from this clock
        # the core's STEP, OVERRUNS, DROPPED as the front end sees them (core_*_i; DROPPED as
        # of the last commit): they change at a commit, or by a command's bus writes
        self._step_q = self._overruns_q = self._dropped_q = 0
        self._cycles_seen = 0                  # core_step_cycles_i as the front end sees it
        self._spikes: list[tuple[int, int]] = []   # output events since the counters were reset
        self._spikes_done = 0                  # committed (readable) events
        self._spike_tail = _Tail()
        self._log: list[tuple[int, bool]] = []     # (cycles, late) per committed step
        self._log_tail = _Tail()
        self._inputs: deque[_InputEvent] = deque()
        self._run = _Run()
        self._timing: Optional[_Timing] = None
        self._v = self._s = 0

    def reset_board(self, at: int) -> None:
        """Pulse rst_ni in clock ``at`` (a power glitch, the reset button): the link, the front
        end and the core's registers reset, the RAMs keep their words.  Bytes in flight on
        either wire are lost."""
        self.advance(at)
        self.endpoint.reset()
        if self.core is not None:
            self.core.reset()
        self._reset_state()
        self.tx = [(clock, byte) for clock, byte in self.tx if clock < at]
        # a character that started before the reset is lost with uart_rx's state
        while self._arrivals and self._arrivals[0][0] < at + uart_rx_latency(self.clks_per_bit):
            self._arrivals.popleft()
        self._fe_ready_at = self._tx_next_take = self._enc_idle_from = at + 1

    # ---- the wire ------------------------------------------------------------------------------
    def receive(self, clock: int, byte: int, uart_error: bool = False) -> None:
        """uart_rx delivers ``byte`` in ``clock`` (with a 0 stop bit if ``uart_error``)."""
        if clock < self.now or (self._arrivals and clock <= self._arrivals[-1][0]):
            raise ValueError(f"BoardModel.receive: byte at clock {clock} is not after the last "
                             f"one ({self._arrivals[-1][0] if self._arrivals else self.now - 1})")
        self._arrivals.append((clock, RxEntry(byte, RxEntry.UART_ERROR if uart_error
                                              else RxEntry.BYTE)))

    def advance(self, clock: int) -> None:
        """Run the board until ``clock`` (every event before it happens)."""
        while True:
            t_arrival = self._arrivals[0][0] if self._arrivals else math.inf
            t_mark = self._mark_at if self._mark_at is not None else math.inf
            t_pop = self._next_pop()
            t = min(t_arrival, t_mark, t_pop)
            if t >= clock:
                break
            if t_arrival == t or t_mark == t:
                self._write_fifo(t)
            if t_pop == t:
                self._pop(t)
        self._advance_run(clock)
        self.now = max(self.now, clock)

    def _write_fifo(self, clock: int) -> None:
        """One clock of rx_fifo's write side: the byte uart_rx delivers now, or an owed mark."""
        entry = None
        if self._arrivals and self._arrivals[0][0] == clock:
            entry = self._arrivals.popleft()[1]
        fifo = self.endpoint.rx_fifo
        was_owed = fifo.mark_owed
        if fifo.clock(entry):
            self._visible.append(clock + FIFO_LATENCY)
        if was_owed and not fifo.mark_owed or clock == self._mark_at:
            self._mark_at = None

    def _process_wire(self, until: int) -> None:
        """FIFO writes (no pops: the front end is busy) before ``until``."""
        while True:
            t_arrival = self._arrivals[0][0] if self._arrivals else math.inf
            t_mark = self._mark_at if self._mark_at is not None else math.inf
            t = min(t_arrival, t_mark)
            if t >= until:
                return
            self._write_fifo(t)

    def _next_pop(self) -> float:
        if not self._visible:
            return math.inf
        return max(self._fe_ready_at, self._visible[0])

    def _pop(self, clock: int) -> None:
        self._visible.popleft()
        event = self.endpoint.take()
        self._fe_ready_at = clock + 1
        if self.endpoint.rx_fifo.mark_owed:
            self._mark_at = clock + 1  # the FIFO is not full from the next clock: the mark goes in
        if event is not None:
            self._frame_end(event, clock)

    # ---- one frame through the sequencer and the command FSM -----------------------------------
    def _frame_end(self, event, clock: int) -> None:
        """The decoder reports ``event`` in clock+1; the sequencer's verdict is in clock+2;
        the command FSM validates in clock+3 (S_VALIDATE, with the buffer counts registered
        in clock+2) and acts in clock+4 (S_CHECK)."""
        self._v, self._s = clock + 3, clock + 4
        self._seq = getattr(event, "seq", None)   # a decoded frame's (a FrameError has none)
        self._timing = None
        self._advance_run(self._v - 1)
        reply = self.endpoint.handle(event)
        verdict = self.endpoint.last_verdict
        if verdict == Verdict.SILENT:
            self._fe_ready_at = clock + 3
            return
        (frame,) = StreamDecoder().decode(reply)
        if verdict == Verdict.NACK:
            timing = _Timing(clock + 3, False)        # S_IDLE -> S_START: the frame is not executed
        elif self._timing is None:
            # answered by the endpoint: IDENTIFY, or a duplicate of a side-effecting command
            timing = _Timing(self._s + 1, event.cmd == Command.IDENTIFY and frame.cmd == Command.ACK)
        else:
            timing = self._timing
        self._transmit(reply, frame, timing)

    def _first_wire_clock(self, reply_at: int) -> int:
        """The clock uart_tx takes the opening flag of a reply whose S_START is ``reply_at``:
        the encoder starts when it is idle, uart_tx takes a byte every 10 bit times."""
        return max(max(reply_at, self._enc_idle_from) + 1, self._tx_next_take)

    def _transmit(self, wire: bytes, frame: Frame, timing: _Timing) -> None:
        """frame_encoder + uart_tx: the first byte leaves when the encoder is idle and uart_tx
        can take it, then one byte every 10 bit times (the front end always keeps up)."""
        first = self._first_wire_clock(timing.reply_at)
        b = self.byte_clocks
        self.tx += [(first + b * k, byte) for k, byte in enumerate(wire)]
        last_payload = len(stuff(bytes((len(frame.payload), frame.cmd, frame.seq)) + frame.payload))
        closing = first + b * (len(wire) - 1)
        self._tx_next_take = closing + b
        self._enc_idle_from = closing + 1
        self._fe_ready_at = first + b * last_payload + (3 if timing.streamed else 2)

    # ---- bus ----------------------------------------------------------------------------------
    def _bus_read(self, addr: int) -> int:
        return self.core.read(addr) if self.core is not None else self.scratch.read(addr)

    def _bus_write(self, addr: int, data: int) -> None:
        if self.core is not None:
            self.core.write(addr, data)
        else:
            self.scratch.write(addr, data)

    def _region_size(self, region: int) -> int:
        sh = self.shape
        n = sh.n_neurons
        sizes = {0x0: 64, 0x1: 128, 0x2: n, 0x3: n, 0x4: n, 0x5: n, 0x6: n, 0x7: 2 * n,
                 0x8: 2 * n, F.REGION_WEIGHT: sh.synapses if sh.sparse else 2 * n * n}
        if sh.sparse:
            sizes.update({F.REGION_ROW: 2 * n, F.REGION_COLUMN: n,
                          F.REGION_COLUMN_INDEX: sh.plastic_synapses})
        return sizes.get(region, 0)

    def _span_ok(self, addr: int, count: int) -> bool:
        return (addr & (CORE_REGION_SIZE - 1)) + count <= self._region_size(addr >> F.REGION_SHIFT)

    def _see_core_counters(self) -> None:
        """The core's STEP, OVERRUNS and DROPPED, which the front end takes on wires of its own
        (the link build, without a core: 0)."""
        if self.core is None:
            return
        control = F.REGION_CONTROL << F.REGION_SHIFT
        self._step_q = self._bus_read(control | F.REG_STEP)
        self._overruns_q = self._bus_read(control | F.REG_OVERRUNS)
        self._dropped_q = self._bus_read(control | F.REG_DROPPED)

    # ---- commands (the endpoint's handler) -----------------------------------------------------
    def _command(self, cmd: int, payload: bytes, apply: bool) -> bytes:
        """Validate and execute one command: at S_VALIDATE (self._v) for what the validation
        reads, S_CHECK (self._s) for its action; records the reply's timing."""
        s = self._s
        handler = self._COMMANDS.get(cmd)
        if self.shape.sparse and cmd in _DENSE_WEIGHT_COMMANDS:
            handler = None    # no (source, neuron) matrix: the host uses WRITE_BUS / READ_BUS
        if not self.record_commands and cmd in _RECORD_COMMANDS:
            handler = None    # built without them: the host uses WRITE_BUS / READ_BUS
        if not self.sparse_weight_commands and cmd in _SPARSE_WEIGHT_COMMANDS:
            handler = None    # the host uses WRITE/READ_WEIGHTS_BULK
        try:
            if handler is None:
                raise CommandRejected(ErrorCode.UNKNOWN_COMMAND)
            return handler(self, payload, apply)
        except CommandRejected:
            if self._timing is None:
                self._timing = _Timing(s + 1, False)
            raise

    def _check_busy(self) -> None:
        """BUSY for a command that uses the bus while a RUN is in progress (at S_CHECK).  A read
        repeated (REPLAY) is BUSY too: it is executed again, and the bus is the run's."""
        self._advance_run(self._s)
        if self._run.phase != "idle":
            raise CommandRejected(ErrorCode.BUSY, "a RUN is in progress")

    def _written(self, end_of_items: int) -> bytes:
        """A write command's items end at S_ITEM clock ``end_of_items``, which answers."""
        self._see_core_counters()
        self._timing = _Timing(end_of_items + 1, False)
        return b""

    def _read_reply(self, reply: bytes, at: Optional[int] = None) -> bytes:
        self._timing = _Timing(self._s + 1 if at is None else at, True)
        return reply

    def _reset(self, payload: bytes, apply: bool) -> bytes:
        if len(payload) != 1:
            raise CommandRejected(ErrorCode.BAD_LENGTH)
        what = payload[0]
        if what & 0xE0:
            raise CommandRejected(ErrorCode.OUT_OF_RANGE, f"RESET bits 0x{what & 0xE0:02X}")
        self._check_busy()
        n = self.shape.n_neurons
        if what & 0x10 and self.core is not None:
            self.core.reset()
            self._cycles_seen = 0
        if what & 0x04:
            self._spikes, self._spikes_done, self._spike_tail = [], 0, _Tail()
            self._log, self._log_tail = [], _Tail()
        if what & 0x08:
            self._inputs.clear()
        clocks = 0
        control_bases = iter((F.REG_STEP, F.REG_OVERRUNS, F.REG_DROPPED))
        sparse = self.shape.sparse
        for region, bit in _FILL_PHASES:
            if region == F.REGION_CONTROL:
                words, base = 1, next(control_bases)
            elif region == F.REGION_WEIGHT:
                region, words, base = ((F.REGION_ROW, 2 * n, 0) if sparse
                                       else (region, 2 * n * n, 0))
            elif region == F.REGION_PROFILE:
                words, base = _PROFILE_OFFSETS, 0
            else:
                words, base = (2 * n if region == F.REGION_PRE_TRACE else n), 0
            if not what >> bit & 1 or (region == F.REGION_COLUMN and not sparse):
                clocks += 1
                continue
            # a control word is read (S_FILL), waited for and written back (S_FILL_RMW)
            clocks += (1 + BUS_READ_CLOCKS) * words if region == F.REGION_CONTROL_WORD else words
            self._fill(region, base, words)
        first_fill = self._s + 2 + (1 if what & 0x10 else 0)   # a core reset costs a clock
        self._see_core_counters()
        self._timing = _Timing(first_fill + clocks + 1, False)
        return b""

    def _fill(self, region: int, base: int, words: int) -> None:
        """One RESET sweep: zeros (control words: their profile bits kept)."""
        core = self.core
        if core is None:
            for offset in range(base, base + words):
                addr = region << F.REGION_SHIFT | offset
                word = self.scratch.read(addr) & 0x700 if region == F.REGION_CONTROL_WORD else 0
                self.scratch.write(addr, word)
            return
        arrays = {F.REGION_V: core.v, F.REGION_I_EXC: core.i_exc, F.REGION_I_INH: core.i_inh,
                  F.REGION_POST_TRACE: core.post_trace, F.REGION_PRE_TRACE: core.pre_trace}
        if region in arrays:
            arrays[region][:] = 0
        elif region == F.REGION_CONTROL_WORD:
            core.refrac[:] = 0
            core.spiked[:] = 0
        elif region == F.REGION_ROW:
            core.row[:] = 0
            core.check_tables()
        elif region == F.REGION_COLUMN:
            core.column[:] = 0
            core.check_tables()
        elif region == F.REGION_WEIGHT:
            core.weight[:] = 0
            core.plastic[:] = 0
        elif region == F.REGION_PROFILE:
            core.profiles[:] = 0
        else:
            core.write(region << F.REGION_SHIFT | base, 0)

    def _write_bus(self, payload: bytes, apply: bool) -> bytes:
        if len(payload) < 7 or (len(payload) - 3) % 4:
            raise CommandRejected(ErrorCode.BAD_LENGTH)
        addr, words = int.from_bytes(payload[:3], "little"), (len(payload) - 3) // 4
        if not self._span_ok(addr, words):
            raise CommandRejected(ErrorCode.OUT_OF_RANGE, f"bus address 0x{addr:06X} + {words}")
        self._check_busy()
        for i in range(words):
            self._bus_write(addr + i, int.from_bytes(payload[3 + 4 * i:7 + 4 * i], "little"))
        return self._written(self._s + 1 + words * item_clocks(4))

    def _read_bus(self, payload: bytes, apply: bool) -> bytes:
        if len(payload) != 4:
            raise CommandRejected(ErrorCode.BAD_LENGTH)
        addr, count = int.from_bytes(payload[:3], "little"), payload[3]
        if not 1 <= count <= MAX_BUS_WORDS or not self._span_ok(addr, count):
            raise CommandRejected(ErrorCode.OUT_OF_RANGE)
        self._check_busy()
        return self._read_reply(b"".join(self._bus_read(addr + i).to_bytes(4, "little")
                                         for i in range(count)))

    def _write_neurons(self, payload: bytes, apply: bool) -> bytes:
        records = (len(payload) - 2) // NEURON_RECORD_BYTES
        if len(payload) < 2 + NEURON_RECORD_BYTES or (len(payload) - 2) % NEURON_RECORD_BYTES:
            raise CommandRejected(ErrorCode.BAD_LENGTH)
        first = int.from_bytes(payload[:2], "little")
        if first + records > self.shape.n_neurons:
            raise CommandRejected(ErrorCode.OUT_OF_RANGE)
        self._check_busy()
        at = 2
        for n in range(first, first + records):
            for region, size in F.NEURON_RECORD_FIELDS:
                self._bus_write(region << F.REGION_SHIFT | n,
                                int.from_bytes(payload[at:at + size], "little"))
                at += size
        record_clocks = sum(item_clocks(size) for _, size in F.NEURON_RECORD_FIELDS)
        return self._written(self._s + 1 + records * record_clocks)

    def _read_neurons(self, payload: bytes, apply: bool) -> bytes:
        if len(payload) != 3:
            raise CommandRejected(ErrorCode.BAD_LENGTH)
        first, count = int.from_bytes(payload[:2], "little"), payload[2]
        if not 1 <= count <= MAX_NEURON_RECORDS or first + count > self.shape.n_neurons:
            raise CommandRejected(ErrorCode.OUT_OF_RANGE)
        self._check_busy()
        return self._read_reply(b"".join(
            self._bus_read(region << F.REGION_SHIFT | n).to_bytes(4, "little")[:size]
            for n in range(first, first + count) for region, size in F.NEURON_RECORD_FIELDS))

    def _weight_span_ok(self, first: int, count: int) -> bool:
        return first >> F.REGION_SHIFT == 0 and self._span_ok(F.REGION_WEIGHT << F.REGION_SHIFT
                                                              | first, count)

    def _write_weights_bulk(self, payload: bytes, apply: bool) -> bytes:
        wb = self.weight_bytes
        if len(payload) < 3 + wb or (len(payload) - 3) % wb:
            raise CommandRejected(ErrorCode.BAD_LENGTH)
        first, count = int.from_bytes(payload[:3], "little"), (len(payload) - 3) // wb
        if not self._weight_span_ok(first, count):
            raise CommandRejected(ErrorCode.OUT_OF_RANGE)
        self._check_busy()
        for i in range(count):
            self._bus_write(F.REGION_WEIGHT << F.REGION_SHIFT | first + i,
                            int.from_bytes(payload[3 + wb * i:3 + wb * (i + 1)], "little"))
        return self._written(self._s + 1 + count * item_clocks(wb))

    def _read_weights_bulk(self, payload: bytes, apply: bool) -> bytes:
        wb = self.weight_bytes
        if len(payload) != 4:
            raise CommandRejected(ErrorCode.BAD_LENGTH)
        first, count = int.from_bytes(payload[:3], "little"), payload[3]
        if not 1 <= count <= 254 // wb or not self._weight_span_ok(first, count):
            raise CommandRejected(ErrorCode.OUT_OF_RANGE)
        self._check_busy()
        return self._read_reply(b"".join(
            self._bus_read(F.REGION_WEIGHT << F.REGION_SHIFT | first + i).to_bytes(4, "little")[:wb]
            for i in range(count)))

    def _synapse_addr(self, source: int, neuron: int) -> int:
        return (F.REGION_WEIGHT << F.REGION_SHIFT | (source & (self.shape.n_sources - 1))
                << self.shape.neuron_bits | neuron & (self.shape.n_neurons - 1))

    def _scan_synapses(self, payload: bytes, item: int) -> list[tuple[int, int]]:
        """The pre-scan of a sparse command: every (source, neuron) checked before anything."""
        pairs = [struct.unpack_from("<HH", payload, at) for at in range(0, len(payload), item)]
        n = self.shape.n_neurons
        if any(source >= 2 * n or neuron >= n for source, neuron in pairs):
            self._timing = _Timing(self._s + 1 + len(pairs) * item_clocks(item) + 1, False)
            raise CommandRejected(ErrorCode.OUT_OF_RANGE, "a synapse outside the core")
        return pairs

    def _write_weights_sparse(self, payload: bytes, apply: bool) -> bytes:
        wb = self.weight_bytes
        item = 4 + wb
        if not payload or len(payload) % item:
            raise CommandRejected(ErrorCode.BAD_LENGTH)
        self._check_busy()
        pairs = self._scan_synapses(payload, item)
        for k, (source, neuron) in enumerate(pairs):
            self._bus_write(self._synapse_addr(source, neuron),
                            int.from_bytes(payload[k * item + 4:(k + 1) * item], "little"))
        scan = self._s + 1 + len(pairs) * item_clocks(item)
        return self._written(scan + 1 + len(pairs) * item_clocks(item))

    def _read_weights_sparse(self, payload: bytes, apply: bool) -> bytes:
        wb = self.weight_bytes
        if not payload or len(payload) % 4:
            raise CommandRejected(ErrorCode.BAD_LENGTH)
        self._check_busy()
        pairs = self._scan_synapses(payload, 4)
        reply = b"".join(self._bus_read(self._synapse_addr(s, n)).to_bytes(4, "little")[:wb]
                         for s, n in pairs)
        return self._read_reply(reply, at=self._s + 1 + len(pairs) * item_clocks(4) + 1)

    def _write_delays(self, payload: bytes, apply: bool) -> bytes:
        if len(payload) < 3:
            raise CommandRejected(ErrorCode.BAD_LENGTH)
        first, count = int.from_bytes(payload[:2], "little"), len(payload) - 2
        if first + count > 2 * self.shape.n_neurons:
            raise CommandRejected(ErrorCode.OUT_OF_RANGE)
        self._check_busy()
        for i in range(count):
            self._bus_write(F.REGION_DELAY << F.REGION_SHIFT | first + i, payload[2 + i])
        return self._written(self._s + 1 + count * item_clocks(1))

    def _write_stdp(self, payload: bytes, apply: bool) -> bytes:
        if len(payload) != STDP_PAYLOAD_BYTES:
            raise CommandRejected(ErrorCode.BAD_LENGTH)
        self._check_busy()
        at = 0
        for reg, size in _STDP_FIELDS:
            self._bus_write(F.REGION_CONTROL << F.REGION_SHIFT | reg,
                            int.from_bytes(payload[at:at + size], "little"))
            at += size
        return self._written(self._s + 1 + sum(item_clocks(size) for _, size in _STDP_FIELDS))

    def _load_inputs(self, payload: bytes, apply: bool) -> bytes:
        if not payload or len(payload) % 6:
            raise CommandRejected(ErrorCode.BAD_LENGTH)
        events = [struct.unpack_from("<IH", payload, at) for at in range(0, len(payload), 6)]
        per_item = item_clocks(6)
        scan_end = self._s + 1 + len(events) * per_item
        if any(channel >= self.shape.n_inputs for _, channel in events):
            self._timing = _Timing(scan_end + 1, False)
            raise CommandRejected(ErrorCode.OUT_OF_RANGE, "an input channel outside the core")
        # the room flag is registered: the queue as it was in the clock before the scan's end
        self._advance_run(scan_end - 1)
        if len(self._inputs) + len(events) > self.input_buffer:
            self._timing = _Timing(scan_end + 1, False)
            raise CommandRejected(ErrorCode.BUSY, "the input queue is full")
        channel_mask = self.shape.n_inputs - 1
        for j, (step, channel) in enumerate(events):
            written = scan_end + per_item * (j + 1)
            self._advance_run(written)
            self._inputs.append(_InputEvent(step, channel & channel_mask, written + 1))
        self._timing = _Timing(scan_end + 1 + len(events) * per_item + 1, False)
        return b""

    def _run_command(self, payload: bytes, apply: bool) -> bytes:
        if len(payload) not in (4, 8):
            raise CommandRejected(ErrorCode.BAD_LENGTH)
        self._check_busy()
        steps = int.from_bytes(payload[:4], "little")
        period = int.from_bytes(payload[4:8], "little") if len(payload) == 8 else 0
        self._run = _Run(phase="inject" if steps else "idle", sub="INJ", at=self._s + 1,
                         left=steps, period=period)
        return b""

    def _stop(self, payload: bytes, apply: bool) -> bytes:
        if payload:
            raise CommandRejected(ErrorCode.BAD_LENGTH)
        self._advance_run(self._s)
        run = self._run
        if run.phase == "step":
            run.left = 1          # the step in progress completes and is the last
        elif run.phase != "idle":
            self._run = _Run()    # between steps: the run ends now (no tick, no injection)
        return b""

    def _read_streamed(self, payload: bytes, apply: bool, items: list, done: int, tail: _Tail,
                       limit: int, encode) -> bytes:
        """READ_OUTPUT_SPIKES / READ_STEP_LOG: validated in S_VALIDATE on the buffers as they
        were the clock before (registered differences), freed in S_CHECK."""
        if len(payload) != 5:
            raise CommandRejected(ErrorCode.BAD_LENGTH)
        first, most = int.from_bytes(payload[:4], "little"), payload[4]
        if most > limit:
            raise CommandRejected(ErrorCode.OUT_OF_RANGE, f"at most {limit} per read")
        ahead = (done - first) & MASK32
        if ahead > (done - tail.value) & MASK32:
            raise CommandRejected(ErrorCode.OUT_OF_RANGE, f"index {first} is not held")
        count = min(ahead, most)
        reply = ahead.to_bytes(4, "little") + b"".join(encode(items[first + k]) for k in range(count))
        self._advance_run(self._s)
        if apply:
            tail.free(first, self._s)
        return self._read_reply(reply)

    def _read_spikes(self, payload: bytes, apply: bool) -> bytes:
        return self._read_streamed(payload, apply, self._spikes, self._spikes_done,
                                   self._spike_tail, MAX_SPIKES_READ,
                                   lambda event: struct.pack("<IH", event[0] & MASK32, event[1]))

    def _read_log(self, payload: bytes, apply: bool) -> bytes:
        return self._read_streamed(payload, apply, self._log, len(self._log), self._log_tail,
                                   MAX_LOG_READ, lambda entry: struct.pack(
                                       "<I", min(entry[0], LOG_CYCLES_MAX)
                                       | (LOG_LATE_BIT if entry[1] else 0)))

    def _read_counters(self, payload: bytes, apply: bool) -> bytes:
        """Each word is the value of the clock its item is read in (S_READ_D,
        ``COUNTER_READ_CLOCKS`` after the encoder took the reply's previous payload byte,
        which it takes with that byte's last wire byte), but for the receive FIFO's overflow
        count, latched in S_CHECK (bytes go on arriving during the reply).  Nothing but the
        run changes the others meanwhile: the front end acts on no frame before the reply
        has been handed over."""
        if payload:
            raise CommandRejected(ErrorCode.BAD_LENGTH)
        self._advance_run(self._s)
        self._process_wire(self._s)
        overflows = self.endpoint.rx_fifo.overflows
        link = self.endpoint.counters
        b = self.byte_clocks
        first = self._first_wire_clock(self._s + 1)
        # wire bytes up to and including the echoed command: FLAG, LEN CMD SEQ, the echo
        wire_bytes = 1 + len(stuff(bytes((1 + 4 * N_COUNTERS, Command.ACK, self._seq,
                                          Command.READ_COUNTERS))))
        wrap = (MASK32,) * 7 + (0xFFFF,) * 6 + (MASK32, 0xFFFF, 0xFFFF)
        reply = bytearray()
        for word in range(N_COUNTERS):
            read_at = first + b * (wire_bytes - 1) + COUNTER_READ_CLOCKS
            self._advance_run(read_at)
            self.counter_reads.append(read_at)
            value = (self._step_q, self._cycles_seen, self._overruns_q, self._dropped_q,
                     self._run.left, self._spikes_done, len(self._inputs), link.frames_accepted,
                     link.duplicates, link.out_of_order, link.frame_errors, link.link_nacks,
                     link.rejected, len(self._log), overflows, link.not_synced)[word]
            item = struct.pack("<I", value & wrap[word])
            wire_bytes += len(stuff(item))
            reply += item
        return self._read_reply(bytes(reply))

    _COMMANDS = {
        Command.RESET: _reset, Command.WRITE_BUS: _write_bus, Command.READ_BUS: _read_bus,
        Command.WRITE_NEURON_PARAMS: _write_neurons, Command.READ_NEURON_PARAMS: _read_neurons,
        Command.WRITE_WEIGHTS_BULK: _write_weights_bulk,
        Command.WRITE_WEIGHTS_SPARSE: _write_weights_sparse,
        Command.READ_WEIGHTS_BULK: _read_weights_bulk,
        Command.READ_WEIGHTS_SPARSE: _read_weights_sparse, Command.WRITE_DELAYS: _write_delays,
        Command.WRITE_STDP: _write_stdp, Command.LOAD_INPUT_SPIKES: _load_inputs,
        Command.RUN: _run_command, Command.READ_OUTPUT_SPIKES: _read_spikes,
        Command.READ_STEP_LOG: _read_log, Command.STOP: _stop,
        Command.READ_COUNTERS: _read_counters,
    }

    # ---- the run FSM ---------------------------------------------------------------------------
    def _room(self, clock: int) -> bool:
        """The registered room flags in ``clock``: the buffers as they were in clock - 1."""
        spikes_held = len(self._spikes) - self._spike_tail.at(clock - 1)
        log_held = len(self._log) - self._log_tail.at(clock - 1)
        return (spikes_held <= self.spike_buffer - self.shape.n_neurons
                and log_held < self.step_log)

    def _tick_clock(self, run: _Run) -> Optional[int]:
        """The first clock >= run.at at which RS_WAIT ticks, with what is known now: the
        period is due and the room flags allow it (room only grows, at a free's clock + 2)."""
        due = run.at if run.last_tick is None else max(run.at, run.last_tick + run.period)
        candidates = sorted({due, max(due, self._spike_tail.changed_at + 2),
                             max(due, self._log_tail.changed_at + 2)})
        return next((clock for clock in candidates if self._room(clock)), None)

    def _advance_run(self, until: int) -> None:
        """Every run FSM event before clock ``until``."""
        run = self._run
        while run.phase != "idle":
            if run.phase == "inject":
                clock = run.at
                if clock >= until:
                    return
                head = self._inputs[0] if self._inputs else None
                if run.sub == "INJ":
                    visible = head is not None and head.visible_at <= clock
                    run.phase, run.sub = ("inject", "INJ_W") if visible else ("wait", "INJ")
                elif run.sub == "INJ_W":                 # the head into its register
                    run.sub = "INJ_D"
                elif head.step <= self._step_q:          # RS_INJ_D: the head is due: INJECT
                    self._bus_write(F.REGION_CONTROL << F.REGION_SHIFT | F.REG_INJECT, head.channel)
                    self._inputs.popleft()
                    run.sub = "INJ"
                else:
                    run.phase = "wait"
                run.at = clock + 1
            elif run.phase == "wait":
                tick = self._tick_clock(run)
                if tick is None or tick >= until:
                    return
                self._tick(run, tick)
            else:
                if not self._step_event(run, until):
                    return
            run = self._run

    def _tick(self, run: _Run, tick: int) -> None:
        """RS_WAIT ticks the core in clock ``tick``; the golden model runs the whole step now
        (nothing can observe the core before its done)."""
        run.late = (run.period != 0 and run.last_tick is not None
                    and tick - run.last_tick > run.period)
        run.last_tick = tick
        if self.core is not None:
            fired = self.core.step()
            run.cycles = self.core.last_cycles
            run.done = tick + TICK_CLOCKS + run.cycles   # the core sees the tick a clock later
            self._spikes += [(self._step_q, int(n)) for n in fired]
        else:
            run.cycles, run.done = 0, tick + 1    # the scratch build: done the clock after
        run.phase = "step"

    def _step_event(self, run: _Run, until: int) -> bool:
        """The step in progress is committed in the core's done clock, if it is before
        ``until``: from the next clock the front end sees the core's new STEP, STEP_CYCLES
        and DROPPED, the step's spikes are readable and its log entry counted."""
        if run.done >= until:
            return False
        self._cycles_seen = run.cycles
        self._see_core_counters()
        self._commit(run, run.done)
        return True

    def _commit(self, run: _Run, clock: int) -> None:
        self._log.append((run.cycles, run.late))
        self._spikes_done = len(self._spikes)
        run.left -= 1
        if run.left == 0:
            self._run = _Run()
        else:
            run.phase, run.sub, run.at = "inject", "INJ", clock + 1

    # ---- looking in --------------------------------------------------------------------------
    @property
    def log_entries(self) -> list[tuple[int, bool]]:
        """(cycles, late) of every step committed since the counters were reset."""
        return list(self._log)

    @property
    def running(self) -> bool:
        return self._run.phase != "idle"


class ModelPort:
    """A serial port on a :class:`BoardModel`, in virtual time.

    ``write`` puts bytes on the host-to-board wire back to back at ``baud`` (8N1: ten bits
    a byte); each reaches the board ``latency`` seconds after it left (the USB-UART's
    buffering, e.g. an FTDI latency timer); replies come back the same way.  ``read`` waits
    (in virtual time: the board runs meanwhile) up to ``timeout`` seconds.  ``clock()`` is
    the virtual time, for :class:`~.link.Link`'s ``clock``.

    The board is never run past the clock at which a byte the host writes from now on could
    reach it, so the host's bytes and the board's replies interleave causally."""

    def __init__(self, board: BoardModel, *, baud: Optional[float] = None,
                 latency: float = 0.0005, name: str = "model-board"):
        if latency < 0:
            raise ValueError(f"ModelPort latency must be >= 0 s, got {latency}")
        self.board = board
        self.baud = float(baud or board.clock_hz / board.clks_per_bit)
        self.latency = latency
        self.port = name
        self.timeout: Optional[float] = 0.01
        self.now = 0.0
        self._wire_free = 0.0
        self._last_clock = -1
        self._tx_seen = 0
        self._arrivals: deque[tuple[float, int]] = deque()  # reply bytes: (host time, byte)
        self._arrival_clocks: deque[int] = deque()          # ... and the clock each left the board
        self._received = bytearray()

    @property
    def baudrate(self) -> float:
        """The line rate, named as pyserial names it (the link times frames by it)."""
        return self.baud

    def clock(self) -> float:
        return self.now

    def _board_clock(self, seconds: float) -> int:
        return math.ceil(seconds * self.board.clock_hz)

    def write(self, data: bytes) -> int:
        byte_time = 10.0 / self.baud
        latency = uart_rx_latency(self.board.clks_per_bit)
        for byte in data:
            start = max(self.now, self._wire_free)
            self._wire_free = start + byte_time
            clock = max(self._board_clock(start + self.latency) + latency, self._last_clock + 1)
            self._last_clock = clock
            self.board.receive(clock, byte)
        return len(data)

    def _sync(self) -> float:
        """Run the board as far as causality allows; return the host time until which every
        reply byte arriving is known."""
        horizon = self._board_clock(self.now + self.latency) + uart_rx_latency(self.board.clks_per_bit)
        board = self.board
        board.advance(horizon)
        tx, f, after = board.tx, board.clock_hz, 1 + board.byte_clocks
        while self._tx_seen < len(tx):
            clock, byte = tx[self._tx_seen]
            self._arrivals.append(((clock + after) / f + self.latency, byte))
            self._arrival_clocks.append(clock)
            self._tx_seen += 1
        # a reply not known yet comes from a command after the horizon
        return (horizon + 2 + after) / f + self.latency

    def _deliver(self) -> None:
        while self._arrivals and self._arrivals[0][0] <= self.now:
            self._received.append(self._arrivals.popleft()[1])
            self._arrival_clocks.popleft()

    def _wait_until(self, deadline: float) -> None:
        """Let virtual time pass until a reply byte arrives or ``deadline``."""
        while True:
            known_until = self._sync()
            self._deliver()
            if self._received or self.now >= deadline:
                return
            step = min(deadline, known_until)
            if self._arrivals:
                step = min(step, self._arrivals[0][0])
            self.now = max(step, self.now)

    @property
    def in_waiting(self) -> int:
        self._sync()
        self._deliver()
        return len(self._received)

    def read(self, size: int = 1) -> bytes:
        self._wait_until(self.now + (self.timeout or 0.0))
        data = bytes(self._received[:size])
        del self._received[:size]
        return data

    def reset_input_buffer(self) -> None:
        self._sync()
        self._deliver()
        self._received.clear()

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass (the board runs; replies are kept)."""
        deadline = self.now + seconds
        while self.now < deadline:
            self.now = min(deadline, max(self._sync(), self.now))
        self._sync()
        self._deliver()

    def reset_board(self) -> None:
        """Pulse the board's reset now (what a power glitch does to a real board), or at the
        clock the board has already been run to, if that is later."""
        at = max(self.board.now, self._board_clock(self.now))
        self.board.reset_board(at)
        self._arrivals = deque(arrival for arrival, clock in zip(
            self._arrivals, self._arrival_clocks) if clock < at)
        self._arrival_clocks = deque(clock for clock in self._arrival_clocks if clock < at)
        self._tx_seen = len(self.board.tx)
