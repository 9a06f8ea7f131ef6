"""Saved models that cannot be misread (issue 14): one digest over the folder, config/model
agreement, version checks, the Keras minimum, .keras size caps, and a kill -9 during save."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from toolkit.exceptions import DependencyError, ModelFormatError, ModelVersionWarning
from toolkit.models import _keras_io
from toolkit.models.classifier import EmbeddingClassifier
from toolkit.models.persistence import _write_checksums, load_model, save_model
from toolkit.text.vocabulary import Vocabulary

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fitted_clf(imdb_tokens):
    docs, labels = imdb_tokens
    return EmbeddingClassifier(maxlen=40, embedding_dim=8, epochs=1, max_tokens=2000,
                               random_state=0).fit(docs[:300], labels[:300])


@pytest.fixture(scope="module")
def saved_once(fitted_clf, tmp_path_factory):
    return save_model(fitted_clf, tmp_path_factory.mktemp("saved") / "model")


@pytest.fixture
def saved(saved_once, tmp_path):
    """A fresh copy of one saved folder (saving costs a Keras save each time)."""
    import shutil

    return Path(shutil.copytree(saved_once, tmp_path / "model"))


def _edit_config(folder: Path, edit, *, reseal: bool) -> None:
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))
    if reseal:  # what a buggy writer or a deliberate forger would produce: the digest matches
        _write_checksums(folder)


# ------------------------------------------------------------------ the folder digest
def test_persistence_swapped_class_list_is_refused(saved, fitted_clf, imdb_tokens):
    assert load_model(saved).predict(imdb_tokens[0][300:310]).tolist() == \
        fitted_clf.predict(imdb_tokens[0][300:310]).tolist()
    _edit_config(saved, lambda c: c["fitted"].update(classes=["pos", "neg"]), reseal=False)
    with pytest.raises(ModelFormatError, match=r"config\.json does not match the SHA-256 recorded in "
                                               r"checksums\.json .* truncated or modified"):
        load_model(saved)


def test_persistence_edited_checksum_file_is_refused(saved):
    _edit_config(saved, lambda c: c["fitted"].update(classes=["pos", "neg"]), reseal=False)
    from toolkit._hashing import hash_file

    checksums = json.loads((saved / "checksums.json").read_text())
    checksums["files"]["config.json"] = hash_file(saved / "config.json")  # but not the folder digest
    (saved / "checksums.json").write_text(json.dumps(checksums))
    with pytest.raises(ModelFormatError, match=r"checksums\.json does not match its own folder digest"):
        load_model(saved)
    (saved / "checksums.json").write_text('{"files": {}}')
    with pytest.raises(ModelFormatError, match=r"checksums\.json does not list the SHA-256 of config\.json"):
        load_model(saved)
    (saved / "checksums.json").unlink()
    with pytest.raises(ModelFormatError, match=r"checksums\.json is missing, so .* cannot be verified"):
        load_model(saved)


def test_persistence_extra_file_is_ignored(saved):
    (saved / "notes.txt").write_text("x")  # the user's own file: never read (tests/test_persistence_s47.py)
    load_model(saved)


# ------------------------------------------------------------ config agrees with model
def test_persistence_class_count_must_match_outputs(saved):
    _edit_config(saved, lambda c: c["fitted"].update(classes=["neg", "pos", "meh"]), reseal=True)
    with pytest.raises(ModelFormatError, match=r"lists 3 classes for a 'binary' output, but .*model\.keras "
                                               r"has 1 output unit\(s\): the files come from different models"):
        load_model(saved)
    _edit_config(saved, lambda c: c["fitted"].update(classes=["neg", "pos"], output_="multiclass"), reseal=True)
    with pytest.raises(ModelFormatError, match=r"lists 2 classes for a 'multiclass' output, but .* has 1 output"):
        load_model(saved)


def test_persistence_vocabulary_must_match_embedding_rows(saved):
    vocab = Vocabulary.from_json(saved / "vocabulary.json")
    tokens = json.loads((saved / "vocabulary.json").read_text())["tokens"]
    Vocabulary(tokens[:-3]).to_json(saved / "vocabulary.json")
    _write_checksums(saved)
    with pytest.raises(ModelFormatError, match=rf"vocabulary\.json has {len(vocab) - 3} tokens but the model's "
                                               rf"embedding has {len(vocab)} rows"):
        load_model(saved)


def test_persistence_maxlen_must_match_input(saved):
    _edit_config(saved, lambda c: c["fitted"].update(maxlen_=80), reseal=True)
    with pytest.raises(ModelFormatError, match=r"has maxlen_ 80 but .*model\.keras takes sequences of 40 tokens"):
        load_model(saved)


# ----------------------------------------------------------------------------- versions
@pytest.mark.parametrize(("key", "value", "match"), [
    ("toolkit_version", "99.0.0", r"saved with toolkit 99\.0\.0; toolkit 0\.1\.0 is installed and cannot load "
                                  r"models of toolkit 99\.x"),
    ("keras_version", "2.0.0", r"saved with Keras 2\.0\.0; Keras 3\.\d+\.\d+ is installed and cannot load "
                               r"models of Keras 2\.x"),
    ("keras_version", "three", r"has keras_version 'three', which is not a version number"),
])
def test_persistence_other_major_version_is_refused(saved, key, value, match):
    _edit_config(saved, lambda c: c.update({key: value}), reseal=True)
    with pytest.raises(ModelFormatError, match=match):
        load_model(saved)


@pytest.mark.parametrize(("key", "value", "match"), [
    ("toolkit_version", "0.7.2", r"saved with toolkit 0\.7\.2 and is loaded with toolkit 0\.1\.0; predictions may differ"),
    ("keras_version", "3.2.0", r"saved with Keras 3\.2\.0 and is loaded with Keras 3\.\d+"),
])
def test_persistence_other_minor_version_warns(saved, fitted_clf, imdb_tokens, key, value, match):
    _edit_config(saved, lambda c: c.update({key: value}), reseal=True)
    with pytest.warns(ModelVersionWarning, match=match):
        loaded = load_model(saved)
    docs = imdb_tokens[0][300:320]
    np.testing.assert_array_equal(loaded.predict_proba(docs), fitted_clf.predict_proba(docs))


def test_persistence_keras_minimum_matches_pyproject():
    from packaging.requirements import Requirement

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    keras_req = next(Requirement(d) for d in deps if Requirement(d).name == "keras")
    lower = [s.version for s in keras_req.specifier if s.operator == ">="]
    assert lower == [_keras_io.KERAS_MIN_VERSION]


def test_persistence_old_installed_keras_is_refused(saved, monkeypatch):
    monkeypatch.setattr(_keras_io, "installed_keras_version", lambda: "3.13.2")
    match = r"Keras 3\.13\.2 is installed, but loading a model needs Keras >= 3\.14: .* pip install 'keras>=3\.14'"
    with pytest.raises(DependencyError, match=match):
        load_model(saved)
    with pytest.raises(DependencyError, match=match):  # pickles go through the same loader
        _keras_io.keras_from_bytes((saved / "model.keras").read_bytes())


# ----------------------------------------------------------------- .keras size caps
@pytest.fixture
def no_inflation(monkeypatch):
    """Fail the test if any zip member is opened for reading or Keras is asked to load."""
    import keras

    def forbidden(*args, **kwargs):
        raise AssertionError("a zip member was read before the size checks refused the file")

    open_member = zipfile.ZipFile.open

    def write_only(self, name, mode="r", *args, **kwargs):
        if mode == "r":
            forbidden()
        return open_member(self, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", write_only)
    monkeypatch.setattr(keras.saving, "load_model", forbidden)


def _zip(path: Path, members: dict, compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_persistence_keras_config_inflating_1000_to_1_is_refused_unread(tmp_path, no_inflation):
    bomb = _zip(tmp_path / "bomb.keras", {"metadata.json": "{}", "config.json": b" " * (8 * 2**20)})
    info = zipfile.ZipFile(bomb).getinfo("config.json")
    assert info.file_size / info.compress_size > 900  # the crafted member really is ~1000:1
    with pytest.raises(ModelFormatError, match=r"config\.json in .*bomb\.keras inflates [\d,]+:1 .* the cap is 100:1"):
        _keras_io.load_keras(bomb)


def test_persistence_keras_huge_config_is_refused_unread(tmp_path, no_inflation):
    big = _zip(tmp_path / "big.keras", {"config.json": b"[" + b"0," * (25 * 2**20) + b"0]"},
               compression=zipfile.ZIP_STORED)  # 50 MB, stored: no ratio to catch it
    with pytest.raises(ModelFormatError, match=r"config\.json in .*big\.keras declares 50\.0 MB; the cap is 16\.0 MB"):
        _keras_io.load_keras(big)
    with pytest.raises(ModelFormatError, match=r"config\.json in .* declares 50\.0 MB"):  # the pickle path
        _keras_io.keras_from_bytes(big.read_bytes())


def test_persistence_keras_weights_bomb_and_non_zip_refused(tmp_path, no_inflation):
    bomb = _zip(tmp_path / "w.keras", {"config.json": "{}", "model.weights.h5": bytes(64 * 2**20)})
    with pytest.raises(ModelFormatError, match=r"model\.weights\.h5 in .*w\.keras inflates"):
        _keras_io.load_keras(bomb)
    (tmp_path / "x.keras").write_bytes(b"not a zip")
    with pytest.raises(ModelFormatError, match=r"x\.keras is not a \.keras \(zip\) archive"):
        _keras_io.load_keras(tmp_path / "x.keras")


def test_persistence_bomb_inside_saved_folder_is_refused(saved, no_inflation):
    _zip(saved / "model.keras", {"config.json": b" " * (8 * 2**20)})
    _write_checksums(saved)
    with pytest.raises(ModelFormatError, match=r"config\.json in .*model\.keras inflates"):
        load_model(saved)


# ------------------------------------------------------------------ kill -9 during save
KILL_DURING_SAVE = """
import os, signal, sys
from toolkit.models import persistence

def save_then_die(model, path):
    with open(path, "wb") as fh:
        fh.write(b"half a model")
    os.kill(os.getpid(), signal.SIGKILL)

clf = persistence.load_model(sys.argv[1])
persistence.save_keras = save_then_die
persistence.save_model(clf, sys.argv[2])
"""


def test_persistence_kill_9_during_save_leaves_debris_that_later_saves_sweep(saved_once, fitted_clf, tmp_path):
    target = tmp_path / "run" / "model"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-c", KILL_DURING_SAVE, str(saved_once), str(target)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    debris = [p.name for p in target.parent.iterdir()]
    assert len(debris) == 1 and debris[0].startswith(".model.") and debris[0].endswith(".tmp"), debris
    assert not target.exists()  # nothing under the real name

    save_model(fitted_clf, target)  # its name holds the dead writer's pid and this machine: swept at once
    assert [p.name for p in target.parent.iterdir()] == ["model"]
    load_model(target)
