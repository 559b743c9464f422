"""The figures: each is a data function (the measured numbers, JSON-ready) and a draw function (a
matplotlib Figure at paper column width). :func:`make_figure` runs both by name.

- ``tradeoff``: bits per message against the input size N for fixed k, with the lower bound c·N/k⁶.
- ``frontier``: rounds against bits for fixed (q, k), and where measured success crosses 2/3.
- ``solvers``: accuracy of hop_k solvers against their state bits, with the bound marked; every
  solver is one curve (:class:`reductions.experiment.SolverCurve`), so new solvers add curves.
- ``example``: a hop_k sequence with its hops drawn as arcs, and pointer chasing encoded as hop_k.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import matplotlib
import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Arc

from commlab._version import __version__
from commlab.analysis.measure import smallest_budget
from commlab.errors import InvalidParameter
from commlab.problems.hop import find_k, hop_symbols
from commlab.progress import progress_bar

__all__ = ["FIGURES", "check_output", "draw", "make_figure", "save"]

# Figures are built without pyplot: no global state, any backend, and they display in notebooks.
COLUMN = {
    "font.size": 7,
    "axes.titlesize": 8,
    "axes.labelsize": 7,
    "legend.fontsize": 6,
    "xtick.labelsize": 6,
    "ytick.labelsize": 6,
    "lines.markersize": 3.5,
}
WIDTH = 3.4  # inches: one column of a two-column paper


# --- tradeoff -------------------------------------------------------------------------------------


def tradeoff_data(
    k: int = 4,
    c: float = 1.0,
    trials: int = 200,
    seed: int = 0,
    q_values: tuple[int, ...] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Measured bits per message of chase (R = k), broadcast (R = 1) and the best sampling protocol
    found with R = k − 1 rounds (:func:`commlab.analysis.measure.smallest_budget`), the declared s of a
    compiled (k − 1)-layer RNN, and the hop_k bound c·N/k⁶, for N = 2kq + 1 over a range of q."""
    from commlab.models import random_recurrent_model
    from commlab.protocols import simulate
    from reductions import get_reduction

    if k < 2:
        raise InvalidParameter(f"the trade-off needs k >= 2 (R = k − 1 rounds must be possible), got {k}")
    q_values = list(q_values or [16, 32, 64, 128, 256, 512])
    rows = []
    with progress_bar("trade-off", len(q_values), progress) as advance:
        for q in q_values:
            chase = simulate("chase", q=q, k=k, trials=trials, seed=seed)
            broadcast = simulate("broadcast", q=q, k=k, trials=min(trials, 100), seed=seed)
            sampling = smallest_budget(q, k, k - 1, trials=trials, seed=seed)
            n = 2 * k * q + 1
            rows.append(
                {
                    "q": q,
                    "N": n,
                    "bound": c * n / k**6,
                    "chase": chase.bits_per_message,
                    "broadcast": broadcast.bits_per_message,
                    "sampling": sampling.bits_per_message,
                    "sampling_m": sampling.m,
                    "sampling_success": sampling.success,
                }
            )
            advance()
    rnn = random_recurrent_model("elman", k - 1, 64, 4, "float32")
    models = [
        {
            "label": f"{k - 1}-layer Elman RNN, state 64, float32 (R = {k - 1})",
            "bits": get_reduction("rnn").bits_per_message(rnn, k),
            "rounds": k - 1,
        }
    ]
    return {
        "figure": "tradeoff",
        "k": k,
        "c": c,
        "trials": trials,
        "seed": seed,
        "rows": rows,
        "models": models,
        "version": __version__,
    }


def draw_tradeoff(data: dict[str, Any]) -> Figure:
    rows, k = data["rows"], data["k"]
    n = np.array([r["N"] for r in rows], dtype=float)
    with matplotlib.rc_context(COLUMN):
        fig = Figure(layout="constrained", figsize=(WIDTH, 3.6))
        ax = fig.subplots()
        sampling = np.array([r["sampling"] for r in rows], dtype=float)
        bound = np.array([r["bound"] for r in rows])
        ax.fill_between(n, bound, sampling, color="0.85", label="gap: best R = k−1 protocol vs bound")
        ax.plot(n, bound, "k--", label=f"lower bound c·N/k⁶ (c = {data['c']:g})")
        ax.plot(n, sampling, "o-", color="C2", label=f"sampling, R = k−1 = {k - 1} (smallest s found)")
        ax.plot(n, [r["broadcast"] for r in rows], "s-", color="C1", label="broadcast, R = 1")
        ax.plot(
            n,
            [r["chase"] for r in rows],
            "^-",
            color="C0",
            label=f"chase, R = k = {k} (bound does not apply)",
        )
        for i, model in enumerate(data["models"]):
            ax.axhline(model["bits"], color=f"C{3 + i}", lw=1, label=f"declared s: {model['label']}")
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="sequence length N = 2kq + 1 (tokens)",
            ylabel="bits per message",
            title=f"Bits per message against input size (k = {k})",
        )
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=1, frameon=False)
    return fig


# --- frontier -------------------------------------------------------------------------------------


def frontier_data(
    q: int = 128, k: int = 4, trials: int = 300, seed: int = 0, progress: bool = False
) -> dict[str, Any]:
    """For every R = 1..k, the smallest bits per message at which pointer chasing is solved with
    success ≥ 2/3 in R rounds, and every (bits, success) point the search measured."""
    if k < 1:
        raise InvalidParameter(f"k must be >= 1, got {k}")
    rows = []
    with progress_bar("frontier", k, progress) as advance:
        for rounds in range(1, k + 1):
            found = smallest_budget(q, k, rounds, trials=trials, seed=seed)
            rows.append(found.to_dict())
            advance()
    return {
        "figure": "frontier",
        "q": q,
        "k": k,
        "trials": trials,
        "seed": seed,
        "target": 2 / 3,
        "rows": rows,
        "version": __version__,
    }


def draw_frontier(data: dict[str, Any]) -> Figure:
    with matplotlib.rc_context(COLUMN):
        fig = Figure(layout="constrained", figsize=(WIDTH, 2.5))
        ax = fig.subplots()
        for row in data["rows"]:
            for point in row["evaluations"]:
                good = point["success"] >= data["target"]
                ax.plot(
                    point["bits"],
                    row["rounds"],
                    "o" if good else "x",
                    color="C2" if good else "C3",
                    alpha=0.6,
                )
        bits = [row["bits_per_message"] for row in data["rows"]]
        rounds = [row["rounds"] for row in data["rows"]]
        ax.step(bits, rounds, where="post", color="k", label="smallest s with success ≥ 2/3")
        ax.plot([], [], "o", color="C2", label="measured success ≥ 2/3")
        ax.plot([], [], "x", color="C3", label="measured success < 2/3")
        ax.axhline(data["k"], color="0.5", ls=":", lw=1, label=f"R = k = {data['k']}")
        ax.set(
            xscale="log",
            xlabel="bits per message s",
            ylabel="rounds R",
            title=f"Rounds against bits, pointer chasing q = {data['q']}, k = {data['k']}",
        )
        ax.set_yticks(range(1, data["k"] + 1))
        ax.legend(loc="lower left", frameon=False)
    return fig


# --- solvers --------------------------------------------------------------------------------------


def solvers_data(
    q: int = 64,
    k: int = 4,
    c: float = 1.0,
    trials: int = 200,
    seed: int = 0,
    windows: tuple[int, ...] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Accuracy against measured state bits for each hop_k solver on encoded (q, k) pointer chasing
    (default: the window RNN), and the bound c·N/k⁶ that one-round (L = 1 < k) models must meet."""
    from reductions.cot import cot_solver_curve
    from reductions.experiment import window_solver_curve

    n = 2 * k * q + 1
    windows = list(windows or sorted({0, n // 4, n // 2, 3 * n // 4, n - 2 * q, n - q, n - q // 2, n - 1, n}))
    with progress_bar("solvers", len(windows), progress) as advance:
        curves = [window_solver_curve(q, k, windows, trials=trials, seed=seed, progress=advance).to_dict()]
        skipped = []
        try:  # the hop-following CoT, one CoT token short of 2k and at 2k: 4·p bits, N_CoT + 1 rounds
            curves.append(cot_solver_curve(q, k, [2 * k - 1, 2 * k], trials=trials, seed=seed).to_dict())
        except InvalidParameter as too_big:  # its scratchpad vocabulary grows as q·N
            skipped.append(str(too_big))
    return {
        "figure": "solvers",
        "q": q,
        "k": k,
        "N": n,
        "c": c,
        "bound_bits": c * n / k**6,
        "trials": trials,
        "seed": seed,
        "curves": curves,
        "skipped": skipped,
        "version": __version__,
    }


def draw_solvers(data: dict[str, Any]) -> Figure:
    with matplotlib.rc_context(COLUMN):
        fig = Figure(layout="constrained", figsize=(WIDTH, 2.5))
        ax = fig.subplots()
        for i, curve in enumerate(data["curves"]):
            bits = np.array(curve["bits_per_message"], dtype=float)
            acc = np.array(curve["accuracy"])
            ci = np.array(curve["accuracy_ci"])
            ax.errorbar(
                bits,
                acc,
                yerr=[acc - ci[:, 0], ci[:, 1] - acc],
                fmt="o-",
                color=f"C{i}",
                capsize=2,
                label=f"{curve['label']} (R = {curve['rounds'][0]})",
            )
        ax.axhline(2 / 3, color="0.5", ls=":", lw=1, label="success 2/3")
        ax.axvline(
            data["bound_bits"],
            color="k",
            ls="--",
            lw=1,
            label=f"bound c·N/k⁶ = {data['bound_bits']:.3g} bits (c = {data['c']:g})",
        )
        smallest = min([data["bound_bits"], *(min(c["bits_per_message"]) for c in data["curves"])])
        largest = max(max(c["bits_per_message"]) for c in data["curves"])
        ax.set(
            xscale="log",
            xlim=(smallest / 2, largest * 2),
            xlabel="bits per message (state bits, measured)",
            ylabel="accuracy on hop_k(X)_N",
            ylim=(0, 1.05),
            title=f"hop_k solvers, q = {data['q']}, k = {data['k']}, N = {data['N']}",
        )
        ax.legend(loc="upper left", bbox_to_anchor=(0.1, 0.98), frameon=False)
    return fig


# --- example --------------------------------------------------------------------------------------


def example_data(tokens: str = "baebcabebdea", k: int = 2, q: int = 4, seed: int = 0) -> dict[str, Any]:
    """A hop_k sequence with the positions its last hop chain visits, and a (q, 3) pointer-chasing
    instance encoded as hop_3 with its player blocks and chain."""
    from reductions.pointer_chasing import random_encoding

    symbols = list(tokens)
    ids = np.array([symbols.index(t) for t in symbols])
    chain = [int(find_k(ids, level)[-1]) for level in range(k + 1)]
    encoded = random_encoding(q, 3, seed)
    sequence = np.array(encoded["sequence"])
    encoded_chain = [int(find_k(sequence, level)[-1]) for level in range(4)]
    return {
        "figure": "example",
        "tokens": symbols,
        "k": k,
        "hop": hop_symbols(symbols, k),
        "chain": chain,
        "encoding": encoded,
        "encoding_chain": encoded_chain,
        "version": __version__,
    }


def _arcs(ax, chain: list[int], y: float, color: str, height: float, span: int) -> None:
    """Arcs between consecutive chain positions, as high as ``height`` for the widest possible."""
    for level, (start, end) in enumerate(zip(chain[:-1], chain[1:], strict=True), start=1):
        if end < 0:
            break
        centre, width = (start + end) / 2, max(abs(start - end), 0.6)
        tall = height * (0.3 + 0.7 * width / max(span, 1))
        ax.add_patch(Arc((centre, y), width, 2 * tall, theta1=0, theta2=180, color=color, lw=1.2))
        ax.text(
            centre,
            y + tall,
            f"find{'¹²³⁴⁵⁶⁷⁸⁹'[level - 1] if level < 10 else level}",
            ha="center",
            va="bottom",
            fontsize=6,
            color=color,
        )


def draw_example(data: dict[str, Any]) -> Figure:
    with matplotlib.rc_context(COLUMN):
        fig = Figure(layout="constrained", figsize=(WIDTH * 2, 3.2))
        top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [1, 1.2]})
        tokens, chain = data["tokens"], data["chain"]
        for i, t in enumerate(tokens):
            top.text(
                i,
                0,
                t,
                ha="center",
                va="center",
                family="monospace",
                fontsize=9,
                bbox={"boxstyle": "round", "fc": "C1" if i in chain[1:] else "white", "ec": "0.6"},
            )
            top.text(
                i,
                -0.55,
                "⊥" if data["hop"][i] is None else data["hop"][i],
                ha="center",
                fontsize=7,
                color="C0",
            )
        _arcs(top, chain, 0.3, "C3", 0.9, len(tokens))
        top.text(-1.2, -0.55, f"hop_{data['k']}", ha="right", fontsize=7, color="C0")
        top.set(
            xlim=(-2, len(tokens)),
            ylim=(-0.9, 1.4),
            title=f"hop_{data['k']} of '{''.join(tokens)}': the arcs follow find¹, find², … from the last position",
        )
        top.axis("off")
        enc = data["encoding"]
        seq = enc["sequence"]
        for b, ((start, end), name) in enumerate(zip(enc["blocks"], enc["players"], strict=True)):
            bottom.axvspan(start - 0.5, end - 0.5, color=f"C{b}", alpha=0.12)
            bottom.text((start + end - 1) / 2, 1.2, f"{name} holds E_{name[2:]}", ha="center", fontsize=7)
        for i, t in enumerate(seq):
            bottom.text(
                i,
                0,
                str(t),
                ha="center",
                va="center",
                fontsize=5.5,
                family="monospace",
                color="C3" if i in data["encoding_chain"][1:] else "k",
            )
        _arcs(bottom, data["encoding_chain"], 0.25, "C3", 0.75, len(seq))
        bottom.set(
            xlim=(-1, len(seq)),
            ylim=(-0.6, 1.6),
            title=f"pointer chasing q = {enc['q']}, k = {enc['k']} as hop_{enc['k']}: "
            f"answer token {enc['answer_token']} (path ends in {enc['answer']}); speaking order is left to right",
        )
        bottom.axis("off")
    return fig


FIGURES: dict[str, tuple[Callable[..., dict], Callable[[dict], Figure]]] = {
    "tradeoff": (tradeoff_data, draw_tradeoff),
    "frontier": (frontier_data, draw_frontier),
    "solvers": (solvers_data, draw_solvers),
    "example": (example_data, draw_example),
}


def draw(data: dict[str, Any]) -> Figure:
    """Draw figure data made by one of the data functions (it names its figure)."""
    return FIGURES[data["figure"]][1](data)


def make_figure(name: str, **options) -> tuple[Figure, dict[str, Any]]:
    """Measure and draw the figure ``name``; options a figure does not take, or left ``None``, are
    ignored.

    Returns
    -------
    (Figure, dict)
        The figure and the numbers it plots.

    Examples
    --------
    >>> fig, data = make_figure("example", k=2)
    >>> data["hop"][-1], len(fig.axes)
    ('c', 2)
    """
    if name not in FIGURES:
        raise InvalidParameter(f"unknown figure {name!r}; choose one of {', '.join(FIGURES)}")
    make_data, draw_it = FIGURES[name]
    accepted = inspect.signature(make_data).parameters
    data = make_data(**{key: v for key, v in options.items() if key in accepted and v is not None})
    return draw_it(data), data


def check_output(path: str) -> str:
    """The file type to save as, from ``path``'s suffix: png, pdf or svg."""
    suffix = str(path).rsplit(".", 1)[-1].lower() if "." in str(path) else ""
    if suffix not in ("png", "pdf", "svg"):
        raise InvalidParameter(f"--out must end in .png, .pdf or .svg, got {path!r}")
    return suffix


def save(fig: Figure, path: str) -> str:
    """Save a figure as PNG, PDF or SVG (by the file's suffix)."""
    suffix = check_output(path)
    try:
        fig.savefig(path, dpi=300 if suffix == "png" else None)
    except OSError as error:
        raise InvalidParameter(f"cannot write {path!r}: {error.strerror}") from None
    return str(path)
