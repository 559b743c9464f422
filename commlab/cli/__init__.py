"""The ``commlab`` command: thin commands that parse, call one library function and print.

Errors become one line on stderr with a non-zero exit code (see ``_errors``); ``COMMLAB_DEBUG=1``
shows the traceback instead.
"""

from __future__ import annotations

import os
import sys
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
    add_completion=False,
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``commlab`` script; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv) or ["--help"]
    debug = bool(os.environ.get("COMMLAB_DEBUG"))
    try:
        code = typer.main.get_command(app).main(args=args, prog_name="commlab", standalone_mode=False)
    except typer.Exit as done:
        return done.exit_code
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        return 1
    except (typer.TyperException, CommlabError) as error:
        if debug:
            raise
        text = error.format_message() if hasattr(error, "format_message") else str(error)
        typer.echo(f"{one_line(text)} {DEBUG_HINT}", err=True)
        return exit_code(error) if isinstance(error, CommlabError) else error.exit_code
    return code if isinstance(code, int) else 0  # a command's typer.Exit(n) comes back as n


def _script() -> None:
    sys.exit(main())
