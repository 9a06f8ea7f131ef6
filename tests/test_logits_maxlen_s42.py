"""Session 42: EmbeddingClassifier.decision_function gives the model's own logits, and the "document too
long" error names the options of the command (or function) that met it.

decision_function read log-odds back from the float32 probabilities, clipped at float32's eps (2**-23): a
cap at about +-15.94 where confident documents tied (most of the reviews a model was fitted on). It now
gives the input of the model's output layer in float64 (the NB architectures' logits as they compute them),
the log-softmax of it for a multiclass target, and the class prior's log-odds for a document with no tokens.
"""
import logging
import os
import pickle
import subprocess
import sys
import threading

import numpy as np
import pytest

from toolkit.models import EmbeddingClassifier, builders, load_model, save_model
from toolkit.models.recipes import NBSVM_RECIPE
from toolkit.models.stacking import word_ngrams

EPS = float(np.finfo("float32").eps)  # 2**-23
CAP = float(np.log1p(-EPS) - np.log(EPS))  # the old cap on binary log-odds, about 15.94
# a bag of embeddings with a hidden layer and a large step: most of its 200 training reviews saturate
BAG = {"architecture": "bag", "embedding_dim": 8, "hidden_units": 16, "maxlen": 100, "learning_rate": 0.1,
       "epochs": 10, "validation_split": 0.0, "random_state": 0}


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@pytest.fixture(scope="module")
def reviews(imdb_tokens, imdb_small_ratings):
    """200 training and 100 other training-split reviews (token lists), their 'neg'/'pos' labels and stars."""
    docs, labels = imdb_tokens
    labels = np.asarray(labels)
    return docs[:200], labels[:200], imdb_small_ratings[:200], docs[200:300]


@pytest.fixture(scope="module")
def ngrams(reviews):
    """1-2-grams of the 200 training reviews and of the 100 others (as a stack's "nbsvm++" member gets them)."""
    fit, _, _, other = reviews
    return word_ngrams(fit, ngram_range=(1, 2)), word_ngrams(other, ngram_range=(1, 2))


@pytest.fixture(scope="module")
def nbsvm_binary(reviews, ngrams):
    return EmbeddingClassifier(architecture="nbsvm", **NBSVM_RECIPE, random_state=0).fit(ngrams[0], reviews[1])


@pytest.fixture(scope="module")
def bag_binary(reviews):
    docs, labels, _, _ = reviews
    return EmbeddingClassifier(**BAG).fit(docs, labels)


@pytest.fixture(scope="module")
def models(nbsvm_binary, bag_binary, ngrams, reviews):
    """{name: (classifier, its training documents, other documents)}."""
    return {"nbsvm": (nbsvm_binary, ngrams[0], ngrams[1]), "bag": (bag_binary, reviews[0], reviews[3])}


@pytest.mark.parametrize("name", ["nbsvm", "bag"])
def test_confident_training_reviews_are_no_longer_tied_at_the_float32_cap(models, name):
    """Before: the largest |score| was exactly 15.94 and the confident reviews tied there (196 of 200 for the
    bag, 11 for NBSVM++ on 1-2-grams)."""
    clf, docs, _ = models[name]
    scores = clf.decision_function(docs)
    assert scores.shape == (len(docs),) and scores.dtype == np.float64
    beyond = scores[np.abs(scores) > CAP + 0.5]
    assert beyond.size >= 8
    assert np.unique(beyond).size >= 0.9 * beyond.size  # distinct scores, no longer one tied value
    assert not np.isclose(np.abs(scores), CAP, rtol=0, atol=1e-9).any()


@pytest.mark.parametrize("name", ["nbsvm", "bag"])
def test_binary_scores_agree_with_predict_and_predict_proba(models, name):
    clf, fit_docs, other = models[name]
    docs = list(fit_docs) + list(other)
    scores, proba = clf.decision_function(docs), clf.predict_proba(docs)
    np.testing.assert_array_equal(clf.predict(docs), clf.classes_[(scores > 0).astype(int)])
    unsaturated = np.abs(scores) < 10
    assert unsaturated.sum() >= 20
    # the Keras model computes its sigmoid in float32; the NB architectures in float64 from the same logits
    np.testing.assert_allclose(_sigmoid(scores[unsaturated]), proba[unsaturated, 1], rtol=0,
                               atol=1e-6 if name == "bag" else 1e-12)
    if name == "bag":  # where its float32 probabilities saturate, the scores go on
        assert (scores > 17).any() and (proba[scores > 17, 1] == 1.0).all()


@pytest.mark.parametrize("name", ["nbsvm", "bag"])
def test_documents_without_tokens_get_the_class_priors_log_odds(models, name, caplog):
    clf, fit_docs, _ = models[name]
    docs = [[], fit_docs[0], []]
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        scores = clf.decision_function(docs)
    prior = clf.class_prior_[1]
    np.testing.assert_allclose(scores[[0, 2]], np.log(prior / (1 - prior)), rtol=1e-12)
    assert scores[1] == clf.decision_function(fit_docs[:1])[0]
    assert "2 of 3 document(s) have no tokens" in caplog.text
    assert clf.decision_function([[]]).shape == (1,) and clf.decision_function([]).shape == (0,)


@pytest.fixture(scope="module")
def multiclass(reviews, ngrams):
    """NBSVM++ and a bag fitted on the 200 reviews' stars (8 classes)."""
    docs, _, stars, _ = reviews
    return {
        "nbsvm": (EmbeddingClassifier(architecture="nbsvm", **NBSVM_RECIPE, random_state=0).fit(ngrams[0], stars),
                  ngrams[0]),
        "bag": (EmbeddingClassifier(**BAG).fit(docs, stars), docs),
    }


@pytest.mark.parametrize("name", ["nbsvm", "bag"])
def test_multiclass_scores_are_exact_log_probabilities(multiclass, name):
    """Before: log-probabilities floored at log(eps), about -15.94, where the unlikely classes tied."""
    clf, docs = multiclass[name]
    docs = list(docs)
    assert len(clf.classes_) == 8
    scores, proba = clf.decision_function(docs + [[]]), clf.predict_proba(docs + [[]])
    assert scores.shape == (len(docs) + 1, 8)
    np.testing.assert_allclose(np.exp(scores).sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.exp(scores), proba, rtol=0, atol=1e-6 if name == "bag" else 1e-12)
    np.testing.assert_array_equal(clf.classes_[scores.argmax(axis=1)], clf.predict(docs + [[]]))
    assert (scores < np.log(EPS) - 1).sum() >= 20
    np.testing.assert_allclose(scores[-1], np.log(clf.class_prior_), rtol=1e-12)  # the empty document


def test_a_pickled_copy_and_threads_give_the_same_scores(bag_binary, reviews):
    """An unpickled copy (its sub-model made again), asked from four threads at once."""
    docs = reviews[0][:50]
    expected = bag_binary.decision_function(docs)
    copy = pickle.loads(pickle.dumps(bag_binary))
    results, errors = [None] * 4, []

    def score(i):
        try:
            results[i] = copy.decision_function(docs)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=score, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for result in results:
        np.testing.assert_array_equal(result, expected)


def test_scoring_leaves_the_estimator_as_it_was_and_a_refit_scores_with_the_new_model(reviews):
    """scikit-learn's check_dict_unchanged: decision_function kept its sub-model in the estimator's __dict__
    (the first version of the change; tests/test_classifier_sklearn.py failed). After a refit, the new model's
    logits."""
    import joblib

    docs, labels, _, _ = reviews
    clf = EmbeddingClassifier(**{**BAG, "epochs": 1}).fit(docs[:60], labels[:60])
    before = joblib.hash({k: v for k, v in vars(clf).items() if k != "model_"})
    keys = set(vars(clf))
    first = clf.decision_function(docs[:5] + [[]])
    assert set(vars(clf)) == keys and joblib.hash({k: v for k, v in vars(clf).items() if k != "model_"}) == before
    clf.fit(docs[60:120], labels[60:120])
    scores = clf.decision_function(docs[:5])
    assert not np.array_equal(scores, first[:5])
    np.testing.assert_allclose(_sigmoid(scores), clf.predict_proba(docs[:5])[:, 1], rtol=0, atol=1e-6)


def test_saved_and_loaded_in_a_fresh_process_gives_the_same_scores(models, tmp_path):
    """save_model / load_model of the bag (its model.keras, read in Keras' safe mode) and of NBSVM++ (its
    weights as arrays, no Keras): the same scores, beyond the old cap. Saving after decision_function writes
    the same model.keras as before it (its sub-model is not part of the model)."""
    import json

    paths = {}
    for name, (clf, docs, _) in models.items():
        paths[name] = tmp_path / name
        save_model(clf, paths[name])
        (tmp_path / f"{name}.json").write_text(json.dumps([list(d) for d in docs[:40]]))
        np.save(tmp_path / f"{name}_expected.npy", clf.decision_function(docs[:40]))
    first_bytes = (paths["bag"] / "model.keras").read_bytes()
    save_model(models["bag"][0], tmp_path / "again")
    assert (tmp_path / "again" / "model.keras").read_bytes() == first_bytes
    script = (
        "import json, sys, numpy as np\n"
        "from toolkit.models import load_model\n"
        "for name in ('bag', 'nbsvm'):\n"
        "    clf = load_model(name)\n"
        "    np.save(name + '_loaded.npy', clf.decision_function(json.load(open(name + '.json'))))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    for name, path in paths.items():
        expected, loaded = np.load(tmp_path / f"{name}_expected.npy"), np.load(tmp_path / f"{name}_loaded.npy")
        np.testing.assert_array_equal(loaded, expected)
        assert np.abs(loaded).max() > CAP + 0.5
        np.testing.assert_array_equal(load_model(path).decision_function(models[name][1][:40]), expected)


# ------------------------------------------------------------------ architectures of one's own
def _pooled(inputs, spec):
    import keras

    return keras.layers.GlobalAveragePooling1D(name="mean_pool")(builders.embed(inputs, spec, mask_zero=True))


def _s42_score_layer(inputs, spec):
    """Its last layer is named "score": no layer "output" to read logits at."""
    return builders.dense(spec.n_outputs, spec.activation, spec, 7, "score")(_pooled(inputs, spec))


def _s42_shrunk_output(inputs, spec):
    """builders.output_layer, then its probabilities shrunk to [0.25, 0.75]: the "output" layer's input is not
    the model's logit."""
    import keras

    return keras.layers.Rescaling(0.5, offset=0.25, name="shrink")(builders.output_layer(_pooled(inputs, spec), spec))


def _s42_sigmoid_classes(inputs, spec):
    """A sigmoid per class for a multiclass target: predict_proba renormalizes them, a softmax would not."""
    return builders.dense(spec.n_outputs, "sigmoid", spec, 7, "output")(_pooled(inputs, spec))


def _s42_own_head(inputs, spec):
    """builders.output_layer: the built-in head, so the exact logits."""
    return builders.output_layer(_pooled(inputs, spec), spec)


@pytest.fixture
def architecture():
    names = []

    def register(fn):
        builders.register_architecture(fn.__name__.lstrip("_"))(fn)
        names.append(fn.__name__.lstrip("_"))
        return names[-1]

    yield register
    for name in names:
        builders.unregister_architecture(name)


@pytest.mark.parametrize("builder", [_s42_score_layer, _s42_shrunk_output])
def test_an_own_architecture_without_the_output_layer_gets_the_clipped_log_odds(reviews, architecture, builder):
    """Before (the first version of the change): the shrunk model's scores were the logits of the "output"
    layer, which its probabilities do not follow."""
    docs, labels, _, other = reviews
    clf = EmbeddingClassifier(**{**BAG, "architecture": architecture(builder)}).fit(docs, labels)
    scores, proba = clf.decision_function(docs + other), clf.predict_proba(docs + other)[:, 1]
    clipped = np.clip(proba, EPS, 1 - EPS)
    np.testing.assert_allclose(scores, np.log(clipped) - np.log1p(-clipped), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(clf.predict(docs + other), clf.classes_[(scores > 0).astype(int)])


def test_an_own_multiclass_architecture_with_sigmoids_gets_its_renormalized_log_probabilities(reviews, architecture):
    """Before (the first version of the change): the log-softmax of its sigmoids' logits, which is not the
    log of predict_proba."""
    docs, _, stars, _ = reviews
    clf = EmbeddingClassifier(**{**BAG, "architecture": architecture(_s42_sigmoid_classes)}).fit(docs, stars)
    scores, proba = clf.decision_function(docs), clf.predict_proba(docs)
    np.testing.assert_allclose(np.exp(scores), proba, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(clf.classes_[scores.argmax(axis=1)], clf.predict(docs))


def test_an_own_architecture_with_the_built_in_head_gets_exact_logits(reviews, architecture):
    docs, labels, _, _ = reviews
    clf = EmbeddingClassifier(**{**BAG, "architecture": architecture(_s42_own_head)}).fit(docs, labels)
    scores = clf.decision_function(docs)
    assert np.abs(scores).max() > CAP + 0.5
    np.testing.assert_array_equal(clf.predict(docs), clf.classes_[(scores > 0).astype(int)])


# ------------------------------------------------------------------ the "document too long" advice, per caller
def _error_line(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def review_lines(imdb_small, tmp_path_factory):
    """A file of 30 real reviews, one per line, under 1,200 characters, the 4th of them 40 reviews joined
    (line 4: longer than max_length=1200), and that long text."""
    texts = [" ".join(t.replace("<br />", " ").split()) for t in imdb_small[0]]
    short = [t for t in texts if len(t) <= 1200][:30]
    long_text = " ".join(texts[:40])
    path = tmp_path_factory.mktemp("lines") / "reviews.txt"
    path.write_text("\n".join(short[:3] + [long_text] + short[3:]) + "\n", encoding="utf-8")
    return path, long_text, short


def test_store_build_names_its_own_options_for_a_too_long_document(review_lines, tmp_path, monkeypatch):
    """`toolkit store build` has no --skip-bad: its tokenizer settings, errors='skip' among them, go through
    --set. Before: "`toolkit train --set max_length=...`), or pass errors='skip' (--skip-bad of `toolkit
    predict` and the text commands)"."""
    import contextlib

    import dask
    from typer.testing import CliRunner

    from toolkit.cli import app
    from toolkit.distributed import search

    @contextlib.contextmanager
    def in_process(scheduler=None, **kwargs):  # the partitions tokenized here, not on a local cluster's workers
        with dask.config.set(scheduler="sync"):
            yield None

    monkeypatch.setattr(search, "dask_client", in_process)
    path, _, _ = review_lines
    result = CliRunner().invoke(app, ["-q", "store", "build", str(path), "-o", str(tmp_path / "store"),
                                      "--set", "max_length=1200"])
    line = _error_line(result)
    assert "more than max_length=1,200. Split long documents first, raise it with --set max_length=... (spaCy's " \
           "own limit guards memory use), or pass --set errors=skip to give such documents empty token lists." \
           in line, line
    assert "--skip-bad" not in line and "toolkit train" not in line
    assert not (tmp_path / "store").exists()
    skipped = CliRunner().invoke(app, ["-q", "store", "build", str(path), "-o", str(tmp_path / "store"),
                                       "--set", "max_length=1200", "--set", "errors=skip"])
    assert skipped.exit_code == 0, skipped.stderr  # the advice works


@pytest.fixture(scope="module")
def short_model(review_lines, imdb_small, tmp_path_factory):
    """A bag-of-words pipeline whose tokenizer refuses documents over 1,200 characters, saved as a folder."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.text import BagEncoder, SpacyTokenizer

    texts, labels = imdb_small
    rows = [(t, y) for t, y in zip(texts, labels) if len(t) <= 1200][:80]
    pipe = make_pipeline(SpacyTokenizer(max_length=1200), BagEncoder(output_mode="count"),
                         LogisticRegression(max_iter=300))
    pipe.fit([t for t, _ in rows], [y for _, y in rows])
    return save_model(pipe, tmp_path_factory.mktemp("short") / "model")


def test_predict_names_skip_bad_only_for_a_too_long_document(review_lines, short_model):
    """`toolkit predict` cannot change the saved model's max_length: the advice is --skip-bad, for a file and
    for text arguments. Before: "`toolkit train --set max_length=...`" and "--skip-bad of `toolkit predict`
    and the text commands"."""
    from typer.testing import CliRunner

    from toolkit.cli import app

    path, long_text, short = review_lines
    advice = (f"has {len(long_text):,} characters, more than max_length=1,200. Split long documents first, or pass "
              "--skip-bad to give such documents empty token lists.")
    from_file = _error_line(CliRunner().invoke(app, ["-q", "predict", str(short_model), "--input", str(path)]))
    assert from_file.startswith(f"Error: Line 4 of {path}") and from_file.endswith(advice), from_file
    from_args = _error_line(CliRunner().invoke(app, ["-q", "predict", str(short_model), short[0], long_text]))
    assert from_args == f"Error: Text argument 2 {advice}", from_args
    assert CliRunner().invoke(app, ["-q", "predict", str(short_model), "--skip-bad", short[0], long_text]).exit_code == 0


def test_vectors_train_names_skip_bad_only(review_lines, tmp_path):
    """`toolkit vectors train`'s --set holds word2vec's parameters, not the tokenizer's: the advice is --skip-bad
    (it said `toolkit train --set max_length=...`)."""
    from typer.testing import CliRunner

    from toolkit.cli import app

    path, _, _ = review_lines
    big = tmp_path / "big.txt"
    big.write_text(path.read_text(encoding="utf-8") + ("word " * 1_000_001) + "\n", encoding="utf-8")
    line = _error_line(CliRunner().invoke(app, ["-q", "vectors", "train", str(big), str(tmp_path / "v.kv")]))
    assert line.startswith(f"Error: Line 32 of {big} has 5,000,005 characters, more than max_length=1,000,000. "
                           "Split long documents first, or pass --skip-bad to give such documents empty token "
                           "lists."), line


def test_the_library_names_its_parameters(review_lines, tmp_path):
    """SpacyTokenizer and CorpusStore.build (tokenizer={...}) name SpacyTokenizer's parameters, no command's
    options. Before: "`toolkit train --set max_length=...`" and "--skip-bad of `toolkit predict`"."""
    import dask.bag as db

    from toolkit.distributed import CorpusStore
    from toolkit.exceptions import DocumentError
    from toolkit.text import SpacyTokenizer

    _, long_text, short = review_lines
    advice = ("Split long documents first, raise the max_length parameter of SpacyTokenizer (spaCy's own limit "
              "guards memory use), or pass errors='skip' to give such documents empty token lists.")
    with pytest.raises(DocumentError) as info:
        SpacyTokenizer(max_length=1200).fit_transform(short[:3] + [long_text])
    assert str(info.value).startswith("Document 3 of X has ") and str(info.value).endswith(advice)
    with pytest.raises(DocumentError) as info:
        CorpusStore.build(db.from_sequence(short[:3] + [long_text], npartitions=2), tmp_path / "store",
                          tokenizer={"max_length": 1200}, scheduler="sync")
    assert str(info.value).endswith(advice) and "--" not in str(info.value)


def test_train_names_set_max_length_only(review_lines, tmp_path):
    """`toolkit train` raises its tokenizer's limit with --set max_length=...; it has no --skip-bad (a document
    without tokens cannot be trained on). Before: "(... `toolkit train --set max_length=...`), or pass
    errors='skip' (--skip-bad of `toolkit predict` and the text commands)"."""
    import csv

    from typer.testing import CliRunner

    from toolkit.cli import app

    _, long_text, short = review_lines
    path = tmp_path / "reviews.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows([(t, "pos" if i % 2 else "neg") for i, t in enumerate(short + [long_text])])
    result = CliRunner().invoke(app, ["-q", "train", "--data", str(path), "--set", "architecture=bag", "--set",
                                      "epochs=1", "--set", "maxlen=50", "--set", "max_length=1200", "--vectors",
                                      "none", "--no-baseline", "-o", str(tmp_path / "run")])
    line = _error_line(result)
    assert line.startswith(f"Error: Record 30 (line 32) of {path} has {len(long_text):,} characters, more than "
                           "max_length=1,200. Split long documents first, or raise it with --set max_length=... "
                           "(spaCy's own limit guards memory use). It is document "), line
    assert "skip" not in line
