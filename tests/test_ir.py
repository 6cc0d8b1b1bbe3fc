"""Validation of neurohw.ir: every bad description raises NetworkError, and the
message names where (population/projection/source), what (parameter), which
(index) and the offending value."""
import re

import numpy as np
import pytest

from neurohw import ir
from neurohw.ir import NetworkError

LIF = {"cm": 0.25, "tau_m": 20.0, "tau_refrac": 2.0, "tau_syn_E": 5.0, "tau_syn_I": 10.0,
       "v_rest": -65.0, "v_reset": -70.0, "v_thresh": -50.0, "i_offset": 0.0}
COND = dict(LIF, e_rev_E=0.0, e_rev_I=-80.0)


def lif(label="cells", size=4, cell_type="IF_curr_exp", **overrides):
    base = COND if cell_type == "IF_cond_exp" else LIF
    kwargs = {k: overrides.pop(k) for k in ("initial", "record", "record_interval")
              if k in overrides}
    return ir.Population(label, cell_type, size, params={**base, **overrides}, **kwargs)


def spike_array(label="stim", size=2, spike_times=None):
    trains = spike_times if spike_times is not None else [[1.0, 2.0]] * size
    return ir.Population(label, "SpikeSourceArray", size, spike_times=trains)


def poisson(label="noise", size=3, **overrides):
    params = {"rate": 10.0, "start": 0.0, "duration": 1e10, **overrides}
    return ir.Population(label, "SpikeSourcePoisson", size, params=params)


def projection(label="syn", pre="stim", post="cells", receptor="excitatory", n=3,
               weight=0.5, delay=1.0, pre_idx=None, post_idx=None, plasticity=None):
    return ir.Projection(label, pre, post, receptor,
                         pre_idx=np.arange(n) % 2 if pre_idx is None else pre_idx,
                         post_idx=np.arange(n) % 4 if post_idx is None else post_idx,
                         weight=weight, delay=delay, plasticity=plasticity)


def network(populations=None, projections=(), currents=(), dt=0.1, **kwargs):
    pops = populations if populations is not None else (spike_array(), lif())
    return ir.Network(dt=dt, populations=pops, projections=projections, currents=currents,
                      **kwargs)


def raises(*fragments):
    """pytest.raises(NetworkError) whose message must contain every fragment."""
    return pytest.raises(NetworkError, match=".*".join(re.escape(f) for f in fragments))


# ---- a valid network is accepted and frozen -------------------------------------------

def test_valid_network_is_frozen_and_typed():
    net = network(projections=[projection()], max_delay=10.0, duration=100.0, seed=3)
    cells = net.population("cells")
    assert cells.params["tau_m"].dtype == np.float64
    assert cells.params["tau_m"].shape == (4,)
    assert np.all(cells.initial["v"] == -65.0)          # v starts at v_rest
    assert np.all(cells.initial["isyn_exc"] == 0.0)
    syn = net.projection("syn")
    assert syn.pre_idx.dtype == np.int64 and syn.weight.dtype == np.float64
    assert np.all(syn.delay == 1.0) and syn.delay.shape == (3,)   # scalar broadcast
    with pytest.raises(ValueError):
        syn.weight[0] = 1.0                              # arrays are read-only
    with pytest.raises(TypeError):
        cells.params["cm"] = np.ones(4)                  # mappings too
    assert net.min_delay == 0.1 and net.n_steps == 1000
    assert net.n_neurons == 6 and net.n_synapses == 3


def test_record_indices_are_sorted_unique():
    cells = lif(record={"v": [3, 1, 1], "spikes": []}, record_interval=0.2)
    assert cells.record["v"].tolist() == [1, 3]
    assert cells.record["spikes"].dtype == np.int64


# ---- populations ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["cm", "tau_m", "tau_syn_E", "tau_syn_I"])
@pytest.mark.parametrize("bad", [0.0, -1.5])
def test_time_constants_and_capacitance_must_be_positive(name, bad):
    values = np.full(4, LIF[name])
    values[2] = bad
    with raises("population 'cells'", f"'{name}'", "> 0", "neuron 2", str(bad)):
        lif(**{name: values})


@pytest.mark.parametrize("cell_type", ["IF_curr_exp", "IF_curr_alpha", "IF_cond_exp"])
def test_tau_refrac_must_not_be_negative(cell_type):
    with raises("population 'cells'", "'tau_refrac'", ">= 0", "neuron 0", "-0.1"):
        lif(cell_type=cell_type, tau_refrac=[-0.1, 0, 0, 0])


@pytest.mark.parametrize("v_thresh", [-70.0, -75.0])
def test_threshold_must_be_above_reset(v_thresh):
    with raises("population 'cells'", "'v_thresh'", "'v_reset'", "neuron 1",
                f"v_thresh={v_thresh}", "v_reset=-70.0"):
        lif(v_thresh=[-50.0, v_thresh, -50.0, -50.0])


@pytest.mark.parametrize("name", ["rate", "start", "duration"])
def test_poisson_parameters_must_not_be_negative(name):
    with raises("population 'noise'", f"'{name}'", ">= 0", "neuron 1", "-5.0"):
        poisson(**{name: [0.0, -5.0, 1.0]})


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_parameters_must_be_finite(bad):
    with raises("population 'cells'", "'v_rest'", "neuron 3", str(bad)):
        lif(v_rest=[-65.0, -65.0, -65.0, bad])


def test_initial_values_must_be_finite():
    with raises("population 'cells'", "initial value of 'v'", "neuron 0", "nan"):
        lif(initial={"v": [np.nan, 0, 0, 0]})


def test_parameter_arrays_must_match_size():
    with raises("population 'cells'", "'tau_m'", "expected 4 values", "(3,)"):
        lif(tau_m=[10.0, 10.0, 10.0])


def test_parameter_that_is_not_a_number():
    with raises("population 'cells'", "'cm'", "cannot convert"):
        lif(cm="big")


def test_unknown_cell_type():
    with raises("population 'x'", "unknown cell type 'IF_curr_foo'", "IF_curr_exp"):
        ir.Population("x", "IF_curr_foo", 3)


def test_unknown_parameter():
    with raises("population 'cells'", "unknown parameter", "tau_w"):
        lif(tau_w=3.0)


def test_missing_parameter():
    params = dict(LIF)
    del params["v_thresh"]
    with raises("population 'x'", "parameter 'v_thresh' missing"):
        ir.Population("x", "IF_curr_exp", 2, params=params)


def test_unknown_state_variable():
    with raises("population 'cells'", "unknown state variable", "gsyn_exc"):
        lif(initial={"gsyn_exc": 0.0})


@pytest.mark.parametrize("size", [0, -3, 2.5, "4", True, np.nan])
def test_population_size_must_be_positive_integer(size):
    with raises("population 'cells'", "size must be a positive integer", str(size)):
        ir.Population("cells", "IF_curr_exp", size, params=LIF)


@pytest.mark.parametrize("label", ["", None, 7])
def test_population_label_must_be_non_empty_string(label):
    with raises("population label", repr(label)):
        ir.Population(label, "IF_curr_exp", 2, params=LIF)


def test_record_of_unrecordable_variable():
    with raises("population 'cells'", "cannot record 'gsyn_exc'", "isyn_exc"):
        lif(record={"gsyn_exc": [0]})
    with raises("population 'stim'", "cannot record 'v'", "spikes"):
        ir.Population("stim", "SpikeSourceArray", 1, spike_times=[[]], record={"v": [0]})


@pytest.mark.parametrize("bad", [-1, 4])
def test_record_index_out_of_range(bad):
    with raises("population 'cells'", "record['v']", f"index {bad}", "0..3"):
        lif(record={"v": [0, bad]})


def test_record_index_must_be_integer():
    with raises("population 'cells'", "record['spikes']", "entry 1", "1.5", "not an integer"):
        lif(record={"spikes": [0, 1.5]})


@pytest.mark.parametrize("interval", [0.0, -0.1, np.inf])
def test_record_interval_must_be_positive_and_finite(interval):
    with raises("population 'cells'", "record_interval", str(interval)):
        lif(record={"v": [0]}, record_interval=interval)


@pytest.mark.parametrize("interval", [0.15, 0.05])
def test_record_interval_must_be_multiple_of_dt(interval):
    cells = lif(record={"v": [0]}, record_interval=interval)
    with raises("population 'cells'", f"record_interval {interval} ms", "dt=0.1"):
        network(populations=[cells])


def test_record_interval_multiple_of_dt_accepted_despite_rounding():
    # 0.3 / 0.1 is 2.9999999999999996 in floating point: still a multiple
    assert network(populations=[lif(record={"v": [0]}, record_interval=0.3)])


def test_spike_source_array_needs_one_train_per_neuron():
    with raises("population 'stim'", "one spike train per neuron (3)", "got 2"):
        spike_array(size=3, spike_times=[[1.0], [2.0]])
    with raises("population 'stim'", "one spike train per neuron (1)", "got 0"):
        ir.Population("stim", "SpikeSourceArray", 1)


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_spike_times_must_be_finite_and_non_negative(bad):
    with raises("population 'stim'", "spike_times[1]", str(bad)):
        spike_array(spike_times=[[1.0], [0.5, bad]])


def test_spike_times_must_be_sorted():
    with raises("population 'stim'", "spike_times[0]", "sorted", "entry 2 (1.5 ms)",
                "entry 1 (3.0 ms)"):
        spike_array(spike_times=[[1.0, 3.0, 1.5], []])


def test_spike_times_only_for_spike_source_array():
    with raises("population 'cells'", "spike_times given for a IF_curr_exp"):
        ir.Population("cells", "IF_curr_exp", 1, params=LIF, spike_times=[[1.0]])


# ---- projections -----------------------------------------------------------------

def test_receptor_must_be_known():
    with raises("projection 'syn' (stim -> cells)", "receptor", "'gaba_b'"):
        projection(receptor="gaba_b")


@pytest.mark.parametrize("name", ["post_idx", "weight", "delay"])
def test_synapse_arrays_must_have_one_length(name):
    arrays = {"pre_idx": [0, 1, 0], "post_idx": [0, 1, 2], "weight": [0.1] * 3,
              "delay": [1.0] * 3}
    arrays[name] = arrays[name][:2]
    with raises("projection 'syn'", f"'{name}' has 2 entries, expected 3"):
        ir.Projection("syn", "stim", "cells", "excitatory", **arrays)


@pytest.mark.parametrize("name", ["weight", "delay"])
def test_synapse_values_must_be_finite(name):
    values = np.ones(3)
    values[1] = np.nan
    with raises("projection 'syn'", f"{name} of synapse 1 is nan"):
        projection(**{name: values})


def test_synapse_indices_must_be_integers():
    with raises("projection 'syn'", "pre_idx", "entry 2", "0.5", "not an integer"):
        projection(pre_idx=[0, 1, 0.5])


@pytest.mark.parametrize("label", ["", None])
def test_projection_label_must_be_non_empty_string(label):
    with raises("projection label", repr(label)):
        projection(label=label)


@pytest.mark.parametrize("side, idx, value, size", [
    ("pre", [0, 2, 1], 2, 2), ("pre", [0, -1, 1], -1, 2),
    ("post", [0, 4, 1], 4, 4), ("post", [-2, 0, 1], -2, 4)])
def test_synapse_index_out_of_range(side, idx, value, size):
    prj = projection(**{f"{side}_idx": idx})
    pop = "stim" if side == "pre" else "cells"
    synapse = idx.index(value)
    with raises("projection 'syn' (stim -> cells)", f"synapse {synapse}",
                f"{side}_idx={value}", f"population '{pop}' (size {size})"):
        network(projections=[prj])


@pytest.mark.parametrize("delay", [0.0, -1.0, 0.05])
def test_delay_below_dt(delay):
    prj = projection(delay=[1.0, delay, 1.0])
    with raises("projection 'syn'", "synapse 1", f"delay {delay} ms", "below dt=0.1"):
        network(projections=[prj])


def test_delay_equal_to_dt_despite_rounding_is_accepted():
    # 3 * 0.1 is 0.30000000000000004: a delay of 0.3 ms with dt = 0.3 / 3 must pass
    net = network(projections=[projection(delay=0.1 * 3)], dt=0.3)
    assert net.projection("syn").delay[0] == pytest.approx(0.3)


def test_delay_above_max_delay():
    prj = projection(delay=[1.0, 1.0, 12.5])
    with raises("projection 'syn'", "synapse 2", "delay 12.5 ms", "max_delay=10.0"):
        network(projections=[prj], max_delay=10.0)


@pytest.mark.parametrize("cell_type, receptor, bad", [
    ("IF_curr_exp", "excitatory", -0.5),       # excitatory weights are >= 0
    ("IF_curr_exp", "inhibitory", 0.5),        # current-based inhibitory ones <= 0
    ("IF_cond_exp", "excitatory", -0.5),       # conductances are >= 0 ...
    ("IF_cond_exp", "inhibitory", -0.5),       # ... also for inhibition
])
def test_weight_sign_follows_receptor(cell_type, receptor, bad):
    good = -0.1 if (receptor, cell_type) == ("inhibitory", "IF_curr_exp") else 0.1
    prj = projection(receptor=receptor, weight=[good, good, bad], pre_idx=[0, 1, 1],
                     post_idx=[0, 1, 3])
    sign = "<= 0" if good < 0 else ">= 0"
    with raises("projection 'syn'", sign, "synapse 2 (pre 1 -> post 3)", f"weight {bad}"):
        network(populations=[spike_array(), lif(cell_type=cell_type)], projections=[prj])


def test_zero_weight_is_valid_for_both_receptors():
    prjs = [projection("e", weight=0.0), projection("i", receptor="inhibitory", weight=0.0)]
    assert network(projections=prjs).n_synapses == 6


def test_projection_to_unknown_population():
    with raises("projection 'syn' (stim -> nowhere)", "postsynaptic", "'nowhere'"):
        network(projections=[projection(post="nowhere")])
    with raises("projection 'syn' (ghost -> cells)", "presynaptic", "'ghost'"):
        network(projections=[projection(pre="ghost")])


def test_projection_into_spike_source():
    prj = projection(pre="cells", post="stim", pre_idx=[0], post_idx=[0], n=1)
    with raises("projection 'syn' (cells -> stim)", "'stim'", "spike source",
                "SpikeSourceArray"):
        network(projections=[prj])


# ---- STDP ----------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, fragments", [
    ({"tau_plus": 0.0}, ("'tau_plus'", "> 0", "0.0")),
    ({"tau_minus": -20.0}, ("'tau_minus'", "> 0", "-20.0")),
    ({"A_plus": -0.1}, ("'A_plus'", ">= 0", "-0.1")),
    ({"A_minus": np.nan}, ("'A_minus'", ">= 0", "nan")),
    ({"w_min": 0.5, "w_max": 0.2}, ("'w_max' (0.2)", "'w_min' (0.5)")),
    ({"w_max": np.inf}, ("'w_max'", "finite", "inf")),
    ({"weight_dependence": "gutig"}, ("weight_dependence", "'gutig'")),
    ({"dendritic_delay_fraction": 0.5}, ("dendritic_delay_fraction", "0.5")),
])
def test_stdp_parameters(kwargs, fragments):
    with raises("STDP", *fragments):
        ir.STDP(**kwargs)


def test_plastic_weight_outside_bounds():
    prj = projection(weight=[0.1, 0.5, 0.2], plasticity=ir.STDP(w_min=0.0, w_max=0.4))
    with raises("projection 'syn'", "plastic synapse 1", "weight 0.5", "[0.0, 0.4]"):
        network(projections=[prj])


def test_excitatory_stdp_lower_bound_must_keep_sign():
    prj = projection(weight=0.1, plasticity=ir.STDP(w_min=-0.5, w_max=0.5))
    with raises("projection 'syn'", "'w_min' is -0.5", ">= 0"):
        network(projections=[prj])


@pytest.mark.parametrize("w_min, w_max", [(0.0, 0.4), (-0.4, 0.0)])
def test_inhibitory_current_stdp_bounds_act_on_magnitude(w_min, w_max):
    good = projection(receptor="inhibitory", weight=-0.3,
                      plasticity=ir.STDP(w_min=w_min, w_max=w_max))
    assert network(projections=[good]).projection("syn").plasticity.w_max == w_max
    bad = projection(receptor="inhibitory", weight=[-0.3, -0.3, -0.45],
                     plasticity=ir.STDP(w_min=w_min, w_max=w_max))
    with raises("projection 'syn'", "plastic synapse 2", "weight -0.45"):
        network(projections=[bad])


def test_inhibitory_current_stdp_bounds_must_not_straddle_zero():
    prj = projection(receptor="inhibitory", weight=-0.1,
                     plasticity=ir.STDP(w_min=-0.5, w_max=0.5))
    with raises("projection 'syn'", "[-0.5, 0.5]", "straddle 0"):
        network(projections=[prj])


# ---- currents ------------------------------------------------------------------------

def step(label="dc", population="cells", indices=(0, 1), times=(10.0, 20.0),
         amplitudes=(0.5, 0.0)):
    return ir.StepCurrent(label, population, indices=indices, times=times,
                          amplitudes=amplitudes)


def test_current_times_and_amplitudes_must_pair_up():
    with raises("current source 'dc'", "3 times but 2 amplitudes"):
        step(times=[1.0, 2.0, 3.0])


@pytest.mark.parametrize("times, fragments", [
    ([10.0, 5.0], ("non-decreasing", "entry 1 (5.0 ms)", "entry 0 (10.0 ms)")),
    ([-1.0, 5.0], ("finite and >= 0", "entry 0 is -1.0")),
    ([1.0, np.nan], ("finite and >= 0", "entry 1 is nan")),
])
def test_current_times(times, fragments):
    with raises("current source 'dc' -> population 'cells'", *fragments):
        step(times=times)


def test_current_amplitudes_must_be_finite():
    with raises("current source 'dc'", "amplitudes", "entry 0 is inf"):
        step(amplitudes=[np.inf, 0.0])


def test_current_into_spike_source():
    with raises("current source 'dc'", "spike source population 'stim'"):
        network(currents=[step(population="stim", indices=[0])])


def test_current_into_unknown_population():
    with raises("current source 'dc'", "unknown population 'ghost'"):
        network(currents=[step(population="ghost")])


@pytest.mark.parametrize("bad", [4, -1])
def test_current_index_out_of_range(bad):
    with raises("current source 'dc'", f"indices[1] = {bad}", "population 'cells' (size 4)"):
        network(currents=[step(indices=[0, bad])])


# ---- network -------------------------------------------------------------------------

@pytest.mark.parametrize("dt", [0.0, -0.1, np.nan, np.inf])
def test_dt_must_be_positive_and_finite(dt):
    with raises("network: dt", str(dt)):
        network(dt=dt)


@pytest.mark.parametrize("duration", [-1.0, np.inf, np.nan])
def test_duration_must_be_finite_and_non_negative(duration):
    with raises("network: duration", str(duration)):
        network(duration=duration)


def test_empty_network():
    with raises("network: no populations"):
        network(populations=[])


def test_duplicate_population_labels():
    with raises("two populations are labelled 'cells'"):
        network(populations=[lif(), lif(size=2)])


def test_duplicate_projection_labels():
    with raises("two projections are labelled 'syn'"):
        network(projections=[projection(), projection()])


def test_wrong_kind_of_element():
    with raises("network: populations[1] is a Projection, not a Population"):
        network(populations=[lif(), projection()])


@pytest.mark.parametrize("kwargs, fragments", [
    ({"min_delay": 0.05}, ("min_delay", ">= dt=0.1", "0.05")),
    ({"min_delay": np.nan}, ("min_delay", "nan")),
    ({"min_delay": 1.0, "max_delay": 0.5}, ("max_delay", "min_delay=1.0", "0.5")),
    ({"max_delay": np.inf}, ("max_delay", "inf")),
])
def test_delay_bounds(kwargs, fragments):
    with raises("network:", *fragments):
        network(**kwargs)


@pytest.mark.parametrize("seed", [-1, 1.5, "42", True])
def test_seed_must_be_non_negative_integer(seed):
    with raises("network: seed", repr(seed)):
        network(seed=seed)


def test_numpy_integer_seed_becomes_int():
    net = network(seed=np.int64(7))
    assert net.seed == 7 and type(net.seed) is int


def test_lookup_of_unknown_labels():
    net = network()
    with pytest.raises(KeyError, match="no population labelled 'x'; have: stim, cells"):
        net.population("x")
    with pytest.raises(KeyError, match="no projection labelled 'y'"):
        net.projection("y")
