"""Workflows: reading input, settings, metrics, atomic writes, data status."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest

from toolkit._atomic import atomic_output
from toolkit.cli._inputs import load_train_test, parse_setting, read_input
from toolkit.cli.data import data_status
from toolkit.cli.train import compute_metrics
from toolkit.exceptions import DataError, ManifestError

# ------------------------------------------------------------------ atomic writes


def test_workflows_atomic_output_replaces_only_on_success(tmp_path):
    target = tmp_path / "sub" / "out.json"
    with atomic_output(target) as tmp:
        assert tmp.parent == target.parent and tmp.suffix == ".json"
        tmp.write_text("first")
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_output(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]


def test_workflows_atomic_output_directory(tmp_path):
    target = tmp_path / "run"
    with pytest.raises(RuntimeError):
        with atomic_output(target, directory=True) as tmp:
            (tmp / "a.txt").write_text("x")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with atomic_output(target, directory=True) as tmp:
        (tmp / "a.txt").write_text("x")
    with atomic_output(target, directory=True) as tmp:
        (tmp / "b.txt").write_text("y")
    assert [p.name for p in target.iterdir()] == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


# --------------------------------------------------------------------------- input


def test_workflows_read_input_lines_and_stdin(tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_text("A great film.\n\n  \nDull and long.\r\n", encoding="utf-8")
    assert read_input(path) == ["A great film.", "Dull and long."]
    assert read_input("-", stdin=io.StringIO("one\n\ntwo\n")) == ["one", "two"]


def test_workflows_read_input_csv_jsonl_folder(tmp_path):
    (tmp_path / "d.csv").write_text('review,label\n"good, really",pos\nbad,neg\n', encoding="utf-8")
    assert read_input(tmp_path / "d.csv", column="review") == ["good, really", "bad"]
    (tmp_path / "d.tsv").write_text("text\tlabel\ngood, really\tpos\n", encoding="utf-8")
    assert read_input(tmp_path / "d.tsv") == ["good, really"]
    (tmp_path / "d.jsonl").write_text('{"text": "fine"}\n{"text": "meh"}\n', encoding="utf-8")
    assert read_input(tmp_path / "d.jsonl") == ["fine", "meh"]
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "1.txt").write_text("first doc", encoding="utf-8")
    (folder / "2.txt").write_text("second doc", encoding="utf-8")
    assert read_input(folder) == ["first doc", "second doc"]


def test_workflows_read_input_imdb(data_dir_env):
    texts = read_input("imdb", split="test")
    assert len(texts) == 25_000 and all(isinstance(t, str) for t in texts[:10])


def test_workflows_read_input_errors(tmp_path):
    with pytest.raises(DataError, match=r"Input not found: '.*missing\.txt'"):
        read_input(tmp_path / "missing.txt")
    binary = tmp_path / "model.bin"
    binary.write_bytes(b"ok line\n\xff\xfe\x00\x81 binary")
    with pytest.raises(DataError, match=r"Cannot read '.*model\.bin' as utf-8 text \(line 2"):
        read_input(binary)
    (tmp_path / "d.csv").write_text("review,label\ngood,pos\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"Column 'text' \(--column\) not found in .*d\.csv.*Pass --column <one of them>"):
        read_input(tmp_path / "d.csv")
    # a tab- or semicolon-separated .csv (Excel's "CSV" in many locales) is read with the delimiter its header
    # holds; a header with several of them gets a hint that names what the command line can do, not load_csv's
    # delimiter= parameter
    (tmp_path / "tabs.csv").write_text("text\tlabel\ngood\tpos\n", encoding="utf-8")
    assert read_input(tmp_path / "tabs.csv") == ["good"]
    (tmp_path / "semi.csv").write_text("text;label\ngood;pos\n", encoding="utf-8")
    assert read_input(tmp_path / "semi.csv") == ["good"]
    (tmp_path / "mixed.csv").write_text("text\tlabel;x\ngood\tpos;x\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"holding '\\t': name the file \.tsv \(read as tab-separated\)\.$"):
        read_input(tmp_path / "mixed.csv")
    (tmp_path / "semi_pipe.csv").write_text("text;label|x\ngood;pos|x\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"holding ';': the command line reads a \.csv with commas, or with the one "
                                        r"delimiter among ';', tab and '\|' that its header holds"):
        read_input(tmp_path / "semi_pipe.csv")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=r"No text files .* found in .*empty"):
        read_input(empty)


def test_workflows_read_input_one_document_per_line_only(imdb_small, tmp_path):
    """A file of lines is one document per "\n" line: str.splitlines() also split at U+0085, which IMDB
    reviews hold (cp1252's ellipsis), so `predict --input` and `tokenize` returned more documents than lines."""
    texts, _ = imdb_small
    odd = [t for t in texts if "\x85" in t]
    assert odd, "the sample holds reviews with U+0085"
    lines = [t.replace("\n", " ") for t in odd[:5]] + ["form\x0cfeed, line\u2028separator", "windows line"]
    path = tmp_path / "reviews.txt"
    path.write_bytes(("\n".join(lines[:-1]) + "\r\n" + lines[-1] + "\n\n").encode("utf-8"))
    assert read_input(path) == lines


def test_workflows_read_input_unreadable(tmp_path, monkeypatch):
    path = tmp_path / "secret.txt"
    path.write_text("x")
    monkeypatch.setattr("os.access", lambda p, mode: False)
    with pytest.raises(DataError, match=r"Cannot read '.*secret\.txt': permission denied"):
        read_input(path)


def test_workflows_load_train_test_split_and_limit(tmp_path):
    rows = [{"text": f"doc {i}", "label": "pos" if i % 2 else "neg"} for i in range(50)]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    x_train, y_train, x_test, y_test = load_train_test(path, test_size=0.2, random_state=0)
    assert (len(x_train), len(x_test)) == (40, 10)
    assert sorted(set(y_test)) == ["neg", "pos"] and not set(x_train) & set(x_test)
    x_train, y_train, x_test, y_test = load_train_test(path, limit=8, random_state=0)
    assert len(x_train) == 8 and len(x_test) == 8 and list(y_train).count("pos") == 4
    # with_ratings: the same split, and no ratings for data without them
    *same, ratings = load_train_test(path, limit=8, random_state=0, with_ratings=True)
    assert ratings is None and same[0] == x_train and same[2] == x_test
    np.testing.assert_array_equal(same[1], y_train)


def test_workflows_load_train_test_imdb_names_labels(data_dir_env):
    x_train, y_train, x_test, y_test = load_train_test("imdb", limit=100, random_state=1)
    assert len(x_train) == len(x_test) == 100
    assert sorted(set(y_train)) == ["neg", "pos"] and list(y_test).count("pos") == 50
    # with_ratings: each training review's stars, subsampled with it (1-4 negative, 7-10 positive)
    *same, ratings = load_train_test("imdb", limit=100, random_state=1, with_ratings=True)
    assert same[0] == x_train and same[2] == x_test and len(ratings) == 100
    np.testing.assert_array_equal((ratings >= 7), np.asarray(y_train) == "pos")
    assert set(ratings) <= {1, 2, 3, 4, 7, 8, 9, 10} and len(set(ratings)) >= 6
    from toolkit import load_imdb

    train = load_imdb("train")
    stars_of = dict(zip(train.texts, train.ratings.tolist()))  # the stars in each review's file name
    assert ratings.tolist() == [stars_of[text] for text in x_train]


# ------------------------------------------------------------------------ settings


@pytest.mark.parametrize(
    "item, expected",
    [
        ("epochs=3", ("epochs", 3)),
        ("learning_rate=1e-3", ("learning_rate", 0.001)),
        ("ngram_range=(1, 2)", ("ngram_range", (1, 2))),
        ("architecture=cnn", ("architecture", "cnn")),
        ("lowercase=false", ("lowercase", False)),
        ("max_tokens=None", ("max_tokens", None)),
        ("class_weight={\"pos\": 2}", ("class_weight", {"pos": 2})),
        (" model = en_core_web_sm ", ("model", "en_core_web_sm")),
    ],
)
def test_workflows_parse_setting(item, expected):
    assert parse_setting(item) == expected


def test_workflows_parse_setting_needs_equals():
    from toolkit.cli._inputs import SettingError

    with pytest.raises(SettingError, match=r"Invalid setting 'epochs': expected key=value"):
        parse_setting("epochs")


# ------------------------------------------------------------------------- metrics


def test_workflows_compute_metrics_binary_by_hand():
    y_true = np.array(["neg", "pos", "pos", "neg", "pos", "neg"])
    proba_pos = np.array([0.2, 0.9, 0.4, 0.6, 0.8, 0.1])
    y_pred = np.where(proba_pos > 0.5, "pos", "neg")  # neg pos neg pos pos neg: TP 2, FN 1, FP 1, TN 2
    m = compute_metrics(y_true, y_pred, np.c_[1 - proba_pos, proba_pos], classes=["neg", "pos"])
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    # positives score 0.9, 0.4, 0.8; negatives 0.2, 0.6, 0.1: 8 of the 9 pairs are ordered right
    assert m["roc_auc"] == pytest.approx(8 / 9)
    assert m["confusion_matrix"] == [[2, 1], [1, 2]]
    assert m["average"] == "binary (positive class 'pos')" and m["n_samples"] == 6
    json.dumps(m)  # JSON-ready


def test_workflows_compute_metrics_positive_class_is_the_second():
    """Precision and recall are those of classes[1]: swapping the class order changes them."""
    y_true, y_pred = ["a", "a", "a", "b"], ["a", "b", "b", "b"]
    assert compute_metrics(y_true, y_pred, classes=["a", "b"])["precision"] == pytest.approx(1 / 3)
    assert compute_metrics(y_true, y_pred, classes=["b", "a"])["precision"] == pytest.approx(1.0)
    assert compute_metrics(y_true, y_pred, classes=["b", "a"])["recall"] == pytest.approx(1 / 3)


def test_workflows_compute_metrics_multiclass_macro_by_hand():
    y_true = [0, 1, 2, 2, 1, 0]
    pred = [0, 1, 2, 1, 1, 0]
    proba = np.eye(3)[pred] * 0.8 + 0.2 / 3
    m = compute_metrics(y_true, pred, proba, classes=[0, 1, 2])
    assert m["average"] == "macro" and m["accuracy"] == pytest.approx(5 / 6)
    # per class (P, R): 0 (1, 1), 1 (2/3, 1), 2 (1, 1/2); F1 1, 0.8, 2/3
    assert m["precision"] == pytest.approx((1 + 2 / 3 + 1) / 3)
    assert m["recall"] == pytest.approx((1 + 1 + 1 / 2) / 3)
    assert m["f1"] == pytest.approx((1 + 0.8 + 2 / 3) / 3)
    # one-vs-rest AUC: class 0 1.0; class 1 (one tie in 4 pairs each) 0.875; class 2 (4 wins + 4 ties of 8) 0.75
    assert m["roc_auc"] == pytest.approx((1 + 0.875 + 0.75) / 3)
    assert m["confusion_matrix"] == [[2, 0, 0], [0, 2, 0], [0, 1, 1]]


def test_workflows_tfidf_baseline_by_hand():
    from toolkit.cli.train import BASELINE_C_GRID, tfidf_baseline

    x = ["good", "great film", "good fun", "bad", "awful film", "bad plot"] * 5
    y = ["pos", "pos", "pos", "neg", "neg", "neg"] * 5
    # the third test review says "good" but is labelled neg: 2 of 3 right, precision of pos 1/2, recall 1
    b = tfidf_baseline(x, y, ["good fun", "awful plot", "good"], ["pos", "neg", "neg"])
    assert b["accuracy"] == pytest.approx(2 / 3) and b["n_samples"] == 3
    assert b["precision"] == pytest.approx(1 / 2) and b["recall"] == pytest.approx(1.0)
    assert b["confusion_matrix"] == [[1, 1], [0, 1]]
    assert b["C"] in BASELINE_C_GRID and b["validation_accuracy"] == 1.0
    assert b["model"].startswith("TF-IDF 1-2-grams") and b["fit_seconds"] >= 0


def test_workflows_tfidf_baseline_three_classes(imdb_small, imdb_small_ratings):
    """Three classes (IMDB's stars as bad / mixed / good): liblinear fits two classes only in scikit-learn
    >= 1.8, so `toolkit train` on a 3-class CSV crashed in its baseline ("a bug in toolkit") before any
    model was scored. The baseline now fits lbfgs' multinomial model for more than two classes."""
    from toolkit.cli.train import tfidf_baseline

    texts, _ = imdb_small
    stars = imdb_small_ratings
    y = np.where(stars <= 2, "bad", np.where(stars >= 9, "good", "mixed"))
    b = tfidf_baseline(texts[:300], y[:300], texts[300:], y[300:])
    assert b["classes"] == ["bad", "good", "mixed"] and len(b["confusion_matrix"]) == 3
    chance = max(np.mean(y[300:] == c) for c in ("bad", "good", "mixed"))
    assert b["accuracy"] > chance  # better than always naming the largest class


# ---------------------------------------------------------------------------- data


def test_workflows_data_status_offline_and_remote(shared_data, tmp_path):
    rows = {r["name"]: r for r in data_status(data_dir=shared_data, cache_dir=tmp_path)}
    assert rows["imdb"]["status"] == "offline" and rows["imdb"]["path"].endswith("aclImdb_v1.tar.gz")
    assert rows["glove.6B.50d"]["status"] == "offline"
    assert rows["glove.6B.300d"]["status"] == "remote" and rows["glove.6B.300d"]["path"] is None
    (tmp_path / "data" / "glove.6B.300d").mkdir(parents=True)
    (tmp_path / "data" / "glove.6B.300d" / "glove.6B.zip").write_bytes(b"")
    (info,) = data_status("glove.6B.300d", data_dir=shared_data, cache_dir=tmp_path, details=True)
    assert info["status"] == "cached" and info["member"] == "glove.6B.300d.txt"


def test_workflows_data_status_unknown_name():
    with pytest.raises(ManifestError, match="Unknown data manifest 'imbd'"):
        data_status("imbd")


# --------------------------------------------------------------- train and friends


def test_workflows_train_predict_evaluate_in_memory(data_dir_env, tmp_path):
    from toolkit.cli.train import evaluate, predict, train

    settings = {"architecture": "bag", "ngram_range": (1, 1), "epochs": 1, "maxlen": 40, "embedding_dim": 8,
                "max_tokens": 2000, "validation_split": 0.1}
    result = train(limit=80, vectors=None, settings=settings, baseline=False)
    assert result.files == {} and result.coverage is None and "baseline" not in result.metrics
    assert result.metrics["n_train"] == result.metrics["n_test"] == 80
    assert set(result.history) >= {"loss", "accuracy"} and len(result.history["loss"]) == 1
    params = result.estimator.get_params()
    assert params["classifier__verbose"] == 0 and params["tokenizer__progress"] is False

    rows = predict(result.estimator, ["A wonderful film.", "Awful."])
    assert [sorted(r["probabilities"]) for r in rows] == [["neg", "pos"]] * 2
    assert predict(result.estimator, []) == []
    with pytest.raises(ValueError, match="string object received"):
        predict(result.estimator, "one text")

    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "great", "label": "pos"}\n{"text": "bad", "label": "neg"}\n', encoding="utf-8")
    metrics = evaluate(result.estimator, path)
    assert metrics["n_samples"] == 2 and metrics["classes"] == ["neg", "pos"]


@pytest.fixture
def made(monkeypatch):
    """The parameters ``train`` passes to make_text_classifier, which then stops the run before loading."""
    made = {}

    def fake_make(**params):
        made.clear()
        made.update(params)
        raise RuntimeError("stop before loading")

    monkeypatch.setattr("toolkit.models.classifier.make_text_classifier", fake_make)
    return made


def test_workflows_train_merges_main_job_under_settings(made, monkeypatch, tmp_path):
    """No options: the recipe's parameters; --set wins over them; the recipe's vectors unless given."""
    from toolkit.cli.train import train

    monkeypatch.setattr("toolkit.models.recipes.MAIN_JOB", {"epochs": 7, "architecture": "cnn", "vectors": "v.txt"})
    with pytest.raises(RuntimeError, match="stop before loading"):
        train(settings={"epochs": 2})
    assert made == {"epochs": 2, "architecture": "cnn", "vectors": "v.txt", "random_state": 0}
    made.clear()
    with pytest.raises(RuntimeError):
        train(vectors=None, random_state=3)
    assert made == {"epochs": 7, "architecture": "cnn", "vectors": None, "random_state": 3}


def test_workflows_train_stack_model_defaults(made, tmp_path):
    """model="stack": STACK_JOB's parameters and a StackedTextClassifier step; on data other than IMDB
    the default vectors are GloVe ("unsup" is IMDB's unlabelled split); --vectors and --set win."""
    from toolkit.cli.train import train
    from toolkit.models import StackedTextClassifier
    from toolkit.models.recipes import DOMAIN_VECTORS, STACK_JOB

    with pytest.raises(RuntimeError, match="stop before loading"):
        train(model="stack")
    assert isinstance(made.pop("estimator"), StackedTextClassifier)
    assert made == {**STACK_JOB, "n_jobs": -1, "random_state": 0} and made["vectors"] == DOMAIN_VECTORS
    with pytest.raises(RuntimeError):
        train(model="stack", settings={"n_jobs": 1})
    assert made["n_jobs"] == 1
    with pytest.raises(RuntimeError):
        train(tmp_path / "reviews.csv", model="stack", settings={"C": 0.1})
    assert made["vectors"] == "glove.6B.50d" and made["C"] == 0.1
    with pytest.raises(RuntimeError):
        train(model="stack", vectors=None)
    assert made["vectors"] is None


def test_workflows_train_stack_many_model_defaults(made, tmp_path):
    """model="stack-many": STACK_MANY_JOB's parameters (NBSVM++ and NBSVM members), on every CPU."""
    from toolkit.cli.train import train
    from toolkit.models import StackedTextClassifier
    from toolkit.models.recipes import DOMAIN_VECTORS, STACK_MANY_JOB

    with pytest.raises(RuntimeError, match="stop before loading"):
        train(model="stack-many")
    assert isinstance(made.pop("estimator"), StackedTextClassifier)
    assert made == {**STACK_MANY_JOB, "n_jobs": -1, "random_state": 0} and made["vectors"] == DOMAIN_VECTORS
    assert made["ngram_model"] == ("nbsvm++", "nbsvm")
    with pytest.raises(RuntimeError):
        train(tmp_path / "reviews.csv", model="stack-many")
    assert made["vectors"] == "glove.6B.50d"


def test_workflows_train_stack_notice_names_domain_specs_only():
    """--model stack tells the user when a first run trains domain vectors (minutes of silence otherwise)."""
    from toolkit.cli.train import _is_domain_spec

    assert _is_domain_spec("word2vec:unsup:train=0,dim=300,epochs=10") and _is_domain_spec("fasttext:/p/t.txt")
    assert not _is_domain_spec("glove.6B.50d") and not _is_domain_spec("/data/vectors.txt")
    assert not _is_domain_spec(None)


def test_workflows_train_stack_notice_only_before_the_vectors_are_cached(imdb_small, tmp_path, monkeypatch):
    """The "trained on this first run" notice of --model stack appears only while the domain vectors are not
    in the cache (it appeared on every run before, cached or not); a spec whose vectors depend on the
    training texts gets its own line."""
    from toolkit.cli.train import _domain_vectors_notice
    from toolkit.vectors import domain

    texts, _ = imdb_small
    path = tmp_path / "unlabelled.txt"
    path.write_text("\n".join(t.replace("\n", " ") for t in texts[:100]) + "\n", encoding="utf-8")
    cache = tmp_path / "cache"
    spec = f"word2vec:{path}:dim=8,epochs=1,min_count=2,train=0"
    assert "trained on this first run" in _domain_vectors_notice(spec, cache_dir=cache)
    domain.clear_memo()
    domain.domain_vectors(spec, [["a", "film"]], cache_dir=cache)  # what the first run's fit does
    assert _domain_vectors_notice(spec, cache_dir=cache) is None
    assert "in each fit" in _domain_vectors_notice(f"word2vec:{path}:dim=8", cache_dir=cache)
    domain.clear_memo()


def test_workflows_train_stack_notice_follows_the_recipe_tokenizer(imdb_small, tmp_path):
    """The first-run notice asks the cache for the vectors of the recipe's own tokenizer (--set lowercase=False):
    before, it asked for the default tokenizer's, so it said "trained on this first run" over cached vectors
    and kept quiet before a run that trained them."""
    from toolkit.cli.train import _domain_vectors_notice, _recipe_tokenizer
    from toolkit.models import recipes
    from toolkit.text import SpacyTokenizer
    from toolkit.vectors import domain

    texts, _ = imdb_small
    path = tmp_path / "unlabelled.txt"
    path.write_text("\n".join(t.replace("\n", " ") for t in texts[:100]) + "\n", encoding="utf-8")
    cache = tmp_path / "cache"
    spec = f"word2vec:{path}:dim=8,epochs=1,min_count=2,train=0"
    recipe = {**recipes.STACK_JOB, "vectors": spec, "lowercase": False}
    tokenizer = _recipe_tokenizer(recipe)
    assert tokenizer.get_params()["lowercase"] is False
    domain.clear_memo()
    try:
        # what the first run's fit does: its training documents carry the recipe tokenizer's record
        docs = SpacyTokenizer(lowercase=False).fit_transform(texts[:5])
        domain.domain_vectors(spec, docs, cache_dir=cache)
        assert _domain_vectors_notice(spec, cache_dir=cache, tokenizer=tokenizer) is None
        # the default tokenizer's vectors are another cache entry, not trained yet
        assert "trained on this first run" in _domain_vectors_notice(spec, cache_dir=cache)
    finally:
        domain.clear_memo()
    assert _recipe_tokenizer({**recipe, "no_such_setting": 1}) is None  # train names that error itself


def test_data_folders_set_the_variables_for_the_block_only(tmp_path, monkeypatch):
    """--data-dir / --cache-dir reach the estimators and their worker processes through the environment,
    for the command's duration; earlier values come back."""
    import subprocess
    import sys

    from toolkit.cli._common import data_folders

    monkeypatch.delenv("TOOLKIT_DATA_DIR", raising=False)
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "before"))
    read = [sys.executable, "-c", "import os; print(os.environ.get('TOOLKIT_DATA_DIR'), os.environ['TOOLKIT_CACHE_DIR'])"]
    with data_folders(tmp_path / "data", tmp_path / "cache"):
        seen = subprocess.run(read, capture_output=True, text=True, check=True).stdout.split()
    assert seen == [str((tmp_path / "data").resolve()), str((tmp_path / "cache").resolve())]
    assert "TOOLKIT_DATA_DIR" not in os.environ and os.environ["TOOLKIT_CACHE_DIR"] == str(tmp_path / "before")
    with data_folders(None, None):  # nothing given: nothing changes
        assert "TOOLKIT_DATA_DIR" not in os.environ and os.environ["TOOLKIT_CACHE_DIR"] == str(tmp_path / "before")
    with pytest.raises(RuntimeError), data_folders(tmp_path / "data"):
        raise RuntimeError("an error in the command")
    assert "TOOLKIT_DATA_DIR" not in os.environ


def test_grid_values_are_split_on_top_level_commas():
    """`--grid epochs=3,5` is two candidates, as the help's name=v1,v2 says: it was one, epochs=(3, 5),
    because "3,5" reads as a Python tuple; numbers and tuples split alike now."""
    from toolkit.cli.grid import parse_grid
    from toolkit.models import make_text_classifier

    pipe = make_text_classifier()
    grid = parse_grid(["epochs=3,5", "learning_rate=0.01, 0.1", "ngram_range=(1, 1),(1, 2)", "dropout=0.2",
                       "class_weight={'neg': 1, 'pos': 2},balanced,none", "tokenizer__batch_size=[64, 128]"], pipe)
    assert grid == {"classifier__epochs": [3, 5], "classifier__learning_rate": [0.01, 0.1],
                    "tokenizer__ngram_range": [(1, 1), (1, 2)], "classifier__dropout": [0.2],
                    "classifier__class_weight": [{"neg": 1, "pos": 2}, "balanced", None],
                    "tokenizer__batch_size": [64, 128]}
    with pytest.raises(ValueError, match="Invalid grid parameter 'C'") as err:
        parse_grid(["C=1,2"], pipe)
    listed = str(err.value).split("Valid names: ")[1]
    assert listed.count("'batch_size'") == 1 and "tokenizer__batch_size the tokenizer's" in listed


def test_workflows_train_hint_names_the_stack_when_the_main_job_loses_on_few_labels():
    """A main-job run on few labels that loses to its baseline (300 IMDB reviews: 70.0% against 80.0%)
    points to --model stack, the recipe of the learning curve below 5,000 labels; other runs get no hint."""
    from toolkit.cli.train import _model_hint

    hint = _model_hint("main", 300, 0.70, 0.80)
    assert "with 300 training documents, try --model stack" in hint
    assert _model_hint("main", 300, 0.85, 0.80) is None  # it won
    assert _model_hint("main", 20_000, 0.70, 0.80) is None  # many labels: the main job's own ground
    assert _model_hint("stack", 300, 0.70, 0.80) is None


def test_workflows_train_main_without_vectors_is_the_recipe_without_its_vector_branch():
    """`toolkit train --vectors none` (README: drops the vectors) failed on the main job after tokenizing:
    its nbsvm_vectors architecture needs vectors. It now trains the recipe's n-gram part (nbsvm); an
    architecture the user sets is kept."""
    from toolkit.cli.train import _recipe_params
    from toolkit.models.recipes import MAIN_JOB

    params = _recipe_params("main", "imdb", None, {}, 0)
    assert params["architecture"] == "nbsvm" and params["vectors"] is None
    assert {k: v for k, v in params.items() if k not in ("architecture", "vectors", "random_state")} == \
        {k: v for k, v in MAIN_JOB.items() if k not in ("architecture", "vectors")}
    assert _recipe_params("main", "imdb", None, {"architecture": "bag"}, 0)["architecture"] == "bag"
    assert _recipe_params("main", "imdb", "glove.6B.50d", {}, 0)["architecture"] == "nbsvm_vectors"


def test_workflows_evaluate_a_model_fitted_on_integer_labels(imdb_small, tmp_path):
    """A model fitted in Python on labels 0/1, scored on a CSV whose labels 0/1 are read as text: evaluate
    crashed in scikit-learn ("Mix of label input types (string and number)"); the file's labels are now
    matched to the model's classes by their text."""
    import csv

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.cli.train import evaluate

    texts, labels = imdb_small
    y = (np.asarray(labels) == "pos").astype(int)
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts[:300], y[:300])
    path = tmp_path / "held_out.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("text", "label"), *zip(texts[300:], y[300:])])
    metrics = evaluate(model, path, plot=tmp_path / "cm.png")
    expected = np.mean(model.predict(texts[300:]) == y[300:])
    assert metrics["accuracy"] == pytest.approx(expected) and metrics["n_samples"] == len(texts) - 300
    assert (tmp_path / "cm.png").is_file()


def test_workflows_train_unknown_model(tmp_path):
    from toolkit.cli._inputs import SettingError
    from toolkit.cli.train import train

    with pytest.raises(SettingError, match=r"Unknown model 'stak' for train; choose one of \['main', 'stack', 'stack-many'\]"):
        train(model="stak", output=tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_workflows_train_unknown_setting_fails_before_loading(tmp_path):
    from toolkit.cli._inputs import SettingError
    from toolkit.cli.train import train

    with pytest.raises(SettingError, match=r"Invalid parameter 'epoch' for make_text_classifier"):
        train(data=tmp_path / "absent.csv", settings={"epoch": 1}, output=tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_workflows_load_train_test_unlabelled_folder(tmp_path):
    for i in range(3):
        (tmp_path / f"{i}.txt").write_text(f"review {i}", encoding="utf-8")
    with pytest.raises(DataError, match=r"has unlabelled documents; training and evaluation need labels"):
        load_train_test(tmp_path)
