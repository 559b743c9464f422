"""Derived seeds: no evaluation or dropout stream repeats a training batch's seed (numpy's
SeedSequence drops trailing zeros, which made ``[seed, k, 0]`` the seed of training step k)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commlab.errors import InvalidParameter
from commlab.seeds import DROPOUT, EVALUATION, stream_seed, training_seed


def test_seed_sequence_drops_trailing_zeros_which_is_why_streams_are_tagged():
    first = lambda *path: int(np.random.SeedSequence(list(path)).generate_state(1)[0])  # noqa: E731
    assert first(0, 3) == first(0, 3, 0)  # the old evaluation chunk 0 of k = 3 was training step 3
    assert training_seed(0, 3) != stream_seed(0, EVALUATION, 3, 0)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**63 - 1))
def test_no_stream_shares_a_seed_with_training_or_another_stream(seed):
    training = {training_seed(seed, step) for step in range(3000)}
    evaluation = {stream_seed(seed, EVALUATION, k, chunk) for k in range(17) for chunk in range(8)}
    dropout = {stream_seed(seed, DROPOUT, k) for k in range(17)}
    assert len(evaluation) == 17 * 8 and len(dropout) == 17
    assert not training & evaluation and not training & dropout and not evaluation & dropout


@pytest.mark.parametrize(("stream", "path"), [(0, (3,)), (EVALUATION, ())])
def test_an_untagged_or_empty_path_is_refused(stream, path):
    with pytest.raises(InvalidParameter, match="stream tag >= 1 and a nonempty path"):
        stream_seed(0, stream, *path)
