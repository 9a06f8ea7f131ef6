"""A scikit-learn user's hunt over the NB models, pseudo-labelling and plots (forty-eighth session): a labelled
scorer under metadata routing, NumPy-scalar hyperparameters of NBSVM, confusion matrices of labels with gaps."""

from __future__ import annotations

import logging

import numpy as np
import pytest


@pytest.fixture(scope="module")
def counts(imdb_small):
    """300 real reviews as counts, their 'neg'/'pos' labels, and int labels with the last 150 unlabelled (-1)."""
    from sklearn.feature_extraction.text import CountVectorizer

    texts, labels = imdb_small
    X = CountVectorizer(min_df=2).fit_transform(texts[:300])
    y = np.asarray(labels[:300])
    partly = (y == "pos").astype(int)
    partly[150:] = -1
    return X, y, partly


# --- labelled_scorer under metadata routing ---------------------------------------------------------------------


def _weighted_labelled_accuracy(est, X, y, weights, cv):
    """What a weighted labelled scorer should give per test fold, by hand."""
    from sklearn.base import clone

    out = []
    for train, test in cv.split(X):
        model = clone(est).fit(X[train], y[train])
        kept = test[y[test] != -1]
        out.append(np.average(model.predict(X[kept]) == y[kept], weights=weights[kept]))
    return np.asarray(out)


def test_labelled_scorer_takes_sample_weight_under_metadata_routing(counts):
    """Was: "cross_validate.fit got unexpected argument(s) {'sample_weight'}, which are not routed to any object",
    whether or not the scorer labelled_scorer wraps had requested the weights: the wrapper had no routing."""
    import sklearn
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import KFold, cross_validate

    from toolkit.models import NBSVMClassifier
    from toolkit.models.semi_supervised import PseudoLabelClassifier, labelled_scorer

    X, _, y = counts
    weights = np.where(np.arange(y.size) % 2 == 0, 5.0, 0.5)
    cv = KFold(3, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        est = PseudoLabelClassifier(NBSVMClassifier(random_state=0), random_state=0).set_fit_request(
            sample_weight=False)
        expected = _weighted_labelled_accuracy(est, X, y, weights, cv)
        for scorer in (labelled_scorer("accuracy").set_score_request(sample_weight=True),
                       labelled_scorer(get_scorer("accuracy").set_score_request(sample_weight=True))):
            got = cross_validate(est, X, y, cv=cv, scoring=scorer, params={"sample_weight": weights})["test_score"]
            np.testing.assert_allclose(got, expected)
        # the weights matter here: the unweighted labelled accuracy differs
        plain = cross_validate(est, X, y, cv=cv, scoring=labelled_scorer("accuracy"))["test_score"]
        assert not np.allclose(plain, expected)
        # not requested: scikit-learn's own error, naming the labelled scorer and its set_score_request
        with pytest.raises(Exception, match=r"labelled_scorer\('accuracy'\)\.set_score_request"):
            cross_validate(est, X, y, cv=cv, scoring=labelled_scorer("accuracy"), params={"sample_weight": weights})


def test_labelled_scorer_request_leaves_the_callers_scorer_alone_and_pickles():
    import pickle

    import sklearn
    from sklearn.metrics import get_scorer

    from toolkit.models.semi_supervised import labelled_scorer

    with sklearn.config_context(enable_metadata_routing=True):
        mine = get_scorer("accuracy")
        wrapped = labelled_scorer(mine).set_score_request(sample_weight=True)
        assert wrapped.get_metadata_routing().score.requests["sample_weight"] is True
        assert mine.get_metadata_routing().score.requests["sample_weight"] is None
        assert pickle.loads(pickle.dumps(wrapped)).get_metadata_routing().score.requests["sample_weight"] is True


# --- NBSVM: NumPy scalars as hyperparameters -----------------------------------------------------------------------


@pytest.mark.parametrize("beta", [np.float16(0.3), np.float32(0.3)])
def test_nbsvm_numpy_scalar_beta_fits_as_the_same_python_float(counts, beta):
    """Was: intercept_ of the scalar's precision (np.float16(0.3) * float is a float16 under NumPy 2), so the
    decision values moved off those of the same beta as a Python float."""
    from toolkit.models import NBSVMClassifier

    X, y, _ = counts
    scalar = NBSVMClassifier(beta=beta, random_state=0).fit(X, y)
    plain = NBSVMClassifier(beta=float(beta), random_state=0).fit(X, y)
    assert scalar.intercept_.dtype == np.float64
    np.testing.assert_array_equal(scalar.intercept_, plain.intercept_)
    np.testing.assert_array_equal(scalar.decision_function(X), plain.decision_function(X))


def test_log_count_ratio_numpy_scalar_alpha_with_class_size_scaling(counts):
    """Was: alpha * (size_pos / smallest) rounded to a float16, and ratios that differ from alpha as a float."""
    from toolkit.models import log_count_ratio

    X, y, _ = counts
    y = np.where(np.arange(y.size) < 60, y, "neg")  # unequal sides: the larger one's alpha is scaled
    alpha = np.float16(0.3)
    np.testing.assert_array_equal(log_count_ratio(X, y, alpha=alpha, alpha_scaling="class_size"),
                                  log_count_ratio(X, y, alpha=float(alpha), alpha_scaling="class_size"))


# --- plot_confusion_matrix: missing labels, mixed label types, one class -------------------------------------------


@pytest.fixture(scope="module")
def predicted(counts):
    """Labels and NBSVM predictions of 100 real reviews, as object arrays."""
    from toolkit.models import NBSVMClassifier

    X, y, _ = counts
    clf = NBSVMClassifier(random_state=0).fit(X[:200], y[:200])
    return y[200:].astype(object), clf.predict(X[200:]).astype(object)


@pytest.mark.parametrize("labels", [None, ["neg", "pos"]])
@pytest.mark.parametrize("missing", [None, float("nan")])
def test_confusion_matrix_of_a_missing_label_names_it(predicted, labels, missing):
    """Was (labels=None): TypeError "'<' not supported between instances of 'NoneType' and 'str'"; with labels,
    "holds label(s) None that labels lacks" as if None were a class."""
    from toolkit.plots import plot_confusion_matrix

    y_true, y_pred = (a.copy() for a in predicted)
    y_true[7] = missing  # a label lost in a merge (pandas gives NaN)
    with pytest.raises(ValueError, match=r"y_true holds a missing label \((None|nan) at index 7; 1 of 100 "
                                         r"samples\).*pd.notna\(y_true\)"):
        plot_confusion_matrix(y_true, y_pred, labels)
    y_true, y_pred = predicted
    y_pred = y_pred.copy()
    y_pred[[3, 5]] = missing
    with pytest.raises(ValueError, match=r"y_pred holds a missing label .* at index 3; 2 of 100"):
        plot_confusion_matrix(y_true, y_pred, labels)


def test_confusion_matrix_of_mixed_label_types_without_labels_says_what_to_do(predicted):
    """Was: TypeError "'<' not supported between instances of 'str' and 'int'" (numpy's sort of the labels)."""
    from toolkit.plots import plot_confusion_matrix

    y_true, y_pred = (a.copy() for a in predicted)
    y_true[0] = 1  # one label kept as a number among class names
    with pytest.raises(ValueError, match=r"cannot find the classes of y_true and y_pred: .* labels=clf.classes_ "
                                         r".* 1 and '1' are two classes"):
        plot_confusion_matrix(y_true, y_pred)


def test_confusion_matrix_of_one_class_asked_for_draws_without_a_warning(predicted, caplog):
    """Was: scikit-learn's UserWarning "A single label was found ... use the 'labels' parameter" even with the
    labels given (an error under this suite's filterwarnings); without labels the advice names plot_confusion_matrix's
    own parameter."""
    from toolkit.plots import plot_confusion_matrix

    y_true, _ = predicted
    pos = y_true[y_true == "pos"]
    fig = plot_confusion_matrix(pos, pos, labels=["pos"])
    assert [t.get_text() for t in fig.axes[0].texts] == [str(pos.size)]
    with caplog.at_level(logging.WARNING, logger="toolkit.plots"):
        fig = plot_confusion_matrix(pos, pos)
    assert [t.get_text() for t in fig.axes[0].texts] == [str(pos.size)]
    assert "one class only, 'pos'" in caplog.text and "labels=clf.classes_" in caplog.text
    # two classes given: rows and columns of both, no warning
    fig = plot_confusion_matrix(pos, pos, labels=["neg", "pos"])
    assert sorted(t.get_text() for t in fig.axes[0].texts) == sorted(["0", "0", "0", str(pos.size)])


# --- NBSVM / NBFeatureScaler: a table of texts, an iterator, an empty dense batch ------------------------------------


@pytest.mark.parametrize("estimator", ["NBSVMClassifier", "NBFeatureScaler"])
def test_nb_models_given_a_table_of_texts_or_an_iterator_say_what_to_do(imdb_small, estimator):
    """Was: "could not convert string to float: '<a whole review>'" for df[['review']] or an (n, 1) array of texts,
    and "float() argument must be a string or a real number, not 'generator'" for a generator of texts."""
    import pandas as pd

    from toolkit import models

    texts, labels = imdb_small
    est = getattr(models, estimator)()
    frame = pd.DataFrame({"id": range(40), "review": texts[:40]})
    with pytest.raises(ValueError, match=rf"{estimator} takes a matrix of token counts .* got a table of shape "
                                         r"\(40, 1\) holding raw texts \(in column 'review'\)\. .*make_pipeline"
                                         r".*\(df\['review'\], not df\[\['review'\]\]"):
        est.fit(frame[["review"]], labels[:40])
    with pytest.raises(ValueError, match=r"got a table of shape \(40, 2\) holding raw texts \(in column 'review'\)"):
        est.fit(frame, labels[:40])
    with pytest.raises(ValueError, match=r"got a table of shape \(40, 1\) holding raw texts \(in column 0\)"):
        est.fit(np.asarray(texts[:40])[:, None], labels[:40])
    with pytest.raises(ValueError, match=r"got a generator \(an iterator\), which is read once and has no shape"):
        est.fit((text for text in texts[:40]), labels[:40])


def test_nb_models_score_an_empty_dense_batch(counts):
    """Was: "zero-size array to reduction operation minimum which has no identity", followed by advice about
    ClassifierChain, for a dense batch of 0 documents (an empty sparse one gave empty scores)."""
    from toolkit.models import NBFeatureScaler, NBSVMClassifier

    X, y, _ = counts
    dense = X[:100].toarray()
    empty = np.zeros((0, X.shape[1]))
    for clf in (NBSVMClassifier(random_state=0), NBSVMClassifier(loss="log_loss", norm="l2", random_state=0)):
        clf.fit(dense, y[:100])
        assert clf.predict(empty).shape == (0,) and clf.decision_function(empty).shape == (0,)
    assert clf.predict_proba(empty).shape == (0, 2)
    assert NBFeatureScaler().fit(dense, y[:100]).transform(empty).shape == (0, X.shape[1])
    with pytest.raises(ValueError, match="Negative values in data passed to NBSVMClassifier"):
        clf.predict(-dense[:2])  # the check stays for batches with documents


def test_log_count_ratio_refuses_a_pos_label_y_does_not_hold(counts):
    """Was: ratios from the smoothing and the other side's counts alone, silently (no document was positive)."""
    from toolkit.models import log_count_ratio

    X, y, _ = counts
    for pos_label in ("Pos", 1):
        with pytest.raises(ValueError, match=rf"pos_label={pos_label!r} is not a label of y for log_count_ratio: "
                                             r"y holds \['neg', 'pos'\]"):
            log_count_ratio(X, y, pos_label=pos_label)
    ints = (y == "pos").astype(int)
    with pytest.raises(ValueError, match=r"pos_label='1' is not a label of y .* y holds \[0, 1\]"):
        log_count_ratio(X, ints, pos_label="1")
    # the labels y holds, of any spelling numpy compares equal, are taken
    np.testing.assert_array_equal(log_count_ratio(X, ints, pos_label=np.int64(1)), log_count_ratio(X, y == "pos"))
    # (guard) a y of one class, a multilabel column without a positive document, still gets its ratios
    assert np.isfinite(log_count_ratio(X, np.zeros_like(ints), pos_label=1)).all()


# --- hybrid: reading a Keras model's variables -----------------------------------------------------------------------


def test_hybrid_readers_of_keras_variables_warn_nothing():
    """Was: keras.ops.convert_to_numpy of each variable, a DeprecationWarning ("__array__ implementation doesn't
    accept a copy keyword") on every call under NumPy 2: an error where warnings are errors (python -W error)."""
    import warnings

    from toolkit.models import build_model
    from toolkit.models.hybrid import nb_model_weights, standardize_pooled_vectors

    matrix = np.hstack([np.zeros((5, 1)), np.eye(5, 3, k=-1)]).astype("float32")  # id 0 (padding): no vector
    model = build_model("nbsvm_vectors", vocab_size=5, maxlen=4, embedding_matrix=matrix)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        standardize_pooled_vectors(model, np.array([[1, 2, 0, 0], [1, 0, 0, 0]]))
        weights = nb_model_weights(model)
    layer = model.get_layer("pooled_vectors")
    np.testing.assert_array_equal(weights["center"], np.asarray(layer.center.numpy()))
    assert weights["table"].shape == (4, 3) and weights["row_of"].dtype == np.int32
