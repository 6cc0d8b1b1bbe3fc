"""Export an :class:`neurohw.ir.Network` to NIR and import it back (``nir`` 1.0.8).

NIR describes the inference graph in continuous time; everything it has no
field for (refractoriness, recording, STDP and short-term plasticity, per-synapse
delays and the exact sparse synapse arrays, sources' spike times and rates,
currents, ``Network.metadata``) travels in node and graph metadata, so that
``from_nir(to_nir(net))`` reproduces ``net`` bit for bit, also through
``nir.write`` / ``nir.read``.  A graph written by another tool has no such
metadata and is imported from its NIR nodes alone (see :func:`from_nir`).

Graph layout (node names are population/projection labels with ``%``, ``/``,
``.`` and NUL percent-encoded, so the ``.`` suffixes below never collide):

* a SpikeSourceArray/SpikeSourcePoisson population ``P`` -> ``P``: ``Input``;
* an IF_curr_exp population whose two synaptic time constants are equal for
  every neuron -> ``P``: ``CubaLIF`` (exact), with
  ``tau_syn = tau_syn_E``, ``tau_mem = tau_m``, ``r = tau_m / cm`` (MOhm),
  ``v_leak = v_rest``, ``v_threshold = v_thresh``, ``v_reset = v_reset`` and
  ``w_in = tau_syn``: NIR's ``tau_syn dI/dt = -I + w_in S`` with ``S`` a sum
  of weighted Dirac spikes makes ``I`` jump by ``w_in * w / tau_syn = w`` nA,
  PyNN's jump;
* any other cell population -> a ``LIF`` soma ``P`` (same mapping, ``tau``
  for ``tau_mem``) fed by one ``LI`` synaptic filter per receptor, ``P.exc``
  and ``P.inh`` (``tau = r = tau_syn_E`` or ``tau_syn_I``, ``v_leak = 0``,
  so a spike of weight ``w`` makes the filter jump by ``w``).  Exact for
  IF_curr_exp; for IF_curr_alpha (alpha kernel) and IF_cond_exp (the filter
  output is a conductance, not a current) this is the closest NIR reading and
  the exact model is in the metadata;
* a projection ``J`` -> per distinct delay (in steps of dt) a ``Delay`` over
  the presynaptic population, ``J.delay``, then a dense ``Linear``
  ``J.weight`` with ``weight[post, pre]`` the summed weights (nA or uS) of
  that pair, edged into the target ``P`` (CubaLIF) or ``P.exc``/``P.inh``;
  with several delays the branches are ``J.<k>.delay`` / ``J.<k>.weight``
  (NIR has no sparse weights: each branch costs ``8 * n_post * n_pre`` bytes);
* a population that records spikes -> also an ``Output`` ``P.out``.

Times are in ms (NIR itself has no units; the graph metadata says so).
Graphs without a spike source are fully recurrent; NIR's type inference
needs an ``Input`` to start from, so read those with
``nir.read(path, type_check=False)`` (this module checks the edge shapes with
``NIRGraph.check_types`` itself).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import nir
import numpy as np

from . import io, ir

__all__ = ["to_nir", "from_nir", "UNITS"]

METADATA_KEY = "neurohw"
UNITS = {"time": "ms", "voltage": "mV", "current": "nA", "conductance": "uS",
         "capacitance": "nF", "resistance": "MOhm", "rate": "Hz"}
_RECEPTOR_SUFFIX = {"excitatory": "exc", "inhibitory": "inh"}


def _node_name(label: str) -> str:
    """A label as a NIR node name that is also a safe HDF5 group name."""
    for char in "%/.\x00":   # '%' first: it is the escape character itself
        label = label.replace(char, f"%{ord(char):02X}")
    return label


def _element_metadata(kind: str, description: dict, arrays: io.Arrays) -> dict:
    return {METADATA_KEY: {"kind": kind, "description": json.dumps(description),
                           "arrays": arrays}}


# ---- export --------------------------------------------------------------------------

def _single_synapse_time_constant(pop: ir.Population) -> bool:
    return (pop.cell_type == "IF_curr_exp"
            and np.array_equal(pop.params["tau_syn_E"], pop.params["tau_syn_I"]))


def _population_nodes(pop: ir.Population, name: str, metadata: dict) -> dict[str, nir.NIRNode]:
    if pop.celltype.is_source:
        return {name: nir.Input(np.array([pop.size]), metadata=metadata)}
    p = {k: v.copy() for k, v in pop.params.items()}   # NIR nodes are mutable; the IR is not
    resistance = p["tau_m"] / p["cm"]
    if _single_synapse_time_constant(pop):
        return {name: nir.CubaLIF(tau_syn=p["tau_syn_E"], tau_mem=p["tau_m"], r=resistance,
                                  v_leak=p["v_rest"], v_threshold=p["v_thresh"],
                                  v_reset=p["v_reset"], w_in=p["tau_syn_E"],
                                  metadata=metadata)}
    nodes = {name: nir.LIF(tau=p["tau_m"], r=resistance, v_leak=p["v_rest"],
                           v_threshold=p["v_thresh"], v_reset=p["v_reset"], metadata=metadata)}
    for receptor, tau in (("exc", p["tau_syn_E"]), ("inh", p["tau_syn_I"])):
        nodes[f"{name}.{receptor}"] = nir.LI(tau=tau, r=tau.copy(), v_leak=np.zeros(pop.size),
                                             metadata={METADATA_KEY: {"kind": "synapse filter",
                                                                      "population": pop.label}})
    return nodes


def _delay_branches(prj: ir.Projection, dt: float) -> list[np.ndarray]:
    """Synapse indices grouped by delay in whole steps (what a simulator delivers)."""
    if prj.size == 0:
        return [np.zeros(0, dtype=np.int64)]
    steps = np.rint(prj.delay / dt).astype(np.int64)
    return [np.flatnonzero(steps == s) for s in np.unique(steps)]


def to_nir(net: ir.Network) -> nir.NIRGraph:
    """``net`` as a NIR graph; see the module docstring for the layout."""
    # labels are unique per kind and escaped so that they contain no '.', and every
    # node name below is an escaped label plus a distinct '.'-suffix pattern per kind,
    # so two elements can never claim one node name
    nodes: dict[str, nir.NIRNode] = {}
    edges: list[tuple[str, str]] = []
    pop_names, prj_names = {}, {}
    for pop in net.populations:
        name = pop_names[pop.label] = _node_name(pop.label)
        arrays: io.Arrays = {}
        description = io.encode_population(pop, arrays, "")
        nodes.update(_population_nodes(pop, name,
                                       _element_metadata("population", description, arrays)))
        if "spikes" in pop.record:
            nodes[f"{name}.out"] = nir.Output(np.array([pop.size]))
            edges.append((name, f"{name}.out"))
        if not pop.celltype.is_source and not _single_synapse_time_constant(pop):
            edges += [(f"{name}.exc", name), (f"{name}.inh", name)]

    for prj in net.projections:
        pre, post = net.population(prj.pre), net.population(prj.post)
        name = prj_names[prj.label] = _node_name(prj.label)
        target = pop_names[post.label]
        if not _single_synapse_time_constant(post):
            target += "." + _RECEPTOR_SUFFIX[prj.receptor]
        branches = _delay_branches(prj, net.dt)
        for k, synapses in enumerate(branches):
            stem = name if len(branches) == 1 else f"{name}.{k}"
            delays = prj.delay[synapses]
            if delays.size and np.all(delays == delays[0]):
                delay = delays[0]
            else:   # an empty projection, or delays rounding to one step
                delay = np.rint(delays[0] / net.dt) * net.dt if delays.size else net.min_delay
            weight = np.zeros((post.size, pre.size))
            np.add.at(weight, (prj.post_idx[synapses], prj.pre_idx[synapses]),
                      prj.weight[synapses])
            metadata = {METADATA_KEY: {"kind": "projection branch", "projection": prj.label}}
            if k == 0:   # the exact synapses, once per projection
                arrays = {}
                metadata = _element_metadata("projection", io.encode_projection(prj, arrays, ""),
                                             arrays)
            nodes[f"{stem}.delay"] = nir.Delay(np.full(pre.size, delay, dtype=np.float64))
            nodes[f"{stem}.weight"] = nir.Linear(weight, metadata=metadata)
            edges += [(pop_names[pre.label], f"{stem}.delay"),
                      (f"{stem}.delay", f"{stem}.weight"), (f"{stem}.weight", target)]

    arrays = {}
    settings = io.encode_network_settings(net, arrays)
    settings["populations"] = [pop_names[p.label] for p in net.populations]
    settings["projections"] = [prj_names[p.label] for p in net.projections]
    settings["currents"] = [io.encode_current(c, arrays, f"currents.{i}.")
                            for i, c in enumerate(net.currents)]
    graph_metadata = {METADATA_KEY: {"format": io.FORMAT, "version": io.FORMAT_VERSION,
                                     "description": json.dumps(settings), "arrays": arrays},
                      "units": dict(UNITS)}
    graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata=graph_metadata, type_check=False)
    graph.check_types()
    return graph


# ---- import --------------------------------------------------------------------------

def from_nir(graph: nir.NIRGraph, dt: float = 0.1, time_scale: float = 1.0) -> ir.Network:
    """The network described by ``graph``.

    A graph written by :func:`to_nir` (graph metadata ``neurohw``) is rebuilt
    exactly from its metadata; ``dt`` and ``time_scale`` are then ignored.

    Any other graph is read from its nodes: ``Input`` -> SpikeSourceArray with
    no spikes (feed it yourself); ``CubaLIF`` -> IF_curr_exp (the inverse of
    the mapping above, ``cm = tau_mem / r``, both ``tau_syn`` equal, no
    refractory period); connections of the form
    ``source [-> Delay] -> Linear|Affine [-> Delay] -> CubaLIF`` -> one
    projection per sign of weight (positive excitatory, negative inhibitory),
    with PyNN weights ``w * w_in / tau_syn`` (``tau_syn`` in the graph's own
    time unit: a Dirac spike has units of 1/time) and an ``Affine`` bias ``b``
    added to ``i_offset`` as ``w_in * b`` (its steady-state current).  A
    missing or shorter-than-``dt`` delay becomes ``dt``, the shortest a
    discrete-time simulator delivers.  Populations with an edge to an
    ``Output`` record their spikes.  ``time_scale`` is the number of ms per
    NIR time unit (1000 for graphs in seconds).
    """
    if not isinstance(graph, nir.NIRGraph):
        raise ir.NetworkError(f"from_nir needs a nir.NIRGraph, got {type(graph).__name__}")
    if METADATA_KEY in (graph.metadata or {}):
        return _from_neurohw_graph(graph)
    return _ForeignGraph(graph, dt, time_scale).network()


def _description(metadata: Any, where: str) -> tuple[dict, dict]:
    try:
        entry = metadata[METADATA_KEY]
        return json.loads(entry["description"]), dict(entry["arrays"])
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise io.NetworkFileError(f"NIR graph: {where} lacks valid neurohw metadata "
                                  f"({type(exc).__name__}: {exc})") from None


def _from_neurohw_graph(graph: nir.NIRGraph) -> ir.Network:
    entry = graph.metadata[METADATA_KEY]
    io.check_format(entry, "NIR graph")
    settings, arrays = _description(graph.metadata, "the graph")

    def node_metadata(name: str, kind: str) -> dict:
        try:
            return graph.nodes[name].metadata
        except KeyError:
            raise io.NetworkFileError(f"NIR graph: the {kind} node '{name}' named in the "
                                      f"graph metadata is missing") from None

    def element(name: str, kind: str, decode):
        description, element_arrays = _description(node_metadata(name, kind),
                                                    f"{kind} node '{name}'")
        try:
            return decode(description, element_arrays)
        except (KeyError, TypeError, io.NetworkFileError) as exc:
            raise io.NetworkFileError(f"NIR graph: {kind} node '{name}': malformed neurohw "
                                      f"metadata ({type(exc).__name__}: {exc})") from None

    try:
        return ir.Network(
            **{k: settings[k] for k in ("dt", "min_delay", "max_delay", "duration", "seed")},
            metadata=io.decode_metadata(settings["metadata"], arrays),
            populations=[element(n, "population", io.decode_population)
                         for n in settings["populations"]],
            projections=[element(f"{n}.weight" if f"{n}.weight" in graph.nodes else
                                 f"{n}.0.weight", "projection", io.decode_projection)
                         for n in settings["projections"]],
            currents=[io.decode_current(c, arrays) for c in settings["currents"]])
    except (KeyError, TypeError) as exc:
        raise io.NetworkFileError(f"NIR graph: malformed neurohw graph metadata "
                                  f"({type(exc).__name__}: {exc})") from None


@dataclass(frozen=True)
class _SynapseEntry:
    """Where spikes enter a population of a foreign graph, and at what scale."""
    population: str                # node name of the soma (CubaLIF or LIF)
    receptor: str | None           # None: each weight's sign decides
    jump_per_weight: np.ndarray    # PyNN current jump (nA) per unit of NIR weight, per neuron
    current_per_bias: np.ndarray   # steady-state current (nA) per unit of constant input


class _ForeignGraph:
    """Reads a NIR graph that carries no neurohw metadata, from its nodes alone."""

    SUPPORTED = (nir.Input, nir.Output, nir.CubaLIF, nir.LIF, nir.LI, nir.Linear, nir.Affine,
                 nir.Delay)

    def __init__(self, graph: nir.NIRGraph, dt: float, time_scale: float):
        self.graph, self.dt, self.time_scale = graph, dt, time_scale
        self.successors: dict[str, list[str]] = {name: [] for name in graph.nodes}
        self.predecessors: dict[str, list[str]] = {name: [] for name in graph.nodes}
        for src, dst in graph.edges:
            for name in (src, dst):
                if name not in graph.nodes:
                    raise ir.NetworkError(f"NIR graph: edge ({src!r}, {dst!r}) names a node "
                                          f"'{name}' that does not exist")
            self.successors[src].append(dst)
            self.predecessors[dst].append(src)
        for name, node in graph.nodes.items():
            if not isinstance(node, self.SUPPORTED):
                raise ir.NetworkError(
                    f"NIR graph: node '{name}' is a {type(node).__name__}; neurohw imports "
                    f"{', '.join(t.__name__ for t in self.SUPPORTED)}")
        self.entries: dict[str, _SynapseEntry] = {}
        self.synapse_tau: dict[str, tuple[np.ndarray, np.ndarray]] = {}   # soma -> (E, I)
        self.i_offset: dict[str, np.ndarray] = {}
        for name, node in graph.nodes.items():
            if isinstance(node, nir.CubaLIF):
                w_in, tau_syn = self._flat(name, "w_in"), self._flat(name, "tau_syn")
                # a Dirac spike of weight w: I jumps by w_in * w / tau_syn (NIR time units)
                self.entries[name] = _SynapseEntry(name, None, w_in / tau_syn, w_in)
                self.synapse_tau[name] = (tau_syn * time_scale,) * 2
                self.i_offset[name] = np.zeros(self._size(name))
            elif isinstance(node, nir.LIF):
                self._read_filters(name)

    def _read_filters(self, soma: str) -> None:
        """The LI nodes feeding LIF ``soma`` are its synaptic filters (one or two)."""
        filters = self.predecessors[soma]
        for f in filters:
            if not isinstance(self.graph.nodes[f], nir.LI) or self.successors[f] != [soma]:
                raise ir.NetworkError(
                    f"NIR graph: LIF '{soma}' is fed by '{f}' "
                    f"({type(self.graph.nodes[f]).__name__}); neurohw reads a LIF's inputs "
                    f"as LI synaptic filters that feed only it (a direct input would be a "
                    f"delta synapse, which neurohw's cell types do not have)")
        if len(filters) > 2:
            raise ir.NetworkError(f"NIR graph: LIF '{soma}' has {len(filters)} LI synaptic "
                                  f"filters {filters}; neurohw cells have two receptors")
        roles = [None] if len(filters) < 2 else self._filter_roles(soma, filters)
        self.i_offset[soma] = np.zeros(self._size(soma))
        taus = {}
        for f, role in zip(filters, roles):
            tau, r = self._flat(f, "tau"), self._flat(f, "r")
            # tau dI/dt = (v_leak - I) + r x: a Dirac spike of weight w makes I jump by
            # r * w / tau, a constant input b holds I at r * b, and v_leak is an offset
            self.entries[f] = _SynapseEntry(soma, role, r / tau, r)
            self.i_offset[soma] += self._flat(f, "v_leak")
            taus[role] = tau * self.time_scale
        # PyNN's default synaptic time constant where a receptor has no filter
        default = np.full(self._size(soma), 5.0)
        tau_e = taus.get("excitatory", taus.get(None, default))
        self.synapse_tau[soma] = (tau_e, taus.get("inhibitory", taus.get(None, default)))

    def _filter_roles(self, soma: str, filters: list[str]) -> list[str]:
        """Which of two filters is excitatory: by neurohw's '.exc'/'.inh' names, or else
        by the sign of the weights arriving at each."""
        suffixes = [f.rsplit(".", 1)[-1] for f in filters]
        if sorted(suffixes) == ["exc", "inh"]:
            return ["excitatory" if s == "exc" else "inhibitory" for s in suffixes]
        signs = []
        for f in filters:
            weights = np.concatenate([np.ravel(self.graph.nodes[w].weight)
                                      for w, _ in self._through_delay(f, "pre")
                                      if isinstance(self.graph.nodes[w], (nir.Linear, nir.Affine))]
                                     or [np.zeros(0)])
            signs.append("excitatory" if np.all(weights >= 0) else
                         "inhibitory" if np.all(weights <= 0) else None)
        if sorted(signs, key=str) != ["excitatory", "inhibitory"]:
            raise ir.NetworkError(f"NIR graph: cannot tell which of the LI filters {filters} "
                                  f"of LIF '{soma}' is excitatory: name them '<soma>.exc' and "
                                  f"'<soma>.inh', or feed one only positive weights and the "
                                  f"other only negative ones")
        return signs

    def _size(self, name: str) -> int:
        node = self.graph.nodes[name]
        shape = node.output_type["output"] if isinstance(node, nir.Input) else \
            node.v_threshold.shape
        return int(np.prod(shape))

    def _flat(self, name: str, field: str) -> np.ndarray:
        return np.ravel(np.asarray(getattr(self.graph.nodes[name], field), dtype=np.float64))

    def _delay(self, name: str | None, size: int) -> np.ndarray:
        if name is None:
            return np.zeros(size)
        return np.broadcast_to(self._flat(name, "delay") * self.time_scale, (size,))

    def _through_delay(self, name: str, direction: str) -> list[tuple[str, str | None]]:
        """Neighbours of ``name``, looking through Delay nodes: (neighbour, delay node)."""
        links = self.predecessors if direction == "pre" else self.successors
        found = []
        for other in links[name]:
            if isinstance(self.graph.nodes[other], nir.Delay):
                found += [(beyond, other) for beyond in links[other]]
            else:
                found.append((other, None))
        return found

    def _connection(self, name: str) -> list[ir.Projection]:
        node = self.graph.nodes[name]
        weight = np.asarray(node.weight, dtype=np.float64)
        sources = self._through_delay(name, "pre")
        if weight.ndim != 2 or len(sources) != 1:
            raise ir.NetworkError(f"NIR graph: {type(node).__name__} '{name}' must have a 2-D "
                                  f"weight and one source, has shape {weight.shape} and "
                                  f"sources {[s for s, _ in sources]}")
        source, pre_delay_node = sources[0]
        if not isinstance(self.graph.nodes[source], (nir.Input, nir.CubaLIF, nir.LIF)):
            raise ir.NetworkError(f"NIR graph: '{name}' is fed by '{source}', a "
                                  f"{type(self.graph.nodes[source]).__name__}, not a population")
        pre_delay = self._delay(pre_delay_node, weight.shape[1])
        projections = []
        targets = [(t, d) for t, d in self._through_delay(name, "post")
                   if not isinstance(self.graph.nodes[t], nir.Output)]
        for target, post_delay_node in targets:
            if target not in self.entries:
                raise ir.NetworkError(f"NIR graph: '{name}' feeds '{target}', a "
                                      f"{type(self.graph.nodes[target]).__name__}; neurohw "
                                      f"connects populations to CubaLIF nodes or to the LI "
                                      f"synaptic filters of LIF nodes")
            entry = self.entries[target]
            if isinstance(node, nir.Affine):
                self.i_offset[entry.population] += entry.current_per_bias * self._flat(name,
                                                                                       "bias")
            post_delay = self._delay(post_delay_node, weight.shape[0])
            # pre-major synapse order, as PyNN's connectors produce
            pre_idx, post_idx = np.nonzero(weight.T)
            w = weight[post_idx, pre_idx] * entry.jump_per_weight[post_idx]
            delay = np.maximum(pre_delay[pre_idx] + post_delay[post_idx], self.dt)
            label = name if len(targets) == 1 else f"{name}->{target}"
            if entry.receptor is not None:
                parts = [(entry.receptor, np.ones(w.size, dtype=bool))]
            else:
                signs = [("excitatory", w > 0), ("inhibitory", w < 0)]
                parts = [(receptor, keep) for receptor, keep in signs if np.any(keep)] \
                    or signs[:1]
            for receptor, keep in parts:
                projections.append(ir.Projection(
                    label if len(parts) == 1 else f"{label}.{_RECEPTOR_SUFFIX[receptor]}",
                    source, entry.population, receptor, pre_idx[keep], post_idx[keep],
                    w[keep], delay[keep]))
        return projections

    def _population(self, name: str) -> ir.Population:
        node = self.graph.nodes[name]
        size = self._size(name)
        recorded = any(isinstance(self.graph.nodes[s], nir.Output)
                       for s in self.successors[name])
        record = {"spikes": np.arange(size)} if recorded else {}
        if isinstance(node, nir.Input):
            return ir.Population(name, "SpikeSourceArray", size, record=record,
                                 spike_times=[[]] * size)
        tau_m = self._flat(name, "tau_mem" if isinstance(node, nir.CubaLIF) else "tau")
        tau_m = tau_m * self.time_scale
        tau_e, tau_i = self.synapse_tau[name]
        params = {"cm": tau_m / self._flat(name, "r"), "tau_m": tau_m, "tau_refrac": 0.0,
                  "tau_syn_E": tau_e, "tau_syn_I": tau_i, "v_rest": self._flat(name, "v_leak"),
                  "v_reset": self._flat(name, "v_reset"),
                  "v_thresh": self._flat(name, "v_threshold"), "i_offset": self.i_offset[name]}
        return ir.Population(name, "IF_curr_exp", size, params=params, record=record)

    def network(self) -> ir.Network:
        nodes = self.graph.nodes
        projections = [prj for name, node in nodes.items()
                       if isinstance(node, (nir.Linear, nir.Affine))
                       for prj in self._connection(name)]   # adds biases to i_offset
        populations = [self._population(name) for name, node in nodes.items()
                       if isinstance(node, (nir.Input, nir.CubaLIF, nir.LIF))]
        return ir.Network(dt=self.dt, populations=populations, projections=projections,
                          max_delay=max((float(p.delay.max()) for p in projections if p.size),
                                        default=None),
                          metadata={"nir_metadata": dict(self.graph.metadata or {})})
