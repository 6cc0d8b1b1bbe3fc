"""The standard PyNN models that neurohw runs, with their translations to the IR.

Native names are the IR's (:data:`neurohw.ir.CELL_TYPES`), which are PyNN's
own names in PyNN's units, so every translation is the identity.  All current
sources become :class:`neurohw.ir.StepCurrent`: DCSource and StepCurrentSource
exactly, ACSource and NoisyCurrentSource sampled on the time grid.
"""
from __future__ import annotations

import numpy as np
from pyNN import errors
from pyNN.parameters import ParameterSpace, Sequence
from pyNN.standardmodels import (StandardCurrentSource, build_translations, cells, electrodes,
                                 synapses)

from .. import ir
from . import simulator


def _identity_translations(*names):
    return build_translations(*((name, name) for name in names))


# --- cells -----------------------------------------------------------------------------------
class IF_curr_exp(cells.IF_curr_exp):
    __doc__ = cells.IF_curr_exp.__doc__
    ir_cell_type = "IF_curr_exp"
    translations = _identity_translations(*cells.IF_curr_exp.default_parameters)
    recordable = list(ir.RECORDABLE["IF_curr_exp"])


class IF_curr_alpha(cells.IF_curr_alpha):
    __doc__ = cells.IF_curr_alpha.__doc__
    ir_cell_type = "IF_curr_alpha"
    translations = _identity_translations(*cells.IF_curr_alpha.default_parameters)
    recordable = list(ir.RECORDABLE["IF_curr_alpha"])


class IF_cond_exp(cells.IF_cond_exp):
    __doc__ = cells.IF_cond_exp.__doc__
    ir_cell_type = "IF_cond_exp"
    translations = _identity_translations(*cells.IF_cond_exp.default_parameters)
    recordable = list(ir.RECORDABLE["IF_cond_exp"])


class IF_cond_alpha(cells.IF_cond_alpha):
    __doc__ = cells.IF_cond_alpha.__doc__
    ir_cell_type = "IF_cond_alpha"
    translations = _identity_translations(*cells.IF_cond_alpha.default_parameters)
    recordable = list(ir.RECORDABLE["IF_cond_alpha"])


class EIF_cond_exp_isfa_ista(cells.EIF_cond_exp_isfa_ista):
    __doc__ = cells.EIF_cond_exp_isfa_ista.__doc__
    ir_cell_type = "EIF_cond_exp_isfa_ista"
    translations = _identity_translations(*cells.EIF_cond_exp_isfa_ista.default_parameters)
    recordable = list(ir.RECORDABLE["EIF_cond_exp_isfa_ista"])


class EIF_cond_alpha_isfa_ista(cells.EIF_cond_alpha_isfa_ista):
    __doc__ = cells.EIF_cond_alpha_isfa_ista.__doc__
    ir_cell_type = "EIF_cond_alpha_isfa_ista"
    translations = _identity_translations(*cells.EIF_cond_alpha_isfa_ista.default_parameters)
    recordable = list(ir.RECORDABLE["EIF_cond_alpha_isfa_ista"])


class SpikeSourceArray(cells.SpikeSourceArray):
    __doc__ = cells.SpikeSourceArray.__doc__
    ir_cell_type = "SpikeSourceArray"
    translations = _identity_translations("spike_times")


class SpikeSourcePoisson(cells.SpikeSourcePoisson):
    __doc__ = cells.SpikeSourcePoisson.__doc__
    ir_cell_type = "SpikeSourcePoisson"
    translations = _identity_translations(*cells.SpikeSourcePoisson.default_parameters)


# --- synapses --------------------------------------------------------------------------------
class StaticSynapse(synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = _identity_translations("weight", "delay")
    short_term_parameters = ()

    def _get_minimum_delay(self):
        return simulator.state.default_delay

    def _ir_plasticity(self, projection):
        return None

    def _ir_short_term(self, projection, mask):
        return None


class TsodyksMarkramSynapse(synapses.TsodyksMarkramSynapse):
    __doc__ = synapses.TsodyksMarkramSynapse.__doc__
    translations = _identity_translations("weight", "delay", "U", "tau_rec", "tau_facil")
    #: parameters held per synapse and pushed to a running simulation like weights
    short_term_parameters = ("U", "tau_rec", "tau_facil")

    def _get_minimum_delay(self):
        return simulator.state.default_delay

    def _ir_plasticity(self, projection):
        return None

    def _ir_short_term(self, projection, mask) -> ir.TsodyksMarkram:
        """The per-synapse parameters of the synapses of ``projection`` selected by ``mask``."""
        return ir.TsodyksMarkram(**{name: projection._attributes[name][mask]
                                    for name in self.short_term_parameters})


class SpikePairRule(synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    translations = _identity_translations("tau_plus", "tau_minus", "A_plus", "A_minus")


class AdditiveWeightDependence(synapses.AdditiveWeightDependence):
    __doc__ = synapses.AdditiveWeightDependence.__doc__
    translations = _identity_translations("w_min", "w_max")
    ir_name = "additive"


class MultiplicativeWeightDependence(synapses.MultiplicativeWeightDependence):
    __doc__ = synapses.MultiplicativeWeightDependence.__doc__
    translations = _identity_translations("w_min", "w_max")
    ir_name = "multiplicative"


class STDPMechanism(synapses.STDPMechanism):
    __doc__ = synapses.STDPMechanism.__doc__
    base_translations = _identity_translations("weight", "delay", "dendritic_delay_fraction")
    short_term_parameters = ()

    def __init__(self, timing_dependence=None, weight_dependence=None,
                 voltage_dependence=None, dendritic_delay_fraction=1.0,
                 weight=0.0, delay=None):
        if not isinstance(timing_dependence, SpikePairRule):
            raise TypeError(f"STDPMechanism: timing_dependence must be a SpikePairRule, "
                            f"got {type(timing_dependence).__name__}")
        if not isinstance(weight_dependence, (AdditiveWeightDependence,
                                              MultiplicativeWeightDependence)):
            raise TypeError(f"STDPMechanism: weight_dependence must be an "
                            f"AdditiveWeightDependence or MultiplicativeWeightDependence, "
                            f"got {type(weight_dependence).__name__}")
        if voltage_dependence is not None:
            raise TypeError("STDPMechanism: voltage_dependence is not supported")
        if dendritic_delay_fraction not in (0, 1):
            raise ValueError(f"STDPMechanism: dendritic_delay_fraction must be 0 (axonal "
                             f"delay) or 1 (dendritic delay), got {dendritic_delay_fraction}")
        super().__init__(timing_dependence, weight_dependence, voltage_dependence,
                         dendritic_delay_fraction, weight, delay)

    def _get_minimum_delay(self):
        return simulator.state.default_delay

    def _ir_plasticity(self, projection) -> ir.STDP:
        """One rule per projection (the IR's and the hardware's granularity): the
        parameters must be the same for all of its synapses."""
        rule = {}
        for name in ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max"):
            values = projection._attributes[name]
            differ = values != values[0]
            if differ.any():
                i = int(np.flatnonzero(differ)[0])
                raise errors.ConnectionError(
                    f"projection '{projection.label}': STDP parameter '{name}' must be the "
                    f"same for all synapses; synapse 0 has {values[0]}, synapse {i} has "
                    f"{values[i]}")
            rule[name] = float(values[0])
        return ir.STDP(weight_dependence=self.weight_dependence.ir_name,
                       dendritic_delay_fraction=float(self.dendritic_delay_fraction), **rule)

    def _ir_short_term(self, projection, mask):
        return None


# --- current sources -------------------------------------------------------------------------
class _StepWaveformSource(StandardCurrentSource):
    """A current source whose waveform is piecewise constant (an ``ir.StepCurrent``)."""

    def __init__(self, **parameters):
        # set before anything else: StandardCurrentSource.__getattr__ reads parameters
        object.__setattr__(self, "_native", {})
        object.__setattr__(self, "_targets", [])      # (Population, index) pairs
        object.__setattr__(self, "_recording", False)
        super().__init__(**parameters)
        parameter_space = ParameterSpace(self.default_parameters, self.get_schema(), shape=(1,))
        parameter_space.update(**parameters)
        self.set_native_parameters(self.translate(parameter_space))
        object.__setattr__(self, "ir_label", simulator.state.unique_label(
            "current source", f"{type(self).__name__}{len(simulator.state.current_sources)}"))
        simulator.state.add("current source", self)

    def get_native_parameters(self):
        return ParameterSpace(dict(self._native))

    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        native = dict(self._native)
        for name, value in parameters.items():
            native[name] = value.value if isinstance(value, Sequence) else value
        object.__setattr__(self, "_native", self._checked(native))
        simulator.state.network_changed()

    def inject_into(self, cells):
        for cell in cells:
            if not cell.celltype.injectable:
                raise TypeError(f"{type(self).__name__}: cannot inject current into cell "
                                f"{cell.parent.id_to_index(cell)} of population "
                                f"'{cell.parent.label}', a {type(cell.celltype).__name__}")
            self._targets.append((cell.parent, int(cell.parent.id_to_index(cell))))
        simulator.state.network_changed()

    def record(self):
        object.__setattr__(self, "_recording", True)

    def _get_data(self):
        """The injected current on the time grid from 0 to now (both included)."""
        if not self._recording:
            raise errors.RecordingError("current", type(self).__name__)
        state = simulator.state
        t = np.arange(int(round(state.t / state.dt)) + 1) * state.dt
        times, amplitudes = self._step_waveform(until=state.t + state.dt)
        which = np.searchsorted(times, t + 1e-9, side="right") - 1
        return t, np.where(which >= 0, amplitudes[np.maximum(which, 0)], 0.0)

    def needs_samples_beyond(self, built_until: float, t: float) -> bool:
        """Does running to `t` need waveform points after `built_until`?  Only for
        sources sampled at run time (see _SampledWaveformSource)."""
        return False


def _checked_start_stop(source, native):
    start, stop = float(native["start"]), float(native["stop"])
    if not 0 <= start <= stop:
        raise ValueError(f"{type(source).__name__}: need 0 <= start <= stop, got "
                         f"start={start} ms, stop={stop} ms")
    return native


class DCSource(_StepWaveformSource, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = _identity_translations("amplitude", "start", "stop")

    def _checked(self, native):
        return _checked_start_stop(self, native)

    def _step_waveform(self, until):
        return (np.array([self._native["start"], self._native["stop"]], dtype=float),
                np.array([self._native["amplitude"], 0.0], dtype=float))


class StepCurrentSource(_StepWaveformSource, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    translations = _identity_translations("amplitudes", "times")

    def _checked(self, native):
        times = np.asarray(native["times"], dtype=float).ravel()
        amplitudes = np.asarray(native["amplitudes"], dtype=float).ravel()
        if times.size != amplitudes.size:
            raise ValueError(f"StepCurrentSource: {times.size} times but "
                             f"{amplitudes.size} amplitudes")
        if (times < 0).any():
            raise ValueError(f"StepCurrentSource: times must be >= 0 ms, got {times}")
        if (np.diff(times) <= 0).any():
            raise ValueError(f"StepCurrentSource: times must be strictly increasing, "
                             f"got {times}")
        # a step can only happen at a time-step boundary: round to the grid and, where
        # two steps land on the same boundary, keep the later one (as pyNN.brian2 does)
        dt = simulator.state.dt
        on_grid = np.rint(times / dt) * dt
        last = np.append(np.diff(on_grid) > dt / 2, True)
        return {"times": on_grid[last], "amplitudes": amplitudes[last]}

    def _step_waveform(self, until):
        return (np.array(self._native["times"], dtype=float),
                np.array(self._native["amplitudes"], dtype=float))


class _SampledWaveformSource(_StepWaveformSource):
    """A current that changes continually between `start` and `stop`: sampled on a time
    grid into a step waveform.  A network is built with the samples up to the end of the
    run it is built for; a later run past that end rebuilds it (see State.run_until)."""

    def _checked(self, native):
        return _checked_start_stop(self, native)

    def _sample_interval(self):
        return simulator.state.dt

    def _step_waveform(self, until):
        start, stop = float(self._native["start"]), float(self._native["stop"])
        interval = self._sample_interval()
        first = int(np.ceil(start / interval - 1e-9))
        end = int(np.ceil(min(stop, until) / interval - 1e-9))
        times = np.arange(first, max(end, first)) * interval
        amplitudes = self._samples(times)
        if stop <= until:
            times, amplitudes = np.append(times, stop), np.append(amplitudes, 0.0)
        return times, amplitudes

    def needs_samples_beyond(self, built_until, t):
        return built_until < float(self._native["stop"]) and t > built_until


class ACSource(_SampledWaveformSource, electrodes.ACSource):
    __doc__ = electrodes.ACSource.__doc__
    translations = _identity_translations("amplitude", "start", "stop", "frequency", "offset",
                                          "phase")

    def _samples(self, times):
        n = self._native
        phase = 2 * np.pi * n["frequency"] * (times - n["start"]) / 1000.0 \
            + np.deg2rad(n["phase"])
        return n["offset"] + n["amplitude"] * np.sin(phase)


class NoisyCurrentSource(_SampledWaveformSource, electrodes.NoisyCurrentSource):
    __doc__ = electrodes.NoisyCurrentSource.__doc__
    translations = _identity_translations("mean", "stdev", "start", "stop", "dt")

    def __init__(self, **parameters):
        # the standard normal draws, kept so that a rebuild or get_data() sees the same noise
        object.__setattr__(self, "_normals", np.zeros(0))
        seed = simulator.state.target_options.get("seed")
        object.__setattr__(self, "_rng", np.random.default_rng(
            None if seed is None else [seed, len(simulator.state.current_sources)]))
        super().__init__(**parameters)

    def _checked(self, native):
        native = super()._checked(native)
        steps = float(native["dt"]) / simulator.state.dt
        if native["dt"] <= 0 or abs(steps - round(steps)) > 1e-9 * max(steps, 1):
            raise ValueError(f"NoisyCurrentSource: dt={native['dt']} ms is not a positive "
                             f"multiple of the time step {simulator.state.dt} ms")
        return native

    def _sample_interval(self):
        return float(self._native["dt"])

    def _samples(self, times):
        n = times.size
        if n > self._normals.size:
            object.__setattr__(self, "_normals", np.concatenate(
                (self._normals, self._rng.standard_normal(n - self._normals.size))))
        return self._native["mean"] + self._native["stdev"] * self._normals[:n]
