"""Host driver of the neurohw board: the commands of rtl/PROTOCOL.md over a :class:`Link`.

:class:`Board` knows the command payloads (rtl/PROTOCOL.md section 6) and
nothing of the transport: it takes a :class:`~neurohw.targets.fpga.link.Link`,
or any byte stream with ``read``/``write``/``timeout`` (pyserial, the virtual
board's pseudo-terminal, the model board's port, an in-memory pipe, the RTL
simulation), which it wraps in a Link.  Errors name the port, the command and,
for data, the bus address.  A board that was reset behind the session's back
raises :class:`~neurohw.targets.fpga.link.BoardReset`.

Long operations (:meth:`Board.upload`, :meth:`Board.verify`,
:meth:`Board.run_program`) take a ``progress``: a callable ``f(done, total)``,
a tqdm bar or a rich ``Progress``.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, fields
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from . import formats as F
from .link import BoardReset, Link, LinkError, LinkTimeout  # noqa: F401  (BoardReset: API)
from .program import FpgaProgram, load_model
from .protocol import MAX_PAYLOAD, PROTOCOL_VERSION_MAJOR, PROTOCOL_VERSION_MINOR, Command

# RESET bits (rtl/PROTOCOL.md, RESET)
RESET_NEURON_STATE = 0x01
RESET_WEIGHTS = 0x02
RESET_COUNTERS = 0x04
RESET_INPUT_SPIKES = 0x08
RESET_CORE = 0x10
RESET_ALL = RESET_CORE | RESET_NEURON_STATE | RESET_WEIGHTS | RESET_COUNTERS | RESET_INPUT_SPIKES

# IDENTIFY's board description after the link fields, protocol 3.2 (as 2.0; rtl/PROTOCOL.md, IDENTIFY):
# clock_hz u32, N_NEURONS u16, N_INPUTS u16, WEIGHT_W u8, DELAY_DEPTH u8, WB u8, features u8,
# spike_buffer u16, input_buffer u16, step_log u16, build_id u32
FEATURE_CORE = 0x01          # a core is on the bus (else the link build's scratch memory)
FEATURE_NO_RECORDS = 0x02    # 3.1: no record commands (WRITE/READ_NEURON_PARAMS, WRITE_DELAYS,
                             # WRITE_STDP): the driver uses WRITE_BUS / READ_BUS instead
FEATURE_NO_SPARSE_WEIGHTS = 0x04   # 3.2: no WRITE/READ_WEIGHTS_SPARSE: the driver sends runs
                                   # of consecutive synapses as WRITE/READ_WEIGHTS_BULK
CORE_INFO_FORMAT = "<IHHBBBBHHHI"
CORE_INFO_BYTES = struct.calcsize(CORE_INFO_FORMAT)
NEURON_RECORD_BYTES = 13  # v, i_exc, i_inh (s24), control word, post trace (u16)
SPIKE_EVENT_BYTES = 6  # step u32, neuron u16
STEP_LOG_ENTRY_BYTES = 4  # cycles u24, flags u8 (bit 7: late)
STEP_LOG_CYCLES_MASK = 0xFFFFFF
STEP_LOG_LATE = 1 << 31
MAX_SPIKES_PER_READ = 41
MAX_LOG_ENTRIES_PER_READ = 62
MAX_NEURONS_PER_READ = 19
MAX_BUS_WORDS_PER_READ = 63
# Frames shrink on a noisy line: a frame of B bytes survives a bit error rate p with
# probability (1-p)^(10 B), 7 % for a full frame at p = 1e-3, 67 % for a 32-byte payload.
MIN_FRAME_PAYLOAD = 32
SHRINK_RETRANSMISSION_RATIO = 0.5   # retransmissions per frame of one exchange that halve it
GROW_AFTER_CLEAN_FRAMES = 256       # frames without a retransmission that double it again
# Uploads and read-backs go in exchanges of this many frames, so that a frame size halved
# on a noisy line applies to the rest of the image (a clean link loses one round trip per
# exchange: about 1 % at 115200 baud and 1-2 ms round trips).
UPLOAD_BATCH_FRAMES = 32


class BoardError(LinkError):
    """The board answered, but not what the driver expected."""

    def __init__(self, port: str, cmd: int, reason: str):
        super().__init__(port, cmd, None, reason)


@dataclass(frozen=True)
class BoardInfo:
    """What IDENTIFY reports (rtl/PROTOCOL.md, IDENTIFY)."""
    protocol: tuple[int, int]
    max_payload: int
    max_window: int            # frames the board takes back to back
    rx_buffer: int             # bytes of its receive FIFO (the link's byte credit)
    clock_hz: int              # the board's clock
    shape: F.CoreShape
    weight_bytes: int          # bytes of a weight word {plastic, weight} in the weight commands
    has_core: bool             # False: the link bring-up build, a scratch memory on the bus
    spike_buffer: int          # output spike events the board holds
    input_buffer: int          # input spike events it queues
    step_log: int              # per-step log entries it holds
    build_id: int
    record_commands: bool = True   # False: neuron records, delays, STDP go over WRITE/READ_BUS
    sparse_weight_commands: bool = True   # False: scattered weights go as bulk runs


@dataclass(frozen=True)
class Counters:
    """READ_COUNTERS, in its order (rtl/PROTOCOL.md).  The longest and total step and
    the late steps come from the step log (:class:`BoardRun`), which holds every step."""
    step: int
    last_step_cycles: int
    overruns: int
    dropped: int
    steps_left: int
    spike_events: int
    input_events_queued: int
    frames_accepted: int
    duplicates: int
    out_of_order: int
    frame_errors: int
    link_nacks: int
    rejected: int
    step_log_entries: int
    rx_overflows: int
    not_synced: int


COUNTER_NAMES = tuple(field.name for field in fields(Counters))


@dataclass
class BoardRun:
    """What :meth:`Board.run_program` brings back."""
    spike_steps: np.ndarray    # the core's STEP while each output spike's step ran (stamp: (step+1)*dt)
    spike_neurons: np.ndarray  # core neuron of each spike
    step_cycles: np.ndarray    # core cycles of every step run, in order (the step log)
    step_late: np.ndarray      # bool per step: a stepped-mode step that started after its period slot
    counters: Counters         # READ_COUNTERS at the end
    stopped: bool = False      # the run was stopped (STOP) before all its steps
    first_step: int = 0        # the core's STEP when the run began


class RunStopped(KeyboardInterrupt):
    """Ctrl-C during :meth:`Board.run_program`: the board was sent STOP, everything it
    produced was fetched, and ``run`` holds it (``run.stopped`` is True)."""

    def __init__(self, run: BoardRun):
        super().__init__("run stopped by the user")
        self.run = run


def _u24(value: int) -> bytes:
    return struct.pack("<I", value)[:3]


class _Progress:
    """Reports work done to a callable ``f(done, total)``, a tqdm bar or a rich Progress."""

    def __init__(self, progress, total: int, description: str):
        self.done = 0
        self.total = total
        self._advance: Callable[[int], None]
        if progress is None:
            self._advance = lambda n: None
        elif hasattr(progress, "add_task"):  # rich.progress.Progress
            task = progress.add_task(description, total=total)
            self._advance = lambda n: progress.update(task, advance=n)
        elif hasattr(progress, "update") and hasattr(progress, "reset"):  # tqdm
            progress.reset(total=total)
            progress.set_description(description)
            self._advance = progress.update
        elif callable(progress):
            self._advance = lambda n: progress(self.done, total)
        else:
            raise TypeError(f"progress must be a callable f(done, total), a tqdm bar or a rich "
                            f"Progress, got {type(progress).__name__}")

    def advance(self, n: int) -> None:
        if n:
            self.done += n
            self._advance(n)


class Board:
    """One board behind a link.  Call :meth:`identify` first."""

    def __init__(self, port, **link_options):
        self.link = port if isinstance(port, Link) else Link(port, **link_options)
        self.info: Optional[BoardInfo] = None
        # the largest payload of the frames this board sends and asks for (frame_payload)
        self.payload_limit = MAX_PAYLOAD
        self._clean_frames = 0
        self._spikes_asked = self._log_asked = 0
        self._next_event = 0  # absolute index of the next output spike event to fetch
        self._next_log = 0    # absolute index of the next step log entry to fetch

    @property
    def port_name(self) -> str:
        return self.link.port_name

    @property
    def bytes_written(self) -> int:
        """Wire bytes written to the port so far (retransmissions included)."""
        return self.link.stats.bytes_written

    @property
    def bytes_read(self) -> int:
        """Bytes read from the port so far."""
        return self.link.stats.bytes_read

    # ---- frame size -------------------------------------------------------------------------
    @property
    def frame_payload(self) -> int:
        """Bytes of payload per frame, both ways: the board's maximum, less after losses."""
        return max(MIN_FRAME_PAYLOAD, min(self.link.max_payload, self.payload_limit))

    def _per_frame(self, item_bytes: int, header: int = 0, most: int = MAX_PAYLOAD) -> int:
        return max(1, min(most, (self.frame_payload - header) // item_bytes))

    def shrink_payload(self) -> None:
        self.payload_limit = max(MIN_FRAME_PAYLOAD, self.frame_payload // 2)
        self._clean_frames = 0

    def _transact(self, requests, on_reply=None) -> list[bytes]:
        """Link.transact, adapting the frame size to the line: halved when an exchange
        needed more retransmissions than SHRINK_RETRANSMISSION_RATIO per frame or gave up
        (LinkTimeout), doubled after GROW_AFTER_CLEAN_FRAMES clean frames."""
        stats = self.link.stats
        before = stats.retransmissions
        try:
            replies = self.link.transact(requests, on_reply=on_reply)
        except LinkTimeout:
            self.shrink_payload()
            raise
        retransmitted = stats.retransmissions - before
        if retransmitted > SHRINK_RETRANSMISSION_RATIO * len(requests):
            self.shrink_payload()
        elif retransmitted:
            self._clean_frames = 0
        else:
            self._clean_frames += len(requests)
            if self._clean_frames >= GROW_AFTER_CLEAN_FRAMES and self.payload_limit < MAX_PAYLOAD:
                self.payload_limit = min(MAX_PAYLOAD, 2 * self.payload_limit)
                self._clean_frames = 0
        return replies

    def _request(self, cmd: int, payload: bytes = b"") -> bytes:
        return self._transact([(cmd, payload)])[0]

    # ---- identification and reset ---------------------------------------------------------
    def identify(self) -> BoardInfo:
        """Synchronise with the board and read what it is.

        Raises :class:`LinkError` if the board speaks another protocol major
        version (the message gives both), :class:`BoardError` if its reply is
        too short for this protocol version."""
        identity = self.link.identify()  # refuses another major version
        info = identity.core_info
        if len(info) < CORE_INFO_BYTES:
            raise BoardError(self.port_name, Command.IDENTIFY,
                             f"board speaks protocol {identity.protocol_major}."
                             f"{identity.protocol_minor} with {len(info)} bytes of board "
                             f"description; this host speaks {PROTOCOL_VERSION_MAJOR}."
                             f"{PROTOCOL_VERSION_MINOR} and needs {CORE_INFO_BYTES}")
        (clock_hz, n, channels, weight_w, depth, weight_bytes, features, spikes, inputs, log,
         build) = struct.unpack(CORE_INFO_FORMAT, info[:CORE_INFO_BYTES])
        has_core = bool(features & FEATURE_CORE)
        architecture, synapses, plastic = F.ARCH_PIPELINED, 0, 0
        if self.info is not None:
            # a re-synchronisation, maybe mid-run
            sh = self.info.shape
            architecture, synapses, plastic = sh.architecture, sh.synapses, sh.plastic_synapses
        elif has_core:
            # IDENTIFY does not say which core it is; the core answers on its bus (read once:
            # the bus is busy while a step runs), and the golden model needs it for the
            # cycles of a step; the sparse core's list sizes follow it (0 on the dense cores)
            architecture, synapses, plastic = self.read_bus(
                F.REGION_CONTROL << F.REGION_SHIFT | F.REG_ARCHITECTURE, 3)
            if architecture not in F.ARCHITECTURES:
                raise BoardError(self.port_name, Command.READ_BUS,
                                 f"the core reports architecture {architecture} (register "
                                 f"0x{F.REG_ARCHITECTURE:02X}); this host knows "
                                 f"{F.ARCHITECTURES}")
            if architecture != F.ARCH_SPARSE:
                synapses = plastic = 0
        try:
            shape = F.CoreShape(n, channels, weight_w, depth, architecture, synapses, plastic)
        except ValueError as exc:
            raise BoardError(self.port_name, Command.IDENTIFY,
                             f"the board describes a core this host cannot model: {exc}") from None
        self.info = BoardInfo((identity.protocol_major, identity.protocol_minor),
                              identity.max_payload, identity.max_window, identity.rx_buffer,
                              clock_hz, shape, weight_bytes, has_core, spikes, inputs, log,
                              build, record_commands=not features & FEATURE_NO_RECORDS,
                              sparse_weight_commands=not features & FEATURE_NO_SPARSE_WEIGHTS)
        return self.info

    def _info(self) -> BoardInfo:
        if self.info is None:
            raise BoardError(self.port_name, Command.IDENTIFY, "call identify() first")
        return self.info

    def reset(self, what: int = RESET_ALL) -> None:
        """RESET: the RESET_* bits.  Clearing the counters restarts the spike event and
        step log indices."""
        self._request(Command.RESET, bytes((what,)))
        if what & RESET_COUNTERS:
            self._next_event = 0
            self._next_log = 0

    # ---- request builders: every write is one list of frames, sent in one window --------------
    def _bus_write_requests(self, addr: int, words: Sequence[int]) -> list[tuple[int, bytes, int]]:
        per_frame = self._per_frame(4, 3)
        return [(Command.WRITE_BUS, _u24(addr + start) + struct.pack(
                    f"<{len(chunk)}I", *[int(w) & 0xFFFFFFFF for w in chunk]), len(chunk))
                for start in range(0, len(words), per_frame)
                for chunk in [words[start:start + per_frame]]]

    def _weight_write_requests(self, first_synapse: int, words: Sequence[int]) -> list:
        wb = self._weight_bytes()
        per_frame = self._per_frame(wb, 3)
        return [(Command.WRITE_WEIGHTS_BULK, _u24(first_synapse + start)
                 + b"".join(int(w).to_bytes(wb, "little") for w in chunk), len(chunk))
                for start in range(0, len(words), per_frame)
                for chunk in [words[start:start + per_frame]]]

    def _delay_write_requests(self, first_source: int, delays: Sequence[int]) -> list:
        if not self._info().record_commands:
            return self._bus_write_requests(F.REGION_DELAY << F.REGION_SHIFT | first_source,
                                            delays)
        per_frame = self._per_frame(1, 2)
        return [(Command.WRITE_DELAYS, struct.pack("<H", first_source + i)
                 + bytes(int(d) for d in delays[i:i + per_frame]), len(delays[i:i + per_frame]))
                for i in range(0, len(delays), per_frame)]

    def _send(self, requests: list, progress: Optional[_Progress] = None) -> list[bytes]:
        """transact() on (cmd, payload, work) triples, advancing ``progress`` by each
        request's work as its reply arrives."""
        on_reply = None if progress is None else (lambda index: progress.advance(requests[index][2]))
        return self._transact([(cmd, payload) for cmd, payload, _ in requests], on_reply=on_reply)

    # ---- bus -----------------------------------------------------------------------------------
    def write_bus(self, addr: int, words: Sequence[int]) -> None:
        """WRITE_BUS: words to consecutive bus addresses, as many frames as needed."""
        self._send(self._bus_write_requests(addr, words))

    def write_words(self, writes: Sequence[tuple[int, int]]) -> None:
        """WRITE_BUS of (address, word) pairs, applied in their order, in one window: a run
        of consecutive addresses shares frames."""
        runs: list[tuple[int, list[int]]] = []
        for addr, word in writes:
            if runs and addr == runs[-1][0] + len(runs[-1][1]):
                runs[-1][1].append(word)
            else:
                runs.append((addr, [word]))
        self._send([request for start, words in runs
                    for request in self._bus_write_requests(start, words)])

    def read_bus(self, addr: int, count: int) -> list[int]:
        """READ_BUS: ``count`` words from consecutive bus addresses."""
        return self._read_bus_runs([(addr, count)])[0]

    def read_words(self, addresses: Sequence[int]) -> list[int]:
        """The words at any bus addresses, in their order: runs of consecutive addresses
        share READ_BUS commands, all in one window."""
        order = sorted(range(len(addresses)), key=lambda i: addresses[i])
        runs = _runs([(int(addresses[i]), i) for i in order])
        words = [0] * len(addresses)
        for (start, positions), got in zip(runs, self._read_bus_runs(
                [(start, len(positions)) for start, positions in runs])):
            for i, word in zip(positions, got):
                words[i] = word
        return words

    def _read_bus_runs(self, runs: Sequence[tuple[int, int]],
                       progress: Optional[_Progress] = None) -> list[list[int]]:
        requests, where = [], []
        for run, (addr, count) in enumerate(runs):
            per_read = self._per_frame(4, 0, MAX_BUS_WORDS_PER_READ)
            for start in range(0, count, per_read):
                n = min(per_read, count - start)
                requests.append((Command.READ_BUS, _u24(addr + start) + bytes((n,)), n))
                where.append((run, addr + start, n))
        words: list[list[int]] = [[] for _ in runs]
        for reply, (run, addr, n) in zip(self._send(requests, progress), where):
            self._expect_length(Command.READ_BUS, reply, 4 * n, addr)
            words[run] += struct.unpack(f"<{n}I", reply)
        return words

    def _expect_length(self, cmd: int, reply: bytes, length: int, addr: int) -> None:
        if len(reply) != length:
            raise BoardError(self.port_name, cmd, f"reply of {len(reply)} bytes at bus address "
                             f"0x{addr:06X}, expected {length}")

    # ---- weights ---------------------------------------------------------------------------------
    def _weight_bytes(self) -> int:
        return self._info().weight_bytes

    def write_weights(self, first_synapse: int, words: Sequence[int]) -> None:
        """WRITE_WEIGHTS_BULK: weight words {plastic, weight} from synapse offset ``first_synapse``
        (``source << neuron_bits | neuron``)."""
        self._send(self._weight_write_requests(first_synapse, words))

    def read_weights(self, first_synapse: int, count: int) -> list[int]:
        """READ_WEIGHTS_BULK: ``count`` weight words from synapse offset ``first_synapse``."""
        return self._read_weight_runs([(first_synapse, count)])[0]

    def _read_weight_runs(self, runs: Sequence[tuple[int, int]],
                          progress: Optional[_Progress] = None) -> list[list[int]]:
        wb = self._weight_bytes()
        per_frame = self._per_frame(wb, 1, 254 // wb)
        requests, where = [], []
        for run, (first, count) in enumerate(runs):
            for start in range(0, count, per_frame):
                n = min(per_frame, count - start)
                requests.append((Command.READ_WEIGHTS_BULK, _u24(first + start) + bytes((n,)), n))
                where.append((run, first + start, n))
        words: list[list[int]] = [[] for _ in runs]
        for reply, (run, at, n) in zip(self._send(requests, progress), where):
            self._expect_length(Command.READ_WEIGHTS_BULK, reply, wb * n,
                                F.REGION_WEIGHT << F.REGION_SHIFT | at)
            words[run] += [int.from_bytes(reply[i * wb:(i + 1) * wb], "little") for i in range(n)]
        return words

    def _synapse_offset(self, cmd: int, source: int, neuron: int) -> int:
        """The dense matrix's synapse offset of (source, neuron), ``source << neuron_bits |
        neuron``, for ``cmd`` done as bulk runs; a pair outside the matrix raises
        :class:`BoardError` (the board would answer the sparse command OUT_OF_RANGE)."""
        shape = self._info().shape
        if not (0 <= source < shape.n_sources and 0 <= neuron < shape.n_neurons):
            raise BoardError(self.port_name, cmd,
                             f"synapse (source {source}, neuron {neuron}) is outside the weight "
                             f"matrix: sources 0..{shape.n_sources - 1}, neurons "
                             f"0..{shape.n_neurons - 1}")
        return source << (shape.n_neurons.bit_length() - 1) | neuron

    def write_weights_sparse(self, synapses: Iterable[tuple[int, int, int]]) -> None:
        """WRITE_WEIGHTS_SPARSE: (source, neuron, weight word) triples, applied in their order
        (on a board without the sparse weight commands, runs of consecutive synapses as
        WRITE_WEIGHTS_BULK, a synapse written twice with its last word)."""
        if not self._info().sparse_weight_commands:
            image = {self._synapse_offset(Command.WRITE_WEIGHTS_SPARSE, pre, post): int(w)
                     for pre, post, w in synapses}
            self._send([request for start, words in _runs(sorted(image.items()))
                        for request in self._weight_write_requests(start, words)])
            return
        wb = self._weight_bytes()
        items = [struct.pack("<HH", pre, post) + int(w).to_bytes(wb, "little")
                 for pre, post, w in synapses]
        per_frame = self._per_frame(4 + wb)
        self._transact([(Command.WRITE_WEIGHTS_SPARSE, b"".join(items[i:i + per_frame]))
                            for i in range(0, len(items), per_frame)])

    def read_weights_sparse(self, synapses: Sequence[tuple[int, int]]) -> list[int]:
        """READ_WEIGHTS_SPARSE: the weight words of (source, neuron) pairs, in order (on a
        board without the sparse weight commands, READ_WEIGHTS_BULK of their runs)."""
        if not self._info().sparse_weight_commands:
            offsets = [self._synapse_offset(Command.READ_WEIGHTS_SPARSE, pre, post)
                       for pre, post in synapses]
            runs = _runs([(offset, 0) for offset in sorted(set(offsets))])
            word_at = {}
            for (start, run), got in zip(runs, self._read_weight_runs(
                    [(start, len(run)) for start, run in runs])):
                word_at.update(zip(range(start, start + len(run)), got))
            return [word_at[offset] for offset in offsets]
        wb = self._weight_bytes()
        per_frame = min(self._per_frame(4), self._per_frame(wb, 1, 254 // wb))
        chunks = [synapses[i:i + per_frame] for i in range(0, len(synapses), per_frame)]
        replies = self._transact([(Command.READ_WEIGHTS_SPARSE, b"".join(
            struct.pack("<HH", pre, post) for pre, post in chunk)) for chunk in chunks])
        words: list[int] = []
        for reply, chunk in zip(replies, chunks):
            if len(reply) != wb * len(chunk):
                raise BoardError(self.port_name, Command.READ_WEIGHTS_SPARSE,
                                 f"reply of {len(reply)} bytes for {len(chunk)} synapses")
            words += [int.from_bytes(reply[j * wb:(j + 1) * wb], "little") for j in range(len(chunk))]
        return words

    # ---- neurons, delays, STDP ---------------------------------------------------------------------
    def write_neurons(self, first: int, records: Sequence[tuple[int, int, int, int, int]]) -> None:
        """WRITE_NEURON_PARAMS: (v, i_exc, i_inh, control word, post trace) per neuron (on a
        board without the record commands, the same words by WRITE_BUS, a region at a time)."""
        if not self._info().record_commands:
            requests = []
            for field, (region, nbytes) in enumerate(F.NEURON_RECORD_FIELDS):
                mask = (1 << 8 * nbytes) - 1
                requests += self._bus_write_requests(region << F.REGION_SHIFT | first,
                                                     [r[field] & mask for r in records])
            self._send(requests)
            return
        per_frame = self._per_frame(NEURON_RECORD_BYTES, 2)
        requests = []
        for start in range(0, len(records), per_frame):
            data = b"".join(_u24(v) + _u24(ie) + _u24(ii) + struct.pack("<HH", ctl, y)
                            for v, ie, ii, ctl, y in records[start:start + per_frame])
            requests.append((Command.WRITE_NEURON_PARAMS, struct.pack("<H", first + start) + data))
        self._transact(requests)

    def read_neurons(self, first: int, count: int) -> list[tuple[int, int, int, int, int]]:
        """READ_NEURON_PARAMS: (v, i_exc, i_inh, control word, post trace) per neuron, raw bits
        (on a board without the record commands, READ_BUS of each region)."""
        if not self._info().record_commands:
            fields = self._read_bus_runs([(region << F.REGION_SHIFT | first, count)
                                          for region, _ in F.NEURON_RECORD_FIELDS])
            return [tuple(words[i] & ((1 << 8 * nbytes) - 1)
                          for words, (_, nbytes) in zip(fields, F.NEURON_RECORD_FIELDS))
                    for i in range(count)]
        requests, where = [], []
        per_read = self._per_frame(NEURON_RECORD_BYTES, 1, MAX_NEURONS_PER_READ)
        for start in range(0, count, per_read):
            n = min(per_read, count - start)
            requests.append((Command.READ_NEURON_PARAMS, struct.pack("<HB", first + start, n)))
            where.append((first + start, n))
        records = []
        for reply, (at, n) in zip(self._transact(requests), where):
            self._expect_length(Command.READ_NEURON_PARAMS, reply, NEURON_RECORD_BYTES * n,
                                F.REGION_V << F.REGION_SHIFT | at)
            for i in range(n):
                r = reply[i * NEURON_RECORD_BYTES:(i + 1) * NEURON_RECORD_BYTES]
                records.append((int.from_bytes(r[0:3], "little"), int.from_bytes(r[3:6], "little"),
                                int.from_bytes(r[6:9], "little"), *struct.unpack("<HH", r[9:13])))
        return records

    def write_delays(self, first_source: int, delays: Sequence[int]) -> None:
        """WRITE_DELAYS: one delay field per source, from ``first_source`` (WRITE_BUS on a
        board without the record commands)."""
        self._send(self._delay_write_requests(first_source, delays))

    def write_stdp(self, enable: bool, a_plus: int, a_minus: int, w_min: int, w_max: int,
                   pre_decay: int, post_decay: int) -> None:
        """WRITE_STDP: the STDP registers in one frame (on a board without the record
        commands, the same 16-bit words by WRITE_BUS: STDP_ENABLE, then A_PLUS..POST_DECAY)."""
        if not self._info().record_commands:
            control = F.REGION_CONTROL << F.REGION_SHIFT
            self._send(self._bus_write_requests(control | F.REG_STDP_ENABLE, [int(enable)])
                       + self._bus_write_requests(control | F.REG_A_PLUS, [
                           a_plus, a_minus, w_min & 0xFFFF, w_max & 0xFFFF, pre_decay, post_decay]))
            return
        self._request(Command.WRITE_STDP, struct.pack(
            "<BHHhhHH", int(enable), a_plus, a_minus, w_min, w_max, pre_decay, post_decay))

    # ---- programs ------------------------------------------------------------------------------------
    def upload(self, program: FpgaProgram, verify: bool = True, progress=None) -> None:
        """Reset the board and load ``program``'s memory image; with ``verify``, read every
        written word back and compare it with what the golden model holds after the same writes.

        Runs of consecutive addresses go out as one command: weights as WRITE_WEIGHTS_BULK
        (on the sparse core, whose synapse words hold their target too, as WRITE_BUS),
        delays as WRITE_DELAYS, the rest as WRITE_BUS, in exchanges of UPLOAD_BATCH_FRAMES
        frames (each built at the frame size the line allows then, :meth:`_transact`).
        A write repeated to one address counts once, with its last value (the program's writes
        are register and memory loads).  ``progress`` counts words."""
        info = self._info()
        if info.shape != program.shape:
            raise BoardError(self.port_name, Command.IDENTIFY,
                             f"the board's core is {info.shape}, the program is for {program.shape}")
        self.reset()
        image = dict(program.writes)
        tracker = _Progress(progress, len(image), "upload")
        for start, words in _runs(sorted(image.items())):
            region, offset = start >> F.REGION_SHIFT, start & ((1 << F.REGION_SHIFT) - 1)
            while words:
                if region == F.REGION_WEIGHT and not info.shape.sparse:
                    requests = self._weight_write_requests(offset, words)
                elif region == F.REGION_DELAY:
                    requests = self._delay_write_requests(offset, words)
                else:
                    requests = self._bus_write_requests(start, words)
                batch = requests[:UPLOAD_BATCH_FRAMES]
                self._send(batch, tracker)
                done = sum(work for _, _, work in batch)
                start, offset, words = start + done, offset + done, words[done:]
        if verify:
            self.verify(program, image, progress=progress)

    def verify(self, program: FpgaProgram, image: Optional[dict] = None, progress=None) -> None:
        """Read back every word the program writes; raise :class:`BoardError` at the first
        address whose word differs from the golden model's after the same writes.
        ``progress`` counts words."""
        model = load_model(program)
        runs = _runs(sorted((image or dict(program.writes)).items()))
        tracker = _Progress(progress, sum(len(words) for _, words in runs), "verify")
        mask = (1 << F.REGION_SHIFT) - 1
        for start, words in runs:
            at = 0
            while at < len(words):
                # as many words as UPLOAD_BATCH_FRAMES replies carry at today's frame size
                if start >> F.REGION_SHIFT == F.REGION_WEIGHT and not program.shape.sparse:
                    n = min(len(words) - at, UPLOAD_BATCH_FRAMES * self._per_frame(
                        self._weight_bytes(), 1, 254 // self._weight_bytes()))
                    (got,) = self._read_weight_runs([((start + at) & mask, n)], tracker)
                else:
                    n = min(len(words) - at, UPLOAD_BATCH_FRAMES * self._per_frame(
                        4, 0, MAX_BUS_WORDS_PER_READ))
                    (got,) = self._read_bus_runs([(start + at, n)], tracker)
                for i, word in enumerate(got):
                    expected = model.read(start + at + i)
                    if word != expected:
                        raise BoardError(self.port_name, Command.READ_BUS,
                                         f"read-back of bus address 0x{start + at + i:06X}: "
                                         f"0x{word:X}, written 0x{expected:X}")
                at += n

    def load_inputs(self, events: Iterable[tuple[int, int]]) -> None:
        """LOAD_INPUT_SPIKES: (step, channel) events, steps ascending."""
        items = [struct.pack("<IH", step, channel) for step, channel in events]
        per_frame = self._per_frame(6)
        self._transact([(Command.LOAD_INPUT_SPIKES, b"".join(items[i:i + per_frame]))
                            for i in range(0, len(items), per_frame)])

    # ---- running ---------------------------------------------------------------------------------------
    def run(self, steps: int, period: int = 0) -> None:
        """RUN: ``steps`` steps, as fast as possible (``period`` 0) or one every ``period`` clocks.
        Returns at once; the board runs on (see :meth:`wait`)."""
        self._request(Command.RUN, struct.pack("<II", steps, period))

    def stop(self) -> None:
        """STOP: the RUN in progress ends after its current step (nothing if none runs)."""
        self._request(Command.STOP)

    def counters(self) -> Counters:
        reply = self._request(Command.READ_COUNTERS)
        return self._counters(reply)

    def _counters(self, reply: bytes) -> Counters:
        self._expect_length(Command.READ_COUNTERS, reply, 4 * len(COUNTER_NAMES), 0)
        return Counters(*struct.unpack(f"<{len(COUNTER_NAMES)}I", reply))

    def _spike_request(self) -> tuple[int, bytes]:
        self._spikes_asked = self._per_frame(SPIKE_EVENT_BYTES, 5, MAX_SPIKES_PER_READ)
        return Command.READ_OUTPUT_SPIKES, struct.pack("<IB", self._next_event, self._spikes_asked)

    def _log_request(self) -> tuple[int, bytes]:
        self._log_asked = self._per_frame(STEP_LOG_ENTRY_BYTES, 5, MAX_LOG_ENTRIES_PER_READ)
        return Command.READ_STEP_LOG, struct.pack("<IB", self._next_log, self._log_asked)

    def _take_spikes(self, reply: bytes, events: list) -> bool:
        """Decode a READ_OUTPUT_SPIKES reply into ``events``; True if it held all available."""
        available = struct.unpack("<I", reply[:4])[0] if len(reply) >= 4 else -1
        n = (len(reply) - 4) // SPIKE_EVENT_BYTES
        if len(reply) != 4 + n * SPIKE_EVENT_BYTES or n != min(available, self._spikes_asked):
            raise BoardError(self.port_name, Command.READ_OUTPUT_SPIKES,
                             f"reply of {len(reply)} bytes with {available} events available")
        events += struct.iter_unpack("<IH", reply[4:])
        self._next_event += n
        return n == available

    def _take_log(self, reply: bytes, entries: list) -> bool:
        """Decode a READ_STEP_LOG reply into (cycles, late) ``entries``; True if it held all."""
        available = struct.unpack("<I", reply[:4])[0] if len(reply) >= 4 else -1
        n = (len(reply) - 4) // STEP_LOG_ENTRY_BYTES
        if len(reply) != 4 + n * STEP_LOG_ENTRY_BYTES or n != min(available, self._log_asked):
            raise BoardError(self.port_name, Command.READ_STEP_LOG,
                             f"reply of {len(reply)} bytes with {available} entries available")
        entries += [(word & STEP_LOG_CYCLES_MASK, bool(word & STEP_LOG_LATE))
                    for (word,) in struct.iter_unpack("<I", reply[4:])]
        self._next_log += n
        return n == available

    def read_spikes(self) -> list[tuple[int, int]]:
        """Every output spike event the board holds, as (step, neuron), in order; frees them."""
        events: list[tuple[int, int]] = []
        while not self._take_spikes(self._request(*self._spike_request()), events):
            pass
        return events

    def read_step_log(self) -> list[tuple[int, bool]]:
        """Every step log entry the board holds, as (cycles, late), in order; frees them."""
        entries: list[tuple[int, bool]] = []
        while not self._take_log(self._request(*self._log_request()), entries):
            pass
        return entries

    def poll(self, events: Optional[list] = None, entries: Optional[list] = None
             ) -> tuple[Counters, list[tuple[int, int]], list[tuple[int, bool]]]:
        """READ_COUNTERS, then every spike event and step log entry the board holds (freeing
        them), the first three reads in one window.  On a clean line the spikes and entries
        include all those of the steps the counters count; a retransmitted READ_COUNTERS runs
        again after the reads, so its counters may be newer (:meth:`wait` checks).  They are
        appended to ``events`` / ``entries`` (new
        lists by default) as they arrive, so that an interruption loses none."""
        events = [] if events is None else events
        entries = [] if entries is None else entries
        counters_reply, spike_reply, log_reply = self._transact(
            [(Command.READ_COUNTERS, b""), self._spike_request(), self._log_request()])
        counters = self._counters(counters_reply)
        spikes_done = self._take_spikes(spike_reply, events)
        log_done = self._take_log(log_reply, entries)
        while not (spikes_done and log_done):
            requests = ([] if spikes_done else [self._spike_request()]) \
                + ([] if log_done else [self._log_request()])
            replies = iter(self._transact(requests))
            if not spikes_done:
                spikes_done = self._take_spikes(next(replies), events)
            if not log_done:
                log_done = self._take_log(next(replies), entries)
        return counters, events, entries

    def wait(self, on_steps: Optional[Callable[[int], None]] = None,
             events: Optional[list] = None, entries: Optional[list] = None
             ) -> tuple[list[tuple[int, int]], list[tuple[int, bool]], Counters]:
        """Poll until the run is over, fetching spikes and step log entries meanwhile (the
        board pauses when its spike buffer or log is full); returns the spikes, the log
        entries and the final counters (appended to ``events`` / ``entries`` if given, as
        they arrive).  ``on_steps(n)`` is called with each batch of log entries fetched."""
        events = [] if events is None else events
        entries = [] if entries is None else entries
        while True:
            held = len(entries)
            counters, _, _ = self.poll(events, entries)
            if on_steps is not None:
                on_steps(len(entries) - held)
            # Over only when everything the counters count has been fetched: a READ_COUNTERS
            # retransmitted after a lost reply is executed again, later than the spike and log
            # reads of its window, so its counters can be newer than what those reads held.
            if (counters.steps_left == 0
                    and counters.spike_events == self._next_event & 0xFFFFFFFF
                    and counters.step_log_entries == self._next_log & 0xFFFFFFFF):
                return events, entries, counters

    def run_program(self, program: FpgaProgram, period: int = 0, progress=None) -> BoardRun:
        """Run an uploaded program's ``n_steps`` with its input spikes (:meth:`run_events`)."""
        steps = [k for k in range(program.n_steps) for _ in program.inputs[k]]
        channels = [c for k in range(program.n_steps) for c in program.inputs[k]]
        return self.run_events(program.n_steps, steps, channels, period, progress)

    def run_events(self, n_steps: int, input_steps: Sequence[int], input_channels: Sequence[int],
                   period: int = 0, progress=None) -> BoardRun:
        """Run ``n_steps`` steps from the board's current step, injecting input channel
        ``input_channels[i]`` before step ``input_steps[i]`` (counted from this run's first
        step, ascending).  As few RUN commands as the board's input buffer allows: each
        holds the inputs of as many steps as fit (a RUN's first step is never late).
        Returns every output spike, every step's cycles and late flag, and the counters.

        Ctrl-C sends STOP, fetches what the board produced and raises :class:`RunStopped`
        holding it.  ``progress`` counts steps."""
        capacity = self._info().input_buffer
        input_steps = np.asarray(input_steps, dtype=np.int64)
        input_channels = np.asarray(input_channels, dtype=np.int64)
        if input_steps.size and (np.any(np.diff(input_steps) < 0) or input_steps[0] < 0
                                 or input_steps[-1] >= n_steps):
            raise ValueError(f"{self.port_name}: input steps must be ascending in 0..{n_steps - 1}")
        events: list[tuple[int, int]] = []
        entries: list[tuple[int, bool]] = []
        tracker = _Progress(progress, n_steps, "run")
        counters = self.counters()
        first_step = counters.step
        step, next_input = 0, 0
        try:
            while step < n_steps:
                last = next_input + capacity  # the first input that does not fit this RUN
                end = n_steps if last >= input_steps.size else int(input_steps[last])
                if end == step:
                    raise BoardError(self.port_name, Command.LOAD_INPUT_SPIKES,
                                     f"step {step} has {int(np.sum(input_steps == step))} input "
                                     f"spikes, more than the board's buffer of {capacity}")
                stop_input = int(np.searchsorted(input_steps, end))
                # the core's STEP counts on from where the last RUN ended
                base = counters.step - step
                self.load_inputs((base + int(k), int(c)) for k, c in zip(
                    input_steps[next_input:stop_input], input_channels[next_input:stop_input]))
                self.run(end - step, period)
                _, _, counters = self.wait(tracker.advance, events, entries)
                step, next_input = end, stop_input
        except KeyboardInterrupt:
            raise RunStopped(self._stop_and_collect(events, entries, first_step)) from None
        stray = [step for step, _ in events if not first_step <= step < first_step + n_steps]
        if stray or len(entries) != n_steps:
            # results that cannot belong to this run are an error, never data
            raise BoardError(self.port_name, Command.READ_OUTPUT_SPIKES,
                             f"run of steps {first_step}..{first_step + n_steps - 1} returned "
                             f"{len(stray)} spike events of other steps (first at step "
                             f"{stray[0] if stray else '-'}) and {len(entries)} step log entries")
        return _board_run(events, entries, counters, stopped=False, first_step=first_step)

    def _stop_and_collect(self, events: list, entries: list, first_step: int) -> BoardRun:
        """After Ctrl-C: resynchronise (the interrupted exchange left frames in flight), STOP,
        and fetch everything the run produced (the reads are idempotent: what an interrupted
        read fetched is fetched again)."""
        self.identify()
        self.stop()
        _, _, counters = self.wait(events=events, entries=entries)
        return _board_run(events, entries, counters, stopped=True, first_step=first_step)


def _board_run(events, entries, counters: Counters, stopped: bool, first_step: int) -> BoardRun:
    return BoardRun(spike_steps=np.array([s for s, _ in events], dtype=np.int64),
                    spike_neurons=np.array([n for _, n in events], dtype=np.int64),
                    step_cycles=np.array([c for c, _ in entries], dtype=np.int64),
                    step_late=np.array([late for _, late in entries], dtype=bool),
                    counters=counters, stopped=stopped, first_step=first_step)


def _runs(items: Sequence[tuple[int, int]]) -> list[tuple[int, list[int]]]:
    """Sorted (address, word) pairs -> runs of consecutive addresses in one bus region."""
    runs: list[tuple[int, list[int]]] = []
    for addr, word in items:
        if runs and addr == runs[-1][0] + len(runs[-1][1]) \
                and addr >> F.REGION_SHIFT == runs[-1][0] >> F.REGION_SHIFT:
            runs[-1][1].append(word)
        else:
            runs.append((addr, [word]))
    return runs
