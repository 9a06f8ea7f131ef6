"""save_model of scikit-learn text pipelines with large vocabularies (forty-seventh session).

skops stores a dict entry by entry, a JSON node of ~600 bytes each: a
CountVectorizer(ngram_range=(1, 3)) + LogisticRegression fitted on 6,000 IMDB
reviews (a 48 MB pickle) saved to a 929 MB model.skops that loaded in 110 s.
save_model now stores a large str -> int dict, or set / list of str, as arrays
(``_StringTable``, format version 4); folders written before still load.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from toolkit.exceptions import ModelFormatError
from toolkit.models import persistence
from toolkit.models.persistence import _write_checksums, load_model, save_model


def _folder_bytes(folder):
    return sum(p.stat().st_size for p in folder.iterdir())


@pytest.fixture(scope="module")
def ngram_pipeline(imdb_small):
    """CountVectorizer(1-2-grams) + LogisticRegression on 150 real IMDB training reviews, and 60 other reviews."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts, labels = imdb_small
    pipe = make_pipeline(CountVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=1000))
    return pipe.fit(texts[:150], labels[:150]), texts[500:560]


def test_persistence_size_vectorizer_pipeline_is_small_and_predicts_the_same(ngram_pipeline, tmp_path,
                                                                              monkeypatch):
    pipe, other = ngram_pipeline
    vocabulary = pipe[0].vocabulary_
    assert len(vocabulary) > 20_000
    folder = save_model(pipe, tmp_path / "new")
    assert pipe[0].vocabulary_ is vocabulary  # the estimator saved is left as it was
    # the layout before: a JSON node per n-gram (written by the same code with packing off), ~23x larger
    monkeypatch.setattr(persistence, "_PACK_MIN_ITEMS", float("inf"), raising=False)
    old = save_model(pipe, tmp_path / "old")
    monkeypatch.undo()
    assert _folder_bytes(folder) * 10 < _folder_bytes(old), (_folder_bytes(folder), _folder_bytes(old))
    assert json.loads((old / "config.json").read_text())["format_version"] == 2
    config = json.loads((folder / "config.json").read_text())
    assert config["format_version"] == 4 and config["kind"] == "sklearn"  # older toolkits: "Upgrade toolkit"
    assert sorted(p.name for p in folder.iterdir()) == ["checksums.json", "config.json", "model.skops"]

    expected = pipe.predict_proba(other)
    for path in (folder, old):  # the new folder, and one of the old layout, load to the same model
        loaded = load_model(path)
        np.testing.assert_array_equal(loaded.predict_proba(other), expected)
        assert loaded[0].vocabulary_ == vocabulary and list(loaded[0].vocabulary_) == list(vocabulary)
        assert {type(v) for v in loaded[0].vocabulary_.values()} == {int}
        assert (loaded[0].get_feature_names_out() == pipe[0].get_feature_names_out()).all()
    # the same model saves to the same bytes
    again = save_model(load_model(folder), tmp_path / "again")
    assert (again / "model.skops").read_bytes() == (folder / "model.skops").read_bytes()


def test_persistence_size_sets_lists_and_unpackable_dicts_round_trip(imdb_small, tmp_path):
    """Sets, frozensets and lists of str are packed too, keeping their type; small dicts, a dict of str -> bool
    and one of NumPy integers keep skops' own nodes (packing would change their values' types)."""
    from sklearn.feature_extraction.text import CountVectorizer

    texts, _ = imdb_small
    vec = CountVectorizer().fit(texts[:100])
    words = sorted(vec.vocabulary_)
    assert len(words) > 2_000
    vec.rare_ = set(words[::2])
    vec.frozen_ = frozenset(words[1::2])
    vec.names_ = words + ["caf\u00e9 \U0001f600", "\ud800 lone", ""]  # non-ASCII, a lone surrogate, empty
    vec.small_ = {"a": 1, "b": 2}
    vec.flags_ = {w: i % 2 == 0 for i, w in enumerate(words)}
    vec.np_ints_ = {w: np.int64(i) for i, w in enumerate(words[:1200])}
    folder = save_model(vec, tmp_path / "vec")
    loaded = load_model(folder)
    for name in ("vocabulary_", "rare_", "frozen_", "names_", "small_", "flags_", "np_ints_"):
        assert type(getattr(loaded, name)) is type(getattr(vec, name)), name
        assert getattr(loaded, name) == getattr(vec, name), name
    assert {type(v) for v in loaded.flags_.values()} == {bool}
    assert {type(v) for v in loaded.np_ints_.values()} == {np.int64}
    assert (loaded.transform(texts[100:120]) != vec.transform(texts[100:120])).nnz == 0


def test_persistence_size_shared_and_nested_vectorizers(imdb_small, tmp_path):
    """Vectorizers inside a FeatureUnion inside a Pipeline are packed; an object reached twice stays shared."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    texts, labels = imdb_small
    pipe = make_pipeline(make_union(TfidfVectorizer(ngram_range=(1, 2)),
                                    TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4))),
                         LogisticRegression()).fit(texts[:80], labels[:80])
    shared = pipe[0].transformer_list[0][1].vocabulary_
    pipe[-1].words_ = shared  # one dict in two places
    folder = save_model(pipe, tmp_path / "union")
    with zipfile.ZipFile(folder / "model.skops") as archive:
        schema = archive.read("schema.json")
    # three references to two tables (skops writes a shared object at each place, with one id)
    assert schema.count(b'"_StringTable"') == 3 and len(schema) < 200_000
    loaded = load_model(folder)
    np.testing.assert_array_equal(loaded.predict_proba(texts[500:530]), pipe.predict_proba(texts[500:530]))
    assert loaded[-1].words_ is loaded[0].transformer_list[0][1].vocabulary_
    assert loaded[0].transformer_list[1][1].vocabulary_ == pipe[0].transformer_list[1][1].vocabulary_


def _table_members(folder, where):
    """The .npy members (text, lengths, values) of the table named ``where`` in ``folder/model.skops``."""
    with zipfile.ZipFile(folder / "model.skops") as archive:
        schema = json.loads(archive.read("schema.json"))
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("__class__") == "_StringTable":
                _, name, *arrays = node["content"]["content"]
                if json.loads(name["content"]) == where:
                    return [a.get("file") for a in arrays]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    raise AssertionError(f"no table {where}")


def _replace_member(path, name, data):
    src = path.read_bytes()
    with zipfile.ZipFile(path.with_suffix(".tmp"), "w") as out, zipfile.ZipFile(path) as zin:
        for info in zin.infolist():
            out.writestr(info, data if info.filename == name else zin.read(info.filename))
    path.with_suffix(".tmp").replace(path)
    assert path.read_bytes() != src


def test_persistence_size_damaged_table_is_a_clear_error(ngram_pipeline, tmp_path):
    pipe, _ = ngram_pipeline
    folder = save_model(pipe, tmp_path / "model")
    text, lengths, values = _table_members(folder, "CountVectorizer.vocabulary_")
    assert text and lengths and values
    skops = folder / "model.skops"

    # damaged after the save: the checksum names the file
    original = skops.read_bytes()
    _replace_member(skops, lengths, b"\x93NUMPY garbage")
    with pytest.raises(ModelFormatError, match=r"model\.skops does not match the SHA-256"):
        load_model(folder)

    # damaged and resealed (a checksum is no signature): the table's own checks name it
    import io

    skops.write_bytes(original)
    with zipfile.ZipFile(skops) as archive:
        array = np.load(io.BytesIO(archive.read(lengths)))
    array[0] += 3
    buffer = io.BytesIO()
    np.save(buffer, array)
    _replace_member(skops, lengths, buffer.getvalue())
    _write_checksums(folder, ("config.json", "model.skops"))
    with pytest.raises(ModelFormatError, match=r"model\.skops cannot be loaded by skops\.io \(the packed "
                                               r"CountVectorizer\.vocabulary_ \('dict' of strings\) is damaged: "
                                               r"its lengths add up to [\d,]+ characters, its text holds [\d,]+\)"):
        load_model(folder)

    skops.write_bytes(original)
    with zipfile.ZipFile(skops) as archive:
        array = np.load(io.BytesIO(archive.read(values)))
    buffer = io.BytesIO()
    np.save(buffer, array[:-1])
    _replace_member(skops, values, buffer.getvalue())
    _write_checksums(folder, ("config.json", "model.skops"))
    with pytest.raises(ModelFormatError, match=r"packed CountVectorizer\.vocabulary_ .* is damaged: its values are "
                                               r"not a 1-D integer array of [\d,]+ entries"):
        load_model(folder)
