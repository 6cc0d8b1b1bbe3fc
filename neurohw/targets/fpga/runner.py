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

Between runs the runner takes what the core can take in place: neuron
parameters (re-quantized into profiles, the state kept), ``spike_times`` of
spike sources, the state variables, and weights and delays (delays stay
axonal: one per source).  Anything else raises an error naming it.
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from ...ir import Network, NetworkError, Population
from ...results import HardwareRun, QuantizationError, Signal, SpikeTrains
from . import formats as F
from .model import accepted_ticks
from .program import FpgaProgram, load_model
from .quantize import CapacityError, _propagators, quantize

__all__ = ["Runner", "MODES"]

MODES = ("fast", "realtime")
_STATE_VARIABLES = ("v", "isyn_exc", "isyn_inh")


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


def _time_constant(retention: np.ndarray, dt: float) -> np.ndarray:
    """The time constant (ms) a u16 retention code exp(-dt/tau) stands for (0 for code 0)."""
    with np.errstate(divide="ignore"):
        return np.where(retention > 0,
                        -dt / np.log(np.maximum(retention, 1) / (1 << F.DECAY_FRAC)), 0.0)


class Runner:
    """The FPGA core's golden model as a target (interface: :mod:`neurohw.sim`).

    Options (``setup(target="fpga", ...)``): ``clock_hz`` (Hz) and ``mode``
    ("fast" or "realtime") shape the timing trace only; ``n_neurons``,
    ``n_inputs``, ``weight_width`` (bits) and ``delay_depth`` (slots) are the
    core's build parameters (rtl/README.md, "Parameters").  With the default
    8-bit weights every weight is rounded to 1/127 of the largest; 16 bits
    bring the spikes close to the reference simulator's.
    """

    backend = "fpga"

    # An explicit signature (no **options): neurohw.pynn.targets.check_options reads it to
    # reject unknown options at setup().  The core's build parameters default to rtl/core.v's.
    def __init__(self, net: Network, clock_hz: float = 100e6, mode: str = "fast",
                 n_neurons: int = 256, n_inputs: int = 256, weight_width: int = 8,
                 delay_depth: int = 16):
        started = time.perf_counter()
        if not isinstance(net, Network):
            raise TypeError(f"fpga target: expected a neurohw.ir.Network, got "
                            f"{type(net).__name__}")
        if not (isinstance(clock_hz, (int, float)) and math.isfinite(clock_hz) and clock_hz > 0):
            raise ValueError(f"fpga target: clock_hz must be a finite number > 0 Hz, "
                             f"got {clock_hz!r}")
        if mode not in MODES:
            raise ValueError(f"fpga target: mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.shape = F.CoreShape(n_neurons=n_neurons, n_inputs=n_inputs,
                                 weight_width=weight_width, delay_depth=delay_depth)
        self.clock_hz = float(clock_hz)
        self.mode = mode
        self.dt = float(net.dt)
        # one real-time tick every dt, in whole clock cycles
        self.tick_period_cycles = max(1, int(round(self.clock_hz * self.dt * 1e-3)))
        self.net = net
        # quantize() derives the weight LSB (and so the current LSB and the gains) from
        # the weights: re-quantizing for a parameter change must see the weights the
        # core was loaded with, not later ones
        self._layout_net = net
        self.program: FpgaProgram = quantize(net, self.shape)
        self.model = load_model(self.program)
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
        self._build_seconds = time.perf_counter() - started

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
        started = time.perf_counter()
        n_steps = int(round(duration / self.dt))
        k_first = self._step
        groups = self._recording_groups()
        samples = {key: [] for key in groups}
        inject = _address(F.REGION_CONTROL, F.REG_INJECT)
        first_input, last_input = np.searchsorted(self._input_step, [k_first, k_first + n_steps])
        next_input = first_input
        fired_ids, fired_steps = [], []
        cycles = np.zeros(n_steps, dtype=np.int64)
        for j in range(n_steps):
            k = k_first + j
            for (label, var), (every, ids) in groups.items():
                if j % every == 0:
                    samples[(label, var)].append(self._read_state(var, ids))
            # spikes stamped k*dt are written to INJECT while the step counter reads k
            while next_input < last_input and self._input_step[next_input] == k:
                self.model.write(inject, int(self._input_channel[next_input]))
                next_input += 1
            fired = self.model.step()
            if fired.size:
                fired_ids.append(fired)
                fired_steps.append(np.full(fired.size, k))
            cycles[j] = self.model.last_cycles
        self._step += n_steps

        result = HardwareRun(t_start=k_first * self.dt, t_stop=self._step * self.dt,
                             dt=self.dt, backend=self.backend, target="fpga",
                             config=self._config(), clock_hz=self.clock_hz,
                             step_cycles=cycles, overrun=cycles >= self.tick_period_cycles,
                             quantization=self.quantization_report(),
                             notes=list(self.program.notes))
        result.dropped_ticks, result.elapsed_ns = self._pacing(cycles)
        self._collect_spikes(result, fired_ids, fired_steps,
                             slice(first_input, last_input))
        for (label, var), (every, ids) in groups.items():
            pop = self.net.population(label)
            rows = samples[(label, var)]
            result.signals.setdefault(label, {})[var] = Signal(
                times=(k_first + every * np.arange(len(rows))) * self.dt,
                indices=pop.record[var].copy(),
                values=np.array(rows).reshape(len(rows), ids.size))
        for label, ids in self.program.neurons.items():
            result.final_state[label] = {var: self._read_state(var, ids)
                                         for var in _STATE_VARIABLES}
        for prj in self.net.projections:
            if prj.plasticity is not None:
                result.weights[prj.label] = self.get_synapses(prj.label, "weight")
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
                self.model.write(address, data)
            elif region == F.REGION_CONTROL_WORD:
                # a new profile index; the refractory count and last spike stay
                profile = (data >> F.REFRAC_WIDTH) & (F.NUM_PROFILES - 1)
                self.model.write(address, self.model.control_word(offset)
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
            self.model.write(_address(region, int(n)), int(word) & ((1 << width) - 1))

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
            return self.model.weight[src, tgt] * self.program.weight_lsb
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

    # ---- helpers ----------------------------------------------------------------------
    def _config(self) -> dict[str, object]:
        return {"model": "bit- and cycle-exact golden model of rtl/core.v",
                "mode": self.mode, "clock_hz": self.clock_hz,
                "tick_period_cycles": self.tick_period_cycles,
                **dataclasses.asdict(self.shape),
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
        for s, n, code in zip(src, tgt, codes):
            plastic = int(self.model.plastic[s, n])
            self.model.write(_address(F.REGION_WEIGHT, int(s) << self.shape.neuron_bits | int(n)),
                             plastic << width | int(code) & ((1 << width) - 1))

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
            self.model.write(_address(F.REGION_DELAY, s), d)

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
