"""`commlab train` (torch extra): runs load in the numpy importers, and a killed run resumes to the same
weights as an uninterrupted one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from commlab.errors import InvalidParameter
from commlab.training import TrainConfig

TINY = {"layers": 1, "width": 12, "heads": 2, "k_max": 1, "n": 8, "alphabet": 3, "batch": 4, "warmup": 3}


def test_settings_are_checked_without_torch():
    for bad, phrase in (
        ({"model": "mlp"}, "model must be one of"),
        ({"heads": 5}, "must divide"),
        ({"width": 4, "heads": 1}, "hidden state as logits"),
        ({"samples": 2}, "--samples"),
        ({"seed": -1}, "--seed"),
        ({"width": 10**6, "layers": 1000}, "GiB"),
    ):
        with pytest.raises(InvalidParameter, match=phrase):
            TrainConfig(**{**TINY, **bad}).check()


def test_train_cli_refuses_bad_settings_with_exit_2(tmp_path, capsys):
    from commlab.cli import main

    for args, phrase in ((["--heads", "5"], "must divide"), (["--samples", "ten"], "--samples")):
        code = main(["train", "gpt2", "--width", "16", "--out", str(tmp_path / "run"), *args])
        out, err = capsys.readouterr()
        assert code == 2 and out == "" and err.count("\n") == 1 and phrase in err, err
    assert not (tmp_path / "run").exists()  # nothing written before the settings are checked


@pytest.mark.torch
@pytest.mark.parametrize("model", ["gpt2", "lstm", "rnn"])
def test_parameter_count_matches_torch(model):
    pytest.importorskip("transformers")
    import commlab.training as training

    config = TrainConfig(model=model, **TINY)
    task = config.check()
    assert sum(p.numel() for p in training._build(config, task).parameters()) == config.parameters(task)


@pytest.mark.torch
@pytest.mark.parametrize("model", ["gpt2", "gru"])
def test_killed_run_resumes_to_the_same_weights(model, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    if model == "gpt2":
        pytest.importorskip("transformers")
    import commlab.training as training
    from commlab.io.weights import read_weights

    config = TrainConfig(model=model, steps=12, checkpoint_every=4, **TINY)
    whole = training.train(config, tmp_path / "whole", progress=False)
    assert whole["step"] == 12 and whole["resumed_from"] == 0

    real_batch = training._batch

    def dies_at_step_10(task, config, step, fixed):
        if step == 10:
            raise KeyboardInterrupt
        return real_batch(task, config, step, fixed)

    monkeypatch.setattr(training, "_batch", dies_at_step_10)
    with pytest.raises(KeyboardInterrupt):
        training.train(config, tmp_path / "killed", progress=False)
    monkeypatch.setattr(training, "_batch", real_batch)
    resumed = training.train(config, tmp_path / "killed", progress=False)
    assert resumed["resumed_from"] == 8  # the last checkpoint before the kill
    steps = [
        json.loads(line)["step"] for line in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == list(range(1, 13))
    # the time logged carries over the resume: it grows step by step, from where the checkpoint was
    elapsed = [
        json.loads(line)["elapsed_s"] for line in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()
    ]
    assert elapsed == sorted(elapsed) and elapsed[0] > 0 and resumed["elapsed_s"] == elapsed[-1]
    a = read_weights(tmp_path / "whole" / "model.safetensors")
    b = read_weights(tmp_path / "killed" / "model.safetensors")
    assert set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a)
    with pytest.raises(InvalidParameter, match="other settings"):
        training.train(
            TrainConfig(model=model, steps=12, **{**TINY, "width": 16}), tmp_path / "whole", progress=False
        )


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["gpt2", "lstm", "rnn"])
def test_trained_runs_load_in_numpy(kind, tmp_path):
    pytest.importorskip("transformers")
    import torch

    import commlab.training as training
    from commlab.models.released import evaluate_run, load_run

    config = TrainConfig(model=kind, steps=3, **TINY)
    training.train(config, tmp_path, progress=False)
    model, task, _ = load_run(tmp_path / "model.safetensors")
    torch_model = training._build(config, task)
    torch_model.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True)["model"])
    inputs, _ = training._batch(task, config, 99, None)
    with torch.no_grad():
        reference = torch_model.eval()(torch.from_numpy(inputs)).numpy()
    assert np.abs(model.logits(inputs) - reference).max() < 1e-4 * np.abs(reference).max()
    result = evaluate_run(tmp_path / "model.safetensors", samples=5)
    assert [row["k"] for row in result["per_k"]] == [0, 1]


@pytest.mark.torch
def test_depth_vs_k_collects_every_depth(tmp_path):
    pytest.importorskip("transformers")
    from commlab.training import depth_vs_k

    settings = {"k_max": 1, "n": 8, "width": 12, "heads": 2, "steps": 2, "warmup": 1, "samples": 3}
    depth_vs_k(tmp_path, [1], **settings)  # one depth per process, as on a cluster
    results = depth_vs_k(tmp_path, [1, 2], **settings)  # depth 1 is complete: only evaluated again
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved == json.loads(json.dumps(results))
    assert [row["depth"] for row in saved["depths"]] == [1, 2]
    assert all([r["k"] for r in row["per_k"]] == [0, 1] for row in saved["depths"])
    steps = [
        json.loads(line)["step"] for line in (tmp_path / "depth1" / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == [1, 2]  # the second call trained nothing more
    last = json.loads((tmp_path / "depth1" / "metrics.jsonl").read_text().splitlines()[-1])
    assert saved["depths"][0]["train_seconds"] == last["elapsed_s"] > 0  # the first call's time, kept
    assert all(row["device"] in {"cpu", "cuda"} and row["threads"] == 1 for row in saved["depths"])


def test_committed_small_depth_results():
    """The facts docs/results/README.md states about the committed small depth-vs-k runs."""
    from pathlib import Path

    folder = Path(__file__).parents[1] / "docs" / "results"
    runs = {
        steps: json.loads((folder / f"depth_vs_k_small_{steps}_steps.json").read_text())
        for steps in (4000, 8000)
    }
    ci = {
        steps: {row["depth"]: {r["k"]: r["error_ci"] for r in row["per_k"]} for row in run["depths"]}
        for steps, run in runs.items()
    }
    errors = {
        steps: {row["depth"]: {r["k"]: r["error"] for r in row["per_k"]} for row in run["depths"]}
        for steps, run in runs.items()
    }
    for table in ci.values():
        assert all(table[2][k][1] < 0.01 for k in (0, 1)) and all(table[2][k][0] > 0.18 for k in (2, 3, 4))
    assert ci[4000][3][2][1] < 0.01 and round(errors[4000][3][2], 3) == 0.002 and ci[4000][4][2][0] > 0.2
    assert all(ci[8000][4][k][1] <= 0.025 for k in (0, 1, 2, 3)) and ci[8000][3][2][0] > 0.18
    assert max(errors[8000][4][k] for k in (0, 1, 2, 3)) < 0.016


def test_committed_depth_trend_at_k_up_to_8():
    """docs/results/README.md's claims about the two seeds of the k <= 8 run: the largest k learned
    (every k' <= k with error's upper 95 % bound below 5 %) grows with depth in both, and at every k
    a deeper model is either learned with the shallower or below it with disjoint intervals."""
    from pathlib import Path

    from commlab.figures.trained import depth_vs_k_data

    folder = Path(__file__).parents[1] / "docs" / "results"
    learned = {}
    for seed in (0, 1):
        data = depth_vs_k_data(folder / f"depth_vs_k_small_seed{seed}.json")
        assert data["settings"]["k_max"] == 8 and data["settings"]["steps"] == 12000
        learned[seed] = [row["learned_through"] for row in data["depths"]]
        ci = {row["depth"]: row["error_ci"] for row in data["depths"]}
        for k in range(9):
            for shallow, deep in ((2, 3), (3, 4), (2, 4)):
                both_learned = ci[shallow][k][1] < 0.05 and ci[deep][k][1] < 0.05
                assert both_learned or ci[shallow][k][0] > ci[deep][k][1], (seed, k, shallow, deep)
    assert learned == {0: [1, 3, 6], 1: [1, 3, 4]}
    # what a depth has not learned it fails clearly: the next k has error above 10 % in every run
    for seed in (0, 1):
        data = depth_vs_k_data(folder / f"depth_vs_k_small_seed{seed}.json")
        for row, through in zip(data["depths"], learned[seed], strict=True):
            assert row["error_ci"][through + 1][0] > 0.10 and max(row["error"][: through + 1]) <= 0.0141
            assert max(row["error_ci"][k][1] for k in range(through + 1)) < 0.019
    quoted = {  # docs/results/README.md's table: the error at the first k not learned, in %
        0: {2: (2, 11.0), 3: (4, 17.1), 4: (7, 31.5)},
        1: {2: (2, 12.3), 3: (4, 13.1), 4: (5, 15.8)},
    }
    for seed, by_depth in quoted.items():
        data = depth_vs_k_data(folder / f"depth_vs_k_small_seed{seed}.json")
        for row in data["depths"]:
            k, percent = by_depth[row["depth"]]
            assert round(100 * row["error"][k], 1) == percent
            if seed == 0:  # and k = 8, seed 0: 87.3 %, 59.0 %, 27.3 %
                assert round(100 * row["error"][8], 1) == {2: 87.3, 3: 59.0, 4: 27.3}[row["depth"]]


def test_experiment_cli_refuses_bad_depths(tmp_path, capsys):
    from commlab.cli import main

    for depths in ("0-2", "x", "4-2"):
        code = main(["experiment", "depth-vs-k", "--depths", depths, "--out", str(tmp_path)])
        out, err = capsys.readouterr()
        assert code == 2 and "--depths" in err and err.count("\n") == 1, err


@pytest.mark.torch
def test_experiment_cli_writes_results(tmp_path, capsys):
    pytest.importorskip("transformers")
    from commlab.cli import main

    args = ["--depths", "1-2", "--steps", "2", "--k-max", "1", "--n", "8", "--width", "12", "--heads", "2"]
    code = main(
        [
            "experiment",
            "depth-vs-k",
            *args,
            "--warmup",
            "1",
            "--samples",
            "3",
            "--out",
            str(tmp_path),
            "--json",
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert [row["depth"] for row in result["depths"]] == [1, 2] and (tmp_path / "results.json").exists()


@pytest.mark.torch
def test_rnn_bits_puts_trained_models_through_the_reduction(tmp_path):
    """The whole §5 pipeline on tiny models: train, import, compile for k > L players, 0 mismatches,
    accuracy at the last position scored against hop_k there; the imported model passes the
    conformance kit; a rerun resumes and only evaluates."""
    pytest.importorskip("torch")
    from commlab.io.weights import read_weights
    from commlab.models.importers import torch_recurrent_model
    from commlab.problems.paper_format import PaperTask
    from commlab.training import rnn_bits
    from reductions.conformance import check_reduction
    from reductions.experiment import _defined_last

    settings = {"k_max": 3, "n": 10, "steps": 4, "warmup": 1, "samples": 6}
    results = rnn_bits(tmp_path, ("lstm", "gru"), (4,), **settings)
    assert json.loads((tmp_path / "results.json").read_text()) == json.loads(json.dumps(results))
    lstm, gru = results["models"]
    assert (lstm["state_bits"], gru["state_bits"]) == (2 * 4 * 32, 4 * 32)  # h and c for the LSTM
    task = PaperTask(char_tokens=4, max_hops=3, seq_len=10)
    for found in results["models"]:
        assert [row["k"] for row in found["last_position"]] == [2, 3]  # k > L = 1
        assert [row["k"] for row in found["per_k"]] == [0, 1, 2, 3]
        model = torch_recurrent_model(read_weights(tmp_path / f"{found['cell']}4" / "model.safetensors"))
        for row in found["last_position"]:
            assert row["mismatches"] == 0 and row["rounds"] == 1 and row["players"] == row["k"]
            assert row["measured_bits_per_message"] == row["declared_bits_per_message"] == found["state_bits"]
            assert row["blocks"][0][0] == 0 and row["blocks"][-1][1] == task.seq_len - 1
            # the accuracy is the model's own last-position prediction scored against hop_k
            tokens, answers = _defined_last(task, row["k"], 6, 0)
            right = int(np.count_nonzero(model.predict(tokens)[:, -1] == answers))
            assert row["accuracy"] == right / 6 and row["accuracy_ci"][0] <= row["accuracy"] <= row["accuracy_ci"][1]
        report = check_reduction("rnn", lambda alphabet, rng, model=model: model, players=(2, 3), audit=False)
        assert report.measured_bits == report.declared_bits
    again = rnn_bits(tmp_path, ("lstm", "gru"), (4,), **settings)
    assert again["models"] == results["models"]
    steps = (tmp_path / "lstm4" / "metrics.jsonl").read_text().splitlines()
    assert len(steps) == 4  # the second call trained nothing more


def test_rnn_bits_refuses_bad_settings_before_training(tmp_path):
    from commlab.training import rnn_bits

    for kwargs, phrase in (
        ({"cells": ("gpt2",)}, "cells"),
        ({"widths": (8, 0)}, "--width"),
        ({"layers": 4, "k_max": 4}, "--layers"),
    ):
        with pytest.raises(InvalidParameter, match=phrase):
            rnn_bits(tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())


def test_committed_small_rnn_results():
    """The facts docs/results/README.md, the README and notebook 05 state about the committed
    trained-RNN run (docs/results/trained_rnns_small.json)."""
    from pathlib import Path

    folder = Path(__file__).parents[1] / "docs" / "results"
    found = json.loads((folder / "trained_rnns_small.json").read_text())
    depth = json.loads((folder / "depth_vs_k_small_8000_steps.json").read_text())
    models = {(m["cell"], m["width"]): m for m in found["models"]}
    assert sorted(models) == [(cell, m) for cell in ("gru", "lstm") for m in (8, 16, 32, 64)]
    runs = [row for m in found["models"] for row in m["last_position"]]
    assert len(runs) == 24 and all(row["sequences"] == 200 for row in runs)
    assert all(row["mismatches"] == 0 and row["rounds"] == 1 < row["k"] for row in runs)
    for (cell, width), m in models.items():  # m float32 numbers; h and c for the LSTM
        bits = (2 if cell == "lstm" else 1) * 32 * width
        assert m["state_bits"] == bits
        assert all(r["measured_bits_per_message"] == r["declared_bits_per_message"] == bits for r in m["last_position"])
    # the bound is vacuous at N = 23 (under 1 bit, largest 0.18 at k = 2), the smallest state 256 bits
    assert all(row["vacuous"] and row["applies"] for row in runs)
    assert max(row["bound_bits"] for row in runs) < 0.18 + 1e-9 and min(m["state_bits"] for m in found["models"]) == 256
    acc = {key: {r["k"]: r for r in m["last_position"]} for key, m in models.items()}
    for cell in ("lstm", "gru"):  # the largest state beats the smallest at every k, intervals disjoint
        assert all(acc[(cell, 64)][k]["accuracy_ci"][0] > acc[(cell, 8)][k]["accuracy_ci"][1] for k in (2, 3, 4))
    quoted = {("lstm", 8): (0.51, 0.295, 0.24), ("lstm", 64): (0.695, 0.475, 0.48)}
    quoted |= {("gru", 8): (0.21, 0.315, 0.305), ("gru", 64): (0.83, 0.585, 0.545)}
    for key, values in quoted.items():  # the numbers the README and docs/results/README.md quote
        assert [acc[key][k]["accuracy"] for k in (2, 3, 4)] == pytest.approx(values, abs=1e-9)
    lstm_k2 = [acc[("lstm", m)][2]["accuracy"] for m in (8, 16, 32, 64)]
    assert lstm_k2 == pytest.approx([0.51, 0.51, 0.505, 0.695]) and lstm_k2 != sorted(lstm_k2)  # not monotone
    established = [key + (k,) for key, rows in acc.items() for k, r in rows.items() if r["accuracy_ci"][0] > 2 / 3]
    assert established == [("gru", 64, 2)]
    # beside the transformers (same task and evaluation sequences)
    errors = {key: {r["k"]: r for r in m["per_k"]} for key, m in models.items()}
    gpt = {row["depth"]: {r["k"]: r for r in row["per_k"]} for row in depth["depths"]}
    assert all(gpt[4][k]["error"] <= 0.016 for k in (2, 3)) and round(gpt[4][2]["error"], 4) == 0.0003
    assert all(rows[2]["error"] >= 0.16 for rows in errors.values()) and round(errors[("gru", 64)][2]["error"], 3) == 0.161
    assert [round(gpt[d][2]["error"], 3) for d in (2, 3)] == [0.202, 0.204]
    assert errors[("gru", 64)][2]["error_ci"][1] < min(gpt[2][2]["error_ci"][0], gpt[3][2]["error_ci"][0])
    assert max(m["parameters"] for m in found["models"]) == 34_699 and models[("gru", 64)]["parameters"] == 26_379


def test_rnn_bits_cli_refuses_bad_values_with_exit_2(tmp_path, capsys):
    from commlab.cli import main

    for option, value in (("--cells", "gpt2"), ("--widths", "8,x"), ("--widths", "8,0")):
        code = main(["experiment", "rnn-bits", option, value, "--out", str(tmp_path)])
        out, err = capsys.readouterr()
        assert code == 2 and option.rstrip("s") in err and err.count("\n") == 1, err
    assert not any(tmp_path.iterdir())
