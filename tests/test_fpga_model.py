"""The FPGA core's golden model on its own: its leaf functions against the
formulas of rtl/README.md, and the timing semantics of a step (delays, STDP
pairing, refractoriness, cycle budget) on hand-built cores.

Bit-exactness against the RTL is tests/rtl's job; these tests pin down what
the model (and so the RTL) computes.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from neurohw.targets.fpga import formats as F
from neurohw.targets.fpga import model as M
from neurohw.targets.fpga.model import CoreModel, accepted_ticks, pack_inputs

sys.path.insert(0, str(Path(__file__).parent / "rtl"))   # the whole-core benches' programs
from random_core import random_program  # noqa: E402

SHAPE = F.CoreShape(n_neurons=8, n_inputs=4, weight_width=8, delay_depth=16)


def at(region, offset):
    return (region << F.REGION_SHIFT) | offset


def trunc_div(a: int, b: int) -> int:
    """a / b rounded toward zero, in exact integer arithmetic."""
    q = abs(a) // b
    return q if a >= 0 else -q


@pytest.mark.parametrize("seed", range(5))
def test_leaf_functions_follow_the_readme_formulas(seed):
    rng = np.random.default_rng(seed)
    for _ in range(2000):
        x = int(rng.integers(-(1 << 23), 1 << 23))
        r = int(rng.integers(0, 1 << 16))
        assert M.syn_decay(x, r) == trunc_div(x * r, 1 << 16), (seed, x, r)
        assert M._decay(x, r) == M.syn_decay(x, r), (seed, x, r)   # _core_run's inlined copy
        w = int(rng.integers(-128, 128))
        ie, ii = int(rng.integers(-(1 << 23), 1 << 23)), int(rng.integers(-(1 << 23), 1 << 23))
        want_e = max(-(1 << 23), min((1 << 23) - 1, ie + w * 256)) if w > 0 else ie
        want_i = max(-(1 << 23), min((1 << 23) - 1, ii + w * 256)) if w < 0 else ii
        assert M.syn_deliver(w, ie, ii, 8) == (want_e, want_i), (seed, w, ie, ii)
        trace, a = int(rng.integers(0, 1 << 16)), int(rng.integers(0, 1 << 16))
        lo, hi = sorted(int(v) for v in rng.integers(-128, 128, 2))
        dw = (a * trace) // (1 << 20)
        assert M.stdp_update(w, trace, a, True, lo, hi) == min(max(w + dw, lo), hi)
        assert M.stdp_update(w, trace, a, False, lo, hi) == min(max(w - dw, lo), hi)
        assert M.trace_update(trace, 1, 0, r) == min(trace + 4096, 65535)
        assert M.trace_update(trace, 0, 1, r) == trace * r // (1 << 16)


def test_decay_reaches_zero_from_both_signs():
    for start in (-1000, 1000):
        x = start
        for _ in range(2000):
            x = M.syn_decay(x, 60000)
        assert x == 0


def one_synapse_core(delay: int, weight: int, source_is_input: bool, stdp=False,
                     threshold=1 << 20, bias=0):
    """Neuron 1 receives one synapse from neuron 0 or from input channel 0."""
    model = CoreModel(SHAPE)
    source = SHAPE.n_neurons if source_is_input else 0
    writes = [(at(F.REGION_CONTROL, F.REG_N_ACTIVE), 2),
              (at(F.REGION_CONTROL, F.REG_N_INPUTS), 1),
              (at(F.REGION_CONTROL, F.REG_GAIN_SHIFT), 15),
              (at(F.REGION_CONTROL, F.REG_STDP_ENABLE), int(stdp)),
              (at(F.REGION_DELAY, source), delay),
              (at(F.REGION_WEIGHT, source << SHAPE.neuron_bits | 1),
               (int(stdp) << 8) | (weight & 0xFF))]
    # profile 0: slow leak, gain 1.0 (2^15 at binary point 15), no refractory period
    for field, value in enumerate([65000, 60000, 60000, 1 << 15, 1 << 15, bias, threshold,
                                   0, 0]):
        writes.append((at(F.REGION_PROFILE, field), value & 0xFFFFFF))
    for address, data in writes:
        model.write(address, data)
    return model


@pytest.mark.parametrize("delay", [0, 1, 5, 15])
def test_input_spike_arrives_delay_steps_after_its_stamp(delay):
    # injected before step m (stamp m*dt): reaches i_exc in (a) of step m + delay
    model = one_synapse_core(delay, 100, source_is_input=True)
    m = 3
    for k in range(m + delay + 1):
        if k == m:
            model.write(at(F.REGION_CONTROL, F.REG_INJECT), 0)
        model.step()
        if k < m + delay:
            assert model.i_exc[1] == 0 and model.v[1] == 0, k
    assert model.i_exc[1] == M.syn_decay(100 << 8, 60000)
    assert model.v[1] == (100 << 8)   # gain 1.0: v took the current of its arrival step


@pytest.mark.parametrize("delay", [0, 1, 4, 15])
def test_neuron_spike_arrives_one_plus_delay_steps_later(delay):
    # neuron 0 fires in step 0 (stamped dt): neuron 1 sees it in step 1 + delay
    model = one_synapse_core(delay, 50, source_is_input=False)
    model.write(at(F.REGION_V, 0), (1 << 23) - 1)   # far above threshold: fires at once
    fired = model.step()
    assert list(fired) == [0]
    for k in range(1, 1 + delay):
        model.step()
        assert model.i_exc[1] == 0, k
    model.step()
    assert model.i_exc[1] == M.syn_decay(50 << 8, 60000)


def test_refractory_neuron_holds_v_for_refrac_steps():
    model = one_synapse_core(1, 0, source_is_input=True, threshold=1000, bias=600)
    model.write(at(F.REGION_PROFILE, 8), 3)       # 3 refractory steps
    model.write(at(F.REGION_PROFILE, 7), 0xFFFFFF & -50)  # v_reset = -50
    spikes = [k for k in range(20) if 1 in model.step()]
    # bias 600 with a slow leak: reset to -50, held 3 steps, then 2 steps to climb past 1000
    # (-50 -> 550 -> 1145)
    assert len(spikes) > 2 and np.all(np.diff(spikes) == 3 + 2)


def stdp_core():
    model = one_synapse_core(1, 40, source_is_input=True, stdp=True, threshold=1 << 22)
    for reg, value in ((F.REG_A_PLUS, 10 << 8), (F.REG_A_MINUS, 6 << 8), (F.REG_W_MIN, 0),
                       (F.REG_W_MAX, 127), (F.REG_PRE_DECAY, 60000),
                       (F.REG_POST_DECAY, 50000)):
        model.write(at(F.REGION_CONTROL, reg), value)
    return model


def fire_neuron_1(model):
    model.write(at(F.REGION_V, 1), (1 << 23) - 1)   # twice the threshold: fires this step


def test_pre_then_post_potentiates_by_the_one_step_decayed_trace():
    model = stdp_core()
    model.write(at(F.REGION_CONTROL, F.REG_INJECT), 0)   # arrives in step 1 (delay 1)
    model.step()
    model.step()                                          # arrival: x jumps, then decays
    assert model.pre_trace[SHAPE.n_neurons] == 4096 * 60000 >> 16
    fire_neuron_1(model)
    assert 1 in model.step()                              # post stamped 3*dt, pre at 1*dt
    x = M.syn_decay(M.syn_decay(4096, 60000), 60000)
    assert model.weight[SHAPE.n_neurons, 1] == 40 + ((10 << 8) * x >> 20)


def test_pre_at_the_instant_of_post_does_not_depress_but_one_step_later_does():
    # the same instant: post emitted in step k (stamp (k+1)*dt), pre arriving in step k+1
    model = stdp_core()
    fire_neuron_1(model)
    model.write(at(F.REGION_CONTROL, F.REG_INJECT), 0)   # stamp 0, delay 1: arrives step 1
    assert 1 in model.step()
    model.step()
    assert model.weight[SHAPE.n_neurons, 1] == 40, "same-instant pair must not depress"
    # one step later: arrival at 2*dt sees y = decay(4096)
    model = stdp_core()
    fire_neuron_1(model)
    assert 1 in model.step()
    model.write(at(F.REGION_CONTROL, F.REG_INJECT), 0)   # stamp 1*dt, arrives step 2
    model.step()
    model.step()
    y = M.syn_decay(4096, 50000)
    assert model.weight[SHAPE.n_neurons, 1] == 40 - ((6 << 8) * y >> 20)


def test_step_cycles_follow_the_budget_formula():
    model = stdp_core()
    model.write(at(F.REGION_CONTROL, F.REG_INJECT), 0)
    model.write(at(F.REGION_CONTROL, F.REG_INJECT), 0)
    model.step()
    n, s = 2, 3                                           # 2 neurons + 1 input channel
    assert model.last_cycles == 2 + (n + 7) + (s + 4)     # no events yet, no spikes
    fire_neuron_1(model)
    model.step()                                          # 2 events, 1 spike
    assert model.last_cycles == 2 + 2 * (n + 7) + (n + 7) + (s + 4) + 1 * (s + 7)
    assert model.last_cycles == M.pipelined_step_cycles(2, 1, n, 1, 1)


def test_accepted_ticks_drops_ticks_while_busy():
    # steps of 10 cycles: a step accepted at t is busy through t + 10
    accepted, overruns = accepted_ticks([0, 5, 10, 11, 30], lambda k: 10)
    assert accepted == [0, 3, 4] and overruns == 2


def test_compact_core_computes_the_same_and_counts_its_own_cycles():
    """CoreShape(architecture=ARCH_COMPACT) (rtl/core_compact.v): every word as the
    pipelined core's, the cycles by the compact budget of rtl/README.md, and the
    architecture on the bus."""
    import dataclasses

    pipelined = stdp_core()
    compact = CoreModel(dataclasses.replace(SHAPE, architecture=F.ARCH_COMPACT))
    words = ("regs", "profiles", "v", "i_exc", "i_inh", "refrac", "profile", "spiked",
             "post_trace", "pre_trace", "delay", "weight", "plastic", "ring", "ring_count")
    for name in words:
        getattr(compact, name)[...] = getattr(pipelined, name)
    n, s = 2, 3                                           # 2 neurons + 1 input channel
    seen_events = seen_spikes = 0
    for k, (injections, fire) in enumerate([(2, False), (0, True), (1, True), (0, False)]):
        for model in (pipelined, compact):
            for _ in range(injections):
                model.write(at(F.REGION_CONTROL, F.REG_INJECT), 0)
            if fire:
                fire_neuron_1(model)
        events = int(compact.ring_count[int(compact.regs[F.REG_STEP]) % SHAPE.delay_depth])
        spikes = list(pipelined.step())
        assert list(compact.step()) == spikes, k
        seen_events, seen_spikes = seen_events + events, seen_spikes + len(spikes)
        for name in words:
            if name != "regs":
                assert np.array_equal(getattr(compact, name), getattr(pipelined, name)), (k, name)
        # STDP is on: two clocks per delivered synapse, two per source and post spike
        assert compact.last_cycles == (2 + events * (2 * n + 5) + 1 + 17 * n
                                       + (s + 2) + len(spikes) * (2 * s + 4)), k
        assert compact.last_cycles == M.compact_step_cycles(events, len(spikes), n, 1, 1)
    assert seen_events >= 3 and seen_spikes >= 2, (seen_events, seen_spikes)
    assert pipelined.read(at(F.REGION_CONTROL, F.REG_ARCHITECTURE)) == F.ARCH_PIPELINED
    assert compact.read(at(F.REGION_CONTROL, F.REG_ARCHITECTURE)) == F.ARCH_COMPACT
    with pytest.raises(ValueError, match="architecture"):
        F.CoreShape(architecture=len(F.ARCHITECTURES))


# ---- _core_run (step, run) against reference_step --------------------------------------

STATE = ("regs", "profiles", "v", "i_exc", "i_inh", "refrac", "profile", "spiked",
         "post_trace", "pre_trace", "delay", "weight", "plastic", "ring", "ring_count")


def _cornered_program(shape: F.CoreShape, seed: int):
    """random_program plus what it does not reach on its own, by seed: sources
    listed twice in one slot (a channel written to INJECT twice), currents next
    to saturation while events of both signs arrive, w_max so low that w_max - dp
    leaves 16 bits (_potentiate_rows' int32 path), more events than a slot holds."""
    program = random_program(shape, seed)
    rng = np.random.default_rng(seed + 1000)
    writes, inputs = list(program.writes), [list(c) for c in program.inputs]
    if seed % 3 == 1:
        inputs = [c + c[: (len(c) + 1) // 2] for c in inputs]
    if seed % 6 == 5:
        inputs[1] = [0] * (shape.n_sources + 2)   # one channel: one slot
    if seed % 4 == 2:
        for n in range(shape.n_neurons):
            near_top, near_bottom = (1 << 23) - 1, -(1 << 23)
            writes += [(at(F.REGION_I_EXC, n),
                        (near_top - int(rng.integers(0, 1 << 12))) & 0xFFFFFF),
                       (at(F.REGION_I_INH, n),
                        (near_bottom + int(rng.integers(0, 1 << 12))) & 0xFFFFFF)]
    if seed % 5 == 3:
        writes += [(at(F.REGION_CONTROL, F.REG_STDP_ENABLE), 1),
                   (at(F.REGION_CONTROL, F.REG_A_PLUS), 0xFFFF),
                   (at(F.REGION_CONTROL, F.REG_W_MAX), shape.weight_min & 0xFFFF)]
    return writes, inputs


def _loaded(shape, writes):
    model = CoreModel(shape)
    for address, data in writes:
        model.write(address, data)
    return model


@pytest.mark.parametrize("shape", [F.CoreShape(16, 8, 8, 4), F.CoreShape(32, 16, 2, 16),
                                   F.CoreShape(32, 32, 16, 8), F.CoreShape(64, 16, 12, 16)],
                         ids=lambda s: (f"N{s.n_neurons}_in{s.n_inputs}_w{s.weight_width}"
                                        f"_d{s.delay_depth}"))
def test_fast_step_and_run_equal_the_reference_step(shape):
    """step() and run() (_core_run) against step_reference() (reference_step, leaf
    by leaf in the RTL's order): every state array after every step, the spikes,
    cycles and delivered events, on many random programs."""
    inject = at(F.REGION_CONTROL, F.REG_INJECT)
    seen = {"dropped": 0, "duplicate events": 0, "stdp weight changes": 0, "spikes": 0}
    for seed in range(30):
        writes, inputs = _cornered_program(shape, seed)
        ref, fast = _loaded(shape, writes), _loaded(shape, writes)
        initial_weight = ref.weight.copy()
        cycles, events, spikes = [], [], []
        for k, channels in enumerate(inputs):
            for channel in channels:
                ref.write(inject, channel)
                fast.write(inject, channel)
            slot = ref.ring[int(ref.regs[F.REG_STEP]) % shape.delay_depth]
            listed = slot[:ref.ring_count[int(ref.regs[F.REG_STEP]) % shape.delay_depth]]
            seen["duplicate events"] += listed.size - np.unique(listed).size
            events.append(int(listed.size))
            want = ref.step_reference()
            got = fast.step()
            assert np.array_equal(got, want), (seed, k, got, want)
            for name in STATE:
                assert np.array_equal(getattr(fast, name), getattr(ref, name)), (seed, k, name)
            cycles.append(ref.last_cycles)
            spikes.append(want)
        seen["dropped"] += int(ref.regs[F.REG_DROPPED])
        seen["stdp weight changes"] += int(np.sum(ref.weight != initial_weight))
        seen["spikes"] += sum(map(len, spikes))
        # all steps in one call
        batch = _loaded(shape, writes)
        out = batch.run(*pack_inputs(inputs))
        assert np.array_equal(out.cycles, cycles) and np.array_equal(out.events, events), seed
        for k, want in enumerate(spikes):
            assert np.array_equal(out.spikes(k), want), (seed, k)
        for name in STATE:
            assert np.array_equal(getattr(batch, name), getattr(ref, name)), (seed, name)
    assert all(seen.values()), seen


def test_run_in_pieces_equals_one_run():
    """Splitting a run into calls (as the runner does between state samples) and
    zero-step calls change nothing."""
    shape = F.CoreShape(32, 16, 8, 8)
    writes, inputs = _cornered_program(shape, 7)
    whole, pieces = _loaded(shape, writes), _loaded(shape, writes)
    out = whole.run(*pack_inputs(inputs))
    cut = [0, 0, 3, 4, 11, len(inputs)]
    fired, cycles = [], []
    for a, b in zip(cut[:-1], cut[1:]):
        part = pieces.run(*pack_inputs(inputs[a:b]))
        fired.append(part.fired)
        cycles.append(part.cycles)
    assert np.array_equal(np.concatenate(cycles), out.cycles)
    assert np.array_equal(np.concatenate(fired), out.fired)
    for name in STATE:
        assert np.array_equal(getattr(pieces, name), getattr(whole, name)), name
    with pytest.raises(ValueError):
        pieces.run(np.zeros(2, np.int64), np.array([0, 3]))


@pytest.mark.parametrize("seed", range(4))
def test_potentiate_rows_equals_stdp_update(seed):
    """_core_run's potentiation sweep, both of its lane widths, against the leaf
    stdp_update on every synapse, with w_min/w_max/weights at the 16-bit edges."""
    rng = np.random.default_rng(seed)
    edges = [-(1 << 15), -(1 << 15) + 1, -1, 0, 1, (1 << 15) - 2, (1 << 15) - 1]
    # (amplitude, trace) pairs: dw 0, 1, the largest, and random ones
    pairs = [(0, 0), (0xFFFF, 16), (0xFFFF, 31), (0xFFFF, 0xFFFF)] + [
        (int(a), int(t)) for a, t in rng.integers(0, 1 << 16, (12, 2))]
    n_rows, n = len(pairs), 40
    for _ in range(20):
        w_min, w_max = (int(x) if rng.random() < 0.5 else int(rng.choice(edges))
                        for x in rng.integers(-(1 << 15), 1 << 15, 2))
        weight = rng.integers(-(1 << 15), 1 << 15, (n_rows, n)).astype(np.int16)
        weight[:, :len(edges)] = edges
        plastic = rng.random((n_rows, n)) < 0.7
        fired = rng.random(n) < 0.5
        dp = np.array([(a * t) >> F.STDP_SHIFT for a, t in pairs], dtype=np.int32)
        want = weight.copy()
        for src, (a, t) in enumerate(pairs):
            for i in range(n):
                if plastic[src, i] and fired[i]:
                    want[src, i] = M.stdp_update(int(weight[src, i]), t, a, True, w_min, w_max)
        M._potentiate_rows(weight, plastic, fired, dp, 0, n_rows, n,
                           np.int32(w_min), np.int32(w_max))
        assert np.array_equal(weight, want), (w_min, w_max)
