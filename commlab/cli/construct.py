"""`commlab construct hop` (build the log-depth transformer for hop_k and measure it) and
`commlab reduce attention` (compile it into a blackboard protocol and measure its bits)."""

from __future__ import annotations

from typing import Annotated

import typer

from commlab.cli._output import canonical, emit
from commlab.cli.options import JsonOpt, QOpt, QuietOpt, SeedOpt, TrialsOpt
from commlab.cli.reduce import REPORT_NAMES, _render_report, measuring, reduce_app
from commlab.errors import SimulationMismatch

construct_app = typer.Typer(help="Build transformers by hand (weights written down) and measure them.")


@construct_app.callback(invoke_without_command=True)
def _construct_help(ctx: typer.Context) -> None:
    """Build transformers by hand (weights written down) and measure them."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def _ci(lo_hi) -> str:
    return f"95% CI {lo_hi[0]:.4f}-{lo_hi[1]:.4f}"


def _render(r: dict) -> str:
    lines = [
        f"hop_{r['k']} transformer: L = {r['layers']} layers ({r['depth_rule']}; needs {r['needed_layers']}), "
        f"reaches {r['reached']} hops, softmax scale {r['scale']:g}",
        f"{r['trials']} random sequences, N = {r['n']}, |Σ| = {r['alphabet']}, seed {r['seed']}",
        f"  every position right: {r['accuracy']:.4f} ({_ci(r['accuracy_ci'])}); positions: "
        f"{r['position_accuracy']:.4f}; last position: {r['last_position_accuracy']:.4f}",
    ]
    if "floor_form" in r:
        f = r["floor_form"]
        lines.append(
            f"floor form ⌊log₂ k⌋ + 2 = {f['layers']} layers reaches {f['reached']} hops: every position right "
            f"{f['accuracy']:.4f} ({_ci(f['accuracy_ci'])}); positions {f['position_accuracy']:.4f}; "
            f"last position {f['last_position_accuracy']:.4f}"
        )
    if r["save"]:
        lines.append(f"weights saved to {r['save']}")
    return "\n".join(lines)


@construct_app.command("hop")
def hop(
    k: Annotated[int, typer.Option("--k", help="Hops k (>= 1).")] = 16,
    n: Annotated[int, typer.Option("--n", help="Sequence length N.")] = 256,
    alphabet: Annotated[int, typer.Option("--alphabet", help="Alphabet size |Σ|.")] = 8,
    layers: Annotated[
        int | None, typer.Option("--layers", help="Depth L (default 2 + ⌈log₂ k⌉; fewer shows the failure).")
    ] = None,
    trials: TrialsOpt = 100,
    seed: SeedOpt = 0,
    save: Annotated[str | None, typer.Option("--save", help="Write the weights to this .npz file.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Build the transformer that computes hop_k in 2 + ⌈log₂ k⌉ layers and measure it on random
    sequences against hop_k at every position (with the paper's ⌊log₂ k⌋ + 2 beside it).

    Example: commlab construct hop --k 16 --n 256 --alphabet 8 --trials 100 --json
    """
    from commlab.models.construction import build_hop_transformer, measure_hop_construction

    with measuring("construct hop", trials, as_json, quiet):
        report = measure_hop_construction(k, n, alphabet, trials, seed, layers)
    if save:
        build_hop_transformer(k, n, alphabet, layers).save(save)
    emit({**report, "save": save}, as_json, _render)


@reduce_app.command("attention")
def attention(
    k: Annotated[int, typer.Option("--k", help="Hops / players k.")] = 4,
    q: QOpt = 16,
    layers: Annotated[
        int | None, typer.Option("--layers", help="Depth L of the construction (default 2 + ⌈log₂ k⌉).")
    ] = None,
    trials: TrialsOpt = 100,
    seed: SeedOpt = 0,
    c: Annotated[float, typer.Option("--c", help="The bound's hidden constant c.")] = 1.0,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Compile the log-depth hop_k transformer into a (k, L, s) protocol in which players post their
    blocks' keys and values, verify it bit for bit on encoded pointer chasing, and report its bits.

    Example: commlab reduce attention --k 8 --q 16 --json
    """
    from reductions.attention import reduce_attention

    with measuring("reduce attention", trials, as_json, quiet):
        report = reduce_attention(k=k, q=q, layers=layers, trials=trials, seed=seed, c_value=c)
    emit({**canonical(report.to_dict(), REPORT_NAMES), "c": c}, as_json, _render_report)
    if report.mismatches:
        instance, round, player = report.first_mismatch
        raise SimulationMismatch(
            f"{report.mismatches} instance(s) differ from the model; first: instance {instance}, round {round}, P_{player}"
        )
