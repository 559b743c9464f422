"""`commlab hop` and `commlab encode`: the k-hop task and the pointer-chasing encoding."""

from __future__ import annotations

from typing import Annotated

import typer

from commlab._version import __version__
from commlab.cli._output import emit
from commlab.cli.options import JsonOpt, KOpt, QOpt, SeedOpt
from commlab.problems.hop import hop_symbols
from reductions.pointer_chasing import random_encoding


def hop(
    tokens: Annotated[list[str], typer.Argument(help="The sequence, one token per argument.")],
    k: KOpt = 1,
    as_json: JsonOpt = False,
) -> None:
    """Print hop_k at every position (⊥ where find^k finds nothing; null in --json).

    Example: commlab hop --k 2 b a e b c a b e b d e a
    """
    result = {"k": k, "tokens": tokens, "hop": hop_symbols(tokens, k), "version": __version__}
    emit(result, as_json, lambda r: " ".join("⊥" if t is None else t for t in r["hop"]))


def _render_encoding(r: dict) -> str:
    seq = r["sequence"]
    parts = [
        f"{name}: " + " ".join(map(str, seq[start:end]))
        for name, (start, end) in zip(r["players"], r["blocks"], strict=True)
    ]
    return "\n".join(
        [
            f"pointer chasing q = {r['q']}, k = {r['k']} as a hop_{r['k']} sequence of N = {len(seq)} "
            f"tokens (alphabet 0..{2 * r['q'] + 1}; seed {r['seed']})",
            *parts,
            f"answer: hop_{r['k']}(X)_N = {r['answer_token']} (the path ends in {r['answer']})",
        ]
    )


def encode(q: QOpt = 8, k: KOpt = 3, seed: SeedOpt = 0, as_json: JsonOpt = False) -> None:
    """Encode a random pointer-chasing instance as a k-hop sequence, with its player blocks.

    Example: commlab encode --q 8 --k 3 --seed 1 --json
    """
    emit({**random_encoding(q, k, seed), "version": __version__}, as_json, _render_encoding)
