"""Where word vectors meet tokens: casing in WordClusterer, phrase vectors for word n-grams, fastText subwords
for tokens first seen at transform. Real IMDB training reviews, real GloVe rows, vector files written here."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_vectors

from toolkit.text import SpacyTokenizer, TokenizedCorpus, Vocabulary
from toolkit.vectors import CoverageReport, build_embedding_matrix, load_vectors
from toolkit.vectors.clusters import PREFIX, WordClusterer, cluster_token

# ----------------------------------------------------------------------------- WordClusterer: the casing fallback


CASED_WORDS = ["the", "John", "JOHN", "film", "Paris", "good", "a", "of", "and", "New_York"]


def test_clusterer_matches_tokens_to_words_as_the_embedding_matrix_does(tmp_path):
    path = write_vectors(tmp_path / "cased.txt", CASED_WORDS)
    kv = load_vectors(path)
    clu = WordClusterer(vectors=str(path), n_clusters=len(CASED_WORDS)).fit([["the"]])
    tokens = ["john", "The", "THE", "paris", "Good", "dud", "JoHn", "film", "JOHN"]
    out = clu.transform([tokens]).to_list()[0]
    matrix, report = build_embedding_matrix(tokens, kv)
    label = dict(zip(clu.words_.tolist(), clu.labels_.tolist()))
    # the word whose vector the matrix took for each token is the word whose cluster the token gets
    expected = {"john": "John", "The": "the", "THE": "the", "paris": "Paris", "Good": "good", "JoHn": "John",
                "film": "film", "JOHN": "JOHN"}
    for i, tok in enumerate(tokens):
        if tok in expected:
            np.testing.assert_array_equal(matrix[i], kv[expected[tok]])
            assert out[i] == cluster_token(label[expected[tok]]), tok
        else:
            assert not matrix[i].any() and out[i] == tok
    assert (report.n_exact, report.n_lowercase, report.n_cased) == (2, 3, 3)
    # unknown="drop" drops only the token without any casing among the words
    dropped = WordClusterer(vectors=str(path), n_clusters=len(CASED_WORDS), unknown="drop").fit([["the"]])
    assert dropped.transform([tokens]).to_list()[0] == [t for t in out if t != "dud"]


@pytest.fixture(scope="module")
def reviews60(imdb_small):
    """60 real IMDB training reviews tokenized by spaCy, lower-cased and as written (``lowercase=False``)."""
    texts = imdb_small[0][:60]
    return SpacyTokenizer().transform(texts).to_list(), SpacyTokenizer(lowercase=False).transform(texts).to_list()


def test_clusterer_cased_review_tokens_get_the_clusters_of_their_lower_case(glove_small, reviews60):
    lower, cased = reviews60
    assert [[t.lower() for t in d] for d in cased] == lower  # the same tokens, but for their casing
    clu = WordClusterer(vectors=str(glove_small), n_clusters=40, max_words=5000).fit(lower[:30])
    table = {w: cluster_token(c) for w, c in zip(clu.words_.tolist(), clu.labels_.tolist())}
    # lower-cased tokens and lower-cased GloVe: the exact matches alone, as before the fallback
    out_lower = clu.transform(lower[30:]).to_list()
    assert out_lower == [[table.get(t, t) for t in d] for d in lower[30:]]
    out_cased = clu.transform(cased[30:]).to_list()
    n_capitalized_clustered = 0
    for doc_lower, doc_cased, got in zip(out_lower, cased[30:], out_cased):
        for a, token, b in zip(doc_lower, doc_cased, got):
            if a.startswith(PREFIX):
                assert b == a, token  # "The", "Film": the cluster of "the", "film"
                n_capitalized_clustered += token != token.lower()
            else:
                assert b == token
    assert n_capitalized_clustered > 100  # sentence starts, names: real cased tokens took the fallback


# ----------------------------------------------------------------------------- phrase vectors for word n-grams


def test_embedding_matrix_gives_word_ngrams_the_vectors_phrases(tmp_path):
    path = write_vectors(tmp_path / "phrases.txt", ["new", "york", "film", "New_York", "film_noir", "NOIR", "___"])
    kv = load_vectors(path)
    docs = TokenizedCorpus.from_token_lists([["new", "york", "film", "noir"], ["a", "new", "film"], ["_", "_"]])
    vocab = Vocabulary.from_documents(docs.ngrams((1, 2)))
    matrix, report = build_embedding_matrix(vocab, kv)
    row = vocab.token_to_id
    np.testing.assert_array_equal(matrix[row["new york"]], kv["New_York"])  # another casing of "new_york"
    np.testing.assert_array_equal(matrix[row["film noir"]], kv["film_noir"])
    for missing in ("york film", "a new", "new film", "a", "_ _"):  # "_ _" is no phrase "___"
        assert not matrix[row[missing]].any()
    np.testing.assert_array_equal(matrix[row["noir"]], kv["NOIR"])  # a unigram's own casing fallback
    assert (report.n_phrase, report.n_exact, report.n_cased) == (2, 3, 1)
    assert "phrases" in str(report) and report.to_dict()["n_phrase"] == 2
    old = {k: v for k, v in report.to_dict().items() if k != "n_phrase"}  # a report saved before the field
    assert CoverageReport.from_dict(old).n_phrase == 0
    strict, strict_report = build_embedding_matrix(vocab, kv, lowercase_fallback=False)
    assert not strict[row["new york"]].any() and strict_report.n_phrase == 1  # film_noir, exact
    # unigram rows are those of a vocabulary without n-grams
    unigrams = Vocabulary.from_documents(docs)
    uni_matrix, uni_report = build_embedding_matrix(unigrams, kv)
    for tok in unigrams.tokens[2:]:
        np.testing.assert_array_equal(matrix[row[tok]], uni_matrix[unigrams.token_to_id[tok]])
    assert uni_report.n_phrase == 0


def test_pooled_vectors_of_review_bigrams_use_phrase_vectors(glove_small, reviews60, tmp_path):
    """Real GloVe rows plus one phrase entry for a bigram of the reviews; unigrams pool as before."""
    from toolkit.vectors import EmbeddingVectorizer

    lower = reviews60[0]
    bigrams = TokenizedCorpus.from_token_lists(lower).ngrams((1, 2)).to_list()
    counts: dict = {}
    for doc in bigrams:
        for t in doc:
            if " " in t and all(w.isalpha() for w in t.split(" ")):
                counts[t] = counts.get(t, 0) + 1
    phrase = max(counts, key=counts.get)  # the most frequent bigram of words, e.g. "of the"
    words = load_vectors(str(glove_small)).index_to_key[:3000]
    path = write_vectors(tmp_path / "with_phrase.txt", [*words, phrase.replace(" ", "_")], dim=50)
    kv = load_vectors(path)
    vec = EmbeddingVectorizer(vectors=str(path)).fit(bigrams)
    assert vec.embedding_coverage_.n_phrase == 1
    np.testing.assert_array_equal(vec.embedding_matrix_[vec.vocabulary_.token_to_id[phrase]],
                                  kv[phrase.replace(" ", "_")])
    # the same documents without that bigram pool exactly as a unigram-only vectorizer over the same vectors
    unigram = EmbeddingVectorizer(vectors=str(path)).fit(lower)
    only_words = [[t for t in d if " " not in t] for d in bigrams]
    # (the same rows and weights; the ids differ, so only the order of the float sums may)
    np.testing.assert_allclose(vec.transform(only_words), unigram.transform(lower), rtol=1e-5, atol=1e-7)


# ----------------------------------------------------------------------------- fastText subwords at transform




def _mean_of(docs, vector_of):
    """Mean of the nonzero token vectors of each document (zeros for none), float64."""
    out = []
    for doc in docs:
        rows = [v for v in (vector_of(t) for t in doc) if v is not None and np.any(v)]
        out.append(np.mean(rows, axis=0) if rows else np.zeros(16))
    return np.asarray(out)


def test_vectorizer_gives_tokens_first_seen_at_transform_their_fasttext_subword_vectors(fasttext_bin, imdb_tokens200,
                                                                                         caplog):
    import pickle

    from toolkit.vectors import EmbeddingVectorizer

    docs = imdb_tokens200[0]
    kv = load_vectors(str(fasttext_bin))
    vec = EmbeddingVectorizer(vectors=str(fasttext_bin)).fit(docs[:100])
    new = [*docs[100:130], ["the", "moviee", "wasnt", "greatt"], ["zzyzxq"]]
    vocab = vec.vocabulary_.token_to_id
    n_new = sum(t not in vocab for d in new for t in d)
    assert n_new > 200 and "moviee" not in kv.key_to_index  # real unseen words, misspellings
    # every token pools with the vector fastText gives it: its own, or one built from its character n-grams
    np.testing.assert_allclose(vec.transform(new), _mean_of(new, kv.get_vector), rtol=1e-5, atol=1e-6)
    assert isinstance(vec.subword_vectors_, str)
    # a document's vector does not depend on the documents transformed with it (their new tokens)
    batch = vec.transform(new)
    for i in (0, 7, len(new) - 2):
        np.testing.assert_array_equal(vec.transform([new[i]])[0], batch[i])
    # subwords=False: the fitted table alone, as before
    table = EmbeddingVectorizer(vectors=str(fasttext_bin), subwords=False).fit(docs[:100])
    assert table.subword_vectors_ is None
    expected = _mean_of(new, lambda t: vec.embedding_matrix_[vocab[t]] if t in vocab else None)
    np.testing.assert_allclose(table.transform(new), expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(table.transform(new), vec.transform(new))
    # the vectorizer keeps the entry's path, never the subword vectors (20,000 buckets x 16 floats here)
    assert len(pickle.dumps(vec)) < len(pickle.dumps(table)) + 1000 < kv.vectors_ngrams.nbytes
    # unpickled where the entry is gone (another machine): a warning, then the table alone
    moved = pickle.loads(pickle.dumps(vec))
    moved.subword_vectors_ = str(fasttext_bin.parent / "no-such-entry")
    with caplog.at_level("WARNING", logger="toolkit.vectors.pooling"):
        np.testing.assert_array_equal(moved.transform(new), table.transform(new))
    assert "cannot open the fastText vectors" in caplog.text and "no-such-entry" in caplog.text


def test_vectorizer_subwords_fit_transform_matches_transform_and_weights(fasttext_bin, imdb_tokens200):
    from toolkit.vectors import EmbeddingVectorizer

    docs = imdb_tokens200[0][:80]
    kv = load_vectors(str(fasttext_bin))
    for pooling in ("mean", "sif", "tfidf", "max", "sum"):
        vec = EmbeddingVectorizer(vectors=str(fasttext_bin), pooling=pooling, min_count=2)
        # tokens under min_count are outside the vocabulary: subword vectors in fit_transform as in transform
        np.testing.assert_allclose(vec.fit_transform(docs), vec.transform(docs), rtol=1e-5, atol=1e-6)
    for pooling in ("mean", "tfidf", "sif"):  # one new token alone: its own vector, whatever its weight
        vec = EmbeddingVectorizer(vectors=str(fasttext_bin), pooling=pooling, remove_first_component=False)
        got = vec.fit(docs).transform([["moviee"]])[0]
        np.testing.assert_allclose(got, kv.get_vector("moviee"), rtol=1e-5, atol=1e-6)
    summed = EmbeddingVectorizer(vectors=str(fasttext_bin), pooling="sum").fit(docs)
    np.testing.assert_allclose(summed.transform([["moviee", "greatt"]])[0],
                               kv.get_vector("moviee") + kv.get_vector("greatt"), rtol=1e-5, atol=1e-6)


def test_vectorizer_fasttext_domain_vectors_keep_their_entry_for_new_tokens(imdb_tokens200):
    from toolkit.vectors import EmbeddingVectorizer

    docs = imdb_tokens200[0]
    vec = EmbeddingVectorizer(vectors="fasttext:dim=16,min_count=2,epochs=1,bucket=20000").fit(docs[:100])
    assert vec.subword_vectors_ is not None and "domain_vectors" in vec.subword_vectors_
    assert vec.transform([["zzyzxq"]]).any()  # a token no document had: its n-grams' vector
    assert not EmbeddingVectorizer(vectors="fasttext:dim=16,min_count=2,epochs=1,bucket=20000",
                                   subwords=False).fit(docs[:100]).transform([["zzyzxq"]]).any()


def test_vectorizer_without_subword_vectors_keeps_the_fitted_table_alone(glove_small, imdb_tokens200):
    from toolkit.vectors import EmbeddingVectorizer

    docs = imdb_tokens200[0]
    vec = EmbeddingVectorizer(vectors=str(glove_small)).fit(docs[:50])
    assert vec.subword_vectors_ is None
    unseen = next(w for w in load_vectors(str(glove_small)).index_to_key[5000:] if w not in vec.vocabulary_.token_to_id)
    assert not vec.transform([["zzyzxq", unseen]]).any()  # GloVe has the word, the fitted table does not


def test_clusterer_gives_tokens_without_a_cluster_the_cluster_nearest_their_fasttext_vector(fasttext_bin,
                                                                                           imdb_tokens200):
    import pickle

    docs = imdb_tokens200[0]
    kv = load_vectors(str(fasttext_bin))
    clu = WordClusterer(vectors=str(fasttext_bin), n_clusters=20, max_words=500).fit(docs[:100])
    assert isinstance(clu.subword_vectors_, str)
    # misspellings (subword vectors) and words after the first max_words (their own fastText vectors)
    tokens = ["moviee", "greatt", "zzyzxq", *kv.index_to_key[500:540], "the", "The"]
    out = clu.transform([tokens]).to_list()[0]
    unit = kv.vectors[:500] / np.linalg.norm(kv.vectors[:500], axis=1, keepdims=True)
    centers = np.stack([unit[clu.labels_ == c].mean(axis=0) for c in range(20)])
    table = dict(zip(clu.words_.tolist(), clu.labels_.tolist()))
    for tok, got in zip(tokens, out):
        if tok.lower() in table:  # a clustered word keeps its own cluster
            assert got == cluster_token(table[tok.lower()])
            continue
        v = kv.get_vector(tok)
        nearest = np.argmin(((v / np.linalg.norm(v) - centers) ** 2).sum(axis=1))
        assert got == cluster_token(nearest), tok
    # subwords=False: they stay unknown, as before
    off = WordClusterer(vectors=str(fasttext_bin), n_clusters=20, max_words=500, subwords=False).fit(docs[:100])
    assert off.subword_vectors_ is None
    assert off.transform([tokens]).to_list()[0][:3] == ["moviee", "greatt", "zzyzxq"]
    assert len(pickle.dumps(clu)) < len(pickle.dumps(off)) + 1000  # a path, not the vectors


def test_embedding_matrix_subword_rows_are_the_bits_of_gensims_fasttext_vectors(fasttext_bin, imdb_small):
    kv = load_vectors(str(fasttext_bin))
    tokens = sorted({t for text in imdb_small[0][300:400] for t in text.lower().split()} - set(kv.key_to_index))
    matrix, report = build_embedding_matrix(tokens, kv)
    assert report.n_subword > 1000
    for i, tok in enumerate(tokens):
        assert matrix[i].tobytes() == kv.get_vector(tok).tobytes(), tok
