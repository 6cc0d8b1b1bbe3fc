"""Recording: the runner's RunResults, gathered per population for PyNN's neo output.

Each run returns spikes and sampled signals for ``[t_start, t_stop)`` plus the
state at ``t_stop``.  The recorder keeps them for the current segment; when
PyNN asks for data it lays the samples out on the grid
``t_recording_start + k * sampling_interval`` up to the current time, both
ends included (the final point is the state the last run ended in).  Points
at which a neuron was not recorded are NaN.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import quantities as pq
from pyNN import recording

from . import simulator


class Recorder(recording.Recorder):
    _simulator = simulator

    def __init__(self, population, file=None):
        recording.Recorder.__init__(self, population, file)
        self._start_segment()

    def _start_segment(self):
        self._spikes = []                        # (neuron index, time) array pairs
        self._signals = defaultdict(list)        # variable -> [(times, indices, values)]
        self._final_values = {}                  # variable -> (time, values of all neurons)

    # --- what to record (hooks of pyNN.recording.Recorder) ----------------------------------
    def _record(self, variable, new_ids, sampling_interval=None):
        if sampling_interval is not None:
            dt = self._simulator.state.dt
            steps = sampling_interval / dt
            if sampling_interval <= 0 or abs(steps - round(steps)) > 1e-9 * max(steps, 1):
                raise ValueError(f"population '{self.population.label}': sampling_interval "
                                 f"{sampling_interval} ms is not a positive multiple of "
                                 f"the time step {dt} ms")
            self.sampling_interval = sampling_interval
        self._simulator.state.network_changed()

    def _reset(self):
        self._simulator.state.network_changed()

    def _clear_simulator(self):
        # the final values stay: they are the first sample of whatever is recorded next
        self._spikes = []
        self._signals = defaultdict(list)

    # --- data in -------------------------------------------------------------------------
    def _add_run(self, result, label, t_offset):
        spikes = result.spikes.get(label)
        if spikes is not None and len(spikes):
            self._spikes.append((np.array(spikes.index), np.asarray(spikes.times) + t_offset))
        for variable, signal in result.signals.get(label, {}).items():
            self._signals[variable].append((np.asarray(signal.times) + t_offset,
                                            np.asarray(signal.indices),
                                            np.asarray(signal.values)))
        t_stop = result.t_stop + t_offset
        for variable, values in result.final_state.get(label, {}).items():
            self._final_values[variable] = (t_stop, np.array(values, dtype=float))

    # --- data out (hooks of pyNN.recording.Recorder) -------------------------------------
    def _all_spikes(self):
        if not self._spikes:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        index = np.concatenate([i for i, _ in self._spikes])
        times = np.concatenate([t for _, t in self._spikes])
        return index, times

    def _get_spiketimes(self, requested_ids, clear=False):
        index, times = self._all_spikes()
        ids = index + int(self.population.first_id)
        keep = np.isin(ids, np.fromiter(requested_ids, dtype=int, count=len(requested_ids)))
        order = np.argsort(times[keep], kind="stable")
        return ids[keep][order], on_time_grid(times[keep][order], self._simulator.state.dt)

    def _get_all_signals(self, variable, ids, clear=False):
        interval = self.sampling_interval
        t_first = float(pq.Quantity(self._recording_start_time, pq.ms).magnitude)
        n_samples = int(np.floor((self._simulator.state.t - t_first) / interval + 1e-6)) + 1
        wanted = self.population.id_to_index(np.array(ids, dtype=int))
        values = np.full((n_samples, wanted.size), np.nan)
        column = {int(i): c for c, i in enumerate(wanted)}
        for times, indices, block in self._signals[variable.name]:
            rows = np.rint((times - t_first) / interval).astype(int)
            in_range = (rows >= 0) & (rows < n_samples)
            pairs = [(c, column[int(i)]) for c, i in enumerate(indices) if int(i) in column]
            if pairs:
                src, dst = map(list, zip(*pairs))
                values[np.ix_(rows[in_range], dst)] = block[in_range][:, src]
        if variable.name in self._final_values:
            t_final, final = self._final_values[variable.name]
            row = (t_final - t_first) / interval
            if abs(row - round(row)) < 1e-6 and 0 <= round(row) < n_samples:
                values[int(round(row)), :] = final[wanted]
        return values, None

    def _local_count(self, variable, filter_ids=None):
        index, _ = self._all_spikes()
        counts = np.bincount(index, minlength=self.population.size)
        first_id = int(self.population.first_id)
        return {int(id): int(counts[int(id) - first_id])
                for id in self.filter_recorded(variable, filter_ids)}


def on_time_grid(times: np.ndarray, dt: float) -> np.ndarray:
    """Spike times that lie on the dt grid, as the nearest doubles to k*dt.

    ``k * 0.1`` is not the double nearest to the decimal (``120 * 0.1`` is
    12.000000000000002); when 1/dt is an integer n, ``k / n`` is.
    """
    steps_per_ms = 1.0 / dt
    if abs(steps_per_ms - round(steps_per_ms)) > 1e-9:
        return times
    steps = times * round(steps_per_ms)
    on_grid = np.abs(steps - np.rint(steps)) < 1e-6
    return np.where(on_grid, np.rint(steps) / round(steps_per_ms), times)
