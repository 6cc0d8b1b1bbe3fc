"""The command line as a user runs it: a subprocess, the installed entry point."""
import subprocess
import sys
import textwrap

import pytest


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


def test_run_rejects_an_unknown_simulator(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import neurohw.pynn as sim\nsim.setup()\n"
                      "p = sim.Population(1, sim.IF_curr_exp())\nsim.run(1.0)\n")
    out = neurohw("run", str(script), "--sw", "reference,nest")
    assert out.returncode != 0
    assert "nest" in out.stderr and "reference" in out.stderr


@pytest.mark.slow
def test_demo_runs_the_bundled_example():
    out = neurohw("demo")
    assert out.returncode == 0, out.stderr
    for population in ("excitatory", "inhibitory"):
        assert population in out.stdout
    assert "reference" in out.stdout and "brian2" in out.stdout
