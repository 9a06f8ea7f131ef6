"""A user of pretrained and domain word vectors (session 43): evaluation files, CLI queries, the cache."""

from __future__ import annotations

import logging
import os

import pytest
from conftest import write_vectors
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.exceptions import DataError, VectorsFormatError
from toolkit.vectors import (
    clear_memo,
    evaluate_analogies,
    evaluate_word_pairs,
    load_vectors,
    most_similar,
)


def _cli(*args):
    result = CliRunner().invoke(app, ["-q", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


QUESTIONS = "man king woman queen\nparis france rome italy\n"


@pytest.fixture(scope="module")
def glove_kv(glove_small):
    """The first 20,000 real GloVe 6B-50d vectors."""
    return load_vectors(glove_small)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", r"holds no analogy question.*no line is a question"),  # gensim: ZeroDivisionError
        (": my-questions\n", r"holds no analogy question"),  # gensim: ZeroDivisionError
        (": my\nman king woman\nparis france rome\n", r"2 line\(s\) are not four words, the first is line 2"),
        (QUESTIONS, r"line 1: .*before its first section line.*': my-questions'"),  # gensim: "line #0"
        ("\n: capitals\n" + QUESTIONS, r"line 1: .*line 1 is blank"),  # a blank first line (gensim: "line #0")
        (":capitals\n" + QUESTIONS, r"line 1: .*reads ':capitals'.*a colon and a space"),
    ],
)
def test_evaluate_analogies_names_the_problem_of_a_users_file(tmp_path, glove_kv, text, expected):
    path = tmp_path / "my_questions.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=expected) as info:
        evaluate_analogies(glove_kv, path)
    assert str(path) in str(info.value)


def test_evaluate_analogies_counts_skipped_lines_and_scores_the_rest(tmp_path, glove_kv, caplog):
    path = tmp_path / "my_questions.txt"
    path.write_text(": mine\n" + QUESTIONS + "a b c\n\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors.evaluation"):
        result = evaluate_analogies(glove_kv, path)
    assert result["n_correct"] + result["n_incorrect"] == 2
    assert result["n_correct"] >= 1  # king - man + woman = queen in GloVe 6B-50d
    assert "1 line(s) skipped" in caplog.text and "line 4" in caplog.text


def test_evaluate_analogies_refuses_a_latin1_file(tmp_path, glove_kv):
    path = tmp_path / "latin1.txt"
    path.write_bytes(": mine\ncaf\xe9 coffee the a\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        evaluate_analogies(glove_kv, path)


@pytest.fixture
def phrase_vectors(tmp_path):
    """word2vec text with phrase entries joined by '_', as word2vec's GoogleNews vectors have them."""
    words = ["the", "city", "new_york", "New_York", "Los_Angeles", "york"]
    return write_vectors(tmp_path / "phrases.txt", words, dim=6)


@pytest.mark.parametrize(
    "query, phrase",
    [("new york", "new_york"), ("New York", "New_York"), ("los  angeles", "Los_Angeles")],
)
def test_most_similar_of_a_phrase_names_its_entry(phrase_vectors, query, phrase):
    # it said "check the spelling or try its lowercase form", though README's n-grams find "new_york"
    with pytest.raises(DataError, match=f"but the phrase '{phrase}' has .*ask for '{phrase}'"):
        most_similar(str(phrase_vectors), query)
    assert most_similar(str(phrase_vectors), phrase, topn=1)  # the advice works


def test_cli_similar_and_analogy_of_a_phrase_name_its_entry(phrase_vectors):
    code, out, err = _cli("vectors", "similar", "new york", "-V", phrase_vectors, "-n", 2)
    assert code == 1 and "ask for 'new_york'" in err, err
    code, out, err = _cli("vectors", "analogy", "city", "new york", "york", "-V", phrase_vectors)
    assert code == 1 and "ask for 'new_york'" in err, err
    code, out, err = _cli("vectors", "similar", "new_york", "-V", phrase_vectors, "-n", 2)
    assert code == 0 and len(out.splitlines()) == 2, err


def _rewrite(path, value, mtime_ns):
    """``path`` as word2vec binary of 3 words whose values are all ``value``, modified at ``mtime_ns``."""
    import numpy as np
    from gensim.models import KeyedVectors

    kv = KeyedVectors(4)
    kv.add_vectors(["good", "bad", "film"], np.full((3, 4), value, dtype=np.float32))
    kv.save_word2vec_format(str(path), binary=True)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_retrained_vectors_file_is_served_new_and_its_old_cache_entries_go(tmp_path):
    # retraining domain vectors to the same path kept every earlier content's entry (a full copy of the
    # vectors each) in the cache forever: 2 entries per retraining here, 6 after three
    cache, path = tmp_path / "cache", tmp_path / "domain.bin"
    other = tmp_path / "elsewhere" / "domain.bin"  # another file of the same name: its entry is no earlier content
    other.parent.mkdir()
    _rewrite(other, 9.0, 10**18)
    load_vectors(other, cache_dir=cache)
    for i in range(3):
        _rewrite(path, float(i), 10**18 + i * 10**9)
        assert load_vectors(path, cache_dir=cache)["good"][0] == i  # never served stale
        assert len(load_vectors(path, cache_dir=cache, limit=2)) == 2
    entries = sorted(p.name for p in (cache / "vectors").iterdir() if not p.name.startswith("."))
    assert len(entries) == 3, entries  # the current contents (all rows, limit=2) and the other file
    clear_memo()
    assert load_vectors(other, cache_dir=cache)["good"][0] == 9.0
    assert load_vectors(path, cache_dir=cache)["good"][0] == 2.0
    assert len(list((cache / "vectors").iterdir())) == 3  # read from the entries kept, none built


SIMLEX = "word1\tword2\tPOS\tSimLex999\tconc(w1)\n" + "old\tnew\tA\t1.58\t2.72\nsmart\tintelligent\tA\t9.2\t1.75\n"


@pytest.mark.parametrize(
    "text, expected",
    [
        (SIMLEX, r"0 line\(s\) of 3 are pairs.*Line 1 reads 'word1\\tword2.*cut -f1,2,4"),  # said: load more vectors
        ("old new 1.58\nsmart intelligent 9.2\nking queen 8\n", r"0 line\(s\) of 3 .*Line 1 reads 'old new 1.58'"),
        ("old\tnew\t1.58\nsmart\tintelligent\tnan\nking\tqueen\t8\n", r"line 2: the score 'nan' is not a finite"),
    ],
)
def test_evaluate_word_pairs_names_the_layout_problem_of_a_users_file(tmp_path, glove_kv, text, expected):
    path = tmp_path / "pairs.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=expected) as info:
        evaluate_word_pairs(glove_kv, path)
    assert str(path) in str(info.value)


def test_evaluate_word_pairs_counts_the_lines_it_skips(tmp_path, glove_kv, caplog):
    path = tmp_path / "pairs.txt"
    path.write_text("# my pairs\nold\tnew\t1.58\nsmart intelligent 9.2\nking\tqueen\t8\r\ncar\tauto\t9\n\n",
                    encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors.evaluation"):
        result = evaluate_word_pairs(glove_kv, path)
    assert result["oov_ratio"] == 0 and -1 <= result["spearman"] <= 1
    assert "1 line(s) skipped" in caplog.text and "line 3" in caplog.text  # (gensim: an INFO line each)


def test_a_header_announcing_more_values_than_the_lines_have_is_named(tmp_path):
    # every line has 8 values under a header of 10: the message said "fix or remove this line" of line 2
    path = write_vectors(tmp_path / "vectors.txt", ["the", "film", "new york", "good"], dim=8)
    text = path.read_text(encoding="utf-8").split("\n", 1)[1]
    path.write_text("4 10\n" + text, encoding="utf-8")
    with pytest.raises(VectorsFormatError, match=r"line 2: .*has 8 values, expected 10\. Most lines have 8 values "
                                                 r"but the header announces dimension 10: fix the header"):
        load_vectors(path, cache=False)
    path.write_text("4 8\n" + text, encoding="utf-8")  # the right header: the word with a space loads
    assert load_vectors(path, cache=False).index_to_key == ["the", "film", "new york", "good"]


def test_gzipped_evaluation_files_still_read(tmp_path, glove_kv):
    # gensim reads .gz evaluation files; the checks above read them the same way (a guard, passed before)
    import gzip

    questions, pairs = tmp_path / "questions.txt.gz", tmp_path / "pairs.tsv.gz"
    questions.write_bytes(gzip.compress((": mine\n" + QUESTIONS).encode("utf-8")))
    pairs.write_bytes(gzip.compress(b"old\tnew\t1.58\nking\tqueen\t8\ncar\tauto\t9\n"))
    assert evaluate_analogies(glove_kv, questions)["n_correct"] >= 1
    assert evaluate_word_pairs(glove_kv, pairs)["oov_ratio"] == 0


@pytest.mark.parametrize("binary", [False, True])
def test_a_duplicate_word_says_how_to_load_the_rows_before_it(tmp_path, binary):
    # a duplicate deep in a large file: "remove the duplicate" alone left no way to use the file meanwhile
    path = write_vectors(tmp_path / "dup.txt", ["the", "film", "good", "film", "bad"], dim=4)
    if binary:
        kv = load_vectors(path, cache=False, limit=3)
        records = [w.encode() + b" " + kv["the"].tobytes() + b"\n" for w in ["the", "film", "good", "film", "bad"]]
        (tmp_path / "dup.bin").write_bytes(b"5 4\n" + b"".join(records))
        path = tmp_path / "dup.bin"
    with pytest.raises(VectorsFormatError, match=r"'film' appears a second time.*pass limit=3 to read the 3 vectors"):
        load_vectors(path, cache=False)
    assert load_vectors(path, cache=False, limit=3).index_to_key == ["the", "film", "good"]
    code, _, err = _cli("vectors", "info", path)
    assert code == 1 and "pass --limit 3 to read the 3 vectors before it" in err, err
