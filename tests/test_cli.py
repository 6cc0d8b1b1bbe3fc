"""The command line as a user runs it: a subprocess, the installed entry point."""
import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest

from neurohw.cli import parse_frequency
from neurohw.report import SCHEMA_PATH


def neurohw(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "neurohw.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=900)


def test_run_compares_an_unchanged_script_on_both_simulators(tmp_path):
    script = tmp_path / "two_neurons.py"
    script.write_text(textwrap.dedent("""\
        import neurohw.pynn as sim
        sim.setup(timestep=0.1)
        src = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0, 20.0, 35.0]), label="src")
        cells = sim.Population(2, sim.IF_curr_exp(i_offset=[0.0, 1.0]), label="cells")
        sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=5.0, delay=1.0))
        cells.record("spikes")
        sim.run(60.0)
        sim.end()
        """))
    out = neurohw("run", str(script), "--sw", "reference,brian2")
    assert out.returncode == 0, out.stderr
    assert "cells" in out.stdout and "brian2" in out.stdout
    # identical deterministic input: every spike is matched within one step
    assert "100.0% / 100.0%" in out.stdout


def test_run_names_a_missing_script(tmp_path):
    out = neurohw("run", str(tmp_path / "nope.py"))
    assert out.returncode == 2
    assert "nope.py" in out.stderr


def test_python_dash_m_neurohw_is_the_command():
    out = subprocess.run([sys.executable, "-m", "neurohw", "run", "no_such_script.py"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "no_such_script.py" in out.stderr


def test_run_rejects_an_unknown_simulator(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import neurohw.pynn as sim\nsim.setup()\n"
                      "p = sim.Population(1, sim.IF_curr_exp())\nsim.run(1.0)\n")
    out = neurohw("run", str(script), "--sw", "reference,nest")
    assert out.returncode != 0
    assert "nest" in out.stderr and "reference" in out.stderr


REPORT_SCRIPT = textwrap.dedent("""\
    import numpy as np
    import neurohw.pynn as sim
    sim.setup(timestep=0.1)
    rng = np.random.default_rng(1)
    trains = [np.unique(np.round(np.sort(rng.uniform(1, 100, 10)), 1)) for _ in range(4)]
    src = sim.Population(4, sim.SpikeSourceArray(spike_times=trains), label="src")
    cells = sim.Population(6, sim.IF_curr_exp(cm=0.5, v_thresh=-58.0), label="cells")
    sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.5, delay=1.0))
    cells.record("spikes")
    sim.run(100.0)
    print("the script's own output")
    """)


def test_report_writes_html_and_json_for_an_unchanged_script(tmp_path):
    script = tmp_path / "net.py"
    script.write_text(REPORT_SCRIPT)
    out = neurohw("report", str(script), "--sw", "reference", "--targets", "fpga",
                  "--clock", "2MHz", "--realtime", "--out", str(tmp_path / "rep"))
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "rep" / "report.json").read_text())
    jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text())).validate(doc)
    assert doc["settings"]["clock_hz"] == 2e6 and doc["settings"]["mode"] == "realtime"
    fpga = next(r for r in doc["runs"] if r["name"] == "fpga")
    assert fpga["hardware"]["clock_hz"] == 2e6
    assert fpga["hardware"]["config"]["mode"] == "realtime"
    assert (tmp_path / "rep" / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert "report.html" in out.stdout and "fpga vs reference" in out.stdout
    assert "the script's own output" not in out.stdout   # the script's prints are captured


def test_report_refuses_bad_arguments_with_exit_code_2(tmp_path):
    script = tmp_path / "net.py"
    script.write_text(REPORT_SCRIPT)
    out = neurohw("report", str(script), "--targets", "loihi", "--out", str(tmp_path / "r"))
    assert out.returncode == 2 and "unknown hardware target(s) loihi" in out.stderr
    assert not (tmp_path / "r").exists()
    out = neurohw("report", str(script), "--clock", "fast")
    assert out.returncode == 2 and "not a clock frequency: 'fast'" in out.stderr
    out = neurohw("report", str(tmp_path / "missing.py"))
    assert out.returncode == 2 and "missing.py" in out.stderr


def test_report_exits_1_when_a_run_fails(tmp_path):
    script = tmp_path / "cond.py"
    script.write_text(REPORT_SCRIPT.replace("IF_curr_exp(cm=0.5, v_thresh=-58.0)",
                                            "IF_cond_exp()"))
    out = neurohw("report", str(script), "--sw", "reference", "--out", str(tmp_path / "r"))
    assert out.returncode == 1, out.stderr
    assert "failed" in out.stdout and (tmp_path / "r" / "report.html").exists()


@pytest.mark.parametrize("text, hz", [("48MHz", 48e6), ("48 MHz", 48e6), ("48M", 48e6),
                                      ("24e6", 24e6), ("100000", 1e5), ("12.5mhz", 12.5e6),
                                      ("1GHz", 1e9), ("250kHz", 2.5e5)])
def test_clock_frequencies(text, hz):
    assert parse_frequency(text) == pytest.approx(hz)


@pytest.mark.parametrize("text", ["", "MHz", "-5MHz", "0", "48 THz", "fast"])
def test_bad_clock_frequencies(text):
    with pytest.raises(argparse.ArgumentTypeError, match="not a clock frequency"):
        parse_frequency(text)


@pytest.mark.slow
def test_demo_reports_the_bundled_example(tmp_path):
    out = neurohw("demo", "--out", str(tmp_path / "demo"))
    assert out.returncode == 0, out.stderr
    for population in ("excitatory", "inhibitory"):
        assert population in out.stdout
    assert "reference" in out.stdout and "brian2" in out.stdout and "fpga" in out.stdout
    doc = json.loads((tmp_path / "demo" / "report.json").read_text())
    jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text())).validate(doc)
    assert Path(doc["script"]).name == "balanced.py"
    assert {r["name"] for r in doc["runs"]} == {"reference", "brian2", "fpga", "fpga@virtual"}
    assert all(r["ok"] for r in doc["runs"])
    # the main job ran on the virtual board, and the board did what the model predicts
    (board,) = [r for r in doc["runs"] if r["name"] == "fpga@virtual"]
    host = board["hardware"]["host"]
    assert host["virtual"] and host["chunks"] > 0 and host["bytes_to_board"] > 0
    assert host["model_agreement"] == {"spikes": True, "step_cycles": True, "state": True,
                                       "weights": True}
    (model,) = [r for r in doc["runs"] if r["name"] == "fpga"]
    assert board["hardware"]["timing"]["total_cycles"] == model["hardware"]["timing"]["total_cycles"]
