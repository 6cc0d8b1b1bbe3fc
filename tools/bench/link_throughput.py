"""How close uploads and read-backs come to what 8N1 allows, in virtual time.

The host's Board/Link talk to the model board (neurohw.targets.fpga.board_model, the
clock-exact model of rtl/cmd_frontend.v) through ModelPort, which delays every byte by the
wire time at the baud rate and by a fixed latency each way (an FTDI USB-UART's latency
timer of 1 ms makes a round trip of 1-2 ms).  Printed: the share of the wire's 8N1 byte
rate the upload uses on the host-to-board line (every wire byte: frames, stuffing and
retransmissions) and what arrives as weight data, and the same for the read-back on the
board-to-host line.  Virtual time is deterministic: these are ratios of the protocol, not
of this machine.

    .venv/bin/python tools/bench/link_throughput.py [--neurons 128] [--fifo 2048 4096]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from neurohw.targets.fpga import formats as F  # noqa: E402
from neurohw.targets.fpga.board import Board  # noqa: E402
from neurohw.targets.fpga.board_model import BoardModel, ModelPort  # noqa: E402
from neurohw.targets.fpga.link import Link  # noqa: E402

BAUDS = (115_200, 1_000_000, 3_000_000, 12_000_000)
ROUND_TRIPS = (0.001, 0.002)   # seconds, both directions together


def measure(baud: int, round_trip: float, fifo: int, shape: F.CoreShape) -> dict:
    # the board's clock: the iCEBreaker's 24 MHz where uart_rx's 4 clocks a bit allow it
    clock_hz = max(24_000_000, 4 * baud)
    model = BoardModel(shape, clock_hz=clock_hz, clks_per_bit=round(clock_hz / baud),
                       rx_buffer=fifo)
    port = ModelPort(model, baud=baud, latency=round_trip / 2)
    board = Board(Link(port, window=127, reply_timeout=max(0.05, 20 * round_trip), clock=port.clock))
    board.identify()
    n_syn = shape.n_sources * shape.n_neurons
    weights = [(i * 2654435761 >> 9) & ((1 << (shape.weight_width + 1)) - 1) for i in range(n_syn)]
    data_bytes = n_syn * board.info.weight_bytes
    wire_rate = baud / 10  # 8N1 bytes per second
    start, written = port.now, board.bytes_written
    board.write_weights(0, weights)
    up_time, up_bytes = port.now - start, board.bytes_written - written
    start, read = port.now, board.bytes_read
    assert board.read_weights(0, n_syn) == weights
    down_time, down_bytes = port.now - start, board.bytes_read - read
    return {"upload_wire": up_bytes / wire_rate / up_time,
            "upload_data": data_bytes / wire_rate / up_time,
            "readback_wire": down_bytes / wire_rate / down_time,
            "readback_data": data_bytes / wire_rate / down_time,
            "seconds": up_time, "retransmissions": board.link.stats.retransmissions,
            "clock_mhz": clock_hz / 1e6}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=128, help="N_NEURONS (weights: 2N x N)")
    parser.add_argument("--fifo", type=int, nargs="+", default=[2048, 4096],
                        help="RX_FIFO_BYTES to try (default: 2048 4096)")
    args = parser.parse_args()
    shape = F.CoreShape(args.neurons, args.neurons, 8, 16)
    n_syn = shape.n_sources * shape.n_neurons
    print(f"upload and read-back of {n_syn} weight words ({2 * n_syn} bytes), "
          f"share of the 8N1 byte rate used (wire bytes / data bytes)")
    print(f"{'baud':>10} {'round trip':>10} {'FIFO':>6} {'clock':>7} | "
          f"{'upload wire':>11} {'data':>6} | {'read-back wire':>14} {'data':>6} | {'real s':>6}")
    for fifo in args.fifo:
        for baud in BAUDS:
            for round_trip in ROUND_TRIPS:
                started = time.perf_counter()
                r = measure(baud, round_trip, fifo, shape)
                print(f"{baud:>10} {round_trip * 1e3:>8.0f}ms {fifo:>6} {r['clock_mhz']:>5.0f}MHz | "
                      f"{r['upload_wire']:>11.1%} {r['upload_data']:>6.1%} | "
                      f"{r['readback_wire']:>14.1%} {r['readback_data']:>6.1%} | "
                      f"{time.perf_counter() - started:>6.1f}"
                      + (f"  ({r['retransmissions']} retransmissions)" if r["retransmissions"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
