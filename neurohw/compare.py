"""Run one unchanged PyNN script on several simulators and compare the runs.

The script is executed once per backend under ``neurohw.pynn.capture``, which
forces ``setup()``'s target and records every network and result the script
produced.  The first backend is the reference the others are measured against.
"""
from __future__ import annotations

import contextlib
import io
import runpy
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurohw import ir
from neurohw.report.metrics import SpikeMatch, firing_rate, match_spikes
from neurohw.results import SpikeTrains

__all__ = ["BackendRun", "Comparison", "compare_script", "print_comparison"]


@dataclass
class BackendRun:
    backend: str
    network: ir.Network
    spikes: dict[str, SpikeTrains]
    duration: float            # simulated ms
    wall_build: float          # s, summed over the script's runs
    wall_run: float
    wall_script: float         # s, the whole script including PyNN set-up
    script_output: str = ""


@dataclass
class Comparison:
    script: Path
    tolerance: float
    runs: list[BackendRun]
    matches: dict[tuple[str, str], SpikeMatch] = field(default_factory=dict)  # (backend, pop)


def _run_script(script: Path, backend: str, options: dict) -> BackendRun:
    import neurohw.pynn as sim

    out = io.StringIO()
    t0 = time.perf_counter()
    with sim.capture(target=backend, **options) as captured, contextlib.redirect_stdout(out):
        runpy.run_path(str(script), run_name="__main__")
    wall = time.perf_counter() - t0
    if not captured.runs:
        raise RuntimeError(f"{script} ran no simulation (it never called run())")
    network = captured.runs[-1].network
    spikes: dict[str, list[SpikeTrains]] = {}
    duration = build = run = 0.0
    for r in captured.runs:
        duration += r.result.t_stop - r.result.t_start
        build += r.result.wall_time.get("build", 0.0)
        run += r.result.wall_time.get("run", 0.0)
        for label, trains in r.result.spikes.items():
            spikes.setdefault(label, []).append(trains)
    merged = {label: SpikeTrains(np.concatenate([t.index for t in parts]),
                                 np.concatenate([t.times for t in parts]))
              for label, parts in spikes.items()}
    return BackendRun(backend, network, merged, duration, build, run, wall, out.getvalue())


def compare_script(script: str | Path, backends: list[str],
                   tolerance: float | None = None, progress: bool = True,
                   options: dict[str, dict] | None = None) -> Comparison:
    """Run ``script`` on each backend (the first is the reference) and match spikes.

    ``options[backend]`` are target options forced on that backend's setup()
    (e.g. ``{"brian2": {"codegen_target": "numpy"}}``)."""
    options = options or {}
    script = Path(script)
    if not backends:
        raise ValueError("compare_script: give at least one backend")
    runs = []
    from rich.progress import Progress
    with Progress(transient=True, disable=not progress) as bar:
        task = bar.add_task("running", total=len(backends))
        for backend in backends:
            bar.update(task, description=f"{script.name} on {backend}")
            runs.append(_run_script(script, backend, options.get(backend, {})))
            bar.advance(task)
    dt = runs[0].network.dt
    comparison = Comparison(script, dt if tolerance is None else tolerance, runs)
    reference = runs[0]
    for other in runs[1:]:
        for label, trains in reference.spikes.items():
            if label in other.spikes:
                comparison.matches[(other.backend, label)] = match_spikes(
                    trains, other.spikes[label], comparison.tolerance)
    return comparison


def print_comparison(comparison: Comparison, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    ref = comparison.runs[0]
    table = Table(title=f"{comparison.script.name}: spikes, {ref.backend} as reference "
                        f"(match window {comparison.tolerance:g} ms)")
    table.add_column("population")
    for run in comparison.runs:
        table.add_column(f"{run.backend}\nrate (Hz)", justify="right")
    for run in comparison.runs[1:]:
        table.add_column(f"{run.backend}\nrecall / precision", justify="right")
        table.add_column(f"{run.backend}\nmean |Δt| (ms)", justify="right")
    for label in ref.spikes:
        size = ref.network.population(label).size
        row = [label]
        for run in comparison.runs:
            trains = run.spikes.get(label)
            row.append("—" if trains is None else
                       f"{firing_rate(trains, size, run.duration):.2f}")
        for run in comparison.runs[1:]:
            m = comparison.matches.get((run.backend, label))
            if m is None:
                row += ["—", "—"]
                continue
            err = np.abs(m.time_errors).mean() if m.time_errors.size else 0.0
            row += [f"{m.recall:.1%} / {m.precision:.1%}", f"{err:.3f}"]
        table.add_row(*row)
    console.print(table)
    timing = Table(title="wall time (s)")
    for col in ("backend", "build", "run", "whole script", "simulated (ms)"):
        timing.add_column(col, justify="right" if col != "backend" else "left")
    for run in comparison.runs:
        timing.add_row(run.backend, f"{run.wall_build:.2f}", f"{run.wall_run:.2f}",
                       f"{run.wall_script:.2f}", f"{run.duration:g}")
    console.print(timing)
