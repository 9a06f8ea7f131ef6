"""NegationMarker / mark_negation: negation scopes marked on whole corpora, checked on real IMDB reviews."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from toolkit.text import NegationMarker, SpacyTokenizer, TokenizedCorpus, mark_negation
from toolkit.text.negation import NEGATIONS, SCOPE_ENDS


def _reference(doc, prefix="NOT_"):
    """One document, token by token (what NLTK's mark_negation does, with this module's word lists)."""
    out, inside = [], False
    for token in doc:
        low = token.lower()
        if low in NEGATIONS:
            inside = True
            out.append(token)
        elif low in SCOPE_ENDS:
            inside = False
            out.append(token)
        else:
            out.append(prefix + token if inside else token)
    return out


def test_mark_negation_matches_a_token_by_token_reference_on_real_reviews(split):
    X, _, X_val, _ = split
    docs = list(X) + list(X_val)
    marked = mark_negation(docs)
    assert isinstance(marked, TokenizedCorpus)
    assert marked.to_list() == [_reference(doc) for doc in docs]
    assert sum(t.startswith("NOT_") for doc in marked for t in doc) > 1000  # reviews negate a lot
    # the same from a TokenizedCorpus, and from a slice whose first document starts inside the flat arrays
    corpus = TokenizedCorpus.from_token_lists(docs)
    assert mark_negation(corpus[5:]).to_list() == [_reference(doc) for doc in docs[5:]]


def test_mark_negation_scopes_end_at_the_document():
    # a negation at the end of one document does not reach into the next; empty documents stay empty
    docs = [["this", "is", "not"], ["good", "at", "all"], [], ["Never", "DULL", "!", "fun"]]
    assert mark_negation(docs).to_list() == [["this", "is", "not"], ["good", "at", "all"], [],
                                             ["Never", "NOT_DULL", "!", "fun"]]
    assert mark_negation([]).to_list() == []
    assert mark_negation(docs, negations={"is"}, scope_ends={"!"}, prefix="neg:").to_list()[0] == [
        "this", "is", "neg:not"]


def test_negation_marker_transformer(split, imdb_small):
    X, _, _, _ = split
    marker = NegationMarker()
    assert marker.transform(X[:20]).to_list() == mark_negation(X[:20]).to_list()  # stateless: no fit needed
    assert clone(marker).get_params() == {"negations": None, "scope_ends": None, "prefix": "NOT_"}
    restored = pickle.loads(pickle.dumps(NegationMarker(prefix="N:")))
    assert restored.transform([["no", "way"]]).to_list() == [["no", "N:way"]]
    texts, _ = imdb_small
    tokens = make_pipeline(SpacyTokenizer(), NegationMarker()).fit_transform(texts[:50])
    assert any("NOT_good" in doc for doc in tokens)
    with pytest.raises(ValueError, match="'prefix' parameter of NegationMarker must be a non-empty str"):
        NegationMarker(prefix="").fit()
    with pytest.raises(ValueError, match="The 'negations' parameter of NegationMarker must be"):
        NegationMarker(negations="not").fit()
    with pytest.raises(ValueError, match=r"document 0 of X is a raw string\. Tokenize first"):
        NegationMarker().transform(["a raw review"])
    # ids stay inside the doubled string table
    marked = mark_negation(X)
    assert marked.ids.max() < len(marked.strings) == 2 * len(TokenizedCorpus.from_token_lists(X).strings)
    assert np.array_equal(marked.offsets, TokenizedCorpus.from_token_lists(X).offsets)
