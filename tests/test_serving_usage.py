"""A user who serves a trained model: loads it once, answers one request (one document) at a time, from
threads or forked workers, and runs ``toolkit predict`` on files. Small real IMDB samples (conftest)."""

from __future__ import annotations

import json
import pickle
import tracemalloc

import numpy as np
import pytest
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def cnn(imdb_tokens):
    """A Keras-architecture classifier (a convolution over padded ids), fitted on 200 real reviews."""
    from toolkit.models import EmbeddingClassifier

    docs, labels = imdb_tokens
    return EmbeddingClassifier(architecture="cnn", maxlen=60, max_tokens=3000, epochs=1, validation_split=0.0,
                               random_state=0).fit(docs[:200], labels[:200])


def test_keras_architecture_predicts_an_empty_batch(cnn):
    """A request with no documents: before, the convolution of 0 rows failed inside TensorFlow
    (InvalidArgumentError, "Incompatible shapes: [0,60,50] vs. [1,1,128]") while the NB architectures and
    scikit-learn transformers returned empty arrays. Now: (0, n_classes) / (0,), as for any batch."""
    proba = cnn.predict_proba([])
    assert proba.shape == (0, 2) and proba.dtype == np.float64
    pred = cnn.predict([])
    assert pred.shape == (0,) and pred.dtype == cnn.classes_.dtype
    assert cnn.decision_function([]).shape == (0,)
    # documents with no tokens beside none at all: the class prior, not a model call
    assert np.allclose(cnn.predict_proba([[]]), [cnn.class_prior_])


def test_a_forked_worker_gets_an_error_not_a_hang(cnn, monkeypatch):
    """A web server that loads a Keras model and then forks its workers (gunicorn --preload, a fork
    ProcessPoolExecutor): TensorFlow hangs in the child for good (measured: a cnn folder loaded, never
    called, then fork; the child's predict_proba never returned). Now the child's call raises at once with
    what to do. Simulated here: this process posing as a fork of the one that fitted the model."""
    import os

    from toolkit.models import classifier

    docs = [["a", "wonderful", "film"]]
    expected = cnn.predict_proba(docs)
    pid = os.getpid()
    monkeypatch.setattr(classifier.os, "getpid", lambda: pid + 1)
    with pytest.raises(RuntimeError, match=r"made \(fitted or loaded\) in process \d+.*is a fork of it.*spawn"):
        cnn.predict_proba(docs)
    with pytest.raises(RuntimeError, match="fork"):
        cnn.predict(docs)
    # a copy unpickled in this process rebuilds its Keras model here: it predicts; the pickle holds no pid
    # (a saved or pickled model has the same bytes in any process)
    assert "_model_pid" not in cnn.__getstate__()
    copy = pickle.loads(pickle.dumps(cnn))
    assert np.allclose(copy.predict_proba(docs), expected)
    # an empty batch calls no model: no error either
    assert cnn.predict_proba([]).shape == (0, 2)


def test_nb_model_shared_by_fork_predicts(imdb_tokens, monkeypatch):
    """The NB architectures (the main job's) predict from numpy arrays, without TensorFlow: a forked worker
    may use the parent's model, and the fork check does not refuse it."""
    import os

    from toolkit.models import EmbeddingClassifier, classifier

    docs, labels = imdb_tokens
    clf = EmbeddingClassifier(architecture="nbsvm", maxlen=None, epochs=1, validation_split=0.0,
                              random_state=0).fit(docs[:200], labels[:200])
    expected = clf.predict_proba(docs[200:210])
    pid = os.getpid()
    monkeypatch.setattr(classifier.os, "getpid", lambda: pid + 1)
    assert np.array_equal(clf.predict_proba(docs[200:210]), expected)


def test_nb_prediction_memory_does_not_scale_with_the_longest_training_document(imdb_tokens):
    """The NB architectures' rows were padded to ``maxlen_`` (with ``maxlen=None``: the longest training
    document's distinct ids) before prediction, an ``n_documents x maxlen_`` matrix taken apart again right
    after: memory grew with the batch times the longest training review (0.5 GB of ``toolkit predict``'s
    1.1 GB for 20,000 reviews). Here one long training document (every training review joined) makes
    ``maxlen_`` ~10,000; predicting 1,800 reviews padded ~1,800 x 10,000 int32 cells plus a mask (90 MB).
    The flat rows cost a few MB, and the outputs are the same."""
    from toolkit.models import EmbeddingClassifier
    from toolkit.models.hybrid import nb_model_outputs

    docs, labels = imdb_tokens
    long_doc = [token for doc in docs[:400] for token in doc]
    clf = EmbeddingClassifier(architecture="nbsvm", maxlen=None, epochs=1, validation_split=0.0,
                              random_state=0).fit(docs[:400] + [long_doc], list(labels[:400]) + [labels[0]])
    assert clf.maxlen_ > 8000
    batch = docs * 3
    tracemalloc.start()
    try:
        proba = clf.predict_proba(batch)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20, f"predict_proba of {len(batch)} documents peaked at {peak / 2**20:.0f} MB"
    from toolkit.text import TokenizedCorpus

    padded = nb_model_outputs(None, clf._sequences(TokenizedCorpus.from_token_lists(batch)), clf._nb_arrays())
    assert np.array_equal(proba[:, 1], padded[:, 0])
    # a maxlen_ shorter than the documents cuts each row the same way as the padding did
    clf.maxlen_ = 20
    corpus = TokenizedCorpus.from_token_lists(docs[:50])
    assert np.array_equal(clf.predict_proba(corpus)[:, 1],
                          nb_model_outputs(None, clf._sequences(corpus), clf._nb_arrays())[:, 0])


@pytest.fixture(scope="module")
def own_pipeline_folder(imdb_small, tmp_path_factory):
    """``make_pipeline(SpacyTokenizer(ngram_range=(1, 2), max_length=300), BagEncoder, NBSVMClassifier)`` fitted
    on 200 real reviews and saved: the tokenizer step is named "spacytokenizer", as make_pipeline names it."""
    from sklearn.pipeline import make_pipeline

    from toolkit import BagEncoder, NBSVMClassifier, SpacyTokenizer, save_model

    texts, labels = imdb_small
    pipe = make_pipeline(SpacyTokenizer(ngram_range=(1, 2)), BagEncoder(output_mode="count"),
                         NBSVMClassifier(loss="log_loss"))
    pipe.fit(texts[:200], labels[:200])
    pipe.set_params(spacytokenizer__max_length=300)  # refuses the longer requests from now on
    folder = tmp_path_factory.mktemp("serving") / "own model"
    save_model(pipe, folder)
    return folder


def test_predict_skip_bad_with_a_make_pipeline_model(own_pipeline_folder):
    """``toolkit predict --skip-bad`` on the user's own saved ``make_pipeline(SpacyTokenizer(), ...)``: before,
    "skip_bad needs a pipeline whose SpacyTokenizer has errors='skip'" (exit 1), because only a step named
    "tokenizer" was looked for. Now the first step is found by its type."""
    from toolkit.cli.train import predict
    from toolkit.exceptions import DocumentError

    texts = ["A wonderful, moving film.", "long " * 100, "Dull and far too long."]
    with pytest.raises(DocumentError, match="Document 1 of X"):
        predict(own_pipeline_folder, texts)
    rows = predict(own_pipeline_folder, texts, skip_bad=True)
    assert rows[1] == {"label": None, "skipped": True}
    assert [rows[0], rows[2]] == predict(own_pipeline_folder, [texts[0], texts[2]])
    assert set(rows[0]["probabilities"]) == {"neg", "pos"}

    from toolkit.cli import app

    result = CliRunner().invoke(app, ["-q", "predict", str(own_pipeline_folder), "--skip-bad"],
                                input="\n".join(texts) + "\n")
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == rows


def test_predict_skip_bad_without_a_tokenizer_says_so(imdb_tokens):
    """A fitted estimator without a SpacyTokenizer first: an error naming what is missing (since session 44 the
    model's own error, which also says how to save it with its tokenizer, comes before skip_bad's)."""
    from toolkit.cli.train import predict
    from toolkit.exceptions import ModelFormatError
    from toolkit.models import EmbeddingClassifier

    docs, labels = imdb_tokens
    clf = EmbeddingClassifier(architecture="nbsvm", epochs=1, validation_split=0.0,
                              random_state=0).fit(docs[:100], labels[:100])
    with pytest.raises(ModelFormatError, match="holds an EmbeddingClassifier without a tokenizer.*make_pipeline"
                                               r"\(SpacyTokenizer"):
        predict(clf, ["a good film"], skip_bad=True)


def test_loaded_model_answers_threads_as_it_answers_one_caller(own_pipeline_folder, imdb_small):
    """One loaded model, eight threads, one document per call: the same answers as sequential calls and
    as one batch (the tokenizer's span table and the bag counts are shared state)."""
    from concurrent.futures import ThreadPoolExecutor

    from toolkit import load_model

    texts = [t[:280] for t in imdb_small[0][200:280]]  # under the saved max_length
    model = load_model(own_pipeline_folder)
    with ThreadPoolExecutor(8) as pool:
        parallel = np.vstack(list(pool.map(lambda t: model.predict_proba([t]), texts)))
    sequential = np.vstack([model.predict_proba([t]) for t in texts])
    assert np.array_equal(parallel, sequential)
    assert np.allclose(model.predict_proba(texts), sequential, atol=1e-12)


def test_predict_scores_a_large_input_in_chunks(own_pipeline_folder, imdb_small, monkeypatch):
    """``toolkit predict`` on a big file: the model was called once on every document, so its inputs (the
    n-gram ids of every review, padded rows) existed all at once: 20,000 reviews through a main-job model
    peaked at 1.07 GB (1.41 GB with --skip-bad, which also built every n-gram string), and the peak grew
    with the file. Now the model sees PREDICT_CHUNK documents at a time (0.59 / 0.58 GB for the same file),
    with the same rows; the tokenizer still sees the whole input, so its errors and logs name the lines."""
    from toolkit.cli import train as cli_train

    texts = [t[:280] for t in imdb_small[0][200:230]]
    texts[12] = "long " * 100  # over the saved max_length
    whole = cli_train.predict(own_pipeline_folder, texts, skip_bad=True)
    seen = []
    real = cli_train._scores
    monkeypatch.setattr(cli_train, "_scores", lambda model, X: seen.append(len(X)) or real(model, X))
    monkeypatch.setattr(cli_train, "PREDICT_CHUNK", 7)
    chunked = cli_train.predict(own_pipeline_folder, texts, skip_bad=True)
    assert seen == [7, 7, 7, 7, 1]  # the 29 documents kept
    assert chunked[12] == {"label": None, "skipped": True}
    assert [row["label"] for row in chunked] == [row["label"] for row in whole]
    for a, b in zip(chunked, whole):
        if "probabilities" in a:
            assert a["probabilities"] == pytest.approx(b["probabilities"], abs=2e-6)


def test_taking_chunks_of_ngram_tokens_builds_no_ngram_strings(imdb_small):
    """A chunk of the tokenizer's 1-3-grams is the n-grams of the chunk's tokens: taken without building the
    n-gram strings of the whole input (``TokenizedCorpus.take`` did), with the same documents."""
    from toolkit import SpacyTokenizer

    tokens = SpacyTokenizer(ngram_range=(1, 3)).fit_transform(imdb_small[0][:20])
    taken = tokens.take([3, 1, 19])
    mask = np.zeros(20, dtype=bool)
    mask[[1, 3]] = True
    masked = tokens.take(mask)
    assert not tokens._built()
    assert taken.to_list() == [tokens.to_list()[i] for i in (3, 1, 19)]
    assert masked.to_list() == [tokens.to_list()[i] for i in (1, 3)]
    assert tokens.take([-1]).to_list() == [tokens.to_list()[19]]


def test_predict_names_a_refused_document_by_its_place_in_the_input(monkeypatch):
    """A model without a SpacyTokenizer first gets the raw texts chunk by chunk; a document it refuses is
    named by its index in the whole input, not in its chunk."""
    from sklearn.base import BaseEstimator, ClassifierMixin

    from toolkit.cli import train as cli_train
    from toolkit.exceptions import DocumentError

    class RefusesBad(ClassifierMixin, BaseEstimator):
        classes_ = np.array(["neg", "pos"])

        def predict_proba(self, X):
            for i, text in enumerate(X):
                if text == "bad":
                    raise DocumentError(f"Document {i} of X is bad; drop it.", document_index=i)
            return np.tile([0.25, 0.75], (len(X), 1))

    monkeypatch.setattr(cli_train, "PREDICT_CHUNK", 2)
    assert [row["label"] for row in cli_train.predict(RefusesBad(), ["a", "b", "c"])] == ["pos"] * 3
    with pytest.raises(DocumentError, match=r"^Document 5 of X is bad; drop it\.$") as info:
        cli_train.predict(RefusesBad(), ["a", "b", "c", "d", "e", "bad"])
    assert info.value.document_index == 5


def test_evaluate_scores_in_chunks_with_the_same_metrics(own_pipeline_folder, imdb_small, monkeypatch, tmp_path):
    """``toolkit evaluate`` called the model once on every document, as predict did (its peak grew with the
    file); it scores PREDICT_CHUNK documents at a time now, with the same metrics."""
    import csv

    from toolkit.cli import train as cli_train

    texts, labels = imdb_small
    path = tmp_path / "held out.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows((text[:280], label) for text, label in zip(texts[300:330], labels[300:330]))
    whole = cli_train.evaluate(own_pipeline_folder, str(path))
    seen = []
    real = cli_train._scores
    monkeypatch.setattr(cli_train, "_scores", lambda model, X: seen.append(len(X)) or real(model, X))
    monkeypatch.setattr(cli_train, "PREDICT_CHUNK", 7)
    chunked = cli_train.evaluate(own_pipeline_folder, str(path))
    assert seen == [7, 7, 7, 7, 2]
    assert chunked["accuracy"] == whole["accuracy"] and chunked["confusion_matrix"] == whole["confusion_matrix"]
    assert chunked["roc_auc"] == pytest.approx(whole["roc_auc"], abs=1e-9)


def test_predict_says_that_blank_lines_were_skipped(own_pipeline_folder):
    """Blank input lines were dropped without a word, so output rows pasted beside the input lines shifted
    after the first blank one. They are still skipped (one row per document), with a warning naming the first."""
    from toolkit.cli import app

    text = "A wonderful, moving film.\n\nDull and far too long.\n   \nFine.\n"
    result = CliRunner().invoke(app, ["predict", str(own_pipeline_folder)], input=text)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 3
    assert "Standard input: 2 blank line(s) skipped (first: line 2)" in result.stderr
    clean = CliRunner().invoke(app, ["predict", str(own_pipeline_folder)], input="Fine.\nGood.\n")
    assert clean.exit_code == 0 and "blank" not in clean.stderr
