"""`commlab run`: run a reference protocol on random pointer-chasing instances."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from commlab.cli._output import canonical, emit
from commlab.cli.options import (
    PROTOCOL_NAMES,
    JsonOpt,
    KOpt,
    QOpt,
    QuietOpt,
    RoundsOpt,
    SeedOpt,
    TrialsOpt,
    checked,
)
from commlab.errors import InvalidParameter


def render(r: dict) -> str:
    lines = [
        f"protocol {r['protocol']}: q = {r['q']}, k = {r['k']}, R = {r['rounds']} rounds, "
        f"s = {r['declared_bits_per_message']} bits declared",
        f"measured: largest message {r['measured_bits_per_message']} bits; "
        f"mean {r['mean_bits_per_message']:.2f} bits over all R·k = {r['rounds'] * r['k']} turns of an "
        f"instance (silent turns count 0); total {r['total_bits']} bits per instance (the largest)",
        f"success: {r['success']:.4f} over {r['trials']} trials "
        f"(95% CI {r['success_ci'][0]:.4f}-{r['success_ci'][1]:.4f}; seed {r['seed']})",
    ]
    if "completed" in r:
        lines.append(
            f"sampling: m = {r['m']}, completed {r['completed']:.4f} within {r['rounds']} rounds "
            f"(predicted incompletion {r['predicted_incompletion']:.4f})"
        )
    return "\n".join(lines)


def _check_delta(delta: float) -> None:
    if not 0 < delta < 1:
        raise InvalidParameter(f"delta is a failure probability, 0 < delta < 1, got {delta}")


def run(
    protocol: Annotated[Literal[PROTOCOL_NAMES], typer.Argument(help="The reference protocol.")],
    q: QOpt = 256,
    k: KOpt = 8,
    trials: TrialsOpt = 1000,
    seed: SeedOpt = 0,
    rounds: RoundsOpt = None,
    m: Annotated[int | None, typer.Option("--m", help="sampling only: sample size m (>= 1).")] = None,
    delta: Annotated[
        float | None,
        typer.Option(
            "--delta",
            help="sampling only: target failure probability δ (sets m).",
            callback=checked(_check_delta),
        ),
    ] = None,
    t: Annotated[
        int | None,
        typer.Option("--t", help="indicators, chunked, pipelined: chunk bits t per message."),
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Run a reference protocol on random (q, k) pointer chasing and report bits and success.

    Example: commlab run chunked --q 128 --k 4 --t 15 --trials 10000 --json
    """
    from commlab.progress import progress_bar
    from commlab.protocols import instance_block, make_protocol, simulate
    from commlab.resources import check_memory, pointer_chasing_bytes

    options = {"rounds": rounds, "m": m, "delta": delta, "t": t}
    # Refuses options the protocol does not take, before any allocation.
    spec = make_protocol(protocol, q, k, **options).spec
    check_memory(
        pointer_chasing_bytes(q, k, min(trials, instance_block(q, k)), spec.max_bits, spec.rounds, trials),
        f"run {protocol} with q = {q}, k = {k} and {trials} trials",
        "lower --q, --k or --trials",
    )
    with progress_bar(f"run {protocol}", trials, enabled=not (as_json or quiet), ticks=True):
        result = simulate(protocol, q=q, k=k, trials=trials, seed=seed, **options).to_dict()
    emit(canonical(result, {"bits_per_message": "measured_bits_per_message"}), as_json, render)
