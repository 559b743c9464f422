"""commlab's speed and memory benchmarks: ``python benchmarks/run.py [--json] [--only NAME ...]``.

Each benchmark prints its wall time and its figures (timings, speed-ups, ratios, peak memory)
against the target the issues set. Timings run with memory tracing off (``tracemalloc`` slows every
allocation, Python's and numpy's); a benchmark that reports memory measures it in a separate run
with ``peak_mb``. Targets are reported, not asserted:
they are measurements, not unit tests. With ``--json`` the script prints ONE JSON object,
``{"version": ..., "benchmarks": [record, ...]}``, so ``json.load`` reads it whole.

Adding a benchmark: write a function that takes no arguments and returns a dict of figures (plain
numbers, bools and strings; name targets ``target_*`` and say whether they were ``met``), and
decorate it with ``@benchmark``. It is appended to ``BENCHMARKS`` in file order, runs under its
function name (``--only NAME``), and its docstring's first line says what it measures::

    @benchmark
    def hop_something() -> dict:
        '''What is timed, on what sizes (target ...).'''
        seconds = best_time(lambda: ...)
        return {"seconds": seconds, "target_s": 0.1, "met": seconds < 0.1}
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

from commlab import __version__  # noqa: E402
from commlab.problems.hop import hop_k, hop_table, sample_hop_data  # noqa: E402

BENCHMARKS: list[Callable[[], dict]] = []


def benchmark(fn: Callable[[], dict]) -> Callable[[], dict]:
    """Register a benchmark: a no-argument function returning a dict of figures."""
    if any(known.__name__ == fn.__name__ for known in BENCHMARKS):
        raise ValueError(f"benchmark {fn.__name__!r} is registered twice; rename one of them")
    BENCHMARKS.append(fn)
    return fn


def peak_mb(fn: Callable[[], object]) -> float:
    """Peak memory traced while ``fn`` runs once, in MiB (numpy allocations included)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def best_time(fn: Callable[[], object], repeat: int = 5) -> float:
    """The fastest of ``repeat`` runs, in seconds (one untimed warm-up first)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def released_generator_hops(sequence: str, levels: int) -> list[list[int]]:
    """The level-iterating loop of the paper's released data generator, transcribed: positions
    ``find^0 .. find^levels`` of every position, 0-based, -1 for none; ``O(N · levels)`` ``rfind``
    calls on prefix slices.

    Source: github.com/chsanford/hop-induction-heads, ``src/tasks.py``,
    ``InductionHopsFullSequenceTask.get_strings`` (the loop after the random string is drawn). Each
    level walks every position once: where the previous level's pointer ``p`` exists, it looks up the
    last occurrence of the character at ``p`` in the prefix ``sequence[:p]`` and points one past it;
    it keeps both the pointers and the characters they point to, as the original does. The original
    runs one level more than it uses (``max_hops + 1``); this one stops at ``levels``, the same table
    ``hop_table`` computes, and leaves out the random string and the tensor conversion.
    """
    pointers, characters = list(range(len(sequence))), sequence
    table = [pointers]
    for _ in range(levels):
        next_pointers, next_characters = [], []
        for i in range(len(sequence)):
            p = pointers[i]
            last = -1 if p == -1 else sequence[:p].rfind(characters[i])
            if last == -1:
                next_pointers.append(-1)
                next_characters.append("~")
            else:
                next_pointers.append(last + 1)
                next_characters.append(sequence[last + 1])
        pointers, characters = next_pointers, "".join(next_characters)
        table.append(pointers)
    return [list(row) for row in zip(*table, strict=True)]


def rescan_hops(sequence: str, levels: int) -> list[list[int]]:
    """The per-position baseline this file used before (issue 11 §5), kept only to show how much it
    flattered commlab: for every position and level it re-follows all hops from scratch,
    ``O(N · levels²)`` ``rfind`` calls. Not the released generator's loop."""
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


def _python_seconds(baseline, strings: list[str], levels: int, tokens: np.ndarray, repeat: int) -> float:
    """The best of ``repeat`` passes of a pure-Python baseline over ``strings``, checked against
    ``hop_table``."""
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        positions = [baseline(s, levels) for s in strings]
        seconds.append(time.perf_counter() - start)
    as_tokens = np.array(
        [
            [[row[p] if p >= 0 else -1 for p in pos] for pos in ref]
            for row, ref in zip(tokens, positions, strict=True)
        ]
    ).transpose(2, 0, 1)
    assert np.array_equal(as_tokens, hop_table(tokens, levels)), (
        f"{baseline.__name__} disagrees with hop_table"
    )
    return min(seconds)


def _hop_speedup(count: int, length: int, targets: dict[str, float]) -> dict:
    levels = 16
    data = sample_hop_data(count, length, alphabet=4, k=0, seed=0)
    strings = ["".join("abcd"[t] for t in row) for row in data.inputs]
    numpy_s = best_time(lambda: hop_table(data.inputs, levels), repeat=100)  # ms each: cheap
    released_s = _python_seconds(released_generator_hops, strings, levels, data.inputs, repeat=3)
    rescan_s = _python_seconds(rescan_hops, strings, levels, data.inputs, repeat=1)
    figures = {
        "n": length,
        "sequences": count,
        "levels": levels + 1,
        "numpy_s": numpy_s,
        "released_loop_s": released_s,
        "speedup_vs_released_loop": released_s / numpy_s,
        "rescan_s": rescan_s,
        "speedup_vs_rescan": rescan_s / numpy_s,
    }
    met = True
    for name, target in targets.items():
        figures[f"target_{name}"] = target
        met &= numpy_s <= target if name == "numpy_s" else figures[name] >= target
    return {**figures, "met": bool(met)}


@benchmark
def hop_table_1000x100() -> dict:
    """hop_k for all levels 0..16 at all positions of 1000 sequences of N = 100, against the released
    generator's loop on the same sequences (target: the 1.7 M labels in ≤ 5 ms)."""
    return _hop_speedup(1000, 100, {"numpy_s": 0.005})


@benchmark
def hop_table_1x2000() -> dict:
    """hop_k for all levels 0..16 at all positions of one sequence of N = 2000, against the released
    generator's loop (target ≥ 100× faster than it)."""
    return _hop_speedup(1, 2000, {"speedup_vs_released_loop": 100})


@benchmark
def hop_k_1e6() -> dict:
    """hop_16 at every position of one sequence of N = 10⁶ (target < 0.2 s and < 300 MB)."""
    x = sample_hop_data(1, 10**6, alphabet=4, k=0, seed=0).inputs[0]
    seconds = best_time(lambda: hop_k(x, 16), repeat=3)
    peak = peak_mb(lambda: hop_k(x, 16))
    return {
        "seconds": seconds,
        "peak_mb": peak,
        "target_s": 0.2,
        "target_mb": 300,
        "met": seconds < 0.2 and peak < 300,
    }


@benchmark
def rnn_protocol_vs_forward() -> dict:
    """The compiled protocol of a 3-layer Elman RNN (state 64, float32) against the model's own
    forward pass on the same batch: B = 64, N = 16384, k = 4 players (target ratio ≤ 1.25)."""
    from commlab.models import random_recurrent_model

    model = random_recurrent_model("elman", layers=3, state=64, alphabet=130, fmt="float32", seed=0)
    return _protocol_vs_forward(model, 16384)


@benchmark
def sweep_backends() -> dict:
    """A 40-point sweep (``run sampling``, q = 512, k = 8) in-process, on a 2-process pool and on a
    2-worker Dask LocalCluster: speed-ups over in-process (target ≥ 1.7 on 2 cores), and the store's
    own cost per committed point (target < 5 ms)."""
    import tempfile

    from commlab.sweeps import DaskBackend, InProcess, ProcessPool, Store, StoredPoint, load_sweep, run_sweep

    figures: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        grid = Path(folder) / "grid.toml"
        grid.write_text('experiment = "run sampling"\n[grid]\nq = 512\nk = 8\ntrials = 3000\n'
                        "replicate = { from = 1, to = 40 }\n")
        sweep = load_sweep(grid)
        backends = {"in_process": InProcess(), "pool": ProcessPool(2)}
        try:
            backends["dask"] = DaskBackend("local", workers=2)
        except Exception as error:  # the optional extra is missing
            figures["dask"] = f"skipped: {error}"
        walls = {}
        for name, backend in backends.items():
            with Store(Path(folder) / f"{name}.db") as store:
                start = time.perf_counter()
                assert run_sweep(sweep, store, backend).done == 40
                walls[name] = time.perf_counter() - start
        figures["in_process_s"] = walls["in_process"]
        for name in walls.keys() - {"in_process"}:
            figures[f"{name}_s"] = walls[name]
            figures[f"{name}_speedup"] = walls["in_process"] / walls[name]
        figures["target_speedup"] = 1.7
        with Store(Path(folder) / "overhead.db") as store:
            result = {"success": 1.0, "bits_by_round": [6.0] * 8}
            start = time.perf_counter()
            for i in range(500):
                store.save(StoredPoint(f"k{i}", "run chase", {"q": i}, i, "0", "done", result, None, 1, 0.1, "main"))
            figures["store_ms_per_point"] = (time.perf_counter() - start) / 500 * 1000
        figures["target_store_ms"] = 5.0
    return figures
@benchmark
def log_depth_forward() -> dict:
    """The log-depth hop_16 construction's forward pass (6 softmax layers, float64) on B = 64
    sequences of N = 512 (target: memory < 1 GB). Dense attention is O(N²) time and memory per
    layer; the batch runs in chunks so the scores held at once stay at 2²² numbers."""
    from commlab.models.construction import build_hop_transformer

    batch, length, k = 64, 512, 16
    construction = build_hop_transformer(k, length, alphabet=8)
    tokens = np.random.default_rng(0).integers(0, 8, size=(batch, length))
    seconds = best_time(lambda: construction.predict(tokens), repeat=1)
    tracemalloc.start()
    predictions = construction.predict(tokens)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    assert np.array_equal(predictions, hop_k(tokens, k)), "the construction disagrees with hop_k"
    return {
        "layers": construction.layers,
        "seconds": seconds,
        "ms_per_sequence": 1000 * seconds / batch,
        "peak_mb": peak,
        "target_mb": 1024,
        "met": peak < 1024,
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


@benchmark
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


@benchmark
def longformer_protocol_vs_forward() -> dict:
    """A 2-layer Longformer (H = 2, m = 32, window 8, a global every 64, float32): its protocol
    against its forward pass at B = 64, N = 2048, k = 4 (target ≤ 1.25)."""
    from commlab.models.longformer import random_longformer_model

    return _protocol_vs_forward(random_longformer_model(2, 2, 32, 8, 64, 130, "float32", seed=0), 2048)


@benchmark
def cot_protocol_vs_forward() -> dict:
    """A one-layer chain-of-thought model (N_CoT = 3, H = 2, m = 32, float32): its protocol against
    its forward pass at B = 64, N = 2048, k = 4 (target ≤ 1.25)."""
    from commlab.models.cot import random_cot_model

    return _protocol_vs_forward(random_cot_model(3, 2, 32, 130, "float32", seed=0, context=2048 + 4), 2048)
def _traced_peak_mb(fn: Callable[[], object]) -> tuple[float, float]:
    """(seconds, peak traced MB above the memory in use before) of one call of ``fn``."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    peak = (tracemalloc.get_traced_memory()[1] - before) / 2**20
    if started:
        tracemalloc.stop()
    return seconds, peak


@benchmark
def chase_memory_by_trials() -> dict:
    """Peak traced memory of ``commlab run chase --q 1024 --k 8`` at 10⁴ and 10⁶ trials (issue 11
    §2; before chunking, 2·10⁵ trials took 8.3 GB). Chunks of bounded size keep it flat: the target
    is at most 4× more memory for 100× more trials. Most of the time goes into drawing the
    instances (8·1024 random matching entries per trial)."""
    from commlab.protocols import simulate

    figures: dict = {}
    for trials in (10**4, 10**6):
        seconds, peak = _traced_peak_mb(lambda t=trials: simulate("chase", q=1024, k=8, trials=t, seed=0))
        figures[f"seconds_{trials:.0e}"] = seconds
        figures[f"peak_mb_{trials:.0e}"] = peak
    ratio = figures["peak_mb_1e+06"] / figures["peak_mb_1e+04"]
    return {**figures, "memory_ratio": ratio, "target_ratio": 4, "met": ratio <= 4}


@benchmark
def chase_silent_turns() -> dict:
    """``commlab run chase --q 2 --k 300`` (1000 trials, 90 000 turns, all but 300 silent): silent
    turns write the empty message without calling the player (before: 20 s in issue 11 §2, 83 s and
    1.6 GB on the 2 shared cores of the lab machine; target < 5 s)."""
    from commlab.protocols import simulate

    seconds, peak = _traced_peak_mb(lambda: simulate("chase", q=2, k=300, trials=1000, seed=0))
    return {"seconds": seconds, "peak_mb": peak, "target_s": 5, "met": seconds < 5}


@benchmark
def gpt2_paper_size() -> dict:
    """numpy GPT-2 at the paper's size (m = 128, H = 4, L = 6, N = 99) in float32: sequences per
    second on a batch of 64, against transformers' GPT2Model on torch CPU with the same weights when
    torch is installed (target: numpy within 2x of torch, i.e. ratio torch/numpy <= 2)."""
    from commlab.models.gpt2 import _BLOCK_SHAPES, gpt2_from_state_dict

    batch, width, depth, heads, vocab, length = 64, 128, 6, 4, 30, 99
    tokens = np.random.default_rng(0).integers(0, vocab, size=(batch, length))
    try:
        import torch
        from transformers import GPT2Config, GPT2Model
    except ImportError:
        torch = None
    if torch is not None:
        torch.manual_seed(0)
        config = GPT2Config(vocab_size=vocab, n_positions=100, n_embd=width, n_layer=depth, n_head=heads)
        net = GPT2Model(config).eval()
        state = {k: v.numpy() for k, v in net.state_dict().items()}
    else:
        rng = np.random.default_rng(0)
        state = {
            "wte.weight": rng.normal(0, 0.02, (vocab, width)),
            "wpe.weight": rng.normal(0, 0.02, (100, width)),
        }
        state.update({"ln_f.weight": np.ones(width), "ln_f.bias": np.zeros(width)})
        for i in range(depth):
            state.update(
                {f"h.{i}.{n}": rng.normal(0, 0.02, shape(width)) for n, shape in _BLOCK_SHAPES.items()}
            )
    model = gpt2_from_state_dict(state, heads, "float32")
    numpy_s = best_time(lambda: model.hidden(tokens), repeat=3)
    figures = {"numpy_seq_per_s": batch / numpy_s}
    if torch is not None:
        x = torch.from_numpy(tokens)
        with torch.no_grad():
            torch_s = best_time(lambda: net(x), repeat=3)
            reference = net(x).last_hidden_state.numpy()
        agree = float(np.mean(model.hidden(tokens).argmax(-1) == reference.argmax(-1)))
        try:  # both on one thread: the fair comparison on a shared machine
            from threadpoolctl import threadpool_limits

            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            with threadpool_limits(1), torch.no_grad():
                figures["numpy_seq_per_s_1_thread"] = batch / best_time(
                    lambda: model.hidden(tokens), repeat=3
                )
                figures["torch_seq_per_s_1_thread"] = batch / best_time(lambda: net(x), repeat=3)
            torch.set_num_threads(threads)
        except ImportError:
            pass
        figures.update(
            {
                "torch_cpu_seq_per_s": batch / torch_s,
                "torch_threads": torch.get_num_threads(),
                "ratio_numpy_over_torch_time": numpy_s / torch_s,
                "argmax_agreement": agree,
                "target_ratio": 2.0,
                "met": numpy_s / torch_s <= 2.0,
            }
        )
    return figures


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


@benchmark
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
    names = [fn.__name__ for fn in BENCHMARKS]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object with every record")
    parser.add_argument("--only", nargs="*", choices=names, metavar="NAME", help=f"run only these: {names}")
    args = parser.parse_args(argv)
    records = []
    for fn in BENCHMARKS:
        if args.only and fn.__name__ not in args.only:
            continue
        start = time.perf_counter()
        figures = fn()
        record = {"benchmark": fn.__name__, "wall_s": round(time.perf_counter() - start, 3), **figures}
        records.append(record)
        if not args.json:
            shown = ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()
            )
            print(shown, flush=True)
    if args.json:
        print(json.dumps({"version": __version__, "benchmarks": records}, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
