"""Session 43 (h4): word2vec binary byte order, stale temporaries of killed writers, and a notebook user
following Chollet's text chapter (learned and frozen-GloVe embeddings, validation, plots, saving)."""

import numpy as np
import pytest

from toolkit.exceptions import VectorsFormatError
from toolkit.vectors import load_vectors

# ----------------------------------------------------------------------------- word2vec binary byte order


def _w2v_binary(path, words, vectors, dtype):
    out = f"{len(words)} {vectors.shape[1]}\n".encode()
    for w, v in zip(words, vectors):
        out += w.encode() + b" " + v.astype(dtype).tobytes() + b"\n"
    path.write_bytes(out)
    return path


@pytest.mark.parametrize("seed", [0, 1])
def test_big_endian_word2vec_binary_is_named(tmp_path, seed):
    """A big-endian binary (here random real-looking floats) names the file, the record and the fix,
    instead of a bare 'nan or inf' (or loading absurd finite values)."""
    vecs = np.random.default_rng(seed).normal(0, 0.4, size=(3, 20)).astype(np.float32)
    path = _w2v_binary(tmp_path / "be.bin", ["the", "movie", "film"], vecs, ">f4")
    with pytest.raises(VectorsFormatError) as info:
        load_vectors(path, format="word2vec-binary", cache=False)
    msg = str(info.value)
    assert "be.bin" in msg and "record 1 (word b'the')" in msg
    assert "big-endian" in msg and "'>f4'" in msg and "save_word2vec_format" in msg


def test_big_endian_binary_with_round_values_is_named(tmp_path):
    """Round values (1.0, 0.5) read reversed as tiny denormals, all finite: still refused as big-endian."""
    vecs = np.array([[1.0, 0.5, -0.25, 2.0], [0.5, 0.5, 1.0, -1.0]], np.float32)
    path = _w2v_binary(tmp_path / "round.bin", ["a", "b"], vecs, ">f4")
    with pytest.raises(VectorsFormatError, match=r"round\.bin, record 1 \(word b'a'\).*big-endian"):
        load_vectors(path, format="word2vec-binary", cache=False)


def test_garbage_binary_floats_name_the_format(tmp_path):
    """Floats that are nan and not big-endian either: the message says the file may not be word2vec binary."""
    vecs = np.array([[0.1, 0.2, 0.3], [0.4, np.nan, 0.6]], np.float32)
    path = _w2v_binary(tmp_path / "nan.bin", ["a", "b"], vecs, "<f4")
    with pytest.raises(VectorsFormatError, match=r"nan\.bin, record 2 \(word b'b'\): the vector holds nan or inf"
                                                 r".*may not be word2vec binary.*format='auto'"):
        load_vectors(path, format="word2vec-binary", cache=False)


def test_little_endian_binary_still_loads(tmp_path):
    vecs = np.random.default_rng(0).normal(0, 0.4, size=(3, 20)).astype(np.float32)
    path = _w2v_binary(tmp_path / "le.bin", ["the", "movie", "film"], vecs, "<f4")
    kv = load_vectors(path, format="word2vec-binary", cache=False)
    np.testing.assert_array_equal(kv["movie"], vecs[1])


# ----------------------------------------------------------------------------- temporaries of killed writers

_WRITER = """
import sys, time
from pathlib import Path
from toolkit._atomic import atomic_output
with atomic_output(Path(sys.argv[1]), directory=sys.argv[2] == "dir") as tmp:
    if sys.argv[2] == "dir":
        (tmp / "part-0.npy").write_bytes(b"half")
    else:
        tmp.write_bytes(b"half")
    print(tmp.name, flush=True)
    time.sleep(120)
"""


def _start_writer(target, kind, cwd):
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(target), kind], cwd=cwd,
                            stdout=subprocess.PIPE, text=True)
    name = proc.stdout.readline().strip()
    assert name, "the writer did not start"
    return proc, name


@pytest.mark.parametrize("kind", ["file", "dir"])
def test_a_killed_writers_temporary_goes_at_once_a_live_ones_stays(tmp_path, kind):
    import os

    from toolkit._atomic import atomic_output

    work = tmp_path / "work"
    work.mkdir()
    target = tmp_path / ("run" if kind == "dir" else "scores.npz")
    killed, killed_name = _start_writer(target, kind, work)
    live, live_name = _start_writer(target, kind, work)
    try:
        killed.kill()
        killed.wait(timeout=30)
        pid = killed.pid
        # a temporary of another host (or container) whose process id is the dead one here: not judged here
        other = "ffffff" if f".{pid}-000000" in killed_name else "000000"
        foreign = tmp_path / f".{target.name}.{pid}-{other}abcdef.tmp{'' if kind == 'dir' else '.npz'}"
        foreign.write_bytes(b"another host's") if kind == "file" else foreign.mkdir()
        assert (tmp_path / killed_name).exists() and (tmp_path / live_name).exists()
        with atomic_output(target, directory=kind == "dir") as tmp:  # the next writer
            if kind == "dir":
                (tmp / "done.txt").write_text("ok")
            else:
                tmp.write_bytes(b"whole")
        names = set(os.listdir(tmp_path))
        # was: the killed writer's half file stayed until the 6-hour sweep
        assert killed_name not in names
        assert live_name in names and foreign.name in names
        assert target.name in names
    finally:
        live.kill()
        live.wait(timeout=30)
        killed.stdout.close()
        live.stdout.close()


def test_temporary_names_carry_pid_and_old_names_stay_age_only(tmp_path):
    import os

    from toolkit._atomic import _writer_dead, atomic_output, remove_stale

    with atomic_output(tmp_path / "a.txt") as tmp:
        assert tmp.name.startswith(f".a.txt.{os.getpid()}-") and tmp.name.endswith(".tmp.txt")
        assert not _writer_dead(tmp.name)  # this process is alive
        tmp.write_text("x")
    (tmp_path / ".a.txt.0123456789ab.tmp.txt").write_text("an older toolkit's, fresh")
    (tmp_path / ".run.999999999-0123456789ab.tmp-old").mkdir()  # a moved-aside folder: never by pid here
    assert remove_stale(tmp_path, ".*.tmp*") == 0


# ----------------------------------------------------------------------------- weights changed in model_


@pytest.mark.parametrize("architecture", ["nbsvm", "bag"])
def test_weights_loaded_into_model_are_what_predicts_and_saves(imdb_tokens200, tmp_path, architecture):
    """The AttributeError of clf.load_weights says: weights saved from clf.model_ go back with
    clf.model_.load_weights(...) into an estimator fitted with the same vocabulary. Done so, "nbsvm" kept
    predicting (and save_model kept saving) the previous weights, and decision_function kept the previous
    output layer for every architecture."""
    from toolkit.models import EmbeddingClassifier, load_model, save_model

    docs, labels = imdb_tokens200
    train, held = docs[:150], docs[150:]

    def fitted(seed):
        return EmbeddingClassifier(architecture=architecture, max_tokens=1000, maxlen=40, epochs=1,
                                   validation_split=0, random_state=seed).fit(train, labels[:150])

    a, b = fitted(0), fitted(1)
    a.model_.save_weights(str(tmp_path / "a.weights.h5"))
    before = b.predict_proba(held), b.decision_function(held)  # (and fills whatever b caches)
    assert np.abs(before[0] - a.predict_proba(held)).max() > 1e-3
    b.model_.load_weights(str(tmp_path / "a.weights.h5"))
    np.testing.assert_allclose(b.predict_proba(held), a.predict_proba(held), atol=1e-6)
    np.testing.assert_allclose(b.decision_function(held), a.decision_function(held), atol=1e-5)
    saved = load_model(save_model(b, tmp_path / "b"))
    np.testing.assert_allclose(saved.predict_proba(held), a.predict_proba(held), atol=1e-6)
    b.model_.set_weights([w * 0.5 for w in b.model_.get_weights()])  # Keras' own set_weights too
    assert np.abs(b.decision_function(held) - a.decision_function(held)).max() > 1e-3


def test_nb_model_in_a_fork_makes_no_tensorflow_call(imdb_tokens200, monkeypatch):
    """The check of the NB weights reads a TensorFlow variable; in a fork of the process that made model_
    (gunicorn --preload) that would hang, so there the arrays read before the fork serve unchecked."""
    import os

    from toolkit.models import EmbeddingClassifier, classifier, hybrid

    docs, labels = imdb_tokens200
    clf = EmbeddingClassifier(architecture="nbsvm", max_tokens=1500, maxlen=60, epochs=1, validation_split=0,
                              random_state=0).fit(docs[:150], labels[:150])
    expected = clf.predict_proba(docs[150:])
    pid = os.getpid()
    monkeypatch.setattr(classifier.os, "getpid", lambda: pid + 1)

    def no_tensorflow(model):
        raise AssertionError("a TensorFlow call in a forked process")

    monkeypatch.setattr(hybrid, "nb_weights_stamp", no_tensorflow, raising=False)  # (no check before s43)
    assert np.array_equal(clf.predict_proba(docs[150:]), expected)


def test_sparse_multilabel_indicator_y(imdb_tokens200):
    """MultiLabelBinarizer(sparse_output=True)'s matrix (scikit-learn classifiers take it) raised
    "TypeError: Input should have at least 1 dimension ... got scalar array(<Compressed Sparse Row ...>)"."""
    from sklearn.preprocessing import MultiLabelBinarizer

    from toolkit.models import EmbeddingClassifier

    docs, labels = imdb_tokens200
    tags = [[label] + (["long"] if len(doc) > 230 else []) for doc, label in zip(docs, labels)]
    Y = MultiLabelBinarizer(sparse_output=True).fit_transform(tags)
    clf = EmbeddingClassifier(max_tokens=1000, maxlen=40, epochs=1, random_state=0).fit(docs[:150], Y[:150])
    assert clf.output_ == "multilabel" and list(clf.classes_) == [0, 1, 2]
    assert clf.predict_proba(docs[150:]).shape == (50, 3)
    dense = EmbeddingClassifier(max_tokens=1000, maxlen=40, epochs=1, random_state=0).fit(docs[:150],
                                                                                          Y[:150].toarray())
    np.testing.assert_array_equal(clf.predict_proba(docs[150:]), dense.predict_proba(docs[150:]))


# ----------------------------------------------------------------------------- plots


def test_word_map_takes_a_vectors_file_as_the_estimators_do(glove_small, tmp_path):
    """vectors="glove....txt" (as EmbeddingClassifier(vectors=...) takes it) raised
    "TypeError: string indices must be integers, not 'str'"."""
    from toolkit.plots import plot_word_map

    out = plot_word_map(str(glove_small), ["good", "bad", "movie", "film"], tmp_path / "map.png")
    assert out.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(KeyError, match="zzzqqq"):
        plot_word_map(glove_small, ["good", "bad", "zzzqqq"], tmp_path / "map2.png")


def test_confusion_matrix_of_probabilities_says_to_pass_labels(tmp_path):
    from toolkit.plots import plot_confusion_matrix

    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8]])
    with pytest.raises(ValueError, match=r"got shapes \(3,\) and \(3, 2\)\. .*pass predicted labels, clf\.predict"):
        plot_confusion_matrix(["neg", "pos", "pos"], proba, ["neg", "pos"], tmp_path / "cm.png")
    Y = np.array([[1, 0], [0, 1], [1, 1]])
    with pytest.raises(ValueError, match=r"multilabel indicator matrices.*y_true\[:, j\]"):
        plot_confusion_matrix(Y, Y, [0, 1], tmp_path / "cm.png")
    assert list(tmp_path.iterdir()) == []
