"""From the runs to the report's document (the JSON of ``schema/report-1.0.schema.json``).

Everything here is target-independent: what a hardware target measured comes
from its :class:`~neurohw.results.HardwareRun` (timing trace, quantization,
config, notes, host measurements) and what needs the target's own knowledge
(link traffic, energy) from its hook in :mod:`neurohw.targets.estimates`.

Fidelity compares every run with the *baseline*, the first software run: the
second software run against it measures how much two correct simulators
differ, the floor under which a hardware departure means nothing.  Only
neuron populations that record spikes are compared (spike sources replay
their given times; how a target rounds them is in its quantization report).
"""
from __future__ import annotations

import datetime as _datetime
import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from neurohw import ir
from neurohw.results import HardwareRun, HostMeasurement, RunResult, SpikeTrains
from neurohw.targets.estimates import LinkEstimate, TargetEstimates, estimates_for

from . import metrics as M
from .runs import DEVICE, MODEL, SOFTWARE, RunRecord

__all__ = ["SCHEMA_NAME", "SCHEMA_VERSION", "Analysis", "analyse", "jsonable"]

SCHEMA_NAME = "neurohw.report"
SCHEMA_VERSION = "1.0"
# per-step series in the document are reduced to at most this many points (max and mean
# of each bin), so that a long run does not make a huge document
SERIES_POINTS = 1000
STEP_HISTOGRAM_BINS = 40


def jsonable(value):
    """``value`` with numpy types made plain, NaN/inf as None, unknown objects as text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


@dataclass
class Analysis:
    """The document plus what the figures need beyond it."""
    document: dict
    records: list[RunRecord]
    network: ir.Network
    matches: dict[tuple[str, str], M.SpikeMatch] = field(default_factory=dict)  # (run, pop)
    estimates: dict[str, TargetEstimates] = field(default_factory=dict)        # run -> hook
    baseline: str = ""


# ---- pieces ----------------------------------------------------------------------------
def _neuron_populations(network: ir.Network) -> list[ir.Population]:
    return [p for p in network.populations
            if not p.celltype.is_source and "spikes" in p.record]


def _network_section(network: ir.Network, duration: float) -> dict:
    return {
        "dt_ms": network.dt, "duration_ms": duration,
        "n_steps": int(round(duration / network.dt)),
        "populations": [{"label": p.label, "cell_type": p.cell_type, "size": p.size,
                         "recorded_spikes": int(p.record["spikes"].size)
                         if "spikes" in p.record else 0} for p in network.populations],
        "projections": [{"label": j.label, "pre": j.pre, "post": j.post,
                         "receptor": j.receptor, "synapses": int(j.weight.size),
                         "plastic": j.plasticity is not None} for j in network.projections],
    }


def _run_section(record: RunRecord) -> dict:
    section = {"name": record.name, "kind": record.kind, "target": record.target,
               "options": jsonable(record.options), "ok": record.result is not None,
               "error": record.error, "notes": list(record.notes),
               "wall_time_s": {"total": record.wall_total}}
    r = record.result
    if r is None:
        section["hardware"] = None
        return section
    n_steps = int(round((r.t_stop - r.t_start) / r.dt))
    section.update({
        "t_start_ms": r.t_start, "t_stop_ms": r.t_stop, "dt_ms": r.dt, "n_steps": n_steps,
        "wall_time_s": {"build": r.wall_time.get("build"), "run": r.wall_time.get("run"),
                        "total": record.wall_total},
        "wall_per_step_s": (r.wall_time["run"] / n_steps
                            if n_steps and "run" in r.wall_time else None),
        "populations": {},
    })
    duration = r.t_stop - r.t_start
    for pop in _neuron_populations(record.network):
        trains = r.spikes.get(pop.label)
        recorded = int(pop.record["spikes"].size)
        section["populations"][pop.label] = {
            "recorded_neurons": recorded, "spikes": len(trains) if trains is not None else None,
            "rate_hz": (M.firing_rate(trains, recorded, duration)
                        if trains is not None else None)}
    section["hardware"] = None
    return jsonable(section)


def _time_error_histogram(errors: np.ndarray, dt: float, tolerance: float) -> dict:
    """Counts of matched pairs per time error, bins of one dt centred on multiples of dt."""
    k = max(1, int(math.ceil(tolerance / dt - 1e-9)))
    edges = (np.arange(-k, k + 2) - 0.5) * dt
    counts, _ = np.histogram(errors, bins=edges)
    return {"edges_ms": edges.tolist(), "counts": counts.tolist()}


def _population_fidelity(pop: ir.Population, ref: SpikeTrains, test: SpikeTrains,
                         duration: float, dt: float, tolerance: float
                         ) -> tuple[dict, M.SpikeMatch]:
    match = M.match_spikes(ref, test, tolerance)
    neurons = pop.record["spikes"]
    rate_ref = M.firing_rate(ref, neurons.size, duration)
    rate_test = M.firing_rate(test, neurons.size, duration)
    per_ref = M.neuron_rates(ref, neurons, duration)
    per_test = M.neuron_rates(test, neurons, duration)
    diff = per_test - per_ref
    worst = int(np.argmax(np.abs(diff))) if diff.size else None
    disorder = M.spike_disorder(match.reference_times, match.test_times)
    return {
        "n_reference": match.n_reference, "n_test": match.n_test, "n_matched": match.n_matched,
        "precision": match.precision, "recall": match.recall, "f1": match.f1,
        "time_error_ms": M.summary(match.time_errors),
        "time_error_histogram": _time_error_histogram(match.time_errors, dt, tolerance),
        "rate_hz": {"reference": rate_ref, "test": rate_test, "error": rate_test - rate_ref,
                    "relative_error": (rate_test - rate_ref) / rate_ref if rate_ref else None},
        "neuron_rates_hz": {
            "neurons": neurons, "reference": per_ref, "test": per_test,
            "rms_error": float(np.sqrt(np.mean(diff ** 2))) if diff.size else None,
            "max_abs_error": float(np.abs(diff).max()) if diff.size else None,
            "max_abs_error_neuron": int(neurons[worst]) if worst is not None else None,
            "correlation": M.correlation(per_ref, per_test)},
        "isi_distortion_ms": M.summary(M.isi_distortion(match)),
        "disorder": {"matched": disorder.matched, "inverted_pairs": disorder.inverted_pairs,
                     "disordered_spikes": disorder.disordered_spikes},
    }, match


def _weights_fidelity(network: ir.Network, ref: RunResult, test: RunResult) -> dict:
    out = {}
    for prj in network.projections:
        if prj.plasticity is None or prj.label not in ref.weights or prj.label not in test.weights:
            continue
        unit = "uS" if network.population(prj.post).celltype.conductance_based else "nA"
        entry = M.weight_divergence(ref.weights[prj.label], test.weights[prj.label],
                                    prj.weight, prj.plasticity.w_max)
        out[prj.label] = {"unit": unit, "w_max": prj.plasticity.w_max, **entry}
    return out


def _comparison(baseline: RunRecord, other: RunRecord, tolerance: float,
                matches: dict) -> dict:
    ref, test = baseline.result, other.result
    duration = ref.t_stop - ref.t_start
    populations, totals = {}, {"n_reference": 0, "n_test": 0, "n_matched": 0,
                               "disorder": {"matched": 0, "inverted_pairs": 0,
                                            "disordered_spikes": 0}}
    missing = []
    for pop in _neuron_populations(baseline.network):
        if pop.label not in ref.spikes or pop.label not in test.spikes:
            missing.append(pop.label)
            continue
        entry, match = _population_fidelity(pop, ref.spikes[pop.label], test.spikes[pop.label],
                                            duration, ref.dt, tolerance)
        matches[(other.name, pop.label)] = match
        populations[pop.label] = entry
        for key in ("n_reference", "n_test", "n_matched"):
            totals[key] += entry[key]
        for key in totals["disorder"]:
            totals["disorder"][key] += entry["disorder"][key]
    total_match = M.SpikeMatch(totals["n_reference"], totals["n_test"], totals["n_matched"],
                               np.zeros(0))
    totals.update(precision=total_match.precision, recall=total_match.recall,
                  f1=total_match.f1)
    return {"run": other.name, "reference": baseline.name,
            "software_baseline": other.kind == SOFTWARE, "tolerance_ms": tolerance,
            "populations": populations, "total": totals,
            "not_compared": missing,
            "weights": _weights_fidelity(baseline.network, ref, test)}


def _series(values: np.ndarray, dt: float, t_start: float) -> dict:
    """Per-step values reduced to at most SERIES_POINTS bins: bin start time, max, mean."""
    n = values.size
    if n == 0:
        return {"t_ms": [], "max": [], "mean": []}
    per_bin = max(1, int(math.ceil(n / SERIES_POINTS)))
    bins = int(math.ceil(n / per_bin))
    padded = np.full(bins * per_bin, np.nan)
    padded[:n] = values
    shaped = padded.reshape(bins, per_bin)
    return {"t_ms": (t_start + np.arange(bins) * per_bin * dt).tolist(),
            "max": np.nanmax(shaped, axis=1).tolist(), "mean": np.nanmean(shaped, axis=1).tolist()}


def _timing(run: HardwareRun) -> dict:
    step_ns = run.step_ns
    simulated_ns = (run.t_stop - run.t_start) * 1e6
    worst = np.argsort(run.step_cycles, kind="stable")[::-1][:5]
    counts, edges = (np.histogram(step_ns, bins=STEP_HISTOGRAM_BINS) if step_ns.size
                     else (np.zeros(0, np.int64), np.zeros(0)))
    return {
        "deadline_ns": run.deadline_ns,
        "step_cycles": M.summary(run.step_cycles), "step_ns": M.summary(step_ns),
        "total_cycles": run.total_cycles, "compute_ns": run.compute_ns,
        "elapsed_ns": run.elapsed_ns,
        "real_time_factor": run.real_time_factor,
        "elapsed_real_time_factor": run.elapsed_ns / simulated_ns if simulated_ns else None,
        "overrun_steps": run.overruns,
        "overrun_fraction": run.overruns / run.n_steps if run.n_steps else 0.0,
        "dropped_ticks": run.dropped_ticks,
        "worst_steps": [{"step": int(k + round(run.t_start / run.dt)),
                         "t_ms": run.t_start + k * run.dt, "cycles": int(run.step_cycles[k]),
                         "ns": float(step_ns[k])} for k in worst],
        "histogram": {"edges_ns": edges.tolist(), "counts": counts.tolist()},
        "series_ns": _series(step_ns, run.dt, run.t_start),
    }


def _link(link: LinkEstimate, run: HardwareRun) -> dict:
    deadline = run.deadline_ns
    simulated_s = (run.t_stop - run.t_start) * 1e-3
    return {
        "description": link.description, "baudrate": link.baudrate,
        "bits_per_byte": link.bits_per_byte, "reply_wait_ms": link.reply_wait_ms,
        "reply_wait_source": link.reply_wait_source,
        "closed_loop": {
            "bytes_to_device": M.summary(link.bytes_to_device),
            "bytes_from_device": M.summary(link.bytes_from_device),
            "replies": M.summary(link.replies),
            "wire_ns": M.summary(link.wire_ns),
            "latency_min_ns": M.summary(link.latency_min_ns),
            "latency_max_ns": M.summary(link.latency_max_ns()),
            "steps_over_deadline_min": int(np.count_nonzero(link.latency_min_ns > deadline)),
            "other_reply_waits": [{"reply_wait_ms": w,
                                   "latency_max_ns": M.summary(link.latency_max_ns(w))}
                                  for w in link.other_reply_waits_ms],
            "series_latency_min_ns": _series(link.latency_min_ns, run.dt, run.t_start),
            "series_latency_max_ns": _series(link.latency_max_ns(), run.dt, run.t_start),
        },
        "streaming": {"bytes_to_device": link.streaming_bytes_to_device,
                      "bytes_from_device": link.streaming_bytes_from_device,
                      "wire_s": link.streaming_wire_s,
                      "real_time_factor": (link.streaming_wire_s / simulated_s
                                           if simulated_s else None)},
        "notes": list(link.notes),
    }


def _host(host: HostMeasurement, n_steps: int) -> dict:
    return {
        "port": host.port, "virtual": host.virtual, "baudrate": host.baudrate,
        "latency_timer_ms": host.latency_timer_ms, "upload_s": host.upload_s,
        "verify_s": host.verify_s, "run_s": host.run_s,
        "bytes_to_board": host.bytes_to_board, "bytes_from_board": host.bytes_from_board,
        "upload_payload_bytes": host.upload_payload_bytes,
        "chunks": int(host.chunk_steps.size), "chunk_steps": M.summary(host.chunk_steps),
        "chunk_wall_s": M.summary(host.chunk_wall_s),
        "step_latency_s": host.step_latency_s,
        "run_bytes_per_step": ((host.bytes_to_board + host.bytes_from_board) / n_steps
                               if n_steps else None),
        "round_trip_s": M.summary(host.round_trip_s), "link": dict(host.link),
        "board_counters": dict(host.board_counters), "recoveries": host.recoveries,
        "late_steps": host.late_steps, "model_agreement": dict(host.model_agreement),
        "notes": list(host.notes),
    }


def _energy(estimates: TargetEstimates) -> dict:
    e = estimates.energy
    return {"status": e.status, "joules": e.joules, "source": e.source, "note": e.note,
            "counts": dict(e.counts), "costs_j": dict(e.costs_j),
            "static_power_w": e.static_power_w, "seconds": e.seconds,
            "breakdown_j": dict(e.breakdown_j)}


def _hardware(record: RunRecord, estimates: TargetEstimates) -> dict:
    run = record.hardware
    return {
        "target": run.target, "clock_hz": run.clock_hz, "config": dict(run.config),
        "notes": list(run.notes), "timing": _timing(run),
        "quantization": {owner: {name: {"unit": q.unit, "max_abs": q.max_abs,
                                        "max_rel": q.max_rel, "count": q.count}
                                 for name, q in params.items()}
                         for owner, params in run.quantization.items()},
        "link": _link(estimates.link, run) if estimates.link is not None else None,
        "energy": _energy(estimates),
        "host": _host(run.host, run.n_steps) if run.host is not None else None,
    }


def _step_of(times: np.ndarray, dt: float) -> np.ndarray:
    return np.rint(times / dt).astype(np.int64)


def _device_vs_model(device: RunRecord, model: RunRecord, link: Optional[LinkEstimate]) -> dict:
    d, m = device.hardware, model.hardware
    differences, equal = {}, True
    for label in sorted(set(d.spikes) | set(m.spikes)):
        dm = {(int(i), int(k)) for i, k in zip(m.spikes[label].index,
                                               _step_of(m.spikes[label].times, m.dt))} \
            if label in m.spikes else set()
        dd = {(int(i), int(k)) for i, k in zip(d.spikes[label].index,
                                               _step_of(d.spikes[label].times, d.dt))} \
            if label in d.spikes else set()
        differences[label] = {"model": len(dm), "device": len(dd),
                              "only_model": len(dm - dd), "only_device": len(dd - dm)}
        equal &= dm == dd
    same_length = d.step_cycles.size == m.step_cycles.size
    mismatch = (np.flatnonzero(d.step_cycles != m.step_cycles) if same_length
                else np.zeros(0, np.int64))
    host = d.host
    model_step_s = float(m.step_ns.mean()) * 1e-9 if m.n_steps else None
    measured = host.step_latency_s if host is not None else None
    return {
        "device": device.name, "model": model.name, "virtual": bool(host and host.virtual),
        "spikes_equal": bool(equal), "spike_differences": differences,
        "steps": {"model": m.n_steps, "device": d.n_steps},
        "step_cycles_equal": bool(same_length and mismatch.size == 0),
        "step_cycle_mismatches": int(mismatch.size) if same_length else None,
        "first_mismatch_step": (int(mismatch[0] + round(m.t_start / m.dt))
                                if mismatch.size else None),
        "model_step_s": model_step_s,
        "predicted_closed_loop_step_s": ({"min": float(link.latency_min_ns.mean()) * 1e-9,
                                          "max": float(link.latency_max_ns().mean()) * 1e-9}
                                         if link is not None and m.n_steps else None),
        "host_step_latency_s": measured,
        "host_minus_model_step_s": (measured - model_step_s
                                    if measured is not None and model_step_s is not None
                                    and math.isfinite(measured) else None),
        "bytes_to_board": host.bytes_to_board if host else None,
        "bytes_from_board": host.bytes_from_board if host else None,
        "predicted_streaming_bytes": ({"to_device": link.streaming_bytes_to_device,
                                       "from_device": link.streaming_bytes_from_device}
                                      if link is not None else None),
        "retransmissions": host.link.get("retransmissions") if host else None,
        "recoveries": host.recoveries if host else None,
        "overruns": {"model": m.overruns, "device": d.overruns},
        "dropped_ticks": {"model": m.dropped_ticks, "device": d.dropped_ticks},
        "late_steps": host.late_steps if host else None,
    }


# ---- the whole document ------------------------------------------------------------------
def analyse(records: list[RunRecord], *, tolerance: Optional[float] = None,
            script: Optional[str] = None, settings: Optional[dict] = None,
            notes: Optional[list[str]] = None) -> Analysis:
    """The report's document for ``records`` (the first software run is the baseline)."""
    from neurohw import __version__

    baseline = next((r for r in records if r.kind == SOFTWARE), None)
    if baseline is None:
        raise ValueError("report: no software run to compare with (the first software run is "
                         "the baseline)")
    if baseline.result is None:
        raise RuntimeError(f"report: the baseline run '{baseline.name}' failed: {baseline.error}")
    network = baseline.network
    duration = baseline.result.t_stop - baseline.result.t_start
    tolerance = network.dt if tolerance is None else float(tolerance)
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"report: tolerance must be a finite number >= 0 ms, got {tolerance!r}")
    notes = list(notes or [])

    analysis = Analysis(document={}, records=records, network=network, baseline=baseline.name)
    runs, comparisons, device_vs_model = [], [], []
    for record in records:
        section = _run_section(record)
        if record.hardware is not None:
            analysis.estimates[record.name] = estimates_for(record.hardware, record.network)
            section["hardware"] = jsonable(_hardware(record, analysis.estimates[record.name]))
        runs.append(section)
        if record is baseline or record.result is None:
            continue
        if abs((record.result.t_stop - record.result.t_start) - duration) > network.dt / 2:
            notes.append(f"run '{record.name}' covers {record.result.t_stop - record.result.t_start:g}"
                         f" ms, the baseline {duration:g} ms: not compared")
            continue
        comparisons.append(jsonable(_comparison(baseline, record, tolerance, analysis.matches)))
    models = {r.target: r for r in records if r.kind == MODEL and r.hardware is not None}
    for record in records:
        if record.kind != DEVICE or record.hardware is None:
            continue
        model = models.get(record.target)
        if model is None:
            notes.append(f"device run '{record.name}' has no model run of target "
                         f"'{record.target}' to be compared with")
            continue
        link = analysis.estimates[record.name].link
        device_vs_model.append(jsonable(_device_vs_model(record, model, link)))
    for record in records:
        if record.error is not None:
            notes.append(f"run '{record.name}' failed: {record.error}")

    analysis.document = {
        "schema_name": SCHEMA_NAME, "schema_version": SCHEMA_VERSION,
        "created": _datetime.datetime.now(_datetime.timezone.utc).isoformat(timespec="seconds"),
        "neurohw_version": __version__,
        "script": script,
        "settings": jsonable({"tolerance_ms": tolerance, "baseline": baseline.name,
                              **(settings or {})}),
        "network": jsonable(_network_section(network, duration)),
        "runs": runs, "comparisons": comparisons, "device_vs_model": device_vs_model,
        "notes": notes,
    }
    return analysis
