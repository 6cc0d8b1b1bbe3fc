"""Running one network on every simulator and target the report compares.

:func:`plan` turns the report's arguments into the list of runs (validated
before anything runs: unknown simulators, targets and options are refused
with the names of what is accepted); :func:`run_script` executes an unchanged
PyNN script once per planned run under :func:`neurohw.pynn.capture`;
:func:`run_network` runs an IR network directly through the runners.

A script may call ``run()`` several times: the consecutive results of one
segment are joined into one run (spike times in PyNN time; hardware timing
traces concatenated).  After a ``reset()`` a new segment starts at t = 0; the
report compares the last segment and says so in the run's notes.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import runpy
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Union

import numpy as np

from neurohw import ir
from neurohw.results import HardwareRun, HostMeasurement, RunResult, SpikeTrains

__all__ = ["PlannedRun", "RunRecord", "plan", "run_script", "run_network", "MODES",
           "SOFTWARE", "MODEL", "DEVICE", "VIRTUAL_PORT"]

SOFTWARE, MODEL, DEVICE = "software", "model", "device"
MODES = ("fast", "realtime")
VIRTUAL_PORT = "virtual"   # setup(target=..., port="virtual"): start a virtual board
# Brian2 through numpy code generation unless the caller asks otherwise: no compiler,
# starts at once (cython compiles every new code object the first time on a machine)
DEFAULT_OPTIONS = {"brian2": {"codegen_target": "numpy"}}

Script = Union[str, Path, Callable[[], object]]


@dataclass(frozen=True)
class PlannedRun:
    name: str          # how the report calls it: "reference", "fpga", "fpga@virtual"
    kind: str          # SOFTWARE, MODEL or DEVICE
    target: str        # setup(target=...)
    options: dict      # forced on setup()


@dataclass
class RunRecord:
    """One run as the report sees it.  ``result`` is None if the run failed (``error``
    then says why); ``network`` is the IR it ran, as built at the start of its segment."""
    name: str
    kind: str
    target: str
    options: dict
    result: Optional[RunResult]
    network: Optional[ir.Network]
    wall_total: float = 0.0            # s, the whole script (or the runner) end to end
    error: Optional[str] = None
    notes: list[str] = field(default_factory=list)

    @property
    def hardware(self) -> Optional[HardwareRun]:
        return self.result if isinstance(self.result, HardwareRun) else None


def _accepted(target: str) -> Optional[list[str]]:
    from neurohw.pynn.targets import accepted_options
    return accepted_options(target)


def _takes(target: str, option: str) -> bool:
    accepted = _accepted(target)
    return accepted is None or option in accepted


def device_name(target: str, port: str) -> str:
    return f"{target}@{port}"


def plan(sw=("reference", "brian2"), targets=("fpga",), board=None, clock_hz=None,
         mode="fast", target_options=None, baudrate=None) -> list[PlannedRun]:
    """The runs of a report, in order: software simulators (the first is the baseline),
    then per hardware target its model run and, with ``board``, its device run."""
    from neurohw.pynn.targets import TARGETS, check_options
    from neurohw.sim import BACKENDS

    sw, targets = list(sw), list(targets)
    target_options = dict(target_options or {})
    if not sw:
        raise ValueError("report: give at least one software simulator (the first is the "
                         f"baseline every run is compared with); available: {', '.join(BACKENDS)}")
    unknown = [s for s in sw if s not in BACKENDS]
    if unknown:
        raise ValueError(f"report: unknown software simulator(s) {', '.join(unknown)}; "
                         f"available: {', '.join(BACKENDS)}")
    hardware = [t for t in TARGETS if t not in BACKENDS]
    unknown = [t for t in targets if t not in hardware]
    if unknown:
        raise ValueError(f"report: unknown hardware target(s) {', '.join(unknown)}; "
                         f"available: {', '.join(hardware) or '(none)'}")
    for name, items in (("software simulator", sw), ("hardware target", targets)):
        twice = sorted({x for x in items if items.count(x) > 1})
        if twice:
            raise ValueError(f"report: {name} {', '.join(twice)} given twice")
    stray = sorted(set(target_options) - set(sw) - set(targets))
    if stray:
        raise ValueError(f"report: target_options for {', '.join(stray)}, which the report "
                         f"does not run (runs: {', '.join(sw + targets)})")
    if mode not in MODES:
        raise ValueError(f"report: mode must be one of {', '.join(MODES)}, got {mode!r}")
    if clock_hz is not None and not (isinstance(clock_hz, (int, float)) and
                                     math.isfinite(clock_hz) and clock_hz > 0):
        raise ValueError(f"report: clock_hz must be a finite number > 0 Hz, got {clock_hz!r}")
    if baudrate is not None and board is None:
        raise ValueError("report: baudrate is the board's; give board= (a port or 'virtual')")
    if board is not None and not targets:
        raise ValueError(f"report: board={board!r} runs a hardware target on its device; "
                         f"give targets= (available: {', '.join(hardware)})")

    runs = []
    for name in sw:
        options = {**DEFAULT_OPTIONS.get(name, {}), **target_options.get(name, {})}
        check_options(name, options)
        runs.append(PlannedRun(name, SOFTWARE, name, options))
    device_targets = [t for t in targets if _takes(t, "port")]
    if board is not None and not device_targets:
        # no target has a device path: the runner's own refusal names what it accepts
        check_options(targets[0], {"port": board})
    for target in targets:
        options = dict(target_options.get(target, {}))
        if board is not None and target in device_targets:
            # the model run describes the board the device run uses (its core, its clock)
            from neurohw.pynn.targets import runner_class
            describe = getattr(runner_class(target), "device_options", None)
            for key, value in (describe(str(board), baudrate) if describe else {}).items():
                if key == "clock_hz" and clock_hz is not None:
                    continue      # an explicit clock is checked against the board's
                options.setdefault(key, value)
        # the timing options go to every target that takes them; one that cannot be
        # clocked or paced must not silently run otherwise
        if _takes(target, "mode"):
            options.setdefault("mode", mode)
        elif mode != "fast":
            raise ValueError(f"report: target '{target}' has no 'mode' option: it cannot run "
                             f"in {mode} mode")
        if clock_hz is not None:
            if not _takes(target, "clock_hz"):
                raise ValueError(f"report: target '{target}' has no 'clock_hz' option: its "
                                 f"clock cannot be set to {clock_hz:g} Hz")
            options.setdefault("clock_hz", float(clock_hz))
        check_options(target, options)
        runs.append(PlannedRun(target, MODEL, target, options))
        if board is not None and target in device_targets:
            device = {**options, "port": str(board)}
            if baudrate is not None:
                device["baudrate"] = int(baudrate)
            check_options(target, device)
            runs.append(PlannedRun(device_name(target, str(board)), DEVICE, target, device))
    return runs


# ---- joining the results of one script --------------------------------------------------
def _offset(network: ir.Network) -> float:
    return float(network.metadata.get("t_offset", 0.0))


def _segments(pairs: list[tuple[ir.Network, RunResult]]) -> list[list[tuple[ir.Network, RunResult]]]:
    segments: list[list] = []
    stop = -math.inf
    for network, result in pairs:
        start = _offset(network) + result.t_start
        if not segments or start < stop - result.dt / 2:
            segments.append([])
        segments[-1].append((network, result))
        stop = _offset(network) + result.t_stop
    return segments


def _merge_hosts(hosts: list[HostMeasurement]) -> HostMeasurement:
    first, last = hosts[0], hosts[-1]
    link: dict[str, int] = {}
    for h in hosts:
        for key, value in h.link.items():
            link[key] = link.get(key, 0) + int(value)
    return HostMeasurement(
        port=first.port, virtual=first.virtual, baudrate=first.baudrate,
        latency_timer_ms=first.latency_timer_ms,
        upload_s=sum(h.upload_s for h in hosts), verify_s=sum(h.verify_s for h in hosts),
        run_s=sum(h.run_s for h in hosts),
        bytes_to_board=sum(h.bytes_to_board for h in hosts),
        bytes_from_board=sum(h.bytes_from_board for h in hosts),
        upload_payload_bytes=sum(h.upload_payload_bytes for h in hosts),
        chunk_steps=np.concatenate([h.chunk_steps for h in hosts]),
        chunk_wall_s=np.concatenate([h.chunk_wall_s for h in hosts]),
        round_trip_s=np.concatenate([h.round_trip_s for h in hosts]),
        link=link, board_counters=dict(last.board_counters),
        recoveries=sum(h.recoveries for h in hosts),
        late_steps=sum(h.late_steps for h in hosts),
        model_agreement={key: all(h.model_agreement.get(key, True) for h in hosts)
                         for key in dict.fromkeys(k for h in hosts for k in h.model_agreement)},
        notes=[n for h in hosts for n in h.notes])


def join(pairs: list[tuple[ir.Network, RunResult]]) -> RunResult:
    """One result for consecutive runs of one segment, in PyNN time."""
    shifted_spikes: dict[str, list[SpikeTrains]] = {}
    for network, result in pairs:
        for label, trains in result.spikes.items():
            shifted_spikes.setdefault(label, []).append(
                SpikeTrains(trains.index, trains.times + _offset(network)))
    spikes = {label: SpikeTrains(np.concatenate([t.index for t in parts]),
                                 np.concatenate([t.times for t in parts]))
              for label, parts in shifted_spikes.items()}
    first_net, first = pairs[0]
    last_net, last = pairs[-1]
    wall: dict[str, float] = {}
    for _, result in pairs:
        for key, value in result.wall_time.items():
            wall[key] = wall.get(key, 0.0) + value
    common = dict(t_start=_offset(first_net) + first.t_start,
                  t_stop=_offset(last_net) + last.t_stop, dt=first.dt, spikes=spikes,
                  weights=dict(last.weights), final_state=dict(last.final_state),
                  wall_time=wall, backend=last.backend)
    if not all(isinstance(r, HardwareRun) for _, r in pairs):
        return RunResult(**common)
    runs = [r for _, r in pairs]
    clocks = {r.clock_hz for r in runs}
    if len(clocks) > 1:
        raise ValueError(f"report: the runs of one segment on target '{last.target}' ran at "
                         f"different clocks ({', '.join(f'{c:g}' for c in sorted(clocks))} Hz)")
    hosts = [r.host for r in runs if r.host is not None]
    notes = list(dict.fromkeys(n for r in runs for n in r.notes))
    return HardwareRun(**common, target=last.target, config=dict(last.config),
                       clock_hz=last.clock_hz,
                       step_cycles=np.concatenate([r.step_cycles for r in runs]),
                       overrun=np.concatenate([r.overrun for r in runs]),
                       dropped_ticks=sum(r.dropped_ticks for r in runs),
                       elapsed_ns=sum(r.elapsed_ns for r in runs),
                       quantization=dict(last.quantization), notes=notes,
                       host=_merge_hosts(hosts) if hosts else None)


# ---- running --------------------------------------------------------------------------
@contextlib.contextmanager
def _as_main(script: Path):
    """sys.argv and sys.path as `python script.py` would have them."""
    argv, path = sys.argv, list(sys.path)
    sys.argv = [str(script)]
    sys.path.insert(0, str(script.resolve().parent))
    try:
        yield
    finally:
        sys.argv, sys.path[:] = argv, path


def _error_text(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" (at {Path(where.filename).name}:{where.lineno})" if where else ""
    return f"{type(exc).__name__}: {exc}{at}"


def _record(planned: PlannedRun, pairs, wall: float, notes: list[str]) -> RunRecord:
    segments = _segments(pairs)
    if len(segments) > 1:
        notes.append(f"the script ran {len(segments)} segments (reset() between them); "
                     f"the report compares the last one")
    chosen = segments[-1]
    return RunRecord(planned.name, planned.kind, planned.target, planned.options,
                     join(chosen), chosen[0][0], wall, notes=notes)


def run_script(script: Script, planned: PlannedRun) -> RunRecord:
    """Run ``script`` (a path, or a callable that runs a PyNN simulation) once on the
    planned target.  A failure of the run becomes the record's ``error``."""
    import neurohw.pynn as sim

    output = io.StringIO()
    started = time.perf_counter()
    try:
        with sim.capture(target=planned.target, **planned.options) as captured, \
                contextlib.redirect_stdout(output):
            if callable(script):
                script()
            else:
                with _as_main(Path(script)):
                    runpy.run_path(str(script), run_name="__main__")
    except Exception as exc:   # the report shows the failure beside the runs that worked
        return RunRecord(planned.name, planned.kind, planned.target, planned.options, None,
                         None, time.perf_counter() - started, error=_error_text(exc))
    wall = time.perf_counter() - started
    if not captured.runs:
        return RunRecord(planned.name, planned.kind, planned.target, planned.options, None,
                         None, wall, error="the script ran no simulation (it never called run())")
    return _record(planned, [(r.network, r.result) for r in captured.runs], wall, [])


def run_network(network: ir.Network, duration: float, planned: PlannedRun) -> RunRecord:
    """Run ``network`` for ``duration`` ms through the planned target's runner."""
    from neurohw.pynn.targets import runner_class

    started = time.perf_counter()
    runner = None
    try:
        runner = runner_class(planned.target)(network, **planned.options)
        result = runner.run(duration)
    except Exception as exc:
        return RunRecord(planned.name, planned.kind, planned.target, planned.options, None,
                         None, time.perf_counter() - started, error=_error_text(exc))
    finally:
        if runner is not None and hasattr(runner, "close"):
            runner.close()
    return _record(planned, [(network, result)], time.perf_counter() - started, [])


def current_network() -> tuple[ir.Network, float, str, dict]:
    """(network, duration, target, target options) of the PyNN simulation that just ran."""
    from neurohw.pynn import simulator

    state = simulator.state
    if state.simulation is None or state.t <= state._t_offset:
        raise RuntimeError("compare_current(): no simulation has run yet: call "
                           "neurohw.pynn.run() first")
    return state.network, state.t - state._t_offset, state.target, dict(state.target_options)


def carried_options(planned: PlannedRun, script_target: str, script_options: dict) -> PlannedRun:
    """The planned run with the options of the script's own setup() that its target also
    takes (e.g. ``seed``), as neurohw.pynn.capture does for a script."""
    if planned.target == script_target:
        carried = dict(script_options)
    else:
        accepted = _accepted(planned.target)
        carried = {k: v for k, v in script_options.items()
                   if accepted is None or k in accepted}
    return dataclasses.replace(planned, options={**carried, **planned.options})
