"""README.md as a new user runs it (session 48, helper h9): its Python blocks executed on small real samples.

tests/test_readme.py checks that the README's names and signatures exist and tests/test_readme_user_s44.py
runs some of its commands; these execute the README's own Python blocks (the text of README.md, with
the data made small) and compare what they give with the README's comments, and check its "Layout"
promise that every public name of a stage is importable from ``toolkit`` itself.
"""

from __future__ import annotations

import importlib
import re
import runpy
from pathlib import Path

import numpy as np
import pytest

import toolkit

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "README.md").read_text(encoding="utf-8")
STAGES = ("toolkit.text", "toolkit.vectors", "toolkit.data", "toolkit.models")


def _run(code: str, folder: Path, **names) -> dict:
    """Run README code as a script in ``folder`` with ``names`` defined; its globals afterwards."""
    script = folder / "readme_block.py"
    script.write_text(code, encoding="utf-8")
    return runpy.run_path(str(script), init_globals=names)


def _block(first_line: str) -> str:
    """The README's ```python block whose code starts with ``first_line``."""
    blocks = re.findall(r"```python\n(.*?)```", TEXT, flags=re.DOTALL)
    found = [code for code in blocks if code.startswith(first_line)]
    assert len(found) == 1, f"README.md has {len(found)} python blocks starting with {first_line!r}"
    return found[0]


# ------------------------------------------------------------------ public API ("Layout")
def test_readme_promises_every_stage_name_from_toolkit():
    """Guard: the sentence the next test checks is still in the README."""
    promise = " ".join(TEXT.split())
    assert ("Every name in the `__all__` of `toolkit.text`, `toolkit.vectors`, `toolkit.data` and "
            "`toolkit.models` is also importable from `toolkit` itself") in promise
    assert all(f"`{stage}`" in promise for stage in STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_every_public_name_of_a_stage_is_importable_from_toolkit(stage):
    module = importlib.import_module(stage)
    missing = [name for name in module.__all__ if name not in toolkit.__all__]
    assert not missing, f"{stage} exports {missing}, which `from toolkit import ...` does not find"
    for name in set(module.__all__) - {"ARCHITECTURES"}:  # a tuple read from the registry at each lookup
        assert getattr(toolkit, name) is getattr(module, name), name
    assert set(module.__all__) <= set(dir(toolkit))


def test_toolkit_all_holds_no_private_name_and_every_name_resolves():
    assert not [name for name in toolkit.__all__ if name.startswith("_") and name != "__version__"]
    for name in toolkit.__all__:
        getattr(toolkit, name)


def test_toolkit_architectures_follows_the_registry():
    """``toolkit.ARCHITECTURES`` is read from the registry at each lookup, as ``builders.ARCHITECTURES`` is."""
    from toolkit.models import builders

    before = toolkit.ARCHITECTURES
    assert before == builders.ARCHITECTURES
    assert {"flatten", "bag", "cnn", "rnn", "nbsvm", "nbsvm_vectors"} <= set(before)

    @builders.register_architecture("readme_s48_plugin")
    def _plugin(inputs, spec):  # pragma: no cover - never built
        return inputs

    try:
        assert "readme_s48_plugin" in toolkit.ARCHITECTURES
    finally:
        builders.unregister_architecture("readme_s48_plugin")
    assert "readme_s48_plugin" not in toolkit.ARCHITECTURES


def test_import_toolkit_and_its_new_names_stay_cheap(tmp_path):
    """The names added to the lazy table import no Keras or TensorFlow when read."""
    import subprocess
    import sys

    code = ("import sys, toolkit\n"
            "for n in ('DocVectorizer', 'mark_negation', 'NegationMarker', 'PAD_ID', 'OOV_ID', 'clean_text',\n"
            "          'FORMATS', 'most_similar', 'Manifest', 'load_manifest', 'bag_matrix'):\n"
            "    getattr(toolkit, n)\n"
            "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------ the Python blocks, executed
def test_keras_tokenizer_block_runs_as_its_comments_say(imdb_small, tmp_path):
    """Guard: "The Keras `Tokenizer`, replaced", run as written on 120 real reviews."""
    from scipy import sparse

    from toolkit import TokenizedCorpus

    texts, _ = imdb_small

    class _Train:
        pass

    train = _Train()
    train.texts = texts[:120]
    namespace = _run(_block("from toolkit import SpacyTokenizer, SequenceEncoder"), tmp_path, train=train)

    tokens, X, encoder = namespace["tokens"], namespace["X"], namespace["encoder"]
    assert isinstance(tokens, TokenizedCorpus) and len(tokens) == 120
    assert not any("<br" in token for doc in tokens for token in doc)          # "HTML cleaned"
    assert X.dtype == np.int32 and X.shape == (120, 20)                        # int32 (n, 20)
    vocabulary = encoder.vocabulary_
    assert vocabulary.tokens[:2] == [vocabulary.pad_token, vocabulary.oov_token]   # PAD=0, OOV=1
    short = [i for i, doc in enumerate(tokens) if len(doc) < 20]
    for i in short:
        assert (X[i, : 20 - len(tokens[i])] == 0).all()                        # padded in front, like Keras
    i = next(i for i, doc in enumerate(tokens) if len(doc) > 20)
    last = [t if t in vocabulary else vocabulary.oov_token for t in list(tokens[i])[-20:]]
    assert vocabulary.decode(X[i]) == last                                      # keeps the LAST 20 tokens
    from toolkit import BagEncoder, HashingEncoder

    bag = BagEncoder(output_mode="tf_idf", max_tokens=20_000).fit_transform(tokens)
    assert sparse.isspmatrix_csr(bag) or getattr(bag, "format", "") == "csr"   # "sparse CSR"
    hashed = HashingEncoder(n_features=2**20).transform(tokens)
    assert hashed.shape == (120, 2**20)
    from toolkit import pad_sequences

    assert pad_sequences([[1, 2, 3], [4]], maxlen=2).tolist() == [[2, 3], [0, 4]]   # keras' pre/pre


def test_pretrained_vectors_block_runs_on_glove(glove_small, imdb_small, tmp_path):
    """Guard: "Pretrained word vectors", run as written on the first 20,000 GloVe rows."""
    from toolkit import CoverageReport, SequenceEncoder, SpacyTokenizer

    texts, _ = imdb_small
    tokens = SpacyTokenizer(lowercase=True, remove_punct=True).fit_transform(texts[:120])
    encoder = SequenceEncoder(max_tokens=2_000, maxlen=20).fit(tokens)
    code = _block("from toolkit import load_vectors, build_embedding_matrix")
    assert code.count('load_vectors("glove.6B.50d")') == 1
    code = code.replace('load_vectors("glove.6B.50d")', f"load_vectors({str(glove_small)!r})")
    namespace = _run(code, tmp_path, encoder=encoder)

    kv, matrix, report = namespace["kv"], namespace["matrix"], namespace["report"]
    assert type(kv).__name__ == "KeyedVectors"                                   # "a gensim KeyedVectors"
    assert [w for w, _ in kv.most_similar("movie", topn=5)][:2] == ["movies", "film"]
    assert isinstance(report, CoverageReport)
    assert matrix.shape == (len(encoder.vocabulary_), 50)
    printed = str(report)
    assert "tokens" in printed and "occurrences" in printed and "without a vector" in printed
    assert isinstance(report.n_cased, int) and isinstance(report.n_phrase, int)


def test_multilabel_block_runs_with_texts_and_tags(imdb_small, tmp_path, monkeypatch):
    """Guard: "Several labels per document", run as written; ``cache="tokens"`` writes its folder."""
    monkeypatch.chdir(tmp_path)
    texts, labels = imdb_small
    texts = texts[:80]
    tags = [[str(label)] + (["long"] if len(text) > 1000 else []) for text, label in zip(texts, labels)]
    namespace = _run(_block("from sklearn.multiclass import OneVsRestClassifier"), tmp_path, texts=texts, tags=tags)

    ovr, Y = namespace["ovr"], namespace["Y"]
    assert Y.shape == (80, 3)
    assert ovr.predict(texts[:5]).shape == (5, 3)
    proba = ovr.predict_proba(texts[:5])
    assert proba.shape == (5, 3) and ((proba >= 0) & (proba <= 1)).all()
    assert (tmp_path / "tokens").is_dir() and any((tmp_path / "tokens").iterdir())


def test_models_architectures_follows_the_registry():
    import toolkit.models
    from toolkit.models import builders

    @builders.register_architecture("readme_s48_models_plugin")
    def _plugin(inputs, spec):  # pragma: no cover - never built
        return inputs

    try:
        assert "readme_s48_models_plugin" in toolkit.models.ARCHITECTURES
    finally:
        builders.unregister_architecture("readme_s48_models_plugin")
