"""Shared fixtures. Tests run offline; real data is read in place from ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TOOLKIT_TEST_DATA_DIR", ROOT.parent / "shared" / "data")).resolve()
IMDB_TARBALL = SHARED_DATA / "aclImdb_v1.tar.gz"
GLOVE_50D = SHARED_DATA / "glove.6B.50d.txt.gz"


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Never write to the user's cache; never read a data folder by accident."""
    cache = tmp_path_factory.mktemp("toolkit-cache")
    old = {k: os.environ.get(k) for k in ("TOOLKIT_CACHE_DIR", "TOOLKIT_DATA_DIR")}
    os.environ["TOOLKIT_CACHE_DIR"] = str(cache)
    os.environ.pop("TOOLKIT_DATA_DIR", None)
    yield cache
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder (IMDB tarball, GloVe 6B-50d, SHA256SUMS)."""
    if not IMDB_TARBALL.exists() or not GLOVE_50D.exists():
        pytest.skip(f"real data not found in {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def data_dir_env(shared_data, monkeypatch) -> Path:
    """Point TOOLKIT_DATA_DIR at the real-data folder for one test."""
    monkeypatch.setenv("TOOLKIT_DATA_DIR", str(shared_data))
    return shared_data
