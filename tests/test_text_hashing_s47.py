"""Session 47: hashed id sequences (Chollet's listing 6.4, Keras 2's ``hashing_trick``), non-str tokens refused
at corpus construction, and the single-string advice of ``tokenize``.

Real data: small IMDB training reviews from the conftest fixtures (simple lowercase word tokens)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils import murmurhash3_32

from toolkit.text import (
    HashingSequenceEncoder,
    SequenceEncoder,
    TokenizedCorpus,
    pad_sequences,
)


def _keras_formula(docs, n):
    """Keras 2's ``hashing_trick`` ids (``h % (n - 1) + 1``) with the murmur hash, unpadded: the reference."""
    return [[abs(murmurhash3_32(t.encode("utf-8"), seed=0)) % (n - 1) + 1 for t in doc] for doc in docs]


# ---------------------------------------------------------------- task 1: HashingSequenceEncoder

def test_ids_in_range_and_equal_tokens_equal_ids(imdb_tokens):
    docs = imdb_tokens[0][:100]
    X = HashingSequenceEncoder(n_features=97, maxlen=300).transform(docs)
    assert X.shape == (100, 300) and X.dtype == np.int32
    lengths = np.minimum([len(d) for d in docs], 300)
    assert ((X != 0).sum(axis=1) == lengths).all()  # 0 only for padding
    assert X[X != 0].min() >= 1 and X.max() < 97  # an Embedding(input_dim=97) takes them
    seen = {}
    for doc, row in zip(docs, X):
        kept = doc[-300:]
        for tok, i in zip(kept, row[300 - len(kept):].tolist()):
            assert seen.setdefault(tok, i) == i, tok
    # two instances, and fit_transform, agree
    Y = HashingSequenceEncoder(n_features=97, maxlen=300).fit(docs[:3]).fit_transform(docs)
    np.testing.assert_array_equal(X, Y)


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_padding_and_truncation_like_sequence_encoder(imdb_tokens, padding, truncating):
    docs = imdb_tokens[0][:60]
    params = {"maxlen": 120, "padding": padding, "truncating": truncating}
    X = HashingSequenceEncoder(n_features=5000, **params).transform(docs)
    expected = pad_sequences(_keras_formula(docs, 5000), **params)
    np.testing.assert_array_equal(X, expected)
    S = SequenceEncoder(**params).fit(docs).transform(docs)
    np.testing.assert_array_equal(X == 0, S == 0)  # the same cells padded


def test_maxlen_none_pads_to_the_longest_document_of_the_call(imdb_tokens):
    docs = imdb_tokens[0][:20]
    X = HashingSequenceEncoder(n_features=1000).transform(docs)
    assert X.shape == (20, max(map(len, docs)))
    assert HashingSequenceEncoder().transform([[], []]).shape == (2, 1)


def test_same_ids_in_a_fresh_process(imdb_tokens, tmp_path):
    docs = imdb_tokens[0][:30]
    X = HashingSequenceEncoder(n_features=2**16, maxlen=80).transform(docs)
    np.save(tmp_path / "docs.npy", np.array([" ".join(d) for d in docs], dtype=object), allow_pickle=True)
    script = (
        "import sys, numpy as np\n"
        "from toolkit.text import HashingSequenceEncoder\n"
        "docs = [d.split(' ') if d else [] for d in np.load(sys.argv[1], allow_pickle=True)]\n"
        "np.save(sys.argv[2], HashingSequenceEncoder(n_features=2**16, maxlen=80).transform(docs))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # another salt for Python's own hash
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "docs.npy"), str(tmp_path / "X.npy")],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_array_equal(np.load(tmp_path / "X.npy"), X)


def test_sklearn_contract_pipeline_and_clone(imdb_tokens):
    from sklearn.utils.estimator_checks import (
        check_get_params_invariance,
        check_no_attributes_set_in_init,
        check_parameters_default_constructible,
        check_set_params,
    )

    name = "HashingSequenceEncoder"
    enc = HashingSequenceEncoder(n_features=500, maxlen=40, padding="post")
    check_no_attributes_set_in_init(name, enc)
    check_get_params_invariance(name, enc)
    check_set_params(name, enc)
    check_parameters_default_constructible(name, enc)
    assert clone(enc).get_params() == enc.get_params()
    docs = imdb_tokens[0][:50]
    before = dict(vars(enc))
    enc.fit(docs)
    assert vars(enc) == before  # stateless fit
    pipe = make_pipeline(enc)
    pipe.set_params(hashingsequenceencoder__maxlen=25)
    out = clone(pipe).fit(docs).transform(docs)
    assert out.shape == (50, 25)
    np.testing.assert_array_equal(out, HashingSequenceEncoder(n_features=500, maxlen=25, padding="post")
                                  .transform(TokenizedCorpus.from_token_lists(docs)))
    frame = HashingSequenceEncoder(maxlen=4).set_output(transform="pandas").transform(docs[:2])
    assert list(frame.columns) == [f"hashingsequenceencoder{i}" for i in range(4)]


@pytest.mark.parametrize("params, named", [
    ({"n_features": 1}, "'n_features' parameter of HashingSequenceEncoder"),
    ({"n_features": 2.5}, "'n_features' parameter of HashingSequenceEncoder"),
    ({"maxlen": 0}, "'maxlen' parameter of HashingSequenceEncoder"),
    ({"padding": "middle"}, "'padding' parameter of HashingSequenceEncoder"),
    ({"truncating": "both"}, "'truncating' parameter of HashingSequenceEncoder"),
])
def test_bad_parameters_are_named(params, named):
    for call in (lambda e: e.fit(), lambda e: e.transform([["a"]])):
        with pytest.raises(ValueError, match=named):
            call(HashingSequenceEncoder(**params))


def test_raw_text_and_unnamed_columns_refused(imdb_small):
    with pytest.raises(ValueError, match="raw string"):
        HashingSequenceEncoder(maxlen=5).transform(imdb_small[0][:2])
    with pytest.raises(ValueError, match="set maxlen"):
        HashingSequenceEncoder().get_feature_names_out()


@pytest.mark.slow
def test_ids_feed_a_keras_embedding(imdb_tokens):
    keras = pytest.importorskip("keras")
    X = HashingSequenceEncoder(n_features=64, maxlen=30).transform(imdb_tokens[0][:8])
    out = keras.layers.Embedding(input_dim=64, output_dim=4, mask_zero=True)(X)
    assert tuple(out.shape) == (8, 30, 4)


# ---------------------------------------------------------------- task 2: non-str tokens


@pytest.mark.parametrize("bad, shown", [(None, "is None"), (7, r"is an int \(7\)"), (b"film", "is a bytes")])
def test_non_str_tokens_refused_naming_document_and_position(imdb_tokens, bad, shown):
    docs = [list(d) for d in imdb_tokens[0][:10]]
    docs[4][3] = bad
    with pytest.raises(ValueError, match=rf"token 3 of document 4 {shown}"):
        TokenizedCorpus.from_token_lists(docs)
    # what failed before, later and unexplained: .ngrams of such a corpus
    with pytest.raises(ValueError, match="token 3 of document 4"):
        TokenizedCorpus.from_token_lists(docs).ngrams((1, 2))


def test_str_subclass_tokens_still_accepted():
    docs = np.array([["a", "b"], ["b", "c"]])  # numpy.str_ tokens
    assert TokenizedCorpus.from_token_lists(docs).to_list() == [["a", "b"], ["b", "c"]]


# ---------------------------------------------------------------- task 3: tokenize's advice


def test_tokenize_one_string_advice_names_no_transform():
    from toolkit import tokenize
    from toolkit._validation import check_raw_documents

    with pytest.raises(ValueError, match="string object received") as info:
        tokenize("one string")
    assert "transform(" not in str(info.value) and "[text]" in str(info.value)
    with pytest.raises(ValueError, match=r"pass a list of one: tokenize\(\[text\]\)\."):
        check_raw_documents("one string", caller="tokenize")
