"""An audit of the scikit-learn estimator contract across the toolkit's estimators.

The estimators that take numeric input (PseudoLabelClassifier over a numeric
model, NeighborVote, _CappedPCA) run scikit-learn's own checks
(``parametrize_with_checks``; NBFeatureScaler and NBSVMClassifier run them in
test_naive_bayes.py). The text estimators are tagged as taking strings, so
``check_estimator`` runs next to nothing for them: the data-free checks are
called one by one, and the data checks are written here in their text form on
small real IMDB samples, as scikit-learn's ``feature_extraction/tests/test_text.py``
does (SequenceEncoder, BagEncoder, HashingEncoder, NegationMarker and
SpacyTokenizer: test_sklearn_contract_text.py; EmbeddingClassifier:
test_classifier_sklearn.py).
"""

from __future__ import annotations

import copy
import pickle

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks as checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from toolkit.models.classifier import EmbeddingClassifier
from toolkit.models.naive_bayes import NBFeatureScaler, NBSVMClassifier
from toolkit.models.semi_supervised import PseudoLabelClassifier
from toolkit.models.stacking import NeighborVote, StackedTextClassifier, _CappedPCA
from toolkit.text.corpus import TokenizedCorpus
from toolkit.text.encoders import BagEncoder, HashingEncoder, SequenceEncoder
from toolkit.text.negation import NegationMarker
from toolkit.text.tokenizer import SpacyTokenizer
from toolkit.vectors.clusters import WordClusterer
from toolkit.vectors.docvec import DocVectorizer
from toolkit.vectors.pooling import EmbeddingVectorizer

# --------------------------------------------------------------------- numeric input: scikit-learn's checks
# scikit-learn's semi-supervised estimators read the label -1 as "unlabelled", and its checks exempt them by
# name (_choose_check_classifiers_labels names SelfTrainingClassifier); PseudoLabelClassifier does the same
_MINUS_ONE = ("labels -1/+1: -1 marks an unlabelled sample here, as in scikit-learn's SelfTrainingClassifier, which "
              "the check exempts by name")
# NBSVM scales counts; the check's Gaussian blobs binarized carry no signal (test_naive_bayes.py marks NBSVM alike)
_NOT_COUNTS = "fits continuous Gaussian blobs, not counts (NBSVMClassifier binarizes them)"
# PseudoLabelClassifier takes sample_weight since the thirty-ninth session, so scikit-learn's weight checks apply:
# over NBSVM they meet liblinear's tolerance, as NBSVMClassifier's own do (test_naive_bayes.py marks them alike);
# over LogisticRegression (lbfgs) they pass
_DUAL_SOLVER = ("liblinear's dual solver (NBSVMClassifier) stops at tol: sample_weight and repeated samples agree "
                "to ~1e-7 absolute here, not rtol 1e-7")


def _expected_failures(estimator):
    if not isinstance(estimator, PseudoLabelClassifier):
        return {}
    failures = {"check_classifiers_classes": _MINUS_ONE}
    if isinstance(estimator.estimator, NBSVMClassifier):
        failures["check_classifiers_train"] = _NOT_COUNTS
        failures["check_sample_weight_equivalence_on_dense_data"] = _DUAL_SOLVER
        failures["check_sample_weight_equivalence_on_sparse_data"] = _DUAL_SOLVER
    return failures


@parametrize_with_checks(
    [
        PseudoLabelClassifier(LogisticRegression()),
        PseudoLabelClassifier(NBSVMClassifier(random_state=0), fraction=0.5),
        NeighborVote(n_neighbors=3),
        NeighborVote(n_neighbors=5, weights="distance", algorithm="brute"),  # the stack's member: its own search
        _CappedPCA(n_components=2),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_checks_usage_numeric_estimators(estimator, check):
    # before: PseudoLabelClassifier failed check_classifier_data_not_an_array ("object of type '_NotAnArray' has
    # no len()") and check_fit2d_1sample (its one-class message named neither "1 class" nor "1 sample");
    # NeighborVote failed check_classifier_multioutput and
    # check_classifiers_multilabel_output_format_decision_function (a 3-D decision_function of a 2-D y)
    check(estimator)


# --------------------------------------------------------------------- every estimator: data-free checks, tags
def _all_estimators():
    return [
        EmbeddingClassifier(), NBFeatureScaler(), NBSVMClassifier(), PseudoLabelClassifier(),
        PseudoLabelClassifier(EmbeddingClassifier()), StackedTextClassifier(), NeighborVote(), _CappedPCA(),
        SequenceEncoder(), BagEncoder(), HashingEncoder(), NegationMarker(), SpacyTokenizer(), WordClusterer(),
        DocVectorizer(), EmbeddingVectorizer(),
    ]


ALL = _all_estimators()
TEXT = (EmbeddingClassifier, StackedTextClassifier, SequenceEncoder, BagEncoder, HashingEncoder, NegationMarker,
        SpacyTokenizer, WordClusterer, DocVectorizer, EmbeddingVectorizer)
STATELESS = (HashingEncoder, NegationMarker, SpacyTokenizer)


def _id(estimator):
    inner = getattr(estimator, "estimator", None)
    return type(estimator).__name__ + (f"-{type(inner).__name__}" if inner is not None else "")


DATA_FREE_CHECKS = [
    checks.check_no_attributes_set_in_init,
    checks.check_mixin_order,
    checks.check_get_params_invariance,
    checks.check_set_params,
    checks.check_parameters_default_constructible,
    checks.check_estimator_cloneable,
    checks.check_estimator_repr,
    checks.check_estimator_tags_renamed,  # no _more_tags / _get_tags leftovers
    checks.check_valid_tag_types,
    checks.check_do_not_raise_errors_in_init_or_set_params,
]


@pytest.mark.parametrize("check", DATA_FREE_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("estimator", ALL, ids=_id)
def test_sklearn_checks_usage_data_free_checks(estimator, check):
    check(type(estimator).__name__, clone(estimator))


@pytest.mark.parametrize("estimator", ALL, ids=_id)
def test_sklearn_checks_usage_tags_say_what_input_is_taken(estimator):
    tags = estimator.__sklearn_tags__()
    text = isinstance(estimator, TEXT) or (isinstance(estimator, PseudoLabelClassifier)
                                           and isinstance(estimator.estimator, TEXT))
    assert tags.input_tags.string is text
    assert tags.input_tags.two_d_array is not text
    assert tags.requires_fit is not isinstance(estimator, STATELESS)
    assert tags.target_tags.required is (tags.estimator_type == "classifier" or isinstance(estimator, NBFeatureScaler))
    assert not hasattr(estimator, "_more_tags") and not hasattr(estimator, "_get_tags")


def test_sklearn_checks_usage_pseudo_labels_tags_follow_the_final_model():
    # PseudoLabelClassifier(EmbeddingClassifier()) declared itself deterministic though its final model, an unseeded
    # Keras model, declares itself not deterministic (scikit-learn's checks and tools read the tag)
    unseeded = EmbeddingClassifier(random_state=None)
    keras_based = PseudoLabelClassifier(unseeded).__sklearn_tags__()
    assert keras_based.non_deterministic is unseeded.__sklearn_tags__().non_deterministic is True
    assert keras_based.input_tags.string and not keras_based.input_tags.two_d_array
    seeded = EmbeddingClassifier(random_state=0)
    assert (PseudoLabelClassifier(seeded).__sklearn_tags__().non_deterministic
            is seeded.__sklearn_tags__().non_deterministic)
    nbsvm = PseudoLabelClassifier().__sklearn_tags__()
    assert not nbsvm.non_deterministic and nbsvm.input_tags.sparse and nbsvm.input_tags.positive_only


def test_sklearn_checks_usage_doc_vectors_on_threads_are_tagged_not_deterministic():
    # DocVectorizer(workers=2) trains its doc model on threads, not bit-reproducibly (its docstring says so),
    # but its tags said it was deterministic
    assert DocVectorizer(workers=2).__sklearn_tags__().non_deterministic
    assert not DocVectorizer().__sklearn_tags__().non_deterministic


def test_sklearn_checks_usage_nb_scaler_keeps_float32_counts(imdb_tokens):
    # BagEncoder's default float32 counts go through NBFeatureScaler as float32 (as through scikit-learn's
    # TfidfTransformer), but its tags said it preserved float64 only, so scikit-learn's
    # check_transformer_preserve_dtypes never checked float32
    docs, labels = imdb_tokens
    counts = BagEncoder(output_mode="count").fit_transform(docs[:120])
    assert counts.dtype == np.float32
    scaler = NBFeatureScaler().fit(counts, labels[:120])
    assert scaler.transform(counts).dtype == np.float32
    assert scaler.fit(counts.astype(np.float64), labels[:120]).transform(counts.astype(np.float64)).dtype == np.float64
    assert NBFeatureScaler().__sklearn_tags__().transformer_tags.preserves_dtype == ["float64", "float32"]
    checks.check_transformer_preserve_dtypes("NBFeatureScaler", NBFeatureScaler())


# --------------------------------------------------------------------- text estimators: the data checks in text form
def _as_comparable(output):
    if isinstance(output, TokenizedCorpus):
        return output.to_list()
    if sp.issparse(output):
        return output.toarray()
    if hasattr(output, "to_numpy"):
        return output.to_numpy()
    return np.asarray(output)


def _state(estimator):
    """Every attribute by value, private ones included (scikit-learn's check_dict_unchanged reads __dict__)."""
    return joblib.hash(dict(vars(estimator)))


def _output(estimator, X):
    return estimator.transform(X) if hasattr(estimator, "transform") else estimator.decision_function(X)


@pytest.fixture(scope="module")
def text_estimators(glove_small, imdb_small):
    texts, _ = imdb_small
    return {
        "WordClusterer": WordClusterer(vectors=str(glove_small), n_clusters=20),
        "WordClusterer-drop": WordClusterer(vectors=str(glove_small), n_clusters=20, unknown="drop"),
        "DocVectorizer": DocVectorizer(unlabelled=tuple(texts[400:600]), vector_size=8, epochs=2, min_count=2),
        **{f"EmbeddingVectorizer-{p}": EmbeddingVectorizer(vectors=str(glove_small), pooling=p)
           for p in ("mean", "max", "sum", "tfidf", "sif")},
        "StackedTextClassifier": StackedTextClassifier(vectors=None, cv=2, random_state=0),
        "PseudoLabelClassifier": PseudoLabelClassifier(make_pipeline(BagEncoder(), NBSVMClassifier(random_state=0))),
    }


TEXT_CASES = ["WordClusterer", "WordClusterer-drop", "DocVectorizer", "EmbeddingVectorizer-mean",
              "EmbeddingVectorizer-max", "EmbeddingVectorizer-sum", "EmbeddingVectorizer-tfidf",
              "EmbeddingVectorizer-sif", "StackedTextClassifier", "PseudoLabelClassifier"]


@pytest.mark.parametrize("case", TEXT_CASES)
def test_sklearn_checks_usage_text_fit_contract(case, text_estimators, imdb_tokens, tmp_path, monkeypatch):
    """fit_returns_self, dont_overwrite_parameters, fit does not mutate X or y, dict_unchanged, estimators_unfitted,
    fit_idempotent, methods_subset_invariance and sample order invariance, pickle round trip, n_features_in_ (not
    for text), in their text form on real reviews."""
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    docs, labels = imdb_tokens
    X, y, X_new = docs[:200], np.asarray(labels[:200], dtype=object), docs[200:260]
    if case == "PseudoLabelClassifier":
        y[::4] = -1
    estimator = clone(text_estimators[case])
    with pytest.raises(NotFittedError):
        _output(estimator, X_new)
    params = copy.deepcopy(estimator.get_params())
    X_before, y_before = copy.deepcopy(X), y.copy()
    assert estimator.fit(X, y) is estimator
    assert joblib.hash(estimator.get_params()) == joblib.hash(params)  # fit does not change its parameters
    assert X == X_before and np.array_equal(y, y_before)  # nor its input
    public = {k for k in vars(estimator) if not k.startswith("_")}
    assert all(k.endswith("_") for k in public - set(params))  # what fit adds is fitted state
    assert not hasattr(estimator, "n_features_in_")  # token lists have no features to count
    state = _state(estimator)
    full = _as_comparable(_output(estimator, X_new))
    methods = [m for m in ("predict", "predict_proba", "decision_function", "score") if hasattr(estimator, m)]
    for method in methods:
        getattr(estimator, method)(*((X_new, labels[200:260]) if method == "score" else (X_new,)))
    assert _state(estimator) == state  # transform and predict leave the estimator as it was
    # a document's output does not depend on the documents it comes with (bit for bit: no BLAS product per batch)
    by_batch = [_as_comparable(_output(estimator, X_new[i:i + 7])) for i in range(0, len(X_new), 7)]
    alone = [_as_comparable(_output(estimator, [doc])) for doc in X_new[:10]]
    order = np.random.default_rng(0).permutation(len(X_new))
    shuffled = _as_comparable(_output(estimator, [X_new[i] for i in order]))
    if isinstance(full, list):  # token lists
        assert [d for part in by_batch for d in part] == full and [d for part in alone for d in part] == full[:10]
        assert shuffled == [full[i] for i in order]
    else:
        # the stack's meta-learner is scikit-learn's LogisticRegression, a BLAS product: scikit-learn's tolerance
        tolerance = 1e-7 if case == "StackedTextClassifier" else 0
        np.testing.assert_allclose(np.concatenate(by_batch), full, rtol=0, atol=tolerance)
        np.testing.assert_allclose(np.concatenate(alone), full[:10], rtol=0, atol=tolerance)
        np.testing.assert_allclose(shuffled, full[order], rtol=0, atol=tolerance)
    corpus = TokenizedCorpus.from_token_lists(X_new)  # the same documents as a corpus: the same output, corpus intact
    ids, strings = corpus.ids.copy(), list(corpus.strings)
    from_corpus = _as_comparable(_output(estimator, corpus))
    assert from_corpus == full if isinstance(full, list) else np.array_equal(from_corpus, full)
    assert np.array_equal(corpus.ids, ids) and list(corpus.strings) == strings
    transformer = hasattr(estimator, "transform") and hasattr(estimator, "get_feature_names_out")
    if transformer and isinstance(full, np.ndarray):  # dense vectors: a table (the stack only names its member scores)
        frame = clone(text_estimators[case]).set_output(transform="pandas").fit(X, y).transform(X_new)
        assert frame.columns.tolist() == estimator.get_feature_names_out().tolist()
        np.testing.assert_array_equal(frame.to_numpy(), full)
    again = clone(text_estimators[case]).fit(X, y)  # idempotent: a clone fitted again gives the same model
    refit = estimator.fit(X, y)
    for model in (again, refit, pickle.loads(pickle.dumps(estimator))):
        restored = _as_comparable(_output(model, X_new))
        assert restored == full if isinstance(full, list) else np.array_equal(restored, full)


def test_sklearn_checks_usage_word_clusters_transform_leaves_the_estimator_as_it_was(imdb_tokens, glove_small,
                                                                                      tmp_path, monkeypatch):
    # WordClusterer built its word -> cluster table on the first transform and stored it on itself, so
    # transform changed the estimator's state (scikit-learn's check_dict_unchanged), after fit and after
    # unpickling alike
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    docs, _ = imdb_tokens
    clusterer = WordClusterer(vectors=str(glove_small), n_clusters=20).fit(docs[:100])
    for model in (clusterer, pickle.loads(pickle.dumps(clusterer)), copy.deepcopy(clusterer)):
        before = dict(vars(model))
        tokens = model.transform(docs[100:120])
        assert vars(model).keys() == before.keys() and all(vars(model)[k] is v for k, v in before.items())
        assert tokens.to_list() == clusterer.transform(docs[100:120]).to_list()
    assert "_table" not in clusterer.__getstate__()  # the pickle stays compact: the table is rebuilt on loading


def test_sklearn_checks_usage_sif_vectors_do_not_depend_on_the_batch(imdb_tokens, glove_small):
    # EmbeddingVectorizer(pooling="sif") removed the common component with a BLAS product over the batch, which
    # rounds a row by its place in the batch: a review's vector moved by up to 2.4e-7 (2 float32 ulps) with the
    # reviews transformed beside it, beyond scikit-learn's check_methods_subset_invariance (atol=1e-7)
    docs, _ = imdb_tokens
    vec = EmbeddingVectorizer(vectors=str(glove_small), pooling="sif").fit(docs[:400])
    new = docs[400:]
    full = vec.transform(new)
    for size in (1, 3, 16, 64, 199):
        parts = np.concatenate([vec.transform(new[i:i + size]) for i in range(0, len(new), size)])
        np.testing.assert_array_equal(parts, full)
    # still the projection off the first principal component, to float32 precision
    np.testing.assert_allclose(full @ vec.components_.T, 0, atol=1e-5)
    pooled = vec._pool(vec._counts(new))
    u = vec.components_.astype(np.float64)
    exact = pooled - (pooled.astype(np.float64) @ u.T) @ u
    np.testing.assert_allclose(full, exact, rtol=1e-6, atol=1e-6)


def test_sklearn_checks_usage_embedding_vectorizer_refuses_an_empty_corpus(glove_small):
    # fit([]) gave a vocabulary of padding and OOV alone, and every document then pooled to zeros, silently
    # (scikit-learn's check_estimators_empty_data_messages: fit on 0 samples raises a ValueError), as
    # SequenceEncoder and BagEncoder refuse it
    with pytest.raises(ValueError, match=r"Cannot fit EmbeddingVectorizer on an empty corpus \(0 documents\); "
                                         r"pass at least one document\."):
        EmbeddingVectorizer(vectors=str(glove_small)).fit([])
    with pytest.raises(ValueError, match="Cannot fit EmbeddingVectorizer on an empty corpus"):
        EmbeddingVectorizer(vectors=str(glove_small)).fit_transform(TokenizedCorpus.from_token_lists([]))


def test_sklearn_checks_usage_bag_refit_in_another_mode_drops_the_idf(imdb_tokens):
    # a BagEncoder fitted with output_mode="tf_idf", then set to "count" and fitted again, kept the idf_ of the
    # first fit, a fitted attribute that the last fit never learnt
    docs, _ = imdb_tokens
    enc = BagEncoder(output_mode="tf_idf").fit(docs[:50])
    assert enc.idf_.shape == (len(enc.vocabulary_) - 1,)
    enc.set_params(output_mode="count").fit(docs[50:100])
    assert not hasattr(enc, "idf_")
    np.testing.assert_array_equal(enc.transform(docs[:5]).toarray(),
                                  BagEncoder(output_mode="count").fit(docs[50:100]).transform(docs[:5]).toarray())


def test_sklearn_checks_usage_neighbor_vote_on_several_outputs_offers_no_decision_function(imdb_tokens, glove_small):
    # NeighborVote fitted on a 2-D y (several outputs) returned a 3-D array of clipped log shares from
    # decision_function, shape (n_outputs, n_samples, 2), which no caller could read
    docs, labels = imdb_tokens
    X = EmbeddingVectorizer(vectors=str(glove_small)).fit_transform(docs[:150])
    lengths = np.array([len(d) for d in docs[:150]])
    y = np.column_stack([labels[:150] == "pos", lengths > np.median(lengths)]).astype(int)
    knn = NeighborVote(n_neighbors=5).fit(X, y)
    assert not hasattr(knn, "decision_function")
    with pytest.raises(AttributeError, match="'NeighborVote' has no attribute 'decision_function'") as raised:
        knn.decision_function(X)
    # scikit-learn's available_if raises its own error from the check's, which says why
    assert raised.value.__cause__ is not None
    assert str(raised.value.__cause__).startswith(
        "decision_function is not available for a NeighborVote fitted on a 2-D y (2 outputs)")
    assert "Use predict_proba" in str(raised.value.__cause__)
    assert [p.shape for p in knn.predict_proba(X[:4])] == [(4, 2), (4, 2)]
    single = NeighborVote(n_neighbors=5).fit(X, labels[:150])  # one target: as before
    assert single.decision_function(X[:4]).shape == (4,)


def test_sklearn_checks_usage_capped_pca_names_its_components(imdb_tokens, glove_small):
    # the "neighbors" member's PCA step had no get_feature_names_out: set_output(transform="pandas") raised
    # AttributeError and Pipeline.get_feature_names_out stopped at it
    pd = pytest.importorskip("pandas")
    from sklearn.preprocessing import Normalizer

    docs, _ = imdb_tokens
    steps = make_pipeline(EmbeddingVectorizer(vectors=str(glove_small), pooling="sif"), Normalizer(),
                          _CappedPCA(n_components=5))
    plain = clone(steps).fit(docs[:100])
    assert plain.get_feature_names_out().tolist() == ["pca0", "pca1", "pca2", "pca3", "pca4"]
    frame = clone(steps).set_output(transform="pandas").fit(docs[:100]).transform(docs[100:110])
    assert isinstance(frame, pd.DataFrame) and frame.columns.tolist() == ["pca0", "pca1", "pca2", "pca3", "pca4"]
    np.testing.assert_array_equal(frame.to_numpy(), plain.transform(docs[100:110]))
    with pytest.raises(NotFittedError):
        _CappedPCA().get_feature_names_out()


def test_sklearn_checks_usage_pseudo_labels_of_an_array_like_without_len(imdb_tokens):
    # an array-like known only by __array__ (scikit-learn's check_classifier_data_not_an_array) failed with
    # "TypeError: object of type '_NotAnArray' has no len()"; a one-class y now says "1 class"
    from sklearn.utils.estimator_checks import _NotAnArray

    docs, labels = imdb_tokens
    X = BagEncoder(output_mode="count").fit_transform(docs[:200]).toarray()
    y = np.asarray(labels[:200], dtype=object)
    y[::3] = -1
    model = PseudoLabelClassifier(NBSVMClassifier(random_state=0))
    expected = clone(model).fit(X, y)
    fitted = clone(model).fit(_NotAnArray(X), y)
    assert fitted.pseudo_labels_.tolist() == expected.pseudo_labels_.tolist()
    np.testing.assert_array_equal(fitted.decision_function(X), expected.decision_function(X))
    assert fitted.score(_NotAnArray(X), y) == expected.score(X, y)
    with pytest.raises(ValueError, match=r"got labelled samples of 1 class only: it needs labelled samples of at "
                                         r"least 2 classes; the 1 labelled samples are all of class 'pos'"):
        clone(model).fit(X[:1], np.asarray(["pos"], dtype=object))
