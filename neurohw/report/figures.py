"""The report's figures, drawn with matplotlib's Agg canvas into PNG bytes.

No pyplot: each figure is a :class:`matplotlib.figure.Figure` on its own Agg
canvas, so drawing a report changes no global matplotlib state (a notebook's
backend stays as it was).
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .analysis import Analysis

__all__ = ["ReportFigure", "draw_all", "figure_count"]

DPI = 100
# one colour per run under test, in order (matplotlib's tab10, colour-blind-safe order)
RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
REFERENCE_GREY = "#9a9a9a"
MISSED = "#d62728"
EXTRA = "#e6a700"


@dataclass(frozen=True)
class ReportFigure:
    key: str        # stable id, used as the <img> id in the page
    title: str
    caption: str
    png: bytes


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _colour(i: int) -> str:
    return RUN_COLOURS[i % len(RUN_COLOURS)]


def raster(analysis: Analysis, run: str) -> ReportFigure | None:
    """Baseline spikes (grey ticks) with the run's spikes over them: matched (coloured
    dots), extra in the run (amber +), missed by the run (red x)."""
    comparison = next(c for c in analysis.document["comparisons"] if c["run"] == run)
    labels = [p for p in comparison["populations"]]
    if not labels:
        return None
    baseline = next(r for r in analysis.records if r.name == analysis.baseline).result
    test = next(r for r in analysis.records if r.name == run).result
    sizes = [analysis.network.population(label).size for label in labels]
    total = sum(sizes)
    fig = Figure(figsize=(10, min(7.0, 2.0 + 0.012 * total + 0.6 * len(labels))))
    ax = fig.add_subplot()
    offset, ticks = 0, []
    for label, size in zip(labels, sizes):
        match = analysis.matches[(run, label)]
        ref, got = baseline.spikes[label], test.spikes[label]
        ax.scatter(ref.times, ref.index + offset, marker="|", s=30, linewidths=0.8,
                   color=REFERENCE_GREY, label=None if offset else f"{analysis.baseline}")
        ok = match.test_matched
        ax.scatter(got.times[ok], got.index[ok] + offset, marker=".", s=9, color=_colour(0),
                   label=None if offset else f"{run}, matched")
        ax.scatter(got.times[~ok], got.index[~ok] + offset, marker="+", s=28, linewidths=0.9,
                   color=EXTRA, label=None if offset else f"{run} only")
        missed = ~match.reference_matched
        ax.scatter(ref.times[missed], ref.index[missed] + offset, marker="x", s=18,
                   linewidths=0.9, color=MISSED,
                   label=None if offset else f"{analysis.baseline} only (missed)")
        ticks.append(offset + size / 2)
        offset += size
        ax.axhline(offset - 0.5, color="#444", linewidth=0.5)
    ax.set_yticks(ticks, labels)
    ax.set_ylim(-0.5, total - 0.5)
    ax.set_xlim(baseline.t_start, baseline.t_stop)
    ax.set_xlabel("time (ms)")
    ax.set_title(f"{run} over {analysis.baseline} (match window "
                 f"{comparison['tolerance_ms']:g} ms)")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.9, ncol=4)
    fig.tight_layout()
    total_ref = comparison["total"]["n_reference"]
    return ReportFigure(f"raster-{run}", f"Raster: {run} over {analysis.baseline}",
                   f"{comparison['total']['n_matched']} of {total_ref} {analysis.baseline} "
                   f"spikes matched; {comparison['total']['n_test'] - comparison['total']['n_matched']}"
                   f" spikes only in {run}.", _png(fig))


def time_errors(analysis: Analysis) -> ReportFigure | None:
    """Spike-time error (run - baseline) of matched spikes and ISI distortion, per run."""
    comparisons = analysis.document["comparisons"]
    if not comparisons:
        return None
    fig = Figure(figsize=(10, 3.6))
    ax_err, ax_isi = fig.subplots(1, 2)
    width = 0.8 / len(comparisons)
    for i, c in enumerate(comparisons):
        match_runs = [analysis.matches[(c["run"], label)] for label in c["populations"]]
        errors = np.concatenate([m.time_errors for m in match_runs]) if match_runs else []
        first = next(iter(c["populations"].values()), None)
        if first is None:
            continue
        edges = np.asarray(first["time_error_histogram"]["edges_ms"])
        counts, _ = np.histogram(errors, bins=edges)
        centres = (edges[:-1] + edges[1:]) / 2
        dt = edges[1] - edges[0]
        share = counts / max(1, counts.sum())
        ax_err.bar(centres + (i - (len(comparisons) - 1) / 2) * width * dt, share,
                   width=width * dt, color=_colour(i), label=c["run"])
        isi = np.concatenate([_isi(analysis, c["run"], label) for label in c["populations"]])
        if isi.size:
            span = max(float(np.abs(isi).max()), dt)
            bins = np.arange(-span - dt / 2, span + dt, dt)
            ax_isi.hist(isi, bins=bins, histtype="step", color=_colour(i), linewidth=1.5,
                        density=True, label=c["run"])
    ax_err.set_xlabel(f"spike time, run − {analysis.baseline} (ms)")
    ax_err.set_ylabel("share of matched spikes")
    ax_err.set_title("spike-time error")
    ax_err.legend(fontsize=8)
    ax_isi.set_xlabel("ISI distortion (ms)")
    ax_isi.set_ylabel("density")
    ax_isi.set_title("ISI distortion (PyCARL)")
    if ax_isi.has_data():
        ax_isi.legend(fontsize=8)
    fig.tight_layout()
    return ReportFigure("time-errors", "Spike-time error and ISI distortion",
                   "Left: how far each matched spike moved, in steps of dt. Right: change of "
                   "each inter-spike interval both runs have.", _png(fig))


def _isi(analysis: Analysis, run: str, label: str) -> np.ndarray:
    from .metrics import isi_distortion
    return isi_distortion(analysis.matches[(run, label)])


def rates(analysis: Analysis) -> ReportFigure | None:
    """Per-neuron firing rate of every run against the baseline's."""
    comparisons = [c for c in analysis.document["comparisons"] if c["populations"]]
    if not comparisons:
        return None
    fig = Figure(figsize=(min(12, 3.4 * len(comparisons) + 0.6), 3.6))
    axes = np.atleast_1d(fig.subplots(1, len(comparisons), squeeze=False)[0])
    markers = "os^vD<>"
    for ax, (i, c) in zip(axes, enumerate(comparisons)):
        top = 0.0
        for j, (label, p) in enumerate(c["populations"].items()):
            ref = np.asarray(p["neuron_rates_hz"]["reference"], dtype=float)
            got = np.asarray(p["neuron_rates_hz"]["test"], dtype=float)
            ax.scatter(ref, got, s=10, marker=markers[j % len(markers)], color=_colour(i),
                       alpha=0.6, label=label)
            top = max(top, ref.max(initial=0), got.max(initial=0))
        ax.plot([0, top * 1.05 + 1e-9], [0, top * 1.05 + 1e-9], color="#444", linewidth=0.8)
        ax.set_xlabel(f"{analysis.baseline} rate (Hz)")
        ax.set_ylabel(f"{c['run']} rate (Hz)")
        ax.set_title(c["run"])
        ax.legend(fontsize=7)
    fig.tight_layout()
    return ReportFigure("rates", "Per-neuron firing rates",
                   "Each dot is one neuron; on the diagonal the run fires as often as the "
                   "baseline.", _png(fig))


def weights(analysis: Analysis) -> ReportFigure | None:
    """Final weights of the plastic projections, every run against the baseline."""
    pairs = [(c["run"], label) for c in analysis.document["comparisons"] for label in c["weights"]]
    if not pairs:
        return None
    baseline = next(r for r in analysis.records if r.name == analysis.baseline).result
    fig = Figure(figsize=(min(12, 3.4 * len(pairs) + 0.6), 3.6))
    axes = fig.subplots(1, len(pairs), squeeze=False)[0]
    runs = [c["run"] for c in analysis.document["comparisons"]]
    for ax, (run, label) in zip(axes, pairs):
        result = next(r for r in analysis.records if r.name == run).result
        ref, got = baseline.weights[label], result.weights[label]
        initial = analysis.network.projection(label).weight
        ax.scatter(ref, got, s=8, alpha=0.5, color=_colour(runs.index(run)))
        every = np.concatenate([ref, got, initial])
        low, high = (float(every.min()), float(every.max())) if every.size else (0.0, 1.0)
        ax.plot([low, high], [low, high], color="#444", linewidth=0.8)
        ax.set_xlabel(f"{analysis.baseline} final weight")
        ax.set_ylabel(f"{run} final weight")
        ax.set_title(f"{label}: {run}", fontsize=10)
    fig.tight_layout()
    return ReportFigure("weights", "Weights after plasticity",
                   "Final weight of every plastic synapse; on the diagonal both runs learned "
                   "the same.", _png(fig))


def step_latency(analysis: Analysis) -> ReportFigure | None:
    """Per-step hardware time over the run, with the real-time deadline, and the
    predicted closed-loop input-to-output latency over the host link."""
    hardware = [r for r in analysis.document["runs"] if r.get("hardware")]
    if not hardware:
        return None
    fig = Figure(figsize=(10, 2.2 + 2.4 * len(hardware)))
    axes = fig.subplots(len(hardware), 1, squeeze=False)[:, 0]
    for ax, (i, run) in zip(axes, enumerate(hardware)):
        hw = run["hardware"]
        series = hw["timing"]["series_ns"]
        t = np.asarray(series["t_ms"], dtype=float)
        ax.plot(t, np.asarray(series["max"], dtype=float) / 1e3, color=_colour(i),
                linewidth=1.0, label="step compute, max per bin")
        ax.plot(t, np.asarray(series["mean"], dtype=float) / 1e3, color=_colour(i),
                linewidth=0.8, alpha=0.5, label="step compute, mean per bin")
        link = hw.get("link")
        if link is not None:
            low = link["closed_loop"]["series_latency_min_ns"]
            high = link["closed_loop"]["series_latency_max_ns"]
            ax.fill_between(np.asarray(low["t_ms"], dtype=float),
                            np.asarray(low["mean"], dtype=float) / 1e3,
                            np.asarray(high["mean"], dtype=float) / 1e3, color="#bbbbbb",
                            alpha=0.5, step="post",
                            label=f"closed loop over the link (reply wait 0–"
                                  f"{link['reply_wait_ms']:g} ms)")
        ax.axhline(hw["timing"]["deadline_ns"] / 1e3, color=MISSED, linestyle="--",
                   linewidth=1.2, label=f"real-time deadline (dt = {run['dt_ms']:g} ms)")
        ax.set_yscale("log")
        ax.set_ylabel("µs per step")
        ax.set_title(f"{run['name']} at {hw['clock_hz'] / 1e6:g} MHz: "
                     f"{hw['timing']['overrun_steps']} of {run['n_steps']} steps over the "
                     f"deadline", fontsize=10)
        ax.legend(fontsize=7, loc="upper right", ncol=2)
        ax.set_xlim(run["t_start_ms"], run["t_stop_ms"])
    axes[-1].set_xlabel("simulated time (ms)")
    fig.tight_layout()
    return ReportFigure("step-latency", "Per-step latency over the run",
                   "Hardware time of each step (log scale) against the real-time deadline; "
                   "the grey band is the predicted input-to-output latency of one step over "
                   "the host link.", _png(fig))


def step_histogram(analysis: Analysis) -> ReportFigure | None:
    hardware = [r for r in analysis.document["runs"] if r.get("hardware")]
    if not hardware:
        return None
    fig = Figure(figsize=(10, 3.2))
    ax = fig.add_subplot()
    for i, run in enumerate(hardware):
        h = run["hardware"]["timing"]["histogram"]
        edges = np.asarray(h["edges_ns"], dtype=float) / 1e3
        if edges.size:
            ax.stairs(h["counts"], edges, color=_colour(i), linewidth=1.5, label=run["name"])
    deadline = hardware[0]["hardware"]["timing"]["deadline_ns"] / 1e3
    ax.axvline(deadline, color=MISSED, linestyle="--", label="deadline")
    ax.set_xlabel("µs per step")
    ax.set_ylabel("steps")
    ax.set_title("distribution of the hardware step time")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return ReportFigure("step-histogram", "Step-time distribution",
                   "How many steps took how long on each hardware run.", _png(fig))


def draw_all(analysis: Analysis, progress=None) -> list[ReportFigure]:
    """Every figure that has data, in page order.  ``progress(n)`` is called after each."""
    makers = ([lambda c=c: raster(analysis, c["run"]) for c in analysis.document["comparisons"]]
              + [lambda: time_errors(analysis), lambda: rates(analysis),
                 lambda: weights(analysis), lambda: step_latency(analysis),
                 lambda: step_histogram(analysis)])
    figures = []
    for make in makers:
        fig = make()
        if fig is not None:
            figures.append(fig)
        if progress is not None:
            progress(1)
    return figures


def figure_count(analysis: Analysis) -> int:
    """How many figures draw_all tries (for a progress bar)."""
    return len(analysis.document["comparisons"]) + 5
