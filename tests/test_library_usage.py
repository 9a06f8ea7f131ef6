"""The Python API as a notebook / scikit-learn user meets it: input forms, errors, the estimator contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from toolkit.models import NBSVMClassifier, PseudoLabelClassifier, StackedTextClassifier
from toolkit.text import BagEncoder, TokenizedCorpus, Vocabulary
from toolkit.text.encoders import bag_matrix


@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function", "member_scores"])
def test_library_usage_unfitted_stack_raises_not_fitted_error(imdb_tokens, method):
    # scikit-learn's contract (and what every other toolkit estimator does): NotFittedError, not an
    # AttributeError about the private meta_ attribute
    docs, _ = imdb_tokens
    with pytest.raises(NotFittedError, match="StackedTextClassifier instance is not fitted yet"):
        getattr(StackedTextClassifier(vectors=None), method)(docs[:3])


def test_library_usage_pseudo_labels_with_string_classes_and_minus_one(imdb_tokens):
    # ["neg", ..., -1, ...] as a list: numpy makes it a string array and -1 the class "-1", so the
    # unlabelled half silently became a third class and nothing was pseudo-labelled
    docs, labels = imdb_tokens
    y = list(labels[:200]) + [-1] * 100
    clf = PseudoLabelClassifier(make_pipeline(BagEncoder(), NBSVMClassifier()), fraction=0.5)
    with pytest.raises(ValueError, match=r"dtype=object.*-1"):
        clf.fit(docs[:300], y)
    # the way the message says works: two classes, half of the unlabelled reviews pseudo-labelled
    clf.fit(docs[:300], np.array(y, dtype=object))
    assert sorted(clf.classes_.tolist()) == ["neg", "pos"]
    assert 50 <= clf.n_pseudo_labelled_ <= 51
    # a string array without "-1" is a plain labelled fit
    assert PseudoLabelClassifier(make_pipeline(BagEncoder(), NBSVMClassifier())).fit(
        docs[:100], labels[:100]).n_pseudo_labelled_ == 0


@pytest.mark.parametrize("build", [
    lambda texts: Vocabulary.from_documents(texts),
    lambda texts: TokenizedCorpus.from_token_lists(texts),
    lambda texts: TokenizedCorpus.from_token_lists(np.asarray(texts)),
    lambda texts: bag_matrix(texts, Vocabulary(["the", "film"])),
], ids=["Vocabulary.from_documents", "from_token_lists", "from_token_lists-array", "bag_matrix"])
def test_library_usage_raw_texts_are_not_split_into_characters(imdb_small, build):
    # raw reviews where token lists belong were read as documents of single characters: a
    # "vocabulary" of letters, without any error
    texts, _ = imdb_small
    with pytest.raises(ValueError, match="document 0 is a raw str.*Tokenize first"):
        build(texts[:5])


def test_library_usage_single_string_is_not_a_corpus():
    with pytest.raises(ValueError, match="single str"):
        TokenizedCorpus.from_token_lists("a good film")
    with pytest.raises(ValueError, match="single str"):
        Vocabulary.from_documents("a good film")
    # token lists in any sequence form still work
    vocab = Vocabulary.from_documents([("a", "good"), np.array(["film"]), iter(["a"])])
    assert vocab.tokens == ["<pad>", "<unk>", "a", "good", "film"]


def test_a_missing_text_of_a_pandas_string_column_is_named_missing():
    """pandas' "string" dtype (and Dask's text columns) holds pd.NA for a missing text: the message said
    'Document 1 of X is a NAType, not a str' instead of naming it missing, with the fix."""
    pd = pytest.importorskip("pandas")
    from toolkit import SpacyTokenizer

    with pytest.raises(ValueError, match=r"Document 1 of X is missing \(None/NaN\); drop or fill"):
        SpacyTokenizer().transform(pd.Series(["a fine film", None], dtype="string"))
