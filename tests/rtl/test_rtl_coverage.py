"""Functional coverage of the three cores (rtl/core.v, rtl/core_compact.v,
rtl/core_sparse.v): which bus commands, FSM states, overflow/saturation paths and
pipeline hazards the core benches reach, and a check that they reach all.

bench_core.CoverageMonitor (one subclass per core: PipelinedCoverage,
CompactCoverage, SparseCoverage) samples the Verilated core at every clock while
the benches run (BENCH_COVERAGE_FILE names the file it records into); the FSM
states are the core's own localparams S_* (and, in the compact core,
lif_neuron_seq's micro-op counter).  For each core this test runs the random,
bus, overrun, full-slot, corner (bench_core.directed_corners) and hazard benches
(and the sparse core's list_hazards) on two of test_rtl_core.py's builds, merges
what they reached, writes build/rtl-coverage-<core>.txt, prints it, and fails on
any point never reached.  The leaves (saturate, syn_decay, syn_deliver,
lif_neuron_update, trace_update, stdp_update) are combinational or fixed-latency
and delay_ring/the RAMs hold no state machine: the cores' FSMs and
lif_neuron_seq's sequencer are the only ones, and the leaves' clipping paths are
points of their own.
"""
from __future__ import annotations

import json

import pytest

from neurohw.targets.fpga import formats as F
from harness import BUILD_DIR, REPO, run
from test_rtl_core import bench_env, core_runner, core_toplevel

# per core, shapes of test_rtl_core.py (the same build directories and parameters,
# so the builds are shared) and their random-network seeds: the narrowest widths
# make weight clipping and slot overflow frequent; the wider shape has deeper
# sweeps (and, for the sparse core, the registered bus and banked lists)
CORES = {
    "core": {"n16_in2_w2_d2": range(3000, 3012), "n16_in16_w12_d8": range(2000, 2010)},
    "core_compact": {"compact_n16_in2_w2_d2": range(9000, 9012),
                     "compact_n16_in16_w12_d8": range(8000, 8010)},
    "core_sparse": {"sparse_n16_in2_w2_d2": range(12000, 12012),
                    "sparse_n16_in16_w12_d8_busreg": range(11000, 11008)},
}
BENCHES = ["random_networks", "bus_readback", "overruns", "full_delay_slot", "directed_corners",
           "pipeline_hazards"]
ARCHITECTURE = {"core": F.ARCH_PIPELINED, "core_compact": F.ARCH_COMPACT,
                "core_sparse": F.ARCH_SPARSE}


@pytest.mark.slow
@pytest.mark.parametrize("core", list(CORES))
def test_core_coverage(core):
    from bench_core import coverage_points   # imports cocotb, which pytest need not load early

    out_dir = BUILD_DIR / "coverage"
    out_dir.mkdir(parents=True, exist_ok=True)
    reached_by: dict[str, list[str]] = {}
    for name, seeds in CORES[core].items():
        assert core_toplevel(name) == core, f"{name} is not a {core} build"
        record = out_dir / f"{name}.json"
        record.unlink(missing_ok=True)
        run(core_runner(name), f"core_{name}", core, "bench_core",
            testcase=BENCHES + (["list_hazards"] if core == "core_sparse" else []),
            env={**bench_env(name, seeds), "BENCH_COVERAGE_FILE": str(record)})
        for point in json.loads(record.read_text()):
            reached_by.setdefault(point, []).append(name)

    points = coverage_points(ARCHITECTURE[core])
    unknown = sorted(set(reached_by) - set(points))
    missed = [p for p in points if p not in reached_by]
    lines = [f"rtl/{core}.v functional coverage: {len(points) - len(missed)} of {len(points)} "
             f"points reached (shapes {', '.join(CORES[core])})", ""]
    lines += [f"  {'reached' if p in reached_by else 'MISSED '}  {p}"
              f"{'  [' + ', '.join(reached_by[p]) + ']' if p in reached_by else ''}"
              for p in points]
    summary = REPO / "build" / f"rtl-coverage-{core}.txt"   # one per core: xdist runs them at once
    summary.parent.mkdir(parents=True, exist_ok=True)
    summary.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    assert not unknown, f"the monitor recorded points coverage_points() does not list: {unknown}"
    assert not missed, f"coverage points never reached: {missed} (see {summary})"
