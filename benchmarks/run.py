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


def _protocol_vs_forward(model, length: int, players: int = 4, batch: int = 64, seed: int = 0) -> dict:
    """Time a model's own forward pass and its compiled protocol on the same batch (k equal blocks),
    and check that they agree."""
    from commlab import run
    from reductions import compile_to_protocol
    from reductions.layerwise import split_by_blocks

    tokens = np.random.default_rng(seed).integers(0, model.alphabet, size=(batch, length))
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


@benchmark("kernel_protocol_vs_forward")
def kernel_protocol_vs_forward() -> dict:
    """A 2-layer Performer kernel-attention model (H = 4, m = 32, r = 16, float32): its protocol
    against its forward pass at B = 64, N = 2048, k = 4 (target ≤ 1.25); and the streaming layer's
    time at N and 2N (O(N·r·m): ratio near 2) against the dense check's (O(N²): ratio near 4)."""
    from commlab.models.kernel import random_kernel_model

    model = random_kernel_model(2, 4, 32, 16, 130, "float32", "performer", seed=0)
    figures = _protocol_vs_forward(model, 2048)
    layer = model.layers[0]
    rng = np.random.default_rng(1)
    stream, dense = {}, {}
    for n in (512, 1024):
        x = model.embed(rng.integers(0, 130, size=(8, n)))
        stream[n] = best_time(lambda x=x: layer.scan(x, layer.initial_state(8)), repeat=2)
        dense[n] = best_time(lambda x=x: layer.dense(x), repeat=2)
    figures.update(
        {
            "streaming_doubling_ratio": stream[1024] / stream[512],
            "dense_doubling_ratio": dense[1024] / dense[512],
            "streaming_s_1024": stream[1024],
            "dense_s_1024": dense[1024],
        }
    )
    return figures


@benchmark("longformer_protocol_vs_forward")
def longformer_protocol_vs_forward() -> dict:
    """A 2-layer Longformer (H = 2, m = 32, window 8, a global every 64, float32): its protocol
    against its forward pass at B = 64, N = 2048, k = 4 (target ≤ 1.25)."""
    from commlab.models.longformer import random_longformer_model

    return _protocol_vs_forward(random_longformer_model(2, 2, 32, 8, 64, 130, "float32", seed=0), 2048)


@benchmark("cot_protocol_vs_forward")
def cot_protocol_vs_forward() -> dict:
    """A one-layer chain-of-thought model (N_CoT = 3, H = 2, m = 32, float32): its protocol against
    its forward pass at B = 64, N = 2048, k = 4 (target ≤ 1.25)."""
    from commlab.models.cot import random_cot_model

    return _protocol_vs_forward(random_cot_model(3, 2, 32, 130, "float32", seed=0, context=2048 + 4), 2048)


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
