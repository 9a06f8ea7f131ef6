"""Many classes: ``predict(..., top=k)`` / ``toolkit predict --top K`` list the k most probable classes of each
text, and ``compute_metrics`` (``toolkit train`` / ``evaluate``) adds ``top_5_accuracy`` past five classes.

A model with 200 classes wrote 200 probabilities per line of ``toolkit predict`` (kilobytes per review), and no
metric said whether the right class was at least among the model's first guesses. The tests fit small models
on the star ratings (eight classes, 1-4 and 7-10) of real IMDB training reviews.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from toolkit.cli._inputs import SettingError
from toolkit.cli.train import compute_metrics, predict
from toolkit.models import save_model
from toolkit.text import BagEncoder, SpacyTokenizer


@pytest.fixture(scope="module")
def stars(imdb_small, imdb_small_ratings):
    """A bag-of-words logistic regression fitted on 500 reviews' star ratings (as strings, "1" ... "10"), and
    100 held-out reviews with their ratings."""
    texts, _ = imdb_small
    ratings = np.asarray([str(r) for r in imdb_small_ratings])
    pipe = make_pipeline(SpacyTokenizer(), BagEncoder(output_mode="count"), LogisticRegression(C=0.1, max_iter=300))
    pipe.fit(texts[:500], ratings[:500])
    return pipe, texts[500:], ratings[500:]


def test_predict_top_lists_the_k_most_probable_classes_most_probable_first(stars):
    pipe, texts, _ = stars
    full = predict(pipe, texts[:20])
    rows = predict(pipe, texts[:20], top=3)
    proba = pipe.predict_proba(texts[:20])
    classes = pipe.classes_.tolist()
    assert len(classes) == 8
    for row, every, p in zip(rows, full, proba):
        assert set(row) == {"label", "top"}  # the per-class probabilities make way for the list
        assert len(row["top"]) == 3
        best = np.argsort(-p, kind="stable")[:3]
        assert [t["label"] for t in row["top"]] == [classes[j] for j in best]
        assert [t["probability"] for t in row["top"]] == [round(float(p[j]), 6) for j in best]
        assert row["top"][0]["label"] == row["label"] == every["label"]
        assert all(every["probabilities"][t["label"]] == t["probability"] for t in row["top"])
    # k past the number of classes: all of them, still in order, summing to 1
    everything = predict(pipe, texts[:2], top=50)
    for row in everything:
        assert len(row["top"]) == 8
        probabilities = [t["probability"] for t in row["top"]]
        assert probabilities == sorted(probabilities, reverse=True)
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)


def test_predict_top_ties_keep_the_numeric_class_order():
    """Equal probabilities (here every class's: a model that learnt nothing) are listed in the order of
    "probabilities": numeric for star ratings, "2" before "10", where a string sort puts "10" first."""
    texts = ["a good film", "a bad film", "an old film", "a new film"]
    pipe = make_pipeline(SpacyTokenizer(), BagEncoder(), LogisticRegression(C=1e-12))
    pipe.fit(texts, ["10", "2", "3", "1"])
    row = predict(pipe, ["a film"], top=4)[0]
    assert [t["label"] for t in row["top"]] == ["1", "2", "3", "10"]
    assert list(predict(pipe, ["a film"])[0]["probabilities"]) == ["1", "2", "3", "10"]


@pytest.mark.parametrize("top", [0, -1, 1.5, True, "3"])
def test_predict_top_that_is_no_count_is_a_clear_error(stars, top):
    pipe, texts, _ = stars
    with pytest.raises(SettingError, match=r"top=.*whole number of at least 1"):
        predict(pipe, texts[:2], top=top)


def test_predict_top_of_a_model_without_probabilities_says_so(imdb_small):
    texts, labels = imdb_small
    pipe = make_pipeline(SpacyTokenizer(), BagEncoder(), LinearSVC()).fit(texts[:60], labels[:60])
    with pytest.raises(SettingError, match=r"top=2: the model, a Pipeline, has no predict_proba"):
        predict(pipe, texts[:2], top=2)
    assert "probabilities" not in predict(pipe, texts[:2])[0]  # without top it predicts, as before


def test_cli_predict_top(stars, tmp_path):
    from typer.testing import CliRunner

    from toolkit.cli import app

    pipe, texts, _ = stars
    model = save_model(pipe, tmp_path / "model")
    result = CliRunner().invoke(app, ["predict", str(model), "--top", "2", texts[0], texts[1]])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows == predict(pipe, texts[:2], top=2)
    assert [len(r["top"]) for r in rows] == [2, 2]
    bad = CliRunner().invoke(app, ["predict", str(model), "--top", "0", texts[0]])
    assert bad.exit_code != 0 and "--top" in bad.output
    # toolkit evaluate on a CSV of star ratings: the metrics JSON holds the top-5 accuracy
    _, _, ratings = stars
    data = tmp_path / "stars.csv"
    pd = pytest.importorskip("pandas")
    pd.DataFrame({"text": texts, "label": ratings.astype(int)}).to_csv(data, index=False)
    scored = CliRunner().invoke(app, ["evaluate", str(model), str(data)])
    assert scored.exit_code == 0, scored.output
    metrics = json.loads(scored.stdout)
    proba = pipe.predict_proba(texts)
    assert metrics["top_5_accuracy"] == pytest.approx(_top_k_by_hand(ratings, proba, pipe.classes_.tolist(), 5))


def _top_k_by_hand(y_true, proba, classes, k):
    """The share of rows whose true class has fewer than k classes scored above it."""
    column = {c: j for j, c in enumerate(classes)}
    own = proba[np.arange(len(y_true)), [column[t] for t in y_true]]
    return float(np.mean((proba > own[:, None]).sum(axis=1) < k))


def test_compute_metrics_top_5_accuracy_past_five_classes(stars):
    pipe, texts, ratings = stars
    proba = pipe.predict_proba(texts)
    classes = pipe.classes_.tolist()  # string order: "1", "10", "2", ...
    metrics = compute_metrics(ratings, pipe.predict(texts), proba, classes=classes)
    expected = _top_k_by_hand(ratings, proba, classes, 5)
    assert metrics["top_5_accuracy"] == pytest.approx(expected)
    assert metrics["accuracy"] < metrics["top_5_accuracy"] < 1.0
    # the score columns follow `classes`, in whatever order it comes: the same figures from reordered columns
    # (before, the ROC AUC stopped there: "Parameter 'labels' must be ordered", from scikit-learn)
    order = np.random.default_rng(0).permutation(len(classes))
    shuffled = compute_metrics(ratings, pipe.predict(texts), proba[:, order], classes=[classes[j] for j in order])
    assert shuffled["top_5_accuracy"] == pytest.approx(expected)
    assert shuffled["roc_auc"] == pytest.approx(metrics["roc_auc"]) and 0.5 < metrics["roc_auc"] < 1
    # five classes or fewer, no scores, or a true label the model never saw: no such figure
    five = [r for r in ratings if r in {"1", "2", "3", "4", "10"}]
    assert "top_5_accuracy" not in compute_metrics(five, five, np.full((len(five), 5), 0.2),
                                                   classes=["1", "10", "2", "3", "4"])
    assert "top_5_accuracy" not in compute_metrics(ratings, pipe.predict(texts), classes=classes)
    unseen = ratings.copy()
    unseen[0] = "5"
    assert "top_5_accuracy" not in compute_metrics(unseen, pipe.predict(texts), proba, classes=classes)


def test_the_summary_line_gives_the_top_5_accuracy_when_there_is_one():
    from toolkit.cli.train import _format_metrics

    many = {"accuracy": 0.4, "balanced_accuracy": 0.38, "f1": 0.35, "roc_auc": 0.8, "top_5_accuracy": 0.9}
    assert "top-5 accuracy 0.9000" in _format_metrics(many)
    assert "top-5" not in _format_metrics({k: v for k, v in many.items() if k != "top_5_accuracy"})
