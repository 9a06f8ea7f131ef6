"""Bad input or a failure loses nothing: interrupted, killed, full or damaged caches and outputs.

Each test plays a real failure (Ctrl-C inside the work, ``kill -9`` of a
writer, a full disk, a cache file truncated or emptied by hand, two processes
on one cache) and checks the next run: the right answer, a rebuild, or an
error that names the file to delete. Real samples: the first GloVe 6B-50d
rows and IMDB reviews.
"""

from __future__ import annotations

import errno
import itertools
import json
import logging
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from toolkit import _atomic
from toolkit.exceptions import DataError
from toolkit.text import SpacyTokenizer

ROOT = Path(__file__).resolve().parents[1]
GLOVE_ROWS = 2000


@pytest.fixture
def glove(glove_small, tmp_path) -> Path:
    """The first 2,000 rows of the real GloVe 6B-50d file (from the session's ``glove_small``), in a fresh path."""
    path = tmp_path / "glove.2k.50d.txt"
    with open(glove_small, encoding="utf-8") as src:
        path.write_text("".join(itertools.islice(src, GLOVE_ROWS)), encoding="utf-8")
    return path


@pytest.fixture
def reviews(imdb_small):
    """40 real IMDB reviews."""
    return list(imdb_small[0][:40])


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """A fresh TOOLKIT_CACHE_DIR (a folder that does not exist yet) and empty process memos."""
    from toolkit.vectors import clusters, docvec, domain, loading

    folder = tmp_path / "no" / "such" / "cache"
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(folder))
    for module in (loading, domain, docvec):
        module.clear_memo()
    clusters._MEMO.clear()
    yield folder
    for module in (loading, domain, docvec):
        module.clear_memo()
    clusters._MEMO.clear()


def _damage(file: Path, how: str) -> None:
    data = file.read_bytes()
    if how == "empty":
        file.write_bytes(b"")
    elif how == "truncated":
        file.write_bytes(data[: len(data) // 2])
    elif how == "flipped":  # same size, one byte of the data changed
        data = bytearray(data)
        data[len(data) // 2] ^= 0xFF
        file.write_bytes(bytes(data))
    else:  # pragma: no cover
        raise ValueError(how)


def _debris(folder: Path) -> list:
    return sorted(p.name for p in Path(folder).rglob("*") if ".tmp" in p.name)


# ------------------------------------------------------------------ the tokenizer's disk cache
@pytest.mark.parametrize("how", ["empty", "truncated", "flipped"])
def test_tokenizer_cache_damaged_file_is_ignored_and_rewritten(reviews, tmp_path, how, caplog):
    folder = tmp_path / "tokens"
    expected = SpacyTokenizer(cache=folder).transform(reviews).to_list()
    (entry,) = folder.glob("*.npz")
    _damage(entry, how)
    with caplog.at_level(logging.WARNING, logger="toolkit.text.tokenizer"):
        again = SpacyTokenizer(cache=folder).transform(reviews).to_list()
    assert again == expected
    assert "ignoring unreadable token cache" in caplog.text and entry.name in caplog.text
    # the fresh result replaced the damaged file: a third run reads it without a warning
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit.text.tokenizer"):
        assert SpacyTokenizer(cache=folder).transform(reviews).to_list() == expected
    assert "unreadable" not in caplog.text and _debris(folder) == []


def test_tokenizer_cache_entry_of_another_corpus_is_not_served(reviews, tmp_path, caplog):
    """A complete .npz that does not describe these documents (copied over by hand) is never returned."""
    folder = tmp_path / "tokens"
    expected = SpacyTokenizer(cache=folder).transform(reviews).to_list()
    SpacyTokenizer(cache=tmp_path / "other").transform(reviews[:3])
    (entry,) = folder.glob("*.npz")
    (other,) = (tmp_path / "other").glob("*.npz")
    entry.write_bytes(other.read_bytes())
    with caplog.at_level(logging.WARNING, logger="toolkit.text.tokenizer"):
        assert SpacyTokenizer(cache=folder).transform(reviews).to_list() == expected
    assert "do not describe 40 documents" in caplog.text


def test_tokenizer_cache_debris_of_a_killed_write_is_swept_once_stale(reviews, tmp_path):
    """A ``kill -9`` during a write leaves a hidden temporary file; a later write of any entry sweeps it once stale."""
    folder = tmp_path / "tokens"
    SpacyTokenizer(cache=folder).transform(reviews[:5])
    (entry,) = folder.glob("*.npz")
    debris = folder / f".{entry.name}.0123456789ab.tmp.npz"  # the name atomic_output gave the killed write
    debris.write_bytes(entry.read_bytes()[:100])
    other = folder / "notes.tmp.npz"  # not toolkit's: kept whatever its age
    other.write_bytes(b"x")
    assert len(SpacyTokenizer(cache=folder).transform(reviews[:5])) == 5  # the debris is never read
    for path in (debris, other):
        os.utime(path, (0, 0))
    SpacyTokenizer(cache=folder).transform(reviews[5:10])  # another entry
    assert not debris.exists() and other.exists()


def test_tokenizer_cache_interrupted_write_leaves_nothing(reviews, tmp_path, monkeypatch):
    from toolkit.text import tokenizer

    folder = tmp_path / "tokens"
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        raise KeyboardInterrupt

    monkeypatch.setattr(tokenizer.np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        SpacyTokenizer(cache=folder).transform(reviews)
    assert calls and not folder.exists()  # no partial file, no temporary file, nor the folder the write made (s47)
    monkeypatch.undo()
    expected = SpacyTokenizer().transform(reviews).to_list()
    assert SpacyTokenizer(cache=folder).transform(reviews).to_list() == expected
    assert len(list(folder.glob("*.npz"))) == 1


def test_tokenizer_cache_full_disk_or_file_in_the_way_only_warns(reviews, tmp_path, monkeypatch, caplog):
    from toolkit.text import tokenizer

    expected = SpacyTokenizer().transform(reviews).to_list()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tokenizer.np, "savez", full)
    with caplog.at_level(logging.WARNING, logger="toolkit.text.tokenizer"):
        assert SpacyTokenizer(cache=tmp_path / "tokens").transform(reviews).to_list() == expected
    assert "No space left on device" in caplog.text and not (tmp_path / "tokens").exists()  # nor its folder (s47)
    monkeypatch.undo()
    (tmp_path / "a-file").write_text("not a folder")
    assert SpacyTokenizer(cache=tmp_path / "a-file").transform(reviews).to_list() == expected
    assert (tmp_path / "a-file").read_text() == "not a folder"


def test_tokenizer_cache_folder_with_tilde_is_in_the_home_folder(tmp_path, monkeypatch):
    """``cache="~/tokens"`` means the home folder, as TOOLKIT_CACHE_DIR does, not a folder named ``~`` here."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    SpacyTokenizer(cache="~/tokens").transform(["A good film."])
    assert not (tmp_path / "~").exists()
    assert len(list((tmp_path / "home" / "tokens").glob("*.npz"))) == 1


def test_tokenizer_cache_key_follows_the_options(tmp_path):
    folder = tmp_path / "tokens"
    docs = ["The Film was NOT good.", "Great <b>acting</b>!"]
    for params in ({}, {"lowercase": False}, {"remove_punct": True}, {"ngram_range": (1, 2)}):
        cached = SpacyTokenizer(cache=folder, **params).transform(docs).to_list()
        assert cached == SpacyTokenizer(**params).transform(docs).to_list(), params
    assert len(list(folder.glob("*.npz"))) == 4


# ------------------------------------------------------------------ word clusters and doc vectors
@pytest.mark.parametrize("how", ["empty", "truncated"])
def test_clusters_cache_damaged_file_is_clustered_again(glove, cache, how, caplog):
    from toolkit.vectors import clusters
    from toolkit.vectors.clusters import WordClusterer

    docs = [["the", "film", "was", "good"]]
    expected = WordClusterer(vectors=str(glove), n_clusters=8, max_words=500).fit(docs).labels_
    (entry,) = (cache / "clusters").glob("*.npy")
    _damage(entry, how)
    clusters._MEMO.clear()  # a new process
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors.clusters"):
        again = WordClusterer(vectors=str(glove), n_clusters=8, max_words=500).fit(docs)
    np.testing.assert_array_equal(again.labels_, expected)
    assert "is damaged" in caplog.text
    assert np.load(entry).shape == (500,)  # rewritten


def test_docvec_cache_empty_array_file_is_trained_again(reviews, cache, caplog):
    from toolkit.vectors import docvec
    from toolkit.vectors.docvec import DocVectorizer

    params = dict(unlabelled=tuple(reviews), vector_size=8, epochs=2, min_count=2, workers=1)
    tokens = SpacyTokenizer().transform(reviews[:5])
    first = DocVectorizer(**params).fit(tokens)
    expected = first.transform(tokens)
    folder = cache / "doc_vectors" / first.model_key_
    _damage(folder / "sample_int.npy", "empty")
    docvec.clear_memo()  # a new process
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors.docvec"):
        again = DocVectorizer(**params).fit(tokens)
    assert again.model_source_ == "trained" and "damaged or stale" in caplog.text
    np.testing.assert_array_equal(again.transform(tokens), expected)


# ------------------------------------------------------------------ the vectors cache
def _kill_during_cache_write(glove, cache):
    """Load ``glove`` in a child that is killed (SIGKILL) while it writes the cache entry."""
    script = (
        "import os, signal, sys\n"
        "import toolkit.vectors.loading as L\n"
        "real = L.write_entry\n"
        "def dying(kv, folder, **kw):\n"
        "    real(kv, folder, **kw)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "L.write_entry = dying\n"
        "L.load_vectors(sys.argv[1])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOOLKIT_CACHE_DIR": str(cache)}
    result = subprocess.run([sys.executable, "-c", script, str(glove)], env=env, capture_output=True, timeout=120)
    assert result.returncode == -9, result.stderr[-2000:]


def test_vectors_cache_killed_writer_leaves_only_hidden_debris(glove, cache):
    from toolkit.vectors import clear_memo, load_vectors

    _kill_during_cache_write(glove, cache)
    entries = [p for p in (cache / "vectors").iterdir() if not p.name.startswith(".")]
    assert entries == [] and _debris(cache / "vectors")  # only a temporary folder, under a hidden name
    expected = load_vectors(glove, cache=False)
    clear_memo()
    kv = load_vectors(glove)
    assert isinstance(kv.vectors, np.memmap)  # read back from a complete new entry
    assert kv.index_to_key == expected.index_to_key
    np.testing.assert_array_equal(np.asarray(kv.vectors), expected.vectors)
    # the debris is never read; once stale (a live writer's is younger than STALE_SECONDS), the next build of
    # any entry sweeps it: the entry it belonged to is complete now and never built again
    assert _debris(cache / "vectors")
    for path in (cache / "vectors").glob(".*.tmp"):
        os.utime(path, (0, 0))
    assert len(load_vectors(glove, limit=10)) == 10  # another entry
    assert _debris(cache / "vectors") == []


def test_vectors_cache_interrupted_parse_leaves_nothing(glove, cache, monkeypatch):
    from toolkit.vectors import load_vectors, loading

    real = loading._make_kv
    seen = []

    def interrupted(*args, **kwargs):  # after the parser streamed vectors.npy into the temporary entry
        seen.append(sorted(p.name for p in (cache / "vectors").rglob("*.npy")))
        raise KeyboardInterrupt

    monkeypatch.setattr(loading, "_make_kv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_vectors(glove)
    assert seen == [["vectors.npy"]] and list((cache / "vectors").iterdir()) == []
    monkeypatch.setattr(loading, "_make_kv", real)
    assert len(load_vectors(glove)) == GLOVE_ROWS


def test_vectors_cache_full_disk_loads_without_the_cache(glove, cache, monkeypatch, caplog):
    from toolkit.vectors import clear_memo, load_vectors, loading

    expected = np.array(load_vectors(glove, cache=False).vectors)
    clear_memo()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(loading, "write_entry", full)
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors.loading"):
        np.testing.assert_array_equal(load_vectors(glove).vectors, expected)
    assert "loading without the cache" in caplog.text
    assert list((cache / "vectors").iterdir()) == []


def test_vectors_cache_key_follows_limit_and_the_file_content(glove, cache):
    from toolkit.vectors import load_vectors

    assert len(load_vectors(glove, limit=100)) == 100 and len(load_vectors(glove)) == GLOVE_ROWS
    # the file rewritten at the same path (new values, same size): a new entry, never the old answer
    lines = glove.read_text(encoding="utf-8").splitlines(keepends=True)
    first = lines[0].split(" ")
    lines[0] = " ".join([first[0], first[2], first[1], *first[3:]])  # two values swapped
    glove.write_text("".join(lines), encoding="utf-8")
    kv = load_vectors(glove)
    assert kv[first[0]][0] == np.float32(first[2]) and kv[first[0]][1] == np.float32(first[1])


def _load_in_child(args):
    cache, glove, texts = args
    os.environ["TOOLKIT_CACHE_DIR"] = cache
    from toolkit.text import SpacyTokenizer
    from toolkit.vectors import load_vectors

    kv = load_vectors(glove)
    return np.asarray(kv.vectors).tobytes(), SpacyTokenizer(cache=True).transform(texts).to_list()


def test_two_processes_fill_one_cache_at_once(glove, reviews, cache):
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        (v1, t1), (v2, t2) = pool.map(_load_in_child, [(str(cache), str(glove), reviews)] * 2)
    assert v1 == v2 and t1 == t2 == SpacyTokenizer().transform(reviews).to_list()
    assert len([p for p in (cache / "vectors").iterdir() if not p.name.startswith(".")]) == 1
    assert len(list((cache / "tokens").glob("*.npz"))) == 1
    assert _debris(cache) == []


# ------------------------------------------------------------------ domain vectors
def test_domain_vectors_key_follows_file_content_and_options(tmp_path, cache, reviews):
    from toolkit.vectors.domain import domain_vectors

    texts = tmp_path / "unlabelled.txt"
    texts.write_text("\n".join(reviews[:20]), encoding="utf-8")
    docs = [["a", "good", "film"]]
    spec = f"word2vec:{texts}:dim=8,epochs=1,min_count=2,workers=1"
    first = domain_vectors(spec, docs)
    texts.write_text("\n".join(reviews[20:40]), encoding="utf-8")  # same path, other texts
    second = domain_vectors(spec, docs)
    assert first.index_to_key != second.index_to_key
    third = domain_vectors(spec.replace("min_count=2", "min_count=1"), docs)
    assert len(third) > len(second)
    assert len(list((cache / "domain_vectors").iterdir())) == 3


def test_domain_vectors_damaged_entry_is_trained_again(cache, caplog):
    from toolkit.vectors import domain
    from toolkit.vectors.domain import domain_vectors

    docs = [["good", "film", "bad", "movie", "great", "plot"]] * 30
    spec = "word2vec:dim=4,min_count=1,workers=1"
    words = domain_vectors(spec, docs).index_to_key
    (entry,) = (cache / "domain_vectors").iterdir()
    _damage(entry / "vectors.npy", "truncated")
    domain.clear_memo()
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors.domain"):
        assert domain_vectors(spec, docs).index_to_key == words
    assert "training again" in caplog.text
    assert _debris(cache) == []


# ------------------------------------------------------------------ corpus store
@pytest.mark.parametrize("name", ["offsets.npy", "tokens.npy"])
@pytest.mark.parametrize("how", ["empty", "truncated"])
def test_store_damaged_part_names_the_file_and_says_rebuild(tmp_path, name, how):
    pytest.importorskip("dask")
    import dask.bag as db

    from toolkit.distributed import CorpusStore

    texts = db.from_sequence([("A good film.", "pos"), ("A bad film.", "neg"), ("Meh.", "neg")], npartitions=2)
    CorpusStore.build(texts, tmp_path / "store", scheduler="sync")
    _damage(tmp_path / "store" / "part-00000" / name, how)
    store = CorpusStore(tmp_path / "store")
    with pytest.raises(DataError, match=rf"part-00000.{name}: not a complete \.npy file .* rebuild it"):
        store.corpus(0)


# ------------------------------------------------------------------ vectorize -o
def test_vectorize_save_failure_keeps_the_previous_matrix_and_vocabulary_together(tmp_path, monkeypatch):
    from toolkit.cli.text import vectorize
    from toolkit.text.vocabulary import Vocabulary

    out = tmp_path / "x.npz"
    vectorize(["a good film", "a bad film"]).save(out)
    old_matrix, old_vocab = out.read_bytes(), (tmp_path / "x.vocab.json").read_text()
    new = vectorize(["an entirely different corpus of words", "more words here"])

    def full(self, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Vocabulary, "to_json", full)
    with pytest.raises(OSError, match="No space left"):
        new.save(out)
    # the pair on disk is still the old one: never a new matrix whose ids the old vocabulary decodes
    assert out.read_bytes() == old_matrix and (tmp_path / "x.vocab.json").read_text() == old_vocab
    assert _debris(tmp_path) == []
    monkeypatch.undo()
    new.save(out)
    assert np.load(out)["x"].shape == new.matrix.shape
    assert json.loads((tmp_path / "x.vocab.json").read_text()) != json.loads(old_vocab)


# ------------------------------------------------------------------ atomic folders
def test_atomic_folder_failure_after_moving_the_old_one_aside_puts_it_back(tmp_path, monkeypatch):
    target = tmp_path / "run"
    with _atomic.atomic_output(target, directory=True) as tmp:
        (tmp / "model.txt").write_text("old")
    real = os.replace
    calls = []

    def replace(src, dst):
        calls.append(src)
        if len(calls) == 2:  # the old folder is aside, the new one not yet in place: Ctrl-C lands here
            raise KeyboardInterrupt
        return real(src, dst)

    monkeypatch.setattr(_atomic.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        with _atomic.atomic_output(target, directory=True) as tmp:
            (tmp / "model.txt").write_text("new")
    monkeypatch.undo()
    assert len(calls) >= 2  # (the third puts the old folder back)
    assert (target / "model.txt").read_text() == "old" and _debris(tmp_path) == []


def test_atomic_folder_replacing_a_file_leaves_no_debris(tmp_path):
    target = tmp_path / "out"
    target.write_text("a file where a folder goes")
    with _atomic.atomic_output(target, directory=True) as tmp:
        (tmp / "f.txt").write_text("x")
    assert (target / "f.txt").read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_file_full_disk_keeps_the_old_file(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")
    with pytest.raises(OSError, match="No space"):
        with _atomic.atomic_output(target) as tmp:
            tmp.write_text("partial")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


# ------------------------------------------------------------------ save_model
def test_save_model_interrupted_keeps_the_previous_model(tmp_path, monkeypatch):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.models import load_model, persistence, save_model

    X, y = ["good film", "bad film", "great movie", "awful movie"] * 3, [1, 0, 1, 0] * 3
    save_model(make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(X, y), tmp_path / "model")
    expected = load_model(tmp_path / "model").predict_proba(X)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(persistence, "_write_checksums", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_model(make_pipeline(TfidfVectorizer(), LogisticRegression(C=0.01)).fit(X, y), tmp_path / "model")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    np.testing.assert_array_equal(load_model(tmp_path / "model").predict_proba(X), expected)


def test_store_build_interrupted_keeps_the_previous_store(tmp_path, monkeypatch):
    pytest.importorskip("dask")
    import dask.bag as db

    from toolkit.distributed import CorpusStore, store

    pairs = [("A good film.", "pos"), ("A bad film.", "neg"), ("Meh.", "neg")]
    CorpusStore.build(db.from_sequence(pairs, npartitions=2), tmp_path / "store", scheduler="sync")

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "_encode_part", interrupted)
    with pytest.raises(KeyboardInterrupt):
        CorpusStore.build(db.from_sequence([("Other words", "pos")], npartitions=1), tmp_path / "store",
                          scheduler="sync")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]
    kept = CorpusStore(tmp_path / "store")
    assert kept.n_documents == 3 and kept.corpus(0).to_list() == [["a", "good", "film", "."], ["a", "bad", "film", "."]]


# ------------------------------------------------------------------ archive extraction
def test_extract_tar_interrupted_keeps_the_previous_folder(tmp_path, monkeypatch):
    import io
    import tarfile

    from toolkit.data.archives import extract_tar

    def tarball(path, texts):
        with tarfile.open(path, "w:gz") as tar:
            for i, text in enumerate(texts):
                info = tarfile.TarInfo(f"aclImdb/train/pos/{i}_9.txt")
                info.size = len(text.encode())
                tar.addfile(info, io.BytesIO(text.encode()))

    tarball(tmp_path / "old.tar.gz", ["old one", "old two"])
    tarball(tmp_path / "new.tar.gz", ["new one", "new two", "new three"])
    extract_tar(tmp_path / "old.tar.gz", tmp_path / "out")
    real = tarfile.TarFile.extract
    calls = []

    def interrupted(self, member, *args, **kwargs):
        calls.append(member)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, member, *args, **kwargs)

    monkeypatch.setattr(tarfile.TarFile, "extract", interrupted)
    with pytest.raises(KeyboardInterrupt):
        extract_tar(tmp_path / "new.tar.gz", tmp_path / "out")
    monkeypatch.undo()
    assert len(calls) == 2 and _debris(tmp_path) == []
    files = sorted((tmp_path / "out" / "aclImdb" / "train" / "pos").iterdir())
    assert [p.read_text() for p in files] == ["old one", "old two"]


def test_cli_vectorize_killed_while_writing_leaves_no_matrix_without_its_vocabulary(tmp_path, reviews):
    """``kill -9`` of ``toolkit vectorize -o`` during the vocabulary write: no new file under a real name."""
    source = tmp_path / "reviews.txt"
    source.write_text("\n".join(r.replace("\n", " ") for r in reviews[:10]) + "\n", encoding="utf-8")
    out = tmp_path / "x.npz"
    script = (
        "import os, signal, sys\n"
        "from toolkit.text.vocabulary import Vocabulary\n"
        "def dying(self, path):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "Vocabulary.to_json = dying\n"
        "from toolkit.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script, "vectorize", str(source), "-o", str(out)], env=env,
                            capture_output=True, timeout=300)
    assert result.returncode == -9, result.stderr[-2000:]
    assert not out.exists() and not (tmp_path / "x.vocab.json").exists()
    result = subprocess.run([sys.executable, "-m", "toolkit", "vectorize", str(source), "-o", str(out)], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert np.load(out)["x"].shape[0] == 10 and (tmp_path / "x.vocab.json").is_file()


def test_domain_vectors_killed_trainer_holding_the_lock_does_not_block_the_next_run(tmp_path, cache):
    """``kill -9`` while training (the build lock held): the next run trains at once, and no entry is half-written."""
    script = (
        "import os, signal, sys\n"
        "from toolkit.vectors import domain\n"
        "def dying(*args):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "if sys.argv[1] == 'die':\n"
        "    domain._train = dying\n"
        "docs = [['good', 'film', 'bad', 'movie', 'great', 'plot']] * 30\n"
        "kv = domain.domain_vectors('word2vec:dim=4,min_count=1,workers=1', docs)\n"
        "print(len(kv))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOOLKIT_CACHE_DIR": str(cache)}
    died = subprocess.run([sys.executable, "-c", script, "die"], env=env, capture_output=True, timeout=120)
    assert died.returncode == -9, died.stderr[-2000:]
    assert list((cache / "locks").glob("domain_vectors-*.lock"))  # left behind, but no longer held
    assert not (cache / "domain_vectors").exists() or list((cache / "domain_vectors").iterdir()) == []
    again = subprocess.run([sys.executable, "-c", script, "live"], env=env, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0 and again.stdout.split() == ["6"], again.stderr[-2000:]
    assert len(list((cache / "domain_vectors").iterdir())) == 1


def test_atomic_output_under_a_file_names_the_file(tmp_path):
    """A parent that is a file: one clear error (not "File exists: <parent>"), nothing written."""
    from toolkit.text.vocabulary import Vocabulary

    (tmp_path / "runs").write_text("not a folder")
    vocabulary = Vocabulary(["good", "film"], [2, 1])
    for target in (tmp_path / "runs" / "vocab.json", tmp_path / "runs" / "a" / "vocab.json"):
        with pytest.raises(NotADirectoryError, match=r"Cannot write .*vocab\.json: .*runs is a file, not a folder"):
            vocabulary.to_json(target)
    assert (tmp_path / "runs").read_text() == "not a folder" and sorted(os.listdir(tmp_path)) == ["runs"]


def test_train_word2vec_output_under_a_file_is_refused_before_training(tmp_path, monkeypatch):
    from gensim.models import Word2Vec

    from toolkit.vectors import train_word2vec

    def forbidden(*args, **kwargs):
        raise AssertionError("trained although the output can never be written")

    monkeypatch.setattr(Word2Vec, "train", forbidden)
    (tmp_path / "runs").write_text("not a folder")
    with pytest.raises(NotADirectoryError, match=r"Cannot write .*vectors\.bin: .*runs is a file, not a folder"):
        train_word2vec([["good", "film"]] * 20, vector_size=4, min_count=1, output=tmp_path / "runs" / "vectors.bin")


def test_domain_vectors_debris_of_a_killed_write_is_swept_once_stale(cache):
    from toolkit.vectors.domain import domain_vectors

    docs = [["good", "film", "bad", "movie", "great", "plot"]] * 30
    domain_vectors("word2vec:dim=4,min_count=1,workers=1", docs)
    (entry,) = (cache / "domain_vectors").iterdir()
    debris = cache / "domain_vectors" / f".{entry.name}.0123456789ab.tmp"  # a write killed before its rename
    debris.mkdir()
    (debris / "vectors.npy").write_bytes(b"partial")
    os.utime(debris, (0, 0))
    domain_vectors("word2vec:dim=5,min_count=1,workers=1", docs)  # another entry
    assert not debris.exists() and len(list((cache / "domain_vectors").iterdir())) == 2
