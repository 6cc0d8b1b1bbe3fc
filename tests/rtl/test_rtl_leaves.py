"""Unit benches: every leaf module of rtl/ against its golden-model function."""
from __future__ import annotations

import pytest

from harness import BENCH_DIR, RTL_DIR, build_locked, ice40_cell_model, run


@pytest.mark.parametrize("seed", [1, 2])
def test_leaf_modules(seed):
    runner = build_locked("leaves", "leaf_top", {},
                          extra_sources=(RTL_DIR / "counter_pair.v", ice40_cell_model("SB_MAC16"),
                                         BENCH_DIR / "leaf_top.v"))
    run(runner, "leaves", "leaf_top", "bench_leaves", env={"BENCH_SEEDS": str(seed)})
