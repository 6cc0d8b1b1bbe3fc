"""Run a network on the FPGA core's golden model behind the runner interface of
:mod:`neurohw.sim`, so that ``neurohw.pynn.setup(target="fpga")`` works.

``Runner(net, ...)`` compiles the IR with :func:`quantize` (capacity and
expressibility errors are raised here, i.e. at the PyNN ``run()``), writes the
program into a :class:`CoreModel` and steps it.  Each ``run()`` returns a
:class:`neurohw.results.HardwareRun`:

* neuron spikes of step ``k`` are stamped ``(k+1)*dt`` (the IR's rule);
  SpikeSourceArray spikes are injected on the nearest step ``m`` and reported
  at ``m*dt``, as the reference simulator does;
* analog signals and the final state are the core's words converted to PyNN
  units (``v``: mV, ``isyn_exc``/``isyn_inh``: nA).  They are read between
  steps, where the bus exposes them: a current sampled at ``t`` does not yet
  hold the spikes arriving at ``t`` (the core adds those at the start of the
  next step), whereas the reference simulator's samples do -- so ``isyn``
  traces lag the reference by one step at arrival instants; ``v`` does not;
* the timing trace is the model's cycle count of every step
  (rtl/README.md, "Cycle budget") at ``clock_hz``.  ``mode="fast"``: the host
  ticks the core as soon as a step is done; ``mode="realtime"``: a timer ticks
  every ``dt`` and ticks that find the core busy are dropped (the core's
  ``OVERRUNS``).  The spikes are the same in both modes -- input injection is
  tied to the step counter, not to wall time -- only the timing differs.

With ``port`` (a serial device path, or ``"virtual"`` for the virtual board) the
network runs on that board (:class:`~neurohw.targets.fpga.device.DeviceSession`):
the program is uploaded and verified by read-back, each run goes to the board
in RUN chunks that end at the analog sampling points (the host reads the
sampled neurons between chunks), and the HardwareRun carries the board's
spikes, step cycles, samples, final state and learned weights, with what the
host measured (``host``) and whether all of it equals the golden model's run,
which is still computed as the prediction (``host.model_agreement``).  A real
board's core parameters and clock are read from it (IDENTIFY); given options
must match them.

Between runs the runner takes what the core can take in place: neuron
parameters (re-quantized into profiles, the state kept), ``spike_times`` of
spike sources, the state variables, and weights and delays (delays stay
axonal: one per source).  Anything else raises an error naming it.
"""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Optional

import numpy as np

from ...ir import Network, NetworkError, Population
from ...results import HardwareRun, HostMeasurement, QuantizationError, Signal, SpikeTrains
from . import formats as F
from .device import VIRTUAL, DeviceSession
# the clock when neither the options nor a board give one: the iCEBreaker build's, which the
# virtual board reports too, so that a model run and a virtual-board run compare as they are
from .virtual import DEFAULT_CLOCK_HZ
from .model import accepted_ticks
from .program import FpgaProgram, load_model
from .quantize import CapacityError, _propagators, quantize

__all__ = ["Runner", "MODES"]

MODES = ("fast", "realtime")
_STATE_VARIABLES = ("v", "isyn_exc", "isyn_inh")
# the core's build parameters when neither the options nor a board give them (rtl/core.v)
DEFAULT_CORE = {"n_neurons": 256, "n_inputs": 256, "weight_width": 8, "delay_depth": 16}
# the sparse core's (rtl/core_sparse.v): the ULX3S build, 1024 neurons, 64k synapses
DEFAULT_SPARSE_CORE = {"n_neurons": 1024, "n_inputs": 1024, "synapses": 65536,
                       "plastic_synapses": 16384}


def _address(region: int, offset: int) -> int:
    return (region << F.REGION_SHIFT) | offset


def _error(parameter: str, unit: str, wanted, got) -> QuantizationError:
    wanted = np.atleast_1d(np.asarray(wanted, dtype=np.float64))
    got = np.atleast_1d(np.asarray(got, dtype=np.float64))
    if wanted.size == 0:
        return QuantizationError(parameter, unit, 0.0, 0.0, 0)
    max_abs = float(np.max(np.abs(got - wanted)))
    scale = float(np.max(np.abs(wanted)))
    return QuantizationError(parameter, unit, max_abs, max_abs / scale if scale else 0.0,
                             int(wanted.size))


def _signed(words: np.ndarray, width: int) -> np.ndarray:
    """Two's-complement ``width``-bit fields -> signed integers."""
    words = np.asarray(words, dtype=np.int64) & ((1 << width) - 1)
    return np.where(words >= 1 << (width - 1), words - (1 << width), words)


def _time_constant(retention: np.ndarray, dt: float) -> np.ndarray:
    """The time constant (ms) a u16 retention code exp(-dt/tau) stands for (0 for code 0)."""
    with np.errstate(divide="ignore"):
        return np.where(retention > 0,
                        -dt / np.log(np.maximum(retention, 1) / (1 << F.DECAY_FRAC)), 0.0)


def retransmission_note(link: dict, virtual: bool) -> str:
    """Why the link sent frames again, from its counters (:class:`~.link.LinkStats`), and
    that nothing was applied twice: a copy of an applied frame is answered as a duplicate
    (rtl/PROTOCOL.md section 4)."""
    def count(n: int, one: str, many: str) -> str:
        return f"{n} {one if n == 1 else many}"

    causes = []
    if link.get("timeouts"):
        causes.append(count(link["timeouts"], "reply-timer expiry", "reply-timer expiries")
                      + " (a reply late or lost"
                      + (": the Verilated board answers slower on a loaded host" if virtual else "")
                      + ")")
    if link.get("nacks"):
        overflows = link.get("overflow_nacks", 0)
        causes.append(count(link["nacks"], "NACK", "NACKs") + " of damaged frames"
                      + (f", {overflows} of them receive-FIFO overflows" if overflows else ""))
    if link.get("fast_retransmits"):
        causes.append(count(link["fast_retransmits"], "damaged reply", "damaged replies"))
    return (f"the link sent {count(link['retransmissions'], 'frame', 'frames')} again, after "
            + (", ".join(causes) or "no counted cause") + "; a copy of a frame already applied "
            "is answered as a duplicate, so nothing was applied twice")


class Runner:
    """The FPGA core's golden model as a target (interface: :mod:`neurohw.sim`).

    Options (``setup(target="fpga", ...)``): ``clock_hz`` (Hz; default the iCEBreaker
    build's 24 MHz, or a board's own) and ``mode`` ("fast" or "realtime") shape the timing
    trace only; ``n_neurons``, ``n_inputs``, ``weight_width`` (bits) and
    ``delay_depth`` (slots) are the core's build parameters (rtl/README.md,
    "Parameters"); ``architecture`` ("pipelined", rtl/core.v; "compact",
    rtl/core_compact.v: the same results, its own clocks per step; or "sparse",
    rtl/core_sparse.v: synapse lists instead of the dense matrix, 1024 neurons by
    default, with ``synapses`` and ``plastic_synapses`` its list capacities) is the
    core.  With the default 8-bit weights every weight is rounded to
    1/127 of the largest; 16 bits bring the spikes close to the reference
    simulator's.  ``port`` (a serial device path or "virtual"), ``baudrate`` and
    ``verify`` (read the upload back) run the network on a board (module docstring).
    """

    backend = "fpga"

    # An explicit signature (no **options): neurohw.pynn.targets.check_options reads it to
    # reject unknown options at setup().
    def __init__(self, net: Network, clock_hz: Optional[float] = None, mode: str = "fast",
                 n_neurons: Optional[int] = None, n_inputs: Optional[int] = None,
                 weight_width: Optional[int] = None, delay_depth: Optional[int] = None,
                 architecture: Optional[str] = None, synapses: Optional[int] = None,
                 plastic_synapses: Optional[int] = None, port: Optional[str] = None,
                 baudrate: Optional[int] = None, verify: bool = True):
        started = time.perf_counter()
        if not isinstance(net, Network):
            raise TypeError(f"fpga target: expected a neurohw.ir.Network, got "
                            f"{type(net).__name__}")
        if clock_hz is not None and not (isinstance(clock_hz, (int, float))
                                         and math.isfinite(clock_hz) and clock_hz > 0):
            raise ValueError(f"fpga target: clock_hz must be a finite number > 0 Hz, "
                             f"got {clock_hz!r}")
        if mode not in MODES:
            raise ValueError(f"fpga target: mode must be one of {', '.join(MODES)}, got {mode!r}")
        if port is None and baudrate is not None:
            raise ValueError("fpga target: baudrate is the board's; give port= (a serial device "
                             "path, or 'virtual')")
        if not isinstance(verify, bool):
            raise ValueError(f"fpga target: verify must be True or False, got {verify!r}")
        given = {name: value for name, value in (
            ("n_neurons", n_neurons), ("n_inputs", n_inputs), ("weight_width", weight_width),
            ("delay_depth", delay_depth), ("synapses", synapses),
            ("plastic_synapses", plastic_synapses)) if value is not None}
        if architecture is not None:
            # a name, or the F.ARCH_* value that CoreShape holds (dataclasses.asdict(shape))
            if architecture in F.ARCHITECTURE_NAMES:
                architecture = F.ARCHITECTURE_NAMES.index(architecture)
            elif not (type(architecture) is int and architecture in F.ARCHITECTURES):
                raise ValueError(f"fpga target: architecture must be one of "
                                 f"{', '.join(F.ARCHITECTURE_NAMES)}, got {architecture!r}")
            given["architecture"] = architecture
        self.device: Optional[DeviceSession] = None
        try:
            if port is not None and port != VIRTUAL:
                # a real board says what it is; the options may only confirm it
                self.device = DeviceSession(port, baudrate=baudrate, clock_hz=clock_hz)
                board = self.device.info
                for name, value in given.items():
                    if getattr(board.shape, name) != value:
                        have, want = getattr(board.shape, name), value
                        if name == "architecture":
                            have, want = (repr(F.ARCHITECTURE_NAMES[have]),
                                          repr(F.ARCHITECTURE_NAMES[want]))
                        raise ValueError(f"fpga target: the board on {port} has {name}="
                                         f"{have}, the options ask for {want}; leave {name} "
                                         f"out to use the board's")
                self.shape = board.shape
                clock_hz = board.clock_hz
            else:
                sparse = given.get("architecture") == F.ARCH_SPARSE
                # a dense core has no lists: 0 (as dataclasses.asdict of its shape says) is fine
                if not sparse and (given.get("synapses") or given.get("plastic_synapses")):
                    raise ValueError("fpga target: synapses and plastic_synapses size the "
                                     "sparse core's lists; give architecture='sparse'")
                defaults = {**DEFAULT_CORE, **DEFAULT_SPARSE_CORE} if sparse else DEFAULT_CORE
                self.shape = F.CoreShape(**{**defaults, **given})
            self._setup(net, float(clock_hz or DEFAULT_CLOCK_HZ), mode)
            if port == VIRTUAL:
                # quantized first: a network that does not fit fails before Verilator starts
                self.device = DeviceSession(VIRTUAL, baudrate=baudrate, shape=self.shape,
                                            clock_hz=clock_hz or DEFAULT_CLOCK_HZ)
                self._set_clock(float(self.device.info.clock_hz))
            if self.device is not None:
                payload_before = self.device.link_stats.get("payload_bytes", 0)
                self._upload_s, self._verify_s = self.device.load(self.program, verify)
                self._upload_payload = self.device.link_stats.get("payload_bytes", 0) \
                    - payload_before
                self._round_trips = self.device.measure_round_trips()
                # what the first run's host measurement covers: everything since the port opened
                self._host_mark = ({}, 0, 0)
        except BaseException:
            self.close()
            raise
        self._build_seconds = time.perf_counter() - started

    @classmethod
    def device_options(cls, port: str, baudrate: Optional[int] = None) -> dict:
        """The options that make a model run describe the board on ``port``: its core
        parameters and clock (IDENTIFY; the port is opened and closed again).  Nothing for
        the virtual board, which is built to the options."""
        if port == VIRTUAL:
            return {}
        with DeviceSession(port, baudrate=baudrate) as session:
            info = session.info
        core = dataclasses.asdict(info.shape)
        if not info.shape.sparse:
            del core["synapses"], core["plastic_synapses"]   # the sparse core's options only
        core["architecture"] = F.ARCHITECTURE_NAMES[core["architecture"]]
        return {**core, "clock_hz": float(info.clock_hz)}

    def _setup(self, net: Network, clock_hz: float, mode: str) -> None:
        self.mode = mode
        self.dt = float(net.dt)
        self._set_clock(clock_hz)
        self.net = net
        # quantize() derives the weight LSB (and so the current LSB and the gains) from
        # the weights: re-quantizing for a parameter change must see the weights the
        # core was loaded with, not later ones
        self._layout_net = net
        self.program: FpgaProgram = quantize(net, self.shape)
        self.model = load_model(self.program)
        # bus writes made after the upload that the board has not had yet
        self._pending_writes: list[tuple[int, int]] = []
        self._v_rest = self.program.v_rest.copy()
        self._step = 0
        self._synapses = {prj.label: (self._source_ids(prj.pre, prj.pre_idx),
                                      self.program.neurons[prj.post][prj.post_idx])
                          for prj in net.projections}
        self._schedule_inputs()
        # errors of what was written, for values the run then changes: v, and the
        # weights that STDP learns
        self._initial_v_error = {
            pop.label: _error("v_init", "mV", pop.initial["v"],
                              self._v_mV(self.program.neurons[pop.label]))
            for pop in net.populations if pop.label in self.program.neurons}
        self._written_weight_error = {
            prj.label: _error("weight", "nA", prj.weight, self.get_synapses(prj.label, "weight"))
            for prj in net.projections if prj.plasticity is not None}
        self._reported_build = False

    def _set_clock(self, clock_hz: float) -> None:
        self.clock_hz = clock_hz
        # one real-time tick every dt, in whole clock cycles
        self.tick_period_cycles = max(1, int(round(self.clock_hz * self.dt * 1e-3)))

    def close(self) -> None:
        """Close the board's port (and stop the virtual board).  The golden model stays."""
        if getattr(self, "device", None) is not None:
            self._closed_port = self.device.port
            self.device.close()
            self.device = None

    # ---- the runner interface ---------------------------------------------------------
    @property
    def t(self) -> float:
        """Current simulated time, ms."""
        return self._step * self.dt

    def run(self, duration: float) -> HardwareRun:
        """Step the core ``round(duration/dt)`` times; the HardwareRun of that stretch."""
        if not (isinstance(duration, (int, float, np.integer, np.floating))
                and math.isfinite(duration) and duration >= 0):
            raise ValueError(f"fpga target: run duration must be a finite number >= 0 ms, "
                             f"got {duration!r}")
        if getattr(self, "_closed_port", None):
            raise RuntimeError(f"fpga target: the session with the board on "
                               f"{self._closed_port} was closed")
        started = time.perf_counter()
        n_steps = int(round(duration / self.dt))
        k_first = self._step
        groups = self._recording_groups()
        samples = {key: [] for key in groups}
        first_input, last_input = np.searchsorted(self._input_step, [k_first, k_first + n_steps])
        # the board first: a Ctrl-C during its run stops the board (its progress is the
        # one worth watching); the model's run is the prediction it is checked against
        on_board = (self._run_on_device(k_first, n_steps, groups, slice(first_input, last_input))
                    if self.device is not None else None)
        fired_ids, fired_steps, cycles = [], [], []
        # the model runs the stretches between state samples in one call each
        bounds = sorted({0, n_steps} | {j for every, _ in groups.values()
                                        for j in range(0, n_steps, every)})
        for j, j_end in zip(bounds[:-1], bounds[1:]):
            for (label, var), (every, ids) in groups.items():
                if j % every == 0:
                    samples[(label, var)].append(self._read_state(var, ids))
            # spikes stamped k*dt are written to INJECT while the step counter reads k
            start = np.searchsorted(self._input_step, np.arange(k_first + j, k_first + j_end + 1))
            steps = self.model.run(self._input_channel[start[0]:start[-1]], start - start[0])
            fired_ids.append(steps.fired)
            fired_steps.append(k_first + j + np.repeat(np.arange(j_end - j),
                                                       np.diff(steps.fired_start)))
            cycles.append(steps.cycles)
        cycles = np.concatenate(cycles) if cycles else np.zeros(0, dtype=np.int64)
        self._step += n_steps

        result = self._result(k_first, n_steps, cycles, self._config(), groups, samples,
                              fired_ids, fired_steps, slice(first_input, last_input))
        result.dropped_ticks, result.elapsed_ns = self._pacing(cycles)
        for label, ids in self.program.neurons.items():
            result.final_state[label] = {var: self._read_state(var, ids)
                                         for var in _STATE_VARIABLES}
        for prj in self.net.projections:
            if prj.plasticity is not None:
                result.weights[prj.label] = self.get_synapses(prj.label, "weight")
        if on_board is not None:
            self._check_against_model(on_board, result)
            result = on_board
        result.wall_time = {"build": 0.0 if self._reported_build else self._build_seconds,
                            "run": time.perf_counter() - started}
        self._reported_build = True
        return result

    def set_parameter(self, pop_label: str, name: str, values) -> None:
        """Change a neuron parameter (re-quantized into the profiles; the core keeps its
        state) or the ``spike_times`` of a SpikeSourceArray, for later runs."""
        pop = self._population(pop_label)
        if pop.cell_type == "SpikeSourceArray":
            if name != "spike_times":
                raise NetworkError(f"population '{pop_label}' (SpikeSourceArray): the fpga "
                                   f"target can change 'spike_times' only, not '{name}'")
            self._replace_population(dataclasses.replace(pop, spike_times=tuple(values)))
            self._schedule_inputs()
            return
        if name not in pop.params:
            raise NetworkError(f"population '{pop_label}' ({pop.cell_type}) has no parameter "
                               f"'{name}'; parameters: {', '.join(pop.params)}")
        params = dict(pop.params)
        params[name] = values
        new_pop = dataclasses.replace(pop, params=params)     # validates the values
        layout = dataclasses.replace(self._layout_net, populations=tuple(
            new_pop if p.label == pop_label else p for p in self._layout_net.populations))
        try:
            program = quantize(layout, self.shape)
        except CapacityError as exc:     # e.g. more distinct profiles than the core has
            raise CapacityError(exc.resource, exc.limit, exc.demand,
                                f"setting '{name}' of population '{pop_label}'") from exc
        ids = self.program.neurons[pop_label]
        v_now = self._v_mV(ids)
        for address, data in program.writes:
            region, offset = address >> F.REGION_SHIFT, address & ((1 << F.REGION_SHIFT) - 1)
            if region == F.REGION_PROFILE or address == _address(F.REGION_CONTROL,
                                                                  F.REG_GAIN_SHIFT):
                self._write(address, data)
            elif region == F.REGION_CONTROL_WORD:
                # a new profile index; the refractory count and last spike stay
                profile = (data >> F.REFRAC_WIDTH) & (F.NUM_PROFILES - 1)
                self._write(address, self.model.control_word(offset)
                                 & ~((F.NUM_PROFILES - 1) << F.REFRAC_WIDTH)
                                 | profile << F.REFRAC_WIDTH)
        self._layout_net = layout
        self._replace_population(new_pop)
        self.program = dataclasses.replace(self.program, gain_shift=program.gain_shift,
                                           v_rest=program.v_rest, errors=program.errors,
                                           notes=program.notes)
        if name == "v_rest":
            # v is stored relative to v_rest: keep the membrane potential, not the word
            self._v_rest = program.v_rest.copy()
            self.set_state(pop_label, "v", v_now)

    def set_state(self, pop_label: str, var: str, values) -> None:
        """Write ``v`` (mV), ``isyn_exc`` or ``isyn_inh`` (nA) of every neuron of a population."""
        pop = self._population(pop_label)
        if pop.celltype.is_source or var not in _STATE_VARIABLES:
            state = ", ".join(pop.celltype.state) or "none"
            raise NetworkError(f"population '{pop_label}' ({pop.cell_type}) has no state "
                               f"variable '{var}' on the fpga target; state: {state}")
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim == 0:
            arr = np.full(pop.size, float(arr))
        if arr.shape != (pop.size,) or not np.all(np.isfinite(arr)):
            raise NetworkError(f"population '{pop_label}': state '{var}' needs {pop.size} "
                               f"finite values, got {arr!r}")
        ids = self.program.neurons[pop_label]
        region, width = {"v": (F.REGION_V, F.V_WIDTH), "isyn_exc": (F.REGION_I_EXC,
                         F.CURRENT_WIDTH), "isyn_inh": (F.REGION_I_INH, F.CURRENT_WIDTH)}[var]
        lsb, unit = (F.V_LSB_MV, "mV") if var == "v" else (self.program.current_lsb, "nA")
        relative = arr - self._v_rest[ids] if var == "v" else arr
        words = np.rint(relative / lsb).astype(np.int64)
        limit = (1 << (width - 1)) - 1
        if np.abs(words).max() > limit:
            worst = int(np.argmax(np.abs(words)))
            what = f"{var} - v_rest" if var == "v" else var
            raise CapacityError(f"population '{pop_label}': {what} range",
                                f"+-{limit * lsb:g} {unit}", f"{relative[worst]:g} {unit}",
                                f"neuron {worst}")
        for n, word in zip(ids, words):
            self._write(_address(region, int(n)), int(word) & ((1 << width) - 1))

    def set_synapses(self, proj_label: str, name: str, values) -> None:
        """Set ``weight`` (nA, in the core's weight LSB) or ``delay`` (ms, one per source)
        of every synapse of a projection, for later runs."""
        prj = self._projection(proj_label)
        if name not in ("weight", "delay"):
            raise NetworkError(f"projection '{proj_label}': cannot set '{name}'; "
                               f"settable: weight, delay")
        new_prj = dataclasses.replace(prj, **{name: values})
        # the Network re-validates signs, delay range and STDP bounds
        new_net = dataclasses.replace(self.net, projections=tuple(
            new_prj if p.label == proj_label else p for p in self.net.projections))
        src, tgt = self._synapses[proj_label]
        if name == "weight":
            self._write_weights(proj_label, src, tgt, new_prj.weight)
            if prj.plasticity is not None:
                self._written_weight_error[proj_label] = _error(
                    "weight", "nA", new_prj.weight, self.get_synapses(proj_label, "weight"))
        else:
            self._write_delays(new_net)
        self.net = new_net

    def get_synapses(self, proj_label: str, name: str) -> np.ndarray:
        """Current ``weight`` (nA; learned for plastic projections) or ``delay`` (ms, as the
        core applies it) of every synapse, in the projection's order."""
        self._projection(proj_label)
        src, tgt = self._synapses[proj_label]
        if name == "weight":
            return self.model.weights(src, tgt) * self.program.weight_lsb
        if name == "delay":
            return self.model.delay[src] * self.dt
        raise NetworkError(f"projection '{proj_label}': no synapse attribute '{name}'; "
                           f"have: weight, delay")

    def quantization_report(self) -> dict[str, dict[str, QuantizationError]]:
        """Per population and projection: how far the core's values are from the network's."""
        dt, model, program = self.dt, self.model, self.program
        gain_scale = F.V_LSB_MV / program.current_lsb / 2.0 ** int(model.regs[F.REG_GAIN_SHIFT])
        report: dict[str, dict[str, QuantizationError]] = {}
        for pop in self.net.populations:
            if pop.cell_type == "SpikeSourceArray":
                wanted = np.concatenate([np.zeros(0), *pop.spike_times])
                report[pop.label] = {"spike_times": _error(
                    "spike_times", "ms", wanted, np.rint(wanted / dt) * dt)}
                continue
            ids = program.neurons[pop.label]
            fields = model.profiles[model.profile[ids]].astype(np.float64)

            def column(name):
                return fields[:, F.PROFILE_FIELDS.index(name)]

            p = pop.params
            p20, p21_exc, p21_inh = _propagators(p, dt)
            errors = [_error(tau, "ms", p[tau], _time_constant(column(code), dt))
                      for tau, code in (("tau_m", "v_decay"), ("tau_syn_E", "exc_decay"),
                                        ("tau_syn_I", "inh_decay"))]
            errors += [_error("exc_gain", "mV/nA", p21_exc, column("exc_gain") * gain_scale),
                       _error("inh_gain", "mV/nA", p21_inh, column("inh_gain") * gain_scale),
                       _error("i_offset", "nA", p["i_offset"],
                              column("bias") * F.V_LSB_MV / p20),
                       _error("v_thresh", "mV", p["v_thresh"],
                              p["v_rest"] + column("v_thresh") * F.V_LSB_MV),
                       _error("v_reset", "mV", p["v_reset"],
                              p["v_rest"] + column("v_reset") * F.V_LSB_MV),
                       _error("tau_refrac", "ms", p["tau_refrac"], column("refrac_steps") * dt),
                       self._initial_v_error[pop.label]]
            report[pop.label] = {e.parameter: e for e in errors}
        for prj in self.net.projections:
            # plastic weights as written: what STDP learned since is not a rounding error
            weight = (self._written_weight_error[prj.label] if prj.plasticity is not None else
                      _error("weight", "nA", prj.weight, self.get_synapses(prj.label, "weight")))
            report[prj.label] = {"weight": weight, "delay": _error(
                "delay", "ms", prj.delay, self.get_synapses(prj.label, "delay"))}
        return report

    # ---- the board ----------------------------------------------------------------------
    def _write(self, address: int, data: int) -> None:
        """A bus write after the upload: into the model now, to the board before its next run."""
        self.model.write(address, data)
        if self.device is not None:
            self._pending_writes.append((address, data))

    def _run_on_device(self, k_first: int, n_steps: int, groups, inputs: slice) -> HardwareRun:
        """Run the steps on the board: RUN chunks between the sampling points, the sampled
        neurons read in between, the final state and the learned weights read at the end."""
        device = self.device
        started = time.perf_counter()
        try:
            device.write(self._pending_writes)
            self._pending_writes = []
            in_steps = self._input_step[inputs] - k_first
            in_channels = self._input_channel[inputs]
            period = self.tick_period_cycles if self.mode == "realtime" else 0
            cuts = {0, n_steps} | {j for every, _ in groups.values()
                                   for j in range(0, n_steps, every)}
            cuts = sorted(cuts)
            samples = {key: [] for key in groups}
            fired_ids, fired_steps, cycles, late = [], [], [], []
            chunk_steps, chunk_wall = [], []
            for a, b in zip(cuts[:-1], cuts[1:]):
                due = [key for key, (every, _) in groups.items() if a % every == 0]
                if due:
                    ids = np.concatenate([groups[key][1] for key in due])
                    first = int(ids.min())
                    state = self._board_state(first, int(ids.max()) + 1 - first)
                    for key in due:
                        samples[key].append(state[key[1]][groups[key][1] - first])
                lo, hi = np.searchsorted(in_steps, [a, b])
                chunk_started = time.perf_counter()
                run = device.run(b - a, in_steps[lo:hi] - a, in_channels[lo:hi], period)
                chunk_wall.append(time.perf_counter() - chunk_started)
                chunk_steps.append(b - a)
                fired_ids.append(run.spike_neurons)
                fired_steps.append(run.spike_steps - run.first_step + a + k_first)
                cycles.append(run.step_cycles)
                late.append(run.step_late)
            counters = device.counters()
            n_used = max((int(ids[-1]) + 1 for ids in self.program.neurons.values()), default=0)
            final = self._board_state(0, n_used) if n_used else {}
            weights = {}
            for prj in self.net.projections:
                if prj.plasticity is not None:
                    src, tgt = self._synapses[prj.label]
                    if self.shape.sparse:
                        # the synapses sit where the program listed them (the model's lists)
                        where = self.model.synapse_addresses(src, tgt)
                        words = np.array(device.read_words(
                            [_address(F.REGION_WEIGHT, int(a)) for a in where]), dtype=np.int64)
                    else:
                        words = np.array(device.read_weights(list(zip(src.tolist(),
                                                                      tgt.tolist()))),
                                         dtype=np.int64)
                    weights[prj.label] = _signed(words, self.shape.weight_width) \
                        * self.program.weight_lsb
        except KeyboardInterrupt:
            # Board.run_events stopped the board; the port is released before the script ends
            self.close()
            raise
        run_s = time.perf_counter() - started
        cycles = np.concatenate(cycles) if cycles else np.zeros(0, np.int64)
        late = np.concatenate(late) if late else np.zeros(0, bool)
        config = {**self._config(), "model": f"the board on {device.port}"
                  + (" (virtual board: the Verilated RTL)" if device.virtual else ""),
                  "port": device.port}
        result = self._result(k_first, n_steps, cycles, config, groups, samples,
                              fired_ids, fired_steps, inputs)
        result.dropped_ticks = 0      # the board's stepped mode starts a step late, drops none
        result.elapsed_ns = self._board_elapsed_ns(cycles)
        for label, ids in self.program.neurons.items():
            result.final_state[label] = {var: final[var][ids] for var in _STATE_VARIABLES}
        result.weights = weights

        stats = device.link_stats
        mark_stats, mark_recoveries, mark_notes = self._host_mark
        first_run = not mark_stats
        result.host = HostMeasurement(
            port=device.port, virtual=device.virtual, baudrate=device.baudrate,
            latency_timer_ms=device.latency_timer_ms,
            upload_s=self._upload_s if first_run else 0.0,
            verify_s=self._verify_s if first_run else 0.0, run_s=run_s,
            bytes_to_board=stats["bytes_written"] - mark_stats.get("bytes_written", 0),
            bytes_from_board=stats["bytes_read"] - mark_stats.get("bytes_read", 0),
            upload_payload_bytes=self._upload_payload if first_run else 0,
            chunk_steps=chunk_steps, chunk_wall_s=chunk_wall,
            round_trip_s=self._round_trips if first_run else np.zeros(0),
            link={key: value - mark_stats.get(key, 0) for key, value in stats.items()},
            board_counters=dataclasses.asdict(counters),
            recoveries=device.recoveries - mark_recoveries,
            late_steps=int(np.count_nonzero(late)),
            notes=list(device.notes[mark_notes:]))
        if result.host.link.get("retransmissions"):
            note = retransmission_note(result.host.link, device.virtual)
            result.host.notes.append(note)
            result.notes.append(note)
        self._host_mark = (stats, device.recoveries, len(device.notes))
        return result

    def _result(self, k_first: int, n_steps: int, cycles: np.ndarray, config: dict, groups,
                samples, fired_ids, fired_steps, inputs: slice) -> HardwareRun:
        """The HardwareRun of a stretch of steps: timing, spikes and sampled signals."""
        result = HardwareRun(t_start=k_first * self.dt, t_stop=(k_first + n_steps) * self.dt,
                             dt=self.dt, backend=self.backend, target="fpga", config=config,
                             clock_hz=self.clock_hz, step_cycles=cycles,
                             overrun=cycles >= self.tick_period_cycles,
                             quantization=self.quantization_report(),
                             notes=list(self.program.notes))
        self._collect_spikes(result, fired_ids, fired_steps, inputs)
        for (label, var), (every, ids) in groups.items():
            rows = samples[(label, var)]
            result.signals.setdefault(label, {})[var] = Signal(
                times=(k_first + every * np.arange(len(rows))) * self.dt,
                indices=self.net.population(label).record[var].copy(),
                values=np.array(rows).reshape(len(rows), ids.size))
        return result

    def _board_state(self, first: int, count: int) -> dict[str, np.ndarray]:
        """v (mV), isyn_exc, isyn_inh (nA) of core neurons first.., read from the board;
        arrays indexed by neuron id - first."""
        records = np.array(self.device.read_neurons(first, count), dtype=np.int64).reshape(-1, 5)
        ids = np.arange(first, first + count)
        lsb = self.program.current_lsb
        return {"v": self._v_rest[ids] + _signed(records[:, 0], F.V_WIDTH) * F.V_LSB_MV,
                "isyn_exc": _signed(records[:, 1], F.CURRENT_WIDTH) * lsb,
                "isyn_inh": _signed(records[:, 2], F.CURRENT_WIDTH) * lsb}

    def _board_elapsed_ns(self, cycles: np.ndarray) -> float:
        """ns from the first step's start to the last one's end as the board paces them: in
        stepped (real-time) mode a step starts a period after the previous one started, or
        when that one is done if it took longer (late, rtl/PROTOCOL.md "Running")."""
        if self.mode == "fast" or cycles.size == 0:
            return self._pacing(cycles)[1]
        starts = np.maximum(cycles[:-1], self.tick_period_cycles).sum()
        return float(starts + cycles[-1]) * 1e9 / self.clock_hz

    def _check_against_model(self, result: HardwareRun, predicted: HardwareRun) -> None:
        """Record in ``result.host`` whether the board's run equals the model's, and where
        it first differs if not."""
        host = result.host
        agreement, notes = {}, []

        def pairs(run):
            return sorted((float(t), label, int(i)) for label, trains in run.spikes.items()
                          for i, t in zip(trains.index, trains.times))
        board_spikes, model_spikes = pairs(result), pairs(predicted)
        agreement["spikes"] = board_spikes == model_spikes
        if not agreement["spikes"]:
            diff = next((a, b) for a, b in zip(board_spikes + [None] * len(model_spikes),
                                               model_spikes + [None] * len(board_spikes))
                        if a != b)
            notes.append(f"the board's spikes differ from the model's: first board "
                         f"{diff[0]}, model {diff[1]} (t ms, population, neuron)")
        agreement["step_cycles"] = np.array_equal(result.step_cycles, predicted.step_cycles)
        if not agreement["step_cycles"]:
            k = int(np.argmax(result.step_cycles != predicted.step_cycles)) \
                if result.step_cycles.shape == predicted.step_cycles.shape else 0
            notes.append(f"the board's step cycles differ from the model's from run step {k}")
        same = all(np.array_equal(result.signals[label][var].values, sig.values)
                   for label, signals in predicted.signals.items()
                   for var, sig in signals.items())
        same = same and all(np.array_equal(result.final_state[label][var], values)
                            for label, state in predicted.final_state.items()
                            for var, values in state.items())
        agreement["state"] = same
        if not same:
            notes.append("the board's neuron state (samples or final) differs from the model's")
        if predicted.weights:
            agreement["weights"] = all(np.array_equal(result.weights[label], w)
                                       for label, w in predicted.weights.items())
            if not agreement["weights"]:
                notes.append("the board's learned weights differ from the model's")
        host.model_agreement = agreement
        host.notes += notes
        result.notes += notes

    # ---- helpers ----------------------------------------------------------------------
    def _config(self) -> dict[str, object]:
        rtl = ("rtl/core.v", "rtl/core_compact.v", "rtl/core_sparse.v")[self.shape.architecture]
        return {"model": f"bit- and cycle-exact golden model of {rtl}",
                "mode": self.mode, "clock_hz": self.clock_hz,
                "tick_period_cycles": self.tick_period_cycles,
                **dataclasses.asdict(self.shape),
                "architecture": F.ARCHITECTURE_NAMES[self.shape.architecture],
                "weight_lsb_nA": self.program.weight_lsb,
                "current_lsb_nA": self.program.current_lsb,
                "v_lsb_mV": F.V_LSB_MV,
                "gain_shift": int(self.model.regs[F.REG_GAIN_SHIFT]),
                "neurons_used": int(self.model.regs[F.REG_N_ACTIVE]),
                "input_channels_used": int(self.model.regs[F.REG_N_INPUTS]),
                "stdp_enabled": bool(self.model.regs[F.REG_STDP_ENABLE])}

    def _pacing(self, cycles: np.ndarray) -> tuple[int, float]:
        """(ticks dropped, ns from the first tick to the last step's done pulse)."""
        if cycles.size == 0:
            return 0, 0.0
        ns_per_cycle = 1e9 / self.clock_hz
        if self.mode == "fast":
            # the host ticks in the first idle cycle after each done pulse
            return 0, (int(cycles.sum()) + cycles.size - 1) * ns_per_cycle
        period = self.tick_period_cycles
        # a step of C cycles accepted on a tick lets the next C // period ticks pass
        ticks = np.arange(int(np.sum(cycles // period + 1))) * period
        accepted, dropped = accepted_ticks(ticks, lambda k: int(cycles[k]))
        return dropped, (int(ticks[accepted[-1]]) + int(cycles[-1])) * ns_per_cycle

    def _source_ids(self, label: str, idx: np.ndarray) -> np.ndarray:
        if label in self.program.neurons:
            return self.program.neurons[label][idx]
        return self.shape.n_neurons + self.program.channels[label][idx]

    def _schedule_inputs(self) -> None:
        """(step, channel) of every input spike not yet due, sorted by step: a spike at T
        is injected on the nearest step (as quantize and the reference simulator do)."""
        steps, channels, owners, indices = [], [], [], []
        for pop in self.net.populations:
            if pop.cell_type != "SpikeSourceArray":
                continue
            for i, train in enumerate(pop.spike_times):
                stamps = np.rint(np.asarray(train) / self.dt).astype(np.int64)
                stamps = stamps[stamps >= self._step]
                steps.append(stamps)
                channels.append(np.full(stamps.size, self.program.channels[pop.label][i]))
                owners.append(np.full(stamps.size, pop.label, dtype=object))
                indices.append(np.full(stamps.size, i))
        cat = (lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts
               else np.zeros(0, dtype))
        order = np.argsort(cat(steps, np.int64), kind="stable")
        self._input_step = cat(steps, np.int64)[order]
        self._input_channel = cat(channels, np.int64)[order]
        self._input_owner = cat(owners, object)[order]
        self._input_index = cat(indices, np.int64)[order]

    def _recording_groups(self) -> dict[tuple[str, str], tuple[int, np.ndarray]]:
        """(population, variable) -> (sample every so many steps, core neuron ids)."""
        groups = {}
        for pop in self.net.populations:
            interval = pop.record_interval if pop.record_interval is not None else self.dt
            for var, idx in pop.record.items():
                if var != "spikes":
                    groups[(pop.label, var)] = (max(1, int(round(interval / self.dt))),
                                                self.program.neurons[pop.label][idx])
        return groups

    def _read_state(self, var: str, ids: np.ndarray) -> np.ndarray:
        """A state variable of core neurons ``ids`` in PyNN units, from the core's words."""
        if var == "v":
            return self._v_mV(ids)
        words = self.model.i_exc if var == "isyn_exc" else self.model.i_inh
        return words[ids] * self.program.current_lsb

    def _v_mV(self, ids: np.ndarray) -> np.ndarray:
        return self._v_rest[ids] + self.model.v[ids] * F.V_LSB_MV

    def _collect_spikes(self, result, fired_ids, fired_steps, injected: slice) -> None:
        index = np.concatenate(fired_ids) if fired_ids else np.zeros(0, np.int64)
        step = np.concatenate(fired_steps) if fired_steps else np.zeros(0, np.int64)
        for pop in self.net.populations:
            if "spikes" not in pop.record:
                continue
            recorded = pop.record["spikes"]
            if pop.cell_type == "SpikeSourceArray":
                # source spikes carry their own grid time, m*dt
                mine = self._input_owner[injected] == pop.label
                local = self._input_index[injected][mine]
                stamps = self._input_step[injected][mine] * self.dt
            else:
                ids = self.program.neurons[pop.label]
                mine = (index >= ids[0]) & (index <= ids[-1])
                local = index[mine] - ids[0]
                stamps = (step[mine] + 1) * self.dt
            keep = np.isin(local, recorded)
            result.spikes[pop.label] = SpikeTrains(local[keep], stamps[keep])

    def _write_weights(self, proj_label, src, tgt, weight) -> None:
        lsb = self.program.weight_lsb
        codes = np.rint(weight / lsb).astype(np.int64)
        low, high = self.shape.weight_min, self.shape.weight_max
        outside = (codes < low) | (codes > high)
        if np.any(outside):
            i = int(np.flatnonzero(outside)[0])
            raise CapacityError(f"projection '{proj_label}': weight range",
                                f"{low * lsb:g}..{high * lsb:g} nA (weight LSB {lsb:g} nA "
                                f"fixed when the network was loaded)",
                                f"{weight[i]:g} nA", f"synapse {i}")
        width = self.shape.weight_width
        plastic = self.model.plastic_flags(src, tgt).astype(np.int64)
        words = plastic << width | codes & ((1 << width) - 1)
        if self.shape.sparse:
            # the synapses keep their places in the lists; the target rides in the word
            offsets = self.model.synapse_addresses(src, tgt)
            words = words | np.asarray(tgt, dtype=np.int64) << (width + 1)
        else:
            offsets = np.asarray(src, dtype=np.int64) << self.shape.neuron_bits | tgt
        for offset, word in zip(offsets, words):
            self._write(_address(F.REGION_WEIGHT, int(offset)), int(word))

    def _write_delays(self, net: Network) -> None:
        """One delay per source over all projections of ``net``, written to the delay memory."""
        delay_of: dict[int, set[int]] = {}
        for prj in net.projections:
            steps = np.rint(prj.delay / self.dt).astype(np.int64)
            if steps.size and steps.max() > self.shape.max_delay:
                raise CapacityError(f"projection '{prj.label}': axonal delay",
                                    f"{self.shape.max_delay} steps "
                                    f"({self.shape.max_delay * self.dt:g} ms)",
                                    f"{int(steps.max())} steps ({float(prj.delay.max()):g} ms)")
            for s, d in zip(self._synapses[prj.label][0], steps):
                delay_of.setdefault(int(s), set()).add(int(d))
        for s, delays in delay_of.items():
            if len(delays) > 1:
                raise CapacityError("delays per source (axonal delays)", 1, len(delays),
                                    f"source {s} would have delays "
                                    f"{', '.join(f'{d * self.dt:g}' for d in sorted(delays))} ms")
        for s, (d,) in delay_of.items():
            self._write(_address(F.REGION_DELAY, s), d)

    def _population(self, label: str) -> Population:
        try:
            return self.net.population(label)
        except KeyError as exc:
            raise NetworkError(exc.args[0]) from None

    def _projection(self, label: str):
        try:
            return self.net.projection(label)
        except KeyError as exc:
            raise NetworkError(exc.args[0]) from None

    def _replace_population(self, new_pop: Population) -> None:
        self.net = dataclasses.replace(self.net, populations=tuple(
            new_pop if p.label == new_pop.label else p for p in self.net.populations))
