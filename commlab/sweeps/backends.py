"""Where a sweep's points run: in this process, in a pool of local worker processes, or on Dask.

Every backend runs the same function, :func:`run_point` (the CLI command in-process, its JSON
captured), and hands each outcome back to the process that owns the store; workers never write it.
A point's seed is fixed by its parameters, so every backend stores the same results.

Failures of two kinds are kept apart. A command that exits non-zero (bad parameters, a mismatch) has
*failed*: rerunning it gives the same answer, so it is recorded at once. A worker that dies while
running a point (killed, out of memory) says nothing about the point: the point is retried, up to
``retries`` more times, then recorded as failed with the reason.
"""

from __future__ import annotations

import io
import json
import multiprocessing as mp
import os
import time
import traceback
from collections import deque
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, replace
from multiprocessing.connection import wait
from typing import Any

from commlab.errors import InvalidParameter

__all__ = ["DaskBackend", "InProcess", "Outcome", "ProcessPool", "Task", "run_point"]


@dataclass(frozen=True)
class Task:
    """A point to run: its store key and the command line (after ``commlab``)."""

    key: str
    argv: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """How a point ended: its JSON result, or the reason it failed; the wall time, worker and tries."""

    key: str
    ok: bool
    result: dict[str, Any] | None
    error: str | None
    wall_s: float
    worker: str
    attempts: int = 1


def _worker_name(worker: str | None) -> str:
    if worker is not None:
        return worker
    try:
        from distributed import get_worker

        return f"dask:{get_worker().address}"
    except (ImportError, ValueError):
        return f"pid:{os.getpid()}"


def run_point(task: Task, worker: str | None = None) -> Outcome:
    """Run one point's command in this process with ``--json`` and capture its result.

    A non-zero exit becomes a failed outcome carrying the command's one-line error; output that is not
    one JSON object, or an exception the CLI did not turn into an error, fails the point too.
    """
    from commlab.cli import main

    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(task.argv))
    except Exception as error:  # a bug in the command: record it, keep the sweep going
        lines = traceback.format_exception_only(type(error), error)
        return Outcome(task.key, False, None, lines[-1].strip(), time.perf_counter() - start, _worker_name(worker))
    wall = time.perf_counter() - start
    if code != 0:
        message = err.getvalue().strip().splitlines()
        return Outcome(task.key, False, None, f"exit {code}: {message[0] if message else '(no message)'}",
                       wall, _worker_name(worker))
    try:
        result = json.loads(out.getvalue())
    except json.JSONDecodeError:
        return Outcome(task.key, False, None, "the command printed no JSON object", wall, _worker_name(worker))
    return Outcome(task.key, True, result, None, wall, _worker_name(worker))


class InProcess:
    """Run points one after another in this process."""

    name = "in-process"

    def run(self, tasks: list[Task]) -> Iterator[Outcome]:
        for task in tasks:
            yield run_point(task, worker="main")


#: What a pool worker sends when it has received a point, before running it.
_STARTED = "started"


def _serve(conn, index: int) -> None:
    """A pool worker: run the points it is sent until told to stop, saying when each one starts."""
    name = f"worker-{index}:{os.getpid()}"
    while (task := conn.recv()) is not None:
        conn.send(_STARTED)
        conn.send(run_point(task, worker=name))


class _Worker:
    def __init__(self, context, index: int):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, index), daemon=True)
        self.process.start()
        child.close()
        self.task: Task | None = None
        self.attempts = 0
        self.started = False  # whether it has said it received its task
        self.finished = 0  # points it has run


class ProcessPool:
    """Run points on ``workers`` local processes; a worker that dies fails only its own point.

    Each worker runs one point at a time, so the pool always knows which point a dead worker held:
    that point is retried on a fresh worker up to ``retries`` more times. A worker that had already
    run points and dies before saying it received its next one (killed while idle, but not yet reaped
    when the point was sent) costs that point no try: it is sent again as it was.
    """

    def __init__(self, workers: int, retries: int = 2):
        if workers < 1:
            raise InvalidParameter(f"--workers must be at least 1, got {workers}")
        self.workers, self.retries = workers, retries
        self.name = f"process pool ({workers} workers)"

    def run(self, tasks: list[Task]) -> Iterator[Outcome]:
        context = mp.get_context("spawn")
        pending = deque((task, 0) for task in tasks)
        pool = [_Worker(context, i) for i in range(min(self.workers, len(tasks)))]
        try:
            while pending or any(w.task for w in pool):
                for index, worker in enumerate(pool):
                    if worker.task is None and pending:
                        if not worker.process.is_alive():  # died between points: nothing was lost
                            worker = pool[index] = _Worker(context, index)
                        worker.task, worker.attempts = pending.popleft()
                        worker.started = False
                        try:
                            worker.conn.send(worker.task)
                        except OSError:  # it died just now: its sentinel reports that below
                            pass
                busy = [w for w in pool if w.task is not None]
                ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
                for index, worker in enumerate(pool):
                    if worker.task is None or not (worker.conn in ready or worker.process.sentinel in ready):
                        continue
                    try:
                        outcome = worker.conn.recv()
                    except (EOFError, OSError):
                        yield from self._died(pool, index, context, pending)
                        continue
                    if outcome == _STARTED:
                        worker.started = True
                        continue
                    attempts = worker.attempts
                    worker.task, worker.finished = None, worker.finished + 1
                    yield replace(outcome, attempts=attempts + 1)
        finally:
            for worker in pool:
                if worker.task is None and worker.process.is_alive():
                    worker.conn.send(None)
                else:
                    worker.process.kill()
            for worker in pool:
                worker.process.join(timeout=5)

    def _died(self, pool: list[_Worker], index: int, context, pending: deque) -> Iterator[Outcome]:
        worker = pool[index]
        worker.process.join(timeout=5)
        code = worker.process.exitcode
        pool[index] = _Worker(context, index)
        if not worker.started and worker.finished:  # it died idle, before this point reached it
            pending.appendleft((worker.task, worker.attempts))
            return
        task, attempts = worker.task, worker.attempts + 1
        if attempts <= self.retries:
            pending.appendleft((task, attempts))
            return
        reason = f"worker died (exit code {code}) on each of {attempts} tries"
        yield Outcome(task.key, False, None, reason, 0.0, f"worker-{index}", attempts)


class DaskBackend:
    """Run points on a Dask distributed cluster (``address``), or on a ``LocalCluster`` of ``workers``
    processes started here when ``address == "local"``. Needs the optional extra ``commlab[dask]``."""

    def __init__(self, address: str, workers: int = 2, retries: int = 2):
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise InvalidParameter(
                "--dask needs Dask distributed; install it with: pip install 'commlab[dask]'"
            ) from None
        self.address, self.workers, self.retries = address, max(workers, 1), retries
        self.name = "dask LocalCluster" if address == "local" else f"dask at {address}"

    def run(self, tasks: list[Task]) -> Iterator[Outcome]:
        import dask
        from distributed import Client, LocalCluster, as_completed

        with dask.config.set({"distributed.scheduler.allowed-failures": self.retries}):
            cluster = (
                LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                             dashboard_address=None)
                if self.address == "local"
                else None
            )
            try:
                with Client(cluster if cluster is not None else self.address) as client:
                    futures = {client.submit(run_point, task, pure=False): task for task in tasks}
                    for future in as_completed(futures):
                        task = futures[future]
                        try:
                            yield future.result()
                        except Exception as error:  # KilledWorker and the like: the worker, not the point
                            yield Outcome(task.key, False, None, f"dask worker failed: {error}", 0.0, "dask",
                                          self.retries + 1)
            finally:
                if cluster is not None:
                    cluster.close()
