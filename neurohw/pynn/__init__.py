"""neurohw as a PyNN 0.13 backend: ``import neurohw.pynn as sim``.

Networks are described with the usual PyNN API; at ``run()`` they are turned
into a :class:`neurohw.ir.Network` and run on the target chosen in
``setup(target=...)`` ("reference" by default, or "brian2"); recorded data
come back as neo Blocks through the PyNN recorder.
"""
from pyNN import errors, random, space                              # noqa: F401
from pyNN.connectors import *                                       # noqa: F401, F403
from pyNN.network import Network                                    # noqa: F401
from pyNN.random import GSLRNG, NumpyRNG, RandomDistribution         # noqa: F401
from pyNN.space import Space                                        # noqa: F401
from pyNN.standardmodels import StandardCellType

from .control import (end, get_current_time, get_max_delay, get_min_delay,  # noqa: F401
                      get_time_step, initialize, num_processes, rank, reset, run, run_for,
                      run_until, setup)
from .populations import Assembly, Population, PopulationView       # noqa: F401
from .procedural_api import connect, create, record, record_gsyn, record_v, set  # noqa: F401
from .projections import Projection                                 # noqa: F401
from .standardmodels import (ACSource, AdditiveWeightDependence, DCSource,  # noqa: F401
                             EIF_cond_alpha_isfa_ista, EIF_cond_exp_isfa_ista,
                             IF_cond_alpha, IF_cond_exp, IF_curr_alpha, IF_curr_exp,
                             MultiplicativeWeightDependence, NoisyCurrentSource,
                             SpikePairRule, SpikeSourceArray,
                             SpikeSourcePoisson, StaticSynapse, StepCurrentSource,
                             STDPMechanism, TsodyksMarkramSynapse)
from .targets import TARGETS                                        # noqa: F401
from .capturing import capture                                        # noqa: F401


def list_standard_models():
    """The names of the standard cell types this backend provides."""
    return [obj.__name__ for obj in globals().values()
            if isinstance(obj, type) and issubclass(obj, StandardCellType)
            and obj is not StandardCellType]
