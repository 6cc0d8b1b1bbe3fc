"""IF_cond_alpha and the AdEx cells (EIF_cond_exp/alpha_isfa_ista) through every layer.

Expected values come from the equations, written out here independently of
either simulator: closed forms where they exist, scipy's solve_ivp (DOP853,
rtol 1e-12) otherwise.  The AdEx equations are NEST's aeif_cond_exp /
aeif_cond_alpha (Brette & Gerstner 2005, J Neurophysiol 94:3637) in PyNN's
units (nF, ms, mV, nA, uS; a in nS):

    cm dv/dt = (cm/tau_m) (v_rest - v + delta_T exp((v - v_thresh)/delta_T))
               + g_e (e_rev_E - v) + g_i (e_rev_I - v) - w + i_offset
    tau_w dw/dt = a (v - v_rest) - w

spike at v_spike, then v = v_reset (clamped for tau_refrac) and w += b.
"""
import math

import numpy as np
import pytest
from pyNN.standardmodels import cells as pynn_cells
from scipy.integrate import solve_ivp

import neurohw.pynn as sim
from neurohw import ir
from neurohw.sim.brian2 import Simulation as Brian2Simulation
from neurohw.sim.reference import Simulation as ReferenceSimulation

DT = 0.1
COND = dict(cm=1.0, tau_m=20.0, tau_refrac=0.1, tau_syn_E=0.3, tau_syn_I=0.5, v_rest=-65.0,
            v_reset=-65.0, v_thresh=-50.0, i_offset=0.0, e_rev_E=0.0, e_rev_I=-70.0)
# PyNN's defaults for EIF_cond_*_isfa_ista
ADEX = dict(cm=0.281, tau_refrac=0.1, v_spike=-40.0, v_reset=-70.6, v_rest=-70.6, tau_m=9.3667,
            i_offset=0.0, a=4.0, b=0.0805, delta_T=2.0, tau_w=144.0, v_thresh=-50.4,
            e_rev_E=0.0, tau_syn_E=5.0, e_rev_I=-80.0, tau_syn_I=5.0)
ADEX_TYPES = ["EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista"]
SIMULATORS = {"reference": ReferenceSimulation,
              "brian2": lambda net: Brian2Simulation(net, codegen_target="numpy")}


def one_cell(cell_type, params, initial=None, inputs=(), duration=100.0):
    """One neuron "n" recording everything, driven by SpikeSourceArray inputs given as
    (time, weight, delay, receptor)."""
    pops = [ir.Population("n", cell_type, 1, params=params, initial=initial or {},
                          record={var: [0] for var in ir.RECORDABLE[cell_type]})]
    prjs = []
    if inputs:
        pops.append(ir.Population("src", "SpikeSourceArray", len(inputs),
                                  spike_times=tuple(np.array([t]) for t, *_ in inputs)))
        prjs = [ir.Projection(f"in{k}", "src", "n", receptor, [k], [0], weight, delay)
                for k, (_, weight, delay, receptor) in enumerate(inputs)]
    return ir.Network(dt=DT, populations=tuple(pops), projections=tuple(prjs), duration=duration)


def alpha_conductance(t, weight, arrival, tau):
    """PyNN's/NEST's alpha conductance: peaks at `weight` tau after `arrival`."""
    s = np.clip(np.asarray(t, dtype=float) - arrival, 0.0, None)
    return weight * s / tau * np.exp(1.0 - s / tau)


def adex_rhs(p, g_e, g_i):
    """The AdEx equations (module docstring) as an ODE in (v, w) for solve_ivp;
    g_e(t), g_i(t) are given functions.  delta_T = 0 drops the exponential term."""
    g_leak = p["cm"] / p["tau_m"]

    def rhs(t, y):
        v, w = y
        spike_current = (g_leak * p["delta_T"] * math.exp((v - p["v_thresh"]) / p["delta_T"])
                         if p["delta_T"] > 0 else 0.0)
        dv = (g_leak * (p["v_rest"] - v) + spike_current + g_e(t) * (p["e_rev_E"] - v)
              + g_i(t) * (p["e_rev_I"] - v) - w + p["i_offset"]) / p["cm"]
        dw = (p["a"] * 1e-3 * (v - p["v_rest"]) - w) / p["tau_w"]
        return [dv, dw]
    return rhs


def solve(rhs, y0, t_eval, **kwargs):
    return solve_ivp(rhs, (0.0, t_eval[-1]), y0, t_eval=t_eval, method="DOP853", rtol=1e-12,
                     atol=1e-12, **kwargs)


# ---- IF_cond_alpha ---------------------------------------------------------------------
@pytest.mark.parametrize("backend", SIMULATORS)
def test_cond_alpha_conductance_is_the_alpha_function_peaking_at_the_weight(backend):
    inputs = [(2.0, 0.02, 1.5, "excitatory"), (6.0, 0.03, 0.5, "inhibitory")]
    p = dict(COND, tau_syn_E=2.0, tau_syn_I=3.0, v_thresh=100.0)
    res = SIMULATORS[backend](one_cell("IF_cond_alpha", p, inputs=inputs)).run(60.0)
    signals = res.signals["n"]
    t = signals["gsyn_exc"].times
    expected_e = alpha_conductance(t, 0.02, 3.5, 2.0)
    expected_i = alpha_conductance(t, 0.03, 6.5, 3.0)
    # the reference is exact; Brian2 integrates the two linear ODEs with RK4 at dt
    # (dt/tau = 0.05: ~1e-6 of the weight)
    rtol, atol = (1e-12, 1e-15) if backend == "reference" else (0.0, 1e-8)
    np.testing.assert_allclose(signals["gsyn_exc"].values[:, 0], expected_e, rtol=rtol,
                               atol=atol)
    np.testing.assert_allclose(signals["gsyn_inh"].values[:, 0], expected_i, rtol=rtol,
                               atol=atol)
    peak = np.argmax(signals["gsyn_exc"].values[:, 0])
    assert t[peak] == pytest.approx(3.5 + 2.0)
    assert signals["gsyn_exc"].values[peak, 0] == pytest.approx(0.02, rel=1e-6)


@pytest.mark.parametrize("backend", SIMULATORS)
def test_cond_alpha_membrane_matches_an_accurate_ode_solution(backend):
    inputs = [(2.0, 0.05, 1.0, "excitatory"), (10.0, 0.08, 1.0, "inhibitory")]
    p = dict(COND, tau_syn_E=2.0, tau_syn_I=4.0, v_thresh=100.0, i_offset=0.1)
    res = SIMULATORS[backend](one_cell("IF_cond_alpha", p, initial={"v": -60.0},
                                       inputs=inputs)).run(40.0)
    t = res.signals["n"]["v"].times

    def rhs(time, y):
        g_e = alpha_conductance(time, 0.05, 3.0, 2.0)
        g_i = alpha_conductance(time, 0.08, 11.0, 4.0)
        return [((p["cm"] / p["tau_m"]) * (p["v_rest"] - y[0]) + g_e * (0.0 - y[0])
                 + g_i * (-70.0 - y[0]) + 0.1) / p["cm"]]

    # max_step: solve_ivp must not step over the conductances' kinks at their arrivals
    expected = solve(rhs, [-60.0], t, max_step=0.05).y[0]
    atol = 1e-7 if backend == "reference" else 1e-5
    np.testing.assert_allclose(res.signals["n"]["v"].values[:, 0], expected, atol=atol)


# ---- AdEx: subthreshold dynamics --------------------------------------------------------
@pytest.mark.parametrize("cell_type", ADEX_TYPES)
@pytest.mark.parametrize("backend", SIMULATORS)
def test_adex_subthreshold_trajectory_matches_solve_ivp(cell_type, backend):
    # v climbs above v_thresh (-50.4 mV is the exponential's threshold, not a spike
    # level) to ~-54 mV, where the exponential term is a sizeable share of the drive,
    # w adapts, and both conductances act; no spike
    p = dict(ADEX, i_offset=0.55)
    tau_e, tau_i = p["tau_syn_E"], p["tau_syn_I"]
    if cell_type == "EIF_cond_exp_isfa_ista":
        initial = {"v": -60.0, "w": 0.05, "gsyn_exc": 0.004, "gsyn_inh": 0.002}
        inputs = ()

        def g_e(time):
            return 0.004 * math.exp(-time / tau_e)

        def g_i(time):
            return 0.002 * math.exp(-time / tau_i)
    else:
        initial = {"v": -60.0, "w": 0.05}
        inputs = [(4.0, 0.004, 1.0, "excitatory"), (20.0, 0.003, 1.0, "inhibitory")]

        def g_e(time):
            return float(alpha_conductance(time, 0.004, 5.0, tau_e))

        def g_i(time):
            return float(alpha_conductance(time, 0.003, 21.0, tau_i))
    res = SIMULATORS[backend](one_cell(cell_type, p, initial=initial, inputs=inputs)).run(100.0)
    assert res.spikes["n"].times.size == 0
    t = res.signals["n"]["v"].times
    expected = solve(adex_rhs(p, g_e, g_i), [-60.0, 0.05], t, max_step=0.05)
    v, w = res.signals["n"]["v"].values[:, 0], res.signals["n"]["w"].values[:, 0]
    assert expected.y[0].max() > -55.0       # the exponential term mattered
    # reference: RK4 on sub-steps with eta*rate <= 0.02; Brian2: RK4 at dt
    atol_v, atol_w = (1e-7, 1e-10) if backend == "reference" else (1e-4, 1e-7)
    np.testing.assert_allclose(v, expected.y[0], atol=atol_v)
    np.testing.assert_allclose(w, expected.y[1], atol=atol_w)


# ---- AdEx: spike, reset, adaptation -----------------------------------------------------
@pytest.mark.parametrize("cell_type", ADEX_TYPES)
def test_adex_spike_reset_and_adaptation_jump(cell_type):
    p = dict(ADEX, i_offset=0.8, tau_refrac=2.0)
    net = one_cell(cell_type, p, initial={"v": -65.0, "w": 0.0})
    res = ReferenceSimulation(net).run(60.0)
    stamps = res.spikes["n"].times
    assert stamps.size >= 2

    # the first crossing of v_spike, solved independently
    def reaches_v_spike(time, y):
        return y[0] - p["v_spike"]
    reaches_v_spike.terminal = True
    upswing = solve_ivp(adex_rhs(p, lambda _: 0.0, lambda _: 0.0), (0.0, 60.0), [-65.0, 0.0],
                        method="DOP853", rtol=1e-12, atol=1e-12, events=reaches_v_spike)
    t_cross = upswing.t_events[0][0]
    w_cross = upswing.y_events[0][0][1]
    # stamped at the end of the step in which v reached v_spike
    assert stamps[0] == pytest.approx(math.ceil(t_cross / DT) * DT)
    # for the rest of that step v is capped at v_spike: w relaxes towards a(v_spike - v_rest);
    # at the stamp w jumps by b
    w_capped = p["a"] * 1e-3 * (p["v_spike"] - p["v_rest"])
    w_at_stamp = (w_capped + (w_cross - w_capped) * math.exp(-(stamps[0] - t_cross) / p["tau_w"])
                  + p["b"])
    signals = res.signals["n"]
    k = int(round(stamps[0] / DT))
    assert signals["v"].values[k, 0] == p["v_reset"]
    assert signals["w"].values[k, 0] == pytest.approx(w_at_stamp, abs=1e-8)
    # refractory: v clamped at v_reset for round(tau_refrac/dt) steps, while w relaxes
    # exactly towards a(v_reset - v_rest) = 0
    refractory = np.arange(k, k + int(round(p["tau_refrac"] / DT)) + 1)
    np.testing.assert_array_equal(signals["v"].values[refractory, 0], p["v_reset"])
    w_refractory = w_at_stamp * np.exp(-(refractory - k) * DT / p["tau_w"])
    np.testing.assert_allclose(signals["w"].values[refractory, 0], w_refractory, rtol=1e-7)
    # after that v moves again
    assert signals["v"].values[refractory[-1] + 1, 0] > p["v_reset"]


def test_adex_interspike_intervals_grow_with_spike_triggered_adaptation():
    p = dict(ADEX, i_offset=1.0)
    res = ReferenceSimulation(one_cell("EIF_cond_exp_isfa_ista", p)).run(300.0)
    intervals = np.diff(res.spikes["n"].times)
    assert intervals.size >= 5
    assert np.all(np.diff(intervals) > 0)
    no_adaptation = dict(p, a=0.0, b=0.0)
    regular = np.diff(ReferenceSimulation(one_cell("EIF_cond_exp_isfa_ista", no_adaptation))
                      .run(300.0).spikes["n"].times)
    # without adaptation every interval is the first one (up to the step grid)
    assert np.ptp(regular) <= DT + 1e-9
    assert regular[0] < intervals[-1]


@pytest.mark.parametrize("backend", SIMULATORS)
def test_adex_without_exponential_and_adaptation_is_the_conductance_lif(backend):
    # delta_T = 0: NEST drops the exponential term and detects spikes at v_thresh
    lif = dict(COND, tau_syn_E=5.0, tau_syn_I=5.0, i_offset=1.2, tau_refrac=2.0)
    adex = dict(lif, delta_T=0.0, a=0.0, b=0.0, tau_w=100.0, v_spike=-40.0)
    inputs = [(5.0, 0.01, 1.0, "excitatory"), (30.0, 0.02, 1.0, "inhibitory")]
    runs = {ct: SIMULATORS[backend](one_cell(ct, params, inputs=inputs)).run(100.0)
            for ct, params in (("IF_cond_exp", lif), ("EIF_cond_exp_isfa_ista", adex))}
    lif_run, adex_run = runs["IF_cond_exp"], runs["EIF_cond_exp_isfa_ista"]
    assert lif_run.spikes["n"].times.size >= 3
    np.testing.assert_array_equal(adex_run.spikes["n"].times, lif_run.spikes["n"].times)
    np.testing.assert_allclose(adex_run.signals["n"]["v"].values,
                               lif_run.signals["n"]["v"].values, atol=1e-9)
    np.testing.assert_array_equal(adex_run.signals["n"]["w"].values, 0.0)


# ---- reference and Brian2 agree ---------------------------------------------------------
def test_reference_and_brian2_agree_on_a_network_of_the_new_types():
    """Spike-driven feed-forward layers of each new type, with delays, both receptors
    and a DC drive: the same spikes within one step in both simulators.

    Brian2 integrates AdEx with fixed-step RK4 at dt, which is coarse in the
    exponential upswing when its rate (cm/tau_m)/cm e^{(v_spike - v_thresh)/delta_T}
    times dt is not small: 1.9 with PyNN's defaults (delta_T = 2 mV, v_spike =
    -40 mV) at dt = 0.1 ms, enough to move a spike by a step and then, through w,
    the next ones.  Here delta_T = 3.5 mV and v_spike = -45 mV make it 0.05."""
    rng = np.random.default_rng(11)
    n_in, n = 30, 12
    trains = tuple(np.unique(np.round(rng.uniform(0, 300, rng.poisson(25)), 1))
                   for _ in range(n_in))
    cond = dict(COND, tau_syn_E=2.0, tau_syn_I=4.0, tau_refrac=2.0, i_offset=0.3)
    adex = dict(ADEX, tau_refrac=1.0, delta_T=3.5, v_spike=-45.0,
                i_offset=np.linspace(0.0, 0.3, n))
    all_cells = {var: np.arange(n) for var in ("spikes",)}
    pops = [ir.Population("in", "SpikeSourceArray", n_in, spike_times=trains),
            ir.Population("alpha", "IF_cond_alpha", n, params=cond, record=all_cells),
            ir.Population("adex_exp", "EIF_cond_exp_isfa_ista", n, params=adex,
                          record={**all_cells, "w": [0, 5], "v": [0, 5]}),
            ir.Population("adex_alpha", "EIF_cond_alpha_isfa_ista", n, params=adex,
                          record=all_cells)]

    def random_projection(label, pre, post, n_pre, receptor, weight):
        mask = rng.uniform(size=(n_pre, n)) < 0.3
        pre_idx, post_idx = np.nonzero(mask)
        return ir.Projection(label, pre, post, receptor, pre_idx, post_idx,
                             rng.uniform(0.5, 1.0, pre_idx.size) * weight,
                             np.round(rng.uniform(0.5, 3.0, pre_idx.size), 1))
    prjs = (random_projection("in_alpha_e", "in", "alpha", n_in, "excitatory", 0.02),
            random_projection("in_alpha_i", "in", "alpha", n_in, "inhibitory", 0.01),
            random_projection("in_adex_exp", "in", "adex_exp", n_in, "excitatory", 0.01),
            random_projection("alpha_adex_exp", "alpha", "adex_exp", n, "inhibitory", 0.005),
            random_projection("in_adex_alpha", "in", "adex_alpha", n_in, "excitatory", 0.006),
            random_projection("adex_exp_alpha", "adex_exp", "adex_alpha", n, "excitatory",
                              0.004))
    net = ir.Network(dt=DT, populations=tuple(pops), projections=prjs, duration=300.0)
    reference = ReferenceSimulation(net).run(300.0)
    brian2 = Brian2Simulation(net, codegen_target="cython").run(300.0)
    for label in ("alpha", "adex_exp", "adex_alpha"):
        a, b = reference.spikes[label], brian2.spikes[label]
        assert len(a) >= 20, f"'{label}' fired only {len(a)} spikes: the test is too weak"
        for i in range(n):
            ta, tb = a.of(i), b.of(i)
            assert ta.size == tb.size, f"'{label}' neuron {i}:\n{ta}\n{tb}"
            assert ta.size == 0 or np.max(np.abs(ta - tb)) <= DT + 1e-9, (label, i, ta, tb)
    np.testing.assert_allclose(brian2.signals["adex_exp"]["w"].values,
                               reference.signals["adex_exp"]["w"].values, atol=1e-4)


@pytest.mark.parametrize("cell_type", ADEX_TYPES)
def test_spike_level_and_adaptation_changed_between_runs_take_effect_in_both(cell_type):
    p = dict(ADEX, i_offset=0.9, delta_T=3.5, v_spike=-45.0)
    spikes = {}
    for backend, make in SIMULATORS.items():
        simulation = make(one_cell(cell_type, p, initial={"w": 0.1}))
        first = simulation.run(60.0)
        # delta_T = 0: the spike level becomes v_thresh; no adaptation from here on
        simulation.set_parameter("n", "delta_T", 0.0)
        simulation.set_parameter("n", "b", 0.0)
        simulation.set_parameter("n", "a", 0.0)
        simulation.set_state("n", "w", 0.0)
        second = simulation.run(100.0)
        spikes[backend] = (first.spikes["n"].times, second.spikes["n"].times)
        later = np.diff(second.spikes["n"].times)
        assert later.size >= 3 and np.ptp(later) <= DT + 1e-9    # regular: no adaptation
        np.testing.assert_array_equal(second.signals["n"]["w"].values, 0.0)
        # detected at v_thresh (the first sample is the state the first run left behind)
        assert second.signals["n"]["v"].values[1:].max() < p["v_thresh"]
    for (ref, b2) in zip(spikes["reference"], spikes["brian2"]):
        assert ref.size == b2.size and ref.size > 0
        assert np.max(np.abs(ref - b2)) <= DT + 1e-9


# ---- IR validation ----------------------------------------------------------------------
@pytest.mark.parametrize("change, message", [
    (dict(v_spike=-55.0), r"'pop'.*'v_spike' must be >= 'v_thresh'.*neuron 1.*-55.0"),
    (dict(tau_w=0.0), r"'pop'.*'tau_w' must be > 0.*neuron 1 has 0.0"),
    (dict(delta_T=-1.0), r"'pop'.*'delta_T' must be >= 0.*neuron 1 has -1.0"),
    (dict(delta_T=0.01, v_spike=0.0),
     r"'pop'.*\(v_spike - v_thresh\)/delta_T of neuron 1 is 5040.*overflows"),
    (dict(v_reset=-30.0), r"'pop'.*spike level v_spike must be above 'v_reset'.*neuron 1"),
    (dict(delta_T=0.0, v_reset=-50.0),
     r"'pop'.*v_thresh \(delta_T = 0\) must be above 'v_reset'.*neuron 1"),
])
def test_bad_adex_parameters_are_reported_with_population_parameter_and_neuron(change, message):
    params = {k: np.full(2, v) for k, v in ADEX.items()}
    for k, v in change.items():
        params[k][1] = v
    with pytest.raises(ir.NetworkError, match=message):
        ir.Population("pop", "EIF_cond_exp_isfa_ista", 2, params=params)


def test_adex_reset_above_the_exponential_threshold_is_allowed():
    # bursting AdEx regimes reset above v_thresh (Naud et al. 2008, Biol Cybern 99:335)
    ir.Population("pop", "EIF_cond_alpha_isfa_ista", 1, params=dict(ADEX, v_reset=-48.0))


# ---- PyNN layer ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["IF_cond_alpha", "EIF_cond_exp_isfa_ista",
                                  "EIF_cond_alpha_isfa_ista"])
def test_pynn_cell_types_carry_pynn_defaults_into_the_ir(name):
    pynn_type = getattr(pynn_cells, name)
    sim.setup(timestep=DT)
    with sim.capture() as captured:
        pop = sim.Population(3, getattr(sim, name)())
        pop.record(pynn_type.recordable)
        sim.run(5.0)
    ir_pop = captured.runs[0].network.population(pop.ir_label)
    assert ir_pop.cell_type == name
    for parameter, default in pynn_type.default_parameters.items():
        np.testing.assert_array_equal(ir_pop.params[parameter], default)
    for var, value in pynn_type.default_initial_values.items():
        np.testing.assert_array_equal(ir_pop.initial[var], value)
    segment = pop.get_data().segments[0]
    recorded = {signal.name: signal for signal in segment.analogsignals}
    assert set(recorded) == set(pynn_type.recordable) - {"spikes"}
    for var, signal in recorded.items():
        assert signal.units.dimensionality.string == pynn_type.units[var]
    sim.end()
