"""The software run of an :class:`neurohw.ir.Network` built in Brian2, as an independent check.

Everything is built from Brian2's own parts: one ``NeuronGroup`` per neuron
population (PyNN's equations in PyNN's units, integrated by Brian2), a
``SpikeGeneratorGroup`` per SpikeSourceArray, a thresholded ``NeuronGroup``
per SpikeSourcePoisson, one ``Synapses`` per projection with explicit ``i``/``j``
arrays and per-synapse delays, pair STDP with event-driven traces, and
Brian2's monitors, all inside one ``brian2.Network`` with its own ``Clock``.

Time (the IR convention is in :mod:`neurohw.ir`).  Brian2 simulates step ``k``
at ``t = k*dt``: in that step it integrates ``[k*dt, (k+1)*dt)`` (slot
"groups"), tests the threshold and stamps a spike with ``t = k*dt``
("thresholds"), then delivers due synaptic events ("synapses").  So:

* a neuron spike recorded by Brian2 at ``k*dt`` is the IR spike ``(k+1)*dt``;
* an event delivered in the "synapses" slot of step ``m`` is first felt by the
  integration of step ``m + 1``; with a Brian2 delay ``D`` a spike of step ``k``
  is delivered in step ``k + D/dt`` and acts from the step starting at
  ``(k+1)*dt + D`` = IR stamp + delay, exactly the IR rule.  Neuron-to-neuron
  delays are therefore passed to Brian2 unchanged;
* a source spike stamped ``t_s`` stands for a spike of step ``t_s/dt - 1``,
  which does not exist for ``t_s = 0``; sources are instead fired in step
  ``t_s/dt`` (Brian2 time = IR stamp) and their synapses get ``delay - dt``.

Refractoriness: PyNN clamps v at v_reset for tau_refrac after the spike; in
steps, the ``R = round(tau_refrac/dt)`` steps after the spiking step are not
integrated (as NEST's ``RefractoryCounts``).  This is Brian2's boolean form of
``refractory`` on the number of steps since ``lastspike``.

STDP (the rule is in :class:`neurohw.ir.STDP`): per-synapse traces with
Brian2's event-driven exponential decay.  At one instant at the synapse all
post events (potentiation) are processed before all pre events (depression),
as NEST's stdp_synapse and the reference simulator do: the post pathway is
ordered before the pre pathway, and the pre pathway removes the jump of a
post spike of the same step from ``post_trace``, so simultaneous spikes never
pair.  The pre pathway learns and transmits in one go, with the weight after
its own update (the order of NEST's stdp_synapse::send).  Timing is measured at
the synapse: with ``dendritic_delay_fraction = 0`` the pre spike reaches it
after the delay ``d`` and the post spike at once; with fraction 1 the pre spike
reaches it at once and the back-propagating post spike after ``d``.  Shifting
every event of a synapse by the same time changes no pair's interval and no
order, so fraction 1 is built as "pre after d, post after 2d", which lets the
one pre pathway transmit at the right time.  The price: with fraction 1 a
synapse learns ``d`` later than the reference does, so weights read at the end
of a run lack the updates of its last ``d`` ms (they are applied early in the
next run; a run that ends quietly is unaffected).

Tsodyks-Markram short-term plasticity (the model is in :class:`neurohw.ir.TsodyksMarkram`):
per-synapse ``tm_u``/``tm_x`` updated by the pre pathway when a spike is
delivered.  Deliveries of a source's synapses come ``dt`` before the IR
arrival (see above), the same shift for every spike, so the intervals between
a synapse's arrivals, all that the model sees, are the IR's.

Between runs: ``set_synapses`` changes weights in Brian2's ``Synapses``, which
are read when a spike is *delivered*; spikes already in flight (sent less than
one delay ago) thus arrive with the new weight, where the reference simulator
(like NEST) uses the weight at sending time.

Integration: ``method=None`` picks Brian2's ``exact`` (linear, symbolic)
integrator for IF_curr_exp, unless a neuron has ``tau_m == tau_syn`` (Brian2's
symbolic solution divides by ``tau_m - tau_syn``), and ``rk4`` otherwise:
for the conductance-based cells (not linear), for IF_curr_alpha (sympy needs
~20 s for its exact solution) and for that degenerate case.  RK4's local error
on the linear-in-v equations is ~ (dt/tau)^5/120, ~3e-11 relative at dt/tau =
0.02.  The AdEx cells (EIF_cond_*_isfa_ista) are NEST's aeif_cond_exp/alpha with
fixed-step RK4 at dt: accurate below threshold, coarser in the exponential
upswing (where the reference simulator sub-steps), which can move a spike by a
step; the threshold is tested at the end of each step.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import time

import brian2 as b2
import numpy as np
from brian2.devices.device import all_devices, reset_device, set_device

from neurohw import ir
from neurohw.results import RunResult, Signal, SpikeTrains

__all__ = ["Simulation", "CODEGEN_TARGETS"]

#: Brian2 runtime code generation targets this backend accepts.
CODEGEN_TARGETS = ("cython", "numpy")

#: Brian2 unit of each IR quantity (PyNN's units).
_UNITS = {
    "cm": b2.nF, "tau_m": b2.ms, "tau_syn_E": b2.ms, "tau_syn_I": b2.ms,
    "v_rest": b2.mV, "v_reset": b2.mV, "v_thresh": b2.mV, "i_offset": b2.nA,
    "e_rev_E": b2.mV, "e_rev_I": b2.mV,
    "v": b2.mV, "isyn_exc": b2.nA, "isyn_inh": b2.nA, "gsyn_exc": b2.uS, "gsyn_inh": b2.uS,
    "rate": b2.Hz,
    "v_spike": b2.mV, "a": b2.nS, "b": b2.nA, "delta_T": b2.mV, "tau_w": b2.ms, "w": b2.nA,
}

#: IR names that Brian2 reserves ("cm" is its centimetre) or that would clash: a
#: Synapses may not see a postsynaptic variable named like its weight ``w``.
_BRIAN_NAME = {"cm": "c_m", "w": "w_adapt"}

_MEMBRANE = {
    "current": "dv/dt = (v_rest - v)/tau_m + (isyn_exc + isyn_inh + i_offset + i_inj)/c_m"
               " : volt (unless refractory)",
    "conductance": "dv/dt = (v_rest - v)/tau_m + (gsyn_exc*(e_rev_E - v) + gsyn_inh*(e_rev_I - v)"
                   " + i_offset + i_inj)/c_m : volt (unless refractory)",
    # NEST's aeif_cond_exp/aeif_cond_alpha (Brette & Gerstner 2005): v is capped at the
    # spike level v_peak in every term, so nothing overflows in the step that crosses
    # it; while refractory v stays at v_reset and w (``w_adapt``) relaxes with it.
    # ``slope`` is delta_T, made 1 mV where delta_T = 0 only to keep 0/0 out of the
    # exponent: the term is multiplied by delta_T = 0 there and its exponent is <= 0.
    "adex": """
        dv/dt = (g_leak*(v_rest - v_capped) + g_leak*delta_T*exp((v_capped - v_thresh)/slope)
                 + gsyn_exc*(e_rev_E - v_capped) + gsyn_inh*(e_rev_I - v_capped) - w_adapt
                 + i_offset + i_inj)/c_m : volt (unless refractory)
        dw_adapt/dt = (a*(v_capped - v_rest) - w_adapt)/tau_w : amp
        v_capped = v + (v_peak - v)*int(v > v_peak) : volt
        g_leak = c_m/tau_m : siemens
        slope = delta_T + int(delta_T <= 0*mV)*mV : volt
    """,
}

_ADEX_TYPES = ("EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista")

# PyNN's receptor kinetics (pyNN/brian2/standardmodels/receptors.py has the same
# forms): exponential decay, or an alpha function built from two linear ODEs
# where the jump goes into ``ysyn`` and the current peaks at the weight after
# tau_syn: I(t) = w (t/tau) e^(1 - t/tau).
_SYNAPSES = {
    "IF_curr_exp": """
        disyn_exc/dt = -isyn_exc/tau_syn_E : amp
        disyn_inh/dt = -isyn_inh/tau_syn_I : amp
    """,
    "IF_curr_alpha": """
        disyn_exc/dt = (exp(1)*ysyn_exc - isyn_exc)/tau_syn_E : amp
        dysyn_exc/dt = -ysyn_exc/tau_syn_E : amp
        disyn_inh/dt = (exp(1)*ysyn_inh - isyn_inh)/tau_syn_I : amp
        dysyn_inh/dt = -ysyn_inh/tau_syn_I : amp
    """,
    "IF_cond_exp": """
        dgsyn_exc/dt = -gsyn_exc/tau_syn_E : siemens
        dgsyn_inh/dt = -gsyn_inh/tau_syn_I : siemens
    """,
    # NEST's iaf_cond_alpha/aeif_cond_alpha: the conductance peaks at the weight
    "IF_cond_alpha": """
        dgsyn_exc/dt = (exp(1)*ysyn_exc - gsyn_exc)/tau_syn_E : siemens
        dysyn_exc/dt = -ysyn_exc/tau_syn_E : siemens
        dgsyn_inh/dt = (exp(1)*ysyn_inh - gsyn_inh)/tau_syn_I : siemens
        dysyn_inh/dt = -ysyn_inh/tau_syn_I : siemens
    """,
}
_SYNAPSES["EIF_cond_exp_isfa_ista"] = _SYNAPSES["IF_cond_exp"]
_SYNAPSES["EIF_cond_alpha_isfa_ista"] = _SYNAPSES["IF_cond_alpha"]

_LIF_PARAMETERS = """
    c_m : farad (constant)
    tau_m : second (constant)
    tau_syn_E : second (constant)
    tau_syn_I : second (constant)
    v_rest : volt (constant)
    v_reset : volt (constant)
    v_thresh : volt (constant)
    i_offset : amp (constant)
    refractory_steps : integer (constant)
    i_inj : amp
"""

# v_peak: the spike level, v_spike (v_thresh if delta_T = 0, as NEST), derived from them
_ADEX_PARAMETERS = """
    v_spike : volt (constant)
    v_peak : volt (constant)
    a : siemens (constant)
    b : amp (constant)
    delta_T : volt (constant)
    tau_w : second (constant)
"""

#: the variable a spike arriving at each receptor jumps
_RECEPTOR_VARIABLE = {
    "IF_curr_exp": {"excitatory": "isyn_exc", "inhibitory": "isyn_inh"},
    "IF_curr_alpha": {"excitatory": "ysyn_exc", "inhibitory": "ysyn_inh"},
    "IF_cond_exp": {"excitatory": "gsyn_exc", "inhibitory": "gsyn_inh"},
    "IF_cond_alpha": {"excitatory": "ysyn_exc", "inhibitory": "ysyn_inh"},
    "EIF_cond_exp_isfa_ista": {"excitatory": "gsyn_exc", "inhibitory": "gsyn_inh"},
    "EIF_cond_alpha_isfa_ista": {"excitatory": "ysyn_exc", "inhibitory": "ysyn_inh"},
}

#: a step number no run reaches (2**62 steps of 1 us are ~146 000 years), exact in float64
_NEVER_STEP = 2.0**62

#: a tau_m this close (relatively) to a tau_syn rules out Brian2's exact integrator
_DEGENERATE_TAU_RTOL = 1e-6


class Brian2SimulationError(RuntimeError):
    """A request this backend cannot honour (e.g. a second standalone run)."""


@dataclasses.dataclass
class _BuiltPopulation:
    """The Brian2 group of one population and how it was built."""
    group: object
    method: str | None = None            # integrator, for neuron populations


@dataclasses.dataclass
class _BuiltProjection:
    synapses: object
    spec: ir.Projection
    source_shift: float                  # ms taken off the delays of source spikes


# Tsodyks-Markram short-term plasticity (the model is ir.TsodyksMarkram): u and x
# relax from the synapse's previous spike (``tm_last``), the synapse transmits w*u*x, then x is depleted and u facilitated.
# ``tm_seen`` marks a synapse that has transmitted: before that it is fully
# recovered (u = U, x = 1) whatever U is set to between runs.  tau_facil = 0
# means no facilitation (u = U at every spike); the int() guard keeps exp() from
# seeing 0/0 for two spikes at one instant.
_TSODYKS_MARKRAM_MODEL = """
    tm_U : 1
    tm_tau_rec : second
    tm_tau_facil : second
    tm_u : 1
    tm_x : 1
    tm_seen : 1
    tm_last : second
"""
_TSODYKS_MARKRAM_ON_PRE = """
    tm_facil_decay = int(tm_tau_facil > 0*ms)*exp(-(t - tm_last)/(tm_tau_facil + int(tm_tau_facil <= 0*ms)*ms))
    tm_u = tm_U + tm_seen*(tm_u - tm_U)*tm_facil_decay
    tm_x = 1 + tm_seen*(tm_x - 1)*exp(-(t - tm_last)/tm_tau_rec)
    {target}_post += w*tm_u*tm_x
    tm_x = tm_x*(1 - tm_u)
    tm_u = tm_u + tm_U*(1 - tm_u)
    tm_seen = 1
    tm_last = t
"""
#: IR parameter -> Brian2 synaptic variable, and the variable's unit
_SHORT_TERM_VARIABLE = {"U": "tm_U", "tau_rec": "tm_tau_rec", "tau_facil": "tm_tau_facil"}
_SHORT_TERM_UNIT = {"tm_U": 1.0, "tm_tau_rec": b2.ms, "tm_tau_facil": b2.ms}


class Simulation:
    """An :class:`neurohw.ir.Network` simulated by Brian2 (see the module docstring).

    The constructor only checks the network; the Brian2 objects are made by the
    first :meth:`run` (their construction and code generation are reported as
    ``wall_time["build"]`` of that run).

    Options:
        codegen_target: Brian2 runtime code generation, ``"cython"`` (default;
            compiled once and cached by Brian2) or ``"numpy"``.
        standalone: build and run the whole simulation as a C++ program
            (Brian2's ``cpp_standalone`` device) in a temporary directory.  A
            standalone Simulation runs once; the program is generated,
            compiled and run by :meth:`run`.
        method: a Brian2 integration method name for every neuron population,
            instead of the automatic choice.
        standalone_directory: keep the standalone project there instead of a
            temporary directory (removed after the run).
    """

    def __init__(self, net: ir.Network, seed: int | None = None, *,
                 codegen_target: str = "cython", standalone: bool = False,
                 method: str | None = None, standalone_directory: str | None = None):
        if not isinstance(net, ir.Network):
            raise TypeError(f"Simulation needs a neurohw.ir.Network, got {type(net).__name__}")
        if codegen_target not in CODEGEN_TARGETS:
            raise ValueError(f"codegen_target must be one of {', '.join(CODEGEN_TARGETS)}, "
                             f"got '{codegen_target}'")
        self._net = net
        self._seed = seed if seed is not None else net.seed
        if self._seed is not None and not (int(self._seed) == self._seed and self._seed >= 0):
            raise ValueError(f"seed must be a non-negative integer, got {self._seed!r}")
        self._codegen_target = codegen_target
        self._standalone = bool(standalone)
        self._standalone_directory = standalone_directory
        self._method = method
        self._step = 0
        self._runs = 0
        self._build_seconds = 0.0
        self._dt = float(net.dt)
        self._pops: dict[str, _BuiltPopulation] = {}
        self._prjs: dict[str, _BuiltProjection] = {}
        for pop in net.populations:
            self._check_brian2_can_run(pop)

    # ---- public interface ----------------------------------------------------------
    @property
    def t(self) -> float:
        """Current simulated time, ms."""
        return self._step * self._dt

    @property
    def network(self) -> ir.Network:
        """The IR network as currently set (parameters, states and synapses included)."""
        return self._net

    def run(self, duration: float | None = None) -> RunResult:
        """Advance by ``duration`` ms (default: the network's duration), rounded to
        whole steps; returns the RunResult of ``[t, t + duration)``."""
        duration = self._net.duration if duration is None else duration
        n_steps = self._steps_of(duration)
        if self._standalone and self._runs:
            raise Brian2SimulationError(
                "a standalone (cpp_standalone) Simulation runs once: it already ran "
                f"[0, {self.t:g}) ms; build a new Simulation for another run")
        if self._standalone:
            return self._run_standalone(n_steps)
        with self._codegen():
            if not self._pops:
                # built at the first run, so that values set before it are used directly
                started = time.perf_counter()
                self._build()
                self._build_seconds = time.perf_counter() - started
            return self._run_runtime(n_steps)

    def set_parameter(self, pop_label: str, name: str, values) -> None:
        """Set a parameter of population ``pop_label`` (scalar or one value per neuron).

        For a SpikeSourceArray, ``name="spike_times"`` replaces the spike trains
        (one sorted array per neuron).
        """
        pop = self._population(pop_label)
        if name == "spike_times":
            if pop.cell_type != "SpikeSourceArray":
                raise ir.NetworkError(f"population '{pop_label}' ({pop.cell_type}) has no "
                                      "spike_times; only a SpikeSourceArray has")
            new_pop = dataclasses.replace(pop, spike_times=tuple(values))
        else:
            if name not in pop.celltype.parameters:
                raise ir.NetworkError(
                    f"population '{pop_label}' ({pop.cell_type}) has no parameter '{name}'; "
                    f"parameters: {', '.join(pop.celltype.parameters) or 'none'}")
            new_pop = dataclasses.replace(pop, params={**pop.params, name: values})
        built = self._pops.get(pop_label)
        if built is not None:
            self._check_method_still_valid(new_pop, built.method)
        self._check_brian2_can_run(new_pop)
        self._replace_population(new_pop)
        if built is not None:
            self._write_parameter(new_pop, built.group, name)

    def set_state(self, pop_label: str, var: str, values) -> None:
        """Set state variable ``var`` (e.g. "v") of population ``pop_label``."""
        pop = self._population(pop_label)
        if var not in pop.celltype.state:
            raise ir.NetworkError(f"population '{pop_label}' ({pop.cell_type}) has no state "
                                  f"variable '{var}'; state: "
                                  f"{', '.join(pop.celltype.state) or 'none'}")
        new_pop = dataclasses.replace(pop, initial={**pop.initial, var: values})
        self._replace_population(new_pop)
        if self._pops:
            group = self._pops[pop_label].group
            setattr(group, _BRIAN_NAME.get(var, var),
                    np.asarray(new_pop.initial[var]) * _UNITS[var])

    def set_synapses(self, proj_label: str, name: str, values) -> None:
        """Set "weight" (nA or uS), "delay" (ms) or, for Tsodyks-Markram projections, "U",
        "tau_rec", "tau_facil" (ms) of every synapse of a projection."""
        prj = self._projection(proj_label)
        if name in _SHORT_TERM_VARIABLE and prj.short_term is not None:
            short_term = dataclasses.replace(prj.short_term, **{
                name: np.broadcast_to(np.asarray(values, dtype=np.float64), (prj.size,))})
            new_prj = dataclasses.replace(prj, short_term=short_term)    # validates
            self._net = dataclasses.replace(self._net, projections=tuple(
                new_prj if p.label == proj_label else p for p in self._net.projections))
            if self._prjs:
                built = self._prjs[proj_label]
                built.spec = new_prj
                variable = _SHORT_TERM_VARIABLE[name]
                setattr(built.synapses, variable,
                        getattr(short_term, name) * _SHORT_TERM_UNIT[variable])
            return
        if name not in ("weight", "delay"):
            raise ir.NetworkError(f"projection '{proj_label}': cannot set '{name}'; "
                                  "settable: weight, delay")
        new_prj = dataclasses.replace(prj, **{name: values})
        projections = tuple(new_prj if p.label == proj_label else p
                            for p in self._net.projections)
        self._net = dataclasses.replace(self._net, projections=projections)  # validates
        if self._prjs:
            built = self._prjs[proj_label]
            built.spec = new_prj
            if name == "weight":
                built.synapses.w = new_prj.weight * self._weight_unit(new_prj)
            else:
                self._set_delays(built)

    def get_synapses(self, proj_label: str, name: str) -> np.ndarray:
        """Current "weight" (learned, for plastic projections) or "delay" of a projection,
        one value per synapse in connection order."""
        prj = self._projection(proj_label)
        if name == "delay":
            # as simulated: Brian2 rounds delays to whole steps
            return np.rint(prj.delay / self._dt) * self._dt
        if name in _SHORT_TERM_VARIABLE and prj.short_term is not None:
            return getattr(prj.short_term, name).copy()
        if name != "weight":
            readable = ("weight, delay, U, tau_rec, tau_facil" if prj.short_term is not None
                        else "weight, delay")
            raise ir.NetworkError(f"projection '{proj_label}': no synapse attribute '{name}'; "
                                  f"readable: {readable}")
        return np.array(prj.weight)

    # ---- building ------------------------------------------------------------------
    def _build(self) -> None:
        """Create every Brian2 object of the network from the current IR."""
        self._clock = b2.Clock(dt=self._dt * b2.ms, name="neurohw_clock")
        self._brian_net = b2.Network()
        self._pops = {}
        for index, pop in enumerate(self._net.populations):
            built = self._build_population(pop, name=f"pop{index}")
            self._pops[pop.label] = built
            self._brian_net.add(built.group)
        for label in sorted({cs.population for cs in self._net.currents}):
            self._build_currents(label)     # a run_regularly contained in the group
        self._prjs = {}
        for index, prj in enumerate(self._net.projections):
            built = self._build_projection(prj, name=f"prj{index}")
            self._prjs[prj.label] = built
            self._brian_net.add(built.synapses)

    def _build_population(self, pop: ir.Population, name: str) -> _BuiltPopulation:
        # Names fixed by position (not Brian2's process-wide counters) make the
        # generated code of two Simulations of one network identical, so that
        # Brian2's cache of compiled (cython) code serves the second one.
        if pop.cell_type == "SpikeSourceArray":
            indices, times = self._source_array_spikes(pop)
            group = b2.SpikeGeneratorGroup(pop.size, indices, times * b2.ms, clock=self._clock,
                                           sorted=True, name=name)
            return _BuiltPopulation(group)
        if pop.cell_type == "SpikeSourcePoisson":
            # One Bernoulli trial per step with p = rate*dt, like Brian2's PoissonGroup,
            # active for the steps starting in [start, start + duration).
            group = b2.NeuronGroup(
                pop.size,
                "rate : Hz (constant)\nfirst_step : integer (constant)\n"
                "end_step : integer (constant)",
                threshold="timestep(t, dt) >= first_step and timestep(t, dt) < end_step"
                          " and rand() < rate*dt",
                clock=self._clock, name=name)
            for name in pop.celltype.parameters:
                self._write_parameter(pop, group, name)
            return _BuiltPopulation(group)
        method = self._method or self._auto_method(pop)
        adex = pop.cell_type in _ADEX_TYPES
        kind = "adex" if adex else "conductance" if pop.celltype.conductance_based else "current"
        equations = "\n".join((_MEMBRANE[kind], _SYNAPSES[pop.cell_type], _LIF_PARAMETERS))
        if pop.celltype.conductance_based:
            equations += "\ne_rev_E : volt (constant)\ne_rev_I : volt (constant)\n"
        if adex:
            equations += _ADEX_PARAMETERS
        if any(cs.population == pop.label for cs in self._net.currents):
            # the piece of the step-current waveform in force (see _build_currents)
            equations += "\ncurrent_piece : integer (shared)\n"
        group = b2.NeuronGroup(
            pop.size, equations, method=method, clock=self._clock, name=name,
            threshold="v >= v_peak" if adex else "v >= v_thresh",
            reset="v = v_reset\nw_adapt += b" if adex else "v = v_reset",
            # leave refractoriness once more than refractory_steps steps have passed
            refractory="timestep(t - lastspike, dt) <= refractory_steps")
        for name in pop.celltype.parameters:
            self._write_parameter(pop, group, name)
        for var in pop.celltype.state:
            setattr(group, _BRIAN_NAME.get(var, var), np.asarray(pop.initial[var]) * _UNITS[var])
        return _BuiltPopulation(group, method)

    def _auto_method(self, pop: ir.Population) -> str:
        if pop.cell_type == "IF_curr_exp" and not self._has_degenerate_taus(pop):
            return "exact"
        return "rk4"

    @staticmethod
    def _has_degenerate_taus(pop: ir.Population) -> bool:
        tau_m = pop.params["tau_m"]
        return any(np.any(np.abs(tau_m - pop.params[k]) <= _DEGENERATE_TAU_RTOL * tau_m)
                   for k in ("tau_syn_E", "tau_syn_I"))

    def _check_method_still_valid(self, pop: ir.Population, method: str | None) -> None:
        if method == "exact" and self._has_degenerate_taus(pop):
            tau_m = pop.params["tau_m"]
            for k in ("tau_syn_E", "tau_syn_I"):
                bad = np.abs(tau_m - pop.params[k]) <= _DEGENERATE_TAU_RTOL * tau_m
                if np.any(bad):
                    i = int(np.flatnonzero(bad)[0])
                    raise ir.NetworkError(
                        f"population '{pop.label}': neuron {i} now has tau_m == {k} "
                        f"({tau_m[i]} ms), which Brian2's exact integrator chosen at build "
                        "time cannot handle; build the Simulation with these values (or "
                        "method='rk4')")

    def _check_brian2_can_run(self, pop: ir.Population) -> None:
        """Refuse what the IR allows but this backend cannot simulate faithfully."""
        if pop.cell_type == "SpikeSourceArray":
            self._source_array_spikes(pop)      # raises on two spikes in one step
        if pop.cell_type != "SpikeSourcePoisson":
            return
        # one Bernoulli trial per step cannot give more than one spike per step
        too_fast = pop.params["rate"] * self._dt / 1000.0 > 1.0
        if np.any(too_fast):
            i = int(np.flatnonzero(too_fast)[0])
            raise ir.NetworkError(
                f"population '{pop.label}': parameter 'rate' of neuron {i} is "
                f"{pop.params['rate'][i]} Hz, above 1/dt = {1000.0 / self._dt:g} Hz "
                "(at most one spike per step)")

    def _write_parameter(self, pop: ir.Population, group, name: str) -> None:
        """Copy IR parameter ``name`` of ``pop`` into its Brian2 group."""
        if name == "spike_times":
            indices, times = self._source_array_spikes(pop)
            group.set_spikes(indices, times * b2.ms, sorted=True)
            return
        values = np.asarray(pop.params[name])
        if name == "tau_refrac":
            group.refractory_steps = np.rint(values / self._dt).astype(np.int64)
        elif pop.cell_type == "SpikeSourcePoisson" and name in ("start", "duration"):
            start, duration = pop.params["start"], pop.params["duration"]
            group.first_step = np.rint(start / self._dt).astype(np.int64)
            group.end_step = np.rint((start + duration) / self._dt).astype(np.int64)
        else:
            setattr(group, _BRIAN_NAME.get(name, name), values * _UNITS[name])
        if pop.cell_type in _ADEX_TYPES and name in ("v_spike", "v_thresh", "delta_T"):
            p = pop.params
            group.v_peak = np.where(p["delta_T"] > 0, p["v_spike"], p["v_thresh"]) * b2.mV

    def _source_array_spikes(self, pop: ir.Population) -> tuple[np.ndarray, np.ndarray]:
        """(indices, times in ms) of a SpikeSourceArray on Brian2's grid, sorted by time.

        A spike stamped ``t`` is fired in step ``round(t/dt)`` (see the module
        docstring).  Brian2 fires a generator neuron at most once per step, so
        two spikes of one neuron on one step are an error here, not a silent loss.
        """
        steps = [np.rint(np.asarray(t) / self._dt).astype(np.int64) for t in pop.spike_times]
        for i, s in enumerate(steps):
            twice = np.flatnonzero(np.diff(s) == 0)
            if twice.size:
                k = twice[0]
                raise ir.NetworkError(
                    f"population '{pop.label}': spike_times[{i}] has spikes at "
                    f"{pop.spike_times[i][k]} and {pop.spike_times[i][k + 1]} ms, both in "
                    f"the step of length dt={self._dt} ms at {s[k] * self._dt:g} ms; "
                    "Brian2 can fire a neuron only once per step")
        indices = np.concatenate([np.full(s.size, i, dtype=np.int64)
                                  for i, s in enumerate(steps)] or [np.zeros(0, np.int64)])
        all_steps = np.concatenate(steps or [np.zeros(0, np.int64)])
        order = np.argsort(all_steps, kind="stable")
        return indices[order], all_steps[order] * self._dt

    def _build_currents(self, pop_label: str) -> None:
        """The StepCurrents into ``pop_label`` as a per-step update of its ``i_inj``.

        The summed current is piecewise constant between the steps where any of
        its sources changes.  ``current_table`` (2-D) holds each piece's
        per-neuron total and ``next_change_step`` the step at which each piece
        ends; the group's shared counter ``current_piece`` moves on to the next
        piece when that step comes.  Memory is thus linear in the number of
        change points, whatever their times (PyNN's DCSource stops at 1e12 ms
        by default).  The update runs at the start of every step, so an
        amplitude given from ``times[j]`` drives the steps starting at or after
        ``times[j]``; change steps are distinct, so one advance per step suffices.
        """
        pop = self._net.population(pop_label)
        currents = [cs for cs in self._net.currents if cs.population == pop_label]
        change_steps = np.unique(np.concatenate(
            [np.rint(cs.times / self._dt).astype(np.int64) for cs in currents]))
        table = np.zeros((change_steps.size + 1, pop.size))
        for cs in currents:
            steps = np.rint(cs.times / self._dt).astype(np.int64)
            for piece, start in enumerate(change_steps, start=1):
                active = np.searchsorted(steps, start, side="right") - 1
                if active >= 0:
                    np.add.at(table[piece], cs.indices, cs.amplitudes[active])
        # the last piece never ends: a step number no run reaches
        piece_ends = np.append(change_steps, _NEVER_STEP).astype(np.float64)
        group = self._pops[pop_label].group
        # piece indices are used as "times" in ms to look rows up
        group.namespace["next_change_step"] = b2.TimedArray(piece_ends, dt=1 * b2.ms)
        group.namespace["current_table"] = b2.TimedArray(table * b2.nA, dt=1 * b2.ms)
        group.run_regularly(
            "current_piece += int(timestep(t, dt) >= next_change_step(current_piece*ms))\n"
            "i_inj = current_table(current_piece*ms, i)",
            when="before_groups", clock=self._clock, name=f"{group.name}_currents")

    def _build_projection(self, prj: ir.Projection, name: str) -> _BuiltProjection:
        pre, post = self._net.population(prj.pre), self._net.population(prj.post)
        target = _RECEPTOR_VARIABLE[post.cell_type][prj.receptor]
        unit_name = "siemens" if post.celltype.conductance_based else "amp"
        shift = self._dt if pre.celltype.is_source else 0.0
        stdp = prj.plasticity
        if prj.short_term is not None:
            synapses = b2.Synapses(self._pops[prj.pre].group, self._pops[prj.post].group,
                                   model=f"w : {unit_name}\n{_TSODYKS_MARKRAM_MODEL}",
                                   on_pre=_TSODYKS_MARKRAM_ON_PRE.format(target=target),
                                   clock=self._clock, name=name)
        elif stdp is None:
            synapses = b2.Synapses(self._pops[prj.pre].group, self._pops[prj.post].group,
                                   model=f"w : {unit_name}", on_pre=f"{target}_post += w",
                                   clock=self._clock, name=name)
        else:
            synapses = b2.Synapses(self._pops[prj.pre].group, self._pops[prj.post].group,
                                   clock=self._clock, name=name,
                                   **self._stdp_model(prj, target, unit_name))
            # At one instant all post events (potentiation) come before all pre events
            # (depression), the order of NEST's stdp_synapse; Brian2 runs the pre
            # pathway (order -1) before the post pathway (order +1) unless told.
            synapses.post.order = synapses.pre.order - 1
        synapses.connect(i=prj.pre_idx, j=prj.post_idx)
        synapses.w = prj.weight * self._weight_unit(prj)
        if prj.short_term is not None:
            for parameter, variable in _SHORT_TERM_VARIABLE.items():
                setattr(synapses, variable,
                        getattr(prj.short_term, parameter) * _SHORT_TERM_UNIT[variable])
            synapses.tm_u = prj.short_term.U
            synapses.tm_x = 1.0
        if stdp is not None:
            # "never": the value Brian2 itself gives lastspike before a first spike
            synapses.last_post_arrival = -1e4 * b2.second
        built = _BuiltProjection(synapses, prj, shift)
        self._set_delays(built)
        return built

    def _stdp_model(self, prj: ir.Projection, target: str, unit_name: str) -> dict:
        """Synapses arguments of a pair-STDP projection (rule: :class:`neurohw.ir.STDP`)."""
        stdp = prj.plasticity
        unit = self._weight_unit(prj)
        # Current-based inhibitory weights are negative and the rule acts on |w|; the
        # bounds are |w_min|, |w_max| in order, as the IR validates them.
        negative = (prj.receptor == "inhibitory" and
                    not self._net.population(prj.post).celltype.conductance_based)
        w_low, w_high = sorted((abs(stdp.w_min), abs(stdp.w_max)))
        if stdp.weight_dependence == "additive":
            potentiation, depression = "A_plus*w_high*pre_trace", "A_minus*w_high*post_trace_seen"
        else:
            potentiation = "A_plus*(w_high - w_sign*w)*pre_trace"
            depression = "A_minus*(w_sign*w - w_low)*post_trace_seen"
        model = f"""
            w : {unit_name}
            dpre_trace/dt = -pre_trace/tau_plus : 1 (event-driven)
            dpost_trace/dt = -post_trace/tau_minus : 1 (event-driven)
            last_post_arrival : second
        """
        on_post = f"""
            w = w_sign*clip(w_sign*w + {potentiation}, w_low, w_high)
            post_trace += 1
            last_post_arrival = t
        """
        # The post pathway runs first in a step (see _build_projection); a post
        # spike of this very step is already in post_trace and must not pair.
        on_pre = f"""
            post_trace_seen = post_trace - int(last_post_arrival == t)
            w = w_sign*clip(w_sign*w - {depression}, w_low, w_high)
            {target}_post += w
            pre_trace += 1
        """
        namespace = {"tau_plus": stdp.tau_plus * b2.ms, "tau_minus": stdp.tau_minus * b2.ms,
                     "A_plus": stdp.A_plus, "A_minus": stdp.A_minus,
                     "w_sign": -1.0 if negative else 1.0,
                     "w_low": w_low * unit, "w_high": w_high * unit}
        return {"model": model, "on_pre": on_pre, "on_post": on_post, "namespace": namespace}

    def _set_delays(self, built: _BuiltProjection) -> None:
        """Brian2 delays of a projection's pathways (see the module docstring)."""
        prj = built.spec
        built.synapses.pre.delay = (prj.delay - built.source_shift) * b2.ms
        if prj.plasticity is not None:
            backprop = 2.0 * prj.delay * prj.plasticity.dendritic_delay_fraction
            built.synapses.post.delay = backprop * b2.ms

    def _weight_unit(self, prj: ir.Projection):
        return b2.uS if self._net.population(prj.post).celltype.conductance_based else b2.nA

    # ---- running -------------------------------------------------------------------
    def _run_runtime(self, n_steps: int) -> RunResult:
        started = time.perf_counter()
        monitors = self._add_monitors()
        t_start = self.t
        with self._own_random_stream():
            self._brian_net.run(n_steps * self._dt * b2.ms, namespace={})
        total = time.perf_counter() - started
        loop = float(b2.get_device()._last_run_time)
        self._brian_net.remove(*[m for m, _ in monitors.values()])
        result = self._collect(monitors, t_start, n_steps)
        result.wall_time = {"build": self._build_seconds + total - loop, "run": loop}
        self._build_seconds = 0.0
        return result

    def _run_standalone(self, n_steps: int) -> RunResult:
        standalone = all_devices["cpp_standalone"]
        directory = self._standalone_directory or tempfile.mkdtemp(prefix="neurohw-brian2-")
        started = time.perf_counter()
        standalone.reinit()
        set_device(standalone, build_on_run=False)
        # Brian2's default "make -j" starts one compiler per source file at once;
        # bound it by the machine's cores.
        make_args = b2.prefs.devices.cpp_standalone.extra_make_args_unix
        b2.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{os.cpu_count() or 1}"]
        try:
            self._build()
            monitors = self._add_monitors()
            with self._own_random_stream():
                self._brian_net.run(n_steps * self._dt * b2.ms, namespace={})
            standalone.build(directory=directory, compile=True, run=False, with_output=False)
            standalone.run(directory=directory, with_output=False)
            total = time.perf_counter() - started
            loop = float(standalone._last_run_time)
            result = self._collect(monitors, 0.0, n_steps)
            self._pops, self._prjs = {}, {}    # their values live in the removed project
        finally:
            b2.prefs.devices.cpp_standalone.extra_make_args_unix = make_args
            reset_device()
            standalone.reinit()
            if self._standalone_directory is None:
                shutil.rmtree(directory, ignore_errors=True)
        result.wall_time = {"build": total - loop, "run": loop}
        return result

    def _add_monitors(self) -> dict:
        """Spike and state monitors of this run, keyed (population, variable).

        Signals are sampled at ``t_start + k*record_interval``: the monitor's
        clock ticks at multiples of ``g*dt`` where ``g`` divides both the
        interval and ``t_start`` (in steps), and every (interval/g)-th sample is
        kept, so the samples fall on the right grid whatever ``t_start`` is.
        """
        monitors = {}
        for pop in self._net.populations:
            group = self._pops[pop.label].group
            for var, indices in pop.record.items():
                if indices.size == 0:
                    continue
                if var == "spikes":
                    monitor = b2.SpikeMonitor(group, record=True, name=f"{group.name}_spikes")
                    monitors[pop.label, var] = (monitor, 1)
                    continue
                interval_steps = self._record_interval_steps(pop)
                tick_steps = int(np.gcd(interval_steps, self._step))
                clock = (self._clock if tick_steps == 1 else
                         b2.Clock(dt=tick_steps * self._dt * b2.ms,
                                  name=f"{group.name}_{var}_clock"))
                monitor = b2.StateMonitor(group, _BRIAN_NAME.get(var, var), record=indices,
                                          clock=clock, when="start", name=f"{group.name}_{var}")
                monitors[pop.label, var] = (monitor, interval_steps // tick_steps)
        if monitors:
            self._brian_net.add(*[m for m, _ in monitors.values()])
        return monitors

    def _record_interval_steps(self, pop: ir.Population) -> int:
        if pop.record_interval is None:
            return 1
        return max(1, int(round(pop.record_interval / self._dt)))

    def _collect(self, monitors: dict, t_start: float, n_steps: int) -> RunResult:
        """Read this run's monitors and the final state into a RunResult (IR units and times)."""
        first_step = self._step
        self._step += n_steps
        self._runs += 1
        result = RunResult(t_start=t_start, t_stop=self.t, dt=self._dt,
                           backend=self._backend_name())
        for (label, var), (monitor, stride) in monitors.items():
            pop = self._net.population(label)
            if var == "spikes":
                index = np.asarray(monitor.i[:], dtype=np.int64)
                steps = np.rint(np.asarray(monitor.t[:] / b2.ms) / self._dt).astype(np.int64)
                keep = np.isin(index, pop.record["spikes"])
                # a neuron's spike is stamped at the end of its step, a source's as given
                stamp_steps = steps[keep] + (0 if pop.celltype.is_source else 1)
                result.spikes[label] = SpikeTrains(index[keep], stamp_steps * self._dt)
                continue
            samples = np.asarray(getattr(monitor, _BRIAN_NAME.get(var, var))[:] / _UNITS[var]
                                 ).T[::stride]
            sample_steps = first_step + np.arange(samples.shape[0]) * \
                self._record_interval_steps(pop)
            result.signals.setdefault(label, {})[var] = Signal(
                times=sample_steps * self._dt, indices=np.array(pop.record[var]),
                values=np.ascontiguousarray(samples, dtype=np.float64))
        self._add_empty_recordings(result, first_step, n_steps)
        self._read_back_state(result)
        return result

    def _add_empty_recordings(self, result: RunResult, first_step: int, n_steps: int) -> None:
        """Variables recorded from no neuron (no monitor was built) still get their entry."""
        for pop in self._net.populations:
            for var, indices in pop.record.items():
                if indices.size:
                    continue
                if var == "spikes":
                    result.spikes[pop.label] = SpikeTrains(np.zeros(0), np.zeros(0))
                else:
                    every = self._record_interval_steps(pop)
                    steps = first_step + np.arange(0, n_steps, every)
                    result.signals.setdefault(pop.label, {})[var] = Signal(
                        times=steps * self._dt, indices=np.zeros(0, dtype=np.int64),
                        values=np.zeros((steps.size, 0)))

    def _read_back_state(self, result: RunResult) -> None:
        """Final states and learned weights into the result and the current IR."""
        populations = []
        for pop in self._net.populations:
            group = self._pops[pop.label].group
            state = {var: np.asarray(getattr(group, _BRIAN_NAME.get(var, var))[:] / _UNITS[var],
                                     dtype=np.float64)
                     for var in pop.celltype.state}
            if state:
                result.final_state[pop.label] = {k: v.copy() for k, v in state.items()}
                pop = dataclasses.replace(pop, initial=state)
            populations.append(pop)
        projections = []
        for prj in self._net.projections:
            built = self._prjs[prj.label]
            if prj.plasticity is not None:
                weight = np.asarray(built.synapses.w[:] / self._weight_unit(prj), dtype=np.float64)
                result.weights[prj.label] = weight.copy()
                prj = dataclasses.replace(prj, weight=weight)
                built.spec = prj
            projections.append(prj)
        # Brian2 holds weights in SI units: the way back to nA/uS may move a weight
        # at a bound by a rounding error, within the IR validation's 1e-12 of slack.
        self._net = dataclasses.replace(self._net, populations=tuple(populations),
                                        projections=tuple(projections))

    def _backend_name(self) -> str:
        mode = "cpp_standalone" if self._standalone else f"runtime/{self._codegen_target}"
        return f"brian2 {b2.__version__} ({mode})"

    # ---- helpers -------------------------------------------------------------------
    def _steps_of(self, duration) -> int:
        """Whole steps in ``duration`` ms, rounded as the reference simulator does
        (PyNN's ``run(t)`` need not hit the step grid)."""
        if not (isinstance(duration, (int, float, np.integer, np.floating))
                and np.isfinite(duration) and duration >= 0):
            raise ValueError(f"run duration must be a finite number >= 0 ms, got {duration!r}")
        return int(round(duration / self._dt))

    @contextlib.contextmanager
    def _codegen(self):
        """Brian2's code generation target is a global preference: set it for this
        Simulation's code and restore it afterwards, so that simulations with
        different targets can share a process."""
        previous = b2.prefs.codegen.target
        b2.prefs.codegen.target = self._codegen_target
        try:
            yield
        finally:
            b2.prefs.codegen.target = previous

    @contextlib.contextmanager
    def _own_random_stream(self):
        """Seed Brian2's random numbers for this run from (seed, run number).

        Brian2 draws from process-wide generators (numpy's for the numpy
        target, its own for compiled code); reseeding per run makes each
        Simulation reproducible whatever else ran in the process, and numpy's
        global state is given back unchanged.
        """
        numpy_state = np.random.get_state()
        if self._seed is not None:
            b2.seed(int(np.random.SeedSequence([int(self._seed), self._runs])
                        .generate_state(1)[0] >> 1))
        else:
            b2.seed()
        try:
            yield
        finally:
            np.random.set_state(numpy_state)

    def _population(self, label: str) -> ir.Population:
        try:
            return self._net.population(label)
        except KeyError as exc:
            raise ir.NetworkError(str(exc).strip("'\"")) from None

    def _projection(self, label: str) -> ir.Projection:
        try:
            return self._net.projection(label)
        except KeyError as exc:
            raise ir.NetworkError(str(exc).strip("'\"")) from None

    def _replace_population(self, new_pop: ir.Population) -> None:
        self._net = dataclasses.replace(
            self._net, populations=tuple(new_pop if p.label == new_pop.label else p
                                         for p in self._net.populations))
