"""The CLI: JSON on stdout, one-line errors with exit codes, COMMLAB_DEBUG for tracebacks."""

import json
from pathlib import Path

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
        "measured_bits_per_message",
        "total_bits",
        "trials",
        "success",
        "success_ci",
        "seed",
        "version",
    ):
        assert key in result
    assert (result["protocol"], result["rounds"], result["measured_bits_per_message"], result["success"]) == (
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
        main(["run", "sampling", "--m", "3", "--delta", "0.1"])


def test_console_script_exit_code():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "commlab", "run", "chase", "--q", "3"], capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stderr.startswith(
        "Error: Invalid value for '--q': q must be an even integer"
    )


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
        "measured_bits_per_message",
        "declared_bits_per_message",
        "total_bits",
        "trials",
        "mismatches",
        "accuracy",
        "accuracy_ci",
        "bounds",
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
    assert r["measured_bits_per_message"] == r["declared_bits_per_message"] == 8 * 32 and r["mismatches"] == 0
    assert [row["k"] for row in r["bounds"]] == [3, 4, 5, 6, 7, 8]


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
    assert code == 0 and listing[0]["name"] == "rnn" and "Ω(N/k⁶)" in listing[0]["statement"]


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
    assert code == 0 and r["declared_bits_per_message"] == 2048
    assert [row["k"] for row in r["bounds"]] == [4, 5, 6, 7, 8, 9] and r["bounds"][0][
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


# --- issue 11 §1: every bad value is one line naming it, exit 2 -----------------------------------


def one_line_exit_2(capsys, *args):
    code, out, err = cli(capsys, *args)
    assert code == 2 and out == "", (code, out, err)
    assert err.count("\n") == 1 and err.startswith("Error: ") and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    "command",
    [
        ["run", "chase", "--trials", "5"],
        ["encode"],
        ["reduce", "rnn", "--trials", "5"],
        ["plot", "example", "--out", "never.png"],
    ],
)
@pytest.mark.parametrize("seed", ["-1", str(2**63)])
def test_seeds_are_integers_below_2_to_the_63(capsys, command, seed):
    err = one_line_exit_2(capsys, *command, "--seed", seed)
    assert "--seed" in err and "0 <= seed < 2**63" in err and seed in err


def test_help_says_what_a_seed_is(capsys):
    code, out, _ = cli(capsys, "run", "--help")
    assert code == 0 and "0 <= seed < 2^63" in " ".join(out.split())


@pytest.mark.parametrize(
    "args,option",
    [(["run", "chase", "--m", "5"], "--m"), (["run", "broadcast", "--delta", "0.1"], "--delta")],
)
def test_options_of_another_protocol_are_refused(capsys, args, option):
    err = one_line_exit_2(capsys, *args)
    assert f"takes no option {option[2:]}" in err and args[1] in err


@pytest.mark.parametrize("c", ["0", "-1", "nan", "inf"])
def test_plot_refuses_a_bad_c(capsys, c):
    err = one_line_exit_2(capsys, "plot", "solvers", "--out", "never.png", "--c", c)
    assert "--c" in err and "finite number > 0" in err


def test_plot_refuses_options_the_figure_does_not_take(capsys):
    err = one_line_exit_2(capsys, "plot", "example", "--c", "2", "--trials", "3", "--out", "never.svg")
    assert "--c and --trials do not apply to example" in err


def test_a_bad_format_gives_the_real_reason(capsys):
    err = one_line_exit_2(capsys, "reduce", "rnn", "--format", "fixed8.9")
    assert "--format" in err and "width" in err and "frac=9" in err and "unknown" not in err


def test_plot_solvers_k_0_names_k(capsys):
    err = one_line_exit_2(capsys, "plot", "solvers", "--k", "0", "--out", "never.png")
    assert "'--k'" in err and "got 0" in err and "window" not in err


@pytest.mark.parametrize(
    "out,says",
    [
        (".png", "no file name before the suffix"),
        ("figure.gif", "must end in .png, .pdf, .svg"),
        ("missing-dir/figure.png", "does not exist"),
        (".", "is a directory"),
    ],
)
def test_out_is_checked_before_computing(capsys, monkeypatch, tmp_path, out, says):
    import commlab.figures.plot

    def never(*args, **kwargs):
        raise AssertionError("the figure was computed before --out was checked")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(commlab.figures.plot, "make_figure", never)
    assert says in one_line_exit_2(capsys, "plot", "example", "--out", out)
    assert list(tmp_path.iterdir()) == []


def test_out_in_a_read_only_directory(capsys, tmp_path):
    import os

    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):  # root ignores permissions
        pytest.skip("running as root: every directory is writable")
    assert "not writable" in one_line_exit_2(capsys, "plot", "example", "--out", str(locked / "f.png"))


@pytest.mark.parametrize("value", ["0", "", "no", "false"])
def test_commlab_debug_0_does_not_turn_debugging_on(capsys, monkeypatch, value):
    monkeypatch.setenv("COMMLAB_DEBUG", value)
    one_line_exit_2(capsys, "run", "sampling", "--m", "3", "--delta", "0.1")


@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_commlab_debug_on(monkeypatch, value):
    from commlab import InvalidParameter

    monkeypatch.setenv("COMMLAB_DEBUG", value)
    with pytest.raises(InvalidParameter):
        main(["run", "sampling", "--m", "3", "--delta", "0.1"])


def test_an_unexpected_error_is_one_line_exit_1(capsys, monkeypatch):
    import commlab.protocols

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(commlab.protocols, "simulate", broken)
    code, out, err = cli(capsys, "run", "chase", "--trials", "2")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("Error: internal error, please report it: RuntimeError: a bug")


def test_bools_are_not_integers():
    from commlab import InvalidParameter, ProtocolSpec
    from commlab._validate import check_int
    from commlab.problems.pointer_chasing import PointerChasing

    with pytest.raises(InvalidParameter, match="got True"):
        ProtocolSpec("p", k=True, rounds=1, max_bits=1)
    with pytest.raises(InvalidParameter, match="got True"):
        ProtocolSpec("p", k=2, rounds=True, max_bits=1)
    with pytest.raises(InvalidParameter, match="got True"):
        PointerChasing.random(4, True, 3)
    with pytest.raises(InvalidParameter, match="a bool"):
        check_int("k", True, minimum=1)
    with pytest.raises(InvalidParameter, match="got 2.0"):
        check_int("k", 2.0)
    assert check_int("k", __import__("numpy").int64(3), minimum=1) == 3


# --- issue 11 §2: sizes that cannot fit are refused up front, with the estimate -------------------


@pytest.mark.parametrize(
    "args",
    [
        ["run", "chase", "--q", "1000000000", "--trials", "1"],
        ["reduce", "rnn", "--state", "1000000"],
        ["reduce", "rnn", "--layers", "1000000"],
        ["encode", "--q", "2000000000000"],
    ],
)
def test_sizes_that_cannot_fit_are_refused_with_the_estimate(capsys, monkeypatch, args):
    monkeypatch.setenv("COMMLAB_MEMORY_LIMIT", "16G")
    err = one_line_exit_2(capsys, *args)
    assert "needs about" in err and "more than the 16.0 GiB available" in err and "lower --" in err


def test_the_memory_limit_is_the_one_set(capsys, monkeypatch):
    monkeypatch.setenv("COMMLAB_MEMORY_LIMIT", "1M")
    assert "more than the 1.0 MiB" in one_line_exit_2(
        capsys, "run", "chase", "--q", "1024", "--trials", "1000"
    )
    monkeypatch.setenv("COMMLAB_MEMORY_LIMIT", "lots")
    assert "COMMLAB_MEMORY_LIMIT must be a number" in one_line_exit_2(capsys, "run", "chase")


def test_trials_run_in_chunks_so_only_their_results_grow(capsys, monkeypatch):
    from commlab.resources import pointer_chasing_bytes

    one_chunk = pointer_chasing_bytes(64, 4, 1, trials=1)
    assert pointer_chasing_bytes(64, 4, 512, trials=10**6) - pointer_chasing_bytes(
        64, 4, 512, trials=10**3
    ) == 32 * (10**6 - 10**3)
    assert one_chunk < pointer_chasing_bytes(64, 4, 2, trials=2)
    monkeypatch.setenv("COMMLAB_MEMORY_LIMIT", "1G")
    err = one_line_exit_2(capsys, "run", "chase", "--q", "64", "--k", "4", "--trials", "1000000000")
    assert "needs about 29.8 GiB" in err and "1000000000 trials" in err


def test_simulate_reports_every_chunk_to_the_progress_bar(monkeypatch):
    from commlab import progress
    from commlab.protocols import instance_block, simulate

    reported = []
    monkeypatch.setattr(progress, "tick", reported.append)
    trials = 2 * instance_block(64, 4) + 5
    simulate("chase", q=64, k=4, trials=trials, seed=0)
    assert sum(reported) == trials and len(reported) == 3


def test_memory_estimates_grow_with_the_sizes_and_err_high():
    import resource
    import subprocess
    import sys

    from commlab.resources import pointer_chasing_bytes, recurrent_reduction_bytes

    assert pointer_chasing_bytes(1024, 8, 2000) == 2 * pointer_chasing_bytes(1024, 8, 1000)
    assert recurrent_reduction_bytes("lstm", 2, 64, 8, 3, 10) > recurrent_reduction_bytes(
        "elman", 2, 64, 8, 3, 10
    )
    # A real run's growth (peak RSS of a child, less the interpreter's own) stays within the estimate's.
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(
        [
            sys.executable,
            "-m",
            "commlab",
            "run",
            "chase",
            "--q",
            "1024",
            "--k",
            "8",
            "--trials",
            "8000",
            "--json",
        ],
        capture_output=True,
        check=True,
    )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    if before * 1024 >= peak:
        pytest.skip("an earlier child process had a larger peak")
    assert peak - 150 * 2**20 < 1.5 * pointer_chasing_bytes(1024, 8, 8000, 10, 8)


# --- issue 11 §2: progress on stderr in a terminal, silent under --json / --quiet ------------------


def run_with_terminal_stderr(*args: str) -> tuple[int, str, bytes]:
    """Run the CLI with stderr on a pseudo-terminal (drained as it writes) and stdout on a pipe."""
    import os
    import pty
    import subprocess
    import sys
    import threading

    leader, follower = pty.openpty()
    shown = bytearray()

    def drain():
        while True:
            try:
                data = os.read(leader, 1 << 16)
            except OSError:  # the terminal closed with the child
                return
            if not data:
                return
            shown.extend(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    child = subprocess.Popen(
        [sys.executable, "-m", "commlab", *args], stdout=subprocess.PIPE, stderr=follower
    )
    os.close(follower)
    out, _ = child.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(leader)
    return child.returncode, out.decode(), bytes(shown)


@pytest.mark.parametrize(
    "command,label",
    [
        (["run", "chase", "--q", "64", "--k", "4", "--trials", "2000"], b"run chase"),
        (["reduce", "rnn", "--layers", "1", "--state", "4", "--q", "4", "--trials", "20"], b"reduce rnn"),
    ],
)
def test_progress_bar_in_a_terminal_only(command, label):
    code, out, shown = run_with_terminal_stderr(*command)
    assert code == 0 and label in shown and b"\x1b[" not in out.encode()
    for quiet in ("--json", "--quiet"):
        code, out, shown = run_with_terminal_stderr(*command, quiet)
        assert code == 0 and shown == b"", shown


def test_every_long_command_takes_quiet():
    import typer

    from commlab.cli import app

    root = typer.main.get_command(app)
    long_commands = [["run"], ["plot"], ["construct", "hop"], ["sweep", "run"]]
    long_commands += [["reduce", name] for name in root.commands["reduce"].commands]
    for path in long_commands:
        command = root
        for name in path:
            command = command.commands[name]
        assert "--quiet" in [opt for param in command.params for opt in param.opts], path


def test_tick_advances_only_a_bar_that_counts_ticks():
    from commlab.progress import progress_bar, tick

    tick(3)  # no bar open: nothing to do
    with progress_bar("work", total=3, enabled=False, ticks=True) as advance:
        tick()
        advance()


# --- issue 11 §2: Ctrl-C exits 130, SIGTERM 143, and --out is never left partial -------------------


def _catches_sigterm(pid: int) -> bool:
    """Whether the process has installed its own SIGTERM handler (Linux: SigCgt in /proc)."""
    import signal

    with open(f"/proc/{pid}/status") as status:
        caught = next(line for line in status if line.startswith("SigCgt:")).split()[1]
    return bool(int(caught, 16) >> (signal.SIGTERM - 1) & 1)


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/status"), reason="needs Linux /proc")
@pytest.mark.parametrize(
    "signal_name,code,says", [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated")]
)
def test_interrupts_exit_cleanly_and_leave_out_untouched(tmp_path, signal_name, code, says):
    import signal
    import subprocess
    import sys
    import time

    target = tmp_path / "tradeoff.png"
    target.write_bytes(b"a good figure from an earlier run")
    child = subprocess.Popen(
        [sys.executable, "-m", "commlab", "plot", "tradeoff", "--trials", "100000", "--out", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _catches_sigterm(child.pid):  # the command is running once its handlers are in
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    child.send_signal(getattr(signal, signal_name))
    out, err = child.communicate(timeout=60)
    assert (child.returncode, out, err) == (code, "", f"{says}\n")
    assert target.read_bytes() == b"a good figure from an earlier run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tradeoff.png"]


def test_atomic_output_replaces_only_a_complete_file(tmp_path):
    import os
    import stat

    from commlab.cli._files import atomic_output

    target = tmp_path / "f.svg"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as partial:
            assert partial.parent == tmp_path and partial.suffix == ".svg"
            partial.write_text("half")
            raise RuntimeError("stopped midway")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["f.svg"]
    with atomic_output(target) as partial:
        partial.write_text("new")
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["f.svg"]
    assert stat.S_IMODE(target.stat().st_mode) & 0o044  # readable by others, like any written file


def test_plot_writes_out(capsys, tmp_path):
    code, out, _ = cli(capsys, "plot", "example", "--out", str(tmp_path / "example.svg"))
    assert code == 0 and out == f"example: saved {tmp_path / 'example.svg'}\n"
    assert (tmp_path / "example.svg").read_text().lstrip().startswith("<?xml")


# --- issue 11 §2: BLAS single-threaded inside recurrent scans --------------------------------------


def test_recurrent_scans_run_blas_single_threaded():
    import numpy as np
    import threadpoolctl

    from commlab.models import random_recurrent_model

    model = random_recurrent_model("elman", 1, 4, 5)
    layer = model.layers[0]
    seen = []
    original = type(layer).step

    def step(self, x_t, state):
        seen.append(
            max(pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas")
        )
        return original(self, x_t, state)

    type(layer).step = step
    try:
        model.forward(np.zeros((2, 3), dtype=np.int64))
    finally:
        type(layer).step = original
    assert seen and set(seen) == {1}


# --- issue 11 §2: fast startup: no heavy imports for help, version and errors ----------------------


def test_importing_the_cli_imports_nothing_heavy():
    import subprocess
    import sys

    code = (
        "import sys, commlab.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'sympy', 'matplotlib', 'reductions', 'rich'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- issue 11 §3: one name per quantity in every --json, documented in docs/cli-json.md ------------

#: One invocation per command (and per variant whose keys differ), with the conditions that hold,
#: as docs/cli-json.md's "when" column names them. A new command adds its examples here.
RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"
JSON_EXAMPLES = [
    (["run", "chase", "--q", "8", "--k", "2", "--trials", "10"], set()),
    (["run", "sampling", "--q", "8", "--k", "3", "--trials", "10"], {"sampling"}),
    (["hop", "--k", "1", "a", "b", "a"], set()),
    (["encode", "--q", "4", "--k", "2"], set()),
    (["reduce", "rnn", "--layers", "1", "--state", "2", "--q", "2", "--trials", "4"], set()),
    (["reduce", "attention", "--k", "4", "--q", "16", "--trials", "3"], set()),
    (
        [
            "reduce",
            "kernel",
            "--layers",
            "1",
            "--heads",
            "1",
            "--width",
            "4",
            "--rank",
            "2",
            "--q",
            "2",
            "--trials",
            "3",
        ],
        set(),
    ),
    (
        [
            "reduce",
            "hybrid",
            "--pattern",
            "gru,kernel",
            "--width",
            "4",
            "--rank",
            "2",
            "--q",
            "2",
            "--trials",
            "3",
        ],
        set(),
    ),
    (["reduce", "cot", "--q", "2", "--trials", "3"], set()),
    (["reduce", "longformer", "--q", "2", "--trials", "3"], set()),
    (["reductions"], set()),
    (
        ["evaluate", "--weights", "tests/fixtures/paper_run/model_100.pt", "--k", "0-1", "--samples", "5"],
        set(),
    ),
    (["bound", "--k", "3", "--n", "100"], {"--k --n"}),
    (["bound", "--model", "rnn", "--state", "4"], {"--model"}),
    (["construct", "hop", "--k", "2", "--n", "16", "--trials", "4"], set()),
    (["sweep", "plan", "{tmp}/grid.toml"], set()),
    (["sweep", "run", "{tmp}/grid.toml", "--store", "{tmp}/run.db", "--quiet"], set()),
    (["sweep", "show", "{tmp}/results.db"], set()),
    (["plot", "example", "--out", "{tmp}/e.svg"], {"example"}),
    (["plot", "frontier", "--q", "4", "--k", "2", "--trials", "10", "--out", "{tmp}/f.svg"], {"frontier"}),
    (["plot", "solvers", "--q", "4", "--k", "2", "--trials", "10", "--out", "{tmp}/s.svg"], {"solvers"}),
    (["plot", "tradeoff", "--k", "2", "--trials", "10", "--out", "{tmp}/t.svg"], {"tradeoff"}),
    (["plot", "depth", "--trials", "2", "--out", "{tmp}/d.svg"], {"depth"}),
    (["plot", "depth-vs-k", "--results", f"{RESULTS}/depth_vs_k_small_seed0.json"], {"depth-vs-k"}),
    (["plot", "rnn-bits", "--results", f"{RESULTS}/trained_rnns_small.json"], {"rnn-bits"}),
    pytest.param(["plot", "rank", "--trials", "2", "--out", "{tmp}/r.svg"], {"rank"}, marks=pytest.mark.slow),
]

#: Commands named by their first two words (a group and its command).
GROUPS = ("reduce", "sweep", "construct", "experiment")

#: Documented in prose only: they need the optional torch extra, absent where this test was written.
NEEDS_TORCH = {"train", "experiment depth-vs-k", "experiment rnn-bits"}


def command_name(args: list[str]) -> str:
    return " ".join(args[:2]) if args[0] in GROUPS else args[0]


def prepared(args: list[str], tmp_path) -> list[str]:
    """``args`` with ``{tmp}`` filled in, and the files a sweep example reads written there."""
    (tmp_path / "grid.toml").write_text('experiment = "run chase"\n[grid]\nq = [4, 8]\nk = 2\ntrials = 5\n')
    if args[:2] == ["sweep", "show"]:
        assert (
            main(
                [
                    "sweep",
                    "run",
                    str(tmp_path / "grid.toml"),
                    "--store",
                    str(tmp_path / "results.db"),
                    "--quiet",
                ]
            )
            == 0
        )
    return [a.replace("{tmp}", str(tmp_path)) for a in args]


def documented_keys() -> dict[str, dict[str, set[str]]]:
    """docs/cli-json.md as {command: {key: the conditions under which it appears}}."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "cli-json.md").read_text()
    keys: dict[str, dict[str, set[str]]] = {}
    for section in re.split(r"^## commlab ", text, flags=re.M)[1:]:
        name, _, body = section.partition("\n")
        rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", body, flags=re.M)
        if rows:  # sections in prose only (commands that need torch) have no table
            keys[name.strip()] = {key: {w.strip() for w in when.split(",")} for key, when in rows}
    return keys


def leaf_commands():
    import typer

    from commlab.cli import app

    def walk(command, path):
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield " ".join(path)

    return set(walk(typer.main.get_command(app), []))


def test_every_command_is_documented_and_has_a_json_example():
    examples = {command_name(e.values[0] if hasattr(e, "values") else e[0]) for e in JSON_EXAMPLES}
    documented = set(documented_keys())
    assert leaf_commands() == documented | NEEDS_TORCH and documented == examples


@pytest.mark.parametrize("args,conditions", JSON_EXAMPLES)
def test_json_keys_match_the_documented_schema(capsys, tmp_path, args, conditions):
    from commlab.cli._output import SCHEMA

    args = prepared(args, tmp_path)
    capsys.readouterr()
    code, out, err = cli(capsys, *args, "--json")
    assert code == 0, err
    result = json.loads(out)
    command = command_name(args)
    documented = documented_keys()[command]
    expected = {key for key, when in documented.items() if "always" in when or when & conditions}
    assert set(result) == expected
    assert result["schema"] == SCHEMA == 2 and result["version"] == __version__


def test_no_json_uses_a_retired_name(capsys, tmp_path):
    retired = {"N", "sequence_length", "table", "bound", "bits_per_message"}

    def keys(value):
        if isinstance(value, dict):
            for key, item in value.items():
                yield key
                yield from keys(item)
        elif isinstance(value, list):
            for item in value:
                yield from keys(item)

    for example in JSON_EXAMPLES:
        if hasattr(example, "values") or example[0][0] in ("bound", "sweep"):
            continue  # cli/bound.py is the bounds helper's; sweep show holds other commands' objects
        args = prepared(example[0], tmp_path)
        capsys.readouterr()
        code, out, _ = cli(capsys, *args, "--json")
        assert code == 0 and not set(keys(json.loads(out))) & retired, args


# --- issue 11 §3: text reports say what they measure -----------------------------------------------


def test_reduce_text_says_weights_are_random_and_states_the_bound_correctly(capsys):
    common = ["reduce", "rnn", "--layers", "5", "--state", "2", "--q", "2", "--trials", "4"]
    code, out, _ = cli(capsys, *common, "--k", "3")
    assert code == 0 and "weights: random, drawn from seed 0" in out and "low accuracy is expected" in out
    assert (
        "R = 5 < k" not in out
        and "for every k > R = 5" in out
        and "k = 3 <= R = 5: the bound does not apply" in out
    )
    code, out, _ = cli(capsys, *common, "--k", "6")
    assert "k = 6 > R = 5: the bound applies" in out


def test_run_text_says_what_mean_bits_average_over(capsys):
    code, out, _ = cli(capsys, "run", "chase", "--q", "8", "--k", "3", "--trials", "10")
    assert (
        code == 0 and "mean" in out and "over all R·k = 9 turns of an instance (silent turns count 0)" in out
    )


# --- issue 11 §3: help ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [[], ["run"], ["reduce"], ["reduce", "rnn"], ["plot"], ["encode"]])
def test_dash_h_is_help(capsys, path):
    code, out, _ = cli(capsys, *path, "-h")
    assert code == 0 and "Usage: commlab" in out


def test_help_lists_choices_and_flags_take_no_value(capsys):
    import re

    _, run_help, _ = cli(capsys, "run", "--help")
    _, rnn_help, _ = cli(capsys, "reduce", "rnn", "--help")
    _, plot_help, _ = cli(capsys, "plot", "--help")
    assert "<chase|broadcast|sampling|indicators|chunked|pipelined>" in run_help
    assert "<elman|elman_relu|gru|gru_torch|lstm|ssm|mamba|binary>" in rnn_help and "bfloat16|" in rnn_help
    assert "<tradeoff|frontier|solvers|example|depth|rank|depth-vs-k|rnn-bits>" in plot_help
    for text in (run_help, rnn_help, plot_help):
        assert (
            re.search(r"--json\s+Print", text) and re.search(r"--quiet\s+No", text) and "<bool>" not in text
        )


def test_choices_match_the_library():
    from commlab.cli.options import CELL_NAMES, FIGURE_NAMES, PROTOCOL_NAMES
    from commlab.figures.plot import FIGURES
    from commlab.models.recurrent import CELLS
    from commlab.protocols import PROTOCOLS

    assert (PROTOCOL_NAMES, CELL_NAMES, FIGURE_NAMES) == (tuple(PROTOCOLS), tuple(CELLS), tuple(FIGURES))


def test_shell_completion_is_available(capsys):
    import os
    import subprocess
    import sys

    code, out, _ = cli(capsys, "--help")
    assert code == 0 and "--install-completion" in out and "--show-completion" in out
    asked = {
        **os.environ,
        "_COMMLAB_COMPLETE": "complete_bash",
        "COMP_WORDS": "commlab red",
        "COMP_CWORD": "1",
    }
    done = subprocess.run([sys.executable, "-m", "commlab"], env=asked, capture_output=True, text=True)
    assert sorted(done.stdout.split()) == ["reduce", "reductions"]


def test_a_swallowed_interrupt_still_exits_130(capsys, monkeypatch):
    import os
    import signal

    import commlab.protocols

    def swallowing(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except BaseException:  # code that should not, but does, catch everything
            pass
        raise RuntimeError("went on after the interrupt")

    monkeypatch.setattr(commlab.protocols, "simulate", swallowing)
    code, out, err = cli(capsys, "run", "chase", "--trials", "2")
    assert (code, out, err) == (130, "", "interrupted\n")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


def test_an_interrupt_inside_a_nested_command_stops_the_outer_one(capsys, monkeypatch):
    """A sweep runs commands through main() inside its own command: Ctrl-C must end the sweep,
    not just the point it interrupted."""
    import os
    import signal

    import commlab.protocols

    inner_codes = []

    def outer(*args, **kwargs):  # stands for a command that runs another command in-process
        def interrupting(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)
            raise AssertionError("not reached")

        monkeypatch.setattr(commlab.protocols, "simulate", interrupting)
        inner_codes.append(main(["run", "chase", "--trials", "2"]))
        raise AssertionError("the outer command went on after the interrupt")

    monkeypatch.setattr(commlab.protocols, "simulate", outer)
    code, out, err = cli(capsys, "run", "chase", "--trials", "2")
    assert (code, out, err, inner_codes) == (130, "", "interrupted\n", [])


def test_plot_solvers_says_which_solver_it_left_out(tmp_path, capsys, monkeypatch):
    """At the default q = 64 the CoT solver's vocabulary is too large; the text output says so
    instead of drawing a figure that silently lacks it."""
    import reductions.cot
    from commlab import InvalidParameter

    def too_big(*args, **kwargs):
        raise InvalidParameter("the hop-following CoT model needs too many embedding numbers")

    monkeypatch.setattr(reductions.cot, "cot_solver_curve", too_big)
    code = main(["plot", "solvers", "--q", "4", "--k", "2", "--trials", "10", "--out", str(tmp_path / "s.png")])
    out = capsys.readouterr().out
    assert code == 0 and out.splitlines()[1] == "left out: the hop-following CoT model needs too many embedding numbers"
