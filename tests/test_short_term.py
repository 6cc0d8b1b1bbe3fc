"""Tsodyks-Markram short-term plasticity (ir.TsodyksMarkram) in both software simulators.

The expected PSC amplitudes come from the recursion of NEST's tsodyks2_synapse
(Tsodyks, Uziel & Markram 2000; Fuhrmann et al. 2002), evaluated here in plain
Python, never from a simulator run:
  A_n = w u_n x_n,  u_1 = U, x_1 = 1,
  u_{n+1} = U + u_n (1 - U) e^{-h/tau_facil}   (U when tau_facil = 0),
  x_{n+1} = 1 + (x_n (1 - u_n) - 1) e^{-h/tau_rec}.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from neurohw import ir
from neurohw.sim.brian2 import Simulation as Brian2Simulation
from neurohw.sim.reference import Simulation as ReferenceSimulation

DT = 0.1
TAU_SYN = 5.0
CELL = dict(cm=0.25, tau_m=20.0, tau_refrac=2.0, tau_syn_E=TAU_SYN, tau_syn_I=10.0,
            v_rest=-65.0, v_reset=-70.0, v_thresh=1000.0, i_offset=0.0)
WEIGHT = 0.7
DELAY = 1.5
FIRST_SPIKE = 5.0

SIMULATORS = {
    "reference": lambda net: ReferenceSimulation(net, seed=1),
    "brian2": lambda net: Brian2Simulation(net, seed=1, codegen_target="numpy"),
}

# (U, tau_rec, tau_facil, inter-spike interval)
DEPRESSING = (0.5, 200.0, 0.0, 20.0)
FACILITATING = (0.1, 50.0, 500.0, 10.0)


def expected_amplitudes(U, tau_rec, tau_facil, interval, n_spikes, weight=WEIGHT):
    amplitudes, u, x = [], U, 1.0
    for _ in range(n_spikes):
        amplitudes.append(weight * u * x)
        x = 1.0 + (x * (1.0 - u) - 1.0) * math.exp(-interval / tau_rec)
        u = U + u * (1.0 - U) * (math.exp(-interval / tau_facil) if tau_facil > 0 else 0.0)
    return amplitudes


def train_net(U, tau_rec, tau_facil, interval, n_spikes):
    times = FIRST_SPIKE + interval * np.arange(n_spikes)
    src = ir.Population("src", "SpikeSourceArray", 1, spike_times=(times,))
    post = ir.Population("post", "IF_curr_exp", 1, params=CELL, record={"isyn_exc": [0]})
    short_term = ir.TsodyksMarkram(U=[U], tau_rec=[tau_rec], tau_facil=[tau_facil])
    prj = ir.Projection("tm", "src", "post", "excitatory", [0], [0], [WEIGHT], [DELAY],
                        short_term=short_term)
    return ir.Network(dt=DT, populations=(src, post), projections=(prj,)), times + DELAY


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("params", [DEPRESSING, FACILITATING],
                         ids=["depression", "facilitation"])
def test_psc_amplitudes_follow_the_tsodyks_markram_recursion(simulator, params):
    n_spikes = 12
    net, arrivals = train_net(*params, n_spikes)
    result = SIMULATORS[simulator](net).run(arrivals[-1] + 5.0)
    signal = result.signals["post"]["isyn_exc"]
    current = signal.values[:, 0]
    step = np.rint(signal.times / DT).astype(int)
    at = {s: c for s, c in zip(step, current)}
    decay = math.exp(-DT / TAU_SYN)
    # samples are right-continuous: the one at an arrival includes its jump
    measured = [at[a] - at[a - 1] * decay for a in np.rint(arrivals / DT).astype(int)]
    expected = expected_amplitudes(*params, n_spikes)
    np.testing.assert_allclose(measured, expected, rtol=1e-9, atol=0)
    # the parameter sets do what they are named for
    if params is DEPRESSING:
        assert expected[-1] < 0.6 * expected[0]
    else:
        assert expected[-1] > 1.5 * expected[0]


def random_tm_network(seed=3, n_pre=30, n_post=20, n_syn=300):
    rng = np.random.default_rng(seed)
    # array sources: each simulator draws Poisson spikes from its own random stream
    trains = tuple(np.unique(np.rint(rng.uniform(0.0, 300.0, rng.poisson(12)) / DT)) * DT
                   for _ in range(n_pre))
    drive = ir.Population("drive", "SpikeSourceArray", n_pre, spike_times=trains)
    cells = ir.Population("cells", "IF_curr_exp", n_post, params=dict(CELL, v_thresh=-55.0),
                          record={"spikes": np.arange(n_post), "v": [0, 1]})
    pre, post = rng.integers(0, n_pre, n_syn), rng.integers(0, n_post, n_syn)
    tm = ir.TsodyksMarkram(U=rng.uniform(0.05, 0.9, n_syn),
                           tau_rec=rng.uniform(20.0, 500.0, n_syn),
                           tau_facil=np.where(rng.random(n_syn) < 0.3, 0.0,
                                              rng.uniform(10.0, 800.0, n_syn)))
    feedforward = ir.Projection("drive", "drive", "cells", "excitatory", pre, post,
                          rng.uniform(0.2, 1.2, n_syn), np.rint(rng.uniform(1, 5, n_syn)) * DT,
                          short_term=tm)
    rec_pre, rec_post = rng.integers(0, n_post, 60), rng.integers(0, n_post, 60)
    recurrent = ir.Projection(
        "recurrent", "cells", "cells", "inhibitory", rec_pre, rec_post,
        -rng.uniform(0.1, 0.5, 60), np.rint(rng.uniform(10, 30, 60)) * DT,
        short_term=ir.TsodyksMarkram(U=rng.uniform(0.1, 0.6, 60),
                                     tau_rec=rng.uniform(50.0, 300.0, 60),
                                     tau_facil=rng.uniform(0.0, 300.0, 60)))
    return ir.Network(dt=DT, populations=(drive, cells), projections=(feedforward, recurrent),
                      seed=seed)


def test_reference_and_brian2_agree_on_a_random_network_with_heterogeneous_parameters():
    net = random_tm_network()
    runs = {name: make(net).run(300.0) for name, make in SIMULATORS.items()}
    ref, b2 = runs["reference"].spikes["cells"], runs["brian2"].spikes["cells"]
    assert ref.times.size > 50      # the network is active enough to test something
    np.testing.assert_array_equal(np.rint(ref.times / DT), np.rint(b2.times / DT))
    np.testing.assert_array_equal(ref.index, b2.index)
    np.testing.assert_allclose(runs["reference"].signals["cells"]["v"].values,
                               runs["brian2"].signals["cells"]["v"].values, atol=1e-6)


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_parameters_set_between_runs_take_effect(simulator):
    U, tau_rec, tau_facil, interval = DEPRESSING
    net, arrivals = train_net(U, tau_rec, tau_facil, interval, 2)
    sim = SIMULATORS[simulator](net)
    sim.set_synapses("tm", "U", [0.25])
    sim.set_synapses("tm", "tau_rec", [40.0])
    np.testing.assert_array_equal(sim.get_synapses("tm", "U"), [0.25])
    np.testing.assert_array_equal(sim.get_synapses("tm", "tau_rec"), [40.0])
    result = sim.run(arrivals[-1] + 1.0)
    current = result.signals["post"]["isyn_exc"].values[:, 0]
    a0, a1 = np.rint(arrivals / DT).astype(int)
    measured = [current[a0] - current[a0 - 1] * math.exp(-DT / TAU_SYN),
                current[a1] - current[a1 - 1] * math.exp(-DT / TAU_SYN)]
    np.testing.assert_allclose(measured, expected_amplitudes(0.25, 40.0, 0.0, interval, 2),
                               rtol=1e-9)
    with pytest.raises(ir.NetworkError, match="projection 'tm'.*'U'.*synapse 0 has 1.5"):
        sim.set_synapses("tm", "U", [1.5])


@pytest.mark.parametrize("name, values, message", [
    ("U", [0.5, 0.0, 0.5], r"'U' must be finite and 0 < U <= 1; synapse 1 has 0.0"),
    ("U", [0.5, 0.5, 1.2], r"'U' must be finite and 0 < U <= 1; synapse 2 has 1.2"),
    ("tau_rec", [10.0, -1.0, 10.0], r"'tau_rec' must be finite and > 0 ms; synapse 1 has -1.0"),
    ("tau_facil", [-2.0, 0.0, 0.0], r"'tau_facil' must be finite and >= 0 ms; synapse 0"),
    ("tau_rec", [10.0, 10.0], r"'tau_rec' has 2 entries, expected 3"),
])
def test_invalid_parameters_name_the_projection_parameter_and_synapse(name, values, message):
    good = dict(U=[0.5] * 3, tau_rec=[10.0] * 3, tau_facil=[0.0] * 3)
    tm = ir.TsodyksMarkram(**{**good, name: values})
    with pytest.raises(ir.NetworkError, match=r"projection 'bad' \(a -> b\): Tsodyks-Markram "
                                              + message):
        ir.Projection("bad", "a", "b", "excitatory", [0, 1, 2], [0, 0, 0], 1.0, 1.0,
                      short_term=tm)


def test_stdp_and_short_term_plasticity_together_are_rejected():
    tm = ir.TsodyksMarkram(U=[0.5], tau_rec=[10.0], tau_facil=[0.0])
    with pytest.raises(ir.NetworkError, match="projection 'both'.*both STDP and Tsodyks"):
        ir.Projection("both", "a", "b", "excitatory", [0], [0], 0.5, 1.0,
                      plasticity=ir.STDP(), short_term=tm)


@pytest.mark.parametrize("target, options", [("reference", {}),
                                             ("brian2", {"codegen_target": "numpy"})])
def test_pynn_parameters_set_between_runs_reach_the_running_simulation(target, options):
    import neurohw.pynn as sim
    sim.setup(timestep=DT, target=target, **options)
    try:
        src = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0, 25.0]))
        post = sim.Population(1, sim.IF_curr_exp(**CELL))
        post.record("isyn_exc")
        prj = sim.Projection(src, post, sim.AllToAllConnector(),
                             sim.TsodyksMarkramSynapse(weight=WEIGHT, delay=DELAY, U=0.5,
                                                       tau_rec=200.0, tau_facil=0.0))
        sim.run(20.0)
        prj.set(U=0.25, tau_rec=40.0)
        assert prj.get(["U", "tau_rec", "tau_facil"], format="list") == [(0, 0, 0.25, 40.0, 0.0)]
        sim.run(20.0)
        current = post.get_data().segments[0].filter(name="isyn_exc")[0].magnitude[:, 0]
    finally:
        sim.end()
    arrivals = np.rint((np.array([5.0, 25.0]) + DELAY) / DT).astype(int)
    measured = current[arrivals] - current[arrivals - 1] * math.exp(-DT / TAU_SYN)
    # first spike: U = 0.5 on a recovered synapse; it leaves x = 0.5, which recovers with
    # the new tau_rec over the 20 ms, and (no facilitation) u is the new U
    expected = [WEIGHT * 0.5, WEIGHT * 0.25 * (1.0 - 0.5 * math.exp(-20.0 / 40.0))]
    np.testing.assert_allclose(measured, expected, rtol=1e-9)
