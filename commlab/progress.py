"""Progress bars for long computations: rich, on stderr, only in a terminal, and silent when asked
(``--json``, ``--quiet``) so stdout stays clean.

A command opens a bar with :func:`progress_bar`; code deep inside the library reports work done with
:func:`tick` without knowing whether anyone shows it (a no-op when no bar is open). A bar whose work
has not been reported yet pulses, with the elapsed time, so a long run is visibly alive.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["progress_bar", "tick"]

_current: ContextVar[Callable[[int], None] | None] = ContextVar("commlab_progress", default=None)


def tick(done: int = 1) -> None:
    """Report ``done`` more units of work (trials, chunks) to the innermost open bar, if any.

    Examples
    --------
    >>> tick(5)  # no bar open: nothing happens
    """
    advance = _current.get()
    if advance is not None:
        advance(done)


@contextmanager
def progress_bar(
    description: str, total: int | None, enabled: bool = True, ticks: bool = False
) -> Iterator[Callable[..., None]]:
    """Yield a function that advances a progress bar by one step (or by ``n``). With ``ticks``, the
    library's :func:`tick` calls advance it too (the bar counts the units the library reports, e.g.
    trials); without, they are ignored while it is open. Nothing is drawn unless ``enabled`` and
    stderr is a terminal.

    Examples
    --------
    >>> with progress_bar("work", total=3, enabled=False) as advance:
    ...     for _ in range(3):
    ...         advance()
    """
    if not (enabled and sys.stderr.isatty()):
        token = _current.set(None)
        try:
            yield lambda n=1: None
        finally:
            _current.reset(token)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    with Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)  # pulses until work is first reported

        def advance(n: int = 1) -> None:
            if bar.tasks[0].total is None and total is not None:
                bar.update(task, total=total)
            bar.advance(task, n)

        token = _current.set(advance if ticks else None)
        try:
            yield advance
        finally:
            _current.reset(token)
