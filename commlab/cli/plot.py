"""`commlab plot NAME --out FILE`: measure and draw one of the figures."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from commlab._validate import check_seed
from commlab.cli._files import atomic_output, check_output_path
from commlab.cli._output import canonical, emit
from commlab.cli.options import (
    FIGURE_NAMES,
    JsonOpt,
    QuietOpt,
    c_option,
    checked,
    k_option,
    q_option,
    trials_option,
)

#: The figure data's keys in the shared JSON names (docs/cli-json.md): every bits_per_message a
#: figure plots is measured; a tradeoff row's ``bound`` is the bound's value in bits.
FIGURE_NAMES_JSON = {
    "N": "n",
    "bits_per_message": "measured_bits_per_message",
    "bound": "bound_bits",
    "bits": "declared_bits_per_message",
}
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")
#: Figures whose stored JSON (``plot NAME --json`` in a sweep) can be drawn again: their data carries
#: the shared JSON names natively, so what a sweep stored is what the draw function reads.
STORED_FIGURES = ("tradeoff", "frontier", "solvers")
#: Figures drawn from a results file of ``commlab experiment`` (``--results PATH``), not measured.
RESULTS_FIGURES = ("depth-vs-k", "rnn-bits")


def plot(
    name: Annotated[Literal[FIGURE_NAMES], typer.Argument(help="The figure.")],
    out: Annotated[
        str | None, typer.Option("--out", help="Where to save: FILE.png, FILE.pdf or FILE.svg.")
    ] = None,
    k: Annotated[int | None, k_option("Hops k (>= 1; default: the figure's own).")] = None,
    q: Annotated[int | None, q_option("Layer size q (even, >= 2; frontier, solvers, example).")] = None,
    c: Annotated[float | None, c_option("The bound's constant c (finite, > 0; default 1).")] = None,
    trials: Annotated[int | None, trials_option("Monte Carlo trials per point (>= 1).")] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Seed of every random choice: an integer 0 <= seed < 2^63 (default 0; with --from, "
            "chooses among stored figures).",
            callback=checked(check_seed),
        ),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Draw from a sweep store's 'plot NAME' points instead of measuring "
            f"({', '.join(STORED_FIGURES)}).",
        ),
    ] = None,
    results: Annotated[
        str | None,
        typer.Option(
            "--results",
            help="The results file (JSON) a figure of trained models draws "
            f"({', '.join(RESULTS_FIGURES)}; written by commlab experiment).",
        ),
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Measure (or, with --from, read) and draw a figure; --json prints the plotted numbers.

    Give --out to save the figure, --json to print its numbers, or both.

    Example: commlab plot tradeoff --k 4 --out tradeoff.pdf

    Example: commlab plot depth-vs-k --results docs/results/depth_vs_k_small_seed0.json --out fig2.pdf
    """
    import inspect

    from commlab.errors import InvalidParameter

    if out is None and not as_json:
        raise InvalidParameter("nothing to do: give --out FILE.png|.pdf|.svg to save the figure, or --json")
    target = None if out is None else check_output_path(out, FIGURE_SUFFIXES)  # before measuring
    from commlab.figures.plot import FIGURES, draw, make_figure, save

    options = {"k": k, "q": q, "c": c, "trials": trials}
    takes = inspect.signature(FIGURES[name][0]).parameters
    ignored = [
        f"--{option}" for option, value in options.items() if value is not None and option not in takes
    ]
    if ignored:
        accepted = ", ".join(f"--{option}" for option in options if option in takes) or "none of them"
        verb = "does" if len(ignored) == 1 else "do"
        raise InvalidParameter(f"{' and '.join(ignored)} {verb} not apply to {name}; it takes {accepted}")
    if results is not None and "results" not in takes:
        raise InvalidParameter(
            f"--results does not apply to {name}; only {', '.join(RESULTS_FIGURES)} draw a results file"
        )
    if results is not None:
        if store is not None:
            raise InvalidParameter("give --results (a results file) or --from (a sweep store), not both")
        options["results"] = results
    if store is not None:
        from commlab.figures.stored import stored_figure_data

        data = stored_figure_data(name, store, **options, seed=seed)
        fig = draw(data)
    else:
        seed = 0 if seed is None else seed
        fig, data = make_figure(name, **options, seed=seed, progress=not (as_json or quiet))
    if target is not None:
        with atomic_output(target) as partial:
            save(fig, str(partial))
    result = canonical(data, FIGURE_NAMES_JSON, drop=("version",))
    saved = "" if target is None else str(target)
    emit(
        {"seed": data.get("seed", seed), **result, "out": saved or None},
        as_json,
        lambda r: (f"{r['figure']}: saved {r['out']}" if saved else f"{r['figure']}: drawn, not saved")
        + "".join(f"\nleft out: {reason}" for reason in r.get("skipped", [])),
    )
