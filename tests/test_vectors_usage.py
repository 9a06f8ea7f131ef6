"""Word vectors used the way users use them: odd files, evaluation on small vectors, pooling, clusters."""

from __future__ import annotations

import os

import numpy as np
import pytest

from toolkit.exceptions import DataError, VectorsFormatError
from toolkit.vectors import (
    EmbeddingVectorizer,
    WordClusterer,
    analogy,
    clear_memo,
    evaluate_analogies,
    evaluate_word_pairs,
    load_vectors,
    most_similar,
)


@pytest.fixture(autouse=True)
def _fresh_memo():
    clear_memo()
    yield
    clear_memo()


def _glove_rows(glove_small, n):
    """The first ``n`` lines of the real GloVe sample."""
    with open(glove_small, encoding="utf-8") as fh:
        return [next(fh) for _ in range(n)]


# ----------------------------------------------------------------------------- reading odd files


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("tabbed.txt", "the\t0.1 0.2 0.3\nof\t0.4 0.5 0.6\n", 1),  # gensim: words 'the\t0.1', dimension 2
        ("tabbed.vec", "2 3\nthe\t0.1 0.2 0.3\nof\t0.4 0.5 0.6\n", 2),
        ("tsv.txt", "the\t0.1\t0.2\t0.3\nof\t0.4\t0.5\t0.6\n", 1),
        ("late.txt", "the 0.1 0.2 0.3\nof\t0.4 0.5 0.6\n", 2),
    ],
)
def test_vectors_tab_separated_text_is_refused_naming_the_tabs(tmp_path, name, content, line):
    path = tmp_path / name
    path.write_bytes(content.encode())
    with pytest.raises(VectorsFormatError, match=rf"{name}, line {line}: the line starts with '(the|of)\\t0\.\d.*': "
                                                 r"the word and its values are separated by tabs\. .*single spaces"):
        load_vectors(path, cache=False)


def test_vectors_words_holding_a_tab_still_load(tmp_path):
    path = tmp_path / "tabs.txt"
    path.write_bytes(b"the 0.1 0.2 0.3\t\nname\tsurname 0.4 0.5 0.6\r\n")  # trailing tab; a tab inside a word
    kv = load_vectors(path, cache=False)
    assert kv.index_to_key == ["the", "name\tsurname"] and kv.vector_size == 3


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize(("name", "content"), [("ps.txt", "the 0.1 0.2 0.3\nof 0.4 0.5 0.6\n"),
                                               ("ps.vec", "2 3\nthe 0.1 0.2 0.3\nof 0.4 0.5 0.6\n")])
def test_vectors_utf16_text_is_named_as_such(tmp_path, encoding, name, content):
    # Windows PowerShell's '>' writes UTF-16; the values then read as '\x000\x00.\x001' or the header as garbage
    path = tmp_path / name
    path.write_bytes(("\ufeff" + content).encode(encoding))
    for fmt in ("auto", "glove" if name.endswith(".txt") else "word2vec"):
        with pytest.raises(VectorsFormatError, match=rf"{name}: the file is UTF-16 text \(it starts with a UTF-16 "
                                                     r"byte-order mark\), not UTF-8\. Convert it to UTF-8"):
            load_vectors(path, format=fmt, cache=False)


def test_vectors_glove_line_with_one_value_too_many_is_warned_about(glove_small, tmp_path, caplog):
    rows = _glove_rows(glove_small, 5)
    rows[2] = rows[2].rstrip("\n") + " 0.25\n"  # a damaged line: 51 values in a 50-d file
    path = tmp_path / "damaged.txt"
    path.write_text("".join(rows), encoding="utf-8")
    with caplog.at_level("WARNING", logger="toolkit.vectors._parse"):
        kv = load_vectors(path, cache=False)
    word = rows[2].split(" ")[0]
    assert kv.vector_size == 50 and kv.index_to_key[2].startswith(word + " ")  # the documented reading...
    assert f"damaged.txt, line 3: the word '{kv.index_to_key[2]}' ends in a number, so the line probably has " \
           "one value too many" in caplog.text  # ...no longer silent
    caplog.clear()
    spaced = tmp_path / "spaced.txt"  # glove.840B-style words with spaces: no warning
    spaced.write_text(", 0.1 0.2 0.3\n. . . 0.4 0.5 0.6\nthe 0.7 0.8 0.9\nat name@domain.com 1 2 3\nof 4 5 6\n",
                      encoding="utf-8")
    with caplog.at_level("WARNING", logger="toolkit.vectors._parse"):
        assert load_vectors(spaced, cache=False).index_to_key == [",", ". . .", "the", "at name@domain.com", "of"]
    assert caplog.text == ""


def test_vectors_binary_header_with_a_wrong_dimension_names_the_header(toy_kv, tmp_path):
    good = tmp_path / "good.bin"
    toy_kv.save_word2vec_format(str(good), binary=True)  # gensim's own word2vec binary
    assert load_vectors(good, cache=False).index_to_key == toy_kv.index_to_key
    data = good.read_bytes()
    lying = tmp_path / "lying.bin"
    lying.write_bytes(b"5 2" + data[data.index(b"\n"):])  # the vectors have 3 dimensions
    with pytest.raises(VectorsFormatError, match=r"lying\.bin, record \d+: the word .* is not valid UTF-8.*the end of "
                                                 r"the previous vector: the header's dimension \(2\) is wrong"):
        load_vectors(lying, cache=False)


def test_vectors_numpy_integer_limit_is_one_cache_key_with_int(glove_small, tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("".join(_glove_rows(glove_small, 30)), encoding="utf-8")
    limits = np.arange(5, 25, 10)  # e.g. a grid of vocabulary sizes
    kv = load_vectors(path, limit=limits[0], cache_dir=tmp_path / "cache")
    assert len(kv) == 5 and kv.index_to_key[0] == "the"
    assert load_vectors(path, limit=5, cache_dir=tmp_path / "cache") is kv
    clear_memo()
    assert len(load_vectors(path, limit=limits[1], cache=False)) == 15


# ----------------------------------------------------------------------------- clusters


def test_clusters_refit_after_the_vectors_file_is_rewritten(glove_small, tmp_path):
    # a notebook: cluster domain vectors, retrain them into the same file, cluster again
    path = tmp_path / "domain.txt"
    path.write_text("".join(_glove_rows(glove_small, 60)), encoding="utf-8")
    first = WordClusterer(vectors=str(path), n_clusters=4).fit([["the"]])
    assert len(first.words_) == 60
    path.write_text("".join(_glove_rows(glove_small, 90)), encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))  # a later write, surely
    second = WordClusterer(vectors=str(path), n_clusters=4).fit([["the"]])
    assert len(second.words_) == 90  # not the first file's clusters from the process memo
    assert second.transform([[second.words_[-1]]])[0][0].startswith("§c")


# ----------------------------------------------------------------------------- evaluation


@pytest.fixture
def toy_kv():
    from gensim.models import KeyedVectors

    kv = KeyedVectors(3)
    kv.add_vectors(["man", "king", "woman", "queen", "film"],
                   np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 1], [5, 5, 5]], dtype=np.float32))
    return kv


def test_evaluation_neighbours_skip_all_zero_rows_and_refuse_a_zero_query(toy_kv, tmp_path):
    # e.g. a Keras embedding exported with its zero padding row, or a file's "<unk> 0 0 0" placeholder
    path = tmp_path / "exported.txt"
    rows = [f"{w} {' '.join(map(str, toy_kv[w]))}" for w in toy_kv.index_to_key]
    path.write_text("\n".join(["<pad> 0 0 0", *rows]) + "\n", encoding="utf-8")
    kv = load_vectors(path, cache=False)
    found = most_similar(kv, "king", topn=5)
    assert [w for w, _ in found] == ["film", "man", "queen", "woman"]  # no ('<pad>', nan)
    assert all(np.isfinite(s) for _, s in found)
    assert [w for w, _ in most_similar(kv, "king", topn=2)] == ["film", "man"]
    assert [w for w, _ in analogy(kv, "man", "king", "woman", topn=5)] == ["queen", "film"]
    for call in (lambda: most_similar(kv, "<pad>"), lambda: analogy(kv, "man", "<pad>", "woman")):
        with pytest.raises(DataError, match=r"The word '<pad>' has an all-zero vector \(a padding or placeholder "
                                            r"row\?\), so it has no direction to compare"):
            call()


def test_evaluation_analogies_without_any_answerable_question_is_nan_not_zero(toy_kv, tmp_path, caplog):
    questions = tmp_path / "questions.txt"
    questions.write_text(": capital-common-countries\nathens greece baghdad iraq\n", encoding="utf-8")
    with caplog.at_level("WARNING", logger="toolkit.vectors.evaluation"):
        result = evaluate_analogies(toy_kv, questions)
    assert result["n_correct"] == result["n_incorrect"] == 0
    assert np.isnan(result["accuracy"])  # gensim says 0.0: "every answer wrong" for "nothing asked"
    assert "No analogy question of" in caplog.text and "the accuracy is nan" in caplog.text
    questions.write_text(": family\nman king woman queen\n", encoding="utf-8")
    assert evaluate_analogies(toy_kv, questions)["accuracy"] == 1.0


@pytest.mark.parametrize("lines", ["king\tqueen\t8.5\n", "king\tqueen\t8.5\nzz\tyy\t2\n", "zz\tyy\t2\n"])
def test_evaluation_word_pairs_with_fewer_than_two_known_pairs_is_a_clear_error(toy_kv, tmp_path, lines):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text(lines, encoding="utf-8")
    with pytest.raises(DataError, match=r"evaluate_word_pairs found fewer than 2 usable pairs in .*pairs\.tsv: a "
                                        r"correlation needs at least 2 pairs .* Load more vectors"):
        evaluate_word_pairs(toy_kv, pairs)
    pairs.write_text(lines + "man\twoman\t3\nfilm\tking\t1\n", encoding="utf-8")
    assert -1 <= evaluate_word_pairs(toy_kv, pairs)["spearman"] <= 1


# ----------------------------------------------------------------------------- pooling


def test_pooling_sif_on_documents_without_known_words_fits_quietly(glove_small):
    # default remove_first_component=True; pytest turns warnings into errors
    vec = EmbeddingVectorizer(vectors=str(glove_small), pooling="sif")
    out = vec.fit_transform([["qqqxxx", "zzzyyy"], ["wwwvvv"], []])
    np.testing.assert_array_equal(out, 0)
    assert vec.components_ is None  # no common component to remove from zeros
    np.testing.assert_array_equal(vec.transform([["the", "film"]]), 0)
    same = EmbeddingVectorizer(vectors=str(glove_small), pooling="sif").fit_transform([["film"], ["film"]])
    assert np.isfinite(same).all()


def test_clusters_refit_after_the_unlabelled_text_file_of_a_domain_spec_changes(tmp_path):
    texts = tmp_path / "unlabelled.txt"
    texts.write_text("a good film with a fine plot\n" * 30, encoding="utf-8")
    spec = f"word2vec:{texts}:dim=8,epochs=1,min_count=1,workers=1,train=0"
    first = WordClusterer(vectors=spec, n_clusters=2).fit([["film"]])
    assert "zombie" not in set(first.words_.tolist())
    texts.write_text("a dull zombie movie with a weak ending\n" * 40, encoding="utf-8")
    os.utime(texts, ns=(texts.stat().st_atime_ns, texts.stat().st_mtime_ns + 10**9))
    second = WordClusterer(vectors=spec, n_clusters=2).fit([["film"]])
    assert "zombie" in set(second.words_.tolist())  # the new texts' vectors, not the memo's old clusters


# ----------------------------------------------------------------------------- training


@pytest.mark.parametrize("folder", ["existing", "new/"])
def test_training_word2vec_output_folder_is_refused_before_training(tmp_path, monkeypatch, folder):
    from gensim.models import Word2Vec

    from toolkit.vectors import train_word2vec

    (tmp_path / "existing").mkdir()
    trained = []
    monkeypatch.setattr(Word2Vec, "train", lambda self, *a, **k: trained.append(1))
    with pytest.raises(DataError, match=r"The 'output' parameter of train_word2vec names a folder \(.*\); give a "
                                        r"file name in it, such as .*vectors\.bin"):
        train_word2vec([["good", "film"]] * 20, vector_size=4, min_count=1, output=str(tmp_path) + "/" + folder)
    assert trained == []  # not after the training
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"] and not any((tmp_path / "existing").iterdir())


def test_convert_vectors_into_a_folder_is_refused_before_loading(tmp_path, monkeypatch):
    """convert_vectors(source, "<existing folder>") loaded the vectors, then failed with a raw
    IsADirectoryError; the folder is now refused first, with the file names to use instead."""
    from toolkit.cli.vectors import convert_vectors

    def no_loading(*args, **kwargs):
        raise AssertionError("loaded before the output was checked")

    monkeypatch.setattr("toolkit.vectors.loading.load_vectors", no_loading)
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "keep.txt").write_text("precious\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"names a folder .*models.*vectors\.txt"):
        convert_vectors("glove.6B.50d", folder)
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]
