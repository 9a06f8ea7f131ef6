"""A reader of Chollet's text chapter ports its examples: GloVe into an embedding matrix, a frozen Embedding."""

import numpy as np
import pytest
from gensim.models import KeyedVectors

from toolkit.text import Vocabulary
from toolkit.vectors import build_embedding_matrix, load_vectors


@pytest.fixture(scope="module")
def glove20k(glove_small):
    return load_vectors(glove_small)


@pytest.fixture(scope="module")
def imdb_vocab(imdb_tokens200):
    return Vocabulary.from_documents(imdb_tokens200[0])


@pytest.mark.parametrize("oov", ["random", "mean"])
@pytest.mark.parametrize("reserved", [("", "[UNK]"), ("<pad>", "<unk>")])
def test_list_vocabulary_of_keras_or_toolkit_keeps_padding_row_zero(glove20k, imdb_vocab, oov, reserved):
    # Chollet: vocabulary = text_vectorization.get_vocabulary() -> ["", "[UNK]", "the", ...]; row 0 is padding,
    # which a frozen Embedding (no mask: "cnn", "flatten") adds to every padded position
    tokens = [*reserved, *imdb_vocab.tokens[2:]]
    matrix, report = build_embedding_matrix(tokens, glove20k, oov=oov, random_state=0)
    expected, expected_report = build_embedding_matrix(imdb_vocab, glove20k, oov=oov, random_state=0)
    assert not matrix[0].any()
    assert matrix[1].any()  # the OOV row is filled like a missing word, as for a Vocabulary
    np.testing.assert_array_equal(matrix, expected)
    assert report.n_tokens == len(tokens) - 2 == expected_report.n_tokens
    assert all(tok not in reserved for tok, _ in report.top_missing)


def test_plain_token_list_has_no_reserved_rows(glove20k):
    matrix, report = build_embedding_matrix(["the", "zzzqqq", "movie"], glove20k, oov="mean")
    assert report.n_tokens == 3 and report.n_covered == 2
    np.testing.assert_array_equal(matrix[0], glove20k["the"])


@pytest.mark.parametrize("oov", ["random", "mean"])
def test_empty_vectors_refused_instead_of_nan_rows(imdb_vocab, oov):
    with pytest.raises(ValueError, match="hold no words.*oov='zeros'"):
        build_embedding_matrix(imdb_vocab, KeyedVectors(50), oov=oov, random_state=0)
    matrix, report = build_embedding_matrix(imdb_vocab, KeyedVectors(50))  # zeros: no NaN, nothing covered
    assert not matrix.any() and report.n_covered == 0


def test_build_model_refuses_nan_embedding_matrix():
    from toolkit.models import build_model

    matrix = np.zeros((10, 4), dtype=np.float32)
    matrix[3, 1] = np.nan
    matrix[7] = np.inf
    with pytest.raises(ValueError, match=r"NaN or infinite values in 2 of its 10 rows \(the first: \[3, 7\]\)"):
        build_model("cnn", vocab_size=10, maxlen=5, embedding_matrix=matrix, trainable=False)


def test_build_model_trainable_false_freezes_a_learned_embedding_too():
    from toolkit.models import build_model

    frozen = build_model("bag", vocab_size=20, maxlen=5, embedding_dim=4, trainable=False, seed=0)
    assert frozen.get_layer("embedding").trainable is False
    assert build_model("bag", vocab_size=20, maxlen=5, embedding_dim=4, seed=0).get_layer("embedding").trainable


@pytest.mark.parametrize("docs, min_count", [([[], [], []], 1), ([["a", "rare"], ["once", "each"]], 2)])
def test_embedding_vectorizer_refuses_an_empty_vocabulary(glove_small, docs, min_count):
    # fitted without a token, every document (new ones too) pooled to zeros: a classifier after it learnt nothing
    from toolkit.vectors import EmbeddingVectorizer

    with pytest.raises(ValueError, match=rf"vocabulary of EmbeddingVectorizer is empty.*min_count={min_count}"):
        EmbeddingVectorizer(vectors=str(glove_small), min_count=min_count).fit(docs)


@pytest.fixture()
def reviews_csv(imdb_small, tmp_path):
    import csv

    texts, labels = imdb_small
    path = tmp_path / "reviews.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(zip([" ".join(t.split()) for t in texts[:40]], labels[:40]))
    return path


@pytest.mark.parametrize("args, expected", [
    (["-g", "padding=pre,middle"], ("Invalid --grid padding: The 'padding' parameter of EmbeddingClassifier must "
                                    "be a str among {'post', 'pre'}. Got 'middle' instead.")),
    (["-g", "maxlen=[50,100", "--set", "epochs=1"], "Invalid --grid 'maxlen=[50,100': the '[' at character 8 is not "
                                                     "closed"),
    (["-g", "epochs=1", "--set", "truncating=end"], "Invalid --set: The 'truncating' parameter of EmbeddingClassifier"),
    (["-g", "epochs=1", "--set", "tokenizer__batch_size=0"], "Invalid --set: The 'batch_size' parameter of SpacyTok"),
])
def test_grid_refuses_a_bad_value_before_loading_data_and_fitting(reviews_csv, monkeypatch, args, expected):
    # such a value failed in the first candidate's fit, after the data, TensorFlow and the cluster (20 s or more)
    from typer.testing import CliRunner

    import toolkit.cli.grid as grid_module
    from toolkit.cli import app

    def no_search(*a, **k):
        raise AssertionError("the search started")

    monkeypatch.setattr(grid_module, "run_grid", no_search)
    result = CliRunner().invoke(app, ["-q", "grid", "--local", "--data", str(reviews_csv), "--cv", "2", *args])
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: {expected}"), lines[0]


def test_word_index_dict_gives_each_word_the_row_of_its_id(glove20k):
    # Chollet's first edition: word_index = tokenizer.word_index ({"the": 1, "and": 2, ...}; 0 is padding), then
    # embedding_matrix[i] = glove[word]; a dict was read as a list of its keys, each vector one row too early
    word_index = {"the": 1, "and": 2, "zzzqqq": 3, "movie": 5}
    matrix, report = build_embedding_matrix(word_index, glove20k, oov="mean")
    assert matrix.shape == (6, 50)
    for word in ("the", "and", "movie"):
        np.testing.assert_array_equal(matrix[word_index[word]], glove20k[word])
    assert not matrix[0].any() and not matrix[4].any()  # padding, and an id no word has
    np.testing.assert_allclose(matrix[3], glove20k.vectors.mean(axis=0, dtype=np.float64), atol=1e-6)  # oov="mean"
    assert (report.n_tokens, report.n_covered, report.top_missing) == (4, 3, [("zzzqqq", None)])
    with pytest.raises(ValueError, match="maps 'a' and 'b' both to id 1"):
        build_embedding_matrix({"a": 1, "b": 1}, glove20k)


@pytest.mark.parametrize("kwargs, message", [
    ({"maxlen": 0}, r"The 'maxlen' parameter of build_model must be an int >= 1 or None; got 0\."),
    ({"learning_rate": 0.1}, r"learning_rate=0\.1 is used when build_model compiles the model: give optimizer"),
])
def test_build_model_refuses_what_it_would_drop(kwargs, message):
    from toolkit.models import build_model

    with pytest.raises(ValueError, match=message):
        build_model("bag", vocab_size=10, **{"maxlen": 5, "embedding_dim": 4, **kwargs})
