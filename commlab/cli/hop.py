"""`commlab hop` and `commlab encode`: the k-hop task and the pointer-chasing encoding."""

from __future__ import annotations

from typing import Annotated

import typer

from commlab.cli._output import emit
from commlab.cli.options import JsonOpt, QOpt, SeedOpt, checked, k_option


def _hop_k(k: int) -> None:
    from commlab._validate import check_int

    check_int("k", k, minimum=0)


def hop(
    tokens: Annotated[list[str], typer.Argument(help="The sequence, one token per argument.")],
    k: Annotated[
        int,
        typer.Option(
            "--k", help="Number of hops k (>= 0; hop_0 is the token itself).", callback=checked(_hop_k)
        ),
    ] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Print hop_k at every position (⊥ where find^k finds nothing; null in --json).

    Example: commlab hop --k 2 b a e b c a b e b d e a
    """
    from commlab.problems.hop import hop_symbols

    result = {"k": k, "n": len(tokens), "tokens": tokens, "hop": hop_symbols(tokens, k)}
    emit(result, as_json, lambda r: " ".join("⊥" if t is None else t for t in r["hop"]))


def _render_encoding(r: dict) -> str:
    seq = r["sequence"]
    parts = [
        f"{name}: " + " ".join(map(str, seq[start:end]))
        for name, (start, end) in zip(r["players"], r["blocks"], strict=True)
    ]
    return "\n".join(
        [
            f"pointer chasing q = {r['q']}, k = {r['k']} as a hop_{r['k']} sequence of N = {r['n']} "
            f"tokens (alphabet 0..{2 * r['q'] + 1}; seed {r['seed']})",
            *parts,
            f"answer: hop_{r['k']}(X)_N = {r['answer_token']} (the path ends in {r['answer']})",
        ]
    )


def encode(
    q: QOpt = 8,
    k: Annotated[int, k_option("Number of hops / players k (>= 1).")] = 3,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Encode a random pointer-chasing instance as a k-hop sequence, with its player blocks.

    Example: commlab encode --q 8 --k 3 --seed 1 --json
    """
    from commlab.resources import check_memory, pointer_chasing_bytes
    from reductions.pointer_chasing import random_encoding

    n = 2 * k * q + 1
    check_memory(pointer_chasing_bytes(q, k, 1) + 64 * n, f"encode with q = {q}, k = {k}", "lower --q or --k")
    encoding = random_encoding(q, k, seed)
    emit({**encoding, "n": len(encoding["sequence"])}, as_json, _render_encoding)
