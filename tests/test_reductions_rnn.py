"""The RNN reduction: bit-exact against the model for every cell and format, bits and rounds as
declared, isolation, and a tampered reduction that the kit must catch."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commlab import InvalidParameter, SimulationMismatch, UnsupportedModel, run
from commlab.io.codecs import number_format
from commlab.models import CELLS, SequenceModel, random_recurrent_model, window_hop_model
from commlab.models.recurrent import LSTM, Elman, SelectiveSSM
from commlab.problems.pointer_chasing import PointerChasing
from reductions import compile_to_protocol, get_reduction, validate
from reductions.conformance import check_reduction, verify_exact
from reductions.layerwise import LayerwiseProtocol, split_by_blocks
from reductions.pointer_chasing import encode
from reductions.rnn import RecurrentReduction, reduce_rnn

FORMATS = ["float64", "float32", "float16", "bfloat16", "fixed12.6"]


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_conformance_for_every_cell_and_format(cell, fmt):
    seeds = iter(range(1000))
    report = check_reduction(
        "rnn",
        lambda alphabet, rng: random_recurrent_model(cell, 2, 5, alphabet, fmt, seed=next(seeds)),
        seed=hash((cell, fmt)) % 1000,
        audit=(fmt == "float32"),
    )
    assert report.cases == 6 and report.declared_bits == report.measured_bits


def test_conformance_of_the_window_model():
    report = check_reduction("rnn", lambda alphabet, rng: window_hop_model(5, 2, alphabet), audit=True)
    assert report.rounds == [1] * 6


def test_a_stack_of_different_kinds_compiles_with_no_new_code():
    fmt = number_format("float32")
    rng = np.random.default_rng(0)

    def mixed(alphabet, rng):
        layers = (
            Elman.random(6, 6, fmt, rng),
            LSTM.random(6, 6, fmt, rng),
            SelectiveSSM.random(6, 6, fmt, rng),
        )
        return SequenceModel(
            alphabet,
            layers,
            fmt,
            fmt.round(rng.normal(size=(alphabet, 6))),
            fmt.round(rng.normal(size=(6, alphabet))),
        )

    report = check_reduction("rnn", mixed, audit=False)
    model = mixed(5, rng)
    protocol = compile_to_protocol(model, [(0, 4), (4, 9)])
    assert protocol.spec.max_bits == max(layer.state_bits for layer in model.layers) == 6 * 7 * 32
    assert report.cases == 6


class Truncating(LayerwiseProtocol):
    """Posts states at float16 precision while the model runs in float32: a plausible bug."""

    def speak(self, player, round, own, board, coins, memory):
        said = super().speak(player, round, own, board, coins, memory)
        if said.shape[1] == self.model.layers[0].state_bits and player == 2:
            values = self.model.layers[0].decode_state(said)
            said = self.model.layers[0].encode_state(
                tuple(v.astype(np.float16).astype(np.float32) for v in values)
            )
        return said


class TamperedReduction(RecurrentReduction):
    name = "tampered"

    def compile(self, model, blocks):
        return Truncating(self.name, model, blocks)


def test_the_kit_catches_an_inexact_reduction_and_names_where():
    with pytest.raises(
        SimulationMismatch,
        match=r"reduction 'tampered' \(random, k=2\): instance \d+ differs from the model first at round 1, P_2",
    ):
        check_reduction(
            TamperedReduction(),
            lambda a, rng: random_recurrent_model("elman", 2, 4, a, seed=1),
            players=(2,),
            audit=False,
        )


def test_verify_exact_counts_every_mismatching_instance():
    model = random_recurrent_model("elman", 2, 4, 10, seed=1)
    enc = encode(PointerChasing.random(4, 3, 12, seed=0))
    protocol = Truncating("tampered", model, enc.blocks)
    result = run(protocol, enc.player_inputs())
    check = verify_exact(protocol, enc.tokens, result.transcript)
    assert check.mismatches == 12 and check.first[1:] == (1, 2)
    with pytest.raises(SimulationMismatch, match="12 of 12 instances differ"):
        check.raise_if_mismatched()
    honest = compile_to_protocol(model, enc.blocks)
    assert verify_exact(honest, enc.tokens, run(honest, enc.player_inputs()).transcript).mismatches == 0


def test_messages_are_the_models_states_and_p1_answers():
    model = random_recurrent_model("gru", 2, 3, 10, seed=2)
    enc = encode(PointerChasing.random(4, 3, 5, seed=1))
    protocol = compile_to_protocol(model, enc.blocks)
    result = run(protocol, enc.player_inputs(), truth=enc.answer)
    forward = model.forward(enc.tokens, record=[7, 15])  # P_3 holds [0, 8), P_2 holds [8, 16)
    for player, end in ((3, 7), (2, 15)):
        expected = model.layers[1].encode_state(forward.recorded[1][end])
        assert np.array_equal(result.transcript.message(2, player).bits, expected)
    assert np.array_equal(result.output, forward.predictions[:, -1])
    assert result.transcript.message(2, 1).bits.shape[1] == model.output_format.bits
    assert protocol.spec.rounds == 2 and result.bits_per_message == protocol.spec.max_bits == 3 * 32


def test_one_player_posts_only_what_others_read():
    model = random_recurrent_model("elman", 1, 16, 6, seed=0)
    protocol = compile_to_protocol(model, [(0, 7)])
    assert protocol.spec.max_bits == model.output_format.bits  # P_1 alone: only its answer
    assert get_reduction("rnn").bits_per_message(model, 1) == model.output_format.bits


def test_unsupported_models_and_partitions_report_every_problem():
    with pytest.raises(UnsupportedModel, match="compiles a SequenceModel"):
        compile_to_protocol(object(), [(0, 1)], "rnn")
    model = random_recurrent_model("elman", 1, 4, 5)
    with pytest.raises(UnsupportedModel) as error:
        compile_to_protocol(model, [(1, 3), (4, 4)])
    assert len(error.value.reasons) == 3
    assert "rnn: the rnn reduction compiles a SequenceModel, got object" in validate(object())
    assert validate(object(), "rnn") == ["rnn: the rnn reduction compiles a SequenceModel, got object"]
    assert validate(model) == [] and validate(model, "rnn") == []
    with pytest.raises(Exception, match="bad player partition"):
        split_by_blocks(np.zeros((1, 5), int), [(0, 2), (2, 4)])


def test_reduce_rnn_defaults_and_accuracy_of_a_solver():
    report = reduce_rnn(layers=2, state=4, q=8, trials=30)
    assert (report.k, report.rounds, report.mismatches) == (3, 2, 0)
    assert report.bits_per_message == report.declared_bits_per_message == 128
    assert [row["k"] for row in report.bound] == [3, 4, 5, 6, 7, 8]
    assert report.bound[0]["critical_N"] == 2 * 128 * 3**6  # N* = 2·s·k⁶/c at c = 1
    from reductions.experiment import reduce_on_pointer_chasing

    full = reduce_on_pointer_chasing(window_hop_model(2 * 3 * 8 + 1, 3, 18, fallback=16), k=3, q=8, trials=40)
    assert full.accuracy == 1.0 and full.mismatches == 0 and full.rounds == 1
    blind = reduce_on_pointer_chasing(window_hop_model(4, 3, 18, fallback=16), k=3, q=8, trials=400)
    assert blind.accuracy_ci[0] < 0.5 < blind.accuracy_ci[1]


def test_alphabet_too_small_for_the_encoding():
    from commlab import InvalidParameter
    from reductions.experiment import reduce_on_pointer_chasing

    with pytest.raises(InvalidParameter, match="2q \\+ 2 = 18"):
        reduce_on_pointer_chasing(random_recurrent_model("elman", 1, 4, 10), k=2, q=8, trials=5)


@settings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(1, 18), min_size=1, max_size=4, unique=True), seed=st.integers(0, 999))
def test_positional_embeddings_compile_exactly_with_each_block_at_its_offset(cuts, seed):
    """A player embeds its block at its own positions (it knows them from the public partition), so
    a model with positional embeddings compiles bit for bit whatever the partition."""
    rng = np.random.default_rng(seed)
    base = random_recurrent_model("gru", layers=2, state=5, alphabet=6, seed=seed)
    model = dataclasses.replace(base, positions=base.fmt.round(rng.normal(size=(19, 5))))
    edges = [0, *sorted(cuts), 19]
    blocks = list(zip(edges[:-1], edges[1:], strict=True))
    tokens = rng.integers(0, 6, size=(8, 19))
    protocol = compile_to_protocol(model, blocks)
    result = run(protocol, split_by_blocks(tokens, blocks))
    assert verify_exact(protocol, tokens, result.transcript).mismatches == 0
    shifted = np.roll(model.positions, 1, axis=0)  # the same model with positions off by one differs
    assert not np.array_equal(model.predict(tokens), dataclasses.replace(model, positions=shifted).predict(tokens))


def test_positional_embeddings_need_a_token_embedding_of_their_width():
    base = random_recurrent_model("gru", layers=1, state=5, alphabet=6)
    with pytest.raises(InvalidParameter, match="positional embeddings need a token embedding of the same width"):
        dataclasses.replace(base, positions=np.zeros((10, 4)))


def test_a_model_with_positional_embeddings_passes_the_conformance_kit_and_its_audit():
    def make_model(alphabet, rng):
        base = random_recurrent_model("gru", layers=2, state=4, alphabet=alphabet, seed=int(rng.integers(1000)))
        return dataclasses.replace(base, positions=base.fmt.round(rng.normal(size=(64, 4))))

    report = check_reduction("rnn", make_model, players=(1, 3), audit=True)
    assert report.measured_bits == report.declared_bits


def test_a_partition_longer_than_the_positional_embeddings_is_refused_at_compile_time():
    base = random_recurrent_model("gru", layers=1, state=4, alphabet=6)
    model = dataclasses.replace(base, positions=np.zeros((17, 4), dtype=np.float32))
    with pytest.raises(UnsupportedModel, match="covers 19 positions but .* at most 17 tokens"):
        compile_to_protocol(model, [(0, 10), (10, 19)])
    for start in (-1, 2.5, True):
        with pytest.raises(InvalidParameter, match="a block's start must be an integer >= 0"):
            model.embed(np.zeros((1, 3), dtype=np.int64), start)
