"""What a run returns: the one shape shared by software simulators and hardware targets.

A :class:`RunResult` covers one contiguous stretch of simulated time, the
steps from ``t_start`` to ``t_stop``.  Neuron spikes are stamped at the end of
their step (see :mod:`neurohw.ir`), so they fall in ``(t_start, t_stop]``;
spike-source spikes carry their own grid time and fall in ``[t_start, t_stop)``.  Spikes are kept as flat ``(index, time)`` arrays per
population (memory linear in the number of spikes); analog signals are dense
``(n_samples, n_recorded)`` blocks sampled at the population's record interval.
Hardware targets subclass this (``HardwareRun``) and add their timing trace,
so the report never special-cases a target.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SpikeTrains", "Signal", "RunResult", "QuantizationError", "HostMeasurement",
           "HardwareRun"]


@dataclass
class SpikeTrains:
    """All spikes of one population: neuron ``index[i]`` fired at ``times[i]`` ms."""
    index: np.ndarray   # int64
    times: np.ndarray   # float64, ms, non-decreasing

    def __post_init__(self):
        self.index = np.asarray(self.index, dtype=np.int64)
        self.times = np.asarray(self.times, dtype=np.float64)

    def of(self, i: int) -> np.ndarray:
        """Spike times of neuron ``i``."""
        return self.times[self.index == i]

    def __len__(self) -> int:
        return int(self.times.size)


@dataclass
class Signal:
    """A sampled state variable: ``values[k, j]`` is the variable of neuron
    ``indices[j]`` at time ``times[k]`` (ms)."""
    times: np.ndarray     # (n_samples,) ms
    indices: np.ndarray   # (n_recorded,) int64
    values: np.ndarray    # (n_samples, n_recorded) float64, PyNN units


@dataclass
class RunResult:
    """Everything a run recorded, plus the state it ended in."""
    t_start: float
    t_stop: float
    dt: float
    spikes: dict[str, SpikeTrains] = field(default_factory=dict)           # by population
    signals: dict[str, dict[str, Signal]] = field(default_factory=dict)    # population -> var
    weights: dict[str, np.ndarray] = field(default_factory=dict)           # plastic projections
    final_state: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    wall_time: dict[str, float] = field(default_factory=dict)              # "build", "run" (s)
    backend: str = ""


@dataclass(frozen=True)
class QuantizationError:
    """How far a target's stored value of one parameter is from the network's.

    Both sides are compared in PyNN units (``unit``) after converting the
    target's word back, so the error is what the hardware actually runs with.
    """
    parameter: str
    unit: str          # PyNN unit of max_abs, e.g. "ms", "mV", "nA"
    max_abs: float     # largest |target value - network value| over the elements, in unit
    max_rel: float     # max_abs / the largest |network value| (0 when all values are 0)
    count: int         # elements compared (neurons, synapses, spikes)


@dataclass
class HostMeasurement:
    """What the host measured while a run went to a device (a board over UART, or
    the virtual board), beside the target model's predictions.

    Times are wall-clock seconds on the host; on the virtual board they measure
    the Verilated RTL and the pseudo-terminal, not a board's clock (``virtual``
    says which).  Byte counts are on the wire, framing, stuffing and
    acknowledgements included.
    """
    port: str                                   # device path
    virtual: bool                               # the virtual board (Verilated RTL behind a pty)
    baudrate: int                               # the port's configured rate, baud (a pty ignores it)
    latency_timer_ms: float | None = None       # FTDI latency timer as read, ms (None: not an FTDI port)
    upload_s: float = 0.0                       # program upload, s
    verify_s: float = 0.0                       # read-back verification, s
    run_s: float = 0.0                          # RUN commands to the last result read, s
    bytes_to_board: int = 0                     # bytes written to the port
    bytes_from_board: int = 0                   # bytes read from it
    upload_payload_bytes: int = 0               # command payload bytes of the upload
    chunk_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))   # steps per RUN
    chunk_wall_s: np.ndarray = field(default_factory=lambda: np.zeros(0))  # s, RUN sent -> results in
    round_trip_s: np.ndarray = field(default_factory=lambda: np.zeros(0))  # s, small command round trips
    link: dict[str, int] = field(default_factory=dict)            # LinkStats (retransmissions, ...)
    board_counters: dict[str, int] = field(default_factory=dict)  # READ_COUNTERS after the run
    recoveries: int = 0                         # times the run restarted after a board reset / lost link
    late_steps: int = 0                         # steps the board's timer started late (real-time mode)
    # does the device's run equal the target model's?  "spikes", "step_cycles", "final_state",
    # "weights" -> True/False (what was compared); a False is explained in notes
    model_agreement: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.chunk_steps = np.asarray(self.chunk_steps, dtype=np.int64)
        self.chunk_wall_s = np.asarray(self.chunk_wall_s, dtype=np.float64)
        self.round_trip_s = np.asarray(self.round_trip_s, dtype=np.float64)

    @property
    def step_latency_s(self) -> float:
        """Host-measured wall time per step over the run's RUN chunks, s (NaN if none)."""
        steps = int(self.chunk_steps.sum())
        return float(self.chunk_wall_s.sum()) / steps if steps else float("nan")


@dataclass
class HardwareRun(RunResult):
    """A :class:`RunResult` from a hardware target (a cycle model or a device).

    Adds what software runs do not have, in one shape for every target
    (FPGA core, Loihi, SpiNNaker) so that the report never special-cases one:

    * the timing trace: ``step_cycles[k]`` is the number of clock cycles of
      step ``k`` of this run (``t_start/dt + k`` in network steps), at
      ``clock_hz``; the real-time deadline of every step is ``dt``;
      ``overrun[k]`` says that step ``k`` missed it (the target defines the
      exact edge; the FPGA core: the next tick would find the core busy);
      ``dropped_ticks`` counts the real-time ticks the target ignored because
      it was busy (0 where the host paces the steps);
      ``elapsed_ns`` is how long the hardware took for the run as it was run
      (paced by the host as fast as possible, or by a real-time tick);
    * the quantization report: ``quantization[owner][parameter]`` with
      ``owner`` a population or projection label, errors in PyNN units;
    * ``target``, its ``config`` (build parameters, clock, mode, scales chosen
      by the compiler; values in the units their keys name) and ``notes``
      (the compiler's warnings, e.g. possible saturation);
    * ``host``: for a run on a device (a board, the virtual board), what the host
      measured (:class:`HostMeasurement`); None for a run of the target's model.
    """
    target: str = ""
    config: dict[str, object] = field(default_factory=dict)
    clock_hz: float = 0.0                                                   # Hz
    step_cycles: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # cycles
    overrun: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))   # per step
    dropped_ticks: int = 0                                                  # ticks
    elapsed_ns: float = 0.0                                                 # ns
    quantization: dict[str, dict[str, QuantizationError]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    host: HostMeasurement | None = None

    def __post_init__(self):
        self.step_cycles = np.asarray(self.step_cycles, dtype=np.int64)
        self.overrun = np.asarray(self.overrun, dtype=bool)
        steps = int(round((self.t_stop - self.t_start) / self.dt))
        for name in ("step_cycles", "overrun"):
            if getattr(self, name).shape != (steps,):
                raise ValueError(f"HardwareRun.{name}: expected one entry per step ({steps} "
                                 f"steps from {self.t_start} to {self.t_stop} ms), got shape "
                                 f"{getattr(self, name).shape}")
        if not self.clock_hz > 0:
            raise ValueError(f"HardwareRun.clock_hz must be > 0 Hz, got {self.clock_hz}")

    @property
    def n_steps(self) -> int:
        return int(self.step_cycles.size)

    @property
    def step_ns(self) -> np.ndarray:
        """Duration of every step on the hardware, ns (float64)."""
        return self.step_cycles * (1e9 / self.clock_hz)

    @property
    def deadline_ns(self) -> float:
        """The real-time budget of one step: ``dt``, in ns."""
        return self.dt * 1e6

    @property
    def overruns(self) -> int:
        """Number of steps that missed the real-time deadline."""
        return int(np.count_nonzero(self.overrun))

    @property
    def total_cycles(self) -> int:
        """Clock cycles of all steps of the run."""
        return int(self.step_cycles.sum())

    @property
    def compute_ns(self) -> float:
        """Time the steps themselves take back to back, ns (no host pacing or I/O)."""
        return self.total_cycles * 1e9 / self.clock_hz

    @property
    def real_time_factor(self) -> float:
        """Hardware compute time / simulated time (dimensionless): below 1 the
        target computes faster than real time on average; NaN for an empty run."""
        simulated_ns = (self.t_stop - self.t_start) * 1e6
        return self.compute_ns / simulated_ns if simulated_ns > 0 else float("nan")
