"""`commlab reduce kernel|hybrid|cot|longformer`: attention models compiled into protocols.

Each command builds a model, calls one library function (``reductions.<name>.reduce_<name>``),
adds the corollary's bound for the model's parameters, and prints the same report as
``reduce rnn`` (same ``--json`` keys, plus the architecture's own).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from commlab.cli._output import canonical, emit
from commlab.cli.options import COpt, FormatOpt, JsonOpt, QOpt, QuietOpt, SeedOpt, TrialsOpt, k_option
from commlab.cli.reduce import REPORT_NAMES, _render_report, measuring, reduce_app
from commlab.errors import SimulationMismatch
from commlab.io.codecs import number_format

KOpt = Annotated[int | None, k_option("Hops / players k (>= 1; default: rounds + 1).")]
HeadsOpt = Annotated[int, typer.Option("--heads", help="Attention heads H.")]
RankOpt = Annotated[int, typer.Option("--rank", help="Feature dimension r of the kernel (its rank).")]
FeaturesOpt = Annotated[str, typer.Option("--features", help="Kernel feature map: performer, elu or given.")]


def _finish(report, name: str, values: dict[str, Any], as_json: bool) -> None:
    """Add the corollary row, print, and fail (exit 3) if any instance differs from the model."""
    from reductions.corollaries import corollary

    c_value = report.bound[0]["c"]
    result = {**canonical(report.to_dict(), REPORT_NAMES), "c": c_value}
    result["corollary"] = canonical(
        corollary(name, k=report.k, c_value=c_value, **values), {"bound": "statement"}
    )

    def render(r: dict) -> str:
        row = r["corollary"]
        if not row["applies"]:
            verdict = f"does not bind: the rounds reach k = {r['k']}"
        elif row["critical_N"] is None or row["critical_N"] == float("inf"):
            verdict = (
                f"rounds < k = {r['k']}, but the message grows with N as fast as the bound: no N* exists"
            )
        else:
            verdict = (
                f"applies (rounds < k = {r['k']}): the message falls short past N* = {row['critical_N']:.4g}"
            )
        return _render_report(r) + f"\ncorollary ({row['reference']}): {row['statement']} — {verdict}"

    emit(result, as_json, render)
    if report.mismatches:
        instance, round, player = report.first_mismatch
        raise SimulationMismatch(
            f"{report.mismatches} instance(s) differ from the model; first: instance {instance}, round {round}, P_{player}"
        )


@reduce_app.command("kernel")
def kernel(
    layers: Annotated[int, typer.Option("--layers", help="Kernel-attention layers L.")] = 2,
    heads: HeadsOpt = 4,
    width: Annotated[int, typer.Option("--width", help="Head width m (residual stream H·m).")] = 32,
    rank: RankOpt = 16,
    features: FeaturesOpt = "performer",
    fmt: FormatOpt = "float32",
    k: KOpt = None,
    q: QOpt = 64,
    trials: TrialsOpt = 200,
    seed: SeedOpt = 0,
    c: COpt = 1.0,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Compile an L-layer kernel-attention transformer into a (k, L, H·r·(m+1)·p) protocol, verify
    it bit for bit on encoded pointer chasing, and report its bits against SHT24 Cor 5.3.

    Example: commlab reduce kernel --layers 2 --heads 4 --width 32 --rank 16 --features elu --json
    """
    from reductions.kernel import reduce_kernel

    with measuring("reduce kernel", trials, as_json, quiet):
        report = reduce_kernel(
            layers=layers,
            heads=heads,
            width=width,
            rank=rank,
            features=features,
            fmt=fmt,
            k=k,
            q=q,
            trials=trials,
            seed=seed,
            c_value=c,
        )
    p = number_format(fmt).bits
    _finish(report, "kernel", {"m": width, "r": rank, "H": heads, "p": p, "L": layers}, as_json)


@reduce_app.command("hybrid")
def hybrid(
    pattern: Annotated[
        str, typer.Option("--pattern", help="Comma list of layer kinds, e.g. gru,kernel,gru.")
    ] = "gru,kernel,gru",
    width: Annotated[int, typer.Option("--width", help="Width of every layer (residual stream).")] = 32,
    rank: RankOpt = 8,
    heads: HeadsOpt = 1,
    features: FeaturesOpt = "performer",
    fmt: FormatOpt = "float32",
    k: KOpt = None,
    q: QOpt = 64,
    trials: TrialsOpt = 200,
    seed: SeedOpt = 0,
    c: COpt = 1.0,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Compile a hybrid stack of recurrent and kernel-attention layers (one round per layer) into a
    protocol, verify it bit for bit on encoded pointer chasing, and report its bits.

    Example: commlab reduce hybrid --pattern gru,kernel,gru --width 32 --rank 8
    """
    from reductions.kernel import reduce_hybrid

    with measuring("reduce hybrid", trials, as_json, quiet):
        report = reduce_hybrid(
            pattern=pattern,
            width=width,
            rank=rank,
            heads=heads,
            features=features,
            fmt=fmt,
            k=k,
            q=q,
            trials=trials,
            seed=seed,
            c_value=c,
        )
    values = {"s": report.declared_bits_per_message, "R": report.rounds}
    _finish(report, "hop-k", values, as_json)


@reduce_app.command("cot")
def cot(
    cot_tokens: Annotated[
        int, typer.Option("--cot-tokens", help="Chain-of-thought tokens N_CoT before the answer.")
    ] = 3,
    heads: HeadsOpt = 2,
    width: Annotated[int, typer.Option("--width", help="Head width m (residual stream H·m).")] = 32,
    fmt: FormatOpt = "float32",
    k: KOpt = None,
    q: QOpt = 64,
    trials: TrialsOpt = 200,
    seed: SeedOpt = 0,
    c: COpt = 1.0,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Compile a one-layer transformer with chain of thought into a (k, N_CoT + 1, H·(m+2)·p)
    protocol (one round per query, the online softmax continued left to right), verify it bit for
    bit on encoded pointer chasing, and report its bits against SHT24 Cor 5.6 (corrected).

    Example: commlab reduce cot --cot-tokens 3 --heads 2 --width 32 --json
    """
    from reductions.cot import reduce_cot

    with measuring("reduce cot", trials, as_json, quiet):
        report = reduce_cot(
            cot_tokens=cot_tokens,
            heads=heads,
            width=width,
            fmt=fmt,
            k=k,
            q=q,
            trials=trials,
            seed=seed,
            c_value=c,
        )
    p = number_format(fmt).bits
    _finish(report, "cot", {"m": width, "H": heads, "p": p, "T": cot_tokens}, as_json)


@reduce_app.command("longformer")
def longformer(
    layers: Annotated[int, typer.Option("--layers", help="Longformer layers L.")] = 2,
    heads: HeadsOpt = 2,
    width: Annotated[int, typer.Option("--width", help="Head width m (residual stream H·m).")] = 32,
    window: Annotated[int, typer.Option("--window", help="Causal attention window w (positions).")] = 8,
    globals_every: Annotated[
        int, typer.Option("--global-every", help="A global position every g positions.")
    ] = 64,
    fmt: FormatOpt = "float32",
    k: KOpt = None,
    q: QOpt = 64,
    trials: TrialsOpt = 200,
    seed: SeedOpt = 0,
    c: COpt = 1.0,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Compile an L-layer Longformer into a (k, L, s) protocol (each player posts its window edge and
    its own global positions), verify it bit for bit on encoded pointer chasing, and report its bits
    against SHT24 Cor 5.4.

    Example: commlab reduce longformer --layers 2 --heads 2 --width 32 --window 8 --global-every 64
    """
    from reductions.longformer import reduce_longformer

    with measuring("reduce longformer", trials, as_json, quiet):
        report = reduce_longformer(
            layers=layers,
            heads=heads,
            width=width,
            window=window,
            globals_every=globals_every,
            fmt=fmt,
            k=k,
            q=q,
            trials=trials,
            seed=seed,
            c_value=c,
        )
    values = {
        "w": window,
        "g": globals_every,
        "m": width,
        "H": heads,
        "p": number_format(fmt).bits,
        "L": layers,
    }
    _finish(report, "longformer", values, as_json)
