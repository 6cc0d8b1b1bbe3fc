"""Where a network built by ``neurohw.pynn`` runs: the registry of targets.

A target is a name mapped to a *loader*: a function of no arguments that
returns the runner class.  A runner is constructed as ``Runner(net, **options)``
from an :class:`neurohw.ir.Network` and follows the interface documented in
:mod:`neurohw.sim` (``run``, ``t``, ``set_parameter``, ``set_state``,
``set_synapses``, ``get_synapses``).  Loading is deferred so that choosing the
reference simulator never imports Brian2.

A later target registers itself with one line, e.g.
``TARGETS["fpga"] = lambda: importlib.import_module("neurohw.targets.fpga").Runner``.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Callable

from ..sim import get_simulation

DEFAULT_TARGET = "reference"


def _software_simulator(name: str) -> Callable[[], type]:
    return lambda: get_simulation(name)


TARGETS: dict[str, Callable[[], type]] = {
    "reference": _software_simulator("reference"),
    "brian2": _software_simulator("brian2"),
    "fpga": lambda: importlib.import_module("neurohw.targets.fpga.runner").Runner,
}


def runner_class(target: str) -> type:
    """The runner class of ``target``; a clear error if there is no such target."""
    if target not in TARGETS:
        raise ValueError(f"unknown target '{target}'; available targets: "
                         f"{', '.join(sorted(TARGETS))}")
    return TARGETS[target]()


def accepted_options(target: str) -> list[str] | None:
    """The option names the target's runner accepts, read from its constructor
    signature (everything after the network); None if it takes ``**kwargs``
    (it accepts anything and must check for itself)."""
    parameters = list(inspect.signature(runner_class(target)).parameters.values())[1:]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return [p.name for p in parameters
            if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          inspect.Parameter.KEYWORD_ONLY)]


def check_options(target: str, options: dict) -> None:
    """Raise if ``options`` holds a keyword the target's runner does not accept."""
    accepted = accepted_options(target)
    if accepted is None:
        return
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(repr(u) for u in unknown)} for target "
                         f"'{target}'; it accepts: {', '.join(accepted) or '(no options)'}")
