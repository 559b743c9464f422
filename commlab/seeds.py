"""The seeds a run derives from its one seed: one stream per use, so no two uses share randomness.

Every seed is the first word of ``numpy.random.SeedSequence([seed, *path])``. SeedSequence ignores
trailing zero words (``[s, a]`` and ``[s, a, 0]`` give the same state), so a path that is a prefix
of another up to zeros would repeat its random numbers. The training data's path is ``[seed, step]``
(kept as it was, so committed runs retrain to the same weights); every other stream ends in its own
nonzero tag after a nonempty path, so its path never equals the training path, or another
stream's, padded with zeros: the tag sits where the shorter path has a zero.

Examples
--------
>>> training_seed(0, 3) == stream_seed(0, EVALUATION, 3, 0)
False
>>> int(np.random.SeedSequence([0, 3]).generate_state(1)[0]) == int(np.random.SeedSequence([0, 3, 0]).generate_state(1)[0])
True
"""

from __future__ import annotations

import numpy as np

from commlab.errors import InvalidParameter

__all__ = ["DROPOUT", "EVALUATION", "stream_seed", "training_seed"]

#: Evaluation sequences (per hop count k and chunk): error per k and last-position scoring.
EVALUATION = 1
#: Dropout masks drawn while evaluating with ``--dropout`` (per hop count k).
DROPOUT = 2


def _first_word(path: list[int]) -> int:
    return int(np.random.SeedSequence(path).generate_state(1)[0])


def training_seed(seed: int, step: int) -> int:
    """The seed of training step ``step``'s fresh batch."""
    return _first_word([seed, step])


def stream_seed(seed: int, stream: int, *path: int) -> int:
    """The seed of ``path`` (e.g. ``k, chunk``; at least one number) in ``stream``
    (:data:`EVALUATION`, :data:`DROPOUT`)."""
    if stream < 1 or not path:
        raise InvalidParameter(f"need a stream tag >= 1 and a nonempty path, got {stream} and {path}")
    return _first_word([seed, *path, stream])
