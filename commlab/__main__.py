"""``python -m commlab``: the same as the ``commlab`` command."""

from commlab.cli import _script

if __name__ == "__main__":
    _script()
