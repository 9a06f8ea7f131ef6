"""User-style tests of the estimators in toolkit.models (EmbeddingClassifier, NBSVM, hybrid, pseudo-labels).

Each test replays something a user did with real IMDB reviews (tiny Keras models: a small
vocabulary, embedding_dim 8, one epoch) and pins the behaviour a scikit-learn user expects.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline

from toolkit.models import EmbeddingClassifier, NBSVMClassifier

TINY = {"max_tokens": 2000, "maxlen": 50, "embedding_dim": 8, "epochs": 1, "batch_size": 32, "random_state": 0}


def tiny(**params):
    return EmbeddingClassifier(**{**TINY, **params})


@pytest.fixture(scope="module")
def docs(imdb_tokens200):
    """200 real reviews as token lists, with their 'neg'/'pos' labels."""
    return imdb_tokens200


@pytest.fixture(scope="module")
def fitted_bag(docs):
    X, y = docs
    return tiny().fit(X[:150], y[:150])


# ------------------------------------------------------------------ predict on 0 documents
@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function", "predict_log_proba"])
def test_models_usage_no_documents_get_no_predictions(fitted_bag, method):
    """A batch that filtered down to nothing gets 0 predictions, not one phantom row."""
    out = getattr(fitted_bag, method)([])
    assert out.shape[0] == 0
    assert out.shape == getattr(fitted_bag, method)([["a", "film"]])[:0].shape
    assert getattr(fitted_bag, method)(np.empty(0, dtype=object)).shape[0] == 0


# --------------------------------------------------------------- validation split, tiny data
def test_models_usage_validation_split_with_more_classes_than_validation_rows(docs):
    """150 documents of 20 topics: 15 validation rows cannot hold every class; fit still trains."""
    X, _ = docs
    y = np.array([f"topic{i}" for i in range(20)])[np.arange(150) % 20]
    clf = tiny().fit(X[:150], y)
    assert clf.classes_.shape == (20,) and "val_loss" in clf.history_
    clf = tiny().fit(X[:10], np.array(["neg", "pos"] * 5))  # 1 validation row, 2 classes
    assert clf.predict(X[:3]).shape == (3,)


def test_models_usage_validation_split_that_leaves_no_training_rows(docs):
    X, _ = docs
    with pytest.raises(ValueError, match=r"validation_split=0\.9 holds out all 5 documents.*lower validation_split"):
        tiny(validation_split=0.9).fit(X[:5], ["neg", "pos", "neg", "pos", "neg"])


# ------------------------------------------------------------- class_weight with a rare class
def test_models_usage_class_weight_for_a_class_a_fold_lacks(docs):
    """class_weight names a rare class that a training fold lacks: as scikit-learn, the extra key is ignored."""
    X, y = docs
    texts = [" ".join(d) for d in X[:120]]
    y = np.array(y[:120], dtype=object)
    y[[0, 1, 2]] = "rare"  # all in the first test fold
    cw = {"neg": 1.0, "pos": 1.0, "rare": 5.0}
    nbsvm = make_pipeline(CountVectorizer(), NBSVMClassifier(class_weight=cw))
    assert np.isfinite(cross_val_score(nbsvm, texts, y, cv=KFold(3), error_score="raise")).all()
    scores = cross_val_score(tiny(class_weight=cw), X[:120], y, cv=KFold(3), error_score="raise")
    assert np.isfinite(scores).all()


def test_models_usage_class_weight_typo_is_still_an_error(docs):
    X, y = docs
    with pytest.raises(ValueError, match=r"class_weight has labels not in y: \['poss'\]"):
        tiny(class_weight={"neg": 1.0, "poss": 2.0}).fit(X[:40], y[:40])
    counts = CountVectorizer().fit_transform([" ".join(d) for d in X[:40]])
    with pytest.raises(ValueError, match=r"names classes that are not in y: \['poss'\]"):
        NBSVMClassifier(class_weight={"neg": 1.0, "poss": 2.0}).fit(counts, y[:40])


# ----------------------------------------------------------------------- sample_weight
@pytest.mark.parametrize("weights, message", [
    (-np.ones(60), r"sample_weight of EmbeddingClassifier must be non-negative; got -1\.0 at index 0"),
    (np.r_[np.ones(59), np.nan], r"sample_weight of EmbeddingClassifier must be finite; got nan at index 59"),
    (np.zeros(60), r"sample_weight of EmbeddingClassifier is 0 for every document"),
])
def test_models_usage_sample_weight_that_would_train_nothing(docs, weights, message):
    """Negative, NaN or all-zero weights used to train silently (a negative or NaN loss)."""
    X, y = docs
    with pytest.raises(ValueError, match=message):
        tiny().fit(X[:60], y[:60], sample_weight=weights)


def test_models_usage_sample_weight_scalar_and_series(docs):
    import pandas as pd

    X, y = docs
    a = tiny().fit(X[:60], y[:60], sample_weight=2.0).predict_proba(X[60:65])
    b = tiny().fit(X[:60], y[:60], sample_weight=pd.Series(np.full(60, 2.0))).predict_proba(X[60:65])
    np.testing.assert_allclose(a, b, rtol=1e-5)


# ---------------------------------------------------------------------------- builders
def test_models_usage_build_model_multiclass_needs_one_unit_per_class():
    """output='multiclass' with the default n_outputs=1 used to build a softmax that is always 1."""
    from toolkit.models import build_model

    with pytest.raises(ValueError, match=r"multiclass output needs one unit per class: set n_outputs.*got n_outputs=1"):
        build_model("bag", vocab_size=100, maxlen=20, embedding_dim=8, output="multiclass")
    assert build_model("bag", vocab_size=100, maxlen=20, embedding_dim=8, output="multiclass",
                       n_outputs=3).output_shape == (None, 3)


@pytest.mark.parametrize("params", [{"embedding_dim": np.int64(4)}, {"hidden_units": np.int64(2)},
                                    {"architecture": "rnn", "hidden_units": np.int32(2)}])
def test_models_usage_numpy_integer_parameters_from_a_grid(docs, params):
    """GridSearchCV grids built with np.arange hand numpy integers to the estimator; Keras refused them."""
    X, y = docs
    clf = tiny(**params).fit(X[:40], y[:40])
    assert clf.predict(X[40:43]).shape == (3,)


def test_models_usage_build_model_names_a_non_integer_size():
    from toolkit.models import build_model

    with pytest.raises(ValueError, match=r"The 'hidden_units' parameter of build_model must be an int; got 2\.5"):
        build_model("bag", vocab_size=100, maxlen=20, embedding_dim=8, hidden_units=2.5)


# --------------------------------------------------------------------- NBFeatureScaler
def test_models_usage_nb_scaler_names_the_columns_in_a_pipeline(docs):
    """pipe[:-1].get_feature_names_out() names the n-grams the linear model after NBFeatureScaler weighs."""
    from sklearn.linear_model import LogisticRegression

    from toolkit.models import NBFeatureScaler

    X, y = docs
    texts = [" ".join(d) for d in X[:100]]
    pipe = make_pipeline(CountVectorizer(min_df=2), NBFeatureScaler(), LogisticRegression()).fit(texts, y[:100])
    names = pipe[:-1].get_feature_names_out()
    assert names.tolist() == pipe[0].get_feature_names_out().tolist()
    assert len(names) == pipe[-1].coef_.shape[1]
    y3 = np.array(["a", "b", "c"])[np.arange(100) % 3]
    pipe = make_pipeline(CountVectorizer(min_df=2), NBFeatureScaler(), LogisticRegression()).fit(texts, y3)
    names = pipe[:-1].get_feature_names_out()
    words = pipe[0].get_feature_names_out()
    assert len(names) == pipe[-1].coef_.shape[1] == 3 * len(words)
    assert names[0] == f"a__{words[0]}" and names[-1] == f"c__{words[-1]}"


def test_models_usage_log_count_ratio_rejects_mismatched_labels_and_nan_weights():
    from toolkit.models import log_count_ratio

    X = np.array([[1, 0, 1], [1, 0, 0], [0, 1, 1], [0, 1, 0]])
    with pytest.raises(ValueError, match=r"one label per row of X: X has 4 rows, y has shape \(3,\)"):
        log_count_ratio(X, [1, 1, 0])
    with pytest.raises(ValueError, match=r"weight per sample \(4\), all finite; got shape \(4,\) with NaN"):
        log_count_ratio(X, [1, 1, 0, 0], sample_weight=[1.0, np.nan, 1.0, 1.0])  # used to give NaN ratios
    np.testing.assert_allclose(log_count_ratio(X, [1, 1, 0, 0], sample_weight=[1, 1, 1, 1]),
                               log_count_ratio(X, [1, 1, 0, 0]))


# ------------------------------------------------------------------------------ targets
def test_models_usage_missing_label_in_a_pandas_string_column(docs):
    """Labels read with pandas' "string" dtype: a missing one is pd.NA, which used to crash np.unique."""
    pd = pytest.importorskip("pandas")

    X, y = docs
    labels = pd.Series(y[:40], dtype="string")
    labels[7] = pd.NA
    with pytest.raises(ValueError, match=r"Input y contains NaN/None \(first at index 7\); drop or fill"):
        tiny().fit(X[:40], labels)
    assert tiny().fit(X[:40], labels.fillna("neg")).classes_.tolist() == ["neg", "pos"]


# ------------------------------------------------------------------ make_text_classifier
def test_models_usage_make_text_classifier_reaches_a_nested_estimator():
    """classifier__estimator__epochs is what set_params and GridSearchCV take; make_text_classifier refused it."""
    from toolkit.models import PseudoLabelClassifier, make_text_classifier

    pipe = make_text_classifier(estimator=PseudoLabelClassifier(EmbeddingClassifier()),
                                classifier__estimator__epochs=1, classifier__fraction=0.5, lowercase=True)
    assert pipe[-1].estimator.epochs == 1 and pipe[-1].fraction == 0.5 and pipe[0].lowercase is True
    with pytest.raises(ValueError, match=r"classifier has no parameter 'estimator__epoch'"):
        make_text_classifier(estimator=PseudoLabelClassifier(EmbeddingClassifier()), classifier__estimator__epoch=1)


@pytest.mark.parametrize("architecture", ["nbsvm", "nbsvm_vectors"])
def test_models_usage_sample_weight_reaches_the_naive_bayes_ratios(docs, glove_small, architecture, monkeypatch):
    """sample_weight (and class_weight) of the NB architectures weighted the loss only, not the naive-Bayes
    ratios, so weight 2 did not count as the document twice (NBSVMClassifier weights both)."""
    import toolkit.models.naive_bayes as nb

    seen = []
    real = nb.log_count_ratio

    def spy(X, y, **kwargs):
        seen.append((X, y, kwargs.get("sample_weight")))
        return real(X, y, **kwargs)

    monkeypatch.setattr(nb, "log_count_ratio", spy)
    X, y = docs
    w = np.where(np.arange(60) % 3 == 0, 2.0, 1.0)
    vectors = str(glove_small) if architecture == "nbsvm_vectors" else None
    EmbeddingClassifier(architecture=architecture, vectors=vectors, epochs=1, validation_split=0.0,
                        random_state=0).fit(X[:60], y[:60], sample_weight=w)
    (D, target, weights), = seen
    np.testing.assert_allclose(weights, w)
    twice = np.flatnonzero(w == 2)  # the same ratios as the weight-2 documents given twice
    import scipy.sparse as sp

    np.testing.assert_allclose(real(D, target, pos_label=1, sample_weight=weights),
                               real(sp.vstack([D, D[twice]]), np.r_[target, target[twice]], pos_label=1), rtol=1e-6)
