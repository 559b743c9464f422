"""`commlab reduce kernel|hybrid|cot|longformer`: reports, JSON keys, and one-line errors."""

import json

import pytest

from commlab.cli import main


def cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_reduce_kernel_json_has_the_rnn_keys_and_its_own(capsys):
    code, out, err = cli(
        capsys, "reduce", "kernel", "--layers", "1", "--heads", "2", "--width", "4", "--rank", "3",
        "--features", "elu", "--q", "4", "--trials", "10", "--json",
    )  # fmt: skip
    assert code == 0, err
    r = json.loads(out)
    assert (r["heads"], r["width"], r["rank"], r["features"], r["layers"], r["rounds"]) == (
        2,
        4,
        3,
        "elu",
        1,
        1,
    )
    assert r["measured_bits_per_message"] == r["declared_bits_per_message"] == 2 * 3 * 5 * 32 and r["mismatches"] == 0
    assert r["corollary"]["name"] == "kernel" and r["corollary"]["applies"]
    assert r["corollary"]["critical_N"] == pytest.approx(2 * 4 * 3 * 2 * 32 * 2**6)  # 2·m·r·H·p·k⁶/c


def test_reduce_hybrid_text(capsys):
    code, out, _ = cli(capsys, "reduce", "hybrid", "--pattern", "gru,kernel", "--width", "4", "--rank", "2",
                       "--q", "4", "--trials", "5")  # fmt: skip
    assert code == 0 and "hybrid reduction" in out and "0 mismatches" in out and "corollary" in out


@pytest.mark.parametrize(
    "args",
    [
        ["kernel", "--rank", "0"],
        ["kernel", "--heads", "0"],
        ["kernel", "--features", "relu"],
        ["kernel", "--format", "float8"],
        ["hybrid", "--pattern", "gru,attn"],
        ["hybrid", "--pattern", ""],
        ["hybrid", "--width", "3", "--heads", "2"],
    ],
)
def test_bad_values_are_one_line_exit_2(capsys, args):
    code, out, err = cli(capsys, "reduce", *args, "--q", "4", "--trials", "2")
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("Error: ")


def test_reduce_cot_json(capsys):
    code, out, err = cli(capsys, "reduce", "cot", "--cot-tokens", "1", "--heads", "2", "--width", "4",
                         "--q", "4", "--trials", "10", "--json")  # fmt: skip
    assert code == 0, err
    r = json.loads(out)
    assert (r["cot_tokens"], r["k"], r["rounds"], r["mismatches"]) == (1, 3, 2, 0)
    assert r["measured_bits_per_message"] == r["declared_bits_per_message"] == 2 * 6 * 32
    assert r["corollary"]["statement"].startswith("T + 1 >= k") and r["corollary"]["applies"]


@pytest.mark.parametrize("args", [["--cot-tokens", "-1"], ["--heads", "0"], ["--format", "fixed12.6"]])
def test_reduce_cot_bad_values(capsys, args):
    code, out, err = cli(capsys, "reduce", "cot", *args, "--q", "4", "--trials", "2")
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("Error: ")


def test_reduce_longformer_json(capsys):
    code, out, err = cli(capsys, "reduce", "longformer", "--layers", "1", "--heads", "1", "--width", "2",
                         "--window", "3", "--global-every", "4", "--q", "4", "--trials", "10", "--json")  # fmt: skip
    assert code == 0, err
    r = json.loads(out)
    assert (r["window"], r["global_every"], r["rounds"], r["mismatches"]) == (3, 4, 1, 0)
    assert r["measured_bits_per_message"] == r["declared_bits_per_message"] == (3 - 1 + 2) * 2 * 2 * 32
    assert r["corollary"]["name"] == "longformer"


@pytest.mark.parametrize(
    "args", [["--window", "100"], ["--window", "0"], ["--global-every", "0"], ["--heads", "0"]]
)
def test_reduce_longformer_bad_values(capsys, args):
    code, out, err = cli(capsys, "reduce", "longformer", *args, "--q", "4", "--trials", "2")
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("Error: ")
