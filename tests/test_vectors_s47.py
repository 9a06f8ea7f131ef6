"""Session 47: a user who brings pretrained vectors (GloVe, word2vec, fastText) and domain vectors."""

from __future__ import annotations

import gzip
import logging

import numpy as np
import pytest
from conftest import write_reviews_tar

from toolkit.exceptions import VectorsFormatError
from toolkit.vectors import load_vectors


def _repeating(glove_small, n=400):
    """The first ``n`` lines of the real GloVe file with two words repeated deep in it, as glove.840B.300d
    repeats one of its words: (lines, the rows gensim keeps: every first occurrence)."""
    with open(glove_small, encoding="utf-8") as fh:
        lines = [next(fh) for _ in range(n)]
    again = lines[7].split(" ", 1)[0] + " " + " ".join(["0.25"] * 50) + "\n"  # another vector for 'a'
    out = lines[:200] + [again] + lines[200:300] + [lines[250]] + lines[300:]
    return out, lines


def _as_binary(lines, path):
    with open(path, "wb") as fh:
        fh.write(f"{len(lines)} 50\n".encode())
        for line in lines:
            word, *values = line.split()
            fh.write(word.encode() + b" " + np.asarray(values, dtype="<f4").tobytes())
    return path


@pytest.mark.parametrize("layout", ["glove", "glove.gz", "word2vec", "word2vec-binary"])
@pytest.mark.parametrize("cache", [True, False])
def test_duplicates_first_keeps_the_first_vector_of_a_repeated_word(glove_small, tmp_path, monkeypatch, layout,
                                                                     cache, caplog):
    """glove.840B.300d.txt repeats one of its 2.2 million words: it was refused after the whole parse, with the
    advice to remove the line by hand or to load only the rows before it (limit). duplicates='first' loads it as
    gensim's load_word2vec_format does (the first vector of each word; gensim also keeps phantom None keys)."""
    from gensim.models import KeyedVectors

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    lines, unique = _repeating(glove_small)
    path = tmp_path / "v.txt"
    if layout == "glove":
        path.write_text("".join(lines), encoding="utf-8")
    elif layout == "glove.gz":
        path = tmp_path / "v.txt.gz"
        path.write_bytes(gzip.compress("".join(lines).encode()))
    elif layout == "word2vec":
        path.write_text(f"{len(lines)} 50\n" + "".join(lines), encoding="utf-8")
    else:
        path = _as_binary(lines, tmp_path / "v.bin")
    ref = KeyedVectors.load_word2vec_format(str(_as_binary(unique, tmp_path / "ref.bin")), binary=True)
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors"):
        kv = load_vectors(path, duplicates="first", cache=cache)
    unit = "record" if layout == "word2vec-binary" else "line"
    shift = 1 if layout == "word2vec" else 0  # the header is line 1; records count from the first vector
    assert "2 rows of repeated words dropped" in caplog.text
    assert f"'a' on {unit} {201 + shift} (first on {unit} {8 + shift})" in caplog.text
    assert kv.index_to_key == ref.index_to_key and len(kv.key_to_index) == len(unique)
    assert np.array_equal(kv.vectors, ref.vectors)
    assert np.array_equal(kv["a"], np.asarray(unique[7].split()[1:], dtype=np.float32))  # the first, not 0.25
    assert kv.expandos["count"][0] == len(lines)  # gensim's made-up counts, from the lines read
    if cache:  # read back from the entry, the same vectors; the default still refuses (another entry)
        from toolkit.vectors import clear_memo

        clear_memo()
        again = load_vectors(path, duplicates="first")
        assert again.index_to_key == kv.index_to_key and np.array_equal(again.vectors, kv.vectors)
        with pytest.raises(VectorsFormatError, match="appears a second time"):
            load_vectors(path)


def test_the_duplicate_error_offers_duplicates_first(glove_small, tmp_path, monkeypatch):
    """The refusal names the way to load such a file (and, for an estimator's vectors=, how to write a copy)."""
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    lines, _ = _repeating(glove_small)
    path = tmp_path / "v.txt"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(VectorsFormatError) as info:
        load_vectors(path)
    message = str(info.value)
    assert "line 201: the word 'a' appears a second time (first on line 8)" in message
    assert "pass duplicates='first' to keep the first vector of each repeated word" in message
    assert "load_vectors(path, duplicates='first').save_word2vec_format('vectors.vec')" in message
    assert "or pass limit=200 to read the 200 vectors before it" in message


def test_duplicates_first_limit_counts_lines(glove_small, tmp_path, monkeypatch):
    """A limit counts the lines read, the dropped one included; a limit before the repeat drops nothing."""
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    lines, unique = _repeating(glove_small)
    path = tmp_path / "v.txt"
    path.write_text("".join(lines), encoding="utf-8")
    assert len(load_vectors(path, duplicates="first", limit=250)) == 249
    kv = load_vectors(path, duplicates="first", limit=150)
    assert kv.index_to_key == [line.split(" ", 1)[0] for line in unique[:150]]


def test_duplicates_is_validated():
    with pytest.raises(ValueError, match="The 'duplicates' parameter of load_vectors must be a str among"):
        load_vectors("glove.6B.50d", duplicates="last")


@pytest.mark.parametrize("drop", [[0], [3, 4], [9], [1, 5, 9], list(range(1, 10))])
def test_dropping_rows_of_a_streamed_npy_file_matches_np_delete(tmp_path, drop):
    """The rows of repeated words leave a cache entry's .npy file in place (the vectors are never held twice)."""
    from toolkit.vectors._parse import RowBuffer, _drop_npy_rows

    rows = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    buffer = RowBuffer(3, 4, tmp_path / "v.npy")
    buffer.append(rows[:6])
    buffer.append(rows[6:])
    path = buffer.result()
    _drop_npy_rows(path, drop)
    assert np.array_equal(np.load(path, allow_pickle=False), np.delete(rows, drop, axis=0))


@pytest.mark.parametrize("drop", [[0], [3, 4], [9], [1, 5, 9], list(range(1, 10))])
def test_dropping_rows_in_memory_matches_np_delete(drop):
    from toolkit.vectors._parse import _compact

    rows = np.random.default_rng(1).normal(size=(10, 3)).astype(np.float32)
    work = rows.copy()
    assert np.array_equal(work[:_compact(work, drop)], np.delete(rows, drop, axis=0))


def _spelling_ustar_at_257(rows=("de", "la", "que", "el", "en", "los", "del", "se", "las", "por", "un", "para")):
    """GloVe text (3 dimensions) whose bytes 257-261 spell "ustar": the word 'gustar' starts at byte 256."""
    text = ""
    for word in rows:
        line = f"{word} 0.1 0.2 0.3\n"
        if len((text + line).encode()) >= 240:
            break
        text += line
    text += "x" * (256 - len(text.encode()) - len(" 0.1 0.2 0.3\n")) + " 0.1 0.2 0.3\n"
    assert len(text.encode()) == 256
    return text + "gustar 0.4 0.5 0.6\nfin 0.7 0.8 0.9\n"


def test_a_vectors_file_spelling_ustar_at_byte_257_is_no_tar_archive(tmp_path, monkeypatch):
    """Small-dimension vectors (domain vectors of dim=8, a toy file) whose word at byte 256 is 'gustar', 'custard'
    or 'mustard' were refused as "a tar archive (such as a .tar.gz)"; a real tar header holds NULs before it."""
    import tarfile

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "es.txt"
    path.write_text(_spelling_ustar_at_257(), encoding="utf-8")
    kv = load_vectors(path)
    assert kv.index_to_key[-2:] == ["gustar", "fin"] and np.allclose(kv["gustar"], [0.4, 0.5, 0.6])
    with tarfile.open(tmp_path / "es.tar.gz", "w:gz") as tar:  # a real archive is still named as one
        tar.add(path, arcname="es.txt")
    with pytest.raises(VectorsFormatError, match=r"is a tar archive \(such as a \.tar\.gz\)"):
        load_vectors(tmp_path / "es.tar.gz")




def test_an_unlabelled_tar_archive_is_refused_not_read_as_text(imdb_small, fresh_domain_cache, tmp_path):
    """'word2vec:aclImdb_v1.tar.gz' (the tarball holds the unlabelled reviews) trained silently on the archive read
    as text: member headers glued to each review's first line as documents, every member (IMDB's test reviews too)
    included. It is refused, and 'unsup' is offered."""
    from toolkit.exceptions import DataError
    from toolkit.vectors.docvec import DocVectorizer
    from toolkit.vectors.domain import domain_vectors

    texts, _ = imdb_small
    archive = write_reviews_tar(tmp_path / "reviews.tar.gz", texts[:20], member="reviews/unsup/{i}_0.txt")
    docs = [text.lower().split() for text in texts[20:40]]
    with pytest.raises(DataError, match=r"reviews\.tar\.gz' named by the 'vectors' domain spec is a tar archive "
                                        r"\(gzip-compressed\), not a text file.*give 'unsup'"):
        domain_vectors(f"word2vec:{archive}:dim=8,epochs=1,min_count=1", docs)
    with pytest.raises(DataError, match=r"named by the 'unlabelled' parameter of DocVectorizer is a tar archive"):
        DocVectorizer(unlabelled=str(archive), vector_size=8, epochs=1, min_count=1).fit(docs)


def test_an_unlabelled_zip_archive_is_named_as_one(imdb_small, fresh_domain_cache, tmp_path):
    """A zip of the unlabelled text file was called "not valid UTF-8 ...; re-encode it as UTF-8"."""
    import zipfile

    from toolkit.exceptions import DataError
    from toolkit.vectors.domain import domain_vectors

    texts, _ = imdb_small
    archive = tmp_path / "reviews.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("reviews.txt", "\n".join(t.replace("\n", " ") for t in texts[:20]))
    with pytest.raises(DataError, match=r"is a zip archive, not a text file; extract the text file from it "
                                        r"\(unzip reviews\.zip\)") as info:
        domain_vectors(f"word2vec:{archive}:dim=8,epochs=1,min_count=1", [["a", "film"]])
    assert "re-encode" not in str(info.value)


def test_an_unlabelled_text_spelling_ustar_at_byte_257_is_read(fresh_domain_cache, tmp_path):
    """(The archive check needs a tar header's NULs: a text with 'gustar' at byte 256 is text.)"""
    from toolkit.vectors.domain import _read_lines

    path = tmp_path / "es.txt"
    path.write_text(_spelling_ustar_at_257(), encoding="utf-8")
    assert _read_lines(path, "x")[-2] == "gustar 0.4 0.5 0.6"
