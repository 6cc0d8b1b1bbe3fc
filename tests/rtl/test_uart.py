"""rtl/uart_tx.v and rtl/uart_rx.v against a bit-level UART model, and in loopback.

One Verilated harness holds a tx/rx pair at each of several CLKS_PER_BIT
(4, 7, 16 and 104 = 12 MHz / 115200 baud); every cocotb test below runs on all
pairs at once.  The pytest entry point is ``test_uart_benches`` at the end.
"""
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

from link_runner import lint, run_bench

CLKS_PER_BIT = {"a": 4, "b": 7, "c": 16, "d": 104}


def _harness() -> str:
    ports, body = [], []
    for name, cpb in CLKS_PER_BIT.items():
        ports += [
            f"input  wire [7:0] {name}_tx_data_i", f"input  wire {name}_tx_valid_i",
            f"output wire {name}_tx_ready_o", f"output wire {name}_line_o",
            f"input  wire {name}_rx_i", f"input  wire {name}_loop_i",
            f"output wire [7:0] {name}_rx_data_o", f"output wire {name}_rx_valid_o",
            f"output wire {name}_rx_err_o",
        ]
        body.append(f"""
  uart_tx #(.CLKS_PER_BIT({cpb})) u_{name}_tx (
    .clk_i(clk_i), .rst_ni(rst_ni), .data_i({name}_tx_data_i), .valid_i({name}_tx_valid_i),
    .ready_o({name}_tx_ready_o), .tx_o({name}_line_o));
  uart_rx #(.CLKS_PER_BIT({cpb})) u_{name}_rx (
    .clk_i(clk_i), .rst_ni(rst_ni), .rx_i({name}_loop_i ? {name}_line_o : {name}_rx_i),
    .data_o({name}_rx_data_o), .valid_o({name}_rx_valid_o), .frame_err_o({name}_rx_err_o));""")
    port_list = ",\n  ".join(["input wire clk_i", "input wire rst_ni"] + ports)
    return f"`default_nettype none\nmodule uart_bench (\n  {port_list}\n);{''.join(body)}\nendmodule\n"


# ---------------------------------------------------------------- the model ----

def uart_bits(byte: int, stop_bit: int = 1) -> list[int]:
    """Line levels of one 8N1 character, one per bit: start, LSB..MSB, stop."""
    return [0] + [(byte >> bit) & 1 for bit in range(8)] + [stop_bit]


def line_waveform(characters, clks_per_bit: float) -> list[int]:
    """Per-clock line levels for a list of (byte, stop_bit, idle_bits_before).

    ``clks_per_bit`` may be fractional: that is a transmitter whose baud rate
    is off from the receiver's; bit edges fall on the nearest clock.
    """
    bits = []
    for byte, stop_bit, idle_bits in characters:
        bits += [1] * idle_bits + uart_bits(byte, stop_bit)
    bits += [1] * 2
    return [bits[min(int(clock / clks_per_bit), len(bits) - 1)]
            for clock in range(int(len(bits) * clks_per_bit))]


def decode_line(levels: list[int], clks_per_bit: int) -> list[tuple[int, int]]:
    """(byte, stop bit) of each character on a recorded line, sampled mid-bit."""
    characters, clock = [], 0
    while clock < len(levels):
        if levels[clock] == 1:
            clock += 1
            continue
        middle = clock + clks_per_bit // 2
        samples = [levels[middle + bit * clks_per_bit] for bit in range(10)
                   if middle + bit * clks_per_bit < len(levels)]
        if len(samples) < 10:
            break
        assert samples[0] == 0, f"start bit not low in its middle at clock {clock}"
        characters.append((sum(b << i for i, b in enumerate(samples[1:9])), samples[9]))
        clock = middle + 9 * clks_per_bit + 1
    return characters


# ---------------------------------------------------------------- helpers ----

def port(dut, name, signal):
    return getattr(dut, f"{name}_{signal}")


async def reset(dut):
    cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns").start())
    for name in CLKS_PER_BIT:
        port(dut, name, "tx_valid_i").value = 0
        port(dut, name, "tx_data_i").value = 0
        port(dut, name, "rx_i").value = 1
        port(dut, name, "loop_i").value = 0
    dut.rst_ni.value = 0
    for _ in range(3):
        await FallingEdge(dut.clk_i)
    dut.rst_ni.value = 1
    await FallingEdge(dut.clk_i)


async def drive_rx(dut, name, levels):
    for level in levels:
        port(dut, name, "rx_i").value = level
        await FallingEdge(dut.clk_i)


async def collect_rx(dut, name, clocks, received):
    """Append (byte, stop_ok) for every rx_valid_o / rx_err_o pulse."""
    for _ in range(clocks):
        await FallingEdge(dut.clk_i)
        valid = int(port(dut, name, "rx_valid_o").value)
        error = int(port(dut, name, "rx_err_o").value)
        assert not (valid and error), f"{name}: valid and framing error together"
        if valid or error:
            received.append((int(port(dut, name, "rx_data_o").value), valid))


async def send_tx(dut, name, data, rng, gaps):
    """Offer each byte until taken (with ``gaps``, not on ~30% of the clocks).

    Returns the line level at every clock from the first start bit until the
    line has been idle after the last stop bit."""
    levels, pending, recording = [], list(data), False
    while pending:
        offer = not (gaps and rng.random() < 0.3)
        port(dut, name, "tx_valid_i").value = int(offer)
        port(dut, name, "tx_data_i").value = pending[0]
        await ReadOnly()
        taken = offer and int(port(dut, name, "tx_ready_o").value) == 1
        await FallingEdge(dut.clk_i)
        if taken:
            pending.pop(0)
            recording = True
        if recording:
            levels.append(int(port(dut, name, "line_o").value))
    port(dut, name, "tx_valid_i").value = 0
    for _ in range(10 * CLKS_PER_BIT[name] + 2):
        await FallingEdge(dut.clk_i)
        levels.append(int(port(dut, name, "line_o").value))
    return levels


def byte_count(name, small, large):
    return small if CLKS_PER_BIT[name] > 16 else large


# ------------------------------------------------------------------ tests ----

@cocotb.test()
async def tx_waveform_is_exactly_the_bit_model(dut):
    """Back to back, the line is 10 bit times per byte, bit for bit as the model."""
    await reset(dut)
    rng = random.Random(1)

    async def check(name):
        data = [0x00, 0xFF, 0x55, 0xAA] + [rng.randrange(256) for _ in range(byte_count(name, 4, 24))]
        levels = await send_tx(dut, name, data, rng, gaps=False)
        expected = [level for byte in data for level in uart_bits(byte)
                    for _ in range(CLKS_PER_BIT[name])]
        assert levels[:len(expected)] == expected, f"{name}: waveform differs from the model"
        assert set(levels[len(expected):]) == {1}, f"{name}: line not idle after the last stop bit"

    tasks = [cocotb.start_soon(check(name)) for name in CLKS_PER_BIT]
    for task in tasks:
        await task


@cocotb.test()
async def tx_with_idle_gaps_decodes(dut):
    await reset(dut)
    rng = random.Random(2)

    async def check(name):
        data = [rng.randrange(256) for _ in range(byte_count(name, 6, 30))]
        levels = await send_tx(dut, name, data, rng, gaps=True)
        assert decode_line(levels, CLKS_PER_BIT[name]) == [(byte, 1) for byte in data], name

    tasks = [cocotb.start_soon(check(name)) for name in CLKS_PER_BIT]
    for task in tasks:
        await task


@cocotb.test()
async def rx_decodes_the_bit_model_at_off_baud_rates(dut):
    """Bytes with random idle gaps, from a transmitter up to 3% fast or slow."""
    await reset(dut)
    rng = random.Random(3)

    async def check(name, rate_error):
        data = [0x00, 0xFF] + [rng.randrange(256) for _ in range(byte_count(name, 4, 24))]
        characters = [(byte, 1, rng.choice([0, 0, 1, 3])) for byte in data]
        levels = line_waveform(characters, CLKS_PER_BIT[name] * (1 + rate_error))
        received = []
        collector = cocotb.start_soon(collect_rx(dut, name, len(levels) + 4, received))
        await drive_rx(dut, name, levels)
        await collector
        assert received == [(byte, 1) for byte in data], f"{name} at {rate_error:+.0%}"

    for rate_error in (0.0, 0.03, -0.03):
        tasks = [cocotb.start_soon(check(name, rate_error))
                 for name in CLKS_PER_BIT if CLKS_PER_BIT[name] >= 16 or rate_error == 0.0]
        for task in tasks:
            await task


@cocotb.test()
async def rx_flags_a_bad_stop_bit_and_recovers(dut):
    await reset(dut)
    rng = random.Random(4)

    async def check(name):
        characters = [(0x3C, 1, 1), (0xA5, 0, 0), (0x5A, 1, 2), (0x00, 0, 0),
                      (0x81, 1, 1), (rng.randrange(256), 1, 1)]
        levels = line_waveform(characters, CLKS_PER_BIT[name])
        # A break: the line held low for three characters, then a good byte.
        levels += [0] * (30 * CLKS_PER_BIT[name]) + line_waveform([(0x42, 1, 1)], CLKS_PER_BIT[name])
        received = []
        collector = cocotb.start_soon(collect_rx(dut, name, len(levels) + 4, received))
        await drive_rx(dut, name, levels)
        await collector
        assert received == [(0x3C, 1), (0xA5, 0), (0x5A, 1), (0x00, 0), (0x81, 1),
                            (characters[-1][0], 1), (0x00, 0), (0x42, 1)], name

    tasks = [cocotb.start_soon(check(name)) for name in CLKS_PER_BIT]
    for task in tasks:
        await task


@cocotb.test()
async def rx_ignores_a_glitch_shorter_than_half_a_bit(dut):
    await reset(dut)

    async def check(name):
        cpb = CLKS_PER_BIT[name]
        glitch = [1] * cpb + [0] * max(1, cpb // 2 - 2) + [1] * (3 * cpb)
        levels = glitch + line_waveform([(0x99, 1, 0)], cpb)
        received = []
        collector = cocotb.start_soon(collect_rx(dut, name, len(levels) + 4, received))
        await drive_rx(dut, name, levels)
        await collector
        assert received == [(0x99, 1)], name

    tasks = [cocotb.start_soon(check(name)) for name in CLKS_PER_BIT]
    for task in tasks:
        await task


@cocotb.test()
async def loopback_tx_into_rx(dut):
    await reset(dut)
    rng = random.Random(5)

    async def check(name):
        port(dut, name, "loop_i").value = 1
        data = list(range(256)) if CLKS_PER_BIT[name] <= 7 else [rng.randrange(256) for _ in range(byte_count(name, 6, 40))]
        received = []
        clocks = (len(data) + 2) * 10 * CLKS_PER_BIT[name] * 2
        collector = cocotb.start_soon(collect_rx(dut, name, clocks, received))
        await send_tx(dut, name, data, rng, gaps=True)
        await collector
        assert received == [(byte, 1) for byte in data], name

    tasks = [cocotb.start_soon(check(name)) for name in CLKS_PER_BIT]
    for task in tasks:
        await task


def test_uart_rtl_lints_clean():
    for clks_per_bit in (4, 5, 16, 104, 217):
        lint(["uart_rx.v"], "uart_rx", {"CLKS_PER_BIT": clks_per_bit})
        lint(["uart_tx.v"], "uart_tx", {"CLKS_PER_BIT": clks_per_bit})


def test_uart_benches():
    run_bench("uart_bench", _harness(), ["uart_tx.v", "uart_rx.v"], "test_uart")
