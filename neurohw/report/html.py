"""The report as one self-contained HTML page.

Figures are embedded as ``data:image/png;base64`` URIs and the style sheet is
inline: the page needs no network access, no script and no font from anywhere
(it opens from a file, an e-mail or a CI artefact as it is).
"""
from __future__ import annotations

import base64
import html
import math
from typing import Iterable, Optional

from .figures import ReportFigure

__all__ = ["render_page", "render_fragment", "fmt", "fmt_time_ns"]

STYLE = """
.neurohw-report { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1d1d1f; max-width: 1100px; margin: 0 auto; padding: 0 16px 40px; line-height: 1.4; }
.neurohw-report h1 { font-size: 1.6em; margin: 0.8em 0 0.2em; }
.neurohw-report h2 { font-size: 1.25em; margin: 1.6em 0 0.4em; border-bottom: 1px solid #ddd; }
.neurohw-report h3 { font-size: 1.05em; margin: 1.2em 0 0.3em; }
.neurohw-report .scroll { overflow-x: auto; }
.neurohw-report table { border-collapse: collapse; margin: 0.4em 0 1em; font-size: 0.88em; }
.neurohw-report th, .neurohw-report td { border: 1px solid #d8d8d8; padding: 3px 7px; }
.neurohw-report th { background: #f3f3f5; text-align: left; font-weight: 600; }
.neurohw-report td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.neurohw-report .bad { color: #b00020; font-weight: 600; }
.neurohw-report .good { color: #116611; }
.neurohw-report .muted { color: #666; }
.neurohw-report figure { margin: 1em 0; }
.neurohw-report figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
.neurohw-report figcaption { font-size: 0.85em; color: #555; }
.neurohw-report ul.notes li { margin: 0.15em 0; }
.neurohw-report code { background: #f3f3f5; padding: 0 3px; border-radius: 3px; }
"""


# ---- formatting -------------------------------------------------------------------------
def fmt(value, digits: int = 3, unit: str = "") -> str:
    """A number for a table cell: None as an em dash, floats to ``digits`` significant."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        text = f"{value:.{digits}g}" if value != 0 else "0"
    else:
        text = str(value)
    return f"{text} {unit}".rstrip()


def pct(value) -> str:
    """A fraction as a percentage to 3 significant digits (a 0.04 % error is not 0.0 %)."""
    if value is None:
        return "—"
    return "0 %" if value == 0 else f"{100 * value:.3g} %"


def fmt_time_ns(ns) -> str:
    """A duration in the unit that reads best (ns, µs, ms, s)."""
    if ns is None:
        return "—"
    for scale, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
        if abs(ns) >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def _e(text) -> str:
    return html.escape(str(text))


def _table(header: list[str], rows: Iterable[list], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            raw = isinstance(cell, _Raw)
            text = cell.text if raw else _e(cell)
            cls = ' class="n"' if i >= numeric_from else ""
            cells.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<div class='scroll'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


class _Raw:
    """Cell content that is already HTML."""

    def __init__(self, text: str):
        self.text = text


def _verdict(ok: Optional[bool], yes: str = "yes", no: str = "no") -> _Raw:
    if ok is None:
        return _Raw("—")
    return _Raw(f'<span class="good">{yes}</span>' if ok else f'<span class="bad">{no}</span>')


def _figure(fig: ReportFigure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    return (f'<figure><img id="{_e(fig.key)}" alt="{_e(fig.title)}" '
            f'src="data:image/png;base64,{data}"><figcaption><b>{_e(fig.title)}.</b> '
            f'{_e(fig.caption)}</figcaption></figure>')


# ---- sections ---------------------------------------------------------------------------
def _header(doc: dict) -> str:
    net = doc["network"]
    s = doc["settings"]
    pops = ", ".join(f"{p['label']} ({p['cell_type']}, {p['size']})" for p in net["populations"])
    title = doc["script"] or "a PyNN network"
    return (f"<h1>Hardware vs software: {_e(title)}</h1>"
            f"<p class='muted'>neurohw {_e(doc['neurohw_version'])}, {_e(doc['created'])}; "
            f"schema {_e(doc['schema_name'])} {_e(doc['schema_version'])} "
            f"(<code>report.json</code> beside this page)</p>"
            f"<p>{_e(pops)}; {len(net['projections'])} projections; dt = {fmt(net['dt_ms'])} ms, "
            f"{fmt(net['duration_ms'])} ms simulated ({fmt(net['n_steps'])} steps). "
            f"Baseline: <b>{_e(s['baseline'])}</b>; spikes match within "
            f"{fmt(s['tolerance_ms'])} ms.</p>")


def _summary(doc: dict) -> str:
    comparisons = {c["run"]: c for c in doc["comparisons"]}
    rows = []
    for run in doc["runs"]:
        c = comparisons.get(run["name"])
        hw = run.get("hardware")
        if not run["ok"]:
            rows.append([run["name"], run["kind"], _Raw(f'<span class="bad">failed</span>: '
                                                        f'{_e(run["error"])}'),
                         "", "", "", "", "", "", ""])
            continue
        spikes = sum(p["spikes"] or 0 for p in run["populations"].values())
        total = c["total"] if c else None
        mean_abs = _mean_abs_error(c) if c else None
        rows.append([
            run["name"], run["kind"], fmt(spikes),
            "baseline" if c is None else f"{pct(total['recall'])} / {pct(total['precision'])}",
            "—" if c is None else fmt(mean_abs, unit="ms"),
            "—" if c is None else fmt(total["disorder"]["inverted_pairs"]),
            fmt(hw["timing"]["real_time_factor"]) if hw else "—",
            (_verdict(hw["timing"]["overrun_steps"] == 0, "0",
                      f"{hw['timing']['overrun_steps']:,}") if hw else "—"),
            fmt_time_ns(hw["timing"]["step_ns"]["max"]) if hw else "—",
            fmt(run["wall_per_step_s"] * 1e6 if run["wall_per_step_s"] is not None else None,
                unit="µs"),
        ])
    return "<h2>Summary</h2>" + _table(
        ["run", "kind", "spikes", "recall / precision vs baseline", "mean |Δt|",
         "inverted pairs", "real-time factor (HW)", "overrun steps", "slowest step (HW)",
         "wall time per step on this host"], rows, numeric_from=2)


def _mean_abs_error(comparison: dict) -> Optional[float]:
    total, weight = 0.0, 0
    for p in comparison["populations"].values():
        e = p["time_error_ms"]
        if e["count"]:
            total += e["mean_abs"] * e["count"]
            weight += e["count"]
    return total / weight if weight else None


def _fidelity(doc: dict) -> str:
    parts = ["<h2>Fidelity per population</h2>",
             "<p class='muted'>Every run against the baseline. Rows of a second software "
             "simulator show how much two correct simulators differ: the noise floor for "
             "the hardware rows. ISI distortion and disorder follow PyCARL's definitions "
             "(see the schema's descriptions).</p>"]
    for c in doc["comparisons"]:
        kind = "software baseline pair" if c["software_baseline"] else "hardware"
        parts.append(f"<h3>{_e(c['run'])} vs {_e(c['reference'])} <span class='muted'>"
                     f"({kind})</span></h3>")
        rows = []
        for label, p in c["populations"].items():
            e, r, n, isi = (p["time_error_ms"], p["rate_hz"], p["neuron_rates_hz"],
                            p["isi_distortion_ms"])
            rows.append([label, f"{fmt(p['n_reference'])} → {fmt(p['n_test'])}",
                         fmt(p["n_matched"]), pct(p["recall"]), pct(p["precision"]),
                         f"{fmt(e['mean_abs'])} / {fmt(e['max_abs'])}",
                         f"{fmt(r['reference'])} → {fmt(r['test'])}", fmt(r["error"]),
                         f"{fmt(n['rms_error'])} / {fmt(n['correlation'])}",
                         f"{fmt(isi['mean_abs'])} / {fmt(isi['max_abs'])}",
                         f"{fmt(p['disorder']['inverted_pairs'])} / "
                         f"{fmt(p['disorder']['disordered_spikes'])}"])
        parts.append(_table(["population", "spikes (baseline → run)", "matched", "recall",
                             "precision", "|Δt| mean / max (ms)", "rate (Hz)",
                             "rate error (Hz)", "per-neuron rate: RMS error (Hz) / r",
                             "ISI distortion |·| mean / max (ms)",
                             "inverted pairs / disordered spikes"], rows))
        if c["not_compared"]:
            parts.append(f"<p class='bad'>Not compared (no spikes recorded in one of the "
                         f"runs): {_e(', '.join(c['not_compared']))}</p>")
        if c["weights"]:
            rows = [[label, w["unit"], fmt(w["synapses"]), fmt(w["mean_initial"]),
                     f"{fmt(w['mean_reference'])} / {fmt(w['mean_test'])}", fmt(w["rms"]),
                     fmt(w["max_abs"]), pct(w["rms_rel"]), pct(w["max_abs_rel"]),
                     fmt(w["correlation"]), fmt(w["change_correlation"])]
                    for label, w in c["weights"].items()]
            parts.append("<p>Weights after plasticity (final, run vs baseline):</p>" + _table(
                ["projection", "unit", "synapses", "initial mean", "final mean (baseline / run)",
                 "RMS difference", "max |difference|", "RMS / w_max", "max / w_max",
                 "correlation", "correlation of learned change"], rows, numeric_from=2))
    return "".join(parts)


def _timing(doc: dict) -> str:
    hardware = [r for r in doc["runs"] if r.get("hardware")]
    if not hardware:
        return ""
    rows = []
    for run in hardware:
        t = run["hardware"]["timing"]
        rows.append([run["name"], fmt(run["hardware"]["clock_hz"] / 1e6, unit="MHz"),
                     _e(run["hardware"]["config"].get("mode", "—")),
                     fmt_time_ns(t["deadline_ns"]), _cycles(t["step_cycles"]["min"]),
                     _cycles(t["step_cycles"]["median"]), _cycles(t["step_cycles"]["max"]),
                     fmt_time_ns(t["step_ns"]["mean"]), fmt_time_ns(t["step_ns"]["p99"]),
                     fmt_time_ns(t["step_ns"]["max"]), fmt(t["real_time_factor"]),
                     fmt(t["elapsed_real_time_factor"]),
                     _verdict(t["overrun_steps"] == 0, "0",
                              f"{t['overrun_steps']:,} ({pct(t['overrun_fraction'])})"),
                     fmt(t["dropped_ticks"])])
    parts = ["<h2>Time on the hardware</h2>", _table(
        ["run", "clock", "mode", "deadline (dt)", "cycles min", "cycles median", "cycles max",
         "step mean", "step p99", "step max", "real-time factor (compute)",
         "real-time factor (as run)", "overrun steps", "dropped ticks"], rows)]
    parts.append("<p class='muted'>Real-time factor: hardware time ÷ simulated time (below 1 is "
                 "faster than real time). <i>As run</i> includes the pacing: in realtime mode a "
                 "tick that finds the core busy is dropped and the step runs late; a board in "
                 "stepped mode stretches a late step instead (its <code>late_steps</code> "
                 "counter, under the device sections).</p>")
    sw = [r for r in doc["runs"] if r["ok"] and r["wall_per_step_s"] is not None]
    parts.append("<h3>Wall time per step on this host</h3>" + _table(
        ["run", "kind", "build (s)", "run (s)", "per step", "real-time factor on this host"],
        [[r["name"], r["kind"], fmt(r["wall_time_s"]["build"]), fmt(r["wall_time_s"]["run"]),
          fmt_time_ns(r["wall_per_step_s"] * 1e9),
          fmt(r["wall_per_step_s"] * 1e3 / r["dt_ms"])] for r in sw], numeric_from=2))
    return "".join(parts)


def _cycles(value) -> str:
    return "—" if value is None else f"{value:,.0f}" if float(value).is_integer() else fmt(value)


def _link(doc: dict) -> str:
    rows, notes = [], []
    for run in doc["runs"]:
        hw = run.get("hardware")
        if not hw:
            continue
        link = hw["link"]
        if link is None:
            rows.append([run["name"], _Raw("<span class='muted'>the target publishes no link "
                                           "model</span>")] + [""] * 8)
            continue
        cl, st = link["closed_loop"], link["streaming"]
        others = "; ".join(f"{fmt_time_ns(o['latency_max_ns']['mean'])} at "
                           f"{fmt(o['reply_wait_ms'])} ms" for o in cl["other_reply_waits"])
        rows.append([run["name"], fmt(link["baudrate"], 6, "baud"),
                     f"{fmt(cl['bytes_to_device']['mean'])} / {fmt(cl['bytes_from_device']['mean'])}",
                     fmt(cl["replies"]["mean"]),
                     fmt_time_ns(cl["wire_ns"]["mean"]),
                     f"{fmt_time_ns(cl['latency_min_ns']['mean'])} – "
                     f"{fmt_time_ns(cl['latency_max_ns']['mean'])}",
                     f"{fmt(link['reply_wait_ms'])} ms ({_e(link['reply_wait_source'])})",
                     others or "—",
                     f"{fmt(st['bytes_to_device'])} / {fmt(st['bytes_from_device'])} B, "
                     f"{fmt(st['wire_s'])} s (×{fmt(st['real_time_factor'])} real time)"])
        notes += [f"{run['name']}: {link['description']}"] + [f"{run['name']}: {n}"
                                                               for n in link["notes"]]
    if not rows:
        return ""
    return ("<h2>Input-to-output latency over the host link</h2>"
            "<p class='muted'>Closed loop: one step per exchange (the step's inputs in, the "
            "step, its spikes out). The latency lies between the wire time plus the step "
            "(no wait in the USB adapter) and that plus the longest adapter wait for every "
            "reply. Streaming: the whole run's spikes in full frames, the least the link "
            "must carry.</p>" + _table(
                ["run", "line rate", "bytes per step to / from device", "replies per step",
                 "wire time per step", "latency per step (mean, min – max)", "reply wait",
                 "max latency at other settings", "streaming, whole run"], rows)
            + _notes(notes))


def _energy(doc: dict) -> str:
    rows = []
    for run in doc["runs"]:
        hw = run.get("hardware")
        if not hw:
            continue
        e = hw["energy"]
        if e["status"] == "estimated":
            per_step = e["joules"] / run["n_steps"] if run["n_steps"] else None
            breakdown = ", ".join(f"{k} {fmt(v)} J" for k, v in e["breakdown_j"].items())
            rows.append([run["name"], "estimated", fmt(e["joules"], unit="J"),
                         fmt(per_step, unit="J"), breakdown, e["source"]])
        else:
            rows.append([run["name"], "not published", "—", "—", e["note"], e["source"] or "—"])
    if not rows:
        return ""
    return "<h2>Energy</h2>" + _table(["run", "status", "energy", "per step", "breakdown / why",
                                       "source"], rows, numeric_from=6)  # prose: left-aligned


def _device(doc: dict) -> str:
    if not doc["device_vs_model"]:
        return ""
    rows = []
    for d in doc["device_vs_model"]:
        diff = "; ".join(f"{label}: {v['only_model']} only in model, {v['only_device']} only "
                         f"on device" for label, v in d["spike_differences"].items()
                         if v["only_model"] or v["only_device"])
        predicted = d["predicted_closed_loop_step_s"]
        rows.append([
            f"{d['device']} vs {d['model']}" + (" (virtual board)" if d["virtual"] else ""),
            _verdict(d["spikes_equal"]), diff or "—",
            _verdict(d["step_cycles_equal"]),
            fmt(d["step_cycle_mismatches"]), fmt(d["first_mismatch_step"]),
            fmt_time_ns(d["model_step_s"] * 1e9 if d["model_step_s"] is not None else None),
            (f"{fmt_time_ns(predicted['min'] * 1e9)} – {fmt_time_ns(predicted['max'] * 1e9)}"
             if predicted else "—"),
            fmt_time_ns(d["host_step_latency_s"] * 1e9
                        if d["host_step_latency_s"] is not None else None),
            fmt_time_ns(d["host_minus_model_step_s"] * 1e9
                        if d["host_minus_model_step_s"] is not None else None),
            f"{fmt(d['bytes_to_board'])} / {fmt(d['bytes_from_board'])}",
            fmt(d["retransmissions"]), fmt(d["recoveries"]),
            f"{fmt(d['overruns']['model'])} / {fmt(d['overruns']['device'])}",
            fmt(d["late_steps"])])
    parts = ["<h2>Device vs model</h2>",
             "<p class='muted'>The device run beside the target model's prediction. On the "
             "virtual board the host times measure the Verilated RTL behind a "
             "pseudo-terminal, not a board's clock.</p>", _table(
                 ["runs", "spikes equal", "spike differences", "step cycles equal",
                  "steps that differ", "first differing step", "model step time",
                  "predicted closed-loop step", "host-measured step", "host − model",
                  "bytes to / from board", "retransmissions", "recoveries",
                  "overruns model / device", "late steps (board)"], rows)]
    for run in doc["runs"]:
        host = (run.get("hardware") or {}).get("host")
        if not host:
            continue
        parts.append(f"<h3>Host measurements: {_e(run['name'])}</h3>" + _table(
            ["quantity", "value"],
            [["port", f"{host['port']}" + (" (virtual board)" if host["virtual"] else "")],
             ["baud rate", fmt(host["baudrate"])],
             ["FTDI latency timer", fmt(host["latency_timer_ms"], unit="ms")],
             ["upload / verify / run", f"{fmt(host['upload_s'])} / {fmt(host['verify_s'])} / "
                                       f"{fmt(host['run_s'])} s"],
             ["upload payload", fmt(host["upload_payload_bytes"], unit="B")],
             ["bytes to / from board", f"{fmt(host['bytes_to_board'])} / "
                                       f"{fmt(host['bytes_from_board'])}"],
             ["bytes per step (all traffic)", fmt(host["run_bytes_per_step"])],
             ["RUN chunks", f"{fmt(host['chunks'])} (steps per chunk: mean "
                            f"{fmt(host['chunk_steps']['mean'])})"],
             ["step latency (chunk wall time ÷ steps)", fmt_time_ns(
                 host["step_latency_s"] * 1e9 if host["step_latency_s"] is not None else None)],
             ["command round trip", f"median {fmt_time_ns(_ns(host['round_trip_s']['median']))}"
                                    f", max {fmt_time_ns(_ns(host['round_trip_s']['max']))}"],
             ["link counters", ", ".join(f"{k} {v}" for k, v in host["link"].items()) or "—"],
             ["board counters", ", ".join(f"{k} {v}" for k, v in
                                          host["board_counters"].items()) or "—"],
             ["recoveries", fmt(host["recoveries"])],
             ["late steps (real-time timer)", fmt(host["late_steps"])],
             ["equal to the model", ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in
                                              host["model_agreement"].items()) or "—"]],
            numeric_from=1)
            + _notes(host["notes"]))
    return "".join(parts)


def _ns(seconds):
    return None if seconds is None else seconds * 1e9


def _quantization(doc: dict) -> str:
    parts = []
    for run in doc["runs"]:
        hw = run.get("hardware")
        if not hw or not hw["quantization"]:
            continue
        rows = [[owner, name, q["unit"], fmt(q["max_abs"]), pct(q["max_rel"]), fmt(q["count"])]
                for owner, params in hw["quantization"].items() for name, q in params.items()]
        parts.append(f"<h3>{_e(run['name'])}</h3>" + _table(
            ["population / projection", "parameter", "unit", "max |error|", "max relative",
             "values"], rows, numeric_from=3))
    if not parts:
        return ""
    return ("<h2>Quantization</h2><p class='muted'>How far the values the hardware runs with "
            "are from the network's, in PyNN units.</p>" + "".join(parts))


def _notes(notes: list[str]) -> str:
    if not notes:
        return ""
    return "<ul class='notes'>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"


def _all_notes(doc: dict) -> str:
    notes = list(doc["notes"])
    for run in doc["runs"]:
        notes += [f"{run['name']}: {n}" for n in run["notes"]]
        hw = run.get("hardware")
        if hw:
            notes += [f"{run['name']} ({hw['target']} compiler): {n}" for n in hw["notes"]]
    return ("<h2>Notes</h2>" + _notes(notes)) if notes else ""


def render_fragment(doc: dict, figures: list[ReportFigure]) -> str:
    """The report's body in a ``<div class="neurohw-report">`` with its style sheet."""
    by_key = {f.key: f for f in figures}
    rasters = "".join(_figure(f) for f in figures if f.key.startswith("raster-"))
    spike_figs = "".join(_figure(by_key[k]) for k in ("time-errors", "rates", "weights")
                         if k in by_key)
    time_figs = "".join(_figure(by_key[k]) for k in ("step-latency", "step-histogram")
                        if k in by_key)
    body = (_header(doc) + _summary(doc) + ("<h2>Spikes</h2>" + rasters + spike_figs
                                            if rasters or spike_figs else "")
            + _fidelity(doc) + _timing(doc) + time_figs + _link(doc) + _energy(doc)
            + _device(doc) + _quantization(doc) + _all_notes(doc))
    return f'<style>{STYLE}</style><div class="neurohw-report">{body}</div>'


def render_page(doc: dict, figures: list[ReportFigure]) -> str:
    title = _e(f"neurohw report: {doc['script'] or 'network'}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{title}</title></head><body>"
            f"{render_fragment(doc, figures)}</body></html>\n")
