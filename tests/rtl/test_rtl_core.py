"""Whole-core RTL benches (rtl/core.v vs the golden model), run by pytest.

Each core shape is Verilated once (build/rtl/core_<shape>, reused while the
sources are unchanged); the randomized networks are split into chunks so that
pytest-xdist can spread them over two workers: 64 random core programs and
16 random PyNN-level networks compiled by quantize(), plus bus read-back,
overrun, full-slot and pipeline-hazard benches for each shape; the same on
rtl/core_compact.v (60 random programs over four shapes, one with the registered
bus) and rtl/core_sparse.v (52 random programs with random sparse tables over
three shapes, the quantized networks listed, and the list sweeps' own hazard bench).
"""
from __future__ import annotations

import pytest

from harness import build_locked, run

# (n_neurons, n_inputs, weight_width, delay_depth): the default-like shape, one
# with as many inputs as neurons, and one with the narrowest widths; and the
# default-like shape with a registered bus (core.v BUS_REGISTERED = 1) and its
# weight RAM in 8 banks of 256 words (WEIGHT_BANK_ADDR_W = 8; 16K words on a board)
SHAPES = {
    "n32_in16_w8_d16": (32, 16, 8, 16),
    "n16_in16_w12_d8": (16, 16, 12, 8),
    "n16_in2_w2_d2": (16, 2, 2, 2),
    "n32_in16_w8_d16_busreg": (32, 16, 8, 16),
}
BUS_REGISTERED = {"n32_in16_w8_d16_busreg"}
# rtl/core_compact.v (the UP5K core, architecture 1: its own cycles per step) at the
# board's widths (WEIGHT_W 7, DELAY_DEPTH 4), a wider one and the narrowest; and the
# board's widths with the registered bus (core_compact BUS_REGISTERED = 1, as
# fpga/common/neurohw_board.v builds it)
COMPACT = {"compact_n32_in16_w7_d4": (32, 16, 7, 4), "compact_n16_in16_w12_d8": (16, 16, 12, 8),
           "compact_n16_in2_w2_d2": (16, 2, 2, 2), "compact_n32_in16_w7_d4_busreg": (32, 16, 7, 4)}
SHAPES.update(COMPACT)
BUS_REGISTERED.add("compact_n32_in16_w7_d4_busreg")
# rtl/core_sparse.v (architecture 2: synapse lists; its own cycles per step), with
# (..., SYNAPSES, PLASTIC_SYNAPSES) sized so that a quantized network of the shape
# fits (2N x N synapses, N_INPUTS x N plastic); the random programs fill 10-90 % of
# them.  One shape with the registered bus and the synapse RAM and column index in
# 8 and 4 banks of 64 words (WEIGHT_BANK_ADDR_W = 6)
SPARSE = {"sparse_n32_in16_w8_d16": (32, 16, 8, 16, 2048, 512),
          "sparse_n16_in16_w12_d8_busreg": (16, 16, 12, 8, 512, 256),
          "sparse_n16_in2_w2_d2": (16, 2, 2, 2, 512, 64)}
SHAPES.update(SPARSE)
BUS_REGISTERED.add("sparse_n16_in16_w12_d8_busreg")
# random-network seeds per shape, in chunks (one simulator run per chunk)
CHUNKS = {
    "n32_in16_w8_d16": [range(1000, 1012), range(1012, 1024)],
    "n16_in16_w12_d8": [range(2000, 2010), range(2010, 2020)],
    "n16_in2_w2_d2": [range(3000, 3012)],
    "n32_in16_w8_d16_busreg": [range(6000, 6008)],
    "compact_n32_in16_w7_d4": [range(7000, 7012), range(7012, 7024)],
    "compact_n16_in16_w12_d8": [range(8000, 8012)],
    "compact_n16_in2_w2_d2": [range(9000, 9012)],
    "compact_n32_in16_w7_d4_busreg": [range(14000, 14012)],
    "sparse_n32_in16_w8_d16": [range(10000, 10010), range(10010, 10020)],
    "sparse_n16_in16_w12_d8_busreg": [range(11000, 11008), range(11008, 11016)],
    "sparse_n16_in2_w2_d2": [range(12000, 12016)],
}


def core_toplevel(name):
    return "core_compact" if name in COMPACT else "core_sparse" if name in SPARSE else "core"


def core_runner(name):
    if name in SPARSE:
        n, n_in, ww, depth, synapses, plastic = SPARSE[name]
        return build_locked(f"core_{name}", "core_sparse", {
            "N_NEURONS": n, "N_INPUTS": n_in, "WEIGHT_W": ww, "DELAY_DEPTH": depth,
            "SYNAPSES": synapses, "PLASTIC_SYNAPSES": plastic,
            "BUS_REGISTERED": int(name in BUS_REGISTERED),
            "WEIGHT_BANK_ADDR_W": 6 if name in BUS_REGISTERED else 14})
    n, n_in, ww, depth = SHAPES[name]
    if name in COMPACT:
        return build_locked(f"core_{name}", "core_compact", {
            "N_NEURONS": n, "N_INPUTS": n_in, "WEIGHT_W": ww, "DELAY_DEPTH": depth,
            "BUS_REGISTERED": int(name in BUS_REGISTERED)})
    return build_locked(f"core_{name}", "core", {"N_NEURONS": n, "N_INPUTS": n_in,
                                                  "WEIGHT_W": ww, "DELAY_DEPTH": depth,
                                                  "BUS_REGISTERED": int(name in BUS_REGISTERED),
                                                  "WEIGHT_BANK_ADDR_W": 8 if name in BUS_REGISTERED
                                                  else 14})


def bench_env(name, seeds):
    return {"BENCH_SHAPE": ",".join(map(str, SHAPES[name])),
            "BENCH_SEEDS": ",".join(map(str, seeds)),
            "BENCH_BUS_REGISTERED": str(int(name in BUS_REGISTERED)),
            "BENCH_ARCH": str(2 if name in SPARSE else int(name in COMPACT))}


@pytest.mark.slow
@pytest.mark.parametrize("name,chunk", [(name, i) for name in SHAPES
                                        for i in range(len(CHUNKS[name]))])
def test_random_networks(name, chunk):
    seeds = CHUNKS[name][chunk]
    run(core_runner(name), f"core_{name}", core_toplevel(name), "bench_core",
        testcase="random_networks", env=bench_env(name, seeds))


@pytest.mark.parametrize("name", list(SHAPES))
def test_bus_overruns_full_slots_and_hazards(name):
    run(core_runner(name), f"core_{name}", core_toplevel(name), "bench_core",
        testcase=["bus_readback", "overruns", "full_delay_slot", "pipeline_hazards"]
        + (["list_hazards"] if name in SPARSE else []),
        env=bench_env(name, range(4000, 4004)))


@pytest.mark.parametrize("name", list(SHAPES))
def test_quantized_networks(name):
    run(core_runner(name), f"core_{name}", core_toplevel(name), "bench_core",
        testcase="quantized_networks", env=bench_env(name, range(5000, 5004)))


# core_sparse at its full neuron count (N_NEURONS = N_INPUTS = 1024, the ULX3S build's
# widths), with smaller tables (4096 synapses and 1024 column entries in 4 banks of
# 1024 words) and the registered bus: one random program and the list hazards
SPARSE_FULL = (1024, 1024, 8, 16, 4096, 1024)


@pytest.mark.slow
def test_sparse_core_at_1024_neurons():
    n, n_in, ww, depth, synapses, plastic = SPARSE_FULL
    runner = build_locked("core_sparse_n1024", "core_sparse", {
        "N_NEURONS": n, "N_INPUTS": n_in, "WEIGHT_W": ww, "DELAY_DEPTH": depth,
        "SYNAPSES": synapses, "PLASTIC_SYNAPSES": plastic, "BUS_REGISTERED": 1,
        "WEIGHT_BANK_ADDR_W": 10})
    run(runner, "core_sparse_n1024", "core_sparse", "bench_core",
        testcase=["random_networks", "list_hazards"],
        env={"BENCH_SHAPE": ",".join(map(str, SPARSE_FULL)), "BENCH_SEEDS": "13000",
             "BENCH_BUS_REGISTERED": "1", "BENCH_ARCH": "2"})
