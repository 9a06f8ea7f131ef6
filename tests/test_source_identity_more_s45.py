"""More caches keyed on a source file: a rewrite that puts its size and modification time back is another file.

As in ``test_source_identity_s45.py``: the rewrites go through a new file renamed onto the old (``rsync -t``,
``tar -x``), so the inode changes whatever the clock's granularity; one rewrites in place (``cp -p`` onto an
existing file), which keeps the inode and changes only the change time.
"""

import os
import time

import pytest
from conftest import rewrite_keeping_mtime as _rewrite


def _rewrite_in_place(path, data: bytes):
    """``path`` overwritten in place with ``data`` (same size: ``cp -p`` onto it), its mtime put back."""
    before = path.stat()
    assert len(data) == before.st_size
    time.sleep(0.02)  # past the file system clock's tick (a few ms), else the change time cannot move
    with open(path, "r+b") as fh:
        fh.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    assert after.st_ctime_ns != before.st_ctime_ns


def test_manifest_path_follows_a_restored_mtime_rewrite(tmp_path):
    from toolkit.data import get_manifest
    from toolkit.data.manifests import _BUILTIN_DIR

    text = (_BUILTIN_DIR / "glove.6B.50d.toml").read_text(encoding="utf-8")
    assert "50 dimensions" in text
    path = tmp_path / "glove.6B.50d.toml"
    path.write_text(text, encoding="utf-8")
    assert "50 dimensions" in get_manifest(path).description
    _rewrite(path, text.replace("50 dimensions", "51 dimensions").encode())
    assert "51 dimensions" in get_manifest(path).description  # was "50 dimensions": the parsed earlier text


def test_store_vocabulary_memo_follows_a_restored_mtime_rewrite(tmp_path):
    from toolkit.distributed import store as store_module
    from toolkit.text.vocabulary import Vocabulary

    path = tmp_path / "vocabulary.json"
    Vocabulary(["good", "film"], [3, 2]).to_json(path)
    assert store_module._vocabulary_memo(str(path)).tokens[2:] == ["good", "film"]
    other = tmp_path / "other.json"
    Vocabulary(["film", "good"], [3, 2]).to_json(other)
    _rewrite(path, other.read_bytes())
    # was ["good", "film"]: the memo's vocabulary, keyed by the mtime alone; a worker encoded ids of it
    assert store_module._vocabulary_memo(str(path)).tokens[2:] == ["film", "good"]


def test_store_handle_refuses_a_store_json_rewritten_in_place_but_not_a_chmod(tmp_path):
    import dask.bag as db

    from toolkit.distributed import CorpusStore
    from toolkit.exceptions import DataError

    pairs = db.from_sequence([("a good film", "pos"), ("a bad film", "neg")], npartitions=1)
    store = CorpusStore.build(pairs, tmp_path / "s", scheduler="sync")
    meta = store.path / "store.json"
    time.sleep(0.02)  # (past the clock tick of the build's write: the chmod moves the change time)
    meta.chmod(0o444)  # a change of the change time alone (chmod, a hard link): the same build, read on
    assert store.corpus(0).n_tokens == 6
    raw = meta.read_bytes()
    size = store._vocabulary_size
    other = raw.replace(f'"vocabulary_size": {size}'.encode(), f'"vocabulary_size": {size + 1}'.encode())
    assert other != raw and len(other) == len(raw)
    meta.chmod(0o644)
    _rewrite_in_place(meta, other)  # another build's store.json, same inode, size and mtime
    with pytest.raises(DataError, match="was built again"):  # was read on, as this handle's build
        store.corpus(0)


def _train_calls(monkeypatch):
    from toolkit.vectors import domain

    calls = []
    real = domain._train
    monkeypatch.setattr(domain, "_train", lambda *a: calls.append(1) or real(*a))
    return calls


def test_domain_vectors_memo_hit_still_fills_another_cache_dir(tmp_path, monkeypatch):
    from toolkit.vectors.domain import domain_vectors, domain_vectors_cached
    from toolkit.vectors.loading import entry_folder

    calls = _train_calls(monkeypatch)
    spec = ("word2vec", ("one more film here", "one less film there") * 10, "dim=8,min_count=1,epochs=1,train=0")
    first, second = tmp_path / "a", tmp_path / "b"
    domain_vectors(spec, [["film"]], cache_dir=first)
    assert domain_vectors_cached(spec, cache_dir=first) is True
    kv = domain_vectors(spec, [["film"]], cache_dir=second)
    # was False, and kv the entry of the first cache: a later process with the second cache trained again
    assert domain_vectors_cached(spec, cache_dir=second) is True
    assert entry_folder(kv).parent.parent == second
    assert len(calls) == 1  # the vectors held were written there, not trained again
    assert domain_vectors(spec, [["film"]], cache_dir=first).vectors.tolist() == kv.vectors.tolist()


def test_domain_vectors_source_rewritten_during_training_is_not_recorded_as_trained(tmp_path, monkeypatch):
    from toolkit.vectors import domain

    path = tmp_path / "unlabelled.txt"
    path.write_bytes(b"one fine show\none dull show\n" * 20)
    spec = f"word2vec:{path}:dim=8,min_count=1,epochs=1,train=0"
    real = domain._train

    def rewritten_meanwhile(*args):
        kv = real(*args)
        _rewrite(path, b"two mild tune\ntwo loud tune\n" * 20)  # e.g. a copy arriving (rsync -t) while training
        return kv

    monkeypatch.setattr(domain, "_train", rewritten_meanwhile)
    cache = tmp_path / "cache"
    kv = domain.domain_vectors(spec, [["show"]], cache_dir=cache)
    assert "show" in kv and "tune" not in kv  # the texts read before the rewrite
    # was True: the marker recorded the key of the texts read under the rewritten file's fingerprint, so the
    # vectors of "show" were taken for the vectors of "tune"
    assert domain.domain_vectors_cached(spec, cache_dir=cache) is False
    monkeypatch.setattr(domain, "_train", real)
    assert "tune" in domain.domain_vectors(spec, [["show"]], cache_dir=cache)
    assert domain.domain_vectors_cached(spec, cache_dir=cache) is True


def test_fasttext_subwords_follow_a_bin_rewritten_with_its_mtime_put_back(tmp_path):
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    from toolkit.vectors.loading import load_vectors, open_subwords, subword_entry

    docs = [["a", "good", "film"], ["a", "bad", "film"]] * 5

    def model_bin(seed, path):
        model = FastText(vector_size=4, min_count=1, epochs=1, bucket=500, workers=1, seed=seed)
        model.build_vocab(docs)
        model.train(docs, total_examples=len(docs), epochs=1)
        save_facebook_model(model, str(path))
        return path.read_bytes()

    path, cache = tmp_path / "ft.bin", tmp_path / "cache"
    model_bin(0, path)
    folder = subword_entry(load_vectors(path, cache_dir=cache))
    first = open_subwords(folder, owner="test").vectors_ngrams.copy()
    _rewrite(path, model_bin(1, tmp_path / "other.bin"))  # another model, same size and mtime
    kv = load_vectors(path, cache_dir=cache)  # finds the rewrite, builds the entry again under the same name
    assert subword_entry(kv) == folder and kv.vectors_ngrams.tolist() != first.tolist()
    # was the first model's: the memo's subword vectors, by the entry's name
    assert open_subwords(folder, owner="test").vectors_ngrams.tolist() == kv.vectors_ngrams.tolist()
