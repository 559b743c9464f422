"""Sweeps: grid files, the SQLite store, the backends, resuming after SIGKILL, concurrent sweeps."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commlab.cli import main
from commlab.errors import InvalidParameter
from commlab.sweeps import (
    DaskBackend,
    InProcess,
    ProcessPool,
    Store,
    derive_seed,
    load_sweep,
    plan_sweep,
    run_sweep,
)

GRID = """
experiment = "run chase"
[grid]
q = [64, 128]
k = { from = 2, to = 4, step = 2 }
trials = 300
"""


def sweep_file(tmp_path: Path, text: str = GRID, name: str = "grid.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def stored(path: Path) -> dict[str, tuple[dict, dict]]:
    with Store(path) as store:
        return {r.key: (r.params, r.result) for r in store.records(status="done")}


def test_grid_expands_lists_ranges_and_scalars_in_file_order(tmp_path):
    sweep = load_sweep(sweep_file(tmp_path))
    points = sweep.points()
    assert [p.parameters for p in points] == [
        {"q": 64, "k": 2, "trials": 300}, {"q": 64, "k": 4, "trials": 300},
        {"q": 128, "k": 2, "trials": 300}, {"q": 128, "k": 4, "trials": 300},
    ]
    assert points[0].argv(True) == ["run", "chase", "--q", "64", "--k", "2", "--trials", "300",
                                    "--seed", str(points[0].seed), "--json"]
    assert len({p.key for p in points}) == len({p.seed for p in points}) == 4


@given(st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 10**6), min_size=1), st.randoms())
def test_a_points_seed_depends_on_its_parameters_not_their_order(params, random):
    items = list(params.items())
    shuffled = items[:]
    random.shuffle(shuffled)
    assert derive_seed("run chase", items) == derive_seed("run chase", shuffled)
    assert 0 <= derive_seed("run chase", items) < 2**63
    changed = [(k, v + 1) for k, v in items]
    assert derive_seed("run chase", changed) != derive_seed("run chase", items)


def test_overrides_explicit_seed_and_replicates(tmp_path):
    text = 'experiment = "run chase"\n[grid]\nq = 64\nk = 2\nreplicate = [0, 1]\n'
    points = load_sweep(sweep_file(tmp_path, text), ["q=[16, 32]"]).points()
    assert [p.parameters["q"] for p in points] == [16, 16, 32, 32]
    assert len({p.seed for p in points}) == 4 and "--replicate" not in points[0].argv(True)
    explicit = load_sweep(sweep_file(tmp_path, text), ["seed=7", "replicate=0"]).points()
    assert explicit[0].seed == 7 and explicit[0].argv(True).count("--seed") == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[grid]\nq = 3\n', "'experiment' must name a command"),
        ('experiment = "run chase"\n[grid]\nq = []\nk = {from = 1}\n', "empty list"),
        ('experiment = "run chase"\n[grid]\nk = {from = 1}\n', "a range is"),
        ('experiment = "run chase"\nextra = 1\n', "unknown top-level keys"),
        ('experiment = "run chase\n', "not valid TOML"),
    ],
)
def test_bad_sweep_files_are_refused_with_every_problem(tmp_path, text, expected):
    with pytest.raises(InvalidParameter, match=expected):
        load_sweep(sweep_file(tmp_path, text))


@pytest.mark.parametrize(
    ("experiment", "grid", "expected"),
    [
        ("run chase", "qq = 3\nkk = 2", "no option\\(s\\) kk, qq"),
        ("frobnicate", "q = 3", "unknown command 'frobnicate'"),
        ("reduce", "q = 3", "needs a subcommand"),
        ("reductions", "q = 3", "reports no results|no option"),
    ],
)
def test_grid_keys_must_be_options_of_the_command(tmp_path, experiment, grid, expected):
    sweep = load_sweep(sweep_file(tmp_path, f'experiment = "{experiment}"\n[grid]\n{grid}\n'))
    with pytest.raises(InvalidParameter, match=expected):
        plan_sweep(sweep)


def test_rerun_skips_finished_points_and_force_reruns(tmp_path):
    sweep = load_sweep(sweep_file(tmp_path))
    with Store(tmp_path / "r.db") as store:
        first = run_sweep(sweep, store)
        again = run_sweep(sweep, store)
        forced = run_sweep(sweep, store, force=True)
        assert (first.done, again.done, again.skipped, forced.done) == (4, 0, 4, 4)
        assert len(store.records()) == 4
        record = store.records()[0]
        assert record.result["seed"] == record.seed and record.version and record.worker == "main"


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path):
    sweep = load_sweep(sweep_file(tmp_path, 'experiment = "run chase"\n[grid]\nq = [3, 64]\nk = 2\n'))
    with Store(tmp_path / "r.db") as store:
        summary = run_sweep(sweep, store)
        assert (summary.done, summary.failed) == (1, 1)
        [failed] = store.records(status="failed")
        assert failed.params["q"] == 3 and "exit 2" in failed.error and "q must be an even integer" in failed.error
        assert run_sweep(sweep, store, fail_fast=True, force=True).points == 2


def test_every_backend_stores_identical_results(tmp_path):
    sweep = load_sweep(sweep_file(tmp_path))
    backends = [InProcess(), ProcessPool(2)]
    try:
        import distributed  # noqa: F401

        backends.append(DaskBackend("local", workers=2))
    except ImportError:
        pass
    results = []
    for index, backend in enumerate(backends):
        with Store(tmp_path / f"{index}.db") as store:
            assert run_sweep(sweep, store, backend).done == 4
        results.append(stored(tmp_path / f"{index}.db"))
    assert all(r == results[0] for r in results) and len(results[0]) == 4


def test_a_worker_that_dies_fails_only_its_point_which_is_retried(tmp_path):
    """Two workers take a slow point and a fast one; when the fast one is back, both workers are
    killed. The slow point's worker dies under it; the fast one's dies idle, and may not be reaped
    when the third point is sent to it. Only the slow point may be charged a try: with retries it is
    run again (2 attempts), without it fails, and the third point never does."""
    grid = 'experiment = "run sampling"\n[grid]\nq = 256\nk = 4\ntrials = [6000, 100, 101]\n'
    sweep = load_sweep(sweep_file(tmp_path, grid))
    killed = []

    def kill_the_workers(progress, outcome):
        if not killed:
            killed.extend(child.pid for child in multiprocessing.active_children())
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    with Store(tmp_path / "retry.db") as store:
        summary = run_sweep(sweep, store, ProcessPool(2, retries=1), on_point=kill_the_workers)
        assert killed and (summary.done, summary.failed) == (3, 0)
        attempts = {r.params["trials"]: r.attempts for r in store.records()}
        assert attempts == {6000: 2, 100: 1, 101: 1}
        reference = {r.key: r.result for r in store.records()}
    with Store(tmp_path / "fail.db") as store:
        killed.clear()
        summary = run_sweep(sweep, store, ProcessPool(2, retries=0), on_point=kill_the_workers)
        assert (summary.done, summary.failed) == (2, 1)
        [failed] = store.records(status="failed")
        assert failed.params["trials"] == 6000 and "worker died (exit code -9)" in failed.error
        assert all(reference[r.key] == r.result for r in store.records(status="done"))


def _sweep_process(tmp_path, grid, store):
    return subprocess.Popen(
        [sys.executable, "-m", "commlab", "sweep", "run", str(grid), "--store", str(store), "--quiet"],
        cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def _count(store: Path) -> int:
    try:
        with sqlite3.connect(store, timeout=30) as db:
            return db.execute("SELECT count(*) FROM points WHERE status = 'done'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_sigkill_loses_only_points_in_flight_and_resume_completes(tmp_path):
    grid = sweep_file(tmp_path, 'experiment = "run sampling"\n[grid]\nq = 128\nk = 4\ntrials = 200\n'
                                'replicate = { from = 1, to = 12 }\n')
    store = tmp_path / "killed.db"
    process = _sweep_process(tmp_path, grid, store)
    deadline = time.monotonic() + 60
    while _count(store) < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.kill()
    process.wait()
    assert 3 <= _count(store) < 12, "the sweep was not killed mid-run"
    assert _sweep_process(tmp_path, grid, store).wait() == 0
    with Store(tmp_path / "whole.db") as whole:
        run_sweep(load_sweep(grid), whole)
    assert stored(store) == stored(tmp_path / "whole.db") and len(stored(store)) == 12


def test_two_sweeps_on_one_store_at_once_do_not_corrupt_it(tmp_path):
    store = tmp_path / "shared.db"
    a = sweep_file(tmp_path, 'experiment = "run chase"\n[grid]\nq = [8, 16, 32, 64]\nk = [2, 3]\n', "a.toml")
    b = sweep_file(tmp_path, 'experiment = "run broadcast"\n[grid]\nq = [8, 16, 32, 64]\nk = [2, 3]\n', "b.toml")
    processes = [_sweep_process(tmp_path, a, store), _sweep_process(tmp_path, b, store)]
    assert [p.wait() for p in processes] == [0, 0], [p.stderr.read() for p in processes]
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with Store(store) as opened:
        assert len(opened.records("run chase")) == len(opened.records("run broadcast")) == 8


def test_cli_plan_run_show(tmp_path, capsys):
    grid, store = sweep_file(tmp_path), tmp_path / "cli.db"
    assert main(["sweep", "plan", str(grid), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["points"] == 4 and plan["estimated_seconds"] is None
    assert main(["sweep", "run", str(grid), "--store", str(store), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["done"], summary["failed"], summary["backend"]) == (4, 0, "in-process")
    assert main(["sweep", "plan", str(grid), "--store", str(store), "--set", "q=[64, 256]", "--json"]) == 0
    replanned = json.loads(capsys.readouterr().out)
    assert replanned["finished"] == 2 and replanned["estimated_seconds"] > 0
    assert main(["sweep", "show", str(store), "--json"]) == 0
    points = json.loads(capsys.readouterr().out)["points"]
    assert len(points) == 4 and all(p["result"]["success"] == 1.0 for p in points)
    assert main(["sweep", "show", str(store), "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and "params.q" in lines[0] and "result.success" in lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ["sweep", "run", "missing.toml", "--store", "x.db"],
        ["sweep", "show", "missing.db"],
        ["sweep", "run", "GRID", "--store", "x.db", "--workers", "-1"],
        ["sweep", "run", "GRID", "--store", "x.db", "--set", "novalue"],
    ],
)
def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys, monkeypatch, args):
    args = [str(sweep_file(tmp_path)) if a == "GRID" else a for a in args]
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error:") and len(err.strip().splitlines()) == 1


def test_cli_exits_1_when_a_point_failed(tmp_path, capsys):
    grid = sweep_file(tmp_path, 'experiment = "run chase"\n[grid]\nq = [3, 64]\nk = 2\n')
    assert main(["sweep", "run", str(grid), "--store", str(tmp_path / "f.db"), "--quiet"]) == 1
    assert "failed: run chase q=3 k=2:" in capsys.readouterr().out
