"""Sweeps: grids of experiments that survive crashes, resume, and scale out (local processes, Dask).

A sweep file names a CLI command and a grid of its options (:mod:`commlab.sweeps.spec`); each point
runs that command with ``--json`` on a backend (:mod:`commlab.sweeps.backends`) and is committed to a
SQLite store when it finishes (:mod:`commlab.sweeps.store`); figures read the store.
"""

from commlab.sweeps.backends import DaskBackend, InProcess, Outcome, ProcessPool, run_point
from commlab.sweeps.runner import Plan, SweepSummary, make_backend, plan_sweep, run_sweep
from commlab.sweeps.spec import Point, Sweep, derive_seed, load_sweep
from commlab.sweeps.store import Store, StoredPoint

__all__ = [
    "DaskBackend",
    "InProcess",
    "Outcome",
    "Plan",
    "Point",
    "ProcessPool",
    "StoredPoint",
    "Store",
    "Sweep",
    "SweepSummary",
    "derive_seed",
    "load_sweep",
    "make_backend",
    "plan_sweep",
    "run_point",
    "run_sweep",
]
