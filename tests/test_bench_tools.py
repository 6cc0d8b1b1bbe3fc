"""Smoke runs of the benchmarks in tools/bench: each runs end to end on small sizes
(its own checks of the results included) and prints its table."""
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "tools" / "bench"


def test_virtual_board_latency_quick():
    # 12 MHz: the same virtual board build as tests/test_deploy.py's (its core shape is the
    # bench's default), so that the suite builds the harness once
    done = subprocess.run([sys.executable, str(BENCH / "virtual_board_latency.py"), "--quick",
                           "--clock-mhz", "12"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "equal the model on every spike and step cycle count" in out, out
    for row in ("(a) golden model", "(b) closed loop", "(c) streamed", "READ_COUNTERS round trip",
                "core at 12 MHz"):
        assert row in out, out
