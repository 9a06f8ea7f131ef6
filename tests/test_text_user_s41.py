"""The text stage used as a reader of the deep-learning-for-text chapter uses it in place of Keras' Tokenizer
(session 41): vocabularies saved and read back, ``sequences_to_texts`` round trips, encoders in a grid search,
and a test set vectorized from the shell with the training run's vocabulary.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import ParameterGrid
from test_cli import assert_error, invoke, runner  # noqa: F401 (fixture, helpers)

from toolkit.text import (
    BagEncoder,
    HashingEncoder,
    SequenceEncoder,
    SpacyTokenizer,
    Vocabulary,
)


@pytest.fixture(scope="module")
def reviews(imdb_small):
    """30 real IMDB training reviews, one line each: 20 to fit on, 10 new ones."""
    texts = [" ".join(text.split()) for text in imdb_small[0][:30]]
    return texts[:20], texts[20:]


@pytest.fixture(scope="module")
def review_tokens(imdb_small):
    """Token lists of 40 real IMDB reviews (str.split: these tests are not about spaCy)."""
    return [text.lower().split() for text in imdb_small[0][:40]]


# --------------------------------------------------------------------------- saving a vocabulary

def test_text_s41_vocabulary_json_in_the_home_folder_reads_back(review_tokens, tmp_path, monkeypatch):
    # to_json("~/vocab.json") wrote to the home folder but returned "~/vocab.json", and from_json("~/vocab.json")
    # raised FileNotFoundError: a vocabulary saved with the path it was read with could not be read back
    monkeypatch.setenv("HOME", str(tmp_path))
    vocab = Vocabulary.from_documents(review_tokens, max_tokens=500)
    written = vocab.to_json("~/vocab.json")
    assert written == tmp_path / "vocab.json" and written.is_file()
    assert Vocabulary.from_json("~/vocab.json") == vocab


def test_text_s41_vocabulary_json_keeps_a_lone_surrogate(review_tokens, tmp_path):
    # text read with errors="surrogateescape" (bytes that are not UTF-8) gives tokens with lone surrogates: pickle
    # kept them, to_json raised UnicodeEncodeError ("surrogates not allowed")
    docs = [*review_tokens[:5], ["caf\udce9", "au", "lait"]]
    vocab = Vocabulary.from_documents(docs)
    path = vocab.to_json(tmp_path / "vocab.json")
    json.loads(path.read_text(encoding="utf-8"))  # valid UTF-8 JSON
    again = Vocabulary.from_json(path)
    assert again == vocab and "caf\udce9" in again


# --------------------------------------------------------------------------- sequences_to_texts

def test_text_s41_inverse_transform_of_unpadded_sequences(review_tokens):
    # Keras' sequences_to_texts takes the unpadded lists of texts_to_sequences; inverse_transform raised numpy's
    # "setting an array element with a sequence ... inhomogeneous shape" for rows of different lengths
    enc = SequenceEncoder(max_tokens=300).fit(review_tokens)
    sequences = [enc.vocabulary_.encode(doc).tolist() for doc in review_tokens[:5]]
    assert len({len(s) for s in sequences}) > 1
    decoded = enc.inverse_transform(sequences)
    assert decoded == [enc.vocabulary_.decode(s) for s in sequences]
    assert [len(d) for d in decoded] == [len(s) for s in sequences]
    assert enc.inverse_transform([[], sequences[0]]) == [[], decoded[0]]
    # padded rows as before, and a single row is still refused, with what to do
    assert enc.inverse_transform(enc.transform(review_tokens[:2]))[1] == decoded[1][-enc.maxlen_:]
    with pytest.raises(ValueError, match=r"2-D array of ids.*\[ids\]"):
        enc.inverse_transform(sequences[0])


# --------------------------------------------------------------------------- grid search values

def test_text_s41_maxlen_from_a_numpy_grid_is_a_python_int(review_tokens):
    # a grid of np.arange(...) values gave maxlen_ as np.int64, which json.dumps refused (a config for the Keras
    # model's Input(shape=(maxlen,)), written next to it)
    for params in ParameterGrid({"maxlen": np.arange(50, 151, 50)}):
        enc = SequenceEncoder(**params).fit(review_tokens)
        assert type(enc.maxlen_) is int
        assert json.loads(json.dumps({"maxlen": enc.maxlen_})) == {"maxlen": int(params["maxlen"])}
        assert enc.transform(review_tokens[:3]).shape == (3, params["maxlen"])


@pytest.mark.parametrize("Encoder", [BagEncoder, HashingEncoder])
def test_text_s41_float16_dtype_is_refused_at_fit(Encoder, review_tokens):
    # dtype=np.float16 passed fit's check (a floating type) and failed at the end of transform with scipy's
    # "scipy.sparse does not support dtype float16"; a grid over dtype failed in the middle of the search
    with pytest.raises(ValueError, match=r"'dtype' parameter of .*Encoder.*float32 or float64.*float16"):
        Encoder(dtype=np.float16).fit(review_tokens)
    assert Encoder(dtype=np.float32).fit(review_tokens).transform(review_tokens).dtype == np.float32


# --------------------------------------------------------------------------- a test set from the shell

def test_text_s41_cli_vectorizes_a_test_set_with_the_training_vocabulary(runner, reviews, tmp_path):  # noqa: F811
    # `toolkit vectorize` always fitted a new vocabulary: the test set got other ids than the training set, and
    # giving the training vocabulary to --vocabulary said "pass --force to replace it" (which replaced it)
    train, test = reviews
    (tmp_path / "train.txt").write_text("\n".join(train) + "\n", encoding="utf-8")
    (tmp_path / "test.txt").write_text("\n".join(test) + "\n", encoding="utf-8")
    result = invoke(runner, "vectorize", tmp_path / "train.txt", "-o", tmp_path / "train.npz", "--maxlen", 60,
                    "--max-tokens", 300)
    assert result.exit_code == 0, result.output
    vocab_file = tmp_path / "train.vocab.json"
    before = vocab_file.read_bytes()
    assert_error(invoke(runner, "vectorize", tmp_path / "test.txt", "-o", tmp_path / "test.npz", "--maxlen", 60,
                        "--vocabulary", vocab_file), r"exists.*--use-vocabulary")
    result = invoke(runner, "vectorize", tmp_path / "test.txt", "-o", tmp_path / "test.npz", "--maxlen", 60,
                    "--use-vocabulary", vocab_file)
    assert result.exit_code == 0, result.output
    assert vocab_file.read_bytes() == before and not (tmp_path / "test.vocab.json").exists()
    # the ids of the training run: SequenceEncoder fitted on the training texts, applied to the test texts
    tokenizer = SpacyTokenizer()
    enc = SequenceEncoder(max_tokens=300, maxlen=60).fit(tokenizer.fit_transform(train))
    expected = enc.transform(tokenizer.transform(test))
    np.testing.assert_array_equal(np.load(tmp_path / "test.npz")["x"], expected)
    assert (expected == 1).any() and (expected > 2).any()  # unknown and known tokens both
    # bag columns too
    result = invoke(runner, "vectorize", tmp_path / "test.txt", "-o", tmp_path / "bag.npz", "--output-mode",
                    "count", "--use-vocabulary", vocab_file)
    assert result.exit_code == 0, result.output
    bag = BagEncoder(output_mode="count", max_tokens=300).fit(tokenizer.fit_transform(train))
    assert (sp.load_npz(tmp_path / "bag.npz") != bag.transform(tokenizer.transform(test))).nnz == 0
    # what cannot be reused says why
    for args, pattern in [(("--output-mode", "tf_idf"), r"document frequencies.*TfidfTransformer"),
                          (("--max-tokens", 10), r"has its tokens already"),
                          (("--vocabulary", tmp_path / "v.json"), r"Drop --vocabulary"),
                          (("--output-mode", "hashing"), r"no vocabulary")]:
        assert_error(invoke(runner, "vectorize", tmp_path / "test.txt", "-o", tmp_path / "x.npz",
                            "--use-vocabulary", vocab_file, *args), pattern)
    assert_error(invoke(runner, "vectorize", tmp_path / "test.txt", "-o", tmp_path / "x.npz",
                        "--use-vocabulary", tmp_path / "nope.json"), r"nope\.json: no such file")
    assert not (tmp_path / "x.npz").exists()


def test_text_s41_vectorize_function_takes_a_vocabulary(reviews, caplog):
    # the library call behind the command: a Vocabulary object or its file
    from toolkit.cli.text import vectorize

    train, test = reviews
    fitted = vectorize(train, output_mode="multi_hot", max_tokens=200)
    again = vectorize(test, output_mode="multi_hot", vocabulary=fitted.vocabulary)
    assert again.matrix.shape == (len(test), 199) and again.vocabulary is fitted.vocabulary
    assert set(np.unique(again.matrix.data)) == {1.0}
    # padded rows without maxlen: as long as the longest new text, which a model of the training rows cannot take
    fitted = vectorize(train, maxlen=80)
    with caplog.at_level("WARNING", logger="toolkit.cli.text"):
        again = vectorize(test, vocabulary=fitted.vocabulary)
    assert again.matrix.shape[1] == max(len(t) for t in SpacyTokenizer().fit_transform(test))
    assert "Give its maxlen (--maxlen)" in caplog.text


@pytest.mark.parametrize("Encoder", [SequenceEncoder, BagEncoder, HashingEncoder])
def test_text_s41_one_documents_tokens_unwrapped_says_to_wrap_them(Encoder, review_tokens):
    # enc.transform(tokens) for one review said "is a raw string. Tokenize first", about tokens already made
    enc = Encoder().fit(review_tokens)
    with pytest.raises(ValueError, match=r"raw string\. X looks like the tokens of one document "
                                         r"\('i', 'saw', .*wrap them in a list, \[tokens\], for one row"):
        enc.transform(["i", "saw", "it", "twice"])
    assert enc.transform([["i", "saw", "it", "twice"]]).shape[0] == 1
    # raw texts keep the message they had
    with pytest.raises(ValueError, match=r"raw string\. Tokenize first: put SpacyTokenizer"):
        enc.transform(["I saw it twice.", "Once was enough."])
