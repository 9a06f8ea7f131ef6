"""Session 46: a user bringing pretrained vectors (GloVe, word2vec text/binary, fastText .vec/.bin, gensim .kv).

Real data: the GloVe 6B-50d file (its first rows), fastText models trained here on real IMDB training reviews.
"""

from __future__ import annotations

import gzip
import threading

import numpy as np
import pytest

from toolkit.exceptions import VectorsFormatError


@pytest.fixture(scope="module")
def glove_rows(shared_data):
    """The first 300 lines of the real GloVe 6B-50d file, as text lines (no newline)."""
    lines = []
    with gzip.open(shared_data / "glove.6B.50d.txt.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            lines.append(line.rstrip("\n"))
            if len(lines) == 300:
                break
    return lines


@pytest.fixture(scope="module")
def glove_kv(glove_rows):
    """Those rows as gensim's reader makes them (the oracle: each value np.float32 of its text; gensim's
    load_word2vec_format itself leaves its file open, a ResourceWarning)."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(50)
    kv.add_vectors([line.split(" ")[0] for line in glove_rows],
                   np.array([[np.float32(x) for x in line.split(" ")[1:]] for line in glove_rows], dtype=np.float32))
    return kv


# ------------------------------------------------ the formats a user brings, each against gensim's reading


@pytest.mark.parametrize("kind", ["glove-gz-limit", "word2vec-text", "word2vec-binary", "native-kv",
                                  "glove-bom-crlf"])
def test_vectors_user_formats_load_as_gensim_reads_them(kind, glove_kv, glove_rows, shared_data, tmp_path):
    from toolkit.vectors import load_vectors

    if kind == "glove-gz-limit":  # the real file itself, its first rows only
        kv = load_vectors(shared_data / "glove.6B.50d.txt.gz", limit=300, cache_dir=tmp_path)
    elif kind == "word2vec-text":
        glove_kv.save_word2vec_format(str(tmp_path / "v.txt"), binary=False)
        kv = load_vectors(tmp_path / "v.txt", cache_dir=tmp_path)
    elif kind == "word2vec-binary":
        glove_kv.save_word2vec_format(str(tmp_path / "v.bin"), binary=True)
        kv = load_vectors(tmp_path / "v.bin", cache_dir=tmp_path)
    elif kind == "native-kv":
        glove_kv.save(str(tmp_path / "v.kv"))
        kv = load_vectors(tmp_path / "v.kv", format="native", cache_dir=tmp_path)
    else:  # a file saved by a Windows editor: a BOM and CRLF line ends
        (tmp_path / "v.txt").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(glove_rows).encode("utf-8") + b"\r\n")
        kv = load_vectors(tmp_path / "v.txt", cache_dir=tmp_path)
    assert kv.index_to_key == glove_kv.index_to_key
    assert np.array_equal(kv.vectors, glove_kv.vectors)


@pytest.mark.parametrize("damage, match", [
    ("header-count", r"v\.txt, line 12: the header announces 10 vectors but the file has more rows.*limit=10"),
    ("duplicate", r"v\.txt, line 22: the word 'of' appears a second time \(first on line 5\)"),
    ("truncated", r"v\.txt, line 21: the line for .* has \d+ values, expected 50\. The file looks truncated"),
    ("nan", r"v\.txt, line 7: value 50 \('nan'\) is not a finite float32.*fix or remove this line"),
])
def test_vectors_user_malformed_word2vec_text_is_refused_with_file_line_and_fix(damage, match, glove_rows,
                                                                                  tmp_path):
    from toolkit.vectors import load_vectors

    body = glove_rows[:20]
    if damage == "header-count":
        text = "10 50\n" + "\n".join(body) + "\n"
    elif damage == "duplicate":
        text = "21 50\n" + "\n".join(body + [body[3]]) + "\n"
    elif damage == "truncated":  # a download cut inside the last line
        text = "20 50\n" + "\n".join(body)[:-30]
    else:
        text = "20 50\n" + "\n".join(body[:5] + [body[5].rsplit(" ", 1)[0] + " nan"] + body[6:]) + "\n"
    (tmp_path / "v.txt").write_text(text, encoding="utf-8")
    with pytest.raises(VectorsFormatError, match=match):
        load_vectors(tmp_path / "v.txt", cache_dir=tmp_path)


def test_vectors_user_word_with_spaces_in_word2vec_text(glove_rows, tmp_path):
    """A phrase key written by gensim as word2vec text loads back whole, with its own vector."""
    from toolkit.vectors import load_vectors

    body = list(glove_rows[:20])
    values = body[3].split(" ", 1)[1]
    body[3] = "new york " + values
    (tmp_path / "v.txt").write_text("20 50\n" + "\n".join(body) + "\n", encoding="utf-8")
    kv = load_vectors(tmp_path / "v.txt", cache_dir=tmp_path)
    assert kv.index_to_key[3] == "new york"
    assert np.array_equal(kv["new york"], np.array(values.split(), dtype=np.float32))


# ------------------------------------------- a wrong dimension in a word2vec binary header: the first record


@pytest.mark.parametrize("limit", [None, 10])
def test_vectors_binary_wrong_header_dimension_names_record_2_and_the_dimension(limit, glove_kv, tmp_path):
    """A header whose dimension is one short puts the records out of step from record 2. The error named
    record 2 only with a small limit; a whole read named a later record of the same block ("record 198: the
    word is empty. The file is corrupt" here; a nan at record 871 on 5,000 rows), not the header's dimension."""
    from toolkit.vectors import load_vectors

    glove_kv.save_word2vec_format(str(tmp_path / "good.bin"), binary=True)
    data = (tmp_path / "good.bin").read_bytes()
    (tmp_path / "v.bin").write_bytes(b"300 49" + data[data.index(b"\n"):])
    with pytest.raises(VectorsFormatError, match=r"v\.bin, record 2: the word .* is not valid UTF-8.*"
                                                 r"the header's dimension \(49\) is wrong"):
        load_vectors(tmp_path / "v.bin", limit=limit, cache_dir=tmp_path)


# ------------------------------------ fastText trained on lower-cased text, a tokenizer that keeps case


@pytest.fixture(scope="module")
def cased_fasttext_bin(imdb_tokens200, tmp_path_factory):
    """A small fastText model trained on real reviews whose sentence starts are capitalised (a cased model)."""
    from conftest import small_fasttext_bin

    docs = [[t.capitalize() if i % 5 == 0 else t for i, t in enumerate(doc)] for doc in imdb_tokens200[0]]
    return small_fasttext_bin(docs, tmp_path_factory.mktemp("fasttext-cased") / "cased.bin")


def test_vectors_matrix_uncased_fasttext_gives_a_cased_token_the_subwords_of_its_lowercase(fasttext_bin,
                                                                                            tmp_path):
    """fastText trained on lower-cased reviews never saw a capital: the n-grams of "AMAZZING" are untrained
    buckets. The row was gensim's kv["AMAZZING"] (measured on a 3,000-review model: a typo in capitals was
    closer to a random word than to its correct spelling, 1 in 100 found in the top 5 against 71 in lower
    case); it is kv["amazzing"], as lowercase_fallback promises for tokens the vectors lack."""
    from toolkit.vectors import build_embedding_matrix, load_vectors

    kv = load_vectors(fasttext_bin, cache_dir=tmp_path)
    assert not any(k != k.lower() for k in kv.index_to_key)
    tokens = ["AMAZZING", "Terrrible", "moviez", "Film"]
    assert not any(t in kv.key_to_index or t.lower() in kv.key_to_index for t in tokens[:3])
    matrix, report = build_embedding_matrix(tokens, kv)
    for row, tok in zip(matrix, tokens):
        assert np.array_equal(row, kv.get_vector(tok.lower())), tok
    assert (report.n_subword, report.n_lowercase) == (3, 1)
    assert not np.array_equal(matrix[0], kv.get_vector("AMAZZING"))
    # without the fallback, the token as it is (gensim's own vector)
    plain, _ = build_embedding_matrix(["AMAZZING"], kv, lowercase_fallback=False)
    assert np.array_equal(plain[0], kv.get_vector("AMAZZING"))


def test_vectors_matrix_cased_fasttext_keeps_a_cased_token_s_own_subwords(cased_fasttext_bin, tmp_path):
    from toolkit.vectors import build_embedding_matrix, load_vectors

    kv = load_vectors(cased_fasttext_bin, cache_dir=tmp_path)
    assert any(k != k.lower() for k in kv.index_to_key)
    matrix, report = build_embedding_matrix(["Amazzingly", "moviez"], kv)
    assert report.n_subword == 2
    assert np.array_equal(matrix[0], kv.get_vector("Amazzingly"))
    assert np.array_equal(matrix[1], kv.get_vector("moviez"))


def test_vectors_vectorizer_cased_tokens_at_transform_get_lowercase_subwords(fasttext_bin, imdb_tokens200,
                                                                              tmp_path, monkeypatch):
    """Fitted on lower-cased reviews, transform given the same review in capitals (a tokenizer that keeps
    case at predict time): every token gets its lower-case vector, so the pooled vector is the same."""
    from toolkit.vectors import EmbeddingVectorizer, load_vectors

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path))
    docs = imdb_tokens200[0][:20]
    vec = EmbeddingVectorizer(vectors=str(fasttext_bin)).fit(docs)
    kv = load_vectors(fasttext_bin)
    doc = ["this", "film", "was", "amazzing"]
    assert "amazzing" not in kv.key_to_index
    lower = vec.transform([doc])
    upper = vec.transform([[t.upper() for t in doc]])
    assert np.allclose(lower, upper, atol=1e-6)


# ------------------------------------ the known gap: the same domain vectors asked for two cache folders at once


def test_domain_vectors_two_threads_two_cache_folders_each_cache_holds_what_its_caller_got(imdb_tokens200,
                                                                                          tmp_path):
    """Both threads may train (the lock is per cache folder): it costs CPU only. Each entry holds the vectors
    its caller got, and with workers=1 (the default) both are the same bits."""
    from toolkit.vectors import domain
    from toolkit.vectors.loading import read_entry

    docs = imdb_tokens200[0][:100]
    spec = "word2vec:dim=8,epochs=1,min_count=2"
    domain.clear_memo()
    got = {}
    barrier = threading.Barrier(2)

    def fit(name):
        barrier.wait()
        got[name] = domain.domain_vectors(spec, docs, cache_dir=tmp_path / name)

    threads = [threading.Thread(target=fit, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert np.array_equal(got["a"].vectors, got["b"].vectors)
        for name in ("a", "b"):
            (entry,) = [p for p in (tmp_path / name / "domain_vectors").iterdir() if p.name != "sources"]
            cached = read_entry(entry)
            assert cached.index_to_key == got[name].index_to_key
            assert np.array_equal(cached.vectors, got[name].vectors)
    finally:
        domain.clear_memo()
