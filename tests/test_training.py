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
    for table in ci.values():
        assert all(table[2][k][1] < 0.01 for k in (0, 1)) and all(table[2][k][0] > 0.2 for k in (2, 3, 4))
    assert ci[4000][3][2][1] < 0.01 and ci[4000][4][2][0] > 0.2
    assert all(ci[8000][4][k][1] <= 0.025 for k in (0, 1, 2, 3)) and ci[8000][3][2][0] > 0.2


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
