"""cocotb bench of fpga/common/neurohw_board.v over its UART pins (run by run_bench.py).

Checks the command front end (rtl/cmd_frontend.v) behind the real link stack against
rtl/PROTOCOL.md, with frames from neurohw.targets.fpga.protocol.
"""
import struct

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from neurohw.targets.fpga.protocol import Frame, StreamDecoder, encode_frame

CLKS_PER_BIT = 8        # as run_bench.py builds the design
REPLY_WAIT = 4000       # clocks after a request: its reply (<= 16 bytes) is complete by then
CMD_ACK, CMD_NACK = 0x80, 0x81
IDENTIFY, WRITE_BUS, READ_BUS, RUN = 0x01, 0x08, 0x09, 0x41


async def send_bytes(dut, data):
    """Drive rx_i with 8N1 characters, back to back."""
    for byte in data:
        for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
            dut.rx_i.value = bit
            await ClockCycles(dut.clk_i, CLKS_PER_BIT)


async def collect_bytes(dut, sink):
    """Sample tx_o mid-bit and append every received character to ``sink``."""
    while True:
        await RisingEdge(dut.clk_i)
        if dut.tx_o.value == 0:
            await ClockCycles(dut.clk_i, CLKS_PER_BIT // 2)
            bits = []
            for _ in range(8):
                await ClockCycles(dut.clk_i, CLKS_PER_BIT)
                bits.append(int(dut.tx_o.value))
            await ClockCycles(dut.clk_i, CLKS_PER_BIT)
            assert dut.tx_o.value == 1, "tx_o: stop bit is 0"
            sink.append(sum(bit << i for i, bit in enumerate(bits)))


async def exchange(dut, sink, frame, wait=REPLY_WAIT):
    """Send ``frame``; return the (cmd, seq, payload) of the good frames received after it."""
    start = len(sink)
    await send_bytes(dut, frame)
    await ClockCycles(dut.clk_i, wait)
    return [(event.cmd, event.seq, event.payload)
            for event in StreamDecoder().decode(sink[start:]) if isinstance(event, Frame)]


def u24(value):
    return struct.pack("<I", value)[:3]


def bus_write(seq, addr, word):
    return encode_frame(WRITE_BUS, seq, u24(addr) + struct.pack("<I", word))


def bus_read(seq, addr):
    return encode_frame(READ_BUS, seq, u24(addr) + bytes([1]))


@cocotb.test()
async def link_round_trips(dut):
    cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns").start())
    dut.rx_i.value = 1
    dut.rst_ni.value = 0
    await ClockCycles(dut.clk_i, 5)
    dut.rst_ni.value = 1
    await ClockCycles(dut.clk_i, 5)
    sink = []
    cocotb.start_soon(collect_bytes(dut, sink))
    with_core = int(dut.WITH_CORE.value)

    # scratch word 5, or the core's A_PLUS register (16 bits)
    addr = 0x000004 if with_core else 0x000005
    # unsynchronised after reset: NOT_SYNCED (0x15), not applied; IDENTIFY synchronises
    assert await exchange(dut, sink, bus_write(0, addr, 0xDEAD)) == [(CMD_NACK, 0, b"\x08\x15\x00")]
    replies = await exchange(dut, sink, encode_frame(IDENTIFY, 255))
    assert [(cmd, seq, payload[:3]) for cmd, seq, payload in replies] == [(CMD_ACK, 255, b"\x01\x02\x00")]
    assert await exchange(dut, sink, bus_write(0, addr, 0xBEEF)) == [(CMD_ACK, 0, b"\x08")]
    assert await exchange(dut, sink, bus_read(1, addr)) == [(CMD_ACK, 1, b"\x09\xef\xbe\x00\x00")]
    # a duplicate (its ACK was lost) is answered again but not applied again; another frame
    # with that SEQ is not a duplicate: the host is out of step (NOT_SYNCED)
    assert await exchange(dut, sink, bus_write(0, addr, 0xBEEF)) == [(CMD_ACK, 0, b"\x08")]
    assert await exchange(dut, sink, bus_write(0, addr, 0x1234)) == [(CMD_NACK, 0, b"\x08\x15\x02")]
    assert await exchange(dut, sink, bus_read(2, addr)) == [(CMD_ACK, 2, b"\x09\xef\xbe\x00\x00")]
    # a corrupted frame: NACK BAD_CRC; SEQ and the payload's expected SEQ are 3
    corrupted = bytearray(bus_read(3, addr))
    corrupted[-3] ^= 0x01
    assert await exchange(dut, sink, bytes(corrupted)) == [(CMD_NACK, 3, b"\x00\x01\x03")]
    # final NACKs consume their SEQ: UNKNOWN_COMMAND, BAD_LENGTH
    assert await exchange(dut, sink, encode_frame(0x33, 3)) == [(CMD_NACK, 3, b"\x33\x11\x04")]
    assert await exchange(dut, sink, encode_frame(WRITE_BUS, 4, b"\x00\x00")) == \
        [(CMD_NACK, 4, b"\x08\x12\x05")]
    # a frame ahead of the expected SEQ 5: NACK OUT_OF_ORDER, then silence for the same gap
    assert await exchange(dut, sink, bus_read(9, addr)) == [(CMD_NACK, 9, b"\x09\x10\x05")]
    assert await exchange(dut, sink, bus_read(10, addr)) == []
    if with_core:
        assert await exchange(dut, sink, bus_read(5, 0x000018)) == \
            [(CMD_ACK, 5, b"\x09" + struct.pack("<I", 16))]                  # N_NEURONS
        # profile 0 threshold out of reach: no spikes (a run waits while the board's
        # spike buffer is full, and this bench does not read spikes)
        assert await exchange(dut, sink, bus_write(6, 0x100006, 0x7FFFFF)) == [(CMD_ACK, 6, b"\x08")]
        assert await exchange(dut, sink, encode_frame(RUN, 7, struct.pack("<I", 3))) == \
            [(CMD_ACK, 7, b"\x41")]
        assert await exchange(dut, sink, bus_read(8, 0x000010), wait=20000) == \
            [(CMD_ACK, 8, b"\x09" + struct.pack("<I", 3))]                   # STEP after RUN 3
