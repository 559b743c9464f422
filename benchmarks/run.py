"""commlab's speed and memory benchmarks: ``python benchmarks/run.py [--json] [--only NAME ...]``.

Each benchmark prints its wall time, its peak traced memory (numpy allocations included) and its
figures (speed-ups, ratios) against the target the issues set; with ``--json``, one JSON object per
line. Targets are reported, not asserted: they are measurements, not unit tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from commlab.problems.hop import hop_k, hop_table, sample_hop_data  # noqa: E402

BENCHMARKS: dict[str, Callable[[], dict]] = {}


def benchmark(name: str):
    """Register a benchmark: a function returning a dict of figures."""

    def register(fn):
        BENCHMARKS[name] = fn
        return fn

    return register


def best_time(fn: Callable[[], object], repeat: int = 5) -> float:
    """The fastest of ``repeat`` runs, in seconds (one untimed warm-up first)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def rfind_hops(sequence: str, levels: int) -> list[list[int]]:
    """The per-position Python baseline, in the style of the paper's released data generator: for
    every position and every level 0..levels, follow the hops from scratch with ``rfind`` on the
    prefix. Positions 0-based, -1 for none."""
    table = []
    for i in range(len(sequence)):
        row = []
        for level in range(levels + 1):
            p = i
            for _ in range(level):
                if p < 0:
                    break
                p = sequence.rfind(sequence[p], 0, p) + 1 or -1
            row.append(p)
        table.append(row)
    return table


def _hop_speedup(count: int, length: int, target: float) -> dict:
    data = sample_hop_data(count, length, alphabet=4, k=16, seed=0)
    strings = ["".join("abcd"[t] for t in row) for row in data.inputs]
    start = time.perf_counter()
    reference = [rfind_hops(s, 16) for s in strings]
    python_s = time.perf_counter() - start
    table = hop_table(data.inputs, 16)
    # Same answers: the reference's positions, read as tokens, equal the vectorised table.
    ref_tokens = np.array(
        [
            [[row[p] if p >= 0 else -1 for p in pos] for pos in ref]
            for row, ref in zip(data.inputs, reference, strict=True)
        ]
    ).transpose(2, 0, 1)
    assert np.array_equal(ref_tokens, table), "benchmark reference disagrees with hop_table"
    numpy_s = best_time(lambda: hop_table(data.inputs, 16))
    return {
        "python_s": python_s,
        "numpy_s": numpy_s,
        "speedup": python_s / numpy_s,
        "target_speedup": target,
        "met": python_s / numpy_s >= target,
    }


@benchmark("hop_table_1000x100")
def hop_many_short() -> dict:
    """hop_k for all levels 0..16 at all positions of 1000 sequences of N = 100 (target ≥ 1000×)."""
    return _hop_speedup(1000, 100, 1000)


@benchmark("hop_table_1x2000")
def hop_one_long() -> dict:
    """hop_k for all levels 0..16 at all positions of one sequence of N = 2000 (target ≥ 300×)."""
    return _hop_speedup(1, 2000, 300)


@benchmark("hop_k_1e6")
def hop_million() -> dict:
    """hop_16 at every position of one sequence of N = 10⁶ (target < 0.2 s and < 300 MB)."""
    x = sample_hop_data(1, 10**6, alphabet=4, k=0, seed=0).inputs[0]
    seconds = best_time(lambda: hop_k(x, 16), repeat=3)
    tracemalloc.start()
    hop_k(x, 16)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {
        "seconds": seconds,
        "peak_mb": peak,
        "target_s": 0.2,
        "target_mb": 300,
        "met": seconds < 0.2 and peak < 300,
    }


@benchmark("rnn_protocol_vs_forward")
def rnn_protocol_vs_forward() -> dict:
    """The compiled protocol of a 3-layer Elman RNN (state 64, float32) against the model's own
    forward pass on the same batch: B = 64, N = 16384, k = 4 players (target ratio ≤ 1.25)."""
    from commlab import run
    from commlab.models import random_recurrent_model
    from reductions import compile_to_protocol
    from reductions.layerwise import split_by_blocks

    batch, length, players = 64, 16384, 4
    model = random_recurrent_model("elman", layers=3, state=64, alphabet=130, fmt="float32", seed=0)
    tokens = np.random.default_rng(0).integers(0, 130, size=(batch, length))
    blocks = [(i * length // players, (i + 1) * length // players) for i in range(players)]
    protocol = compile_to_protocol(model, blocks)
    inputs = split_by_blocks(tokens, blocks)
    start = time.perf_counter()
    predictions = model.forward(tokens).predictions
    forward_s = time.perf_counter() - start
    start = time.perf_counter()
    result = run(protocol, inputs)
    protocol_s = time.perf_counter() - start
    assert np.array_equal(result.output, predictions[:, -1]), "protocol disagrees with the model"
    return {
        "forward_s": forward_s,
        "protocol_s": protocol_s,
        "ratio": protocol_s / forward_s,
        "target_ratio": 1.25,
        "met": protocol_s / forward_s <= 1.25,
        "bits_per_message": result.bits_per_message,
    }


@benchmark("rnn_scan_blas_threads")
def rnn_scan_blas_threads() -> dict:
    """`reduce rnn --cell lstm --format bfloat16` (3 layers, state 64, q = 64, k = 4, 200 trials)
    with BLAS limited to one thread inside the recurrent scans (as shipped) and with BLAS free to use
    every core (before: 1 min 56 s against 6.7 s single-threaded on a many-core machine)."""
    from contextlib import nullcontext
    from unittest import mock

    import threadpoolctl

    from commlab.models import layer
    from reductions.rnn import reduce_rnn

    def once() -> float:
        start = time.perf_counter()
        reduce_rnn(cell="lstm", fmt="bfloat16")
        return time.perf_counter() - start

    limited = min(once() for _ in range(2))
    with mock.patch.object(layer, "single_threaded_blas", nullcontext):
        free = min(once() for _ in range(2))
    threads = max((pool["num_threads"] for pool in threadpoolctl.threadpool_info()), default=1)
    return {"blas_threads": threads, "free_s": free, "single_threaded_s": limited, "speedup": free / limited}


@benchmark("cli_startup")
def cli_startup() -> dict:
    """`commlab --version`, `--help` and a bad value answered (target < 0.5 s each, best of 5
    fresh interpreters)."""
    import subprocess

    def best(*args: str) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "commlab", *args], capture_output=True, check=False)
            times.append(time.perf_counter() - start)
        return min(times)

    figures = {
        "version_s": best("--version"),
        "help_s": best("--help"),
        "error_s": best("run", "chase", "--seed", "-1"),
    }
    return {**figures, "target_s": 0.5, "met": max(figures.values()) < 0.5}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), help="run only these")
    args = parser.parse_args(argv)
    for name in args.only or BENCHMARKS:
        tracemalloc.start()
        start = time.perf_counter()
        figures = BENCHMARKS[name]()
        wall = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        record = {"benchmark": name, "wall_s": round(wall, 3), "peak_mb": round(peak, 1), **figures}
        if args.json:
            print(json.dumps(record, default=float))
        else:
            shown = ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()
            )
            print(shown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
