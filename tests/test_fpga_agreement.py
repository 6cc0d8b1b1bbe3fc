"""The FPGA core (golden model, through quantize) against the reference simulator.

With 16-bit weights the core's fixed point is fine enough that random
networks, with and without STDP, fire (almost) the same spikes at the same
steps as neurohw.sim.reference: this pins the core's conventions (delays,
refractoriness, the order of events in a step, STDP pairing) to the project's
ground truth.  Narrower weights trade agreement for memory; the rates at 8
bits are checked loosely.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from neurohw.sim.reference import Simulation
from neurohw.targets.fpga import CoreShape, quantize, run_on_model

sys.path.insert(0, str(Path(__file__).parent / "rtl"))   # the random network generator
from random_core import random_ir_network  # noqa: E402


def _recorded(net):
    pops = tuple(dataclasses.replace(p, record={"spikes": np.arange(p.size)})
                 if p.cell_type == "IF_curr_exp" else p for p in net.populations)
    return dataclasses.replace(net, populations=pops)


def _spike_sets(net, shape):
    net = _recorded(net)
    hw = run_on_model(quantize(net, shape))
    sw = Simulation(net, seed=1).run(net.duration)
    sets = []
    for pop in net.populations:
        if pop.cell_type != "IF_curr_exp":
            continue
        for run in (hw, sw):
            spikes = run.spikes[pop.label]
            sets.append({(pop.label, int(i), int(round(t / net.dt)))
                         for i, t in zip(spikes.index, spikes.times)})
    return set().union(*sets[0::2]), set().union(*sets[1::2])


@pytest.mark.parametrize("weight_width,min_match", [(16, 0.97), (8, 0.75)])
def test_core_fires_the_reference_spikes(weight_width, min_match):
    shape = CoreShape(n_neurons=64, n_inputs=32, weight_width=weight_width, delay_depth=16)
    matched = total_hw = total_sw = 0
    for seed in range(12):
        hw, sw = _spike_sets(random_ir_network(shape, seed), shape)
        matched += len(hw & sw)
        total_hw += len(hw)
        total_sw += len(sw)
        # spike counts may differ by a few spikes per network, not by a factor
        assert abs(len(hw) - len(sw)) <= 0.1 * len(sw) + 3, (seed, len(hw), len(sw))
    assert total_sw > 500, "the random networks must be active"
    assert matched / max(total_hw, total_sw) >= min_match, (matched, total_hw, total_sw)
