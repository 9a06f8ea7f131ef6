"""Long runs of punctuation or emoji without spaces ("!!!!...", "😍😍😍...", "=====") tokenize in linear time.

spaCy's tokenizer takes a whitespace-free span's prefixes and suffixes off one
at a time, each step scanning the rest of the span: 20,000 "😍" took over a
minute (spaCy issues #1768, #4362). SpacyTokenizer cuts such runs in spans of
over 1,000 characters into short pieces before spaCy sees them; these tests
count what reaches spaCy instead of timing it.
"""

import random

from conftest import spacy_tokens as _spacy_tokens

import toolkit.text.tokenizer as tokenizer_module
from toolkit.text import SpacyTokenizer

LONG_SPAN = 1000  # the longest whitespace-free text spaCy should get (tokenizer._LONG_SPAN)


def test_pathological_runs_reach_spacy_in_short_pieces(longest_chunk_to_spacy):
    # distinct from other tests' documents, so the process's span cache does not answer for spaCy
    docs = ["Loved it " + "😍" * 20_000 + " s45a", "Best ever" + "!" * 5_000, "=" * 3_000 + "\nchapter two s45a",
            "Wow" + "?!" * 4_000 + " s45a", "$" * 6_000, ":)" * 3_000]
    corpus = SpacyTokenizer(lowercase=False, batch_size=2, progress=True).fit_transform(docs)
    tokens = corpus.to_list()
    assert tokens[0] == ["Loved", "it", *["😍"] * 20_000, "s45a"]
    assert tokens[1] == ["Best", "ever", *["!"] * 5_000]
    assert tokens[2] == [*["="] * 3_000, "chapter", "two", "s45a"]
    assert tokens[3] == ["Wow", *["?", "!"] * 4_000, "s45a"]
    assert tokens[4] == ["$"] * 6_000
    # spaCy makes ":)", ":", "):", "):", ..., ")" of an emoticon chain (from where its two ends meet): cut into
    # pieces, each piece starts and ends so; the text is kept
    assert tokens[5][:3] == [":)", ":", "):"] and "".join(tokens[5]) == ":)" * 3_000
    assert 0 < longest_chunk_to_spacy[0] <= LONG_SPAN


def test_cut_runs_give_spacys_tokens_of_the_whole_span(monkeypatch):
    # with tiny thresholds, spaCy can tokenize the uncut spans quickly: the tokens must be the same
    monkeypatch.setattr(tokenizer_module, "_LONG_SPAN", 40)
    monkeypatch.setattr(tokenizer_module, "_RUN_PIECE", 10)
    # not ":)" nor "'": spaCy splits their runs by where its two ends meet, and a run of them over the
    # threshold is cut all the same (see test_pathological_runs_reach_spacy_in_short_pieces)
    units = ["!", "?", "😍", "😂", "$", "=", "?!", "👍🏽", "😂🤣", "*", "_", "#", ".", "-", "❤️", "%",
             "+", "&", "@", "/", ")", "(", '"', "🇺🇸", "★", ">"]
    sides = ["", "Great", "wow", "http://x.com/a", "(", ")", '"', "'", "1", "9.5", "U.S.", ":)", "😂", "!", "...",
             "movie's", "-", "can't", "$5", "#tag"]
    rng = random.Random(45)
    docs = []
    while len(docs) < 300:
        text = rng.choice(sides) + rng.choice(units) * rng.randint(12, 40) + rng.choice(sides)
        if len(text) > 40:
            docs.append(f"s45b{len(docs)} " + text + " end")
    engine = tokenizer_module._get_engine("blank:en", False, lowercase=False, remove_stop=False,
                                          remove_punct=False, remove_numbers=False, remove_space=True)
    cut = sum(tokenizer_module._cut_long_runs(d, engine._strips, engine._tokens) != d for d in docs)
    assert cut > 100  # the runs of most documents were cut
    assert SpacyTokenizer(lowercase=False).fit_transform(docs).to_list() == _spacy_tokens(docs)


def test_imdb_reviews_tokenize_as_spacy_does(imdb_small):
    texts = imdb_small[0][:200]
    assert SpacyTokenizer(lowercase=False).fit_transform(texts).to_list() == _spacy_tokens(texts)
    # and a review with a run under the threshold is left to spaCy whole
    review = texts[0] + " " + "!" * 900 + "😍" * 99
    assert tokenizer_module._cut_long_runs(review, lambda *args: 2, lambda text: text.split()) == review


def test_runs_spacy_keeps_whole_are_not_cut():
    # spaCy makes one token of a run of "." or "-", and of "$" glued after a word (fast: not cut, not changed)
    docs = ["." * 1500 + " s45c", "-" * 1200, "Great" + "$" * 1100, "Awful" + "!" * 1100 + "cool"]
    assert SpacyTokenizer(lowercase=False).fit_transform(docs).to_list() == [
        ["." * 1500, "s45c"], ["-" * 1200], ["Great" + "$" * 1100], ["Awful" + "!" * 1100 + "cool"]]


def test_long_runs_with_filters_and_lowercase():
    docs = ["SO GOOD" + "!" * 3000 + "😂" * 3000 + " s45d"]
    tokens = SpacyTokenizer(remove_punct=True).fit_transform(docs).to_list()
    assert tokens == [["so", "good", *["😂"] * 3000, "s45d"]]  # spaCy: "!" is punctuation, emoji are not
