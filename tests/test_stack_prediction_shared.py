"""Prediction of STACK_MANY_JOB-shaped stacks: the n-gram ids of negation-marked documents and their tails.

A negation-marked corpus's string table holds every string twice (plain and ``NOT_``), and
``TokenizedCorpus.tail`` keeps its source's whole table, so the stack's ``"tail"`` member looked up
~100,000 strings to use ~7,000 (2,000 IMDB reviews). ``_NgramCorpus.lookup_ids`` now reads only the
strings the documents use; these tests pin that the ids, and the stack's predictions, do not change.
"""

from __future__ import annotations

import numpy as np
import pytest

from toolkit import StackedTextClassifier
from toolkit.text import TokenizedCorpus
from toolkit.text import corpus as corpus_module
from toolkit.text.negation import mark_negation
from toolkit.text.vocabulary import OOV_ID, Vocabulary

# STACK_MANY_JOB's n-gram members (NBSVM++ and NBSVM, the tail, the ratings) without its vector members
STACK_MANY_NGRAMS = dict(vectors=None, tail_tokens=20, mark_negation=True, ratings_alpha=0.03,
                         ngram_model=("nbsvm++", "nbsvm"), C=0.01, ngram_range=(1, 3), cv=3, random_state=0)


def _whole_table(strings, ids):
    """The lookup before the change: every string of the table, used or not."""
    return strings, np.arange(len(strings))


def _string_ids(corpus, vocab):
    """The reference: each n-gram's string looked up in the vocabulary's dict (no NgramIndex)."""
    ids = corpus.lookup(vocab.token_to_id, OOV_ID)
    ids[ids == 0] = OOV_ID
    return ids


@pytest.mark.parametrize("tail", [None, 20])
def test_ngram_ids_of_marked_documents_match_the_string_lookup(split, tail):
    X, _, X_val, _ = split
    train, new = mark_negation(X), mark_negation(X_val)
    if tail is not None:
        train, new = train.tail(tail), new.tail(tail)
        assert len(np.unique(new.ids)) < len(new.strings) / 5  # the tail uses a small part of the table
    vocab = Vocabulary.from_documents(train.ngrams((1, 3)))
    grams = new.ngrams((1, 3))
    fast = grams.lookup_ids(vocab._ngram_indexes[" "], OOV_ID)
    assert fast is not None
    np.testing.assert_array_equal(fast, _string_ids(new.ngrams((1, 3)), vocab))
    np.testing.assert_array_equal(vocab.encode(new.ngrams((1, 3))), fast)


def test_unused_string_with_the_separator_keeps_the_ngram_fast_path():
    """A string holding the separator that no document uses (a tail cut it off) cannot make a wrong n-gram:
    the ids come from the token codes (before, any such string in the table sent every look-up to the strings)."""
    docs = TokenizedCorpus.from_token_lists([["new york", "is", "not", "a", "good", "film"], ["a", "good", "film"]])
    vocab = Vocabulary.from_documents(TokenizedCorpus.from_token_lists([["a", "good", "film", "is"]]).ngrams((1, 2)))
    tail = docs.tail(3)
    assert "new york" in tail.strings and "new york" not in set(sum(tail.to_list(), []))
    fast = tail.ngrams((1, 2)).lookup_ids(vocab._ngram_indexes[" "], OOV_ID)
    assert fast is not None
    np.testing.assert_array_equal(fast, _string_ids(tail.ngrams((1, 2)), vocab))


@pytest.mark.slow
def test_stack_many_predictions_unchanged_by_the_used_string_lookup(split, imdb_small_ratings, tmp_path,
                                                                    monkeypatch):
    from toolkit.models.persistence import load_model, save_model

    X, y, X_val, _ = split
    clf = StackedTextClassifier(**STACK_MANY_NGRAMS).fit(X, y, ratings=imdb_small_ratings[:400])
    assert clf.member_names_ == ["ngrams", "ngrams_nbsvm", "tail", "ratings"]
    proba, scores = clf.predict_proba(X_val), clf.member_scores(X_val)
    loaded = load_model(save_model(clf, tmp_path / "model"))
    loaded_proba = loaded.predict_proba(X_val)
    with monkeypatch.context() as patch:
        patch.setattr(corpus_module, "_used_strings", _whole_table)
        np.testing.assert_array_equal(clf.predict_proba(X_val), proba)  # bit-identical, not close
        np.testing.assert_array_equal(clf.member_scores(X_val), scores)
        np.testing.assert_array_equal(loaded.predict_proba(X_val), loaded_proba)
