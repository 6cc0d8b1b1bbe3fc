"""Spike-level fidelity metrics between two runs of the same network.

Matching is per neuron and one-to-one: each spike of the run under test is
paired with at most one spike of the reference run no further than
``tolerance`` ms away, earliest first.  Because both trains are sorted this
greedy pairing is optimal for one-dimensional matching with a fixed window.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurohw.results import SpikeTrains

__all__ = ["SpikeMatch", "match_spikes", "firing_rate"]


@dataclass(frozen=True)
class SpikeMatch:
    n_reference: int
    n_test: int
    n_matched: int
    time_errors: np.ndarray   # test - reference, ms, one per matched pair

    @property
    def precision(self) -> float:
        """Share of the tested run's spikes that the reference also has."""
        return self.n_matched / self.n_test if self.n_test else 1.0

    @property
    def recall(self) -> float:
        """Share of the reference spikes that the tested run reproduces."""
        return self.n_matched / self.n_reference if self.n_reference else 1.0


def _match_sorted(ref: np.ndarray, test: np.ndarray, tolerance: float) -> list[float]:
    errors = []
    i = j = 0
    while i < ref.size and j < test.size:
        d = test[j] - ref[i]
        if abs(d) <= tolerance:
            errors.append(d)
            i += 1
            j += 1
        elif d < 0:
            j += 1
        else:
            i += 1
    return errors


def match_spikes(reference: SpikeTrains, test: SpikeTrains, tolerance: float) -> SpikeMatch:
    """Pair the spikes of ``test`` with those of ``reference`` neuron by neuron."""
    errors: list[float] = []
    neurons = np.union1d(reference.index, test.index)
    for n in neurons:
        errors += _match_sorted(np.sort(reference.of(n)), np.sort(test.of(n)), tolerance)
    return SpikeMatch(len(reference), len(test), len(errors), np.asarray(errors, dtype=float))


def firing_rate(trains: SpikeTrains, n_neurons: int, duration_ms: float) -> float:
    """Mean firing rate in Hz over a population."""
    if n_neurons == 0 or duration_ms <= 0:
        return 0.0
    return len(trains) / n_neurons / (duration_ms / 1000.0)
