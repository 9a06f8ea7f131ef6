"""The stack's prediction counts the n-grams of new documents once (``toolkit.text.encoders.shared_counts``).

``STACK_MANY_JOB``'s NBSVM++ member (an ``EmbeddingClassifier(architecture="nbsvm")`` with a capped
vocabulary) and its NBSVM member (a ``BagEncoder`` over the uncapped vocabulary of the same documents)
counted the same 1-3-grams of each new document. Inside ``shared_counts`` the NBSVM++ rows are read off
the NBSVM member's counts; these tests pin that the rows and the stack's predictions do not change, and
that the counts live no longer than the scope.
"""

from __future__ import annotations

import contextlib
import gc
import pickle
import threading
import weakref

import numpy as np
import pytest

from toolkit import StackedTextClassifier
from toolkit.models import recipes
from toolkit.text import TokenizedCorpus, Vocabulary, encoders
from toolkit.text.encoders import (
    BagEncoder,
    _count_rows,
    _distinct_ids,
    bag_matrix,
    shared_counts,
)
from toolkit.text.vocabulary import OOV_ID

# STACK_MANY_JOB's n-gram members (NBSVM++ and NBSVM, the tail, the ratings) without its vector members
STACK_MANY_NGRAMS = {"vectors": None, "tail_tokens": 20, "mark_negation": True, "ratings_alpha": 0.03,
                     "ngram_model": ("nbsvm++", "nbsvm"), "C": 0.01, "ngram_range": (1, 3), "cv": 3, "random_state": 0}


def _no_scope(prefixes=()):
    """``shared_counts`` switched off: every member counts on its own, as before."""
    return contextlib.nullcontext()


@pytest.fixture(scope="module")
def ngram_vocabularies(split):
    """(training 1-3-grams, held-out 1-3-grams with an empty document last, {cap: capped vocabulary}, full one)."""
    X, _, X_val, _ = split
    fit = TokenizedCorpus.from_token_lists(X).ngrams((1, 3))
    new = TokenizedCorpus.from_token_lists([*X_val, []]).ngrams((1, 3))
    large = Vocabulary.from_documents(fit)
    capped = {cap: Vocabulary.from_documents(fit, max_tokens=cap) for cap in (2000, 20000, len(large))}
    return fit, new, capped, large


@pytest.fixture(scope="module")
def stack_many(split, imdb_small_ratings):
    """A small STACK_MANY_JOB-shaped stack whose NBSVM++ vocabulary is capped (as at 25,000 reviews)."""
    X, y, _, _ = split
    with pytest.MonkeyPatch.context() as patch:
        # 400 reviews have ~160,000 distinct 1-3-grams: the recipe's 800,000 would cap nothing
        patch.setitem(recipes.NBSVM_RECIPE, "max_tokens", 20000)
        return StackedTextClassifier(**STACK_MANY_NGRAMS).fit(X, y, ratings=imdb_small_ratings[:400])


@pytest.mark.parametrize("cap", [2000, 20000, None])
def test_shared_counts_distinct_ids_read_off_the_full_counts_equal_the_own_count(ngram_vocabularies, cap):
    """The rows of a capped vocabulary read off the full one's counts are its own count's, OOV included."""
    _, new, capped, large = ngram_vocabularies
    small = capped[cap or len(large)]
    assert small.is_prefix_of(large)
    expected = _count_rows(small.encode(new), new.offsets, len(small), np.int32)
    with shared_counts([(small, large)]):
        ids, offsets = _distinct_ids(new, small)
    np.testing.assert_array_equal(offsets, expected.indptr)
    np.testing.assert_array_equal(ids, expected.indices)
    assert ids.dtype == expected.indices.dtype
    if cap is not None:
        assert (large.encode(new) >= len(small)).any()  # the cap matters: n-grams OOV only for the small one
        assert (ids == OOV_ID).sum() == len(new) - 1  # once per non-empty document
    assert offsets[-1] == offsets[-2]  # the empty document stays empty


def test_shared_counts_distinct_ids_edge_rows():
    """Empty documents first and last, documents of OOV only, of ids beyond the small vocabulary only, both."""
    large, small = Vocabulary(["a", "b", "c", "d"]), Vocabulary(["a", "b"])
    docs = TokenizedCorpus.from_token_lists([[], ["zzz"], ["d"], ["a", "d", "zzz", "a"], ["c", "b"], ["b"], []])
    with shared_counts([(small, large)]):
        ids, offsets = _distinct_ids(docs, small)
    assert offsets.tolist() == [0, 0, 1, 2, 4, 6, 7, 7]
    assert ids.tolist() == [OOV_ID, OOV_ID, OOV_ID, 2, OOV_ID, 3, 3]
    expected = _distinct_ids(docs, small)  # outside the scope: its own count
    np.testing.assert_array_equal(offsets, expected[1])
    np.testing.assert_array_equal(ids, expected[0])


def test_shared_counts_counts_each_corpus_once_per_vocabulary(ngram_vocabularies, monkeypatch):
    """Inside the scope the capped vocabulary's rows and the BagEncoder's counts come from one count, in
    either order, and a caller that changes its matrix (BagEncoder weights it in place) changes no other's.
    Only the full vocabulary's counts are kept."""
    fit, new, capped, large = ngram_vocabularies
    small = capped[20000]
    encoder = BagEncoder(output_mode="multi_hot").fit(fit)
    encoder.vocabulary_ = large
    expected_bag, expected_rows = encoder.transform(new), _distinct_ids(new, small)
    counted = []
    real = encoders._count_rows
    monkeypatch.setattr(encoders, "_count_rows", lambda columns, offsets, n, dtype=np.float64:
                        counted.append(n) or real(columns, offsets, n, dtype))
    other = capped[2000]  # in no pair: counted as usual
    for rows_first in (True, False):
        counted.clear()
        with shared_counts([(small, large)]):
            rows = _distinct_ids(new, small) if rows_first else None
            bag = encoder.transform(new)  # multi_hot: its data is overwritten with ones
            again = bag_matrix(new, large, padding_column=False)
            rows = rows or _distinct_ids(new, small)
            bag_matrix(new, other), bag_matrix(new, other)
        assert counted.count(len(large) - 1) == 1  # one count, the BagEncoder layout's (no padding column)
        assert counted.count(len(other)) == 2 and len(counted) == 3  # nothing kept for other vocabularies
        assert (bag != expected_bag).nnz == 0
        np.testing.assert_array_equal(again.data, bag_matrix(new, large, padding_column=False).data)  # counts
        assert again.data.max() > 1
        for got, want in zip(rows, expected_rows):
            np.testing.assert_array_equal(got, want)
    counted.clear()
    _distinct_ids(new, small), encoder.transform(new)  # outside the scope: each counts again
    assert counted == [len(small), len(large) - 1]


def test_shared_counts_lists_of_tokens_and_other_layouts_are_counted_as_usual(ngram_vocabularies):
    _, new, capped, large = ngram_vocabularies
    docs = new.to_list()
    with shared_counts([(capped[2000], large)]):
        as_lists = bag_matrix(docs, large)
        with_padding = bag_matrix(new, large)
        without = bag_matrix(new, large, padding_column=False, dtype=np.float32)
    assert (as_lists != with_padding).nnz == 0 and with_padding.shape == (len(new), len(large))
    assert without.dtype == np.float32 and (without != with_padding[:, 1:]).nnz == 0


@pytest.mark.slow
def test_shared_counts_stack_predictions_bit_identical(stack_many, split, monkeypatch):
    """STACK_MANY_JOB's n-gram members: the same scores, probabilities and member scores with the scope as
    without it, and NBSVM++ no longer counts (one count per n-gram corpus: the NBSVM member's, the tail's)."""
    _, _, X_val, _ = split
    counted = []
    real = encoders._count_rows
    monkeypatch.setattr(encoders, "_count_rows", lambda columns, offsets, n, dtype=np.float64:
                        counted.append(n) or real(columns, offsets, n, dtype))
    shared = (stack_many.decision_function(X_val), stack_many.predict_proba(X_val), stack_many.member_scores(X_val))
    counted_shared = list(counted)
    nbsvm_pp = stack_many.members_["ngrams"][0].steps[-1][1]
    assert len(nbsvm_pp.vocabulary_) == 20000  # capped, a prefix of the NBSVM member's
    assert [small[0] for small, _ in stack_many.vocabulary_prefixes_] == ["ngrams"]
    counted.clear()
    with monkeypatch.context() as patch:
        patch.setattr(encoders, "shared_counts", _no_scope)
        alone = (stack_many.decision_function(X_val), stack_many.predict_proba(X_val), stack_many.member_scores(X_val))
    for got, want in zip(shared, alone):
        np.testing.assert_array_equal(got, want)  # bit-identical, not close
    assert counted.count(20000) == 3 and 20000 not in counted_shared  # NBSVM++ counted in each call, now never
    assert sorted(counted_shared + [20000] * 3) == sorted(counted)  # and every other count is as before


def test_shared_counts_end_with_the_scope(stack_many, split, monkeypatch):
    """Nothing outlives a prediction: the scope is closed, its counts are freed, the pickle is unchanged."""
    _, _, X_val, _ = split
    def state():
        """The pickle's size (its Keras zip holds a save time) and every step's attribute names."""
        steps = [step for models in stack_many.members_.values() for model in models for _, step in model.steps]
        return len(pickle.dumps(stack_many)), [sorted(vars(step)) for step in [stack_many, *steps]]

    stack_many.predict(X_val[:5])  # a first prediction rebuilds the NBSVM++ Keras model from its bytes
    before = state()
    made = []
    real = encoders._scope_counts

    def recording(*args, **kwargs):
        counts = real(*args, **kwargs)
        made.append(weakref.ref(counts))
        return counts

    monkeypatch.setattr(encoders, "_scope_counts", recording)
    for _ in range(3):
        stack_many.predict(X_val)
    assert encoders._SHARED_COUNTS.get() is None
    gc.collect()
    assert made and all(ref() is None for ref in made)
    assert state() == before


def test_shared_counts_belong_to_their_thread(stack_many, split, ngram_vocabularies):
    """A scope is seen by the thread that opened it only; stacks predicting in threads give the same results."""
    _, _, X_val, _ = split
    _, _, capped, large = ngram_vocabularies
    seen = []
    with shared_counts([(capped[2000], large)]):
        worker = threading.Thread(target=lambda: seen.append(encoders._SHARED_COUNTS.get()))
        worker.start()
        worker.join()
        assert encoders._SHARED_COUNTS.get() is not None
    assert seen == [None]
    expected = stack_many.decision_function(X_val)
    results = [None] * 4

    def predict(i):
        results[i] = stack_many.decision_function(X_val[i % 2:])

    threads = [threading.Thread(target=predict, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, got in enumerate(results):
        np.testing.assert_array_equal(got, expected[i % 2:])
