"""The CLI: JSON on stdout, one-line errors with exit codes, COMMLAB_DEBUG for tracebacks."""

import json

import pytest

from commlab import __version__
from commlab.cli import main


def cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    assert cli(capsys, "--version") == (0, f"commlab {__version__}\n", "")


def test_no_arguments_shows_help(capsys):
    code, out, _ = cli(capsys)
    assert code == 0 and "run" in out


def test_run_chase_json_reports_the_measurements(capsys):
    code, out, err = cli(capsys, "run", "chase", "--q", "1024", "--k", "8", "--trials", "500", "--json")
    assert code == 0 and err == ""
    result = json.loads(out)
    for key in (
        "protocol",
        "k",
        "q",
        "rounds",
        "bits_per_message",
        "total_bits",
        "trials",
        "success",
        "success_ci",
        "seed",
        "version",
    ):
        assert key in result
    assert (result["protocol"], result["rounds"], result["bits_per_message"], result["success"]) == (
        "chase",
        8,
        10,
        1.0,
    )
    assert len(result["success_ci"]) == 2 and result["trials"] == 500


def test_run_broadcast_text(capsys):
    code, out, _ = cli(capsys, "run", "broadcast", "--q", "16", "--k", "3", "--trials", "50")
    assert code == 0 and "R = 1 rounds" in out and "success: 1.0000" in out


def test_run_sampling_json_has_completed(capsys):
    code, out, _ = cli(
        capsys, "run", "sampling", "--q", "100", "--k", "5", "--m", "30", "--trials", "200", "--json"
    )
    result = json.loads(out)
    assert code == 0 and 0 < result["completed"] <= 1 and result["m"] == 30 and result["rounds"] == 4


@pytest.mark.parametrize(
    "args,names",
    [
        (["run", "nope"], "'nope'"),
        (["run", "chase", "--k", "0"], "got 0"),
        (["run", "chase", "--q", "7"], "got 7"),
        (["run", "chase", "--q", "0"], "got 0"),
        (["run", "chase", "--trials", "0"], "got 0"),
        (["run", "chase", "--rounds", "0"], "got 0"),
        (["run", "chase", "--trials", "many"], "--trials"),
        (["run", "sampling", "--m", "3", "--delta", "0.1"], "not both"),
    ],
)
def test_bad_values_give_one_line_and_exit_2(capsys, args, names):
    code, out, err = cli(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("Error: ") and names in err
    assert "Traceback" not in err and "COMMLAB_DEBUG=1" in err


def test_debug_shows_the_traceback(monkeypatch):
    from commlab import InvalidParameter

    monkeypatch.setenv("COMMLAB_DEBUG", "1")
    with pytest.raises(InvalidParameter):
        main(["run", "chase", "--k", "0"])


def test_console_script_exit_code():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "commlab", "run", "chase", "--q", "3"], capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stderr.startswith("Error: q must be an even integer")


def test_hop_text_and_json(capsys):
    tokens = "b a e b c a b e b d e a".split()
    code, out, _ = cli(capsys, "hop", "--k", "2", *tokens)
    assert code == 0 and out == "⊥ ⊥ ⊥ ⊥ ⊥ ⊥ ⊥ a b ⊥ e c\n"
    code, out, _ = cli(capsys, "hop", "--k", "1", "--json", *tokens)
    result = json.loads(out)
    assert (result["k"], result["tokens"]) == (1, tokens)
    assert result["hop"] == [None, None, None, "a", None, "e", "c", "b", "e", None, "b", "b"]


def test_encode_json_blocks_and_answer(capsys):
    from commlab.problems.hop import hop_k

    code, out, _ = cli(capsys, "encode", "--q", "8", "--k", "3", "--seed", "1", "--json")
    result = json.loads(out)
    assert code == 0 and (result["q"], result["k"]) == (8, 3)
    assert len(result["sequence"]) == 2 * 3 * 8 + 1
    assert result["blocks"] == [[0, 16], [16, 32], [32, 49]]
    assert hop_k(__import__("numpy").array(result["sequence"]), 3)[-1] == result["answer_token"]
    code, out, _ = cli(capsys, "encode", "--q", "4", "--k", "2")
    assert code == 0 and out.splitlines()[1].startswith("P_2: ") and "answer: hop_2(X)_N" in out


@pytest.mark.parametrize("args", [["encode", "--q", "5"], ["encode", "--k", "0"], ["hop", "--k", "-1", "a"]])
def test_hop_and_encode_bad_values(capsys, args):
    code, out, err = cli(capsys, *args)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("Error: ")


def test_reduce_rnn_json(capsys):
    code, out, err = cli(
        capsys, "reduce", "rnn", "--layers", "2", "--state", "8", "--q", "8", "--trials", "20", "--json"
    )
    assert code == 0, err
    r = json.loads(out)
    for key in (
        "model",
        "cell",
        "layers",
        "state",
        "format",
        "k",
        "q",
        "rounds",
        "bits_per_message",
        "declared_bits_per_message",
        "total_bits",
        "trials",
        "mismatches",
        "accuracy",
        "accuracy_ci",
        "bound",
    ):
        assert key in r
    assert (r["cell"], r["layers"], r["state"], r["format"], r["k"], r["rounds"]) == (
        "elman",
        2,
        8,
        "float32",
        3,
        2,
    )
    assert r["bits_per_message"] == r["declared_bits_per_message"] == 8 * 32 and r["mismatches"] == 0
    assert [row["k"] for row in r["bound"]] == [3, 4, 5, 6, 7, 8]


def test_reduce_rnn_text(capsys):
    code, out, _ = cli(
        capsys,
        "reduce",
        "rnn",
        "--layers",
        "1",
        "--state",
        "4",
        "--cell",
        "mamba",
        "--format",
        "fixed16",
        "--q",
        "4",
        "--trials",
        "10",
    )
    assert code == 0
    assert "0 mismatches" in out and "k =  7: N* = 2·s·k⁶/c" in out and "fixed16.8" in out


def test_reduce_rnn_weights_file(capsys, tmp_path):
    import numpy as np

    from commlab.models import random_recurrent_model, save_weights

    save_weights(random_recurrent_model("gru", 2, 4, 10, seed=3), tmp_path / "ok.npz")
    arrays = dict(np.load(tmp_path / "ok.npz"))
    arrays["layers.0.U"] = arrays["layers.0.U"] * np.inf
    np.savez(tmp_path / "inf.npz", **arrays)
    gru = ["reduce", "rnn", "--cell", "gru", "--layers", "2", "--q", "4", "--trials", "5"]
    code, out, _ = cli(capsys, *gru, "--state", "4", "--weights", str(tmp_path / "ok.npz"), "--json")
    assert code == 0 and json.loads(out)["mismatches"] == 0
    for weights, state, says in (("inf.npz", "4", "NaN/inf"), ("ok.npz", "5", "shape")):
        code, out, err = cli(capsys, *gru, "--state", state, "--weights", str(tmp_path / weights))
        assert code == 2 and out == "" and says in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--layers", "0"],
        ["--state", "0"],
        ["--cell", "transformer"],
        ["--format", "float8"],
        ["--k", "0"],
        ["--q", "3"],
        ["--trials", "0"],
    ],
)
def test_reduce_rnn_bad_values(capsys, args):
    code, out, err = cli(capsys, "reduce", "rnn", *args)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("Error: ")


def test_reductions_listing(capsys):
    code, out, _ = cli(capsys, "reductions", "--json")
    listing = json.loads(out)["reductions"]
    assert code == 0 and listing[0]["name"] == "rnn" and "Ω(N/k⁶)" in listing[0]["bound"]


def test_bound_values(capsys):
    code, out, _ = cli(capsys, "bound", "--k", "8", "--n", "100000", "--c", "1", "--json")
    r = json.loads(out)
    values = {row["name"]: row["required_bits"] for row in r["bounds"]}
    assert code == 0 and values["hop-k"] == pytest.approx(100000 / (2 * 8**6))
    assert values["assadi-n"] == pytest.approx((100000 // 16) / 8**5)
    code, out, _ = cli(capsys, "bound", "--k", "8", "--n", "100000")
    assert code == 0 and "cot" in out and "T + 1 >= k" in out


def test_bound_model(capsys):
    code, out, _ = cli(capsys, "bound", "--model", "rnn", "--layers", "3", "--state", "64", "--json")
    r = json.loads(out)
    assert code == 0 and r["bits_per_message"] == 2048
    assert [row["k"] for row in r["table"]] == [4, 5, 6, 7, 8, 9] and r["table"][0][
        "critical_N"
    ] == 2 * 2048 * 4**6


@pytest.mark.parametrize(
    "args",
    [
        ["bound"],
        ["bound", "--k", "0", "--n", "10"],
        ["bound", "--k", "2", "--n", "-1"],
        ["bound", "--model", "gpt"],
        ["bound", "--model", "rnn", "--k", "3"],
        ["bound", "--model", "rnn", "--state", "0"],
    ],
)
def test_bound_bad_values(capsys, args):
    code, out, err = cli(capsys, *args)
    assert code == 2 and out == "" and err.count("\n") == 1


def test_plot_json_holds_the_numbers_and_stdout_stays_clean(capsys, tmp_path):
    out_file = tmp_path / "frontier.svg"
    code, out, err = cli(
        capsys, "plot", "frontier", "--q", "8", "--k", "2", "--trials", "40", "--out", str(out_file), "--json"
    )
    r = json.loads(out)
    assert code == 0 and err == "" and out_file.exists()
    assert (
        r["figure"] == "frontier"
        and [row["rounds"] for row in r["rows"]] == [1, 2]
        and r["out"] == str(out_file)
    )


@pytest.mark.parametrize(
    "args", [["plot", "pie", "--out", "x.png"], ["plot", "example", "--out", "x.gif"], ["plot", "example"]]
)
def test_plot_bad_values(capsys, args):
    code, out, err = cli(capsys, *args)
    assert code == 2 and out == "" and err.count("\n") == 1


def test_a_mismatching_reduction_exits_3(capsys, monkeypatch):
    import dataclasses

    import reductions.rnn

    honest = reductions.rnn.reduce_rnn(layers=1, state=2, q=2, trials=4)
    broken = dataclasses.replace(honest, mismatches=2, first_mismatch=(1, 1, 2))
    monkeypatch.setattr(reductions.rnn, "reduce_rnn", lambda **_: broken)
    code, out, err = cli(capsys, "reduce", "rnn", "--json")
    assert code == 3 and json.loads(out)["mismatches"] == 2
    assert err.startswith("Error: 2 instance(s) differ from the model; first: instance 1, round 1, P_2")


def test_error_formatting():
    from commlab import (
        CommlabError,
        InvalidInstance,
        InvalidParameter,
        IsolationViolation,
        SimulationMismatch,
        UnsupportedModel,
    )
    from commlab.cli._errors import exit_code, one_line

    assert [
        exit_code(e) for e in (InvalidParameter("x"), InvalidInstance("x"), UnsupportedModel(["a", "b"]))
    ] == [2, 2, 2]
    assert exit_code(SimulationMismatch("x")) == 3
    assert exit_code(IsolationViolation("x")) == 4
    assert exit_code(CommlabError("x")) == 1
    assert one_line("a\n  b\tc") == "Error: a b c"
    assert str(UnsupportedModel(["a", "b"])) == "a; b"
