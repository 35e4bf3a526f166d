"""The backend's state: time, the populations and projections built so far, and the simulation
of the network they describe (our float simulator, or the image of a compiled target run bit
accurately). Our simulators run a network from t = 0, so every ``run()`` simulates from t = 0 to the new
time (a run split into k parts costs k runs); the result is kept until the clock changes.
Changing the network in the middle of a run is refused (``reset()`` first)."""

from __future__ import annotations

import numpy as np
from pyNN import common

__all__ = ["ID", "State", "state", "name"]

name = "nmcompiler"


class ID(int, common.IDMixin):
    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)


class State(common.control.BaseState):
    def __init__(self):
        super().__init__()
        self.mpi_rank, self.num_processes = 0, 1
        self.dt, self.min_delay, self.max_delay = 0.1, 0.1, 10.0
        self.target, self.seed = None, 0
        self.segment_counter = -1
        self.clear()

    # --- clock -----------------------------------------------------------------------------
    def run(self, simtime):
        self.run_until(self.t + simtime)

    def run_until(self, tstop):
        self.t = float(tstop)
        self.running = True
        if self.populations:
            self.result()  # simulate now, so that run() takes the time a user measures

    @property
    def steps(self) -> int:
        return int(round(self.t / self.dt))

    # --- network ---------------------------------------------------------------------------
    def clear(self):
        self.recorders = set()
        self.populations, self.projections, self.current_sources = [], [], []
        self.id_counter = 0
        self.segment_counter = -1
        self.reset()

    def reset(self):
        self.running = False
        self.t = 0.0
        self.t_start = 0.0
        self.segment_counter += 1
        self._result = None
        for source in self.current_sources:
            source.restart()

    def changed(self, what: str) -> None:
        """The network changed: a run from t = 0 would now replay the past differently."""
        if self.t > 0:
            from .errors import refuse

            refuse(f"{what} after run() without reset(): nmcompiler.pynn simulates from t = 0, so a change "
                   "in the middle of a run is not supported; call reset() first, or build the whole network before run()")
        self._result = None

    def invalidate(self) -> None:
        """Something that may change in the middle of a run (an injected current) changed."""
        self._result = None

    def result(self):
        """The simulation of the current network up to now (cached)."""
        from .lower import simulate

        key = (self.steps, self.segment_counter)
        if self._result is None or self._result[0] != key:
            self._result = (key, simulate(self))
        return self._result[1]

    def locate(self, ids: np.ndarray):
        """(population, index) for each global id in ``ids``: population index array, local index array."""
        firsts = np.array([p.first_id for p in self.populations], dtype=np.int64)
        which = np.searchsorted(firsts, ids, side="right") - 1
        return which, ids - firsts[which]


state = State()
