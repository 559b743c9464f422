"""`commlab run`: run a reference protocol on random pointer-chasing instances."""

from __future__ import annotations

from typing import Annotated

import typer

from commlab.cli._output import emit
from commlab.cli.options import JsonOpt, KOpt, QOpt, RoundsOpt, SeedOpt, TrialsOpt
from commlab.protocols import PROTOCOLS, simulate


def render(r: dict) -> str:
    lines = [
        f"protocol {r['protocol']}: q = {r['q']}, k = {r['k']}, R = {r['rounds']} rounds, "
        f"s = {r['declared_bits_per_message']} bits declared",
        f"measured: largest message {r['bits_per_message']} bits, "
        f"mean {r['mean_bits_per_message']:.2f}, total {r['total_bits']} bits per instance",
        f"success: {r['success']:.4f} over {r['trials']} trials "
        f"(95% CI {r['success_ci'][0]:.4f}-{r['success_ci'][1]:.4f})",
    ]
    if "completed" in r:
        lines.append(
            f"sampling: m = {r['m']}, completed {r['completed']:.4f} within {r['rounds']} rounds "
            f"(predicted incompletion {r['predicted_incompletion']:.4f})"
        )
    return "\n".join(lines)


def run(
    protocol: Annotated[str, typer.Argument(help=f"One of: {', '.join(PROTOCOLS)}.")],
    q: QOpt = 256,
    k: KOpt = 8,
    trials: TrialsOpt = 1000,
    seed: SeedOpt = 0,
    rounds: RoundsOpt = None,
    m: Annotated[int | None, typer.Option("--m", help="sampling: sample size m.")] = None,
    delta: Annotated[
        float | None, typer.Option("--delta", help="sampling: target failure δ (sets m).")
    ] = None,
    t: Annotated[
        int | None,
        typer.Option("--t", help="indicators, chunked, pipelined: chunk bits t per message."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a reference protocol on random (q, k) pointer chasing and report bits and success.

    Example: commlab run chunked --q 128 --k 4 --t 15 --trials 10000 --json
    """
    options = {"rounds": rounds, "m": m, "delta": delta, "t": t}
    emit(simulate(protocol, q=q, k=k, trials=trials, seed=seed, **options).to_dict(), as_json, render)
