"""Plan and run a sweep against a store: skip what is finished, run the rest on a backend, commit each
point as it ends."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from commlab._version import __version__
from commlab.sweeps.backends import DaskBackend, InProcess, Outcome, ProcessPool, Task
from commlab.sweeps.commands import check_sweep
from commlab.sweeps.spec import Point, Sweep
from commlab.sweeps.store import Store, StoredPoint

__all__ = ["Plan", "SweepProgress", "SweepSummary", "make_backend", "plan_sweep", "run_sweep"]


@dataclass(frozen=True)
class Plan:
    """A sweep's points, which of them the store already holds, and an estimate of the rest's cost.

    ``estimated_seconds`` is fitted on the store's finished points of the same experiment (wall time
    proportional to the product of the numeric parameters); ``None`` when the store has none.
    """

    sweep: Sweep
    points: list[Point]
    finished: set[str]
    estimated_seconds: float | None
    estimate_basis: str

    @property
    def remaining(self) -> list[Point]:
        return [p for p in self.points if p.key not in self.finished]


@dataclass
class SweepProgress:
    """Counts while a sweep runs; handed to the ``on_point`` callback after every point."""

    total: int
    skipped: int = 0
    done: int = 0
    failed: int = 0
    started: float = field(default_factory=time.perf_counter)

    @property
    def remaining(self) -> int:
        return self.total - self.skipped - self.done - self.failed


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep did: counts, the backend, the wall time, and the failures with their reasons."""

    experiment: str
    store: str
    backend: str
    points: int
    skipped: int
    done: int
    failed: int
    wall_s: float
    failures: dict[str, str]


def _size(point: Point) -> float:
    numbers = [v for _, v in point.params if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0]
    return float(math.prod(numbers)) if numbers else 1.0


def plan_sweep(sweep: Sweep, store: Store | None = None, force: bool = False) -> Plan:
    """Expand ``sweep``, check it against its command, and say what running it would cost.

    Raises
    ------
    InvalidParameter
        When the experiment is not a command that reports results or a grid key is not its option.
    """
    seeded = check_sweep(sweep)
    points = sweep.points(seeded)
    finished = set() if store is None or force else store.finished() & {p.key for p in points}
    history = [] if store is None else store.records(sweep.experiment, status="done")
    if not history:
        return Plan(sweep, points, finished, None, "no finished point of this experiment in the store")
    rate = sum(r.wall_s for r in history) / sum(
        _size(Point(r.experiment, tuple(r.params.items()), r.seed, r.key)) for r in history
    )
    remaining = [p for p in points if p.key not in finished]
    basis = f"fitted on {len(history)} finished point(s): wall time ∝ product of numeric parameters"
    return Plan(sweep, points, finished, rate * sum(_size(p) for p in remaining), basis)


def make_backend(workers: int = 0, dask: str | None = None, retries: int = 2):
    """The backend for ``--workers N`` (a local pool) or ``--dask ADDRESS|local``; in-process otherwise."""
    if dask is not None:
        return DaskBackend(dask, workers=workers or 2, retries=retries)
    if workers:
        return ProcessPool(workers, retries=retries)
    return InProcess()


def run_sweep(
    sweep: Sweep,
    store: Store,
    backend=None,
    *,
    force: bool = False,
    fail_fast: bool = False,
    on_point: Callable[[SweepProgress, Outcome], None] | None = None,
) -> SweepSummary:
    """Run every point of ``sweep`` the store does not already hold, committing each as it finishes.

    Parameters
    ----------
    sweep : Sweep
    store : Store
        Finished points are skipped (``force`` reruns them); each outcome is committed at once.
    backend : InProcess, ProcessPool or DaskBackend, optional
        Where points run (default in-process); see :func:`make_backend`.
    fail_fast : bool
        Stop after the first failed point (it is still recorded).
    on_point : callable, optional
        Called with the running counts after every point (progress bars).

    Returns
    -------
    SweepSummary
    """
    backend = backend or InProcess()
    plan = plan_sweep(sweep, store, force)
    todo = plan.remaining
    by_key = {p.key: p for p in todo}
    progress = SweepProgress(total=len(plan.points), skipped=len(plan.points) - len(todo))
    failures: dict[str, str] = {}
    outcomes = backend.run([Task(p.key, tuple(p.argv(p.seed is not None))) for p in todo])
    try:
        for outcome in outcomes:
            point = by_key[outcome.key]
            store.save(StoredPoint(
                point.key, point.experiment, point.parameters, point.seed, __version__,
                "done" if outcome.ok else "failed", outcome.result, outcome.error,
                outcome.attempts, outcome.wall_s, outcome.worker,
            ))
            if outcome.ok:
                progress.done += 1
            else:
                progress.failed += 1
                failures[point.describe()] = outcome.error
            if on_point is not None:
                on_point(progress, outcome)
            if fail_fast and not outcome.ok:
                break
    finally:
        close = getattr(outcomes, "close", None)
        if close is not None:
            close()
    return SweepSummary(
        sweep.experiment, str(store.path), backend.name, len(plan.points), progress.skipped, progress.done,
        progress.failed, time.perf_counter() - progress.started, failures,
    )
