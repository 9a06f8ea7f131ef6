"""The scikit-learn contract for the text-pipeline estimators.

``check_estimator`` runs almost nothing for estimators tagged as taking
strings, so the data-free checks are called one by one and the data checks
are written here in their text form (as scikit-learn's own
``feature_extraction/tests/test_text.py`` does).
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
from sklearn.utils import estimator_checks as checks

from toolkit.text.corpus import TokenizedCorpus
from toolkit.text.encoders import BagEncoder, HashingEncoder, SequenceEncoder
from toolkit.text.negation import NegationMarker
from toolkit.text.tokenizer import SpacyTokenizer

TEXTS = [
    "A good film.<br /><br />Really good!",
    "The plot was thin, the acting worse.",
    "Good acting; thin plot?",
    "",
]
TOKENS = [["a", "good", "film"], ["the", "plot", "was", "thin"], ["good", "acting", "thin", "plot"], []]

ESTIMATORS = [
    SpacyTokenizer(),
    SpacyTokenizer(remove_punct=True, ngram_range=(1, 2)),
    SequenceEncoder(maxlen=5),
    BagEncoder(output_mode="tf_idf"),
    HashingEncoder(n_features=64),
    NegationMarker(),
]
STATEFUL = (SequenceEncoder, BagEncoder)


def _ids(estimator):
    # the position, not id(): the same ids in every process (pytest-xdist's workers must collect the same tests)
    return f"{type(estimator).__name__}-{next(i for i, e in enumerate(ESTIMATORS) if e is estimator)}"


def _input_for(estimator):
    return TEXTS if isinstance(estimator, SpacyTokenizer) else TOKENS


def _as_comparable(output):
    if isinstance(output, TokenizedCorpus):
        return output.to_list()
    if sp.issparse(output):
        return output.toarray()
    return np.asarray(output)


def _assert_same_output(a, b):
    a, b = _as_comparable(a), _as_comparable(b)
    if isinstance(a, list):
        assert a == b
    else:
        np.testing.assert_allclose(a, b)


DATA_FREE_CHECKS = [
    checks.check_no_attributes_set_in_init,
    checks.check_mixin_order,
    checks.check_get_params_invariance,
    checks.check_set_params,
    checks.check_parameters_default_constructible,
    checks.check_estimator_cloneable,
    checks.check_estimator_repr,
    checks.check_estimator_tags_renamed,
    checks.check_valid_tag_types,
    checks.check_do_not_raise_errors_in_init_or_set_params,
]


@pytest.mark.parametrize("check", DATA_FREE_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_sklearn_contract_text_data_free_checks(estimator, check):
    check(type(estimator).__name__, clone(estimator))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_sklearn_contract_text_tags_declare_string_input(estimator):
    tags = estimator.__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    assert tags.requires_fit == isinstance(estimator, STATEFUL)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_sklearn_contract_text_fit_is_idempotent_and_keeps_params(estimator):
    est = clone(estimator)
    X = _input_for(est)
    params = copy.deepcopy(est.get_params())
    first = est.fit(X).transform(X)
    second = est.fit(X).transform(X)
    _assert_same_output(first, second)
    _assert_same_output(first, clone(estimator).fit_transform(X))
    assert est.get_params() == params  # fit does not overwrite parameters
    public = {k for k in vars(est) if not k.startswith("_")}
    # only fitted attributes are added (SpacyTokenizer's fit_transform records skipped_)
    assert public - set(params) <= {"vocabulary_", "maxlen_", "idf_", "skipped_"}


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_sklearn_contract_text_fit_does_not_mutate_input(estimator):
    X = copy.deepcopy(_input_for(estimator))
    before = copy.deepcopy(X)
    est = clone(estimator).fit(X)
    est.transform(X)
    assert X == before
    corpus = TokenizedCorpus.from_token_lists(TOKENS)
    ids_before = corpus.ids.copy()
    if not isinstance(estimator, SpacyTokenizer):
        clone(estimator).fit(corpus).transform(corpus)
        np.testing.assert_array_equal(corpus.ids, ids_before)


@pytest.mark.parametrize("estimator", [e for e in ESTIMATORS if isinstance(e, STATEFUL)], ids=_ids)
def test_sklearn_contract_text_transform_before_fit_raises(estimator):
    with pytest.raises(NotFittedError, match=f"This {type(estimator).__name__} instance is not fitted yet"):
        clone(estimator).transform(TOKENS)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_sklearn_contract_text_clone_and_pickle_round_trip(estimator, tmp_path):
    X = _input_for(estimator)
    fitted = clone(estimator).fit(X)
    expected = fitted.transform(X)
    for restored in (pickle.loads(pickle.dumps(fitted)), joblib.load(joblib.dump(fitted, tmp_path / "est.joblib")[0])):
        _assert_same_output(restored.transform(X), expected)
        assert restored.get_params() == fitted.get_params()
    fresh = clone(fitted)
    assert not any(k.endswith("_") and not k.startswith("_") for k in vars(fresh))


def test_sklearn_contract_text_pipeline_memory_caches_the_tokenizer(tmp_path, monkeypatch):
    from sklearn.pipeline import Pipeline

    calls = []
    original = SpacyTokenizer._tokenize

    def counting(self, docs, skipped):
        calls.append(len(docs))
        return original(self, docs, skipped)

    monkeypatch.setattr(SpacyTokenizer, "_tokenize", counting)
    pipe = Pipeline([("tok", SpacyTokenizer()), ("enc", SequenceEncoder(maxlen=6))], memory=str(tmp_path / "joblib"))
    first = pipe.fit_transform(TEXTS)
    assert calls == [len(TEXTS)]
    pipe.set_params(enc__maxlen=3)
    second = pipe.fit(TEXTS).transform(TEXTS[:1])
    assert calls == [len(TEXTS), 1]  # the refit reused the cached tokenization
    assert first.shape == (4, 6) and second.shape == (1, 3)


def test_sklearn_contract_text_grid_search_over_a_text_pipeline():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    texts = [f"{w} movie {'great fun' if i % 2 else 'awful bore'} {i}" for i, w in enumerate(["a", "the", "one"] * 8)]
    y = np.arange(len(texts)) % 2
    pipe = make_pipeline(SpacyTokenizer(), BagEncoder(), LogisticRegression())
    search = GridSearchCV(pipe, {"bagencoder__output_mode": ["multi_hot", "tf_idf"], "spacytokenizer__ngram_range": [(1, 1), (1, 2)]}, cv=3)
    search.fit(texts, y)
    assert search.best_score_ == 1.0
    assert search.predict(["great fun", "awful bore"]).tolist() == [1, 0]


def test_sklearn_contract_text_set_output_pandas():
    pd = pytest.importorskip("pandas")
    enc = SequenceEncoder(maxlen=3).set_output(transform="pandas").fit(TOKENS)
    frame = enc.transform(TOKENS)
    assert isinstance(frame, pd.DataFrame)
    assert frame.columns.tolist() == ["sequenceencoder0", "sequenceencoder1", "sequenceencoder2"]
    assert BagEncoder().fit(TOKENS).get_feature_names_out().tolist()[0] == "<unk>"


def test_sklearn_contract_text_nested_params_in_pipeline():
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(SpacyTokenizer(), SequenceEncoder())
    pipe.set_params(spacytokenizer__lemmatize=True, sequenceencoder__maxlen=7)
    params = pipe.get_params()
    assert params["spacytokenizer__lemmatize"] is True and params["sequenceencoder__maxlen"] == 7
    assert pipe.fit_transform(TEXTS).shape == (4, 7)
