"""Users whose labels are numbers: star ratings as classes, continuous scores, 0/1 floats.

Real IMDB reviews and their stars (small samples). A continuous target given to a toolkit classifier
names a regressor on the toolkit's features and binning; ``toolkit train`` refuses a column of scores
before any fit; star classes read as strings are reported in numeric order, with the mean absolute error.
"""

from __future__ import annotations

import csv
import json
import logging

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline

from toolkit import (
    BagEncoder,
    EmbeddingClassifier,
    NBFeatureScaler,
    NBSVMClassifier,
    PseudoLabelClassifier,
    SpacyTokenizer,
    StackedTextClassifier,
)
from toolkit.cli._inputs import load_train_test
from toolkit.cli.train import compute_metrics, predict, train
from toolkit.exceptions import DataError

N = 160  # reviews per test: seconds


@pytest.fixture(scope="module")
def reviews(imdb_tokens, imdb_small, imdb_small_ratings):
    """(raw texts, token lists, stars, counts) of N real training reviews."""
    texts, _ = imdb_small
    tokens, _ = imdb_tokens
    counts = BagEncoder().fit_transform(tokens[:N])
    return texts[:N], tokens[:N], np.asarray(imdb_small_ratings[:N]), counts


def _scores(stars):
    """Stars turned into a 0.0-1.0 score with noise: a continuous target."""
    noise = np.random.default_rng(0).normal(0, 0.05, stars.size)
    return np.clip((stars - 1) / 9 + noise, 0, 1).round(4)


def _write_csv(path, texts, labels, column="label"):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", column])
        writer.writerows(zip(texts, labels))
    return path


@pytest.mark.parametrize("make, data", [
    (lambda: NBSVMClassifier(), "counts"),
    (lambda: NBFeatureScaler(), "counts"),
    (lambda: PseudoLabelClassifier(NBSVMClassifier()), "counts"),
    (lambda: StackedTextClassifier(vectors=None, cv=3), "tokens"),
    (lambda: EmbeddingClassifier(epochs=1), "tokens"),
], ids=["nbsvm", "nb-scaler", "pseudo-label", "stack", "embedding"])
def test_continuous_target_names_a_regressor_and_binning(reviews, make, data):
    """A score given to a classifier: scikit-learn said only "Unknown label type: continuous"; the message
    now says what to fit instead (a regressor on the toolkit's features) or how to make classes (bins)."""
    _, tokens, stars, counts = reviews
    X = counts if data == "counts" else tokens
    with pytest.raises(ValueError, match=r"Unknown label type: 'continuous'") as info:
        make().fit(X, _scores(stars))
    message = str(info.value)
    assert "learns classes" in message and f"distinct values in {N} samples" in message
    assert "BagEncoder(), Ridge())" in message and "EmbeddingVectorizer" in message
    assert "np.digitize(y, bins)" in message and "np.rint(y)" in message


def test_whole_number_floats_and_stars_stay_classes(reviews):
    """1.0/0.0 floats are two classes and stars as floats eight, as before: only fractions are refused."""
    _, _, stars, counts = reviews
    binary = NBSVMClassifier().fit(counts, (stars > 5).astype(float))
    assert binary.classes_.tolist() == [0.0, 1.0] and binary.predict(counts[:3]).dtype == np.float64
    assert NBSVMClassifier().fit(counts, stars.astype(float)).classes_.tolist() == sorted(set(stars.astype(float)))


def test_the_named_regressor_learns_the_stars(reviews):
    """The pipeline the message names cross-validates with scikit-learn's MAE scoring on raw text, and
    beats predicting the mean star of the training folds."""
    texts, _, stars, _ = reviews
    cv = KFold(3, shuffle=True, random_state=0)
    mae = -cross_val_score(make_pipeline(SpacyTokenizer(), BagEncoder(), Ridge(alpha=10.0)), texts, stars,
                           cv=cv, scoring="neg_mean_absolute_error")
    mean_only = [np.abs(stars[test] - stars[train].mean()).mean() for train, test in cv.split(texts)]
    assert np.all(np.isfinite(mae)) and mae.mean() < np.mean(mean_only)


def test_train_refuses_a_score_column_before_fitting(reviews, tmp_path, caplog):
    """A 0.0-1.0 score column: a warning naming every value as a one-document class, then a split error
    saying to add documents to those "classes". Now one error, before any fit, saying why and what to do."""
    texts, _, stars, _ = reviews
    data = _write_csv(tmp_path / "scores.csv", texts, _scores(stars), column="score")
    with caplog.at_level(logging.WARNING), pytest.raises(DataError) as info:
        train(data, model="stack", vectors=None, label_column="score", baseline=False, output=tmp_path / "run")
    message = str(info.value)
    assert "label column 'score' holds" in message and "a continuous score, not classes" in message
    assert "Ridge" in message and "one class per distinct label" in message
    assert not (tmp_path / "run").exists()
    assert not [r for r in caplog.records if "have one document" in r.getMessage()]


def test_many_whole_number_classes_warn_and_lists_stay_short(reviews, tmp_path, caplog):
    """Scores of whole numbers (0-100) are classes, with a warning that says so; the warning about classes
    of one document names ten of them and how many more, not every one."""
    texts, _, stars, _ = reviews
    labels = stars * 10
    labels[:30] = 1000 + np.arange(30)  # 30 classes of one document each, beside the stars' eight
    data = _write_csv(tmp_path / "percent.csv", texts, labels)
    with caplog.at_level(logging.INFO):
        load_train_test(data, test_size=0.2)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "holds 38 distinct whole numbers (10 to 1029)" in text and "bin them" in text
    singles = [r.getMessage() for r in caplog.records if "have one document" in r.getMessage()]
    assert len(singles) == 1 and "'1009' and 20 more have one document" in singles[0]
    assert "'1010'" not in singles[0]


def test_star_classes_read_as_strings_are_reported_in_numeric_order_with_mae():
    """Stars from a CSV are the strings "1".."10": classes, the confusion matrix and per_class were in string
    order ("1", "10", "2"); now numeric, with the mean absolute error in stars (the README's ratings figure)."""
    y_true = np.array(["1", "2", "10", "9", "3", "10", "7", "4"])
    y_pred = np.array(["2", "2", "9", "10", "1", "10", "7", "7"])
    classes = sorted(set(y_true) | set(y_pred))  # a fitted model's classes_: string order
    assert classes[:3] == ["1", "10", "2"]
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(len(classes)), size=y_true.size)
    m = compute_metrics(y_true, y_pred, proba, classes=classes)
    numeric = sorted(classes, key=int)
    assert m["classes"] == numeric and [p["class"] for p in m["per_class"]] == numeric
    matrix = np.asarray(m["confusion_matrix"])
    for t, p in zip(y_true, y_pred):  # the cell of each document is where numeric order puts it
        assert matrix[numeric.index(t), numeric.index(p)] >= 1
    assert matrix.sum() == y_true.size
    expected_mae = np.mean([abs(int(t) - int(p)) for t, p in zip(y_true, y_pred)])
    assert m["mean_absolute_error"] == pytest.approx(expected_mae)
    from sklearn.metrics import roc_auc_score

    assert m["roc_auc"] is not None and m["roc_auc"] == pytest.approx(roc_auc_score(y_true, proba, multi_class="ovr", labels=classes))
    # two classes and text classes: no MAE (it would be the error rate)
    assert "mean_absolute_error" not in compute_metrics(["0", "1"], ["1", "1"])
    assert "mean_absolute_error" not in compute_metrics(["neg", "pos", "x"], ["pos", "pos", "x"])


def test_train_on_a_stars_csv_reports_stars_in_order(reviews, tmp_path):
    """End to end: a CSV of stars through train, metrics.json and predict."""
    texts, _, stars, _ = reviews
    data = _write_csv(tmp_path / "stars.csv", texts, stars)
    result = train(data, model="stack", vectors=None, settings={"cv": 3, "n_jobs": 1}, baseline=False,
                   output=tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    order = sorted(str(s) for s in set(stars.tolist()))
    order.sort(key=int)
    assert metrics["classes"] == order and [p["class"] for p in metrics["per_class"]] == order
    assert 0 <= metrics["mean_absolute_error"] <= 9
    row = predict(result.estimator, ["An instant classic, a masterpiece."])[0]
    assert list(row["probabilities"]) == order and row["label"] in order


def test_stack_ratings_with_missing_values_says_what_to_do(reviews):
    """ratings=[..., None, ...] read as NaN said only "document 3 has nan"; now that ratings are missing
    (how many) and what to do."""
    _, tokens, stars, _ = reviews
    ratings = [None if i in (3, 10) else float(s) for i, s in enumerate(stars)]
    with pytest.raises(ValueError, match=r"document 3 has nan \(2 of the 160 ratings are missing: None or NaN\)"
                       r".*fill them in, or fit without ratings"):
        StackedTextClassifier(vectors=None, cv=3, ratings_alpha=1.0).fit(tokens, stars > 5, ratings=ratings)
