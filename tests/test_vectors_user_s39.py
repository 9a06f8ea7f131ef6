"""A gensim user's pretrained vectors in the toolkit (session 39 hunt): shared loads, foreign encodings."""

import copy
import logging

import numpy as np
import pytest
from test_vectors_load import gensim_load

from toolkit.exceptions import VectorsFormatError
from toolkit.vectors import (
    EmbeddingVectorizer,
    build_embedding_matrix,
    clear_memo,
    load_vectors,
)

ROWS = 3000  # of the real GloVe 6B-50d: enough for the reviews' common words, parsed in a blink


@pytest.fixture(autouse=True)
def _fresh_memo():
    clear_memo()
    yield
    clear_memo()


@pytest.fixture
def glove3k(glove_small, tmp_path):
    """The first 3,000 rows of the real GloVe file, as a GloVe text file of this test's own."""
    path = tmp_path / "glove.3k.50d.txt"
    with open(glove_small, encoding="utf-8") as src:
        path.write_text("".join(line for _, line in zip(range(ROWS), src)), encoding="utf-8")
    return path


def _gensim(path):
    return gensim_load(path, binary=False, no_header=True)  # gensim's own loader, the reference


def test_vectors_user_normalizing_vectors_loaded_without_cache_never_reaches_a_later_fit(glove3k, imdb_tokens200):
    docs = imdb_tokens200[0][:50]
    expected = EmbeddingVectorizer(vectors=str(glove3k)).fit(docs).transform(docs)
    clear_memo()
    kv = load_vectors(glove3k, cache=False)  # in memory, as gensim's load_word2vec_format gives
    with pytest.raises(ValueError, match="read-only"):
        kv.unit_normalize_all()  # shared with every later load: read-only, as the cached (memory-mapped) vectors
    np.testing.assert_array_equal(load_vectors(glove3k).vectors, _gensim(glove3k).vectors)
    np.testing.assert_array_equal(EmbeddingVectorizer(vectors=str(glove3k)).fit(docs).transform(docs), expected)
    mine = copy.deepcopy(kv)  # what the docstring says to do: change a copy
    mine.unit_normalize_all()
    np.testing.assert_allclose(np.linalg.norm(mine.vectors, axis=1), 1.0, rtol=1e-5)
    assert load_vectors(glove3k, cache=False) is kv  # unchanged: still the one shared object


def test_vectors_user_words_added_or_vectors_replaced_stay_with_that_object(glove3k, imdb_tokens200, caplog):
    docs = imdb_tokens200[0][:50]
    reference = _gensim(glove3k)
    expected = EmbeddingVectorizer(vectors=str(glove3k)).fit(docs).transform(docs)
    kv = load_vectors(glove3k)
    kv.add_vectors(["<pad>", "<unk>"], np.zeros((2, 50), dtype=np.float32))  # a Keras user's reserved rows
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors"):
        again = load_vectors(glove3k)
    assert again is not kv and "<pad>" not in again.key_to_index
    assert again.index_to_key == reference.index_to_key
    assert "<pad>" in kv.key_to_index  # the user's own object keeps the user's change
    assert any(str(glove3k) in r.getMessage() and "copy.deepcopy" in r.getMessage() and "3002 now, 3000 when loaded" in
               r.getMessage() for r in caplog.records), caplog.text

    again.vectors = again.vectors / np.linalg.norm(again.vectors, axis=1, keepdims=True)  # normalized by hand
    third = load_vectors(glove3k)
    np.testing.assert_array_equal(third.vectors, reference.vectors)
    np.testing.assert_array_equal(EmbeddingVectorizer(vectors=str(glove3k)).fit(docs).transform(docs), expected)
    matrix, _ = build_embedding_matrix(["the", "movie"], str(glove3k), oov="zeros")
    np.testing.assert_array_equal(matrix, reference.vectors[[reference.key_to_index["the"],
                                                             reference.key_to_index["movie"]]])


def test_vectors_user_own_keyedvectors_are_neither_changed_nor_made_read_only(glove3k):
    kv = _gensim(glove3k)
    kv.fill_norms()
    before = kv.vectors.copy()
    _, report = build_embedding_matrix(["the", "film", "zzzunknown"], kv, oov="mean")
    first = load_vectors(kv, limit=10)
    assert load_vectors(kv) is kv and kv.vectors.flags.writeable and len(kv) == ROWS
    np.testing.assert_array_equal(kv.vectors, before)
    np.testing.assert_array_equal(first.vectors, before[:10])
    kv.unit_normalize_all()  # still the user's to change
    assert report.n_covered == 2


@pytest.mark.parametrize("errors", ["replace", "ignore"])
def test_vectors_user_latin1_words_made_one_by_unicode_errors_say_to_convert_the_file(tmp_path, errors):
    rows = [("caf\xe9", "0.1 0.2"), ("caf\xe8", "0.3 0.4"), ("the", "0.5 0.6")]
    if errors == "ignore":
        rows[1] = ("caf", "0.3 0.4")  # "caf\xe9" loses its byte: the same word as this one
    text = tmp_path / "latin1.txt"
    text.write_bytes("".join(f"{w} {v}\n" for w, v in rows).encode("latin-1"))
    with pytest.raises(VectorsFormatError, match=rf"latin1\.txt, line 2: the word .* appears a second time \(first "
                                                 rf"on line 1\)\. If the two lines .* unicode_errors='{errors}' made "
                                                 r"the same: convert the file to UTF-8 .*iconv -f latin1"):
        load_vectors(text, unicode_errors=errors, cache=False)
    binary = tmp_path / "latin1.bin"  # word2vec binary, as the C tool writes it
    binary.write_bytes(b"3 2\n" + b"".join(w.encode("latin-1") + b" " + np.array(v.split(), dtype="<f4").tobytes()
                                           + b"\n" for w, v in rows))
    with pytest.raises(VectorsFormatError, match=rf"latin1\.bin, record 2: .* unicode_errors='{errors}' made the "
                                                 r"same: convert the file to UTF-8"):
        load_vectors(binary, unicode_errors=errors, cache=False)
    if errors == "replace":  # a word without a replaced byte is a true duplicate: the usual advice
        text.write_bytes("caf\xe9 0.1 0.2\nthe 0.5 0.6\nthe 0.7 0.8\n".encode("latin-1"))
        with pytest.raises(VectorsFormatError, match=r"line 3: the word 'the' appears a second time \(first on line "
                                                     r"2\)\. Each word must appear once"):
            load_vectors(text, unicode_errors=errors, cache=False)


def test_vectors_user_npy_file_beside_a_saved_kv_names_the_kv_file(glove3k, tmp_path):
    kv = _gensim(glove3k)
    kv.save(str(tmp_path / "glove.kv"), separately=["vectors"])  # gensim's save: glove.kv + glove.kv.vectors.npy
    for fmt in ("auto", "glove", "word2vec"):
        with pytest.raises(VectorsFormatError, match=r"glove\.kv\.vectors\.npy: is a NumPy \.npy array .*holds no "
                                                     r"words\. Pass the \.kv file itself with format='native'"):
            load_vectors(tmp_path / "glove.kv.vectors.npy", format=fmt)
    assert load_vectors(tmp_path / "glove.kv", format="native").index_to_key == kv.index_to_key


def test_vectors_user_folder_given_for_a_file_names_the_files_in_it(shared_data, tmp_path):
    from typer.testing import CliRunner

    from toolkit.cli import app
    from toolkit.exceptions import VectorsNotFoundError

    with pytest.raises(VectorsNotFoundError, match=r"is a folder; pass the vectors file inside it \(it holds "
                                                   r"glove\.6B\.50d\.txt\.gz\)"):  # not the IMDB tarball
        load_vectors(shared_data)
    with pytest.raises(VectorsNotFoundError, match=r"is a folder; pass the vectors file inside it \(e\.g\. "):
        load_vectors(tmp_path)  # nothing like vectors inside: an example name
    texts = tmp_path / "reviews.txt"
    texts.write_text("A good film.\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["vectors", "coverage", str(texts), "-V", str(shared_data)])  # checked first
    assert result.exit_code == 1
    assert "is a folder; pass the vectors file inside it (it holds glove.6B.50d.txt.gz)" in result.output


def test_vectors_user_stanford_zip_member_reaches_estimators_and_the_cli_as_a_path(glove3k, imdb_tokens200, tmp_path):
    """Stanford's glove.6B.zip holds four files: member= chose one for load_vectors only; an estimator's
    vectors= and the CLI had no way to, and the error said "Pass member=" to them too."""
    import zipfile

    from typer.testing import CliRunner

    from toolkit.cli import app

    archive = tmp_path / "glove.6B.zip"
    small = "".join(glove3k.read_text(encoding="utf-8").splitlines(keepends=True)[:100])
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(glove3k, "glove.6B.50d.txt")
        zf.writestr("glove.6B.small.txt", small)
    with pytest.raises(VectorsFormatError, match=r"glove\.6B\.zip: the zip archive holds 2 files\. Pass member= .*or "
                                                 r"the member's path through the archive, such as .*glove\.6B\.zip/"
                                                 r"glove\.6B\.50d\.txt \(the only way an estimator's vectors="):
        EmbeddingVectorizer(vectors=str(archive)).fit(imdb_tokens200[0][:5])
    docs = imdb_tokens200[0][:50]
    expected = EmbeddingVectorizer(vectors=str(glove3k)).fit(docs).transform(docs)
    inside = f"{archive}/glove.6B.50d.txt"
    np.testing.assert_array_equal(EmbeddingVectorizer(vectors=inside).fit(docs).transform(docs), expected)
    assert load_vectors(archive / "glove.6B.small.txt").index_to_key == _gensim(glove3k).index_to_key[:100]
    with pytest.raises(VectorsFormatError, match=r"glove\.6B\.zip/glove\.6B\.5d\.txt: the zip archive has no member "
                                                 r"'glove\.6B\.5d\.txt'\. Pass one of .*'glove\.6B\.50d\.txt'"):
        load_vectors(f"{archive}/glove.6B.5d.txt")  # a typo
    result = CliRunner().invoke(app, ["vectors", "info", inside, "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    assert '"n_words": 3000' in result.output and '"dim": 50' in result.output


# ------------------------------------------------------------------ a copy gensim.downloader left in ~/gensim-data
GENSIM_VECTORS = b"2 3\ngood 0.1 0.2 0.3\nbad -0.1 -0.2 -0.3\n"


@pytest.fixture
def gensim_home(tmp_path, monkeypatch):
    """A GENSIM_DATA_DIR holding what gensim.downloader.load("glove-wiki-gigaword-50") leaves (a stand-in file)."""
    import gzip

    home = tmp_path / "gensim-data"
    (home / "glove-wiki-gigaword-50").mkdir(parents=True)
    (home / "glove-wiki-gigaword-50" / "glove-wiki-gigaword-50.gz").write_bytes(gzip.compress(GENSIM_VECTORS))
    monkeypatch.setenv("GENSIM_DATA_DIR", str(home))
    monkeypatch.delenv("TOOLKIT_DATA_DIR", raising=False)
    return home


def test_vectors_user_failed_download_names_the_copy_gensim_downloader_left(gensim_home, tmp_path, monkeypatch):
    import types

    import pooch.core

    from toolkit.data import fetch
    from toolkit.exceptions import DataError

    monkeypatch.setattr(pooch.core, "time", types.SimpleNamespace(sleep=lambda s: None))  # no retry back-off

    def offline(url, output_file, pooch):
        raise ConnectionError("Name or service not known")

    with pytest.raises(DataError, match=rf"Could not download .* gensim\.downloader's copy of 'glove-wiki-gigaword-50' "
                                        rf"is at {gensim_home}/glove-wiki-gigaword-50/glove-wiki-gigaword-50\.gz: "
                                        rf"data_dir='{gensim_home}' \(or TOOLKIT_DATA_DIR\) reads it\."):
        fetch("glove-wiki-gigaword-50", cache_dir=tmp_path / "cache", downloader=offline)


def test_vectors_user_gensim_data_folder_is_checked_against_the_official_md5(gensim_home, tmp_path, caplog):
    # the copy is found as <name>/<name>.gz: it was "not listed ... and has no published checksum; using it
    # unverified", though the manifest publishes the md5 of glove-wiki-gigaword-50.gz
    kv = load_vectors("glove-wiki-gigaword-50", data_dir=gensim_home, cache_dir=tmp_path / "cache", cache=False)
    assert kv.index_to_key == ["good", "bad"]
    assert "does not match the official md5 of 'glove-wiki-gigaword-50'" in caplog.text
    assert "no published checksum" not in caplog.text


# ------------------------------------------------------------------ domain vectors: the same shared object
def test_vectors_user_domain_vectors_changed_by_a_caller_are_made_again(imdb_tokens, tmp_path, monkeypatch, caplog):
    # domain_vectors shares one object per spec and documents, as load_vectors: words a caller added to it
    # reached the next call (an estimator's fit) without a word
    from toolkit.vectors import domain

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    domain._MEMO.clear()
    docs, _ = imdb_tokens
    kv = domain.domain_vectors("word2vec:dim=8,epochs=1,min_count=2", docs[:150])
    n = len(kv)
    with pytest.raises(ValueError, match="read-only"):
        kv.vectors[0, 0] = 1.0
    kv.add_vectors(["<added>"], np.ones((1, kv.vector_size), dtype=np.float32))
    again = domain.domain_vectors("word2vec:dim=8,epochs=1,min_count=2", docs[:150])
    assert "<added>" not in again and len(again) == n
    assert "has been changed since (its words: " in caplog.text
    assert domain.domain_vectors("word2vec:dim=8,epochs=1,min_count=2", docs[:150]) is again  # shared again
    domain._MEMO.clear()
