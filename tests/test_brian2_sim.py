"""The Brian2 backend on its own: closed-form dynamics, delays, refractoriness, STDP.

Every expected value here comes from the equations (PyNN's models, the IR's
time and STDP conventions), solved by hand or by scipy -- never from a run of
either simulator.
"""
import dataclasses
import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from neurohw import ir
from neurohw.sim.brian2 import Simulation

DT = 0.1
LIF = dict(cm=0.5, tau_m=20.0, tau_refrac=2.0, tau_syn_E=5.0, tau_syn_I=10.0,
           v_rest=-65.0, v_reset=-70.0, v_thresh=-50.0, i_offset=0.0)
NO_SPIKE = dict(LIF, v_thresh=1000.0)   # keeps the membrane subthreshold
# A "kicked" cell: a 5000 nA input through a 0.01 ms synapse moves v by ~50 mV within
# the step it arrives in, so the cell fires in exactly that step, and the current is
# gone (e^-10 per step) before it could fire again.
KICK = dict(LIF, cm=1.0, tau_syn_E=0.01, tau_refrac=0.0)
KICK_WEIGHT = 5000.0


def one_neuron(cell_type="IF_curr_exp", params=NO_SPIKE, initial=None, record=("v",),
               inputs=(), duration=50.0, currents=(), record_interval=None):
    """One neuron "n", optionally driven by a source "src" with (time, weight, delay) inputs."""
    pops = [ir.Population("n", cell_type, 1, params=params, initial=initial or {},
                          record={var: [0] for var in record}, record_interval=record_interval)]
    prjs = []
    if inputs:
        pops.append(ir.Population("src", "SpikeSourceArray", len(inputs),
                                  spike_times=tuple(np.array([t]) for t, _, _ in inputs)))
        for k, (_, weight, delay) in enumerate(inputs):
            receptor = "inhibitory" if weight < 0 else "excitatory"
            prjs.append(ir.Projection(f"in{k}", "src", "n", receptor, [k], [0], weight, delay))
    return ir.Network(dt=DT, populations=tuple(pops), projections=tuple(prjs),
                      currents=tuple(currents), duration=duration)


def free_response(t, v0, i_const, i_syn0, p, tau_s):
    """IF_curr_exp from v0 with a constant current and a synaptic current i_syn0 at t=0."""
    tm, c = p["tau_m"], p["cm"]
    u = ((v0 - p["v_rest"]) * np.exp(-t / tm) + i_const * tm / c * (1 - np.exp(-t / tm))
         + i_syn0 / c * tm * tau_s / (tm - tau_s) * (np.exp(-t / tm) - np.exp(-t / tau_s)))
    return p["v_rest"] + u


# ---- membrane dynamics against closed forms -----------------------------------------
def test_curr_exp_membrane_matches_closed_form():
    p = dict(NO_SPIKE, i_offset=0.3)
    net = one_neuron(params=p, initial={"v": -60.0, "isyn_exc": 0.8, "isyn_inh": -0.5},
                     record=("v", "isyn_exc", "isyn_inh"))
    res = Simulation(net, codegen_target="numpy").run(50.0)
    t = res.signals["n"]["v"].times
    expected = (free_response(t, -60.0, 0.3, 0.8, p, p["tau_syn_E"])
                + free_response(t, p["v_rest"], 0.0, -0.5, p, p["tau_syn_I"]) - p["v_rest"])
    # Brian2's exact integrator: only rounding error is left
    np.testing.assert_allclose(res.signals["n"]["v"].values[:, 0], expected, atol=1e-9)
    np.testing.assert_allclose(res.signals["n"]["isyn_exc"].values[:, 0],
                               0.8 * np.exp(-t / 5.0), rtol=1e-12)
    np.testing.assert_allclose(res.signals["n"]["isyn_inh"].values[:, 0],
                               -0.5 * np.exp(-t / 10.0), rtol=1e-12)
    assert res.final_state["n"]["v"][0] == pytest.approx(
        free_response(50.0, -60.0, 0.3, 0.8, p, 5.0)
        + free_response(50.0, -65.0, 0.0, -0.5, p, 10.0) + 65.0, abs=1e-9)


def test_equal_membrane_and_synaptic_time_constants_use_the_limit_form():
    # tau_m == tau_syn_E: the closed form becomes (I0/C) t e^{-t/tau}; Brian2's exact
    # solver would divide by zero here, so the backend must integrate otherwise.
    p = dict(NO_SPIKE, tau_syn_E=20.0)
    net = one_neuron(params=p, initial={"v": -65.0, "isyn_exc": 1.0})
    res = Simulation(net, codegen_target="numpy").run(60.0)
    t = res.signals["n"]["v"].times
    expected = -65.0 + 1.0 / p["cm"] * t * np.exp(-t / 20.0)
    np.testing.assert_allclose(res.signals["n"]["v"].values[:, 0], expected, atol=1e-7)


def test_curr_alpha_psp_matches_closed_form():
    w, t_in, delay = 0.7, 3.0, 1.5
    net = one_neuron("IF_curr_alpha", inputs=[(t_in, w, delay)], record=("v", "isyn_exc"))
    res = Simulation(net, codegen_target="numpy").run(60.0)
    t = res.signals["n"]["v"].times
    s = np.clip(t - (t_in + delay), 0.0, None)     # time since the input reached the cell
    tau_s, tau_m, c = NO_SPIKE["tau_syn_E"], NO_SPIKE["tau_m"], NO_SPIKE["cm"]
    # PyNN's alpha PSC peaks at w when s = tau_s
    np.testing.assert_allclose(res.signals["n"]["isyn_exc"].values[:, 0],
                               w * s / tau_s * np.exp(1 - s / tau_s), atol=1e-9)
    a = 1 / tau_s - 1 / tau_m
    psp = w * math.e / (c * tau_s) * np.exp(-s / tau_m) * (1 - (1 + a * s) * np.exp(-a * s)) / a**2
    np.testing.assert_allclose(res.signals["n"]["v"].values[:, 0], -65.0 + psp, atol=1e-7)
    peak = res.signals["n"]["isyn_exc"].values[:, 0].max()
    assert peak == pytest.approx(w, rel=1e-3)


def test_cond_exp_membrane_matches_an_accurate_ode_solution():
    p = dict(NO_SPIKE, e_rev_E=0.0, e_rev_I=-80.0, i_offset=0.1)
    net = one_neuron("IF_cond_exp", params=p,
                     initial={"v": -62.0, "gsyn_exc": 0.02, "gsyn_inh": 0.01},
                     record=("v", "gsyn_exc"))
    res = Simulation(net, codegen_target="numpy").run(40.0)
    t = res.signals["n"]["v"].times

    def rhs(time, y):
        g_e, g_i = 0.02 * np.exp(-time / 5.0), 0.01 * np.exp(-time / 10.0)
        v = y[0]
        return [(p["v_rest"] - v) / p["tau_m"]
                + (g_e * (0.0 - v) + g_i * (-80.0 - v) + 0.1) / p["cm"]]

    ode = solve_ivp(rhs, (0.0, t[-1]), [-62.0], t_eval=t, rtol=1e-12, atol=1e-12,
                    method="DOP853")
    np.testing.assert_allclose(res.signals["n"]["v"].values[:, 0], ode.y[0], atol=1e-6)
    # RK4 also integrates the decay: ~(dt/tau)^5/120 = 3e-11 relative per step
    np.testing.assert_allclose(res.signals["n"]["gsyn_exc"].values[:, 0],
                               0.02 * np.exp(-t / 5.0), rtol=1e-7)


def test_step_current_switches_on_and_off_at_its_times():
    cs = ir.StepCurrent("dc", "n", [0], times=[5.0, 25.0], amplitudes=[0.4, 0.0])
    net = one_neuron(currents=(cs,))
    res = Simulation(net, codegen_target="numpy").run(50.0)
    t = res.signals["n"]["v"].times
    tm, rm = NO_SPIKE["tau_m"], NO_SPIKE["tau_m"] / NO_SPIKE["cm"]
    on = np.clip(t - 5.0, 0.0, 20.0)
    expected = -65.0 + 0.4 * rm * (1 - np.exp(-on / tm)) * np.exp(-np.clip(t - 25.0, 0, None) / tm)
    np.testing.assert_allclose(res.signals["n"]["v"].values[:, 0], expected, atol=1e-9)


def test_step_current_ending_very_late_needs_no_memory_for_the_time_in_between():
    # PyNN's DCSource stops at 1e12 ms by default: a table over the time steps up to
    # there would need 1e13 entries (72 TiB); the waveform has only two change points.
    cs = ir.StepCurrent("dc", "n", [0], times=[5.0, 1e12], amplitudes=[0.4, 0.0])
    sim = Simulation(one_neuron(currents=(cs,)), codegen_target="numpy")
    first, second = sim.run(20.0), sim.run(30.0)      # the piece counter carries over runs
    t = np.concatenate([first.signals["n"]["v"].times, second.signals["n"]["v"].times])
    v = np.concatenate([first.signals["n"]["v"].values[:, 0],
                        second.signals["n"]["v"].values[:, 0]])
    tm, rm = NO_SPIKE["tau_m"], NO_SPIKE["tau_m"] / NO_SPIKE["cm"]
    expected = -65.0 + 0.4 * rm * (1 - np.exp(-np.clip(t - 5.0, 0.0, None) / tm))
    np.testing.assert_allclose(v, expected, atol=1e-9)


def test_step_currents_with_several_change_points_and_sources_add_up():
    a = ir.StepCurrent("a", "n", [0], times=[0.0, 10.0, 30.0], amplitudes=[0.2, -0.3, 0.0])
    b = ir.StepCurrent("b", "n", [0], times=[10.0, 20.0], amplitudes=[0.5, 0.1])
    net = one_neuron(currents=(a, b), record=("v",))
    res = Simulation(net, codegen_target="cython").run(50.0)
    t = res.signals["n"]["v"].times
    # the summed current is piecewise constant: 0.2, 0.2, -0.2, 0.1 on [0,10,20,30,inf)
    edges, totals = [0.0, 10.0, 20.0, 30.0], [0.2, 0.2, -0.2, 0.1]
    tm, rm = NO_SPIKE["tau_m"], NO_SPIKE["tau_m"] / NO_SPIKE["cm"]
    expected = np.full(t.shape, -65.0)
    for k, (edge, total) in enumerate(zip(edges, totals)):
        previous = totals[k - 1] if k else 0.0
        on = t > edge - 1e-9
        expected[on] += (total - previous) * rm * (1 - np.exp(-(t[on] - edge) / tm))
    np.testing.assert_allclose(res.signals["n"]["v"].values[:, 0], expected, atol=1e-9)


# ---- delays and spike timing ------------------------------------------------------------
@pytest.mark.parametrize("delay", [0.1, 0.7, 2.0])
def test_input_reaches_the_synaptic_variable_at_stamp_plus_delay(delay):
    t_in, w = 4.0, 0.6
    net = one_neuron(inputs=[(t_in, w, delay)], record=("isyn_exc",))
    res = Simulation(net, codegen_target="numpy").run(20.0)
    sig = res.signals["n"]["isyn_exc"]
    arrival = int(round((t_in + delay) / DT))
    assert np.all(sig.values[:arrival, 0] == 0.0)
    # right-continuous samples: the value at the arrival time includes the jump
    assert sig.values[arrival, 0] == pytest.approx(w, rel=1e-12)


def test_chain_of_delays_gives_the_ir_spike_stamps():
    """src -> a -> b with kicks strong enough to fire within the step they arrive in:
    a neuron spike is stamped at the end of that step, so every hop adds delay + dt."""
    d_in, d_ab = 0.5, 1.3
    net = ir.Network(dt=DT, populations=(
        ir.Population("src", "SpikeSourceArray", 1, spike_times=(np.array([2.0, 20.0]),),
                      record={"spikes": [0]}),
        ir.Population("a", "IF_curr_exp", 1, params=KICK, record={"spikes": [0]}),
        ir.Population("b", "IF_curr_exp", 1, params=KICK, record={"spikes": [0]})),
        projections=(ir.Projection("in", "src", "a", "excitatory", [0], [0], KICK_WEIGHT, d_in),
                     ir.Projection("ab", "a", "b", "excitatory", [0], [0], KICK_WEIGHT, d_ab)),
        duration=40.0)
    res = Simulation(net, codegen_target="numpy").run(40.0)
    np.testing.assert_allclose(res.spikes["src"].times, [2.0, 20.0])
    np.testing.assert_allclose(res.spikes["a"].times, [2.0 + d_in + DT, 20.0 + d_in + DT])
    np.testing.assert_allclose(res.spikes["b"].times,
                               [2.0 + d_in + DT + d_ab + DT, 20.0 + d_in + DT + d_ab + DT])


def test_dc_driven_spike_train_has_the_analytic_period_with_refractoriness():
    i_dc = 1.0
    p = dict(LIF, i_offset=i_dc, tau_refrac=3.0)
    net = one_neuron(params=p, initial={"v": p["v_reset"]}, record=("spikes", "v"))
    res = Simulation(net, codegen_target="numpy").run(200.0)
    r_in = p["tau_m"] / p["cm"]
    # time to climb from v_reset to v_thresh under the DC drive
    climb = p["tau_m"] * math.log((r_in * i_dc - (p["v_reset"] - p["v_rest"]))
                                  / (r_in * i_dc - (p["v_thresh"] - p["v_rest"])))
    climb_steps = math.ceil(climb / DT)
    assert climb / DT % 1 > 0.05, "parameters too close to a step boundary"
    refractory_steps = round(p["tau_refrac"] / DT)
    times = res.spikes["n"].times
    assert times[0] == pytest.approx(climb_steps * DT)
    np.testing.assert_allclose(np.diff(times), (climb_steps + refractory_steps) * DT)
    # clamped: v sits at v_reset for the refractory steps after each spike
    v = res.signals["n"]["v"]
    first = int(round(times[0] / DT))
    np.testing.assert_array_equal(v.values[first:first + refractory_steps + 1, 0], p["v_reset"])
    assert v.values[first + refractory_steps + 1, 0] > p["v_reset"]


# ---- STDP ---------------------------------------------------------------------------------
W_MAX, A_PLUS, A_MINUS, TAU_PLUS, TAU_MINUS = 1.0, 0.01, 0.012, 16.8, 33.7


def pairing_network(pre_times, post_drive_times, w0, dependence, fraction, delay,
                    pre_is_neuron=False, inhibitory=False, a_plus=A_PLUS):
    """A plastic synapse pre -> post; post is made to fire by kicks from "drive".

    With ``pre_is_neuron`` the presynaptic side is a neuron kicked by "pre_drive"
    (so its spikes come one hop later), otherwise a SpikeSourceArray.
    """
    stdp = ir.STDP(tau_plus=TAU_PLUS, tau_minus=TAU_MINUS, A_plus=a_plus, A_minus=A_MINUS,
                   # inhibitory: bounds on |w| are [0, W_MAX] either way
                   w_min=-W_MAX if inhibitory else 0.0, w_max=0.0 if inhibitory else W_MAX,
                   weight_dependence=dependence, dendritic_delay_fraction=fraction)
    pops = [ir.Population("drive", "SpikeSourceArray", 1,
                          spike_times=(np.asarray(post_drive_times, float),)),
            ir.Population("post", "IF_curr_exp", 1, params=KICK, record={"spikes": [0]})]
    prjs = [ir.Projection("kick", "drive", "post", "excitatory", [0], [0], KICK_WEIGHT, DT)]
    if pre_is_neuron:
        pops += [ir.Population("pre_drive", "SpikeSourceArray", 1,
                               spike_times=(np.asarray(pre_times, float),)),
                 ir.Population("pre", "IF_curr_exp", 1, params=KICK, record={"spikes": [0]})]
        prjs.append(ir.Projection("pre_kick", "pre_drive", "pre", "excitatory", [0], [0],
                                  KICK_WEIGHT, DT))
    else:
        pops.append(ir.Population("pre", "SpikeSourceArray", 1, record={"spikes": [0]},
                                  spike_times=(np.asarray(pre_times, float),)))
    sign = -1.0 if inhibitory else 1.0
    prjs.append(ir.Projection("plastic", "pre", "post",
                              "inhibitory" if inhibitory else "excitatory",
                              [0], [0], sign * w0, delay, plasticity=stdp))
    return ir.Network(dt=DT, populations=tuple(pops), projections=tuple(prjs))


def pair_rule(pre_at_synapse, post_at_synapse, w0, dependence):
    """ir.STDP's all-to-all pair rule, event by event in time order; at one instant post
    events come first and simultaneous pre/post spikes do not pair."""
    events = sorted([(t, 0) for t in post_at_synapse] + [(t, 1) for t in pre_at_synapse])
    w = w0
    for t, kind in events:
        if kind == 0:
            x = sum(math.exp(-(t - s) / TAU_PLUS) for s in pre_at_synapse if s < t)
            scale = W_MAX - w if dependence == "multiplicative" else W_MAX
            w = min(max(w + A_PLUS * scale * x, 0.0), W_MAX)
        else:
            y = sum(math.exp(-(t - s) / TAU_MINUS) for s in post_at_synapse if s < t)
            scale = w if dependence == "multiplicative" else W_MAX
            w = min(max(w - A_MINUS * scale * y, 0.0), W_MAX)
    return w


@pytest.mark.parametrize("dependence", ["additive", "multiplicative"])
@pytest.mark.parametrize("interval", [-12.3, -2.0, 3.1, 25.0])
def test_single_pair_weight_change_is_the_analytic_value(dependence, interval):
    w0, delay = 0.5, 1.0
    pre = 20.0
    # post spike stamp = drive + kick delay + one step; aim it at pre + delay + interval
    post = pre + delay + interval
    net = pairing_network([pre], [post - 2 * DT], w0, dependence, 0.0, delay)
    res = Simulation(net, codegen_target="numpy").run(120.0)
    np.testing.assert_allclose(res.spikes["post"].times, [post])
    # axonal delay: the pre spike is at the synapse at pre + delay
    if interval > 0:
        scale = W_MAX if dependence == "additive" else W_MAX - w0
        expected = w0 + A_PLUS * scale * math.exp(-interval / TAU_PLUS)
    else:
        scale = W_MAX if dependence == "additive" else w0
        expected = w0 - A_MINUS * scale * math.exp(interval / TAU_MINUS)
    assert res.weights["plastic"][0] == pytest.approx(expected, abs=1e-9)
    assert expected != pytest.approx(w0, abs=1e-6)


@pytest.mark.parametrize("dependence", ["additive", "multiplicative"])
@pytest.mark.parametrize("fraction", [0.0, 1.0])
@pytest.mark.parametrize("pre_is_neuron", [False, True])
def test_pair_train_matches_the_pair_rule(dependence, fraction, pre_is_neuron):
    delay = 1.5
    pre_drive = np.array([10.0, 40.0, 43.0, 80.0, 81.2, 150.0])
    post_drive = np.array([14.0, 36.0, 47.5, 79.0, 83.0, 150.0 - 2 * delay])
    net = pairing_network(pre_drive, post_drive, 0.4, dependence, fraction, delay,
                          pre_is_neuron=pre_is_neuron)
    res = Simulation(net, codegen_target="numpy").run(250.0)
    pre_stamps = res.spikes["pre"].times
    post_stamps = res.spikes["post"].times
    hop = 2 * DT   # kick delay + the step in which the kicked neuron fires
    np.testing.assert_allclose(pre_stamps, pre_drive + (hop if pre_is_neuron else 0.0))
    np.testing.assert_allclose(post_stamps, post_drive + hop)
    if fraction == 0.0:   # axonal: pre reaches the synapse after the delay
        pre_at, post_at = pre_stamps + delay, post_stamps
    else:                 # dendritic: post back-propagates to the synapse over the delay
        pre_at, post_at = pre_stamps, post_stamps + delay
    expected = pair_rule(np.round(pre_at, 9), np.round(post_at, 9), 0.4, dependence)
    assert res.weights["plastic"][0] == pytest.approx(expected, abs=1e-9)
    assert res.weights["plastic"][0] != pytest.approx(0.4, abs=1e-4)


def test_simultaneous_pre_and_post_at_the_synapse_do_not_pair():
    delay = 1.0
    # pre reaches the synapse at 20 + 1 = 21; the post spike is stamped 21 as well
    net = pairing_network([20.0], [21.0 - 2 * DT], 0.5, "additive", 0.0, delay)
    res = Simulation(net, codegen_target="numpy").run(60.0)
    np.testing.assert_allclose(res.spikes["post"].times, [21.0])
    assert res.weights["plastic"][0] == 0.5


def test_inhibitory_current_based_stdp_acts_on_the_magnitude():
    delay = 1.0
    net = pairing_network([20.0], [26.0 - 2 * DT], 0.5, "additive", 0.0, delay,
                          inhibitory=True)
    sim = Simulation(net, codegen_target="numpy")
    res = sim.run(60.0)
    expected = -(0.5 + A_PLUS * W_MAX * math.exp(-(26.0 - 21.0) / TAU_PLUS))
    assert res.weights["plastic"][0] == pytest.approx(expected, abs=1e-9)
    np.testing.assert_allclose(sim.get_synapses("plastic", "weight"), res.weights["plastic"])


def test_weights_stay_within_bounds_under_strong_potentiation():
    net = pairing_network(np.arange(10.0, 200.0, 10.0), np.arange(13.0, 203.0, 10.0), 0.9,
                          "additive", 0.0, 0.5, a_plus=0.5)
    res = Simulation(net, codegen_target="numpy").run(250.0)
    assert res.weights["plastic"][0] == W_MAX


# ---- interface behaviour ------------------------------------------------------------------
def small_random_network(seed=3):
    rng = np.random.default_rng(seed)
    n_src, n = 20, 30
    trains = tuple(np.unique(np.round(rng.uniform(0, 100, rng.integers(3, 12)), 1))
                   for _ in range(n_src))
    pre, post = np.nonzero(rng.random((n_src, n)) < 0.3)
    return ir.Network(dt=DT, populations=(
        ir.Population("src", "SpikeSourceArray", n_src, spike_times=trains,
                      record={"spikes": np.arange(n_src)}),
        ir.Population("n", "IF_curr_exp", n, params=dict(LIF, i_offset=0.3),
                      initial={"v": rng.uniform(-70, -52, n)},
                      record={"spikes": np.arange(n), "v": [0, 5, 7]}, record_interval=0.5)),
        projections=(ir.Projection("in", "src", "n", "excitatory", pre, post,
                                   rng.uniform(0.5, 1.5, pre.size),
                                   np.round(rng.uniform(0.1, 3.0, pre.size), 1)),),
        duration=100.0)


def test_synapses_are_set_and_read_in_connection_order():
    net = small_random_network()
    sim = Simulation(net, codegen_target="numpy")
    prj = net.projection("in")
    np.testing.assert_array_equal(sim.get_synapses("in", "weight"), prj.weight)
    np.testing.assert_allclose(sim.get_synapses("in", "delay"), prj.delay, atol=1e-12)
    # silence every synapse onto neuron 5 only: its v must then follow the free response
    silenced = np.where(prj.post_idx == 5, 0.0, prj.weight)
    sim.set_synapses("in", "weight", silenced)
    np.testing.assert_array_equal(sim.get_synapses("in", "weight"), silenced)
    res = sim.run(100.0)
    v5 = res.signals["n"]["v"].values[:, list(res.signals["n"]["v"].indices).index(5)]
    free = free_response(res.signals["n"]["v"].times, net.population("n").initial["v"][5],
                         0.3, 0.0, LIF, 5.0)
    spike_times_5 = res.spikes["n"].of(5)
    before_first_spike = res.signals["n"]["v"].times < (spike_times_5[0] if spike_times_5.size
                                                         else np.inf)
    np.testing.assert_allclose(v5[before_first_spike], free[before_first_spike], atol=1e-9)
    # the other recorded neurons do get input
    v0 = res.signals["n"]["v"].values[:, 0]
    free0 = free_response(res.signals["n"]["v"].times, net.population("n").initial["v"][0],
                          0.3, 0.0, LIF, 5.0)
    assert np.max(np.abs(v0 - free0)) > 0.1


def test_split_runs_equal_one_run_and_sample_on_the_interval_grid():
    net = small_random_network()
    whole = Simulation(net, codegen_target="numpy").run(100.0)
    sim = Simulation(net, codegen_target="numpy")
    parts = [sim.run(d) for d in (33.3, 0.4, 66.3)]
    assert sim.t == pytest.approx(100.0)
    np.testing.assert_allclose([(r.t_start, r.t_stop) for r in parts],
                               [(0.0, 33.3), (33.3, 33.7), (33.7, 100.0)], atol=1e-9)
    for pop in ("src", "n"):
        joined_t = np.concatenate([r.spikes[pop].times for r in parts])
        joined_i = np.concatenate([r.spikes[pop].index for r in parts])
        np.testing.assert_allclose(joined_t, whole.spikes[pop].times)
        np.testing.assert_array_equal(joined_i, whole.spikes[pop].index)
    whole_v = whole.signals["n"]["v"]
    np.testing.assert_allclose(whole_v.times, 0.5 * np.arange(200), atol=1e-9)
    for r in parts:
        sig = r.signals["n"]["v"]
        # samples at t_start + k*interval, for every such time in [t_start, t_stop)
        n_samples = math.ceil((r.t_stop - r.t_start) / 0.5 - 1e-9)
        np.testing.assert_allclose(sig.times, r.t_start + 0.5 * np.arange(n_samples), atol=1e-9)
        # where the split grid meets the whole run's grid, the values agree
        for k, t in enumerate(sig.times):
            match = np.flatnonzero(np.isclose(whole_v.times, t))
            if match.size:
                np.testing.assert_allclose(sig.values[k], whole_v.values[match[0]], atol=1e-9)
    np.testing.assert_allclose(parts[-1].final_state["n"]["v"], whole.final_state["n"]["v"],
                               atol=1e-9)


def test_variables_recorded_from_no_neuron_still_appear():
    net = ir.Network(dt=DT, populations=(
        ir.Population("n", "IF_curr_exp", 3, params=LIF, record={"spikes": [], "v": []},
                      record_interval=1.0),))
    res = Simulation(net, codegen_target="numpy").run(10.0)
    assert len(res.spikes["n"]) == 0
    assert res.signals["n"]["v"].values.shape == (10, 0)
    np.testing.assert_allclose(res.signals["n"]["v"].times, np.arange(10.0))


def test_set_state_and_parameter_between_runs_take_effect():
    net = one_neuron(params=dict(NO_SPIKE), record=("v",))
    sim = Simulation(net, codegen_target="numpy")
    sim.run(10.0)
    sim.set_state("n", "v", -55.0)
    sim.set_parameter("n", "i_offset", 0.2)
    res = sim.run(20.0)
    t = res.signals["n"]["v"].times - 10.0
    np.testing.assert_allclose(res.signals["n"]["v"].values[:, 0],
                               free_response(t, -55.0, 0.2, 0.0, NO_SPIKE, 5.0), atol=1e-9)


def test_poisson_source_rate_window_and_seed():
    net = ir.Network(dt=DT, populations=(
        ir.Population("p", "SpikeSourcePoisson", 500,
                      params=dict(rate=40.0, start=100.0, duration=500.0),
                      record={"spikes": np.arange(500)}),), duration=800.0, seed=11)
    a = Simulation(net, codegen_target="numpy").run(800.0)
    b = Simulation(net, codegen_target="numpy").run(800.0)
    np.testing.assert_array_equal(a.spikes["p"].times, b.spikes["p"].times)
    times = a.spikes["p"].times
    assert times.min() >= 100.0 and times.max() < 600.0
    expected = 500 * 40.0 * 0.5
    assert abs(times.size - expected) < 5 * math.sqrt(expected)
    other = Simulation(net, seed=12, codegen_target="numpy").run(800.0)
    assert not np.array_equal(other.spikes["p"].times, times)


def test_simulations_in_one_process_do_not_interfere():
    net = small_random_network()
    alone = Simulation(net, codegen_target="numpy").run(100.0)
    first, second = Simulation(net, codegen_target="numpy"), Simulation(
        small_random_network(seed=4), codegen_target="numpy")
    r1 = first.run(50.0)
    second.run(50.0)
    r2 = first.run(50.0)
    np.testing.assert_allclose(np.concatenate([r1.spikes["n"].times, r2.spikes["n"].times]),
                               alone.spikes["n"].times)


def test_random_streams_of_simulations_in_one_process_are_independent():
    def poisson(seed):
        return ir.Network(dt=DT, populations=(
            ir.Population("p", "SpikeSourcePoisson", 50, params=dict(rate=30.0, start=0.0,
                                                                      duration=1e9),
                          record={"spikes": np.arange(50)}),), seed=seed)
    alone = Simulation(poisson(1), codegen_target="numpy")
    expected = [alone.run(200.0).spikes["p"].times for _ in range(2)]
    first, other = (Simulation(poisson(1), codegen_target="numpy"),
                    Simulation(poisson(2), codegen_target="numpy"))
    got = [first.run(200.0).spikes["p"].times]
    other.run(200.0)
    np.random.random(10)           # user code drawing from numpy's global generator
    got.append(first.run(200.0).spikes["p"].times)
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(e, g)


def test_spike_times_can_be_replaced_between_runs():
    net = one_neuron(inputs=[(2.0, 0.5, 1.0)], record=("isyn_exc",))
    sim = Simulation(net, codegen_target="numpy")
    sim.run(10.0)
    sim.set_parameter("src", "spike_times", [np.array([5.0, 14.0])])  # 5.0 is in the past
    res = sim.run(20.0)
    isyn = res.signals["n"]["isyn_exc"].values[:, 0]
    t = res.signals["n"]["isyn_exc"].times
    expected = (0.5 * np.exp(-(t - 3.0) / 5.0)
                + np.where(t >= 15.0, 0.5 * np.exp(-(t - 15.0) / 5.0), 0.0))
    np.testing.assert_allclose(isyn, expected, rtol=1e-9)


def test_cython_and_numpy_targets_agree():
    net = small_random_network()
    a = Simulation(net, codegen_target="numpy").run(100.0)
    b = Simulation(net, codegen_target="cython").run(100.0)
    np.testing.assert_allclose(a.spikes["n"].times, b.spikes["n"].times)
    np.testing.assert_allclose(a.signals["n"]["v"].values, b.signals["n"]["v"].values, atol=1e-9)
    assert "cython" in b.backend


@pytest.mark.slow
def test_standalone_matches_runtime_and_runs_once():
    net = pairing_network([10.0, 40.0], [14.0, 36.0], 0.4, "multiplicative", 0.0, 1.0)
    runtime = Simulation(net, codegen_target="numpy").run(80.0)
    sim = Simulation(net, standalone=True)
    standalone = sim.run(80.0)
    np.testing.assert_allclose(standalone.spikes["post"].times, runtime.spikes["post"].times)
    assert standalone.weights["plastic"][0] == pytest.approx(runtime.weights["plastic"][0],
                                                             abs=1e-12)
    assert standalone.wall_time["build"] > 0 and "cpp_standalone" in standalone.backend
    with pytest.raises(RuntimeError, match="runs once"):
        sim.run(10.0)
    # the process is back on the runtime device: a runtime Simulation still works
    again = Simulation(net, codegen_target="numpy").run(80.0)
    np.testing.assert_allclose(again.spikes["post"].times, runtime.spikes["post"].times)


# ---- errors ------------------------------------------------------------------------------
def test_bad_input_is_reported_with_names_and_values():
    net = small_random_network()
    sim = Simulation(net, codegen_target="numpy")
    with pytest.raises(ir.NetworkError, match=r"population 'n'.*'tau_m'.*neuron 3.*-1"):
        sim.set_parameter("n", "tau_m", np.where(np.arange(30) == 3, -1.0, 20.0))
    with pytest.raises(ir.NetworkError, match="no parameter 'tau'"):
        sim.set_parameter("n", "tau", 1.0)
    with pytest.raises(ir.NetworkError, match="no state variable 'gsyn_exc'"):
        sim.set_state("n", "gsyn_exc", 0.0)
    with pytest.raises(ir.NetworkError, match="'ghost'"):
        sim.set_state("ghost", "v", 0.0)
    with pytest.raises(ir.NetworkError, match=r"synapse 2 .*weight -1"):
        sim.set_synapses("in", "weight", np.where(np.arange(net.projection("in").size) == 2,
                                                  -1.0, 1.0))
    with pytest.raises(ValueError, match="finite number >= 0 ms, got -1.0"):
        sim.run(-1.0)
    with pytest.raises(ValueError, match="got nan"):
        sim.run(float("nan"))
    with pytest.raises(ValueError, match="codegen_target"):
        Simulation(net, codegen_target="gpu")


def test_poisson_rate_above_one_spike_per_step_is_refused():
    net = ir.Network(dt=DT, populations=(
        ir.Population("p", "SpikeSourcePoisson", 3,
                      params=dict(rate=[10.0, 20000.0, 5.0], start=0.0, duration=10.0)),))
    with pytest.raises(ir.NetworkError, match=r"'p'.*'rate' of neuron 1 is 20000.0 Hz"):
        Simulation(net, codegen_target="numpy")


def test_parameter_change_the_exact_integrator_cannot_take_is_refused():
    sim = Simulation(one_neuron(), codegen_target="numpy")
    sim.run(1.0)      # built now, with Brian2's exact integrator
    with pytest.raises(ir.NetworkError, match=r"'n'.*neuron 0.*tau_m == tau_syn_E"):
        sim.set_parameter("n", "tau_syn_E", NO_SPIKE["tau_m"])
    # refused as a whole: the network still holds the old value
    assert sim.network.population("n").params["tau_syn_E"][0] == NO_SPIKE["tau_syn_E"]
    # before the first run the integrator is still to be chosen: accepted
    fresh = Simulation(one_neuron(initial={"isyn_exc": 1.0}), codegen_target="numpy")
    fresh.set_parameter("n", "tau_syn_E", NO_SPIKE["tau_m"])
    v = fresh.run(30.0).signals["n"]["v"]
    np.testing.assert_allclose(v.values[:, 0], -65.0 + v.times * np.exp(-v.times / 20.0)
                               / NO_SPIKE["cm"], atol=1e-7)


def test_two_spikes_of_one_source_in_one_step_are_refused_clearly():
    net = one_neuron(inputs=[(1.0, 0.1, 1.0)])
    src = net.population("src")
    twice = dataclasses.replace(src, spike_times=(np.array([1.0, 1.02]),))
    net = dataclasses.replace(net, populations=(net.populations[0], twice))
    with pytest.raises(ir.NetworkError, match=r"'src'.*spike_times\[0\].*1\.0 and 1\.02"):
        Simulation(net, codegen_target="numpy")
