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


# ---- matching details, ISI distortion, disorder (issue 5) --------------------------------
from scipy.optimize import linear_sum_assignment

from neurohw.report.metrics import (correlation, isi_distortion, neuron_rates, spike_disorder,
                                    summary, weight_divergence)


def test_grid_times_one_step_apart_count_as_one_dt():
    # 12.4 - 12.3 = 0.10000000000000142 in floating point: still within one dt
    m = match_spikes(trains([(0, 12.3)]), trains([(0, 12.4)]), tolerance=0.1)
    assert m.n_matched == 1
    np.testing.assert_allclose(m.time_errors, [0.1])


def test_match_records_pairs_positions_and_masks_in_input_order():
    ref = trains([(1, 5.0), (0, 1.0), (0, 3.0)])          # not sorted on purpose
    test = trains([(0, 3.1), (1, 9.0), (0, 0.9)])
    m = match_spikes(ref, test, tolerance=0.2)
    assert m.n_matched == 2
    np.testing.assert_array_equal(m.neuron, [0, 0])
    np.testing.assert_allclose(m.reference_times, [1.0, 3.0])
    np.testing.assert_allclose(m.test_times, [0.9, 3.1])
    np.testing.assert_array_equal(m.reference_position, [0, 1])
    np.testing.assert_array_equal(m.test_position, [0, 1])
    np.testing.assert_array_equal(m.reference_matched, [False, True, True])
    np.testing.assert_array_equal(m.test_matched, [True, False, True])
    assert m.f1 == pytest.approx(2 * 2 / 6)


@pytest.mark.parametrize("seed", range(40))
def test_greedy_matching_is_maximum_on_random_trains(seed):
    """Against an exact maximum bipartite matching (Hungarian algorithm) per neuron."""
    rng = np.random.default_rng(seed)
    tolerance = 0.1
    ref_pairs, test_pairs, best = [], [], 0
    for n in range(3):
        r = np.round(np.sort(rng.uniform(0, 5, rng.integers(0, 12))), 1)
        t = np.round(np.sort(rng.uniform(0, 5, rng.integers(0, 12))), 1)
        ref_pairs += [(n, x) for x in r]
        test_pairs += [(n, x) for x in t]
        if r.size and t.size:
            ok = np.abs(t[None, :] - r[:, None]) <= tolerance + 1e-9
            rows, cols = linear_sum_assignment(-ok.astype(float))
            best += int(ok[rows, cols].sum())
    m = match_spikes(trains(ref_pairs), trains(test_pairs), tolerance)
    assert m.n_matched == best, f"seed {seed}"
    assert np.all(np.abs(m.time_errors) <= tolerance + 1e-9), f"seed {seed}"


def test_isi_distortion_over_intervals_both_runs_have():
    # neuron 0: reference 10, 20, 30; test 10, 21, 30 -> intervals 10,10 become 11,9
    ref = trains([(0, 10.0), (0, 20.0), (0, 30.0)])
    test = trains([(0, 10.0), (0, 21.0), (0, 30.0)])
    m = match_spikes(ref, test, tolerance=1.0)
    np.testing.assert_allclose(isi_distortion(m), [1.0, -1.0])


def test_isi_distortion_skips_intervals_broken_by_a_missed_or_extra_spike():
    # reference 10, 20, 30, 40; test misses 20 and has an extra at 33
    ref = trains([(0, 10.0), (0, 20.0), (0, 30.0), (0, 40.0)])
    test = trains([(0, 10.5), (0, 30.0), (0, 33.0), (0, 40.0)])
    m = match_spikes(ref, test, tolerance=1.0)
    assert m.n_matched == 3                   # 10, 30, 40
    # 10 -> 30 skips reference spike 20; 30 -> 40 skips the test's extra spike at 33
    assert isi_distortion(m).size == 0
    # two neurons never form an interval together
    two = match_spikes(trains([(0, 1.0), (1, 2.0)]), trains([(0, 1.0), (1, 2.5)]), 1.0)
    assert isi_distortion(two).size == 0


def test_disorder_on_hand_made_trains():
    # generated a < b < c; received b first, then a, then c: one inverted pair (a, b),
    # b is the disordered spike (it overtook a)
    d = spike_disorder([1.0, 2.0, 3.0], [5.0, 4.0, 6.0])
    assert (d.matched, d.inverted_pairs, d.disordered_spikes) == (3, 1, 1)
    # full reversal of 4 spikes: every pair inverted, every spike but the first overtakes
    d = spike_disorder([1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0])
    assert (d.inverted_pairs, d.disordered_spikes) == (6, 3)
    # ties in either run are not an order, so not a disorder
    assert spike_disorder([1.0, 1.0], [2.0, 1.0]).inverted_pairs == 0
    assert spike_disorder([1.0, 2.0], [3.0, 3.0]).inverted_pairs == 0
    # grid times equal but for rounding are a tie
    assert spike_disorder([0.3, 0.1 + 0.2], [2.0, 1.0]).inverted_pairs == 0
    assert spike_disorder([], []).matched == 0
    with pytest.raises(ValueError, match="2 generated times but 1 received"):
        spike_disorder([1.0, 2.0], [1.0])


@pytest.mark.parametrize("seed", range(30))
def test_disorder_counts_agree_with_brute_force(seed):
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(1, 60))
    gen = rng.integers(0, 15, n) * 0.1            # many ties, as on a time grid
    recv = gen + rng.integers(-3, 4, n) * 0.1
    inverted = sum(1 for a in range(n) for b in range(n)
                   if gen[a] < gen[b] - 1e-9 and recv[a] > recv[b] + 1e-9)
    disordered = sum(1 for b in range(n)
                     if any(gen[a] < gen[b] - 1e-9 and recv[a] > recv[b] + 1e-9
                            for a in range(n)))
    d = spike_disorder(gen, recv)
    assert (d.inverted_pairs, d.disordered_spikes) == (inverted, disordered), f"seed {seed}"


def test_neuron_rates_and_summaries():
    t = trains([(0, 1.0), (2, 2.0), (2, 3.0)])
    np.testing.assert_allclose(neuron_rates(t, np.array([0, 1, 2]), 1000.0), [1.0, 0.0, 2.0])
    np.testing.assert_allclose(neuron_rates(t, np.array([2]), 500.0), [4.0])
    s = summary([-2.0, 1.0, 4.0])
    assert (s["count"], s["mean"], s["min"], s["max"], s["max_abs"]) == (3, 1.0, -2.0, 4.0, 4.0)
    assert s["mean_abs"] == pytest.approx(7 / 3)
    assert summary([])["mean"] is None and summary([])["count"] == 0
    assert correlation([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert correlation([1, 1, 1], [2, 4, 6]) is None


def test_weight_divergence_relative_to_w_max():
    ref = np.array([0.5, 1.0, 0.0])
    test = np.array([0.6, 0.8, 0.0])
    w = weight_divergence(ref, test, np.array([0.5, 0.5, 0.5]), w_max=2.0)
    assert w["rms"] == pytest.approx(np.sqrt((0.01 + 0.04) / 3))
    assert w["max_abs"] == pytest.approx(0.2)
    assert w["max_abs_rel"] == pytest.approx(0.1)
    assert w["rms_rel"] == pytest.approx(w["rms"] / 2.0)
    # both runs learned in the same direction for every synapse
    assert w["change_correlation"] == pytest.approx(
        np.corrcoef(ref - 0.5, test - 0.5)[0, 1])
    with pytest.raises(ValueError, match="3 reference, 2 test"):
        weight_divergence(ref, test[:2], ref, 1.0)
