"""Unlabelled texts of domain vectors and DocVectorizer are tokenized like the training documents.

A TokenizedCorpus from SpacyTokenizer records the settings that decide its
tokens (``tokenizer_params``); domain vectors (toolkit.vectors.domain) and
DocVectorizer (toolkit.vectors.docvec) tokenize their unlabelled texts with
them. Small real IMDB samples; tiny vectors; a cache folder of each test's own.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from importlib.metadata import version

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from toolkit.text import SpacyTokenizer, TokenizedCorpus
from toolkit.text.corpus import _NgramCorpus
from toolkit.vectors import docvec, domain
from toolkit.vectors.docvec import DocVectorizer
from toolkit.vectors.domain import (
    domain_vectors,
    domain_vectors_cached,
    parse_domain_spec,
    words_only,
)
from toolkit.vectors.pooling import EmbeddingVectorizer

SMALL = "dim=16,epochs=2,min_count=2"
DOC_SMALL = {"vector_size": 16, "epochs": 2, "min_count": 2, "workers": 1}


@pytest.fixture(autouse=True)
def cache(fresh_domain_cache):
    """An empty cache folder and fresh in-process memos for each test (conftest's ``fresh_domain_cache``)."""
    return fresh_domain_cache


@pytest.fixture(scope="module")
def texts(imdb_small):
    """100 real reviews for the training documents, 300 others (one per line) for the unlabelled file."""
    reviews, _ = imdb_small
    return list(reviews[:100]), [t.replace("\n", " ") for t in reviews[100:400]]


@pytest.fixture
def unlabelled_file(texts, tmp_path):
    path = tmp_path / "unlabelled.txt"
    path.write_text("\n".join(texts[1]) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------ the corpus's record
def test_domain_tokenizer_corpus_records_the_settings_that_decide_tokens(texts, tmp_path):
    docs = texts[0][:20]
    assert SpacyTokenizer().transform(docs).tokenizer_params == {}
    # n_jobs, cache, batch_size, errors do not change tokens; word n-grams are left out of the record
    tok = SpacyTokenizer(lowercase=False, remove_punct=True, unicode_form="NFKC", ngram_range=(1, 2), n_jobs=1,
                         cache=tmp_path / "tokens", batch_size=7, errors="skip")
    corpus = tok.transform(docs)
    expected = {"lowercase": False, "remove_punct": True, "unicode_form": "NFKC"}
    assert corpus.tokenizer_params == expected
    assert tok.transform(docs).tokenizer_params == expected  # read from the token cache: the same record
    assert SpacyTokenizer(model="blank:de", lemmatize=False).transform(["Der Film"]).tokenizer_params == {
        "model": "blank:de"}
    chars = SpacyTokenizer(analyzer="char_wb", ngram_range=(2, 3), remove_punct=True).transform(["Film"])
    assert chars.tokenizer_params == {"analyzer": "char_wb", "ngram_range": (2, 3)}  # the word options unused
    assert TokenizedCorpus.from_token_lists([["a"]]).tokenizer_params is None


def test_domain_tokenizer_corpus_operations_keep_or_drop_the_record(texts):
    words = SpacyTokenizer(lowercase=False).transform(texts[0][:10])
    grams = SpacyTokenizer(lowercase=False, ngram_range=(1, 3)).transform(texts[0][:10])
    record = {"lowercase": False}
    for corpus in (words, grams):
        kept = [corpus[2:5], corpus[::2], corpus[[1, 3]], corpus.take(np.array([True] * 10)), corpus.tail(3),
                corpus.compact(), corpus.ngrams((1, 2)), words_only(corpus), pickle.loads(pickle.dumps(corpus)),
                TokenizedCorpus.concatenate([corpus, corpus[:2]]), TokenizedCorpus.from_token_lists(corpus)]
        assert all(c.tokenizer_params == record for c in kept)
        assert pickle.loads(pickle.dumps(corpus)) == corpus
    assert words_only(grams) == words
    assert words.map_strings(str.lower).tokenizer_params is None  # other tokens than the tokenizer's
    plain = TokenizedCorpus.from_token_lists([["x"]])
    other = SpacyTokenizer().transform(["x"])
    assert TokenizedCorpus.concatenate([words, plain]).tokenizer_params is None  # mixed origins: unknown
    assert TokenizedCorpus.concatenate([words, other]).tokenizer_params is None
    # the record is no part of equality, and setting it shares the arrays
    again = words.with_tokenizer_params(None)
    assert again == words and again.tokenizer_params is None and again.ids is words.ids
    assert words.with_tokenizer_params({"lowercase": False}) is words
    with pytest.raises(TypeError, match="tokenizer params must be a dict"):
        words.with_tokenizer_params(["lowercase"])


def test_domain_tokenizer_old_pickles_load_and_plain_corpora_pickle_as_before():
    """Corpora pickled before the record existed (three-argument reduce) still load, with no record; a corpus
    without a record pickles to exactly those bytes."""
    corpus = TokenizedCorpus.from_token_lists([["a", "good", "film"], ["a", "dud"]])

    class Old:  # what TokenizedCorpus.__reduce__ and _NgramCorpus.__reduce__ returned before
        def __init__(self, reduced):
            self.reduced = reduced

        def __reduce__(self):
            return self.reduced

    old = pickle.dumps(Old((TokenizedCorpus._from_arrays, (corpus.ids.copy(), corpus.offsets.copy(),
                                                            corpus.strings))))
    loaded = pickle.loads(old)
    assert loaded == corpus and loaded.tokenizer_params is None and loaded[1:].tokenizer_params is None
    assert pickle.dumps(corpus) == old
    old_grams = pickle.loads(pickle.dumps(Old((_NgramCorpus, (corpus, (1, 2), " ")))))
    assert old_grams == corpus.ngrams((1, 2)) and old_grams.tokenizer_params is None


# ------------------------------------------------------------------ domain vectors
def test_domain_tokenizer_vectors_have_the_documents_tokens(texts, unlabelled_file):
    """With SpacyTokenizer(lowercase=False, remove_punct=True) in the pipeline, vectors trained on the
    unlabelled file alone (train=0) have its capitalised words and no punctuation, as the documents. Before,
    the file was lower-cased with its punctuation kept: "The", "I", "This" of the documents had no vector."""
    spec = f"word2vec:{unlabelled_file}:{SMALL},train=0"
    tok = SpacyTokenizer(lowercase=False, remove_punct=True)
    pipe = make_pipeline(tok, EmbeddingVectorizer(vectors=spec)).fit(texts[0])
    kv = domain_vectors(spec, tok.transform(texts[0]))  # the same vectors (the memo)
    assert "The" in kv and "I" in kv and "This" in kv
    assert "." not in kv and "," not in kv
    file_tokens = tok.transform(texts[1])
    counts = dict(zip(file_tokens.strings, file_tokens.token_counts().tolist()))
    capitalised = [w for w, n in counts.items() if n >= 2 and w[:1].isupper()]
    assert len(capitalised) > 100 and all(w in kv for w in capitalised)
    assert set(kv.index_to_key) <= set(file_tokens.strings)  # nothing from another tokenization
    vectorizer = pipe[-1]  # the pipeline's own row of "The" is its vector, not the lower-case fallback's
    np.testing.assert_array_equal(vectorizer.embedding_matrix_[vectorizer.vocabulary_.token_to_id["The"]], kv["The"])


def test_domain_tokenizer_train1_adds_documents_and_file_alike(texts, unlabelled_file):
    docs = SpacyTokenizer(lowercase=False).transform(texts[0])
    kv = domain_vectors(f"word2vec:{unlabelled_file}:{SMALL}", docs)
    default = domain_vectors(f"word2vec:{unlabelled_file}:{SMALL}", SpacyTokenizer().transform(texts[0]))
    assert "The" in kv and "the" in kv and "The" not in default
    assert set(kv.index_to_key) <= set(docs.strings) | set(SpacyTokenizer(lowercase=False).transform(texts[1]).strings)


def test_domain_tokenizer_default_keys_are_unchanged(texts, unlabelled_file, cache):
    """A default-tokenized corpus gives the cache keys (and the train=0 source record) of earlier versions, by
    their formula: the caches users have and the benchmark figures stay valid. Non-default settings give
    other keys."""
    import gensim

    docs = SpacyTokenizer().transform(texts[0])
    spec = f"word2vec:{unlabelled_file}:{SMALL}"
    domain_vectors(spec, docs)
    parsed = parse_domain_spec(spec)
    unlabelled = SpacyTokenizer(cache=True).fit_transform(texts[1])
    h = hashlib.sha256(f"v1|word2vec|{sorted(parsed.params.items())}|gensim {gensim.__version__}|".encode())
    h.update(domain._corpus_digest(TokenizedCorpus.concatenate([docs, unlabelled])).encode())
    assert (cache / "domain_vectors" / h.hexdigest()[:32]).is_dir()

    shared = f"word2vec:{unlabelled_file}:{SMALL},train=0"
    domain_vectors(shared, docs)
    params = parse_domain_spec(shared).params
    st = unlabelled_file.stat()
    text = json.dumps([1, "word2vec", sorted(params.items()), version("gensim"),
                       ["file", str(unlabelled_file.resolve()), st.st_size, st.st_mtime_ns]])
    marker = cache / "domain_vectors" / "sources" / f"{hashlib.sha256(text.encode()).hexdigest()[:32]}.json"
    key = json.loads(marker.read_text())["key"]
    h = hashlib.sha256(f"v1|word2vec|{sorted(params.items())}|gensim {gensim.__version__}|".encode())
    h.update(domain._corpus_digest(unlabelled).encode())
    assert key == h.hexdigest()[:32]

    n_entries = len(list((cache / "domain_vectors").iterdir()))
    domain_vectors(shared, SpacyTokenizer(lowercase=False).transform(texts[0]))  # other settings: other entry
    assert len(list((cache / "domain_vectors").iterdir())) == n_entries + 1
    assert len(list((cache / "domain_vectors" / "sources").iterdir())) == 2


def test_domain_tokenizer_train0_record_knows_the_settings(texts, unlabelled_file, monkeypatch):
    spec = f"word2vec:{unlabelled_file}:{SMALL},train=0"
    domain_vectors(spec, SpacyTokenizer(lowercase=False).transform(texts[0][:10]))
    with monkeypatch.context() as m:
        m.setattr(domain, "_unlabelled_texts", lambda *a, **k: pytest.fail("read the unlabelled texts"))
        assert domain_vectors_cached(spec, tokenizer=SpacyTokenizer(lowercase=False, n_jobs=2)) is True
        assert domain_vectors_cached(spec, tokenizer={"lowercase": False, "ngram_range": (1, 3)}) is True
        assert domain_vectors_cached(spec) is False  # the default settings' vectors are not trained yet
        assert domain_vectors_cached(spec, tokenizer=SpacyTokenizer()) is False
        assert domain_vectors_cached((*_tuple(spec), {"lowercase": False})) is True  # chosen in the spec
    domain_vectors(spec, SpacyTokenizer().transform(texts[0][:10]))
    assert domain_vectors_cached(spec) is True


def _tuple(spec):
    algorithm, rest = spec.split(":", 1)
    source, options = rest.rsplit(":", 1)
    return algorithm, source, options


def test_domain_tokenizer_spec_chooses_the_settings(texts, unlabelled_file, caplog):
    docs = SpacyTokenizer(lowercase=False).transform(texts[0])
    spec = f"word2vec:{unlabelled_file}:{SMALL},train=0"
    defaults = domain_vectors((*_tuple(spec), {}), docs)  # {}: SpacyTokenizer's defaults, whatever docs are
    assert "the" in defaults and "The" not in defaults
    assert domain_vectors(f"{spec},match_tokenizer=0", docs) is defaults  # the same key (memo)
    assert domain_vectors(spec, SpacyTokenizer().transform(texts[0])) is defaults
    chosen = domain_vectors((*_tuple(spec), {"lowercase": False}), TokenizedCorpus.from_token_lists(docs))
    assert "The" in chosen and chosen is domain_vectors(spec, docs)
    parsed = parse_domain_spec("word2vec:unsup:dim=8,match_tokenizer=0")
    assert parsed.tokenizer == () and "match_tokenizer" not in parsed.params
    assert parse_domain_spec("word2vec:unsup:dim=8,match_tokenizer=1") == parse_domain_spec("word2vec:unsup:dim=8")
    # plain token lists carry no record: the defaults, and an INFO line says so
    with caplog.at_level(logging.INFO, logger="toolkit.vectors.domain"):
        assert domain_vectors(spec, docs.to_list()) is defaults
        # once per spec and process, not once per call: a stack's fit asks for them for each fold and member
        assert domain_vectors(spec, docs.to_list()) is defaults
    assert caplog.text.count("carry no record of their tokenizer") == 1


@pytest.mark.parametrize("spec, match", [
    (("word2vec", "unsup", "dim=8", {"n_jobs": 2}), "names 'n_jobs', which is not a SpacyTokenizer parameter"),
    (("word2vec", "unsup", "dim=8", {"lowercase": "no"}), "'lowercase' parameter of SpacyTokenizer must be"),
    (("word2vec", "unsup", "dim=8", {"ngram_range": (1, 2)}), "word n-grams are never word-vector tokens"),
    (("word2vec", "unsup", "dim=8", ["lowercase"]), "must be a dict of SpacyTokenizer parameters"),
    (("word2vec", "unsup", "dim=8,match_tokenizer=0", {}), "match_tokenizer=0 and tokenizer settings"),
    (("word2vec", "unsup", "dim=8", {}, None), r"a tuple spec is \(algorithm, source\[, options\[, tokenizer"),
    ("word2vec:unsup:match_tokenizer=2", "option match_tokenizer=2 is out of range"),
])
def test_domain_tokenizer_bad_settings_raise_clear_errors(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_domain_spec(spec)


def test_domain_tokenizer_settings_that_cannot_be_replayed_say_so(texts, unlabelled_file):
    docs = TokenizedCorpus.from_token_lists([["a", "film"]] * 5).with_tokenizer_params(
        {"model": "xx_toolkit_missing_pipeline"})
    with pytest.raises(ValueError, match=r"Could not tokenize the unlabelled texts of the 'vectors' domain spec .*"
                                         r"'model': 'xx_toolkit_missing_pipeline'.*not installed"):
        domain_vectors(f"word2vec:{unlabelled_file}:{SMALL}", docs)


# ------------------------------------------------------------------ DocVectorizer
def test_domain_tokenizer_docvec_tokenizes_its_unlabelled_texts_like_x(texts):
    unlabelled = tuple(texts[1])
    X_cased = SpacyTokenizer(lowercase=False).transform(texts[0])
    X_default = SpacyTokenizer().transform(texts[0])
    cased = DocVectorizer(unlabelled=unlabelled, **DOC_SMALL).fit(X_cased)
    default = DocVectorizer(unlabelled=unlabelled, **DOC_SMALL).fit(X_default)
    assert cased.tokenizer_params_ == {"lowercase": False} and default.tokenizer_params_ == {}
    assert cased.model_key_ != default.model_key_

    def keys(vec):
        return docvec._doc_model(docvec._source_spec(unlabelled), vec._options(), key=vec.model_key_)[0].wv.key_to_index

    assert "The" in keys(cased) and "The" not in keys(default) and "the" in keys(default)
    # the default settings keep the key formula of earlier versions
    import gensim

    h = hashlib.sha256(f"docvec v1|{sorted(default._options().items())}|gensim {gensim.__version__}|".encode())
    h.update(domain._corpus_digest(SpacyTokenizer(cache=True).fit_transform(list(unlabelled))).encode())
    assert default.model_key_ == h.hexdigest()[:32]
    # the parameter chooses the settings: {} the defaults whatever X is
    chosen = DocVectorizer(unlabelled=unlabelled, tokenizer_params={}, **DOC_SMALL).fit(X_cased)
    assert chosen.model_key_ == default.model_key_ and chosen.model_source_ == "memo"
    listed = DocVectorizer(unlabelled=unlabelled, tokenizer_params={"lowercase": False}, **DOC_SMALL)
    assert listed.fit(X_cased.to_list()).model_key_ == cased.model_key_
    # transform retrains with the fitted settings when the cache entry is gone
    out = cased.transform(X_cased[:3])
    docvec.clear_memo()
    import shutil

    shutil.rmtree(docvec.get_cache_dir() / "doc_vectors" / cased.model_key_)
    np.testing.assert_array_equal(cased.transform(X_cased[:3]), out)
    assert (docvec.get_cache_dir() / "doc_vectors" / cased.model_key_).is_dir()
    with pytest.raises(ValueError, match="names 'n_jobs', which is not a SpacyTokenizer parameter"):
        DocVectorizer(unlabelled=unlabelled, tokenizer_params={"n_jobs": 2}, **DOC_SMALL).fit(X_cased)


def test_domain_tokenizer_docvec_pickled_before_the_parameter_loads(texts):
    X = SpacyTokenizer().transform(texts[0][:20])
    vec = DocVectorizer(unlabelled=tuple(texts[1]), **DOC_SMALL).fit(X)
    out = vec.transform(X[:3])
    del vec.tokenizer_params, vec.tokenizer_params_  # as a DocVectorizer pickled before they existed
    old = pickle.loads(pickle.dumps(vec))
    assert old.get_params()["tokenizer_params"] is None and old.tokenizer_params_ == {}
    np.testing.assert_array_equal(old.transform(X[:3]), out)


def test_domain_tokenizer_word_clusters_of_a_shared_spec_follow_the_tokenizer(texts, unlabelled_file):
    """WordClusterer memoizes the clusters of a train=0 spec by the spec; with the settings left out of that key,
    a lowercase=False pipeline fitted after a default one in the same process got the lower-cased clusters, so
    "The" had none."""
    from toolkit.vectors import clusters

    spec = f"word2vec:{unlabelled_file}:{SMALL},train=0"  # a file of this test's own: a key no other test has
    default = clusters.WordClusterer(vectors=spec, n_clusters=5).fit(SpacyTokenizer().transform(texts[0]))
    cased = clusters.WordClusterer(vectors=spec, n_clusters=5).fit(
        SpacyTokenizer(lowercase=False).transform(texts[0]))
    assert "The" not in set(default.words_) and "the" in set(default.words_)
    assert "The" in set(cased.words_)
