"""Functional coverage of rtl/core.v: which bus commands, FSM states and
overflow/saturation paths the core benches reach, and a check that they reach all.

bench_core.CoverageMonitor samples the Verilated core at every clock while the
benches run (BENCH_COVERAGE_FILE names the file it records into); this test runs
the random, overrun, full-slot and bus benches plus the directed corner cases
(bench_core.directed_corners) on two of test_rtl_core.py's builds, merges what
they reached, writes build/rtl-coverage.txt, prints it, and fails on any point
never reached.  The leaves (saturate, syn_decay, syn_deliver, lif_neuron_update,
trace_update, stdp_update) are combinational and delay_ring/ram_1r1w hold no
state machine: core.v's FSM is the only one, and the leaves' clipping paths are
points of their own below.
"""
from __future__ import annotations

import json

import pytest

from harness import BUILD_DIR, REPO, run
from test_rtl_core import bench_env, core_runner

# shapes of test_rtl_core.py (the same build directories and parameters, so the
# builds are shared) and their random-network seeds: the narrowest widths make
# weight clipping and slot overflow frequent; the wider shape has deeper sweeps
SHAPES = {"n16_in2_w2_d2": range(3000, 3012), "n16_in16_w12_d8": range(2000, 2010)}
SUMMARY = REPO / "build" / "rtl-coverage.txt"


@pytest.mark.slow
def test_core_coverage():
    from bench_core import coverage_points   # imports cocotb, which pytest need not load early

    out_dir = BUILD_DIR / "coverage"
    out_dir.mkdir(parents=True, exist_ok=True)
    reached_by: dict[str, list[str]] = {}
    for name, seeds in SHAPES.items():
        record = out_dir / f"{name}.json"
        record.unlink(missing_ok=True)
        run(core_runner(name), f"core_{name}", "core", "bench_core",
            testcase=["random_networks", "bus_readback", "overruns", "full_delay_slot",
                      "directed_corners", "pipeline_hazards"],
            env={**bench_env(name, seeds), "BENCH_COVERAGE_FILE": str(record)})
        for point in json.loads(record.read_text()):
            reached_by.setdefault(point, []).append(name)

    points = coverage_points()
    unknown = sorted(set(reached_by) - set(points))
    missed = [p for p in points if p not in reached_by]
    lines = [f"rtl/core.v functional coverage: {len(points) - len(missed)} of {len(points)} "
             f"points reached (shapes {', '.join(SHAPES)})", ""]
    lines += [f"  {'reached' if p in reached_by else 'MISSED '}  {p}"
              f"{'  [' + ', '.join(reached_by[p]) + ']' if p in reached_by else ''}"
              for p in points]
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    assert not unknown, f"the monitor recorded points coverage_points() does not list: {unknown}"
    assert not missed, f"coverage points never reached: {missed} (see {SUMMARY})"
