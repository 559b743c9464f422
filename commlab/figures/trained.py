"""The trained-model figures (issue 12 §4–5): data function + draw function each, registered in
:data:`commlab.figures.plot.FIGURES`. Both read a committed results file instead of training.

- ``depth-vs-k``: error per k of GPT-2s of several depths, from a results file written by
  :func:`commlab.training.depth_vs_k` — error against k on a log₂ axis, one curve per depth with
  95 % intervals (as SHT24 Fig. 2), and the same numbers as a heat map (depth × k, k = 0 included).
- ``rnn-bits``: trained one-layer LSTMs and GRUs put through the rnn reduction, from a results file
  written by :func:`commlab.training.rnn_bits` — accuracy at the last position against the bits of
  the state each player posts, one curve per (cell, k), with the rnn bound's requirement c·N/(2k⁶)
  marked (and said vacuous when it is); beside it their error over all positions against parameter
  count, with trained transformers from a depth-vs-k results file when one is given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure

from commlab._version import __version__
from commlab.errors import InvalidParameter
from commlab.figures.style import COLUMN, WIDTH, interval_errorbar

#: Marker and line style of each model family, the same in every panel.
FAMILY_STYLES = {"lstm": ("o", "-"), "gru": ("s", "--"), "rnn": ("^", ":"), "gpt2": ("D", "-.")}

__all__ = ["depth_vs_k_data", "draw_depth_vs_k", "draw_rnn_bits", "rnn_bits_data"]

SOLVED_ERROR = 0.05  # a k counts as learned when its error's 95 % interval lies below 5 %


def _read_results(results: str | Path | None, experiment: str, writer: str) -> dict[str, Any]:
    """A results file of ``experiment``, refused by name when missing, unreadable or of another kind."""
    if results is None:
        raise InvalidParameter(f"the {experiment} figure draws a results file: pass --results PATH ({writer} writes one)")
    path = Path(results)
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise InvalidParameter(f"cannot read results file {str(path)!r}: {error.strerror}") from None
    except ValueError:
        raise InvalidParameter(f"{str(path)!r} is not a JSON results file") from None
    if not isinstance(data, dict) or data.get("experiment") != experiment:
        found = data.get("experiment") if isinstance(data, dict) else None
        raise InvalidParameter(
            f"{str(path)!r} holds the results of experiment {found!r}, not {experiment!r} ({writer} writes those)"
        )
    return data


def _learned_through(rows: list[dict]) -> int | None:
    """The largest k such that every k' ≤ k (from the smallest measured) has its error's upper 95 %
    bound below :data:`SOLVED_ERROR`; ``None`` if the smallest does not."""
    learned = None
    for row in sorted(rows, key=lambda r: r["k"]):
        if row["error_ci"] is None or row["error_ci"][1] >= SOLVED_ERROR:
            break
        learned = row["k"]
    return learned


# --- depth-vs-k -----------------------------------------------------------------------------------


def depth_vs_k_data(results: str | Path | None = None) -> dict[str, Any]:
    """Error per k for every depth in a ``depth-vs-k`` results file, with the largest k each depth
    has learned (every k' ≤ k with error established below 5 %) beside the paper's rule 2^{L−2}
    (docs/theory.md §8).

    Raises
    ------
    InvalidParameter
        No ``results`` given, a file that cannot be read, or one of another experiment.

    Examples
    --------
    >>> data = depth_vs_k_data("docs/results/depth_vs_k_small_seed0.json")
    >>> [(row["depth"], row["learned_through"], row["paper_rule"]) for row in data["depths"]]
    [(2, 1, 1), (3, 3, 2), (4, 6, 4)]
    """
    found = _read_results(results, "depth-vs-k", "commlab experiment depth-vs-k")
    depths = []
    for row in found["depths"]:
        per_k = sorted(row["per_k"], key=lambda r: r["k"])
        depths.append(
            {
                "depth": row["depth"],
                "k": [r["k"] for r in per_k],
                "error": [r["error"] for r in per_k],
                "error_ci": [r["error_ci"] for r in per_k],
                "positions": [r["positions"] for r in per_k],
                "learned_through": _learned_through(per_k),
                "paper_rule": 2 ** (row["depth"] - 2) if row["depth"] >= 2 else 0,
            }
        )
    return {
        "figure": "depth-vs-k",
        "results": str(results),
        "settings": found["settings"],
        "seed": found["seed"],
        "mode": found.get("mode"),
        "solved_error": SOLVED_ERROR,
        "depths": depths,
        "version": __version__,
    }


def draw_depth_vs_k(data: dict[str, Any]) -> Figure:

    settings = data["settings"]
    with matplotlib.rc_context(COLUMN):
        fig = Figure(layout="constrained", figsize=(2 * WIDTH, 2.6))
        curves, heat = fig.subplots(1, 2, width_ratios=(1.3, 1))
        for i, row in enumerate(data["depths"]):
            ks = np.array(row["k"])
            shown = ks >= 1  # k = 0 has no place on a log axis; the heat map shows it
            interval_errorbar(
                curves,
                ks[shown],
                [e for e, keep in zip(row["error"], shown, strict=True) if keep],
                [c for c, keep in zip(row["error_ci"], shown, strict=True) if keep],
                fmt="o-",
                color=f"C{i}",
                capsize=2,
                label=f"depth {row['depth']}",
            )
        curves.set_xscale("log", base=2)
        positive = sorted({k for row in data["depths"] for k in row["k"] if k >= 1})
        curves.set_xticks(positive, labels=[str(k) for k in positive])
        curves.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        curves.set(
            xlabel="hops k (log₂ axis; k = 0 in the heat map)",
            ylabel="error (positions with a defined target)",
            ylim=(-0.02, 1.0),
            title="error against k, 95 % intervals",
        )
        curves.legend(frameon=False)

        ks = data["depths"][0]["k"]
        grid = np.array([[np.nan if e is None else e for e in row["error"]] for row in data["depths"]])
        image = heat.imshow(grid, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        for (r, col), value in np.ndenumerate(grid):
            if np.isfinite(value):
                heat.text(col, r, f"{value:.2f}", ha="center", va="center", fontsize=5,
                          color="w" if value < 0.5 else "k")
        heat.set(
            xticks=range(len(ks)),
            xticklabels=ks,
            yticks=range(len(data["depths"])),
            yticklabels=[row["depth"] for row in data["depths"]],
            xlabel="hops k",
            ylabel="depth L",
            title="error per (depth, k)",
        )
        fig.colorbar(image, ax=heat, label="error")
        fig.suptitle(
            f"GPT-2 trained on hop_k: width {settings['width']}, {settings['heads']} heads, n = {settings['n']}, "
            f"{settings['steps']} steps, {settings['samples']} sequences per k ({data['mode']} mode)"
        )
    return fig


# --- rnn-bits -------------------------------------------------------------------------------------


def rnn_bits_data(results: str | Path | None = None, transformers: str | Path | None = None) -> dict[str, Any]:
    """Accuracy against state bits for every trained recurrent model in an ``rnn-bits`` results file,
    per k, with the rnn bound's requirement c·N/(2k⁶) (SHT24 Cor 5.2) and whether it is vacuous;
    and, when ``transformers`` names a ``depth-vs-k`` results file of the same task, those models'
    error per k against their parameter count beside the recurrent models'.

    Examples
    --------
    >>> data = rnn_bits_data("docs/results/trained_rnns_small.json")
    >>> data["mismatches"], all(row["vacuous"] for row in data["rnn_bound"])
    (0, True)
    """
    from commlab.problems.paper_format import PaperTask
    from commlab.training import TrainConfig

    found = _read_results(results, "rnn-bits", "commlab experiment rnn-bits")
    settings = found["settings"]
    curves = []
    for cell in dict.fromkeys(m["cell"] for m in found["models"]):
        models = sorted((m for m in found["models"] if m["cell"] == cell), key=lambda m: m["state_bits"])
        for k in sorted({row["k"] for m in models for row in m["last_position"]}):
            rows = [next(r for r in m["last_position"] if r["k"] == k) for m in models]
            curves.append(
                {
                    "cell": cell,
                    "k": k,
                    "width": [m["width"] for m in models],
                    "state_bits": [m["state_bits"] for m in models],
                    "measured_bits_per_message": [r["measured_bits_per_message"] for r in rows],
                    "rounds": [r["rounds"] for r in rows],
                    "accuracy": [r["accuracy"] for r in rows],
                    "accuracy_ci": [r["accuracy_ci"] for r in rows],
                    "mismatches": [r["mismatches"] for r in rows],
                }
            )
    first = found["models"][0]["last_position"]
    bound = [
        {"k": r["k"], "bound_bits": r["bound_bits"], "applies": r["applies"], "vacuous": r["vacuous"]}
        for r in first
    ]
    sized = [
        {
            "model": f"{m['cell'].upper()} m = {m['width']}",
            "family": m["cell"],
            "parameters": m["parameters"],
            "per_k": m["per_k"],
        }
        for m in found["models"]
    ]
    if transformers is not None:
        depth = _read_results(transformers, "depth-vs-k", "commlab experiment depth-vs-k")
        theirs = depth["settings"]
        if (theirs["n"], theirs["k_max"]) != (settings["n"], settings["k_max"]):
            raise InvalidParameter(
                f"the transformers were trained on n = {theirs['n']}, k <= {theirs['k_max']}, the recurrent "
                f"models on n = {settings['n']}, k <= {settings['k_max']}: their errors do not compare"
            )
        task = PaperTask(char_tokens=settings["alphabet"], max_hops=theirs["k_max"], seq_len=theirs["n"])
        for row in depth["depths"]:
            config = TrainConfig(model="gpt2", layers=row["depth"], width=theirs["width"], heads=theirs["heads"])
            sized.append(
                {
                    "model": f"GPT-2 L = {row['depth']}",
                    "family": "gpt2",
                    "parameters": config.parameters(task),
                    "per_k": row["per_k"],
                }
            )
    return {
        "figure": "rnn-bits",
        "results": str(results),
        "transformers": None if transformers is None else str(transformers),
        "settings": settings,
        "input_length": settings["n"] - 1,
        "c": found["c"],
        "seed": found["seed"],
        "mismatches": sum(sum(curve["mismatches"]) for curve in curves),
        "curves": curves,
        "rnn_bound": bound,
        "by_parameters": sized,
        "version": __version__,
    }


def draw_rnn_bits(data: dict[str, Any]) -> Figure:

    settings = data["settings"]
    with matplotlib.rc_context(COLUMN):
        fig = Figure(layout="constrained", figsize=(2 * WIDTH, 2.8))
        bits_ax, params_ax = fig.subplots(1, 2)
        ks = sorted({curve["k"] for curve in data["curves"]})
        for curve in data["curves"]:
            marker, line = FAMILY_STYLES.get(curve["cell"], ("v", "-"))
            interval_errorbar(
                bits_ax,
                curve["state_bits"],
                curve["accuracy"],
                curve["accuracy_ci"],
                marker=marker,
                ls=line,
                color=f"C{ks.index(curve['k'])}",
                capsize=2,
                label=f"{curve['cell'].upper()}, k = {curve['k']}",
            )
        chance = 1 / settings["alphabet"]
        bits_ax.axhline(chance, color="0.5", ls=":", lw=1, label=f"uniform guess 1/{settings['alphabet']}")
        largest = max(data["rnn_bound"], key=lambda row: row["bound_bits"])
        vacuous = all(row["vacuous"] for row in data["rnn_bound"])
        bits_ax.axvline(
            largest["bound_bits"],
            color="k",
            ls="--",
            lw=1,
            label=(
                f"rnn bound c·N/(2k⁶) at c = {data['c']:g}: ≤ {largest['bound_bits']:.2g} bits"
                + (" (vacuous)" if vacuous else "")
            ),
        )
        every = [b for curve in data["curves"] for b in curve["state_bits"]]
        bits_ax.set_xscale("log", base=2)
        bits_ax.set(
            xlim=(min(largest["bound_bits"], min(every)) / 2, max(every) * 2),
            ylim=(0, 1.05),
            xlabel="state bits each player posts (m·32; h and c for LSTM)",
            ylabel="accuracy at the last position",
            title=f"through the reduction: R = L = {settings['layers']} < k, {data['mismatches']} mismatches",
        )
        bits_ax.legend(frameon=False, fontsize=5, ncol=2)

        for k in ks:
            for family in dict.fromkeys(s["family"] for s in data["by_parameters"]):
                members = sorted(
                    (s for s in data["by_parameters"] if s["family"] == family), key=lambda s: s["parameters"]
                )
                rows = [next(r for r in s["per_k"] if r["k"] == k) for s in members]
                marker, line = FAMILY_STYLES.get(family, ("v", "-"))
                interval_errorbar(
                    params_ax,
                    [s["parameters"] for s in members],
                    [r["error"] for r in rows],
                    [r["error_ci"] for r in rows],
                    marker=marker,
                    ls=line,
                    color=f"C{ks.index(k)}",
                    capsize=2,
                    label=f"{'GPT-2' if family == 'gpt2' else family.upper()}, k = {k}",
                )
        params_ax.set_xscale("log")
        params_ax.set(
            ylim=(-0.02, 1.0),
            xlabel="trainable parameters",
            ylabel="error (all positions with a defined target)",
            title="beside trained transformers" if data["transformers"] else "error against size",
        )
        params_ax.legend(frameon=False, fontsize=5, ncol=2)
        fig.suptitle(
            f"Trained {settings['layers']}-layer recurrent models on hop_k: n = {settings['n']}, "
            f"{settings['alphabet']} characters, {settings['steps']} steps, {settings['samples']} sequences per k"
        )
    return fig
