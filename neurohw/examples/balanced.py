"""A small balanced network driven by frozen Poisson input, with STDP on the input.

The bundled default of ``neurohw demo``: an ordinary PyNN script that runs
unchanged on any neurohw target (``python -m neurohw.examples.balanced``, or
``neurohw run``/``neurohw demo`` to run it on several simulators at once).

The input trains are drawn once with a seeded numpy generator and given as
SpikeSourceArray, so two correct simulators see identical input and should
produce (nearly) identical spikes: what differs is the simulators, not luck.
Sizes follow the 4:1 excitatory:inhibitory ratio of cortical balanced-network
models (Brunel 2000, J Comput Neurosci 8:183).
"""
import numpy as np

import neurohw.pynn as sim

N_INPUT, N_EXC, N_INH = 64, 160, 40
DURATION = 500.0  # ms
INPUT_RATE = 12.0  # Hz


def poisson_trains(n, rate_hz, duration_ms, rng):
    """Frozen Poisson spike trains, rounded to 0.1 ms so that every simulator
    places them on the same step."""
    trains = []
    for _ in range(n):
        count = rng.poisson(rate_hz * duration_ms / 1000.0)
        t = np.unique(np.round(np.sort(rng.uniform(1.0, duration_ms, count)), 1))
        trains.append(t)
    return trains


def build(seed=42):
    rng = np.random.default_rng(seed)
    cell = sim.IF_curr_exp(cm=0.25, tau_m=20.0, tau_refrac=2.0, tau_syn_E=5.0, tau_syn_I=10.0,
                           v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0, i_offset=0.0)
    inputs = sim.Population(N_INPUT, sim.SpikeSourceArray(
        spike_times=poisson_trains(N_INPUT, INPUT_RATE, DURATION, rng)), label="input")
    exc = sim.Population(N_EXC, cell, label="excitatory")
    inh = sim.Population(N_INH, cell, label="inhibitory")
    exc.initialize(v=rng.uniform(-65.0, -55.0, N_EXC))
    inh.initialize(v=rng.uniform(-65.0, -55.0, N_INH))

    connect_rng = sim.NumpyRNG(seed=seed)
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                            A_plus=0.01, A_minus=0.012),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=1.2),
        weight=1.1, delay=1.0)
    sim.Projection(inputs, exc, sim.FixedProbabilityConnector(0.2, rng=connect_rng),
                   stdp, receptor_type="excitatory", label="input->exc")
    sim.Projection(inputs, inh, sim.FixedProbabilityConnector(0.2, rng=connect_rng),
                   sim.StaticSynapse(weight=0.2, delay=1.0), receptor_type="excitatory",
                   label="input->inh")
    sim.Projection(exc, exc, sim.FixedProbabilityConnector(0.1, rng=connect_rng),
                   sim.StaticSynapse(weight=0.3, delay=1.5), receptor_type="excitatory",
                   label="exc->exc")
    sim.Projection(exc, inh, sim.FixedProbabilityConnector(0.1, rng=connect_rng),
                   sim.StaticSynapse(weight=0.3, delay=1.5), receptor_type="excitatory",
                   label="exc->inh")
    sim.Projection(inh, exc, sim.FixedProbabilityConnector(0.2, rng=connect_rng),
                   sim.StaticSynapse(weight=-0.6, delay=1.0), receptor_type="inhibitory",
                   label="inh->exc")
    for pop in (exc, inh):
        pop.record("spikes")
    # every 1 ms: on a board each sample is a read between RUN chunks
    exc[0:4].record("v", sampling_interval=1.0)
    return exc, inh


def main():
    sim.setup(timestep=0.1, min_delay=0.1, max_delay=16.0)
    exc, inh = build()
    sim.run(DURATION)
    for pop in (exc, inh):
        trains = pop.get_data("spikes").segments[0].spiketrains
        rate = sum(len(t) for t in trains) / (pop.size * DURATION / 1000.0)
        print(f"{pop.label:>11}: {rate:5.1f} Hz")
    sim.end()


if __name__ == "__main__":
    main()
