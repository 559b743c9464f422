"""The log-depth figures (issue 9): data function + draw function each, registered in
:data:`commlab.figures.plot.FIGURES`.

- ``depth``: accuracy of the hop_k construction against its depth L for several k, with
  L = 2 + ⌈log₂ k⌉ marked: the construction is exact from there on and fails one layer earlier.
- ``rank``: accuracy on encoded pointer chasing when every attention is replaced by a rank-r
  stand-in (truncated SVD, Performer), and the threshold rank against N beside the rank the
  kernel-attention bound demands.
"""

from __future__ import annotations

from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from commlab._version import __version__
from commlab.figures.style import COLUMN, WIDTH, interval_errorbar
from commlab.progress import progress_bar

__all__ = ["depth_data", "draw_depth", "draw_rank", "rank_data"]


def depth_data(
    k_values: tuple[int, ...] = (2, 3, 5, 8, 12, 16),
    n: int = 128,
    alphabet: int = 4,
    max_layers: int = 7,
    trials: int = 50,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """For every k and L = 2..max_layers: the construction built with L layers (reaching
    min(k, 2^{L−2}) hops) on ``trials`` random sequences — the fraction right at the last position
    (with its 95 % interval) and over all positions — and the depth 2 + ⌈log₂ k⌉ it needs."""
    from commlab.models.construction import ceil_depth, floor_depth, measure_hop_construction

    depths = list(range(2, max_layers + 1))
    rows = []
    with progress_bar("depth", len(k_values) * len(depths), progress) as advance:
        for k in k_values:
            runs = []
            for layers in depths:
                runs.append(measure_hop_construction(k, n, alphabet, trials, seed, layers))
                advance()
            rows.append(
                {
                    "k": k,
                    "needed_layers": ceil_depth(k),
                    "floor_layers": floor_depth(k),
                    "layers": depths,
                    "accuracy": [r["last_position_accuracy"] for r in runs],
                    "accuracy_ci": [r["last_position_accuracy_ci"] for r in runs],
                    "position_accuracy": [r["position_accuracy"] for r in runs],
                    "every_position": [r["accuracy"] for r in runs],
                }
            )
    return {
        "figure": "depth",
        "n": n,
        "alphabet": alphabet,
        "trials": trials,
        "seed": seed,
        "rows": rows,
        "version": __version__,
    }


def draw_depth(data: dict[str, Any]) -> Figure:
    with matplotlib.rc_context(COLUMN):
        fig = Figure(layout="constrained", figsize=(WIDTH, 2.6))
        ax = fig.subplots()
        for i, row in enumerate(data["rows"]):
            layers = np.array(row["layers"]) + (i - len(data["rows"]) / 2) * 0.04
            interval_errorbar(
                ax,
                layers,
                row["accuracy"],
                row["accuracy_ci"],
                fmt="o-",
                color=f"C{i}",
                capsize=1.5,
                label=f"k = {row['k']} (needs L = {row['needed_layers']})",
            )
            ax.axvline(row["needed_layers"], color=f"C{i}", ls=":", lw=0.8)
        ax.axhline(2 / 3, color="0.5", lw=0.6)
        ax.set(
            xlabel="layers L (dotted: L = 2 + ⌈log₂ k⌉)",
            ylabel="accuracy of hop_k(X)_N",
            ylim=(-0.03, 1.05),
            title=f"Construction: accuracy against depth (N = {data['n']}, |Σ| = {data['alphabet']})",
        )
        ax.set_xticks(data["rows"][0]["layers"])
        ax.legend(loc="lower right", frameon=False)
    return fig


def rank_data(
    k_values: tuple[int, ...] = (4, 8),
    q_values: tuple[int, ...] = (2, 4, 8),
    trials: int = 40,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """:func:`commlab.models.low_rank.rank_sweep` as a figure's data."""
    from commlab.models.low_rank import rank_sweep

    with progress_bar("rank", 2 * len(k_values) * len(q_values), progress) as advance:
        sweep = rank_sweep(tuple(k_values), tuple(q_values), trials=trials, seed=seed, progress=advance)
    return {"figure": "rank", **sweep, "version": __version__}


def draw_rank(data: dict[str, Any]) -> Figure:
    with matplotlib.rc_context(COLUMN):
        fig = Figure(layout="constrained", figsize=(WIDTH, 4.6))
        top, bottom = fig.subplots(2, 1)
        for i, curve in enumerate(c for c in data["curves"] if c["method"] == "svd"):
            ranks = np.array(curve["ranks"], dtype=float)
            interval_errorbar(
                top,
                ranks / curve["n"],
                curve["accuracy"],
                curve["accuracy_ci"],
                fmt="o-",
                color=f"C{i}",
                capsize=1.5,
                label=f"SVD, k = {curve['k']}, N = {curve['n']}",
            )
        performer = [c for c in data["curves"] if c["method"] == "performer"]
        for curve in performer:
            top.plot(np.array(curve["ranks"]) / curve["n"], curve["accuracy"], "x", color="k", alpha=0.6)
        if performer:
            top.plot([], [], "x", color="k", label=f"Performer, r ≤ {max(performer[0]['ranks'])} features")
        top.axhline(2 / 3, color="0.5", lw=0.6)
        top.set(
            xscale="log",
            xlabel="rank r / N",
            ylabel="accuracy of hop_k(X)_N",
            title="Low-rank attention breaks the construction",
        )
        top.legend(loc="center left", frameon=False, fontsize=5)
        svd = [c for c in data["curves"] if c["method"] == "svd"]
        for i, k in enumerate(sorted({c["k"] for c in svd})):
            mine = [c for c in svd if c["k"] == k]
            n = [c["n"] for c in mine]
            reached = [c["threshold"] if c["threshold"] is not None else np.nan for c in mine]
            bottom.plot(
                n, reached, "os"[i % 2] + "-", color=f"C{i}", ms=4 - i, label=f"measured r* (SVD), k = {k}"
            )
            applies = "" if mine[0]["layers"] < k else " (L = k: does not bind)"
            bottom.plot(
                n,
                [c["bound_rank"] for c in mine],
                "--",
                color=f"C{i}",
                label=f"bound c·N/(2k⁶·m·p), c = 1, k = {k}{applies}",
            )
        every_n = sorted({c["n"] for c in svd})
        bottom.plot(every_n, every_n, ":", color="0.5", lw=0.8, label="r = N")
        bottom.set(
            xscale="log",
            yscale="log",
            xlabel="sequence length N = 2kq + 1",
            ylabel="rank r",
            title="Rank needed (CI ≥ 2/3) vs the kernel bound (c = 1)",
        )
        bottom.legend(loc="center right", frameon=False, fontsize=5)
    return fig
