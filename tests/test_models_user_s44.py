"""Session 44 (h3): the classifier's documents without tokens told to the Dask side structurally (no log
filtering by message text), NB label checks run once per fit, the stack's ``clusters=`` named when its
WordClusterer gets more clusters than words, and a notebook user of EmbeddingClassifier / NBSVMClassifier on
small real IMDB samples.

Dask tests use the synchronous scheduler, but one: a ``distributed.LocalCluster`` on 127.0.0.1 started here. No
assertion on time or on the names Dask gives its tasks.
"""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest
from conftest import write_vectors


def _warnings(caplog, logger):
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelno == logging.WARNING]


@pytest.fixture(scope="module")
def tokens24(imdb_tokens):
    docs, labels = imdb_tokens
    return [list(d) for d in docs[:24]], [str(y) for y in labels[:24]]


@pytest.fixture(scope="module")
def small_clf(tokens24):
    from toolkit.models import EmbeddingClassifier

    docs, labels = tokens24
    # "nbsvm": unpickled, it predicts with numpy, so a worker process never imports TensorFlow for it
    return EmbeddingClassifier(architecture="nbsvm", epochs=1, random_state=0).fit(docs, labels)


def _blanks(docs):
    """The token lists with three empty ones at positions 10 to 12."""
    return docs[:10] + [[], [], []] + docs[10:]


@pytest.fixture
def classifier_logger_at_error():
    """The classifier's logger set to ERROR, as a user who silences one chatty logger does; put back after."""
    log = logging.getLogger("toolkit.models.classifier")
    level = log.level
    log.setLevel(logging.ERROR)
    yield log
    log.setLevel(level)


# --------------------------------------------------------------------- documents without tokens, structurally
def test_noting_empty_documents_takes_the_note_instead_of_the_warning(small_clf, tokens24, caplog):
    from toolkit.models.classifier import _noting_empty_documents

    docs = _blanks(tokens24[0])
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        expected = small_clf.predict_proba(docs)
    assert len(_warnings(caplog, "toolkit.models.classifier")) == 1  # in memory: the warning, as before
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit"), _noting_empty_documents() as notes:
        got = small_clf.predict_proba(docs)
    np.testing.assert_array_equal(got, expected)
    assert not _warnings(caplog, "toolkit.models.classifier")
    assert notes == [{"count": 3, "n": len(docs), "first": 10,
                      "prior": dict(zip(["neg", "pos"], np.round(small_clf.class_prior_, 4).tolist()))}]
    with caplog.at_level(logging.WARNING, logger="toolkit"):  # outside: the warning again
        small_clf.decision_function(docs)
    assert len(_warnings(caplog, "toolkit.models.classifier")) == 1


def test_the_warning_names_each_class_with_its_prior(small_clf, tokens24, caplog):
    """A binary model said "they get the class prior [0.5417]": one number, of no class named, while
    predict_proba gave those documents two."""
    prior = {c: round(float(p), 4) for c, p in zip(["neg", "pos"], small_clf.class_prior_)}
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        proba = small_clf.predict_proba([[], tokens24[0][0]])
    (message,) = _warnings(caplog, "toolkit.models.classifier")
    assert message.endswith(f"they get the class prior {prior}."), message
    np.testing.assert_allclose(proba[0], list(prior.values()), atol=1e-4)


def test_write_predictions_counts_blank_documents_with_the_classifier_logger_silenced(
        small_clf, tokens24, tmp_path, caplog, classifier_logger_at_error):
    """The count came from a log filter matching the classifier's message: with that logger at ERROR (or the
    message reworded) the filter saw nothing and write_predictions said nothing of the three blank documents."""
    import dask.bag as db

    from toolkit.distributed import write_predictions

    docs = _blanks(tokens24[0])
    with caplog.at_level(logging.WARNING, logger="toolkit.distributed"):
        write_predictions(small_clf, db.from_sequence(docs, npartitions=4), tmp_path / "p", scheduler="sync")
    empty = [m for m in _warnings(caplog, "toolkit.distributed.prediction") if "no tokens" in m]
    assert len(empty) == 1, empty
    assert f"3 of {len(docs)} document(s) have no tokens" in empty[0]
    assert "first: document 10 of the input" in empty[0]


def test_lazy_predict_names_the_partition_with_the_classifier_logger_silenced(
        small_clf, tokens24, caplog, classifier_logger_at_error):
    import dask
    import dask.bag as db

    from toolkit.distributed import predict

    docs = _blanks(tokens24[0])
    with dask.config.set(scheduler="sync"), caplog.at_level(logging.WARNING, logger="toolkit.distributed"):
        got = predict(small_clf, db.from_sequence(docs, npartitions=4)).compute()  # 7 a partition: 10-12 in 1
    assert got == small_clf.predict(docs).tolist()
    messages = [m for m in _warnings(caplog, "toolkit.distributed.prediction") if "no tokens" in m]
    assert len(messages) == 1 and "3 of 7 document(s) of partition 1 of the bag" in messages[0], messages
    assert "(first: its document 3)" in messages[0]


def test_write_predictions_counts_blank_documents_of_quiet_workers(small_clf, tokens24, tmp_path, caplog):
    """On a cluster whose workers log only errors from the classifier, the client still gets the count."""
    import dask.bag as db
    from distributed import Client, LocalCluster

    from toolkit.distributed import write_predictions

    docs = _blanks(tokens24[0])
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0", silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
        client.run(lambda: logging.getLogger("toolkit.models.classifier").setLevel(logging.ERROR))
        with caplog.at_level(logging.WARNING, logger="toolkit.distributed"):
            write_predictions(small_clf, db.from_sequence(docs, npartitions=3), tmp_path / "p")
    empty = [m for m in _warnings(caplog, "toolkit.distributed.prediction") if "no tokens" in m]
    assert len(empty) == 1 and f"3 of {len(docs)} document(s) have no tokens" in empty[0], empty


# ----------------------------------------------------------------------------------- NB label checks, once
@pytest.mark.parametrize("make_y", [
    lambda y: list(y),
    lambda y: np.asarray(y, dtype=object),
    lambda y: np.asarray(y, dtype=object)[:, None],
    lambda y: __import__("pandas").Series(y),
    lambda y: __import__("pandas").DataFrame({"label": y}),
], ids=["list", "object-array", "object-column", "series", "dataframe-column"])
@pytest.mark.filterwarnings("ignore:A column-vector y was passed")
def test_nb_fit_checks_label_values_once(make_y, monkeypatch):
    from toolkit import _validation
    from toolkit.models.naive_bayes import NBFeatureScaler, NBSVMClassifier

    calls = []
    real = _validation._check_label_values
    monkeypatch.setattr(_validation, "_check_label_values", lambda y, owner: calls.append(owner) or real(y, owner))
    X = np.array([[1, 0, 2], [0, 1, 0], [1, 1, 0], [2, 0, 1]])
    for estimator in (NBSVMClassifier(), NBFeatureScaler()):
        calls.clear()
        estimator.fit(X, make_y(["pos", "neg", "pos", "neg"]))
        assert calls == [type(estimator).__name__], calls


@pytest.mark.parametrize("make_y", [
    lambda y: np.asarray(y, dtype=object)[:, None],
    lambda y: __import__("pandas").DataFrame({"label": y}),
    lambda y: [[v] for v in y],
], ids=["object-column", "dataframe-column", "lists-of-one"])
@pytest.mark.filterwarnings("ignore:A column-vector y was passed")
def test_nb_fit_names_a_missing_label_of_a_one_column_y(make_y):
    """Checked once, on y as given: a one-column y too (a DataFrame's None was scikit-learn's 'Input contains
    NaN', which named neither y nor the fix)."""
    from toolkit.models.naive_bayes import NBSVMClassifier

    X = np.array([[1, 0, 2], [0, 1, 0], [1, 1, 0], [2, 0, 1]])
    with pytest.raises(ValueError, match=r"y has 1 missing label\(s\) \(None or NaN\), the first at index 2\. "
                                         r"NBSVMClassifier learns one class per label"):
        NBSVMClassifier().fit(X, make_y(["pos", "neg", None, "neg"]))
    with pytest.raises(ValueError, match=r"y mixes label types \(numbers and text\)"):
        NBSVMClassifier().fit(X, np.asarray(["pos", "neg", 1, "neg"], dtype=object)[:, None])


@pytest.mark.parametrize("make_y", [
    lambda y: np.where(np.asarray(y) == "pos", 1.0, np.nan),
    lambda y: __import__("pandas").Series([1 if v == "pos" else None for v in y], dtype="Int64"),
], ids=["float-nan", "Int64-NA"])
def test_nb_fit_names_a_missing_numeric_label(make_y):
    """scikit-learn's "Input y contains NaN." named neither the document nor the fix."""
    from toolkit.models.naive_bayes import NBSVMClassifier

    X = np.array([[1, 0, 2], [0, 1, 0], [1, 1, 0], [2, 0, 1]])
    with pytest.raises(ValueError, match=r"y has 2 missing label\(s\) \(None or NaN\), the first at index 1\. "
                                         r"NBSVMClassifier learns one class per label: fill them in, or drop"):
        NBSVMClassifier().fit(X, make_y(["pos", "neg", "pos", "neg"]))


# ------------------------------------------------------------------------------ clusters of the stack, named
def test_too_many_clusters_keeps_its_numbers_through_pickle(tmp_path, tokens24):
    from toolkit.vectors.clusters import WordClusterer, _TooManyClusters

    path = write_vectors(tmp_path / "v.txt", ["good", "bad", "film", "movie", "plot"])
    with pytest.raises(ValueError, match=r"^The 'n_clusters' parameter of WordClusterer \(50\) is larger than the "
                                         r"number of words with a vector \(5\); choose n_clusters <= 5\.$") as info:
        WordClusterer(vectors=str(path), n_clusters=50).fit(tokens24[0])
    err = pickle.loads(pickle.dumps(info.value))  # as from a joblib or Dask worker process
    assert isinstance(err, _TooManyClusters) and (err.n_clusters, err.n_words) == (50, 5)
    assert str(err.naming("StackedTextClassifier", "clusters")) == (
        "The 'clusters' parameter of StackedTextClassifier (50) is larger than the number of words with a vector "
        "(5); choose clusters <= 5.")


def test_stack_names_its_clusters_parameter(tmp_path, tokens24):
    from toolkit.models import StackedTextClassifier

    path = write_vectors(tmp_path / "v.txt", ["good", "bad", "film", "movie", "plot"])
    docs, labels = tokens24
    with pytest.raises(ValueError, match=r"^The 'clusters' parameter of StackedTextClassifier \(50\) is larger "
                                         r"than the number of words with a vector \(5\); choose clusters <= 5\.$"):
        StackedTextClassifier(vectors=str(path), pooling=None, clusters=50, cv=2).fit(docs, labels)


# --------------------------------------------------------------------------------------- notebook user's hunt
@pytest.fixture(scope="module")
def counts(imdb_tokens):
    from toolkit.text import BagEncoder

    docs, labels = imdb_tokens
    enc = BagEncoder().fit(docs[:200])
    return enc.transform(docs[:200]), np.asarray(labels[:200]), enc.transform(docs[200:260])


def test_nbsvm_probabilities_come_from_the_loss_it_was_fitted_with(counts, tmp_path):
    """A hinge fit, then set_params(loss="log_loss") without a refit: predict_proba gave the sigmoid of the SVM's
    margins (about 0.5 for every review), silently; and a log-loss fit lost its probabilities to set_params."""
    from sklearn.pipeline import make_pipeline

    from toolkit.models import NBSVMClassifier, load_model, save_model

    X, y, X_new = counts
    hinge = NBSVMClassifier(random_state=0).fit(X, y).set_params(loss="log_loss")
    assert not hasattr(hinge, "predict_proba")
    with pytest.raises(AttributeError) as info:
        hinge.predict_proba(X_new)
    assert str(info.value.__cause__) == (
        "predict_proba is not available: this NBSVMClassifier was fitted with loss='squared_hinge'; "
        "loss='log_loss', set since, takes effect at the next fit. Fit again for probabilities; decision_function "
        "gives the fitted model's scores.")
    refit = hinge.fit(X, y)  # now a log-loss model
    expected = refit.predict_proba(X_new)
    np.testing.assert_allclose(NBSVMClassifier(loss="log_loss", random_state=0).fit(X, y).predict_proba(X_new),
                               expected)
    refit.set_params(loss="hinge")  # takes effect at the next fit: the fitted model still gives its probabilities
    np.testing.assert_array_equal(refit.predict_proba(X_new), expected)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(refit)).predict_proba(X_new), expected)
    assert not hasattr(NBSVMClassifier(), "predict_proba") and hasattr(NBSVMClassifier(loss="log_loss"),
                                                                      "predict_proba")
    pipe = make_pipeline(NBSVMClassifier(loss="log_loss", random_state=0)).fit(X, y)
    np.testing.assert_array_equal(load_model(save_model(pipe, tmp_path / "m")).predict_proba(X_new), expected)


@pytest.mark.parametrize("weights, bad", [({"pos": -2.0}, {"pos": -2.0}), ({"pos": float("nan")}, {"pos": float("nan")}),
                                          ({"neg": 1, "pos": float("inf")}, {"pos": float("inf")})],
                         ids=["negative", "nan", "inf"])
def test_class_weight_values_are_checked_naming_class_weight(tokens24, counts, weights, bad):
    """EmbeddingClassifier trained on a negative weight (the class's loss became a gain) or a NaN one (a NaN loss)
    without a word; NBSVMClassifier refused them as "sample_weight must hold one non-negative weight per sample",
    a parameter the user had not given."""
    from toolkit.models import EmbeddingClassifier, NBSVMClassifier

    docs, labels = tokens24
    X, y, _ = counts
    for make, fit in ((lambda cw: EmbeddingClassifier(architecture="bag", epochs=1, class_weight=cw),
                       lambda clf: clf.fit(docs, labels)),
                      (lambda cw: NBSVMClassifier(class_weight=cw), lambda clf: clf.fit(X, y))):
        clf = make(weights)
        with pytest.raises(ValueError) as info:
            fit(clf)
        assert str(info.value) == (f"The 'class_weight' parameter of {type(clf).__name__} must map classes to "
                                   f"finite weights >= 0. Got {bad!r} instead.")


def test_class_weight_of_zero_for_every_class_is_refused(tokens24):
    """Keras trained without a gradient (every loss weighed 0) and returned a model, silently."""
    from toolkit.models import EmbeddingClassifier

    docs, labels = tokens24
    with pytest.raises(ValueError, match=r"^class_weight=\{'neg': 0, 'pos': 0\} gives every document of X weight 0: "
                                         r"nothing would be learned\. Give a class of y a positive weight\.$"):
        EmbeddingClassifier(architecture="bag", epochs=1, class_weight={"neg": 0, "pos": 0}).fit(docs, labels)
    weights = np.where(np.asarray(labels) == "pos", 1.0, 0.0)
    with pytest.raises(ValueError, match=r"^class_weight=\{'pos': 0\} times sample_weight gives every document"):
        EmbeddingClassifier(architecture="bag", epochs=1, class_weight={"pos": 0}).fit(docs, labels,
                                                                                        sample_weight=weights)
