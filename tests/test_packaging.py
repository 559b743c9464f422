"""Packaging metadata (issue 11 §4): what pyproject.toml and CITATION.cff promise, checked the way
setuptools reads them, without building anything into the source tree."""

import io
from pathlib import Path

import pytest
import yaml

import commlab

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def distribution(monkeypatch):
    """The setuptools distribution this pyproject.toml configures."""
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    monkeypatch.chdir(ROOT)
    dist = Distribution()
    apply_configuration(dist, "pyproject.toml")  # raises on a License :: classifier beside an SPDX license
    return dist


@pytest.fixture
def metadata(distribution) -> str:
    """The core metadata (PKG-INFO) setuptools writes."""
    out = io.StringIO()
    distribution.metadata.write_pkg_file(out)
    return out.getvalue()


def test_license_is_an_spdx_expression_with_its_file(metadata):
    lines = metadata.splitlines()
    assert "License-Expression: MIT" in lines and "License-File: LICENSE" in lines
    assert not any(line.startswith("Classifier: License ::") for line in lines)


def test_urls_classifiers_and_keywords(metadata):
    assert "Project-URL: Paper (Sanford, Hsu, Telgarsky 2024), https://arxiv.org/abs/2402.09268" in metadata
    assert "Classifier: Typing :: Typed" in metadata
    assert "Keywords: communication complexity," in metadata


def test_py_typed_ships_with_the_package(distribution):
    assert "py.typed" in distribution.package_data["commlab"]
    assert (Path(commlab.__file__).parent / "py.typed").is_file()


def test_citation_file_matches_the_package():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["license"] == "MIT"
    assert citation["version"] == commlab.__version__
    preferred = citation["preferred-citation"]
    assert preferred["type"] == "conference-paper" and preferred["year"] == 2024
    assert {"type": "other", "value": "arXiv:2402.09268"} in preferred["identifiers"]
    for work in [preferred, *citation["references"]]:
        assert work["title"] and work["authors"] and work["year"]
