"""Gaps found in session 42: negation words that spaCy's tokenizer spells apart, emoji and Unicode in tokens."""

from __future__ import annotations

import pytest
import spacy

from toolkit.text import NegationMarker, SpacyTokenizer, TokenizedCorpus, mark_negation
from toolkit.text.negation import NEGATIONS


@pytest.fixture(scope="module")
def blank_en():
    return spacy.blank("en")


_HEADS = {"ai", "are", "ca", "could", "dare", "did", "do", "does", "had", "has", "have", "is", "may", "might",
          "must", "need", "ought", "sha", "should", "was", "were", "wo", "would"}
_WORDS = {"not", "no", "never", "n't", "n\u2019t", "nothing", "nobody", "none", "neither", "nor", "cannot", "without",
          "hardly", "nowhere",
          *(h + t for h in _HEADS for t in ("n't", "n\u2019t", "n\u2018t", "n`t", "nt"))}


def _reference(doc):
    """One document, token by token: "nt" negates only right after the word it was split from."""
    out, inside = [], False
    for i, token in enumerate(doc):
        low = token.lower()
        if low in _WORDS or (low == "nt" and i > 0 and doc[i - 1].lower() in _HEADS):
            inside = True
            out.append(token)
        elif low in {".", ",", "!", "?", ";", ":", "but", "however"}:
            inside = False
            out.append(token)
        else:
            out.append("NOT_" + token if inside else token)
    return out


@pytest.mark.parametrize("text", [
    "I DIDN'T like it", "I DON'T like it", "I DON\u2019T like it", "I dont like it", "I Dont like it",
    "I DONT like it", "I cant like it", "I wont like it", "I didnt like it", "it isnt like it",
    "it doesnt like it", "I couldnt like it", "I don`t like it", "I don\u2018t like it", "I Didn't like it",
    "I didn\u2019t like it", "I CAN'T like it", "I WON'T like it", "I HAVEN'T like it", "I aint like it",
])
def test_negation_spelled_as_spacy_leaves_it_opens_a_scope(text):
    # spaCy keeps "DIDN'T" and "DONT" one token and splits "dont" into "do" + "nt": each opens a scope, and the
    # negation word itself stays unmarked
    tokens = SpacyTokenizer().fit_transform([text]).to_list()[0]
    marked = mark_negation([tokens]).to_list()[0]
    assert marked[-2:] == ["NOT_like", "NOT_it"], (tokens, marked)
    assert not any(t.startswith("NOT_") for t in marked[:-2]), marked


def test_nt_alone_is_a_word_not_a_negation():
    # only spaCy's tail of "dont", "cant" (after "do", "ca", ...) negates; "Windows nt", a document's first
    # token and a head at the end of the previous document do not open a scope
    docs = [["Windows", "nt", "is", "good"], ["nt", "good"], ["I", "do"], ["nt", "good"], ["I", "Do", "nt", "care"]]
    assert mark_negation(docs).to_list() == [["Windows", "nt", "is", "good"], ["nt", "good"], ["I", "do"],
                                             ["nt", "good"], ["I", "Do", "nt", "NOT_care"]]
    # the same rule for a corpus slice whose first document starts inside the flat arrays, and for own word lists
    assert mark_negation(TokenizedCorpus.from_token_lists(docs)[3:]).to_list() == [["nt", "good"], ["I", "Do", "nt", "NOT_care"]]
    assert NegationMarker(negations={"not"}).transform(docs[-1:]).to_list() == [["I", "Do", "nt", "care"]]
    assert NegationMarker(negations={"nt"}).transform(docs).to_list()[-2:] == [["nt", "good"],
                                                                              ["I", "Do", "nt", "NOT_care"]]


def test_negations_cover_every_contraction_spacy_splits(blank_en):
    # every tokenizer exception of spaCy's English that ends in "n't", "n\u2019t" or "nt" ("dont" -> "do" + "nt")
    # is a negation as one token (the ALL-CAPS spelling stays whole), and its head is known
    found = 0
    for text, pieces in blank_en.tokenizer.rules.items():
        orths = [p[65] for p in pieces]  # 65: spacy.attrs.ORTH
        if len(orths) == 2 and orths[1].lower() in ("n't", "n\u2019t", "nt"):
            found += 1
            assert text.lower() in NEGATIONS, text
            assert text.upper().lower() in NEGATIONS, text
            assert mark_negation([orths + ["good"]]).to_list() == [orths + ["NOT_good"]], orths
    assert found > 100


def test_negation_marks_spacy_tokens_of_real_reviews(imdb_small):
    texts, _ = imdb_small
    docs = SpacyTokenizer().fit_transform(texts[:300]).to_list()
    assert mark_negation(docs).to_list() == [_reference(doc) for doc in docs]
    assert NEGATIONS >= _WORDS
    # these reviews hold contractions spelled in each of the ways the old word list missed
    lower = {t.lower() for doc in docs for t in doc}
    assert {"don't", "nt"} <= lower


# ----------------------------------------------------------------------- emoji: one token each
_EMOJI = {
    "woman technologist": "\U0001f469\u200d\U0001f4bb",
    "family": "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "flag": "\U0001f1fa\U0001f1f8",
    "thumbs up, medium skin tone": "\U0001f44d\U0001f3fd",
    "woman technologist, medium skin tone": "\U0001f469\U0001f3fd\u200d\U0001f4bb",
    "rainbow flag": "\U0001f3f3\ufe0f\u200d\U0001f308",
    "woman facepalming": "\U0001f926\u200d\u2640\ufe0f",
    "red heart": "\u2764\ufe0f",
    "Scotland (tag sequence)": "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
}


@pytest.mark.parametrize("name", list(_EMOJI))
@pytest.mark.parametrize("params", [{}, {"lowercase": False, "remove_punct": True}, {"lemmatize": True},
                                    {"remove_space": False}])
def test_emoji_sequences_are_one_token(name, params):
    # spaCy splits them ("👩", "\u200d", "💻"; a thumb and its skin tone; a flag's two letters); each is one
    # character on screen, so one token, whether alone, glued to a word or to punctuation, or repeated
    emoji = _EMOJI[name]
    texts = [f"I am a {emoji} today", f"great{emoji}!", f"({emoji}{emoji})", emoji]
    tokenizer = SpacyTokenizer(**params)
    out = tokenizer.fit_transform(texts).to_list()
    assert out[0][3] == emoji and len(out[0]) == 5, out[0]
    assert out[1][:2] == ["great", emoji], out[1]
    assert out[2].count(emoji) == 2 and "".join(out[2]) == ("" if params.get("remove_punct") else "(") + 2 * emoji + (
        "" if params.get("remove_punct") else ")")
    assert out[3] == [emoji]
    assert not any(t == "\u200d" or t.startswith(("\u200d", "\ufe0f")) for doc in out for t in doc)
    assert tokenizer.transform(texts).to_list() == out  # the spans met before (the span cache) give the same


def test_emoji_tokens_are_whole_grapheme_clusters(blank_en):
    # the tokens are spaCy's with every boundary inside a grapheme cluster (the regex package's \X) removed
    regex = pytest.importorskip("regex")
    texts = [" ".join(_EMOJI.values()), "".join(_EMOJI.values()), "\U0001f1fa\U0001f1f8\U0001f1ec\U0001f1e7\U0001f1eb",
             "wow\U0001f44d\U0001f3fd\U0001f44d!!", "keycap #\ufe0f\u20e3 great#\ufe0f\u20e3 1\ufe0f\u20e3", "caf\u00e9 cafe\u0301 '\u0301 na\u00efve"]
    for text in texts:
        bounds = {m.start() for m in regex.finditer(r"\X", text)}
        pieces = []
        for token in blank_en.tokenizer(text):
            glued = pieces and token.idx not in bounds and not pieces[-1][1]
            if glued:
                pieces[-1] = (pieces[-1][0] + token.text, token.whitespace_)
            else:
                pieces.append((token.text, token.whitespace_))
        pieces = [piece for piece, _ in pieces]
        assert SpacyTokenizer(lowercase=False).fit_transform([text]).to_list()[0] == pieces, text


def test_emoji_merging_leaves_imdb_tokens_alone(imdb_small):
    # the benchmarks' tokens must not move: no review of the sample has a boundary inside a cluster
    from toolkit.text.tokenizer import _inside_cluster, clean_text

    texts, _ = imdb_small
    assert not any(_inside_cluster(t, p) for t in map(clean_text, texts) for p in range(1, len(t)) if not t[p].isascii())


# ----------------------------------------------------------------------- Unicode normalization
def test_decomposed_words_are_said_once(caplog, monkeypatch):
    # "café" typed with a combining accent and precomposed are two tokens by default (as in spaCy and
    # scikit-learn): said in a warning that names the fix, once per process; unicode_form="NFC" merges them
    import toolkit.text.tokenizer as tokenizer_module

    monkeypatch.setattr(tokenizer_module, "_warned_unnormalized", [False], raising=False)
    texts = ["Un cafe\u0301 noir", "un caf\u00e9 cr\u00e8me", "naive"]
    with caplog.at_level("WARNING", logger="toolkit.text.tokenizer"):
        out = SpacyTokenizer().fit_transform(texts).to_list()
        SpacyTokenizer().fit_transform(texts)
    assert out[0][1] != out[1][1]
    warnings = [r.getMessage() for r in caplog.records if "NFC" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "1 distinct tokens are not in Unicode NFC" in warnings[0] and "U+0301" in warnings[0]
    assert "(1 of them occur so in these documents too)" in warnings[0] and "unicode_form='NFC'" in warnings[0]
    monkeypatch.setattr(tokenizer_module, "_warned_unnormalized", [False], raising=False)
    caplog.clear()
    with caplog.at_level("WARNING", logger="toolkit.text.tokenizer"):
        merged = SpacyTokenizer(unicode_form="NFC").fit_transform(texts).to_list()
        SpacyTokenizer().fit_transform(["caf\u00e9 only composed", "plain"])
    assert merged[0][1] == merged[1][1] == "caf\u00e9"
    assert not [r for r in caplog.records if "NFC" in r.getMessage()]
