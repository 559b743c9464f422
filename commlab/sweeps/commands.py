"""Which CLI command a sweep runs, and which options it takes: read from the CLI itself, so every
command that reports results (``--json``) can be swept, including ones added later."""

from __future__ import annotations

from typing import Any

from commlab.errors import InvalidParameter
from commlab.sweeps.spec import REPLICATE, Sweep

__all__ = ["check_sweep", "resolve_command"]


def _is_group(command: Any) -> bool:
    return hasattr(command, "list_commands")


def resolve_command(experiment: str) -> Any:
    """The click command that ``experiment``'s words run (``"reduce rnn"`` → ``commlab reduce rnn``).

    Words after the command itself are its positional arguments (``"run chase"``: the command ``run``
    with the argument ``chase``). Typer carries its own copy of click, so commands are recognised by
    what they do, not by their class.
    """
    import typer

    from commlab.cli import app

    command, words, path = typer.main.get_command(app), experiment.split(), []
    while words and _is_group(command):
        sub = command.get_command(typer.Context(command), words[0])
        if sub is None:
            choices = ", ".join(sorted(command.list_commands(typer.Context(command))))
            raise InvalidParameter(f"unknown command {' '.join([*path, words[0]])!r}; choose one of: {choices}")
        command, path, words = sub, [*path, words[0]], words[1:]
    if _is_group(command):
        choices = ", ".join(sorted(command.list_commands(typer.Context(command))))
        raise InvalidParameter(f"{experiment!r} needs a subcommand: {choices}")
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    if len(words) > len(arguments) and not any(p.nargs == -1 for p in arguments):
        raise InvalidParameter(f"{' '.join(path)!r} takes {len(arguments)} argument(s), got {words}")
    return command


def _options(command: Any) -> set[str]:
    return {
        name[2:] for param in command.params if param.param_type_name == "option" for name in param.opts
        if name.startswith("--")
    }


def check_sweep(sweep: Sweep) -> bool:
    """Check that the experiment reports results and takes every grid key; return whether it takes
    ``--seed``. Every problem is reported at once.

    Raises
    ------
    InvalidParameter
    """
    options = _options(resolve_command(sweep.experiment))
    problems = []
    if "json" not in options:
        problems.append(f"{sweep.experiment!r} reports no results (it has no --json option)")
    unknown = sorted(name for name, _ in sweep.grid if name not in options | {REPLICATE} or name == "json")
    if unknown:
        usable = ", ".join(sorted(options - {"json", "help"}))
        problems.append(f"{sweep.experiment!r} has no option(s) {', '.join(unknown)}; it takes: {usable}")
    if problems:
        raise InvalidParameter("; ".join(problems))
    return "seed" in options
