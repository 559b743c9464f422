"""`commlab evaluate`: error per hop count of a released-format GPT-2 checkpoint, in numpy."""

from __future__ import annotations

from typing import Annotated

import typer

from commlab._version import __version__
from commlab.cli._output import emit
from commlab.cli.options import FormatOpt, JsonOpt, QuietOpt, SeedOpt


def render(r: dict) -> str:
    mode = (
        f"training mode: dropout p = {r['dropout']:g} drawn from seed {r['seed']} (the published tables' protocol)"
        if r["dropout"]
        else "inference mode (dropout off)"
    )
    lines = [
        f"model: {r['model']}",
        f"weights: {r['weights']}; config: {r['config'] or 'none (the paper task, --heads)'}",
        f"task: n = {r['n']}, {r['task']['char_tokens']} characters, k in "
        f"{r['task']['min_hops']}..{r['task']['max_hops']}; {r['samples']} fresh sequences per k (seed {r['seed']})",
        f"mode: {mode}",
        f"rule: {r['rule']}",
        " k  positions  errors   error   95% CI",
    ]
    for row in r["per_k"]:
        if row["error"] is None:
            lines.append(f"{row['k']:>2}  {0:>9}  {0:>6}       -   (every target is ⊥)")
            continue
        lo, hi = row["error_ci"]
        lines.append(
            f"{row['k']:>2}  {row['positions']:>9}  {row['errors']:>6}  {row['error']:.4f}  [{lo:.4f}, {hi:.4f}]"
        )
    return "\n".join(lines)


def evaluate(
    weights: Annotated[
        str, typer.Option("--weights", help="The checkpoint: .pt, .pth, .safetensors or .npz.")
    ],
    config: Annotated[
        str | None,
        typer.Option("--config", help="The run's config.yaml (default: config.yaml beside the weights)."),
    ] = None,
    k: Annotated[str, typer.Option("--k", help="Hop counts: 0-16, 3 or 0,2,8-10 (default: all).")] = "",
    samples: Annotated[int, typer.Option("--samples", help="Fresh sequences per k.")] = 100,
    seed: SeedOpt = 0,
    dropout: Annotated[
        float, typer.Option("--dropout", help="Dropout p as in training mode (0 = inference, the default).")
    ] = 0.0,
    heads: Annotated[
        int | None, typer.Option("--heads", help="Attention heads, when there is no config.")
    ] = None,
    fmt: FormatOpt = "float32",
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Error per hop count k of a GPT-2 (or commlab-trained recurrent) checkpoint in the paper's task format.

    Example: commlab evaluate --weights run/model_100000.pt --k 0-16 --samples 100 --json
    """
    from commlab.models.released import evaluate_run
    from commlab.progress import progress_bar

    with progress_bar("evaluate", None, enabled=not (as_json or quiet)):
        result = evaluate_run(
            weights, config, ks=k, samples=samples, seed=seed, dropout=dropout, heads=heads, fmt=fmt
        )
    emit({**result, "version": __version__}, as_json, render)
