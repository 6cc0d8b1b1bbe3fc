"""Turning the PyNN objects of the current ``setup()`` into an :class:`neurohw.ir.Network`.

A network may be built in the middle of a PyNN segment (after a change that
the running runner cannot absorb).  The new runner starts at its own time 0,
so everything time-dependent is shifted by ``t_offset``: spike trains lose the
spikes already delivered, Poisson sources start later, step currents start
with the amplitude active at ``t_offset``, and neurons start from the state the
previous runner ended in (``carried_state``, the IR's state variables).  What
the IR does not describe starts afresh: refractory clocks, spikes still in
transit along delays, STDP traces, Tsodyks-Markram use and resources (fully
recovered again), hidden synaptic variables (the rising part of an alpha
synapse) and the Poisson random stream.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
from pyNN import common

from .. import ir

# spikes and step times closer than this to t_offset count as "at" t_offset (ms)
_TIME_EPS = 1e-9


def build_network(state, t_offset: float = 0.0, carried_state=None,
                  until: float = np.inf) -> ir.Network:
    """The IR of everything created since setup(); `until` is the end of the run it is
    built for (how far continually changing currents are sampled)."""
    populations = tuple(population_to_ir(p, t_offset, carried_state) for p in state.populations)
    projections = tuple(piece for prj in state.projections for piece in projection_to_ir(prj))
    currents = tuple(current for source in state.current_sources
                     for current in current_source_to_ir(source, t_offset, until))
    return ir.Network(
        dt=float(state.dt),
        populations=populations,
        projections=projections,
        currents=currents,
        min_delay=None if state._min_delay == "auto" else float(state._min_delay),
        max_delay=None if state.max_delay == "auto" else float(state.max_delay),
        metadata={"built_by": "neurohw.pynn", "t_offset": float(t_offset)},
    )


# --- populations ---------------------------------------------------------------------------
def population_to_ir(population, t_offset: float = 0.0, carried_state=None) -> ir.Population:
    cell_type = population.celltype.ir_cell_type
    spec = ir.CELL_TYPES[cell_type]
    params = {name: np.asarray(population._parameters[name], dtype=float)
              for name in spec.parameters}
    spike_times = None
    if cell_type == "SpikeSourceArray":
        spike_times = tuple(_shift_spike_train(seq, t_offset)
                            for seq in population._parameters["spike_times"])
    elif cell_type == "SpikeSourcePoisson" and t_offset:
        stop = params["start"] + params["duration"]
        params["start"] = np.maximum(params["start"] - t_offset, 0.0)
        params["duration"] = np.maximum(stop - t_offset - params["start"], 0.0)
    carried = (carried_state or {}).get(population.ir_label, {})
    initial = {var: carried[var] if var in carried else population._initial_arrays[var]
               for var in spec.state if var in carried or var in population._initial_arrays}
    recorder = population.recorder
    record = {variable.name: population.id_to_index(np.fromiter(ids, dtype=int))
              for variable, ids in recorder.recorded.items() if ids}
    analog = any(var != "spikes" for var in record)
    return ir.Population(
        label=population.ir_label, cell_type=cell_type, size=population.size,
        params=params, initial=initial, record=record,
        record_interval=float(recorder.sampling_interval) if analog else None,
        spike_times=spike_times)


def _shift_spike_train(sequence, t_offset: float) -> np.ndarray:
    times = np.asarray(getattr(sequence, "value", sequence), dtype=float).ravel()
    if not t_offset:
        return times
    times = times[times >= t_offset - _TIME_EPS] - t_offset
    return np.maximum(times, 0.0)


# --- projections ---------------------------------------------------------------------------
def cells_in_populations(neurons):
    """For a Population, PopulationView or Assembly: the distinct parent Populations it
    draws on, and for each of its cells (in its own order) which of them holds the
    cell and the cell's index there."""
    members = neurons.populations if isinstance(neurons, common.Assembly) else [neurons]
    parents = OrderedDict()
    which, index = [], []
    for member in members:
        if isinstance(member, common.PopulationView):
            parent = member.grandparent
            idx = member.index_in_grandparent(np.arange(member.size))
        else:
            parent, idx = member, np.arange(member.size)
        number = parents.setdefault(id(parent), (len(parents), parent))[0]
        which.append(np.full(member.size, number))
        index.append(np.asarray(idx, dtype=np.int64))
    return [p for _, p in parents.values()], np.concatenate(which), np.concatenate(index)


def projection_pieces(projection):
    """Split a projection into one piece per (pre Population, post Population) pair.

    Returns ``[(pre_population, post_population, synapse_mask, pre_idx, post_idx)]``
    where the indices are positions in those Populations.
    """
    pre_pops, pre_which, pre_index = cells_in_populations(projection.pre)
    post_pops, post_which, post_index = cells_in_populations(projection.post)
    pre_w, post_w = pre_which[projection._pre_index], post_which[projection._post_index]
    pieces = []
    for i, pre in enumerate(pre_pops):
        for j, post in enumerate(post_pops):
            mask = (pre_w == i) & (post_w == j)
            if mask.any():
                pieces.append((pre, post, mask,
                               pre_index[projection._pre_index[mask]],
                               post_index[projection._post_index[mask]]))
    return pieces


def projection_to_ir(projection) -> list[ir.Projection]:
    if not projection._pieces:
        return []
    plasticity = projection.synapse_type._ir_plasticity(projection)
    weight, delay = projection._attributes["weight"], projection._attributes["delay"]
    return [ir.Projection(label=label, pre=pre.ir_label, post=post.ir_label,
                          receptor=projection.receptor_type,
                          pre_idx=pre_idx, post_idx=post_idx,
                          weight=weight[mask], delay=delay[mask], plasticity=plasticity,
                          short_term=projection.synapse_type._ir_short_term(projection, mask))
            for label, (pre, post, mask, pre_idx, post_idx)
            in zip(projection._piece_labels, projection._pieces)]


# --- current sources -----------------------------------------------------------------------
def current_source_to_ir(source, t_offset: float = 0.0,
                         until: float = np.inf) -> list[ir.StepCurrent]:
    times, amplitudes = source._step_waveform(until)
    if t_offset:
        started = times <= t_offset + _TIME_EPS
        active = amplitudes[started][-1] if started.any() else 0.0
        times = np.concatenate(([0.0], times[~started] - t_offset))
        amplitudes = np.concatenate(([active], amplitudes[~started]))
    by_population = OrderedDict()
    for population, index in source._targets:
        by_population.setdefault(id(population), (population, []))[1].append(index)
    return [ir.StepCurrent(label=source.ir_label, population=population.ir_label,
                           indices=np.array(indices, dtype=np.int64),
                           times=times, amplitudes=amplitudes)
            for population, indices in by_population.values()]
