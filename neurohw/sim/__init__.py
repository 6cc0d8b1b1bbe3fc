"""Software runs of an :class:`neurohw.ir.Network`.

Two independent implementations share one interface:

* ``reference`` — numba-compiled exact integration (float64), our ground truth;
* ``brian2``    — the same network built in Brian2, as an independent check.

Interface (both backends)::

    sim = Simulation(net, seed=None, **options)   # build; net.dt fixes the step
    res = sim.run(duration_ms)                    # advance, returns a RunResult for
                                                  # [sim.t, sim.t + duration)
    sim.t                                         # current time, ms
    sim.set_parameter(pop_label, name, values)    # between runs: per-neuron arrays
    sim.set_state(pop_label, var, values)         # e.g. "v"
    sim.set_synapses(proj_label, name, values)    # "weight", "delay"; Tsodyks-Markram
                                                  # projections also "U", "tau_rec",
                                                  # "tau_facil"
    sim.get_synapses(proj_label, name)            # current (learned) values

Analog signals in a RunResult are sampled at ``t_start + k*record_interval``
for all such times in ``[t_start, t_stop)``; the value at ``t_stop`` is in
``RunResult.final_state`` (the next segment starts from it).
"""
from __future__ import annotations

import importlib

BACKENDS = ("reference", "brian2")


def get_simulation(backend: str):
    """The Simulation class of a software backend, by name."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown software simulator '{backend}'; choose one of "
                         f"{', '.join(BACKENDS)}")
    return importlib.import_module(f"neurohw.sim.{backend}").Simulation
