"""nmcompiler as a PyNN backend: ``import nmcompiler.pynn as sim``, as ``pyNN.spiNNaker`` is
for sPyNNaker. Without a target the network runs in our float simulator; with
``setup(target="loihi-like")`` it is compiled for that target and its image runs bit accurately.

    import nmcompiler.pynn as sim
    sim.setup(timestep=0.1, target="loihi-like")
    cells = sim.Population(100, sim.IF_curr_exp(tau_m=20.0), label="cells")
    drive = sim.Population(20, sim.SpikeSourcePoisson(rate=50.0))
    sim.Projection(drive, cells, sim.FixedProbabilityConnector(0.2), sim.StaticSynapse(weight=0.5, delay=1.0))
    cells.record("spikes")
    sim.run(1000.0)
    block = cells.get_data()   # a Neo Block
    sim.end()

PyNN's connectors, random distributions, views and assemblies are PyNN's own code; cell types
and the simulation are ours (cells.py: what maps and what is refused). Needs the ``pynn`` extra.
"""

from pyNN import errors, random, space  # noqa: F401
from pyNN.connectors import (  # noqa: F401
    AllToAllConnector, ArrayConnector, CloneConnector, DisplacementDependentProbabilityConnector,
    DistanceDependentProbabilityConnector, FixedNumberPostConnector, FixedNumberPreConnector,
    FixedProbabilityConnector, FixedTotalNumberConnector, FromFileConnector, FromListConnector,
    IndexBasedProbabilityConnector, OneToOneConnector, SmallWorldConnector,
)
from pyNN.random import NumpyRNG, RandomDistribution  # noqa: F401
from pyNN.space import Space  # noqa: F401
from pyNN.standardmodels import StandardCellType

from .cells import *  # noqa: F401,F403
from .cells import REFUSED_CELLS
from .control import (  # noqa: F401
    end, get_current_time, get_max_delay, get_min_delay, get_time_step, initialize, num_processes, rank, reset,
    run, run_for, run_until, setup,
)
from .electrodes import ACSource, DCSource, NoisyCurrentSource, StepCurrentSource  # noqa: F401
from .populations import Assembly, Population, PopulationView  # noqa: F401
from .procedural import connect, create, record  # noqa: F401
from .projections import Projection  # noqa: F401


def list_standard_models():
    """The StandardCellType classes this backend maps (the refused ones are left out)."""
    return [obj.__name__ for obj in globals().values() if isinstance(obj, type) and issubclass(obj, StandardCellType)
            and obj.__name__ not in REFUSED_CELLS]
