"""Users' own label distributions: 95/5 binary data, a rare class of one to three documents, a class a
split lacks, labels as bools, a test file with a label training never saw. On real IMDB reviews."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from toolkit.cli import main
from toolkit.exceptions import DataError


def _write_jsonl(path, texts, labels):
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps({"text": text, "label": label}) + "\n" for text, label in zip(texts, labels))
    return path


@pytest.fixture(scope="module")
def imbalanced(imdb_small):
    """190 negative and 10 positive real reviews (95/5), in the fixture's shuffled order."""
    texts, labels = imdb_small
    neg = [i for i, label in enumerate(labels) if label == "neg"][:190]
    pos = [i for i, label in enumerate(labels) if label == "pos"][:10]
    idx = sorted(neg + pos)
    return [texts[i] for i in idx], [str(labels[i]) for i in idx]


def _with_rare_class(imdb_small, n_rare, n=200):
    """``n`` real reviews labelled neg/pos, the first ``n_rare`` positive ones relabelled "rare"."""
    texts, labels = imdb_small
    labels = [str(label) for label in labels[:n]]
    for i in [i for i, label in enumerate(labels) if label == "pos"][:n_rare]:
        labels[i] = "rare"
    return list(texts[:n]), labels


# ----------------------------------------------------------------------------------------- metrics


def test_macro_metrics_leave_out_a_class_the_test_data_and_predictions_lack():
    """A rare class that the test part lacks (and that is never predicted) has no precision or recall:
    averaging it in as 0 cut the macro F1 of a 3-class model from 0.73 to 0.49."""
    from toolkit.cli.train import compute_metrics

    y_true, y_pred = ["a", "b", "a", "b"], ["a", "b", "a", "a"]  # a: P 2/3 R 1; b: P 1 R 1/2
    m = compute_metrics(y_true, y_pred, classes=["a", "b", "rare"])
    assert m["average"] == "macro"
    assert m["precision"] == pytest.approx((2 / 3 + 1) / 2)
    assert m["recall"] == pytest.approx((1 + 1 / 2) / 2)
    assert m["f1"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert m["per_class"][2] == {"class": "rare", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    # a class that is predicted but absent from the data still counts (its precision is 0), as in scikit-learn
    m = compute_metrics(["a", "a", "b"], ["a", "rare", "b"], classes=["a", "b", "rare"])
    assert m["precision"] == pytest.approx((1 + 1 + 0) / 3)


def test_metrics_of_a_majority_class_model_on_95_5_data_show_it():
    """Accuracy 0.95 of a model that predicts "neg" for everything: balanced accuracy 0.5 and the
    positive class's recall 0 say what it is."""
    from toolkit.cli.train import _one_class_warning, compute_metrics

    y_true = ["neg"] * 95 + ["pos"] * 5
    m = compute_metrics(y_true, ["neg"] * 100, classes=["neg", "pos"])
    assert m["accuracy"] == pytest.approx(0.95) and m["balanced_accuracy"] == pytest.approx(0.5)
    assert m["per_class"] == [
        {"class": "neg", "precision": 0.95, "recall": 1.0, "f1": pytest.approx(2 * 0.95 / 1.95), "support": 95},
        {"class": "pos", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 5},
    ]
    json.dumps(m)
    warning = _one_class_warning(m)
    assert "predicts 'neg' for every one of the 100 test documents" in warning and "95.0%" in warning
    # a model that finds some positives, and data of one class, get no warning
    assert _one_class_warning(compute_metrics(y_true, ["neg"] * 96 + ["pos"] * 4, classes=["neg", "pos"])) is None
    assert _one_class_warning(compute_metrics(["neg"] * 3, ["neg"] * 3, classes=["neg", "pos"])) is None


def test_per_class_keeps_bool_and_int_classes_json_ready():
    from toolkit.cli.train import compute_metrics

    m = compute_metrics(np.array([True, False, True]), np.array([True, True, True]), classes=np.array([False, True]))
    assert [row["class"] for row in m["per_class"]] == [False, True]
    assert m["balanced_accuracy"] == pytest.approx(0.5)
    m = compute_metrics(np.array([0, 1, 2]), np.array([0, 1, 1]), classes=np.array([0, 1, 2]))
    assert [row["class"] for row in m["per_class"]] == [0, 1, 2] and type(m["per_class"][0]["class"]) is int
    json.dumps(m)


# ------------------------------------------------------------------------------------------- CLI


def test_train_on_95_5_data_splits_stratified_and_reports_per_class_metrics(imbalanced, tmp_path, capsys):
    """`toolkit train --data FILE.jsonl` on 95/5 real reviews: the test part keeps the 95/5 share, and
    metrics.json (the model's and the baseline's) and the stderr summary carry balanced accuracy and
    per-class figures beside the accuracy."""
    data = _write_jsonl(tmp_path / "reviews.jsonl", *imbalanced)
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exc:
        main(["train", "--data", str(data), "--model", "stack", "--vectors", "none", "--set", "n_jobs=1",
              "--set", "cv=3", "-o", str(out)])
    err = capsys.readouterr().err
    assert exc.value.code in (0, None), err[-2000:]
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_test"] == 40 and [row["support"] for row in m["per_class"]] == [38, 2]  # stratified: 95/5
    assert sum(map(sum, m["confusion_matrix"])) == 40
    for metrics in (m, m["baseline"]):
        assert 0 <= metrics["balanced_accuracy"] <= 1 and [row["class"] for row in metrics["per_class"]] == [
            "neg", "pos"]
    assert f"balanced accuracy {m['balanced_accuracy']:.4f}" in err
    predicted = {j for row in m["confusion_matrix"] for j, n in enumerate(row) if n}
    assert ("Warning: the model predicts 'neg' for every one" in err) == (predicted == {0})


def test_split_keeps_a_class_of_one_document_in_the_training_part_and_stratifies_the_rest(imdb_small, tmp_path,
                                                                                          caplog):
    """A class with one document cannot be stratified. The split used to drop stratification for every class
    and could put that document in the test part, where the model, never trained on it, cannot predict it."""
    from toolkit.cli._inputs import load_train_test

    texts, labels = _with_rare_class(imdb_small, 1, n=100)
    data = _write_jsonl(tmp_path / "reviews.jsonl", texts, labels)
    shares = {}
    with caplog.at_level(logging.WARNING, logger="toolkit.cli._inputs"):
        for seed in range(10):
            x_train, y_train, x_test, y_test = load_train_test(data, random_state=seed)
            assert "rare" in set(y_train.tolist()) and "rare" not in set(y_test.tolist())
            assert len(x_train) + len(x_test) == 100 and len(x_test) == 20
            shares[seed] = float(np.mean(y_test == "pos"))
    assert len(set(shares.values())) == 1, shares  # stratified: the same share of each class at every seed
    assert "Class 'rare' has one document: kept in the training part" in caplog.text


def test_limit_sample_keeps_a_class_of_one_document_and_stays_stratified(imdb_small, tmp_path, caplog):
    """``--limit`` drew a plain random sample when a class had one document: the class was lost from most
    samples (and then ``toolkit train`` stopped with the class missing from training) and every other class
    lost stratification. The sample now keeps the document and draws the rest stratified, as the split does."""
    from toolkit.cli._inputs import load_train_test

    texts, labels = _with_rare_class(imdb_small, 1, n=100)
    data = _write_jsonl(tmp_path / "reviews.jsonl", texts, labels)
    test = _write_jsonl(tmp_path / "test.jsonl", texts[:40], ["neg", "pos"] * 20)
    shares = set()
    with caplog.at_level(logging.INFO, logger="toolkit.cli._inputs"):
        for seed in range(10):
            _, y_train, _, y_test = load_train_test(data, test_data=test, limit=21, random_state=seed)
            assert len(y_train) == 21 and "rare" in set(y_train.tolist()), seed
            shares.add(int(np.sum(y_train == "pos")))
            assert len(y_test) == 21 and abs(int(np.sum(y_test == "pos")) - 10.5) <= 0.5  # no singletons: as before
    assert len(shares) == 1, shares  # stratified: the same number of each class at every seed
    assert "Class 'rare' has one document: kept in the sample of 21 documents" in caplog.text
    assert "not stratified" not in caplog.text


def test_limit_sample_with_more_one_document_classes_than_room_is_random_and_says_so(caplog):
    from toolkit.cli._inputs import _subsample

    labels = ["a", "b", "c", "d"] + ["x"] * 10
    with caplog.at_level(logging.WARNING, logger="toolkit.cli._inputs"):
        texts, kept = _subsample([f"t{i}" for i in range(14)], labels, 3, 0)
    assert len(texts) == len(kept) == 3
    assert "not stratified (class 'a' has one document)" in caplog.text


def test_train_names_a_class_the_split_put_wholly_in_the_test_part():
    """When a split still leaves a class in the test part only (many classes, too few documents to stratify),
    the user, who gave one file, is told that, not that "the test data has a label never trained on"."""
    from toolkit.cli.train import _check_split_classes

    with pytest.raises(DataError, match=r"reviews\.jsonl has too few documents of class 'c' \(2 documents\) "
                                        r"to split: the train/test split left all of them in the test part only"):
        _check_split_classes(np.array(["a", "b"]), np.array(["a", "c", "c"]), "reviews.jsonl")


def test_train_stack_names_a_class_with_one_training_document_before_fitting(imdb_small, tmp_path, monkeypatch):
    """The stack's cross-validation folds cannot all hold a class of one training document: the fit
    used to fail with "shape mismatch: value array of shape (133,3) could not be broadcast"."""
    from toolkit.cli._inputs import load_train_test
    from toolkit.cli.train import train
    from toolkit.models.stacking import StackedTextClassifier

    data = _write_jsonl(tmp_path / "reviews.jsonl", *_with_rare_class(imdb_small, 1, n=100))
    seed = next(s for s in range(50) if "rare" in load_train_test(data, random_state=s)[1])
    monkeypatch.setattr(StackedTextClassifier, "fit", lambda *a, **k: pytest.fail("fitted"))
    with pytest.raises(DataError, match=r"--model stack fits its members on 5 cross-validation folds of the "
                                        r"training part, but class 'rare' has one training document"):
        train(data, model="stack", vectors=None, baseline=False, random_state=seed)


def test_baseline_keeps_a_class_of_one_training_document_in_its_fitting_part(imbalanced):
    """The baseline chooses C on a validation split of the training part; a binary task's only positive
    review, held out there, left the fits one class ("The 'liblinear' solver does not support multiclass
    classification"): a `toolkit train` run failed after its model had trained."""
    from toolkit.cli.train import tfidf_baseline

    texts, labels = imbalanced
    labels = np.asarray(labels)
    keep = np.r_[np.flatnonzero(labels == "neg")[:99], np.flatnonzero(labels == "pos")[:1]]
    x, y = [texts[i] for i in keep], labels[keep]
    x_test, y_test = texts[-40:], labels[-40:]
    for seed in range(10):
        b = tfidf_baseline(x, y, x_test, y_test, random_state=seed)
        assert b["classes"] == ["neg", "pos"] and 0 <= b["validation_accuracy"] <= 1 and b["C"] > 0
    # every class has one document: nothing to validate C on
    b = tfidf_baseline(texts[:3], ["a", "b", "c"], texts[3:6], ["a", "b", "c"])
    assert b["validation_accuracy"] is None and b["C"] == 1.0 and len(b["per_class"]) == 3
    json.dumps(b)


def test_evaluate_a_file_with_a_label_training_never_saw_counts_and_says_what_to_do(tmp_path):
    from sklearn.dummy import DummyClassifier

    from toolkit.cli.train import evaluate

    model = DummyClassifier(strategy="most_frequent").fit([[0], [1]], ["neg", "pos"])
    rows = [("great", "pos"), ("meh", "neutral"), ("awful", "neg"), ("so so", "neutral")]
    path = _write_jsonl(tmp_path / "d.jsonl", *zip(*rows))
    with pytest.raises(DataError) as exc:
        evaluate(model, path)
    message = str(exc.value)
    assert "has label 'neutral' that the model was never trained on" in message
    assert "(2 of the 4 documents)" in message and "--label-column" not in message


# ---------------------------------------------------------------------------------- PseudoLabel


@pytest.fixture(scope="module")
def features(imdb_small):
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts, labels = imdb_small
    return TfidfVectorizer(min_df=2).fit_transform(texts[:200]), np.asarray(labels[:200])


def test_pseudo_label_takes_bool_labels_with_the_unlabelled_marker(features):
    """Bool labels plus -1 for the unlabelled reviews (an object array, as numpy requires) used to fail
    with "Unknown label type: unknown"."""
    from sklearn.linear_model import LogisticRegression

    from toolkit.models import PseudoLabelClassifier

    X, labels = features
    y = (labels == "pos").astype(object)
    y[150:] = -1
    clf = PseudoLabelClassifier(LogisticRegression(), fraction=0.5).fit(X, y)
    assert clf.classes_.tolist() == [False, True] and clf.n_pseudo_labelled_ >= 25
    assert clf.predict(X[:5]).dtype == bool and clf.predict_proba(X[:5]).shape == (5, 2)


def test_pseudo_label_with_labels_minus_one_and_one_says_minus_one_marks_unlabelled(features):
    from sklearn.linear_model import LogisticRegression

    from toolkit.models import PseudoLabelClassifier

    X, labels = features
    y = np.where(labels == "pos", 1, -1)  # a common binary coding; -1 is the unlabelled marker here
    with pytest.raises(ValueError, match=r"labelled samples of at least 2 classes; the \d+ labelled samples are "
                                         r"all of class 1 .*labels -1/\+1"):
        PseudoLabelClassifier(LogisticRegression()).fit(X, y)


def test_unstratified_split_warning_names_the_class_as_the_user_wrote_it(caplog):
    """The warning said "class np.str_('rare') has one document"."""
    from toolkit.cli._inputs import _stratify

    with caplog.at_level(logging.WARNING, logger="toolkit.cli._inputs"):
        assert _stratify(np.array(["neg", "neg", "pos", "pos", "rare"]), n_train=3, n_test=2) is None
    assert "class 'rare' has one document" in caplog.text and "np.str_" not in caplog.text


@pytest.fixture
def imbalanced_jsonl(imdb_small, tmp_path):
    """48 negative and 12 positive real reviews (string labels), as a user's JSONL file."""
    texts, labels = imdb_small
    neg, pos = np.flatnonzero(labels == "neg")[:48], np.flatnonzero(labels == "pos")[:12]
    path = tmp_path / "imbalanced.jsonl"
    path.write_text("".join(json.dumps({"text": texts[i], "label": str(labels[i])}) + "\n"
                            for i in sorted([*neg, *pos])), encoding="utf-8")
    return path


_TINY = {"vectors": None, "architecture": "bag", "maxlen": 16, "embedding_dim": 4, "max_tokens": 500}


@pytest.mark.parametrize("scoring", ["f1", "balanced_accuracy", "roc_auc"])
def test_grid_ranks_by_a_scoring_for_imbalanced_data_with_string_labels(imbalanced_jsonl, scoring):
    """`toolkit grid` ranked by accuracy only (no --scoring); scikit-learn's "f1" scorer needs the label 1, so
    string labels would fail in every fit: the second sorted class ('pos') is the positive one."""
    from toolkit.cli.grid import run_grid

    result = run_grid(str(imbalanced_jsonl), grid=["epochs=1,2"], settings=_TINY, cv=2, local=True, scoring=scoring)
    assert result["scoring"] == scoring and len(result["candidates"]) == 2
    assert all(0.0 <= c["mean_test_score"] <= 1.0 for c in result["candidates"])


def test_grid_scoring_name_is_checked_before_the_data_is_read(imbalanced_jsonl, monkeypatch):
    from typer.testing import CliRunner

    from toolkit.cli import _inputs, app

    monkeypatch.setattr(_inputs, "load_data", lambda *a, **k: pytest.fail("the data was read"))
    result = CliRunner().invoke(app, ["grid", "--data", str(imbalanced_jsonl), "--grid", "epochs=1,2",
                                      "--local", "--scoring", "f1-macro"])
    assert result.exit_code != 0
    assert "--scoring 'f1-macro' is not a scikit-learn scorer name (did you mean 'f1_macro'" in result.output
