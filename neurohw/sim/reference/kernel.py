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
4. neurons integrate over the step (exact propagators, or RK4 for
   conductance-based cells), refractory neurons stay clamped at v_reset, and
   neurons at or above threshold spike, stamped ``(k+1)*dt``;
5. STDP events whose synapse time is ``(k+1)*dt``, all post events
   (potentiation) before any pre event (depression + transmission);
6. the spikes of step 4 are sent: static synapses write into the ring buffer
   at ``(k+1)*dt + delay``; a plastic synapse whose delay is dendritic sees the
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
KIND_BY_CELL_TYPE = {"IF_curr_exp": KIND_CURR_EXP, "IF_curr_alpha": KIND_CURR_ALPHA,
                     "IF_cond_exp": KIND_COND_EXP, "SpikeSourceArray": KIND_SPIKE_ARRAY,
                     "SpikeSourcePoisson": KIND_POISSON}

# ---- rows of the per-neuron coefficient matrix coef[row, neuron] -------------
V_REST, V_RESET, V_THRESH, I_OFFSET = 0, 1, 2, 3
DECAY_M, U_CONST = 4, 5                      # exact propagators (current-based)
DECAY_SYN_E, DECAY_SYN_I = 6, 7
U_FROM_I_E, U_FROM_I_I = 8, 9
U_FROM_J_E, U_FROM_J_I = 10, 11              # alpha only
I_FROM_J_E, I_FROM_J_I = 12, 13              # alpha only
ARRIVAL_SCALE_E, ARRIVAL_SCALE_I = 14, 15    # alpha: e/tau_syn, else unused
CM, G_LEAK, E_REV_E, E_REV_I = 16, 17, 18, 19  # conductance-based only
TAU_SYN_E, TAU_SYN_I = 20, 21
POISSON_P = 22                               # spike probability per step
N_COEF_ROWS = 23

# ---- rows of the synaptic state syn[row, neuron] ------------------------------
# exp: I (nA); alpha: I (nA) and J = its drive (nA/ms); cond: g (uS)
SYN_E, SYN_E_J, SYN_I, SYN_I_J = 0, 1, 2, 3
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

# ---- conductance-based integration -----------------------------------------
# RK4 sub-steps of length eta are chosen per neuron and step so that
# eta * max(g_total/C, 1/tau_syn) <= COND_RK4_RATE (g_total at the start of the
# step, its maximum, as conductances only decay within a step).  For the linear
# membrane equation RK4's local error is ~(eta*k)^5/120 relative to |v - v_eq|,
# with terms of the same order in eta/tau_syn: <= 0.02^5/120 ~ 3e-11 per
# sub-step.  Measured against scipy's DOP853 (rtol 1e-12) over 25 ms with
# conductances up to 5 uS the error stays below 3e-8 mV (tests/test_reference.py
# checks 2e-7 mV); a one-step spike-time shift needs ~1e-2..1e-1 mV near threshold.
COND_RK4_RATE = 0.02

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
def _send_spike(i, stamp, dt, out_ptr, syn_post, syn_receptor, syn_delay, syn_weight,
                syn_plastic, ring, plastic_w, plastic_rule, plastic_csr, rules, traces,
                trace_step, queue_syn, queue_next, queue_head, queue_free):
    """Neuron i spiked at step ``stamp``: route the spike through its outgoing synapses."""
    n_slots = ring.shape[0]
    for c in range(out_ptr[i], out_ptr[i + 1]):
        p = syn_plastic[c]
        if p < 0:
            ring[(stamp + syn_delay[c]) % n_slots, syn_receptor[c], syn_post[c]] += syn_weight[c]
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
def _cond_exp_step(v, g_e, g_i, i_const, cm, g_leak, v_rest, e_rev_e, e_rev_i,
                   tau_e, tau_i, h):
    """v after one step of C v' = g_L(v_rest - v) + g_e(E_e - v) + g_i(E_i - v) + I with
    g_e, g_i decaying exactly; classical RK4 on sub-steps (see COND_RK4_RATE)."""
    stiffness = h * (g_leak + g_e + g_i) / cm
    if g_e > 0.0:
        stiffness = max(stiffness, h / tau_e)
    if g_i > 0.0:
        stiffness = max(stiffness, h / tau_i)
    # (the 1e-9 keeps float noise in h/tau from adding a sub-step)
    n_sub = max(1, int(math.ceil(stiffness / COND_RK4_RATE - 1e-9)))
    eta = h / n_sub
    half_e = math.exp(-0.5 * eta / tau_e)
    half_i = math.exp(-0.5 * eta / tau_i)
    inv_c = 1.0 / cm
    for _ in range(n_sub):
        ge_mid, gi_mid = g_e * half_e, g_i * half_i
        ge_end, gi_end = ge_mid * half_e, gi_mid * half_i
        k1 = (g_leak * (v_rest - v) + g_e * (e_rev_e - v) + g_i * (e_rev_i - v) + i_const) * inv_c
        va = v + 0.5 * eta * k1
        k2 = (g_leak * (v_rest - va) + ge_mid * (e_rev_e - va) + gi_mid * (e_rev_i - va)
              + i_const) * inv_c
        vb = v + 0.5 * eta * k2
        k3 = (g_leak * (v_rest - vb) + ge_mid * (e_rev_e - vb) + gi_mid * (e_rev_i - vb)
              + i_const) * inv_c
        vc = v + eta * k3
        k4 = (g_leak * (v_rest - vc) + ge_end * (e_rev_e - vc) + gi_end * (e_rev_i - vc)
              + i_const) * inv_c
        v += eta / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        g_e, g_i = ge_end, gi_end
    return v


@njit(cache=True)
def run_steps(k_first, n_steps, dt, seed,
              pop_start, pop_stop, pop_kind, coef, refrac_steps, poisson_first, poisson_stop,
              v, syn, refrac_left, i_ext,
              current_step, current_neuron, current_delta, current_next,
              array_ptr, array_step, array_next,
              out_ptr, syn_post, syn_receptor, syn_delay, syn_weight, syn_plastic, ring,
              plastic_w, plastic_rule, plastic_csr, rules, traces, trace_step,
              in_ptr, in_plastic, queue_syn, queue_next, queue_head, queue_free,
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
                            traces, trace_step, queue_syn, queue_next, queue_head, queue_free)
                    continue
                i_const = coef[I_OFFSET, i] + i_ext[i]
                if kind == KIND_COND_EXP:
                    if refrac_left[i] > 0:
                        refrac_left[i] -= 1
                    else:
                        v[i] = _cond_exp_step(v[i], syn[SYN_E, i], syn[SYN_I, i], i_const,
                                              coef[CM, i], coef[G_LEAK, i], coef[V_REST, i],
                                              coef[E_REV_E, i], coef[E_REV_I, i],
                                              coef[TAU_SYN_E, i], coef[TAU_SYN_I, i], dt)
                    syn[SYN_E, i] *= coef[DECAY_SYN_E, i]
                    syn[SYN_I, i] *= coef[DECAY_SYN_I, i]
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
                trace_step, queue_syn, queue_next, queue_head, queue_free)
        # 7. inputs arriving at (k+1)*dt
        for pop in range(pop_kind.size):
            kind = pop_kind[pop]
            if kind == KIND_SPIKE_ARRAY or kind == KIND_POISSON:
                continue
            for i in range(pop_start[pop], pop_stop[pop]):
                if kind == KIND_CURR_ALPHA:
                    syn[SYN_E_J, i] += coef[ARRIVAL_SCALE_E, i] * ring[slot, 0, i]
                    syn[SYN_I_J, i] += coef[ARRIVAL_SCALE_I, i] * ring[slot, 1, i]
                else:
                    syn[SYN_E, i] += ring[slot, 0, i]
                    syn[SYN_I, i] += ring[slot, 1, i]
                ring[slot, 0, i] = 0.0
                ring[slot, 1, i] = 0.0
    return queue_syn, queue_next, spike_neuron, spike_step
