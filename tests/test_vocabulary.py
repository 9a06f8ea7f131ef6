"""Vocabulary (ranking, reserved ids, JSON) and pad_sequences (Keras semantics)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from toolkit.exceptions import DataError
from toolkit.text.corpus import TokenizedCorpus
from toolkit.text.vocabulary import OOV_ID, PAD_ID, Vocabulary, pad_sequences

DOCS = [["the", "film", "was", "good"], ["the", "plot", "was", "thin"], ["good", "good", "film"]]


def test_vocabulary_ranks_by_count_then_first_occurrence():
    vocab = Vocabulary.from_documents(DOCS)
    assert vocab.tokens == ["<pad>", "<unk>", "good", "the", "film", "was", "plot", "thin"]
    assert vocab.counts.tolist() == [0, 0, 3, 2, 2, 2, 1, 1]
    assert (PAD_ID, OOV_ID) == (0, 1)
    assert vocab.token_to_id["the"] == 3 and "plot" in vocab and "nope" not in vocab


def test_vocabulary_same_result_from_corpus_and_lists():
    corpus = TokenizedCorpus.from_token_lists(DOCS)
    assert Vocabulary.from_documents(corpus) == Vocabulary.from_documents(DOCS)
    # a slice keeps the parent's string table; unused strings must not enter
    assert Vocabulary.from_documents(corpus[2:]).tokens == ["<pad>", "<unk>", "good", "film"]


def test_vocabulary_max_tokens_counts_reserved_ids_and_min_count():
    assert len(Vocabulary.from_documents(DOCS, max_tokens=4)) == 4
    assert Vocabulary.from_documents(DOCS, max_tokens=4).tokens[2:] == ["good", "the"]
    assert Vocabulary.from_documents(DOCS, min_count=2).tokens[2:] == ["good", "the", "film", "was"]
    assert len(Vocabulary.from_documents(DOCS, min_count=10)) == 2
    assert len(Vocabulary.from_documents([])) == 2


def test_vocabulary_reserved_tokens_in_text_are_not_counted():
    vocab = Vocabulary.from_documents([["<pad>", "<unk>", "x"]])
    assert vocab.tokens == ["<pad>", "<unk>", "x"]


def test_vocabulary_invalid_parameters():
    with pytest.raises(ValueError, match=r"The 'max_tokens' parameter of Vocabulary.from_documents must be an int in the range \[3, inf\) or None. Got 2 instead."):
        Vocabulary.from_documents(DOCS, max_tokens=2)
    with pytest.raises(ValueError, match=r"The 'min_count' parameter of Vocabulary.from_documents must be an int in the range \[1, inf\). Got 0 instead."):
        Vocabulary.from_documents(DOCS, min_count=0)
    with pytest.raises(ValueError, match="'x' appears twice"):
        Vocabulary(["x", "x"])
    with pytest.raises(ValueError, match="'<unk>' appears twice"):
        Vocabulary(["<unk>"])
    with pytest.raises(ValueError, match="pad_token and oov_token must differ"):
        Vocabulary(pad_token="", oov_token="")


def test_vocabulary_encode_decode():
    vocab = Vocabulary.from_documents(DOCS)
    ids = vocab.encode(["the", "unseen", "good"])
    assert ids.dtype == np.int32 and ids.tolist() == [3, 1, 2]
    assert vocab.decode([0, 0, 3, 1, 2]) == ["the", "<unk>", "good"]
    assert vocab.decode(np.array([[0, 3]]), skip_padding=False) == ["<pad>", "the"]
    assert vocab.encode(TokenizedCorpus.from_token_lists([["good"], ["thin", "?"]])).tolist() == [2, 7, 1]
    with pytest.raises(TypeError, match="encode expects a list of tokens, got a single str"):
        vocab.encode("the")
    with pytest.raises(ValueError, match="id 99 is out of range for a vocabulary of 8 tokens"):
        vocab.decode([2, 99])
    with pytest.raises(ValueError, match="decode expects integer ids"):
        vocab.decode([1.5])


def test_vocabulary_tokens_leave_the_garbage_collector_after_one_collection(imdb_tokens):
    """A fitted 1-3-gram vocabulary holds ~10^6 strings; kept in a list, every full collection
    walked them (0.1 s per collection after a 5,000-review fit, paid inside the first predict).
    Built, unpickled or read from JSON, the token table must stop being tracked once collected."""
    import gc
    import pickle

    docs, _ = imdb_tokens
    grams = TokenizedCorpus.from_token_lists(docs[:200]).ngrams((1, 3))
    built = Vocabulary.from_documents(grams)
    assert len(built) > 20_000
    for vocab in (built, pickle.loads(pickle.dumps(built)), Vocabulary.from_dict(built.to_dict()),
                  Vocabulary(built.tokens[2:])):
        assert vocab == built or vocab.tokens == built.tokens  # an unpickled vocabulary decodes its table here
        gc.collect()
        tables = [r for r in gc.get_referents(vars(vocab)) if isinstance(r, (list, tuple)) and len(r) == len(built)]
        assert tables, "no token table found"
        assert not any(map(gc.is_tracked, tables)), "the token table is still walked by every full collection"


def test_vocabulary_unpickled_encodes_ngrams_without_decoding_its_tokens(imdb_tokens):
    """Loading a saved stack spent 4 s and ~1 GB building the 5.4 million n-gram strings of its NBSVM
    vocabulary and their dict, which encoding through the n-gram index never reads. Unpickled, a
    vocabulary must encode new documents' n-grams (and unigrams, OOV ones included) exactly as the
    fitted one, and build the strings and the dict only when something asks for them."""
    import pickle

    docs, _ = imdb_tokens
    fitted = Vocabulary.from_documents(TokenizedCorpus.from_token_lists(docs[:300]).ngrams((1, 3)))
    loaded = pickle.loads(pickle.dumps(fitted))
    new = TokenizedCorpus.from_token_lists(docs[300:400] + [["<unk>", "zzzunseen", "the", "film"]]).ngrams((1, 3))
    ids = loaded.encode(new)
    assert "_tokens" not in vars(loaded) and "_token_to_id" not in vars(loaded), "encoding decoded every token"
    expected = fitted.encode(TokenizedCorpus.from_token_lists(new.to_list()))  # string look-ups, no index
    assert np.array_equal(ids, expected) and (expected == OOV_ID).any() and (expected > 1).any()
    assert len(loaded) == len(fitted) and (loaded.pad_token, loaded.oov_token) == ("<pad>", "<unk>")
    assert repr(loaded) == repr(fitted) and "_tokens" not in vars(loaded)
    again = pickle.loads(pickle.dumps(loaded))  # saved again while still packed
    assert again == fitted and loaded.tokens == fitted.tokens and loaded.token_to_id == fitted.token_to_id
    assert loaded.encode(["the", "zzzunseen"]).tolist() == fitted.encode(["the", "zzzunseen"]).tolist()
    state = fitted.__getstate__()
    damaged = Vocabulary.__new__(Vocabulary)
    with pytest.raises(DataError, match="tokens but .* counts"):
        damaged.__setstate__({**state, "counts": state["counts"][:-1]})
    with pytest.raises(DataError, match="lengths do not add up"):
        damaged.__setstate__({**state, "tokens": (state["tokens"][0][:-1], state["tokens"][1])})


def test_vocabulary_json_round_trip(tmp_path):
    vocab = Vocabulary.from_documents(DOCS + [["é", "日本"]])
    path = vocab.to_json(tmp_path / "vocab.json")
    assert Vocabulary.from_json(path) == vocab
    assert Vocabulary.from_dict(json.loads(path.read_text(encoding="utf-8"))) == vocab
    assert [p.name for p in tmp_path.iterdir()] == ["vocab.json"]  # no temp file left


def test_vocabulary_bad_json_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.json: not valid JSON \(line 1"):
        Vocabulary.from_json(bad)
    other = tmp_path / "other.json"
    other.write_text('{"a": 1}', encoding="utf-8")
    with pytest.raises(DataError, match="other.json: Not a toolkit vocabulary"):
        Vocabulary.from_json(other)
    with pytest.raises(DataError, match="Unsupported vocabulary version 99"):
        Vocabulary.from_dict({**Vocabulary(["a"]).to_dict(), "version": 99})
    with pytest.raises(DataError, match="counts must have one entry per token"):
        Vocabulary.from_dict({**Vocabulary(["a"]).to_dict(), "counts": [1, 2]})
    with pytest.raises(FileNotFoundError):
        Vocabulary.from_json(tmp_path / "missing.json")


def test_vocabulary_ngram_index_file_round_trip(tmp_path):
    """save_ngram_index / load_ngram_index: a vocabulary read back from JSON gets its n-gram index again and
    encodes through it (no n-gram string is built) to the same ids; a file of another vocabulary, or holding
    ids outside this one, is refused naming the file; a vocabulary without an index writes no file."""
    docs = TokenizedCorpus.from_token_lists(DOCS)
    vocab = Vocabulary.from_documents(docs.ngrams((1, 3)), max_tokens=12)
    assert vocab.save_ngram_index(tmp_path / "index.npz")
    copy = Vocabulary.from_json(vocab.to_json(tmp_path / "vocab.json"))
    assert not hasattr(copy, "_ngram_indexes")
    copy.load_ngram_index(tmp_path / "index.npz")
    new = TokenizedCorpus.from_token_lists([["the", "film", "was", "thin"], ["good", "plot"]]).ngrams((1, 3))
    np.testing.assert_array_equal(copy.encode(new), vocab.encode(new))
    assert not new._built()  # the ids came from the index, not from the n-gram strings
    with np.load(tmp_path / "index.npz") as z:
        assert not any(z[name].dtype == object for name in z.files)

    other = Vocabulary.from_documents(docs.ngrams((1, 3)))
    with pytest.raises(ValueError, match=r"index.npz is the n-gram index of a vocabulary of 12 tokens"):
        other.load_ngram_index(tmp_path / "index.npz")
    with np.load(tmp_path / "index.npz") as z:
        arrays = {name: z[name] for name in z.files}
    arrays["values_0_2"] = arrays["values_0_2"] + 100
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=r"bad.npz holds n-gram ids outside this vocabulary"):
        Vocabulary.from_json(tmp_path / "vocab.json").load_ngram_index(tmp_path / "bad.npz")
    assert not Vocabulary.from_documents(DOCS).save_ngram_index(tmp_path / "none.npz")
    assert not (tmp_path / "none.npz").exists()


def _random_case(rng):
    n = int(rng.integers(0, 12))
    seqs = [list(rng.integers(1, 100, size=int(rng.integers(0, 15)))) for _ in range(n)]
    if n and rng.random() < 0.3:
        seqs[int(rng.integers(0, n))] = []
    kwargs = {
        "maxlen": [None, 1, 3, 7, 20][int(rng.integers(0, 5))],
        "padding": ["pre", "post"][int(rng.integers(0, 2))],
        "truncating": ["pre", "post"][int(rng.integers(0, 2))],
        "value": [0, -1, 5][int(rng.integers(0, 3))],
        "dtype": ["int32", "int64", "float32"][int(rng.integers(0, 3))],
    }
    return seqs, kwargs


def test_vocabulary_pad_sequences_equals_keras_on_random_cases():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(42)
    checked = 0
    for _ in range(400):
        seqs, kwargs = _random_case(rng)
        if not seqs and kwargs["maxlen"] is None:
            continue  # Keras raises on max() of nothing; ours returns shape (0, 0)
        expected = keras.utils.pad_sequences(seqs, **kwargs)
        got = pad_sequences(seqs, **kwargs)
        assert got.dtype == expected.dtype and got.shape == expected.shape, kwargs
        np.testing.assert_array_equal(got, expected)
        checked += 1
    assert checked > 300
    # numpy arrays, all-empty sequences and multi-dimensional elements
    for seqs in ([np.arange(5), np.arange(2)], [[], []], [np.ones((3, 2)), np.ones((1, 2))]):
        np.testing.assert_array_equal(pad_sequences(seqs, maxlen=4), keras.utils.pad_sequences(seqs, maxlen=4))


def test_vocabulary_pad_sequences_default_keeps_last_tokens():
    assert pad_sequences([[1, 2, 3, 4]], maxlen=2).tolist() == [[3, 4]]
    assert pad_sequences([[1, 2, 3, 4]], maxlen=2, truncating="post").tolist() == [[1, 2]]
    assert pad_sequences([]).shape == (0, 0)
    assert pad_sequences([["a"], ["b", "c"]], dtype=object, value="").tolist() == [["", "a"], ["b", "c"]]


def test_vocabulary_pad_sequences_bad_input():
    with pytest.raises(ValueError, match=r"The 'maxlen' parameter of pad_sequences must be an int in the range \[1, inf\) or None. Got 0 instead."):
        pad_sequences([[1]], maxlen=0)
    with pytest.raises(ValueError, match="The 'padding' parameter of pad_sequences must be a str among"):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="The 'truncating' parameter of pad_sequences"):
        pad_sequences([[1]], truncating="both")
    with pytest.raises(ValueError, match="must be a list of iterables. Found non-iterable: 3 at position 1"):
        pad_sequences([[1], 3])
    with pytest.raises(ValueError, match="must be a sequence of sequences, got str"):
        pad_sequences("abc")
    with pytest.raises(ValueError, match="is not compatible with `value`'s type"):
        pad_sequences([[1]], value="x")
    with pytest.raises(ValueError, match=r"Shape of sample \(3,\) of sequence at position 1"):
        pad_sequences([np.ones((2, 2)), np.ones((2, 3))])


def test_vocabulary_shared_encoding_reads_a_capped_vocabulary_off_the_full_one(imdb_tokens):
    """A frequency-ranked vocabulary capped at max_tokens is the start of the uncapped one built from the same
    documents; inside shared_encoding it reads its ids off that one's (same ids as its own look-up), and each
    (corpus, vocabulary) is looked up once. Vocabularies of other documents are not prefixes."""
    from toolkit.text.vocabulary import shared_encoding

    docs, _ = imdb_tokens
    fit = TokenizedCorpus.from_token_lists(docs[:400]).ngrams((1, 3))
    new = TokenizedCorpus.from_token_lists(docs[400:]).ngrams((1, 3))
    small, large = Vocabulary.from_documents(fit, max_tokens=5000), Vocabulary.from_documents(fit)
    other = Vocabulary.from_documents(TokenizedCorpus.from_token_lists(docs[200:]).ngrams((1, 3)), max_tokens=5000)
    assert small.is_prefix_of(large) and large.is_prefix_of(large) and not large.is_prefix_of(small)
    assert not other.is_prefix_of(large)
    expected_small, expected_large, expected_other = small.encode(new), large.encode(new), other.encode(new)
    assert 1 < int((expected_large >= len(small)).sum()) < len(expected_large)  # the cap matters here
    looked_up = []
    real = Vocabulary._encode_corpus
    Vocabulary._encode_corpus = lambda self, tokens: looked_up.append(len(self)) or real(self, tokens)
    try:
        with shared_encoding([(small, large)]):
            got_small = small.encode(new)
            got_small[:] = 0  # a copy: the memo is not changed by a caller
            np.testing.assert_array_equal(small.encode(new), expected_small)
            np.testing.assert_array_equal(large.encode(new), expected_large)
            np.testing.assert_array_equal(other.encode(new), expected_other)
        assert looked_up == [len(large), len(other)]  # small read off large; nothing looked up twice
        looked_up.clear()
        small.encode(new)  # outside the scope: its own look-up again
        assert looked_up == [len(small)]
    finally:
        Vocabulary._encode_corpus = real
    assert small.encode(["great", "zzz-unknown"]).tolist() == [small.token_to_id["great"], OOV_ID]
