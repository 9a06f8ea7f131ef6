"""The vectors cache and untrusted files: no pickle is ever sniffed or executed, entries are verified on read."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors
from gensim.test.utils import datapath

from test_vectors_load import GLOVE3, _fresh_memo, gensim_load, same, write  # noqa: F401 (autouse fixture)

from toolkit.exceptions import DataError, VectorsFormatError
from toolkit.vectors import clear_memo, load_vectors
from toolkit.vectors.loading import read_entry, write_entry

ROOT = Path(__file__).resolve().parents[1]


class _Payload:
    """Unpickling this creates ``marker``: proof that code from a data file ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').close()",)


def _evil(marker: Path) -> bytes:
    return pickle.dumps(_Payload(marker), protocol=4)


def _entry(cache: Path) -> Path:
    (entry,) = (cache / "vectors").iterdir()
    return entry


def _rehash(entry: Path, name: str) -> None:
    """Rewrite the header so that it vouches for ``name`` as it is now (a planted entry, digest and all)."""
    header = json.loads((entry / "header.json").read_text())
    records = [header["keys"], *header["arrays"].values(), *header["expandos"].values()]
    for record in records:
        if record["file"] == name:
            data = (entry / name).read_bytes()
            record["bytes"], record["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    (entry / "header.json").write_text(json.dumps(header))


# ----------------------------------------------------------------------------- pickles are never sniffed


@pytest.mark.parametrize("name", ["vectors.txt", "embeddings.vec", "vectors.txt.gz", "model.kv"])
def test_vectors_auto_never_unpickles(tmp_path, name):
    marker = tmp_path / "pwned"
    data = _evil(marker)
    path = write(tmp_path / name, gzip.compress(data) if name.endswith(".gz") else data)
    with pytest.raises(VectorsFormatError, match=r"looks like a Python pickle .* never loads: loading a pickle can "
                                                 r"run any code it holds\. If you made this file or trust its source, "
                                                 r"pass format='native'"):
        load_vectors(path, cache_dir=tmp_path / "cache")
    for fmt in ("glove", "word2vec", "fasttext"):
        with pytest.raises(VectorsFormatError):
            load_vectors(path, format=fmt, cache=False)
    assert not marker.exists()
    assert not (tmp_path / "cache" / "vectors").exists() or not any((tmp_path / "cache" / "vectors").iterdir())


def test_vectors_info_command_never_unpickles(tmp_path):
    marker = tmp_path / "pwned"
    path = write(tmp_path / "embeddings.vec", _evil(marker))
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit", "vectors", "info", str(path), "--cache-dir", str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 1, proc.stderr
    assert "looks like a Python pickle" in proc.stderr and "Traceback" not in proc.stderr
    assert not marker.exists()


def test_vectors_native_only_when_named_and_mapped(tmp_path):
    ref = gensim_load(datapath("lee_fasttext.vec"))
    ref.save(str(tmp_path / "lee.kv"))
    kv = load_vectors(tmp_path / "lee.kv", format="native")
    assert same(kv, ref)
    with pytest.raises(VectorsFormatError, match="format='native'"):
        load_vectors(tmp_path / "lee.kv")


# ----------------------------------------------------------------------------- the cache entry


@pytest.fixture
def built(tmp_path):
    """A small GloVe file, its cache entry (memo cleared), and the vectors loaded without the cache."""
    cache = tmp_path / "cache"
    path = write(tmp_path / "v.txt", GLOVE3)
    ref = load_vectors(path, cache=False)
    clear_memo()
    load_vectors(path, cache_dir=cache)
    clear_memo()
    return path, cache, ref, _entry(cache)


def test_vectors_cache_entry_holds_no_pickle(tmp_path):
    cache = tmp_path / "cache"
    kv = load_vectors(write(tmp_path / "v.txt", GLOVE3), cache_dir=cache)
    entry = _entry(cache)
    header = json.loads((entry / "header.json").read_text())
    assert header["n"] == 3 and header["dim"] == 3 and header["class"] == "KeyedVectors"
    assert (entry / "keys.txt").read_text() == "the\nof\nand"
    for path in entry.glob("*.npy"):
        assert np.load(path, allow_pickle=False).dtype.kind in "fi"
    for path in entry.iterdir():
        assert not path.read_bytes().startswith(b"\x80"), path.name
    assert isinstance(kv.vectors, np.memmap) and not kv.vectors.flags.writeable


@pytest.mark.parametrize(
    "plant",
    [
        "object_array_in_vectors",   # a pickle inside a .npy, with a matching digest
        "pickle_as_header",          # header.json replaced by a pickle
        "pickle_as_keys",            # keys.txt replaced by a pickle
        "old_format_entry",          # version 1 of the cache: a gensim pickle beside the arrays
    ],
)
def test_vectors_planted_cache_entry_is_rebuilt_never_executed(tmp_path, built, plant, caplog):
    marker = tmp_path / "pwned"
    path, cache, ref, entry = built
    if plant == "object_array_in_vectors":
        np.save(entry / "vectors.npy", np.array([_Payload(marker)] * 3, dtype=object), allow_pickle=True)
        _rehash(entry, "vectors.npy")
    elif plant == "pickle_as_header":
        (entry / "header.json").write_bytes(_evil(marker))
    elif plant == "pickle_as_keys":
        (entry / "keys.txt").write_bytes(_evil(marker))
        _rehash(entry, "keys.txt")
    else:
        (entry / "vectors.kv").write_bytes(_evil(marker))
        header = json.loads((entry / "header.json").read_text())
        (entry / "header.json").write_text(json.dumps({**header, "version": 1}))
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors.loading"):
        kv = load_vectors(path, cache_dir=cache)
    assert not marker.exists()
    assert same(kv, ref)
    assert "is damaged" in caplog.text and "rebuilding it from" in caplog.text
    assert not (entry / "vectors.kv").exists()
    clear_memo()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors.loading"):
        assert same(load_vectors(path, cache_dir=cache), ref)  # the rebuilt entry passes its checks
    assert caplog.text == ""


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("flip_vector_byte", r"the SHA-256 of vectors\.npy differs from the header's"),
        ("truncate_keys", r"keys\.txt has 6 bytes, the header says 10"),
        ("header_not_json", r"header\.json is missing or not JSON"),
        ("file_outside_entry", r"the header names the file '\.\./v\.txt' outside the entry"),
        ("rows_disagree", r"vectors\.npy has 2 rows for 3 keys"),
        ("missing_vectors", r"vectors\.npy is missing"),
    ],
)
def test_vectors_damaged_cache_entry_is_detected_and_rebuilt(built, damage, reason, caplog):
    path, cache, ref, entry = built
    if damage == "flip_vector_byte":
        data = bytearray((entry / "vectors.npy").read_bytes())
        data[-1] ^= 0x40
        (entry / "vectors.npy").write_bytes(bytes(data))
    elif damage == "truncate_keys":
        (entry / "keys.txt").write_text("the\nof")
    elif damage == "header_not_json":
        (entry / "header.json").write_text("{")
    elif damage == "file_outside_entry":
        header = json.loads((entry / "header.json").read_text())
        header["keys"]["file"] = "../v.txt"
        (entry / "header.json").write_text(json.dumps(header))
    elif damage == "rows_disagree":
        np.save(entry / "vectors.npy", np.ones((2, 3), np.float32))
        header = json.loads((entry / "header.json").read_text())
        header["arrays"]["vectors"]["shape"] = [2, 3]
        (entry / "header.json").write_text(json.dumps(header))
        _rehash(entry, "vectors.npy")
    else:
        (entry / "vectors.npy").unlink()
    with pytest.raises(DataError, match=rf"The vectors cache entry .* is damaged: {reason}.*\. Delete it to rebuild it\."):
        read_entry(entry)
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors.loading"):
        kv = load_vectors(path, cache_dir=cache)
    assert re.search(reason, caplog.text)
    assert same(kv, ref)
    assert sorted(p.name for p in (cache / "vectors").iterdir()) == [entry.name]  # nothing moved aside is left


def test_vectors_entry_round_trip_keys_with_spaces_newlines_and_fasttext(tmp_path):
    kv = KeyedVectors(2)
    kv.add_vectors(["not good", "two\nlines", "caf\u00e9", " lead"], np.arange(8, dtype=np.float32).reshape(4, 2))
    (tmp_path / "a").mkdir()
    header = write_entry(kv, tmp_path / "a")
    assert header["keys"]["encoding"] == "json"
    back = read_entry(tmp_path / "a")
    assert back.index_to_key == kv.index_to_key and back.key_to_index == kv.key_to_index
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    ft = load_vectors(datapath("lee_fasttext.bin"), cache=False)
    (tmp_path / "b").mkdir()
    write_entry(ft, tmp_path / "b")
    ft_back = read_entry(tmp_path / "b")
    assert type(ft_back).__name__ == "FastTextKeyedVectors" and isinstance(ft_back.vectors_ngrams, np.memmap)
    np.testing.assert_array_equal(ft_back.get_vector("unseenwordxyz"), ft.get_vector("unseenwordxyz"))
    with pytest.raises(TypeError, match=r"stores str keys only; got the key 7 \(int\)"):
        kv_int = KeyedVectors(2)
        kv_int.add_vectors([7], np.ones((1, 2), np.float32))
        (tmp_path / "c").mkdir()
        write_entry(kv_int, tmp_path / "c")



def test_vectors_reload_imports_only_what_it_needs(tmp_path):
    """A warm reload in a fresh process imports gensim but not scikit-learn, spaCy or toolkit.text (issue 16)."""
    cache = tmp_path / "cache"
    path = write(tmp_path / "v.txt", GLOVE3)
    load_vectors(path, cache_dir=cache)
    code = (
        "import sys; from toolkit.vectors import load_vectors\n"
        "before = sorted(m for m in ('gensim', 'sklearn', 'spacy', 'toolkit.text') if m in sys.modules)\n"
        "kv = load_vectors(sys.argv[1], cache_dir=sys.argv[2])\n"
        "after = sorted(m for m in ('gensim', 'sklearn', 'spacy', 'toolkit.text') if m in sys.modules)\n"
        "print(before, after, kv.index_to_key)"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(path), str(cache)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[] ['gensim'] ['the', 'of', 'and']"


def test_vectors_array_digest_checked_whenever_the_file_changed(built, monkeypatch, caplog):
    """An untouched entry is not re-read in full; any write since it was made is hashed and caught."""
    import toolkit._hashing

    path, cache, ref, entry = built
    hashed = []
    real = toolkit._hashing.hash_file
    monkeypatch.setattr(toolkit._hashing, "hash_file", lambda p, *a: hashed.append(Path(p).name) or real(p, *a))
    assert same(read_entry(entry), ref) and hashed == []
    npy = entry / "vectors.npy"
    before = npy.stat()
    data = bytearray(npy.read_bytes())
    data[-2] ^= 0x01
    npy.write_bytes(bytes(data))
    os.utime(npy, ns=(before.st_atime_ns, before.st_mtime_ns))  # the modification time put back: ctime still moved
    with pytest.raises(DataError, match=r"the SHA-256 of vectors\.npy differs from the header's"):
        read_entry(entry)
    assert hashed == ["vectors.npy"]
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors.loading"):
        assert same(load_vectors(path, cache_dir=cache), ref)
    assert "is damaged" in caplog.text
