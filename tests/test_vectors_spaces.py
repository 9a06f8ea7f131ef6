"""Words with spaces: GloVe 840B-style lines load, and written vectors are refused or read back intact."""

from __future__ import annotations

import gzip
import logging
import subprocess
import sys

import numpy as np
import pytest
from gensim.models import KeyedVectors

from test_vectors_load import _fresh_memo, same, write  # noqa: F401 (autouse fixture)

from toolkit.cli.vectors import convert_vectors
from toolkit.exceptions import DataError, VectorsFormatError
from toolkit.vectors import load_vectors, train_word2vec

# as in glove.840B.300d: a few words hold spaces, the vector is always the last dim fields
GLOVE_840B_STYLE = (
    ", 0.1 0.2 0.3\n"
    ". . . 0.4 0.5 0.6\n"
    "the 0.7 0.8 0.9\n"
    "at name@domain.com 1 2 3\n"
    "and 4 5 6\n"
    "- - -1 -2 -3\n"
    "of 7 8 9\n"
    "to 1e-3 2e-3 3e-3\n"
)
EXPECTED_WORDS = [",", ". . .", "the", "at name@domain.com", "and", "- -", "of", "to"]
EXPECTED = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9], [1, 2, 3], [4, 5, 6], [-1, -2, -3],
                     [7, 8, 9], [1e-3, 2e-3, 3e-3]], np.float32)


def _check(kv):
    assert kv.index_to_key == EXPECTED_WORDS and kv.vector_size == 3
    np.testing.assert_array_equal(np.asarray(kv.vectors), EXPECTED)


# ----------------------------------------------------------------------------- reading (issue 15)


@pytest.mark.parametrize("cache_on", [True, False])
def test_vectors_glove_words_with_spaces_load_and_are_counted(tmp_path, caplog, cache_on):
    path = write(tmp_path / "glove.840B.sample.txt", GLOVE_840B_STYLE)
    with caplog.at_level(logging.INFO, logger="toolkit.vectors._parse"):
        kv = load_vectors(path, cache=cache_on, cache_dir=tmp_path / "cache")
    _check(kv)
    assert "read 3 words containing spaces" in caplog.text
    assert "the first such word is '. . .', on line 2" in caplog.text


def test_vectors_words_with_spaces_first_line_gzip_word2vec_and_slow_path(tmp_path, monkeypatch):
    first_spaced = ". . . 0.4 0.5 0.6\n, 0.1 0.2 0.3\nthe 0.7 0.8 0.9\n"  # the usual count, not line 1, gives dim
    kv = load_vectors(write(tmp_path / "first.txt.gz", gzip.compress(first_spaced.encode())), cache=False)
    assert kv.index_to_key == [". . .", ",", "the"] and kv.vector_size == 3
    w2v = load_vectors(write(tmp_path / "w.vec", "8 3\n" + GLOVE_840B_STYLE), cache=False)
    _check(w2v)
    odd = GLOVE_840B_STYLE.replace("1 2 3", "+1 2. 3")  # numbers the bulk parser leaves to the line-by-line one
    _check(load_vectors(write(tmp_path / "odd.txt", odd), cache=False))
    import toolkit.vectors._parse as vp

    monkeypatch.setattr(vp, "BLOCK_SIZE", 16)  # words with spaces across many small blocks
    _check(load_vectors(write(tmp_path / "blocks.txt", GLOVE_840B_STYLE), cache=False))


def test_vectors_words_with_spaces_keep_the_real_errors(tmp_path):
    cases = {
        "short.txt": ("the 0.1 0.2 0.3\nof 0.1 0.2\nand 1 2 3\n", r"line 2: the line for 'of' has 2 values, expected 3"),
        "bad.txt": ("the 0.1 0.2 0.3\nnot good 0.1 abc 0.3\nand 1 2 3\n", r"line 2: value 2 \('abc'\) is not a number"),
        "gap.txt": ("the 0.1 0.2 0.3\nnot  good 0.1 0.2 0.3\nand 1 2 3\n", r"line 2: value 1 is empty \(two spaces"),
        "header.vec": ("3 2\nthe 0.1 0.2 0.3\nof 1 2 3\nand 1 2 3\n",
                       r"line 2: the line for 'the' has 3 values, expected 2\. Most lines have 3 values but the "
                       r"header announces dimension 2"),
    }
    for name, (content, match) in cases.items():
        with pytest.raises(VectorsFormatError, match=match):
            load_vectors(write(tmp_path / name, content), cache=False)


# ----------------------------------------------------------------------------- writing (issue 14)


@pytest.fixture
def ngram_kv():
    kv = KeyedVectors(3)
    kv.add_vectors(["not good", "film", "very very bad"], np.arange(9, dtype=np.float32).reshape(3, 3) / 7)
    return kv


@pytest.mark.parametrize("name", ["out.txt", "out.vec.gz", "out.bin.txt"])
def test_vectors_convert_keys_with_spaces_round_trip_as_word2vec_text(tmp_path, ngram_kv, name):
    out = convert_vectors(ngram_kv, tmp_path / name)
    back = load_vectors(out, cache_dir=tmp_path / "cache")
    assert same(back, ngram_kv)


@pytest.mark.parametrize(
    ("to", "match"),
    [
        ("word2vec-binary", r"convert_vectors cannot write the key 'not good' \(index 0\) as word2vec-binary: it "
                            r"contains a space, which word2vec binary cannot store.*Write word2vec text instead"),
        ("glove", r"cannot write the key 'not good' \(index 0\) as glove: it contains a space, which GloVe text "
                  r"\(no header line\) cannot store reliably"),
    ],
)
def test_vectors_convert_refuses_keys_a_format_cannot_hold(tmp_path, ngram_kv, to, match):
    with pytest.raises(DataError, match=match):
        convert_vectors(ngram_kv, tmp_path / "out.bin", to=to)
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file
    kv = KeyedVectors(2)
    kv.add_vectors(["fine", "two\nlines", " lead"], np.ones((3, 2), np.float32))
    with pytest.raises(DataError, match=r"the key 'two\\nlines' \(index 1\) as word2vec: it contains a newline.*"
                                        r"Rename or drop the token"):
        convert_vectors(kv, tmp_path / "o.txt")
    kv = KeyedVectors(2)
    kv.add_vectors(["fine", " lead"], np.ones((2, 2), np.float32))
    with pytest.raises(DataError, match=r"the key ' lead' \(index 1\) as word2vec: it starts or ends with a space"):
        convert_vectors(kv, tmp_path / "o.txt")
    convert_vectors(kv, tmp_path / "o.kv", to="native")  # a pickle holds any key
    assert load_vectors(tmp_path / "o.kv", format="native").index_to_key == ["fine", " lead"]


def test_vectors_train_word2vec_on_ngram_tokens(tmp_path):
    rng = np.random.default_rng(0)
    words = ["not good", "very good", "film", "plot", "acting"]
    corpus = [list(rng.choice(words, size=8)) for _ in range(200)]
    text = tmp_path / "ngrams.vec"
    kv = train_word2vec(corpus, vector_size=8, min_count=1, epochs=1, workers=1, output=text)
    assert same(load_vectors(text, cache_dir=tmp_path / "cache"), kv)
    binary = tmp_path / "ngrams.bin"
    with pytest.raises(DataError, match=r"train_word2vec cannot write the key '(not|very) good' \(index \d\) as "
                                        r"word2vec-binary: it contains a space.*ending in \.txt or \.vec"):
        train_word2vec(corpus, vector_size=8, min_count=1, epochs=1, workers=1, output=binary)
    assert not binary.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["cache", "ngrams.vec"]


def test_vectors_train_command_writes_ngram_text(tmp_path):
    texts = tmp_path / "reviews.txt"
    texts.write_text("not good at all\nvery good film\n" * 20)
    out = tmp_path / "v.txt"
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit", "vectors", "train", str(texts), str(out), "--set", "min_count=1",
         "--set", "vector_size=4", "--set", "epochs=1"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().splitlines()[0].split(" ")[1] == "4"
