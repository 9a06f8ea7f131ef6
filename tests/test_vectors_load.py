"""load_vectors: formats, equality with gensim, malformed files, cache and memo."""

from __future__ import annotations

import bz2
import gc
import gzip
import os
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors
from gensim.test.utils import datapath

from toolkit._validation import InvalidParameterError
from toolkit.exceptions import ToolkitError, VectorsFormatError
from toolkit.vectors import VectorsNotFoundError, clear_memo, load_vectors
from toolkit.vectors.loading import read_entry

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _fresh_memo():
    clear_memo()
    yield
    clear_memo()


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def gensim_load(path, **kwargs):
    """gensim's loader, the reference (its no_header path leaks a file handle: silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        kv = KeyedVectors.load_word2vec_format(str(path), **kwargs)
        gc.collect()
    return kv


def same(kv, ref):
    """Same words, same order, bit-identical float32 vectors."""
    assert kv.index_to_key == ref.index_to_key
    assert kv.key_to_index == ref.key_to_index
    assert kv.vectors.dtype == np.float32 and kv.vectors.shape == ref.vectors.shape
    np.testing.assert_array_equal(np.asarray(kv.vectors).view(np.int32), ref.vectors.view(np.int32))
    return True


def leftovers(cache: Path) -> list:
    """Whatever a load left in the cache's vectors folder."""
    folder = cache / "vectors"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


GLOVE3 = "the 0.1 0.2 0.3\nof -1.5 2e-3 4\nand 0.25 -0.5 1.125\n"


# ----------------------------------------------------------------------------- formats, equal to gensim


@pytest.mark.parametrize("cache_on", [True, False])
def test_vectors_glove_text_identical_to_gensim(cache, cache_on):
    kv = load_vectors(datapath("test_glove.txt"), cache=cache_on, cache_dir=cache)
    ref = gensim_load(datapath("test_glove.txt"), no_header=True)
    assert same(kv, ref)
    np.testing.assert_array_equal(kv.expandos["count"], ref.expandos["count"])


@pytest.mark.parametrize("name", ["lee_fasttext.vec", "toy-model.vec", "crime-and-punishment.vec", "high_precision.kv.txt"])
def test_vectors_word2vec_text_identical_to_gensim(cache, name):
    kv = load_vectors(datapath(name), cache_dir=cache)
    assert same(kv, gensim_load(datapath(name)))


@pytest.mark.parametrize("name", ["euclidean_vectors.bin", "high_precision.kv.bin"])
def test_vectors_word2vec_binary_identical_to_gensim(cache, name):
    kv = load_vectors(datapath(name), cache_dir=cache)
    assert same(kv, gensim_load(datapath(name), binary=True))


def test_vectors_limit_identical_to_gensim(cache):
    kv = load_vectors(datapath("lee_fasttext.vec"), limit=100, cache_dir=cache)
    assert same(kv, gensim_load(datapath("lee_fasttext.vec"), limit=100))
    kv = load_vectors(datapath("euclidean_vectors.bin"), limit=7, cache=False)
    assert same(kv, gensim_load(datapath("euclidean_vectors.bin"), binary=True, limit=7))


def test_vectors_gzip_bz2_zip_member(tmp_path, cache):
    raw = Path(datapath("test_glove.txt")).read_bytes()
    ref = gensim_load(datapath("test_glove.txt"), no_header=True)
    gz = write(tmp_path / "v.txt.gz", gzip.compress(raw))
    bz = write(tmp_path / "v.txt.bz2", bz2.compress(raw))
    z = tmp_path / "glove.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", raw)
        zf.writestr("b.vec", Path(datapath("toy-model.vec")).read_bytes())
    assert same(load_vectors(gz, cache_dir=cache), ref)
    assert same(load_vectors(bz, cache=False), ref)
    assert same(load_vectors(z, member="a.txt", cache_dir=cache), ref)
    assert same(load_vectors(z, member="b.vec", cache=False), gensim_load(datapath("toy-model.vec")))
    with pytest.raises(VectorsFormatError, match=r"glove\.zip: the zip archive holds 2 files.*member="):
        load_vectors(z, cache=False)
    with pytest.raises(VectorsFormatError, match=r"no member 'c\.txt'.*'a\.txt', 'b\.vec'"):
        load_vectors(z, member="c.txt", cache=False)


def test_vectors_concatenated_gzip_members(tmp_path):
    lines = Path(datapath("test_glove.txt")).read_bytes().splitlines(keepends=True)
    path = write(tmp_path / "multi.gz", gzip.compress(b"".join(lines[:30])) + gzip.compress(b"".join(lines[30:])))
    ref = gensim_load(datapath("test_glove.txt"), no_header=True)
    assert same(load_vectors(path, cache=False), ref)


def test_vectors_fasttext_bin_subwords(cache):
    kv = load_vectors(datapath("lee_fasttext.bin"), cache_dir=cache)  # old format: no magic number
    assert type(kv).__name__ == "FastTextKeyedVectors"
    assert "unseenwordxyz" not in kv.key_to_index
    assert np.any(kv.get_vector("unseenwordxyz"))  # built from subword n-grams
    clear_memo()
    again = load_vectors(datapath("lee_fasttext.bin"), cache_dir=cache)  # from the cache, mapped
    np.testing.assert_array_equal(again.get_vector("unseenwordxyz"), kv.get_vector("unseenwordxyz"))
    assert isinstance(again.vectors_ngrams, np.memmap)
    toy = load_vectors(datapath("toy-model.bin"), cache=False)  # new format: magic number
    assert type(toy).__name__ == "FastTextKeyedVectors" and len(toy) == 22


def test_vectors_native_kv(tmp_path):
    ref = gensim_load(datapath("lee_fasttext.vec"))
    ref.save(str(tmp_path / "lee.kv"), sep_limit=0)
    kv = load_vectors(tmp_path / "lee.kv", format="native")  # a pickle: only when named (trusted files)
    assert same(kv, ref) and isinstance(kv.vectors, np.memmap)
    small = load_vectors(tmp_path / "lee.kv", format="native", limit=5)
    assert small.index_to_key == ref.index_to_key[:5]


def test_vectors_crlf_bom_and_trailing_spaces_load_correctly(tmp_path):
    ref = load_vectors(write(tmp_path / "lf.txt", GLOVE3), cache=False)
    crlf = load_vectors(write(tmp_path / "crlf.txt", GLOVE3.replace("\n", "\r\n")), cache=False)
    bom = load_vectors(write(tmp_path / "bom.txt", b"\xef\xbb\xbf" + GLOVE3.encode()), cache=False)
    trailing = load_vectors(write(tmp_path / "sp.txt", GLOVE3.replace("\n", " \n")), cache=False)
    no_final_newline = load_vectors(write(tmp_path / "nonl.txt", GLOVE3.rstrip("\n")), cache=False)
    blank_end = load_vectors(write(tmp_path / "blank.txt", GLOVE3 + "\n\r\n  \n"), cache=False)
    for kv in (crlf, bom, trailing, no_final_newline, blank_end):
        assert same(kv, ref)
    assert ref.index_to_key == ["the", "of", "and"]
    np.testing.assert_array_equal(ref["of"], np.array([-1.5, 2e-3, 4], dtype=np.float32))
    w2v = load_vectors(write(tmp_path / "w.vec", "3 3\r\n" + GLOVE3.replace("\n", " \r\n")), cache=False)
    assert same(w2v, ref)


def test_vectors_unusual_numbers_parse_like_gensim(tmp_path):
    text = "a +1 .5 1.\nb 1E+2 -0 00.25\nc 123456789012345678 1e-50 -3.4028234e38\n"
    path = write(tmp_path / "odd.txt", text)
    ref = gensim_load(str(path), no_header=True)
    assert same(load_vectors(path, cache=False), ref)


def test_vectors_auto_sniffs_binary_vs_text_and_formats(tmp_path):
    kv = load_vectors(datapath("euclidean_vectors.bin"), format="word2vec", cache=False)
    assert len(kv) == gensim_load(datapath("euclidean_vectors.bin"), binary=True).vectors.shape[0]
    assert len(load_vectors(datapath("lee_fasttext.vec"), format="fasttext", cache=False)) == 1762
    assert len(load_vectors(datapath("test_glove.txt"), format="glove", cache=False)) == 76


# ----------------------------------------------------------------------------- malformed files


def test_vectors_missing_path_is_file_not_found():
    with pytest.raises(VectorsNotFoundError, match=r"No such vectors file: .*nowhere\.txt") as info:
        load_vectors("nowhere/nowhere.txt")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ToolkitError)
    with pytest.raises(VectorsNotFoundError, match=r"no data manifest of that name.*glove\.6B\.50d"):
        load_vectors("no-such-vectors")


def test_vectors_folder_is_refused(tmp_path):
    with pytest.raises(VectorsNotFoundError, match="is a folder"):
        load_vectors(tmp_path)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("the 0.1 0.2 0.3\nof 0.1 0.2\nand 1 2 3\n", r"bad\.txt, line 2: the line for 'of' has 2 values, expected 3"),
        ("the 0.1 0.2 0.3\nof 0.1 0.2 0.3 0.4\nto 1 2 3 4\n", r"line 1: the line for 'the' has 3 values, expected 4"),
        ("the 0.1 0.2 0.3\nof 0.1 0.2 0.3\nand 0.1 0.", r"line 3: .* has 2 values, expected 3\. The file looks truncated"),
        ("the 0.1 0.2 0.3\nof 0.1 abc 0.3\n", r"line 2: value 2 \('abc'\) is not a number"),
        ("the 0.1 0.2 0.3\nof 0.1 nan 0.3\n", r"line 2: value 2 \('nan'\) is not a finite float32"),
        ("the 0.1 0.2 0.3\nof 0.1 -inf 0.3\n", r"line 2: value 2 \('-inf'\) is not a finite float32"),
        ("the 0.1 0.2 0.3\nof 0.1 1e39 0.3\n", r"line 2: value 2 \('1e39'\) is not a finite float32"),
        ("the 0.1 0.2 0.3\nof 1 2 3\nthe 4 5 6\n", r"line 3: the word 'the' appears a second time \(first on line 1\)"),
        ("the 0.1 0.2 0.3\n\nof 1 2 3\n", r"line 2: the line is empty"),
        ("the 0.1 0.2 0.3\n 1 2 3\n", r"line 2: the line starts with a space"),
        ("the 0.1  0.3\n", r"line 1: value 2 is empty \(two spaces in a row\?\)"),
        ("the 0.1 0.2\nof 0.1  0.3\n", r"line 2: value 2 is empty \(two spaces in a row\?\)"),
        ("the 0.1 0.2\tof 0.3\n", r"line 1: value 2 \('0\.2\\tof'\) is not a number"),
        ("", r"the file is empty"),
        ("\n\n", r"the file is empty"),
    ],
)
def test_vectors_malformed_glove_text(tmp_path, content, match):
    path = write(tmp_path / "bad.txt", content)
    with pytest.raises(VectorsFormatError, match=match):
        load_vectors(path, cache_dir=tmp_path / "cache")
    assert leftovers(tmp_path / "cache") == []


def test_vectors_duplicate_across_blocks(tmp_path, monkeypatch):
    import toolkit.vectors._parse as vp

    monkeypatch.setattr(vp, "BLOCK_SIZE", 64)
    lines = [f"w{i} {i}.5 1" for i in range(40)] + ["w3 9 9"]
    path = write(tmp_path / "dup.txt", "\n".join(lines) + "\n")
    with pytest.raises(VectorsFormatError, match=r"line 41: the word 'w3' appears a second time \(first on line 4\)"):
        load_vectors(path, cache=False)
    assert len(load_vectors(path, limit=40, cache=False)) == 40


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("5 3\nthe 0.1 0.2 0.3\nof 1 2 3\nand 1 2 3\n", r"line 4: the header announces 5 vectors but the file ends after 3\. The file is truncated"),
        ("2 3\nthe 0.1 0.2 0.3\nof 1 2 3\nand 1 2 3\n", r"line 4: the header announces 2 vectors but the file has more rows.*limit=2"),
        ("3 2\nthe 0.1 0.2 0.3\nof 1 2 3\nand 1 2 3\n", r"line 2: the line for 'the' has 3 values, expected 2"),
        ("999999999999999 3\nthe 0.1 0.2 0.3\n", r"which needs at least 6,999,999,999,999,993 bytes"),
        ("3 99999999999\nthe 0.1 0.2 0.3\n", r"line 1: the header announces 3 vectors of dimension 99999999999, which is not plausible"),
        ("3\nthe 0.1 0.2 0.3\n", r"line 1: expected a word2vec header '<count> <dimension>', found '3'"),
    ],
)
def test_vectors_malformed_word2vec_text(tmp_path, content, match):
    path = write(tmp_path / "bad.vec", content)
    with pytest.raises(VectorsFormatError, match=match):
        load_vectors(path, format="word2vec", cache=False)


def test_vectors_header_count_too_big_in_gzip_found_at_end(tmp_path):
    path = write(tmp_path / "big.vec.gz", gzip.compress(b"999999999999 3\nthe 0.1 0.2 0.3\nof 1 2 3\n"))
    with pytest.raises(VectorsFormatError, match=r"line 3: the header announces 999999999999 vectors but the file ends after 2"):
        load_vectors(path, cache=False)


def test_vectors_glove_loaded_as_word2vec_names_the_fix(tmp_path):
    path = write(tmp_path / "glove.txt", GLOVE3)
    with pytest.raises(VectorsFormatError, match=r"glove\.txt, line 1: expected a word2vec header.*format='glove'") as info:
        load_vectors(path, format="word2vec", cache=False)
    assert "invalid literal" not in str(info.value)


def test_vectors_word2vec_loaded_as_glove_names_the_fix(tmp_path):
    path = write(tmp_path / "w.vec", "3 3\n" + GLOVE3)
    with pytest.raises(VectorsFormatError, match=r"line 1: the line for '3' has 1 values, expected 3\. Line 1 looks like a word2vec header"):
        load_vectors(path, format="glove", cache=False)


def test_vectors_non_utf8_word(tmp_path):
    path = write(tmp_path / "latin.txt", b"the 0.1 0.2\ncaf\xe9 1 2\n")
    with pytest.raises(VectorsFormatError, match=r"line 2: the word b'caf\\xe9' is not valid UTF-8.*unicode_errors='replace'"):
        load_vectors(path, cache=False)
    kv = load_vectors(path, unicode_errors="replace", cache=False)
    assert kv.index_to_key == ["the", "caf\ufffd"]


def _binary(words, vectors, header=None, newline=True):
    out = (header or f"{len(words)} {vectors.shape[1]}").encode() + b"\n"
    for w, v in zip(words, vectors):
        out += w + b" " + v.astype("<f4").tobytes() + (b"\n" if newline else b"")
    return out


def test_vectors_binary_with_and_without_record_newlines(tmp_path):
    vecs = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    for newline in (True, False):
        path = write(tmp_path / f"b{newline}.bin", _binary([b"a", b"bb", b"c"], vecs, newline=newline))
        kv = load_vectors(path, cache=False)
        assert same(kv, gensim_load(str(path), binary=True))


@pytest.mark.parametrize(
    ("words", "header", "cut", "match"),
    [
        ([b"a", b"b", b"c"], None, 10, r"record 3 \(byte \d+\): the record for b'c' is truncated: 7 of 16 vector bytes"),
        ([b"a", b"b", b"c"], "5 4", 0, r"(header announces 5 vectors of dimension 4, which needs at least|header announces 5 vectors but the file ends after 3)"),
        ([b"a", b"b", b"c"], "2 4", 0, r"record 3: the header announces 2 vectors but the file has more records"),
        ([b"a", b"b", b"a"], None, 0, r"record 3: the word 'a' appears a second time"),
        ([b"a", b"\xff", b"c"], None, 0, r"record 2: the word b'\\xff' is not valid UTF-8"),
    ],
)
def test_vectors_malformed_binary(tmp_path, words, header, cut, match):
    data = _binary(words, np.ones((3, 4), np.float32), header=header)
    path = write(tmp_path / "bad.bin", data[: len(data) - cut] if cut else data)
    with pytest.raises(VectorsFormatError, match=match):
        load_vectors(path, format="word2vec-binary", cache=False)


def test_vectors_binary_nan_refused(tmp_path):
    vecs = np.ones((2, 3), np.float32)
    vecs[1, 2] = np.nan
    path = write(tmp_path / "nan.bin", _binary([b"a", b"b"], vecs))
    with pytest.raises(VectorsFormatError, match=r"record 2 \(word b'b'\): the vector holds nan or inf"):
        load_vectors(path, cache=False)


def test_vectors_corrupt_gzip(tmp_path):
    good = gzip.compress(Path(datapath("test_glove.txt")).read_bytes())
    truncated = write(tmp_path / "trunc.txt.gz", good[: len(good) // 2])
    with pytest.raises(VectorsFormatError, match=r"trunc\.txt\.gz: the gzip data is corrupt or truncated.*Download the file again"):
        load_vectors(truncated, cache_dir=tmp_path / "cache")
    garbage = write(tmp_path / "garbage.txt.gz", good[:20] + b"\x00" * 200 + good[220:])
    with pytest.raises(VectorsFormatError, match=r"garbage\.txt\.gz: the gzip data is corrupt"):
        load_vectors(garbage, cache=False)
    assert leftovers(tmp_path / "cache") == []


def test_vectors_invalid_parameters():
    with pytest.raises(InvalidParameterError, match=r"The 'limit' parameter of load_vectors must be an int in the range \[1, inf\) or None\. Got 0 instead\."):
        load_vectors(datapath("test_glove.txt"), limit=0)
    with pytest.raises(InvalidParameterError, match=r"The 'format' parameter of load_vectors must be a str among"):
        load_vectors(datapath("test_glove.txt"), format="csv")
    with pytest.raises(TypeError, match="source must be a path"):
        load_vectors(42)


# ----------------------------------------------------------------------------- cache and memo


def test_vectors_cache_is_mapped_and_outside_source_folder(tmp_path, cache):
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    path = write(src_dir / "v.txt", Path(datapath("test_glove.txt")).read_text())
    kv = load_vectors(path, cache_dir=cache)
    assert isinstance(kv.vectors, np.memmap) and not kv.vectors.flags.writeable
    assert sorted(p.name for p in src_dir.iterdir()) == ["v.txt"]
    (entry,) = (cache / "vectors").iterdir()
    assert sorted(p.name for p in entry.iterdir()) == ["expando-0.npy", "header.json", "keys.txt", "vectors.npy"]
    assert same(read_entry(entry), kv)


def test_vectors_memo_returns_same_object_and_cache_survives(cache):
    a = load_vectors(datapath("test_glove.txt"), cache_dir=cache)
    assert load_vectors(datapath("test_glove.txt"), cache_dir=cache) is a
    clear_memo()
    b = load_vectors(datapath("test_glove.txt"), cache_dir=cache)
    assert b is not a and same(b, a)
    assert load_vectors(datapath("test_glove.txt"), limit=3, cache_dir=cache) is not b
    assert len(list((cache / "vectors").iterdir())) == 2
    assert load_vectors(b) is b


def test_vectors_cache_key_follows_file_changes(tmp_path, cache):
    path = write(tmp_path / "v.txt", GLOVE3)
    assert len(load_vectors(path, cache_dir=cache)) == 3
    write(path, GLOVE3 + "to 1 2 3\n")
    os.utime(path, ns=(1, 2))
    assert len(load_vectors(path, cache_dir=cache)) == 4


def test_vectors_damaged_cache_entry_is_rebuilt(tmp_path, cache):
    path = write(tmp_path / "v.txt", GLOVE3)
    load_vectors(path, cache_dir=cache)
    clear_memo()
    (entry,) = (cache / "vectors").iterdir()
    (entry / "vectors.npy").unlink()
    kv = load_vectors(path, cache_dir=cache)
    assert kv.index_to_key == ["the", "of", "and"]
    assert (entry / "vectors.npy").exists()


def test_vectors_two_processes_first_load_concurrently(tmp_path):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(20_000)]
    vecs = rng.normal(size=(20_000, 20)).astype(np.float32)
    lines = (w + " " + " ".join(f"{x:.5f}" for x in row) for w, row in zip(words, vecs))
    path = write(tmp_path / "big.txt", "\n".join(lines) + "\n")
    cache = tmp_path / "cache"
    code = (
        "import sys; from toolkit.vectors import load_vectors; "
        "kv = load_vectors(sys.argv[1], cache_dir=sys.argv[2]); "
        "print(len(kv), float(abs(kv.vectors).sum()))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path), str(cache)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert outs[0][0] == outs[1][0] and outs[0][0].startswith("20000 ")
    (entry,) = (cache / "vectors").iterdir()  # one entry, no temp folder left
    assert not entry.name.startswith(".")
    ref = gensim_load(str(path), no_header=True)
    assert same(load_vectors(path, cache_dir=cache), ref)


# ----------------------------------------------------------------------------- manifests and the real GloVe file


def test_vectors_manifest_name_through_fetch(data_dir_env, shared_data):
    kv = load_vectors("glove.6B.50d", limit=5000)
    ref = gensim_load(str(shared_data / "glove.6B.50d.txt.gz"), no_header=True, limit=5000)
    assert same(kv, ref)


def test_vectors_manifest_of_other_data_is_refused(data_dir_env):
    with pytest.raises(ToolkitError, match=r"describes 'aclImdb' data, not word vectors"):
        load_vectors("imdb")


@pytest.mark.slow
def test_vectors_real_glove_identical_to_gensim(shared_data, cache):
    path = shared_data / "glove.6B.50d.txt.gz"
    kv = load_vectors(path, cache_dir=cache)
    ref = gensim_load(str(path), no_header=True)
    assert len(kv) == 400_000 and same(kv, ref)
    np.testing.assert_array_equal(kv.expandos["count"], ref.expandos["count"])


def test_vectors_progress_bar_on_request(capsys):
    load_vectors(datapath("test_glove.txt"), cache=False, progress=True)
    assert "Loading test_glove.txt" in capsys.readouterr().err
    load_vectors(datapath("lee_fasttext.vec"), cache=False)
    assert capsys.readouterr().err == ""


def test_vectors_stale_temp_folder_of_a_killed_load_is_removed(tmp_path, cache):
    path = write(tmp_path / "v.txt", GLOVE3)
    load_vectors(path, cache_dir=cache)
    clear_memo()
    (entry,) = (cache / "vectors").iterdir()
    stale = entry.parent / f".{entry.name}.deadbeef.tmp"
    fresh = entry.parent / f".{entry.name}.cafecafe.tmp"
    stale.mkdir()
    fresh.mkdir()
    os.utime(stale, (1, 1))
    import shutil

    shutil.rmtree(entry)
    load_vectors(path, cache_dir=cache)
    assert leftovers(cache) == sorted([entry.name, fresh.name])


def test_vectors_unwritable_cache_falls_back_to_memory(tmp_path, caplog):
    not_a_folder = write(tmp_path / "cache-is-a-file", "x")
    with caplog.at_level("WARNING", logger="toolkit.vectors.loading"):
        kv = load_vectors(datapath("test_glove.txt"), cache_dir=not_a_folder)
    assert len(kv) == 76 and not isinstance(kv.vectors, np.memmap)
    assert "Cannot write the vectors cache" in caplog.text
