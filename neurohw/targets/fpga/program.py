"""The compiled artefact for the FPGA core, and running it on the golden model.

A program is the list of bus writes that loads the core (the same words go to
the RTL, the model or, later, a board over UART), the per-step input
injections, and what is needed to read results back in PyNN units.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...results import SpikeTrains
from . import formats as F
from .model import CoreModel, pack_inputs


@dataclass(frozen=True)
class QuantizationStat:
    """How far the core's value of one parameter is from the network's.

    ``max_abs`` is in ``unit``; ``max_rel`` is relative to the magnitude of
    the largest value of the parameter (so that zeros do not divide).
    """
    parameter: str
    unit: str
    max_abs: float
    max_rel: float
    count: int


@dataclass
class FpgaProgram:
    shape: F.CoreShape
    dt: float                                  # ms
    n_steps: int
    writes: list[tuple[int, int]]              # bus (address, data), in order
    inputs: list[list[int]]                    # channels to inject before step k
    neurons: dict[str, np.ndarray]             # population label -> core neuron ids
    channels: dict[str, np.ndarray]            # source population label -> input channels
    v_rest: np.ndarray                         # mV, per core neuron
    weight_lsb: float                          # nA per weight LSB
    gain_shift: int
    errors: dict[str, QuantizationStat] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def current_lsb(self) -> float:
        """nA per LSB of i_exc / i_inh."""
        return self.weight_lsb / (1 << self.shape.current_frac)

    def v_mV(self, v_words: np.ndarray) -> np.ndarray:
        """Membrane potentials in mV from the core's s24 words (one per active neuron)."""
        return self.v_rest + np.asarray(v_words, dtype=np.float64) * F.V_LSB_MV


@dataclass
class ModelRun:
    """What the golden model produced for a program."""
    spikes: dict[str, SpikeTrains]             # by population, PyNN time stamps (ms)
    step_cycles: np.ndarray                    # cycles of every step
    model: CoreModel                           # final state


def load_model(program: FpgaProgram) -> CoreModel:
    """A reset core model with the program's words written into it."""
    model = CoreModel(program.shape)
    for address, data in program.writes:
        model.write(address, data)
    return model


def run_on_model(program: FpgaProgram) -> ModelRun:
    """Step the golden model through the program; spikes are stamped (k+1)*dt."""
    model = load_model(program)
    steps = model.run(*pack_inputs(program.inputs))
    index = steps.fired
    step = np.repeat(np.arange(program.n_steps), np.diff(steps.fired_start))
    cycles = steps.cycles
    spikes = {}
    for label, ids in program.neurons.items():
        mine = np.isin(index, ids)
        local = np.searchsorted(ids, index[mine])
        spikes[label] = SpikeTrains(local, (step[mine] + 1) * program.dt)
    return ModelRun(spikes, cycles, model)
