"""SpacyTokenizer: spaCy's tokens, HTML cleaning, options, bad input, caching, workers."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

from toolkit.text import tokenizer as tokenization
from toolkit.text.corpus import TokenizedCorpus
from toolkit.text.tokenizer import SpacyTokenizer, clean_html, clean_text, tokenize


@pytest.fixture(scope="module")
def nlp():
    spacy = pytest.importorskip("spacy")
    return spacy.blank("en")


@pytest.fixture(scope="module")
def imdb_texts(shared_data):
    from toolkit.data.datasets import load_imdb

    return load_imdb("train", path=shared_data / "aclImdb_v1.tar.gz", limit=1000).texts


def _spacy_tokens(nlp, docs, *, lowercase=True, remove_space=True, strip_html=True):
    return [
        [t.lower_ if lowercase else t.text for t in nlp.tokenizer(clean_text(d, strip_html=strip_html)) if not (remove_space and t.is_space)]
        for d in docs
    ]


@pytest.mark.parametrize("lowercase", [True, False])
@pytest.mark.parametrize("remove_space", [True, False])
def test_tokenization_tokens_equal_spacy_on_imdb(nlp, imdb_texts, lowercase, remove_space):
    corpus = SpacyTokenizer(lowercase=lowercase, remove_space=remove_space).transform(imdb_texts)
    assert isinstance(corpus, TokenizedCorpus) and len(corpus) == len(imdb_texts)
    expected = _spacy_tokens(nlp, imdb_texts, lowercase=lowercase, remove_space=remove_space)
    mismatches = [i for i, (a, b) in enumerate(zip(corpus, expected)) if a != b]
    assert mismatches == []


def test_tokenization_filters_equal_spacy_attributes_on_imdb(nlp, imdb_texts):
    docs = imdb_texts[:300]
    got = SpacyTokenizer(remove_stop=True, remove_punct=True, remove_numbers=True).transform(docs)
    expected = [
        [t.lower_ for t in nlp.tokenizer(clean_text(d)) if not (t.is_space or t.is_stop or t.is_punct or t.like_num)]
        for d in docs
    ]
    assert [i for i, (a, b) in enumerate(zip(got, expected)) if a != b] == []


def test_tokenization_one_document_at_a_time_equals_spacy(nlp, imdb_texts):
    # a cold engine that grows a few spans per call (its arrays are reallocated many times)
    tokenization._ENGINES.clear()
    tok = SpacyTokenizer(ngram_range=(1, 2))
    docs = imdb_texts[:150]
    one_by_one = [tok.transform([doc])[0] for doc in docs]
    engine = tokenization._get_engine(tok.model, False, **tokenization._engine_options(tok.get_params()))
    assert len(engine) > 4 * 1024  # past several reallocations of the span arrays
    expected = SpacyTokenizer(ngram_range=(1, 2)).transform(docs).to_list()
    assert one_by_one == expected
    assert [doc[: len(spacy_doc)] for doc, spacy_doc in zip(one_by_one, _spacy_tokens(nlp, docs))] == \
        _spacy_tokens(nlp, docs)


def test_tokenization_tokens_equal_spacy_on_special_case_fuzz(nlp):
    # quotes, emoticon parts and abbreviations next to spaces exercise spaCy's
    # special-case matcher, which can act across the spaces between words
    rng = random.Random(7)
    pieces = list("''\"`:;-()[]<>=_.*^o0D3pPsS!?,/|") + [
        "em", "ll", "re", "cause", "n't", "'s", "a.m.", "e.g.", "U.S.", "10", "km", "can't",
        "It", "1", " ", " ", " ", "  ", "\n", "\t", "word", "Mr.", "\u2019", "\u00b0", "C.",
    ]
    docs = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 60))) for _ in range(1500)]
    docs += ["a pair'' ''their yours", "''human''", "so :-) :) ( : ' s '' ''"]
    for remove_space in (True, False):
        got = SpacyTokenizer(lowercase=False, remove_space=remove_space, strip_html=False).transform(docs)
        expected = _spacy_tokens(nlp, docs, lowercase=False, remove_space=remove_space, strip_html=False)
        assert [i for i, (a, b) in enumerate(zip(got, expected)) if a != b] == []


def test_tokenization_same_result_for_any_batch_size(imdb_texts):
    docs = imdb_texts[:120]
    assert SpacyTokenizer(batch_size=7).transform(docs) == SpacyTokenizer(batch_size=5000).transform(docs)


def test_tokenization_html_is_cleaned(imdb_texts):
    corpus = SpacyTokenizer().transform(imdb_texts)
    assert not [t for t in corpus.strings if "<br" in t or "/>" in t or t == "br"]
    raw = SpacyTokenizer(strip_html=False).transform(imdb_texts)
    assert any("<br" in t or "/><br" in t for t in raw.strings)  # what the cleaner is for
    assert clean_html("it.<br /><br />Then <b>bold</b> &amp; &quot;x&quot;<BR>") == 'it.\n\nThen  bold  & "x"\n'
    assert clean_html("a < b and c > d, 3<4") == "a < b and c > d, 3<4"
    assert clean_html("no markup") == "no markup"


def test_tokenization_options(nlp):
    text = ["The 3 movies were GREAT, weren't they?<br />Yes!"]
    assert tokenize(text)[0] == ["the", "3", "movies", "were", "great", ",", "were", "n't", "they", "?", "yes", "!"]
    assert tokenize(text, lowercase=False)[0][:3] == ["The", "3", "movies"]
    assert tokenize(text, remove_punct=True, remove_numbers=True)[0] == ["the", "movies", "were", "great", "were", "n't", "they", "yes"]
    assert tokenize(text, remove_stop=True, remove_punct=True)[0] == ["3", "movies", "great", "yes"]
    assert tokenize(text, lemmatize=True, remove_punct=True)[0] == ["the", "3", "movie", "be", "great", "be", "not", "they", "yes"]
    assert "\n" in tokenize(text, remove_space=False)[0]


def test_tokenization_word_ngrams_match_sklearn():
    from sklearn.feature_extraction.text import CountVectorizer

    docs = ["not a good film", "good", ""]
    unigrams = tokenize(docs)
    bigrams = tokenize(docs, ngram_range=(1, 2))
    sk = CountVectorizer(ngram_range=(1, 2))
    assert bigrams.to_list() == [sk._word_ngrams(doc) for doc in unigrams]
    assert tokenize(docs, ngram_range=(2, 2))[0] == ["not a", "a good", "good film"]


@pytest.mark.parametrize("analyzer", ["char", "char_wb"])
def test_tokenization_char_analyzers_match_sklearn(analyzer):
    from sklearn.feature_extraction.text import CountVectorizer

    docs = ["Great  film!<br />Really.", "ok", ""]
    got = tokenize(docs, analyzer=analyzer, ngram_range=(2, 3))
    analyze = CountVectorizer(analyzer=analyzer, ngram_range=(2, 3)).build_analyzer()
    assert got.to_list() == [analyze(clean_html(d)) for d in docs]


def test_tokenization_accepts_arrays_series_generators():
    pd = pytest.importorskip("pandas")
    docs = ["A dog.", "c"]
    expected = [["a", "dog", "."], ["c"]]
    assert tokenize(np.array(docs)) == expected
    assert tokenize(pd.Series(docs, index=[10, 20])) == expected
    assert tokenize(d for d in docs) == expected
    assert tokenize(tuple(docs)) == expected


def test_tokenization_empty_and_markup_only_documents():
    corpus = tokenize(["", "   ", "<br /><br />", "?!...", "ok"], remove_punct=True)
    assert corpus.to_list() == [[], [], [], [], ["ok"]]
    assert len(tokenize([])) == 0


def test_tokenization_surrogates_and_control_characters_are_replaced(nlp):
    docs = ["bad \ud83d half", "tab\tbell\x07null\x00end", "del\x7fc1\x85x"]
    corpus = tokenize(docs, lowercase=False)
    assert corpus[0] == ["bad", "\ufffd", "half"]
    assert corpus[1] == ["tab", "bell", "null", "end"]
    assert corpus[2] == ["del", "c1", "x"]
    assert clean_text("a\x00b\ud800c") == "a b\ufffdc"


def test_tokenization_bad_documents_raise():
    with pytest.raises(ValueError, match="Iterable over raw text documents expected, string object received."):
        tokenize("just one string")
    with pytest.raises(ValueError, match=r"Document 1 of X is missing \(None/NaN\)"):
        tokenize(["ok", None])
    with pytest.raises(ValueError, match=r"Document 0 of X is missing \(None/NaN\)"):
        tokenize([float("nan")])
    with pytest.raises(ValueError, match="Document 0 of X is bytes; decode it first"):
        tokenize([b"bytes"])
    with pytest.raises(ValueError, match="Document 1 of X is an int, not a str"):
        tokenize(["ok", 3])
    with pytest.raises(ValueError, match=r"got an array of shape \(1, 2\)"):
        tokenize(np.array([["a", "b"]]))


def test_tokenization_too_long_document_raises():
    with pytest.raises(ValueError, match="Document 1 of X has 11 characters, more than max_length=10"):
        tokenize(["short", "x" * 11], max_length=10)
    with pytest.raises(ValueError, match="Document 0 of X has 1,000,001 characters, more than max_length=1,000,000"):
        tokenize(["a" * 1_000_001])


def _ten_thousand_with_one_too_long(bad=7345):
    docs = [f"Review {i} was fine, wasn't it?" for i in range(10_000)]
    docs[bad] = "word " * 30  # 150 characters
    return docs


def test_tokenization_too_long_document_reports_its_index_in_x_not_in_its_batch():
    docs = _ten_thousand_with_one_too_long()
    # batch_size 2000: the bad document is number 1345 of the fourth batch
    with pytest.raises(ValueError, match=r"^Document 7345 of X has 150 characters, more than max_length=100\. .* or pass errors='skip'"):
        SpacyTokenizer(max_length=100).transform(docs)
    with pytest.raises(ValueError, match="Document 7345 of X has 150 characters"):
        SpacyTokenizer(max_length=100, analyzer="char").transform(docs)


@pytest.mark.parametrize("analyzer", ["word", "char_wb"])
def test_tokenization_errors_skip_gives_empty_tokens_and_reports_indices(analyzer, caplog):
    docs = _ten_thousand_with_one_too_long()
    docs[12] = "x" * 101
    tok = SpacyTokenizer(max_length=100, errors="skip", analyzer=analyzer)
    with caplog.at_level("WARNING", logger="toolkit.text.tokenizer"):
        corpus = tok.transform(docs)
    assert len(corpus) == 10_000 and corpus[12] == [] and corpus[7345] == []
    assert corpus.skipped.dtype == np.int64 and corpus.skipped.tolist() == [12, 7345]
    assert not hasattr(tok, "skipped_")  # transform changes no state: the indices come with its result
    assert "gave empty token lists to 2 of 10000 documents longer than max_length=100 characters; " \
           "their indices in X (also in the returned corpus' skipped): 12, 7345" in caplog.text
    good = [i for i in range(10_000) if i not in (12, 7345)]
    expected = SpacyTokenizer(analyzer=analyzer).transform([docs[i] for i in good])
    assert corpus.take(good) == expected
    assert corpus[0] == (["review", "0", "was", "fine", ",", "was", "n't", "it", "?"] if analyzer == "word" else corpus[0])
    assert tok.transform(docs[:5]).skipped.tolist() == []  # each call's own indices


def test_tokenization_errors_skip_survives_the_disk_cache(tmp_path, monkeypatch):
    docs = ["fine", "x" * 20, "also fine"]
    tok = SpacyTokenizer(max_length=10, errors="skip", cache=tmp_path)
    first = tok.transform(docs)
    monkeypatch.setattr(SpacyTokenizer, "_tokenize", lambda *a: pytest.fail("tokenized again instead of reading the cache"))
    tok2 = SpacyTokenizer(max_length=10, errors="skip", cache=tmp_path)
    again = tok2.transform(docs)
    assert again == first == [["fine"], [], ["also", "fine"]]
    assert again.skipped.tolist() == [1]


def test_tokenization_invalid_parameters():
    with pytest.raises(ValueError, match=r"The 'analyzer' parameter of SpacyTokenizer must be a str among \{'char', 'char_wb', 'word'\}. Got 'words' instead."):
        SpacyTokenizer(analyzer="words").fit()
    with pytest.raises(ValueError, match=r"The 'ngram_range' parameter of SpacyTokenizer must be a tuple \(min_n, max_n\) of ints with 1 <= min_n <= max_n. Got \(2, 1\) instead."):
        SpacyTokenizer(ngram_range=(2, 1)).fit()
    with pytest.raises(ValueError, match=r"The 'errors' parameter of SpacyTokenizer must be a str among \{'raise', 'skip'\}. Got 'ignore' instead."):
        SpacyTokenizer(errors="ignore").fit()
    with pytest.raises(ValueError, match=r"The 'batch_size' parameter of SpacyTokenizer must be an int in the range \[1, inf\). Got 0 instead."):
        SpacyTokenizer(batch_size=0).transform(["x"])
    with pytest.raises(ValueError, match="The 'lowercase' parameter of SpacyTokenizer must be an instance of 'bool'"):
        SpacyTokenizer(lowercase="yes").fit()
    with pytest.raises(ValueError, match="unknown spaCy language 'zz'"):
        SpacyTokenizer(model="blank:zz").fit()
    with pytest.raises(ValueError, match="spaCy pipeline 'xx_not_installed_sm', which is not installed"):
        SpacyTokenizer(model="xx_not_installed_sm").fit()


def test_tokenization_is_stateless_and_picklable():
    tok = SpacyTokenizer(remove_punct=True)
    assert tok.fit() is tok and tok.fit(["a"], [1]) is tok
    assert SpacyTokenizer().transform(["Hi!"]) == [["hi", "!"]]  # no fit needed, like HashingVectorizer
    again = pickle.loads(pickle.dumps(tok))
    assert again.get_params() == tok.get_params()
    assert again.transform(["Hi!"]) == [["hi"]]


def test_tokenization_disk_cache_round_trip(tmp_path, monkeypatch, imdb_texts):
    docs = imdb_texts[:50] + ["", "odd \ud800 text"]
    tok = SpacyTokenizer(cache=tmp_path / "tokens")
    first = tok.transform(docs)
    files = list((tmp_path / "tokens").glob("*.npz"))
    assert len(files) == 1 and not list((tmp_path / "tokens").glob("*.tmp"))

    def boom(*args, **kwargs):
        raise AssertionError("tokenized again instead of reading the cache")

    monkeypatch.setattr(SpacyTokenizer, "_tokenize", boom)
    assert tok.transform(docs) == first
    # other texts or other parameters are other entries
    monkeypatch.undo()
    SpacyTokenizer(cache=tmp_path / "tokens", lowercase=False).transform(docs)
    SpacyTokenizer(cache=tmp_path / "tokens").transform(docs[:10])
    assert len(list((tmp_path / "tokens").glob("*.npz"))) == 3
    # a damaged entry is ignored and rewritten
    files[0].write_bytes(b"garbage")
    assert tok.transform(docs) == first
    assert SpacyTokenizer(cache=True).transform(["a b"]) == [["a", "b"]]  # TOOLKIT_CACHE_DIR


def test_tokenization_workers_give_the_same_tokens(monkeypatch, imdb_texts):
    docs = imdb_texts[:300]
    expected = SpacyTokenizer(lowercase=False, remove_stop=True).transform(docs)
    tokenization._ENGINES.clear()  # cold span cache, so there is work to share
    monkeypatch.setattr(tokenization, "_MIN_SPANS_PER_WORKER", 100)
    got = SpacyTokenizer(lowercase=False, remove_stop=True, n_jobs=2).transform(docs)
    assert got == expected
    # joblib's own process pool works after the tokenizer's workers (it reuses the same loky executor,
    # which lacked joblib's attributes when the tokenizer started it bare: AttributeError)
    from joblib import Parallel, delayed

    assert Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(4)) == [0, 1, 2, 3]


def test_tokenization_context_dependent_pipeline_streams_docs(tmp_path):
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    nlp.to_disk(tmp_path / "pipeline")
    docs = ["The movies were better than the books.", "", "Dogs ran!"]
    tok = SpacyTokenizer(model=str(tmp_path / "pipeline"), lemmatize=True)
    engine = tokenization._get_engine(tok.model, True, **tokenization._engine_options(tok.get_params()))
    assert not engine.span_cacheable  # the sentencizer makes it go through nlp.pipe
    assert tok.transform(docs) == tokenize(docs, lemmatize=True)
