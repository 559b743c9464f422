"""`commlab reduce …` and `commlab reductions`: compile models into protocols and list reductions."""

from __future__ import annotations

from typing import Annotated

import typer

from commlab.cli._output import canonical, emit
from commlab.cli.options import (
    CellOpt,
    COpt,
    FormatOpt,
    JsonOpt,
    LayersOpt,
    QOpt,
    QuietOpt,
    SeedOpt,
    StateOpt,
    TrialsOpt,
    k_option,
)
from commlab.errors import SimulationMismatch

#: A reduction report's keys in the shared JSON names (docs/cli-json.md).
REPORT_NAMES = {"sequence_length": "n", "bits_per_message": "measured_bits_per_message", "bound": "bounds"}

reduce_app = typer.Typer(help="Compile a model into a blackboard protocol and measure it.")


@reduce_app.callback(invoke_without_command=True)
def _reduce_help(ctx: typer.Context) -> None:
    """Compile a model into a blackboard protocol and measure it."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def measuring(command: str, trials: int, as_json: bool, quiet: bool):
    """The progress bar every reduce command shows on stderr while it compiles, runs and verifies
    (silent under --json or --quiet, and outside a terminal)."""
    from commlab.progress import progress_bar

    return progress_bar(command, trials, enabled=not (as_json or quiet), ticks=True)


def _render_report(r: dict) -> str:
    lo, hi = r["accuracy_ci"]
    rounds, k = r["rounds"], r["k"]
    if r.get("weights") is None:
        weights = (
            f"random, drawn from seed {r['seed']} "
            "(untrained, so low accuracy is expected; --weights loads trained ones)"
        )
    else:
        weights = f"from {r['weights']}"
    if k > rounds:
        applies = f"this run's k = {k} > L = {rounds}: the bound applies to it"
    else:
        applies = f"this run's k = {k} <= L = {rounds}: the bound does not apply to it"
    lines = [
        f"model: {r['model']}",
        *([f"weights: {weights}"] if "weights" in r else []),
        f"protocol ({r['reduction']} reduction): k = {k} players, R = L = {rounds} rounds, "
        f"s = {r['declared_bits_per_message']} bits per message declared",
        f"input: pointer chasing q = {r['q']}, k = {k} encoded as hop_{k} (N = {r['n']})",
        f"verification: {r['trials']} instances run, {r['mismatches']} mismatches against the model's own forward pass",
        f"measured bits: largest message {r['measured_bits_per_message']}, total {r['total_bits']} per instance "
        "(the largest over instances)",
        f"model accuracy on hop_{k}(X)_N: {r['accuracy']:.4f} (95% CI {lo:.4f}-{hi:.4f})",
        f"lower bound (SHT24 Cor 5.2): for every k > L = {rounds}, no {rounds}-layer model with "
        f"s = {r['declared_bits_per_message']} bits solves hop_k beyond N* ({applies})",
    ]
    lines += [
        f"  k = {row['k']:>2}: N* = 2·s·k⁶/c = {row['formula']:>16}  ({row['critical_N']:.4g} at c = {row['c']:g})"
        for row in r["bounds"]
    ]
    return "\n".join(lines)


@reduce_app.command("rnn")
def rnn(
    layers: LayersOpt = 3,
    state: StateOpt = 64,
    cell: CellOpt = "elman",
    fmt: FormatOpt = "float32",
    k: Annotated[int | None, k_option("Hops / players k (>= 1; default: layers + 1).")] = None,
    q: QOpt = 64,
    trials: TrialsOpt = 200,
    seed: SeedOpt = 0,
    weights: Annotated[str | None, typer.Option("--weights", help="An .npz weights file.")] = None,
    c: COpt = 1.0,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Compile an L-layer recurrent model into a (k, L, s) protocol, verify it bit for bit on encoded
    pointer chasing, and report its bits against the lower bound.

    Example: commlab reduce rnn --layers 3 --state 64 --cell lstm --format bfloat16 --json
    """
    from commlab.resources import check_memory, recurrent_reduction_bytes
    from reductions.rnn import reduce_rnn

    hops = layers + 1 if k is None else k
    check_memory(
        recurrent_reduction_bytes(cell, layers, state, q, hops, trials),
        f"reduce rnn with {layers} layer(s) of state {state}, q = {q}, k = {hops} and {trials} trials",
        "lower --layers, --state, --q or --trials",
    )
    with measuring("reduce rnn", trials, as_json, quiet):
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
    result = canonical(report.to_dict(), REPORT_NAMES)
    emit({**result, "c": c, "weights": weights}, as_json, _render_report)
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
            {"name": name, "family": red.family, "statement": red.bound, "references": red.references}
            for name, red in REGISTRY.items()
        ],
    }
    emit(
        listing,
        as_json,
        lambda r: "\n".join(
            f"{x['name']}: {x['family']}\n    bound: {x['statement']}" for x in r["reductions"]
        ),
    )
