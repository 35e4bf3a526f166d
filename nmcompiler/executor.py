"""Where independent pieces of work run: in this process one after another, or on Dask (a local
cluster of worker processes with a memory limit each, or an existing cluster by its scheduler's
address). Sweeps run their points on one (:mod:`nmcompiler.sweep`); ``nmc compare --data`` and
``nmc verify --data`` split their samples over one (``--workers N``).

An executor takes a function, one ``shared`` argument sent to every worker once (a network, the
samples) and the items; the function is called as ``fn(shared, item)``. :meth:`completed` yields
``(key, result)`` as items finish, a failure as the exception in place of the result;
:meth:`map` returns the results in the items' order and raises the first failure. Work split
this way must not depend on how it is split: each item seeds its own randomness.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import UserError

__all__ = ["DaskExecutor", "ExecutorChoice", "SerialExecutor", "chunks", "open_executor", "run_pieces"]


class SerialExecutor:
    """Every item in this process, one after another."""

    description = "serial (this process)"
    workers = 1

    def completed(self, fn: Callable, shared, keyed: Sequence[tuple[object, object]]) -> Iterator[tuple[object, object]]:
        for key, item in keyed:
            yield key, fn(shared, item)

    def map(self, fn: Callable, shared, items: Sequence) -> list:
        return [fn(shared, item) for item in items]


class DaskExecutor:
    """Items on a Dask cluster through ``client``: ``shared`` sent once (a task whose result the
    workers fetch), results taken as they complete; what is still pending when the caller stops (an interrupt, a
    failure) is cancelled."""

    def __init__(self, client, description: str, task_threads: int | None = None):
        self.client = client
        self.description = description
        self.task_threads = task_threads  # numba threads per task (None: the worker's own default)

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def completed(self, fn: Callable, shared, keyed: Sequence[tuple[object, object]]) -> Iterator[tuple[object, object]]:
        from distributed import as_completed

        if not keyed:
            return
        # shared as a task of its own, not scattered: if every worker holding it dies, the scheduler
        # makes it again instead of cancelling the work that needs it
        with warnings.catch_warnings():  # shared is sent once, as it must be: Dask's size warning says nothing here
            warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
            remote = self.client.submit(_identity, shared, pure=False)
            call = fn if self.task_threads is None else _WithThreads(fn, self.task_threads)
            futures = {self.client.submit(call, remote, item, pure=False): key for key, item in keyed}
        try:
            for future in as_completed(futures):
                try:
                    yield futures[future], future.result()
                except Exception as exc:  # noqa: BLE001 - the caller decides: a failed point, or raise
                    yield futures[future], exc
        finally:
            self.client.cancel(list(futures))

    def map(self, fn: Callable, shared, items: Sequence) -> list:
        results = dict(self.completed(fn, shared, list(enumerate(items))))
        for k in range(len(items)):
            if isinstance(results[k], BaseException):
                raise results[k]
        return [results[k] for k in range(len(items))]


def _identity(x):
    return x


@dataclass(frozen=True)
class _WithThreads:
    """``fn`` on at most ``threads`` numba threads (numba's setting is per calling thread, so it
    is made in the task). Not through ``NUMBA_NUM_THREADS``: a worker process that imported numba
    before the Nanny set its environment (a script importing nmcompiler is imported again in each
    spawned worker) then has two values, and numba refuses to compile once its threads run."""

    fn: Callable
    threads: int

    def __call__(self, shared, item):
        import numba

        numba.set_num_threads(max(1, min(self.threads, numba.config.NUMBA_NUM_THREADS)))
        return self.fn(shared, item)


def chunks(n: int, workers: int, per_worker: int = 4) -> list[range]:
    """``range(n)`` in contiguous pieces, ``per_worker`` per worker (fewer when ``n`` is small)."""
    pieces = max(1, min(n, workers * per_worker))
    bounds = [round(k * n / pieces) for k in range(pieces + 1)]
    return [range(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def run_pieces(executor, fn: Callable, shared, n: int, progress: Callable[[int], None] | None = None) -> list:
    """``fn(shared, piece)`` for contiguous pieces of ``range(n)`` (:func:`chunks`) on ``executor``;
    the results in the pieces' order; ``progress(len(piece))`` as each finishes; a failure raised."""
    pieces = chunks(n, executor.workers)
    parts = {}
    for key, part in executor.completed(fn, shared, list(enumerate(pieces))):
        if isinstance(part, BaseException):
            raise part
        parts[key] = part
        if progress is not None:
            progress(len(pieces[key]))
    return [parts[k] for k in range(len(pieces))]


@dataclass(frozen=True)
class ExecutorChoice:
    """An executor not started yet (:func:`open_executor`'s arguments): started only when there is
    work for it."""

    workers: int | None = None
    scheduler: str | None = None
    memory_limit: str | int | None = None

    def open(self):
        return open_executor(self.workers, self.scheduler, self.memory_limit)


@contextmanager
def open_executor(workers: int | None, scheduler: str | None = None, memory_limit: str | int | None = None
                  ) -> Iterator[SerialExecutor | DaskExecutor]:
    """``workers`` 0 runs serially in this process; a ``scheduler`` address uses that Dask cluster;
    else a local cluster of ``workers`` processes (None: one per core), one thread each,
    ``memory_limit`` each (default: the machine's memory shared out)."""
    if workers == 0 and scheduler is None:
        yield SerialExecutor()
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise UserError(f"running on Dask needs dask.distributed: pip install 'nmcompiler[sweep]' ({exc.name})") from None
    if scheduler is not None:
        if workers:
            raise UserError("--workers sizes a local cluster; an existing cluster (--scheduler) has its own")
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise UserError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        with client:
            yield DaskExecutor(client, f"Dask cluster at {scheduler}")
        return
    import dask

    n = workers or os.cpu_count() or 1
    # one task per worker thread at a time (the rest wait at the scheduler): a worker that dies
    # takes only its own task with it
    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, memory_limit=memory_limit or "auto",
                               dashboard_address=":0", silence_logs=logging.ERROR,
                               env={"OMP_NUM_THREADS": "1"})
    with cluster, Client(cluster) as client:
        yield DaskExecutor(client, f"local Dask cluster of {n} worker process{'es' if n > 1 else ''}", task_threads=1)
