"""Host-measured step latency on the virtual board, beside the golden model.

One random recurrent network of LIF neurons (neurohw.ir: IF_curr_exp cells, 80 %
excitatory, and Poisson-like SpikeSourceArray inputs, random weights and axonal
delays) is quantized for one core and run for --steps steps three ways, in this
process:

(a) the golden model (CoreModel.step, numba; the compilation is excluded);
(b) the virtual board closed-loop: per step the step's inputs (LOAD_INPUT_SPIKES),
    RUN 1, and polling (READ_COUNTERS, spikes, step log) until the step is done and
    its results are on the host -- what a closed-loop experiment waits for each step;
(c) the virtual board streamed: Board.run_program (inputs loaded in chunks as the
    board's input buffer allows, a RUN per chunk, results fetched while it runs).

Both board runs must give exactly the model's spikes and step cycles, or the bench
fails.  Also measured: the round trip of one small command (READ_COUNTERS), and,
for reference, the core's own compute time per step at the board clock (the
model's cycles / clock).  The virtual board is the Verilated board RTL behind a
pseudo-terminal: its times measure Verilator clocking the design plus the pty and
pyserial, not a real board's UART.  Uploads are not timed.

    .venv/bin/python tools/bench/virtual_board_latency.py [--neurons 64] [--steps 400]
        [--round-trips 200] [--clock-mhz 24] [--quick]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from neurohw import ir  # noqa: E402
from neurohw.targets.fpga import formats as F  # noqa: E402
from neurohw.targets.fpga import quantize  # noqa: E402
from neurohw.targets.fpga.board import Board  # noqa: E402
from neurohw.targets.fpga.device import VIRTUAL_WIRE_BAUD, open_serial  # noqa: E402
from neurohw.targets.fpga.program import FpgaProgram, load_model  # noqa: E402
from neurohw.targets.fpga.virtual import VirtualBoard  # noqa: E402

DT = 1.0  # ms: a closed loop at 1 ms per step runs in real time if a step takes < 1 ms
LIF = dict(cm=1.0, tau_refrac=2.0, tau_syn_E=5.0, tau_syn_I=10.0, v_rest=-65.0,
           v_reset=-70.0, v_thresh=-50.0, i_offset=0.0)
QUICK_STEPS, QUICK_ROUND_TRIPS = 40, 20


def random_network(n_cells: int, n_inputs: int, n_steps: int, rate_hz: float, seed: int
                   ) -> ir.Network:
    """Cells 0..0.8n excitatory, the rest inhibitory, connected with probability 0.1; each
    input channel feeds 30 % of the cells.  One delay per source (the core's delays are
    axonal), 1..15 steps so that the core's delay depth of 16 holds them."""
    rng = np.random.default_rng(seed)
    # Poisson-like: a channel fires in a step with probability rate*dt
    trains = tuple(np.flatnonzero(rng.random(n_steps) < rate_hz * DT / 1000) * DT
                   for _ in range(n_inputs))
    inputs = ir.Population("inputs", "SpikeSourceArray", n_inputs, spike_times=trains)
    # two membrane time constants: two of the core's 8 parameter profiles
    cells = ir.Population("cells", "IF_curr_exp", n_cells,
                          params={**LIF, "tau_m": rng.choice([10.0, 20.0], n_cells)})
    input_delay = rng.integers(1, 16, n_inputs) * DT
    cell_delay = rng.integers(1, 16, n_cells) * DT
    n_exc = int(0.8 * n_cells)

    def projection(label, pre, receptor, pre_ids, post_ids, weight, delay):
        return ir.Projection(label, pre, "cells", receptor, pre_ids, post_ids, weight,
                             delay[pre_ids])

    pre, post = np.nonzero(rng.random((n_inputs, n_cells)) < 0.3)
    feed = projection("feed", "inputs", "excitatory", pre, post,
                      rng.uniform(1.0, 3.0, pre.size), input_delay)
    connected = rng.random((n_cells, n_cells)) < 0.1
    np.fill_diagonal(connected, False)
    pre, post = np.nonzero(connected[:n_exc])
    excit = projection("excit", "cells", "excitatory", pre, post,
                       rng.uniform(0.5, 1.5, pre.size), cell_delay)
    pre, post = np.nonzero(connected[n_exc:])
    inhib = projection("inhib", "cells", "inhibitory", pre + n_exc, post,
                       -rng.uniform(1.0, 3.0, pre.size), cell_delay)
    return ir.Network(dt=DT, populations=(inputs, cells), projections=(feed, excit, inhib),
                      duration=n_steps * DT, seed=seed)


def run_model(program: FpgaProgram):
    """(a): the golden model; returns ((step, neuron) events, cycles per step, s per step).
    A first run, untimed, compiles (or loads the cached) numba kernels of every path the
    program takes (one warm-up step does not: steps that inject or fire were seen to
    cost milliseconds the first time)."""
    step_model(program)
    return step_model(program)


def step_model(program: FpgaProgram):
    model = load_model(program)
    inject = F.REGION_CONTROL << F.REGION_SHIFT | F.REG_INJECT
    events, cycles = [], []
    seconds = np.zeros(program.n_steps)
    for k, channels in enumerate(program.inputs):
        started = time.perf_counter()
        for channel in channels:
            model.write(inject, channel)
        step = int(model.regs[F.REG_STEP])
        fired = model.step()
        seconds[k] = time.perf_counter() - started
        events += [(step, int(n)) for n in fired]
        cycles.append(model.last_cycles)
    return events, cycles, seconds


def run_closed_loop(board: Board, program: FpgaProgram):
    """(b): one RUN per step, the host waiting for each step's results before the next."""
    board.upload(program, verify=True)
    events: list[tuple[int, int]] = []
    entries: list[tuple[int, bool]] = []
    seconds = np.zeros(program.n_steps)
    # the core's STEP after the upload: input events are stamped with it
    first_step = board.counters().step
    frames = board.link.stats.frames_sent
    for k, channels in enumerate(program.inputs):
        started = time.perf_counter()
        if channels:
            board.load_inputs((first_step + k, c) for c in channels)
        board.run(1)
        board.wait(events=events, entries=entries)
        seconds[k] = time.perf_counter() - started
    return events, [c for c, _ in entries], seconds, board.link.stats.frames_sent - frames


def run_streamed(board: Board, program: FpgaProgram):
    """(c): the whole run in one Board.run_program call; returns its wall time in s."""
    board.upload(program, verify=True)
    frames = board.link.stats.frames_sent
    started = time.perf_counter()
    run = board.run_program(program)
    seconds = time.perf_counter() - started
    events = list(zip(run.spike_steps.tolist(), run.spike_neurons.tolist()))
    return events, run.step_cycles.tolist(), seconds, board.link.stats.frames_sent - frames


def round_trips(board: Board, count: int) -> tuple[np.ndarray, int]:
    """Wall time of ``count`` READ_COUNTERS exchanges one at a time, s, and the wire bytes
    they moved (both ways)."""
    times = np.zeros(count)
    moved = board.bytes_written + board.bytes_read
    for i in range(count):
        started = time.perf_counter()
        board.counters()
        times[i] = time.perf_counter() - started
    return times, board.bytes_written + board.bytes_read - moved


def check_equal(label: str, events, cycles, model_events, model_cycles) -> None:
    """Every spike (step, neuron) and every step's cycle count, against the model's."""
    if cycles != model_cycles:
        k = next((k for k, (a, b) in enumerate(zip(cycles, model_cycles)) if a != b),
                 min(len(cycles), len(model_cycles)))
        raise AssertionError(f"{label}: step cycles differ from the model's from step {k} "
                             f"({len(cycles)} steps, model {len(model_cycles)})")
    if events != model_events:
        k = next((k for k, (a, b) in enumerate(zip(events, model_events)) if a != b),
                 min(len(events), len(model_events)))
        raise AssertionError(f"{label}: spikes differ from the model's at event {k} "
                             f"({len(events)} events, model {len(model_events)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=64, help="LIF cells = the core's N_NEURONS")
    parser.add_argument("--inputs", type=int, default=32,
                        help="input channels = the core's N_INPUTS (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=400, help="steps of each run")
    parser.add_argument("--rate", type=float, default=20.0, help="input rate per channel, Hz")
    parser.add_argument("--round-trips", type=int, default=200,
                        help="READ_COUNTERS exchanges timed (default: %(default)s)")
    parser.add_argument("--clock-mhz", type=float, default=24.0,
                        help="the board clock the core's time is given at (iCEBreaker: 24)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_STEPS} steps, {QUICK_ROUND_TRIPS} round trips")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.round_trips = QUICK_STEPS, QUICK_ROUND_TRIPS
    # rich gives a pipe 80 columns, which would cut the table's numbers
    console = Console(width=None if sys.stdout.isatty() else 100)
    clock_hz = round(args.clock_mhz * 1e6)
    shape = F.CoreShape(n_neurons=args.neurons, n_inputs=args.inputs, weight_width=16,
                        delay_depth=16)
    program = quantize(random_network(args.neurons, args.inputs, args.steps, args.rate,
                                      args.seed), shape)
    n_inputs = sum(map(len, program.inputs))

    model_events, model_cycles, model_seconds = run_model(program)
    if not model_events:
        raise SystemExit("the network does not fire: nothing to check the board against")

    with VirtualBoard(shape, clock_hz=clock_hz) as virtual:
        with open_serial(virtual.port, VIRTUAL_WIRE_BAUD) as port:
            board = Board(port, port_name=virtual.port, reply_timeout=0.5)
            info = board.identify()
            loop_events, loop_cycles, loop_seconds, loop_frames = run_closed_loop(board, program)
            stream_events, stream_cycles, stream_seconds, stream_frames = run_streamed(board,
                                                                                       program)
            rtt, rtt_bytes = round_trips(board, args.round_trips)
            retransmissions = board.link.stats.retransmissions
    check_equal("closed loop", loop_events, loop_cycles, model_events, model_cycles)
    check_equal("streamed", stream_events, stream_cycles, model_events, model_cycles)

    n = program.n_steps
    core_s = np.asarray(model_cycles) / clock_hz
    console.print(
        f"network: {args.neurons} LIF cells (recurrent, seed {args.seed}), {args.inputs} input "
        f"channels at {args.rate:g} Hz, dt {DT:g} ms; {n} steps, {n_inputs} input events, "
        f"{len(model_events)} spikes ({len(model_events) / args.neurons / (n * DT / 1000):.1f} Hz "
        f"per cell); core {shape}, input buffer {info.input_buffer} events")
    # Every wire byte is 10 bits of CLKS_PER_BIT simulated clocks, so the round trips'
    # bytes over their time bound from below how fast the harness clocks the design
    # (the front end's own clocks come on top): the virtual board's speed limit.
    wire_clocks = rtt_bytes * 10 * virtual.clks_per_bit
    console.print(f"virtual board: closed loop and streamed runs equal the model on every spike "
                  f"and step cycle count; {retransmissions} retransmissions; a round trip moves "
                  f"{rtt_bytes / len(rtt):.0f} wire bytes, >= {wire_clocks / rtt.sum() / 1e6:.1f} "
                  f"M simulated clocks/s")

    model_mean = model_seconds.mean()
    table = Table(title=f"host-measured ms per step, {n} steps (b, c, round trip: virtual "
                        f"board)")
    for heading in ("way", "ms/step", "median", "p95", "vs (a)", "frames/step"):
        table.add_column(heading, justify="left" if heading == "way" else "right",
                         no_wrap=heading == "way")

    def row(label, mean, median=None, p95=None, frames=None):
        table.add_row(label, f"{mean * 1e3:.4f}",
                      "" if median is None else f"{median * 1e3:.4f}",
                      "" if p95 is None else f"{p95 * 1e3:.4f}", f"{mean / model_mean:,.1f}x",
                      "" if frames is None else f"{frames / n:.2f}")

    row("(a) golden model (CoreModel.step)", model_mean, np.median(model_seconds),
        np.percentile(model_seconds, 95))
    row("(b) closed loop: RUN 1 + poll", loop_seconds.mean(),
        np.median(loop_seconds), np.percentile(loop_seconds, 95), loop_frames)
    row("(c) streamed: run_program", stream_seconds / n, frames=stream_frames)
    row(f"READ_COUNTERS round trip (x{len(rtt)})", rtt.mean(), np.median(rtt),
        np.percentile(rtt, 95))
    row(f"core at {clock_hz / 1e6:g} MHz (cycles / clock)", core_s.mean(),
        np.median(core_s), np.percentile(core_s, 95))
    console.print(table)
    loop_mean = loop_seconds.mean()
    console.print(f"core compute: {core_s.mean() * 1e6:.2f} us/step mean, "
                  f"{core_s.max() * 1e6:.2f} us at most; closed loop / streamed: "
                  f"{loop_mean / (stream_seconds / n):,.1f}x; closed loop / core compute: "
                  f"{loop_mean / core_s.mean():,.0f}x")
    console.print("note: the virtual board's times measure Verilator clocking the board design "
                  "plus the pseudo-terminal and pyserial, not a real board's UART (whose baud "
                  "rate and USB latency timer set its own round trip).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
