"""neurohw.sim.reference against closed-form solutions and independent numerics.

Every expected value here is derived from the model equations (or from an
independent ODE solver), never from the simulator's own output.
"""
from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from neurohw import ir
from neurohw.sim.reference import Simulation

DT = 0.1
BASE = dict(cm=0.25, tau_m=20.0, tau_refrac=2.0, tau_syn_E=5.0, tau_syn_I=10.0,
            v_rest=-65.0, v_reset=-70.0, v_thresh=-50.0, i_offset=0.0)
COND = dict(BASE, e_rev_E=0.0, e_rev_I=-80.0)


def cell(**overrides):
    return {**BASE, **overrides}


def source(label, times, record=False):
    trains = tuple(np.atleast_1d(np.asarray(t, dtype=float)) for t in times)
    return ir.Population(label, "SpikeSourceArray", len(trains), spike_times=trains,
                         record={"spikes": np.arange(len(trains))} if record else {})


def single_input_net(cell_type, params, weight, t_spike=2.0, delay=1.5,
                     receptor="excitatory", record=("v", "isyn_exc"), dt=DT):
    post = ir.Population("post", cell_type, 1, params=params,
                         record={var: [0] for var in record})
    prj = ir.Projection("syn", "src", "post", receptor, [0], [0], [weight], [delay])
    return ir.Network(dt=dt, populations=(source("src", [t_spike]), post), projections=(prj,))


# ---- membrane and synapse dynamics -------------------------------------------------
@pytest.mark.parametrize("dt", [0.1, 0.25])
def test_dc_current_follows_closed_form_and_spikes_at_the_analytic_crossing(dt):
    i_dc = 0.9
    params = cell(i_offset=i_dc)
    net = ir.Network(dt=dt, populations=(ir.Population(
        "n", "IF_curr_exp", 1, params=params, record={"v": [0], "spikes": [0]}),))
    res = Simulation(net, seed=0).run(30.0)
    r_m = params["tau_m"] / params["cm"]
    v_inf = params["v_rest"] + r_m * i_dc
    t_cross = -params["tau_m"] * math.log((v_inf - params["v_thresh"])
                                          / (v_inf - params["v_rest"]))
    first = res.spikes["n"].times[0]
    # the spike is stamped at the end of the step in which v crossed threshold
    assert t_cross <= first + 1e-12 < t_cross + dt
    sig = res.signals["n"]["v"]
    before = sig.times < first
    expected = params["v_rest"] + r_m * i_dc * (1.0 - np.exp(-sig.times[before] / params["tau_m"]))
    np.testing.assert_allclose(sig.values[before, 0], expected, rtol=0, atol=1e-9)


def exp_psp(u, w, cm, tau_m, tau_s):
    """v - v_rest of an exponential PSC w*exp(-u/tau_s) (closed form of the linear ODE)."""
    if tau_m == tau_s:
        return w / cm * u * np.exp(-u / tau_m)
    return w / cm * tau_m * tau_s / (tau_m - tau_s) * (np.exp(-u / tau_m) - np.exp(-u / tau_s))


def alpha_psp(u, w, cm, tau_m, tau_s):
    """v - v_rest of an alpha PSC w*(u/tau_s)*exp(1 - u/tau_s)."""
    scale = w * math.e / (tau_s * cm)
    if tau_m == tau_s:
        return scale * np.exp(-u / tau_m) * u * u / 2.0
    a = 1.0 / tau_m - 1.0 / tau_s
    return scale * np.exp(-u / tau_m) * (np.exp(a * u) * (a * u - 1.0) + 1.0) / a ** 2


@pytest.mark.parametrize("cell_type", ["IF_curr_exp", "IF_curr_alpha"])
@pytest.mark.parametrize("tau_syn", [2.0, 20.0])   # 20.0 == tau_m: the singular case
def test_single_psp_matches_closed_form(cell_type, tau_syn):
    w, t_spike, delay = 1.2, 2.0, 1.5
    params = cell(tau_syn_E=tau_syn, v_thresh=1e3)   # never fires
    res = Simulation(single_input_net(cell_type, params, w, t_spike, delay)).run(40.0)
    v, isyn = res.signals["post"]["v"], res.signals["post"]["isyn_exc"]
    u = v.times - (t_spike + delay)
    after = u >= -1e-9
    assert np.all(v.values[~after, 0] == params["v_rest"])
    assert np.all(isyn.values[~after, 0] == 0.0)
    ua = np.maximum(u[after], 0.0)
    if cell_type == "IF_curr_exp":
        psc = w * np.exp(-ua / tau_syn)
        psp = exp_psp(ua, w, params["cm"], params["tau_m"], tau_syn)
    else:
        psc = w * ua / tau_syn * np.exp(1.0 - ua / tau_syn)
        psp = alpha_psp(ua, w, params["cm"], params["tau_m"], tau_syn)
        # PyNN's alpha weight is the peak current, reached at u = tau_syn
        peak = np.argmax(isyn.values[after, 0])
        assert ua[peak] == pytest.approx(tau_syn, abs=1e-9)
        assert isyn.values[after, 0][peak] == pytest.approx(w, rel=1e-12)
    np.testing.assert_allclose(isyn.values[after, 0], psc, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(v.values[after, 0] - params["v_rest"], psp, rtol=0, atol=1e-9)


@pytest.mark.parametrize("cell_type", ["IF_curr_exp", "IF_curr_alpha"])
def test_nearly_equal_time_constants_are_not_ill_conditioned(cell_type):
    """tau_syn = tau_m*(1 + 1e-10): the textbook propagator divides by ~2e-9; the PSP must
    still agree with the singular closed form to the size of the perturbation."""
    w, tau = 1.0, 20.0
    params = cell(tau_m=tau, tau_syn_E=tau * (1 + 1e-10), v_thresh=0.0)
    res = Simulation(single_input_net(cell_type, params, w)).run(30.0)
    v = res.signals["post"]["v"]
    u = np.maximum(v.times - 3.5, 0.0)
    shape = exp_psp if cell_type == "IF_curr_exp" else alpha_psp
    np.testing.assert_allclose(v.values[:, 0] - params["v_rest"],
                               shape(u, w, params["cm"], tau, tau), rtol=1e-7, atol=1e-12)


def test_conductance_based_membrane_matches_an_independent_ode_solver():
    """IF_cond_exp with a strong excitatory (forces RK4 sub-stepping) and an inhibitory
    input and a DC current, against scipy's DOP853 at tight tolerances."""
    p = dict(COND, cm=0.2, v_thresh=10.0, i_offset=0.3)   # threshold above E_e: no spikes
    arrivals = {"excitatory": (3.0, 1.5), "inhibitory": (6.0, 0.4)}   # time (ms), weight (uS)
    post = ir.Population("post", "IF_cond_exp", 1, params=p,
                         record={"v": [0], "gsyn_exc": [0], "gsyn_inh": [0]})
    prjs = tuple(ir.Projection(rec, "src", "post", rec, [i], [0], [w], [t - 1.0])
                 for i, (rec, (t, w)) in enumerate(arrivals.items()))
    net = ir.Network(dt=DT, populations=(source("src", [[1.0], [1.0]]), post), projections=prjs)
    res = Simulation(net).run(25.0)
    (t_e, w_e), (t_i, w_i) = arrivals["excitatory"], arrivals["inhibitory"]

    def g(t, t0, w, tau):
        return np.where(t >= t0, w * np.exp(-(t - t0) / tau), 0.0)

    def dvdt(t, v):
        ge, gi = g(t, t_e, w_e, p["tau_syn_E"]), g(t, t_i, w_i, p["tau_syn_I"])
        return ((p["cm"] / p["tau_m"]) * (p["v_rest"] - v) + ge * (p["e_rev_E"] - v)
                + gi * (p["e_rev_I"] - v) + p["i_offset"]) / p["cm"]

    times = res.signals["post"]["v"].times
    # integrate piecewise so the solver never steps across a conductance jump
    expected, v0 = [], [p["v_rest"]]
    for lo, hi in ((0.0, t_e), (t_e, t_i), (t_i, 25.0)):
        inside = (times >= lo - 1e-9) & (times < hi - 1e-9)
        sol = solve_ivp(dvdt, (lo, hi), v0, method="DOP853", rtol=1e-12, atol=1e-12,
                        t_eval=np.append(times[inside], hi))
        expected.extend(sol.y[0, :-1])
        v0 = [sol.y[0, -1]]
    np.testing.assert_allclose(res.signals["post"]["v"].values[:, 0], expected, rtol=0, atol=2e-7)
    np.testing.assert_allclose(res.signals["post"]["gsyn_exc"].values[:, 0],
                               g(times, t_e, w_e, p["tau_syn_E"]), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(res.signals["post"]["gsyn_inh"].values[:, 0],
                               g(times, t_i, w_i, p["tau_syn_I"]), rtol=1e-12, atol=1e-15)


# ---- refractoriness, delays, signs --------------------------------------------------------
def test_refractory_clamp_length_and_interspike_interval():
    i_dc, tau_refrac = 1.0, 2.0
    params = cell(i_offset=i_dc, tau_refrac=tau_refrac)
    pop = ir.Population("n", "IF_curr_exp", 1, params=params, record={"v": [0], "spikes": [0]})
    res = Simulation(ir.Network(dt=DT, populations=(pop,))).run(50.0)
    spikes, v = res.spikes["n"].times, res.signals["n"]["v"]
    assert spikes.size >= 3
    r_m, tau_m = params["tau_m"] / params["cm"], params["tau_m"]
    v_inf = params["v_rest"] + r_m * i_dc
    rise = -tau_m * math.log((v_inf - params["v_thresh"]) / (v_inf - params["v_reset"]))
    for first, second in zip(spikes[:-1], spikes[1:]):
        assert tau_refrac + rise <= second - first + 1e-9 < tau_refrac + rise + DT
        k = int(round(first / DT))
        clamp_steps = int(round(tau_refrac / DT))
        # v sits at v_reset from the spike through round(tau_refrac/dt) clamped steps ...
        assert np.all(v.values[k:k + clamp_steps + 1, 0] == params["v_reset"])
        # ... then evolves freely from v_reset: one exact step of the linear ODE
        free = v_inf + (params["v_reset"] - v_inf) * math.exp(-DT / tau_m)
        assert v.values[k + clamp_steps + 1, 0] == pytest.approx(free, abs=1e-12)


def test_synaptic_current_keeps_decaying_during_refractoriness():
    w, t_arrival = 0.4, 3.0
    params = cell(i_offset=1.0, tau_refrac=5.0)
    post = ir.Population("post", "IF_curr_exp", 1, params=params,
                         record={"spikes": [0], "isyn_exc": [0]})
    prj = ir.Projection("syn", "src", "post", "excitatory", [0], [0], [w], [1.0])
    net = ir.Network(dt=DT, populations=(source("src", [t_arrival - 1.0]), post),
                     projections=(prj,))
    res = Simulation(net).run(20.0)
    first = res.spikes["post"].times[0]
    assert t_arrival < first < 8.0          # the refractory window covers decaying current
    isyn = res.signals["post"]["isyn_exc"]
    after = isyn.times >= t_arrival - 1e-9
    np.testing.assert_allclose(isyn.values[after, 0],
                               w * np.exp(-(isyn.times[after] - t_arrival) / BASE["tau_syn_E"]),
                               rtol=1e-12)


def test_delays_are_exact_in_steps_for_sources_and_neurons():
    t_src = 5.04                         # rounds to the 5.0 ms step
    delays = [0.1, 1.0, 2.04, 3.7]       # 2.04 rounds to 20 steps
    params = cell(v_thresh=0.0)
    targets = ir.Population("t", "IF_curr_exp", len(delays), params=params,
                            record={"isyn_exc": np.arange(len(delays))})
    driver = ir.Population("d", "IF_curr_exp", 1, params=cell(i_offset=1.0),
                           record={"spikes": [0]})
    relay = ir.Population("r", "IF_curr_exp", 1, params=params, record={"isyn_exc": [0]})
    prjs = (ir.Projection("src_t", "src", "t", "excitatory", np.zeros(len(delays)),
                          np.arange(len(delays)), 0.5, delays),
            ir.Projection("d_r", "d", "r", "excitatory", [0], [0], [0.5], [2.3]))
    net = ir.Network(dt=DT, populations=(source("src", [t_src], record=True), targets, driver,
                                         relay), projections=prjs)
    res = Simulation(net).run(20.0)
    assert res.spikes["src"].times[0] == pytest.approx(5.0, abs=1e-12)
    isyn = res.signals["t"]["isyn_exc"]
    for j, d in enumerate(delays):
        first = isyn.times[np.flatnonzero(isyn.values[:, j])[0]]
        assert first == pytest.approx(5.0 + round(d / DT) * DT, abs=1e-9)
    t_spike = res.spikes["d"].times[0]
    relay_isyn = res.signals["r"]["isyn_exc"]
    first = relay_isyn.times[np.flatnonzero(relay_isyn.values[:, 0])[0]]
    assert first == pytest.approx(t_spike + 2.3, abs=1e-9)


@pytest.mark.parametrize("cell_type", ["IF_curr_exp", "IF_curr_alpha", "IF_cond_exp"])
def test_excitation_depolarises_and_inhibition_hyperpolarises(cell_type):
    params = dict(COND if cell_type == "IF_cond_exp" else BASE, v_thresh=1e3)   # never fires
    conductance = cell_type == "IF_cond_exp"
    for receptor, weight, direction in (("excitatory", 0.02 if conductance else 0.5, +1),
                                        ("inhibitory", 0.02 if conductance else -0.5, -1)):
        net = single_input_net(cell_type, params, weight, receptor=receptor, record=("v",))
        deviation = Simulation(net).run(30.0).signals["post"]["v"].values[:, 0] - params["v_rest"]
        extreme = deviation.max() if direction > 0 else deviation.min()
        assert direction * extreme > 0.05, (receptor, extreme)
        assert np.all(direction * deviation >= -1e-12)


# ---- STDP ------------------------------------------------------------------------------
def stdp_net(t_pre, rule, delay=1.0, w0=0.0005, receptor="excitatory"):
    """pre --(plastic, tiny weight)--> post <--(static, strong)-- drive; post fires once."""
    post = ir.Population("post", "IF_curr_exp", 1, params=cell(tau_syn_E=0.5, tau_syn_I=0.5),
                         record={"spikes": [0]})
    prjs = (ir.Projection("plastic", "pre", "post", receptor, [0], [0], [w0], [delay],
                          plasticity=rule),
            ir.Projection("drive", "drive", "post", "excitatory", [0], [0], [10.0], [0.1]))
    return ir.Network(dt=DT, populations=(source("pre", [t_pre], record=True),
                                          source("drive", [20.0]), post), projections=prjs)


def pair_rule_dw(delta, w0, rule):
    """The pair rule of ir.STDP for one pair; delta = t_post - t_pre at the synapse."""
    lo, hi = sorted((abs(rule.w_min), abs(rule.w_max)))
    mult = rule.weight_dependence == "multiplicative"
    if delta > 0:
        return rule.A_plus * ((hi - w0) if mult else hi) * math.exp(-delta / rule.tau_plus)
    return -rule.A_minus * ((w0 - lo) if mult else hi) * math.exp(delta / rule.tau_minus)


@pytest.mark.parametrize("dependence", ["additive", "multiplicative"])
@pytest.mark.parametrize("t_pre", [14.3, 27.6])                 # before / after the post spike
@pytest.mark.parametrize("dendritic", [1.0, 0.0])
def test_stdp_single_pair_matches_the_pair_rule(dependence, t_pre, dendritic):
    rule = ir.STDP(tau_plus=16.8, tau_minus=33.7, A_plus=0.01, A_minus=0.012, w_min=0.0,
                   w_max=0.001, weight_dependence=dependence, dendritic_delay_fraction=dendritic)
    w0, delay = 0.0004, 1.5
    sim = Simulation(stdp_net(t_pre, rule, delay, w0))
    res = sim.run(60.0)
    assert res.spikes["post"].times.size == 1 and res.spikes["pre"].times.size == 1
    t_post = res.spikes["post"].times[0]
    # spike timing at the synapse: the dendritic share of the delay delays the post spike,
    # the axonal share the pre spike
    delta = (t_post + dendritic * delay) - (res.spikes["pre"].times[0] + (1 - dendritic) * delay)
    assert abs(delta) > 1.0
    expected = w0 + pair_rule_dw(delta, w0, rule)
    assert res.weights["plastic"][0] == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert sim.get_synapses("plastic", "weight")[0] == res.weights["plastic"][0]
    assert abs(res.weights["plastic"][0] - w0) > 1e-6          # the pair did something


def test_stdp_pre_and_post_at_the_same_synapse_time_do_not_pair():
    rule = ir.STDP(A_plus=0.01, A_minus=0.01, w_max=0.001)
    delay = 1.0
    # find the post spike time: a pre spike late enough cannot influence it
    t_post = Simulation(stdp_net(50.0, rule, delay)).run(60.0).spikes["post"].times[0]
    # dendritic delay: the post spike reaches the synapse at t_post + delay
    coincident = Simulation(stdp_net(t_post + delay, rule, delay)).run(60.0)
    assert coincident.spikes["post"].times[0] == t_post
    assert coincident.weights["plastic"][0] == 0.0005
    one_step_later = Simulation(stdp_net(t_post + delay + DT, rule, delay)).run(60.0)
    assert one_step_later.weights["plastic"][0] == pytest.approx(
        0.0005 - 0.01 * 0.001 * math.exp(-DT / rule.tau_minus), rel=1e-9)


def test_stdp_clips_to_bounds_and_acts_on_magnitude_for_inhibitory_weights():
    strong = ir.STDP(A_plus=100.0, A_minus=100.0, w_min=0.0, w_max=0.001)
    potentiated = Simulation(stdp_net(14.3, strong)).run(60.0).weights["plastic"][0]
    depressed = Simulation(stdp_net(27.6, strong)).run(60.0).weights["plastic"][0]
    assert (potentiated, depressed) == (0.001, 0.0)
    rule = ir.STDP(tau_plus=20.0, A_plus=0.01, w_min=-0.001, w_max=0.0)
    sim = Simulation(stdp_net(14.3, rule, w0=-0.0004, receptor="inhibitory"))
    res = sim.run(60.0)
    delta = res.spikes["post"].times[0] + 1.0 - 14.3
    expected = -(0.0004 + pair_rule_dw(delta, 0.0004, rule))
    assert res.weights["plastic"][0] == pytest.approx(expected, rel=1e-9)
    assert res.weights["plastic"][0] < -0.0004


# ---- Poisson sources, seeds, continuation ----------------------------------------------
def poisson_net(seed, rate=50.0, start=100.0, duration=1500.0, n=200):
    pop = ir.Population("p", "SpikeSourcePoisson", n,
                        params=dict(rate=rate, start=start, duration=duration),
                        record={"spikes": np.arange(n)})
    return ir.Network(dt=DT, populations=(pop,), seed=seed)


def test_poisson_rate_window_and_count_statistics():
    rate, start, duration, n = 50.0, 100.0, 1500.0, 200
    spikes = Simulation(poisson_net(7, rate, start, duration, n)).run(2000.0).spikes["p"]
    assert spikes.times.min() >= start - 1e-9 and spikes.times.max() < start + duration
    p = rate * DT / 1000.0
    trials = n * round(duration / DT)
    mean, sd = trials * p, math.sqrt(trials * p * (1 - p))
    assert abs(len(spikes) - mean) < 5 * sd
    counts = np.bincount(spikes.index, minlength=n)
    # per-neuron counts are binomial: Fano factor 1 - p (loose bounds for 200 neurons)
    assert 0.6 < counts.var(ddof=1) / counts.mean() < 1.4
    # one trial per step: no neuron fires twice in a step
    for i in range(5):
        assert np.all(np.diff(spikes.of(i)) > DT / 2)


def test_same_seed_same_spikes_different_seed_different_spikes():
    a = Simulation(poisson_net(11)).run(300.0).spikes["p"]
    b = Simulation(poisson_net(11)).run(300.0).spikes["p"]
    c = Simulation(poisson_net(11), seed=12).run(300.0).spikes["p"]
    assert len(a) > 100
    np.testing.assert_array_equal(a.index, b.index)
    np.testing.assert_array_equal(a.times, b.times)
    assert len(a) != len(c) or not np.array_equal(a.times, c.times)


def recurrent_net():
    rng = np.random.default_rng(5)
    n_in, n = 40, 60
    noise = ir.Population("noise", "SpikeSourcePoisson", n_in,
                          params=dict(rate=80.0, start=0.0, duration=1e9),
                          record={"spikes": np.arange(n_in)})
    exc = ir.Population("exc", "IF_curr_alpha", n, params=cell(tau_refrac=1.0),
                        initial={"v": rng.uniform(-65, -52, n)}, record_interval=0.5,
                        record={"spikes": np.arange(n), "v": [0, 7], "isyn_inh": [3]})
    cond = ir.Population("cond", "IF_cond_exp", 10, params=COND,
                         record={"spikes": np.arange(10), "gsyn_exc": [1]})
    m = 600
    prjs = (
        ir.Projection("in", "noise", "exc", "excitatory", rng.integers(0, n_in, m),
                      rng.integers(0, n, m), rng.uniform(0.0, 0.3, m), rng.uniform(0.1, 3.0, m),
                      plasticity=ir.STDP(A_plus=0.05, A_minus=0.06, w_max=0.3,
                                         weight_dependence="multiplicative")),
        ir.Projection("rec", "exc", "exc", "inhibitory", rng.integers(0, n, m),
                      rng.integers(0, n, m), -0.2, rng.uniform(0.1, 2.0, m)),
        ir.Projection("fwd", "exc", "cond", "excitatory", rng.integers(0, n, 100),
                      rng.integers(0, 10, 100), 0.01, 1.0,
                      plasticity=ir.STDP(A_plus=0.02, w_max=0.02, dendritic_delay_fraction=0.0)),
    )
    currents = (ir.StepCurrent("dc", "exc", np.arange(10), [20.0, 50.0, 73.3], [0.3, 0.6, 0.0]),)
    return ir.Network(dt=DT, populations=(noise, exc, cond), projections=prjs,
                      currents=currents, seed=3)


@pytest.mark.parametrize("split", [50.0, 37.5])
def test_consecutive_runs_equal_one_run(split):
    net = recurrent_net()
    whole = Simulation(net).run(100.0)
    sim = Simulation(net)
    parts = [sim.run(split), sim.run(100.0 - split)]
    assert sim.t == pytest.approx(100.0)
    assert parts[1].t_start == pytest.approx(split)
    assert len(whole.spikes["exc"]) > 20 and len(whole.spikes["cond"]) > 0
    assert not np.allclose(whole.weights["in"], net.projection("in").weight)
    for label in ("noise", "exc", "cond"):
        for attr in ("index", "times"):
            np.testing.assert_array_equal(
                getattr(whole.spikes[label], attr),
                np.concatenate([getattr(p.spikes[label], attr) for p in parts]))
    for label, var in (("exc", "v"), ("exc", "isyn_inh"), ("cond", "gsyn_exc")):
        joined = np.concatenate([p.signals[label][var].values for p in parts])
        np.testing.assert_array_equal(whole.signals[label][var].values, joined)
        np.testing.assert_allclose(whole.signals[label][var].times,
                                   np.concatenate([p.signals[label][var].times for p in parts]),
                                   rtol=0, atol=1e-9)
    for proj in ("in", "fwd"):
        np.testing.assert_array_equal(whole.weights[proj], parts[1].weights[proj])
    for label, state in whole.final_state.items():
        for var, values in state.items():
            np.testing.assert_array_equal(values, parts[1].final_state[label][var])


# ---- between-run changes, currents, recording grid -----------------------------------------
def test_setters_between_runs_take_effect():
    params = cell(v_thresh=0.0)
    net = single_input_net("IF_curr_exp", params, 0.5, t_spike=2.0, delay=1.0)
    sim = Simulation(net)
    first = sim.run(20.0).signals["post"]["v"].values[:, 0] - params["v_rest"]
    # a new DC current: v follows the closed-form charging curve from where it stands
    sim.set_state("post", "v", params["v_rest"])
    sim.set_state("post", "isyn_exc", 0.0)
    sim.set_parameter("post", "i_offset", 0.2)
    v = sim.run(10.0).signals["post"]["v"]
    r_m = params["tau_m"] / params["cm"]
    np.testing.assert_allclose(v.values[:, 0] - params["v_rest"],
                               r_m * 0.2 * (1 - np.exp(-(v.times - 20.0) / params["tau_m"])),
                               atol=1e-9)
    # doubled weight, new delay and a new spike: the PSP doubles (linearity), shifted
    sim.set_parameter("post", "i_offset", 0.0)
    sim.set_state("post", "v", params["v_rest"])
    sim.set_synapses("syn", "weight", 1.0)
    sim.set_synapses("syn", "delay", 2.5)
    sim.set_parameter("src", "spike_times", [np.array([32.0])])
    np.testing.assert_array_equal(sim.get_synapses("syn", "weight"), [1.0])
    np.testing.assert_allclose(sim.get_synapses("syn", "delay"), [2.5])
    second = sim.run(20.0).signals["post"]["v"].values[:, 0] - params["v_rest"]
    # first run: arrival at 3.0 ms (sample 30); second: arrival at 34.5 ms (sample 45)
    np.testing.assert_allclose(second[45:], 2.0 * first[30:30 + len(second) - 45], atol=1e-9)
    assert np.all(np.abs(second[:45]) < 1e-12)


def test_longer_delay_set_between_runs_keeps_spikes_in_flight():
    params = cell(v_thresh=1e3)
    post = ir.Population("post", "IF_curr_exp", 2, params=params, record={"isyn_exc": [0, 1]})
    prjs = (ir.Projection("a", "src", "post", "excitatory", [0], [0], [0.5], [3.0]),
            ir.Projection("b", "src", "post", "excitatory", [0], [1], [0.5], [1.0]))
    sim = Simulation(ir.Network(dt=DT, populations=(source("src", [[5.0, 9.0]]), post),
                                projections=prjs))
    first = sim.run(6.0).signals["post"]["isyn_exc"]   # the 5.0 ms spike is en route to 'a'
    sim.set_synapses("b", "delay", 12.0)    # longer than any delay the buffers were sized for
    isyn = sim.run(20.0).signals["post"]["isyn_exc"]
    times = np.concatenate([first.times, isyn.times])
    values = np.concatenate([first.values, isyn.values])
    for j, expected in ((0, [8.0, 12.0]), (1, [6.0, 21.0])):
        arrivals = times[np.flatnonzero(np.diff(values[:, j]) > 0) + 1]
        np.testing.assert_allclose(arrivals, expected, atol=1e-9)


def test_poisson_rate_can_be_changed_between_runs():
    sim = Simulation(poisson_net(1, start=0.0, duration=1e9))
    assert len(sim.run(100.0).spikes["p"]) > 0
    sim.set_parameter("p", "rate", 0.0)
    assert len(sim.run(100.0).spikes["p"]) == 0


def test_step_current_is_piecewise_constant_on_the_grid():
    params = cell(v_thresh=0.0)
    pop = ir.Population("n", "IF_curr_exp", 2, params=params, record={"v": [0, 1]})
    cs = ir.StepCurrent("pulse", "n", [1], [10.0, 30.0], [0.5, 0.0])
    res = Simulation(ir.Network(dt=DT, populations=(pop,), currents=(cs,))).run(60.0)
    v = res.signals["n"]["v"]
    t, tau, r_m = v.times, params["tau_m"], params["tau_m"] / params["cm"]
    on = r_m * 0.5 * (1 - np.exp(-np.clip(t - 10.0, 0, 20.0) / tau))
    expected = np.where(t <= 30.0, on, on * np.exp(-(t - 30.0) / tau))
    np.testing.assert_allclose(v.values[:, 1] - params["v_rest"], expected, atol=1e-9)
    assert np.all(v.values[:, 0] == params["v_rest"])


def test_recording_grid_and_final_state():
    params = cell(i_offset=0.1, v_thresh=0.0)
    pop = ir.Population("n", "IF_curr_exp", 1, params=params, record={"v": [0]},
                        record_interval=1.0)
    sim = Simulation(ir.Network(dt=DT, populations=(pop,)))
    a, b = sim.run(10.5), sim.run(5.0)
    np.testing.assert_allclose(a.signals["n"]["v"].times, np.arange(11.0), atol=1e-9)
    np.testing.assert_allclose(b.signals["n"]["v"].times, 10.5 + np.arange(5.0), atol=1e-9)
    # the next segment starts from final_state
    assert b.signals["n"]["v"].values[0, 0] == a.final_state["n"]["v"][0]
    r_m = params["tau_m"] / params["cm"]
    assert a.final_state["n"]["v"][0] == pytest.approx(
        params["v_rest"] + r_m * 0.1 * (1 - math.exp(-10.5 / params["tau_m"])), abs=1e-9)
    assert a.wall_time["build"] > 0 and b.wall_time["build"] == 0.0 and a.wall_time["run"] > 0


def test_bad_input_is_named():
    net = single_input_net("IF_curr_exp", BASE, 0.5)
    sim = Simulation(net)
    with pytest.raises(ValueError, match="duration"):
        sim.run(-1.0)
    with pytest.raises(ir.NetworkError, match=r"'post'.*'tau_x'"):
        sim.set_parameter("post", "tau_x", 1.0)
    with pytest.raises(ir.NetworkError, match=r"'post'.*'tau_m'.*neuron 0.*-1"):
        sim.set_parameter("post", "tau_m", -1.0)
    with pytest.raises(ir.NetworkError, match=r"'post'.*'v'.*1 values"):
        sim.set_state("post", "v", [1.0, 2.0])
    with pytest.raises(ir.NetworkError, match=r"'syn'.*synapse 0.*weight -1"):
        sim.set_synapses("syn", "weight", -1.0)
    with pytest.raises(ir.NetworkError, match=r"'syn'.*synapse 0 has delay 0.01 ms"):
        sim.set_synapses("syn", "delay", 0.01)
    with pytest.raises(ir.NetworkError, match="no projection labelled 'nope'"):
        sim.get_synapses("nope", "weight")
    with pytest.raises(ir.NetworkError, match=r"'p'.*'rate' of neuron 0 is 20000.0 Hz"):
        Simulation(poisson_net(1, rate=20000.0))
    with pytest.raises(TypeError, match="unexpected keyword argument 'substeps'"):
        Simulation(net, substeps=3)


# ---- scale ---------------------------------------------------------------------------------
def cuba_net(connectivity, n=4000, seed=9):
    """Vogels & Abbott (2005) CUBA: 80 % excitatory, fixed-probability recurrent synapses.
    i_offset = 0.11 nA puts the resting potential's fixed point at -49 mV, as the
    Brian2 CUBA example does with El = -49 mV, so the network is active."""
    rng = np.random.default_rng(seed)
    n_exc = int(0.8 * n)
    params = dict(cm=0.2, tau_m=20.0, tau_refrac=5.0, tau_syn_E=5.0, tau_syn_I=10.0,
                  v_rest=-60.0, v_reset=-60.0, v_thresh=-50.0, i_offset=0.11)
    pop = ir.Population("cuba", "IF_curr_exp", n, params=params,
                        initial={"v": rng.uniform(-60.0, -50.0, n)},
                        record={"spikes": np.arange(n)})
    prjs = []
    for label, lo, hi, receptor, w in (("exc", 0, n_exc, "excitatory", 0.27e-3 * 60),
                                       ("inh", n_exc, n, "inhibitory", -4.5e-3 * 20)):
        m = rng.binomial((hi - lo) * n, connectivity)
        prjs.append(ir.Projection(label, "cuba", "cuba", receptor, rng.integers(lo, hi, m),
                                  rng.integers(0, n, m), w, 0.1))
    return ir.Network(dt=DT, populations=(pop,), projections=tuple(prjs), seed=seed)


def test_large_sparse_cuba_network_runs_with_memory_linear_in_synapses():
    small, large = cuba_net(0.01), cuba_net(0.02)
    sim_small, sim_large = Simulation(small), Simulation(large)
    res = sim_large.run(100.0)
    assert 0 < len(res.spikes["cuba"]) < 4000 * 100 / 5     # active, bounded by refractoriness
    extra_bytes = sim_large.nbytes - sim_small.nbytes
    extra_synapses = large.n_synapses - small.n_synapses
    assert extra_synapses > 100_000
    assert extra_bytes / extra_synapses <= 64
    # a dense 4000 x 4000 matrix alone would be 128 MB
    assert sim_large.nbytes < 64 * large.n_synapses + 2048 * large.n_neurons


def test_compiled_kernel_is_cached_for_a_second_process():
    Simulation(single_input_net("IF_curr_exp", BASE, 0.5)).run(1.0)   # ensure the cache exists
    code = textwrap.dedent("""
        import numpy as np
        from neurohw import ir
        from neurohw.sim.reference import Simulation, kernel
        pop = ir.Population("n", "IF_curr_exp", 1, params=dict(
            cm=0.25, tau_m=20.0, tau_refrac=2.0, tau_syn_E=5.0, tau_syn_I=10.0, v_rest=-65.0,
            v_reset=-70.0, v_thresh=-50.0, i_offset=0.0))
        Simulation(ir.Network(dt=0.1, populations=(pop,))).run(1.0)
        print(len(kernel.run_steps.stats.cache_hits), len(kernel.run_steps.stats.cache_misses))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    hits, misses = map(int, out.stdout.split())
    assert hits >= 1 and misses == 0
