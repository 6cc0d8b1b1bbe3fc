"""The reference software simulator: LIF and AdEx networks, numba-compiled.

See :mod:`neurohw.sim` for the interface and :mod:`.simulation` for the
conventions it fixes beyond those of :mod:`neurohw.ir`.
"""
from .simulation import Simulation

__all__ = ["Simulation"]
