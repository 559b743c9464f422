"""The results store: one SQLite file, one row per finished point, written only by the process that
owns the sweep.

SQLite (standard library) gives transactions and file locking: a point is committed in one
transaction when it finishes, so a sweep killed at any moment loses only the points in flight, and two
sweeps on one store never corrupt it (writers wait on the lock for up to ``timeout`` seconds). The
journal is in WAL mode so readers (``sweep show``, figures) do not block the writer.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from commlab.errors import InvalidParameter

__all__ = ["StoredPoint", "Store"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    key TEXT PRIMARY KEY,
    experiment TEXT NOT NULL,
    params TEXT NOT NULL,
    seed INTEGER,
    version TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    result TEXT,
    error TEXT,
    attempts INTEGER NOT NULL,
    wall_s REAL NOT NULL,
    worker TEXT NOT NULL,
    finished_at REAL NOT NULL
)
"""


@dataclass(frozen=True)
class StoredPoint:
    """What the store keeps of one point: its parameters and seed, and either the command's full JSON
    result (``status == "done"``) or the reason it failed."""

    key: str
    experiment: str
    params: dict[str, Any]
    seed: int | None
    version: str
    status: str
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    wall_s: float
    worker: str


class Store:
    """A sweep results store in the SQLite file ``path`` (created if missing).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "results.db")
    >>> with Store(path) as store:
    ...     store.save(StoredPoint("k1", "run chase", {"q": 64}, 7, "0.1.0", "done", {"success": 1.0}, None, 1, 0.1, "main"))
    ...     [r.result for r in store.records()]
    [{'success': 1.0}]
    """

    def __init__(self, path: str | Path, timeout: float = 60.0):
        self.path = Path(path)
        if self.path.is_dir():
            raise InvalidParameter(f"--store {str(self.path)!r} is a directory; give a file such as results.db")
        if not self.path.parent.exists():
            raise InvalidParameter(f"--store: directory {str(self.path.parent)!r} does not exist")
        try:
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self._retry_while_locked(self._open, timeout)
        except sqlite3.DatabaseError as error:
            raise InvalidParameter(f"--store {str(self.path)!r} is not a commlab results store: {error}") from None

    def _open(self) -> None:
        # Switching to WAL needs the file to itself, and SQLite reports a busy file at once rather
        # than through the busy timeout: so only switch when needed, and retry while another sweep
        # holds it (its commits are short).
        if self._db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(SCHEMA)

    @staticmethod
    def _retry_while_locked(action, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return action()
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def finished(self) -> set[str]:
        """Keys of the points that finished successfully (a rerun skips these)."""
        return {key for (key,) in self._db.execute("SELECT key FROM points WHERE status = 'done'")}

    def save(self, record: StoredPoint) -> None:
        """Commit one point (replacing an earlier row with the same key) in its own transaction."""
        row = (
            record.key, record.experiment, json.dumps(record.params, sort_keys=True), record.seed,
            record.version, record.status, None if record.result is None else json.dumps(record.result),
            record.error, record.attempts, record.wall_s, record.worker, time.time(),
        )
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("INSERT OR REPLACE INTO points VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def records(self, experiment: str | None = None, status: str | None = None) -> list[StoredPoint]:
        """Stored points, in the order they finished, optionally for one experiment or status."""
        query = "SELECT key, experiment, params, seed, version, status, result, error, attempts, wall_s, worker"
        query += " FROM points WHERE (? IS NULL OR experiment = ?) AND (? IS NULL OR status = ?)"
        rows = self._db.execute(query + " ORDER BY finished_at, key", (experiment, experiment, status, status))
        return [
            StoredPoint(key, exp, json.loads(params), seed, version, st, None if result is None else json.loads(result),
                   error, attempts, wall_s, worker)
            for key, exp, params, seed, version, st, result, error, attempts, wall_s, worker in rows
        ]
