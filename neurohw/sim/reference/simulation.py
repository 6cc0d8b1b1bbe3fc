"""``Simulation``: lays an :class:`neurohw.ir.Network` out as flat arrays for the kernel.

Memory is linear in neurons and synapses: per-neuron coefficient/state arrays,
synapses in CSR order by presynaptic neuron, and a ring buffer of
``(max_delay_steps + 1) x 2 receptors x neurons`` pending inputs.

Conventions beyond those of :mod:`neurohw.ir` (documented because the other
backends must match them):

* Spike times: neuron spikes are stamped at the end of the step in which the
  threshold was crossed, so a run over ``[t_start, t_stop)`` reports neuron
  spikes in ``(t_start, t_stop]``; source spikes carry their own (grid) time and
  are reported in ``[t_start, t_stop)``.
* SpikeSourceArray times are rounded to the nearest step; two times rounding to
  one step give two spikes.  SpikeSourcePoisson makes one Bernoulli trial with
  ``p = rate*dt/1000`` per step ``k`` with ``start <= k*dt < start + duration``
  (grid-rounded), the spike stamped ``k*dt``; ``rate*dt/1000 > 1`` is an error.
* StepCurrent change times and ``tau_refrac`` are rounded to steps; a neuron
  is clamped for ``round(tau_refrac/dt)`` steps after its spike step.
* AdEx cells: the spike is detected when v reaches v_spike at any RK4
  sub-step; the sub-stepping then stops (the capped equations leave only w
  moving for the rest of the step) and the spike is stamped at the end of the
  step, where v is reset and w jumps by b -- one spike per step at most, where
  NEST's aeif models may reset within a step.
* Recorded analog values are right-continuous: the sample at ``t`` includes
  the synaptic inputs arriving at ``t`` (as NEST's multimeter does).
* STDP: an event at the synapse is processed at its synapse time; at one
  instant all post events (potentiation) precede all pre events (depression),
  the order in which NEST's stdp_synapse applies them.  The weight a plastic
  synapse transmits is the one after its own pre-event update.
* Tsodyks-Markram synapses (ir.TsodyksMarkram) update u and x when a spike is
  sent, with its arrival time: a synapse's state depends only on the times of
  its own arrivals, which come in sending order while its delay is unchanged.
* ``wall_time["build"]`` is reported in the first RunResult only (0 after).
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from ...ir import CELL_TYPES, Network, NetworkError, Population
from ...results import RunResult, Signal, SpikeTrains
from . import kernel as K
from .propagators import current_based_propagators

__all__ = ["Simulation"]

_INITIAL_QUEUE_EVENTS = 1024
_INITIAL_SPIKE_RECORD = 4096


#: the per-synapse parameters of ir.TsodyksMarkram, in the row order of kernel.STP_*
_SHORT_TERM_PARAMETERS = ("U", "tau_rec", "tau_facil")


def _state_row(var: str) -> int:
    """The row of the kernel's per-neuron state matrix that holds ``var`` (not "v")."""
    if var == "w":
        return K.ADAPT_W
    return K.SYN_E if var.endswith("_exc") else K.SYN_I


class Simulation:
    """The reference software simulator (see :mod:`neurohw.sim` for the interface)."""

    backend = "reference"

    # No **options: the PyNN layer reads this signature to reject unknown target
    # options at setup() (neurohw.pynn.targets.check_options).
    def __init__(self, net: Network, seed: int | None = None):
        started = time.perf_counter()
        if not isinstance(net, Network):
            raise TypeError(f"reference simulator: expected a neurohw.ir.Network, "
                            f"got {type(net).__name__}")
        self.net = net
        self.dt = float(net.dt)
        if seed is None:
            seed = net.seed
        if seed is None:
            # no seed given anywhere: draw one, and keep it so the run can be repeated
            seed = int(np.random.SeedSequence().entropy % 2**64)
        if int(seed) != seed or seed < 0:
            raise ValueError(f"reference simulator: seed must be a non-negative integer, "
                             f"got {seed!r}")
        self.seed = int(seed) % 2**64
        self._step = 0
        self._reported_build = False
        self._layout_neurons()
        self._layout_synapses()
        self._layout_recording()
        # compile (or load numba's on-disk cache) now, so that it counts as build time
        self._advance(0, np.zeros(0), record_spike_capacity=1)
        self._build_seconds = time.perf_counter() - started

    # ---- public interface --------------------------------------------------
    @property
    def t(self) -> float:
        """Current simulated time, ms."""
        return self._step * self.dt

    def run(self, duration: float) -> RunResult:
        """Advance by ``round(duration/dt)`` steps; returns the RunResult of that stretch."""
        if not (isinstance(duration, (int, float, np.integer, np.floating))
                and math.isfinite(duration) and duration >= 0):
            raise ValueError(f"reference simulator: run duration must be a finite number "
                             f">= 0 ms, got {duration!r}")
        started = time.perf_counter()
        n_steps = int(round(duration / self.dt))
        k_first = self._step
        samples = [(n_steps + every - 1) // every for every in self._group_every]
        offsets = np.zeros(len(samples), dtype=np.int64)
        widths = self._group_stop - self._group_first
        if samples:
            offsets[1:] = np.cumsum(np.asarray(samples) * widths)[:-1]
        self._group_offset = offsets
        record_out = np.zeros(int(np.dot(samples, widths)) if samples else 0)
        spike_neuron, spike_step = self._advance(n_steps, record_out, _INITIAL_SPIKE_RECORD)
        self._step += n_steps
        result = RunResult(t_start=k_first * self.dt, t_stop=self._step * self.dt,
                           dt=self.dt, backend=self.backend)
        self._collect_spikes(result, spike_neuron, spike_step)
        self._collect_signals(result, record_out, samples, k_first)
        for p in self.net.populations:
            if not p.celltype.is_source:
                result.final_state[p.label] = {var: self._state_view(p.label, var).copy()
                                               for var in p.celltype.state}
        for prj in self.net.projections:
            if prj.plasticity is not None:
                result.weights[prj.label] = self.get_synapses(prj.label, "weight")
        result.wall_time = {"build": 0.0 if self._reported_build else self._build_seconds,
                            "run": time.perf_counter() - started}
        self._reported_build = True
        return result

    def set_parameter(self, pop_label: str, name: str, values) -> None:
        """Set a parameter of a population (or SpikeSourceArray ``spike_times``) for later runs."""
        pop = self._population(pop_label)
        if name == "spike_times" and pop.cell_type == "SpikeSourceArray":
            # one sorted train per neuron, validated as in the IR
            new_pop = dataclasses.replace(pop, spike_times=tuple(values))
        else:
            params = dict(pop.params)
            if name not in params:
                raise NetworkError(f"population '{pop_label}' ({pop.cell_type}) has no parameter "
                                   f"'{name}'; parameters: {', '.join(params) or 'none'}")
            params[name] = values
            new_pop = dataclasses.replace(pop, params=params)
        self._fill_population(self._pop_index[pop_label], new_pop)
        self._replace_population(new_pop)

    def set_state(self, pop_label: str, var: str, values) -> None:
        """Set a state variable (``v``, ``isyn_exc``, ``gsyn_inh``...) for later runs."""
        pop = self._population(pop_label)
        if var not in pop.celltype.state:
            raise NetworkError(f"population '{pop_label}' ({pop.cell_type}) has no state variable "
                               f"'{var}'; state: {', '.join(pop.celltype.state) or 'none'}")
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim == 0:
            arr = np.full(pop.size, float(arr))
        if arr.shape != (pop.size,):
            raise NetworkError(f"population '{pop_label}': state '{var}' needs {pop.size} "
                               f"values, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            i = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise NetworkError(f"population '{pop_label}': state '{var}' of neuron {i} is "
                               f"{arr[i]}")
        self._state_view(pop_label, var)[:] = arr

    def set_synapses(self, proj_label: str, name: str, values) -> None:
        """Set ``weight``, ``delay`` or (Tsodyks-Markram projections) ``U``, ``tau_rec``,
        ``tau_facil`` of every synapse of a projection for later runs."""
        prj = self._projection(proj_label)
        if name in _SHORT_TERM_PARAMETERS and prj.short_term is not None:
            short_term = dataclasses.replace(prj.short_term, **{
                name: np.broadcast_to(np.asarray(values, dtype=np.float64), (prj.size,))})
            new_prj = dataclasses.replace(prj, short_term=short_term)    # validates
            self._replace_projection(new_prj)
            row = _SHORT_TERM_PARAMETERS.index(name)
            self._stp_param[row, self._stp_of_projection[proj_label]] = getattr(short_term, name)
            return
        if name not in ("weight", "delay"):
            raise NetworkError(f"projection '{proj_label}': cannot set '{name}'; "
                               f"settable: {', '.join(self._synapse_attributes(prj))}")
        new_prj = dataclasses.replace(prj, **{name: values})
        # the Network re-validates signs, delay range and STDP bounds
        self._replace_projection(new_prj)
        pos = self._proj_csr[proj_label]
        if name == "delay":
            steps = self._delay_steps(new_prj.delay)
            if steps.size and steps.max() > self._ring.shape[0] - 1:
                self._grow_ring(int(steps.max()))
            self._syn_delay[pos] = steps
        else:
            self._syn_weight[pos] = new_prj.weight
            if prj.plasticity is not None:
                self._plastic_w[self._syn_plastic[pos]] = np.abs(new_prj.weight)

    def _grow_ring(self, max_steps: int) -> None:
        """Enlarge the ring buffer (and the STDP event slots keyed like it) to hold delays of
        ``max_steps``; pending inputs and events keep their absolute arrival steps."""
        old_slots, new_slots = self._ring.shape[0], max_steps + 1
        # after a run that stopped at step K, slots hold the times K+1 .. K+old_slots-1
        pending = np.arange(self._step + 1, self._step + old_slots)
        ring = np.zeros((new_slots,) + self._ring.shape[1:])
        ring[pending % new_slots] = self._ring[pending % old_slots]
        head = np.full((2, new_slots), -1, dtype=np.int64)
        head[:, pending % new_slots] = self._queue_head[:, pending % old_slots]
        self._ring, self._queue_head = ring, head

    def get_synapses(self, proj_label: str, name: str) -> np.ndarray:
        """Current ``weight`` (learned, for plastic projections) or ``delay`` (ms, as simulated,
        i.e. rounded to steps) of every synapse, in the projection's order."""
        prj = self._projection(proj_label)
        pos = self._proj_csr[proj_label]
        if name == "weight":
            if prj.plasticity is None:
                return self._syn_weight[pos].copy()
            sign = self._rules[self._plastic_rule[self._syn_plastic[pos]], K.SIGN]
            return sign * self._plastic_w[self._syn_plastic[pos]]
        if name == "delay":
            return self._syn_delay[pos] * self.dt
        if name in _SHORT_TERM_PARAMETERS and prj.short_term is not None:
            return getattr(prj.short_term, name).copy()
        raise NetworkError(f"projection '{proj_label}': no synapse attribute '{name}'; "
                           f"have: {', '.join(self._synapse_attributes(prj))}")

    @staticmethod
    def _synapse_attributes(prj) -> tuple[str, ...]:
        return ("weight", "delay") + (_SHORT_TERM_PARAMETERS if prj.short_term is not None
                                      else ())

    def _replace_projection(self, new_prj) -> None:
        self.net = dataclasses.replace(self.net, projections=tuple(
            new_prj if p.label == new_prj.label else p for p in self.net.projections))

    @property
    def nbytes(self) -> int:
        """Bytes held in the simulator's numpy arrays (its memory footprint)."""
        held = list(vars(self).values()) + list(self._proj_csr.values())
        return sum(a.nbytes for a in held if isinstance(a, np.ndarray))

    # ---- layout ------------------------------------------------------------
    def _layout_neurons(self) -> None:
        pops = self.net.populations
        sizes = np.array([p.size for p in pops], dtype=np.int64)
        self._pop_start = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        self._pop_stop = self._pop_start + sizes
        self._pop_kind = np.array([K.KIND_BY_CELL_TYPE[p.cell_type] for p in pops], dtype=np.int64)
        self._pop_index = {p.label: i for i, p in enumerate(pops)}
        n = int(sizes.sum())
        self._coef = np.zeros((K.N_COEF_ROWS, n))
        self._refrac_steps = np.zeros(n, dtype=np.int64)
        self._poisson_first = np.zeros(n, dtype=np.int64)
        self._poisson_stop = np.zeros(n, dtype=np.int64)
        self._v = np.zeros(n)
        self._syn = np.zeros((K.N_STATE_ROWS, n))
        self._refrac_left = np.zeros(n, dtype=np.int64)
        self._i_ext = np.zeros(n)
        self._array_ptr = np.zeros(n + 1, dtype=np.int64)
        self._array_step = np.zeros(0, dtype=np.int64)
        self._array_next = np.zeros(n, dtype=np.int64)
        for index, pop in enumerate(pops):
            self._fill_population(index, pop)
            if not pop.celltype.is_source:
                for var in pop.celltype.state:
                    self._state_view(pop.label, var)[:] = pop.initial[var]
        self._layout_currents()

    def _fill_population(self, index: int, pop: Population) -> None:
        """(Re)compute the coefficients of one population from its parameters."""
        lo, hi = self._pop_start[index], self._pop_stop[index]
        p, c, dt = pop.params, self._coef, self.dt
        if pop.cell_type == "SpikeSourcePoisson":
            prob = p["rate"] * dt / 1000.0
            if np.any(prob > 1.0):
                i = int(np.flatnonzero(prob > 1.0)[0])
                raise NetworkError(f"population '{pop.label}': parameter 'rate' of neuron {i} is "
                                   f"{p['rate'][i]} Hz, above 1/dt = {1000.0 / dt} Hz (one spike "
                                   f"per step at most)")
            c[K.POISSON_P, lo:hi] = prob
            self._poisson_first[lo:hi] = np.round(p["start"] / dt)
            self._poisson_stop[lo:hi] = np.round((p["start"] + p["duration"]) / dt)
            return
        if pop.cell_type == "SpikeSourceArray":
            self._set_spike_arrays(lo, pop.spike_times)
            return
        for row, name in ((K.V_REST, "v_rest"), (K.V_RESET, "v_reset"), (K.V_THRESH, "v_thresh"),
                          (K.I_OFFSET, "i_offset"), (K.CM, "cm"), (K.TAU_SYN_E, "tau_syn_E"),
                          (K.TAU_SYN_I, "tau_syn_I")):
            c[row, lo:hi] = p[name]
        self._refrac_steps[lo:hi] = np.round(p["tau_refrac"] / dt)
        c[K.DECAY_SYN_E, lo:hi] = np.exp(-dt / p["tau_syn_E"])
        c[K.DECAY_SYN_I, lo:hi] = np.exp(-dt / p["tau_syn_I"])
        if pop.celltype.conductance_based:
            self._fill_conductance_based(lo, hi, pop)
            return
        prop = current_based_propagators(dt, p["cm"], p["tau_m"], p["tau_syn_E"], p["tau_syn_I"])
        for row, key in ((K.DECAY_M, "decay_m"), (K.U_CONST, "u_const"),
                         (K.U_FROM_I_E, "u_from_I_E"), (K.U_FROM_I_I, "u_from_I_I"),
                         (K.U_FROM_J_E, "u_from_J_E"), (K.U_FROM_J_I, "u_from_J_I"),
                         (K.I_FROM_J_E, "I_from_J_E"), (K.I_FROM_J_I, "I_from_J_I")):
            c[row, lo:hi] = prop[key]
        # an alpha PSC of weight w peaks at w (PyNN's convention): J jumps by w*e/tau_syn
        c[K.ARRIVAL_SCALE_E, lo:hi] = math.e / p["tau_syn_E"]
        c[K.ARRIVAL_SCALE_I, lo:hi] = math.e / p["tau_syn_I"]

    def _fill_conductance_based(self, lo: int, hi: int, pop: Population) -> None:
        """Coefficients of IF_cond_exp/alpha and the AdEx cells (see kernel._conductance_step)."""
        p, c, dt = pop.params, self._coef, self.dt
        c[K.G_LEAK, lo:hi] = p["cm"] / p["tau_m"]
        c[K.E_REV_E, lo:hi] = p["e_rev_E"]
        c[K.E_REV_I, lo:hi] = p["e_rev_I"]
        alpha = pop.cell_type in ("IF_cond_alpha", "EIF_cond_alpha_isfa_ista")
        for tau, from_drive, arrival_scale in ((p["tau_syn_E"], K.I_FROM_J_E, K.ARRIVAL_SCALE_E),
                                               (p["tau_syn_I"], K.I_FROM_J_I, K.ARRIVAL_SCALE_I)):
            # alpha: g(h) = (g + y h) e^{-h/tau}; a conductance of weight w peaks at w
            # tau after the spike (NEST's iaf_cond_alpha), so y jumps by w e/tau
            c[from_drive, lo:hi] = dt * np.exp(-dt / tau) if alpha else 0.0
            c[arrival_scale, lo:hi] = math.e / tau if alpha else 0.0
        if "v_spike" not in p:
            c[K.V_PEAK, lo:hi] = np.inf
            return
        # AdEx: without the exponential term (delta_T = 0) NEST detects the spike at v_thresh
        spike_level = np.where(p["delta_T"] > 0, p["v_spike"], p["v_thresh"])
        c[K.V_THRESH, lo:hi] = spike_level
        c[K.V_PEAK, lo:hi] = spike_level
        c[K.V_EXP_THRESH, lo:hi] = p["v_thresh"]
        c[K.DELTA_T, lo:hi] = p["delta_T"]
        c[K.ADAPT_A, lo:hi] = p["a"] * 1e-3          # nS -> uS, so that a*(v - v_rest) is nA
        c[K.ADAPT_B, lo:hi] = p["b"]
        c[K.INV_TAU_W, lo:hi] = 1.0 / p["tau_w"]
        c[K.DECAY_W, lo:hi] = np.exp(-dt / p["tau_w"])

    def _set_spike_arrays(self, first_neuron: int, trains) -> None:
        """Replace the spike steps of the SpikeSourceArray neurons from ``first_neuron`` on
        (one train each); spikes before the current time are never emitted."""
        n, ptr = self._v.size, self._array_ptr
        counts = np.diff(ptr)
        new_steps = [np.round(np.asarray(t, dtype=np.float64) / self.dt).astype(np.int64)
                     for t in trains]
        last = first_neuron + len(new_steps)
        counts[first_neuron:last] = [s.size for s in new_steps]
        self._array_step = np.concatenate(
            [self._array_step[:ptr[first_neuron]], *new_steps, self._array_step[ptr[last]:]]
        ).astype(np.int64)
        self._array_ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        # resume each neuron at its first spike not yet due
        owner = np.repeat(np.arange(n), counts)
        already_due = np.bincount(owner[self._array_step < self._step], minlength=n)
        self._array_next = self._array_ptr[:-1] + already_due

    def _layout_currents(self) -> None:
        steps, neurons, deltas = [], [], []
        for cs in self.net.currents:
            first = self._pop_start[self._pop_index[cs.population]]
            change = np.diff(np.concatenate(([0.0], cs.amplitudes)))
            for step, delta in zip(np.round(cs.times / self.dt).astype(np.int64), change):
                steps.append(np.full(cs.indices.size, step))
                neurons.append(first + cs.indices)
                deltas.append(np.full(cs.indices.size, delta))
        if steps:
            steps, neurons, deltas = (np.concatenate(a) for a in (steps, neurons, deltas))
        order = np.argsort(steps, kind="stable")
        self._current_step = np.asarray(steps, dtype=np.int64)[order]
        self._current_neuron = np.asarray(neurons, dtype=np.int64)[order]
        self._current_delta = np.asarray(deltas, dtype=np.float64)[order]
        self._current_next = np.zeros(1, dtype=np.int64)

    def _delay_steps(self, delay_ms: np.ndarray) -> np.ndarray:
        # the IR guarantees delay >= dt up to rounding; never less than one step
        return np.maximum(1, np.round(delay_ms / self.dt)).astype(np.int64)

    def _layout_synapses(self) -> None:
        net, n = self.net, self._v.size
        pre, post, receptor, delay, weight, plastic = [], [], [], [], [], []
        rules, plastic_rule, plastic_w, n_plastic = [], [], [], 0
        stp, stp_param, n_stp = [], [], 0
        for prj in net.projections:
            pre.append(self._pop_start[self._pop_index[prj.pre]] + prj.pre_idx)
            post.append(self._pop_start[self._pop_index[prj.post]] + prj.post_idx)
            receptor.append(np.full(prj.size, 0 if prj.receptor == "excitatory" else 1))
            delay.append(self._delay_steps(prj.delay))
            weight.append(prj.weight)
            if prj.short_term is None:
                stp.append(np.full(prj.size, -1))
            else:
                tm = prj.short_term
                stp.append(np.arange(n_stp, n_stp + prj.size))
                stp_param.append(np.stack([tm.U, tm.tau_rec, tm.tau_facil]))
                n_stp += prj.size
            if prj.plasticity is None:
                plastic.append(np.full(prj.size, -1))
                continue
            stdp = prj.plasticity
            w_lo, w_hi = sorted((abs(stdp.w_min), abs(stdp.w_max)))
            negative = prj.receptor == "inhibitory" and not CELL_TYPES[
                net.population(prj.post).cell_type].conductance_based
            rules.append((stdp.tau_plus, stdp.tau_minus, stdp.A_plus, stdp.A_minus, w_lo, w_hi,
                          float(stdp.weight_dependence == "multiplicative"),
                          stdp.dendritic_delay_fraction, -1.0 if negative else 1.0))
            plastic.append(np.arange(n_plastic, n_plastic + prj.size))
            plastic_rule.append(np.full(prj.size, len(rules) - 1))
            plastic_w.append(np.abs(prj.weight))
            n_plastic += prj.size

        def joined(parts, dtype):
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

        pre, post = joined(pre, np.int64), joined(post, np.int64)
        order = np.argsort(pre, kind="stable")
        self._out_ptr = np.concatenate(([0], np.cumsum(np.bincount(pre, minlength=n)))).astype(
            np.int64)
        self._syn_post = post[order]
        self._syn_receptor = joined(receptor, np.int64)[order]
        self._syn_delay = joined(delay, np.int64)[order]
        self._syn_weight = joined(weight, np.float64)[order]
        self._syn_plastic = joined(plastic, np.int64)[order]
        self._syn_stp = joined(stp, np.int64)[order]
        # Tsodyks-Markram synapses, in projection order (kernel.STP_*)
        self._stp_param = (np.concatenate(stp_param, axis=1) if stp_param
                           else np.zeros((3, 0)))
        self._stp_state = np.zeros((2, n_stp))
        self._stp_last = np.full(n_stp, -1, dtype=np.int64)
        self._stp_of_projection, first = {}, 0
        for prj in net.projections:
            if prj.short_term is not None:
                self._stp_of_projection[prj.label] = np.arange(first, first + prj.size)
                first += prj.size
        csr_of_synapse = np.empty_like(order)
        csr_of_synapse[order] = np.arange(order.size)
        self._proj_csr, start = {}, 0
        for prj in net.projections:
            self._proj_csr[prj.label] = csr_of_synapse[start:start + prj.size]
            start += prj.size
        max_steps = int(self._syn_delay.max()) if self._syn_delay.size else 1
        if net.max_delay is not None:
            max_steps = max(max_steps, int(self._delay_steps(np.array([net.max_delay]))[0]))
        self._ring = np.zeros((max_steps + 1, 2, n))
        # plasticity
        self._rules = np.array(rules, dtype=np.float64).reshape(len(rules), K.N_RULE_COLS)
        self._plastic_rule = joined(plastic_rule, np.int64)
        self._plastic_w = joined(plastic_w, np.float64)
        is_plastic = self._syn_plastic >= 0
        self._plastic_csr = np.empty(n_plastic, dtype=np.int64)
        self._plastic_csr[self._syn_plastic[is_plastic]] = np.flatnonzero(is_plastic)
        plastic_post = self._syn_post[self._plastic_csr]
        self._in_ptr = np.concatenate(([0], np.cumsum(np.bincount(plastic_post, minlength=n)))
                                      ).astype(np.int64)
        self._in_plastic = np.argsort(plastic_post, kind="stable").astype(np.int64)
        self._traces = np.zeros((4, n_plastic))
        self._trace_step = np.full((2, n_plastic), -1, dtype=np.int64)
        pool = max(_INITIAL_QUEUE_EVENTS, n_plastic)
        self._queue_syn = np.zeros(pool, dtype=np.int64)
        self._queue_next = np.arange(1, pool + 1, dtype=np.int64)
        self._queue_next[-1] = -1
        self._queue_head = np.full((2, self._ring.shape[0]), -1, dtype=np.int64)
        self._queue_free = np.zeros(1, dtype=np.int64)

    def _layout_recording(self) -> None:
        n = self._v.size
        self._record_spikes = np.zeros(n, dtype=np.bool_)
        every, var_code, first, stop, neurons = [], [], [], [], []
        self._groups = []      # (population label, variable) per recording group
        for pop in self.net.populations:
            start = self._pop_start[self._pop_index[pop.label]]
            interval = pop.record_interval if pop.record_interval is not None else self.dt
            for var, idx in pop.record.items():
                if var == "spikes":
                    self._record_spikes[start + idx] = True
                    continue
                every.append(max(1, int(round(interval / self.dt))))
                var_code.append(K.RECORD_V if var == "v" else _state_row(var))
                first.append(sum(len(a) for a in neurons))
                neurons.append(start + idx)
                stop.append(first[-1] + idx.size)
                self._groups.append((pop.label, var))
        self._group_every = np.array(every, dtype=np.int64)
        self._group_var = np.array(var_code, dtype=np.int64)
        self._group_first = np.array(first, dtype=np.int64)
        self._group_stop = np.array(stop, dtype=np.int64)
        self._group_offset = np.zeros(len(every), dtype=np.int64)
        self._record_neuron = (np.concatenate(neurons).astype(np.int64) if neurons
                               else np.zeros(0, dtype=np.int64))

    # ---- running -----------------------------------------------------------
    def _advance(self, n_steps: int, record_out: np.ndarray, record_spike_capacity: int):
        spike_count = np.zeros(1, dtype=np.int64)
        queue_syn, queue_next, spike_neuron, spike_step = K.run_steps(
            self._step, n_steps, self.dt, np.uint64(self.seed),
            self._pop_start, self._pop_stop, self._pop_kind, self._coef, self._refrac_steps,
            self._poisson_first, self._poisson_stop,
            self._v, self._syn, self._refrac_left, self._i_ext,
            self._current_step, self._current_neuron, self._current_delta, self._current_next,
            self._array_ptr, self._array_step, self._array_next,
            self._out_ptr, self._syn_post, self._syn_receptor, self._syn_delay, self._syn_weight,
            self._syn_plastic, self._ring,
            self._plastic_w, self._plastic_rule, self._plastic_csr, self._rules, self._traces,
            self._trace_step, self._in_ptr, self._in_plastic,
            self._queue_syn, self._queue_next, self._queue_head, self._queue_free,
            self._syn_stp, self._stp_param, self._stp_state, self._stp_last,
            self._record_spikes, self._group_every, self._group_var, self._group_first,
            self._group_stop, self._group_offset, self._record_neuron, record_out,
            np.zeros(record_spike_capacity, dtype=np.int64),
            np.zeros(record_spike_capacity, dtype=np.int64), spike_count)
        self._queue_syn, self._queue_next = queue_syn, queue_next
        return spike_neuron[:spike_count[0]], spike_step[:spike_count[0]]

    def _collect_spikes(self, result: RunResult, spike_neuron, spike_step) -> None:
        for index, pop in enumerate(self.net.populations):
            if "spikes" not in pop.record:
                continue
            lo, hi = self._pop_start[index], self._pop_stop[index]
            mine = (spike_neuron >= lo) & (spike_neuron < hi)
            result.spikes[pop.label] = SpikeTrains(index=spike_neuron[mine] - lo,
                                                   times=spike_step[mine] * self.dt)

    def _collect_signals(self, result: RunResult, record_out, samples, k_first) -> None:
        offset = 0
        for g, (label, var) in enumerate(self._groups):
            width = int(self._group_stop[g] - self._group_first[g])
            block = record_out[offset:offset + samples[g] * width].reshape(samples[g], width)
            offset += samples[g] * width
            steps = k_first + np.arange(samples[g]) * self._group_every[g]
            indices = self._record_neuron[self._group_first[g]:self._group_stop[g]] - \
                self._pop_start[self._pop_index[label]]
            result.signals.setdefault(label, {})[var] = Signal(
                times=steps * self.dt, indices=indices, values=block.copy())

    # ---- helpers -----------------------------------------------------------
    def _population(self, label: str) -> Population:
        if label not in self._pop_index:
            raise NetworkError(f"no population labelled '{label}'; have: "
                               f"{', '.join(self._pop_index)}")
        return self.net.populations[self._pop_index[label]]

    def _projection(self, label: str):
        if label not in self._proj_csr:
            raise NetworkError(f"no projection labelled '{label}'; have: "
                               f"{', '.join(self._proj_csr) or 'none'}")
        return self.net.projection(label)

    def _replace_population(self, new_pop: Population) -> None:
        index = self._pop_index[new_pop.label]
        pops = list(self.net.populations)
        pops[index] = new_pop
        self.net = dataclasses.replace(self.net, populations=tuple(pops))

    def _state_view(self, label: str, var: str) -> np.ndarray:
        """The slice of the state arrays holding ``var`` of population ``label``."""
        index = self._pop_index[label]
        lo, hi = self._pop_start[index], self._pop_stop[index]
        if var == "v":
            return self._v[lo:hi]
        return self._syn[_state_row(var), lo:hi]
