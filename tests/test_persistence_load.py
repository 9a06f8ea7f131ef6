"""load_model's cost for large scikit-learn models (skops.io): what it reads, and that its checks hold."""

from __future__ import annotations

import zipfile
from fractions import Fraction

import numpy as np
import pytest

from toolkit.exceptions import ModelFormatError
from toolkit.models import persistence
from toolkit.models.persistence import load_model, save_model


@pytest.fixture(scope="module")
def nbsvm_folder(imdb_small, tmp_path_factory):
    """A saved NBSVM 1-2-gram pipeline (a vocabulary with an n-gram index) and its held-out scores."""
    from sklearn.pipeline import make_pipeline

    from toolkit import BagEncoder, NBSVMClassifier, SpacyTokenizer

    texts, labels = imdb_small
    model = make_pipeline(SpacyTokenizer(ngram_range=(1, 2)), BagEncoder(output_mode="count"), NBSVMClassifier())
    model.fit(texts[:300], labels[:300])
    folder = save_model(model, tmp_path_factory.mktemp("load") / "nbsvm")
    return folder, texts[300:400], model.decision_function(texts[300:400])


def _count_member_reads(monkeypatch) -> tuple[dict, dict]:
    """Count, per archive member, how often it is opened (ZipFile.open, which ZipFile.read also calls), and
    how often it is read whole into a bytes object (ZipFile.read)."""
    opened: dict = {}
    whole: dict = {}
    real_open, real_read = zipfile.ZipFile.open, zipfile.ZipFile.read

    def counting_open(self, name, *args, **kwargs):
        key = name.filename if isinstance(name, zipfile.ZipInfo) else name
        opened[key] = opened.get(key, 0) + 1
        return real_open(self, name, *args, **kwargs)

    def counting_read(self, name, *args, **kwargs):
        data = real_read(self, name, *args, **kwargs)
        key = name.filename if isinstance(name, zipfile.ZipInfo) else name
        if data[:6] == b"\x93NUMPY":
            whole[key] = whole.get(key, 0) + 1
        return data

    monkeypatch.setattr(zipfile.ZipFile, "open", counting_open)
    monkeypatch.setattr(zipfile.ZipFile, "read", counting_read)
    return opened, whole


def test_persistence_load_reads_each_skops_array_once(nbsvm_folder, monkeypatch):
    """The type audit and the construction share one read of model.skops: every .npy member is read once.

    Before, ``skops.io.get_untrusted_types`` and ``skops.io.load`` each read (and CRC-checked) every array:
    for a saved STACK_MANY_JOB that was 478 MB read twice.
    """
    folder, docs, expected = nbsvm_folder
    opened, _ = _count_member_reads(monkeypatch)
    model = load_model(folder)
    arrays = {name: n for name, n in opened.items() if name.endswith(".npy")}
    assert len(arrays) > 5
    assert set(arrays.values()) == {1}, arrays
    np.testing.assert_array_equal(model.decision_function(docs), expected)


def test_persistence_load_reads_arrays_straight_into_them(nbsvm_folder, monkeypatch):
    """No array member is first read whole into a bytes object (that numpy.load then copies): the member is
    read into the array. For a saved STACK_MANY_JOB that was 478 MB of extra memory, touched page by page
    (peak RSS of the load 1,555 -> 1,087 MB)."""
    folder, docs, expected = nbsvm_folder
    _, whole = _count_member_reads(monkeypatch)
    model = load_model(folder)
    assert whole == {}
    np.testing.assert_array_equal(model.decision_function(docs), expected)


def test_persistence_load_arrays_are_those_of_skops(tmp_path):
    """dtypes, shapes, memory order, 0-d and empty arrays, writeability: the same arrays as skops.io.load's."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    clf = LogisticRegression().fit(rng.normal(size=(40, 3)), np.arange(40) % 3)
    extras = {"fortran_": np.asfortranarray(rng.normal(size=(4, 3))), "scalar_": np.array(3.5),
              "empty_": np.empty((0, 3), dtype=np.float32), "narrow_": np.arange(300, dtype=np.uint16),
              "big_endian_": np.arange(5, dtype=">i4"), "bools_": np.array([True, False]),
              "text_": np.array(["a", "bé"]), "complex_": np.array([1 + 2j])}
    for name, value in extras.items():
        setattr(clf, name, value)
    folder = save_model(clf, tmp_path / "lr")
    loaded = load_model(folder)
    reference = sio.load(folder / "model.skops", trusted=sio.get_untrusted_types(file=folder / "model.skops"))
    for name in [*extras, "coef_", "intercept_", "classes_"]:
        got, want = getattr(loaded, name), getattr(reference, name)
        assert type(got) is np.ndarray and got.dtype == want.dtype and got.shape == want.shape, name
        assert got.flags.f_contiguous == want.flags.f_contiguous and got.flags.writeable, name
        np.testing.assert_array_equal(got, want)
    assert loaded.fortran_.flags.f_contiguous and not loaded.fortran_.flags.c_contiguous


def _rewrite_member(skops_file, name, data: bytes) -> None:
    """Replace one member of a zip archive (stored, as skops writes), keeping the others."""
    members = {}
    with zipfile.ZipFile(skops_file) as zf:
        for info in zf.infolist():
            members[info.filename] = zf.read(info.filename)
    members[name] = data
    with zipfile.ZipFile(skops_file, "w", compression=zipfile.ZIP_STORED) as zf:
        for member, content in members.items():
            zf.writestr(member, content)


def _an_array_member(skops_file) -> str:
    with zipfile.ZipFile(skops_file) as zf:
        return max((i for i in zf.infolist() if i.filename.endswith(".npy")), key=lambda i: i.file_size).filename


def test_persistence_load_refuses_an_object_array_member(nbsvm_folder, tmp_path):
    """An array member swapped for a pickled object array (checksums rewritten to match) is refused, not unpickled."""
    import io
    import shutil

    from toolkit.models.persistence import _write_checksums

    folder = tmp_path / "m"
    shutil.copytree(nbsvm_folder[0], folder)
    buffer = io.BytesIO()
    np.save(buffer, np.array([Fraction(1, 3)], dtype=object), allow_pickle=True)
    _rewrite_member(folder / "model.skops", _an_array_member(folder / "model.skops"), buffer.getvalue())
    _write_checksums(folder, ("config.json", "model.skops", "spans.npz"))
    with pytest.raises(ModelFormatError, match=r"model\.skops cannot be loaded by skops\.io \(Object arrays cannot be "
                                               r"loaded when allow_pickle=False\)"):
        load_model(folder)


def test_persistence_load_still_checks_the_zip_crc_of_arrays(nbsvm_folder, tmp_path):
    """A flipped byte inside an array member, with checksums.json rewritten to match, fails the member's CRC."""
    import shutil
    import struct

    from toolkit.models.persistence import _write_checksums

    folder = tmp_path / "m"
    shutil.copytree(nbsvm_folder[0], folder)
    file = folder / "model.skops"
    with zipfile.ZipFile(file) as zf:
        info = zf.getinfo(_an_array_member(file))
    raw = bytearray(file.read_bytes())
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    last = info.header_offset + 30 + name_len + extra_len + info.compress_size - 1
    raw[last] ^= 0xFF  # the last byte of the array's data
    file.write_bytes(bytes(raw))
    _write_checksums(folder, ("config.json", "model.skops", "spans.npz"))
    # (before the arrays were read into place, the first reading, by the type audit, failed: "is not a skops file")
    with pytest.raises(ModelFormatError,
                       match=r"model\.skops (cannot be loaded by skops\.io|is not a skops file) \(Bad CRC-32"):
        load_model(folder)


def test_persistence_load_without_skops_internals_reads_the_public_way(nbsvm_folder, monkeypatch):
    """With a skops whose private modules differ, load_model falls back to the public API: same model."""
    folder, docs, expected = nbsvm_folder

    def missing():
        raise ImportError("no skops.io._audit.get_tree")

    monkeypatch.setattr(persistence, "_skops_tree_reader", missing)
    np.testing.assert_array_equal(load_model(folder).decision_function(docs), expected)


def test_persistence_load_another_skops_series_reads_the_public_way(nbsvm_folder, monkeypatch):
    """The private modules were read from skops 0.16; pyproject allows 0.10-0.16, whose signatures may differ:
    another series must not reach them (it could fail as "not a skops file"), but load through the public API."""
    import skops
    import skops.io as sio

    folder, docs, expected = nbsvm_folder
    public = []
    real_get_untrusted_types = sio.get_untrusted_types
    monkeypatch.setattr(sio, "get_untrusted_types", lambda **kw: public.append(1) or real_get_untrusted_types(**kw))
    monkeypatch.setattr(skops, "__version__", "0.12.0")
    with pytest.raises(ImportError, match=r"skops 0\.12\.0: not the 0\.16\. series"):
        persistence._skops_tree_reader()
    np.testing.assert_array_equal(load_model(folder).decision_function(docs), expected)
    assert public == [1]


@pytest.mark.parametrize("internals", [True, False])
def test_persistence_load_still_refuses_untrusted_types(tmp_path, monkeypatch, internals):
    """A type outside scikit-learn / toolkit / NumPy / SciPy is refused before anything is constructed."""
    from sklearn.dummy import DummyClassifier

    from toolkit.models.persistence import _write_checksums

    if not internals:
        monkeypatch.setattr(persistence, "_skops_tree_reader", lambda: (_ for _ in ()).throw(ImportError("x")))
    clf = DummyClassifier(strategy="most_frequent").fit([[0], [1]], [0, 1])
    folder = save_model(clf, tmp_path / "dummy")
    import skops.io as sio

    clf.untrusted_ = Fraction(1, 3)
    sio.dump(clf, folder / "model.skops")
    _write_checksums(folder, ("config.json", "model.skops"))
    constructed = []
    monkeypatch.setattr(Fraction, "__new__", lambda *a, **k: constructed.append(a) or object.__new__(Fraction))
    with pytest.raises(ModelFormatError, match=r"model\.skops names types outside .*fractions\.Fraction"):
        load_model(folder)
    assert constructed == []


def test_persistence_load_a_damaged_skops_file_is_a_format_error(nbsvm_folder, tmp_path):
    """A model.skops whose schema is not skops' (checksums rewritten to match) names the file."""
    import shutil

    from toolkit.models.persistence import _write_checksums

    folder = tmp_path / "m"
    shutil.copytree(nbsvm_folder[0], folder)
    with zipfile.ZipFile(folder / "model.skops", "w") as zf:
        zf.writestr("schema.json", '{"protocol": 2}')
    _write_checksums(folder, ("config.json", "model.skops", "spans.npz"))
    with pytest.raises(ModelFormatError, match=r"model\.skops is not a skops file"):
        load_model(folder)


def test_persistence_load_vocabulary_counts_after_unpickling(imdb_tokens):
    """An unpickled vocabulary keeps its saved (narrow) counts until they are read; read, they are the int64,
    read-only counts of the original, and equality, length and a second pickling see the same vocabulary."""
    import pickle

    from toolkit.text import Vocabulary

    vocab = Vocabulary.from_documents(imdb_tokens[0][:200])
    loaded = pickle.loads(pickle.dumps(vocab))
    assert loaded._counts.dtype != np.int64  # not widened at load (43 MB for 5.4 million n-grams)
    assert len(loaded) == len(vocab) and loaded == vocab
    again = pickle.loads(pickle.dumps(loaded))
    counts = loaded.counts
    assert counts.dtype == np.int64 and not counts.flags.writeable
    np.testing.assert_array_equal(counts, vocab.counts)
    assert again == vocab and again.to_dict() == vocab.to_dict()
    with pytest.raises(ValueError):
        counts[2] = 0


def test_persistence_load_an_array_left_unread_fails_loudly(nbsvm_folder, monkeypatch):
    """Were a deferred array member never read into its node, the load fails naming the file: no array is ever
    silently empty or made from the placeholder."""
    monkeypatch.setattr(persistence, "_read_deferred_arrays", lambda tree, zip_file: None)
    with pytest.raises(ModelFormatError, match=r"model\.skops cannot be loaded by skops\.io"):
        load_model(nbsvm_folder[0])
