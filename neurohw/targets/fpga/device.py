"""A session with one board: a real one on a serial port, or the virtual board.

:class:`DeviceSession` is what the fpga runner talks to when ``setup(target="fpga",
port=...)`` names a device.  It opens the port (clear errors for a port that is
missing, busy or not ours to open), identifies the board, uploads a program
with read-back verification, and runs it.  Every operation that changes the
board's state after the upload -- bus writes and runs -- is kept in a journal;
when the board is reset under the run (it answers NOT_SYNCED) or the link
gives up (a LinkTimeout), the session identifies it again, uploads the program
again, replays the journal (the core is deterministic, so replaying every run
from the start recreates every neuron state, trace and learned weight) and then
repeats the operation that failed.  Nothing from a failed operation is kept:
a run's results come from its one complete execution.

Port ``"virtual"`` starts a :class:`~neurohw.targets.fpga.virtual.VirtualBoard`
of the requested core shape and clock and opens its pseudo-terminal.

On an FTDI USB UART the driver holds received bytes for the *latency timer*
(16 ms by default) before it passes them on, which would make every round trip
at least 16 ms.  The session reads the timer from sysfs and sets it to 1 ms
where the OS lets it (the file is writable by root, or by a udev rule), and
says what it found and did in :attr:`DeviceSession.notes`.
"""
from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import serial

from . import formats as F
from .board import RESET_COUNTERS, Board, BoardInfo, BoardRun
from .link import BoardReset, Link, LinkTimeout
from .program import FpgaProgram
from .synth import UART_BAUD

__all__ = ["DeviceSession", "DeviceError", "VIRTUAL", "open_serial", "latency_timer"]

VIRTUAL = "virtual"
# A pseudo-terminal has no baud rate; the link's reply timer still needs one to know how
# long a frame takes to leave.  The simulated wire is faster than this, so it is safe.
VIRTUAL_WIRE_BAUD = 1_000_000
# sysfs directory of USB serial devices (ttyUSB*): <dir>/<tty>/latency_timer, in ms
USB_SERIAL_SYSFS = Path(os.environ.get("NEUROHW_USB_SERIAL_SYSFS",
                                       "/sys/bus/usb-serial/devices"))
WANTED_LATENCY_TIMER_MS = 1
DEFAULT_ROUND_TRIPS = 16


class DeviceError(IOError):
    """The board could not be opened, does not answer, or is not the board asked for."""


def open_serial(port: str, baudrate: int) -> serial.Serial:
    """Open ``port`` exclusively (a second program writing to the board would corrupt both
    sessions); errors say whether it is missing, busy or not permitted."""
    try:
        return serial.Serial(port, baudrate=baudrate, timeout=0.01, exclusive=True)
    except (serial.SerialException, OSError) as exc:
        code = getattr(exc, "errno", None)
        text = str(exc)
        if code == errno.ENOENT or "No such file" in text:
            why = "no such device (is the board plugged in? ls /dev/ttyUSB* /dev/ttyACM*)"
        elif code == errno.EACCES or "Permission denied" in text:
            why = ("permission denied (add yourself to the group that owns it, e.g. "
                   "`sudo usermod -aG dialout $USER`, then log in again)")
        elif code == errno.EBUSY or "exclusively lock" in text or "busy" in text.lower():
            why = "busy: another program has it open (a terminal, another neurohw session?)"
        else:
            why = text
        raise DeviceError(f"{port}: cannot open the board's serial port: {why}") from None


def latency_timer(port: str, wanted_ms: Optional[int] = WANTED_LATENCY_TIMER_MS
                  ) -> tuple[Optional[float], list[str]]:
    """The FTDI latency timer of ``port`` in ms after trying to set it to ``wanted_ms``
    (None: only read it), and what was done, as notes.  (None, []) for a port that is not
    a USB serial device (a pty, an on-board UART)."""
    name = Path(os.path.realpath(port)).name
    path = USB_SERIAL_SYSFS / name / "latency_timer"
    try:
        found = int(path.read_text().strip())
    except (OSError, ValueError):
        return None, []
    if wanted_ms is None or found <= wanted_ms:
        return float(found), [f"{port}: FTDI latency timer {found} ms"]
    try:
        path.write_text(f"{wanted_ms}\n")
        now = int(path.read_text().strip())
    except (OSError, ValueError) as exc:
        return float(found), [
            f"{port}: FTDI latency timer {found} ms (could not set it to {wanted_ms} ms: "
            f"{exc.strerror if isinstance(exc, OSError) else exc}); every round trip waits up "
            f"to {found} ms -- a udev rule can set it: ATTR{{latency_timer}}=\"{wanted_ms}\""]
    return float(now), [f"{port}: FTDI latency timer set from {found} ms to {now} ms"]


class DeviceSession:
    """One board, identified and ready for :meth:`load`.

    ``port``: a serial device path, or ``"virtual"`` for a virtual board of ``shape``
    reporting ``clock_hz``.  For a real board, ``shape`` and ``clock_hz`` (if given) must be
    what the board reports.  ``wrap_port(stream)`` may wrap the opened port (the fault
    injection tests put :class:`~neurohw.targets.fpga.faults.FaultyPort` there).
    ``progress``: show rich progress bars on uploads and runs (default: when stderr is a
    terminal).  ``max_recoveries`` bounds the restarts after a board reset or a lost link.
    """

    def __init__(self, port: str, *, baudrate: Optional[int] = None,
                 shape: Optional[F.CoreShape] = None, clock_hz: Optional[float] = None,
                 reply_timeout: float = 0.5, max_retries: int = 16,
                 wrap_port: Optional[Callable] = None, progress: Optional[bool] = None,
                 max_recoveries: int = 8):
        if not isinstance(port, str) or not port:
            raise ValueError(f"fpga target: port must be a serial device path or "
                             f"'{VIRTUAL}', got {port!r}")
        if baudrate is not None and not (isinstance(baudrate, int) and baudrate > 0):
            raise ValueError(f"fpga target: baudrate must be a positive integer, got {baudrate!r}")
        self.virtual = port == VIRTUAL
        self.baudrate = int(baudrate or (VIRTUAL_WIRE_BAUD if self.virtual else UART_BAUD))
        self.progress = sys.stderr.isatty() if progress is None else bool(progress)
        self.max_recoveries = max_recoveries
        self.recoveries = 0
        self.notes: list[str] = []
        self.latency_timer_ms: Optional[float] = None
        self._virtual_board = None
        self._serial: Optional[serial.Serial] = None
        self._program: Optional[FpgaProgram] = None
        self._journal: list[tuple] = []
        try:
            if self.virtual:
                from .virtual import DEFAULT_CLOCK_HZ, DEFAULT_SHAPE, VirtualBoard
                self._virtual_board = VirtualBoard(
                    shape or DEFAULT_SHAPE,
                    clock_hz=int(round(clock_hz)) if clock_hz else DEFAULT_CLOCK_HZ)
                device_path = self._virtual_board.start()
                self.notes.append("virtual board: the Verilated RTL behind a pseudo-terminal; "
                                  "host times measure the simulation, not a board's UART")
            else:
                device_path = port
            self._serial = open_serial(device_path, self.baudrate)
            if not self.virtual:
                self.latency_timer_ms, notes = latency_timer(device_path)
                self.notes += notes
            stream = wrap_port(self._serial) if wrap_port is not None else self._serial
            self.port = device_path
            self.board = Board(Link(stream, port_name=device_path, reply_timeout=reply_timeout,
                                    max_retries=max_retries))
            self.info = self._identify()
            self._check(shape, clock_hz)
        except BaseException:
            self.close()
            raise

    # ---- set-up ----------------------------------------------------------------------------
    def _identify(self) -> BoardInfo:
        try:
            info = self.board.identify()
        except LinkTimeout as exc:
            raise DeviceError(
                f"{self.board.port_name}: no board answers (IDENTIFY at {self.baudrate} baud: "
                f"{exc}); is this the board's port, its baud rate {self.baudrate}, and is the "
                f"neurohw bitstream loaded?") from None
        if not info.has_core:
            raise DeviceError(f"{self.board.port_name}: the board runs the link bring-up build "
                              f"(no core on its bus); load the neurohw board bitstream "
                              f"(`neurohw bitstream --board ...`)")
        return info

    def _check(self, shape: Optional[F.CoreShape], clock_hz: Optional[float]) -> None:
        info = self.info
        if shape is not None and shape != info.shape:
            raise ValueError(f"fpga target: the board on {self.port} has a core of {info.shape}, "
                             f"the options ask for {shape}; leave the core parameters out to "
                             f"use the board's")
        if clock_hz is not None and abs(float(clock_hz) - info.clock_hz) > 0.5:
            raise ValueError(f"fpga target: the board on {self.port} runs at {info.clock_hz} Hz, "
                             f"the options ask for clock_hz={float(clock_hz):.0f} Hz; leave "
                             f"clock_hz out to use the board's")

    # ---- operations ------------------------------------------------------------------------
    def load(self, program: FpgaProgram, verify: bool = True) -> tuple[float, float]:
        """Reset the board and upload ``program`` (read back and compared with the golden
        model if ``verify``); starts a new journal.  Returns (upload s, verify s)."""
        self._program, self._journal = program, []
        upload_s, verify_s = self._recovering("upload", lambda: self._upload(verify))
        return upload_s, verify_s

    def _upload(self, verify: bool) -> tuple[float, float]:
        started = time.perf_counter()
        with self._progress() as progress:
            self.board.upload(self._program, verify=False, progress=progress)
            uploaded = time.perf_counter()
            if verify:
                self.board.verify(self._program, progress=progress)
        return uploaded - started, time.perf_counter() - uploaded

    def write(self, writes: list[tuple[int, int]]) -> None:
        """Bus writes (address, word) in order, as the golden model takes them."""
        if writes:
            self._recovering("write", lambda: self._write(writes))
            self._journal.append(("write", list(writes)))

    def _write(self, writes) -> None:
        self.board.write_words(writes)

    def run(self, n_steps: int, input_steps: np.ndarray, input_channels: np.ndarray,
            period: int = 0) -> BoardRun:
        """:meth:`Board.run_events`, journalled and recovered."""
        run = self._recovering("run", lambda: self._run(n_steps, input_steps, input_channels,
                                                        period, show=True))
        self._journal.append(("run", n_steps, input_steps, input_channels, period))
        return run

    def _run(self, n_steps, input_steps, input_channels, period, show: bool) -> BoardRun:
        # a bar only for runs long enough to watch
        with self._progress(show and n_steps >= 2000) as progress:
            return self.board.run_events(n_steps, input_steps, input_channels, period, progress)

    def read_neurons(self, first: int, count: int) -> list[tuple[int, int, int, int, int]]:
        """READ_NEURON_PARAMS records (raw bits) of neurons ``first..first+count-1``."""
        return self._recovering("read", lambda: self.board.read_neurons(first, count))

    def read_weights(self, synapses: list[tuple[int, int]]) -> list[int]:
        """Weight words {plastic, weight} of (source, neuron) pairs (dense cores)."""
        return self._recovering("read", lambda: self.board.read_weights_sparse(synapses))

    def read_words(self, addresses: list[int]) -> list[int]:
        """Bus words at ``addresses`` (the sparse core's synapses, for one)."""
        return self._recovering("read", lambda: self.board.read_words(addresses))

    def counters(self):
        return self._recovering("read", self.board.counters)

    def measure_round_trips(self, count: int = DEFAULT_ROUND_TRIPS) -> np.ndarray:
        """Wall time of ``count`` READ_COUNTERS exchanges one at a time, s: the smallest
        command-to-reply latency a closed-loop host sees through this port."""
        times = np.zeros(count)
        for i in range(count):
            started = time.perf_counter()
            self.counters()
            times[i] = time.perf_counter() - started
        return times

    # ---- recovery --------------------------------------------------------------------------
    def _recovering(self, what: str, operation: Callable):
        while True:
            try:
                return operation()
            except (BoardReset, LinkTimeout) as exc:
                if self.recoveries >= self.max_recoveries:
                    raise DeviceError(f"{self.board.port_name}: gave up after "
                                      f"{self.recoveries} recoveries; last: {exc}") from exc
                self.recoveries += 1
                self.notes.append(f"recovery {self.recoveries} during {what}: {exc}")
                self._recover()

    def _recover(self) -> None:
        """Bring the board back to where the journal says it is: identify, upload the
        program, replay every write and run since (their results are discarded)."""
        for attempt in range(self.max_recoveries + 1):
            try:
                self.board.identify()
                # A lost link does not stop the board: a RUN may still be going, and RESET
                # does not end it.  STOP it, empty the spike buffer and log its last step may
                # wait on, and wait for it to end before the program goes in again.
                self.board.stop()
                self.board.reset(RESET_COUNTERS)
                deadline = time.monotonic() + 5.0
                while self.board.counters().steps_left:
                    if time.monotonic() > deadline:
                        raise DeviceError(f"{self.board.port_name}: the board does not stop "
                                          f"its run (STOP, then 5 s of steps)")
                    time.sleep(0.001)
                if self._program is None:
                    return
                self.board.upload(self._program, verify=True)
                for entry in self._journal:
                    if entry[0] == "write":
                        self._write(entry[1])
                    else:
                        self._run(*entry[1:], show=False)
                return
            except (BoardReset, LinkTimeout) as exc:
                if attempt == self.max_recoveries:
                    raise DeviceError(f"{self.board.port_name}: could not bring the board back "
                                      f"after {attempt + 1} attempts: {exc}") from exc

    # ---- the rest ----------------------------------------------------------------------------
    def _progress(self, show: bool = True):
        if not (self.progress and show):
            return contextlib.nullcontext(None)
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
        return Progress(TextColumn(f"[bold]{Path(self.port).name}[/] {{task.description}}"),
                        BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TimeRemainingColumn(), transient=True)

    @property
    def link_stats(self) -> dict[str, int]:
        return dict(vars(self.board.link.stats))

    def close(self) -> None:
        """Close the port; stop the virtual board.  Safe to call twice."""
        if self._serial is not None:
            try:
                self._serial.close()
            finally:
                self._serial = None
        if self._virtual_board is not None:
            self._virtual_board.stop()
            self._virtual_board = None

    def __enter__(self) -> "DeviceSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

