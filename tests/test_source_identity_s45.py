"""Caches keyed on a source file: a rewrite that puts its size and modification time back is another file.

``cp -p``, ``rsync -t``, ``tar -x`` and ``touch -r`` leave a different content with the size and mtime
of the one a cache saw. The rewrites here go through a new file renamed onto the old (``rsync -t``,
``tar -x``), so the inode changes whatever the clock's granularity.
"""

import hashlib
import shutil
import tarfile

import pytest
from conftest import rewrite_keeping_mtime as _rewrite


def _vectors(group):
    """word2vec text of 4 words, 2 dims: the two words of ``group`` share one vector, the others another."""
    rows = {w: "1.0 0.0" if w in group else "0.0 1.0" for w in ("w0", "w1", "w2", "w3")}
    return ("4 2\n" + "".join(f"{w} {v}\n" for w, v in rows.items())).encode()


def test_word_clusters_follow_a_restored_mtime_rewrite_of_the_vectors(tmp_path):
    from toolkit.vectors.clusters import WordClusterer

    path = tmp_path / "vecs.txt"
    path.write_bytes(_vectors(("w0", "w1")))
    docs = [["w0", "w1", "w2", "w3"]]

    def groups():
        clu = WordClusterer(vectors=str(path), n_clusters=2, subwords=False).fit(docs)
        label = dict(zip(clu.words_.tolist(), clu.labels_.tolist()))
        return label["w0"] == label["w1"], label["w0"] == label["w2"]

    assert groups() == (True, False)
    _rewrite(path, _vectors(("w0", "w2")))
    assert groups() == (False, True)  # was (True, False): the memo's clusters of the earlier vectors


def test_word_clusters_of_a_train0_domain_spec_follow_a_restored_mtime_rewrite(tmp_path):
    from toolkit.vectors.clusters import WordClusterer

    path = tmp_path / "unlabelled.txt"
    path.write_bytes(b"one good film\none bad film\n" * 20)  # (texts of no other test: one memo)
    spec = f"word2vec:{path}:dim=8,min_count=1,epochs=1,train=0"
    docs = [["film"]]
    assert sorted(WordClusterer(vectors=spec, n_clusters=2).fit(docs).words_) == ["bad", "film", "good", "one"]
    _rewrite(path, b"two sad movie\ntwo mad show\n" * 20)
    # was the words of the earlier texts: the memo's clusters, keyed by the source marker's name
    assert sorted(WordClusterer(vectors=spec, n_clusters=2).fit(docs).words_) == ["mad", "movie", "sad", "show", "two"]


def test_docvec_source_identity_tells_a_restored_mtime_rewrite(tmp_path):
    from toolkit.vectors import docvec

    path = tmp_path / "unlabelled.txt"
    path.write_bytes(b"a good film\na bad film\n")
    before = docvec._source_identity(str(path))
    _rewrite(path, b"a sad movie\na mad movie")  # (same size: one byte less text, no final newline)
    assert docvec._source_identity(str(path)) != before  # equal before: the doc model of the old texts


def test_spacy_pipeline_folder_rewritten_with_its_mtimes_is_loaded_again(tmp_path):
    import spacy
    from spacy.symbols import ORTH

    from toolkit.text.tokenizer import SpacyTokenizer

    def saved(word):
        nlp = spacy.blank("en")
        nlp.tokenizer.add_special_case(word, [{ORTH: word[:3]}, {ORTH: word[3:]}])
        folder = tmp_path / word
        nlp.to_disk(folder)
        return folder

    folder, other = saved("zorbx"), saved("quxfy")
    assert SpacyTokenizer(model=str(folder)).fit_transform(["zorbx quxfy"])[0] == ["zor", "bx", "quxfy"]
    for src in sorted(p for p in other.rglob("*") if p.is_file()):
        dst = folder / src.relative_to(other)
        if dst.read_bytes() != src.read_bytes():
            _rewrite(dst, src.read_bytes())
    # was ["zor", "bx", "quxfy"]: the pipeline loaded from the folder's earlier files
    assert SpacyTokenizer(model=str(folder)).fit_transform(["zorbx quxfy"])[0] == ["zorbx", "qux", "fy"]


def test_cli_preloaded_dataset_is_not_served_for_a_restored_mtime_rewrite(tmp_path):
    from toolkit.cli._inputs import check_training_classes, load_data

    path = tmp_path / "train.csv"
    path.write_bytes(b"text,label\ngood film,pos\nbad film,neg\n")
    check_training_classes(path)
    _rewrite(path, b"text,label\nnice film,pos\nsad film,neg\n")
    assert list(load_data(path).texts) == ["nice film", "sad film"]  # was the preloaded earlier rows


def test_domain_vectors_marker_checks_the_content_and_keeps_a_copy(tmp_path, monkeypatch):
    from toolkit import _hashing
    from toolkit.vectors.domain import domain_vectors, domain_vectors_cached

    cache = tmp_path / "cache"
    path = tmp_path / "unlabelled.txt"
    path.write_bytes(b"a good film\na bad film\n" * 20)
    spec = f"word2vec:{path}:dim=8,min_count=1,epochs=1,train=0"
    domain_vectors(spec, [["film"]], cache_dir=cache)
    assert domain_vectors_cached(spec, cache_dir=cache) is True

    _rewrite(path, b"a sad movie\na mad show\n" * 20)  # another content: its vectors are not trained yet
    assert domain_vectors_cached(spec, cache_dir=cache) is False  # was True
    kv = domain_vectors(spec, [["film"]], cache_dir=cache)
    assert "movie" in kv and "film" not in kv
    assert domain_vectors_cached(spec, cache_dir=cache) is True

    # the same content, copied onto the path (rsync -t from another machine): found, hashed once only
    _rewrite(path, path.read_bytes())
    hashed = []
    real = _hashing.hash_file
    monkeypatch.setattr(_hashing, "hash_file", lambda p, *a: hashed.append(p) or real(p, *a))
    assert domain_vectors_cached(spec, cache_dir=cache) is True
    assert domain_vectors_cached(spec, cache_dir=cache) is True
    assert len(hashed) == 1, hashed


def test_download_stamp_and_digest_memo_check_the_inode_and_a_copy_is_hashed_once(tmp_path, monkeypatch):
    from toolkit.data import _download, datasets

    path = tmp_path / "data.bin"
    path.write_bytes(b"right bytes")
    good = hashlib.sha256(b"right bytes").hexdigest()
    _download.mark_verified(path, "sha256", good)
    assert _download.is_verified(path, "sha256", good)
    assert datasets._hash_memo(path, "sha256", cache_dir=tmp_path / "c") == good
    _rewrite(path, b"wrong bytes")
    assert not _download.is_verified(path, "sha256", good)  # was True: the wrong file taken as verified
    assert datasets._hash_memo(path, "sha256", cache_dir=tmp_path / "c") == hashlib.sha256(b"wrong bytes").hexdigest()

    # a verified file copied with its stamp elsewhere (cp -p): hashed once, then the stamp serves again
    path.write_bytes(b"right bytes")
    _download.mark_verified(path, "sha256", good)
    copy = tmp_path / "other" / "data.bin"
    copy.parent.mkdir()
    shutil.copy2(path, copy)
    shutil.copy2(_download._stamp_path(path), _download._stamp_path(copy))
    hashed = []
    real = _download.hash_file
    monkeypatch.setattr(_download, "hash_file", lambda p, *a: hashed.append(p) or real(p, *a))

    def no_download(*args, **kwargs):
        pytest.fail("downloaded a file that was there")

    url = (tmp_path / "source" / "data.bin").as_uri()  # (never read: the stubbed downloader fails if called)
    for _ in range(2):
        assert _download.download_verified(url, copy, known_hash=f"sha256:{good}", downloader=no_download) == copy
    assert len(hashed) == 1, hashed


def _imdb_tar(path, word):
    """A plain (uncompressed) aclImdb tarball of one review per class whose text ends in ``word``."""
    with tarfile.open(path, "w") as tar:
        for cls, name in (("pos", "0_9.txt"), ("neg", "1_2.txt")):
            src = path.parent / name
            src.write_text(f"{cls} review {word}", encoding="utf-8")
            info = tar.gettarinfo(src, f"aclImdb/train/{cls}/{name}")
            info.mtime = 0
            with open(src, "rb") as fh:
                tar.addfile(info, fh)
    return path.read_bytes()


def test_load_imdb_parsed_split_follows_a_restored_mtime_rewrite(tmp_path):
    from toolkit.data import datasets

    tar = tmp_path / "t" / "aclImdb_v1.tar"
    tar.parent.mkdir()
    _imdb_tar(tar, "good")
    cache = tmp_path / "cache"
    assert sorted(datasets.load_imdb(path=tar, cache_dir=cache).texts) == ["neg review good", "pos review good"]
    for word in ("fine", "okay"):  # the process's memo, then the parsed split on disk
        data = _imdb_tar(tmp_path / "new.tar", word)
        datasets._IMDB_MEMO.clear()
        if word == "fine":
            datasets.load_imdb(path=tar, cache_dir=cache)  # in the memo again
        _rewrite(tar, data)
        if word == "okay":
            datasets._IMDB_MEMO.clear()
        # was the earlier reviews: from the memo ("fine"), from the parsed split in the cache ("okay")
        assert sorted(datasets.load_imdb(path=tar, cache_dir=cache).texts) == [f"neg review {word}",
                                                                               f"pos review {word}"]
