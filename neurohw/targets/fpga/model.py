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
    rtl/core.v               CoreModel.step     the time-multiplexed step sequence

``CoreModel`` holds the same memories as the RTL (see rtl/README.md for their
layout and the bus memory map) and exposes the same bus, so a program is a
list of bus writes that loads either of them identically.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import formats as F

__all__ = ["saturate", "syn_decay", "syn_deliver", "lif_neuron_update", "trace_update",
           "stdp_update", "ring_push", "step_cycles", "compact_step_cycles", "accepted_ticks",
           "CoreModel"]


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
def step_cycles(events, post_spikes, n_active, n_inputs, stdp_enable):
    """Clock cycles of one step, from the cycle after the tick to the done pulse."""
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
def _core_step(regs, profiles, v, i_exc, i_inh, refrac, profile, spiked, post_trace,
               pre_trace, delay, weight, plastic, ring, ring_count, n_neurons,
               weight_width, w_min, w_max, spikes_out):
    """One step of core.v on the model's arrays, in place; returns how many
    neurons fired (their ids are spikes_out[:count], in neuron order)."""
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
    regs[F.REG_STEP_CYCLES] = step_cycles(events, n_spikes, n_active, n_inputs, stdp)
    regs[F.REG_DROPPED] = (regs[F.REG_DROPPED] + dropped) & 0xFFFFFFFF
    return n_spikes


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
        self.weight = np.zeros((s, n), dtype=np.int64)
        self.plastic = np.zeros((s, n), dtype=np.int64)
        self.ring = np.zeros((shape.delay_depth, s), dtype=np.int64)
        self.ring_count = np.zeros(shape.delay_depth, dtype=np.int64)
        self._spikes = np.zeros(n, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """What rst_ni does: registers, profiles and ring counters return to their
        reset values; the RAMs (neuron state, traces, delays, weights, ring lists)
        keep their contents, as block RAM does.  (The profiles are RAM in core.v
        too, read as 0 until written after the reset.)"""
        self.regs[:] = 0
        self.regs[F.REG_N_ACTIVE] = self.shape.n_neurons
        self.regs[F.REG_N_INPUTS] = self.shape.n_inputs
        self.profiles[:] = 0
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
        elif region == F.REGION_WEIGHT:
            src = (offset >> sh.neuron_bits) & (sh.n_sources - 1)
            n = offset & (sh.n_neurons - 1)
            self.weight[src, n] = _to_signed(data, sh.weight_width)
            self.plastic[src, n] = (data >> sh.weight_width) & 1

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
                     F.REG_ARCHITECTURE: sh.architecture}
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
        if region == F.REGION_WEIGHT:
            src = (offset >> sh.neuron_bits) & (sh.n_sources - 1)
            return self.weight_word(src, n)
        return 0

    def control_word(self, n: int) -> int:
        """{spike, profile, refractory} of neuron ``n``, as stored in the control RAM."""
        return (int(self.spiked[n]) << (F.REFRAC_WIDTH + F.PROFILE_WIDTH)
                | int(self.profile[n]) << F.REFRAC_WIDTH | int(self.refrac[n]))

    def weight_word(self, src: int, n: int) -> int:
        """{plastic, weight} of synapse ``src -> n``, as stored in the weight RAM."""
        width = self.shape.weight_width
        return (int(self.plastic[src, n]) << width
                | int(self.weight[src, n]) & ((1 << width) - 1))

    # ---- operations -----------------------------------------------------------------------
    def inject(self, channel: int) -> None:
        """Input channel ``channel`` spikes now (between steps): it arrives
        ``delay`` steps after the next step begins, like a spike emitted in the
        step just completed with one step less of delay."""
        src = self.shape.n_neurons + channel
        slot = (int(self.regs[F.REG_STEP]) + int(self.delay[src])) & (self.shape.delay_depth - 1)
        if ring_push(self.ring, self.ring_count, slot, src):
            self.regs[F.REG_DROPPED] = (self.regs[F.REG_DROPPED] + 1) & 0xFFFFFFFF

    def step(self) -> np.ndarray:
        """Run one time step; returns the indices of the neurons that fired."""
        if self.shape.architecture == F.ARCH_COMPACT:   # its inputs, as the step finds them
            events = int(self.ring_count[int(self.regs[F.REG_STEP]) & (self.shape.delay_depth - 1)])
            n_active, n_inputs = int(self.regs[F.REG_N_ACTIVE]), int(self.regs[F.REG_N_INPUTS])
            stdp = int(self.regs[F.REG_STDP_ENABLE]) & 1
        n_spikes = _core_step(
            self.regs, self.profiles, self.v, self.i_exc, self.i_inh, self.refrac,
            self.profile, self.spiked, self.post_trace, self.pre_trace, self.delay,
            self.weight, self.plastic, self.ring, self.ring_count, self.shape.n_neurons,
            self.shape.weight_width, int(self.regs[F.REG_W_MIN]), int(self.regs[F.REG_W_MAX]),
            self._spikes)
        if self.shape.architecture == F.ARCH_COMPACT:
            self.regs[F.REG_STEP_CYCLES] = compact_step_cycles(events, n_spikes, n_active,
                                                               n_inputs, stdp)
        return self._spikes[:n_spikes].copy()

    @property
    def last_cycles(self) -> int:
        return int(self.regs[F.REG_STEP_CYCLES])
