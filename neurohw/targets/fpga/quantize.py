"""Map a network (``neurohw.ir``, PyNN units) onto one FPGA core's fixed-point formats.

What maps, and how (rtl/README.md has the formats):

* ``IF_curr_exp`` populations become core neurons, in population order;
  ``SpikeSourceArray`` populations become input channels.
* Per-neuron parameters become exact-integration propagators (NEST's
  ``iaf_psc_exp``): retentions exp(-dt/tau), the current-to-voltage gains
  P21 = tau_m*tau_s/(cm*(tau_m - tau_s)) * (exp(-dt/tau_m) - exp(-dt/tau_s)) and
  the bias P20*i_offset with P20 = tau_m/cm * (1 - exp(-dt/tau_m)).  Neurons
  with equal quantized parameters share one of the 8 profiles.
* Weights share one LSB, the largest magnitude (weights and STDP bounds)
  divided by the largest weight code; delays become axonal delays, one per source.
* One STDP rule (additive, excitatory) for the whole core.

Anything the core cannot hold raises :class:`CapacityError` naming the
resource, its limit and the demand; anything it cannot express raises
:class:`UnsupportedError`.  Every rounding is reported per parameter in
``FpgaProgram.errors``.
"""
from __future__ import annotations

import math

import numpy as np

from ...ir import Network, Population, STDP
from . import formats as F
from .program import FpgaProgram, QuantizationStat

__all__ = ["CapacityError", "UnsupportedError", "quantize"]


class CapacityError(ValueError):
    """The network needs more of a core resource than the core has."""

    def __init__(self, resource: str, limit, demand, detail: str = ""):
        self.resource, self.limit, self.demand = resource, limit, demand
        message = f"FPGA core capacity exceeded: {resource}: limit {limit}, demand {demand}"
        super().__init__(message + (f" ({detail})" if detail else ""))


class UnsupportedError(ValueError):
    """The network uses something the FPGA core cannot express."""


def _retention(tau: np.ndarray, dt: float) -> np.ndarray:
    """exp(-dt/tau) as u16 at binary point 16 (65535 is the largest code)."""
    return np.clip(np.rint(np.exp(-dt / tau) * (1 << F.DECAY_FRAC)), 0, (1 << F.DECAY_WIDTH) - 1
                   ).astype(np.int64)


def _tau_stat(name: str, tau: np.ndarray, code: np.ndarray, dt: float) -> QuantizationStat:
    """Error of the time constant the retention code stands for."""
    with np.errstate(divide="ignore"):
        effective = np.where(code > 0, -dt / np.log(np.maximum(code, 1) / (1 << F.DECAY_FRAC)), 0.0)
    return _stat(name, "ms", tau, effective)


def _stat(name: str, unit: str, wanted, got) -> QuantizationStat:
    wanted = np.atleast_1d(np.asarray(wanted, dtype=np.float64))
    got = np.atleast_1d(np.asarray(got, dtype=np.float64))
    if wanted.size == 0:
        return QuantizationStat(name, unit, 0.0, 0.0, 0)
    err = np.abs(got - wanted)
    scale = np.max(np.abs(wanted))
    return QuantizationStat(name, unit, float(err.max()), float(err.max() / scale) if scale else 0.0,
                            int(wanted.size))


def _fit_signed(name: str, values: np.ndarray, width: int, unit: str, lsb: float) -> np.ndarray:
    codes = np.rint(values / lsb).astype(np.int64)
    limit = (1 << (width - 1)) - 1
    if codes.size and np.abs(codes).max() > limit:
        worst = float(values[np.argmax(np.abs(codes))])
        raise CapacityError(f"{name} range", f"+-{limit * lsb:g} {unit}", f"{worst:g} {unit}")
    return codes


def _propagators(p: dict, dt: float):
    """P20 (mV per nA of constant current) and P21 for the two receptors (mV per nA)."""
    tau_m, cm = p["tau_m"], p["cm"]
    p20 = tau_m / cm * (1 - np.exp(-dt / tau_m))

    def p21(tau_s):
        same = np.isclose(tau_m, tau_s, rtol=1e-9)
        safe = np.where(same, tau_s * 1.5, tau_s)
        general = (tau_m * safe / (cm * (tau_m - safe))
                   * (np.exp(-dt / tau_m) - np.exp(-dt / safe)))
        return np.where(same, dt / cm * np.exp(-dt / tau_m), general)

    return p20, p21(p["tau_syn_E"]), p21(p["tau_syn_I"])


def quantize(net: Network, shape: F.CoreShape = F.CoreShape()) -> FpgaProgram:
    """Compile ``net`` for one core of ``shape``: bus writes, input schedule, errors."""
    dt = net.dt
    neuron_pops: list[Population] = []
    source_pops: list[Population] = []
    for pop in net.populations:
        if pop.cell_type == "IF_curr_exp":
            neuron_pops.append(pop)
        elif pop.cell_type == "SpikeSourceArray":
            source_pops.append(pop)
        else:
            raise UnsupportedError(f"population '{pop.label}': the FPGA core runs IF_curr_exp "
                                   f"neurons and SpikeSourceArray inputs, not {pop.cell_type}")
    if net.currents:
        raise UnsupportedError(f"current source '{net.currents[0].label}': the FPGA core has no "
                               f"current injection (use i_offset)")

    n_neurons = sum(p.size for p in neuron_pops)
    n_channels = sum(p.size for p in source_pops)
    if n_neurons < 1:
        raise UnsupportedError("the network has no IF_curr_exp neurons")
    if n_neurons > shape.n_neurons:
        raise CapacityError("neurons", shape.n_neurons, n_neurons)
    if n_channels > shape.n_inputs:
        raise CapacityError("input channels", shape.n_inputs, n_channels)

    neurons, channels, start = {}, {}, 0
    for pop in neuron_pops:
        neurons[pop.label] = np.arange(start, start + pop.size)
        start += pop.size
    start = 0
    for pop in source_pops:
        channels[pop.label] = np.arange(start, start + pop.size)
        start += pop.size
    params = {k: np.concatenate([p.params[k] for p in neuron_pops]) for k in neuron_pops[0].params}
    initial = {k: np.concatenate([p.initial[k] for p in neuron_pops]) for k in neuron_pops[0].initial}
    errors: dict[str, QuantizationStat] = {}
    notes: list[str] = []

    # ---- synapses: one table over all projections ---------------------------------------
    def source_id(label, idx):
        if label in neurons:
            return neurons[label][idx]
        return shape.n_neurons + channels[label][idx]

    src, tgt, weight, delay, plastic, owner = [], [], [], [], [], []
    rules: list[tuple[str, STDP]] = []
    for k, prj in enumerate(net.projections):
        src.append(source_id(prj.pre, prj.pre_idx))
        tgt.append(neurons[prj.post][prj.post_idx])
        weight.append(prj.weight)
        delay.append(prj.delay)
        plastic.append(np.full(prj.size, prj.plasticity is not None))
        owner.append(np.full(prj.size, k))
        if prj.short_term is not None:
            raise UnsupportedError(f"projection '{prj.label}': the FPGA core has no short-term "
                                   f"plasticity (Tsodyks-Markram); its synapses are static "
                                   f"or STDP")
        if prj.plasticity is not None:
            rule = prj.plasticity
            if rule.weight_dependence != "additive":
                raise UnsupportedError(f"projection '{prj.label}': the FPGA core's STDP is "
                                       f"additive, not {rule.weight_dependence}")
            if prj.receptor != "excitatory":
                raise UnsupportedError(f"projection '{prj.label}': the FPGA core's STDP acts "
                                       f"on excitatory synapses only")
            rules.append((prj.label, rule))
    cat = (lambda xs, dtype: np.concatenate(xs).astype(dtype) if xs else np.zeros(0, dtype))
    src, tgt, weight = cat(src, np.int64), cat(tgt, np.int64), cat(weight, np.float64)
    delay, plastic, owner = cat(delay, np.float64), cat(plastic, bool), cat(owner, np.int64)

    pair = src * shape.n_neurons + tgt
    unique_pairs, counts = np.unique(pair, return_counts=True)
    if counts.size and counts.max() > 1:
        worst = unique_pairs[np.argmax(counts)]
        labels = sorted({net.projections[o].label for o in owner[pair == worst]})
        raise CapacityError("synapses per (source, neuron) pair", 1, int(counts.max()),
                            f"source {worst // shape.n_neurons} -> neuron "
                            f"{worst % shape.n_neurons} in {', '.join(labels)}")

    distinct_rules = {rule for _, rule in rules}
    if len(distinct_rules) > 1:
        raise CapacityError("STDP parameter sets", 1, len(distinct_rules),
                            ", ".join(label for label, _ in rules))
    rule = next(iter(distinct_rules)) if distinct_rules else None

    # ---- delays: axonal, one per source ---------------------------------------------------
    steps = np.rint(delay / dt).astype(np.int64)
    errors["delay"] = _stat("delay", "ms", delay, steps * dt)
    if steps.size and steps.max() > shape.max_delay:
        raise CapacityError("axonal delay", f"{shape.max_delay} steps ({shape.max_delay * dt:g} ms)",
                            f"{int(steps.max())} steps ({float(delay.max()):g} ms)")
    source_delay = np.ones(shape.n_sources, dtype=np.int64)
    for s in np.unique(src):
        mine = np.unique(steps[src == s])
        if mine.size > 1:
            raise CapacityError("delays per source (axonal delays)", 1, int(mine.size),
                                f"source {s} has delays {', '.join(f'{d * dt:g}' for d in mine)} ms")
        source_delay[s] = mine[0]

    # ---- weights ----------------------------------------------------------------------------
    magnitudes = [np.abs(weight)]
    if rule is not None:
        magnitudes.append(np.abs([rule.w_min, rule.w_max]))
    largest = float(np.max(np.concatenate(magnitudes))) if weight.size or rule else 0.0
    weight_lsb = largest / shape.weight_max if largest > 0 else 1.0
    weight_code = np.rint(weight / weight_lsb).astype(np.int64)
    errors["weight"] = _stat("weight", "nA", weight, weight_code * weight_lsb)
    current_lsb = weight_lsb / (1 << shape.current_frac)
    # a current holds 256 of the largest weights; say so if one step's worth of
    # inputs could exceed that (the core saturates, the reference does not)
    current_limit = (1 << (F.CURRENT_WIDTH - 1)) - 1
    for sign, receptor in ((1, "excitatory"), (-1, "inhibitory")):
        load = np.bincount(tgt, weights=np.maximum(sign * weight_code, 0) << shape.current_frac,
                           minlength=n_neurons) if tgt.size else np.zeros(n_neurons)
        if load.max() > current_limit:
            notes.append(f"{int(np.sum(load > current_limit))} neuron(s) can receive more "
                         f"{receptor} weight in one step than the current holds "
                         f"({current_limit * current_lsb:g} nA): it would saturate")

    # ---- neuron parameters -> profiles ----------------------------------------------------------
    v_lsb = F.V_LSB_MV
    v_decay = _retention(params["tau_m"], dt)
    exc_decay = _retention(params["tau_syn_E"], dt)
    inh_decay = _retention(params["tau_syn_I"], dt)
    errors["tau_m"] = _tau_stat("tau_m", params["tau_m"], v_decay, dt)
    errors["tau_syn_E"] = _tau_stat("tau_syn_E", params["tau_syn_E"], exc_decay, dt)
    errors["tau_syn_I"] = _tau_stat("tau_syn_I", params["tau_syn_I"], inh_decay, dt)

    p20, p21_exc, p21_inh = _propagators(params, dt)
    exc_gain_real = p21_exc * current_lsb / v_lsb
    inh_gain_real = p21_inh * current_lsb / v_lsb
    largest_gain = float(max(exc_gain_real.max(), inh_gain_real.max()))
    gain_limit = (1 << F.GAIN_WIDTH) - 1
    if largest_gain > gain_limit:
        raise CapacityError("synaptic gain (current LSB to voltage LSB)", gain_limit,
                            f"{largest_gain:g}", "weights too large for the membrane LSB")
    # the largest shift that keeps every gain within 16 bits: the most precise gains
    max_shift = (1 << F.GAIN_SHIFT_WIDTH) - 1
    gain_shift = (min(max_shift, int(math.floor(math.log2(gain_limit / largest_gain))))
                  if largest_gain > 0 else max_shift)
    exc_gain = np.rint(exc_gain_real * 2.0 ** gain_shift).astype(np.int64)
    inh_gain = np.rint(inh_gain_real * 2.0 ** gain_shift).astype(np.int64)
    errors["exc_gain"] = _stat("exc_gain", "mV/nA", p21_exc, exc_gain / 2.0 ** gain_shift
                               * v_lsb / current_lsb)
    errors["inh_gain"] = _stat("inh_gain", "mV/nA", p21_inh, inh_gain / 2.0 ** gain_shift
                               * v_lsb / current_lsb)

    bias = _fit_signed("bias (i_offset)", p20 * params["i_offset"], F.V_WIDTH, "mV/step", v_lsb)
    errors["i_offset"] = _stat("i_offset", "nA", params["i_offset"], bias * v_lsb / p20)
    v_rest = params["v_rest"]
    v_thresh = _fit_signed("v_thresh - v_rest", params["v_thresh"] - v_rest, F.V_WIDTH, "mV", v_lsb)
    v_reset = _fit_signed("v_reset - v_rest", params["v_reset"] - v_rest, F.V_WIDTH, "mV", v_lsb)
    errors["v_thresh"] = _stat("v_thresh", "mV", params["v_thresh"] - v_rest, v_thresh * v_lsb)
    errors["v_reset"] = _stat("v_reset", "mV", params["v_reset"] - v_rest, v_reset * v_lsb)
    refrac_steps = np.rint(params["tau_refrac"] / dt).astype(np.int64)
    refrac_limit = (1 << F.REFRAC_WIDTH) - 1
    if refrac_steps.max() > refrac_limit:
        raise CapacityError("refractory period", f"{refrac_limit} steps",
                            f"{int(refrac_steps.max())} steps")
    errors["tau_refrac"] = _stat("tau_refrac", "ms", params["tau_refrac"], refrac_steps * dt)

    fields = np.stack([v_decay, exc_decay, inh_decay, exc_gain, inh_gain, bias, v_thresh,
                       v_reset, refrac_steps], axis=1)
    profiles, profile_of = np.unique(fields, axis=0, return_inverse=True)
    if len(profiles) > F.NUM_PROFILES:
        raise CapacityError("neuron parameter profiles", F.NUM_PROFILES, len(profiles),
                            "neurons whose quantized parameters differ need their own profile")

    # ---- initial state ----------------------------------------------------------------------------
    v0 = _fit_signed("initial v - v_rest", initial["v"] - v_rest, F.V_WIDTH, "mV", v_lsb)
    i_exc0 = _fit_signed("initial isyn_exc", initial["isyn_exc"], F.CURRENT_WIDTH, "nA", current_lsb)
    i_inh0 = _fit_signed("initial isyn_inh", initial["isyn_inh"], F.CURRENT_WIDTH, "nA", current_lsb)
    errors["v_init"] = _stat("v_init", "mV", initial["v"] - v_rest, v0 * v_lsb)

    # ---- input spikes: a spike at T is stamped at the nearest grid point (as the reference
    # simulator does); two spikes of one source on one step are injected twice ----------------
    n_steps = net.n_steps
    inputs: list[list[int]] = [[] for _ in range(n_steps)]
    wanted, got = [], []
    for pop in source_pops:
        for i, train in enumerate(pop.spike_times):
            stamps = np.rint(train / dt).astype(np.int64)
            wanted.append(train)
            got.append(stamps * dt)
            for m in stamps[stamps < n_steps]:
                inputs[m].append(int(channels[pop.label][i]))
    errors["spike_times"] = _stat("spike_times", "ms", cat(wanted, np.float64), cat(got, np.float64))

    # ---- STDP -----------------------------------------------------------------------------------------
    stdp_words = {}
    if rule is not None:
        amplitude_limit = (1 << F.AMPLITUDE_WIDTH) - 1
        a_plus = rule.A_plus * rule.w_max / weight_lsb * (1 << F.AMPLITUDE_FRAC)
        a_minus = rule.A_minus * rule.w_max / weight_lsb * (1 << F.AMPLITUDE_FRAC)
        if max(a_plus, a_minus) > amplitude_limit:
            raise CapacityError("STDP amplitude (A * w_max)", amplitude_limit,
                                f"{max(a_plus, a_minus):.0f}")
        w_min_code, w_max_code = (int(round(rule.w_min / weight_lsb)),
                                  int(round(rule.w_max / weight_lsb)))
        stdp_words = {F.REG_A_PLUS: int(round(a_plus)), F.REG_A_MINUS: int(round(a_minus)),
                      F.REG_W_MIN: w_min_code, F.REG_W_MAX: w_max_code,
                      F.REG_PRE_DECAY: int(_retention(np.array([rule.tau_plus]), dt)[0]),
                      F.REG_POST_DECAY: int(_retention(np.array([rule.tau_minus]), dt)[0])}
        scale = rule.w_max / weight_lsb * (1 << F.AMPLITUDE_FRAC)
        errors["A_plus"] = _stat("A_plus", "", rule.A_plus, stdp_words[F.REG_A_PLUS] / scale)
        errors["A_minus"] = _stat("A_minus", "", rule.A_minus, stdp_words[F.REG_A_MINUS] / scale)
        errors["tau_plus"] = _tau_stat("tau_plus", np.array([rule.tau_plus]),
                                       np.array([stdp_words[F.REG_PRE_DECAY]]), dt)
        errors["tau_minus"] = _tau_stat("tau_minus", np.array([rule.tau_minus]),
                                        np.array([stdp_words[F.REG_POST_DECAY]]), dt)
        notes.append("STDP weight changes are truncated to whole weight LSBs: a change smaller "
                      f"than {weight_lsb:g} nA per pairing is lost")
        if rule.dendritic_delay_fraction != 0.0:
            notes.append("the core's delays are axonal: STDP timing is taken at the synapse "
                         "as if dendritic_delay_fraction were 0")

    # ---- bus writes ---------------------------------------------------------------------------------
    def at(region, offset):
        return (region << F.REGION_SHIFT) | offset

    writes = [(at(F.REGION_CONTROL, F.REG_N_ACTIVE), n_neurons),
              (at(F.REGION_CONTROL, F.REG_N_INPUTS), n_channels),
              (at(F.REGION_CONTROL, F.REG_GAIN_SHIFT), gain_shift),
              (at(F.REGION_CONTROL, F.REG_STDP_ENABLE), int(rule is not None)),
              (at(F.REGION_CONTROL, F.REG_STEP), 0)]
    writes += [(at(F.REGION_CONTROL, reg), value & 0xFFFFFFFF) for reg, value in stdp_words.items()]
    for p, row in enumerate(profiles):
        for field, name in enumerate(F.PROFILE_FIELDS):
            mask = (1 << F.PROFILE_FIELD_WIDTH[name]) - 1
            writes.append((at(F.REGION_PROFILE, p << 4 | field), int(row[field]) & mask))
    mask24 = (1 << 24) - 1
    for n in range(n_neurons):
        writes += [(at(F.REGION_V, n), int(v0[n]) & mask24),
                   (at(F.REGION_I_EXC, n), int(i_exc0[n]) & mask24),
                   (at(F.REGION_I_INH, n), int(i_inh0[n]) & mask24),
                   (at(F.REGION_CONTROL_WORD, n), int(profile_of[n]) << F.REFRAC_WIDTH),
                   (at(F.REGION_POST_TRACE, n), 0)]
    active_sources = list(range(n_neurons)) + [shape.n_neurons + c for c in range(n_channels)]
    for s in active_sources:
        writes += [(at(F.REGION_PRE_TRACE, s), 0), (at(F.REGION_DELAY, s), int(source_delay[s]))]
    weight_words = (plastic.astype(np.int64) << shape.weight_width
                    | weight_code & ((1 << shape.weight_width) - 1))
    if shape.sparse:
        writes += _sparse_tables(shape, src, tgt, plastic, weight_words, active_sources,
                                 n_neurons, at)
    else:
        words = np.zeros((shape.n_sources, shape.n_neurons), dtype=np.int64)
        words[src, tgt] = weight_words
        for s in active_sources:
            for n in range(n_neurons):
                writes.append((at(F.REGION_WEIGHT, s << shape.neuron_bits | n), int(words[s, n])))

    return FpgaProgram(shape=shape, dt=dt, n_steps=n_steps, writes=writes, inputs=inputs,
                       neurons=neurons, channels=channels, v_rest=v_rest.copy(),
                       weight_lsb=weight_lsb, gain_shift=gain_shift, errors=errors, notes=notes)


def _sparse_tables(shape: F.CoreShape, src, tgt, plastic, weight_words, active_sources,
                   n_neurons, at) -> list[tuple[int, int]]:
    """The sparse core's lists (rtl/README.md, "The sparse core"): each active source's
    synapses in one row, by target; each neuron's plastic synapses in one column, by
    source.  Raises CapacityError if the synapse RAM or the column index is too small."""
    if src.size > shape.synapses:
        raise CapacityError("synapses (the sparse core's synapse memory)", shape.synapses,
                            int(src.size))
    n_plastic = int(np.count_nonzero(plastic))
    if n_plastic > shape.plastic_synapses:
        raise CapacityError("plastic synapses (the sparse core's column index)",
                            shape.plastic_synapses, n_plastic)
    writes = []
    order = np.lexsort((tgt, src))                  # synapse address a = rank by (source, target)
    src, tgt, plastic, weight_words = src[order], tgt[order], plastic[order], weight_words[order]
    row_first = np.searchsorted(src, np.arange(shape.n_sources))
    row_count = np.diff(np.append(row_first, src.size))
    for s in active_sources:
        writes.append((at(F.REGION_ROW, s), int(row_count[s]) << F.TABLE_FIRST_BITS
                       | int(row_first[s])))
    word_bits = shape.weight_width + 1
    for a in range(src.size):
        writes.append((at(F.REGION_WEIGHT, a), int(tgt[a]) << word_bits | int(weight_words[a])))
    address = np.flatnonzero(plastic)
    address = address[np.lexsort((src[address], tgt[address]))]   # by (target, source)
    column_first = np.searchsorted(tgt[address], np.arange(n_neurons))
    column_count = np.diff(np.append(column_first, address.size))
    for n in range(n_neurons):
        writes.append((at(F.REGION_COLUMN, n), int(column_count[n]) << F.TABLE_FIRST_BITS
                       | int(column_first[n])))
    for q, a in enumerate(address):
        writes.append((at(F.REGION_COLUMN_INDEX, q), int(src[a]) << F.TABLE_FIRST_BITS | int(a)))
    return writes
