"""Host driver of the neurohw board: the commands of rtl/PROTOCOL.md over a :class:`Link`.

:class:`Board` knows the command payloads (rtl/PROTOCOL.md section 6) and
nothing of the transport: it takes a :class:`~neurohw.targets.fpga.link.Link`,
or any byte stream with ``read``/``write``/``timeout`` (pyserial, the virtual
board's pseudo-terminal, an in-memory pipe, the RTL simulation), which it wraps
in a Link.  Errors name the port, the command and, for data, the bus address.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np

from . import formats as F
from .link import Link, LinkError
from .program import FpgaProgram, load_model
from .protocol import PROTOCOL_VERSION_MAJOR, PROTOCOL_VERSION_MINOR, Command

# RESET bits (rtl/PROTOCOL.md, RESET)
RESET_NEURON_STATE = 0x01
RESET_WEIGHTS = 0x02
RESET_COUNTERS = 0x04
RESET_INPUT_SPIKES = 0x08
RESET_CORE = 0x10

CORE_INFO_BYTES = 16  # IDENTIFY's core description in protocol 1.0
NEURON_RECORD_BYTES = 13  # v, i_exc, i_inh (s24), control word, post trace (u16)
SPIKE_EVENT_BYTES = 6  # step u32, neuron u16
MAX_SPIKES_PER_READ = 41
MAX_NEURONS_PER_READ = 19
COUNTER_NAMES = ("step", "last_step_cycles", "max_step_cycles", "total_step_cycles", "overruns",
                 "dropped", "late_steps", "steps_left", "spike_events", "input_events_queued",
                 "frames_accepted", "duplicates", "out_of_order", "frame_errors", "link_nacks",
                 "rejected")


class BoardError(LinkError):
    """The board answered, but not what the driver expected."""

    def __init__(self, port: str, cmd: int, reason: str):
        super().__init__(port, cmd, None, reason)


@dataclass(frozen=True)
class BoardInfo:
    """What IDENTIFY reports (rtl/PROTOCOL.md, IDENTIFY)."""
    protocol: tuple[int, int]
    max_payload: int
    max_window: int
    shape: F.CoreShape
    weight_bytes: int          # bytes of a weight word {plastic, weight} in the weight commands
    has_core: bool             # False: the link bring-up build, a scratch memory on the bus
    spike_buffer: int          # output spike events the board holds
    input_buffer: int          # input spike events it queues
    build_id: int


@dataclass(frozen=True)
class Counters:
    """READ_COUNTERS, in its order (see COUNTER_NAMES and rtl/PROTOCOL.md)."""
    step: int
    last_step_cycles: int
    max_step_cycles: int
    total_step_cycles: int
    overruns: int
    dropped: int
    late_steps: int
    steps_left: int
    spike_events: int
    input_events_queued: int
    frames_accepted: int
    duplicates: int
    out_of_order: int
    frame_errors: int
    link_nacks: int
    rejected: int


def _u24(value: int) -> bytes:
    return struct.pack("<I", value)[:3]


class Board:
    """One board behind a link.  Call :meth:`identify` first."""

    def __init__(self, port, **link_options):
        self.link = port if isinstance(port, Link) else Link(port, **link_options)
        self.info: Optional[BoardInfo] = None
        self._next_event = 0  # absolute index of the next output spike event to fetch

    @property
    def port_name(self) -> str:
        return self.link.port_name

    # ---- identification and reset ---------------------------------------------------------
    def identify(self) -> BoardInfo:
        """Synchronise with the board and read what it is.

        Raises :class:`LinkError` if the board speaks another protocol major
        version (the message gives both), :class:`BoardError` if its reply is
        too short for this protocol version."""
        identity = self.link.identify()  # refuses another major version
        info = identity.core_info
        if identity.protocol_major != PROTOCOL_VERSION_MAJOR or len(info) < CORE_INFO_BYTES:
            raise BoardError(self.port_name, Command.IDENTIFY,
                             f"board speaks protocol {identity.protocol_major}."
                             f"{identity.protocol_minor} with {len(info)} bytes of core "
                             f"description; this host speaks {PROTOCOL_VERSION_MAJOR}."
                             f"{PROTOCOL_VERSION_MINOR} and needs {CORE_INFO_BYTES}")
        n, channels, weight_w, depth, weight_bytes, has_core, spikes, inputs, build = \
            struct.unpack("<HHBBBBHHI", info[:CORE_INFO_BYTES])
        self.info = BoardInfo((identity.protocol_major, identity.protocol_minor),
                              identity.max_payload, identity.max_window,
                              F.CoreShape(n, channels, weight_w, depth), weight_bytes,
                              bool(has_core), spikes, inputs, build)
        return self.info

    def _info(self) -> BoardInfo:
        if self.info is None:
            raise BoardError(self.port_name, Command.IDENTIFY, "call identify() first")
        return self.info

    def reset(self, what: int = RESET_CORE | RESET_NEURON_STATE | RESET_WEIGHTS
              | RESET_COUNTERS | RESET_INPUT_SPIKES) -> None:
        """RESET: the RESET_* bits.  Clearing the counters restarts the spike event index."""
        self.link.request(Command.RESET, bytes((what,)))
        if what & RESET_COUNTERS:
            self._next_event = 0

    # ---- bus -----------------------------------------------------------------------------------
    def write_bus(self, addr: int, words: Sequence[int]) -> None:
        """WRITE_BUS: words to consecutive bus addresses, as many frames as needed."""
        per_frame = (self.link.max_payload - 3) // 4
        requests = []
        for start in range(0, len(words), per_frame):
            chunk = words[start:start + per_frame]
            requests.append((Command.WRITE_BUS, _u24(addr + start)
                             + struct.pack(f"<{len(chunk)}I", *[int(w) & 0xFFFFFFFF for w in chunk])))
        self.link.transact(requests)

    def read_bus(self, addr: int, count: int) -> list[int]:
        """READ_BUS: ``count`` words from consecutive bus addresses."""
        words: list[int] = []
        while len(words) < count:
            n = min(63, count - len(words))
            reply = self.link.request(Command.READ_BUS, _u24(addr + len(words)) + bytes((n,)))
            self._expect_length(Command.READ_BUS, reply, 4 * n, addr + len(words))
            words += struct.unpack(f"<{n}I", reply)
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
        wb = self._weight_bytes()
        per_frame = (self.link.max_payload - 3) // wb
        requests = []
        for start in range(0, len(words), per_frame):
            chunk = words[start:start + per_frame]
            data = b"".join(int(w).to_bytes(wb, "little") for w in chunk)
            requests.append((Command.WRITE_WEIGHTS_BULK, _u24(first_synapse + start) + data))
        self.link.transact(requests)

    def read_weights(self, first_synapse: int, count: int) -> list[int]:
        """READ_WEIGHTS_BULK: ``count`` weight words from synapse offset ``first_synapse``."""
        wb = self._weight_bytes()
        per_frame = 254 // wb
        words: list[int] = []
        while len(words) < count:
            n = min(per_frame, count - len(words))
            at = first_synapse + len(words)
            reply = self.link.request(Command.READ_WEIGHTS_BULK, _u24(at) + bytes((n,)))
            self._expect_length(Command.READ_WEIGHTS_BULK, reply, wb * n,
                                F.REGION_WEIGHT << F.REGION_SHIFT | at)
            words += [int.from_bytes(reply[i * wb:(i + 1) * wb], "little") for i in range(n)]
        return words

    def write_weights_sparse(self, synapses: Iterable[tuple[int, int, int]]) -> None:
        """WRITE_WEIGHTS_SPARSE: (source, neuron, weight word) triples."""
        wb = self._weight_bytes()
        items = [struct.pack("<HH", pre, post) + int(w).to_bytes(wb, "little")
                 for pre, post, w in synapses]
        per_frame = self.link.max_payload // (4 + wb)
        self.link.transact([(Command.WRITE_WEIGHTS_SPARSE, b"".join(items[i:i + per_frame]))
                            for i in range(0, len(items), per_frame)])

    def read_weights_sparse(self, synapses: Sequence[tuple[int, int]]) -> list[int]:
        """READ_WEIGHTS_SPARSE: the weight words of (source, neuron) pairs, in order."""
        wb = self._weight_bytes()
        per_frame = min(self.link.max_payload // 4, 254 // wb)
        words: list[int] = []
        for i in range(0, len(synapses), per_frame):
            chunk = synapses[i:i + per_frame]
            reply = self.link.request(Command.READ_WEIGHTS_SPARSE,
                                      b"".join(struct.pack("<HH", pre, post) for pre, post in chunk))
            if len(reply) != wb * len(chunk):
                raise BoardError(self.port_name, Command.READ_WEIGHTS_SPARSE,
                                 f"reply of {len(reply)} bytes for {len(chunk)} synapses")
            words += [int.from_bytes(reply[j * wb:(j + 1) * wb], "little") for j in range(len(chunk))]
        return words

    # ---- neurons, delays, STDP ---------------------------------------------------------------------
    def write_neurons(self, first: int, records: Sequence[tuple[int, int, int, int, int]]) -> None:
        """WRITE_NEURON_PARAMS: (v, i_exc, i_inh, control word, post trace) per neuron."""
        per_frame = (self.link.max_payload - 2) // NEURON_RECORD_BYTES
        requests = []
        for start in range(0, len(records), per_frame):
            data = b"".join(_u24(v) + _u24(ie) + _u24(ii) + struct.pack("<HH", ctl, y)
                            for v, ie, ii, ctl, y in records[start:start + per_frame])
            requests.append((Command.WRITE_NEURON_PARAMS, struct.pack("<H", first + start) + data))
        self.link.transact(requests)

    def read_neurons(self, first: int, count: int) -> list[tuple[int, int, int, int, int]]:
        """READ_NEURON_PARAMS: (v, i_exc, i_inh, control word, post trace) per neuron, raw bits."""
        records = []
        while len(records) < count:
            n = min(MAX_NEURONS_PER_READ, count - len(records))
            at = first + len(records)
            reply = self.link.request(Command.READ_NEURON_PARAMS, struct.pack("<HB", at, n))
            self._expect_length(Command.READ_NEURON_PARAMS, reply, NEURON_RECORD_BYTES * n,
                                F.REGION_V << F.REGION_SHIFT | at)
            for i in range(n):
                r = reply[i * NEURON_RECORD_BYTES:(i + 1) * NEURON_RECORD_BYTES]
                records.append((int.from_bytes(r[0:3], "little"), int.from_bytes(r[3:6], "little"),
                                int.from_bytes(r[6:9], "little"), *struct.unpack("<HH", r[9:13])))
        return records

    def write_delays(self, first_source: int, delays: Sequence[int]) -> None:
        """WRITE_DELAYS: one delay field per source, from ``first_source``."""
        per_frame = self.link.max_payload - 2
        self.link.transact([(Command.WRITE_DELAYS, struct.pack("<H", first_source + i)
                             + bytes(int(d) for d in delays[i:i + per_frame]))
                            for i in range(0, len(delays), per_frame)])

    def write_stdp(self, enable: bool, a_plus: int, a_minus: int, w_min: int, w_max: int,
                   pre_decay: int, post_decay: int) -> None:
        """WRITE_STDP: the STDP registers in one frame."""
        self.link.request(Command.WRITE_STDP, struct.pack(
            "<BHHhhHH", int(enable), a_plus, a_minus, w_min, w_max, pre_decay, post_decay))

    # ---- programs ------------------------------------------------------------------------------------
    def upload(self, program: FpgaProgram, verify: bool = True) -> None:
        """Reset the board and load ``program``'s memory image; with ``verify``, read every
        written word back and compare it with what the golden model holds after the same writes.

        Runs of consecutive addresses go out as one command: weights as WRITE_WEIGHTS_BULK,
        delays as WRITE_DELAYS, the rest as WRITE_BUS.  A write repeated to one address counts
        once, with its last value (the program's writes are register and memory loads)."""
        info = self._info()
        if info.shape != program.shape:
            raise BoardError(self.port_name, Command.IDENTIFY,
                             f"the board's core is {info.shape}, the program is for {program.shape}")
        self.reset()
        image = dict(program.writes)
        for start, words in _runs(sorted(image.items())):
            region, offset = start >> F.REGION_SHIFT, start & ((1 << F.REGION_SHIFT) - 1)
            if region == F.REGION_WEIGHT:
                self.write_weights(offset, words)
            elif region == F.REGION_DELAY:
                self.write_delays(offset, words)
            else:
                self.write_bus(start, words)
        if verify:
            self.verify(program, image)

    def verify(self, program: FpgaProgram, image: Optional[dict] = None) -> None:
        """Read back every word the program writes; raise :class:`BoardError` at the first
        address whose word differs from the golden model's after the same writes."""
        model = load_model(program)
        for start, words in _runs(sorted((image or dict(program.writes)).items())):
            region, offset = start >> F.REGION_SHIFT, start & ((1 << F.REGION_SHIFT) - 1)
            got = (self.read_weights(offset, len(words)) if region == F.REGION_WEIGHT
                   else self.read_bus(start, len(words)))
            for i, word in enumerate(got):
                expected = model.read(start + i)
                if word != expected:
                    raise BoardError(self.port_name, Command.READ_BUS,
                                     f"read-back of bus address 0x{start + i:06X}: "
                                     f"0x{word:X}, written 0x{expected:X}")

    def load_inputs(self, events: Iterable[tuple[int, int]]) -> None:
        """LOAD_INPUT_SPIKES: (step, channel) events, steps ascending."""
        items = [struct.pack("<IH", step, channel) for step, channel in events]
        per_frame = self.link.max_payload // 6
        self.link.transact([(Command.LOAD_INPUT_SPIKES, b"".join(items[i:i + per_frame]))
                            for i in range(0, len(items), per_frame)])

    # ---- running ---------------------------------------------------------------------------------------
    def run(self, steps: int, period: int = 0) -> None:
        """RUN: ``steps`` steps, as fast as possible (``period`` 0) or one every ``period`` clocks.
        Returns at once; the board runs on (see :meth:`wait`)."""
        self.link.request(Command.RUN, struct.pack("<II", steps, period))

    def counters(self) -> Counters:
        reply = self.link.request(Command.READ_COUNTERS)
        self._expect_length(Command.READ_COUNTERS, reply, 4 * len(COUNTER_NAMES), 0)
        return Counters(*struct.unpack(f"<{len(COUNTER_NAMES)}I", reply))

    def read_spikes(self) -> list[tuple[int, int]]:
        """Every output spike event the board holds, as (step, neuron), in order; frees them."""
        events: list[tuple[int, int]] = []
        while True:
            reply = self.link.request(Command.READ_OUTPUT_SPIKES,
                                      struct.pack("<IB", self._next_event, MAX_SPIKES_PER_READ))
            available = struct.unpack("<I", reply[:4])[0]
            n = (len(reply) - 4) // SPIKE_EVENT_BYTES
            if len(reply) != 4 + n * SPIKE_EVENT_BYTES or n != min(available, MAX_SPIKES_PER_READ):
                raise BoardError(self.port_name, Command.READ_OUTPUT_SPIKES,
                                 f"reply of {len(reply)} bytes with {available} events available")
            for i in range(n):
                events.append(struct.unpack("<IH", reply[4 + i * 6:10 + i * 6]))
            self._next_event += n
            if n == available:
                return events

    def wait(self) -> tuple[list[tuple[int, int]], Counters]:
        """Poll until the run is over, fetching spikes meanwhile (the board pauses when its spike
        buffer is full); returns the spikes and the final counters."""
        events: list[tuple[int, int]] = []
        while True:
            counters = self.counters()
            events += self.read_spikes()
            if counters.steps_left == 0:
                return events + self.read_spikes(), counters

    def run_program(self, program: FpgaProgram, period: int = 0) -> tuple[np.ndarray, np.ndarray, Counters]:
        """Run an uploaded program's ``n_steps`` with its input spikes, in chunks that fit the
        board's input buffer.  Returns (steps, neurons) of every output spike and the counters."""
        capacity = self._info().input_buffer
        events: list[tuple[int, int]] = []
        step = 0
        counters = self.counters()
        while step < program.n_steps:
            end, queued = step, 0
            while end < program.n_steps and queued + len(program.inputs[end]) <= capacity:
                queued += len(program.inputs[end])
                end += 1
            if end == step:
                raise BoardError(self.port_name, Command.LOAD_INPUT_SPIKES,
                                 f"step {step} has {len(program.inputs[step])} input spikes, "
                                 f"more than the board's buffer of {capacity}")
            self.load_inputs((counters.step + k - step, c) for k in range(step, end)
                             for c in program.inputs[k])
            self.run(end - step, period)
            new_events, counters = self.wait()
            events += new_events
            step = end
        steps = np.array([s for s, _ in events], dtype=np.int64)
        neurons = np.array([n for _, n in events], dtype=np.int64)
        return steps, neurons, counters


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
