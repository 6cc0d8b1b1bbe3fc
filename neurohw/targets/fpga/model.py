"""Bit-exact, cycle-exact golden model of the neurohw FPGA core (``rtl/``).

The model mirrors the RTL module by module; each leaf module has one function
here with the same ports, and the unit benches in ``tests/rtl`` check the two
against each other on random inputs:

    rtl/syn_decay.v          syn_decay          multiply-shift decay, rounded toward 0
    rtl/saturate.v           saturate           two's-complement clamp
    rtl/syn_deliver.v        syn_deliver        add one weight into i_exc or i_inh
    rtl/lif_neuron_update.v  lif_neuron_update  leak, input, refractory, threshold/reset
    rtl/trace_update.v       trace_update       STDP trace jump and decay
    rtl/stdp_update.v        stdp_update        additive pair STDP with clipping
    rtl/delay_ring.v         ring_push          per-step spike lists (axonal delays)
    rtl/core.v               reference_step     the time-multiplexed step sequence

``reference_step`` is core.v's step written with the leaf functions, in the
RTL's order; ``CoreModel.step`` and ``CoreModel.run`` use ``_core_run``, the
same step reordered for speed (whole-row sweeps the compiler vectorizes, many
steps per call).  tests/test_fpga_model.py proves the two equal on random
programs, word for word; the tests/rtl benches check ``CoreModel.step``
against the RTL.

``CoreModel`` holds the same memories as the RTL (see rtl/README.md for their
layout and the bus memory map) and exposes the same bus, so a program is a
list of bus writes that loads either of them identically.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
from numba import njit

from . import formats as F

__all__ = ["saturate", "syn_decay", "syn_deliver", "lif_neuron_update", "trace_update",
           "stdp_update", "ring_push", "step_cycles", "pipelined_step_cycles",
           "compact_step_cycles", "sparse_step_cycles", "reference_step", "accepted_ticks", "pack_inputs", "Steps",
           "CoreModel", "SparseTableError"]


# ---- leaf functions, one per leaf RTL module ------------------------------------------

@njit(cache=True)
def saturate(value, width):
    """Clamp ``value`` to the range of a ``width``-bit two's-complement integer."""
    hi = (1 << (width - 1)) - 1
    lo = -(1 << (width - 1))
    return hi if value > hi else lo if value < lo else value


@njit(cache=True)
def syn_decay(value, retention):
    """``value * retention / 2**16`` rounded toward zero (retention: u16, binary point 16).

    Rounding toward zero (not floor) makes a decaying variable reach exactly 0
    from either sign; floor would leave negative currents stuck at -1 LSB.
    """
    product = value * retention
    if product < 0:
        product += (1 << F.DECAY_FRAC) - 1
    return product >> F.DECAY_FRAC


@njit(cache=True)
def syn_deliver(weight, i_exc, i_inh, weight_width):
    """Add one synaptic event: the sign of the weight selects the receptor; the
    weight is scaled by 2**(16 - weight_width) (syn_deliver.v's CURRENT_FRAC)."""
    scaled = weight << (F.CURRENT_SCALE_BITS - weight_width)
    if weight > 0:
        i_exc = saturate(i_exc + scaled, F.CURRENT_WIDTH)
    elif weight < 0:
        i_inh = saturate(i_inh + scaled, F.CURRENT_WIDTH)
    return i_exc, i_inh


@njit(cache=True)
def lif_neuron_update(v, i_exc, i_inh, refrac, v_decay, exc_decay, inh_decay,
                      exc_gain, inh_gain, gain_shift, bias, v_thresh, v_reset,
                      refrac_steps):
    """One time step of one neuron (exact-integration propagators, fixed point).

    The currents used are those after this step's deliveries; they decay
    afterwards (NEST's iaf_psc_exp order).  While refractory, v is held and the
    counter counts down; the currents keep decaying.
    Returns (v, i_exc, i_inh, refrac, spike).
    """
    spike = 0
    if refrac > 0:
        v_next = v
        refrac_next = refrac - 1
    else:
        synaptic = (i_exc * exc_gain + i_inh * inh_gain) >> gain_shift
        v_next = saturate(syn_decay(v, v_decay) + synaptic + bias, F.V_WIDTH)
        refrac_next = 0
        if v_next >= v_thresh:
            spike = 1
            v_next = v_reset
            refrac_next = refrac_steps
    return (v_next, syn_decay(i_exc, exc_decay), syn_decay(i_inh, inh_decay),
            refrac_next, spike)


@njit(cache=True)
def trace_update(trace, jump, decay_enable, retention):
    """STDP trace: optionally jump by 1.0 (saturating at u16), then optionally decay."""
    if jump:
        trace = min(trace + F.TRACE_JUMP, (1 << F.TRACE_WIDTH) - 1)
    if decay_enable:
        trace = syn_decay(trace, retention)
    return trace


@njit(cache=True)
def stdp_update(weight, trace, amplitude, potentiate, w_min, w_max):
    """Additive pair STDP: w +/- floor(amplitude * trace / 2**20), clipped to [w_min, w_max]."""
    dw = (amplitude * trace) >> F.STDP_SHIFT
    weight = weight + dw if potentiate else weight - dw
    return max(w_min, min(w_max, weight))


@njit(cache=True)
def ring_push(ring, ring_count, slot, source):
    """Append ``source`` to the spike list of ``slot``; returns 1 if the slot was full."""
    count = ring_count[slot]
    if count >= ring.shape[1]:
        return 1
    ring[slot, count] = source
    ring_count[slot] = count + 1
    return 0


# ---- the step sequence of core.v -----------------------------------------------------

# cycles spent in each state of core.v's FSM (see rtl/README.md, "Cycle budget").
# Every sweep issues one item per clock into the pipeline and then drains it
# until its last write-back: the drains are the pipeline depths of the sweeps.
PIPELINE_DRAIN_DELIVER = 5  # S_DLV_DRAIN: RAM read, output register, stdp_update (2), write-back register
PIPELINE_DRAIN_NEURON = 7   # S_NEU_DRAIN: RAM read, output register, profile, lif_neuron_update (3), write-back register
PIPELINE_DRAIN_DECAY = 4    # S_XDEC_DRAIN: RAM read, output register, trace_update (1), write-back register
PIPELINE_DRAIN_POTENT = 5   # S_POT_DRAIN: as the deliver sweep
CYCLES_START = 1            # S_START
CYCLES_PER_EVENT = 2 + PIPELINE_DRAIN_DELIVER        # S_DLV_FETCH + S_DLV_LOAD + S_DLV_DRAIN, plus one per neuron
CYCLES_NEURON_DRAIN = PIPELINE_DRAIN_NEURON          # S_NEU_DRAIN, plus one per neuron
CYCLES_DECAY_DRAIN = PIPELINE_DRAIN_DECAY            # S_XDEC_DRAIN, plus one per source
CYCLES_PER_POST_SPIKE = 2 + PIPELINE_DRAIN_POTENT    # S_POT_FETCH + S_POT_LOAD + S_POT_DRAIN, plus one per source
CYCLES_DONE = 1             # S_DONE


@njit(cache=True)
def pipelined_step_cycles(events, post_spikes, n_active, n_inputs, stdp_enable):
    """Clock cycles of one step of core.v, from the cycle after the tick to the done pulse."""
    cycles = (CYCLES_START + events * (CYCLES_PER_EVENT + n_active)
              + n_active + CYCLES_NEURON_DRAIN + CYCLES_DONE)
    if stdp_enable:
        sources = n_active + n_inputs
        cycles += sources + CYCLES_DECAY_DRAIN
        cycles += post_spikes * (CYCLES_PER_POST_SPIKE + sources)
    return cycles


# the compact core (rtl/core_compact.v, architecture 1; rtl/README.md, "The compact core"):
# the weights are in one single-port RAM, so a sweep that writes weights issues a
# synapse every other clock; the neuron update is lif_neuron_seq, 17 clocks per neuron
COMPACT_DRAIN_DELIVER = 3       # S_DLV_DRAIN: the row's last write-back is 3 clocks after its issue
COMPACT_DRAIN_DECAY = 2         # S_XDEC_DRAIN: pre trace read, trace_update, write
COMPACT_DRAIN_POTENT = 2        # S_POT_DRAIN: the COL state's last clock is already one of the 3
COMPACT_LIF_CLOCKS = 17         # lif_neuron_seq's micro-ops 0..16 (S_NEU_CALC)
COMPACT_CYCLES_PER_EVENT = 2 + COMPACT_DRAIN_DELIVER      # S_DLV_FETCH + S_DLV_LOAD + drain, plus the row
COMPACT_CYCLES_PER_NEURON = COMPACT_LIF_CLOCKS            # S_NEU_CALC (words written as they come out)
COMPACT_CYCLES_NEURON_READ = 1                            # S_NEU_READ (the first neuron's words)
COMPACT_CYCLES_PER_POST_SPIKE = 2 + COMPACT_DRAIN_POTENT  # S_POT_FETCH + S_POT_LOAD + drain, plus 2 per source


@njit(cache=True)
def compact_step_cycles(events, post_spikes, n_active, n_inputs, stdp_enable):
    """Clock cycles of one step of core_compact.v, from the cycle after the tick to done."""
    per_synapse = 2 if stdp_enable else 1   # STDP on: a write-back clock after each read
    cycles = (CYCLES_START + events * (COMPACT_CYCLES_PER_EVENT + per_synapse * n_active)
              + COMPACT_CYCLES_NEURON_READ + COMPACT_CYCLES_PER_NEURON * n_active + CYCLES_DONE)
    if stdp_enable:
        sources = n_active + n_inputs
        cycles += sources + COMPACT_DRAIN_DECAY
        cycles += post_spikes * (COMPACT_CYCLES_PER_POST_SPIKE + 2 * sources)
    return cycles


@njit(cache=True)
def step_cycles(events, post_spikes, n_active, n_inputs, stdp_enable, architecture):
    """Clock cycles of one step of the core ``architecture`` (F.ARCH_*; the function,
    and so every other word, is the same for both)."""
    if architecture == F.ARCH_COMPACT:
        return compact_step_cycles(events, post_spikes, n_active, n_inputs, stdp_enable)
    return pipelined_step_cycles(events, post_spikes, n_active, n_inputs, stdp_enable)


@njit(cache=True)
def reference_step(regs, profiles, v, i_exc, i_inh, refrac, profile, spiked, post_trace,
                    pre_trace, delay, weight, plastic, ring, ring_count, n_neurons,
                    architecture, weight_width, w_min, w_max, spikes_out):
    """One step of core.v on the model's arrays, in place, leaf by leaf in the
    RTL's order; returns how many neurons fired (their ids are
    spikes_out[:count], in neuron order)."""
    depth = ring.shape[0]
    step = regs[F.REG_STEP]
    slot = step & (depth - 1)
    n_active = regs[F.REG_N_ACTIVE]
    n_inputs = regs[F.REG_N_INPUTS]
    stdp = regs[F.REG_STDP_ENABLE] & 1

    # (a) deliver the spikes due this step, one synapse per clock
    events = ring_count[slot]
    for e in range(events):
        src = ring[slot, e]
        for n in range(n_active):
            w = weight[src, n]
            if stdp and plastic[src, n]:
                w = stdp_update(w, post_trace[n], regs[F.REG_A_MINUS], False, w_min, w_max)
                weight[src, n] = w
            i_exc[n], i_inh[n] = syn_deliver(w, i_exc[n], i_inh[n], weight_width)
        pre_trace[src] = trace_update(pre_trace[src], 1, 0, 0)
    ring_count[slot] = 0

    # (b) update every active neuron; spikes go into the delay ring
    dropped = 0
    n_spikes = 0
    for n in range(n_active):
        p = profile[n]
        v[n], i_exc[n], i_inh[n], refrac[n], s = lif_neuron_update(
            v[n], i_exc[n], i_inh[n], refrac[n], profiles[p, F.PROFILE_V_DECAY],
            profiles[p, F.PROFILE_EXC_DECAY], profiles[p, F.PROFILE_INH_DECAY],
            profiles[p, F.PROFILE_EXC_GAIN], profiles[p, F.PROFILE_INH_GAIN],
            regs[F.REG_GAIN_SHIFT], profiles[p, F.PROFILE_BIAS], profiles[p, F.PROFILE_V_THRESH],
            profiles[p, F.PROFILE_V_RESET], profiles[p, F.PROFILE_REFRAC_STEPS])
        # the post trace takes last step's spike now, after (a) has used it
        post_trace[n] = trace_update(post_trace[n], spiked[n], 1, regs[F.REG_POST_DECAY])
        spiked[n] = s
        if s:
            dropped += ring_push(ring, ring_count, (step + 1 + delay[n]) & (depth - 1), n)
            spikes_out[n_spikes] = n
            n_spikes += 1

    # (c) STDP: decay the pre traces, then potentiate the columns of the neurons that fired
    if stdp:
        for s_idx in range(n_active + n_inputs):
            src = s_idx if s_idx < n_active else n_neurons + s_idx - n_active
            pre_trace[src] = trace_update(pre_trace[src], 0, 1, regs[F.REG_PRE_DECAY])
        for k in range(n_spikes):
            n = spikes_out[k]
            for s_idx in range(n_active + n_inputs):
                src = s_idx if s_idx < n_active else n_neurons + s_idx - n_active
                if plastic[src, n]:
                    weight[src, n] = stdp_update(weight[src, n], pre_trace[src],
                                                 regs[F.REG_A_PLUS], True, w_min, w_max)

    regs[F.REG_STEP] = (step + 1) & 0xFFFFFFFF
    regs[F.REG_STEP_CYCLES] = step_cycles(events, n_spikes, n_active, n_inputs, stdp,
                                          architecture)
    regs[F.REG_DROPPED] = (regs[F.REG_DROPPED] + dropped) & 0xFFFFFFFF
    return n_spikes


# ---- the same step, fast: many steps per call, whole-row sweeps ---------------------
#
# _core_run computes what reference_step computes, in an order a compiler can
# vectorize.  What makes the reordering exact:
#  - deliver: a step adds to i_exc only weights > 0 and to i_inh only weights < 0,
#    so each current sees one monotone chain of saturating adds, which equals one
#    saturating add of the sum (min(min(x + a, hi) + b, hi) = min(x + a + b, hi)
#    for a, b >= 0 and x <= hi).  The weights of each neuron are summed over the
#    events (int32 lanes: at most n_sources events of |w| <= 2**15) and scaled and
#    saturated once.  Rows are still swept event by event, so a source listed
#    twice in a slot sees the weights its first event depressed, as in the RTL.
#  - depression uses post_trace as the step found it (the neuron sweep updates
#    it afterwards), so dw[n] = (A_MINUS * post_trace[n]) >> 20 is one vector per
#    step; likewise dp[src] for potentiation, after the pre-trace decay.
#  - potentiation updates each (source, neuron that fired) synapse once per step,
#    so the order does not matter: it runs over the contiguous source rows with a
#    fired-neuron mask instead of down the strided neuron columns.
#  - dw and dp are < 2**12 and weights fit 16 bits, so w -/+ dw and the clamps
#    to [w_min, w_max] (both of WEIGHT_W bits) are exact in int32 lanes.
_I32 = np.int32
_CUR_HI = (1 << (F.CURRENT_WIDTH - 1)) - 1
_CUR_LO = -(1 << (F.CURRENT_WIDTH - 1))
_V_HI = (1 << (F.V_WIDTH - 1)) - 1
_V_LO = -(1 << (F.V_WIDTH - 1))
_TRACE_MAX = (1 << F.TRACE_WIDTH) - 1
_ROUND_TO_ZERO = (1 << F.DECAY_FRAC) - 1


@njit(cache=True)
def _decay(value, retention):
    """syn_decay without the branch: negative products get the round-toward-zero
    bias from their sign bit."""
    product = value * retention
    return (product + ((product >> 63) & _ROUND_TO_ZERO)) >> F.DECAY_FRAC


@njit(cache=True)
def _potentiate_rows(weight, plastic, fired, dp, first, last, lanes, w_min, w_max):
    """stdp_update(potentiate) of the synapses from sources first..last-1 onto the
    neurons with fired[n], one source row at a time.

    max(w_min, min(w_max, w + d)) is computed as max(w_min, min(w, w_max - d) + d),
    which never leaves 16 bits (0 <= d < 2**12, min(w, w_max - d) + d <= w_max)
    when w_max - d does not: then the row runs in 16-bit lanes."""
    # (2-D indexing, not row views: a view per row costs two reference-count calls)
    for src in range(first, last):
        d = dp[src]
        top = _I32(w_max - d)
        if top >= -(1 << 15):
            d16, top16, w_min16 = np.int16(d), np.int16(top), np.int16(w_min)
            for n in range(lanes):
                w = weight[src, n]
                up = max(w_min16, np.int16(min(w, top16) + d16))
                weight[src, n] = up if plastic[src, n] & fired[n] else w
        else:
            for n in range(lanes):
                w = _I32(weight[src, n])
                up = max(w_min, min(w_max, _I32(w + d)))
                weight[src, n] = up if plastic[src, n] & fired[n] else w


@njit(cache=True)
def _decay_pre_traces(pre_trace, dp, first, last, retention, a_plus):
    """trace_update(decay) of the pre traces of sources first..last-1, and the
    potentiation step each one gives this step."""
    for src in range(first, last):
        trace = _decay(pre_trace[src], retention)
        pre_trace[src] = trace
        dp[src] = (a_plus * trace) >> F.STDP_SHIFT


@njit(cache=True)
def _core_run(regs, profiles, v, i_exc, i_inh, refrac, profile, spiked, post_trace,
              pre_trace, delay, weight, plastic, ring, ring_count, n_neurons, architecture,
              input_mask,
              weight_width, inject, inject_start, cycles_out, events_out, fired_out,
              fired_start):
    """len(inject_start) - 1 steps of core.v on the model's arrays, in place.

    Before step k the input channels inject[inject_start[k]:inject_start[k+1]]
    are written to INJECT (CoreModel.inject).  Step k's cycles and delivered
    events go to cycles_out[k] and events_out[k], the neurons that fired to
    fired_out[fired_start[k]:fired_start[k+1]] (fired_start[0] must be 0).
    Returns the number of spikes.  The registers other than STEP, STEP_CYCLES
    and DROPPED, the profiles and the profile of each neuron cannot change
    between the steps of one call (only INJECT is written), so they are read once.
    """
    depth = ring.shape[0]
    slot_mask = depth - 1
    n_active = regs[F.REG_N_ACTIVE]
    n_inputs = regs[F.REG_N_INPUTS]
    stdp = regs[F.REG_STDP_ENABLE] & 1
    a_minus, a_plus = regs[F.REG_A_MINUS], regs[F.REG_A_PLUS]
    w_min, w_max = _I32(regs[F.REG_W_MIN]), _I32(regs[F.REG_W_MAX])
    gain_shift = regs[F.REG_GAIN_SHIFT]
    pre_decay, post_decay = regs[F.REG_PRE_DECAY], regs[F.REG_POST_DECAY]
    current_shift = F.CURRENT_SCALE_BITS - weight_width
    zero = _I32(0)
    # each neuron's profile fields, as vectors
    par = np.empty((len(F.PROFILE_FIELDS), n_active), dtype=np.int64)
    for n in range(n_active):
        for field in range(len(F.PROFILE_FIELDS)):
            par[field, n] = profiles[profile[n], field]
    v_decay, exc_decay = par[F.PROFILE_V_DECAY], par[F.PROFILE_EXC_DECAY]
    inh_decay = par[F.PROFILE_INH_DECAY]
    exc_gain, inh_gain, bias = par[F.PROFILE_EXC_GAIN], par[F.PROFILE_INH_GAIN], par[F.PROFILE_BIAS]
    v_thresh, v_reset, refrac_steps = (par[F.PROFILE_V_THRESH], par[F.PROFILE_V_RESET],
                                       par[F.PROFILE_REFRAC_STEPS])
    # the row sweeps run over `lanes` >= n_active neurons, a multiple of 128 where the
    # rows are that long: a row then has no scalar remainder (which cost more than
    # the vector body); the extra lanes are masked (not active, never fired)
    lanes = min(weight.shape[1], (n_active + 127) & ~127)
    active = np.zeros(lanes, dtype=np.bool_)
    active[:n_active] = True
    sum_exc = np.empty(lanes, dtype=np.int32)
    sum_inh = np.empty(lanes, dtype=np.int32)
    dw = np.zeros(lanes, dtype=np.int32)
    dp = np.zeros(weight.shape[0], dtype=np.int32)
    fired = np.zeros(lanes, dtype=np.bool_)
    n_fired = 0
    for k in range(inject_start.shape[0] - 1):
        step = regs[F.REG_STEP]
        dropped = 0
        for j in range(inject_start[k], inject_start[k + 1]):
            src = n_neurons + (inject[j] & input_mask)
            dropped += ring_push(ring, ring_count, (step + delay[src]) & slot_mask, src)

        # (a) deliver the spikes due this step
        slot = step & slot_mask
        events = ring_count[slot]
        sum_exc[:] = 0
        sum_inh[:] = 0
        if stdp:
            for n in range(n_active):
                dw[n] = (a_minus * post_trace[n]) >> F.STDP_SHIFT
        for e in range(events):
            src = ring[slot, e]
            if stdp:
                for n in range(lanes):
                    w = _I32(weight[src, n])
                    down = max(w_min, min(w_max, _I32(w - dw[n])))
                    w = down if plastic[src, n] & active[n] else w
                    weight[src, n] = w
                    sum_exc[n] = _I32(sum_exc[n] + max(w, zero))
                    sum_inh[n] = _I32(sum_inh[n] + min(w, zero))
            else:
                for n in range(lanes):
                    w = _I32(weight[src, n])
                    sum_exc[n] = _I32(sum_exc[n] + max(w, zero))
                    sum_inh[n] = _I32(sum_inh[n] + min(w, zero))
            pre_trace[src] = min(pre_trace[src] + F.TRACE_JUMP, _TRACE_MAX)
        ring_count[slot] = 0

        # (b) the neurons (lif_neuron_update, then trace_update of the post trace)
        for n in range(n_active):
            ie = min(i_exc[n] + (np.int64(sum_exc[n]) << current_shift), _CUR_HI)
            ii = max(i_inh[n] + (np.int64(sum_inh[n]) << current_shift), _CUR_LO)
            held = refrac[n] > 0
            synaptic = (ie * exc_gain[n] + ii * inh_gain[n]) >> gain_shift
            v_next = min(max(_decay(v[n], v_decay[n]) + synaptic + bias[n], _V_LO), _V_HI)
            spike = (not held) and v_next >= v_thresh[n]
            v[n] = v_reset[n] if spike else (v[n] if held else v_next)
            refrac[n] = refrac_steps[n] if spike else (refrac[n] - 1 if held else 0)
            i_exc[n] = _decay(ie, exc_decay[n])
            i_inh[n] = _decay(ii, inh_decay[n])
            trace = min(post_trace[n] + F.TRACE_JUMP, _TRACE_MAX) if spiked[n] else post_trace[n]
            post_trace[n] = _decay(trace, post_decay)
            spiked[n] = spike
            fired[n] = spike
        first_fired = n_fired
        for n in range(n_active):
            if fired[n]:
                dropped += ring_push(ring, ring_count, (step + 1 + delay[n]) & slot_mask, n)
                fired_out[n_fired] = n
                n_fired += 1
        n_spikes = n_fired - first_fired

        # (c) STDP: decay the pre traces, potentiate the synapses onto the neurons that fired
        if stdp:
            _decay_pre_traces(pre_trace, dp, 0, n_active, pre_decay, a_plus)
            _decay_pre_traces(pre_trace, dp, n_neurons, n_neurons + n_inputs, pre_decay, a_plus)
            if n_spikes:
                _potentiate_rows(weight, plastic, fired, dp, 0, n_active, lanes, w_min, w_max)
                _potentiate_rows(weight, plastic, fired, dp, n_neurons, n_neurons + n_inputs,
                                 lanes, w_min, w_max)

        regs[F.REG_STEP] = (step + 1) & 0xFFFFFFFF
        regs[F.REG_STEP_CYCLES] = step_cycles(events, n_spikes, n_active, n_inputs, stdp,
                                          architecture)
        regs[F.REG_DROPPED] = (regs[F.REG_DROPPED] + dropped) & 0xFFFFFFFF
        cycles_out[k] = regs[F.REG_STEP_CYCLES]
        events_out[k] = events
        fired_start[k + 1] = n_fired
    return n_fired


# ---- the sparse core (rtl/core_sparse.v, architecture 2) ------------------------------
#
# rtl/README.md, "The sparse core": synapse lists per source (rows) and columns of
# plastic synapses per neuron instead of the dense matrix.  The deliver and
# potentiation sweeps read a list word first and the neuron state or the synapse
# it names after it, so their pipelines are longer than core.v's (drains below);
# the neuron and pre-trace decay sweeps are core.v's.
# An empty row or column costs the same: its one clock in S_DLV_SYN / S_POT_ENTRY
# counts as the first drain clock.
SPARSE_DRAIN_DELIVER = 7    # S_DLV_DRAIN: synapse read, register, state read, register, stdp_update (2), write-back
SPARSE_DRAIN_POTENT = 7     # S_POT_DRAIN: column entry read, register, synapse and trace read, register, stdp_update (2), write-back
# S_DLV_FETCH (ring read) + S_DLV_LOAD (source latched) + S_DLV_ROW (row word read) +
# S_DLV_LIST (row word latched into the counters) + drain, plus one clock per synapse (S_DLV_SYN)
SPARSE_CYCLES_PER_EVENT = 4 + SPARSE_DRAIN_DELIVER
# S_POT_FETCH (spike list read) + S_POT_LOAD + S_POT_COLUMN (column word read) + S_POT_LIST
# + drain, plus one clock per column entry (S_POT_ENTRY)
SPARSE_CYCLES_PER_POST_SPIKE = 4 + SPARSE_DRAIN_POTENT


@njit(cache=True)
def sparse_step_cycles(events, row_synapses, post_spikes, column_synapses, n_active,
                       n_inputs, stdp_enable):
    """Clock cycles of one step of core_sparse.v: ``row_synapses`` is the sum of the
    row counts of the delivered events, ``column_synapses`` that of the column
    counts of the neurons that fired."""
    cycles = (CYCLES_START + events * SPARSE_CYCLES_PER_EVENT + row_synapses
              + n_active + CYCLES_NEURON_DRAIN + CYCLES_DONE)
    if stdp_enable:
        cycles += n_active + n_inputs + CYCLES_DECAY_DRAIN
        cycles += post_spikes * SPARSE_CYCLES_PER_POST_SPIKE + column_synapses
    return cycles


_TABLE_FIRST_MASK = (1 << F.TABLE_FIRST_BITS) - 1


@njit(cache=True)
def _sparse_run(regs, profiles, v, i_exc, i_inh, refrac, profile, spiked, post_trace,
                pre_trace, delay, syn_weight, syn_plastic, syn_target, row, column,
                column_index, ring, ring_count, n_neurons, input_mask, weight_width,
                inject, inject_start, cycles_out, events_out, fired_out, fired_start):
    """len(inject_start) - 1 steps of core_sparse.v, in place, leaf by leaf in the
    RTL's order (the arguments as _core_run's; row, column and column_index are
    the table RAMs' words).  Returns the number of spikes."""
    depth = ring.shape[0]
    slot_mask = depth - 1
    syn_mask = syn_weight.shape[0] - 1
    col_mask = column_index.shape[0] - 1
    src_mask = pre_trace.shape[0] - 1
    n_active = regs[F.REG_N_ACTIVE]
    n_inputs = regs[F.REG_N_INPUTS]
    stdp = regs[F.REG_STDP_ENABLE] & 1
    w_min, w_max = regs[F.REG_W_MIN], regs[F.REG_W_MAX]
    n_fired = 0
    for k in range(inject_start.shape[0] - 1):
        step = regs[F.REG_STEP]
        dropped = 0
        for j in range(inject_start[k], inject_start[k + 1]):
            src = n_neurons + (inject[j] & input_mask)
            dropped += ring_push(ring, ring_count, (step + delay[src]) & slot_mask, src)

        # (a) deliver: the synapses of each source's row, one per clock
        slot = step & slot_mask
        events = ring_count[slot]
        row_synapses = 0
        for e in range(events):
            src = ring[slot, e]
            first = row[src] & _TABLE_FIRST_MASK
            count = row[src] >> F.TABLE_FIRST_BITS
            row_synapses += count
            for i in range(count):
                a = (first + i) & syn_mask
                t = syn_target[a]
                if t < n_active:
                    w = syn_weight[a]
                    if stdp and syn_plastic[a]:
                        w = stdp_update(w, post_trace[t], regs[F.REG_A_MINUS], False,
                                        w_min, w_max)
                        syn_weight[a] = w
                    i_exc[t], i_inh[t] = syn_deliver(w, i_exc[t], i_inh[t], weight_width)
            pre_trace[src] = trace_update(pre_trace[src], 1, 0, 0)
        ring_count[slot] = 0

        # (b) the neurons, as core.v
        first_fired = n_fired
        for n in range(n_active):
            p = profile[n]
            v[n], i_exc[n], i_inh[n], refrac[n], spike = lif_neuron_update(
                v[n], i_exc[n], i_inh[n], refrac[n], profiles[p, F.PROFILE_V_DECAY],
                profiles[p, F.PROFILE_EXC_DECAY], profiles[p, F.PROFILE_INH_DECAY],
                profiles[p, F.PROFILE_EXC_GAIN], profiles[p, F.PROFILE_INH_GAIN],
                regs[F.REG_GAIN_SHIFT], profiles[p, F.PROFILE_BIAS],
                profiles[p, F.PROFILE_V_THRESH], profiles[p, F.PROFILE_V_RESET],
                profiles[p, F.PROFILE_REFRAC_STEPS])
            post_trace[n] = trace_update(post_trace[n], spiked[n], 1, regs[F.REG_POST_DECAY])
            spiked[n] = spike
            if spike:
                dropped += ring_push(ring, ring_count, (step + 1 + delay[n]) & slot_mask, n)
                fired_out[n_fired] = n
                n_fired += 1
        n_spikes = n_fired - first_fired

        # (c) STDP: decay the pre traces, then potentiate down the columns of the fired
        column_synapses = 0
        if stdp:
            for s_idx in range(n_active + n_inputs):
                src = s_idx if s_idx < n_active else n_neurons + s_idx - n_active
                pre_trace[src] = trace_update(pre_trace[src], 0, 1, regs[F.REG_PRE_DECAY])
            for j in range(first_fired, n_fired):
                n = fired_out[j]
                first = column[n] & _TABLE_FIRST_MASK
                count = column[n] >> F.TABLE_FIRST_BITS
                column_synapses += count
                for i in range(count):
                    entry = column_index[(first + i) & col_mask]
                    a = entry & _TABLE_FIRST_MASK & syn_mask
                    src = (entry >> F.TABLE_FIRST_BITS) & src_mask
                    active = src < n_active or (n_neurons <= src < n_neurons + n_inputs)
                    if active and syn_plastic[a]:
                        syn_weight[a] = stdp_update(syn_weight[a], pre_trace[src],
                                                    regs[F.REG_A_PLUS], True, w_min, w_max)

        regs[F.REG_STEP] = (step + 1) & 0xFFFFFFFF
        regs[F.REG_STEP_CYCLES] = sparse_step_cycles(events, row_synapses, n_spikes,
                                                     column_synapses, n_active, n_inputs, stdp)
        regs[F.REG_DROPPED] = (regs[F.REG_DROPPED] + dropped) & 0xFFFFFFFF
        cycles_out[k] = regs[F.REG_STEP_CYCLES]
        events_out[k] = events
        fired_start[k + 1] = n_fired
    return n_fired


class SparseTableError(ValueError):
    """The sparse core's tables break a rule its pipeline relies on (rtl/README.md,
    "The sparse core"): a row with a target twice, or a column with a synapse twice."""


def _first_repeat(owner: np.ndarray, item: np.ndarray, span: int):
    """The first (owner, item) pair that occurs twice, or None."""
    if owner.size < 2:
        return None
    key = owner * span + item
    order = np.argsort(key, kind="stable")
    same = np.flatnonzero(key[order][1:] == key[order][:-1])
    if not same.size:
        return None
    k = int(key[order][same[0]])
    return k // span, k % span


class Steps(NamedTuple):
    """What CoreModel.run returns: per step, its cycles and delivered events, and
    the neurons that fired, flat: step k's are fired[fired_start[k]:fired_start[k+1]]."""
    cycles: np.ndarray
    events: np.ndarray
    fired: np.ndarray
    fired_start: np.ndarray

    def spikes(self, k: int) -> np.ndarray:
        return self.fired[self.fired_start[k]:self.fired_start[k + 1]]


def pack_inputs(inputs: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Per-step lists of input channels as CoreModel.run takes them: the channels,
    flat, and where each step's begin (one more entry than steps)."""
    start = np.zeros(len(inputs) + 1, dtype=np.int64)
    np.cumsum([len(channels) for channels in inputs], out=start[1:])
    flat = np.fromiter((c for channels in inputs for c in channels), dtype=np.int64,
                       count=int(start[-1]))
    return flat, start


def accepted_ticks(tick_cycles, cycles_of_step):
    """Which ticks start a step, given the clock cycle of every tick.

    A tick is accepted when the core is idle; a step accepted at cycle ``t``
    keeps it busy through cycle ``t + cycles``; ticks in that window are
    overruns (counted, and otherwise ignored).  ``cycles_of_step(k)`` gives the
    cycle count of the k-th accepted step.
    Returns (accepted tick indices, number of overruns).
    """
    accepted, overruns, busy_until, k = [], 0, -1, 0
    for index, t in enumerate(tick_cycles):
        if t <= busy_until:
            overruns += 1
            continue
        accepted.append(index)
        busy_until = t + cycles_of_step(k)
        k += 1
    return accepted, overruns


def _to_signed(value: int, width: int) -> int:
    value &= (1 << width) - 1
    return value - (1 << width) if value >> (width - 1) else value


class CoreModel:
    """The state of one core and its bus; ``step()`` runs one time step."""

    def __init__(self, shape: F.CoreShape = F.CoreShape()):
        self.shape = shape
        n, s = shape.n_neurons, shape.n_sources
        self.regs = np.zeros(0x20, dtype=np.int64)
        self.profiles = np.zeros((F.NUM_PROFILES, len(F.PROFILE_FIELDS)), dtype=np.int64)
        self.v = np.zeros(n, dtype=np.int64)
        self.i_exc = np.zeros(n, dtype=np.int64)
        self.i_inh = np.zeros(n, dtype=np.int64)
        self.refrac = np.zeros(n, dtype=np.int64)
        self.profile = np.zeros(n, dtype=np.int64)
        self.spiked = np.zeros(n, dtype=np.int64)
        self.post_trace = np.zeros(n, dtype=np.int64)
        self.pre_trace = np.zeros(s, dtype=np.int64)
        self.delay = np.zeros(s, dtype=np.int64)
        if shape.sparse:
            # the synapse RAM's three fields, the row and column tables and the column
            # index, as the words core_sparse.v stores (fields cut to their RAM widths)
            self.syn_weight = np.zeros(shape.synapses, dtype=np.int64)
            self.syn_plastic = np.zeros(shape.synapses, dtype=np.bool_)
            self.syn_target = np.zeros(shape.synapses, dtype=np.int64)
            self.row = np.zeros(s, dtype=np.int64)
            self.column = np.zeros(n, dtype=np.int64)
            self.column_index = np.zeros(shape.plastic_synapses, dtype=np.int64)
            self._tables_checked = False
        else:
            # the weight RAM's two fields at their widths: WEIGHT_W <= 16 bits and one
            # bit (narrow lanes are what make _core_run's row sweeps fast)
            self.weight = np.zeros((s, n), dtype=np.int16)
            self.plastic = np.zeros((s, n), dtype=np.bool_)
        self.ring = np.zeros((shape.delay_depth, s), dtype=np.int64)
        self.ring_count = np.zeros(shape.delay_depth, dtype=np.int64)
        self._spikes = np.zeros(n, dtype=np.int64)
        self._no_inputs = np.zeros(2, dtype=np.int64)     # one step, no INJECT writes
        self._cycles, self._events = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
        self._fired_start = np.zeros(2, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """What rst_ni does: registers and ring counters return to their reset
        values; the memories (neuron state, traces, delays, weights, ring lists,
        profiles) keep their contents, as block and distributed RAM do.  RESET
        bit 4 also zeroes the profiles: the front end's sweep (board_model.py)."""
        self.regs[:] = 0
        self.regs[F.REG_N_ACTIVE] = self.shape.n_neurons
        self.regs[F.REG_N_INPUTS] = self.shape.n_inputs
        self.ring_count[:] = 0

    # ---- bus -------------------------------------------------------------------------
    _REG_WIDTH = {F.REG_STDP_ENABLE: 1, F.REG_GAIN_SHIFT: F.GAIN_SHIFT_WIDTH,
                  F.REG_A_PLUS: F.AMPLITUDE_WIDTH, F.REG_A_MINUS: F.AMPLITUDE_WIDTH,
                  F.REG_PRE_DECAY: F.DECAY_WIDTH, F.REG_POST_DECAY: F.DECAY_WIDTH,
                  F.REG_STEP: 32}

    def _reg_width(self, reg: int) -> int:
        if reg == F.REG_N_ACTIVE:
            return self.shape.neuron_bits + 1
        if reg == F.REG_N_INPUTS:
            return F.clog2(self.shape.n_inputs) + 1
        if reg in (F.REG_W_MIN, F.REG_W_MAX):
            return self.shape.weight_width
        return self._REG_WIDTH[reg]

    def write(self, addr: int, data: int) -> None:
        """A bus write, as core.v decodes it (only valid while the core is idle)."""
        region, offset = addr >> F.REGION_SHIFT, addr & ((1 << F.REGION_SHIFT) - 1)
        sh = self.shape
        if region == F.REGION_CONTROL:
            offset &= F.REG_SELECT_MASK
            if offset == F.REG_INJECT:
                self.inject(data & ((1 << F.clog2(sh.n_inputs)) - 1))
            elif offset in (F.REG_OVERRUNS, F.REG_DROPPED):
                self.regs[offset] = 0
            elif offset in (F.REG_W_MIN, F.REG_W_MAX):
                self.regs[offset] = _to_signed(data, sh.weight_width)
            elif offset in self._REG_WIDTH or offset in (F.REG_N_ACTIVE, F.REG_N_INPUTS):
                self.regs[offset] = data & ((1 << self._reg_width(offset)) - 1)
        elif region == F.REGION_PROFILE:
            p, field = (offset >> 4) & (F.NUM_PROFILES - 1), offset & 0xF
            if field < len(F.PROFILE_FIELDS):
                name = F.PROFILE_FIELDS[field]
                width = F.PROFILE_FIELD_WIDTH[name]
                self.profiles[p, field] = (_to_signed(data, width)
                                           if name in F.PROFILE_FIELD_SIGNED
                                           else data & ((1 << width) - 1))
        elif region in (F.REGION_V, F.REGION_I_EXC, F.REGION_I_INH):
            n = offset & (sh.n_neurons - 1)
            width = F.V_WIDTH if region == F.REGION_V else F.CURRENT_WIDTH
            {F.REGION_V: self.v, F.REGION_I_EXC: self.i_exc,
             F.REGION_I_INH: self.i_inh}[region][n] = _to_signed(data, width)
        elif region == F.REGION_CONTROL_WORD:
            n = offset & (sh.n_neurons - 1)
            self.refrac[n] = data & ((1 << F.REFRAC_WIDTH) - 1)
            self.profile[n] = (data >> F.REFRAC_WIDTH) & (F.NUM_PROFILES - 1)
            self.spiked[n] = (data >> (F.REFRAC_WIDTH + F.PROFILE_WIDTH)) & 1
        elif region == F.REGION_POST_TRACE:
            self.post_trace[offset & (sh.n_neurons - 1)] = data & 0xFFFF
        elif region == F.REGION_PRE_TRACE:
            self.pre_trace[offset & (sh.n_sources - 1)] = data & 0xFFFF
        elif region == F.REGION_DELAY:
            self.delay[offset & (sh.n_sources - 1)] = data & (sh.delay_depth - 1)
        elif sh.sparse and F.REGION_WEIGHT <= region <= F.REGION_COLUMN_INDEX:
            self._write_table(region, offset, data)
        elif region == F.REGION_WEIGHT:
            src = (offset >> sh.neuron_bits) & (sh.n_sources - 1)
            n = offset & (sh.n_neurons - 1)
            self.weight[src, n] = _to_signed(data, sh.weight_width)
            self.plastic[src, n] = (data >> sh.weight_width) & 1

    def _write_table(self, region: int, offset: int, data: int) -> None:
        """A write into the sparse core's synapse RAM or one of its tables."""
        sh = self.shape
        count = (data >> F.TABLE_FIRST_BITS) & ((1 << F.TABLE_COUNT_BITS) - 1)
        if region == F.REGION_WEIGHT:
            a = offset & (sh.synapses - 1)
            self.syn_weight[a] = _to_signed(data, sh.weight_width)
            self.syn_plastic[a] = (data >> sh.weight_width) & 1
            self.syn_target[a] = (data >> (sh.weight_width + 1)) & (sh.n_neurons - 1)
        elif region == F.REGION_ROW:
            self.row[offset & (sh.n_sources - 1)] = (count << F.TABLE_FIRST_BITS
                                                     | data & (sh.synapses - 1))
        elif region == F.REGION_COLUMN:
            self.column[offset & (sh.n_neurons - 1)] = (count << F.TABLE_FIRST_BITS
                                                        | data & (sh.plastic_synapses - 1))
        else:
            source = (data >> F.TABLE_FIRST_BITS) & (sh.n_sources - 1)
            self.column_index[offset & (sh.plastic_synapses - 1)] = (
                source << F.TABLE_FIRST_BITS | data & (sh.synapses - 1))
        self._tables_checked = False

    def read(self, addr: int) -> int:
        """A bus read: the addressed word, zero-extended to 32 bits."""
        region, offset = addr >> F.REGION_SHIFT, addr & ((1 << F.REGION_SHIFT) - 1)
        sh = self.shape

        def bits(value, width):
            return int(value) & ((1 << width) - 1)

        if region == F.REGION_CONTROL:
            offset &= F.REG_SELECT_MASK
            fixed = {F.REG_N_NEURONS: sh.n_neurons, F.REG_N_INPUT_CHANNELS: sh.n_inputs,
                     F.REG_WEIGHT_WIDTH: sh.weight_width, F.REG_DELAY_DEPTH: sh.delay_depth,
                     F.REG_ARCHITECTURE: sh.architecture, F.REG_SYNAPSES: sh.synapses,
                     F.REG_PLASTIC_SYNAPSES: sh.plastic_synapses}
            if offset in fixed:
                return fixed[offset]
            if offset in (F.REG_STEP_CYCLES, F.REG_OVERRUNS, F.REG_DROPPED):
                return bits(self.regs[offset], 32)
            if offset in self._REG_WIDTH or offset in (F.REG_N_ACTIVE, F.REG_N_INPUTS,
                                                       F.REG_W_MIN, F.REG_W_MAX):
                return bits(self.regs[offset], self._reg_width(offset))
            return 0
        if region == F.REGION_PROFILE:
            p, field = (offset >> 4) & (F.NUM_PROFILES - 1), offset & 0xF
            if field >= len(F.PROFILE_FIELDS):
                return 0
            return bits(self.profiles[p, field], F.PROFILE_FIELD_WIDTH[F.PROFILE_FIELDS[field]])
        n = offset & (sh.n_neurons - 1)
        src = offset & (sh.n_sources - 1)
        if region == F.REGION_V:
            return bits(self.v[n], F.V_WIDTH)
        if region == F.REGION_I_EXC:
            return bits(self.i_exc[n], F.CURRENT_WIDTH)
        if region == F.REGION_I_INH:
            return bits(self.i_inh[n], F.CURRENT_WIDTH)
        if region == F.REGION_CONTROL_WORD:
            return self.control_word(n)
        if region == F.REGION_POST_TRACE:
            return int(self.post_trace[n])
        if region == F.REGION_PRE_TRACE:
            return int(self.pre_trace[src])
        if region == F.REGION_DELAY:
            return int(self.delay[src])
        if sh.sparse:
            if region == F.REGION_WEIGHT:
                return self.synapse_word(offset & (sh.synapses - 1))
            if region == F.REGION_ROW:
                return int(self.row[src])
            if region == F.REGION_COLUMN:
                return int(self.column[n])
            if region == F.REGION_COLUMN_INDEX:
                return int(self.column_index[offset & (sh.plastic_synapses - 1)])
        elif region == F.REGION_WEIGHT:
            src = (offset >> sh.neuron_bits) & (sh.n_sources - 1)
            return self.weight_word(src, n)
        return 0

    def control_word(self, n: int) -> int:
        """{spike, profile, refractory} of neuron ``n``, as stored in the control RAM."""
        return (int(self.spiked[n]) << (F.REFRAC_WIDTH + F.PROFILE_WIDTH)
                | int(self.profile[n]) << F.REFRAC_WIDTH | int(self.refrac[n]))

    def weight_word(self, src: int, n: int) -> int:
        """{plastic, weight} of synapse ``src -> n``, as stored in the weight RAM (on
        the sparse core: of the listed synapse, 0 if there is none)."""
        width = self.shape.weight_width
        if self.shape.sparse:
            a = self.synapse_addresses(np.array([src]), np.array([n]))[0]
            return self.synapse_word(a) & ((2 << width) - 1) if a >= 0 else 0
        return (int(self.plastic[src, n]) << width
                | int(self.weight[src, n]) & ((1 << width) - 1))

    def synapse_word(self, a: int) -> int:
        """{target, plastic, weight} of the sparse core's synapse ``a``."""
        width = self.shape.weight_width
        return (int(self.syn_target[a]) << (width + 1) | int(self.syn_plastic[a]) << width
                | int(self.syn_weight[a]) & ((1 << width) - 1))

    def weights(self, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        """The weights (weight LSBs) of the synapses ``src[i] -> tgt[i]``, on either
        kind of core (0 where the sparse core lists no such synapse)."""
        src, tgt = np.asarray(src, dtype=np.int64), np.asarray(tgt, dtype=np.int64)
        if not self.shape.sparse:
            return self.weight[src, tgt].astype(np.int64)
        a = self.synapse_addresses(src, tgt)
        return np.where(a >= 0, self.syn_weight[np.maximum(a, 0)], 0)

    def plastic_flags(self, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        """The plastic flags of the synapses ``src[i] -> tgt[i]`` (as weights())."""
        src, tgt = np.asarray(src, dtype=np.int64), np.asarray(tgt, dtype=np.int64)
        if not self.shape.sparse:
            return self.plastic[src, tgt].copy()
        a = self.synapse_addresses(src, tgt)
        return np.where(a >= 0, self.syn_plastic[np.maximum(a, 0)], False)

    def _row_entries(self):
        """Every listed synapse: (source, synapse address), row by row."""
        sh = self.shape
        count = self.row >> F.TABLE_FIRST_BITS
        first = self.row & _TABLE_FIRST_MASK
        owner = np.repeat(np.arange(sh.n_sources), count)
        within = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
        return owner, (np.repeat(first, count) + within) & (sh.synapses - 1)

    def synapse_addresses(self, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        """The sparse core's address of synapse src[i] -> tgt[i] (found in the rows), -1
        where none is listed."""
        owner, address = self._row_entries()
        result = np.full(src.shape, -1, dtype=np.int64)
        if not owner.size:
            return result
        span = self.shape.n_neurons
        key = owner * span + self.syn_target[address]
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        want = src * span + tgt
        at = np.minimum(np.searchsorted(ordered, want), ordered.size - 1)
        hit = ordered[at] == want
        result[hit] = address[order][at[hit]]
        return result

    def check_tables(self) -> None:
        """Raise SparseTableError if a row lists a target twice or a column a synapse
        twice (the sparse core's pipeline would then differ from this model)."""
        sh = self.shape
        owner, address = self._row_entries()
        repeat = _first_repeat(owner, self.syn_target[address], sh.n_neurons)
        if repeat is not None:
            raise SparseTableError(f"sparse core: the row of source {repeat[0]} lists neuron "
                                   f"{repeat[1]} twice (its synapses must have distinct targets)")
        count = self.column >> F.TABLE_FIRST_BITS
        first = self.column & _TABLE_FIRST_MASK
        owner = np.repeat(np.arange(sh.n_neurons), count)
        within = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
        entry = self.column_index[(np.repeat(first, count) + within) & (sh.plastic_synapses - 1)]
        repeat = _first_repeat(owner, entry & _TABLE_FIRST_MASK, sh.synapses)
        if repeat is not None:
            raise SparseTableError(f"sparse core: the column of neuron {repeat[0]} lists "
                                   f"synapse {repeat[1]} twice")
        self._tables_checked = True

    # ---- operations -----------------------------------------------------------------------
    def inject(self, channel: int) -> None:
        """Input channel ``channel`` spikes now (between steps): it arrives
        ``delay`` steps after the next step begins, like a spike emitted in the
        step just completed with one step less of delay."""
        src = self.shape.n_neurons + channel
        slot = (int(self.regs[F.REG_STEP]) + int(self.delay[src])) & (self.shape.delay_depth - 1)
        if ring_push(self.ring, self.ring_count, slot, src):
            self.regs[F.REG_DROPPED] = (self.regs[F.REG_DROPPED] + 1) & 0xFFFFFFFF

    def _arrays(self):
        return (self.regs, self.profiles, self.v, self.i_exc, self.i_inh, self.refrac,
                self.profile, self.spiked, self.post_trace, self.pre_trace, self.delay,
                self.weight, self.plastic, self.ring, self.ring_count, self.shape.n_neurons,
                self.shape.architecture)

    def _run(self, channels, start, cycles, events, fired, fired_start) -> int:
        input_mask = (1 << F.clog2(self.shape.n_inputs)) - 1
        if not self.shape.sparse:
            return _core_run(*self._arrays(), input_mask, self.shape.weight_width, channels,
                             start, cycles, events, fired, fired_start)
        if not self._tables_checked:
            self.check_tables()
        return _sparse_run(self.regs, self.profiles, self.v, self.i_exc, self.i_inh,
                           self.refrac, self.profile, self.spiked, self.post_trace,
                           self.pre_trace, self.delay, self.syn_weight, self.syn_plastic,
                           self.syn_target, self.row, self.column, self.column_index,
                           self.ring, self.ring_count, self.shape.n_neurons, input_mask,
                           self.shape.weight_width, channels, start, cycles, events, fired,
                           fired_start)

    def step(self) -> np.ndarray:
        """Run one time step; returns the indices of the neurons that fired."""
        n_spikes = self._run(self._no_inputs[:0], self._no_inputs, self._cycles,
                             self._events, self._spikes, self._fired_start)
        return self._spikes[:n_spikes].copy()

    def step_reference(self) -> np.ndarray:
        """step(), computed by reference_step (leaf by leaf, in the RTL's order; slow).
        The sparse core's kernel is already written that way: it is its own reference
        (tests/test_fpga_model.py checks it against the dense core instead)."""
        if self.shape.sparse:
            return self.step()
        n_spikes = reference_step(*self._arrays(), self.shape.weight_width,
                                   int(self.regs[F.REG_W_MIN]), int(self.regs[F.REG_W_MAX]),
                                   self._spikes)
        return self._spikes[:n_spikes].copy()

    def run(self, channels: np.ndarray, start: np.ndarray) -> Steps:
        """Run len(start) - 1 steps in one call, writing channels[start[k]:start[k+1]]
        to INJECT before step k (pack_inputs builds the two arrays from per-step
        lists).  Equal to those writes and step() calls, without Python in between."""
        channels = np.ascontiguousarray(channels, dtype=np.int64)
        start = np.ascontiguousarray(start, dtype=np.int64)
        if start.ndim != 1 or start.size < 1 or start[0] != 0 or start[-1] != channels.size \
                or np.any(np.diff(start) < 0):
            raise ValueError("CoreModel.run: start must rise from 0 to len(channels)")
        n_steps = start.size - 1
        cycles = np.zeros(n_steps, dtype=np.int64)
        events = np.zeros(n_steps, dtype=np.int64)
        fired = np.empty(n_steps * int(self.regs[F.REG_N_ACTIVE]), dtype=np.int64)
        fired_start = np.zeros(n_steps + 1, dtype=np.int64)
        n_fired = self._run(channels, start, cycles, events, fired, fired_start)
        return Steps(cycles, events, fired[:n_fired], fired_start)

    @property
    def last_cycles(self) -> int:
        return int(self.regs[F.REG_STEP_CYCLES])
