"""save_model / load_model for scikit-learn estimators without Keras parts (skops.io, no pickle),
and the compact state of Vocabulary that keeps those files (and pickles) small."""

from __future__ import annotations

import json
import zipfile
import pickle
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from toolkit.exceptions import ModelFormatError
from toolkit.models.persistence import _write_checksums, load_model, save_model


def _nbsvm_pipeline():
    from sklearn.pipeline import make_pipeline

    from toolkit import BagEncoder, NBSVMClassifier, SpacyTokenizer

    return make_pipeline(SpacyTokenizer(ngram_range=(1, 2)), BagEncoder(output_mode="count"), NBSVMClassifier())


@pytest.fixture(scope="module")
def fitted(imdb_small):
    texts, labels = imdb_small
    return _nbsvm_pipeline().fit(texts[:400], labels[:400]), texts[400:]


@pytest.mark.slow
def test_sklearn_pipeline_round_trips_in_a_fresh_process(fitted, tmp_path):
    model, held_out = fitted
    folder = save_model(model, tmp_path / "nbsvm")
    # spans.npz: spaCy's tokens of the spans this process tokenized, so the loaded tokenizer starts warm
    assert sorted(p.name for p in folder.iterdir()) == ["checksums.json", "config.json", "model.skops", "spans.npz"]
    config = json.loads((folder / "config.json").read_text())
    assert config["kind"] == "sklearn" and config["estimator"] == "Pipeline"
    (tmp_path / "docs.json").write_text(json.dumps(held_out))
    code = (
        "import json, sys\n"
        "from toolkit.models import load_model\n"
        "from toolkit.text.tokenizer import _engine_for\n"
        "docs = json.load(open(sys.argv[2]))\n"
        "m = load_model(sys.argv[1])\n"
        "known = len(_engine_for(m.steps[0][1], create=False))\n"
        "tokens = [list(d) for d in m.steps[0][1].transform(docs)]\n"
        "print(json.dumps([m.predict(docs).tolist(), m.decision_function(docs).tolist(), known, tokens]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(folder), str(tmp_path / "docs.json")],
                         capture_output=True, text=True, check=True, timeout=300)
    labels, proba, known, tokens = json.loads(out.stdout.strip().splitlines()[-1])
    assert labels == model.predict(held_out).tolist()
    np.testing.assert_array_equal(proba, model.decision_function(held_out))
    assert known > 5000  # the spans of the 400 training reviews (and more) before any text was tokenized
    assert tokens == [list(d) for d in model.steps[0][1].transform(held_out)]


@pytest.mark.slow
def test_sklearn_tfidf_pipeline_with_a_large_skops_schema_loads(imdb_small, tmp_path, monkeypatch):
    """scikit-learn's TF-IDF + LR, the README's baseline, saved by save_model: skops writes its vocabulary into
    an uncompressed schema.json of ~600 bytes per n-gram (> 16 MB for 200 reviews of 1-2-grams), which
    load_model refused as a crafted file before; a stored JSON member as large as the archive itself is
    not an inflation, and a member that declares more than the file holds still is refused. (save_model now
    packs a vocabulary into arrays, format version 4; a folder of the layout before is written with packing
    off, as toolkits before the forty-seventh session wrote it.)"""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts, labels = imdb_small
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=1000))
    model.fit(texts[:200], labels[:200])
    monkeypatch.setattr("toolkit.models.persistence._PACK_MIN_ITEMS", float("inf"))
    folder = save_model(model, tmp_path / "tfidf")
    monkeypatch.undo()
    schema = zipfile.ZipFile(folder / "model.skops").getinfo("schema.json")
    assert schema.file_size > 16 * 2**20 and schema.compress_type == zipfile.ZIP_STORED
    np.testing.assert_array_equal(load_model(folder).decision_function(texts[200:260]),
                                  model.decision_function(texts[200:260]))

    from toolkit.models._keras_io import check_zip_archive

    lying = tmp_path / "lying.skops"
    with zipfile.ZipFile(lying, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("schema.json", b"{}")
    raw = bytearray(lying.read_bytes())  # the central directory declares 64 MB for the 2-byte member
    at = raw.rfind(b"PK\x01\x02")
    raw[at + 24:at + 28] = (64 * 2**20).to_bytes(4, "little")
    lying.write_bytes(bytes(raw))
    with pytest.raises(ModelFormatError, match=r"schema\.json in .*lying\.skops declares 64\.0 MB; the cap is 16\.0 MB"):
        check_zip_archive(lying, what=".skops", max_members=10, note="",
                          max_json_bytes=max(16 * 2**20, lying.stat().st_size))


def test_sklearn_model_with_an_untrusted_type_is_refused(imdb_small, tmp_path, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    X = np.random.RandomState(0).normal(size=(40, 3))
    clf = LogisticRegression().fit(X, np.arange(40) % 2)
    clf.note_ = Fraction(1, 3)  # a type outside scikit-learn / toolkit / NumPy / SciPy
    # save_model refuses it (load_model would), leaving nothing
    with pytest.raises(TypeError, match=r"fractions\.Fraction.*load_model refuses"):
        save_model(clf, tmp_path / "lr")
    assert not (tmp_path / "lr").exists()
    # a folder written anyway (another version, by hand): load_model refuses it
    with monkeypatch.context() as patch:
        patch.setattr("toolkit.models.persistence._refused_types", lambda types: [])
        folder = save_model(clf, tmp_path / "lr")
    with pytest.raises(ModelFormatError, match=r"model\.skops names types outside .*fractions\.Fraction"):
        load_model(folder)


def test_sklearn_model_edited_file_is_refused(fitted, tmp_path):
    folder = save_model(fitted[0], tmp_path / "nbsvm")
    with open(folder / "model.skops", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelFormatError, match=r"model\.skops does not match the SHA-256"):
        load_model(folder)
    # a config claiming the other kind, with checksums recomputed: the file set decides
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "kind": "keras"}))
    _write_checksums(folder, ("config.json", "model.skops", "spans.npz"))
    with pytest.raises(ModelFormatError, match=r"says kind 'keras' but the folder holds"):
        load_model(folder)
    # the tokenizer's span table: edited -> refused by its checksum; a garbled one with its checksum
    # recomputed -> refused with its name (before numpy reads it); one for other settings is ignored
    folder = save_model(fitted[0], tmp_path / "again")
    (folder / "spans.npz").write_bytes((folder / "spans.npz").read_bytes()[:-10])
    with pytest.raises(ModelFormatError, match=r"spans\.npz does not match the SHA-256"):
        load_model(folder)
    _write_checksums(folder, ("config.json", "model.skops", "spans.npz"))
    with pytest.raises(ModelFormatError, match=r"spans\.npz is not a \.npz \(zip\) archive"):
        load_model(folder)


def test_span_table_of_other_tokenizer_settings_is_ignored(fitted, tmp_path):
    from toolkit import SpacyTokenizer
    from toolkit.text.tokenizer import _engine_for, export_span_cache, import_span_cache

    fitted[0].steps[0][1].transform(fitted[1])
    assert export_span_cache(fitted[0].steps[0][1], tmp_path / "spans.npz") > 1000
    other = SpacyTokenizer(lowercase=False)
    before = len(_engine_for(other, create=True))
    assert import_span_cache(other, tmp_path / "spans.npz") == 0
    assert len(_engine_for(other, create=False)) == before
    assert export_span_cache(SpacyTokenizer(analyzer="char", ngram_range=(2, 3)), tmp_path / "none.npz") == 0


def test_vocabulary_state_is_compact_and_exact(imdb_small):
    """Pickle / skops state: token bytes as one array; ids and the n-gram fast path survive."""
    import skops.io as sio

    from toolkit import SpacyTokenizer, Vocabulary

    texts, _ = imdb_small
    tok = SpacyTokenizer()
    train, test = tok.fit_transform(texts[:300]).ngrams((1, 3)), tok.transform(texts[300:400]).ngrams((1, 3))
    vocab = Vocabulary.from_documents(train)
    copy = pickle.loads(pickle.dumps(vocab))
    assert copy == vocab and copy.token_to_id == vocab.token_to_id
    assert getattr(copy, "_ngram_indexes", {}).keys() == getattr(vocab, "_ngram_indexes", {}).keys()
    np.testing.assert_array_equal(copy.encode(test), vocab.encode(test))
    # skops stores arrays as .npy: close to the token bytes (it wrote a node per token before: ~27x)
    text_bytes = sum(len(t.encode()) for t in vocab.tokens) + 16 * len(vocab)
    blob = sio.dumps(vocab)
    assert len(blob) < 2 * text_bytes + 65536
    loaded = sio.loads(blob, trusted=sio.get_untrusted_types(data=blob))
    assert loaded == vocab
