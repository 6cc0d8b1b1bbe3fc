"""The :class:`Report` and the ways to make one.

* :func:`compare` -- run an unchanged PyNN script (a path, or a zero-argument
  callable that runs a simulation) on the software simulators and the
  hardware targets;
* :func:`compare_current` -- from inside a script after ``run()``: run the
  network it just ran on the other simulators and targets through their
  runners, without running the script again;
* :func:`report_from_runs` -- a report of runs that already exist.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from .analysis import Analysis, analyse
from .runs import (PlannedRun, RunRecord, Script, carried_options, current_network, plan,
                   run_network, run_script)

__all__ = ["Report", "compare", "compare_current", "report_from_runs", "SCHEMA_PATH"]

SCHEMA_PATH = Path(__file__).parent / "schema" / "report-1.0.schema.json"
HTML_NAME, JSON_NAME = "report.html", "report.json"


class Report:
    """A hardware-vs-software report: ``to_dict()`` is the JSON document (schema
    :data:`SCHEMA_PATH`), ``write(dir)`` the HTML page and the JSON, ``print()`` the
    terminal summary; in a notebook it shows itself as HTML."""

    def __init__(self, analysis: Analysis, progress: bool = False):
        self._analysis = analysis
        self._figures = None
        self._progress = progress

    @property
    def records(self) -> list[RunRecord]:
        """The runs, as compared (results, networks, errors)."""
        return self._analysis.records

    @property
    def analysis(self) -> Analysis:
        return self._analysis

    def to_dict(self) -> dict:
        """The JSON document (plain dicts, lists, numbers, strings; no NaN)."""
        return json.loads(self.to_json())

    def to_json(self, indent: Optional[int] = 1) -> str:
        return json.dumps(self._analysis.document, indent=indent, allow_nan=False,
                          ensure_ascii=False)

    @property
    def figures(self):
        if self._figures is None:
            from rich.progress import Progress

            from .figures import draw_all, figure_count
            with Progress(transient=True, disable=not self._progress) as bar:
                task = bar.add_task("drawing figures", total=figure_count(self._analysis))
                self._figures = draw_all(self._analysis, lambda n: bar.advance(task, n))
        return self._figures

    def html(self) -> str:
        """The self-contained page."""
        from .html import render_page
        return render_page(self._analysis.document, self.figures)

    def _repr_html_(self) -> str:
        from .html import render_fragment
        return render_fragment(self._analysis.document, self.figures)

    def write(self, out_dir) -> tuple[Path, Path]:
        """Write report.html and report.json into ``out_dir`` (created); their paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        html_path, json_path = out / HTML_NAME, out / JSON_NAME
        json_path.write_text(self.to_json() + "\n", encoding="utf-8")
        html_path.write_text(self.html(), encoding="utf-8")
        return html_path, json_path

    def print(self, console=None) -> None:
        """The summary as rich tables (on ``console``, or a new one on stdout)."""
        from .terminal import print_report
        print_report(self._analysis.document, console)


def _run_all(planned: list[PlannedRun], run_one, progress: bool, what: str) -> list[RunRecord]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    records = []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total} runs"), TimeElapsedColumn(), transient=True,
                  disable=not progress) as bar:
        task = bar.add_task(what, total=len(planned))
        for p in planned:
            bar.update(task, description=f"{what} on {p.name}")
            records.append(run_one(p))
            bar.advance(task)
    return records


def _settings(sw, targets, board, clock_hz, mode) -> dict:
    return {"software": list(sw), "targets": list(targets), "board": board,
            "clock_hz": clock_hz, "mode": mode}


def _finish(records, progress, out, tolerance, script, settings, notes=None) -> Report:
    report = Report(analyse(records, tolerance=tolerance, script=script, settings=settings,
                            notes=notes), progress=progress)
    if out is not None:
        report.write(out)
    return report


def compare(script: Script, sw=("reference", "brian2"), targets=("fpga",), board=None,
            clock_hz=None, mode="fast", out=None, progress=True, target_options=None,
            tolerance=None, baudrate=None) -> Report:
    """Run ``script`` unchanged on each software simulator ``sw`` (the first is the
    baseline) and each hardware target's model; with ``board`` (a serial device path,
    or "virtual" for a virtual board) also on the device of every target that has one.

    ``clock_hz`` and ``mode`` ("fast" or "realtime") go to every hardware target;
    ``target_options[name]`` are further setup() options of one simulator or target
    (Brian2 defaults to ``codegen_target="numpy"``); ``tolerance`` is the spike-matching
    window in ms (default one dt); ``baudrate`` is the board's.  With ``out`` the report
    is also written there (report.html, report.json).  Bad arguments raise before
    anything runs; a run that fails is shown in the report with its error.
    """
    planned = plan(sw, targets, board, clock_hz, mode, target_options, baudrate)
    name = script.name if isinstance(script, Path) else (
        Path(script).name if isinstance(script, str) else getattr(script, "__name__", "script"))
    if isinstance(script, (str, Path)) and not Path(script).is_file():
        raise FileNotFoundError(f"report: no such script: {script}")
    records = _run_all(planned, lambda p: run_script(script, p), progress, name)
    return _finish(records, progress, out, tolerance, str(script) if not callable(script)
                   else name, _settings(sw, targets, board, clock_hz, mode))


def compare_current(sw=("reference", "brian2"), targets=("fpga",), board=None, clock_hz=None,
                    mode="fast", out=None, progress=True, target_options=None, tolerance=None,
                    baudrate=None, network=None, duration=None) -> Report:
    """After ``run()`` in a PyNN script: the report of the network the script just ran
    (``neurohw.pynn.simulator.state.network``, for the time it ran), run afresh on
    every simulator and target through their runners -- the script is not run again.
    Arguments as :func:`compare`; ``network`` and ``duration`` (ms) give an IR network
    explicitly instead.  Options of the script's own ``setup()`` go along to the
    targets that take them (e.g. ``seed``)."""
    notes = []
    if network is None:
        network, ran_for, script_target, script_options = current_network()
        offset = float(network.metadata.get("t_offset", 0.0))
        if offset:
            notes.append(f"the script's network was rebuilt at t = {offset:g} ms; the report "
                         f"runs it from there, from the state the script's run had reached")
        duration = ran_for if duration is None else duration
    else:
        script_target, script_options = None, {}
        if duration is None:
            if not network.duration > 0:
                raise ValueError("compare_current: give duration= (ms): the network has none")
            duration = network.duration
    planned = [carried_options(p, script_target, script_options)
               for p in plan(sw, targets, board, clock_hz, mode, target_options, baudrate)]
    records = _run_all(planned, lambda p: run_network(network, duration, p), progress,
                       "network")
    return _finish(records, progress, out, tolerance, None,
                   _settings(sw, targets, board, clock_hz, mode), notes)


def report_from_runs(records: list[RunRecord], tolerance=None, script=None, settings=None,
                     notes=None, progress=False) -> Report:
    """A report of existing runs (e.g. a device run recorded earlier beside fresh ones)."""
    return Report(analyse(records, tolerance=tolerance, script=script, settings=settings,
                          notes=notes), progress=progress)
