"""Vocabulary's saved state stores each n-gram string once.

A 1-3-gram vocabulary built by ``Vocabulary.from_documents`` keeps an n-gram
index (per n-gram, the codes of its unigrams). Its state then holds the text of
the tokens outside the index only (``"tokens_layout": "ngram_codes"``) and the
n-gram strings are rebuilt from the codes when first read: 83 MB less in a saved
``STACK_MANY_JOB`` model of 25,000 IMDB reviews. States of the older layout
(every token's text, no ``"tokens_layout"``) still load. Damaged states are
``ModelFormatError``s naming the problem, never an ``IndexError``.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from toolkit import TokenizedCorpus, Vocabulary
from toolkit.exceptions import DataError, ModelFormatError


@pytest.fixture(scope="module")
def grams(imdb_tokens):
    """A 1-3-gram vocabulary of 300 real reviews and the 1-3-grams of 100 others (plus OOV and reserved words)."""
    docs, _ = imdb_tokens
    vocab = Vocabulary.from_documents(TokenizedCorpus.from_token_lists(docs[:300]).ngrams((1, 3)))
    assert len(vocab._ngram_indexes) == 1  # the layout needs the index from_documents makes
    return vocab, docs[300:400] + [["<unk>", "zzzunseen", "the", "film"]]


def _ngrams(docs):
    """A new 1-3-gram corpus (one whose strings were built, e.g. by to_list(), is looked up by string)."""
    return TokenizedCorpus.from_token_lists(docs).ngrams((1, 3))


def _old_state(vocab):
    """The state as toolkit wrote it before the "ngram_codes" layout: every token's text (the fallback path)."""
    state = vocab._full_state(vocab._ngram_index_state())
    assert set(state) == {"tokens", "counts", "ngram_indexes"} and len(state["tokens"][1]) == len(vocab)
    return state


def _restored(state):
    vocab = Vocabulary.__new__(Vocabulary)
    vocab.__setstate__(state)
    return vocab


def _ngram_text_bytes(vocab):
    return sum(len(t.encode("utf-8")) for t in vocab.tokens if " " in t)


def test_vocabulary_state_stores_the_ngram_strings_once(grams):
    """The state's text is the unigrams' (and the reserved tokens'), not the n-grams' as well: the pickle
    shrinks by about the n-grams' text."""
    vocab, _ = grams
    state = vocab.__getstate__()
    assert state["tokens_layout"] == "ngram_codes"
    outside = [t for t in vocab.tokens if " " not in t]
    buffer, lengths = state["tokens"]
    assert len(lengths) == len(outside) < len(vocab) // 5
    assert bytes(buffer) == "".join(outside).encode("utf-8")
    old = pickle.dumps(_old_state(vocab))
    assert len(pickle.dumps(state)) < len(old) - 0.9 * _ngram_text_bytes(vocab)
    assert len(pickle.dumps(vocab)) < len(old) - 0.9 * _ngram_text_bytes(vocab)


def test_vocabulary_checks_its_ngram_strings_once(grams, monkeypatch):
    """The check that the n-grams are the joins of their codes (seconds for millions) runs once per vocabulary
    and index, not at every pickle; each state still gets its own arrays."""
    vocab, _ = grams
    copy = Vocabulary(vocab.tokens[2:], vocab.counts[2:])
    copy._ngram_indexes = vocab._ngram_indexes
    calls = []
    check = Vocabulary._check_outside_tokens
    monkeypatch.setattr(Vocabulary, "_check_outside_tokens", lambda self, index: calls.append(1) or check(self, index))
    first, second = copy.__getstate__(), copy.__getstate__()
    assert len(calls) == 1 and first["tokens_layout"] == second["tokens_layout"] == "ngram_codes"
    assert first["tokens"][0] is not second["tokens"][0] and np.array_equal(first["tokens"][0], second["tokens"][0])


def test_vocabulary_compact_state_round_trip_is_exact_and_lazy(grams):
    """Unpickled, the vocabulary encodes new n-grams through its index without building a token string; its
    reserved tokens, repr and single tokens come without rebuilding them all; then tokens, token_to_id,
    counts and encode are those of the fitted vocabulary."""
    vocab, docs = grams
    new = _ngrams(docs)
    loaded = pickle.loads(pickle.dumps(vocab))
    ids = loaded.encode(new)
    assert "_tokens" not in vars(loaded) and "_token_to_id" not in vars(loaded), "encoding rebuilt every token"
    np.testing.assert_array_equal(ids, vocab.encode(new))
    expected = vocab.encode(TokenizedCorpus.from_token_lists(new.to_list()))  # string look-ups, no index
    assert np.array_equal(ids, expected) and (expected == 1).any() and (expected > 1).any()
    assert len(loaded) == len(vocab) and (loaded.pad_token, loaded.oov_token) == ("<pad>", "<unk>")
    assert repr(loaded) == repr(vocab)
    some = [2, 3, len(vocab) - 1] + [i for i, t in enumerate(vocab.tokens) if t.count(" ") == 2][:3]
    assert [loaded._token(i) for i in some] == [vocab.tokens[i] for i in some]
    assert "_tokens" not in vars(loaded)
    again = pickle.loads(pickle.dumps(loaded))  # saved again before its n-gram strings were rebuilt
    assert again.__getstate__()["tokens_layout"] == "ngram_codes"
    for copy in (loaded, again):
        assert copy.tokens == vocab.tokens and copy.token_to_id == vocab.token_to_id
        np.testing.assert_array_equal(copy.counts, vocab.counts)
        words = vocab.tokens[::97] + ["zzzunseen", "<pad>", "not a"]
        assert copy.encode(words).tolist() == vocab.encode(words).tolist()
        np.testing.assert_array_equal(copy.encode(_ngrams(docs)), vocab.encode(_ngrams(docs)))
        assert copy == vocab


def test_vocabulary_state_of_the_older_layout_still_loads(grams):
    """A state written before (every token's text) loads to the same vocabulary, which saves in the new layout."""
    vocab, docs = grams
    new = _ngrams(docs)
    old = pickle.loads(pickle.dumps(_old_state(vocab)))
    loaded = _restored(old)
    np.testing.assert_array_equal(loaded.encode(new), vocab.encode(new))
    state = loaded.__getstate__()
    assert state["tokens_layout"] == "ngram_codes" and len(state["tokens"][1]) < len(vocab) // 5
    assert "_tokens" not in vars(loaded)  # its strings were read for the check only
    assert loaded.tokens == vocab.tokens and loaded.token_to_id == vocab.token_to_id
    assert pickle.loads(pickle.dumps(loaded)) == vocab


def test_vocabulary_compact_state_of_odd_text_is_exact():
    """Non-ASCII unigrams, a lone surrogate and an empty string in the n-grams: rebuilt exactly from the codes."""
    docs = [["café", "naïve", "a\ud800", "", "日本"], ["naïve", "a\ud800", "", "x"], ["café", "naïve"]]
    vocab = Vocabulary.from_documents(_ngrams(docs))
    assert vocab.__getstate__()["tokens_layout"] == "ngram_codes" and "naïve a\ud800 " in vocab.tokens
    loaded = pickle.loads(pickle.dumps(vocab))
    assert [loaded._token(i) for i in range(len(vocab))] == vocab.tokens
    assert loaded.tokens == vocab.tokens and loaded.token_to_id == vocab.token_to_id
    np.testing.assert_array_equal(loaded.encode(_ngrams(docs[::-1])), vocab.encode(_ngrams(docs[::-1])))


def test_vocabulary_state_keeps_every_string_when_an_ngram_is_not_the_join_of_its_codes(grams):
    """The layout is used only when the n-gram strings can be rebuilt: a vocabulary whose index does not spell
    its tokens (one n-gram respelled), or one without an index, stores every token's text, exactly."""
    vocab, _ = grams
    tokens = vocab.tokens[2:]
    at = next(i for i, t in enumerate(tokens) if t.count(" ") == 2)
    tokens[at] = tokens[at].replace(" ", "  ")
    odd = Vocabulary(tokens, vocab.counts[2:])
    odd._ngram_indexes = vocab._ngram_indexes
    for other in (odd, Vocabulary(vocab.tokens[2:], vocab.counts[2:])):
        state = other.__getstate__()
        assert "tokens_layout" not in state and len(state["tokens"][1]) == len(other)
        assert pickle.loads(pickle.dumps(other)).tokens == other.tokens
    assert pickle.loads(pickle.dumps(odd)).tokens[at + 2] == tokens[at]


def _damage(state, what):
    """A copy of a "ngram_codes" state with one damage."""
    state = dict(state)
    entry = dict(state["ngram_indexes"][0])
    keys, values = [k.copy() for k in entry["keys"]], [v.copy() for v in entry["values"]]
    last = len(keys) - 1  # the trigrams
    n_codes = len(entry["codes"][1])
    if what == "codes":
        keys[last][-1] = n_codes ** int(entry["ns"][last])
    elif what == "unsorted":
        keys[last][[0, 1]] = keys[last][[1, 0]]
    elif what == "id":
        values[last][0] = len(state["counts"])
    elif what == "twice":
        values[last][1] = values[last][0]
    elif what == "lengths":
        buffer, lengths = state["tokens"]
        state["tokens"] = (buffer, lengths[:-1])
    elif what == "strings":
        buffer, lengths = state["tokens"]
        state["tokens"] = (buffer[: buffer.size - int(lengths[-1])], lengths[:-1])
    elif what == "counts":
        state["counts"] = np.concatenate([state["counts"], state["counts"][:1]])
    elif what == "code_text":
        codes, code_lengths = entry["codes"]
        entry["codes"] = (codes[:-1], code_lengths)
    elif what == "layout":
        state["tokens_layout"] = "something-else"
    elif what == "no_index":
        state["ngram_indexes"] = []
        return state
    entry["keys"], entry["values"] = keys, values
    state["ngram_indexes"] = [entry]
    return state


@pytest.mark.parametrize("what, message", [
    ("codes", "3-gram codes are out of range for the index's"),
    ("unsorted", "the 3-gram codes of the n-gram index are negative or out of order"),
    ("id", "a 3-gram id is out of range for a vocabulary of"),
    ("twice", "an n-gram id appears twice"),
    ("lengths", "the token lengths do not add up to the stored text"),
    ("strings", r"\d+ tokens but \d+ counts \(\d+ stored token strings and \d+ n-grams of the n-gram index\)"),
    ("counts", r"\d+ tokens but \d+ counts"),
    ("code_text", "the token lengths do not add up"),
    ("layout", None),
    ("no_index", "the tokens_layout 'ngram_codes' needs one n-gram index, found 0"),
])
def test_vocabulary_damaged_compact_state_is_a_model_format_error(grams, what, message):
    """Each damage is refused at load with a ModelFormatError (still a DataError, as before) naming it:
    never an IndexError when a code or id is read later, nor a vocabulary with wrong strings."""
    vocab, _ = grams
    state = pickle.loads(pickle.dumps(vocab.__getstate__()))
    message = (f"Damaged vocabulary state: {message}" if message else
               "unknown vocabulary state layout 'something-else'.*saved by a newer toolkit")
    with pytest.raises(ModelFormatError, match=message) as err:
        _restored(_damage(state, what))
    assert isinstance(err.value, DataError)


def test_vocabulary_damaged_older_state_ids_are_a_model_format_error(grams):
    """An older-layout state whose n-gram index holds an id past the vocabulary raised an IndexError at load."""
    vocab, _ = grams
    state = _old_state(vocab)
    entry = dict(state["ngram_indexes"][0])
    entry["values"] = [v.copy() for v in entry["values"]]
    entry["values"][-1][0] = len(vocab) + 5
    with pytest.raises(ModelFormatError, match="a 3-gram id is out of range for a vocabulary of"):
        _restored({**state, "ngram_indexes": [entry]})
    with pytest.raises(ModelFormatError, match="tokens but .* counts"):
        _restored({**state, "counts": state["counts"][:-1]})


_FRESH = """
import hashlib, json, sys
from toolkit import TokenizedCorpus
from toolkit.models import load_model
docs = json.load(open(sys.argv[1]))
results = []
for folder in sys.argv[2:]:  # each model loaded on its own; none is read before the one before it predicted
    model = load_model(folder)
    vocab = model.steps[1][1].vocabulary_
    scores = model.decision_function(docs).tolist()
    lazy = "_tokens" not in vars(vocab) and "_token_to_id" not in vars(vocab)
    ids = vocab.encode(model.steps[0][1].transform(docs)).tolist()
    digest = hashlib.sha256("\\n".join(vocab.tokens).encode()).hexdigest()
    mapping = vocab.token_to_id == {t: i for i, t in enumerate(vocab.tokens)}
    results.append([scores, model.predict(docs).tolist(), lazy, ids, digest, mapping])
print(json.dumps(results))
"""


def _load_in_fresh_process(folders, docs_file):
    """For each folder, in one new Python process: what :data:`_FRESH` reads from its loaded model."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", _FRESH, str(docs_file), *map(str, folders)], capture_output=True,
                         text=True, env=env, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _folder_bytes(folder):
    return sum(p.stat().st_size for p in folder.iterdir())


def test_vocabulary_saved_ngram_model_is_smaller_and_predicts_the_same_in_a_fresh_process(imdb_small, tmp_path, monkeypatch):
    """A SpacyTokenizer(1-3-grams) -> BagEncoder -> NBSVM pipeline saved with the new layout: its folder is
    smaller by about the n-grams' text than one saved with the older layout, and both, loaded in a fresh
    process, give the same decision values, labels, ids, tokens and token -> id dict as the fitted model
    (the loaded vocabulary predicts without rebuilding its n-gram strings)."""
    import hashlib

    from sklearn.pipeline import make_pipeline

    from toolkit import BagEncoder, NBSVMClassifier, SpacyTokenizer
    from toolkit.models.persistence import save_model

    texts, labels = imdb_small
    model = make_pipeline(SpacyTokenizer(ngram_range=(1, 3)), BagEncoder(output_mode="count"), NBSVMClassifier())
    model.fit(texts[:300], labels[:300])
    vocab = model.steps[1][1].vocabulary_
    assert len(getattr(vocab, "_ngram_indexes", {})) == 1
    held_out = texts[300:360]
    (tmp_path / "docs.json").write_text(json.dumps(held_out))
    new = save_model(model, tmp_path / "new")
    with monkeypatch.context() as patch:  # the older layout, as toolkit wrote it before
        patch.setattr(Vocabulary, "_outside_tokens_state", lambda self: None)
        old = save_model(model, tmp_path / "old")
    assert _folder_bytes(new) < _folder_bytes(old) - 0.8 * _ngram_text_bytes(vocab)
    expected = [model.decision_function(held_out).tolist(), model.predict(held_out).tolist(),
                vocab.encode(model.steps[0][1].transform(held_out)).tolist(),
                hashlib.sha256("\n".join(vocab.tokens).encode()).hexdigest()]
    for scores, predicted, lazy, ids, digest, mapping in _load_in_fresh_process((new, old), tmp_path / "docs.json"):
        np.testing.assert_array_equal(scores, expected[0])
        assert [predicted, ids, digest] == expected[1:] and mapping
        assert lazy, "predicting rebuilt the vocabulary's token strings"
