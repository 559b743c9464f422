"""`commlab sweep plan|run|show`: parameter grids of any command, stored point by point in SQLite."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated

import typer

from commlab.cli._output import emit, to_jsonable
from commlab.cli.options import JsonOpt, QuietOpt

sweep_app = typer.Typer(help="Run parameter grids of any command; keep every finished point in a store.")

FileArg = Annotated[str, typer.Argument(help="Sweep file (TOML): experiment = \"run chase\" and a [grid].")]
StoreOpt = Annotated[str, typer.Option("--store", help="SQLite results file (created if missing).")]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Override a grid key: --set q=[64,128] (repeatable).")
]


def _point_line(params: dict, extra: str) -> str:
    return "  " + " ".join(f"{k}={v}" for k, v in params.items()) + extra


def _render_plan(r: dict) -> str:
    lines = [f"sweep {r['experiment']!r}: {r['points']} points, {r['finished']} already in the store"]
    lines += [_point_line(p["params"], "  (done)" if p["finished"] else "") for p in r["grid"]]
    cost = r["estimated_seconds"]
    lines.append(f"estimated cost: {'unknown' if cost is None else f'{cost:.1f} s'} ({r['estimate_basis']})")
    return "\n".join(lines)


@sweep_app.command("plan")
def plan(
    sweep_file: FileArg,
    store: Annotated[str | None, typer.Option("--store", help="Results file, to skip finished points.")] = None,
    overrides: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a sweep's points and an estimate of their cost, without running anything."""
    from commlab.sweeps import Store, load_sweep, plan_sweep

    sweep = load_sweep(sweep_file, overrides or [])
    opened = Store(store) if store else None
    try:
        result = plan_sweep(sweep, opened)
    finally:
        if opened is not None:
            opened.close()
    emit({
        "experiment": sweep.experiment,
        "points": len(result.points),
        "finished": len(result.finished),
        "estimated_seconds": result.estimated_seconds,
        "estimate_basis": result.estimate_basis,
        "grid": [
            {"params": p.parameters, "seed": p.seed, "key": p.key, "finished": p.key in result.finished}
            for p in result.points
        ],
    }, as_json, _render_plan)


def _render_summary(r: dict) -> str:
    lines = [
        f"sweep {r['experiment']!r} on {r['backend']}: {r['done']} done, {r['failed']} failed, "
        f"{r['skipped']} already stored, of {r['points']} points, in {r['wall_s']:.1f} s → {r['store']}"
    ]
    lines += [f"  failed: {point}: {reason}" for point, reason in r["failures"].items()]
    return "\n".join(lines)


@sweep_app.command("run")
def run(
    sweep_file: FileArg,
    store: StoreOpt,
    overrides: SetOpt = None,
    workers: Annotated[int, typer.Option("--workers", help="Local worker processes (0: in-process).")] = 0,
    dask: Annotated[
        str | None, typer.Option("--dask", help="Dask scheduler address, or 'local' for a LocalCluster.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Rerun points the store already holds.")] = False,
    fail_fast: Annotated[bool, typer.Option("--fail-fast", help="Stop at the first failed point.")] = False,
    retries: Annotated[
        int, typer.Option("--retries", help="Retries of a point whose worker died (killed, out of memory).")
    ] = 2,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Run every point of a sweep not yet in the store, committing each as it finishes.

    Exits 0 when every point succeeded, 1 when some failed (each is stored with its reason).

    Example: commlab sweep run grid.toml --store results.db --workers 2
    """
    from commlab.errors import InvalidParameter
    from commlab.sweeps import Store, load_sweep, make_backend, run_sweep

    if workers < 0 or retries < 0:
        raise InvalidParameter(f"--workers and --retries must be ≥ 0, got {workers} and {retries}")
    sweep = load_sweep(sweep_file, overrides or [])
    backend = make_backend(workers, dask, retries)
    with Store(store) as opened, _progress(not (as_json or quiet)) as on_point:
        summary = run_sweep(sweep, opened, backend, force=force, fail_fast=fail_fast, on_point=on_point)
    emit(dict(summary.__dict__), as_json, _render_summary)
    if summary.failed:
        raise typer.Exit(1)


class _progress:
    """A rich progress bar of points done, failed and remaining, with an ETA (silent when disabled)."""

    def __init__(self, enabled: bool):
        self.enabled, self.bar, self.task = enabled, None, None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self.bar.__enter__()
        return self.update

    def update(self, progress, outcome) -> None:
        if self.task is None:
            self.task = self.bar.add_task("", total=progress.total, completed=progress.skipped)
        self.bar.update(
            self.task, completed=progress.total - progress.remaining,
            description=f"sweep: {progress.done} done, {progress.failed} failed, {progress.remaining} left",
        )

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _flat(prefix: str, value) -> dict:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(f"{prefix}{key}.", item).items()}
    return {prefix[:-1]: json.dumps(value) if isinstance(value, list) else value}


def _csv(records) -> str:
    rows = [
        {"key": r.key, "experiment": r.experiment, "status": r.status, "seed": r.seed, "version": r.version,
         "wall_s": r.wall_s, "worker": r.worker, "error": r.error,
         **_flat("params.", r.params), **_flat("result.", r.result or {})}
        for r in records
    ]
    columns = list(dict.fromkeys(c for row in rows for c in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(to_jsonable(rows))
    return out.getvalue().rstrip("\n")


@sweep_app.command("show")
def show(
    store: Annotated[str, typer.Argument(help="SQLite results file written by `commlab sweep run`.")],
    experiment: Annotated[str | None, typer.Option("--experiment", help="Only this experiment.")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV (one row per point).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Export the points of a results store: text, --json (one object with a `points` list) or --csv."""
    from pathlib import Path

    from commlab.errors import InvalidParameter
    from commlab.sweeps import Store

    if not Path(store).is_file():
        raise InvalidParameter(f"results store {store!r} does not exist; run `commlab sweep run … --store {store}`")
    with Store(store) as opened:
        records = opened.records(experiment)
    if as_csv:
        typer.echo(_csv(records))
        return
    result = {
        "store": store,
        "points": [
            {"experiment": r.experiment, "params": r.params, "seed": r.seed, "status": r.status,
             "result": r.result, "error": r.error, "wall_s": r.wall_s, "worker": r.worker,
             "attempts": r.attempts, "version": r.version, "key": r.key}
            for r in records
        ],
    }

    def render(r: dict) -> str:
        lines = [f"{len(r['points'])} points in {store}"]
        for p in r["points"]:
            headline = p["result"] or {}
            value = next((f" {k}={headline[k]}" for k in ("success", "accuracy") if k in headline), "")
            status = "" if p["status"] == "done" else f" FAILED: {p['error']}"
            lines.append(_point_line({"experiment": p["experiment"], **p["params"]}, value + status))
        return "\n".join(lines)

    emit(result, as_json, render)
