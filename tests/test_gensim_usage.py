"""Word vectors as a gensim user brings them: model objects, saved models, cased vectors, pickles, limits.

Tiny gensim models are trained here on real IMDB reviews (one thread, a few epochs: seconds).
"""

from __future__ import annotations

import gc
import re
import warnings

import numpy as np
import pytest

from toolkit.exceptions import VectorsFormatError
from toolkit.vectors import (
    CoverageReport,
    EmbeddingVectorizer,
    analogy,
    build_embedding_matrix,
    clear_memo,
    evaluate_analogies,
    evaluate_word_pairs,
    load_vectors,
    most_similar,
)

_CASED_WORD = re.compile(r"[A-Za-z0-9']+")


@pytest.fixture(autouse=True)
def _fresh_memo():
    clear_memo()
    yield
    clear_memo()


@pytest.fixture(scope="module")
def models(imdb_tokens):
    """A Word2Vec and a FastText model (the model objects, not ``.wv``) on 300 real reviews."""
    from gensim.models import FastText, Word2Vec

    docs = imdb_tokens[0][:300]
    params = {"vector_size": 16, "min_count": 3, "epochs": 2, "workers": 1, "seed": 0}
    return Word2Vec(docs, **params), FastText(docs, bucket=5000, **params)


def test_gensim_model_objects_give_their_word_vectors(models, imdb_tokens):
    """``load_vectors(model)`` (not ``model.wv``) used to raise TypeError; it gives ``model.wv`` now, subwords
    included, and so do the helpers built on it."""
    w2v, ft = models
    assert load_vectors(w2v) is w2v.wv and load_vectors(ft) is ft.wv
    assert most_similar(w2v, "film", topn=3) == [(w, float(s)) for w, s in w2v.wv.most_similar("film", topn=3)]
    tokens = ["film", "filmmm", "zzzqqq"]  # in the vocabulary, a misspelling, nonsense: fastText has all three
    matrix, report = build_embedding_matrix(tokens, ft)
    assert (report.n_exact, report.n_subword) == (1, 2)
    np.testing.assert_array_equal(matrix, np.stack([ft.wv[t] for t in tokens]))


def test_gensim_doc2vec_without_trained_word_vectors_is_refused(imdb_tokens):
    """A Doc2Vec model's .wv is taken like any model's, except PV-DBOW without dbow_words: its word vectors are
    never trained (random values), which must not pass for word vectors."""
    from gensim.models.doc2vec import Doc2Vec, TaggedDocument

    from toolkit.exceptions import DataError

    tagged = [TaggedDocument(doc, [i]) for i, doc in enumerate(imdb_tokens[0][:200])]
    params = {"vector_size": 8, "min_count": 3, "epochs": 1, "workers": 1, "seed": 0}
    dbow = Doc2Vec(tagged, dm=0, **params)
    with pytest.raises(DataError, match=r"This Doc2Vec model \(dm=0, dbow_words=0\) never trained its word vectors"):
        load_vectors(dbow)
    dm = Doc2Vec(tagged, dm=1, **params)
    assert load_vectors(dm) is dm.wv


def test_gensim_saved_model_file_gives_its_mapped_word_vectors(models, tmp_path):
    """``model.save()`` is how gensim users keep a model; ``format="native"`` refused it ("holds a Word2Vec"):
    it reads the model's word vectors now, memory-mapped from the ``.npy`` beside the file."""
    w2v, ft = models
    w2v.save(str(tmp_path / "w2v.model"), sep_limit=0)  # arrays in .npy files beside the pickle
    assert (tmp_path / "w2v.model.wv.vectors.npy").is_file()
    kv = load_vectors(tmp_path / "w2v.model", format="native")
    assert kv.index_to_key == w2v.wv.index_to_key and isinstance(kv.vectors, np.memmap)
    np.testing.assert_array_equal(kv.vectors, w2v.wv.vectors)
    ft.save(str(tmp_path / "ft.model"))
    fkv = load_vectors(tmp_path / "ft.model", format="native")
    np.testing.assert_array_equal(fkv["filmmm"], ft.wv["filmmm"])  # subword vectors kept


def test_gensim_limit_cuts_in_memory_vectors_and_keeps_fasttext_whole(models, tmp_path, caplog):
    """``limit`` was ignored for a KeyedVectors given in memory (all rows came back), and a fastText ``.kv``
    read with a limit silently became plain KeyedVectors without its subword vectors."""
    w2v, ft = models
    first = load_vectors(w2v.wv, limit=10)
    assert first.index_to_key == w2v.wv.index_to_key[:10] and len(w2v.wv) > 10
    np.testing.assert_array_equal(first.vectors, w2v.wv.vectors[:10])
    np.testing.assert_array_equal(first.expandos["count"], w2v.wv.expandos["count"][:10])  # the real counts
    ft.wv.save(str(tmp_path / "ft.kv"))
    with caplog.at_level("INFO", logger="toolkit.vectors.loading"):
        kv = load_vectors(tmp_path / "ft.kv", format="native", limit=10)
    assert type(kv).__name__ == "FastTextKeyedVectors" and len(kv) == len(ft.wv)
    np.testing.assert_array_equal(kv["filmmm"], ft.wv["filmmm"])
    assert "limit=10 ignored for the fastText vectors" in caplog.text


@pytest.fixture(scope="module")
def cased_kv(imdb_small):
    """Word2Vec vectors of cased words (as fastText crawl or GloVe 840B are), from real reviews."""
    from gensim.models import Word2Vec

    docs = [_CASED_WORD.findall(t.replace("<br />", " ")) for t in imdb_small[0]]
    return Word2Vec(docs, vector_size=8, min_count=2, epochs=1, workers=1, seed=0).wv


def test_gensim_cased_vectors_give_lowercased_tokens_their_vectors(cased_kv, imdb_tokens, tmp_path):
    """Lower-cased tokens (the toolkit's default) and cased vectors: 'john' found no vector when the vectors
    hold only 'John', and the report did not say why. The first casing in the vectors' order is used now,
    as gensim's case_insensitive evaluations choose, and the report counts these tokens apart."""
    from toolkit.text import Vocabulary

    vocab = Vocabulary.from_documents(imdb_tokens[0][:300])
    matrix, report = build_embedding_matrix(vocab, cased_kv)
    first_casing = {}
    for key in cased_kv.index_to_key:
        first_casing.setdefault(key.lower(), key)
    k2i = cased_kv.key_to_index
    expected = {t: first_casing[t] for t in vocab.tokens[2:] if t not in k2i and t in first_casing}
    assert len(expected) > 500 and expected["john"] == "John"
    assert report.n_cased == len(expected) and report.n_covered == report.n_exact + report.n_cased
    for token in ("john", "dvd", "hollywood"):
        np.testing.assert_array_equal(matrix[vocab.token_to_id[token]], cased_kv[expected[token]])
    assert not any(token in expected for token, _ in report.top_missing)
    assert "other casing" in str(report) and report.to_dict()["n_cased"] == report.n_cased
    old = {k: v for k, v in report.to_dict().items() if k != "n_cased"}  # a report saved before the field
    assert CoverageReport.from_dict(old).n_cased == 0
    _, strict = build_embedding_matrix(vocab, cased_kv, lowercase_fallback=False)
    assert strict.n_cased == 0 and strict.n_covered == report.n_exact
    path = tmp_path / "cased.txt"
    cased_kv.save_word2vec_format(str(path))
    pooled = EmbeddingVectorizer(vectors=str(path)).fit_transform([["john"], ["dvd", "film"]])
    np.testing.assert_allclose(pooled[0], cased_kv["John"])


def test_gensim_pickled_vectors_tell_an_estimator_user_how_to_convert(models, tmp_path):
    """A gensim ``.kv`` given to an estimator was refused with "pass format='native'", which an estimator has
    no parameter for; the message now says how to convert it, and following it works."""
    from toolkit.cli.vectors import convert_vectors

    w2v, _ = models
    w2v.wv.save(str(tmp_path / "mine.kv"))
    docs = [["a", "good", "film"], ["a", "bad", "film"]]
    with pytest.raises(VectorsFormatError, match=r"mine\.kv: looks like a Python pickle .* \(an estimator's vectors= "
                       r"parameter takes no format: write a copy once, load_vectors\(path, format='native'\)"
                       r"\.save_word2vec_format\('vectors\.vec'\), and pass its path\)"):
        EmbeddingVectorizer(vectors=str(tmp_path / "mine.kv")).fit(docs)
    converted = convert_vectors(tmp_path / "mine.kv", tmp_path / "vectors.bin", format="native")
    out = EmbeddingVectorizer(vectors=str(converted)).fit_transform(docs)
    np.testing.assert_allclose(out[0], np.mean([w2v.wv[w] for w in docs[0] if w in w2v.wv], axis=0), rtol=1e-6)


def test_gensim_evaluation_helpers_give_gensims_answers(glove_small):
    """The same vectors, the same answers as gensim's own calls (real GloVe rows)."""
    from gensim.models import KeyedVectors
    from gensim.test.utils import datapath

    kv = load_vectors(glove_small, cache=False)
    with warnings.catch_warnings():  # gensim's no_header path leaks a file handle
        warnings.simplefilter("ignore", ResourceWarning)
        ref = KeyedVectors.load_word2vec_format(str(glove_small), binary=False, no_header=True)
        gc.collect()
    assert most_similar(kv, "film", topn=5) == [(w, float(s)) for w, s in ref.most_similar("film", topn=5)]
    assert analogy(kv, "man", "king", "woman", topn=3) == [
        (w, float(s)) for w, s in ref.most_similar(positive=["king", "woman"], negative=["man"], topn=3)]
    score, sections = ref.evaluate_word_analogies(datapath("questions-words.txt"), restrict_vocab=3000)
    ours = evaluate_analogies(kv, restrict_vocab=3000)  # (3000: seconds, not a minute)
    assert ours["accuracy"] == pytest.approx(score) and ours["n_correct"] == len(sections[-1]["correct"]) > 0
    pearson, spearman, oov = ref.evaluate_word_pairs(datapath("wordsim353.tsv"), restrict_vocab=3000)
    pairs = evaluate_word_pairs(kv, restrict_vocab=3000)
    assert (pairs["pearson"], pairs["spearman"], pairs["oov_ratio"]) == pytest.approx((pearson[0], spearman[0], oov))


def test_gensim_neighbours_of_a_word_the_cased_vectors_spell_otherwise_name_that_casing(cased_kv):
    """most_similar('john') on cased vectors said "try its lowercase form" (it is lowercase already); it names
    the casing the vectors have now, and that query works."""
    from toolkit.exceptions import DataError

    with pytest.raises(DataError, match=r"The word 'john' has no vector, but 'John' has \(.* ask for 'John'\."):
        most_similar(cased_kv, "john")
    assert most_similar(cased_kv, "John", topn=2) == [(w, float(s)) for w, s in cased_kv.most_similar("John", topn=2)]
    with pytest.raises(DataError, match=r"The word 'qqzzxq' has no vector \(.*try its lowercase form"):
        analogy(cased_kv, "qqzzxq", "king", "woman")


@pytest.mark.parametrize(("name", "asked", "hint"), [
    ("ft.bin", "word2vec-binary", r"a fastText \.bin model .*pass format='fasttext-bin' \(or format='auto'"),
    ("ft.bin", "native", r"a fastText \.bin model .*not native: pass format='fasttext-bin'"),
    ("w2v.bin", "fasttext-bin", r"word2vec binary .*not fasttext-bin: pass format='word2vec-binary'"),
    ("w2v.bin", "word2vec-text", r"word2vec binary .*pass format='word2vec-binary'"),
    ("w2v.txt", "word2vec-binary", r"word2vec text .*not word2vec-binary: pass format='word2vec' \(or"),
    ("w2v.kv", "word2vec-binary", r"a Python pickle .*pass format='native', if you made or trust the file\.$"),
], ids=["fasttext-bin-as-word2vec-binary", "fasttext-bin-as-native", "binary-as-fasttext-bin", "binary-as-text",
        "text-as-binary", "pickle-as-binary"])
def test_gensim_file_read_in_a_wrong_format_names_the_right_one(models, tmp_path, name, asked, hint):
    """binary=True on a text file, or a fastText .bin as word2vec binary: the errors spoke of a corrupt file
    ("record 16: the word is empty", "Supervised fastText models are not supported"); they name the format
    the content has now."""
    from gensim.models.fasttext import save_facebook_model

    w2v, ft = models
    w2v.wv.save_word2vec_format(str(tmp_path / "w2v.bin"), binary=True)
    w2v.wv.save_word2vec_format(str(tmp_path / "w2v.txt"))
    w2v.wv.save(str(tmp_path / "w2v.kv"))
    save_facebook_model(ft, str(tmp_path / "ft.bin"))
    with pytest.raises(VectorsFormatError, match=rf"{re.escape(name)}\b.*The content looks like {hint}"):
        load_vectors(tmp_path / name, format=asked, cache=False)
    assert len(load_vectors(tmp_path / name, format="native" if name.endswith(".kv") else "auto")) == len(w2v.wv)


def test_gensim_fasttext_vectors_converted_to_word2vec_files_warn_that_subwords_are_lost(models, tmp_path, caplog):
    """``toolkit vectors convert model.bin vectors.vec`` dropped fastText's subword vectors without a word:
    the converted file gives misspellings no vector. It still converts, with a warning that says so."""
    from gensim.models.fasttext import save_facebook_model

    from toolkit.cli.vectors import convert_vectors

    _, ft = models
    save_facebook_model(ft, str(tmp_path / "ft.bin"))
    with caplog.at_level("WARNING", logger="toolkit.vectors._parse"):
        out = convert_vectors(tmp_path / "ft.bin", tmp_path / "ft.vec")
    assert re.search(r"convert_vectors writes the \d+ word vectors of these fastText vectors as word2vec, "
                     r"without their subword vectors \(5000 n-gram buckets\).*save_facebook_model",
                     caplog.text)
    assert "filmmm" not in load_vectors(out) and len(load_vectors(out)) == len(ft.wv)
    caplog.clear()
    with caplog.at_level("WARNING", logger="toolkit.vectors._parse"):
        convert_vectors(tmp_path / "ft.vec", tmp_path / "again.bin")  # plain word vectors: nothing to lose
    assert "subword" not in caplog.text


def test_gensim_non_utf8_word_tells_an_estimator_user_how_to_repair_the_file(glove_small, tmp_path):
    """The error said "pass unicode_errors='replace'", which an estimator cannot; it says how to make a copy
    the estimator can take, and that copy works."""
    lines = glove_small.read_bytes().split(b"\n")[:50]
    lines[3] = b"caf\xe9" + lines[3][lines[3].index(b" "):]  # a Latin-1 word among real GloVe rows
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(VectorsFormatError, match=r"line 4: the word b'caf\\xe9' is not valid UTF-8 .*an estimator's "
                       r"vectors= parameter takes no unicode_errors: write a repaired copy once, load_vectors\(path, "
                       r"unicode_errors='replace'\)\.save_word2vec_format\('repaired\.vec'\)"):
        EmbeddingVectorizer(vectors=str(path)).fit([["the", "film"]])
    load_vectors(path, unicode_errors="replace", cache=False).save_word2vec_format(str(tmp_path / "repaired.vec"))
    out = EmbeddingVectorizer(vectors=str(tmp_path / "repaired.vec")).fit_transform([["the", "caf\ufffd"]])
    assert out.shape == (1, 50) and np.any(out)


def test_gensim_model_object_as_an_estimators_vectors_says_how_to_save_it(models, imdb_tokens):
    """``EmbeddingVectorizer(vectors=Word2Vec(...))``: the model object (not ``.wv``) got the bare "must be a
    manifest name, a path..." error with no way out; a KeyedVectors got the hint. Both now say to save the
    vectors and pass the path, and for fastText how to keep the subword vectors."""
    from toolkit.vectors import EmbeddingVectorizer

    w2v, ft = models
    for given in (w2v, ft):
        with pytest.raises((ValueError, TypeError), match=r"save model\.wv.*save_facebook_model"):
            EmbeddingVectorizer(vectors=given).fit(imdb_tokens[0][:20])
