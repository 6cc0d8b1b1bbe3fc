"""Simulation control: setup(), run(), reset(), end() and the state queries."""
from __future__ import annotations

import warnings

from pyNN import common
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

from . import capturing, simulator, targets

# setup() options of other PyNN backends that portable scripts (and PyNN's own test
# scenarios) pass.  They are accepted so that such scripts run, with a warning when
# the value asks for something neurohw does not do; anything else must be a target
# option.
_OTHER_BACKENDS_OPTIONS = {
    "threads": (1, "neurohw runs single-threaded"),
    "spike_precision": ("on_grid", "spikes are stamped on the time-step grid"),
    "verbosity": (None, "neurohw has no verbosity setting"),
    "t_flush": (None, "t_flush is NEST-specific"),
}


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, max_delay=DEFAULT_MAX_DELAY,
          target=targets.DEFAULT_TARGET, **options):
    """Start a new network: forget the previous one.

    `target` chooses where the network runs (see ``neurohw.pynn.targets.TARGETS``);
    the remaining keyword arguments are options of that target, e.g.
    ``seed`` for the software simulators.
    """
    if not timestep > 0:
        raise ValueError(f"setup(): timestep must be > 0 ms, got {timestep}")
    common.setup(timestep, min_delay, max_delay=max_delay)
    target_options = {}
    for key, value in options.items():
        if key in _OTHER_BACKENDS_OPTIONS:
            supported, reason = _OTHER_BACKENDS_OPTIONS[key]
            if value != supported:
                warnings.warn(f"setup(): {key}={value!r} has no effect: {reason}", stacklevel=2)
        else:
            target_options[key] = value
    forced = capturing.active()
    if forced is not None and forced.target is not None:
        # neurohw run / report: the script runs unchanged on the target being compared.
        # Its own options were written for its own target: keep those the forced
        # target also takes (e.g. seed), drop the others (e.g. the fpga's clock_hz).
        accepted = targets.accepted_options(forced.target) if forced.target != target else None
        if accepted is not None:
            target_options = {k: v for k, v in target_options.items() if k in accepted}
        target = forced.target
        target_options = {**target_options, **forced.options}
    targets.check_options(target, target_options)
    state = simulator.state
    state.clear()
    state.dt = float(timestep)
    state.min_delay = min_delay
    state.max_delay = max_delay
    state.target = target
    state.target_options = target_options
    return rank()


def end(compatible_output=True):
    """Write the data that record(..., to_file=...) asked for; close a board's port."""
    for population, variables, filename in simulator.state.write_on_end:
        population.write_data(get_io(filename), variables)
    simulator.state.write_on_end = []
    simulator.state.release()


run, run_until = common.build_run(simulator)
run_for = run

reset = common.build_reset(simulator)

initialize = common.initialize

get_current_time, get_time_step, get_min_delay, get_max_delay, \
    num_processes, rank = common.build_state_queries(simulator)
