"""The report as rich tables in a terminal."""
from __future__ import annotations

from .html import _mean_abs_error, fmt, fmt_time_ns, pct

__all__ = ["print_report"]


def _status(ok: bool, good: str, bad: str) -> str:
    return f"[green]{good}[/]" if ok else f"[bold red]{bad}[/]"


def print_report(doc: dict, console=None, paths=None) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    net, settings = doc["network"], doc["settings"]
    console.print(f"[bold]{doc['script'] or 'network'}[/]: {fmt(net['duration_ms'])} ms at "
                  f"dt {fmt(net['dt_ms'])} ms; baseline [bold]{settings['baseline']}[/], match "
                  f"window {fmt(settings['tolerance_ms'])} ms")

    comparisons = {c["run"]: c for c in doc["comparisons"]}
    runs = Table(title="runs (recall / precision and |Δt| against the baseline)",
                 box=box.SIMPLE_HEAD)
    for col in ("run", "kind", "spikes", "recall / precision", "|Δt| ms", "inverted pairs",
                "RTF (HW)", "overruns", "max step (HW)", "host / step"):
        runs.add_column(col, justify="left" if col in ("run", "kind") else "right",
                        overflow="fold")
    for run in doc["runs"]:
        if not run["ok"]:
            runs.add_row(run["name"], run["kind"], "[bold red]failed[/] (below)")
            continue
        c, hw = comparisons.get(run["name"]), run.get("hardware")
        spikes = sum(p["spikes"] or 0 for p in run["populations"].values())
        runs.add_row(
            run["name"], run["kind"], fmt(spikes),
            "baseline" if c is None else f"{pct(c['total']['recall'])} / "
                                         f"{pct(c['total']['precision'])}",
            "—" if c is None else fmt(_mean_abs_error(c)),
            "—" if c is None else fmt(c["total"]["disorder"]["inverted_pairs"]),
            fmt(hw["timing"]["real_time_factor"]) if hw else "—",
            _status(hw["timing"]["overrun_steps"] == 0, "0",
                    fmt(hw["timing"]["overrun_steps"])) if hw else "—",
            fmt_time_ns(hw["timing"]["step_ns"]["max"]) if hw else "—",
            fmt_time_ns(run["wall_per_step_s"] * 1e9) if run["wall_per_step_s"] else "—")
    console.print(runs)

    for c in doc["comparisons"]:
        table = Table(title=f"{c['run']} vs {c['reference']}"
                            + (" (software baseline pair)" if c["software_baseline"] else ""),
                      box=box.SIMPLE_HEAD)
        for col in ("population", "spikes", "recall", "precision", "|Δt| ms", "rate Hz",
                    "neuron rate RMS err Hz", "ISI dist. |·| ms", "disordered"):
            table.add_column(col, justify="left" if col == "population" else "right",
                             overflow="fold")
        for label, p in c["populations"].items():
            table.add_row(label, f"{fmt(p['n_reference'])} → {fmt(p['n_test'])}",
                          pct(p["recall"]), pct(p["precision"]),
                          fmt(p["time_error_ms"]["mean_abs"]),
                          f"{fmt(p['rate_hz']['reference'])} → {fmt(p['rate_hz']['test'])}",
                          fmt(p["neuron_rates_hz"]["rms_error"]),
                          fmt(p["isi_distortion_ms"]["mean_abs"]),
                          fmt(p["disorder"]["disordered_spikes"]))
        for label, w in c["weights"].items():
            table.add_row(f"[italic]{label}[/] (weights)", f"{fmt(w['synapses'])} synapses",
                          "", "", "", f"RMS {fmt(w['rms'])} {w['unit']}",
                          f"{pct(w['rms_rel'])} of w_max", f"r = {fmt(w['correlation'])}", "")
        console.print(table)

    for run in doc["runs"]:
        hw = run.get("hardware")
        if not hw:
            continue
        t = hw["timing"]
        console.print(f"[bold]{run['name']}[/] at {fmt(hw['clock_hz'] / 1e6)} MHz: step "
                      f"{fmt_time_ns(t['step_ns']['mean'])} mean, "
                      f"{fmt_time_ns(t['step_ns']['max'])} max, deadline "
                      f"{fmt_time_ns(t['deadline_ns'])}; "
                      f"{_status(t['overrun_steps'] == 0, 'no overruns', str(t['overrun_steps']) + ' overrun steps')}"
                      f", {fmt(t['dropped_ticks'])} dropped ticks")
        link = hw["link"]
        if link is not None:
            cl = link["closed_loop"]
            console.print(f"  link {fmt(link['baudrate'], 6)} baud: closed loop "
                          f"{fmt(cl['bytes_to_device']['mean'])} B in / "
                          f"{fmt(cl['bytes_from_device']['mean'])} B out per step, latency "
                          f"{fmt_time_ns(cl['latency_min_ns']['mean'])} – "
                          f"{fmt_time_ns(cl['latency_max_ns']['mean'])} (reply wait up to "
                          f"{fmt(link['reply_wait_ms'])} ms)")
        energy = hw["energy"]
        console.print(f"  energy: {fmt(energy['joules'], unit='J')} ({energy['source']})"
                      if energy["status"] == "estimated" else "  energy: not published")

    for d in doc["device_vs_model"]:
        console.print(f"[bold]{d['device']}[/] vs {d['model']}: spikes "
                      f"{_status(d['spikes_equal'], 'equal', 'DIFFER')}, step cycles "
                      f"{_status(d['step_cycles_equal'], 'equal', 'DIFFER')}; host step "
                      f"{fmt_time_ns((d['host_step_latency_s'] or 0) * 1e9)} vs model "
                      f"{fmt_time_ns((d['model_step_s'] or 0) * 1e9)}; "
                      f"{fmt(d['retransmissions'])} retransmissions")
        if d["retransmissions"]:
            # why, from the host's notes (the runner writes one when the link sent frames again)
            host = next(((run.get("hardware") or {}).get("host") or {} for run in doc["runs"]
                         if run["name"] == d["device"]), {})
            for note in host.get("notes", []):
                if note.startswith("the link sent"):
                    console.print(f"  [yellow]note[/] {note}")
    for run in doc["runs"]:
        for note in run["notes"]:
            console.print(f"[yellow]note[/] {run['name']}: {note}")
    for note in doc["notes"]:
        console.print(f"[yellow]note[/]: {note}")
    if paths:
        console.print("written: " + ", ".join(str(p) for p in paths))
