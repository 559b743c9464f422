"""The figures: each is a data function (the measured numbers, JSON-ready) and a draw function (a
matplotlib Figure at paper column width). :func:`make_figure` runs both by name.

- ``tradeoff``: for fixed k, the best zoo protocol's bits per message for every R against the input
  size N, with the Assadi–N bound c·q/k⁵ and the dominated protocols marked as such.
- ``frontier``: rounds against bits for fixed (q, k): every zoo protocol's smallest s reaching
  success 2/3, the best one per R by name, and the staircase of the fewest rounds per budget.
- ``solvers``: accuracy of hop_k solvers against their state bits, with the bound marked (and said
  to be vacuous when it is) and the empirical ceiling on its constant; every solver is one curve
  (:class:`reductions.experiment.SolverCurve`), so new solvers add curves.
- ``example``: a hop_k sequence with its hops drawn as arcs, and pointer chasing encoded as hop_k.

The log-depth figures (``depth``, ``rank``) live in :mod:`commlab.figures.depth` and the trained-model
figures (``depth-vs-k``, ``rnn-bits``, drawn from committed results files) in
:mod:`commlab.figures.trained`; :data:`FIGURES` names them all. The house style is
:mod:`commlab.figures.style`.
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
from commlab.errors import InvalidParameter
from commlab.figures import depth, trained
from commlab.figures.style import COLUMN, WIDTH, interval_errorbar
from commlab.problems.hop import find_k, hop_symbols
from commlab.progress import progress_bar

__all__ = ["FIGURES", "check_output", "draw", "make_figure", "save"]



# --- tradeoff -------------------------------------------------------------------------------------


def _best_row(found) -> dict[str, Any]:
    """The plotted summary of one budget search: protocol, size, s, exact and measured success."""
    return {
        "protocol": found.protocol,
        "option": found.option,
        "value": found.value,
        "decision": found.decision,
        "declared_bits_per_message": found.bits_per_message,
        "measured_bits_per_message": found.measured_bits_per_message,
        "success_exact": found.success_exact,
        "success": found.success,
        "success_ci": list(found.success_ci),
        "trials": found.trials,
    }


def _assadi_n_bits(q: int, k: int, c: float) -> float:
    """The Assadi–N requirement c·q/k⁵ on s for R < k (docs/theory.md §3)."""
    from commlab.analysis.bounds import get_bound

    return get_bound("assadi-n").required_bits(c=c, q=q, k=k)


def tradeoff_data(
    k: int = 4,
    c: float = 1.0,
    trials: int = 200,
    seed: int = 0,
    q_values: tuple[int, ...] | None = None,
    progress: bool = False,
    q: int | None = None,
) -> dict[str, Any]:
    """For N = 2kq + 1 over a range of q (``q`` alone gives one row, for sweeps; see
    :mod:`commlab.figures.stored`): for every R = 1..k the best zoo protocol (the smallest s
    reaching success 2/3, :func:`commlab.analysis.measure.zoo_budgets`) with its exact and measured
    success; the dominated sampling (R = k − 1) and broadcast (R = 1) protocols; the declared s of a
    compiled (k − 1)-layer RNN; the Assadi–N bound c·q/k⁵ and the ratio of the best (k − 1)-round s
    to it."""
    from commlab.analysis.measure import zoo_budgets
    from commlab.models import random_recurrent_model
    from reductions import get_reduction

    if k < 2:
        raise InvalidParameter(f"the trade-off needs k >= 2 (R = k − 1 rounds must be possible), got {k}")
    q_values = [q] if q is not None else list(q_values or [16, 32, 64, 128, 256, 512])
    rows = []
    with progress_bar("trade-off", len(q_values), progress) as advance:
        for q in q_values:
            zoo = {r: zoo_budgets(q, k, r, trials=trials, seed=seed) for r in range(1, k + 1)}
            found = {r: {b.protocol: b for b in zoo[r]} for r in zoo}
            bound = _assadi_n_bits(q, k, c)
            rows.append(
                {
                    "q": q,
                    "n": 2 * k * q + 1,
                    "bound_bits": bound,
                    "best": [{"rounds": r, **_best_row(zoo[r][0])} for r in zoo],
                    "sampling": found[k - 1]["sampling"].bits_per_message,
                    "broadcast": found[1]["broadcast"].bits_per_message,
                    "gap_ratio": zoo[k - 1][0].bits_per_message / bound,
                    "dominated": _dominated_rounds({r: zoo[r][0].bits_per_message for r in zoo}),
                }
            )
            advance()
    rnn = random_recurrent_model("elman", k - 1, 64, 4, "float32")
    models = [
        {
            "label": f"{k - 1}-layer Elman RNN, state 64, float32 (R = {k - 1})",
            "declared_bits_per_message": get_reduction("rnn").bits_per_message(rnn, k),
            "rounds": k - 1,
        }
    ]
    return {
        "figure": "tradeoff",
        "k": k,
        "c": c,
        "trials": trials,
        "seed": seed,
        "target": 2 / 3,
        "rows": rows,
        "models": models,
        "version": __version__,
    }


def _dominated_rounds(bits: dict[int, int]) -> list[dict[str, int]]:
    """For every R whose best protocol needs no fewer bits than the best with fewer rounds: R and
    the fewest such rounds."""
    return [
        {"rounds": r, "by_rounds": min(f for f in bits if f < r and bits[f] <= bits[r])}
        for r in bits
        if any(f < r and bits[f] <= bits[r] for f in bits)
    ]


def _names(rows: list[dict], rounds: int) -> str:
    """The best protocols' names at ``rounds`` over the rows, in order of first appearance."""
    return "/".join(dict.fromkeys(row["best"][rounds - 1]["protocol"] for row in rows))


def draw_tradeoff(data: dict[str, Any]) -> Figure:
    rows, k = data["rows"], data["k"]
    n = np.array([r["n"] for r in rows], dtype=float)
    with matplotlib.rc_context(COLUMN):
        fig = Figure(layout="constrained", figsize=(WIDTH, 4.0))
        ax = fig.subplots()
        bound = np.array([r["bound_bits"] for r in rows])
        best = {
            r: np.array([row["best"][r - 1]["declared_bits_per_message"] for row in rows], float)
            for r in range(1, k + 1)
        }
        ratios = [row["gap_ratio"] for row in rows]
        ax.fill_between(
            n,
            bound,
            best[k - 1],
            color="0.88",
            label=f"gap: best R = k−1 s ÷ c·q/k⁵ = {min(ratios):.3g}–{max(ratios):.3g} (k⁴ = {k**4})",
        )
        ax.plot(n, bound, "k--", label=f"Assadi–N bound for R < k: c·q/k⁵ (c = {data['c']:g})")
        for r in range(1, k + 1):
            note = " (bound does not apply)" if r >= k else ""
            matched = [
                (row["q"], d["by_rounds"]) for row in rows for d in row["dominated"] if d["rounds"] == r
            ]
            if matched:
                note += "\n    as cheap with fewer rounds at " + ", ".join(
                    f"q = {q} (R = {f})" for q, f in matched
                )
            ax.plot(n, best[r], "o-", color=f"C{r - 1}", label=f"best, R = {r}: {_names(rows, r)}{note}")
        sampling = np.array([row["sampling"] for row in rows], float)
        broadcast = np.array([row["broadcast"] for row in rows], float)
        for values, rounds, name, style in (
            (sampling, k - 1, "sampling", "x:"),
            (broadcast, 1, "broadcast", "s:"),
        ):
            worse = values / best[rounds]
            verdict = (
                f"dominated by {_names(rows, rounds)}: ×{worse.min():.2g}–{worse.max():.2g} the bits"
                if (worse > 1).all()
                else "best at some q"
            )
            ax.plot(
                n, values, style, color=f"C{rounds - 1}", alpha=0.6, label=f"{name}, R = {rounds} ({verdict})"
            )
        for i, model in enumerate(data["models"]):
            ax.axhline(model["declared_bits_per_message"], color=f"C{5 + i}", lw=1, label=f"declared s: {model['label']}")
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="sequence length N = 2kq + 1 (tokens)",
            ylabel="bits per message s (success ≥ 2/3)",
            title=f"Bits per message against input size (k = {k})",
        )
        # N spans about one decade, where a log axis labels one tick at most: label the measured N.
        shown = n[:: -(-len(n) // 8)]  # at most 8 labels
        ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(shown))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FixedFormatter([f"{int(v)}" for v in shown]))
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=1, frameon=False)
    return fig


# --- frontier -------------------------------------------------------------------------------------


def frontier_data(
    q: int = 128, k: int = 4, c: float = 1.0, trials: int = 300, seed: int = 0, progress: bool = False
) -> dict[str, Any]:
    """For every R = 1..k: every zoo protocol's smallest s reaching success 2/3
    (:func:`commlab.analysis.measure.zoo_budgets`), the best of them (its name, s, exact success and
    measured success with interval), which protocols it dominates, and the smallest s any zoo
    protocol needs to be always right; with the Assadi–N requirement c·q/k⁵ and the computed ratio
    of the best (k − 1)-round s to it."""
    from commlab.analysis.measure import zoo_budgets

    if k < 1:
        raise InvalidParameter(f"k must be >= 1, got {k}")
    rows = []
    with progress_bar("frontier", k, progress) as advance:
        for rounds in range(1, k + 1):
            zoo = zoo_budgets(q, k, rounds, trials=trials, seed=seed)
            always = zoo_budgets(q, k, rounds, trials=trials, seed=seed, target=1.0)[0]
            rows.append(
                {
                    "rounds": rounds,
                    **_best_row(zoo[0]),
                    "always_right": _best_row(always),
                    "candidates": [_best_row(found) for found in zoo],
                    "bound_applies": rounds < k,
                }
            )
            advance()
    _mark_dominated(rows)
    bound = _assadi_n_bits(q, k, c)
    gap = None
    if k >= 2:
        best, always = (
            rows[k - 2]["declared_bits_per_message"],
            rows[k - 2]["always_right"]["declared_bits_per_message"],
        )
        gap = {
            "rounds": k - 1,
            "declared_bits_per_message": best,
            "bound_bits": bound,
            "ratio": best / bound,
            "always_right_bits": always,
            "always_right_ratio": always / bound,
            "k4": k**4,
        }
    return {
        "figure": "frontier",
        "q": q,
        "k": k,
        "c": c,
        "trials": trials,
        "seed": seed,
        "target": 2 / 3,
        "bound_bits": bound,
        "gap": gap,
        "rows": rows,
        "version": __version__,
    }


def _mark_dominated(rows: list[dict]) -> None:
    """Give every candidate ``dominated_by``: the best protocols (at the 2/3 target) with no more
    rounds and no more bits, strictly fewer in one, as "name (R = r, s bits)"; candidates that never
    reach the target get none (their decision says so). A best protocol can itself be dominated by
    the best of fewer rounds (e.g. chase by chunked when both need ⌈log₂ q⌉ bits)."""
    bests = [
        (row["rounds"], row["declared_bits_per_message"], row["protocol"])
        for row in rows
        if row["decision"] == "reached"
    ]
    for row in rows:
        for cand in row["candidates"]:
            s = cand["declared_bits_per_message"]
            cand["dominated_by"] = (
                []
                if cand["decision"] != "reached"
                else [
                    f"{name} (R = {r}, {bits} bits)"
                    for r, bits, name in bests
                    if r <= row["rounds"] and bits <= s and (r, bits) != (row["rounds"], s)
                ]
            )


def staircase(rows: list[dict]) -> tuple[list[float], list[int]]:
    """The frontier as a step function: at each breakpoint s (ascending), the fewest rounds R whose
    best protocol needs at most s bits. Drawn with ``where="post"`` on ascending bits, every point of
    the line is achieved: it never runs through a size that fails."""
    points = [
        (row["declared_bits_per_message"], row["rounds"]) for row in rows if row["decision"] == "reached"
    ]
    xs = sorted({bits for bits, _ in points})
    return [float(x) for x in xs], [min(r for bits, r in points if bits <= x) for x in xs]


def draw_frontier(data: dict[str, Any]) -> Figure:
    k = data["k"]
    with matplotlib.rc_context(COLUMN):
        fig = Figure(layout="constrained", figsize=(WIDTH, 3.0))
        ax = fig.subplots()
        xs, ys = staircase(data["rows"])
        largest = max(
            [xs[-1]]
            + [cand["declared_bits_per_message"] or 0 for row in data["rows"] for cand in row["candidates"]]
            + [row["always_right"]["declared_bits_per_message"] or 0 for row in data["rows"]]
        )
        smallest = min(xs[0], data["bound_bits"])
        ax.axvspan(
            smallest / 3,
            data["bound_bits"],
            ymax=(k - 1.5 + 0.5) / k if k > 1 else 0,
            color="0.88",
            label=f"Assadi–N: R < k needs s ≥ c·q/k⁵ = {data['bound_bits']:.3g} (c = {data['c']:g})",
        )
        ax.step(
            xs + [largest * 3],
            ys + [ys[-1]],
            where="post",
            color="k",
            lw=1,
            label="fewest rounds at success ≥ 2/3",
        )
        for row in data["rows"]:
            for cand in row["candidates"]:
                if cand["decision"] != "reached":
                    continue
                best = not cand["dominated_by"]
                ax.plot(
                    cand["declared_bits_per_message"],
                    row["rounds"],
                    "o",
                    mfc="C0" if best else "none",
                    mec="C0" if best else "0.5",
                )
                ties = [
                    c
                    for c in row["candidates"]
                    if c["declared_bits_per_message"] == cand["declared_bits_per_message"]
                ]
                ax.annotate(
                    cand["protocol"],
                    (cand["declared_bits_per_message"], row["rounds"]),
                    xytext=(0, 4 + 6 * ties.index(cand)) if best else (2, -5),
                    textcoords="offset points",
                    ha="center" if best else "left",
                    va="bottom" if best else "top",
                    rotation=0 if best else -35,
                    fontsize=5 if best else 4.5,
                    color="k" if best else "0.45",
                )
            always = row["always_right"]
            if always["decision"] == "reached":
                ax.plot(always["declared_bits_per_message"], row["rounds"], "*", color="C2")
        ax.plot([], [], "o", color="C0", label="best zoo protocol, success ≥ 2/3 (exact)")
        dominated = sorted(
            {c["protocol"] for row in data["rows"] for c in row["candidates"] if c.get("dominated_by")}
        )
        ax.plot(
            [],
            [],
            "o",
            mfc="none",
            mec="0.5",
            label=f"dominated at success 2/3: {', '.join(dominated) or 'none'}",
        )
        ax.plot([], [], "*", color="C2", label="smallest s always right (success 1)")
        ax.axhline(k, color="0.5", ls=":", lw=1)
        gap = data["gap"]
        title = f"Rounds against bits, pointer chasing q = {data['q']}, k = {k}"
        if gap:
            title += (
                f"\nR = k−1: {gap['declared_bits_per_message']} bits = {gap['ratio']:.4g}·c·q/k⁵ at success 2/3"
                f"\nalways right: {gap['always_right_bits']} bits = {gap['always_right_ratio']:.4g}·c·q/k⁵"
                f" (k⁴ = {gap['k4']})"
            )
        ax.set(
            xscale="log",
            xlim=(smallest / 3, largest * 3),
            ylim=(0.5, k + 0.8),
            xlabel="bits per message s",
            ylabel="rounds R",
        )
        ax.set_title(title, fontsize=6)
        ax.set_yticks(range(1, k + 1))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    return fig


# --- solvers --------------------------------------------------------------------------------------


def solvers_data(
    q: int = 64,
    k: int = 4,
    c: float = 1.0,
    trials: int = 200,
    seed: int = 0,
    windows: tuple[int, ...] | None = None,
    ranks: tuple[int, ...] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Accuracy against measured state bits for each hop_k solver on encoded (q, k) pointer chasing
    — the window RNN at several window sizes, the composed-indicator RNN
    (:func:`commlab.models.indicator_chase_model`), the hop-following chain of thought
    (:func:`reductions.cot.cot_solver_curve`, when its vocabulary fits) and the indicator-factorised
    kernel-attention model at several ranks (:func:`reductions.kernel.kernel_solver_curve`, default
    r = q/4, q/2, 3q/4, q) — with Assadi–N's bound c·q/k⁵ (= c·N/(2k⁶)) that
    one-layer (L = 1 < k) models must meet, whether it is vacuous, and each solver's empirical
    ceiling on c (:func:`commlab.analysis.bounds.constant_ceiling`) from its smallest point whose
    accuracy is established above 2/3."""
    from commlab.analysis.bounds import get_bound
    from commlab.models import indicator_chase_model
    from commlab.problems.pointer_chasing import check_parameters
    from reductions.cot import cot_solver_curve
    from reductions.experiment import solver_curve, window_solver_curve
    from reductions.kernel import kernel_solver_curve

    check_parameters(q, k, trials)  # every bad value is refused before minutes of computing
    if k < 2:
        raise InvalidParameter(f"the solvers figure needs k >= 2 (one-layer models must have L < k), got k = {k}")
    bound_bits = get_bound("assadi-n").required_bits(q=q, k=k, c=c)
    n = 2 * k * q + 1
    windows = list(windows or sorted({0, n // 4, n // 2, 3 * n // 4, n - 2 * q, n - q, n - q // 2, n - 1, n}))
    ranks = list(ranks or sorted({r for r in (q // 4, q // 2, 3 * q // 4, q) if r >= 1}))
    with progress_bar("solvers", len(windows) + 1 + len(ranks), progress) as advance:
        curves = [
            window_solver_curve(q, k, windows, trials=trials, seed=seed, progress=advance).to_dict(),
            solver_curve(
                "indicator RNN (state 2q + O(log q) bits)",
                lambda size: indicator_chase_model(size),
                [q],
                q=q,
                k=k,
                trials=trials,
                seed=seed,
                progress=advance,
            ).to_dict(),
        ]
        skipped = []
        try:  # the hop-following CoT, one CoT token short of 2k and at 2k: 4·p bits, N_CoT + 1 rounds
            curves.append(cot_solver_curve(q, k, [2 * k - 1, 2 * k], trials=trials, seed=seed).to_dict())
        except InvalidParameter as too_big:  # its scratchpad vocabulary grows as q·N
            skipped.append(str(too_big))
        # k layers of indicator kernel attention: r·(q + 1)·p bits, always right at r = q
        curves.append(kernel_solver_curve(q, k, ranks, trials=trials, seed=seed, progress=advance).to_dict())
    return {
        "figure": "solvers",
        "q": q,
        "k": k,
        "n": n,
        "c": c,
        "bound_bits": bound_bits,
        "vacuous": get_bound("assadi-n").is_vacuous(q=q, k=k, c=c),
        "trials": trials,
        "seed": seed,
        "curves": curves,
        "ceilings": _ceilings(curves),
        "skipped": skipped,
        "version": __version__,
    }


def _ceilings(curves: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each solver, the ceiling on c from its fewest-bits point with accuracy established ≥ 2/3
    (lower end of the 95% interval) and fewer rounds than k; solvers with no such point give none.
    The interval is per point: picking the fewest-bits point among a curve's several is not
    corrected for that choice, so a ceiling is as good as its point's own interval."""
    from commlab.analysis.bounds import constant_ceiling

    found = []
    for curve in curves:
        points = [
            i
            for i, (ci, rounds) in enumerate(zip(curve["accuracy_ci"], curve["rounds"], strict=True))
            if ci[0] >= 2 / 3 and rounds < curve["k"]
        ]
        if points:
            i = min(points, key=lambda j: curve["measured_bits_per_message"][j])
            ceiling = constant_ceiling(
                curve["label"],
                q=curve["q"],
                k=curve["k"],
                rounds=curve["rounds"][i],
                bits_per_message=curve["measured_bits_per_message"][i],
                success=curve["accuracy"][i],
                success_ci=tuple(curve["accuracy_ci"][i]),
            )
            record = ceiling.to_dict()
            found.append({**record, "measured_bits_per_message": record.pop("bits_per_message")})
    return found


def draw_solvers(data: dict[str, Any]) -> Figure:
    with matplotlib.rc_context(COLUMN):
        fig = Figure(layout="constrained", figsize=(WIDTH, 3.0))
        ax = fig.subplots()
        for i, curve in enumerate(data["curves"]):
            bits = curve["measured_bits_per_message"]
            interval_errorbar(
                ax,
                bits,
                curve["accuracy"],
                curve["accuracy_ci"],
                fmt="o-" if len(bits) > 1 else "D",
                color=f"C{i}",
                capsize=2,
                label=f"{curve['label']} (R = {curve['rounds'][0]})",
            )
        ax.axhline(2 / 3, color="0.5", ls=":", lw=1, label="success 2/3")
        verdict = ", vacuous: ≤ 1 bit" if data["vacuous"] else ""
        ax.axvline(
            data["bound_bits"],
            color="k",
            ls="--",
            lw=1,
            label=f"bound c·q/k⁵ = c·N/(2k⁶) = {data['bound_bits']:.3g} bits (c = {data['c']:g}{verdict})",
        )
        if data["ceilings"]:
            best = min(data["ceilings"], key=lambda ceiling: ceiling["c_max"])
            ax.text(
                0.02,
                0.04,
                f"empirical ceiling on the constant: c ≤ s·k⁵/q = {best['c_max']:.4g}\n"
                f"({best['protocol'].split(' (')[0]}, {best['measured_bits_per_message']} bits, "
                f"accuracy {best['success']:.2f}, R = {best['rounds']} < k)",
                transform=ax.transAxes,
                fontsize=6,
                va="bottom",
            )
        smallest = min([data["bound_bits"], *(min(c["measured_bits_per_message"]) for c in data["curves"])])
        largest = max(max(c["measured_bits_per_message"]) for c in data["curves"])
        ax.set(
            xscale="log",
            xlim=(max(smallest, 1e-3) / 2, largest * 2),
            xlabel="bits per message (state bits, measured)",
            ylabel="accuracy on hop_k(X)_N",
            ylim=(0, 1.05),
            title=f"hop_k solvers, q = {data['q']}, k = {data['k']}, N = {data['n']}",
        )
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.08), frameon=False)
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


TOKENS_PER_LINE = 33  # the encoded sequence wraps after this many tokens, so labels never overlap


def _encoding_layout(blocks: list[list[int]]) -> tuple[dict[int, tuple[int, int]], int, int]:
    """(line, column) of every position of the encoded sequence, each player's block starting a new
    line, and the number of lines and columns used."""
    width = min(max(end - start for start, end in blocks), TOKENS_PER_LINE)
    where, line = {}, 0
    for start, end in blocks:
        for offset in range(end - start):
            where[start + offset] = (line + offset // width, offset % width)
        line += -(-(end - start) // width)
    return where, line, width


def draw_example(data: dict[str, Any]) -> Figure:
    enc = data["encoding"]
    seq, chain = enc["sequence"], data["encoding_chain"]
    where, lines, width = _encoding_layout(enc["blocks"])
    with matplotlib.rc_context(COLUMN):
        fig = Figure(layout="constrained", figsize=(WIDTH * 2, 1.9 + 0.32 * lines + 0.5))
        top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [1.9, 0.32 * lines + 0.5]})
        tokens = data["tokens"]
        for i, t in enumerate(tokens):
            top.text(
                i,
                0,
                t,
                ha="center",
                va="center",
                family="monospace",
                fontsize=9,
                bbox={"boxstyle": "round", "fc": "C1" if i in data["chain"][1:] else "white", "ec": "0.6"},
            )
            top.text(
                i,
                -0.55,
                "⊥" if data["hop"][i] is None else data["hop"][i],
                ha="center",
                fontsize=8,
                color="C0",
            )
        _arcs(top, data["chain"], 0.3, "C3", 0.9, len(tokens))
        top.text(-1.2, -0.55, f"hop_{data['k']}", ha="right", fontsize=8, color="C0")
        top.set(
            xlim=(-2, len(tokens)),
            ylim=(-0.9, 1.4),
            title=f"hop_{data['k']} of '{''.join(tokens)}': the arcs follow find¹, find², … from the last position",
        )
        top.axis("off")

        # The encoded sequence, one line per player's block (wrapped if longer), read left to right
        # and top to bottom. Sources are black, the vertex each is matched to grey, the last token
        # (the start vertex) black; the hop chain from the last position is boxed in red.
        for b, ((start, end), name) in enumerate(zip(enc["blocks"], enc["players"], strict=True)):
            first, last = where[start][0], where[end - 1][0]
            bottom.axhspan(-last - 0.45, -first + 0.45, color=f"C{b}", alpha=0.12, lw=0)
            bottom.text(-0.9, -first, f"{name}\nholds E_{name[2:]}", ha="right", va="center", fontsize=7)
        for i, t in enumerate(seq):
            line, column = where[i]
            is_target = i % 2 == 1 and i < len(seq) - 1
            on_chain = i in chain[1:]
            bottom.text(
                column,
                -line,
                str(t),
                ha="center",
                va="center",
                fontsize=7,
                family="monospace",
                color="C3" if on_chain else "0.5" if is_target else "k",
                weight="bold" if on_chain else "normal",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "C3"} if on_chain else None,
            )
        labels = {chain[0]: "start"} | {
            p: f"find{'¹²³⁴⁵⁶⁷⁸⁹'[level - 1] if level < 10 else level}"
            for level, p in enumerate(chain[1:], start=1)
            if p >= 0
        }
        for p, label in labels.items():
            line, column = where[p]
            bottom.text(column, -line - 0.36, label, ha="center", va="center", fontsize=6, color="C3")
        bottom.set(
            xlim=(-1, width),
            ylim=(-lines + 0.4, 0.6),
            title=f"pointer chasing q = {enc['q']}, k = {enc['k']} as hop_{enc['k']} (N = {len(seq)}): "
            f"answer token {enc['answer_token']}, the path ends in {enc['answer']}\n"
            "each source (black) is followed by its match (grey); read left to right, line by line",
        )
        bottom.axis("off")
    return fig


FIGURES: dict[str, tuple[Callable[..., dict], Callable[[dict], Figure]]] = {
    "tradeoff": (tradeoff_data, draw_tradeoff),
    "frontier": (frontier_data, draw_frontier),
    "solvers": (solvers_data, draw_solvers),
    "example": (example_data, draw_example),
    "depth": (depth.depth_data, depth.draw_depth),
    "rank": (depth.rank_data, depth.draw_rank),
    "depth-vs-k": (trained.depth_vs_k_data, trained.draw_depth_vs_k),
    "rnn-bits": (trained.rnn_bits_data, trained.draw_rnn_bits),
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
        with matplotlib.rc_context(COLUMN):
            fig.savefig(path, dpi=300 if suffix == "png" else None)
    except OSError as error:
        raise InvalidParameter(f"cannot write {path!r}: {error.strerror}") from None
    return str(path)
