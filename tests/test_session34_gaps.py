"""Two gaps the thirty-third session left open, on small real IMDB training samples.

1. ``make_pipeline(SpacyTokenizer(), OneVsRestClassifier(...))`` with a label that has one value in the
   training rows: scikit-learn's constant predictor for that label validates the corpus with numpy, which
   read a corpus as nested token sequences ("inhomogeneous shape"). A corpus now converts to a 1-D object
   array of one token list per document; a numeric conversion says to encode the tokens first.
2. Labels read from a file that are numbers with fractions were sorted as strings ("10" before "2.5") and
   kept apart by spelling (2.5 and "2.5" in a JSONL file: a name clash). They are now one class per number,
   in numeric order, as whole numbers already were.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import write_labelled_csv
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import ClassifierChain, MultiOutputClassifier
from sklearn.pipeline import make_pipeline
from sklearn.utils import _safe_indexing

from toolkit.data import load_csv, load_jsonl
from toolkit.exceptions import DataError
from toolkit.models import NBSVMClassifier
from toolkit.text import BagEncoder, SpacyTokenizer, TokenizedCorpus

N = 200  # reviews: seconds
N_FIT = 150


@pytest.fixture(scope="module")
def tagged(imdb_small, imdb_small_ratings):
    """200 real training reviews and a (n, 3) indicator: positive, >= 9 stars, and a tag no review has."""
    texts, labels = imdb_small
    texts = texts[:N]
    Y = np.column_stack([labels[:N] == "pos", imdb_small_ratings[:N] >= 9, np.zeros(N, bool)]).astype(int)
    assert (Y[:N_FIT, :2].min(axis=0) == 0).all() and (Y[:N_FIT, :2].max(axis=0) == 1).all()
    return texts, Y


@pytest.fixture(scope="module")
def corpus(tagged):
    texts, _ = tagged
    return SpacyTokenizer().fit_transform(texts)


def _nbsvm():
    return make_pipeline(BagEncoder(output_mode="count"), NBSVMClassifier(loss="log_loss", random_state=0))


def _logistic():
    return make_pipeline(BagEncoder(), LogisticRegression(max_iter=1000))


# ------------------------------------------------------------- 1. OneVsRest after the tokenizer
def test_one_vs_rest_after_the_tokenizer_predicts_a_constant_label(tagged):
    """The pipeline the brief names: before, "setting an array element with a sequence ... inhomogeneous
    shape" from _ConstantPredictor.fit; now the tag without reviews is a constant 0 (with sklearn's warning)."""
    texts, Y = tagged
    model = make_pipeline(SpacyTokenizer(), OneVsRestClassifier(_nbsvm()))
    with pytest.warns(UserWarning, match="Label not 2 is present in all training examples"):
        model.fit(texts[:N_FIT], Y[:N_FIT])
    proba = model.predict_proba(texts[N_FIT:])
    assert proba.shape == (N - N_FIT, 3)
    assert (proba[:, 2] == 0).all() and (model.predict(texts[N_FIT:])[:, 2] == 0).all()
    assert ((proba[:, :2] > 0) & (proba[:, :2] < 1)).all()


@pytest.mark.parametrize("make", [_nbsvm, _logistic], ids=["nbsvm", "bag-logistic"])
def test_one_vs_rest_on_a_corpus_fits_the_other_labels_as_alone(make, tagged, corpus):
    """The labels with both values get the models each would get on its own column; the constant one a 0."""
    _, Y = tagged
    fit, new = corpus[:N_FIT], corpus[N_FIT:]
    with pytest.warns(UserWarning, match="present in all training examples"):
        ovr = OneVsRestClassifier(make()).fit(fit, Y[:N_FIT])
    proba = ovr.predict_proba(new)
    for k in (0, 1):
        alone = make().fit(fit, Y[:N_FIT, k]).predict_proba(new)[:, 1]
        np.testing.assert_allclose(proba[:, k], alone, rtol=1e-6, atol=1e-9)
    assert (proba[:, 2] == 0).all()
    np.testing.assert_array_equal(ovr.decision_function(new)[:, 2], 0)


def test_classifier_chain_after_the_tokenizer_says_to_encode_first(tagged, corpus):
    """ClassifierChain needs a matrix (README). Before: numpy's "inhomogeneous shape"; with __array__ alone it
    would have been "Expected 2D array" followed by every token of every document. Now one short line."""
    _, Y = tagged
    for model in (ClassifierChain(_nbsvm(), chain_method="predict"), LogisticRegression()):
        with pytest.raises(ValueError, match=r"TokenizedCorpus holds token lists.*BagEncoder") as info:
            model.fit(corpus[:N_FIT], Y[:N_FIT] if isinstance(model, ClassifierChain) else Y[:N_FIT, 0])
        assert len(str(info.value)) < 500


def test_multi_output_after_the_tokenizer_still_names_the_constant_label(tagged, corpus):
    """MultiOutputClassifier never converted the corpus: both columns fit; the constant one is the toolkit's
    own error (unchanged), which names OneVsRestClassifier."""
    _, Y = tagged
    moc = MultiOutputClassifier(_nbsvm()).fit(corpus[:N_FIT], Y[:N_FIT, :2])
    assert moc.predict(corpus[N_FIT:]).shape == (N - N_FIT, 2)
    with pytest.raises(ValueError, match="OneVsRestClassifier predicts such a column as a constant"):
        MultiOutputClassifier(_nbsvm()).fit(corpus[:N_FIT], Y[:N_FIT])


def test_a_corpus_as_a_numpy_array(corpus):
    """One token list per document, also when the documents have equal lengths (before: a 2-D array of str)."""
    array = np.asarray(corpus)
    assert array.shape == (len(corpus),) and array.dtype == object
    assert array.tolist() == corpus.to_list()
    equal = TokenizedCorpus.from_token_lists([["a", "good", "film"], ["a", "bad", "one"]])
    assert np.asarray(equal).shape == (2,) and np.asarray(equal)[1] == ["a", "bad", "one"]
    assert np.asarray(TokenizedCorpus.from_token_lists([])).shape == (0,)
    with pytest.raises(ValueError, match="cannot become an array of dtype float64.*BagEncoder"):
        np.asarray(corpus, dtype=float)
    with pytest.raises(ValueError, match="copy=False"):
        np.array(corpus, copy=False)
    # the conversions that did not go through numpy are unchanged: row selection and the n-gram corpus
    assert _safe_indexing(corpus, np.array([3, 0])) == [corpus[3], corpus[0]]
    grams = corpus[:5].ngrams((1, 2))
    assert np.asarray(grams).tolist() == grams.to_list()


# ------------------------------------------------------------- 2. numeric labels with fractions
def test_half_point_labels_are_classes_in_numeric_order(imdb_small, imdb_small_ratings, tmp_path):
    """Stars rescaled to 0-10 in half points, as a CSV writes them: before, string order ("0", "1", "10",
    "2", "3.5", ...); now numeric order, named as written."""
    texts, _ = imdb_small
    stars = np.asarray(imdb_small_ratings[:N])
    halves = np.round((stars - 1) / 9 * 20) / 2  # 0, 1, 2, 3.5, 6.5, 8, 9, 10
    assert {3.5, 10.0} <= set(halves.tolist())
    path = write_labelled_csv(tmp_path / "halves.csv", texts[:N], [f"{h:g}" for h in halves])
    ds = load_csv(path)
    values = sorted(set(halves.tolist()))
    assert ds.target_names == [f"{v:g}" for v in values]
    np.testing.assert_array_equal(np.asarray(values)[ds.labels], halves)

    from toolkit.cli._inputs import load_train_test

    _, y_train, _, y_test = load_train_test(path, test_size=0.2, random_state=0)
    assert set(y_train.tolist()) | set(y_test.tolist()) == set(ds.target_names)


def test_fractional_labels_spelled_differently_are_one_class(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text("text,label\na,10\nb,2.5\nc, 2.50\nd,0.5\ne,10.0\nf,-1.25\n", encoding="utf-8")
    ds = load_csv(path)
    assert ds.target_names == ["-1.25", "0.5", "2.5", "10"]
    assert ds.labels.tolist() == [3, 2, 2, 1, 3, 0]
    # JSON numbers and strings mixed: before, 2.5 and "2.5" were two classes named "2.5" (a DataError)
    jsonl = tmp_path / "mixed.jsonl"
    rows = [("a", 2.5), ("b", "2.5"), ("c", 10), ("d", 1), ("e", "0.25"), ("f", 1.0)]
    jsonl.write_text("".join(json.dumps({"text": t, "label": v}) + "\n" for t, v in rows), encoding="utf-8")
    ds = load_jsonl(jsonl)
    assert ds.target_names == ["0.25", "1", "2.5", "10"]
    assert ds.labels.tolist() == [2, 2, 3, 1, 0, 1]


def test_text_labels_and_name_clashes_are_unchanged(tmp_path):
    path = tmp_path / "text.csv"
    path.write_text("text,label\na,pos\nb,10\nc,2.5\nd,neg\n", encoding="utf-8")
    assert load_csv(path).target_names == ["10", "2.5", "neg", "pos"]  # not all numbers: sorted as text
    clash = tmp_path / "clash.jsonl"
    clash.write_text('{"text": "a", "label": true}\n{"text": "b", "label": "True"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="same name 'True'"):
        load_jsonl(clash)


def test_a_score_column_is_still_refused_and_the_model_classes_still_match(imdb_small, imdb_small_ratings,
                                                                          tmp_path):
    """toolkit train's check (cli/_inputs.py) on the numeric names, and evaluate's matching (cli/train.py)."""
    from toolkit.cli._inputs import load_train_test
    from toolkit.cli.train import _as_classes, compute_metrics

    texts, _ = imdb_small
    stars = np.asarray(imdb_small_ratings[:N])
    noise = np.random.default_rng(0).normal(0, 0.05, N)
    scores = np.clip((stars - 1) / 9 + noise, 0, 1).round(4)
    path = write_labelled_csv(tmp_path / "scores.csv", texts[:N], scores)
    with pytest.raises(DataError, match="distinct numbers with fractions.*a continuous score, not classes"):
        load_train_test(path, test_size=0.2)
    # a model fitted in Python on float labels gets a file's "10" as 10.0 and "2.5" as 2.5
    mapped = _as_classes(["2.5", "10", "0.5"], list(np.array([0.5, 2.5, 10.0])))  # as _classes gives
    assert mapped.tolist() == [2.5, 10.0, 0.5]
    m = compute_metrics(["10", "2.5", "0.5", "2.5"], ["10", "2.5", "2.5", "2.5"])
    assert m["classes"] == ["0.5", "2.5", "10"]
