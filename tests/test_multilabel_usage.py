"""Several labels per review: the toolkit's classifiers inside scikit-learn's multi-output tools.

A user with tags on texts builds, from real IMDB training reviews, three labels per review:
positive sentiment, ten or nine stars, and "mentions the acting". The toolkit's classifiers take one label
per document; a 2-D target (or lists of labels) given to one directly must say so and name
OneVsRestClassifier / MultiOutputClassifier / ClassifierChain, and a label column with one value in a
training set (a rare tag missing from a fold) must say what happened inside MultiOutputClassifier.
EmbeddingClassifier takes a 0/1 indicator matrix itself. The rest checks what works: the wrappers fit,
predict, clone, grid-search, cross-validate, save and load with toolkit pipelines inside, and a
tokenizer cache shared by the per-label fits.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
from conftest import simple_tokens
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, make_scorer
from sklearn.model_selection import GridSearchCV, KFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import ClassifierChain, MultiOutputClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MultiLabelBinarizer

from toolkit.models import (
    NBFeatureScaler,
    NBSVMClassifier,
    PseudoLabelClassifier,
    StackedTextClassifier,
)
from toolkit.text import BagEncoder, SpacyTokenizer

N = 300


@pytest.fixture(scope="module")
def tagged(imdb_small, imdb_small_ratings):
    """300 real training reviews and their (n, 3) 0/1 labels: positive, >= 9 stars, mentions "acting"."""
    texts, labels = imdb_small
    texts = texts[:N]
    Y = np.column_stack([labels[:N] == "pos", imdb_small_ratings[:N] >= 9,
                         ["acting" in text.lower() for text in texts]]).astype(int)
    assert (Y.min(axis=0) == 0).all() and (Y.max(axis=0) == 1).all()  # every label has both values
    return texts, Y


@pytest.fixture(scope="module")
def tagged_tokens(tagged):
    texts, Y = tagged
    return simple_tokens(texts), Y


def _nbsvm(**params):
    return make_pipeline(BagEncoder(output_mode="count"), NBSVMClassifier(**params))


# the toolkit classifiers that take one label per document, each as a user puts it after the tokens
ONE_LABEL = {
    "NBSVMClassifier": lambda: _nbsvm(),
    "NBFeatureScaler": lambda: make_pipeline(BagEncoder(output_mode="count"), NBFeatureScaler(), LogisticRegression()),
    "StackedTextClassifier": lambda: StackedTextClassifier(vectors=None, cv=3),
    "PseudoLabelClassifier": lambda: make_pipeline(BagEncoder(output_mode="count"), PseudoLabelClassifier()),
}


# ------------------------------------------------------------------ several labels given to one classifier
@pytest.mark.parametrize("name", sorted(ONE_LABEL))
def test_multilabel_usage_2d_target_names_the_wrappers(name, tagged_tokens):
    """Before: scikit-learn's "y should be a 1d array" / "Supported target types are ..." and, for
    PseudoLabelClassifier, an IndexError (its unlabelled mask covered every cell of the matrix)."""
    docs, Y = tagged_tokens
    with pytest.raises(ValueError, match=rf"{name} takes one label per document .*a 2-D y of shape \(300, 3\)") as info:
        ONE_LABEL[name]().fit(docs, Y)
    assert "MultiOutputClassifier" in str(info.value)
    assert "MultiLabelBinarizer" in str(info.value)


def test_multilabel_usage_pseudo_labels_of_a_2d_target_with_unlabelled_rows(tagged_tokens):
    """-1 rows in a label matrix: the message says how to self-train each column (before: IndexError)."""
    docs, Y = tagged_tokens
    Y = Y.copy()
    Y[:100] = -1
    with pytest.raises(ValueError, match=r"MultiOutputClassifier\(PseudoLabelClassifier\(\.\.\.\)\) self-trains one "
                                         r"model per label column, with -1 in every column"):
        ONE_LABEL["PseudoLabelClassifier"]().fit(docs, Y)


@pytest.mark.parametrize("name", ["NBSVMClassifier", "StackedTextClassifier"])
def test_multilabel_usage_lists_of_labels_are_named(name, tagged_tokens):
    """Lists of tags of different lengths (before: numpy's "inhomogeneous shape" error)."""
    docs, Y = tagged_tokens
    tags = [[tag for tag, on in zip(("pos", "great", "acting"), row) if on] or ["none"] for row in Y]
    assert len({len(t) for t in tags}) > 1
    with pytest.raises(ValueError, match=rf"{name} takes one label per document .*got lists of labels \(the first at "
                                         rf"index 0: {re.escape(repr(tags[0]))}\).*MultiLabelBinarizer"):
        ONE_LABEL[name]().fit(docs, tags)


def test_multilabel_usage_one_column_and_plain_labels_still_fit(tagged_tokens):
    """A (n, 1) y is still flattened with scikit-learn's warning, and object labels pass the new check."""
    docs, Y = tagged_tokens
    from sklearn.exceptions import DataConversionWarning

    with pytest.warns(DataConversionWarning):
        model = _nbsvm().fit(docs, Y[:, :1])
    assert model.predict(docs[:5]).shape == (5,)
    labels = np.array(["pos" if v else "neg" for v in Y[:, 0]], dtype=object)
    assert set(_nbsvm().fit(docs, labels).predict(docs[:20])) <= {"pos", "neg"}


def test_multilabel_usage_one_column_of_the_matrix_with_unlabelled_rows(tagged_tokens):
    """Y[:, [k]] (or df[["tag"]]) given to PseudoLabelClassifier: flattened with scikit-learn's warning (before:
    numpy's "shape mismatch" from its (n, 1) mask of the unlabelled rows)."""
    from sklearn.exceptions import DataConversionWarning

    docs, Y = tagged_tokens
    column = Y[:, [1]].copy()
    column[150:] = -1
    with pytest.warns(DataConversionWarning):
        model = ONE_LABEL["PseudoLabelClassifier"]().fit(docs, column)
    assert model[-1].n_pseudo_labelled_ > 0
    assert model[-1].pseudo_labels_.shape == (N,)


def test_multilabel_usage_one_column_warns_once_in_the_stack(tagged_tokens):
    """The stack flattens a (n, 1) y itself: one DataConversionWarning, not one per member fit and the meta-learner."""
    from sklearn.exceptions import DataConversionWarning

    docs, Y = tagged_tokens
    with pytest.warns(DataConversionWarning) as record:
        ONE_LABEL["StackedTextClassifier"]().fit(docs, Y[:, [0]])
    assert sum(issubclass(w.category, DataConversionWarning) for w in record) == 1


# --------------------------------------------------------------- a label column with one value
@pytest.mark.parametrize("name", sorted(ONE_LABEL))
def test_multilabel_usage_constant_column_in_multioutput_says_why(name, tagged_tokens):
    """Inside MultiOutputClassifier a tag no training review has reaches the estimator as a one-class y:
    the error names that case and OneVsRestClassifier's constant column (before: the class count alone)."""
    docs, Y = tagged_tokens
    Y = Y.copy()
    Y[:, 2] = 0
    with pytest.raises(ValueError, match=r"one label column of a multilabel target.*OneVsRestClassifier predicts such "
                                         r"a column as a constant"):
        MultiOutputClassifier(ONE_LABEL[name]()).fit(docs, Y)


def test_multilabel_usage_constant_column_in_one_vs_rest_on_raw_text(tagged):
    """OneVsRestClassifier with the tokenizer inside: the tag without reviews gets a constant 0 (and a warning)."""
    texts, Y = tagged
    Y = Y.copy()
    Y[:, 2] = 0
    ovr = OneVsRestClassifier(make_pipeline(SpacyTokenizer(), BagEncoder(output_mode="count"),
                                            NBSVMClassifier(loss="log_loss")))
    with pytest.warns(UserWarning, match="Label not 2 is present in all training examples"):
        ovr.fit(texts, Y)
    proba = ovr.predict_proba(texts[:10])
    assert proba.shape == (10, 3)
    assert (proba[:, 2] == 0).all() and (proba[:, 0] > 0).all()


def test_multilabel_usage_chain_with_decision_scores_says_which_chain_method(tagged_tokens):
    """ClassifierChain(chain_method="decision_function") appends signed scores to the counts (before: only
    "Negative values in data passed to NBSVMClassifier")."""
    docs, Y = tagged_tokens
    chain = make_pipeline(BagEncoder(output_mode="count"), ClassifierChain(NBSVMClassifier(),
                                                                           chain_method="decision_function"))
    chain.fit(docs, Y)  # fitted on the true labels of the earlier columns; predict appends the scores
    with pytest.raises(ValueError, match=r"Negative values in data passed to NBSVMClassifier.*chain_method='predict'"):
        chain.predict(docs[:5])
    chain.set_params(classifierchain__chain_method="predict").fit(docs, Y)
    assert chain.predict(docs[:5]).shape == (5, 3)


# ------------------------------------------------------------------------------------- what works
def test_multilabel_usage_wrappers_fit_predict_and_score(tagged):
    """OneVsRest and MultiOutput around a raw-text pipeline; ClassifierChain after the tokens (it needs a matrix)."""
    texts, Y = tagged
    fit_x, fit_y, new_x, new_y = texts[:200], Y[:200], texts[200:], Y[200:]
    pipe = make_pipeline(SpacyTokenizer(), BagEncoder(output_mode="count"),
                         NBSVMClassifier(loss="log_loss", random_state=0))  # liblinear's order of the samples
    ovr = OneVsRestClassifier(pipe).fit(fit_x, fit_y)
    moc = MultiOutputClassifier(pipe).fit(fit_x, fit_y)
    chain = make_pipeline(SpacyTokenizer(), BagEncoder(output_mode="count"),
                          ClassifierChain(NBSVMClassifier(loss="log_loss"), chain_method="predict_proba")).fit(fit_x, fit_y)
    assert ovr.predict_proba(new_x).shape == chain.predict_proba(new_x).shape == (100, 3)
    assert [p.shape for p in moc.predict_proba(new_x)] == [(100, 2)] * 3
    np.testing.assert_array_equal(ovr.classes_, [0, 1, 2])
    # one binary model per column: OneVsRest and MultiOutput fit the same models here
    np.testing.assert_allclose(ovr.predict_proba(new_x), np.column_stack([p[:, 1] for p in moc.predict_proba(new_x)]))
    for model in (ovr, moc, chain):
        predicted = model.predict(new_x)
        assert predicted.shape == (100, 3)
        # sentiment, the easiest label, is predicted better than chance
        assert f1_score(new_y, predicted, average="samples", zero_division=0) > 0
        assert (predicted[:, 0] == new_y[:, 0]).mean() > 0.6


def test_multilabel_usage_grid_search_clone_and_cross_val_predict(tagged_tokens):
    docs, Y = tagged_tokens
    ovr = OneVsRestClassifier(_nbsvm(loss="log_loss"))
    assert clone(ovr).get_params()["estimator__nbsvmclassifier__C"] == ovr.get_params()["estimator__nbsvmclassifier__C"]
    # "f1_samples" warns for every review with no label, true or predicted (common with tags): zero_division=0
    grid = GridSearchCV(ovr, {"estimator__nbsvmclassifier__C": [0.01, 0.1]}, cv=KFold(3),
                        scoring=make_scorer(f1_score, average="samples", zero_division=0)).fit(docs, Y)
    assert grid.best_params_["estimator__nbsvmclassifier__C"] in (0.01, 0.1)
    assert cross_val_predict(ovr, docs, Y, cv=KFold(3), method="predict_proba").shape == (N, 3)
    per_output = cross_val_predict(MultiOutputClassifier(_nbsvm(loss="log_loss")), docs, Y, cv=KFold(3),
                                   method="predict_proba")
    assert [p.shape for p in per_output] == [(N, 2)] * 3


def test_multilabel_usage_multilabel_binarizer_and_string_outputs(tagged_tokens):
    docs, Y = tagged_tokens
    tags = [[tag for tag, on in zip(("pos", "great", "acting"), row) if on] for row in Y]
    binarizer = MultiLabelBinarizer()
    ovr = OneVsRestClassifier(_nbsvm()).fit(docs, binarizer.fit_transform(tags))
    assert all(set(t) <= {"pos", "great", "acting"} for t in binarizer.inverse_transform(ovr.predict(docs[:20])))
    # outputs of several string classes (sentiment, a star band): MultiOutputClassifier, one model per output
    stars = np.where(Y[:, 1] == 1, "high", np.where(Y[:, 0] == 1, "mid", "low"))
    outputs = np.column_stack([np.where(Y[:, 0] == 1, "pos", "neg"), stars])
    moc = MultiOutputClassifier(StackedTextClassifier(vectors=None, cv=3)).fit(docs, outputs)
    assert [list(c) for c in moc.classes_] == [["neg", "pos"], ["high", "low", "mid"]]
    assert [p.shape for p in moc.predict_proba(docs[:7])] == [(7, 2), (7, 3)]


def test_multilabel_usage_pseudo_labels_per_column(tagged_tokens):
    """MultiOutputClassifier(PseudoLabelClassifier): -1 in every column of the unlabelled reviews."""
    docs, Y = tagged_tokens
    Y = Y.copy()
    Y[150:] = -1
    moc = MultiOutputClassifier(ONE_LABEL["PseudoLabelClassifier"]()).fit(docs, Y)
    assert all(est[-1].n_pseudo_labelled_ > 0 for est in moc.estimators_)
    assert set(np.unique(moc.predict(docs[:30]))) <= {0, 1}


def test_multilabel_usage_save_and_load_a_wrapper(tagged, tmp_path):
    """save_model stores OneVsRestClassifier of a toolkit pipeline with skops; the loaded one predicts the same."""
    from toolkit.models import load_model, save_model

    texts, Y = tagged
    ovr = OneVsRestClassifier(make_pipeline(SpacyTokenizer(), BagEncoder(output_mode="count"),
                                            NBSVMClassifier(loss="log_loss"))).fit(texts[:200], Y[:200])
    save_model(ovr, tmp_path / "tags")
    loaded = load_model(tmp_path / "tags")
    assert type(loaded) is OneVsRestClassifier
    np.testing.assert_array_equal(loaded.predict_proba(texts[200:]), ovr.predict_proba(texts[200:]))


def test_multilabel_usage_tokenizer_cache_is_shared_by_the_per_label_fits(tagged, tmp_path):
    """Pipeline(memory=...) keys its cache by y too, so it tokenizes once per label; SpacyTokenizer(cache=...)
    keys by the texts alone: the first label tokenizes, the others read its tokens."""
    texts, Y = tagged
    messages = []

    class Collect(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    tokenizer_logger = logging.getLogger("toolkit.text.tokenizer")
    handler = Collect(level=logging.DEBUG)
    tokenizer_logger.addHandler(handler)
    tokenizer_logger.setLevel(logging.DEBUG)
    try:
        OneVsRestClassifier(make_pipeline(SpacyTokenizer(cache=tmp_path / "tokens"), BagEncoder(output_mode="count"),
                                          NBSVMClassifier())).fit(texts, Y)
    finally:
        tokenizer_logger.removeHandler(handler)
    assert sum(m.startswith("tokens read from cache") for m in messages) == Y.shape[1] - 1


def test_multilabel_usage_embedding_classifier_takes_the_indicator_matrix(tagged):
    """EmbeddingClassifier's own multilabel output: one sigmoid per label, as its tags say."""
    from toolkit.models import make_text_classifier

    texts, Y = tagged
    pipe = make_text_classifier(architecture="nbsvm", epochs=1, random_state=0, validation_split=0.0)
    assert pipe.__sklearn_tags__().classifier_tags.multi_label
    pipe.fit(texts[:200], Y[:200])
    proba = pipe.predict_proba(texts[200:])
    predicted = pipe.predict(texts[200:])
    assert proba.shape == predicted.shape == (100, 3)
    np.testing.assert_array_equal(pipe.classes_, [0, 1, 2])
    np.testing.assert_array_equal(predicted, (proba > 0.5).astype(predicted.dtype))


def test_multilabel_usage_tags_say_one_label_per_document():
    """The one-label classifiers (PseudoLabelClassifier also around a multilabel-capable EmbeddingClassifier, since
    self-training is per label) declare neither multilabel nor multi-output targets, as they behave above."""
    from toolkit.models import EmbeddingClassifier

    for estimator in (NBSVMClassifier(), StackedTextClassifier(), PseudoLabelClassifier(),
                      PseudoLabelClassifier(EmbeddingClassifier())):
        tags = estimator.__sklearn_tags__()
        assert not tags.classifier_tags.multi_label and not tags.target_tags.multi_output
        assert tags.target_tags.single_output
    assert EmbeddingClassifier().__sklearn_tags__().classifier_tags.multi_label


def test_multilabel_usage_movie_groups_reach_the_stack_inside_one_vs_rest(tagged, shared_data):
    """With metadata routing, OneVsRestClassifier passes each review's movie to the stack's folds."""
    import sklearn

    from toolkit.data.datasets import load_imdb

    texts, Y = tagged
    groups = np.asarray(load_imdb("train", path=shared_data / "aclImdb_v1.tar.gz", limit=600, shuffle=True,
                                  random_state=0).groups)[:N]
    seen = []

    class Recording(StackedTextClassifier):
        def fit(self, X, y, groups=None, ratings=None):
            seen.append(groups)
            return super().fit(X, y, groups=groups, ratings=ratings)

    with sklearn.config_context(enable_metadata_routing=True):
        stack = Recording(vectors=None, cv=3).set_fit_request(groups=True, ratings=False)
        OneVsRestClassifier(make_pipeline(SpacyTokenizer(), stack)).fit(texts, Y, groups=groups)
    assert len(seen) == Y.shape[1]
    assert all(np.array_equal(g, groups) for g in seen)


def test_multilabel_usage_embedding_classifier_names_what_it_cannot_take(tagged_tokens):
    """EmbeddingClassifier takes an indicator matrix, but before: lists of tags gave numpy's "inhomogeneous shape",
    columns of several classes scikit-learn's "Unknown label type", and class_weight={...} with a label matrix
    scikit-learn's "a list of dicts" (which the class_weight constraint refuses)."""
    from toolkit.models import EmbeddingClassifier

    docs, Y = tagged_tokens
    docs, Y = docs[:60], Y[:60]
    tags = [[tag for tag, on in zip(("pos", "great", "acting"), row) if on] or ["none"] for row in Y]
    tiny = {"architecture": "nbsvm", "epochs": 1, "random_state": 0, "validation_split": 0.0}
    with pytest.raises(ValueError, match=r"EmbeddingClassifier got lists of labels for y\. .*MultiLabelBinarizer"):
        EmbeddingClassifier(**tiny).fit(docs, tags)
    stars = np.column_stack([Y[:, 0], Y[:, 1] * 2 + Y[:, 2]])  # a second output of several classes
    with pytest.raises(ValueError, match=r"y of shape \(60, 2\) whose columns are not all 0/1.*"
                                         r"MultiOutputClassifier\(make_text_classifier"):
        EmbeddingClassifier(**tiny).fit(docs, stars)
    with pytest.raises(ValueError, match=r"with a multilabel indicator y use class_weight='balanced'"):
        EmbeddingClassifier(class_weight={0: 1, 1: 3}, **tiny).fit(docs, Y)
    EmbeddingClassifier(class_weight="balanced", **tiny).fit(docs, Y)  # the advice works
