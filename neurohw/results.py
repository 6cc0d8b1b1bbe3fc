"""What a run returns: the one shape shared by software simulators and hardware targets.

A :class:`RunResult` covers one contiguous stretch of simulated time, the
steps from ``t_start`` to ``t_stop``.  Neuron spikes are stamped at the end of
their step (see :mod:`neurohw.ir`), so they fall in ``(t_start, t_stop]``;
spike-source spikes carry their own grid time and fall in ``[t_start, t_stop)``.  Spikes are kept as flat ``(index, time)`` arrays per
population (memory linear in the number of spikes); analog signals are dense
``(n_samples, n_recorded)`` blocks sampled at the population's record interval.
Hardware targets subclass this (``HardwareRun``) and add their timing trace,
so the report never special-cases a target.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SpikeTrains", "Signal", "RunResult"]


@dataclass
class SpikeTrains:
    """All spikes of one population: neuron ``index[i]`` fired at ``times[i]`` ms."""
    index: np.ndarray   # int64
    times: np.ndarray   # float64, ms, non-decreasing

    def __post_init__(self):
        self.index = np.asarray(self.index, dtype=np.int64)
        self.times = np.asarray(self.times, dtype=np.float64)

    def of(self, i: int) -> np.ndarray:
        """Spike times of neuron ``i``."""
        return self.times[self.index == i]

    def __len__(self) -> int:
        return int(self.times.size)


@dataclass
class Signal:
    """A sampled state variable: ``values[k, j]`` is the variable of neuron
    ``indices[j]`` at time ``times[k]`` (ms)."""
    times: np.ndarray     # (n_samples,) ms
    indices: np.ndarray   # (n_recorded,) int64
    values: np.ndarray    # (n_samples, n_recorded) float64, PyNN units


@dataclass
class RunResult:
    """Everything a run recorded, plus the state it ended in."""
    t_start: float
    t_stop: float
    dt: float
    spikes: dict[str, SpikeTrains] = field(default_factory=dict)           # by population
    signals: dict[str, dict[str, Signal]] = field(default_factory=dict)    # population -> var
    weights: dict[str, np.ndarray] = field(default_factory=dict)           # plastic projections
    final_state: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    wall_time: dict[str, float] = field(default_factory=dict)              # "build", "run" (s)
    backend: str = ""
