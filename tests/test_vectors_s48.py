"""Session 48: pretrained vectors brought by a user (GloVe, word2vec, fastText .vec), loaded and cached."""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from toolkit.exceptions import VectorsFormatError
from toolkit.vectors import clear_memo, load_vectors

THREE = "the 0.1 0.2 0.3\ncat 0.4 0.5 0.6\ndog 0.7 0.8 0.9\n"


# ----------------------------------------------------------------------------- GloVe with a limit past its end


@pytest.mark.parametrize("cache", [True, False])
@pytest.mark.parametrize("name", ["g.txt", "g.txt.gz"])
def test_loading_glove_limit_past_the_end_counts_the_lines_read(tmp_path, monkeypatch, cache, name):
    """limit=10 of a GloVe file of 3 lines gave gensim's made-up counts 10, 9, 8 (counted down from the limit,
    not from the lines read); gensim's load_word2vec_format(no_header=True, limit=10) gives 3, 2, 1, as it does
    for the same lines under a header."""
    import gzip

    from gensim.models import KeyedVectors

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / name
    path.write_bytes(gzip.compress(THREE.encode()) if name.endswith(".gz") else THREE.encode())
    (tmp_path / "ref.vec").write_text("3 3\n" + THREE, encoding="utf-8")  # (no_header=True leaks an open file)
    ref = KeyedVectors.load_word2vec_format(str(tmp_path / "ref.vec"), binary=False, limit=10)
    kv = load_vectors(path, limit=10, cache=cache)
    assert kv.index_to_key == ref.index_to_key
    assert kv.expandos["count"].tolist() == ref.expandos["count"].tolist() == [3, 2, 1]
    if cache:  # read back from the entry
        clear_memo()
        assert load_vectors(path, limit=10).expandos["count"].tolist() == [3, 2, 1]


def test_loading_glove_limit_past_the_end_progress_ends_full(tmp_path, capsys):
    """The progress bar's total was the limit: it stopped at "3/10", 30%, as if the load had broken off."""
    path = tmp_path / "g.txt"
    path.write_text(THREE, encoding="utf-8")
    load_vectors(path, limit=10, progress=True, cache=False)
    err = capsys.readouterr().err
    final = err.replace("\r", "\n").strip().splitlines()[-1]
    assert "100%" in final and "3.00/3.00" in final, err


def test_loading_glove_limit_entry_of_the_old_count_is_mended(tmp_path, monkeypatch):
    """Cache entries written with the old counts (10, 9, 8 for limit=10 of 3 lines) keep their key: they are
    mended when read, not served as they are."""
    from toolkit.vectors import _parse

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "g.txt"
    path.write_text(THREE, encoding="utf-8")
    read_text = _parse.read_text

    def as_before(source, **kwargs):  # what the parser returned before the fix: the limit itself
        words, k2i, vectors, _ = read_text(source, **kwargs)
        return words, k2i, vectors, kwargs["limit"]

    monkeypatch.setattr(_parse, "read_text", as_before)
    assert load_vectors(path, limit=10).expandos["count"].tolist() == [10, 9, 8]  # the entry, as old ones are
    monkeypatch.setattr(_parse, "read_text", read_text)
    clear_memo()
    assert load_vectors(path, limit=10).expandos["count"].tolist() == [3, 2, 1]
    clear_memo()
    assert load_vectors(path, limit=3).expandos["count"].tolist() == [3, 2, 1]  # (a limit it reaches: as ever)


# ----------------------------------------------------------------------------- duplicates='first' and the cache

REPEATING = "the 0.1 0.2 0.3\ncat 0.4 0.5 0.6\nthe 0.7 0.8 0.9\ndog 1 1 1\n"


def test_loading_duplicates_warning_again_from_the_cache(tmp_path, monkeypatch, caplog):
    """The warning that rows of repeated words were dropped came only from the parse that built the cache
    entry: every later load (another process, another day) read the entry silently, so whoever loaded the
    vectors from the cache never learned that the file repeats words."""
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "v.txt"
    path.write_text(REPEATING, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors"):
        kv = load_vectors(path, duplicates="first")
    said = "1 row of repeated words dropped, the first vector of each word kept (duplicates='first'); the first " \
           "is 'the' on line 3 (first on line 1)"
    assert said in caplog.text
    clear_memo()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors"):
        again = load_vectors(path, duplicates="first")
    assert again is not kv and again.index_to_key == ["the", "cat", "dog"]
    assert said in caplog.text and "as found when the vectors cache entry was built from it" in caplog.text


def test_loading_duplicates_old_entry_is_read_silently(tmp_path, monkeypatch, caplog):
    """Guard: an entry of an earlier toolkit (no record of the repeats in its header) is read as before, and an
    entry of a file without repeats says nothing."""
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "v.txt"
    path.write_text(REPEATING, encoding="utf-8")
    load_vectors(path, duplicates="first")
    [folder] = (tmp_path / "cache" / "vectors").glob("v.txt-*")
    header = json.loads((folder / "header.json").read_text(encoding="utf-8"))
    assert header["meta"]["repeats"] == {"rows": 1, "word": "the", "unit": "line", "at": 3, "first": 1}
    del header["meta"]["repeats"]
    (folder / "header.json").write_text(json.dumps(header), encoding="utf-8")
    clean = tmp_path / "clean.txt"
    clean.write_text(THREE, encoding="utf-8")
    load_vectors(clean, duplicates="first")
    clear_memo()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="toolkit.vectors"):
        assert load_vectors(path, duplicates="first").index_to_key == ["the", "cat", "dog"]
        assert len(load_vectors(clean, duplicates="first")) == 3
    assert "repeated" not in caplog.text and "damaged" not in caplog.text and "Loading" not in caplog.text


def test_loading_duplicates_cache_warning_in_option_terms(tmp_path, monkeypatch):
    """On the command line, the warning from the cache names the option (--duplicates first)."""
    from conftest import cli_runner

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "v.txt").write_text(REPEATING, encoding="utf-8")
    run = cli_runner(tmp_path, monkeypatch, quiet=False)
    code, out, err = run("vectors", "info", "v.txt", "--duplicates", "first")
    assert code == 0 and json.loads(out)["n_words"] == 3 and "(--duplicates first)" in err, err
    clear_memo()
    code, out, err = run("vectors", "info", "v.txt", "--duplicates", "first")
    assert code == 0 and "(--duplicates first)" in err and "cache entry was built" in err, err


# ----------------------------------------------------------------------------- evaluations and threads

PAIRS = "king\tqueen\t8.5\nman\twoman\t8.3\ncat\tdog\t7.4\ncar\tbanana\t1.2\nfilm\tmovie\t9.1\nday\tnight\t6.0\n"
ANALOGIES = (": capitals\nathens greece paris france\nberlin germany rome italy\n"
             ": family\nman woman king queen\nboy girl brother sister\n")


def _pause_inside(monkeypatch, method):
    """Hook gensim's ``KeyedVectors.<method>`` so that the first call from the thread put in the returned dict
    (``"thread"``) waits, inside gensim's evaluation, until ``resume`` is set; (state, inside, resume)."""
    from gensim.models import KeyedVectors

    original = getattr(KeyedVectors, method)
    state, inside, resume = {}, threading.Event(), threading.Event()

    def hooked(self, *args, **kwargs):
        if threading.current_thread() is state.get("thread") and not inside.is_set():
            inside.set()
            resume.wait(30)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(KeyedVectors, method, hooked)
    return state, inside, resume


@pytest.mark.parametrize("evaluation", ["pairs", "analogies"])
def test_evaluation_leaves_the_shared_vectors_alone_for_other_threads(glove_small, tmp_path, monkeypatch,
                                                                     evaluation, caplog):
    """gensim's evaluations replace key_to_index of the vectors they run on (the first restrict_vocab words,
    upper-cased) until they end; evaluate_word_pairs / evaluate_analogies ran them on the one object that
    load_vectors' memo gives every caller. Another thread meanwhile (joblib's threading backend, a notebook)
    found 'king' missing from it, and its own load_vectors call found the object changed and loaded the
    vectors again, with a warning."""
    from toolkit.vectors import evaluate_analogies, evaluate_word_pairs, most_similar

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    questions = tmp_path / ("pairs.tsv" if evaluation == "pairs" else "questions.txt")
    questions.write_text(PAIRS if evaluation == "pairs" else ANALOGIES, encoding="utf-8")
    evaluate = evaluate_word_pairs if evaluation == "pairs" else evaluate_analogies
    kv = load_vectors(glove_small)
    words, k2i = kv.index_to_key, kv.key_to_index
    expected = evaluate(glove_small, questions)
    state, inside, resume = _pause_inside(monkeypatch, "similarity" if evaluation == "pairs" else "most_similar")

    def work():
        state["thread"] = threading.current_thread()  # (the hook pauses this thread only)
        return evaluate(glove_small, questions)

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(work)
        try:
            assert inside.wait(30), future.exception(0) if future.done() else "gensim never reached"
            with caplog.at_level(logging.WARNING, logger="toolkit.vectors"):
                seen = ("king" in kv, kv.key_to_index is k2i, load_vectors(glove_small) is kv)
                neighbours = most_similar(glove_small, "king", topn=3)
        finally:
            resume.set()
        assert future.result(30) == expected
    assert seen == (True, True, True), seen
    assert "changed since" not in caplog.text
    assert neighbours == most_similar(kv, "king", topn=3)
    assert load_vectors(glove_small) is kv and kv.key_to_index is k2i and kv.index_to_key is words


def test_evaluation_copy_shares_the_arrays(glove_small, tmp_path, monkeypatch):
    """Guard: the evaluations run on a shallow copy that shares the vectors and their norms (no copy of the
    matrix), and leaves no attribute of the shared object changed."""
    from toolkit.vectors.evaluation import _evaluation_view

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    kv = load_vectors(glove_small)
    view = _evaluation_view(kv)
    assert view is not kv and view.vectors is kv.vectors and view.norms is kv.norms is not None
    assert np.shares_memory(view.vectors, kv.vectors)


# ----------------------------------------------------------------------------- fastText .bin and limit


def test_loading_fasttext_bin_limits_share_one_entry(tmp_path, monkeypatch, caplog):
    """A fastText .bin model is kept whole whatever the limit (its subword buckets need all words), yet each
    limit asked for made a cache entry of its own, each a full copy of the model (gigabytes for
    cc.en.300.bin), and a copy of its own in memory."""
    from conftest import small_fasttext_bin

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    docs = [["good", "film", "bad", "movie", "great", "acting", "awful", "plot"] * 3 for _ in range(40)]
    path = small_fasttext_bin(docs, tmp_path / "ft.bin")
    whole = load_vectors(path)
    with caplog.at_level(logging.INFO, logger="toolkit.vectors"):
        cut = load_vectors(path, limit=3)
        assert load_vectors(path, limit=5) is cut is whole and len(cut) == 8
    assert caplog.text.count("limit=3 ignored for a fastText .bin model") == 1
    assert "limit=5 ignored" in caplog.text
    assert len(list((tmp_path / "cache" / "vectors").iterdir())) == 1
    clear_memo()
    again = load_vectors(path, limit=3)  # from the one entry
    assert type(again).__name__ == "FastTextKeyedVectors" and again.index_to_key == whole.index_to_key
    assert len(list((tmp_path / "cache" / "vectors").iterdir())) == 1


# ----------------------------------------------------------------------------- embedding matrix, oov='mean'


def test_matrix_oov_mean_without_a_float64_copy_of_the_vectors():
    """oov='mean' made a float64 copy of all the vectors to average them (5 GB for glove.840B.300d's 2.2 million
    rows, read from the memory map at once); the mean is now summed in float64 without it: the same bits."""
    import tracemalloc

    from gensim.models import KeyedVectors

    from toolkit.vectors import build_embedding_matrix

    rows = np.random.default_rng(0).normal(size=(100_000, 50)).astype(np.float32)  # 20 MB
    kv = KeyedVectors(50, count=0, dtype=np.float32)
    kv.add_vectors([f"w{i}" for i in range(len(rows))], rows)
    build_embedding_matrix(["w1", "unseen"], kv)  # (a first call imports modules: not measured)
    tracemalloc.start()
    try:
        matrix, report = build_embedding_matrix(["w1", "unseen", "w7"], kv, oov="mean")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < rows.nbytes / 2, peak  # (the copy alone was twice the vectors' bytes)
    assert np.array_equal(matrix[1], np.asarray(rows, dtype=np.float64).mean(axis=0).astype(np.float32))
    assert np.array_equal(matrix[[0, 2]], rows[[1, 7]]) and report.n_missing == 1


# ----------------------------------------------------------------------------- queries of lower-case fastText vectors


def test_evaluation_query_with_capitals_of_lowercase_fasttext_is_warned_about(tmp_path, monkeypatch, caplog):
    """fastText vectors give any word a vector from its character n-grams; those of a model trained on lower-cased
    text (the toolkit's tokenizer lower-cases) never saw a capital. 'MOVIE' was answered without a word, from
    n-grams training never saw (on 2,000 IMDB reviews: 'very', "'good", 'acting' where 'movie' gives 'film');
    the embedding matrix lower-cases such a token, a query names it. Cased vectors and lower-case queries: no
    warning."""
    from conftest import small_fasttext_bin

    from toolkit.vectors import analogy, most_similar

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    docs = [["good", "film", "bad", "movie", "great", "acting", "awful", "plot"] * 3 for _ in range(40)]
    lower = load_vectors(small_fasttext_bin(docs, tmp_path / "lower.bin"))
    cased = load_vectors(small_fasttext_bin([d + ["Good", "Film"] for d in docs], tmp_path / "cased.bin"))
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors"):
        assert most_similar(lower, "good", topn=2) and analogy(lower, "bad", "awful", "good", topn=1)
        assert most_similar(cased, "GOOD", topn=2)
        assert "capital" not in caplog.text
        most_similar(lower, "GOOD", topn=2)
    assert ("'GOOD' is none of the 8 words of these fastText vectors, which hold no capital letter (trained on "
            "lower-case text)") in caplog.text and "Ask for 'good' (one of their words)." in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors"):
        analogy(lower, "bad", "Awfull", "good", topn=1)
    assert "'Awfull' is none of the 8 words" in caplog.text
    assert "Ask for 'awfull' (its lower-case n-grams are the ones training saw)." in caplog.text


# ----------------------------------------------------------------------------- xz and other compressions


@pytest.mark.parametrize("layout", ["glove", "word2vec", "word2vec-binary"])
def test_loading_xz_compressed_vectors_read_like_plain(tmp_path, monkeypatch, layout):
    """Every other reader of the toolkit (texts, CSV, domain texts) reads xz; a vectors file compressed with xz
    (vectors.txt.xz) was read as text: 'line 1: the first line has no values'."""
    import lzma

    from gensim.models import KeyedVectors

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    kv = KeyedVectors(3, count=0, dtype=np.float32)
    kv.add_vectors(["the", "cat", "dog"], np.arange(9, dtype=np.float32).reshape(3, 3) / 10)
    plain = tmp_path / "plain"
    kv.save_word2vec_format(str(plain), binary=layout == "word2vec-binary", write_header=layout != "glove")
    path = tmp_path / "v.xz"
    path.write_bytes(lzma.compress(plain.read_bytes()) + lzma.compress(b""))  # (a second, empty stream)
    for cache in (True, False):
        clear_memo()
        got = load_vectors(path, cache=cache)
        assert got.index_to_key == ["the", "cat", "dog"] and np.array_equal(got.vectors, kv.vectors)
    cut = tmp_path / "cut.txt.xz"
    cut.write_bytes(path.read_bytes()[:40])
    with pytest.raises(VectorsFormatError, match=r"cut\.txt\.xz: the xz data is corrupt or truncated"):
        load_vectors(cut)


def test_loading_zstd_compressed_vectors_are_named(tmp_path):
    """A Zstandard-compressed file (no reader of the toolkit decompresses it) was read as text: 'line 1: the
    first line has no values'; it is named, with the commands that make a file the readers take."""
    path = tmp_path / "glove.txt.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + bytes(range(40)))
    with pytest.raises(VectorsFormatError, match=r"glove\.txt\.zst: is compressed with Zstandard \(zstd\), which the "
                       r"vectors readers do not decompress .*zstd -dc glove\.txt\.zst \| gzip > glove\.txt\.gz"):
        load_vectors(path)


def test_loading_fasttext_bin_read_as_word2vec_binary_is_not_called_glove(tmp_path, monkeypatch):
    """A fastText .bin model passed with format='word2vec-binary' was said to look like GloVe text ('load it with
    format='glove''), and in the same message like a fastText model: its bytes split into many fields. Only a
    line of a word and numbers is called GloVe now; GloVe text read as word2vec still is."""
    from conftest import small_fasttext_bin

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    docs = [["good", "film", "bad", "movie", "great", "acting", "awful", "plot"] * 3 for _ in range(40)]
    path = small_fasttext_bin(docs, tmp_path / "ft.bin")
    with pytest.raises(VectorsFormatError) as err:
        load_vectors(path, format="word2vec-binary")
    assert "GloVe" not in str(err.value)
    assert "Check that this is a word2vec/fastText file" in str(err.value)
    assert "The content looks like a fastText .bin model" in str(err.value) and "format='fasttext-bin'" in str(err.value)
    glove = tmp_path / "g.txt"
    glove.write_text(THREE, encoding="utf-8")
    with pytest.raises(VectorsFormatError, match="This looks like GloVe text"):
        load_vectors(glove, format="word2vec")
