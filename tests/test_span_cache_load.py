"""Restoring the tokenizer's span table from a model folder's spans.npz (``import_span_cache``): the loaded
tokenizer starts warm, tokenizes exactly like a cold one, and a damaged or foreign file fails or is ignored."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from toolkit.exceptions import ModelFormatError
from toolkit.models.persistence import _write_checksums, load_model, save_model


def _tokenizer():
    from toolkit import SpacyTokenizer

    return SpacyTokenizer()


def _engine(tokenizer, *, cold: bool):
    from toolkit.text.tokenizer import _engine_for

    engine = _engine_for(tokenizer, create=True)
    if cold:
        engine.reset()
    return engine


def _tokens(tokenizer, texts) -> list[list[str]]:
    return [list(doc) for doc in tokenizer.transform(texts)]


# crafted texts around spaCy's special cases (contractions, emoticons, abbreviations) split over spans
_CRAFTED = [
    "I ca n't believe it's not butter :) ... gon na wo n't do n't they 're 'm",
    "Mr. Smith's U.S. film (1999) was 10/10 -- isn't it?! e.g. :-) <3 c'mon y'all 'cause",
    "can't, don't; won't: CAN'T 'S 's n't ca do wo Let 's go!! \"Yes\", she said.",
]


def _write_npz(path, **changes) -> None:
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    arrays.update(changes)
    np.savez_compressed(path, **arrays)


@pytest.fixture(scope="module")
def span_file(imdb_small, tmp_path_factory):
    """spans.npz of a tokenizer that tokenized 400 real reviews and the crafted texts; those texts."""
    from toolkit.text.tokenizer import export_span_cache

    texts, _labels = imdb_small
    tokenizer = _tokenizer()
    _engine(tokenizer, cold=True)
    tokenizer.transform(texts[:400] + _CRAFTED)
    path = tmp_path_factory.mktemp("spans") / "spans.npz"
    assert export_span_cache(tokenizer, path) > 10000
    return path, texts


def test_restored_span_table_tokenizes_real_reviews_like_a_cold_tokenizer(span_file):
    """Warm (restored) and cold tokenizers give the same tokens, on the texts the table was made from and on others."""
    from toolkit.text.tokenizer import import_span_cache

    path, texts = span_file
    sample = texts[:120] + texts[400:] + _CRAFTED
    tokenizer = _tokenizer()
    _engine(tokenizer, cold=True)
    cold = _tokens(tokenizer, sample)
    engine = _engine(tokenizer, cold=True)
    with np.load(path) as data:
        n_spans = int(data["n_spans"])
        has_codes = bool(data["codes"].any())
    assert has_codes  # the file holds spans whose edges take part in special-case patterns
    assert import_span_cache(tokenizer, path) == n_spans
    assert len(engine) == n_spans + 2
    assert _tokens(tokenizer, sample) == cold
    assert _tokens(tokenizer, sample) == cold  # and again, now fully warm


def test_restored_span_table_equals_the_exported_one(span_file):
    """Every span gets back its token strings and its special-case signatures (the pair codes' meaning),
    and the compatibility matrix agrees with the special-case pairs."""
    from toolkit.text.tokenizer import _SIG, export_span_cache, import_span_cache

    path, _texts = span_file
    tokenizer = _tokenizer()
    engine = _engine(tokenizer, cold=True)
    import_span_cache(tokenizer, path)
    again = path.parent / "again.npz"
    export_span_cache(tokenizer, again)
    with np.load(path) as a, np.load(again) as b:
        for name in a.files:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    lefts, rights = list(engine.left_sigs), list(engine.right_sigs)
    assert engine.compatible.shape == (len(lefts), len(rights))
    for i, left in enumerate(lefts):
        for j, right in enumerate(rights):
            assert engine.compatible[i, j] == any((x, y) in engine.pairs for x in left for y in right)
    codes = engine.arrays()[2]
    assert (codes // _SIG).max() < len(lefts) and (codes % _SIG).max() < len(rights)


def test_span_table_restored_over_known_spans_adds_only_the_new_ones(span_file):
    """An engine that already knows some spans (another model loaded, texts tokenized) keeps them and their ids;
    the tokens stay those of a cold tokenizer; a second restore adds nothing."""
    from toolkit.text.tokenizer import import_span_cache

    path, texts = span_file
    tokenizer = _tokenizer()
    engine = _engine(tokenizer, cold=True)
    cold = _tokens(tokenizer, texts[400:460] + _CRAFTED)
    before = dict(engine.span_ids)
    signatures = (dict(engine.left_sigs), dict(engine.right_sigs))
    with np.load(path) as data:
        n_spans = int(data["n_spans"])
    added = import_span_cache(tokenizer, path)
    assert 0 < added < n_spans
    assert len(engine) == len(before) + added
    assert all(engine.span_ids[span] == i for span, i in before.items())
    assert all(engine.left_sigs[s] == i for s, i in signatures[0].items())
    assert all(engine.right_sigs[s] == i for s, i in signatures[1].items())
    assert import_span_cache(tokenizer, path) == 0
    assert _tokens(tokenizer, texts[400:460] + _CRAFTED) == cold


def test_span_table_over_the_size_bound_is_dropped(span_file, monkeypatch):
    """The table's memory bound holds for a restore too: past it the engine starts empty again."""
    import toolkit.text.tokenizer as tokenizer_module

    path, texts = span_file
    tokenizer = _tokenizer()
    engine = _engine(tokenizer, cold=True)
    cold = _tokens(tokenizer, texts[400:420])
    engine.reset()
    monkeypatch.setattr(tokenizer_module, "_MAX_CACHED_SPANS", 1000)
    assert tokenizer_module.import_span_cache(tokenizer, path) == 0
    assert len(engine) == 2
    assert _tokens(tokenizer, texts[400:420]) == cold


@pytest.fixture(scope="module")
def model_folder(imdb_small, tmp_path_factory):
    from sklearn.pipeline import make_pipeline

    from toolkit import BagEncoder, NBSVMClassifier, SpacyTokenizer

    texts, labels = imdb_small
    model = make_pipeline(SpacyTokenizer(), BagEncoder(output_mode="count"), NBSVMClassifier())
    model.fit(texts[:300], labels[:300])
    folder = save_model(model, tmp_path_factory.mktemp("model") / "nbsvm")
    return folder, texts[300:360], model.predict(texts[300:360]).tolist()


def _damaged(folder, tmp_path, **changes):
    copy = tmp_path / "m"
    shutil.copytree(folder, copy)
    _write_npz(copy / "spans.npz", **changes)
    _write_checksums(copy, ("config.json", "model.skops", "spans.npz"))
    return copy


@pytest.mark.parametrize("damage", ["code past the left signatures", "code past the right signatures",
                                    "negative code", "negative token count"])
def test_load_model_refuses_a_span_table_whose_codes_or_counts_are_out_of_range(model_folder, tmp_path, damage):
    """A spans.npz whose arrays disagree (checksums rewritten to match) is a ModelFormatError naming the file
    (before: a code past the signature tables, or a negative one, escaped load_model as a bare IndexError;
    a negative count failed in numpy, "repeats may not contain negative values")."""
    from toolkit.text.tokenizer import _SIG

    folder = model_folder[0]
    with np.load(folder / "spans.npz") as data:
        codes, lengths = data["codes"].copy(), data["lengths"].copy()
        n_left, n_right = int(data["n_left"]), int(data["n_right"])
    if damage == "negative token count":
        k = int(np.flatnonzero(lengths)[0])
        lengths[k] -= 2  # the total stays: another span gets the tokens
        lengths[k + 1] += 2
        changes = {"lengths": lengths}
    else:
        codes[0] = {"code past the left signatures": n_left * _SIG, "code past the right signatures": n_right,
                    "negative code": -1}[damage]
        changes = {"codes": codes}
    folder = _damaged(folder, tmp_path, **changes)
    _engine(_tokenizer(), cold=True)  # as in a fresh process: (before) a table that knows every span read nothing
    with pytest.raises(ModelFormatError, match=r"spans\.npz cannot be read \(.*spans\.npz is inconsistent"):
        load_model(folder)


def test_load_model_refuses_a_span_table_with_too_few_strings(model_folder, tmp_path):
    """One token string missing (the blob cut at its last separator): the counts no longer add up."""
    with np.load(model_folder[0] / "spans.npz") as data:
        blob = data["strings"]
    cut = blob[: int(np.flatnonzero(blob == 0)[-1])]
    folder = _damaged(model_folder[0], tmp_path, strings=cut)
    _engine(_tokenizer(), cold=True)
    with pytest.raises(ModelFormatError, match=r"spans\.npz cannot be read \(.*spans\.npz is inconsistent: \d+ spans"):
        load_model(folder)


def test_load_model_ignores_a_span_table_of_other_settings(model_folder, tmp_path):
    """A spans.npz of another spaCy or other settings (checksums rewritten to match) is not used; the model loads
    and predicts the same, with a cold table."""
    from toolkit.text.tokenizer import _engine_for

    folder, texts, expected = model_folder
    with np.load(folder / "spans.npz") as data:
        fingerprint = str(data["fingerprint"])
    folder = _damaged(folder, tmp_path, fingerprint=np.array(fingerprint.replace("spacy=", "spacy=0.")))
    tokenizer = _tokenizer()
    _engine(tokenizer, cold=True)
    model = load_model(folder)
    assert len(_engine_for(model.steps[0][1], create=False)) == 2
    assert model.predict(texts).tolist() == expected


def test_load_model_restores_the_span_table(model_folder):
    from toolkit.text.tokenizer import _engine_for

    folder, texts, expected = model_folder
    _engine(_tokenizer(), cold=True)
    model = load_model(folder)
    with np.load(folder / "spans.npz") as data:
        assert len(_engine_for(model.steps[0][1], create=False)) == int(data["n_spans"]) + 2
    assert model.predict(texts).tolist() == expected
