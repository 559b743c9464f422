"""`commlab train`: train a GPT-2 or recurrent model on k-hop in the paper's format (needs commlab[torch])."""

from __future__ import annotations

from typing import Annotated

import typer

from commlab._version import __version__
from commlab.cli._output import emit
from commlab.cli.options import JsonOpt, QuietOpt, SeedOpt
from commlab.errors import InvalidParameter


def train(
    model: Annotated[str, typer.Argument(help="gpt2, lstm, gru or rnn.")],
    out: Annotated[str, typer.Option("--out", help="Run directory (created; resumed if it holds a run).")],
    layers: Annotated[int, typer.Option("--layers", help="Depth L.")] = 2,
    width: Annotated[
        int, typer.Option("--width", help="Width m (GPT-2: embedding; RNN: hidden size).")
    ] = 128,
    heads: Annotated[int, typer.Option("--heads", help="GPT-2 attention heads H.")] = 4,
    k_max: Annotated[int, typer.Option("--k-max", help="Largest hop count; k is drawn from 0..k-max.")] = 16,
    n: Annotated[int, typer.Option("--n", help="Sequence length (the model reads n - 1 tokens).")] = 100,
    alphabet: Annotated[int, typer.Option("--alphabet", help="Characters |Σ|.")] = 4,
    steps: Annotated[int, typer.Option("--steps", help="Optimiser steps.")] = 1000,
    batch: Annotated[int, typer.Option("--batch", help="Sequences per step.")] = 32,
    samples: Annotated[
        str, typer.Option("--samples", help="Training-set size, or inf for fresh data every step.")
    ] = "inf",
    warmup: Annotated[int, typer.Option("--warmup", help="Warm-up steps (then linear decay to 0).")] = 1000,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate.")] = 1e-4,
    dropout: Annotated[float, typer.Option("--dropout", help="GPT-2 dropout p (0.1 as released).")] = 0.1,
    checkpoint_every: Annotated[
        int, typer.Option("--checkpoint-every", help="Steps between checkpoints.")
    ] = 2000,
    threads: Annotated[
        int, typer.Option("--threads", help="torch CPU threads (1 is fastest for small models).")
    ] = 1,
    seed: SeedOpt = 0,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Train on k-hop with the paper's recipe (AdamW, lr 1e-4, warm-up then linear decay).

    Example: commlab train gpt2 --layers 4 --width 128 --heads 4 --steps 100000 --out runs/depth4
    """
    from commlab.training import TrainConfig
    from commlab.training import train as run_training

    try:
        size = None if samples.strip().lower() in ("inf", "∞") else int(samples)
    except ValueError:
        raise InvalidParameter(f"--samples must be an integer or inf, got {samples!r}") from None
    config = TrainConfig(
        model=model,
        layers=layers,
        width=width,
        heads=heads,
        k_max=k_max,
        n=n,
        alphabet=alphabet,
        steps=steps,
        batch=batch,
        samples=size,
        seed=seed,
        warmup=warmup,
        checkpoint_every=checkpoint_every,
        threads=threads,
        lr=lr,
        dropout=dropout,
    )
    result = run_training(config, out, progress=not (quiet or as_json))
    emit(
        {**result, "seed": seed, "n": n, "version": __version__},
        as_json,
        lambda r: (
            f"trained to step {r['step']} on {r['device']}: loss {r['loss']:.4f}, error {r['error']:.4f}; "
            f"run in {r['out']}"
        ),
    )


experiment_app = typer.Typer(help="Run one of the paper's experiments end to end (needs commlab[torch]).")


@experiment_app.callback(invoke_without_command=True)
def _experiment_help(ctx: typer.Context) -> None:
    """Run one of the paper's experiments end to end (needs commlab[torch])."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


@experiment_app.command("depth-vs-k")
def depth_vs_k(
    out: Annotated[str, typer.Option("--out", help="Folder for the runs (one per depth) and results.json.")],
    depths: Annotated[str, typer.Option("--depths", help="Depths L, e.g. 2-6 or 2,4.")] = "2-6",
    steps: Annotated[int, typer.Option("--steps", help="Optimiser steps per depth.")] = 100_000,
    k_max: Annotated[int, typer.Option("--k-max", help="Largest hop count.")] = 16,
    n: Annotated[int, typer.Option("--n", help="Sequence length.")] = 100,
    width: Annotated[int, typer.Option("--width", help="Width m.")] = 128,
    heads: Annotated[int, typer.Option("--heads", help="Attention heads H.")] = 4,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate.")] = 1e-4,
    warmup: Annotated[int, typer.Option("--warmup", help="Warm-up steps.")] = 1000,
    dropout: Annotated[float, typer.Option("--dropout", help="Training dropout p.")] = 0.1,
    samples: Annotated[int, typer.Option("--samples", help="Evaluation sequences per k.")] = 100,
    seed: SeedOpt = 0,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """SHT24's depth-against-k experiment: train a GPT-2 of each depth, evaluate error per k, write
    OUT/results.json (docs/results/README.md shows a small CPU run).

    Example: commlab experiment depth-vs-k --depths 2-6 --steps 100000 --out runs/depth-vs-k
    """
    from commlab.models.released import parse_range
    from commlab.training import depth_vs_k as run_grid

    chosen = parse_range(depths, 1, 64, "--depths", "depths")
    result = run_grid(
        out,
        chosen,
        k_max=k_max,
        n=n,
        width=width,
        heads=heads,
        steps=steps,
        lr=lr,
        warmup=warmup,
        dropout=dropout,
        samples=samples,
        seed=seed,
        progress=not (quiet or as_json),
    )

    def render(r: dict) -> str:
        ks = [row["k"] for row in r["depths"][0]["per_k"]] if r["depths"] else []
        lines = ["error per k (rows: depth)", "L   " + " ".join(f"{k:>6}" for k in ks)]
        for row in r["depths"]:
            cells = " ".join("     -" if c["error"] is None else f"{c['error']:6.3f}" for c in row["per_k"])
            lines.append(f"{row['depth']:<3} {cells}")
        return "\n".join(lines)

    emit(result, as_json, render)


@experiment_app.command("rnn-bits")
def rnn_bits(
    out: Annotated[str, typer.Option("--out", help="Folder for the runs (one per model) and results.json.")],
    cells: Annotated[str, typer.Option("--cells", help="Recurrent cells, e.g. lstm,gru.")] = "lstm,gru",
    widths: Annotated[str, typer.Option("--widths", help="State sizes m, e.g. 8,16,32,64.")] = "8,16,32,64",
    layers: Annotated[int, typer.Option("--layers", help="Layers L (k runs over L+1..k_max).")] = 1,
    steps: Annotated[int, typer.Option("--steps", help="Optimiser steps per model.")] = 5000,
    k_max: Annotated[int, typer.Option("--k-max", help="Largest hop count.")] = 4,
    n: Annotated[int, typer.Option("--n", help="Sequence length.")] = 24,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate.")] = 3e-3,
    warmup: Annotated[int, typer.Option("--warmup", help="Warm-up steps.")] = 100,
    samples: Annotated[int, typer.Option("--samples", help="Evaluation sequences per k.")] = 200,
    c: Annotated[float, typer.Option("--c", help="The bound's constant c.")] = 1.0,
    seed: SeedOpt = 0,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Trained recurrent models through the rnn reduction: train each (cell, m), compile it for k
    players, verify it bit for bit, and write accuracy at the last position against state bits to
    OUT/results.json (docs/results/README.md shows the committed small run).

    Example: commlab experiment rnn-bits --cells lstm,gru --widths 8,16,32,64 --out runs/rnn-bits
    """
    from commlab.training import MODELS
    from commlab.training import rnn_bits as run_grid

    chosen_cells = tuple(cell.strip() for cell in cells.split(",") if cell.strip())
    bad = [cell for cell in chosen_cells if cell not in MODELS or cell == "gpt2"]
    if bad or not chosen_cells:
        raise InvalidParameter(f"--cells must list some of lstm, gru, rnn, got {cells!r}")
    try:
        chosen_widths = tuple(int(w) for w in widths.split(","))
    except ValueError:
        raise InvalidParameter(f"--widths must be integers separated by commas, got {widths!r}") from None
    result = run_grid(
        out,
        chosen_cells,
        chosen_widths,
        layers=layers,
        k_max=k_max,
        n=n,
        steps=steps,
        lr=lr,
        warmup=warmup,
        samples=samples,
        seed=seed,
        c_value=c,
        progress=not (quiet or as_json),
    )

    def render(r: dict) -> str:
        lines = ["accuracy at the last position (rows: model)"]
        for m in r["models"]:
            cells_text = "  ".join(f"k={row['k']}: {row['accuracy']:.3f}" for row in m["last_position"])
            mismatches = sum(row["mismatches"] for row in m["last_position"])
            lines.append(f"{m['cell']} m={m['width']:<4} {m['state_bits']:>6} bits  {cells_text}  mismatches {mismatches}")
        return "\n".join(lines)

    emit(result, as_json, render)
