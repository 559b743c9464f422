"""The numpy GPT-2: committed HuggingFace fixtures reproduced without torch, every number format runs,
and (with transformers installed) random GPT2Model/GPT2LMHeadModel networks agree in float32."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from commlab.errors import InvalidParameter
from commlab.io.weights import read_weights
from commlab.models.gpt2 import gpt2_from_state_dict
from tests.test_importers import assert_agrees

FIXTURES = Path(__file__).parent / "fixtures"


def _load(name: str) -> dict[str, np.ndarray]:
    with np.load(FIXTURES / name) as data:
        return {key: data[key] for key in data.files}


def test_lm_head_fixture_reproduces_transformers():
    expected = _load("gpt2_lm_expected.npz")
    model = gpt2_from_state_dict(read_weights(FIXTURES / "gpt2_lm.safetensors"), heads=int(expected["heads"]))
    assert model.lm_head is model.wte  # tied: save_pretrained leaves lm_head.weight out
    assert_agrees(model.logits(expected["tokens"]), expected["logits"])


def test_released_layout_fixture_reproduces_transformers():
    expected = _load("paper_run_expected.npz")
    model = gpt2_from_state_dict(read_weights(FIXTURES / "paper_run" / "model_100.pt"), heads=2)
    assert model.lm_head is None and model.depth == 2 and model.width == 8
    assert_agrees(model.hidden(expected["tokens"]), expected["hidden"])


@pytest.mark.parametrize("fmt", ["float64", "float16", "bfloat16", "e8m10", "fixed32.16"])
def test_every_format_runs_and_stays_near_float64(fmt):
    arrays = read_weights(FIXTURES / "gpt2_lm.safetensors")
    tokens = _load("gpt2_lm_expected.npz")["tokens"]
    exact = gpt2_from_state_dict(arrays, 2, "float64").logits(tokens)
    model = gpt2_from_state_dict(arrays, 2, fmt)
    logits = model.logits(tokens)
    assert logits.dtype == model.fmt.dtype
    assert np.array_equal(model.fmt.round(logits), logits)  # every value is in the format
    assert np.abs(logits - exact).max() < 0.1 * np.abs(exact).max()


def test_causal_prefix_does_not_see_the_future():
    arrays = read_weights(FIXTURES / "gpt2_lm.safetensors")
    model = gpt2_from_state_dict(arrays, 2, "float64")
    tokens = _load("gpt2_lm_expected.npz")["tokens"]
    changed = tokens.copy()
    changed[:, 10:] = (changed[:, 10:] + 1) % 30
    assert np.allclose(model.logits(tokens)[:, :10], model.logits(changed)[:, :10], rtol=0, atol=1e-12)
    assert not np.allclose(model.logits(tokens)[:, 10:], model.logits(changed)[:, 10:])


def test_dropout_is_seeded_and_changes_outputs():
    model = gpt2_from_state_dict(read_weights(FIXTURES / "gpt2_lm.safetensors"), 2)
    tokens = _load("gpt2_lm_expected.npz")["tokens"]
    first = model.hidden(tokens, 0.1, np.random.default_rng(0))
    assert np.array_equal(first, model.hidden(tokens, 0.1, np.random.default_rng(0)))
    assert not np.array_equal(first, model.hidden(tokens))
    with pytest.raises(InvalidParameter, match="dropout"):
        model.hidden(tokens, 1.0, np.random.default_rng(0))


def test_bad_state_dicts_and_inputs_are_named():
    arrays = read_weights(FIXTURES / "gpt2_lm.safetensors")
    with pytest.raises(InvalidParameter, match="divisor"):
        gpt2_from_state_dict(arrays, heads=3)
    broken = {k: v for k, v in arrays.items() if not k.endswith("h.1.mlp.c_fc.bias")}
    broken["transformer.h.0.attn.c_proj.weight"] = np.zeros((8, 9))
    with pytest.raises(InvalidParameter) as error:
        gpt2_from_state_dict(broken, heads=2)
    assert "missing transformer.h.1.mlp.c_fc.bias" in str(error.value)
    assert "c_proj.weight has shape (8, 9)" in str(error.value)
    with pytest.raises(InvalidParameter, match="GPT-2 token embedding"):
        gpt2_from_state_dict({"w": np.zeros(2)}, heads=1)
    model = gpt2_from_state_dict(arrays, 2)
    with pytest.raises(InvalidParameter, match="positions"):
        model.logits(np.zeros((1, 21), dtype=np.int64))
    with pytest.raises(InvalidParameter, match="0..29"):
        model.logits(np.full((1, 3), 30))


@pytest.mark.torch
@pytest.mark.parametrize("lm_head", [False, True])
def test_random_transformers_models_agree(lm_head):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(int(lm_head))
    config = transformers.GPT2Config(vocab_size=30, n_positions=100, n_embd=64, n_layer=3, n_head=4)
    net = (transformers.GPT2LMHeadModel if lm_head else transformers.GPT2Model)(config).eval()
    tokens = torch.randint(0, 30, (16, 99))
    with torch.no_grad():
        out = net(tokens)
    reference = (out.logits if lm_head else out.last_hidden_state).numpy()
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    assert_agrees(gpt2_from_state_dict(state, heads=4).logits(tokens.numpy()), reference)
