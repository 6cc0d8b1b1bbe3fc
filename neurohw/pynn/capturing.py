"""Run an unchanged PyNN script on a chosen target and keep what it ran.

``neurohw run``/``neurohw demo`` (and the hardware-vs-software report) execute
a user's script as it is: the script calls ``setup()`` with whatever target it
names, and :func:`capture` overrides that target and records every network the
script built and every result it got back::

    with neurohw.pynn.capture(target="brian2") as captured:
        runpy.run_path("my_script.py", run_name="__main__")
    for run in captured.runs:
        run.network, run.result      # ir.Network, RunResult of each run() call
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from ..ir import Network
from ..results import RunResult

__all__ = ["CapturedRun", "Captured", "capture", "active"]


@dataclass
class CapturedRun:
    target: str
    network: Network      # the network as built for this stretch of the run
    result: RunResult


@dataclass
class Captured:
    target: str | None
    options: dict
    runs: list[CapturedRun] = field(default_factory=list)


_active: Captured | None = None


def active() -> Captured | None:
    """The capture in force, if any (consulted by setup() and run())."""
    return _active


@contextlib.contextmanager
def capture(target: str | None = None, **options):
    """Force ``setup()``'s target (and add target options) while the block runs,
    and collect every (network, result) pair.  ``target=None`` keeps the script's
    own choice and only records.  Captures do not nest."""
    global _active
    if _active is not None:
        raise RuntimeError("neurohw.pynn.capture() is already active; captures do not nest")
    if target is not None:
        from .targets import check_options
        check_options(target, options)
    _active = Captured(target, dict(options))
    try:
        yield _active
    finally:
        _active = None
        # a script that never calls end() must not leave a board's port open behind it
        from .simulator import state
        state.release()
