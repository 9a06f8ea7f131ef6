"""Session 47 (h7): the one-document ``SpacyTokenizer.__call__``, and the text chapter of "Deep Learning with R"
worked through with toolkit in place of Keras' removed ``Tokenizer``.

1. ``SpacyTokenizer.__call__`` is cheaper per document (parameter checks remembered per settings, no progress
   bar, no compact corpus for one document); its tokens are the batch path's on real reviews.
2. What a user of the chapter met: see the tests of section 2.
"""

import numpy as np
import pytest
from conftest import spacy_tokens as _spacy_tokens

import toolkit.text.tokenizer as tokenizer_module
from toolkit._validation import InvalidParameterError
from toolkit.text import SequenceEncoder, SpacyTokenizer, pad_sequences

EMOJI = "I loved it 😂😂👍🏽 and ❤️ the 🇺🇸 cast 👩\u200d💻!!"


# ------------------------------------------------------------------ 1. one document at a time
def _hard_reviews(texts):
    """Real reviews with HTML breaks, then the same with emoji and long whitespace-free spans added."""
    with_breaks = [t for t in texts if "<br" in t][:40]
    assert len(with_breaks) == 40
    odd = [with_breaks[0] + " " + EMOJI, "!" * 1500 + with_breaks[1], with_breaks[2] + " " + "😍" * 1200,
           with_breaks[3].replace(" ", "", 300), with_breaks[4] + ' "quoted" \'\'twice\'\' ' + ":)" * 600]
    return with_breaks + odd


@pytest.mark.parametrize("params", [
    {"remove_stop": True, "remove_numbers": True},  # an engine no other test makes: the calls learn the spans
    {},
    {"lowercase": False, "remove_punct": True, "ngram_range": (1, 2)},
    {"analyzer": "char_wb", "ngram_range": (2, 3)},
])
def test_tokenizer_call_equals_batch_on_real_reviews(imdb_small, longest_chunk_to_spacy, params):
    docs = _hard_reviews(imdb_small[0])
    tokenizer = SpacyTokenizer(**params)
    one_by_one = [tokenizer(doc) for doc in docs]  # first: one document at a time learns the spans
    assert one_by_one == SpacyTokenizer(**params).fit_transform(docs).to_list()
    assert all(type(tokens) is list and all(type(t) is str for t in tokens) for tokens in one_by_one)
    if params.get("analyzer", "word") == "word" and params.get("lowercase", True) is False:
        plain = SpacyTokenizer(lowercase=False)
        # and spaCy's own tokens (spaCy alone is quadratic on the long spans: the reviews and the emoji)
        assert [plain(doc) for doc in docs[:41]] == _spacy_tokens(docs[:41])


def test_tokenizer_call_still_checks_changed_parameters():
    tokenizer = SpacyTokenizer()
    assert tokenizer("Don't panic!") == ["do", "n't", "panic", "!"]
    tokenizer.set_params(lowercase=1)  # 1 == True and hash(1) == hash(True): checked again all the same
    with pytest.raises(InvalidParameterError, match="The 'lowercase' parameter of SpacyTokenizer must be"):
        tokenizer("Don't panic!")
    tokenizer.set_params(lowercase=True, ngram_range=(1, True))
    with pytest.raises(ValueError, match="'ngram_range' parameter of SpacyTokenizer must be a tuple"):
        tokenizer("Don't panic!")
    tokenizer.set_params(ngram_range=[1, 2])  # a list: not remembered (it can change in place), checked each call
    assert tokenizer("Don't panic!") == ["do", "n't", "panic", "!", "do n't", "n't panic", "panic !"]


def test_tokenizer_in_sorted_is_isin():
    values = np.array([0, 5, 7, 9, 2**63 + 1], dtype=np.uint64)
    for table in ([], [7], [1, 5, 9], [2**63 + 1, 2**64 - 1]):
        table = np.array(sorted(table), dtype=np.uint64)
        assert tokenizer_module._in_sorted(values, table).tolist() == np.isin(values, table).tolist()


# ------------------------------------------------------------------ 2. the chapter, with toolkit
def test_pad_sequences_of_tokens_says_to_encode_them_first(imdb_small):
    # the chapter's texts_to_sequences + pad_sequences: a user pads the tokenizer's output (strings) directly
    corpus = SpacyTokenizer().fit_transform(imdb_small[0][:3])
    with pytest.raises(ValueError, match=r"pad_sequences got tokens, not ids: sequence 0 holds the string .* "
                                         r"SequenceEncoder\(max_tokens=\.\.\., maxlen=\.\.\.\)"):
        pad_sequences(corpus, maxlen=100)  # was numpy's "invalid literal for int() with base 10: 'the'"
    with pytest.raises(ValueError, match="sequence 1 holds the string 'a'.*pass dtype=object"):
        pad_sequences([[1, 2], ["a"]], maxlen=3)
    # what it says to do works: ids, or the strings themselves
    ids = SequenceEncoder(max_tokens=1000, maxlen=100).fit_transform(corpus)
    assert ids.shape == (3, 100) and ids.dtype == np.int32
    padded = pad_sequences(corpus, maxlen=100, dtype=object, value="")
    assert padded.tolist() == [[""] * (100 - len(d)) + d[-100:] for d in corpus.to_list()]
    # numbers as strings convert, and other failures keep numpy's (Keras') error, as before
    assert pad_sequences([["1", "2"]], maxlen=3).tolist() == [[0, 1, 2]]
    with pytest.raises(TypeError, match="NoneType"):
        pad_sequences([[1, 2], [None]], maxlen=3)


def test_tokenizer_ngram_range_of_numpy_ints_from_a_grid(imdb_small):
    # the chapter's n-grams searched over a grid built with numpy: [(1, n) for n in np.arange(1, 3)]; refused
    # before with "must be a tuple (min_n, max_n) of ints ... Got (1, np.int64(2)) instead."
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    from toolkit.text import BagEncoder

    texts, labels = imdb_small[0][:40], imdb_small[1][:40]
    grid = {"spacytokenizer__ngram_range": [(1, n) for n in np.arange(1, 3)]}
    search = GridSearchCV(make_pipeline(SpacyTokenizer(), BagEncoder(), LogisticRegression()), grid, cv=2,
                          error_score="raise").fit(texts, labels)
    assert search.best_params_["spacytokenizer__ngram_range"] in [(1, 1), (1, 2)]
    numpy_range = SpacyTokenizer(ngram_range=(np.int64(1), np.int64(2)))
    assert numpy_range.transform(texts[:3]).to_list() == SpacyTokenizer(ngram_range=(1, 2)).transform(texts[:3]).to_list()
    assert numpy_range(texts[0]) == SpacyTokenizer(ngram_range=(1, 2))(texts[0])
    chars = SpacyTokenizer(analyzer="char_wb", ngram_range=(np.int32(2), np.int32(3))).transform(texts[:2])
    assert chars.tokenizer_params["ngram_range"] == (2, 3)  # recorded as plain ints (JSON)
    for bad in [(True, 2), (np.bool_(True), 2), (1.0, 2), (2, 1)]:  # still refused
        with pytest.raises(ValueError, match="The 'ngram_range' parameter of SpacyTokenizer must be a tuple"):
            SpacyTokenizer(ngram_range=bad).transform(texts[:1])
