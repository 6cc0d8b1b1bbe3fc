"""Unit benches: every leaf module of rtl/ against its golden-model function."""
from __future__ import annotations

import pytest

from harness import BENCH_DIR, build_locked, run


@pytest.mark.parametrize("seed", [1, 2])
def test_leaf_modules(seed):
    runner = build_locked("leaves", "leaf_top", {}, extra_sources=(BENCH_DIR / "leaf_top.v",))
    run(runner, "leaves", "leaf_top", "bench_leaves", env={"BENCH_SEEDS": str(seed)})
