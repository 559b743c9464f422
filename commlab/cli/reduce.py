"""`commlab reduce …` and `commlab reductions`: compile models into protocols and list reductions."""

from __future__ import annotations

from typing import Annotated

import typer

from commlab._version import __version__
from commlab.cli._output import emit
from commlab.cli.options import JsonOpt, QOpt, SeedOpt, TrialsOpt
from commlab.errors import SimulationMismatch

reduce_app = typer.Typer(help="Compile a model into a blackboard protocol and measure it.")


@reduce_app.callback(invoke_without_command=True)
def _reduce_help(ctx: typer.Context) -> None:
    """Compile a model into a blackboard protocol and measure it."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def _render_report(r: dict) -> str:
    lo, hi = r["accuracy_ci"]
    lines = [
        f"model: {r['model']}",
        f"protocol ({r['reduction']} reduction): k = {r['k']} players, R = {r['rounds']} rounds, "
        f"s = {r['declared_bits_per_message']} bits per message declared",
        f"input: pointer chasing q = {r['q']}, k = {r['k']} encoded as hop_{r['k']} (N = {r['sequence_length']})",
        f"verification: {r['trials']} instances run, {r['mismatches']} mismatches against the model's own forward pass",
        f"measured bits: largest message {r['bits_per_message']}, total {r['total_bits']} per instance",
        f"model accuracy on hop_{r['k']}(X)_N: {r['accuracy']:.4f} (95% CI {lo:.4f}-{hi:.4f})",
        f"lower bound (L = {r['rounds']} < k): no model with s = {r['declared_bits_per_message']} bits solves hop_k beyond",
    ]
    lines += [
        f"  k = {row['k']:>2}: N* = 2·s·k⁶/c = {row['formula']:>16}  ({row['critical_N']:.4g} at c = {row['c']:g})"
        for row in r["bound"]
    ]
    return "\n".join(lines)


@reduce_app.command("rnn")
def rnn(
    layers: Annotated[int, typer.Option("--layers", help="Number of recurrent layers L.")] = 3,
    state: Annotated[int, typer.Option("--state", help="Width of each layer (hidden size).")] = 64,
    cell: Annotated[str, typer.Option("--cell", help="elman, gru, lstm, ssm, mamba or binary.")] = "elman",
    fmt: Annotated[
        str, typer.Option("--format", help="float64, float32, float16, bfloat16 or fixedP[.F].")
    ] = "float32",
    k: Annotated[int | None, typer.Option("--k", help="Hops / players k (default: layers + 1).")] = None,
    q: QOpt = 64,
    trials: TrialsOpt = 200,
    seed: SeedOpt = 0,
    weights: Annotated[str | None, typer.Option("--weights", help="An .npz weights file.")] = None,
    c: Annotated[float, typer.Option("--c", help="The bound's hidden constant c.")] = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Compile an L-layer recurrent model into a (k, L, s) protocol, verify it bit for bit on encoded
    pointer chasing, and report its bits against the lower bound.

    Example: commlab reduce rnn --layers 3 --state 64 --cell lstm --format bfloat16 --json
    """
    from reductions.rnn import reduce_rnn

    report = reduce_rnn(
        layers=layers,
        state=state,
        cell=cell,
        fmt=fmt,
        k=k,
        q=q,
        trials=trials,
        seed=seed,
        weights=weights,
        c_value=c,
    )
    emit(report.to_dict(), as_json, _render_report)
    if report.mismatches:
        instance, round, player = report.first_mismatch
        raise SimulationMismatch(
            f"{report.mismatches} instance(s) differ from the model; first: instance {instance}, round {round}, P_{player}"
        )


def reductions(as_json: JsonOpt = False) -> None:
    """List the registered reductions, the models they accept and the bound each implies."""
    from reductions import REGISTRY, load_plugins

    load_plugins()
    listing = {
        "reductions": [
            {"name": name, "family": red.family, "bound": red.bound, "references": red.references}
            for name, red in REGISTRY.items()
        ],
        "version": __version__,
    }
    emit(
        listing,
        as_json,
        lambda r: "\n".join(f"{x['name']}: {x['family']}\n    bound: {x['bound']}" for x in r["reductions"]),
    )
