"""The notebooks in notebooks/ are executed for real (nbclient + ipykernel) and their
outputs checked.

They are stored with their outputs cleared: what git holds is the source, and every
output anyone reads comes from executing it against the current code -- here, in the
test suite, which also leaves the executed copies in build/notebooks/ -- so no stale
number can be read from the repository.  ``test_stored_without_outputs`` keeps it so.

The kernel is the venv's interpreter, registered in a private kernel directory
(JUPYTER_PATH) so that a user's own "python3" kernel cannot stand in for it.  The
notebooks run at their CI size (NEUROHW_FULL_SIZE unset).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from neurohw.examples import pattern_learning as pl

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
EXECUTED = REPO / "build" / "notebooks"
KERNEL = "neurohw-test-venv"


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    spec = tmp_path / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "neurohw test venv", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.delenv("NEUROHW_FULL_SIZE", raising=False)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return KERNEL


def execute(name: str, kernel: str) -> list:
    """Run every cell (an error raises CellExecutionError naming the cell), keep the
    executed copy, and return the code cells."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print('kernel:', sys.executable)"))
    NotebookClient(nb, timeout=600, kernel_name=kernel,
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    EXECUTED.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, EXECUTED / name)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert stdout(cells[-1]) == f"kernel: {sys.executable}\n"
    return cells[:-1]


def stdout(cell) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def markdown_outputs(cells) -> list[str]:
    return [o.data["text/markdown"] for c in cells for o in c.outputs
            if o.output_type == "display_data" and "text/markdown" in o.data]


def images(cells) -> int:
    return sum("image/png" in o.get("data", {}) for c in cells for o in c.outputs)


def cell_with(cells, text: str):
    (cell,) = [c for c in cells if text in c.source]
    return cell


def table(markdown: str) -> list[list[str]]:
    """The rows of the first markdown table in ``markdown`` (header first, no rule)."""
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")]
            for i, row in enumerate(rows) if i != 1]


def check_report_cell(cells):
    cell = cell_with(cells, "neurohw.report.compare(")
    (html,) = [o["data"]["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]
    # the report holds the virtual board's run, and it equals the model's
    assert "fpga@virtual" in html and "equal to the model" in html and "NO" not in \
        html.split("equal to the model", 1)[1].split("</tr>", 1)[0]


@pytest.mark.parametrize("name", ["quickstart.ipynb", "stdp_pattern_learning.ipynb"])
def test_stored_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_quickstart(kernel):
    cells = execute("quickstart.ipynb", kernel)
    comparison = stdout(cell_with(cells, "first_difference(ref, hw_spikes)"))
    rows = {}
    population = None
    for line in comparison.splitlines()[1:]:
        words = line.split()
        if words[0] in ("excitatory", "inhibitory"):
            population, words = words[0], words[1:]
        run = " ".join(w for w in words if not re.match(r"^[\d.%]+$|^ms$|^none$", w))
        rows[(population, run)] = words
    for population in ("excitatory", "inhibitory"):
        assert (population, "reference") in rows
        # the notebook says Brian2 reproduces the reference spike for spike: it must
        brian2 = rows[(population, "Brian2")]
        assert brian2[0] == "Brian2" and brian2[2:] == ["100", "%", "100", "%", "none"], brian2
        assert brian2[1] == rows[(population, "reference")][1]       # the spike counts
        for run in ("FPGA, 8-bit", "FPGA, 16-bit"):
            assert (population, run) in rows
    quantization = stdout(cell_with(cells, "hw.quantization.items()"))
    assert "weight LSB" in quantization and "cycles per step" in quantization
    assert images(cells) == 2            # the rasters and the membrane potentials
    check_report_cell(cells)


def test_stdp_pattern_learning(kernel):
    cells = execute("stdp_pattern_learning.ipynb", kernel)
    settings = stdout(cells[0])
    assert settings.startswith("CI-sized run: 32 inputs, patterns of 8,")
    n_sets = int(re.search(r"(\d+) pattern sets per pattern count", settings).group(1))
    outputs = markdown_outputs(cells)
    (similar,) = [m for m in outputs if m.startswith("**Similar patterns** (a shared core")]
    rows = table(similar)
    assert rows[0] == ["trained patterns", "reference", "FPGA model"]
    by_count = {int(r[0]): r[1:] for r in rows[1:]}
    assert sorted(by_count) == [1, 2, 3, 4, 6, 8]
    # one trained pattern: an ideal detector on both targets, as measured ...
    for cell in by_count[1]:
        correct, presentations = map(int, re.fullmatch(r"100\.0 % \((\d+) / (\d+)\)",
                                                       cell).groups())
        assert correct == presentations == n_sets * (1 + pl.CI.lures_per_pattern
                                                     + pl.CI.random_patterns)
    # ... and as measured again here, independently of the notebook's kernel
    again = pl.sweep(pl.CI, [1], range(n_sets), {"reference": ("reference", {}),
                                                 "FPGA model": ("fpga", {})}, progress=False)
    assert table(again.markdown())[1][1:] == by_count[1]
    # similar patterns: accuracy below 100 % with 8 of them, on both targets
    assert all(float(cell.split()[0]) < 100.0 for cell in by_count[8])
    (dissimilar,) = [m for m in outputs if m.startswith("**Dissimilar patterns**")]
    assert len(table(dissimilar)) == 7
    (details,) = [m for m in outputs if m.startswith("| trained patterns | target | trials")]
    assert len(table(details)) == 1 + 2 * 6
    (control,) = [m for m in outputs if m.startswith("**Similar patterns, with and without")]
    assert table(control)[0][1:] == ["reference", "FPGA model", "reference, A_minus = 0",
                                     "FPGA model, A_minus = 0"]
    assert "answered differently by the two targets" in stdout(
        cell_with(cells, "no_ltd = pl.sweep("))
    assert images(cells) == 3            # patterns, one trial, accuracy
    board = stdout(cell_with(cells, "BOARD_COUNTS, BOARD_SEEDS = "))
    # the model is bit-exact with the RTL: the virtual board answers as it does
    assert "answered differently by the model and the virtual board: 0\n" in board
    assert any(m.startswith("**FPGA model vs virtual board**") for m in outputs)
    check_report_cell(cells)
