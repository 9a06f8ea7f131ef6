"""Gaps of the word-vectors readers found in session 40, closed in session 41.

1. The advice of a vectors error is worded in the caller's terms
   (:func:`toolkit.vectors._parse.spelled_as`), but that setting is per
   process: ``toolkit train --model stack`` fits its members in joblib
   worker processes (and ``toolkit grid`` its candidates on Dask workers),
   so an error raised there came back in Python keywords. The error now
   carries its advice unworded and is worded again on its way out of the
   block.
2. The message for a gensim ``.kv`` pickle mixed Python and command-line
   terms ("pass format='native' (--format native on the command line)");
   each caller now reads its own.
3. A two-line GloVe file whose word holds a space ("new york 0.1 0.2 0.3")
   got dimension 4: the dimension vote tied and took the larger count.
"""

from __future__ import annotations

import csv
import gzip
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.cli.vectors import OptionSpelling
from toolkit.exceptions import VectorsFormatError
from toolkit.vectors import load_vectors
from toolkit.vectors._parse import spelled_as


def _cli(*args):
    result = CliRunner().invoke(app, ["-q", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def latin1(glove_small, tmp_path):
    """30 real GloVe rows, and 'café' written in Latin-1 (byte 0xe9: not UTF-8) on line 11."""
    with open(glove_small, "rb") as src:
        rows = [next(src) for _ in range(30)]
    rows.insert(10, b"caf\xe9" + rows[0][rows[0].index(b" "):])
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"".join(rows))
    return path


@pytest.fixture
def pickled(glove_small, tmp_path):
    """A gensim KeyedVectors.save file (.kv, a pickle) of 30 real GloVe rows."""
    import copy

    kv = copy.deepcopy(load_vectors(glove_small, limit=30, cache=False))
    path = tmp_path / "mine.kv"
    kv.save(str(path), separately=[])
    return path


# ----------------------------------------------------------------------------- 1. errors from worker processes


def _reviews_csv(imdb_small, tmp_path):
    """30 real reviews and their labels as a CSV file (text, label), for the shell commands."""
    texts, labels = imdb_small
    data = tmp_path / "reviews.csv"
    with open(data, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts[:30], labels[:30]))
    return data


def _error_from_a_worker(path):
    """The error load_vectors raises for ``path`` where no spelling is set, through pickle (as a worker's)."""
    with pytest.raises(VectorsFormatError) as err:
        load_vectors(path, cache=False)
    return pickle.loads(pickle.dumps(err.value))


def test_vectors_gaps_s41_an_error_from_a_worker_is_worded_in_the_shells_terms(latin1):
    err = _error_from_a_worker(latin1)
    assert "unicode_errors='replace'" in str(err)  # raised where the command's setting does not reach
    with pytest.raises(VectorsFormatError) as caught, spelled_as(OptionSpelling(options=())):
        raise err
    assert str(caught.value).endswith(
        f"Convert the file to UTF-8, or write a copy with --unicode-errors replace once (toolkit vectors convert "
        f"{latin1} latin1.fixed.vec --unicode-errors replace) and pass --vectors latin1.fixed.vec.")
    assert "unicode_errors=" not in str(caught.value) and "load_vectors(" not in str(caught.value)


def test_vectors_gaps_s41_the_innermost_callers_terms_win(latin1):
    """An error worded by a caller's block keeps that wording through an outer one."""
    with pytest.raises(VectorsFormatError) as caught, spelled_as(OptionSpelling(options=())), \
            spelled_as(OptionSpelling()):
        load_vectors(latin1, cache=False)
    assert str(caught.value).endswith("or pass --unicode-errors replace (or ignore) to load it anyway.")


def test_vectors_gaps_s41_a_joblib_worker_process_error_reads_in_the_callers_terms(latin1):
    from joblib import Parallel, delayed

    with pytest.raises(VectorsFormatError) as caught, spelled_as(OptionSpelling()):
        Parallel(n_jobs=2, backend="loky")(delayed(load_vectors)(latin1, cache=False) for _ in range(2))
    assert str(caught.value).endswith("or pass --unicode-errors replace (or ignore) to load it anyway.")


def test_vectors_gaps_s41_train_stack_from_the_shell_advises_the_convert_route(latin1, imdb_small, tmp_path):
    """``toolkit train --model stack`` fits its members in joblib worker processes (every CPU)."""
    data = _reviews_csv(imdb_small, tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit", "-q", "train", "--model", "stack", "--data", str(data), "--vectors",
         str(latin1), "--set", "n_jobs=2", "--no-baseline", "-o", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env={**os.environ, "PYTHONWARNINGS": "ignore"},
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.endswith(
        f"Convert the file to UTF-8, or write a copy with --unicode-errors replace once (toolkit vectors convert "
        f"{latin1} latin1.fixed.vec --unicode-errors replace) and pass --vectors latin1.fixed.vec.\n"), proc.stderr


def test_vectors_gaps_s41_grid_advises_the_convert_route(latin1, imdb_small, tmp_path):
    """``toolkit grid --set vectors=FILE`` set no spelling: its candidates' error advised unicode_errors='replace'
    (a Python keyword) to a shell user. --local: in this process; on Dask the error is worded again on its way out
    of the same block, as the loky test above shows."""
    data = _reviews_csv(imdb_small, tmp_path)
    code, _, err = _cli("grid", "--data", data, "--grid", "epochs=1", "--set", f"vectors={latin1}", "--cv", "2",
                        "--local")
    assert code == 1, err
    assert " ".join(err.split()).endswith(
        f"or write a copy with --unicode-errors replace once (toolkit vectors convert {latin1} latin1.fixed.vec "
        "--unicode-errors replace) and pass --set vectors=latin1.fixed.vec."), err


# ----------------------------------------------------------------------------- 2. a gensim .kv pickle


def test_vectors_gaps_s41_a_kv_pickle_is_refused_in_python_terms(pickled, tmp_path):
    from toolkit.vectors import EmbeddingVectorizer

    with pytest.raises(VectorsFormatError) as err:
        load_vectors(pickled)
    message = str(err.value)
    assert ("which format='auto' never loads: loading a pickle can run any code it holds. If you made this file or "
            "trust its source, pass format='native' to load it (an estimator's vectors= parameter takes no format: "
            "write a copy once, load_vectors(path, format='native').save_word2vec_format('vectors.vec'), and pass "
            "its path).") in message
    assert "--" not in message and "toolkit vectors" not in message
    # the advice, followed
    load_vectors(pickled, format="native").save_word2vec_format(str(tmp_path / "vectors.vec"))
    out = EmbeddingVectorizer(vectors=str(tmp_path / "vectors.vec")).fit_transform([["the", "of"]])
    kv = load_vectors(pickled, format="native")
    np.testing.assert_allclose(out[0], (kv["the"] + kv["of"]) / 2, rtol=1e-5)


def test_vectors_gaps_s41_a_kv_pickle_is_refused_in_the_shells_terms(pickled, tmp_path, monkeypatch):
    code, _, err = _cli("vectors", "info", pickled)
    assert code == 1
    assert ("which --format auto never loads: loading a pickle can run any code it holds. If you made this file or "
            "trust its source, pass --format native to load it. Otherwise") in err
    assert "format='" not in err and "load_vectors(" not in err and "vectors=" not in err
    # a command without --format (toolkit train --vectors): the convert route, which works as said
    with pytest.raises(VectorsFormatError) as caught, spelled_as(OptionSpelling(options=())):
        load_vectors(pickled)
    message = str(caught.value)
    assert ("which is loaded only when its format is named: loading a pickle can run any code it holds. If you made "
            "this file or trust its source, write a copy with --format native once (toolkit vectors convert "
            f"{pickled} mine.fixed.vec --format native) and pass --vectors mine.fixed.vec.") in message
    assert "format='" not in message and "load_vectors(" not in message
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli("vectors", "convert", pickled, "mine.fixed.vec", "--format", "native")
    assert code == 0, err
    assert len(load_vectors(tmp_path / "mine.fixed.vec")) == 30


# ----------------------------------------------------------------------------- 3. GloVe's dimension


@pytest.mark.parametrize("text", [
    "new york 0.1 0.2 0.3\nthe 0.4 0.5 0.6\n",
    "the 0.4 0.5 0.6\nnew york 0.1 0.2 0.3\n",
    "new york 0.1 0.2 0.3\nlos angeles 0.7 0.8 0.9\nthe 0.4 0.5 0.6\n",  # the spaced words outnumber the others
    "new york 0.1 0.2 0.3\n",
])
def test_vectors_gaps_s41_glove_words_with_spaces_do_not_decide_the_dimension(text, tmp_path):
    path = tmp_path / "spaced.txt"
    path.write_text(text, encoding="utf-8")
    kv = load_vectors(path, cache=False)
    assert kv.vector_size == 3
    assert "new york" in kv.key_to_index
    np.testing.assert_array_equal(kv["new york"], np.float32([0.1, 0.2, 0.3]))
    code, out, err = _cli("vectors", "info", path, "--cache-dir", tmp_path / "cache")
    assert code == 0, err
    assert '"dim": 3' in out


def test_vectors_gaps_s41_glove_dimension_vote_keeps_its_other_answers(tmp_path, shared_data):
    """A short last line is still a truncation, and values that are not numbers are still named."""
    path = tmp_path / "cut.txt"
    path.write_text("the 0.1 0.2 0.3\nof 0.1 0.2\n", encoding="utf-8")
    with pytest.raises(VectorsFormatError, match=r"line 2: the line for 'of' has 2 values, expected 3\. The file "
                                                 r"looks truncated"):
        load_vectors(path, cache=False)
    path.write_text("the a b\nof c d\n", encoding="utf-8")
    with pytest.raises(VectorsFormatError, match=r"line 1: value 1 \('a'\) is not a number"):
        load_vectors(path, cache=False)
    with gzip.open(shared_data / "glove.6B.50d.txt.gz", "rt", encoding="utf-8") as src, \
            gzip.open(tmp_path / "g.txt.gz", "wt", encoding="utf-8") as f:  # the real file's first rows
        f.writelines(next(src) for _ in range(200))
    assert load_vectors(tmp_path / "g.txt.gz", cache=False).vector_size == 50


@pytest.mark.parametrize("limit", [None, 1, 2])
def test_vectors_gaps_s41_a_limit_does_not_change_glove_dimension(limit, tmp_path):
    """The dimension was inferred from the first ``limit`` lines only: with ``limit=1`` a first word ending in
    a number ("chapter 1") gave dimension 4 and the word "chapter"; with ``limit=2``, a "truncated" error."""
    path = tmp_path / "chapter.txt"
    path.write_text("chapter 1 0.1 0.2 0.3\nthe 0.4 0.5 0.6\nof 0.7 0.8 0.9\n", encoding="utf-8")
    kv = load_vectors(path, limit=limit, cache=False)
    assert kv.vector_size == 3
    assert kv.index_to_key == ["chapter 1", "the", "of"][:limit]
    np.testing.assert_array_equal(kv["chapter 1"], np.float32([0.1, 0.2, 0.3]))


@pytest.mark.parametrize("command", [["similar", "film"], ["analogy", "man", "king", "woman"]])
def test_vectors_gaps_s41_topn_is_checked_as_an_option(command, glove_small):
    """``-n 0`` was refused as "The 'topn' parameter of most_similar ...", a Python function's parameter."""
    code, _, err = _cli("vectors", *command, "-V", glove_small, "--limit", 100, "-n", 0)
    assert code == 2
    assert "Invalid value for '--topn' / '-n'" in err and "most_similar" not in err


@pytest.mark.parametrize("binary", [False, True])
def test_vectors_gaps_s41_a_word_that_ignore_empties_is_refused(binary, tmp_path):
    """``unicode_errors='ignore'`` turned a word of Latin-1 letters only into the word '': it loaded (``vectors
    similar`` printed an empty neighbour) and ``vectors convert`` then failed on the empty key with advice a
    shell user cannot follow ("Rename or drop the token")."""
    if binary:
        path = tmp_path / "latin1.bin"
        path.write_bytes(b"2 2\nthe " + np.float32([1, 2]).tobytes() + b"\n\xe9\xe8 " + np.float32([3, 4]).tobytes())
        where = "record 2"
    else:
        path = tmp_path / "latin1.txt"
        path.write_bytes(b"the 0.1 0.2\n\xe9\xe8 0.3 0.4\nof 0.5 0.6\n")
        where = "line 2"
    with pytest.raises(VectorsFormatError, match=rf"{where}: the word b'\\xe9\\xe8' holds no valid UTF-8, so "
                                                 r"unicode_errors='ignore' leaves it empty\. Convert the file to "
                                                 r"UTF-8, or pass unicode_errors='replace' to keep such words"):
        load_vectors(path, unicode_errors="ignore", cache=False)
    assert load_vectors(path, unicode_errors="replace", cache=False).index_to_key[1] == "\ufffd\ufffd"
    code, _, err = _cli("vectors", "convert", path, tmp_path / "out.vec", "--unicode-errors", "ignore",
                        "--cache-dir", tmp_path / "cache")
    assert code == 1
    assert err.endswith("so --unicode-errors ignore leaves it empty. Convert the file to UTF-8, or pass "
                        "--unicode-errors replace to keep such words (their bytes become U+FFFD).\n")
    assert not (tmp_path / "out.vec").exists()


@pytest.mark.parametrize("limit", [None, 2])
def test_vectors_gaps_s41_word2vec_binary_with_a_wrong_header_dimension_is_named(limit, tmp_path):
    """Header dimension 1 for 2-float vectors: with ``limit=2`` the words 'the' and '\\x00\\x00\\x00@\\nof' (the
    second float's bytes, a newline and the next word) loaded silently; the error now names the header."""
    path = tmp_path / "wrong.bin"
    path.write_bytes(b"3 1\n" + b"".join(w + b" " + np.float32(v).tobytes() + b"\n"
                                          for w, v in [(b"the", [1, 2]), (b"of", [3, 4]), (b"and", [5, 6])]))
    with pytest.raises(VectorsFormatError, match=r"record 2: the word b'\\x00\\x00\\x00@\\nof' holds binary bytes "
                                                 r"\(a newline or NUL\)\. The bytes are the end of the previous "
                                                 r"vector: the header's dimension \(1\) is wrong"):
        # unicode_errors lets through record 3 (b'\x00\x00\x80@\nand', not UTF-8), which without it is refused
        # first, also naming the header's dimension
        load_vectors(path, limit=limit, unicode_errors="replace" if limit is None else "strict", cache=False)


def test_vectors_gaps_s41_the_npy_beside_a_kv_names_the_kv_in_each_callers_terms(pickled, tmp_path):
    """The ``.npy`` that ``KeyedVectors.save`` writes beside a large ``.kv``: the advice said "with
    format='native'" on the command line too, and did not name the .kv file."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors.load(str(pickled))
    kv.save(str(tmp_path / "big.kv"), sep_limit=0)  # the vectors in big.kv.vectors.npy, as for large vectors
    npy = tmp_path / "big.kv.vectors.npy"
    assert npy.is_file()
    with pytest.raises(VectorsFormatError, match=r"holds no words\. Pass the \.kv file itself with format='native' "
                                                 r"\(.*big\.kv\) if you made it or trust it; or pass a word-vectors"):
        load_vectors(npy)
    code, _, err = _cli("vectors", "info", npy)
    assert code == 1
    assert f"Pass the .kv file itself with --format native ({tmp_path}/big.kv) if you made it or trust it; " in err
    assert "format='" not in err
    with pytest.raises(VectorsFormatError) as caught, spelled_as(OptionSpelling(options=())):  # toolkit train
        load_vectors(npy)
    assert ("If you made or trust the .kv file saved with it, write a copy with --format native once (toolkit "
            f"vectors convert {tmp_path}/big.kv big.fixed.vec --format native) and pass --vectors big.fixed.vec; "
            "or pass") in str(caught.value)
    code, out, err = _cli("vectors", "info", tmp_path / "big.kv", "--format", "native")
    assert code == 0 and '"n_words": 30' in out, err
