"""A vocabulary built by ``Vocabulary.from_documents`` saves without re-checking its n-gram strings.

Its compact ``"ngram_codes"`` state needs every n-gram of the n-gram index to be
spelled as the join of its codes' strings. ``from_documents`` makes the n-gram
strings as those joins, so checking them again at save time (3-4 s for the
millions of 1-3-grams of 25,000 IMDB reviews) is skipped for it; the state is
the same, array for array and byte for byte. A vocabulary whose tokens or index
could disagree (the plain constructor, a subclass, tokens or index replaced
after building) is still checked and falls back to the full layout when an
n-gram is spelled otherwise.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from toolkit import TokenizedCorpus, Vocabulary
from toolkit.text.corpus import NgramIndex


def _built(docs):
    return Vocabulary.from_documents(TokenizedCorpus.from_token_lists(docs).ngrams((1, 3)))


def _no_check(monkeypatch):
    """Make the n-gram string check fail the test if it runs."""
    def check(self, index):
        raise AssertionError("the n-gram strings of a vocabulary built by from_documents were checked again")

    monkeypatch.setattr(Vocabulary, "_check_outside_tokens", check)


def _spy_check(monkeypatch):
    """Count the n-gram string checks (which still run)."""
    calls = []
    check = Vocabulary._check_outside_tokens
    monkeypatch.setattr(Vocabulary, "_check_outside_tokens",
                        lambda self, index: calls.append(index) or check(self, index))
    return calls


def _assert_same_state(a, b, where="state"):
    """Equal states: the same keys, containers, scalars and arrays (dtype, shape and values)."""
    assert type(a) is type(b), where
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            _assert_same_state(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_state(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert (a.dtype, a.shape) == (b.dtype, b.shape), where
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert a == b, where


@pytest.fixture(scope="module")
def docs(imdb_tokens):
    token_lists, _ = imdb_tokens
    return token_lists[:300]


def test_built_vocabulary_saves_the_checked_state_without_the_check(docs, monkeypatch):
    """A from_documents 1-3-gram vocabulary of 300 real reviews: its state is that of the same vocabulary
    whose n-gram strings were checked (every array, same dtypes), its pickle the same bytes, and the check
    never runs (before, every first save ran it)."""
    checked = _built(docs)
    checked.__dict__.pop("_spelled_by", None)  # as any other vocabulary: the strings are checked
    expected = checked.__getstate__()
    assert expected["tokens_layout"] == "ngram_codes"
    expected_bytes = [pickle.dumps(checked, protocol=p) for p in (4, pickle.HIGHEST_PROTOCOL)]

    vocab = _built(docs)
    _no_check(monkeypatch)
    state = vocab.__getstate__()
    _assert_same_state(state, expected)
    assert [pickle.dumps(vocab, protocol=p) for p in (4, pickle.HIGHEST_PROTOCOL)] == expected_bytes
    assert "_spelled_by" not in pickle.loads(pickle.dumps(vocab)).__dict__  # never saved
    assert pickle.loads(pickle.dumps(vocab)) == vocab


def _respelled_tokens(vocab):
    """``vocab``'s tokens tuple with one 3-gram spelled with two spaces: no longer the join of its codes."""
    tokens = list(vocab._tokens)
    at = next(i for i, t in enumerate(tokens) if t.count(" ") == 2)
    tokens[at] = tokens[at].replace(" ", "  ")
    return tuple(tokens), at


def _swapped_sorted(index):
    """``index._sorted`` with the ids of two 3-grams swapped: every id still in range and once."""
    keys, values = index._sorted[3]
    values = values.copy()
    values[[0, 1]] = values[[1, 0]]
    return {**index._sorted, 3: (keys, values)}


def _tokens_replaced(vocab):
    vocab._tokens, _ = _respelled_tokens(vocab)
    del vocab._token_to_id


def _index_replaced(vocab):
    index = vocab._ngram_indexes[" "]
    vocab._ngram_indexes = {" ": NgramIndex._from_parts(index.mapping, " ", index.codes, index.n_codes,
                                                        _swapped_sorted(index))}


def _index_entry_replaced(vocab):
    index = vocab._ngram_indexes[" "]
    index._sorted[3] = _swapped_sorted(index)[3]


def _index_arrays_replaced(vocab):
    index = vocab._ngram_indexes[" "]
    index._sorted = _swapped_sorted(index)


def _constructor(vocab):
    """The plain constructor given a built vocabulary's index but one respelled 3-gram."""
    tokens, _ = _respelled_tokens(vocab)
    odd = Vocabulary(tokens[2:], vocab.counts[2:])
    odd._ngram_indexes = vocab._ngram_indexes
    return odd


class _Marked(Vocabulary):
    """A subclass whose constructor respells the tokens it is given (a mark before each)."""

    def __init__(self, tokens=(), counts=None, **kwargs):
        super().__init__(["!" + t for t in tokens], counts, **kwargs)


@pytest.mark.parametrize("case", ["constructor", "subclass", "tokens_replaced", "index_replaced",
                                  "index_entry_replaced", "index_arrays_replaced"])
def test_vocabulary_that_may_not_spell_its_index_is_checked(docs, monkeypatch, case):
    """Tokens and index that could disagree: the check runs, finds the respelled or moved n-gram and the
    state keeps every token's text (it loads back to the same tokens)."""
    if case == "subclass":
        vocab = _Marked.from_documents(TokenizedCorpus.from_token_lists(docs).ngrams((1, 3)))
        assert len(vocab._ngram_indexes) == 1 and vocab.tokens[2].startswith("!")
    else:
        vocab = _built(docs)
        if case == "constructor":
            vocab = _constructor(vocab)
        else:
            {"tokens_replaced": _tokens_replaced, "index_replaced": _index_replaced,
             "index_entry_replaced": _index_entry_replaced, "index_arrays_replaced": _index_arrays_replaced}[case](vocab)
    calls = _spy_check(monkeypatch)
    state = vocab.__getstate__()
    assert len(calls) == 1 and calls[0] is vocab._ngram_indexes[" "]
    assert "tokens_layout" not in state and len(state["tokens"][1]) == len(vocab)
    loaded = pickle.loads(pickle.dumps(vocab))
    assert loaded.tokens == vocab.tokens and np.array_equal(loaded.counts, vocab.counts)


def test_built_vocabulary_given_another_index_is_checked_then(docs, monkeypatch):
    """Saved once without the check, then given an index that moves two 3-grams: the next save checks the
    new index and keeps every token's text, and so do later saves with the first index back."""
    vocab = _built(docs)
    first = vocab._ngram_indexes
    with monkeypatch.context() as patch:
        _no_check(patch)
        assert vocab.__getstate__()["tokens_layout"] == "ngram_codes"
    calls = _spy_check(monkeypatch)
    _index_replaced(vocab)
    assert "tokens_layout" not in vocab.__getstate__() and len(calls) == 1
    vocab._ngram_indexes = first  # the original index back: correct, checked again
    assert vocab.__getstate__()["tokens_layout"] == "ngram_codes" and len(calls) == 2


def test_built_ngram_model_round_trips_its_predictions_without_the_check(imdb_small, tmp_path, monkeypatch):
    """A SpacyTokenizer(1-3-grams) -> BagEncoder -> NBSVM pipeline fitted on 300 real reviews saves with
    save_model and pickle without checking its vocabulary's n-gram strings, and both copies give the
    fitted model's decision values, labels and tokens on 60 held-out reviews."""
    from sklearn.pipeline import make_pipeline

    from toolkit import BagEncoder, NBSVMClassifier, SpacyTokenizer
    from toolkit.models.persistence import load_model, save_model

    texts, labels = imdb_small
    model = make_pipeline(SpacyTokenizer(ngram_range=(1, 3)), BagEncoder(output_mode="count"), NBSVMClassifier())
    model.fit(texts[:300], labels[:300])
    vocab = model.steps[1][1].vocabulary_
    assert len(vocab._ngram_indexes) == 1
    held_out = texts[300:360]
    _no_check(monkeypatch)
    folder = save_model(model, tmp_path / "model")
    copies = [load_model(folder), pickle.loads(pickle.dumps(model))]
    scores, predicted = model.decision_function(held_out), model.predict(held_out)
    for copy in copies:
        np.testing.assert_array_equal(copy.decision_function(held_out), scores)
        assert copy.predict(held_out).tolist() == predicted.tolist()
        assert copy.steps[1][1].vocabulary_.tokens == vocab.tokens
