"""Embedding matrix and coverage report, gensim helpers, word2vec training, real GloVe checks."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors
from gensim.test.utils import datapath

# shared with the loader tests: the autouse memo reset and gensim's loader as the reference
from test_vectors_load import _fresh_memo, gensim_load, write  # noqa: F401

from toolkit._validation import InvalidParameterError
from toolkit.exceptions import DataError
from toolkit.text.vocabulary import Vocabulary
from toolkit.vectors import (
    CoverageReport,
    analogy,
    build_embedding_matrix,
    evaluate_analogies,
    evaluate_word_pairs,
    load_vectors,
    most_similar,
    train_word2vec,
)


@pytest.fixture
def kv():
    kv = KeyedVectors(3)
    kv.add_vectors(
        ["good", "film", "bad", "the"],
        np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=np.float32),
    )
    return kv


@pytest.fixture
def vocab():
    docs = [["the", "film", "Good", "dud"], ["the", "film", "zzz", "dud"], ["the", "bad"]]
    return Vocabulary.from_documents(docs)  # the:3 film:2 dud:2 Good:1 zzz:1 bad:1


# ----------------------------------------------------------------------------- embedding matrix


def test_vectors_matrix_rows_aligned_with_vocabulary(kv, vocab):
    matrix, report = build_embedding_matrix(vocab, kv)
    assert matrix.dtype == np.float32 and matrix.shape == (len(vocab), 3)
    assert not matrix[0].any() and not matrix[1].any()  # PAD, and OOV with oov="zeros"
    for token in ("the", "film", "bad"):
        np.testing.assert_array_equal(matrix[vocab.token_to_id[token]], kv[token])
    np.testing.assert_array_equal(matrix[vocab.token_to_id["Good"]], kv["good"])  # lowercase fallback
    assert not matrix[vocab.token_to_id["dud"]].any()
    assert (report.n_tokens, report.n_covered, report.n_exact, report.n_lowercase) == (6, 4, 3, 1)
    assert (report.n_occurrences, report.n_occurrences_covered) == (10, 7)
    assert report.top_missing == [("dud", 2), ("zzz", 1)]
    assert report.token_coverage == pytest.approx(4 / 6) and report.occurrence_coverage == pytest.approx(0.7)


def test_vectors_matrix_without_lowercase_fallback(kv, vocab):
    matrix, report = build_embedding_matrix(vocab, kv, lowercase_fallback=False)
    assert not matrix[vocab.token_to_id["Good"]].any()
    assert report.n_lowercase == 0 and report.top_missing[:2] == [("dud", 2), ("Good", 1)]


def test_vectors_matrix_oov_mean_and_random(kv, vocab):
    mean, _ = build_embedding_matrix(vocab, kv, oov="mean")
    expected = kv.vectors.mean(axis=0)
    np.testing.assert_allclose(mean[vocab.token_to_id["dud"]], expected)
    np.testing.assert_allclose(mean[1], expected)  # the OOV row is filled like a missing word
    assert not mean[0].any()
    r1, _ = build_embedding_matrix(vocab, kv, oov="random", random_state=0)
    r2, _ = build_embedding_matrix(vocab, kv, oov="random", random_state=0)
    r3, _ = build_embedding_matrix(vocab, kv, oov="random", random_state=1)
    np.testing.assert_array_equal(r1, r2)
    assert not np.array_equal(r1, r3)
    assert not r1[0].any() and r1[vocab.token_to_id["dud"]].any()
    np.testing.assert_array_equal(r1[vocab.token_to_id["film"]], kv["film"])


def test_vectors_matrix_from_plain_token_list(kv):
    matrix, report = build_embedding_matrix(["good", "nope"], kv)
    np.testing.assert_array_equal(matrix[0], kv["good"])
    assert report.n_tokens == 2 and report.n_occurrences is None and report.occurrence_coverage is None
    assert report.top_missing == [("nope", None)]


def test_vectors_matrix_fasttext_subwords():
    ft = load_vectors(datapath("lee_fasttext.bin"), cache=False)
    matrix, report = build_embedding_matrix(Vocabulary(["the", "unseenwordxyz"], [5, 1]), ft)
    assert report.n_exact == 1 and report.n_subword == 1 and report.n_covered == 2
    np.testing.assert_allclose(matrix[3], ft.get_vector("unseenwordxyz"))


def test_vectors_matrix_invalid_parameters(kv, vocab):
    with pytest.raises(InvalidParameterError, match=r"The 'oov' parameter of build_embedding_matrix must be a str among \{'mean', 'random', 'zeros'\}\. Got 'ones' instead\."):
        build_embedding_matrix(vocab, kv, oov="ones")
    with pytest.raises(TypeError, match="vocabulary must be a toolkit Vocabulary or a list of tokens, got int"):
        build_embedding_matrix(3, kv)
    with pytest.raises(TypeError, match=r"item 1 is a int"):
        build_embedding_matrix(["a", 1], kv)


def test_vectors_coverage_report_table_and_round_trip(kv, vocab):
    _, report = build_embedding_matrix(vocab, kv)
    text = str(report)
    assert "Embedding coverage: 4 vectors of dimension 3" in text
    assert "tokens" in text and "66.7%" in text and "70.0%" in text
    assert "Most frequent tokens without a vector (2 in all):" in text
    assert "dud" in text.splitlines()[-2] and "zzz" in text.splitlines()[-1]
    data = report.to_dict()
    assert data["token_coverage"] == pytest.approx(4 / 6) and data["top_missing"] == [["dud", 2], ["zzz", 1]]
    import json

    assert CoverageReport.from_dict(json.loads(json.dumps(data))) == report


# ----------------------------------------------------------------------------- gensim helpers


def test_vectors_most_similar_and_analogy_delegate_to_gensim():
    kv = load_vectors(datapath("lee_fasttext.vec"), cache=False)
    assert most_similar(kv, "government", topn=3) == [(w, float(s)) for w, s in kv.most_similar("government", topn=3)]
    expected = kv.most_similar(positive=["president", "she"], negative=["he"], topn=2)
    assert analogy(kv, "he", "president", "she", topn=2) == [(w, float(s)) for w, s in expected]
    with pytest.raises(DataError, match=r"The word 'qwertyuiop' has no vector \(1,762 words loaded\)"):
        most_similar(kv, "qwertyuiop")
    with pytest.raises(InvalidParameterError, match=r"The 'topn' parameter of most_similar must be an int in the range \[1, inf\)"):
        most_similar(kv, "man", topn=0)


@pytest.fixture
def toy_world():
    """Vectors whose analogies and similarities are known by construction.

    Each capital is its country plus one shared "capital" direction, each
    female word its male word plus one shared "female" direction, all other
    directions orthogonal: b - a + c lands on the planted answer.
    """
    e = np.eye(12, dtype=np.float32)
    pairs = [("france", "paris"), ("italy", "rome"), ("japan", "tokyo"), ("peru", "lima"),
             ("man", "woman"), ("king", "queen"), ("boy", "girl")]
    kv = KeyedVectors(12)
    for i, (a, b) in enumerate(pairs):
        kv.add_vectors([a, b], np.stack([e[i], e[i] + e[10 if i < 4 else 11]]))
    return kv


ANALOGIES = """\
: capital-world
france paris italy rome
japan tokyo peru lima
italy rome japan tokyo
peru lima france rome
: family
man woman king queen
boy girl man woman
king queen boy man
man woman dragon dragoness
"""  # line 4 and line 7 expect a wrong answer (paris and girl are right); "dragon" has no vector


def test_vectors_evaluate_analogies_on_handmade_file(tmp_path, toy_world):
    path = write(tmp_path / "questions.txt", ANALOGIES.upper())  # case-insensitive by default
    result = evaluate_analogies(toy_world, path)
    assert (result["n_correct"], result["n_incorrect"]) == (5, 2)
    assert result["accuracy"] == pytest.approx(5 / 7)
    sections = {s["section"]: (s["correct"], s["incorrect"]) for s in result["sections"]}
    assert sections == {"CAPITAL-WORLD": (3, 1), "FAMILY": (2, 1), "Total accuracy": (5, 2)}
    only_capitals = evaluate_analogies(toy_world, path, restrict_vocab=8)  # the family words come later
    assert (only_capitals["n_correct"], only_capitals["n_incorrect"]) == (3, 1)


def test_vectors_evaluate_word_pairs_on_handmade_file(tmp_path, toy_world):
    pairs = [("france", "paris"), ("paris", "rome"), ("france", "italy"), ("man", "woman"),
             ("woman", "queen"), ("king", "paris")]
    cos = np.array([toy_world.similarity(a, b) for a, b in pairs], dtype=np.float64)
    np.testing.assert_allclose(cos, [2**-0.5, 0.5, 0, 2**-0.5, 0.5, 0], atol=1e-6)  # the construction
    score = 10 * cos**2  # a monotonic, non-linear judgement: Spearman 1, Pearson below 1
    lines = [f"{a}\t{b}\t{s:.6f}" for (a, b), s in zip(pairs, score)] + ["paris\tdragon\t5.0"]
    result = evaluate_word_pairs(toy_world, write(tmp_path / "pairs.tsv", "# judged\n" + "\n".join(lines) + "\n"))
    assert result["spearman"] == pytest.approx(1.0)
    assert result["pearson"] == pytest.approx(np.corrcoef(cos, score)[0, 1], abs=1e-6) and result["pearson"] < 0.99
    assert result["oov_ratio"] == pytest.approx(100 / 7)
    reverse = [f"{a}\t{b}\t{10 - s:.6f}" for (a, b), s in zip(pairs, score)]
    result = evaluate_word_pairs(toy_world, write(tmp_path / "reverse.tsv", "\n".join(reverse) + "\n"))
    assert result["spearman"] == pytest.approx(-1.0) and result["oov_ratio"] == 0


# ----------------------------------------------------------------------------- word2vec training


def test_vectors_train_word2vec_binary_loads_like_pretrained(tmp_path):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(50)]
    corpus = [list(rng.choice(words, size=12)) for _ in range(300)]
    out = tmp_path / "domain" / "w2v.bin"
    kv = train_word2vec(corpus, vector_size=16, min_count=2, epochs=2, workers=1, seed=3, output=out)
    assert kv.vector_size == 16 and len(kv) == 50
    assert [p.name for p in out.parent.iterdir()] == ["w2v.bin"]
    loaded = load_vectors(out, cache_dir=tmp_path / "cache")
    assert loaded.index_to_key == kv.index_to_key
    np.testing.assert_array_equal(np.asarray(loaded.vectors), kv.vectors)
    assert gensim_load(out, binary=True).index_to_key == kv.index_to_key


def test_vectors_train_word2vec_errors():
    with pytest.raises(ValueError, match="expects token lists, but document 0 of corpus is a raw string"):
        train_word2vec(["a raw string"])
    with pytest.raises(DataError, match=r"No word occurs at least min_count=5 times"):
        train_word2vec([["a", "b"]], min_count=5)
    with pytest.raises(InvalidParameterError, match=r"The 'vector_size' parameter of train_word2vec must be an int in the range \[1, 100000\]"):
        train_word2vec([["a"]], vector_size=0)


# ----------------------------------------------------------------------------- real GloVe 6B-50d


@pytest.fixture(scope="module")
def glove(shared_data, tmp_path_factory):
    return load_vectors(shared_data / "glove.6B.50d.txt.gz", cache_dir=tmp_path_factory.mktemp("glove-cache"))


def test_vectors_real_glove_neighbours_and_analogy(glove):
    assert len(glove) == 400_000 and glove.vector_size == 50
    assert most_similar(glove, "film", topn=1)[0][0] == "movie"
    assert analogy(glove, "man", "king", "woman")[0][0] == "queen"


def test_vectors_real_glove_coverage_of_imdb_words(glove):
    docs = [["this", "movie", "was", "great"], ["<br", "/><br", "the", "acting", "Movie"]] * 3
    _, report = build_embedding_matrix(Vocabulary.from_documents(docs), glove)
    assert report.n_tokens == 9 and report.n_covered == 7 and report.n_lowercase == 1
    assert {t for t, _ in report.top_missing} == {"<br", "/><br"}
