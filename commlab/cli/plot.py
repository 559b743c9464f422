"""`commlab plot NAME --out FILE`: measure and draw one of the figures."""

from __future__ import annotations

from typing import Annotated

import typer

from commlab.cli._output import emit
from commlab.cli.options import JsonOpt, QuietOpt, SeedOpt


def plot(
    name: Annotated[
        str, typer.Argument(help="tradeoff, frontier, solvers, example, depth, rank, depth-vs-k or rnn-bits.")
    ],
    out: Annotated[str, typer.Option("--out", help="Where to save: FILE.png, .pdf or .svg.")],
    k: Annotated[int | None, typer.Option("--k", help="Hops k (default: the figure's own).")] = None,
    q: Annotated[int | None, typer.Option("--q", help="Layer size q (frontier, solvers, example).")] = None,
    c: Annotated[float | None, typer.Option("--c", help="The bound's constant c (default 1).")] = None,
    trials: Annotated[int | None, typer.Option("--trials", help="Monte Carlo trials per point.")] = None,
    results: Annotated[
        str | None,
        typer.Option("--results", help="Results file the depth-vs-k and rnn-bits figures draw (JSON)."),
    ] = None,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Measure and draw a figure; --json prints the plotted numbers.

    Example: commlab plot tradeoff --k 4 --out tradeoff.pdf

    Example: commlab plot depth-vs-k --results docs/results/depth_vs_k_small_8000_steps.json --out fig2.pdf
    """
    from commlab.figures.plot import check_output, make_figure, save

    check_output(out)
    fig, data = make_figure(
        name, k=k, q=q, c=c, trials=trials, seed=seed, results=results, progress=not (as_json or quiet)
    )
    path = save(fig, out)
    emit({**data, "out": path}, as_json, lambda r: f"{r['figure']}: saved {r['out']}")
