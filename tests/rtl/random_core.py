"""Random core programs for the whole-core benches: bus writes plus input spike trains.

The programs are written in the core's own formats (not through quantize) so
that they reach corners a PyNN network rarely does: saturated currents and
voltages, refractory counters mid-count, w_min above w_max, full delay slots.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurohw.targets.fpga import formats as F


@dataclass
class CoreProgram:
    writes: list[tuple[int, int]]   # (word address, data), applied in order
    inputs: list[list[int]]         # inputs[k]: channels injected before step k
    seed: int


def addr(region: int, offset: int) -> int:
    return (region << F.REGION_SHIFT) | offset


def _retention(rng, tau_lo, tau_hi) -> int:
    """exp(-1/tau) as u16 at binary point 16, now and then an extreme value."""
    if rng.random() < 0.05:
        return int(rng.choice([0, 1, 0xFFFF]))
    tau = rng.uniform(tau_lo, tau_hi)
    return min(0xFFFF, int(round(65536 * np.exp(-1.0 / tau))))


def random_program(shape: F.CoreShape, seed: int, n_steps_range=(12, 30)) -> CoreProgram:
    rng = np.random.default_rng(seed)
    n, n_in, n_src = shape.n_neurons, shape.n_inputs, shape.n_sources
    writes: list[tuple[int, int]] = []

    def reg(r, value):
        writes.append((addr(F.REGION_CONTROL, r), int(value) & 0xFFFFFFFF))

    n_active = int(rng.integers(1, n + 1))
    n_inputs = int(rng.integers(0, n_in + 1))
    stdp = int(rng.random() < 0.6)
    gain_shift = int(rng.integers(8, 22))
    reg(F.REG_N_ACTIVE, n_active)
    reg(F.REG_N_INPUTS, n_inputs)
    reg(F.REG_STDP_ENABLE, stdp)
    reg(F.REG_GAIN_SHIFT, gain_shift)
    reg(F.REG_A_PLUS, rng.integers(0, 1 << int(rng.integers(4, 17))))
    reg(F.REG_A_MINUS, rng.integers(0, 1 << int(rng.integers(4, 17))))
    lo, hi = shape.weight_min, shape.weight_max
    w_min = int(rng.integers(lo, 1)) if rng.random() < 0.9 else int(rng.integers(lo, hi + 1))
    w_max = int(rng.integers(0, hi + 1)) if rng.random() < 0.9 else int(rng.integers(lo, hi + 1))
    reg(F.REG_W_MIN, w_min)
    reg(F.REG_W_MAX, w_max)
    reg(F.REG_PRE_DECAY, _retention(rng, 2, 60))
    reg(F.REG_POST_DECAY, _retention(rng, 2, 60))
    reg(F.REG_STEP, rng.integers(0, 1 << 32))

    # profiles: thresholds around 2^12..2^20 LSBs; gains sized so one mean weight
    # moves v by a few percent to a few tens of percent of the threshold
    thresholds = []
    for p in range(F.NUM_PROFILES):
        threshold = int(rng.integers(1 << 12, 1 << 20))
        thresholds.append(threshold)
        mean_current = max(1, (hi // 2) << shape.current_frac)
        gain = threshold * rng.uniform(0.02, 0.5) * (1 << gain_shift) / mean_current
        fields = {
            "v_decay": _retention(rng, 3, 300),
            "exc_decay": _retention(rng, 1, 40),
            "inh_decay": _retention(rng, 1, 40),
            "exc_gain": min(0xFFFF, int(gain)),
            "inh_gain": min(0xFFFF, int(gain * rng.uniform(0.5, 2))),
            "bias": int(threshold * rng.uniform(-0.05, 0.12)),
            "v_thresh": threshold,
            "v_reset": int(rng.integers(-threshold, threshold // 2)),
            "refrac_steps": int(rng.choice([0, 0, 1, 2, 3, 5, 255])),
        }
        if rng.random() < 0.1:   # drive v and the currents into saturation
            fields.update(exc_gain=0xFFFF, inh_gain=0xFFFF, bias=(1 << 23) - 1)
        elif rng.random() < 0.06:   # v lands exactly on the threshold every step
            fields.update(v_decay=0, exc_gain=0, inh_gain=0, bias=threshold)
        for field, name in enumerate(F.PROFILE_FIELDS):
            writes.append((addr(F.REGION_PROFILE, p << 4 | field),
                           fields[name] & ((1 << F.PROFILE_FIELD_WIDTH[name]) - 1)))

    # neuron state, all N neurons (the inactive ones must stay untouched)
    profile = rng.integers(0, F.NUM_PROFILES, n)
    for i in range(n):
        th = thresholds[profile[i]]
        ctl = (int(rng.random() < 0.2) << 11 | int(profile[i]) << 8
               | int(rng.choice([0, 0, 0, 1, 2, 7])))
        writes += [(addr(F.REGION_V, i), int(rng.integers(-th, th)) & 0xFFFFFF),
                   (addr(F.REGION_I_EXC, i), int(rng.integers(0, 1 << 18)) & 0xFFFFFF),
                   (addr(F.REGION_I_INH, i), int(rng.integers(-(1 << 18), 1)) & 0xFFFFFF),
                   (addr(F.REGION_CONTROL_WORD, i), ctl),
                   (addr(F.REGION_POST_TRACE, i), int(rng.integers(0, 1 << 15)))]
    for s in range(n_src):
        writes += [(addr(F.REGION_PRE_TRACE, s), int(rng.integers(0, 1 << 15))),
                   (addr(F.REGION_DELAY, s), int(rng.integers(0, shape.delay_depth)))]

    density = rng.uniform(0.05, 0.7)
    plastic_fraction = rng.uniform(0, 1)
    for s in range(n_src):
        for i in range(n):
            w = int(rng.integers(lo, hi + 1)) if rng.random() < density else 0
            plastic = int(rng.random() < plastic_fraction)
            word = plastic << shape.weight_width | (w & ((1 << shape.weight_width) - 1))
            writes.append((addr(F.REGION_WEIGHT, s << shape.neuron_bits | i), word))

    n_steps = int(rng.integers(*n_steps_range))
    rate = rng.uniform(0, 0.4)
    inputs = [[int(c) for c in np.flatnonzero(rng.random(n_inputs) < rate)]
              for _ in range(n_steps)]
    return CoreProgram(writes, inputs, seed)


def random_ir_network(shape: F.CoreShape, seed: int):
    """A random PyNN-level network that fits ``shape``: 1-3 IF_curr_exp populations
    and a SpikeSourceArray, all-to-some projections with one delay per source,
    STDP on the input projection half of the time."""
    from neurohw.ir import STDP, Network, Population, Projection

    rng = np.random.default_rng(seed)
    dt = float(rng.choice([0.1, 0.5, 1.0]))
    n_steps = int(rng.integers(15, 35))
    n_pops = int(rng.integers(1, 4))
    total = int(rng.integers(n_pops, shape.n_neurons + 1))
    sizes = [int(s) + 1 for s in rng.multinomial(total - n_pops, np.ones(n_pops) / n_pops)]
    pops = []
    for k, size in enumerate(sizes):
        tau_m, tau_e, tau_i = rng.uniform(5, 30), rng.uniform(1, 10), rng.uniform(2, 15)
        pops.append(Population(f"p{k}", "IF_curr_exp", size, params=dict(
            cm=rng.uniform(0.2, 1.0), tau_m=tau_m, tau_refrac=float(rng.choice([0.0, dt, 2 * dt])),
            tau_syn_E=tau_e, tau_syn_I=tau_i, v_rest=-65.0, v_reset=float(rng.uniform(-75, -60)),
            v_thresh=float(rng.uniform(-55, -50)), i_offset=float(rng.uniform(0, 0.6))),
            initial={"v": rng.uniform(-70, -52, size)}))
    n_in = int(rng.integers(1, shape.n_inputs + 1))
    horizon = n_steps * dt
    trains = tuple(np.sort(rng.uniform(0, horizon, int(rng.integers(0, 6)))) for _ in range(n_in))
    pops.append(Population("in", "SpikeSourceArray", n_in, spike_times=trains))

    def delays(n_pre):
        return rng.integers(1, shape.max_delay + 1, n_pre) * dt   # one per source

    projections = []
    w_max = float(rng.uniform(0.5, 3.0))
    # A * w_max must fit the amplitude register: at most 255 weight LSBs per unit trace
    a_max = min(0.2, 255 / shape.weight_max)
    rule = STDP(tau_plus=float(rng.uniform(5, 30)), tau_minus=float(rng.uniform(5, 30)),
                A_plus=float(rng.uniform(0.05, 1) * a_max),
                A_minus=float(rng.uniform(0.05, 1) * a_max),
                w_min=0.0, w_max=w_max) if rng.random() < 0.5 else None
    input_delay = delays(n_in)
    for k, pop in enumerate(pops[:-1]):
        pre, post = np.nonzero(rng.random((n_in, pop.size)) < rng.uniform(0.3, 1.0))
        projections.append(Projection(f"in_{k}", "in", pop.label, "excitatory", pre, post,
                                      rng.uniform(0, w_max, pre.size), input_delay[pre], rule))
    # recurrent: each source population uses one receptor per target population
    source_delay = {pop.label: delays(pop.size) for pop in pops[:-1]}
    for a in pops[:-1]:
        for b in pops[:-1]:
            pre, post = np.nonzero(rng.random((a.size, b.size)) < 0.3)
            inhibitory = rng.random() < 0.5
            w = rng.uniform(0, 1.5, pre.size) * (-1 if inhibitory else 1)
            projections.append(Projection(f"{a.label}_{b.label}", a.label, b.label,
                                          "inhibitory" if inhibitory else "excitatory",
                                          pre, post, w, source_delay[a.label][pre]))
    return Network(dt=dt, populations=tuple(pops), projections=tuple(projections),
                   duration=n_steps * dt)
