"""The attention reduction: a softmax transformer as a (k, L, s) protocol, exact against the model,
with messages that grow with N while the rounds stay L = 2 + ⌈log₂ k⌉."""

import numpy as np
import pytest

from commlab.engine import run
from commlab.errors import UnsupportedModel
from commlab.models import random_recurrent_model
from commlab.models.construction import build_hop_transformer
from commlab.models.transformer import random_transformer
from reductions import compile_to_protocol, get_reduction
from reductions.attention import attention_bits_table, player_rows, reduce_attention
from reductions.conformance import check_reduction, verify_exact
from reductions.layerwise import split_by_blocks


def test_conformance_kit_on_random_transformers():
    """Random weights (real-valued softmax, not one-hot): every message equals the model's keys and
    values bit for bit, the output its prediction, declared s and R as measured, players isolated."""
    report = check_reduction(
        "attention",
        lambda alphabet, rng: random_transformer(
            alphabet, 2, width=6, head=3, context=32, seed=int(rng.integers(99))
        ),
        batch=6,
    )
    assert report.cases == 6 and report.declared_bits == report.measured_bits
    assert set(report.rounds) == {2}


def test_conformance_kit_on_the_construction():
    check_reduction(
        "attention", lambda alphabet, rng: build_hop_transformer(3, 32, alphabet).model, batch=6, audit=False
    )


def test_a_corrupted_message_is_caught():
    model = random_transformer(4, 2, context=20, seed=1)
    tokens = np.random.default_rng(0).integers(0, 4, size=(5, 12))
    blocks = [(0, 5), (5, 9), (9, 12)]
    protocol = compile_to_protocol(model, blocks, "attention")
    transcript = run(protocol, split_by_blocks(tokens, blocks), seed=0).transcript
    assert verify_exact(protocol, tokens, transcript).mismatches == 0
    other = random_transformer(4, 2, context=20, seed=2)
    wrong = compile_to_protocol(other, blocks, "attention")
    check = verify_exact(wrong, tokens, transcript)  # the same board against a different model
    assert check.mismatches == 5 and check.first == (0, 1, 3)


def test_bits_count_the_block_of_keys_and_values():
    model = random_transformer(4, 3, width=5, head=2, context=30, seed=0)
    blocks = [(0, 10), (10, 25), (25, 30)]
    assert player_rows(blocks) == [(0, 11), (11, 26), (26, 31)]
    protocol = compile_to_protocol(model, blocks, "attention")
    assert protocol.spec.max_bits == 15 * (2 + 2) * 64 and protocol.spec.rounds == 3
    assert get_reduction("attention").bits_per_message(model, 3) == 11 * 4 * 64  # blocks 10, 10, 10 (+BOS)


def test_pointer_chasing_exact_and_correct():
    report = reduce_attention(k=4, q=8, trials=40, seed=3)
    assert report.mismatches == 0 and report.accuracy == 1.0 and report.rounds == 4


def test_bits_grow_with_n_while_rounds_stay():
    rows = attention_bits_table(8, [2, 4, 8], trials=8)
    assert [r["rounds"] for r in rows] == [5, 5, 5]
    bits = [r["bits_per_message"] for r in rows]
    assert bits[0] < bits[1] < bits[2] and all(r["mismatches"] == 0 and r["accuracy"] == 1.0 for r in rows)
    assert all(r["bits_per_message"] > r["bound_bits"] for r in rows)


def test_refuses_other_models():
    with pytest.raises(UnsupportedModel, match="compiles a Transformer"):
        compile_to_protocol(random_recurrent_model("gru", 1, 4, 3), [(0, 2)], "attention")


def test_cli_reduce_attention(capsys):
    import json

    from commlab.cli import main

    code = main(["reduce", "attention", "--k", "4", "--q", "4", "--trials", "10", "--json"])
    out, err = capsys.readouterr()
    r = json.loads(out)
    assert code == 0 and err == ""
    assert (r["rounds"], r["mismatches"], r["measured_bits_per_message"], r["n"]) == (4, 0, 5760, 33)
    code = main(["reduce", "attention", "--k", "0"])
    assert code == 2 and capsys.readouterr().err.count("\n") == 1


def test_exact_when_the_batch_runs_in_chunks(monkeypatch):
    monkeypatch.setattr("commlab.models.transformer.CHUNK_ELEMENTS", 21 * 21 * 3)
    model = random_transformer(4, 2, context=20, seed=5)
    tokens = np.random.default_rng(4).integers(0, 4, size=(10, 20))
    blocks = [(0, 7), (7, 20)]
    assert len(model.chunks(10, 21)) == 4
    protocol = compile_to_protocol(model, blocks, "attention")
    result = run(protocol, split_by_blocks(tokens, blocks), seed=0)
    assert verify_exact(protocol, tokens, result.transcript).mismatches == 0
    assert np.array_equal(result.output, model.predict(tokens)[:, -1])
