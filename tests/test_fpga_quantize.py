"""quantize: IR networks onto the FPGA core's formats, capacity and support errors,
the quantization report, and the compiled program run on the golden model
against the exact-integration equations it approximates."""
from __future__ import annotations

import numpy as np
import pytest

from neurohw.ir import STDP, Network, Population, Projection, StepCurrent
from neurohw.targets.fpga import (CapacityError, CoreShape, UnsupportedError, quantize,
                                  run_on_model)
from neurohw.targets.fpga import formats as F
from neurohw.targets.fpga.program import load_model

SMALL = CoreShape(n_neurons=8, n_inputs=4, weight_width=8, delay_depth=16)
LIF = dict(cm=1.0, tau_m=20.0, tau_refrac=2.0, tau_syn_E=5.0, tau_syn_I=10.0, v_rest=-65.0,
           v_reset=-70.0, v_thresh=-50.0, i_offset=0.0)


def lif(label, size, cell="IF_curr_exp", **overrides):
    params = {**LIF, **overrides}
    if cell == "IF_cond_exp":
        params.update(e_rev_E=0.0, e_rev_I=-80.0)
    return Population(label, cell, size, params=params)


def source(label, trains):
    return Population(label, "SpikeSourceArray", len(trains),
                      spike_times=tuple(np.asarray(t, dtype=float) for t in trains))


def proj(label, pre, post, pre_idx, post_idx, weight, delay=1.0, receptor="excitatory",
         plasticity=None):
    return Projection(label, pre, post, receptor, np.asarray(pre_idx), np.asarray(post_idx),
                      np.asarray(weight, dtype=float), np.asarray(delay, dtype=float), plasticity)


def network(pops, projections=(), dt=0.1, duration=50.0, currents=()):
    return Network(dt=dt, populations=tuple(pops), projections=tuple(projections),
                   duration=duration, currents=tuple(currents))


# ---- capacity ---------------------------------------------------------------------------

def _capacity_cases():
    stdp_a, stdp_b = STDP(tau_plus=20.0), STDP(tau_plus=10.0)
    src2 = source("in", [[1.0], [2.0]])
    return {
        "neurons": (network([lif("a", 9)]), "neurons", 8, 9),
        "input channels": (network([lif("a", 1), source("in", [[1.0]] * 5)]),
                           "input channels", 4, 5),
        "profiles": (network([lif("a", 8, v_thresh=np.linspace(-55, -45, 8)),
                              lif("b", 1, v_thresh=-40.0)]), "neuron parameter profiles", 8, 9),
        "pair": (network([lif("a", 2), src2],
                         [proj("p", "in", "a", [0], [1], [0.5]),
                          proj("q", "in", "a", [0], [1], [0.3])]),
                 "synapses per (source, neuron) pair", 1, 2),
        "axonal": (network([lif("a", 2), src2],
                           [proj("p", "in", "a", [0, 0], [0, 1], [0.5, 0.5], [1.0, 1.2])]),
                   "delays per source (axonal delays)", 1, 2),
        "delay range": (network([lif("a", 2), src2],
                                [proj("p", "in", "a", [0], [0], [0.5], [2.0])]),
                        "axonal delay", "15 steps (1.5 ms)", "20 steps (2 ms)"),
        "stdp sets": (network([lif("a", 2), src2],
                              [proj("p", "in", "a", [0], [0], [0.5], plasticity=stdp_a),
                               proj("q", "in", "a", [1], [1], [0.5], plasticity=stdp_b)]),
                      "STDP parameter sets", 1, 2),
        "refractory": (network([lif("a", 1, tau_refrac=30.0)]), "refractory period",
                       "255 steps", "300 steps"),
    }


@pytest.mark.parametrize("case", list(_capacity_cases()))
def test_capacity_errors_name_resource_limit_and_demand(case):
    net, resource, limit, demand = _capacity_cases()[case]
    # 9 neurons with 9 thresholds: a core with room for the neurons but not the profiles
    shape = CoreShape(n_neurons=16, n_inputs=4) if case == "profiles" else SMALL
    with pytest.raises(CapacityError) as info:
        quantize(net, shape)
    err = info.value
    assert (err.resource, err.limit, err.demand) == (resource, limit, demand)
    assert resource in str(err) and f"limit {limit}" in str(err) and f"demand {demand}" in str(err)


def test_unsupported_features_are_refused_with_the_reason():
    src = source("in", [[1.0]])
    cases = {
        "IF_cond_exp": network([lif("c", 1, cell="IF_cond_exp")]),
        "multiplicative": network([lif("a", 1), src], [proj(
            "p", "in", "a", [0], [0], [0.5], plasticity=STDP(weight_dependence="multiplicative"))]),
        "excitatory synapses only": network([lif("a", 1), src], [proj(
            "p", "in", "a", [0], [0], [-0.5], receptor="inhibitory",
            plasticity=STDP(w_min=-1.0, w_max=0.0))]),
        "current injection": network([lif("a", 1)], currents=[StepCurrent(
            "dc", "a", np.array([0]), np.array([1.0]), np.array([0.5]))]),
    }
    for reason, net in cases.items():
        with pytest.raises(UnsupportedError, match=reason):
            quantize(net, SMALL)


# ---- the quantization report and the program ------------------------------------------------

def test_report_and_program_for_a_plastic_network():
    rng = np.random.default_rng(3)
    n_in, n = 4, 6
    pre, post = np.meshgrid(np.arange(n_in), np.arange(n), indexing="ij")
    weights = rng.uniform(0.0, 0.8, pre.size)
    net = network([lif("exc", n), source("in", [np.sort(rng.uniform(0, 40, 5)) for _ in range(n_in)])],
                  [proj("ff", "in", "exc", pre.ravel(), post.ravel(), weights, 0.5,
                        plasticity=STDP(w_max=1.0, A_plus=0.05, A_minus=0.06)),
                   proj("rec", "exc", "exc", [0, 1], [1, 0], [-0.4, -0.3], 1.2, "inhibitory")])
    program = quantize(net, SMALL)
    e = program.errors
    assert e["weight"].max_abs <= program.weight_lsb / 2 + 1e-12
    assert e["weight"].count == weights.size + 2
    assert e["delay"].max_abs < 1e-12
    assert e["tau_m"].max_rel < 2e-3 and e["tau_syn_E"].max_rel < 2e-3
    assert e["exc_gain"].max_rel < 1e-3 and e["inh_gain"].max_rel < 1e-3
    assert e["spike_times"].max_abs <= net.dt / 2 + 1e-12
    assert e["A_plus"].max_rel < 0.01
    assert any("dendritic_delay_fraction" in note for note in program.notes)
    # w_max = 1.0 nA is the largest magnitude: it maps onto the largest code
    assert program.weight_lsb == pytest.approx(1.0 / SMALL.weight_max)
    model = load_model(program)
    src_ids = SMALL.n_neurons + pre.ravel()
    np.testing.assert_allclose(model.weight[src_ids, post.ravel()] * program.weight_lsb, weights,
                               atol=program.weight_lsb / 2)
    assert np.all(model.plastic[src_ids, post.ravel()] == 1)
    assert model.weight[1, 0] < 0 and model.plastic[1, 0] == 0
    assert model.delay[0] == 12 and model.delay[SMALL.n_neurons] == 5
    run = run_on_model(program)
    assert run.step_cycles.size == net.n_steps and np.all(run.step_cycles > 0)
    assert np.all(np.isin(run.spikes["exc"].index, np.arange(n)))


def _float_lif(p, dt, n_steps, i_offset=0.0, arrivals=None):
    """The exact-integration (iaf_psc_exp) recurrence the core implements in fixed point."""
    tau_m, cm, tau_s = p["tau_m"], p["cm"], p["tau_syn_E"]
    p22, p11 = np.exp(-dt / tau_m), np.exp(-dt / tau_s)
    p21 = tau_m * tau_s / (cm * (tau_m - tau_s)) * (p22 - p11)
    p20 = tau_m / cm * (1 - p22)
    v, i, refrac, vs, spikes = 0.0, 0.0, 0, [], []
    steps = int(round(p["tau_refrac"] / dt))
    for k in range(n_steps):
        i += (arrivals or {}).get(k, 0.0)
        if refrac:
            refrac -= 1
        else:
            v = v * p22 + p21 * i + p20 * i_offset
            if v >= p["v_thresh"] - p["v_rest"]:
                spikes.append(k)
                v, refrac = p["v_reset"] - p["v_rest"], steps
        i *= p11
        vs.append(v)
    return np.array(vs), spikes


def test_constant_current_firing_matches_exact_integration():
    net = network([lif("a", 1, i_offset=1.3)], duration=300.0)
    program = quantize(net, SMALL)
    run = run_on_model(program)
    _, spikes = _float_lif(LIF, net.dt, net.n_steps, i_offset=1.3)
    assert len(spikes) > 10
    np.testing.assert_array_equal(np.round(run.spikes["a"].times / net.dt).astype(int) - 1, spikes)


def test_postsynaptic_potential_matches_exact_integration():
    dt, weight = 0.1, 0.6
    net = network([lif("a", 1), source("in", [[1.0]])],
                  [proj("p", "in", "a", [0], [0], [weight], 1.0)], dt=dt, duration=60.0)
    program = quantize(net, SMALL)
    model = load_model(program)
    v = []
    for k in range(net.n_steps):
        for channel in program.inputs[k]:
            model.write((F.REGION_CONTROL << F.REGION_SHIFT) | F.REG_INJECT, channel)
        model.step()
        v.append(program.v_mV(model.v[:1])[0] - LIF["v_rest"])
    # stamped at 1.0 ms (step 10), delay 1.0 ms: arrives in step 20
    want, _ = _float_lif(LIF, dt, net.n_steps, arrivals={20: weight})
    assert np.all(np.array(v[:20]) == 0)
    assert want.max() > 1.0                       # a PSP of about 2 mV
    # each step truncates v by < 1 LSB in the decay and < 1 LSB in the synaptic term;
    # the leak forgets old errors, so they add up to at most 2 LSB / (1 - exp(-dt/tau_m))
    bound = 2 * F.V_LSB_MV / (1 - np.exp(-dt / LIF["tau_m"]))
    assert np.max(np.abs(np.array(v) - want)) <= bound
