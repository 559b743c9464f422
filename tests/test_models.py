"""Models: every cell in every format runs, rounds into its format, loads and saves its weights."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commlab import InvalidParameter
from commlab.io.codecs import number_format
from commlab.models import CELLS, load_recurrent_model, random_recurrent_model, save_weights, window_hop_model
from commlab.problems.hop import hop_k

FORMATS = ["float64", "float32", "float16", "bfloat16", "fixed16.10"]


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_cell_runs_in_every_format_and_stays_in_it(cell, fmt):
    model = random_recurrent_model(cell, layers=2, state=6, alphabet=7, fmt=fmt, seed=3)
    tokens = np.random.default_rng(0).integers(0, 7, size=(4, 15))
    forward = model.forward(tokens, record=[4, 14])
    assert forward.predictions.shape == (4, 15)
    assert forward.predictions.min() >= 0 and forward.predictions.max() < 7
    for layer, recorded in zip(model.layers, forward.recorded, strict=True):
        for state in recorded.values():
            # every carried number is exactly representable: the codec refuses anything else
            bits = layer.encode_state(state)
            assert bits.shape == (4, layer.state_bits)
            again = layer.decode_state(bits)
            assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(again, state, strict=True))


def test_state_sizes_follow_the_cell():
    fmt = number_format("float32")
    sizes = {cell: random_recurrent_model(cell, 1, 8, 5, fmt).layers[0].state_bits for cell in CELLS}
    assert sizes == {
        "elman": 256,
        "elman_relu": 256,
        "gru": 256,
        "gru_torch": 256,
        "lstm": 512,
        "ssm": 256,
        "mamba": 8 * (4 + 3) * 32,
        "binary": 8,
    }


def test_same_seed_same_model_and_formats_differ():
    a = random_recurrent_model("gru", 2, 8, 5, "float32", seed=1)
    b = random_recurrent_model("gru", 2, 8, 5, "float32", seed=1)
    x = np.random.default_rng(2).integers(0, 5, size=(3, 30))
    assert np.array_equal(a.predict(x), b.predict(x))
    low = random_recurrent_model("gru", 2, 8, 5, "fixed6.3", seed=1)
    assert set(np.unique(low.layers[0].params["W"] * 8) % 1) == {0.0}


def test_bfloat16_forward_really_rounds_every_operation():
    model = random_recurrent_model("elman", 1, 8, 5, "bfloat16", seed=0)
    state = model.forward(np.array([[1, 2, 3, 4]]), record=[3]).recorded[0][3][0]
    assert not np.any(state.view(np.uint32) & 0xFFFF)


@settings(max_examples=60)
@given(x=st.lists(st.integers(0, 4), min_size=1, max_size=60), k=st.integers(0, 6), extra=st.integers(0, 5))
def test_window_model_is_hop_k_when_the_window_holds_the_prefix(x, k, extra):
    tokens = np.array([x])
    model = window_hop_model(window=len(x) + extra, k=k, alphabet=5)
    assert model.predict(tokens).tolist() == hop_k(tokens, k).tolist()


@settings(max_examples=60)
@given(x=st.lists(st.integers(0, 3), min_size=1, max_size=50), k=st.integers(1, 4), window=st.integers(0, 12))
def test_window_model_is_right_or_falls_back(x, k, window):
    tokens = np.array([x])
    predicted = window_hop_model(window, k, alphabet=4, fallback=3).predict(tokens)[0]
    truth = hop_k(tokens, k)[0]
    for t, (got, want) in enumerate(zip(predicted, truth, strict=True)):
        if got != want:
            assert got == 3 and t >= window  # only a full window may fall back


def test_weights_round_trip(tmp_path):
    model = random_recurrent_model("lstm", 2, 4, 6, "float32", seed=5)
    save_weights(model, tmp_path / "w.npz")
    again = load_recurrent_model(tmp_path / "w.npz", "lstm", 2, 4, 6, "float32")
    x = np.random.default_rng(0).integers(0, 6, size=(2, 12))
    assert np.array_equal(model.predict(x), again.predict(x))


def test_weights_file_problems_are_all_reported(tmp_path):
    model = random_recurrent_model("elman", 2, 4, 6, "float32", seed=5)
    save_weights(model, tmp_path / "w.npz")
    arrays = dict(np.load(tmp_path / "w.npz"))
    arrays["layers.0.W"] = np.zeros((3, 3))
    arrays["layers.1.b"] = np.array([np.nan, 0, 0, 0])
    arrays["extra"] = np.zeros(2)
    del arrays["readout"]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(InvalidParameter) as error:
        load_recurrent_model(tmp_path / "bad.npz", "elman", 2, 4, 6)
    message = str(error.value)
    for part in (
        "missing readout",
        "unexpected array extra",
        "layers.0.W has shape (3, 3)",
        "layers.1.b holds NaN/inf",
    ):
        assert part in message
    with pytest.raises(InvalidParameter, match="cannot read"):
        load_recurrent_model(tmp_path / "none.npz", "elman", 2, 4, 6)


@pytest.mark.parametrize(
    "args,match",
    [
        (("rnn", 1, 4, 5), "unknown cell"),
        (("elman", 0, 4, 5), "layers"),
        (("elman", 1, 0, 5), "state"),
        (("elman", 1, 4, 5, "float8"), "unknown number format"),
    ],
)
def test_bad_architectures(args, match):
    with pytest.raises(InvalidParameter, match=match):
        random_recurrent_model(*args)


def test_tokens_outside_the_alphabet_are_refused():
    model = random_recurrent_model("elman", 1, 4, 5)
    with pytest.raises(InvalidParameter, match="0..4"):
        model.predict(np.array([[0, 5]]))


# --- the composed-indicator solver (issue 10 §3) ----------------------------------------------------


@settings(max_examples=40)
@given(q=st.integers(1, 40).map(lambda h: 2 * h), k=st.integers(1, 6), seed=st.integers(0, 2**31 - 1))
def test_indicator_chase_solves_encoded_pointer_chasing_exactly(q, k, seed):
    from commlab.models import indicator_chase_model
    from commlab.problems import PointerChasing
    from reductions.pointer_chasing import encode

    encoded = encode(PointerChasing.random(q, k, 30, seed))
    predicted = indicator_chase_model(q).predict(encoded.tokens)[:, -1]
    assert np.array_equal(predicted, hop_k(encoded.tokens, k)[:, -1])
    assert np.array_equal(predicted, encoded.answer)


@pytest.mark.parametrize(("q", "k"), [(2, 1), (2, 2), (2, 5), (64, 1), (64, 4), (128, 3)])
def test_indicator_chase_accuracy_is_one_and_its_state_is_2q_plus_logs(q, k):
    from commlab.io.codecs import bits_for
    from commlab.models import indicator_chase_model
    from commlab.problems import PointerChasing
    from reductions.pointer_chasing import encode

    model = indicator_chase_model(q)
    assert model.layers[0].state_bits == 2 * q + bits_for(2 * q + 2) + bits_for(2 * q)
    encoded = encode(PointerChasing.random(q, k, 500, seed=q + k))
    assert np.array_equal(model.predict(encoded.tokens)[:, -1], hop_k(encoded.tokens, k)[:, -1])
    assert len(np.unique(encoded.answer)) == 2  # both answers occur: no constant guess passes


def test_indicator_chase_state_at_q_64_is_143_bits():
    from commlab.models import indicator_chase_model

    assert indicator_chase_model(64).layers[0].state_bits == 128 + 8 + 7


def test_indicator_chase_compiles_with_the_rnn_reduction_exactly():
    from commlab.models import indicator_chase_model
    from reductions.conformance import check_reduction

    def make(alphabet, rng):  # a q whose 2q + 2 tokens cover the alphabet
        return indicator_chase_model(max(1, (alphabet - 1) // 2))

    report = check_reduction("rnn", make, audit=True)
    assert report.cases == 6 and report.measured_bits == report.declared_bits


def test_indicator_chase_compiled_on_pointer_chasing_is_a_one_round_protocol():
    from commlab.models import indicator_chase_model
    from reductions.experiment import reduce_on_pointer_chasing

    report = reduce_on_pointer_chasing(indicator_chase_model(16), k=4, q=16, trials=100, seed=3)
    assert report.rounds == 1 and report.mismatches == 0 and report.accuracy == 1.0
    assert report.bits_per_message == report.declared_bits_per_message == 32 + 6 + 5


def test_indicator_chase_refuses_bad_q():
    from commlab.models import indicator_chase_model

    for bad in (0, -2, 1.5, True):
        with pytest.raises(InvalidParameter, match="q must be an integer"):
            indicator_chase_model(bad)


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_positional_embeddings_round_trip_through_a_weights_file(tmp_path, suffix):
    import dataclasses

    base = random_recurrent_model("gru", layers=1, state=4, alphabet=5, seed=2)
    model = dataclasses.replace(base, positions=base.fmt.round(np.random.default_rng(0).normal(size=(9, 4))))
    save_weights(model, tmp_path / f"m{suffix}")
    loaded = load_recurrent_model(tmp_path / f"m{suffix}", "gru", 1, 4, 5)
    tokens = np.random.default_rng(1).integers(0, 5, size=(3, 9))
    assert np.array_equal(loaded.positions, model.positions)
    assert np.array_equal(loaded.predict(tokens), model.predict(tokens))
