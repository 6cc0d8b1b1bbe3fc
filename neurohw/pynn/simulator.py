"""Simulation state of the neurohw PyNN backend (what ``pyNN.common`` calls ``simulator``).

The PyNN objects (populations, projections, current sources) hold the model.
At ``run()`` the state turns them into an :class:`neurohw.ir.Network`, hands
it to the chosen target's runner and keeps that runner for the following
runs.  Between runs, parameter, state and weight/delay changes are pushed
into the running runner; anything else (new objects, recording or spike-time
changes, current sources, plasticity parameters) marks the network *stale* and
the next run rebuilds it from the current state at the current time.
"""
from __future__ import annotations

import numpy as np
from pyNN import common

from .. import ir
from . import capturing, targets
from .network import build_network

name = "neurohw"


class ID(int, common.IDMixin):

    def __init__(self, n):
        """Create an ID object with numerical value `n`."""
        int.__init__(n)
        common.IDMixin.__init__(self)


class State(common.control.BaseState):

    def __init__(self):
        common.control.BaseState.__init__(self)
        self.mpi_rank = 0
        self.num_processes = 1
        self.dt = 0.1
        self.target = targets.DEFAULT_TARGET
        self.target_options = {}
        self.clear()

    # --- what exists ------------------------------------------------------------------
    def clear(self):
        """Forget the whole network (``setup()``)."""
        self.recorders = set()
        self.populations = []
        self.projections = []
        self.current_sources = []
        self.write_on_end = []
        self.id_counter = 0
        self.segment_counter = -1
        self._labels = {"population": set(), "projection": set(), "current source": set()}
        self._min_delay = "auto"
        self.max_delay = "auto"
        self.reset()

    def reset(self):
        """Back to t = 0 and the initial values; the next run builds a new runner."""
        self.running = False
        self.t = 0.0
        self.segment_counter += 1
        self.release()
        self._stale = True
        self._live = set()          # id() of the populations/projections in self.simulation
        self._t_offset = 0.0        # network time 0 of self.simulation, in PyNN time
        self._built_until = 0.0     # end of the run self.simulation was built for
        self._rebuilds = 0
        self._final_state = {}      # population label -> variable -> values at self.t
        for projection in self.projections:
            projection._restore_segment_start_weights()
        for recorder in self.recorders:
            recorder._start_segment()

    def release(self) -> None:
        """Let go of the runner: one holding a device (a board's serial port, a virtual
        board) closes it, so that the next runner, or another program, can open it."""
        simulation = getattr(self, "simulation", None)
        self.simulation = None
        if simulation is not None and hasattr(simulation, "close"):
            simulation.close()

    def unique_label(self, kind: str, label: str) -> str:
        """``label``, or ``label (2)``, ... if another object of ``kind`` already uses it
        (the IR requires unique labels; PyNN does not)."""
        taken = self._labels[kind]
        candidate, n = label, 2
        while candidate in taken:
            candidate, n = f"{label} ({n})", n + 1
        taken.add(candidate)
        return candidate

    def add(self, kind: str, obj) -> None:
        {"population": self.populations, "projection": self.projections,
         "current source": self.current_sources}[kind].append(obj)
        self.network_changed()

    # --- delays -------------------------------------------------------------------------
    @property
    def min_delay(self):
        """The min_delay given to setup(), or with "auto" the smallest delay in the network."""
        if self._min_delay != "auto":
            return self._min_delay
        delays = [prj._attributes["delay"].min() for prj in self.projections if len(prj)]
        return float(min(delays)) if delays else self.dt

    @min_delay.setter
    def min_delay(self, value):
        self._min_delay = value

    @property
    def default_delay(self) -> float:
        """Delay of synapses created without one: PyNN's minimum delay."""
        return self.dt if self._min_delay == "auto" else self._min_delay

    # --- running ------------------------------------------------------------------------
    def network_changed(self):
        """A change the running runner cannot take in place: rebuild at the next run."""
        self._stale = True

    def run_until(self, tstop):
        self.running = True
        if not self.populations:
            self.t = tstop          # nothing to simulate (an IR network needs a population)
            return
        if any(source.needs_samples_beyond(self._built_until, tstop)
               for source in self.current_sources):
            self.network_changed()
        if self.simulation is None or self._stale:
            self._build(tstop)
        if tstop - self.t < self.dt / 2:
            return
        result = self.simulation.run(tstop - self.t)
        self.t = self._t_offset + result.t_stop
        self._collect(result)
        captured = capturing.active()
        if captured is not None:
            captured.runs.append(capturing.CapturedRun(self.target, self.network, result))

    def _build(self, until):
        rebuilding = self.simulation is not None
        for projection in self.projections:
            projection._remember_segment_start_weights()
        network = build_network(self, t_offset=self.t,
                                carried_state=self._final_state if rebuilding else None,
                                until=until)
        options = dict(self.target_options)
        if rebuilding:
            self._rebuilds += 1
            if options.get("seed") is not None:
                # a rebuilt runner must not replay the random numbers of the previous one
                options["seed"] = options["seed"] + self._rebuilds
        self.release()      # the port is free before the new runner opens it
        self.simulation = targets.runner_class(self.target)(network, **options)
        self.network = network
        self._t_offset = self.t
        self._built_until = until
        self._stale = False
        self._live = {id(obj) for obj in self.populations + self.projections}

    def _collect(self, result):
        for population in self.populations:
            label = population.ir_label
            population.recorder._add_run(result, label, self._t_offset)
            final = result.final_state.get(label, {})
            self._final_state[label] = {var: np.array(values, dtype=float)
                                        for var, values in final.items()}
        for projection in self.projections:
            projection._fetch_learned_weights()

    # --- changes between runs -----------------------------------------------------------
    def is_live(self, obj) -> bool:
        """Is ``obj`` part of the runner that the next run continues?"""
        return self.simulation is not None and not self._stale and id(obj) in self._live

    def push_parameter(self, population, name, values):
        if self.is_live(population):
            self.simulation.set_parameter(population.ir_label, name, np.asarray(values, float))

    def push_state(self, population, variable, values):
        if population.ir_label in self._final_state:
            # a rebuild starts from the carried state: keep it in step with the new value
            self._final_state[population.ir_label][variable] = np.array(values, dtype=float)
        if self.is_live(population):
            self.simulation.set_state(population.ir_label, variable, np.asarray(values, float))

    def push_synapses(self, projection, ir_label, name, values):
        if self.is_live(projection):
            try:
                self.simulation.set_synapses(ir_label, name, np.asarray(values, float))
            except ir.NetworkError:
                if name != "delay":
                    raise
                # runners size their delay buffers when built (the values were checked
                # here already): a longer delay than that needs a rebuild
                self.network_changed()


state = State()
