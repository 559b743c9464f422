"""benchmarks/run.py: its output contract (one JSON object), its registration, and that both hop
baselines compute the table hop_table computes. No timing is asserted here."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import run as bench
from commlab.problems.hop import hop_table


def test_json_is_one_object_with_every_record(monkeypatch, capsys):
    def first() -> dict:
        return {"seconds": 0.5, "met": True}

    def second() -> dict:
        return {"ratio": np.float64(2.0)}  # numpy scalars are written as numbers

    monkeypatch.setattr(bench, "BENCHMARKS", [first, second])
    assert bench.main(["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["version"] == bench.__version__
    assert [r["benchmark"] for r in report["benchmarks"]] == ["first", "second"]
    assert report["benchmarks"][1]["ratio"] == 2.0 and "wall_s" in report["benchmarks"][0]
    assert bench.main(["--json", "--only", "second"]) == 0
    assert [r["benchmark"] for r in json.loads(capsys.readouterr().out)["benchmarks"]] == ["second"]


def test_registration_refuses_a_second_benchmark_of_the_same_name(monkeypatch):
    monkeypatch.setattr(bench, "BENCHMARKS", list(bench.BENCHMARKS))
    with pytest.raises(ValueError, match="registered twice"):
        bench.benchmark(bench.hop_table_1000x100)


@settings(max_examples=60)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=40), st.integers(0, 6))
def test_both_python_baselines_compute_the_hop_table(tokens, levels):
    text = "".join("abcd"[t] for t in tokens)
    table = hop_table(np.array(tokens), levels)
    for baseline in (bench.released_generator_hops, bench.rescan_hops):
        positions = np.array(baseline(text, levels)).T  # (levels + 1, N) positions, -1 for none
        assert np.array_equal(np.where(positions >= 0, np.array(tokens)[positions], -1), table)
