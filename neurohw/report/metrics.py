"""Spike-level fidelity metrics between two runs of the same network.

Matching is per neuron and one-to-one: each spike of the run under test is
paired with at most one spike of the reference run no further than
``tolerance`` ms away, earliest first.  Because both trains are sorted this
greedy pairing is optimal for one-dimensional matching with a fixed window.
Times are compared with :data:`TIME_SLACK_MS` of slack, so that two grid times
one step apart (``12.4 - 12.3 = 0.10000000000000142``) count as one ``dt``
apart.

ISI distortion and spike disorder follow PyCARL (Balaji et al., "PyCARL: A
PyNN Interface for Hardware-Software Co-Simulation of Spiking Neural
Network", IJCNN 2020), with the reference run as the *generated* spikes and
the run under test as the *received* ones:

* **ISI distortion** of neuron ``n`` at its matched spike ``i``:
  ``(t_recv[i] - t_recv[i-1]) - (t_gen[i] - t_gen[i-1])``, over every pair of
  spikes that are consecutive in the neuron's reference train *and* whose
  matches are consecutive in its test train (an interval broken by a missed
  or an extra spike is not an interval of both runs; those spikes count in
  recall and precision instead).
* **Spike disorder** over the matched spikes of a population (all its
  neurons together): a pair of matched spikes ``(a, b)`` is *inverted* if
  ``a`` was generated strictly before ``b`` but received strictly after it;
  spike ``b`` is *disordered* if at least one spike generated strictly before
  it is received strictly after it (it overtook an earlier spike).  Spikes at
  the same instant (within the slack) in either run are not ordered, so a
  tie is never a disorder.  Within one neuron matching preserves order, so
  disorder is always between different neurons.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from neurohw.results import SpikeTrains

__all__ = ["TIME_SLACK_MS", "SpikeMatch", "match_spikes", "firing_rate", "neuron_rates",
           "isi_distortion", "Disorder", "spike_disorder", "summary", "correlation",
           "weight_divergence"]

TIME_SLACK_MS = 1e-9


def _empty(dtype) -> np.ndarray:
    return np.zeros(0, dtype=dtype)


@dataclass(frozen=True)
class SpikeMatch:
    """The pairing of a test run's spikes with a reference run's, per neuron.

    Pair ``p`` is neuron ``neuron[p]``'s reference spike at ``reference_times[p]``
    (the ``reference_position[p]``-th of that neuron's train, in time order)
    and its test spike at ``test_times[p]`` (``test_position[p]``-th); pairs
    are sorted by neuron, then time.  ``reference_matched`` / ``test_matched``
    flag, in the order of the trains given, the spikes that have a partner.
    """
    n_reference: int
    n_test: int
    n_matched: int
    time_errors: np.ndarray   # test - reference, ms, one per matched pair
    neuron: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    reference_times: np.ndarray = field(default_factory=lambda: _empty(np.float64))   # ms
    test_times: np.ndarray = field(default_factory=lambda: _empty(np.float64))        # ms
    reference_position: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    test_position: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    reference_matched: np.ndarray = field(default_factory=lambda: _empty(bool))
    test_matched: np.ndarray = field(default_factory=lambda: _empty(bool))

    @property
    def precision(self) -> float:
        """Share of the tested run's spikes that the reference also has."""
        return self.n_matched / self.n_test if self.n_test else 1.0

    @property
    def recall(self) -> float:
        """Share of the reference spikes that the tested run reproduces."""
        return self.n_matched / self.n_reference if self.n_reference else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall (1 when neither run has a spike)."""
        total = self.n_reference + self.n_test
        return 2 * self.n_matched / total if total else 1.0


@numba.njit(cache=True)
def _greedy_pairs(r_bounds, r_times, t_bounds, t_times, tolerance):
    """Per neuron k, pair r_times[r_bounds[k]:r_bounds[k+1]] with the test slice: the
    flat indices of the pairs (both arrays sorted by neuron, then time)."""
    n = min(r_times.size, t_times.size)
    r_out = np.empty(n, np.int64)
    t_out = np.empty(n, np.int64)
    m = 0
    for k in range(r_bounds.size - 1):
        i, i_end = r_bounds[k], r_bounds[k + 1]
        j, j_end = t_bounds[k], t_bounds[k + 1]
        while i < i_end and j < j_end:
            d = t_times[j] - r_times[i]
            if abs(d) <= tolerance:
                r_out[m] = i
                t_out[m] = j
                m += 1
                i += 1
                j += 1
            elif d < 0:
                j += 1
            else:
                i += 1
    return r_out[:m], t_out[:m]


def match_spikes(reference: SpikeTrains, test: SpikeTrains, tolerance: float) -> SpikeMatch:
    """Pair the spikes of ``test`` with those of ``reference`` neuron by neuron."""
    if not (np.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"match_spikes: tolerance must be a finite number >= 0 ms, "
                         f"got {tolerance!r}")
    r_order = np.lexsort((reference.times, reference.index))
    t_order = np.lexsort((test.times, test.index))
    r_idx, r_times = reference.index[r_order], reference.times[r_order]
    t_idx, t_times = test.index[t_order], test.times[t_order]
    neurons = np.union1d(r_idx, t_idx)
    r_bounds = np.searchsorted(r_idx, np.append(neurons, np.iinfo(np.int64).max))
    t_bounds = np.searchsorted(t_idx, np.append(neurons, np.iinfo(np.int64).max))
    r_bounds[-1], t_bounds[-1] = r_idx.size, t_idx.size
    r_pair, t_pair = _greedy_pairs(r_bounds, r_times, t_bounds, t_times,
                                   float(tolerance) + TIME_SLACK_MS)
    reference_matched = np.zeros(len(reference), bool)
    reference_matched[r_order[r_pair]] = True
    test_matched = np.zeros(len(test), bool)
    test_matched[t_order[t_pair]] = True
    first_of_neuron_r = r_bounds[np.searchsorted(neurons, r_idx[r_pair])]
    first_of_neuron_t = t_bounds[np.searchsorted(neurons, t_idx[t_pair])]
    return SpikeMatch(
        n_reference=len(reference), n_test=len(test), n_matched=int(r_pair.size),
        time_errors=t_times[t_pair] - r_times[r_pair], neuron=r_idx[r_pair],
        reference_times=r_times[r_pair], test_times=t_times[t_pair],
        reference_position=r_pair - first_of_neuron_r, test_position=t_pair - first_of_neuron_t,
        reference_matched=reference_matched, test_matched=test_matched)


def firing_rate(trains: SpikeTrains, n_neurons: int, duration_ms: float) -> float:
    """Mean firing rate in Hz over a population."""
    if n_neurons == 0 or duration_ms <= 0:
        return 0.0
    return len(trains) / n_neurons / (duration_ms / 1000.0)


def neuron_rates(trains: SpikeTrains, neurons: np.ndarray, duration_ms: float) -> np.ndarray:
    """Firing rate (Hz) of each neuron in ``neurons`` (indices into the population)."""
    neurons = np.asarray(neurons, dtype=np.int64)
    if duration_ms <= 0 or neurons.size == 0:
        return np.zeros(neurons.size)
    size = int(max(neurons.max(), trains.index.max(initial=-1))) + 1
    counts = np.bincount(trains.index, minlength=size)
    return counts[neurons] / (duration_ms / 1000.0)


def isi_distortion(match: SpikeMatch) -> np.ndarray:
    """PyCARL's ISI distortion (ms) of every interval that both runs have (module doc)."""
    same = match.neuron[1:] == match.neuron[:-1]
    consecutive = (same & (match.reference_position[1:] == match.reference_position[:-1] + 1)
                   & (match.test_position[1:] == match.test_position[:-1] + 1))
    distortion = np.diff(match.test_times) - np.diff(match.reference_times)
    return distortion[consecutive]


@dataclass(frozen=True)
class Disorder:
    matched: int             # matched spikes considered
    inverted_pairs: int      # pairs received in the opposite order of their generation
    disordered_spikes: int   # spikes that overtook at least one earlier-generated spike


def _ranks(times: np.ndarray) -> np.ndarray:
    """Dense ranks of ``times``, equal within TIME_SLACK_MS."""
    order = np.argsort(times, kind="stable")
    steps = np.diff(times[order]) > TIME_SLACK_MS
    ranks = np.empty(times.size, np.int64)
    ranks[order] = np.concatenate(([0], np.cumsum(steps))) if times.size else []
    return ranks


@numba.njit(cache=True)
def _count_disorder(gen_rank, recv_rank, n_recv_ranks):
    """Spikes sorted by generation rank; a Fenwick tree over reception ranks counts, for
    each spike, the earlier-generated spikes received after it."""
    tree = np.zeros(n_recv_ranks + 1, np.int64)
    inverted = 0
    disordered = 0
    inserted = 0
    latest = -1                       # latest reception rank of the groups inserted
    start = 0
    n = gen_rank.size
    while start < n:
        stop = start
        while stop < n and gen_rank[stop] == gen_rank[start]:
            stop += 1
        for s in range(start, stop):  # query the strictly earlier groups
            r = recv_rank[s] + 1
            not_after = 0
            while r > 0:
                not_after += tree[r]
                r -= r & -r
            inverted += inserted - not_after
            if latest > recv_rank[s]:
                disordered += 1
        for s in range(start, stop):  # then insert this group
            r = recv_rank[s] + 1
            while r <= n_recv_ranks:
                tree[r] += 1
                r += r & -r
            inserted += 1
            latest = max(latest, recv_rank[s])
        start = stop
    return inverted, disordered


def spike_disorder(generated: np.ndarray, received: np.ndarray) -> Disorder:
    """Disorder of matched spikes: ``generated[p]`` (reference) and ``received[p]`` (test)
    are the two times of pair ``p``, in any order of pairs (module doc)."""
    generated = np.asarray(generated, dtype=np.float64)
    received = np.asarray(received, dtype=np.float64)
    if generated.shape != received.shape:
        raise ValueError(f"spike_disorder: {generated.size} generated times but "
                         f"{received.size} received times")
    if generated.size == 0:
        return Disorder(0, 0, 0)
    gen_rank, recv_rank = _ranks(generated), _ranks(received)
    order = np.lexsort((recv_rank, gen_rank))
    inverted, disordered = _count_disorder(gen_rank[order], recv_rank[order],
                                           int(recv_rank.max()) + 1)
    return Disorder(int(generated.size), int(inverted), int(disordered))


def summary(values) -> dict[str, float | int | None]:
    """count, mean, std, min, median, p95, p99, max of ``values`` (None where empty);
    ``mean_abs``, ``p95_abs`` and ``max_abs`` of their magnitudes."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return {"count": 0, "mean": None, "std": None, "min": None, "median": None,
                "p95": None, "p99": None, "max": None, "mean_abs": None, "p95_abs": None,
                "max_abs": None}
    a = np.abs(v)
    return {"count": int(v.size), "mean": float(v.mean()), "std": float(v.std()),
            "min": float(v.min()), "median": float(np.median(v)),
            "p95": float(np.percentile(v, 95)), "p99": float(np.percentile(v, 99)),
            "max": float(v.max()), "mean_abs": float(a.mean()),
            "p95_abs": float(np.percentile(a, 95)), "max_abs": float(a.max())}


def correlation(a, b) -> float | None:
    """Pearson correlation of two equally long arrays; None if either is constant."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def weight_divergence(reference: np.ndarray, test: np.ndarray, initial: np.ndarray,
                      w_max: float) -> dict[str, float | int | None]:
    """How far the final weights of a plastic projection drifted apart (weight units of
    the projection); ``*_rel`` are relative to ``w_max``; ``change_correlation``
    correlates what each run learned (final - initial)."""
    reference = np.asarray(reference, dtype=np.float64)
    test = np.asarray(test, dtype=np.float64)
    initial = np.asarray(initial, dtype=np.float64)
    if not reference.shape == test.shape == initial.shape:
        raise ValueError(f"weight_divergence: {reference.size} reference, {test.size} test "
                         f"and {initial.size} initial weights")
    d = test - reference
    rms = float(np.sqrt(np.mean(d ** 2))) if d.size else 0.0
    max_abs = float(np.abs(d).max()) if d.size else 0.0
    scale = abs(w_max) if w_max else None
    return {"synapses": int(d.size), "rms": rms, "max_abs": max_abs,
            "rms_rel": rms / scale if scale else None,
            "max_abs_rel": max_abs / scale if scale else None,
            "correlation": correlation(reference, test),
            "change_correlation": correlation(reference - initial, test - initial),
            "mean_reference": float(reference.mean()) if d.size else None,
            "mean_test": float(test.mean()) if d.size else None,
            "mean_initial": float(initial.mean()) if d.size else None}
