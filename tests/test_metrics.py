import numpy as np
import pytest

from neurohw.report.metrics import firing_rate, match_spikes
from neurohw.results import SpikeTrains


def trains(pairs):
    idx, t = zip(*pairs) if pairs else ((), ())
    return SpikeTrains(np.array(idx, dtype=np.int64), np.array(t, dtype=float))


def test_identical_runs_match_completely():
    a = trains([(0, 1.0), (1, 2.0), (0, 5.0)])
    m = match_spikes(a, a, tolerance=0.1)
    assert (m.n_matched, m.precision, m.recall) == (3, 1.0, 1.0)
    assert np.all(m.time_errors == 0)


def test_matching_is_per_neuron_and_one_to_one():
    ref = trains([(0, 1.0), (1, 1.0)])
    # neuron 0 fires twice near the single reference spike; neuron 2 is extra
    test = trains([(0, 1.05), (0, 1.08), (2, 1.0)])
    m = match_spikes(ref, test, tolerance=0.1)
    assert m.n_matched == 1
    assert m.precision == pytest.approx(1 / 3)
    assert m.recall == pytest.approx(1 / 2)
    np.testing.assert_allclose(m.time_errors, [0.05])


def test_tolerance_bounds_the_pairing():
    ref = trains([(0, 10.0)])
    assert match_spikes(ref, trains([(0, 10.2)]), tolerance=0.1).n_matched == 0
    assert match_spikes(ref, trains([(0, 10.2)]), tolerance=0.25).n_matched == 1


def test_greedy_pairing_finds_the_maximum_matching():
    ref = trains([(0, 1.0), (0, 1.2)])
    test = trains([(0, 1.1), (0, 1.3)])
    assert match_spikes(ref, test, tolerance=0.1 + 1e-12).n_matched == 2


def test_firing_rate_in_hz():
    t = trains([(0, 1.0), (1, 2.0), (1, 3.0), (2, 4.0)])
    assert firing_rate(t, n_neurons=4, duration_ms=500.0) == pytest.approx(2.0)
