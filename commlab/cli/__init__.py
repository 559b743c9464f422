"""The ``commlab`` command: thin commands that parse, call one library function and print.

One error path (:func:`main`): a library error or a bad option is one line on stderr and an exit
code (see ``_errors``); Ctrl-C is ``interrupted``, exit 130, and SIGTERM ``terminated``, exit 143.
``COMMLAB_DEBUG=1`` (or ``true``/``yes``) shows the traceback instead.

Startup stays fast (``--help``, ``--version`` and errors in well under 0.5 s): command modules import
the heavy libraries (scipy, sympy, matplotlib, the reductions) inside the commands that use them.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Annotated

import typer

from commlab._version import __version__
from commlab.cli import bound as bound_cmd
from commlab.cli import construct as construct_cmd
from commlab.cli import evaluate as evaluate_cmd
from commlab.cli import hop as hop_cmd
from commlab.cli import plot as plot_cmd
from commlab.cli import reduce as reduce_cmd
from commlab.cli import reduce_attention  # noqa: F401  (adds reduce kernel/hybrid/cot/longformer)
from commlab.cli import run as run_cmd
from commlab.cli import sweep as sweep_cmd
from commlab.cli import train as train_cmd
from commlab.cli._errors import DEBUG_HINT, exit_code, one_line
from commlab.errors import CommlabError

app = typer.Typer(
    name="commlab",
    help="A communication-complexity lab for lower bounds on neural sequence models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: flags shown without a value, choices listed, no rich import
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"commlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """commlab: run blackboard protocols, compile models into them, and measure them against the
    Sanford–Hsu–Telgarsky / Assadi–N lower bounds."""


app.command("run")(run_cmd.run)
app.command("hop")(hop_cmd.hop)
app.command("encode")(hop_cmd.encode)
app.add_typer(reduce_cmd.reduce_app, name="reduce")
app.command("reductions")(reduce_cmd.reductions)
app.command("bound")(bound_cmd.bound)
app.command("plot")(plot_cmd.plot)
app.add_typer(sweep_cmd.sweep_app, name="sweep")
app.add_typer(construct_cmd.construct_app, name="construct")
app.command("evaluate")(evaluate_cmd.evaluate)
app.command("train")(train_cmd.train)
app.add_typer(train_cmd.experiment_app, name="experiment")


class Stopped(BaseException):
    """Raised in the main thread when the process receives SIGINT or SIGTERM, so that every
    ``finally`` (temporary files, progress bars) runs before :func:`main` reports it. A
    ``BaseException``: library code that catches ``Exception`` must not swallow a stop."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def debugging() -> bool:
    """Whether ``COMMLAB_DEBUG`` asks for tracebacks: ``1``, ``true`` or ``yes`` (``0`` does not)."""
    return os.environ.get("COMMLAB_DEBUG", "").strip().lower() in ("1", "true", "yes")


@contextmanager
def _stop_on_signals(received: list[int]) -> Iterator[None]:
    """Turn SIGINT and SIGTERM into :class:`Stopped` while a command runs (main thread only), and
    note them in ``received`` (in case some code swallows the exception, e.g. in a ``__del__``)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        received.append(signum)
        raise Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _report(text: str) -> None:
    typer.echo(f"{one_line(text)} {DEBUG_HINT}", err=True)


def _stopped(signum: int) -> int:
    typer.echo("interrupted" if signum == signal.SIGINT else "terminated", err=True)
    return 128 + signum


_depth = 0  # how many main() calls are running in this process (a sweep runs commands inside one)


def _run(args: list[str], received: list[int]) -> int:
    """Run one command line; the exit code, with every error reported as one line."""
    global _depth
    debug = debugging()
    try:
        _depth += 1
        with _stop_on_signals(received) if _depth == 1 else nullcontext():
            code = typer.main.get_command(app).main(args=args, prog_name="commlab", standalone_mode=False)
    except Stopped:
        if _depth > 1:  # a command run by another (a sweep's point): the stop ends the outer one too
            raise
        return 0  # reported by main, from ``received``
    except typer.Exit as done:
        return done.exit_code
    except (typer.TyperException, CommlabError) as error:
        if debug:
            raise
        if received:  # raised while stopping (a cleanup that failed): the stop is what to report
            return 0
        text = error.format_message() if hasattr(error, "format_message") else str(error)
        _report(text)
        return exit_code(error) if isinstance(error, CommlabError) else error.exit_code
    except Exception as error:  # a bug or an exhausted machine: still one line, exit 1
        if debug:
            raise
        if received:
            return 0
        cause = error.__cause__ if isinstance(error, typer.Abort) and error.__cause__ else error
        if isinstance(cause, MemoryError):
            _report(f"out of memory ({cause}); use smaller sizes (--q, --trials, --state, --layers)")
        else:
            _report(f"internal error, please report it: {type(cause).__name__}: {cause}")
        return 1
    finally:
        _depth -= 1
    return code if isinstance(code, int) else 0  # a command's typer.Exit(n) comes back as n


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``commlab`` script; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv) or ["--help"]
    received: list[int] = []
    code = _run(args, received)
    return _stopped(received[0]) if received else code


def _script() -> None:
    sys.exit(main())
