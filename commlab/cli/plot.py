"""`commlab plot NAME --out FILE`: measure and draw one of the figures."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from commlab.cli._files import atomic_output, check_output_path
from commlab.cli._output import canonical, emit
from commlab.cli.options import (
    FIGURE_NAMES,
    JsonOpt,
    QuietOpt,
    SeedOpt,
    c_option,
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


def plot(
    name: Annotated[Literal[FIGURE_NAMES], typer.Argument(help="The figure.")],
    out: Annotated[str, typer.Option("--out", help="Where to save: FILE.png, FILE.pdf or FILE.svg.")],
    k: Annotated[int | None, k_option("Hops k (>= 1; default: the figure's own).")] = None,
    q: Annotated[int | None, q_option("Layer size q (even, >= 2; frontier, solvers, example).")] = None,
    c: Annotated[float | None, c_option("The bound's constant c (finite, > 0; default 1).")] = None,
    trials: Annotated[int | None, trials_option("Monte Carlo trials per point (>= 1).")] = None,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Measure and draw a figure; --json prints the plotted numbers.

    Example: commlab plot tradeoff --k 4 --out tradeoff.pdf
    """
    target = check_output_path(out, FIGURE_SUFFIXES)  # before minutes of measuring
    import inspect

    from commlab.errors import InvalidParameter
    from commlab.figures.plot import FIGURES, make_figure, save

    options = {"k": k, "q": q, "c": c, "trials": trials}
    takes = inspect.signature(FIGURES[name][0]).parameters
    ignored = [
        f"--{option}" for option, value in options.items() if value is not None and option not in takes
    ]
    if ignored:
        accepted = ", ".join(f"--{option}" for option in options if option in takes) or "none of them"
        verb = "does" if len(ignored) == 1 else "do"
        raise InvalidParameter(f"{' and '.join(ignored)} {verb} not apply to {name}; it takes {accepted}")
    fig, data = make_figure(name, **options, seed=seed, progress=not (as_json or quiet))
    with atomic_output(target) as partial:
        save(fig, str(partial))
    result = canonical(data, FIGURE_NAMES_JSON, drop=("version",))
    emit({"seed": seed, **result, "out": str(target)}, as_json, lambda r: f"{r['figure']}: saved {r['out']}")
