"""The FPGA core's estimates for the report (:mod:`neurohw.targets.estimates`).

**Link.**  The board talks UART 8N1 (10 bit times per byte) at
:data:`~neurohw.targets.fpga.synth.UART_BAUD` unless the run says otherwise
(``HostMeasurement.baudrate``, or ``config["baudrate"]``), in the frames of
rtl/PROTOCOL.md: every frame costs 7 bytes around its payload (2 flags, LEN,
CMD, SEQ, 2 CRC bytes) plus one escape byte per 0x7E/0x7D in the body, and
every command is answered by an ACK.  The board takes up to IDENTIFY's
``max_window`` frames back to back, but a closed loop has one in flight: each
of :class:`Board`'s calls below waits for its answer before the next (a
step's outputs decide the next step's inputs), so each command is a round trip.

*Closed loop* -- one step per exchange, the path :meth:`Board.run_program`
takes for a chunk of one step: LOAD_INPUT_SPIKES with the step's input events
(42 per frame; none if the step has no input), RUN 1, READ_COUNTERS, then
READ_OUTPUT_SPIKES until the board has no more events (41 per reply) and once
more after ``steps_left == 0`` -- assuming the step is done by the first
READ_COUNTERS (a step takes microseconds, a round trip at least a byte time
each way).  Each reply may wait in the USB-UART adapter: an FTDI chip holds a
reply shorter than its 62-byte USB packet until its latency timer expires,
16 ms by default, 1 ms where it is set (FTDI application note AN232B-04,
"Data Throughput, Latency and Handshaking").  The wire bytes are encoded
exactly (:func:`protocol.encode_frame`, sequence numbers from 0), so escape
bytes are counted where the real payload has them.

*Streaming* -- all input events in as few LOAD_INPUT_SPIKES frames as fit,
all output events in full READ_OUTPUT_SPIKES replies, with their requests and
ACKs; no polling.

Output events are the neuron spikes the run recorded; a population that
records only some of its neurons' spikes makes the counts a lower bound (said
in the notes).

**Energy: not published.**  No power has been measured for this core, and the
device datasheets (Lattice iCE40 UltraPlus DS1056, ECP5 DS1044) give supply
currents for a blank device only: the dynamic power of a placed design needs
the vendor's power estimator on the routed netlist or a measurement on the
board, neither of which exists yet.  A per-operation cost would be invented.
"""
from __future__ import annotations

import struct

import numpy as np

from ...ir import Network
from ...results import HardwareRun
from ..estimates import EnergyEstimate, LinkEstimate, TargetEstimates
from .board import COUNTER_NAMES, MAX_SPIKES_PER_READ
from .protocol import MAX_PAYLOAD, SEQ_MODULUS, Command, encode_frame
from .synth import UART_BAUD

__all__ = ["estimate", "UART_BITS_PER_BYTE", "FTDI_DEFAULT_LATENCY_MS", "FTDI_LOW_LATENCY_MS"]

UART_BITS_PER_BYTE = 10            # 8N1: start bit, 8 data bits, stop bit
FTDI_DEFAULT_LATENCY_MS = 16.0     # FTDI latency timer after power-up (AN232B-04)
FTDI_LOW_LATENCY_MS = 1.0          # its smallest setting
INPUT_EVENT_BYTES = 6              # LOAD_INPUT_SPIKES event: step u32, channel u16
INPUTS_PER_FRAME = MAX_PAYLOAD // INPUT_EVENT_BYTES
COUNTERS_REPLY_BYTES = 4 * len(COUNTER_NAMES)   # READ_COUNTERS: u32 each

ENERGY_NOTE = ("not published: no power measurement of this core exists, and the iCE40 "
               "UltraPlus (DS1056) and ECP5 (DS1044) datasheets give blank-device supply "
               "currents only; the dynamic power of the placed design needs the vendor power "
               "estimator on the routed netlist or a board measurement")


class _Wire:
    """Counts the bytes of consecutive frames on the wire (sequence numbers advance)."""

    def __init__(self):
        self.seq = 0
        self.to_device = 0
        self.from_device = 0
        self.replies = 0

    def exchange(self, cmd: int, payload: bytes, reply_data: bytes = b"") -> None:
        """One command and its ACK (echoed command byte, then the reply data)."""
        self.to_device += len(encode_frame(cmd, self.seq, payload))
        self.from_device += len(encode_frame(Command.ACK, self.seq, bytes((cmd,)) + reply_data))
        self.replies += 1
        self.seq = (self.seq + 1) % SEQ_MODULUS


def _read_output(wire: _Wire, first_event: int, events: list[tuple[int, int]]) -> int:
    """READ_OUTPUT_SPIKES until ``events`` are all read (one read if none); the next index."""
    while True:
        batch = events[:MAX_SPIKES_PER_READ]
        events = events[MAX_SPIKES_PER_READ:]
        wire.exchange(Command.READ_OUTPUT_SPIKES, struct.pack("<IB", first_event,
                                                              MAX_SPIKES_PER_READ),
                      struct.pack("<I", len(batch) + len(events))
                      + b"".join(struct.pack("<IH", s, n) for s, n in batch))
        first_event += len(batch)
        if not events:
            return first_event


def _load_inputs(wire: _Wire, events: list[tuple[int, int]]) -> None:
    for i in range(0, len(events), INPUTS_PER_FRAME):
        wire.exchange(Command.LOAD_INPUT_SPIKES,
                      b"".join(struct.pack("<IH", s, c) for s, c in events[i:i + INPUTS_PER_FRAME]))


def _input_events(run: HardwareRun, network: Network, first_step: int
                  ) -> list[list[tuple[int, int]]]:
    """(step, channel) input events of every step of the run, channels numbered over the
    network's SpikeSourceArray populations in order (as quantize() assigns them)."""
    offset_steps = int(round(float(network.metadata.get("t_offset", 0.0)) / run.dt))
    per_step: list[list[tuple[int, int]]] = [[] for _ in range(run.n_steps)]
    channel = 0
    for pop in network.populations:
        if pop.cell_type != "SpikeSourceArray":
            continue
        for train in pop.spike_times:
            steps = np.rint(np.asarray(train) / run.dt).astype(np.int64) + offset_steps
            for k in steps[(steps >= first_step) & (steps < first_step + run.n_steps)]:
                per_step[int(k) - first_step].append((int(k), channel))
            channel += 1
    for events in per_step:
        events.sort()
    return per_step


def _output_events(run: HardwareRun, network: Network, first_step: int
                   ) -> tuple[list[list[tuple[int, int]]], list[str]]:
    """(step, core neuron) output events of every step, from the recorded spikes."""
    per_step: list[list[tuple[int, int]]] = [[] for _ in range(run.n_steps)]
    notes = []
    base = 0
    for pop in network.populations:
        if pop.cell_type == "SpikeSourceArray":
            continue
        recorded = pop.record.get("spikes", np.zeros(0, np.int64)).size
        if recorded < pop.size:
            notes.append(f"population '{pop.label}' records the spikes of {recorded} of its "
                         f"{pop.size} neurons: the output bytes are a lower bound")
        trains = run.spikes.get(pop.label)
        if trains is not None:
            steps = np.rint(trains.times / run.dt).astype(np.int64) - 1   # stamped (k+1)*dt
            for k, i in zip(steps, trains.index):
                if first_step <= k < first_step + run.n_steps:
                    per_step[int(k) - first_step].append((int(k), base + int(i)))
        base += pop.size
    for events in per_step:
        events.sort()
    return per_step, notes


def link_estimate(run: HardwareRun, network: Network) -> LinkEstimate:
    host = run.host
    baudrate = float(host.baudrate if host is not None
                     else run.config.get("baudrate", UART_BAUD))
    if host is not None and host.latency_timer_ms is not None:
        wait_ms, source = float(host.latency_timer_ms), f"latency timer read from {host.port}"
    else:
        wait_ms, source = FTDI_DEFAULT_LATENCY_MS, "FTDI default latency timer"
    first_step = int(round(run.t_start / run.dt))
    inputs = _input_events(run, network, first_step)
    outputs, notes = _output_events(run, network, first_step)

    to_device = np.zeros(run.n_steps, np.int64)
    from_device = np.zeros(run.n_steps, np.int64)
    replies = np.zeros(run.n_steps, np.int64)
    wire = _Wire()
    next_event = 0
    for j in range(run.n_steps):
        before = (wire.to_device, wire.from_device, wire.replies)
        _load_inputs(wire, inputs[j])
        wire.exchange(Command.RUN, struct.pack("<II", 1, 0))
        wire.exchange(Command.READ_COUNTERS, b"", bytes(COUNTERS_REPLY_BYTES))
        next_event = _read_output(wire, next_event, outputs[j])
        next_event = _read_output(wire, next_event, [])      # after steps_left == 0
        to_device[j] = wire.to_device - before[0]
        from_device[j] = wire.from_device - before[1]
        replies[j] = wire.replies - before[2]

    stream = _Wire()
    _load_inputs(stream, [e for step in inputs for e in step])
    _read_output(stream, 0, [e for step in outputs for e in step])
    if host is not None and host.virtual:
        notes.append("the virtual board's pseudo-terminal has no baud rate and no latency "
                     "timer: these are the figures for a board at the configured rate")
    return LinkEstimate(
        description=("UART 8N1, rtl/PROTOCOL.md frames, one frame in flight; closed loop = "
                     "LOAD_INPUT_SPIKES (if inputs), RUN 1, READ_COUNTERS, READ_OUTPUT_SPIKES "
                     "until empty, as Board.run_program does for a one-step chunk"),
        baudrate=baudrate, bits_per_byte=UART_BITS_PER_BYTE,
        bytes_to_device=to_device, bytes_from_device=from_device, replies=replies,
        wire_ns=(to_device + from_device) * UART_BITS_PER_BYTE / baudrate * 1e9,
        compute_ns=run.step_ns, reply_wait_ms=wait_ms, reply_wait_source=source,
        other_reply_waits_ms=tuple(w for w in (FTDI_LOW_LATENCY_MS,) if w != wait_ms),
        streaming_bytes_to_device=stream.to_device,
        streaming_bytes_from_device=stream.from_device, notes=notes)


def estimate(run: HardwareRun, network: Network) -> TargetEstimates:
    return TargetEstimates(link=link_estimate(run, network),
                           energy=EnergyEstimate("not published", note=ENERGY_NOTE))
