"""The library as a notebook user drives it: cells re-run, interrupted, plotted in a loop, logged.

Each test pins a problem found by using the API the way a Jupyter user does
(fit again after a failed or interrupted cell, ``logging.basicConfig``, many
plots in one kernel) on small real IMDB samples.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import simple_tokens


@pytest.fixture(scope="module")
def reviews(shared_data):
    """200 shuffled real IMDB training reviews as cheap token lists, with 'neg'/'pos' labels."""
    from toolkit.data import load_imdb

    ds = load_imdb("train", path=shared_data / "aclImdb_v1.tar.gz", limit=200, shuffle=True, random_state=0)
    return simple_tokens(ds.texts), np.asarray(ds.target_names)[ds.labels]


def _small_classifier(**params):
    from toolkit.models import EmbeddingClassifier

    return EmbeddingClassifier(**{"maxlen": 50, "embedding_dim": 8, "epochs": 2, "random_state": 0,
                                  "validation_split": 0.0, **params})


# --------------------------------------------------------------------------- a cell that fails or is interrupted


def test_notebook_failed_refit_keeps_the_fitted_model(reviews, tmp_path):
    docs, labels = reviews
    clf = _small_classifier().fit(docs[:100], labels[:100])
    before = clf.predict_proba(docs[100:120])
    vocabulary = clf.vocabulary_
    # the next cell refits on other reviews with a vectors path that does not exist: fit raised, but had already
    # replaced vocabulary_ (and classes_, maxlen_...) while model_ stayed the old one, so predict encoded the
    # documents with the new vocabulary for the old model: other probabilities, without a word
    from toolkit.exceptions import VectorsNotFoundError

    clf.set_params(vectors=str(tmp_path / "missing.txt"))
    with pytest.raises(VectorsNotFoundError):
        clf.fit(docs[100:], labels[100:])
    assert clf.vocabulary_ is vocabulary
    np.testing.assert_array_equal(clf.predict_proba(docs[100:120]), before)


def _interrupt_epoch(monkeypatch, at_epoch):
    """Make training raise KeyboardInterrupt (the notebook's stop button) in epoch ``at_epoch`` (from 0)."""
    from toolkit.models.classifier import EmbeddingClassifier

    one_epoch = EmbeddingClassifier._fit_one_epoch

    def interrupted(self, model, X_train, y_train, w_train, val, rng, history):
        if len(next(iter(history.values()), [])) == at_epoch:
            raise KeyboardInterrupt
        return one_epoch(self, model, X_train, y_train, w_train, val, rng, history)

    monkeypatch.setattr(EmbeddingClassifier, "_fit_one_epoch", interrupted)


def test_notebook_interrupted_refit_keeps_the_fitted_model(reviews, monkeypatch):
    docs, labels = reviews
    clf = _small_classifier().fit(docs[:100], labels[:100])
    before = clf.predict_proba(docs[100:120])
    state = {name: value for name, value in vars(clf).items() if name.endswith("_")}
    # stopped in the second epoch of a refit on other reviews: vocabulary_ was the new one, model_ the old one
    with monkeypatch.context() as patch:
        _interrupt_epoch(patch, at_epoch=1)
        with pytest.raises(KeyboardInterrupt):
            clf.fit(docs[100:], labels[100:])
    assert {name: value for name, value in vars(clf).items() if name.endswith("_")}.keys() == state.keys()
    assert all(getattr(clf, name) is value for name, value in state.items())
    np.testing.assert_array_equal(clf.predict_proba(docs[100:120]), before)


def test_notebook_interrupted_first_fit_leaves_it_unfitted_and_refittable(reviews, monkeypatch):
    from sklearn.exceptions import NotFittedError

    docs, labels = reviews
    clf = _small_classifier()
    with monkeypatch.context() as patch:
        _interrupt_epoch(patch, at_epoch=1)
        with pytest.raises(KeyboardInterrupt):
            clf.fit(docs[:100], labels[:100])
    # it kept vocabulary_, classes_... without model_: half fitted, and sklearn's check_is_fitted took it for fitted
    from sklearn.utils.validation import check_is_fitted

    assert not [name for name in vars(clf) if name.endswith("_")]
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)
    with pytest.raises(NotFittedError):
        clf.predict(docs[:2])
    refitted = clf.fit(docs[:100], labels[:100]).predict_proba(docs[100:120])
    np.testing.assert_array_equal(refitted, _small_classifier().fit(docs[:100], labels[:100]).predict_proba(docs[100:120]))


# --------------------------------------------------------------------------- logging.basicConfig(level=INFO)


@pytest.mark.parametrize("architecture", ["bag", "nbsvm_vectors"])
def test_notebook_info_log_of_a_fit_with_vectors_is_a_few_lines(reviews, glove_small, caplog, architecture):
    import logging

    docs, labels = reviews
    clf = _small_classifier(vectors=str(glove_small), embedding_dim=None, epochs=1, architecture=architecture)
    with caplog.at_level(logging.INFO):
        clf.fit(docs[:100], labels[:100])
    lines = [line for record in caplog.records if record.name.startswith("toolkit")
             for line in record.getMessage().splitlines()]
    # each fit logged the coverage twice at INFO, the second time as the whole 30-line table of the report
    # (with its 20 most frequent missing tokens): 30 lines per fold and candidate of a grid search
    coverage = [record for record in caplog.records if "coverage" in record.getMessage().lower()]
    assert len(coverage) == 1 and "\n" not in coverage[0].getMessage()
    assert len(lines) <= 5, lines
    assert "Most frequent tokens without a vector" in str(clf.embedding_coverage_)  # the table is still there


# --------------------------------------------------------------------------- plots in a notebook


@pytest.fixture
def drawn_figures(monkeypatch):
    """The figures the plot functions would save; nothing is written."""
    from toolkit import plots

    figures = []

    def capture(fig, path, dpi):
        figures.append((fig, dpi))
        return path

    monkeypatch.setattr(plots, "_save_png", capture)
    return figures


def test_notebook_confusion_matrix_of_many_classes_stays_an_image_a_browser_opens(tmp_path, drawn_figures):
    from toolkit.plots import plot_confusion_matrix

    rng = np.random.RandomState(0)
    y_true = rng.randint(0, 100, 2000)
    y_pred = np.where(rng.rand(2000) < 0.7, y_true, rng.randint(0, 100, 2000))
    names = [f"topic_{i}" for i in range(100)]
    plot_confusion_matrix(y_true, y_pred, names, tmp_path / "cm.png")
    (fig, dpi), = drawn_figures
    # 100 classes drew a 111-inch figure: an 11,220 x 11,120 PNG (124.8 Mpx, which Pillow, and so
    # IPython.display.Image, flags as a decompression bomb), 3.5 GB of memory and 24 CPU s to write
    width, height = fig.get_size_inches() * dpi
    assert width * height < 20e6
    ax = fig.axes[0]
    assert [label.get_text() for label in ax.get_yticklabels()] == names  # every class, in the given order
    assert ax.images[0].get_array().shape == (100, 100)


def test_notebook_confusion_matrix_of_a_few_classes_keeps_its_numbers(tmp_path, drawn_figures):
    from toolkit.plots import plot_confusion_matrix

    names = [f"topic_{i}" for i in range(12)]
    plot_confusion_matrix(np.arange(12), np.arange(12), names, tmp_path / "cm.png")
    (fig, _), = drawn_figures
    assert len(fig.axes[0].texts) == 144


# --------------------------------------------------------------------------- vectors loaded in an earlier cell


def test_notebook_keyed_vectors_passed_as_vectors_says_what_to_pass(reviews, glove_small, tmp_path):
    from toolkit._validation import InvalidParameterError
    from toolkit.vectors import load_vectors

    docs, labels = reviews
    kv = load_vectors(glove_small, limit=5000)  # the README's cell: kv = load_vectors("glove.6B.50d")
    # the message listed the accepted types only ("must be an instance of 'str', ... Got <gensim...> instead")
    with pytest.raises(InvalidParameterError, match=r"'vectors' parameter of EmbeddingClassifier.*KeyedVectors.*"
                                                    r"name or path they were loaded from.*save_word2vec_format"):
        _small_classifier(vectors=kv, embedding_dim=None).fit(docs[:60], labels[:60])
    # what it advises for vectors of one's own works
    kv.save_word2vec_format(str(tmp_path / "mine.txt"))
    clf = _small_classifier(vectors=str(tmp_path / "mine.txt"), embedding_dim=None, epochs=1).fit(docs[:60], labels[:60])
    assert clf.embedding_coverage_.dim == 50


# --------------------------------------------------------------------------- showing an estimator in a notebook


def test_notebook_showing_a_loaded_nb_model_does_not_build_its_keras_model(reviews, tmp_path):
    import pickle

    from toolkit.models import load_model, save_model

    docs, labels = reviews
    clf = _small_classifier(architecture="nbsvm", embedding_dim=None, epochs=1).fit(docs[:100], labels[:100])
    for loaded in (pickle.loads(pickle.dumps(clf)), load_model(save_model(clf, tmp_path / "nb-model"))):
        assert "model_" not in vars(loaded)  # predicts from numpy arrays, without Keras
        # a cell ending in the model shows its HTML repr, whose "Fitted attributes" table read every attribute
        # (inspect.getmembers): model_ was rebuilt, importing TensorFlow (3.3 CPU s against 0.75 s to load and
        # predict, measured on the main job's model folder in a fresh process)
        html = loaded._repr_html_()
        assert "predict_proba" in dir(loaded)  # so did dir(), a notebook's tab completion
        assert "classes_" in html and "vocabulary_" in html
        assert "model_" not in vars(loaded)
        np.testing.assert_array_equal(loaded.predict_proba(docs[100:110]), clf.predict_proba(docs[100:110]))
        assert loaded.model_.count_params() == clf.model_.count_params()  # still there when asked for


_HISTORY = {"loss": [0.7, 0.5, 0.4], "val_loss": [0.6, 0.55, 0.58],
            "accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.55, 0.6, 0.62]}


def _panels(fig):
    return [(ax.get_title(), [line.get_label() for line in ax.get_lines()]) for ax in fig.axes]


def test_notebook_history_of_loss_and_val_loss_is_one_panel(tmp_path, drawn_figures):
    from toolkit.plots import plot_history

    # metrics=["loss", "val_loss"], as the chapter plots them: a second panel drew the validation losses as
    # training dots, titled "Training val_loss"
    plot_history(_HISTORY, tmp_path / "history.png", metrics=["loss", "val_loss"])
    (fig, _), = drawn_figures
    assert _panels(fig) == [("Training and validation loss", ["Training loss", "Validation loss"])]


def test_notebook_history_of_a_validation_metric_alone_is_labelled_validation(tmp_path, drawn_figures):
    from toolkit.plots import plot_history

    plot_history(_HISTORY, tmp_path / "history.png", metrics="val_accuracy")
    (fig, _), = drawn_figures
    assert _panels(fig) == [("Validation accuracy", ["Validation accuracy"])]
    (line,) = fig.axes[0].get_lines()
    np.testing.assert_array_equal(line.get_ydata(), _HISTORY["val_accuracy"])
    assert line.get_linestyle() == "-"
    with pytest.raises(ValueError, match=r"none of the metrics \['val_auc'\]"):
        plot_history(_HISTORY, tmp_path / "history.png", metrics="val_auc")


# --------------------------------------------------------------------------- a cell that defines an architecture


def _run_architecture_cell(units):
    """The cell of a notebook that registers its own architecture (run again after an edit: a new function)."""
    from toolkit.models import builders

    @builders.register_architecture("notebook_bag")
    def notebook_bag(inputs, spec):
        import keras

        x = keras.layers.GlobalAveragePooling1D(name="mean_pool")(builders.embed(inputs, spec))
        x = keras.layers.Dense(units, activation="relu", name="edited")(x)
        return builders.output_layer(x, spec)

    return notebook_bag


def test_notebook_architecture_cell_can_be_run_again(reviews):
    from toolkit.models import EmbeddingClassifier, builders

    try:
        _run_architecture_cell(4)
        # running the edited cell again raised "The architecture 'notebook_bag' is already registered (by
        # ...notebook_bag); choose another name": the kernel had to be restarted
        edited = _run_architecture_cell(6)
        assert builders.ARCHITECTURES.count("notebook_bag") == 1
        docs, labels = reviews
        clf = EmbeddingClassifier(architecture="notebook_bag", maxlen=50, embedding_dim=8, epochs=1,
                                  random_state=0).fit(docs[:60], labels[:60])
        assert clf.model_.get_layer("edited").units == 6
        # another function under a taken name is still refused
        with pytest.raises(ValueError, match=r"'notebook_bag' is already registered \(by .*notebook_bag\)"):
            builders.register_architecture("notebook_bag")(lambda inputs, spec: None)
        with pytest.raises(ValueError, match=r"'bag' is already registered"):
            builders.register_architecture("bag")(edited)
    finally:
        builders.unregister_architecture("notebook_bag")
