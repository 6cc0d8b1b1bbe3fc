"""The reference simulator and the Brian2 backend agree on the same IR network.

The two are independent implementations (numba exact propagators vs. Brian2's
generated code and integrators), so agreement checks both against the IR's
conventions.  Deterministic networks must give the same spikes within one
time step; the chaotic CUBA network the same population rates within 5 %; a
pairing protocol the same learned weights as the analytic pair rule.
"""
import math

import numpy as np
import pytest

from neurohw import ir
from neurohw.examples.cuba import build_network
from neurohw.sim.brian2 import Simulation as Brian2Simulation
from neurohw.sim.reference import Simulation as ReferenceSimulation

DT = 0.1
LIF = dict(cm=0.25, tau_m=20.0, tau_refrac=2.0, tau_syn_E=5.0, tau_syn_I=10.0,
           v_rest=-65.0, v_reset=-70.0, v_thresh=-50.0, i_offset=0.0)
COND = dict(LIF, e_rev_E=0.0, e_rev_I=-80.0)


def run_both(net, duration, **brian2_options):
    brian2_options.setdefault("codegen_target", "numpy")
    reference = ReferenceSimulation(net).run(duration)
    brian2 = Brian2Simulation(net, **brian2_options).run(duration)
    return reference, brian2


def assert_same_spikes(reference, brian2, label, min_spikes=1):
    """Every neuron fires as often in both runs, each spike within one time step."""
    a, b = reference.spikes[label], brian2.spikes[label]
    assert len(a) >= min_spikes, f"'{label}' fired only {len(a)} spikes: the test is too weak"
    neurons = np.union1d(a.index, b.index)
    for i in neurons:
        ta, tb = a.of(i), b.of(i)
        assert ta.size == tb.size, (f"'{label}' neuron {i}: {ta.size} spikes in the reference, "
                                    f"{tb.size} in Brian2\n{ta}\n{tb}")
        worst = np.max(np.abs(ta - tb)) if ta.size else 0.0
        assert worst <= DT + 1e-9, f"'{label}' neuron {i}: spikes {worst} ms apart"


# ---- deterministic networks ----------------------------------------------------------
@pytest.mark.parametrize("cell_type", ["IF_curr_exp", "IF_curr_alpha", "IF_cond_exp"])
def test_dc_driven_neurons_with_refractoriness(cell_type):
    n = 12
    params = dict(COND if cell_type == "IF_cond_exp" else LIF,
                  i_offset=np.linspace(0.8, 2.5, n),
                  tau_refrac=np.tile([0.0, 2.0, 5.0, 0.3], n // 4))
    net = ir.Network(dt=DT, populations=(
        ir.Population("n", cell_type, n, params=params,
                      initial={"v": np.linspace(-70.0, -51.0, n)},
                      record={"spikes": np.arange(n), "v": [0, n - 1]}),), duration=300.0)
    reference, brian2 = run_both(net, 300.0)
    assert_same_spikes(reference, brian2, "n", min_spikes=100)
    np.testing.assert_allclose(brian2.signals["n"]["v"].values,
                               reference.signals["n"]["v"].values, atol=1e-4)


def layered_network(seed=5, quiet=None):
    """SpikeSourceArray -> A (curr_exp) -> B (curr_alpha) and C (cond_exp), with
    excitatory and inhibitory projections and heterogeneous delays.  ``quiet``:
    a (start, stop) window in which the sources do not fire."""
    rng = np.random.default_rng(seed)
    n_src, n_a, n_b, n_c = 16, 24, 16, 16
    trains = tuple(np.unique(np.round(rng.uniform(1.0, 280.0, rng.integers(8, 20)), 1))
                   for _ in range(n_src))
    if quiet is not None:
        trains = tuple(t[(t < quiet[0]) | (t >= quiet[1])] for t in trains)

    def connect(label, pre, post, n_pre, n_post, p, w_low, w_high, receptor, d_max=4.0):
        i, j = np.nonzero(rng.random((n_pre, n_post)) < p)
        weight = rng.uniform(w_low, w_high, i.size)
        delay = np.round(rng.uniform(DT, d_max, i.size), 1)
        return ir.Projection(label, pre, post, receptor, i, j, weight, delay)

    record = lambda n: {"spikes": np.arange(n), "v": [0, 1]}  # noqa: E731
    pops = (
        ir.Population("src", "SpikeSourceArray", n_src, spike_times=trains,
                      record={"spikes": np.arange(n_src)}),
        ir.Population("A", "IF_curr_exp", n_a, params=dict(LIF, i_offset=0.2),
                      initial={"v": rng.uniform(-70, -55, n_a)}, record=record(n_a)),
        ir.Population("B", "IF_curr_alpha", n_b, params=dict(LIF, tau_refrac=3.0),
                      initial={"v": rng.uniform(-70, -55, n_b)}, record=record(n_b)),
        ir.Population("C", "IF_cond_exp", n_c, params=dict(COND, tau_refrac=1.0),
                      initial={"v": rng.uniform(-70, -55, n_c)}, record=record(n_c)),
    )
    prjs = (
        connect("src_A", "src", "A", n_src, n_a, 0.4, 0.6, 1.6, "excitatory"),
        connect("A_A", "A", "A", n_a, n_a, 0.1, -0.8, -0.2, "inhibitory"),
        connect("A_B", "A", "B", n_a, n_b, 0.3, 0.3, 1.0, "excitatory"),
        connect("src_B", "src", "B", n_src, n_b, 0.2, -0.6, -0.1, "inhibitory"),
        connect("A_C", "A", "C", n_a, n_c, 0.3, 0.01, 0.04, "excitatory"),
        connect("B_C", "B", "C", n_b, n_c, 0.2, 0.005, 0.03, "inhibitory"),
    )
    return ir.Network(dt=DT, populations=pops, projections=prjs, duration=300.0, seed=seed)


def test_spike_driven_layers_with_delays_inhibition_alpha_and_conductances():
    net = layered_network()
    reference, brian2 = run_both(net, 300.0)
    np.testing.assert_allclose(brian2.spikes["src"].times, reference.spikes["src"].times)
    for label in ("A", "B", "C"):
        assert_same_spikes(reference, brian2, label, min_spikes=20)


def test_chain_with_delays_gives_identical_stamps():
    """A relay chain of kicked neurons: each hop is delay + one step, in both."""
    kick = dict(LIF, cm=1.0, tau_syn_E=0.01, tau_refrac=0.0)
    n = 6
    delays = [0.1, 0.4, 1.0, 2.3, 0.7]
    prjs = tuple(ir.Projection(f"hop{k}", "chain", "chain", "excitatory", [k], [k + 1],
                               5000.0, d) for k, d in enumerate(delays))
    net = ir.Network(dt=DT, populations=(
        ir.Population("src", "SpikeSourceArray", 1, spike_times=(np.array([0.0, 30.0]),)),
        ir.Population("chain", "IF_curr_exp", n, params=kick, record={"spikes": np.arange(n)})),
        projections=(ir.Projection("in", "src", "chain", "excitatory", [0], [0], 5000.0, 0.3),)
        + prjs, duration=60.0)
    reference, brian2 = run_both(net, 60.0)
    expected = []
    for start in (0.0, 30.0):
        t = start + 0.3 + DT
        expected.append((0, t))
        for k, d in enumerate(delays):
            t += d + DT
            expected.append((k + 1, t))
    for res in (reference, brian2):
        got = sorted(zip(res.spikes["chain"].index, np.round(res.spikes["chain"].times, 9)))
        assert got == sorted((i, round(t, 9)) for i, t in expected)


def test_split_runs_and_state_changes_agree():
    # The sources are silent for the longest delay before the split, so that no
    # spike of "src_A" is in flight when its weights change: Brian2 reads a weight
    # when a spike is delivered, the reference when it is sent.
    net = layered_network(seed=8, quiet=(120.0 - 4.0, 120.0))
    reference, brian2 = ReferenceSimulation(net), Brian2Simulation(net, codegen_target="numpy")
    for sim in (reference, brian2):
        sim.run(120.0)
        sim.set_state("A", "v", -52.0)
        sim.set_parameter("B", "i_offset", 0.15)
        sim.set_synapses("src_A", "weight", net.projection("src_A").weight * 1.5)
    second_ref, second_b2 = reference.run(180.0), brian2.run(180.0)
    for label in ("A", "B", "C"):
        assert_same_spikes(second_ref, second_b2, label, min_spikes=10)


def test_poisson_driven_population_rates_agree():
    """Poisson streams differ between the simulators, so only rates can agree: 600
    cells, each driven by its own 250 Hz source active for [100, 900) ms."""
    n = 600
    net = ir.Network(dt=DT, populations=(
        ir.Population("poisson", "SpikeSourcePoisson", n,
                      params=dict(rate=250.0, start=100.0, duration=800.0),
                      record={"spikes": np.arange(n)}),
        ir.Population("n", "IF_curr_exp", n, params=LIF, record={"spikes": np.arange(n)})),
        projections=(ir.Projection("drive", "poisson", "n", "excitatory", np.arange(n),
                                   np.arange(n), 0.5, 1.0),),
        duration=1000.0, seed=21)
    reference, brian2 = run_both(net, 1000.0)
    expected_inputs = n * 250.0 * 0.8
    for res in (reference, brian2):
        times = res.spikes["poisson"].times
        assert times.min() >= 100.0 and times.max() < 900.0
        assert abs(times.size - expected_inputs) < 5 * math.sqrt(expected_inputs)
    count_ref, count_b2 = len(reference.spikes["n"]), len(brian2.spikes["n"])
    assert count_ref > 3000, "the driven cells barely fire: the test is too weak"
    # a sum over 600 independently driven cells: its relative noise is of order
    # 1/sqrt(count) ~ 0.5 %, so 2 % is about four standard deviations
    assert abs(count_b2 - count_ref) <= 0.02 * count_ref, (count_ref, count_b2)


# ---- the CUBA benchmark ----------------------------------------------------------------
@pytest.mark.slow
def test_cuba_population_rates_agree():
    net = build_network(duration=1000.0)
    reference, brian2 = run_both(net, 1000.0, codegen_target="cython")
    for label in ("excitatory", "inhibitory"):
        size = net.population(label).size
        rate_ref = len(reference.spikes[label]) / size      # spikes per neuron in 1 s = Hz
        rate_b2 = len(brian2.spikes[label]) / size
        assert rate_ref > 1.0, f"{label}: {rate_ref} Hz, the network is not active"
        assert abs(rate_b2 - rate_ref) <= 0.05 * rate_ref, (label, rate_ref, rate_b2)


# ---- STDP: a pairing protocol --------------------------------------------------------------
W_MAX, A_PLUS, A_MINUS, TAU_PLUS, TAU_MINUS = 1.0, 0.005, 0.006, 20.0, 25.0
# post minus pre spike time at the synapse, ms
INTERVALS = np.array([-40.0, -17.3, -6.0, -1.5, 0.8, 4.2, 11.0, 30.0])
N_PAIRS, PERIOD, DELAY = 12, 150.0, 1.2


def pairing_protocol(dependence, fraction):
    """Synapse k pairs pre and post spikes at INTERVALS[k] (measured at the synapse),
    N_PAIRS times, PERIOD ms apart.  Post cells are made to fire by kicks."""
    n = INTERVALS.size
    kick = dict(LIF, cm=1.0, tau_syn_E=0.01, tau_refrac=0.0)
    # the first pair starts late enough for a leading post spike (interval -40 ms,
    # and 2*DELAY earlier with a dendritic delay) to have a time >= 0
    pair_starts = 60.0 + PERIOD * np.arange(N_PAIRS)
    pre_trains = tuple(pair_starts.copy() for _ in range(n))
    # synapse time of pre: t_pre + d (axonal) or t_pre (dendritic); of post: t_post or
    # t_post + d.  Either way post stamp = pre stamp + interval + d*(1 - 2*fraction).
    post_stamps = [pair_starts + dt_k + DELAY * (1 - 2 * fraction) for dt_k in INTERVALS]
    drive = tuple(s - 2 * DT for s in post_stamps)   # kick delay + the firing step
    stdp = ir.STDP(tau_plus=TAU_PLUS, tau_minus=TAU_MINUS, A_plus=A_PLUS, A_minus=A_MINUS,
                   w_min=0.0, w_max=W_MAX, weight_dependence=dependence,
                   dendritic_delay_fraction=fraction)
    net = ir.Network(dt=DT, populations=(
        ir.Population("pre", "SpikeSourceArray", n, spike_times=pre_trains,
                      record={"spikes": np.arange(n)}),
        ir.Population("drive", "SpikeSourceArray", n, spike_times=drive),
        ir.Population("post", "IF_curr_exp", n, params=kick, record={"spikes": np.arange(n)})),
        projections=(
            ir.Projection("kick", "drive", "post", "excitatory", np.arange(n), np.arange(n),
                          5000.0, DT),
            ir.Projection("plastic", "pre", "post", "excitatory", np.arange(n), np.arange(n),
                          0.5, DELAY, plasticity=stdp)),
        duration=60.0 + PERIOD * N_PAIRS)
    return net, post_stamps


def analytic_weight(pre_at_synapse, post_at_synapse, w0, dependence):
    """ir.STDP's all-to-all pair rule event by event; at one instant post events come
    first and spikes at the same instant do not pair."""
    events = sorted([(t, 0) for t in post_at_synapse] + [(t, 1) for t in pre_at_synapse])
    w = w0
    for t, is_pre in events:
        if not is_pre:
            x = sum(math.exp(-(t - s) / TAU_PLUS) for s in pre_at_synapse if s < t)
            w += A_PLUS * (W_MAX - w if dependence == "multiplicative" else W_MAX) * x
        else:
            y = sum(math.exp(-(t - s) / TAU_MINUS) for s in post_at_synapse if s < t)
            w -= A_MINUS * (w if dependence == "multiplicative" else W_MAX) * y
        w = min(max(w, 0.0), W_MAX)
    return w


@pytest.mark.parametrize("dependence", ["additive", "multiplicative"])
@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_pairing_protocol_weights_match_the_pair_rule_in_both(dependence, fraction):
    net, post_stamps = pairing_protocol(dependence, fraction)
    duration = net.duration
    reference, brian2 = run_both(net, duration)
    expected = []
    for k, dt_k in enumerate(INTERVALS):
        pre = net.population("pre").spike_times[k]
        post = post_stamps[k]
        if fraction == 0.0:
            pre_at, post_at = pre + DELAY, post
        else:
            pre_at, post_at = pre, post + DELAY
        expected.append(analytic_weight(np.round(pre_at, 9), np.round(post_at, 9), 0.5,
                                        dependence))
    expected = np.array(expected)
    for res in (reference, brian2):
        np.testing.assert_allclose(res.spikes["post"].times,
                                   np.sort(np.concatenate(post_stamps)), atol=1e-9)
        np.testing.assert_allclose(res.weights["plastic"], expected, atol=1e-6)
    # potentiation where post follows pre, depression where it leads
    assert np.all((expected > 0.5) == (INTERVALS > 0))
