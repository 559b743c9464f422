"""`commlab bound`: the lower bounds, evaluated; or the critical lengths of a model."""

from __future__ import annotations

from typing import Annotated

import typer

from commlab._version import __version__
from commlab.cli._output import canonical, emit


def _render_values(r: dict) -> str:
    lines = [
        f"lower bounds at k = {r['k']}, N = {r['n']:g} (c = {r['c']:g}, the constant of Assadi–N's s >= c·q/k⁵; "
        "the N-forms take q = N/(2k)); each binds only with fewer than k rounds"
    ]
    for row in r["bounds"]:
        size = f"q = {row['q']}" if "q" in row else f"N = {row['N']:g}"
        verdict = "  VACUOUS" if row["vacuous"] else ""
        lines.append(
            f"  {row['name']:<10} {row['statement']:<55} needs {row['constrains']} >= {row['required_bits']:.4g}"
            f" bits ({size}){verdict}"
        )
    if any(row["vacuous"] for row in r["bounds"]):
        lines.append(
            "VACUOUS: the bound demands at most 1 bit per message, which every protocol that beats "
            "guessing already sends; it forbids nothing here"
        )
    return "\n".join(lines)


def _render_model(r: dict) -> str:
    lines = [
        f"{r['layers']}-layer {r['cell']} RNN, state {r['state']} in {r['format']}: "
        f"s = {r['declared_bits_per_message']} bits"
    ]
    lines += [
        f"  k = {row['k']:>2}: fails beyond N* = 2·s·k⁶/c = {row['formula']} ({row['critical_N']:.4g} at c = {row['c']:g})"
        for row in r["bounds"]
    ]
    return "\n".join(lines)


def bound(
    k: Annotated[int | None, typer.Option("--k", help="Hops k (for the bounds' values).")] = None,
    n: Annotated[
        float | None, typer.Option("--n", help="Sequence length N (for the bounds' values).")
    ] = None,
    c: Annotated[
        float,
        typer.Option("--c", help="The constant c of Assadi–N's s >= c·q/k⁵ (positive, finite; none is proved)."),
    ] = 1.0,
    model: Annotated[str | None, typer.Option("--model", help="A model family to bound: rnn.")] = None,
    layers: Annotated[int, typer.Option("--layers", help="--model rnn: layers L.")] = 3,
    state: Annotated[int, typer.Option("--state", help="--model rnn: layer width.")] = 64,
    cell: Annotated[str, typer.Option("--cell", help="--model rnn: the cell.")] = "elman",
    fmt: Annotated[str, typer.Option("--format", help="--model rnn: number format.")] = "float32",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """Evaluate the lower bounds (--k, --n), saying which are vacuous (at most 1 bit), or a model's
    critical lengths N* = 2·s·k⁶/c (--model rnn ...; s from the shapes, no weights built).

    Examples: commlab bound --k 8 --n 100000 --c 1;  commlab bound --model rnn --layers 3 --state 64
    """
    if model is None:
        if k is None or n is None:
            raise typer.BadParameter("give --k and --n to evaluate the bounds, or --model rnn for a model")
        from commlab.analysis.bounds import evaluate_all

        rows = evaluate_all(k, n, c)
        result = {"k": k, "n": n, "c": c, "vacuous": all(row["vacuous"] for row in rows), "bounds": rows}
        result["version"] = __version__
        emit(result, as_json, _render_values)
        return
    if model != "rnn":
        raise typer.BadParameter(f"--model {model!r}: only rnn builds from these options")
    if k is not None or n is not None:
        raise typer.BadParameter("--model prints the critical N for each k > L; drop --k and --n")
    from reductions.rnn import rnn_critical_lengths

    result = rnn_critical_lengths(layers=layers, state=state, cell=cell, fmt=fmt, c_value=c)
    shared = canonical(result, {"bits_per_message": "declared_bits_per_message", "table": "bounds"})
    emit({**shared, "version": __version__}, as_json, _render_model)
