"""StackedTextClassifier used as a user would (forty-eighth session): n-gram tokens at prediction, n-gram settings
that leave a member no n-gram."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import simple_tokens

from toolkit import StackedTextClassifier
from toolkit.models import PseudoLabelClassifier
from toolkit.text import SpacyTokenizer


@pytest.fixture(scope="module")
def fitted_on_words(imdb_small):
    """A small stack (no vectors) fitted on 80 real reviews' word tokens, and 6 other reviews' texts."""
    texts, labels = imdb_small
    stack = StackedTextClassifier(vectors=None, cv=2, random_state=0).fit(simple_tokens(texts[:80]), labels[:80])
    return stack, texts[100:106]


@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function", "member_scores"])
def test_ngram_tokens_refused_at_prediction_as_in_fit(fitted_on_words, method):
    """fit refuses the n-grams of a tokenizer (SpacyTokenizer(ngram_range=(1, 2))); predict scored them silently
    (the members counted n-grams of n-grams), giving other labels than for the same reviews' words."""
    stack, texts = fitted_on_words
    grams = SpacyTokenizer(ngram_range=(1, 2)).fit_transform(texts)
    with pytest.raises(ValueError, match=r"makes its own n-grams.*1-2-grams of a tokenizer"):
        getattr(stack, method)(grams)


def test_word_tokens_of_a_spacy_tokenizer_still_predict(fitted_on_words):
    """Guard: the tokenizer's word tokens (no ngram_range), and an empty batch, predict as before."""
    stack, texts = fitted_on_words
    words = SpacyTokenizer().fit_transform(texts)
    proba = stack.predict_proba(words)
    assert proba.shape == (len(texts), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert stack.predict([]).shape == (0,)


def test_pseudo_label_stack_refuses_ngram_tokens_at_prediction(imdb_small):
    """The same through PseudoLabelClassifier wrapping the stack, with unlabelled (-1) rows in fit."""
    texts, labels = imdb_small
    y = np.asarray(labels[:90], dtype=object)
    y[60:] = -1
    model = PseudoLabelClassifier(StackedTextClassifier(vectors=None, cv=2, random_state=0), random_state=0)
    model.fit(simple_tokens(texts[:90]), y)
    assert set(model.classes_) == {"neg", "pos"}
    with pytest.raises(ValueError, match="makes its own n-grams"):
        model.predict(SpacyTokenizer(ngram_range=(1, 3)).fit_transform(texts[100:103]))


def test_tail_shorter_than_the_smallest_ngram_refused_naming_the_parameters(imdb_tokens):
    """tail_tokens=1 with ngram_range=(2, 3): the 'tail' member had no n-gram, and the fit stopped inside it with
    "The vocabulary of BagEncoder is empty ... Lower min_count, or check the tokenizer"."""
    docs, labels = imdb_tokens
    stack = StackedTextClassifier(vectors=None, cv=2, tail_tokens=1, ngram_range=(2, 3), random_state=0)
    with pytest.raises(ValueError, match=r"'tail_tokens'.*at least ngram_range's smallest n \(2\).*tail_tokens=1"):
        stack.fit(docs[:40], labels[:40])
    # tail_tokens equal to the smallest n is enough (one n-gram per document)
    stack.set_params(tail_tokens=2).fit(docs[:40], labels[:40])
    assert stack.member_names_ == ["ngrams", "tail"]


def test_documents_all_shorter_than_the_smallest_ngram_refused_naming_ngram_range(imdb_tokens):
    """Every document shorter than ngram_range's smallest n: the n-gram members found no n-gram, and BagEncoder's
    "vocabulary ... is empty ... Lower min_count" named neither the stack nor ngram_range."""
    docs, labels = imdb_tokens
    short = [doc[:2] for doc in docs[:40]]
    stack = StackedTextClassifier(vectors=None, cv=2, ngram_range=(3, 3), random_state=0)
    with pytest.raises(ValueError, match=r"No document of X has 3 tokens.*longest has 2.*ngram_range=\(3, 3\)"):
        stack.fit(short, labels[:40])
    # one document long enough per fold's training part: fitted as before
    short[0], short[1] = docs[0][:3], docs[1][:3]
    assert StackedTextClassifier(vectors=None, cv=2, ngram_range=(2, 2), random_state=0).fit(
        short, labels[:40]).predict(short[:3]).shape == (3,)
