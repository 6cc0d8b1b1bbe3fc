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

    if shape.sparse:
        writes += random_sparse_tables(rng, shape)
    else:
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


# ---- the sparse core's tables (rtl/core_sparse.v, rtl/README.md "The sparse core") ----------

def _table_word(count: int, first: int, size: int, rng) -> int:
    """{count[11:0], first[19:0]}, with random bits above the table's address width
    (the core keeps log2(size) bits of `first`)."""
    junk = int(rng.integers(0, (1 << F.TABLE_FIRST_BITS) // size)) * size
    return count << F.TABLE_FIRST_BITS | (first + junk) & ((1 << F.TABLE_FIRST_BITS) - 1)


def _place(rng, lengths: list[int], size: int) -> list[int]:
    """Random first addresses for lists of ``lengths`` in a table of ``size`` words:
    in a random order, from a random start, with random gaps, wrapping modulo
    ``size``, never overlapping (sum(lengths) <= size)."""
    total = sum(lengths)
    assert total <= size, (total, size)
    gaps = rng.multinomial(int((size - total) * rng.uniform(0, 1)), np.ones(len(lengths)) / len(lengths))
    first = [0] * len(lengths)
    cursor = int(rng.integers(0, size))
    for k in rng.permutation(len(lengths)):
        cursor += int(gaps[k])
        first[k] = cursor % size
        cursor += lengths[k]
    return first


def sparse_table_writes(shape: F.CoreShape, rows: list[list[tuple[int, int]]],
                        columns: list[list[tuple[int, int]]], rng,
                        row_first: list[int] | None = None,
                        column_first: list[int] | None = None) -> list[tuple[int, int]]:
    """Bus writes of the sparse core's tables.  rows[s] = [(target, weight word
    {plastic, weight}), ...] in row order; columns[n] = [(source, row position k:
    rows[source][k]), ...] in column order.  Rows and columns go at random
    places (or row_first / column_first); every other synapse word and column
    entry is written with random junk that no list names."""
    ww, n_syn, n_col = shape.weight_width, shape.synapses, shape.plastic_synapses
    if row_first is None:
        row_first = _place(rng, [len(r) for r in rows], n_syn)
    if column_first is None:
        column_first = _place(rng, [len(c) for c in columns], n_col)
    syn_words = [int(w) for w in rng.integers(0, 1 << 32, n_syn)]
    entries = [int(w) for w in rng.integers(0, 1 << 32, n_col)]
    writes = []
    for s, row in enumerate(rows):
        for k, (target, word) in enumerate(row):
            # bits above the synapse word are junk the core drops
            junk = int(rng.integers(0, 1 << 8)) << (shape.neuron_bits + ww + 1)
            syn_words[(row_first[s] + k) % n_syn] = (junk | target << (ww + 1) | word) & 0xFFFFFFFF
        writes.append((addr(F.REGION_ROW, s), _table_word(len(row), row_first[s], n_syn, rng)))
    for n, column in enumerate(columns):
        for k, (source, position) in enumerate(column):
            synapse = (row_first[source] + position) % n_syn
            junk_source = int(rng.integers(0, (1 << F.TABLE_COUNT_BITS) // shape.n_sources))
            entries[(column_first[n] + k) % n_col] = _table_word(
                junk_source * shape.n_sources + source, synapse, n_syn, rng)
        writes.append((addr(F.REGION_COLUMN, n),
                       _table_word(len(column), column_first[n], n_col, rng)))
    writes += [(addr(F.REGION_WEIGHT, a), w) for a, w in enumerate(syn_words)]
    writes += [(addr(F.REGION_COLUMN_INDEX, q), w) for q, w in enumerate(entries)]
    return writes


def random_sparse_tables(rng, shape: F.CoreShape) -> list[tuple[int, int]]:
    """Random consistent tables for the sparse core: rows of random lengths (some
    empty, now and then one with every neuron), distinct targets per row
    (inactive ones among them: they are drawn from all N), random plastic
    flags; each plastic synapse listed once in its target's column with its
    source, plus some listed non-plastic synapses, and in a third of the
    programs plastic synapses of other neurons too (columns then share them)."""
    n, n_src, ww = shape.n_neurons, shape.n_sources, shape.weight_width
    lo, hi = shape.weight_min, shape.weight_max
    budget = int(shape.synapses * rng.uniform(0.1, 0.9))
    mean = budget / n_src
    lengths = [0 if rng.random() < 0.25 else n if rng.random() < 0.05
               else min(n, int(rng.poisson(mean))) for _ in range(n_src)]
    while sum(lengths) > budget:
        k = int(rng.choice(np.flatnonzero(lengths)))
        lengths[k] -= 1
    plastic_fraction = rng.uniform(0, 1)
    density = rng.uniform(0.3, 1.0)       # of nonzero weights among the listed synapses
    rows = []
    for s in range(n_src):
        targets = rng.choice(n, lengths[s], replace=False)
        row = []
        for t in targets:
            w = int(rng.integers(lo, hi + 1)) if rng.random() < density else 0
            plastic = int(rng.random() < plastic_fraction)
            row.append((int(t), plastic << ww | (w & ((1 << ww) - 1))))
        rows.append(row)
    # at most the column index's worth of plastic synapses (the rest lose the flag)
    plastic = [(s, k) for s in range(n_src) for k, (_, w) in enumerate(rows[s]) if w >> ww]
    room = int(shape.plastic_synapses * rng.uniform(0.5, 0.9))
    if len(plastic) > room:
        for i in rng.choice(len(plastic), len(plastic) - room, replace=False):
            s, k = plastic[i]
            rows[s][k] = (rows[s][k][0], rows[s][k][1] & ((1 << ww) - 1))
        plastic = [(s, k) for s in range(n_src) for k, (_, w) in enumerate(rows[s]) if w >> ww]
    columns = [[] for _ in range(n)]
    for s, k in plastic:
        columns[rows[s][k][0]].append((s, k))
    listed = [(s, k) for s in range(n_src) for k in range(len(rows[s]))]
    extra_plastic = rng.random() < 0.33
    spare = shape.plastic_synapses - len(plastic)
    for _ in range(int(spare * rng.uniform(0, 0.8))):
        if not listed:
            break
        s, k = listed[int(rng.integers(0, len(listed)))]
        if (rows[s][k][1] >> ww) and not extra_plastic:
            continue
        column = columns[int(rng.integers(0, n))]
        if (s, k) not in column:
            column.append((s, k))
    for column in columns:
        rng.shuffle(column)
    return sparse_table_writes(shape, rows, columns, rng)


def dense_to_sparse(shape: F.CoreShape, writes, rng) -> list[tuple[int, int]]:
    """A dense core's program (weights written as {source, neuron} words) for the
    sparse core ``shape``: every synapse with a nonzero word (weight or plastic
    flag) listed in its source's row, in a random order, each plastic one in its
    target's column; the other writes unchanged, in order."""
    dense_weights: dict[tuple[int, int], int] = {}
    others = []
    for address, data in writes:
        if address >> F.REGION_SHIFT == F.REGION_WEIGHT:
            offset = address & ((1 << F.REGION_SHIFT) - 1)
            dense_weights[offset >> shape.neuron_bits, offset & (shape.n_neurons - 1)] = data
        else:
            others.append((address, data))
    ww = shape.weight_width
    rows = [[] for _ in range(shape.n_sources)]
    for (s, n), word in dense_weights.items():
        word &= (2 << ww) - 1
        if word:
            rows[s].append((n, word))
    columns = [[] for _ in range(shape.n_neurons)]
    for s, row in enumerate(rows):
        rng.shuffle(row)
        for k, (n, word) in enumerate(row):
            if word >> ww:
                columns[n].append((s, k))
    for column in columns:
        rng.shuffle(column)
    return others + sparse_table_writes(shape, rows, columns, rng)


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
