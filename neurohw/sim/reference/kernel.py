"""The numba-compiled time loop of the reference simulator.

Everything that happens per step runs inside :func:`run_steps`, one compiled
call per ``Simulation.run``; the Python side only lays out flat arrays.  All
neurons of all populations share one global index (populations concatenated in
network order); spike sources occupy indices too but are never integrated.

Order of work in step ``k`` (from ``k*dt`` to ``(k+1)*dt``), following the
time convention of :mod:`neurohw.ir` and NEST's update order:

1. analog recording of the state at ``k*dt`` (right-continuous: synaptic
   inputs arriving at ``k*dt`` are already included);
2. StepCurrent changes due at ``k*dt``;
3. spike sources emit the spikes stamped ``k*dt`` (they reach their targets at
   ``k*dt + delay``, i.e. at least one step later);
4. neurons integrate over the step (exact propagators; for conductance-based
   cells exact conductances and RK4 for v and AdEx's w), refractory neurons
   stay clamped at v_reset (AdEx's w relaxing meanwhile), and neurons at or
   above threshold (AdEx: v_spike) spike, stamped ``(k+1)*dt``, are reset to
   v_reset and (AdEx) have w increased by b;
5. STDP events whose synapse time is ``(k+1)*dt``, all post events
   (potentiation) before any pre event (depression + transmission);
6. the spikes of step 4 are sent: static synapses write into the ring buffer
   at ``(k+1)*dt + delay`` (Tsodyks-Markram ones scaled by their u*x at that
   arrival time); a plastic synapse whose delay is dendritic sees the
   pre spike now (a pre event at ``(k+1)*dt``, after all post events of 5),
   one whose delay is axonal queues it for ``(k+1)*dt + delay``;
7. the ring-buffer slot of ``(k+1)*dt`` is added to the synaptic variables.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

# ---- cell kinds ------------------------------------------------------------
KIND_CURR_EXP = 0
KIND_CURR_ALPHA = 1
KIND_COND_EXP = 2
KIND_SPIKE_ARRAY = 3
KIND_POISSON = 4
KIND_COND_ALPHA = 5
KIND_ADEX_EXP = 6
KIND_ADEX_ALPHA = 7
KIND_BY_CELL_TYPE = {"IF_curr_exp": KIND_CURR_EXP, "IF_curr_alpha": KIND_CURR_ALPHA,
                     "IF_cond_exp": KIND_COND_EXP, "SpikeSourceArray": KIND_SPIKE_ARRAY,
                     "SpikeSourcePoisson": KIND_POISSON, "IF_cond_alpha": KIND_COND_ALPHA,
                     "EIF_cond_exp_isfa_ista": KIND_ADEX_EXP,
                     "EIF_cond_alpha_isfa_ista": KIND_ADEX_ALPHA}

# ---- rows of the per-neuron coefficient matrix coef[row, neuron] -------------
# V_THRESH is the level at which a spike is detected: v_thresh, but v_spike for
# AdEx cells (v_thresh if delta_T = 0, as NEST's aeif models)
V_REST, V_RESET, V_THRESH, I_OFFSET = 0, 1, 2, 3
DECAY_M, U_CONST = 4, 5                      # exact propagators (current-based)
DECAY_SYN_E, DECAY_SYN_I = 6, 7
U_FROM_I_E, U_FROM_I_I = 8, 9
U_FROM_J_E, U_FROM_J_I = 10, 11              # current-based alpha only
I_FROM_J_E, I_FROM_J_I = 12, 13              # alpha: h e^{-h/tau_syn}; exp: 0
ARRIVAL_SCALE_E, ARRIVAL_SCALE_I = 14, 15    # alpha: e/tau_syn, else unused
CM, G_LEAK, E_REV_E, E_REV_I = 16, 17, 18, 19  # conductance-based only
TAU_SYN_E, TAU_SYN_I = 20, 21
POISSON_P = 22                               # spike probability per step
# V_PEAK: above it the conductance-based right-hand side is evaluated at V_PEAK
# (NEST's aeif cap) and the sub-stepping stops, the spike being certain: the AdEx
# spike level; +inf for IF_cond_*, whose threshold is tested at the end of the step
V_PEAK = 23
V_EXP_THRESH, DELTA_T = 24, 25               # AdEx: v_thresh and delta_T (mV); else 0
ADAPT_A, ADAPT_B = 26, 27                    # AdEx: a (uS), b (nA); else 0
INV_TAU_W, DECAY_W = 28, 29                  # AdEx: 1/tau_w, e^{-dt/tau_w}; else 0
N_COEF_ROWS = 30

# ---- rows of the synaptic state syn[row, neuron] ------------------------------
# exp: I (nA); alpha: I (nA) and J = its drive (nA/ms); cond: g (uS) (and its
# drive, uS/ms, for alpha conductances).  ADAPT_W holds AdEx's adaptation
# current w (nA), a per-neuron state like the others (0 for other cells).
SYN_E, SYN_E_J, SYN_I, SYN_I_J = 0, 1, 2, 3
ADAPT_W = 4
N_STATE_ROWS = 5
RECORD_V = -1       # recording-group variable code for the membrane potential

# ---- STDP -------------------------------------------------------------------
# Timing is measured at the synapse (ir.STDP): with dendritic delay fraction f
# a pre spike reaches it at t_pre + (1-f)*delay and a post spike at
# t_post + f*delay.  The delayed side is an event queued per synapse: one
# linked list per ring slot and kind (post/pre) in a pooled, growable array,
# so memory is linear in the events in flight.  Each plastic synapse carries
# its own pre and post traces, updated exactly (decay by exp(-dt/tau)) only at
# its own events.
# rule[r, col]
TAU_PLUS, TAU_MINUS, A_PLUS, A_MINUS, W_LO, W_HI, MULTIPLICATIVE, DENDRITIC, SIGN = range(9)
N_RULE_COLS = 9
# traces[row, plastic synapse]: each trace keeps its value just before and just
# after the jumps at its last event time, so that a read at that same instant
# can exclude them (ir.STDP: a pre and a post spike at one instant do not pair).
X_BEFORE, X_AFTER, Y_BEFORE, Y_AFTER = 0, 1, 2, 3
X_TIME, Y_TIME = 0, 1          # rows of trace_step[row, plastic synapse]
QUEUE_POST, QUEUE_PRE = 0, 1   # rows of queue_head[row, slot]

# ---- Tsodyks-Markram short-term plasticity (ir.TsodyksMarkram) ---------------
# A synapse's u and x depend only on the arrival times of its own spikes, which
# come in the order they were sent (one delay per synapse), so the update runs
# when the spike is sent, with the arrival time (stamp + delay) as the event time.
# stp_param[row, stp synapse]; stp_state[row, stp synapse]; stp_last[stp synapse]
# is the arrival step of its previous spike (-1: none yet, the synapse is fully
# recovered, u = U and x = 1).
STP_U, STP_TAU_REC, STP_TAU_FACIL = 0, 1, 2
STP_USE, STP_RESOURCES = 0, 1

# ---- conductance-based integration -----------------------------------------
# The conductances evolve exactly (exp: g e^{-s/tau}; alpha: (g + y s) e^{-s/tau});
# v (and AdEx's w) are integrated by classical RK4 on sub-steps of length eta
# chosen so that eta * rate <= COND_RK4_RATE, where rate bounds the Jacobian:
# (g_L + g_total + g_L e^{(v - v_T)/delta_T})/C, 1/tau_syn while a conductance is
# active, 1/tau_w.  The rate is re-evaluated after every sub-step and the rest of
# the step re-divided when it has grown (AdEx's exponential upswing, a rising
# alpha conductance); for IF_cond_exp it only falls within a step, so the first
# division stands.  For the linear membrane equation RK4's local error is
# ~(eta*k)^5/120 relative to |v - v_eq|, with terms of the same order in
# eta/tau_syn: <= 0.02^5/120 ~ 3e-11 per sub-step.  Measured against scipy's
# DOP853 (rtol 1e-12) over 25 ms with conductances up to 5 uS the error stays
# below 3e-8 mV (tests/test_reference.py checks 2e-7 mV); a one-step spike-time
# shift needs ~1e-2..1e-1 mV near threshold.  In AdEx's upswing the rate grows
# as v' ~ rate * delta_T, so reaching v_spike from v_T takes ~ (v_spike -
# v_T)/(delta_T * COND_RK4_RATE) sub-steps (~260 with PyNN's defaults).
COND_RK4_RATE = 0.02
# growth of the rate (relative) that re-divides the rest of a step; well above
# the rounding of the rate, so that a falling rate never triggers it
_RATE_GROWTH_TOLERANCE = 1e-6

# ---- counter-based random numbers for Poisson sources -----------------------
# A spike of Poisson neuron i in step k is decided by a uniform number that is
# a hash of (seed, i, k) -- the counter-based idea of Salmon et al. 2011 (SC'11,
# "Parallel random numbers: as easy as 1, 2, 3") with SplitMix64's finaliser
# (Steele, Lea & Flood 2014) as the mixing function.  The stream is therefore a
# pure function of the seed: independent of how a run is split into run() calls
# and of any other Simulation in the process.
_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_TWO_TO_MINUS_53 = 1.0 / 9007199254740992.0


@njit(cache=True)
def _splitmix(z):
    z = z + _GOLDEN_GAMMA
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def uniform_from_counter(seed, neuron, step):
    """A uniform number in [0, 1) determined by (seed, neuron, step)."""
    h = _splitmix(_splitmix(_splitmix(seed) ^ np.uint64(neuron)) ^ np.uint64(step))
    return np.float64(h >> np.uint64(11)) * _TWO_TO_MINUS_53


# ---- growable buffers ---------------------------------------------------------
@njit(cache=True)
def _grown_int(a):
    out = np.empty(2 * a.size, dtype=a.dtype)
    out[:a.size] = a
    return out


@njit(cache=True)
def _queue_push(queue_syn, queue_next, queue_head, queue_free, kind, slot, plastic_id):
    """Append a plastic-synapse event to the list of ``slot``; grows the pool if full."""
    if queue_free[0] < 0:
        old = queue_syn.size
        queue_syn = _grown_int(queue_syn)
        queue_next = _grown_int(queue_next)
        for e in range(old, 2 * old - 1):
            queue_next[e] = e + 1
        queue_next[2 * old - 1] = -1
        queue_free[0] = old
    e = queue_free[0]
    queue_free[0] = queue_next[e]
    queue_syn[e] = plastic_id
    queue_next[e] = queue_head[kind, slot]
    queue_head[kind, slot] = e
    return queue_syn, queue_next


# ---- STDP ---------------------------------------------------------------------
@njit(cache=True)
def _trace_value(before, after, t_last, t, dt, tau):
    """Trace at time step t, excluding jumps at t itself."""
    if t == t_last:
        return before
    return after * math.exp(-(t - t_last) * dt / tau)


@njit(cache=True)
def _trace_jump(traces, trace_step, row_before, row_time, p, t, dt, tau):
    if trace_step[row_time, p] == t:
        traces[row_before + 1, p] += 1.0
    else:
        before = traces[row_before + 1, p] * math.exp(-(t - trace_step[row_time, p]) * dt / tau)
        traces[row_before, p] = before
        traces[row_before + 1, p] = before + 1.0
        trace_step[row_time, p] = t


@njit(cache=True)
def _potentiate(p, t, dt, plastic_w, plastic_rule, rules, traces, trace_step):
    """Post spike at the synapse at step t: w += A+ * (w_max or w_max - w) * x_pre."""
    r = plastic_rule[p]
    x = _trace_value(traces[X_BEFORE, p], traces[X_AFTER, p], trace_step[X_TIME, p], t, dt,
                     rules[r, TAU_PLUS])
    w = plastic_w[p]
    scale = rules[r, W_HI] - w if rules[r, MULTIPLICATIVE] != 0.0 else rules[r, W_HI]
    plastic_w[p] = min(max(w + rules[r, A_PLUS] * scale * x, rules[r, W_LO]), rules[r, W_HI])
    _trace_jump(traces, trace_step, Y_BEFORE, Y_TIME, p, t, dt, rules[r, TAU_MINUS])


@njit(cache=True)
def _depress_and_transmit(p, t, dt, plastic_w, plastic_rule, plastic_csr, rules, traces,
                          trace_step, syn_post, syn_receptor, syn_delay, ring):
    """Pre spike at the synapse at step t: w -= A- * (w_max or w - w_min) * y_post, then the
    updated weight travels on (its arrival is t + the dendritic part of the delay)."""
    r = plastic_rule[p]
    y = _trace_value(traces[Y_BEFORE, p], traces[Y_AFTER, p], trace_step[Y_TIME, p], t, dt,
                     rules[r, TAU_MINUS])
    w = plastic_w[p]
    scale = w - rules[r, W_LO] if rules[r, MULTIPLICATIVE] != 0.0 else rules[r, W_HI]
    w = min(max(w - rules[r, A_MINUS] * scale * y, rules[r, W_LO]), rules[r, W_HI])
    plastic_w[p] = w
    _trace_jump(traces, trace_step, X_BEFORE, X_TIME, p, t, dt, rules[r, TAU_PLUS])
    c = plastic_csr[p]
    arrival = t + syn_delay[c] if rules[r, DENDRITIC] != 0.0 else t
    ring[arrival % ring.shape[0], syn_receptor[c], syn_post[c]] += rules[r, SIGN] * w


@njit(cache=True)
def _release_fraction(s, arrival, dt, stp_param, stp_state, stp_last):
    """u*x of Tsodyks-Markram synapse s at a spike arriving at step ``arrival``, then its
    update (ir.TsodyksMarkram: relax since the previous arrival, transmit, deplete and
    facilitate)."""
    big_u = stp_param[STP_U, s]
    if stp_last[s] < 0:
        u, x = big_u, 1.0
    else:
        # a spike sent after its delay was shortened between runs may arrive before
        # one still in flight; it is taken as simultaneous with that one
        h = max(arrival - stp_last[s], 0) * dt
        tau_facil = stp_param[STP_TAU_FACIL, s]
        facil_decay = math.exp(-h / tau_facil) if tau_facil > 0.0 else 0.0
        u = big_u + (stp_state[STP_USE, s] - big_u) * facil_decay
        x = 1.0 + (stp_state[STP_RESOURCES, s] - 1.0) * math.exp(-h / stp_param[STP_TAU_REC, s])
    released = u * x
    stp_state[STP_RESOURCES, s] = x - released
    stp_state[STP_USE, s] = u + big_u * (1.0 - u)
    stp_last[s] = arrival
    return released


@njit(cache=True)
def _send_spike(i, stamp, dt, out_ptr, syn_post, syn_receptor, syn_delay, syn_weight,
                syn_plastic, ring, plastic_w, plastic_rule, plastic_csr, rules, traces,
                trace_step, queue_syn, queue_next, queue_head, queue_free,
                syn_stp, stp_param, stp_state, stp_last):
    """Neuron i spiked at step ``stamp``: route the spike through its outgoing synapses."""
    n_slots = ring.shape[0]
    for c in range(out_ptr[i], out_ptr[i + 1]):
        p = syn_plastic[c]
        if p < 0:
            arrival = stamp + syn_delay[c]
            amount = syn_weight[c]
            if syn_stp[c] >= 0:
                amount *= _release_fraction(syn_stp[c], arrival, dt, stp_param, stp_state,
                                            stp_last)
            ring[arrival % n_slots, syn_receptor[c], syn_post[c]] += amount
        elif rules[plastic_rule[p], DENDRITIC] != 0.0:
            # the delay is dendritic: the pre spike is at the synapse now
            _depress_and_transmit(p, stamp, dt, plastic_w, plastic_rule, plastic_csr, rules,
                                  traces, trace_step, syn_post, syn_receptor, syn_delay, ring)
        else:
            # axonal delay: the pre spike reaches the synapse after the delay
            queue_syn, queue_next = _queue_push(queue_syn, queue_next, queue_head, queue_free,
                                                QUEUE_PRE, (stamp + syn_delay[c]) % n_slots, p)
    return queue_syn, queue_next


@njit(cache=True)
def _conductance_rhs(v, w, g_e, g_i, i_const, inv_c, g_leak, v_rest, e_rev_e, e_rev_i,
                     v_peak, v_exp_thresh, delta_t, adapt_a, inv_tau_w):
    """(dv/dt, dw/dt, spike current) of the conductance-based cells, NEST's
    aeif_cond_exp right-hand side with v capped at v_peak in every term:
    C v' = g_L(v_rest - v) + g_L delta_T e^{(v - v_T)/delta_T} + g_e(E_e - v)
    + g_i(E_i - v) - w + I, tau_w w' = a(v - v_rest) - w.  IF_cond_* cells are the
    case delta_T = a = w = 1/tau_w = 0, v_peak = +inf."""
    capped = min(v, v_peak)
    spike_current = 0.0
    if delta_t > 0.0:
        spike_current = g_leak * delta_t * math.exp((capped - v_exp_thresh) / delta_t)
    dv = (g_leak * (v_rest - capped) + g_e * (e_rev_e - capped) + g_i * (e_rev_i - capped)
          + i_const + spike_current - w) * inv_c
    dw = (adapt_a * (capped - v_rest) - w) * inv_tau_w
    return dv, dw, spike_current


@njit(cache=True)
def _stiffness(eta, g_e, y_e, g_i, y_i, spike_current, cm, g_leak, tau_e, tau_i, delta_t,
               inv_tau_w):
    """eta times the fastest rate of the conductance-based equations at this state
    (see COND_RK4_RATE); spike_current/delta_T is the slope of the exponential term."""
    spike_slope = spike_current / delta_t if delta_t > 0.0 else 0.0
    stiffness = eta * (g_leak + g_e + g_i + spike_slope) / cm
    if g_e > 0.0 or y_e > 0.0:
        stiffness = max(stiffness, eta / tau_e)
    if g_i > 0.0 or y_i > 0.0:
        stiffness = max(stiffness, eta / tau_i)
    return max(stiffness, eta * inv_tau_w)


@njit(cache=True)
def _substeps(stiffness):
    # (the 1e-9 keeps float noise in h/tau from adding a sub-step)
    return max(1, int(math.ceil(stiffness / COND_RK4_RATE - 1e-9)))


@njit(cache=True)
def _conductance_step(v, w, g_e, y_e, g_i, y_i, i_const, cm, g_leak, v_rest, e_rev_e, e_rev_i,
                      tau_e, tau_i, v_peak, v_exp_thresh, delta_t, adapt_a, inv_tau_w, h):
    """(v, w) after one step h of the conductance-based cells (see _conductance_rhs):
    the conductances g (with alpha drive y) evolve exactly, v and w by classical RK4
    on adaptive sub-steps (see COND_RK4_RATE).  Once v reaches v_peak the spike is
    certain and the sub-stepping stops: for the rest of the step the capped
    equations leave only w moving, relaxing exactly towards a (v_peak - v_rest)."""
    inv_c = 1.0 / cm
    k1v, k1w, spike_current = _conductance_rhs(v, w, g_e, g_i, i_const, inv_c, g_leak, v_rest,
                                               e_rev_e, e_rev_i, v_peak, v_exp_thresh, delta_t,
                                               adapt_a, inv_tau_w)
    n_left = _substeps(_stiffness(h, g_e, y_e, g_i, y_i, spike_current, cm, g_leak, tau_e,
                                  tau_i, delta_t, inv_tau_w))
    eta = h / n_left
    half_e = math.exp(-0.5 * eta / tau_e)
    half_i = math.exp(-0.5 * eta / tau_i)
    while True:
        ge_mid, gi_mid = (g_e + 0.5 * eta * y_e) * half_e, (g_i + 0.5 * eta * y_i) * half_i
        ge_end, gi_end = (g_e + eta * y_e) * half_e * half_e, (g_i + eta * y_i) * half_i * half_i
        k2v, k2w, _ = _conductance_rhs(v + 0.5 * eta * k1v, w + 0.5 * eta * k1w, ge_mid, gi_mid,
                                       i_const, inv_c, g_leak, v_rest, e_rev_e, e_rev_i, v_peak,
                                       v_exp_thresh, delta_t, adapt_a, inv_tau_w)
        k3v, k3w, _ = _conductance_rhs(v + 0.5 * eta * k2v, w + 0.5 * eta * k2w, ge_mid, gi_mid,
                                       i_const, inv_c, g_leak, v_rest, e_rev_e, e_rev_i, v_peak,
                                       v_exp_thresh, delta_t, adapt_a, inv_tau_w)
        k4v, k4w, _ = _conductance_rhs(v + eta * k3v, w + eta * k3w, ge_end, gi_end,
                                       i_const, inv_c, g_leak, v_rest, e_rev_e, e_rev_i, v_peak,
                                       v_exp_thresh, delta_t, adapt_a, inv_tau_w)
        v += eta / 6.0 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
        w += eta / 6.0 * (k1w + 2.0 * k2w + 2.0 * k3w + k4w)
        g_e, g_i = ge_end, gi_end
        y_e *= half_e * half_e
        y_i *= half_i * half_i
        n_left -= 1
        if v >= v_peak:
            w_capped = adapt_a * (v_peak - v_rest)
            w = w_capped + (w - w_capped) * math.exp(-n_left * eta * inv_tau_w)
            return v, w
        if n_left == 0:
            return v, w
        k1v, k1w, spike_current = _conductance_rhs(v, w, g_e, g_i, i_const, inv_c, g_leak,
                                                   v_rest, e_rev_e, e_rev_i, v_peak,
                                                   v_exp_thresh, delta_t, adapt_a, inv_tau_w)
        stiffness = _stiffness(eta, g_e, y_e, g_i, y_i, spike_current, cm, g_leak, tau_e, tau_i,
                               delta_t, inv_tau_w)
        if stiffness > COND_RK4_RATE * (1.0 + _RATE_GROWTH_TOLERANCE):
            # the rate has grown: re-divide the rest of the step
            remaining = n_left * eta
            n_left = _substeps(stiffness * n_left)
            eta = remaining / n_left
            half_e = math.exp(-0.5 * eta / tau_e)
            half_i = math.exp(-0.5 * eta / tau_i)


@njit(cache=True)
def run_steps(k_first, n_steps, dt, seed,
              pop_start, pop_stop, pop_kind, coef, refrac_steps, poisson_first, poisson_stop,
              v, syn, refrac_left, i_ext,
              current_step, current_neuron, current_delta, current_next,
              array_ptr, array_step, array_next,
              out_ptr, syn_post, syn_receptor, syn_delay, syn_weight, syn_plastic, ring,
              plastic_w, plastic_rule, plastic_csr, rules, traces, trace_step,
              in_ptr, in_plastic, queue_syn, queue_next, queue_head, queue_free,
              syn_stp, stp_param, stp_state, stp_last,
              record_spikes, group_every, group_var, group_first, group_stop, group_offset,
              record_neuron, record_out, spike_neuron, spike_step, spike_count):
    """Advance the network from step k_first by n_steps; see the module docstring.

    Returns the (possibly reallocated) event-queue and spike-record buffers.
    """
    n_neurons = v.size
    n_slots = ring.shape[0]
    fired = np.empty(n_neurons, dtype=np.int64)
    for k in range(k_first, k_first + n_steps):
        # 1. analog recording at k*dt
        for g in range(group_every.size):
            if (k - k_first) % group_every[g] == 0:
                width = group_stop[g] - group_first[g]
                base = group_offset[g] + ((k - k_first) // group_every[g]) * width
                for c in range(group_first[g], group_stop[g]):
                    j = record_neuron[c]
                    record_out[base + c - group_first[g]] = (
                        v[j] if group_var[g] == RECORD_V else syn[group_var[g], j])
        # 2. injected currents changing at k*dt
        while current_next[0] < current_step.size and current_step[current_next[0]] <= k:
            e = current_next[0]
            i_ext[current_neuron[e]] += current_delta[e]
            current_next[0] = e + 1
        # 3. spike sources, stamped k*dt; 4. neurons, stamped (k+1)*dt
        n_fired = 0
        for pop in range(pop_kind.size):
            kind = pop_kind[pop]
            for i in range(pop_start[pop], pop_stop[pop]):
                if kind == KIND_SPIKE_ARRAY or kind == KIND_POISSON:
                    n_emit = 0
                    if kind == KIND_SPIKE_ARRAY:
                        while array_next[i] < array_ptr[i + 1] and array_step[array_next[i]] <= k:
                            array_next[i] += 1
                            n_emit += 1
                    elif poisson_first[i] <= k < poisson_stop[i]:
                        if uniform_from_counter(seed, i, k) < coef[POISSON_P, i]:
                            n_emit = 1
                    for _ in range(n_emit):
                        if record_spikes[i]:
                            if spike_count[0] == spike_neuron.size:
                                spike_neuron = _grown_int(spike_neuron)
                                spike_step = _grown_int(spike_step)
                            spike_neuron[spike_count[0]] = i
                            spike_step[spike_count[0]] = k
                            spike_count[0] += 1
                        queue_syn, queue_next = _send_spike(
                            i, k, dt, out_ptr, syn_post, syn_receptor, syn_delay, syn_weight,
                            syn_plastic, ring, plastic_w, plastic_rule, plastic_csr, rules,
                            traces, trace_step, queue_syn, queue_next, queue_head, queue_free,
                            syn_stp, stp_param, stp_state, stp_last)
                    continue
                i_const = coef[I_OFFSET, i] + i_ext[i]
                if kind != KIND_CURR_EXP and kind != KIND_CURR_ALPHA:
                    # conductance-based: IF_cond_exp/alpha and the AdEx cells
                    if refrac_left[i] > 0:
                        refrac_left[i] -= 1
                        # v is clamped at v_reset; w relaxes exactly towards a (v_reset - v_rest)
                        w_clamped = coef[ADAPT_A, i] * (coef[V_RESET, i] - coef[V_REST, i])
                        syn[ADAPT_W, i] = (w_clamped
                                           + (syn[ADAPT_W, i] - w_clamped) * coef[DECAY_W, i])
                    else:
                        v[i], syn[ADAPT_W, i] = _conductance_step(
                            v[i], syn[ADAPT_W, i], syn[SYN_E, i], syn[SYN_E_J, i], syn[SYN_I, i],
                            syn[SYN_I_J, i], i_const, coef[CM, i], coef[G_LEAK, i],
                            coef[V_REST, i], coef[E_REV_E, i], coef[E_REV_I, i],
                            coef[TAU_SYN_E, i], coef[TAU_SYN_I, i], coef[V_PEAK, i],
                            coef[V_EXP_THRESH, i], coef[DELTA_T, i], coef[ADAPT_A, i],
                            coef[INV_TAU_W, i], dt)
                    # exact: g(h) = (g + y h) e^{-h/tau}, y(h) = y e^{-h/tau} (y = 0 for exp)
                    syn[SYN_E, i] = (coef[DECAY_SYN_E, i] * syn[SYN_E, i]
                                     + coef[I_FROM_J_E, i] * syn[SYN_E_J, i])
                    syn[SYN_I, i] = (coef[DECAY_SYN_I, i] * syn[SYN_I, i]
                                     + coef[I_FROM_J_I, i] * syn[SYN_I_J, i])
                    syn[SYN_E_J, i] *= coef[DECAY_SYN_E, i]
                    syn[SYN_I_J, i] *= coef[DECAY_SYN_I, i]
                else:
                    if refrac_left[i] > 0:
                        refrac_left[i] -= 1
                    else:
                        u = (coef[DECAY_M, i] * (v[i] - coef[V_REST, i])
                             + coef[U_FROM_I_E, i] * syn[SYN_E, i]
                             + coef[U_FROM_I_I, i] * syn[SYN_I, i]
                             + coef[U_CONST, i] * i_const)
                        if kind == KIND_CURR_ALPHA:
                            u += (coef[U_FROM_J_E, i] * syn[SYN_E_J, i]
                                  + coef[U_FROM_J_I, i] * syn[SYN_I_J, i])
                        v[i] = coef[V_REST, i] + u
                    if kind == KIND_CURR_ALPHA:
                        syn[SYN_E, i] = (coef[DECAY_SYN_E, i] * syn[SYN_E, i]
                                         + coef[I_FROM_J_E, i] * syn[SYN_E_J, i])
                        syn[SYN_I, i] = (coef[DECAY_SYN_I, i] * syn[SYN_I, i]
                                         + coef[I_FROM_J_I, i] * syn[SYN_I_J, i])
                        syn[SYN_E_J, i] *= coef[DECAY_SYN_E, i]
                        syn[SYN_I_J, i] *= coef[DECAY_SYN_I, i]
                    else:
                        syn[SYN_E, i] *= coef[DECAY_SYN_E, i]
                        syn[SYN_I, i] *= coef[DECAY_SYN_I, i]
                if v[i] >= coef[V_THRESH, i]:
                    v[i] = coef[V_RESET, i]
                    syn[ADAPT_W, i] += coef[ADAPT_B, i]     # AdEx's spike-triggered adaptation
                    refrac_left[i] = refrac_steps[i]
                    fired[n_fired] = i
                    n_fired += 1
        stamp = k + 1
        slot = stamp % n_slots
        # 5. STDP events at the synapse at (k+1)*dt: potentiation before depression
        for f in range(n_fired):
            j = fired[f]
            for q in range(in_ptr[j], in_ptr[j + 1]):
                p = in_plastic[q]
                if rules[plastic_rule[p], DENDRITIC] != 0.0:
                    # the post spike back-propagates to the synapse over the delay
                    queue_syn, queue_next = _queue_push(
                        queue_syn, queue_next, queue_head, queue_free, QUEUE_POST,
                        (stamp + syn_delay[plastic_csr[p]]) % n_slots, p)
                else:
                    _potentiate(p, stamp, dt, plastic_w, plastic_rule, rules, traces, trace_step)
        for kind in (QUEUE_POST, QUEUE_PRE):
            e = queue_head[kind, slot]
            queue_head[kind, slot] = -1
            while e >= 0:
                if kind == QUEUE_POST:
                    _potentiate(queue_syn[e], stamp, dt, plastic_w, plastic_rule, rules, traces,
                                trace_step)
                else:
                    _depress_and_transmit(queue_syn[e], stamp, dt, plastic_w, plastic_rule,
                                          plastic_csr, rules, traces, trace_step, syn_post,
                                          syn_receptor, syn_delay, ring)
                following = queue_next[e]
                queue_next[e] = queue_free[0]
                queue_free[0] = e
                e = following
        # 6. send the neurons' spikes
        for f in range(n_fired):
            j = fired[f]
            if record_spikes[j]:
                if spike_count[0] == spike_neuron.size:
                    spike_neuron = _grown_int(spike_neuron)
                    spike_step = _grown_int(spike_step)
                spike_neuron[spike_count[0]] = j
                spike_step[spike_count[0]] = stamp
                spike_count[0] += 1
            queue_syn, queue_next = _send_spike(
                j, stamp, dt, out_ptr, syn_post, syn_receptor, syn_delay, syn_weight,
                syn_plastic, ring, plastic_w, plastic_rule, plastic_csr, rules, traces,
                trace_step, queue_syn, queue_next, queue_head, queue_free,
                syn_stp, stp_param, stp_state, stp_last)
        # 7. inputs arriving at (k+1)*dt
        for pop in range(pop_kind.size):
            kind = pop_kind[pop]
            if kind == KIND_SPIKE_ARRAY or kind == KIND_POISSON:
                continue
            for i in range(pop_start[pop], pop_stop[pop]):
                if kind == KIND_CURR_ALPHA or kind == KIND_COND_ALPHA or kind == KIND_ADEX_ALPHA:
                    syn[SYN_E_J, i] += coef[ARRIVAL_SCALE_E, i] * ring[slot, 0, i]
                    syn[SYN_I_J, i] += coef[ARRIVAL_SCALE_I, i] * ring[slot, 1, i]
                else:
                    syn[SYN_E, i] += ring[slot, 0, i]
                    syn[SYN_I, i] += ring[slot, 1, i]
                ring[slot, 0, i] = 0.0
                ring[slot, 1, i] = 0.0
    return queue_syn, queue_next, spike_neuron, spike_step
