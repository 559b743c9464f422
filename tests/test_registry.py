"""The reduction registry: names, duplicates, and a plugin installed through the entry point."""

import textwrap

import pytest

from commlab import RegistryError
from commlab.models import random_recurrent_model
from reductions import REGISTRY, compile_to_protocol, get_reduction, load_plugins, register
from reductions import registry as registry_module
from reductions.conformance import check_reduction
from reductions.rnn import RecurrentReduction

PLUGIN = '''
"""A tiny third-party reduction: Elman-only stacks, compiled by the shared layerwise protocol."""
from reductions.layerwise import LayerwiseReduction


class TinyReduction(LayerwiseReduction):
    name = "tiny"
    family = "Elman-only stacks (a plugin)"
    bound = "L >= k or s = Omega(N/k^6)"
    layer_kinds = frozenset({"elman"})
'''


@pytest.fixture
def clean_registry():
    before, loaded = dict(REGISTRY), set(registry_module._loaded_plugins)
    yield
    REGISTRY.clear()
    REGISTRY.update(before)
    registry_module._loaded_plugins.clear()
    registry_module._loaded_plugins.update(loaded)


def test_builtin_rnn_is_registered():
    assert isinstance(get_reduction("rnn"), RecurrentReduction)
    with pytest.raises(RegistryError, match="no reduction named 'nope'"):
        get_reduction("nope")


def test_a_duplicate_name_fails_loudly(clean_registry):
    class Again(RecurrentReduction):
        pass

    with pytest.raises(RegistryError, match="'rnn' is already registered.*give .*Again another name"):
        register(Again)


def test_a_plugin_installed_through_the_entry_point_passes_the_kit(tmp_path, monkeypatch, clean_registry):
    (tmp_path / "tiny_plugin").mkdir()
    (tmp_path / "tiny_plugin" / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    info = tmp_path / "tiny_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[commlab.reductions]\ntiny = tiny_plugin:TinyReduction\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    assert "tiny" in load_plugins()
    tiny = get_reduction("tiny")
    report = check_reduction(
        "tiny", lambda a, rng: random_recurrent_model("elman", 2, 3, a, seed=4), audit=True
    )
    assert report.reduction == "tiny" and report.cases == 6
    model = random_recurrent_model("lstm", 1, 3, 5)
    assert tiny.validate(model) == ["layer 0 is 'lstm', not one of the kinds tiny compiles (elman)"]
    assert compile_to_protocol(model, [(0, 2)]).spec.name == "rnn"  # the default picks one that accepts it
