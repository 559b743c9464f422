"""PyTorch recurrent models imported into commlab: the committed fixtures reproduce torch's outputs
without torch; with torch installed, random networks of every kind agree in float32."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from commlab.cli import main
from commlab.errors import InvalidParameter
from commlab.io.weights import read_weights
from commlab.models import load_recurrent_model
from commlab.models.importers import torch_recurrent_model
from commlab.models.recurrent import GRU, TorchGRU

FIXTURES = Path(__file__).parent / "fixtures"
NONLINEARITY = {"rnn_tanh": "tanh", "rnn_relu": "relu", "gru": "tanh", "lstm": "tanh"}
CELL = {"rnn_tanh": "elman", "rnn_relu": "elman_relu", "gru": "gru_torch", "lstm": "lstm"}


def assert_agrees(logits: np.ndarray, reference: np.ndarray) -> None:
    """The issue's agreement rule: argmax equal on >= 99.9 % of positions, logits within 1e-4 relative."""
    assert logits.shape == reference.shape
    assert np.mean(logits.argmax(-1) == reference.argmax(-1)) >= 0.999
    assert np.abs(logits - reference).max() <= 1e-4 * np.abs(reference).max()


@pytest.fixture(scope="module")
def expected():
    with np.load(FIXTURES / "torch_recurrent_expected.npz") as data:
        return {name: data[name] for name in data.files}


@pytest.mark.parametrize("name", sorted(NONLINEARITY))
def test_fixture_models_reproduce_torch(name, expected):
    arrays = read_weights(FIXTURES / f"torch_{name}.pt")
    model = torch_recurrent_model(arrays, nonlinearity=NONLINEARITY[name])
    assert model.info["cell"] == CELL[name] and model.info["layers"] == 2 and model.info["state"] == 5
    logits = model.logits(expected["tokens"])
    assert_agrees(logits, expected[name])
    assert np.array_equal(model.predict(expected["tokens"]), logits.argmax(-1))


def test_textbook_gru_does_not_reproduce_torch(expected):
    """PyTorch's GRU differs from the textbook one (gate order, b_hn inside r ⊙ …): loading its
    weights into the textbook cell gives other outputs, which is why TorchGRU exists."""
    model = torch_recurrent_model(read_weights(FIXTURES / "torch_gru.pt"))
    textbook = []
    for layer in model.layers:
        m, p = layer.width, layer.params
        order = np.r_[m : 2 * m, :m, 2 * m : 3 * m]  # [r, z, n] → [z, r, n]
        params = {"W": p["W"][:, order], "U": p["U"][:, order], "b": (p["b_ih"] + p["b_hh"])[order]}
        textbook.append(GRU.from_params(layer.d_in, m, model.fmt, params))
    assert isinstance(model.layers[0], TorchGRU)
    other = type(model)(
        model.alphabet,
        tuple(textbook),
        model.fmt,
        model.embedding,
        model.readout,
        readout_bias=model.readout_bias,
    )
    assert np.abs(other.logits(expected["tokens"]) - expected["gru"]).max() > 1e-3


def test_imported_model_runs_in_coarse_formats(expected):
    arrays = read_weights(FIXTURES / "torch_lstm.pt")
    exact = torch_recurrent_model(arrays, fmt="float64").logits(expected["tokens"])
    for fmt, tolerance in (("float16", 0.05), ("bfloat16", 0.2), ("fixed24.16", 0.01)):
        logits = torch_recurrent_model(arrays, fmt=fmt).logits(expected["tokens"])
        assert np.abs(logits - exact).max() < tolerance * np.abs(exact).max(), fmt


def test_import_problems_are_named():
    arrays = read_weights(FIXTURES / "torch_lstm.pt")
    bad = dict(arrays)
    bad["rnn.weight_hh_l1"] = np.zeros((20, 4))
    bad["extra.running_mean"] = np.zeros(3)
    with pytest.raises(InvalidParameter) as error:
        torch_recurrent_model(bad)
    assert "rnn.weight_hh_l1 has shape (20, 4)" in str(error.value)
    assert "unexpected tensor extra.running_mean" in str(error.value)
    reverse = {**arrays, "rnn.weight_ih_l0_reverse": arrays["rnn.weight_ih_l0"]}
    with pytest.raises(InvalidParameter, match="bidirectional"):
        torch_recurrent_model(reverse)
    with pytest.raises(InvalidParameter, match="nonlinearity"):
        torch_recurrent_model(arrays, nonlinearity="gelu")


def test_reduce_rnn_takes_a_pytorch_file(capsys):
    """`reduce rnn --weights model.pt` compiles an imported GRU with 0 mismatches; the wrong cell
    or sizes are refused with the options that would fit."""
    path = str(FIXTURES / "torch_gru.pt")
    base = ["reduce", "rnn", "--layers", "2", "--state", "5", "--q", "2", "--trials", "20", "--weights", path]
    assert main([*base, "--cell", "gru_torch", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["mismatches"] == 0 and report["declared_bits_per_message"] == 5 * 32
    assert main([*base, "--cell", "gru"]) == 2
    err = capsys.readouterr().err
    assert "PyTorch nn.GRU (--cell gru_torch)" in err and err.count("\n") == 1
    with pytest.raises(InvalidParameter, match="hidden size"):
        load_recurrent_model(path, "gru_torch", 2, 6, 6)


@pytest.mark.torch
@pytest.mark.parametrize(
    "kind,kwargs",
    [
        ("RNN", {}),
        ("RNN", {"nonlinearity": "relu"}),
        ("GRU", {}),
        ("LSTM", {}),
        ("GRU", {"bias": False}),
        ("LSTM", {"num_layers": 3}),
    ],
)
def test_random_torch_models_agree(kind, kwargs):
    torch = pytest.importorskip("torch")
    from tests.fixtures.make_fixtures import RecurrentNet

    torch.manual_seed(len(kind) + len(kwargs))
    kwargs = dict(kwargs)
    layers = kwargs.pop("num_layers", 2)
    net = RecurrentNet(kind, vocab=11, embed=7, hidden=16, layers=layers, classes=9, **kwargs).eval()
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.normal_(0.0, 0.4)
        tokens = torch.randint(0, 11, (64, 40))
        reference = net(tokens).numpy()
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    model = torch_recurrent_model(state, nonlinearity=kwargs.get("nonlinearity", "tanh"))
    assert_agrees(model.logits(tokens.numpy()), reference)


def test_commlab_layout_round_trips_through_safetensors(tmp_path):
    from commlab.models import random_recurrent_model, save_weights

    model = random_recurrent_model("gru_torch", 2, 5, 6, seed=4)
    model = type(model)(
        model.alphabet,
        model.layers,
        model.fmt,
        model.embedding,
        model.readout,
        readout_bias=np.arange(6, dtype=np.float32),
    )
    save_weights(model, tmp_path / "w.safetensors")
    again = load_recurrent_model(tmp_path / "w.safetensors", "gru_torch", 2, 5, 6)
    tokens = np.random.default_rng(0).integers(0, 6, size=(3, 9))
    assert np.array_equal(again.logits(tokens), model.logits(tokens))
    assert np.array_equal(again.readout_bias, model.readout_bias)
