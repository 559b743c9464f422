"""The issues' acceptance runs at full size (slow: ``pytest --runslow``); the default suite checks the
same features on small parameters."""

import json

import nbformat
import pytest
from nbclient import NotebookClient

from commlab.cli import main
from tests.test_notebooks import NOTEBOOKS


@pytest.mark.slow
def test_chase_at_q1024_k8_with_10000_trials(capsys):
    assert main(["run", "chase", "--q", "1024", "--k", "8", "--trials", "10000", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["success"], r["rounds"], r["measured_bits_per_message"]) == (1.0, 8, 10)


@pytest.mark.slow
def test_sampling_at_the_theory_numbers(capsys):
    assert (
        main(["run", "sampling", "--q", "1000", "--k", "10", "--m", "223", "--trials", "4000", "--json"]) == 0
    )
    r = json.loads(capsys.readouterr().out)
    low, high = r["completed_ci"]
    assert 1 - high <= 0.1032 <= 1 - low


@pytest.mark.slow
def test_reduce_rnn_defaults(capsys):
    assert main(["reduce", "rnn", "--layers", "3", "--state", "64", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["k"], r["rounds"], r["measured_bits_per_message"], r["mismatches"], r["trials"]) == (4, 3, 2048, 0, 200)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_at_full_parameters(path, monkeypatch):
    monkeypatch.delenv("COMMLAB_NOTEBOOK_SMALL", raising=False)
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(path.parent)}}).execute()
