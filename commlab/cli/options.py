"""Option declarations shared by every command, so help texts and defaults agree everywhere."""

from __future__ import annotations

from typing import Annotated

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of text.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of every random choice (instances and coins).")]
TrialsOpt = Annotated[int, typer.Option("--trials", help="Number of random instances to run.")]
KOpt = Annotated[int, typer.Option("--k", help="Number of hops / layers / players k.")]
QOpt = Annotated[int, typer.Option("--q", help="Layer size q of pointer chasing (even, >= 2).")]
RoundsOpt = Annotated[
    int | None, typer.Option("--rounds", help="Rounds R the protocol may use (default: its own).")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="No progress bars on stderr.")]
