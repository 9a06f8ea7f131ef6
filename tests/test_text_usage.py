"""The text stage used the way users use it: generators, odd corpora, the CLI's text commands."""

from __future__ import annotations

import numpy as np
import pytest
from test_cli import assert_error, invoke, runner  # noqa: F401 (fixture, helpers)

from toolkit.text import (
    NegationMarker,
    SequenceEncoder,
    TokenizedCorpus,
    Vocabulary,
    mark_negation,
)


@pytest.fixture(scope="module")
def review_tokens(imdb_small):
    """Token lists of 200 real IMDB reviews (str.split: the tests here are not about spaCy)."""
    texts, _ = imdb_small
    return [text.lower().split() for text in texts[:200]]


def test_text_usage_sequence_encoder_fit_transform_reads_a_generator_once(review_tokens):
    # fit_transform(generator) used to fit on the generator, then transform the exhausted one: 0 rows
    expected = SequenceEncoder(maxlen=30).fit(review_tokens).transform(review_tokens)
    X = SequenceEncoder(maxlen=30).fit_transform(doc for doc in review_tokens)
    assert X.shape == (len(review_tokens), 30)
    np.testing.assert_array_equal(X, expected)
    X = SequenceEncoder().fit_transform(map(list, review_tokens))
    assert X.shape[0] == len(review_tokens)


def test_text_usage_vocabulary_encode_list_of_token_lists(review_tokens):
    # the docstring promises one flat array for a list of token lists; it raised "unhashable type: 'list'"
    vocab = Vocabulary.from_documents(review_tokens, max_tokens=500)
    flat = vocab.encode(review_tokens[:5])
    expected = np.concatenate([vocab.encode(doc) for doc in review_tokens[:5]])
    np.testing.assert_array_equal(flat, expected)
    np.testing.assert_array_equal(vocab.encode(TokenizedCorpus.from_token_lists(review_tokens[:5])), expected)
    assert vocab.encode([]).tolist() == []
    with pytest.raises(ValueError, match=r"document 1 is a raw str"):
        vocab.encode([["a"], "not tokenized"])


def test_text_usage_mark_negation_of_tokens_that_already_look_marked():
    # a token spelled like a marked one ("NOT_good" in the text) and a marked "good" were two entries of
    # the string table: Vocabulary.from_documents then failed with "'NOT_good' appears twice"
    docs = [["not", "good", ".", "NOT_good"], ["NOT_good", "is", "not", "good"]]
    marked = mark_negation(docs)
    assert marked.to_list() == [["not", "NOT_good", ".", "NOT_good"], ["NOT_good", "is", "not", "NOT_good"]]
    assert len(set(marked.strings)) == len(marked.strings)
    vocab = Vocabulary.from_documents(marked)
    assert vocab.tokens[2] == "NOT_good" and vocab.counts[2] == 4
    enc = SequenceEncoder().fit(NegationMarker().fit_transform(docs))
    assert enc.vocabulary_.tokens[2] == "NOT_good"


def test_text_usage_vocabulary_from_corpus_with_repeated_strings():
    # TokenizedCorpus accepts a string table that repeats a string; its counts must be merged
    corpus = TokenizedCorpus([0, 1, 2, 1], [0, 2, 4], ["a", "b", "a"])
    assert corpus.to_list() == [["a", "b"], ["a", "b"]]
    vocab = Vocabulary.from_documents(corpus)
    assert vocab.tokens == ["<pad>", "<unk>", "a", "b"] and vocab.counts.tolist() == [0, 0, 2, 2]


@pytest.mark.parametrize("ngram_range", [(2, 1), (0, 1), (1,), "12", (1.0, 2)])
def test_text_usage_corpus_ngrams_bad_range(ngram_range):
    corpus = TokenizedCorpus.from_token_lists([["a", "b", "c"]])
    with pytest.raises(ValueError, match=r"ngram_range must be a pair \(min_n, max_n\) of ints with 1 <= min_n <= max_n"):
        corpus.ngrams(ngram_range)


def test_text_usage_cli_vectorize_refuses_vocabulary_over_the_matrix(runner, tmp_path):
    # --vocabulary naming the --output file replaced the matrix with the vocabulary JSON (exit 0)
    texts = tmp_path / "reviews.txt"
    texts.write_text("A good film\nA dull one\n", encoding="utf-8")
    out = tmp_path / "seqs.npz"
    assert_error(invoke(runner, "vectorize", texts, "-o", out, "--vocabulary", out),
                 r"--vocabulary .*seqs\.npz is also the --output file")
    assert not out.exists()
    # also when -o has no suffix (the .npz is added)
    assert_error(invoke(runner, "vectorize", texts, "-o", tmp_path / "seqs", "--vocabulary", out),
                 r"is also the --output file")
    result = invoke(runner, "vectorize", texts, "-o", out, "--vocabulary", tmp_path / "vocab.json")
    assert result.exit_code == 0, result.output
    assert np.load(out)["x"].shape == (2, 3)
    assert Vocabulary.from_json(tmp_path / "vocab.json").tokens[2] == "a"
    # the library call refuses it too, before writing anything
    from toolkit.cli.text import vectorize

    result = vectorize(["A good film", "A dull one"])
    with pytest.raises(ValueError, match=r"vocabulary_path .*m\.npz is also the matrix file"):
        result.save(tmp_path / "m", vocabulary_path=tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_text_usage_pipeline_feature_names_and_set_output_pass_through_the_token_steps(imdb_small):
    # pipe[:-1].get_feature_names_out() (naming a linear model's weights) and Pipeline.set_output failed:
    # "Estimator spacytokenizer does not provide get_feature_names_out" / "`set_output` is not available"
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.text import BagEncoder, SpacyTokenizer

    texts, labels = imdb_small
    texts, labels = texts[:100], labels[:100]
    pipe = make_pipeline(SpacyTokenizer(), NegationMarker(), BagEncoder(max_tokens=300), LogisticRegression())
    pipe.fit(texts, labels)
    names = pipe[:-1].get_feature_names_out()
    assert names.tolist() == pipe[-2].get_feature_names_out().tolist() and len(names) == pipe[-1].coef_.shape[1]
    assert "NOT_good" in names.tolist() or "NOT_a" in names.tolist()

    seqs = make_pipeline(SpacyTokenizer(), SequenceEncoder(maxlen=5)).set_output(transform="pandas")
    frame = seqs.fit_transform(texts[:10])
    assert list(frame.columns) == [f"sequenceencoder{i}" for i in range(5)] and frame.shape == (10, 5)
    # a global pandas output leaves the token lists alone
    with sklearn.config_context(transform_output="pandas"):
        corpus = SpacyTokenizer().fit_transform(texts[:3])
        assert isinstance(corpus, TokenizedCorpus) and len(corpus) == 3
        assert isinstance(NegationMarker().fit_transform(corpus), TokenizedCorpus)


def test_text_usage_a_token_spelled_like_the_pad_token_is_out_of_vocabulary():
    # a "<pad>" token (pre-tokenized data, strip_html=False) got the padding id 0: BagEncoder counted it in
    # the previous document's last column (or crashed on the first document), SequenceEncoder dropped it
    from toolkit.text import BagEncoder, HashingEncoder

    train = [["a", "b"], ["b"]]
    enc = BagEncoder(output_mode="count").fit(train)
    X = enc.transform([["b", "a"], ["a", "<pad>"], ["<pad>"]]).toarray()
    assert enc.get_feature_names_out().tolist() == ["<unk>", "b", "a"]
    assert X.tolist() == [[0, 1, 1], [1, 0, 1], [1, 0, 0]]
    seq = SequenceEncoder(maxlen=3).fit(train)
    assert seq.transform([["a", "<pad>"]]).tolist() == [[0, 3, 1]]
    assert seq.inverse_transform(seq.transform([["<pad>", "b"]])) == [["<unk>", "b"]]
    vocab = Vocabulary(["a"], pad_token="[PAD]")
    assert vocab.encode(["[PAD]", "a", "<pad>"]).tolist() == [1, 2, 1]
    ngrams = TokenizedCorpus.from_token_lists([["<pad>", "a", "b"]]).ngrams((1, 2))
    vocab = Vocabulary.from_documents(TokenizedCorpus.from_token_lists(train).ngrams((1, 2)))
    assert 0 not in vocab.encode(ngrams).tolist()
    assert HashingEncoder(n_features=8).transform([["<pad>"]]).sum() == 1


def test_text_usage_negation_after_a_typographic_apostrophe():
    # "don’t" (U+2019, the apostrophe of most web text) is spaCy's "do" + "n’t"; it opened no scope
    from toolkit.text import tokenize

    corpus = tokenize(["I don\u2019t like it. I don't like it."])
    assert mark_negation(corpus)[0] == ["i", "do", "n\u2019t", "NOT_like", "NOT_it", ".",
                                        "i", "do", "n't", "NOT_like", "NOT_it", "."]
