"""Output files: checked before any computing starts, and written atomically (a temporary file in the
same directory, renamed over the target only once complete), so an interrupted or failed command never
leaves a partial file at ``--out`` nor replaces a good one with a truncated one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from commlab.errors import InvalidParameter

__all__ = ["atomic_output", "check_output_path"]


def check_output_path(path: str, suffixes: tuple[str, ...], option: str = "--out") -> Path:
    """Refuse ``path`` unless it names a file (a stem before the suffix) with one of ``suffixes``,
    in an existing directory this process may write to.

    Examples
    --------
    >>> check_output_path("fig.pdf", (".png", ".pdf")).name
    'fig.pdf'
    >>> check_output_path(".png", (".png",))
    Traceback (most recent call last):
    ...
    commlab.errors.InvalidParameter: --out '.png' has no file name before the suffix; use e.g. figure.png
    """
    target = Path(path)
    suffix = target.suffix.lower()
    example = f"figure{suffixes[0]}"
    if target.name in ("", ".", "..") or target.is_dir():
        raise InvalidParameter(f"{option} {path!r} is a directory; give a file name such as {example}")
    if target.name.lower() in suffixes or target.name.startswith(".") and suffix == "":
        raise InvalidParameter(f"{option} {path!r} has no file name before the suffix; use e.g. {example}")
    if suffix not in suffixes:
        raise InvalidParameter(
            f"{option} must end in {', '.join(suffixes)}, got {path!r}; use e.g. {example}"
        )
    directory = target.parent
    if not directory.is_dir():
        raise InvalidParameter(
            f"{option} {path!r}: directory {str(directory)!r} does not exist; create it first"
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InvalidParameter(
            f"{option} {path!r}: directory {str(directory)!r} is not writable; choose another"
        )
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (same suffix, so writers that go by the suffix pick the
    same format); when the block completes, rename it over ``path`` in one step. On any exception,
    interrupts included, the temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    handle, name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.stem}.", suffix=f".partial{target.suffix}"
    )
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; give it a normal file's mode
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
