"""rtl/crc16.v, rtl/frame_decoder.v, rtl/frame_encoder.v, rtl/frame_sequencer.v and
rtl/rx_fifo.v against neurohw.targets.fpga.protocol.

One Verilated harness holds: a crc16; two frame decoders (MAX_PAYLOAD 255
and 32) fed bytes directly by the bench; a frame encoder; a frame sequencer;
a chain encoder -> uart_tx -> (line, with an error-injection XOR) -> uart_rx
-> decoder; and a 16-entry rx_fifo.  The decoders are compared event by event
with protocol.StreamDecoder (same events, same error codes, same order, UART
errors and receive-FIFO overflow marks included) and, independently of that
model, checked against what was actually sent; the sequencer is compared
verdict by verdict with protocol.BoardSequencer (the NOT_SYNCED rule
included), the FIFO clock by clock with protocol.RxFifo.  The pytest entry
point is ``test_frame_benches`` at the end.
"""
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

from neurohw.targets.fpga.protocol import (
    CRC16_CHECK, ESCAPE, FLAG, BoardSequencer, Command, ErrorCode, Frame, FrameError, RxEntry,
    RxFifo, StreamDecoder, Verdict, crc16, crc16_update, encode_frame, frame_crc,
)

from link_runner import lint, run_bench

SMALL_MAX_PAYLOAD = 32
CHAIN_CLKS_PER_BIT = 4
FIFO_DEPTH = 16
# frame_sequencer counter ports, and the BoardCounters fields they mirror
SEQUENCER_COUNTERS = {"accepted": "frames_accepted", "duplicates": "duplicates",
                      "out_of_order": "out_of_order", "frame_errors": "frame_errors",
                      "link_nacks": "link_nacks", "not_synced": "not_synced"}
# a byte stream entry: (byte, kind), kind as protocol.RxEntry (BYTE, UART_ERROR, OVERFLOW)

_DECODER_PORTS = """
    .byte_i({p}_byte_i), .byte_valid_i({p}_byte_valid_i), .byte_err_i({p}_byte_err_i),
    .byte_ovf_i({p}_byte_ovf_i),
    .len_o({p}_len_o), .cmd_o({p}_cmd_o), .seq_o({p}_seq_o), .hdr_valid_o({p}_hdr_valid_o),
    .payload_o({p}_payload_o), .payload_idx_o({p}_payload_idx_o),
    .payload_valid_o({p}_payload_valid_o), .frame_ok_o({p}_ok_o), .frame_err_o({p}_err_o),
    .err_code_o({p}_code_o), .crc_o({p}_crc_o)"""


def _decoder_port_list(prefix, inputs=True):
    ins = [f"input wire [7:0] {prefix}_byte_i", f"input wire {prefix}_byte_valid_i",
           f"input wire {prefix}_byte_err_i", f"input wire {prefix}_byte_ovf_i"] if inputs else []
    return ins + [
        f"output wire [7:0] {prefix}_len_o", f"output wire [7:0] {prefix}_cmd_o",
        f"output wire [7:0] {prefix}_seq_o", f"output wire {prefix}_hdr_valid_o",
        f"output wire [7:0] {prefix}_payload_o", f"output wire [7:0] {prefix}_payload_idx_o",
        f"output wire {prefix}_payload_valid_o", f"output wire {prefix}_ok_o",
        f"output wire {prefix}_err_o", f"output wire [3:0] {prefix}_code_o",
        f"output wire [15:0] {prefix}_crc_o"]


def _encoder_port_list(prefix, tx=True):
    ports = [f"input wire {prefix}_start_i", f"input wire [7:0] {prefix}_len_i",
             f"input wire [7:0] {prefix}_cmd_i", f"input wire [7:0] {prefix}_seq_i",
             f"output wire {prefix}_idle_o", f"input wire [7:0] {prefix}_payload_i",
             f"input wire {prefix}_payload_valid_i", f"output wire {prefix}_payload_ready_o"]
    if tx:
        ports += [f"output wire [7:0] {prefix}_tx_data_o", f"output wire {prefix}_tx_valid_o",
                  f"input wire {prefix}_tx_ready_i"]
    return ports


def _encoder(prefix, tx_data, tx_valid, tx_ready):
    return f"""
  frame_encoder u_{prefix} (
    .clk_i(clk_i), .rst_ni(rst_ni), .start_i({prefix}_start_i), .len_i({prefix}_len_i),
    .cmd_i({prefix}_cmd_i), .seq_i({prefix}_seq_i), .idle_o({prefix}_idle_o),
    .payload_i({prefix}_payload_i), .payload_valid_i({prefix}_payload_valid_i),
    .payload_ready_o({prefix}_payload_ready_o),
    .tx_data_o({tx_data}), .tx_valid_o({tx_valid}), .tx_ready_i({tx_ready}));"""


def _harness() -> str:
    ports = (["input wire clk_i", "input wire rst_ni",
              "input wire crc_init_i", "input wire [7:0] crc_data_i", "input wire crc_valid_i",
              "output wire [15:0] crc_o"]
             + _decoder_port_list("dec") + _decoder_port_list("sdec")
             + _encoder_port_list("enc")
             + _encoder_port_list("ch", tx=False) + ["input wire ch_flip_i", "output wire ch_line_o"]
             + _decoder_port_list("chd", inputs=False)
             + ["input wire seqr_ok_i", "input wire seqr_err_i", "input wire [3:0] seqr_code_i",
                "input wire [7:0] seqr_cmd_i", "input wire [7:0] seqr_seq_i",
                "output wire seqr_valid_o", "output wire [1:0] seqr_verdict_o",
                "output wire [7:0] seqr_nack_code_o", "output wire [7:0] seqr_expected_o"]
             + [f"output wire [15:0] seqr_{name}_o" for name in SEQUENCER_COUNTERS]
             + ["input wire [7:0] fifo_byte_i", "input wire fifo_valid_i", "input wire fifo_err_i",
                "output wire fifo_head_valid_o", "output wire [8:0] fifo_entry_o",
                "input wire fifo_pop_i", "output wire fifo_overflow_o"])
    body = f"""
  crc16 u_crc (.clk_i(clk_i), .rst_ni(rst_ni), .init_i(crc_init_i), .data_i(crc_data_i),
    .valid_i(crc_valid_i), .crc_o(crc_o));
  frame_decoder #(.MAX_PAYLOAD(255)) u_dec (.clk_i(clk_i), .rst_ni(rst_ni),{_DECODER_PORTS.format(p="dec")});
  frame_decoder #(.MAX_PAYLOAD({SMALL_MAX_PAYLOAD})) u_sdec (.clk_i(clk_i), .rst_ni(rst_ni),{_DECODER_PORTS.format(p="sdec")});
{_encoder("enc", "enc_tx_data_o", "enc_tx_valid_o", "enc_tx_ready_i")}
  // chain: encoder -> uart_tx -> line (ch_flip_i inverts it) -> uart_rx -> decoder
  wire [7:0] ch_tx_data, chd_byte_i;
  wire       ch_tx_valid, ch_tx_ready, ch_tx_line, chd_byte_valid_i, chd_byte_err_i;
{_encoder("ch", "ch_tx_data", "ch_tx_valid", "ch_tx_ready")}
  uart_tx #(.CLKS_PER_BIT({CHAIN_CLKS_PER_BIT})) u_ch_tx (.clk_i(clk_i), .rst_ni(rst_ni),
    .data_i(ch_tx_data), .valid_i(ch_tx_valid), .ready_o(ch_tx_ready), .tx_o(ch_tx_line));
  assign ch_line_o = ch_tx_line ^ ch_flip_i;
  uart_rx #(.CLKS_PER_BIT({CHAIN_CLKS_PER_BIT})) u_ch_rx (.clk_i(clk_i), .rst_ni(rst_ni),
    .rx_i(ch_line_o), .data_o(chd_byte_i), .valid_o(chd_byte_valid_i), .frame_err_o(chd_byte_err_i));
  wire chd_byte_ovf_i = 1'b0;
  frame_decoder #(.MAX_PAYLOAD(255)) u_chd (.clk_i(clk_i), .rst_ni(rst_ni),{_DECODER_PORTS.format(p="chd")});
  frame_sequencer u_seqr (.clk_i(clk_i), .rst_ni(rst_ni),
    .frame_ok_i(seqr_ok_i), .frame_err_i(seqr_err_i), .err_code_i(seqr_code_i),
    .cmd_i(seqr_cmd_i), .seq_i(seqr_seq_i), .verdict_valid_o(seqr_valid_o),
    .verdict_o(seqr_verdict_o), .nack_code_o(seqr_nack_code_o), .expected_seq_o(seqr_expected_o),
    {", ".join(f".{name}_o(seqr_{name}_o)" for name in SEQUENCER_COUNTERS)});
  rx_fifo #(.DEPTH({FIFO_DEPTH})) u_fifo (.clk_i(clk_i), .rst_ni(rst_ni),
    .byte_i(fifo_byte_i), .byte_valid_i(fifo_valid_i), .byte_err_i(fifo_err_i),
    .valid_o(fifo_head_valid_o), .entry_o(fifo_entry_o), .pop_i(fifo_pop_i),
    .overflow_o(fifo_overflow_o));
"""
    port_list = ",\n  ".join(ports)
    return f"`default_nettype none\nmodule frame_bench (\n  {port_list}\n);{body}endmodule\n"


# ---------------------------------------------------------------- helpers ----

def sig(dut, prefix, name):
    return getattr(dut, f"{prefix}_{name}")


async def start(dut):
    cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns").start())
    await reset(dut)


async def reset(dut):
    for name in ("crc_init_i", "crc_data_i", "crc_valid_i",
                 "dec_byte_i", "dec_byte_valid_i", "dec_byte_err_i", "dec_byte_ovf_i",
                 "sdec_byte_i", "sdec_byte_valid_i", "sdec_byte_err_i", "sdec_byte_ovf_i",
                 "enc_start_i", "enc_len_i", "enc_cmd_i", "enc_seq_i", "enc_payload_i",
                 "enc_payload_valid_i", "enc_tx_ready_i",
                 "ch_start_i", "ch_len_i", "ch_cmd_i", "ch_seq_i", "ch_payload_i",
                 "ch_payload_valid_i", "ch_flip_i",
                 "seqr_ok_i", "seqr_err_i", "seqr_code_i", "seqr_cmd_i", "seqr_seq_i",
                 "fifo_byte_i", "fifo_valid_i", "fifo_err_i", "fifo_pop_i"):
        getattr(dut, name).value = 0
    dut.rst_ni.value = 0
    for _ in range(3):
        await FallingEdge(dut.clk_i)
    dut.rst_ni.value = 1
    await FallingEdge(dut.clk_i)


class DecoderMonitor:
    """Turns a decoder's output strobes into protocol Frame / FrameError events."""

    def __init__(self, dut, prefix):
        self.dut, self.prefix = dut, prefix
        self.events = []
        self._payload = None
        self._header = None
        self._task = cocotb.start_soon(self._run())

    def _get(self, name):
        return int(sig(self.dut, self.prefix, name).value)

    async def _run(self):
        while True:
            await FallingEdge(self.dut.clk_i)
            strobes = [self._get(n) for n in ("hdr_valid_o", "payload_valid_o", "ok_o", "err_o")]
            assert sum(strobes) <= 1, f"{self.prefix}: strobes {strobes} in one clock"
            hdr_valid, payload_valid, ok, err = strobes
            if hdr_valid:
                self._payload = bytearray()
                self._header = (self._get("len_o"), self._get("cmd_o"), self._get("seq_o"))
            elif payload_valid:
                assert self._payload is not None, f"{self.prefix}: payload byte before a header"
                assert self._get("payload_idx_o") == len(self._payload), f"{self.prefix}: payload index"
                self._payload.append(self._get("payload_o"))
            elif ok:
                length, cmd, seq = self._header
                assert (self._get("len_o"), self._get("cmd_o"), self._get("seq_o")) == self._header, \
                    f"{self.prefix}: header changed before frame_ok_o"
                assert len(self._payload) == length, f"{self.prefix}: {len(self._payload)} bytes for LEN {length}"
                assert self._get("crc_o") == frame_crc(cmd, seq, bytes(self._payload)), f"{self.prefix}: crc_o"
                self.events.append(Frame(cmd, seq, bytes(self._payload)))
                self._payload = None
            elif err:
                self.events.append(FrameError(self._get("code_o")))
                self._payload = None

    def stop(self):
        self._task.cancel()


async def feed_bytes(dut, prefix, stream, rng=None, gap_probability=0.0):
    """Drive (byte, kind) entries, one per clock unless a random gap is drawn."""
    strobes = ("byte_valid_i", "byte_err_i", "byte_ovf_i")   # indexed by the RxEntry kind
    for byte, kind in stream:
        while rng is not None and rng.random() < gap_probability:
            for strobe in strobes:
                sig(dut, prefix, strobe).value = 0
            await FallingEdge(dut.clk_i)
        sig(dut, prefix, "byte_i").value = byte
        for index, strobe in enumerate(strobes):
            sig(dut, prefix, strobe).value = int(kind == index)
        await FallingEdge(dut.clk_i)
    for strobe in strobes:
        sig(dut, prefix, strobe).value = 0
    for _ in range(3):
        await FallingEdge(dut.clk_i)


def model_events(stream, max_payload=255):
    decoder = StreamDecoder(max_payload)
    events = []
    for byte, kind in stream:
        event = decoder.feed_entry(RxEntry(byte, kind))
        if event is not None:
            events.append(event)
    return events


async def decode_on_both(dut, stream, rng=None, gap_probability=0.0):
    """Reset, feed ``stream`` to both decoders, check each against a fresh model;
    return the events of the MAX_PAYLOAD 255 one."""
    await reset(dut)
    monitors = {prefix: DecoderMonitor(dut, prefix) for prefix in ("dec", "sdec")}
    feeders = [cocotb.start_soon(feed_bytes(dut, prefix, stream, rng, gap_probability))
               for prefix in monitors]
    for feeder in feeders:
        await feeder
    for monitor in monitors.values():
        monitor.stop()
    assert monitors["dec"].events == model_events(stream), "decoder (MAX_PAYLOAD 255) differs from the model"
    assert monitors["sdec"].events == model_events(stream, SMALL_MAX_PAYLOAD), \
        f"decoder (MAX_PAYLOAD {SMALL_MAX_PAYLOAD}) differs from the model"
    return monitors["dec"].events


def random_frame(rng, max_len=40):
    length = rng.choice([0, 1, rng.randrange(max_len + 1)])
    if rng.random() < 0.3:  # rich in bytes that need stuffing
        payload = bytes(rng.choice([FLAG, ESCAPE, 0x5E, 0x5D, 0x00]) for _ in range(length))
    else:
        payload = rng.randbytes(length)
    return Frame(rng.choice([rng.randrange(256), FLAG, ESCAPE]), rng.choice([rng.randrange(256), FLAG]), payload)


def wire(frame):
    return encode_frame(frame.cmd, frame.seq, frame.payload)


def clean(data):
    return [(byte, RxEntry.BYTE) for byte in data]


def corrupt(rng, data):
    """One random fault in ``data``: a bit flip, a dropped, inserted or repeated byte,
    a UART framing error on a byte, or bytes lost to a receive FIFO overflow (the
    FIFO's mark where they were)."""
    stream = clean(data)
    position = rng.randrange(len(stream))
    kind = rng.choice(["flip", "drop", "insert", "repeat", "uart", "overflow"])
    if kind == "flip":
        stream[position] = (stream[position][0] ^ (1 << rng.randrange(8)), RxEntry.BYTE)
    elif kind == "drop":
        del stream[position]
    elif kind == "insert":
        stream.insert(position, (rng.choice([FLAG, ESCAPE, rng.randrange(256)]), RxEntry.BYTE))
    elif kind == "repeat":
        stream.insert(position, stream[position])
    elif kind == "uart":
        stream[position] = (stream[position][0], RxEntry.UART_ERROR)
    else:
        lost = rng.randrange(1, 30)
        stream[position:position + lost] = [(0, RxEntry.OVERFLOW)]
    return stream


def assert_only_damaged_frames_lost(events, frames, damaged):
    """The frames received are the frames sent, in order, less some of the damaged ones."""
    received = [event for event in events if isinstance(event, Frame)]
    position = 0
    for index, frame in enumerate(frames):
        if position < len(received) and received[position] == frame:
            position += 1
        else:
            assert index in damaged, f"undamaged frame {index} lost; events: {events}"
    assert position == len(received), f"frames the sender never sent: {received[position:]}"
    return received


# ------------------------------------------------------------------ tests ----

@cocotb.test()
async def crc16_matches_the_python_crc(dut):
    await start(dut)
    rng = random.Random(10)
    expected = 0xFFFF
    # The catalogue check value, then random bytes with random restarts and idle clocks.
    steps = [(i == 0, True, byte) for i, byte in enumerate(b"123456789")]
    steps += [(rng.random() < 0.05, rng.random() < 0.8, rng.randrange(256)) for _ in range(3000)]
    for index, (init, valid, byte) in enumerate(steps):
        dut.crc_init_i.value = int(init)
        dut.crc_valid_i.value = int(valid)
        dut.crc_data_i.value = byte
        await FallingEdge(dut.clk_i)
        if init:
            expected = 0xFFFF
        if valid:
            expected = crc16_update(expected, byte)
        assert int(dut.crc_o.value) == expected, f"step {index}"
        if index == 8:
            assert expected == CRC16_CHECK == crc16(b"123456789")


@cocotb.test()
async def decoder_decodes_valid_frames_exactly(dut):
    await start(dut)
    rng = random.Random(11)
    frames = [random_frame(rng) for _ in range(60)]
    frames += [Frame(0x20, 7, bytes(range(256))[:255]), Frame(1, 2, b""),
               Frame(FLAG, ESCAPE, bytes([FLAG] * SMALL_MAX_PAYLOAD + [ESCAPE]))]
    stream = clean(b"".join(wire(f) for f in frames))
    events = await decode_on_both(dut, stream)
    assert events == frames
    # The same at a random byte rate, as from a UART.
    events = await decode_on_both(dut, stream, rng, gap_probability=0.5)
    assert events == frames


@cocotb.test()
async def decoder_never_passes_a_corrupted_frame(dut):
    """One fault per damaged frame: that frame is dropped (or survives intact), never altered,
    and every other frame arrives."""
    await start(dut)
    rng = random.Random(12)
    for _ in range(6):
        frames = [random_frame(rng) for _ in range(40)]
        damaged = {index for index in range(len(frames)) if rng.random() < 0.5}
        stream = []
        for index, frame in enumerate(frames):
            stream += corrupt(rng, wire(frame)) if index in damaged else clean(wire(frame))
        events = await decode_on_both(dut, stream)
        received = assert_only_damaged_frames_lost(events, frames, damaged)
        dut._log.info("%d frames, %d damaged, %d lost, %d errors reported", len(frames), len(damaged),
                      len(frames) - len(received), sum(isinstance(e, FrameError) for e in events))


@cocotb.test()
async def decoder_survives_random_bytes_and_resynchronises(dut):
    await start(dut)
    rng = random.Random(13)
    for round_ in range(30):
        garbage = []
        while len(garbage) < 200:
            # Random bytes rich in FLAG and ESCAPE, pieces of frames, and damaged frames.
            piece = rng.choice(["bytes", "fragment", "damaged"])
            if piece == "bytes":
                garbage += [(rng.choice([FLAG, ESCAPE, 0x5E, 0x5D, rng.randrange(256), rng.randrange(256)]),
                             rng.choices([RxEntry.BYTE, RxEntry.UART_ERROR, RxEntry.OVERFLOW],
                                         [0.96, 0.02, 0.02])[0]) for _ in range(rng.randrange(1, 40))]
            elif piece == "fragment":
                encoded = wire(random_frame(rng))
                first = rng.randrange(len(encoded))
                garbage += clean(encoded[first:rng.randrange(first, len(encoded) + 1)])
            else:
                garbage += corrupt(rng, wire(random_frame(rng)))
        good = random_frame(rng, max_len=SMALL_MAX_PAYLOAD)
        stream = garbage + clean(wire(good))
        events = await decode_on_both(dut, stream)
        garbage_bytes = bytes(byte for byte, kind in garbage if kind == RxEntry.BYTE)
        for event in events[:-1]:
            if isinstance(event, Frame):
                # A frame out of garbage must be literally in it (the encoding is canonical).
                assert wire(event) in garbage_bytes, f"round {round_}: frame not in the input: {event}"
            else:
                assert ErrorCode(event.code) <= ErrorCode.RX_OVERFLOW
        assert events[-1] == good, f"round {round_}: no resynchronisation after garbage"


@cocotb.test()
async def encoder_sends_exactly_encode_frame(dut):
    await start(dut)
    rng = random.Random(14)
    frames = [random_frame(rng) for _ in range(40)] + [Frame(0x7E, 0x7D, bytes([0x7E, 0x7D] * 100))]
    sent = bytearray()
    for frame in frames:
        assert int(dut.enc_idle_o.value) == 1
        dut.enc_start_i.value = 1
        dut.enc_len_i.value = len(frame.payload)
        dut.enc_cmd_i.value = frame.cmd
        dut.enc_seq_i.value = frame.seq
        await FallingEdge(dut.clk_i)
        dut.enc_start_i.value = 0
        position = 0
        while int(dut.enc_idle_o.value) == 0:
            payload_valid = position < len(frame.payload) and rng.random() < 0.7
            dut.enc_payload_valid_i.value = int(payload_valid)
            dut.enc_payload_i.value = frame.payload[position] if payload_valid else 0
            dut.enc_tx_ready_i.value = int(rng.random() < 0.6)
            await ReadOnly()
            if int(dut.enc_tx_valid_o.value) and int(dut.enc_tx_ready_i.value):
                sent.append(int(dut.enc_tx_data_o.value))
            if int(dut.enc_payload_ready_o.value):
                assert payload_valid, "payload taken while not valid"
                position += 1
            await FallingEdge(dut.clk_i)
        assert position == len(frame.payload)
    dut.enc_tx_ready_i.value = 0
    assert bytes(sent) == b"".join(wire(f) for f in frames)


@cocotb.test()
async def frames_cross_a_noisy_uart_line(dut):
    """RTL encoder -> uart_tx -> line with injected glitches -> uart_rx -> RTL decoder."""
    await start(dut)
    rng = random.Random(15)
    frames = [random_frame(rng, max_len=12) for _ in range(24)]
    glitched = set(rng.sample(range(len(frames)), 8))
    monitor = DecoderMonitor(dut, "chd")
    for index, frame in enumerate(frames):
        while int(dut.ch_idle_o.value) == 0:
            await FallingEdge(dut.clk_i)
        dut.ch_start_i.value = 1
        dut.ch_len_i.value = len(frame.payload)
        dut.ch_cmd_i.value = frame.cmd
        dut.ch_seq_i.value = frame.seq
        await FallingEdge(dut.clk_i)
        dut.ch_start_i.value = 0
        # The frame's bytes take 10 bit times each; glitch somewhere inside it.
        frame_clocks = len(wire(frame)) * 10 * CHAIN_CLKS_PER_BIT
        glitch = range(0)
        if index in glitched:
            glitch_at = rng.randrange(frame_clocks)
            glitch = range(glitch_at, glitch_at + CHAIN_CLKS_PER_BIT)  # one bit time inverted
        position, clock = 0, 0
        while int(dut.ch_idle_o.value) == 0:
            dut.ch_payload_valid_i.value = int(position < len(frame.payload))
            dut.ch_payload_i.value = frame.payload[position] if position < len(frame.payload) else 0
            dut.ch_flip_i.value = int(clock in glitch)
            await ReadOnly()
            if int(dut.ch_payload_ready_o.value):
                position += 1
            await FallingEdge(dut.clk_i)
            clock += 1
        # The closing FLAG is still on the line, then a character of idle
        # line: a receiver that a glitch knocked out of character alignment
        # is back in step before the next frame.
        for _ in range(2 * 10 * CHAIN_CLKS_PER_BIT):
            dut.ch_flip_i.value = int(clock in glitch)
            await FallingEdge(dut.clk_i)
            clock += 1
        dut.ch_flip_i.value = 0
    monitor.stop()
    received = assert_only_damaged_frames_lost(monitor.events, frames, glitched)
    assert len(received) < len(frames), "the glitches should have cost at least one frame"
    dut._log.info("%d frames, %d glitched, %d lost, events: %s", len(frames), len(glitched),
                  len(frames) - len(received), [e for e in monitor.events if isinstance(e, FrameError)])


@cocotb.test()
async def sequencer_matches_the_board_model(dut):
    """Random frames near, behind and ahead of the expected seq, IDENTIFYs and decoder
    errors, back to back or spaced, and a reset every 500 events (the sequencer is then
    unsynchronised until the next IDENTIFY): every verdict, NACK code, expected seq and
    counter as protocol.BoardSequencer."""
    await start(dut)
    rng = random.Random(16)
    model = BoardSequencer()
    totals = dict.fromkeys(SEQUENCER_COUNTERS.values(), 0)
    pending = None  # the event driven last clock, whose verdict is due now
    for index in range(6000):
        if pending is not None:
            verdict, code = model.step(pending)
            assert int(dut.seqr_valid_o.value) == 1, f"event {index - 1}: no verdict"
            got = (Verdict(int(dut.seqr_verdict_o.value)), int(dut.seqr_nack_code_o.value),
                   int(dut.seqr_expected_o.value))
            assert got == (verdict, code, model.expected_seq), f"event {index - 1} {pending}: {got}"
            for port_name, field in SEQUENCER_COUNTERS.items():
                assert int(getattr(dut, f"seqr_{port_name}_o").value) == getattr(model.counters, field), field
            pending = None
        elif index:
            assert int(dut.seqr_valid_o.value) == 0, "verdict without a frame"
        dut.seqr_ok_i.value = 0
        dut.seqr_err_i.value = 0
        if index % 500 == 499:
            for field in totals:
                totals[field] += getattr(model.counters, field)
            await reset(dut)
            model = BoardSequencer()
            continue
        if rng.random() < 0.7:
            roll = rng.random()
            if roll < 0.12:
                pending = FrameError(rng.choice(list(ErrorCode)[:7]))
                dut.seqr_err_i.value = 1
                dut.seqr_code_i.value = pending.code
            else:
                if roll < 0.15:
                    cmd, seq = Command.IDENTIFY, rng.randrange(256)
                else:
                    cmd = rng.choice([Command.RUN, Command.READ_COUNTERS, rng.randrange(2, 256)])
                    offset = rng.choice([0, 0, 0, -1, -2, 1, 2, rng.randrange(256)])
                    seq = (model.expected_seq + offset) % 256
                pending = Frame(cmd, seq)
                dut.seqr_ok_i.value = 1
                dut.seqr_cmd_i.value = cmd
                dut.seqr_seq_i.value = seq
        await FallingEdge(dut.clk_i)
    for field in totals:
        totals[field] += getattr(model.counters, field)
    assert min(totals.values()) > 50, totals


@cocotb.test()
async def rx_fifo_matches_the_model(dut):
    """rx_fifo (16 entries) clock by clock against protocol.RxFifo: random bytes, UART
    errors and pops, in bursts that overflow it: the head entry, its validity (entries reach
    the head two clocks after they are written) and every overflow mark."""
    await start(dut)
    rng = random.Random(17)
    model = RxFifo(FIFO_DEPTH)
    written = []      # clock each entry in the model FIFO was written, in order
    marks = 0
    for clock in range(20000):
        phase = (clock // 400) % 3    # fill faster than it drains, drain, both at random
        arriving = rng.random() < (0.9, 0.1, 0.5)[phase]
        uart_error = arriving and rng.random() < 0.05
        pop = rng.random() < (0.05, 0.9, 0.5)[phase]
        byte = rng.randrange(256)
        dut.fifo_byte_i.value = byte
        dut.fifo_valid_i.value = int(arriving and not uart_error)
        dut.fifo_err_i.value = int(uart_error)
        head_valid = bool(written) and written[0] + 2 <= clock
        assert int(dut.fifo_head_valid_o.value) == int(head_valid), f"clock {clock}"
        if head_valid:
            head = model._entries[model._first]
            entry = int(dut.fifo_entry_o.value)
            # {error, byte}: a byte; 0x100 a UART error; 0x101 the overflow mark
            expected = head.byte if head.kind == RxEntry.BYTE else 0x100 | (head.kind == RxEntry.OVERFLOW)
            assert entry == expected, f"clock {clock}: head {entry:03x}, model {head}"
        dut.fifo_pop_i.value = int(pop)
        # the write side sees the count at the start of the clock, then the pop
        owed = model.mark_owed
        stored = model.clock(RxEntry(byte, RxEntry.UART_ERROR if uart_error else RxEntry.BYTE)
                             if arriving else None)
        mark_now = owed and stored
        if stored:
            written.append(clock)
        if pop and head_valid:
            model.pop()
            written.pop(0)
        await ReadOnly()
        assert int(dut.fifo_overflow_o.value) == int(mark_now), f"clock {clock}: overflow_o"
        marks += mark_now
        await FallingEdge(dut.clk_i)
    assert marks > 10 and model.dropped > 100, (marks, model.dropped)


def test_frame_rtl_lints_clean():
    lint(["crc16.v"], "crc16")
    lint(["frame_encoder.v", "crc16.v"], "frame_encoder")
    for max_payload in (0, 32, 255):
        lint(["frame_decoder.v", "crc16.v"], "frame_decoder", {"MAX_PAYLOAD": max_payload})
    lint(["frame_sequencer.v", "counter_pair.v"], "frame_sequencer")
    for depth in (2, 16, 2048, 32768):
        lint(["rx_fifo.v", "ram_1r1w_nrw.v"], "rx_fifo", {"DEPTH": depth})


def test_frame_benches():
    run_bench("frame_bench", _harness(),
              ["crc16.v", "frame_decoder.v", "frame_encoder.v", "frame_sequencer.v",
               "counter_pair.v", "uart_tx.v", "uart_rx.v", "rx_fifo.v", "ram_1r1w_nrw.v"],
              "test_frame")
