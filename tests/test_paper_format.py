"""The released task format (checked against a transcription of the released generator's loop) and
`commlab evaluate` on a committed released-format run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from commlab.cli import main
from commlab.errors import InvalidParameter
from commlab.models.released import evaluate_run, load_run, parse_ks
from commlab.problems.paper_format import PaperTask

RUN = Path(__file__).parent / "fixtures" / "paper_run"
TRAINED = Path(__file__).parent / "fixtures" / "trained_depth2"


def released_strings(chars: str, k: int, max_hops: int) -> tuple[str, str]:
    """The released generator's get_strings for a given character string (its rfind loop, transcribed)."""
    strings, indices = [chars], [list(range(len(chars)))]
    for _ in range(max_hops + 1):
        last_string, last_indices, new_string, new_indices = strings[-1], indices[-1], "", []
        for i in range(len(chars)):
            found = -1 if last_indices[i] == -1 else chars[: last_indices[i]].rfind(last_string[i])
            new_string += "~" if found == -1 else chars[found + 1]
            new_indices.append(-1 if found == -1 else found + 1)
        strings.append(new_string)
        indices.append(new_indices)
    return chr(48 + k) + chars[:-2], "_" + strings[k][:-2]


def released_token_map(task: PaperTask) -> dict[str, int]:
    hops = {chr(48 + i): i - task.min_hops for i in range(task.min_hops, task.max_hops + 1)}
    chars = {chr(97 + j): task.hop_tokens + j for j in range(task.char_tokens)}
    return {**hops, **chars, "_": task.vocabulary - 1, "~": task.vocabulary - 2}


@given(st.data())
def test_encoding_matches_the_released_generator(data):
    task = PaperTask(
        char_tokens=data.draw(st.integers(2, 5)), max_hops=6, seq_len=data.draw(st.integers(3, 40))
    )
    k = data.draw(st.integers(0, 6))
    inputs, targets = task.sample(3, k, seed=data.draw(st.integers(0, 2**32)))
    token = released_token_map(task)
    for row in range(3):
        chars = "".join(chr(97 + inputs[row, t] - task.hop_tokens) for t in range(1, inputs.shape[1]))
        # the two characters the input leaves out do not change its hop targets (they come later)
        full = chars + "ab" if chars[-1:] != "a" else chars + "ba"
        want_input, want_target = released_strings(full, k, task.max_hops)
        assert inputs[row].tolist() == [token[c] for c in want_input]
        assert targets[row].tolist() == [token[c] for c in want_target]


def test_paper_token_map():
    task = PaperTask()
    assert (task.hop_tokens, task.char_token(0), task.bottom, task.blank, task.vocabulary) == (
        17,
        17,
        21,
        22,
        23,
    )
    inputs, targets = task.sample(50, 3, seed=1)
    assert inputs.shape == targets.shape == (50, 99)
    assert (inputs[:, 0] == 3).all() and (targets[:, 0] == task.blank).all()
    assert (np.diff(inputs[:, 1:], axis=1) != 0).all()  # no two equal neighbours
    assert set(np.unique(targets[:, 1:])) <= set(range(17, 22))
    with pytest.raises(InvalidParameter, match="k must lie in 0..16"):
        task.sample(1, 17, seed=0)
    with pytest.raises(InvalidParameter, match="char_tokens"):
        PaperTask(char_tokens=1)


def test_parse_ks():
    task = PaperTask()
    assert parse_ks("0-16", task) == list(range(17)) and parse_ks("5", task) == [5]
    for bad in ("3-1", "x", "0-17", "-1", ""):
        with pytest.raises(InvalidParameter, match="--k"):
            parse_ks(bad, task)


def test_evaluate_fixture_run_counts_the_right_positions():
    result = evaluate_run(RUN / "model_100.pt", ks="0-4", samples=30, seed=3)
    assert result["config"] == str(RUN / "config.yaml") and result["mode"] == "inference"
    assert result["n"] == 20 and [row["k"] for row in result["per_k"]] == [0, 1, 2, 3, 4]
    model, task, _ = load_run(RUN / "model_100.pt")
    for row in result["per_k"]:
        assert row["sequences"] == 30 and row["positions"] <= 30 * 18
        assert row["error_ci"][0] <= row["error"] <= row["error_ci"][1]
    assert result["per_k"][0]["positions"] == 30 * 18  # k = 0: every character is its own target
    chunked = evaluate_run(RUN / "model_100.pt", ks="0", samples=300, seed=3)  # two chunks of data
    assert chunked["per_k"][0]["positions"] == 300 * 18
    again = evaluate_run(RUN / "model_100.pt", ks="2", samples=30, seed=3)
    assert again["per_k"][0] == result["per_k"][2]  # one k's data does not depend on the others
    dropped = evaluate_run(RUN / "model_100.pt", ks="0", samples=30, seed=3, dropout=0.5)
    assert dropped["mode"] == "training (dropout)" and dropped["per_k"][0] != result["per_k"][0]


def test_trained_depth_2_run_solves_k_up_to_1_only():
    """A depth-2 GPT-2 trained by `commlab train` (tests/fixtures/make_fixtures.py) on k <= 2: depth
    L reaches k <= 2^(L-2) = 1 (docs/theory.md §8). A wrong token map or counting rule breaks this."""
    result = evaluate_run(TRAINED / "model.safetensors", samples=200, seed=0)
    upper = [row["error_ci"][1] for row in result["per_k"]]
    lower = [row["error_ci"][0] for row in result["per_k"]]
    assert upper[0] < 0.01 and upper[1] < 0.01 and lower[2] > 0.2, result["per_k"]


def test_evaluate_cli_json_and_text(capsys):
    weights = str(RUN / "model_100.pt")
    assert main(["evaluate", "--weights", weights, "--k", "0-1", "--samples", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"n", "seed", "samples", "mode", "dropout", "rule", "per_k", "version"} <= set(result)
    assert main(["evaluate", "--weights", weights, "--k", "1", "--samples", "5", "--dropout", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "training mode: dropout p = 0.1" in out and "95% CI" in out


def test_evaluate_refuses_bad_input_with_exit_2(tmp_path, capsys):
    (tmp_path / "lone").mkdir()
    shutil.copy(RUN / "model_100.pt", tmp_path / "lone" / "model.pt")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text((RUN / "config.yaml").read_text().replace("depth: 2", "depth: 3"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("model: [unclosed")
    weights = str(RUN / "model_100.pt")
    cases = [
        (["--weights", weights, "--k", "0-5"], "outside this task's hop counts"),
        (["--weights", weights, "--samples", "0"], "--samples"),
        (["--weights", weights, "--dropout", "1"], "--dropout"),
        (["--weights", weights, "--seed", "-1"], "--seed"),
        (["--weights", weights, "--heads", "4"], "contradicts headcount"),
        (["--weights", weights, "--config", str(wrong)], "depth is 3 in the config but 2"),
        (["--weights", weights, "--config", str(broken)], "not valid YAML"),
        (["--weights", str(tmp_path / "lone" / "model.pt")], "--heads"),
        (["--weights", str(tmp_path / "none.pt"), "--heads", "2"], "does not exist"),
    ]
    for args, phrase in cases:
        code = main(["evaluate", *args])
        out, err = capsys.readouterr()
        assert code == 2 and out == "" and err.count("\n") == 1 and phrase in err, (args, err)
