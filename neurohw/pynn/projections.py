"""Projection for the neurohw backend: explicit synapse arrays, in connection order.

The connectors of ``pyNN.connectors`` call :meth:`Projection._convergent_connect`
once per postsynaptic cell; the synapses are kept as flat arrays
(``_pre_index``, ``_post_index`` relative to ``pre``/``post``, and one array
per native attribute: weight, delay and, for STDP, the rule's parameters).
A projection between Assemblies or views becomes one IR projection per pair
of underlying Populations (its *pieces*).
"""
from __future__ import annotations

import numpy as np
from pyNN import common, errors
from pyNN.space import Space

from . import simulator
from .network import projection_pieces
from .standardmodels import STDPMechanism, StaticSynapse, TsodyksMarkramSynapse


class Connection(common.Connection):
    """One synapse of a Projection, read and written through the projection's arrays."""

    def __init__(self, projection, index):
        self._projection = projection
        self._index = index

    @property
    def presynaptic_index(self):
        return int(self._projection._pre_index[self._index])

    @property
    def postsynaptic_index(self):
        return int(self._projection._post_index[self._index])

    def _get(self, name):
        return float(self._projection._attribute(name)[self._index])

    def _set(self, name, value):
        self._projection._set_synapse_values(name, [self._index], value)

    weight = property(lambda self: self._get("weight"), lambda self, w: self._set("weight", w),
                      doc="Synaptic weight in nA or µS.")
    delay = property(lambda self: self._get("delay"), lambda self, d: self._set("delay", d),
                     doc="Synaptic delay in ms.")

    def as_tuple(self, *attribute_names):
        return tuple(getattr(self, name) if name in ("presynaptic_index", "postsynaptic_index",
                                                     "weight", "delay")
                     else self._get(name) for name in attribute_names)


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector,
                 synapse_type=None, source=None, receptor_type=None, space=Space(),
                 label=None):
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population,
                                   connector, synapse_type, source, receptor_type, space, label)
        if not isinstance(self.synapse_type, (StaticSynapse, STDPMechanism,
                                              TsodyksMarkramSynapse)):
            raise TypeError(f"projection '{self.label}': synapse type "
                            f"{type(self.synapse_type).__name__} is not available in neurohw; "
                            f"available: StaticSynapse, STDPMechanism, TsodyksMarkramSynapse")
        state = simulator.state
        self._new_synapses = []            # filled by _convergent_connect, during connect()
        self._n_new_synapses = 0
        connector.connect(self)
        self._store_new_synapses()
        self._pieces = projection_pieces(self)
        base = state.unique_label("projection",
                                  self.label or f"projection{len(state.projections)}")
        self._piece_labels = [
            base if len(self._pieces) == 1 else f"{base} [{pre.ir_label} -> {post.ir_label}]"
            for pre, post, *_ in self._pieces]
        self._segment_start_weights = None
        self._check_weights(self._attributes["weight"])
        state.add("projection", self)

    # --- creating synapses (hook of pyNN.connectors) -----------------------------------------
    def _convergent_connect(self, presynaptic_indices, postsynaptic_index,
                            location_selector=None, **connection_parameters):
        if location_selector is not None:
            raise NotImplementedError(f"projection '{self.label}': neurohw has point neurons "
                                      f"only; location_selector is not supported")
        pre = np.array(presynaptic_indices, dtype=np.int64).ravel()
        values = {name: np.broadcast_to(np.asarray(value, dtype=float), pre.shape).copy()
                  for name, value in connection_parameters.items()}
        self._check_delays(values["delay"], first_synapse=self._n_new_synapses)
        self._new_synapses.append((pre, int(postsynaptic_index), values))
        self._n_new_synapses += pre.size

    def _store_new_synapses(self):
        chunks, self._new_synapses = self._new_synapses, None
        names = list(chunks[0][2]) if chunks else list(self.synapse_type.native_parameters.keys())
        self._pre_index = np.concatenate([pre for pre, _, _ in chunks] or
                                         [np.zeros(0, dtype=np.int64)])
        self._post_index = np.repeat(np.array([post for _, post, _ in chunks], dtype=np.int64),
                                     [pre.size for pre, _, _ in chunks])
        self._attributes = {name: np.concatenate([v[name] for _, _, v in chunks] or
                                                 [np.zeros(0)])
                            for name in names}

    # --- checks --------------------------------------------------------------------------
    def _check_delays(self, delays, first_synapse=0):
        state = simulator.state
        low = delays < state.dt * (1 - 1e-9)
        high = (delays > state.max_delay * (1 + 1e-9) if state.max_delay != "auto"
                else np.zeros(delays.shape, dtype=bool))
        for bad, limit in ((low, f"below the time step {state.dt} ms"),
                           (high, f"above max_delay {state.max_delay} ms")):
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise errors.ConnectionError(f"projection '{self.label}': synapse "
                                             f"{first_synapse + i} has delay {delays[i]} ms, "
                                             f"{limit}")

    def _check_weights(self, weights):
        """PyNN's sign convention, which the IR enforces: >= 0 except for inhibitory
        synapses onto current-based cells, which are <= 0."""
        negative_ok = np.zeros(weights.shape, dtype=bool)
        if self.receptor_type == "inhibitory":
            for pre, post, mask, *_ in self._pieces:
                negative_ok[mask] = not post.celltype.conductance_based
        bad = np.where(negative_ok, weights > 0, weights < 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            sign = "<= 0 (current-based inhibitory)" if negative_ok[i] else ">= 0"
            raise errors.ConnectionError(
                f"projection '{self.label}': weights must be {sign}; synapse {i} "
                f"(pre {self._pre_index[i]} -> post {self._post_index[i]}) has weight "
                f"{weights[i]}")

    # --- access --------------------------------------------------------------------------
    def __len__(self):
        return int(self._pre_index.size)

    def __getitem__(self, i):
        if not -len(self) <= i < len(self):
            raise IndexError(f"projection '{self.label}' has {len(self)} connections, "
                             f"no connection {i}")
        return Connection(self, i % len(self))

    @property
    def connections(self):
        return (Connection(self, i) for i in range(len(self)))

    def _attribute(self, name):
        if name not in self._attributes:
            raise errors.NonExistentParameterError(name, type(self.synapse_type).__name__,
                                                   sorted(self._attributes))
        return self._attributes[name]

    def _column(self, name):
        if name == "presynaptic_index":
            return self._pre_index
        if name == "postsynaptic_index":
            return self._post_index
        return self._attribute(name)

    def _get_attributes_as_list(self, names):
        return list(zip(*(self._column(name).tolist() for name in names)))

    _AGGREGATE = {"sum": (np.add, 0.0), "min": (np.minimum, np.inf), "max": (np.maximum, -np.inf)}

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        address = (self._pre_index, self._post_index)
        connected = np.zeros(self.shape, dtype=bool)
        connected[address] = True
        arrays = []
        for name in names:
            values = self._attribute(name)
            if multiple_synapses in self._AGGREGATE:
                ufunc, start = self._AGGREGATE[multiple_synapses]
                array = np.full(self.shape, start)
                ufunc.at(array, address, values)
            else:
                # plain assignment keeps the last of repeated addresses
                order = slice(None, None, -1) if multiple_synapses == "first" else slice(None)
                array = np.zeros(self.shape)
                array[self._pre_index[order], self._post_index[order]] = values[order]
            array[~connected] = np.nan
            arrays.append(array)
        return arrays

    def _set_attributes(self, parameter_space):
        parameter_space.evaluate(simplify=False)
        for name, values in parameter_space.items():
            self._set_synapse_values(name, slice(None),
                                     np.asarray(values)[self._pre_index, self._post_index])

    def _set_synapse_values(self, name, which, values):
        updated = self._attribute(name).copy()
        updated[which] = values
        if name == "weight":
            self._check_weights(updated)
        elif name == "delay":
            self._check_delays(updated)
        self._attributes[name] = updated
        # per-synapse values the running simulation takes in place
        if name in ("weight", "delay") + self.synapse_type.short_term_parameters:
            for label, (_, _, mask, *_) in zip(self._piece_labels, self._pieces):
                simulator.state.push_synapses(self, label, name, updated[mask])
        else:
            # the IR has one plasticity rule per projection: a new rule means a rebuild
            simulator.state.network_changed()

    # --- plastic weights across runs and resets --------------------------------------------
    @property
    def _is_plastic(self):
        return isinstance(self.synapse_type, STDPMechanism)

    def _fetch_learned_weights(self):
        if self._is_plastic and simulator.state.is_live(self):
            weights = self._attributes["weight"].copy()
            for label, (_, _, mask, *_) in zip(self._piece_labels, self._pieces):
                weights[mask] = simulator.state.simulation.get_synapses(label, "weight")
            self._attributes["weight"] = weights

    def _remember_segment_start_weights(self):
        if self._is_plastic and self._segment_start_weights is None:
            self._segment_start_weights = self._attributes["weight"].copy()

    def _restore_segment_start_weights(self):
        """reset() returns learned weights to the values the segment started with."""
        if self._segment_start_weights is not None:
            self._attributes["weight"] = self._segment_start_weights
            self._segment_start_weights = None
