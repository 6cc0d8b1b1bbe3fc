"""Population, PopulationView and Assembly for the neurohw backend.

A Population keeps its native (= IR) parameters as one array per name and its
initial values as one evaluated array per state variable; views read and
write slices of their root Population's arrays.
"""
from __future__ import annotations

import numpy as np
from pyNN import common, errors
from pyNN.parameters import LazyArray, ParameterSpace, simplify
from pyNN.standardmodels import StandardCellType

from .. import ir
from . import simulator
from .network import population_to_ir
from .recording import Recorder


class Assembly(common.Assembly):
    _simulator = simulator


class _CellsOfAPopulation:
    """What Population and PopulationView share: both address cells of one Population."""

    def _root_and_indices(self):
        raise NotImplementedError

    def _get_parameters(self, *names):
        unknown = [n for n in names if n not in self.celltype.translations]
        if unknown:
            raise errors.NonExistentParameterError(unknown[0], type(self.celltype).__name__,
                                                   self.celltype.get_parameter_names())
        native = self._get_native_parameters(*self.celltype.get_native_names(*names))
        return self.celltype.reverse_translate(native)

    def _get_native_parameters(self, *names):
        root, cells = self._root_and_indices()
        return ParameterSpace({name: simplify(root._parameters[name][cells]) for name in names},
                              shape=(self.size,))

    def _set_parameters(self, parameter_space):
        """`parameter_space` holds native parameters for the cells addressed here."""
        root, cells = self._root_and_indices()
        parameter_space.evaluate(simplify=False)
        for name, values in parameter_space.items():
            root._update_parameter(name, cells, values)

    def initialize(self, **initial_values):
        root, cells = self._root_and_indices()
        for variable, value in initial_values.items():
            if variable not in root._initial_arrays:
                raise errors.NonExistentParameterError(
                    variable, f"{type(self.celltype).__name__} (population '{root.label}')",
                    list(root._initial_arrays) or ["(no state variables)"])
            # evaluated once, so that a random distribution is drawn once (reset() restarts
            # from the same values) and get()/initial_values report what is simulated
            values = LazyArray(value, shape=(self.size,), dtype=float).evaluate(simplify=False)
            root._update_initial_value(variable, cells, values)

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


class PopulationView(_CellsOfAPopulation, common.PopulationView):
    _assembly_class = Assembly
    _simulator = simulator

    def _root_and_indices(self):
        return self.grandparent, self.index_in_grandparent(np.arange(self.size))


class Population(_CellsOfAPopulation, common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def _root_and_indices(self):
        return self, slice(None)

    def _create_cells(self):
        if not (isinstance(self.celltype, StandardCellType)
                and getattr(self.celltype, "ir_cell_type", None) in ir.CELL_TYPES):
            raise TypeError(f"population '{self.label}': cell type "
                            f"{type(self.celltype).__name__} is not available in neurohw; "
                            f"available: {', '.join(ir.CELL_TYPES)}")
        state = simulator.state
        self.all_cells = np.array([simulator.ID(i) for i in
                                   range(state.id_counter, state.id_counter + self.size)],
                                  dtype=simulator.ID)
        self._mask_local = np.ones(self.size, dtype=bool)
        parameter_space = self.celltype.native_parameters
        parameter_space.shape = (self.size,)
        parameter_space.evaluate(simplify=False)
        self._parameters = {name: np.array(np.broadcast_to(values, (self.size,)))
                            for name, values in parameter_space.as_dict().items()}
        self._initial_arrays = {var: np.zeros(self.size)
                                for var in ir.CELL_TYPES[self.celltype.ir_cell_type].state}
        for cell in self.all_cells:
            cell.parent = self
        state.id_counter += self.size
        self.ir_label = state.unique_label(
            "population", self.label or f"population{len(state.populations)}")
        self._validate()
        state.add("population", self)

    def _validate(self):
        """The IR's checks, run now so that a bad value fails where it is given."""
        try:
            population_to_ir(self)
        except ir.NetworkError as exc:
            raise errors.InvalidParameterValueError(str(exc)) from None

    def _update_parameter(self, name, cells, values):
        previous = self._parameters[name].copy()
        self._parameters[name][cells] = values
        try:
            self._validate()
        except errors.InvalidParameterValueError:
            self._parameters[name] = previous
            raise
        if name == "spike_times":
            # spike trains are part of the network description, not a parameter array
            simulator.state.network_changed()
        else:
            simulator.state.push_parameter(self, name, self._parameters[name])

    def _update_initial_value(self, variable, cells, values):
        previous = self._initial_arrays[variable].copy()
        self._initial_arrays[variable][cells] = values
        try:
            self._validate()
        except errors.InvalidParameterValueError:
            self._initial_arrays[variable] = previous
            raise
        self.initial_values[variable] = LazyArray(simplify(self._initial_arrays[variable]),
                                                  shape=(self.size,), dtype=float)
        simulator.state.push_state(self, variable, self._initial_arrays[variable])
