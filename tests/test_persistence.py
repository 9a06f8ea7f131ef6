"""Tests of toolkit.models.persistence: the pickle-free model folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest

from toolkit.exceptions import ModelFormatError
from toolkit.models.classifier import EmbeddingClassifier, make_text_classifier
from toolkit.models.persistence import _write_checksums, load_model, save_model

from conftest import load_and_predict_in_fresh_process

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fitted_clf(imdb_tokens):
    docs, labels = imdb_tokens
    return EmbeddingClassifier(maxlen=40, embedding_dim=8, epochs=2, max_tokens=3000,
                               class_weight={"neg": 1.0, "pos": 1.5}, random_state=0).fit(docs[:400], labels[:400])


@pytest.fixture(scope="module")
def fitted_pipe(imdb_small):
    texts, labels = imdb_small
    pipe = make_text_classifier(ngram_range=(1, 2), maxlen=60, embedding_dim=8, epochs=2,
                                max_tokens=5000, random_state=0)
    return pipe.fit(texts[:400], labels[:400])


@pytest.fixture
def saved(fitted_clf, tmp_path):
    return save_model(fitted_clf, tmp_path / "model")


def test_persistence_round_trip_classifier(fitted_clf, imdb_tokens, tmp_path):
    docs = imdb_tokens[0][400:]
    path = save_model(fitted_clf, tmp_path / "clf")
    assert sorted(os.listdir(path)) == ["checksums.json", "config.json", "model.keras", "vocabulary.json"]
    assert os.listdir(tmp_path) == ["clf"]  # no temporary folder left behind
    loaded = load_model(path)
    assert isinstance(loaded, EmbeddingClassifier)
    np.testing.assert_array_equal(loaded.predict_proba(docs), fitted_clf.predict_proba(docs))
    assert loaded.get_params() == fitted_clf.get_params()
    assert loaded.classes_.tolist() == ["neg", "pos"] and loaded.classes_.dtype == fitted_clf.classes_.dtype
    assert loaded.history_ == fitted_clf.history_ and loaded.vocabulary_ == fitted_clf.vocabulary_
    config = json.loads((path / "config.json").read_text())
    assert config["format_version"] == 2 and config["toolkit_version"] and config["keras_version"]
    assert config["params"]["class_weight"] == {"neg": 1.0, "pos": 1.5}


def test_persistence_long_load_leaves_its_objects_out_of_the_young_generations(fitted_pipe, tmp_path,
                                                                                monkeypatch):
    """A load that takes more than ``_COLLECT_AFTER_S`` ends with a full collection: the loaded model no
    longer sits in the collector's young generations, where the first predict's full collection walked it
    (0.11 of 1.19 CPU s on 2,000 reviews for a loaded STACK_MANY_JOB). Fails without the collection."""
    import gc

    from toolkit.models import persistence

    path = save_model(fitted_pipe, tmp_path / "pipe")
    monkeypatch.setattr(persistence, "_COLLECT_AFTER_S", 0.0)  # every load counts as long here
    loaded = load_model(path)
    young = {id(o) for o in gc.get_objects(generation=0) + gc.get_objects(generation=1)}
    assert id(loaded) not in young and id(loaded.steps) not in young
    assert gc.get_count()[1:] == (0, 0)  # no younger collection since the full one
    monkeypatch.setattr(persistence, "_COLLECT_AFTER_S", 1e9)  # a short load leaves the collector alone
    loaded = load_model(path)
    young = {id(o) for o in gc.get_objects(generation=0) + gc.get_objects(generation=1)}
    assert id(loaded.steps) in young


def test_persistence_overwrites_model_folder_only(fitted_clf, saved, tmp_path):
    again = save_model(fitted_clf, saved)  # replacing an earlier model is fine
    assert (again / "model.keras").is_file()
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match=r"notes exists and is not a toolkit model folder"):
        save_model(fitted_clf, other)
    assert (other / "todo.txt").read_text() == "keep me"


def test_persistence_failed_save_leaves_nothing(fitted_clf, tmp_path, monkeypatch):
    def broken(path):
        raise OSError("disk full")

    monkeypatch.setattr(fitted_clf.vocabulary_, "to_json", broken)
    with pytest.raises(OSError, match="disk full"):
        save_model(fitted_clf, tmp_path / "model")
    assert os.listdir(tmp_path) == []


def test_persistence_pipeline_identical_in_fresh_process(fitted_pipe, imdb_small, tmp_path):
    texts = imdb_small[0][400:450]
    path = save_model(fitted_pipe, tmp_path / "pipe")
    # the tokenizer's span table travels with a pipeline (a bare classifier has no tokenizer: no file), and
    # the vocabulary's n-gram index with a vocabulary of n-grams
    assert sorted(os.listdir(path)) == ["checksums.json", "config.json", "model.keras", "ngram_index.npz", "spans.npz",
                                        "vocabulary.json"]
    expected = fitted_pipe.predict_proba(texts)
    (tmp_path / "texts.json").write_text(json.dumps(texts))
    joblib.dump(fitted_pipe, tmp_path / "pipe.joblib")  # pickle: trusted files only
    script = (
        "import json, sys, joblib, numpy as np\n"
        "from toolkit.models.persistence import load_model\n"
        "from toolkit.text.tokenizer import _engine_for\n"
        "pipe = load_model(sys.argv[1])\n"
        "known = len(_engine_for(pipe.steps[0][1], create=False)) > 5000  # before any text is tokenized\n"
        "texts = json.load(open(sys.argv[2]))\n"
        "np.save(sys.argv[3], pipe.predict_proba(texts))\n"
        "np.save(sys.argv[3] + '.joblib.npy', joblib.load(sys.argv[1] + '/../pipe.joblib').predict_proba(texts))\n"
        "index = getattr(pipe.steps[1][1].vocabulary_, '_ngram_indexes', {}).get(' ')\n"
        "print(type(pipe).__name__, pipe.steps[0][1].ngram_range, known, index is not None)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", script, str(path), str(tmp_path / "texts.json"), str(tmp_path / "p.npy")],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Pipeline (1, 2) True True" in result.stdout  # spans known, the n-gram index attached
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), expected)
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy.joblib.npy"), expected)


def test_persistence_rejects_other_objects(tmp_path):
    from sklearn.exceptions import NotFittedError
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    with pytest.raises(TypeError, match=r"saves an EmbeddingClassifier, a Pipeline\(SpacyTokenizer"):
        save_model({"not": "an estimator"}, tmp_path / "m")
    # Keras parts anywhere but the two supported shapes: refused (skops cannot store a Keras model)
    keras_inside = make_pipeline(FunctionTransformer(), EmbeddingClassifier())
    with pytest.raises(TypeError, match=r"without Keras parts"):
        save_model(keras_inside, tmp_path / "m")
    with pytest.raises(NotFittedError):
        save_model(LogisticRegression(), tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_persistence_missing_folder_and_files(saved, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No saved model folder at .*nowhere"):
        load_model(tmp_path / "nowhere")
    (saved / "vocabulary.json").unlink()
    with pytest.raises(ModelFormatError, match=r"vocabulary\.json is missing from the model folder"):
        load_model(saved)
    (saved / "config.json").unlink()
    with pytest.raises(ModelFormatError, match=r"config\.json is missing: .* is not a toolkit model folder"):
        load_model(saved)


def test_persistence_truncated_model_file(saved):
    data = (saved / "model.keras").read_bytes()
    (saved / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFormatError, match=r"model\.keras does not match the SHA-256 .* truncated or modified"):
        load_model(saved)


def test_persistence_tampered_vocabulary(saved):
    vocab = json.loads((saved / "vocabulary.json").read_text())
    (saved / "vocabulary.json").write_text(json.dumps(vocab).replace('"the"', '"teh"'))
    with pytest.raises(ModelFormatError, match=r"vocabulary\.json does not match the SHA-256"):
        load_model(saved)


def test_persistence_tampered_config(saved):
    text = (saved / "config.json").read_text()
    (saved / "config.json").write_text(text[: len(text) // 2])
    with pytest.raises(ModelFormatError, match=r"config\.json does not match the SHA-256 .* truncated or modified"):
        load_model(saved)
    # the checks behind the digest, for a folder resealed after the edit
    (saved / "config.json").write_text(text[: len(text) // 2])
    _write_checksums(saved)
    with pytest.raises(ModelFormatError, match=r"config\.json is not valid JSON"):
        load_model(saved)
    config = json.loads(text)
    config["format_version"] = 99
    (saved / "config.json").write_text(json.dumps(config))
    _write_checksums(saved)
    with pytest.raises(ModelFormatError, match=r"format_version 99; this toolkit reads versions 2 to 4\. Upgrade"):
        load_model(saved)
    config["format_version"] = 1
    (saved / "config.json").write_text(json.dumps(config))
    _write_checksums(saved)
    with pytest.raises(ModelFormatError, match=r"format_version 1, from an older toolkit without a folder digest"):
        load_model(saved)
    config["format_version"] = 2
    del config["fitted"]["classes"]
    (saved / "config.json").write_text(json.dumps(config))
    _write_checksums(saved)
    with pytest.raises(ModelFormatError, match=r"invalid or missing fitted settings"):
        load_model(saved)


def test_persistence_unsafe_keras_file_refused(saved, fitted_clf):
    """A model.keras carrying a Lambda (code) is refused even with a matching checksum."""
    import keras

    inputs = keras.Input(shape=(40,), dtype="int32")
    x = keras.layers.Embedding(len(fitted_clf.vocabulary_), 2, name="embedding")(inputs)
    outputs = keras.layers.Lambda(lambda t: keras.ops.sum(t, axis=(1, 2))[:, None])(x)
    keras.Model(inputs, outputs).save(saved / "model.keras")
    _write_checksums(saved)  # a matching digest does not make the file safe
    with pytest.raises(ModelFormatError, match=r"model\.keras cannot be loaded by Keras in safe mode"):
        load_model(saved)


@pytest.fixture(scope="module")
def fitted_nb_pipe(imdb_small):
    texts, labels = imdb_small
    return make_text_classifier(architecture="nbsvm", ngram_range=(1, 2), maxlen=None, epochs=1, max_tokens=20000,
                                random_state=0).fit(texts[:400], labels[:400])


def test_persistence_nb_folder_loads_and_predicts_without_keras(fitted_nb_pipe, imdb_small, tmp_path):
    """load_model of an NB-architecture folder (the main job's kind) imported TensorFlow to rebuild a Keras
    model its numpy prediction never calls: 3.2 of the main job's 4.5 s of loading. The folder now holds the
    weights as arrays (nb_weights.npz); loaded in a fresh process it must predict the same without importing
    Keras, and in this process rebuild model_ (in safe mode) when it is read."""
    texts = imdb_small[0][400:450]
    path = save_model(fitted_nb_pipe, tmp_path / "pipe")
    assert "nb_weights.npz" in os.listdir(path)
    expected = fitted_nb_pipe.predict_proba(texts)
    proba, printed = load_and_predict_in_fresh_process(path, texts, tmp_path)
    assert "keras imported: False" in printed
    np.testing.assert_allclose(proba, expected, rtol=1e-6, atol=1e-7)
    loaded = load_model(path)
    clf = loaded.steps[-1][1]
    assert "model_" not in vars(clf)
    assert clf.model_.count_params() == fitted_nb_pipe.steps[-1][1].model_.count_params()  # rebuilt on read
    np.testing.assert_allclose(loaded.predict_proba(texts), expected, rtol=1e-6, atol=1e-7)
    again = save_model(loaded, tmp_path / "again")  # a loaded model saves again
    np.testing.assert_allclose(load_model(again).predict_proba(texts), expected, rtol=1e-6, atol=1e-7)


def test_persistence_nb_folder_bad_weights_or_unsafe_keras_refused(fitted_nb_pipe, imdb_small, tmp_path):
    """nb_weights.npz of another model is refused at load, naming the files; a model.keras with code (a Lambda)
    is refused in safe mode when model_ is read (prediction from an nb_weights.npz that holds all its arrays,
    as format version 2 wrote it, never reads it); checksums resealed each time, as a hand-assembled folder
    would have them. (An nb_weights.npz of version 3 takes its tables from model.keras: a foreign model.keras
    is then refused at load, tests/test_model_folder_size.py.)"""
    import keras

    from toolkit.models.persistence import _save_nb_weights

    texts, labels = imdb_small
    path = save_model(fitted_nb_pipe, tmp_path / "pipe")
    other = make_text_classifier(architecture="nbsvm", ngram_range=(1, 1), maxlen=None, epochs=1, max_tokens=500,
                                 random_state=0).fit(texts[:200], labels[:200])
    assert _save_nb_weights(other.steps[-1][1], path / "nb_weights.npz")
    _write_checksums(path, ("config.json", "model.keras", "vocabulary.json", "spans.npz", "ngram_index.npz",
                            "nb_weights.npz"))
    with pytest.raises(ModelFormatError, match=r"vocabulary\.json has \d+ tokens but .*nb_weights\.npz has weights "
                                                r"for 500: the files come from different models"):
        load_model(path)
    (path / "nb_weights.npz").write_bytes(b"PK\x03\x04 not an npz")
    _write_checksums(path, ("config.json", "model.keras", "vocabulary.json", "spans.npz", "ngram_index.npz",
                            "nb_weights.npz"))
    with pytest.raises(ModelFormatError, match=r"nb_weights\.npz"):
        load_model(path)
    assert _save_nb_weights(fitted_nb_pipe.steps[-1][1], path / "nb_weights.npz")  # all arrays in it (version 2)
    n = len(fitted_nb_pipe.steps[-1][1].vocabulary_)
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(n, 1, name="embedding")(inputs)
    outputs = keras.layers.Lambda(lambda t: keras.ops.sum(t, axis=(1, 2))[:, None])(x)
    keras.Model(inputs, outputs).save(path / "model.keras")
    _write_checksums(path, ("config.json", "model.keras", "vocabulary.json", "spans.npz", "ngram_index.npz",
                            "nb_weights.npz"))
    loaded = load_model(path)
    np.testing.assert_allclose(loaded.predict_proba(texts[400:420]), fitted_nb_pipe.predict_proba(texts[400:420]),
                               rtol=1e-6, atol=1e-7)
    with pytest.raises(ModelFormatError, match=r"model\.keras of this classifier cannot be loaded by Keras in safe mode"):
        loaded.steps[-1][1].model_


def test_persistence_unfitted_estimator(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted yet"):
        save_model(EmbeddingClassifier(), tmp_path / "m")


def test_persistence_ngram_index_of_another_vocabulary_refused(fitted_pipe, tmp_path):
    """An ngram_index.npz that does not belong to the folder's vocabulary (checksums rewritten to match, as a
    hand-assembled folder would have) is refused with a ModelFormatError naming the file, not attached."""
    from toolkit import TokenizedCorpus, Vocabulary

    path = save_model(fitted_pipe, tmp_path / "pipe")
    other = Vocabulary.from_documents(TokenizedCorpus.from_token_lists([["a", "film"], ["another", "one"]]).ngrams((1, 2)))
    assert other.save_ngram_index(path / "ngram_index.npz")
    _write_checksums(path, ("config.json", "model.keras", "vocabulary.json", "spans.npz", "ngram_index.npz"))
    with pytest.raises(ModelFormatError, match=r"ngram_index.npz cannot be read \(.*is the n-gram index of a vocabulary"):
        load_model(path)
