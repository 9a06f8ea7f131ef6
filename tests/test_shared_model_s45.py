"""Session 45, helper h4: a fitted model shared by callers (predict's progress bars), the stale state a refit of
a loaded NB classifier kept, and the parameters of other scikit-learn estimators (warm_start). Each test of a fix
failed on the code before it; the ones marked "guard" pin what the fix must keep."""

import threading

import numpy as np
import pytest


@pytest.fixture(scope="module")
def shared(imdb_small):
    """A small fitted pipeline (SpacyTokenizer, BagEncoder, MultinomialNB on 120 real reviews) with the step
    names of toolkit's own pipelines ("tokenizer", "classifier"), as a server holds it for all its threads."""
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import Pipeline

    from toolkit.text import BagEncoder, SpacyTokenizer

    texts, labels = imdb_small
    steps = [("tokenizer", SpacyTokenizer()), ("bag", BagEncoder()), ("classifier", MultinomialNB())]
    return Pipeline(steps).fit(texts[:120], labels[:120])


def test_predict_with_progress_leaves_a_shared_model_to_other_threads(shared, imdb_small, monkeypatch):
    """predict(progress=True) set progress on the shared model's tokenizer for the time of the call (then set it
    back): another thread's predict meanwhile, without progress, showed bars, and two calls overlapping could
    leave them on for good. Both threads are held inside the tokenizer at once (two barriers) and each notes
    the setting its own tokenizer has there."""
    from toolkit.cli.train import predict
    from toolkit.text.tokenizer import SpacyTokenizer

    texts = imdb_small[0][200:203]
    expected = predict(shared, texts)
    inside, noted = threading.Barrier(2, timeout=120), threading.Barrier(2, timeout=120)
    seen, rows, errors = {}, {}, {}
    transform = SpacyTokenizer.transform

    def transform_together(self, X):
        inside.wait()  # both calls have set what they set, neither has set anything back
        seen[threading.current_thread().name] = self.progress
        noted.wait()
        return transform(self, X)

    def call(name, progress):
        try:
            rows[name] = predict(shared, texts, progress=progress)
        except Exception as err:  # noqa: BLE001 (reported by the assertion below)
            errors[name] = err
            inside.abort()
            noted.abort()

    monkeypatch.setattr(SpacyTokenizer, "transform", transform_together)
    threads = [threading.Thread(target=call, name=name, args=(name, name == "bars")) for name in ("bars", "none")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert seen == {"bars": True, "none": False}
    assert rows == {"bars": expected, "none": expected}
    assert shared[0].progress is False and shared.get_params()["tokenizer__progress"] is False


def test_predict_progress_reaches_the_tokenizer_of_a_make_pipeline_model(shared, imdb_small, monkeypatch):
    """progress=True turned on "tokenizer__progress" only: make_pipeline names the step "spacytokenizer", so
    ``toolkit predict --progress`` on such a model showed no bar."""
    from sklearn.pipeline import Pipeline

    from toolkit.cli.train import predict
    from toolkit.text.tokenizer import SpacyTokenizer

    model = Pipeline([("spacytokenizer", shared[0]), *shared.steps[1:]])  # make_pipeline's names, fitted steps
    seen = []
    transform = SpacyTokenizer.transform

    def noting(self, X):
        seen.append(self.progress)
        return transform(self, X)

    monkeypatch.setattr(SpacyTokenizer, "transform", noting)
    rows = predict(model, imdb_small[0][200:202], progress=True)
    assert seen == [True] and len(rows) == 2 and model[0].progress is False


# ------------------------------------------------------------------------------ EmbeddingClassifier


@pytest.fixture(scope="module")
def nb_folder(imdb_tokens200, tmp_path_factory):
    """An "nbsvm" EmbeddingClassifier (1 epoch) fitted on 100 real reviews' tokens, saved: the folder."""
    from toolkit.models import EmbeddingClassifier, save_model

    docs, labels = imdb_tokens200
    clf = EmbeddingClassifier(architecture="nbsvm", maxlen=None, epochs=1, batch_size=32, validation_split=0.0,
                              random_state=0).fit(docs[:100], labels[:100])
    return save_model(clf, tmp_path_factory.mktemp("nb") / "model")


def test_a_refit_of_a_loaded_nb_classifier_drops_the_previous_model(nb_folder, imdb_tokens200):
    """A loaded (or unpickled) NB classifier holds its model.keras as bytes until model_ is read; a refit kept
    those bytes, the safe-mode flag and the previous weights as arrays in its __dict__ for good. Its predictions
    and a pickle of it were right (the new model_ was used and written): the guard part below."""
    import pickle

    from toolkit.models import load_model

    docs, labels = imdb_tokens200
    clf = load_model(nb_folder)
    assert "_model_keras_bytes" in vars(clf)  # (what a refit must drop)
    clf.fit(docs[100:180], labels[100:180])
    assert not {"_model_keras_bytes", "_model_keras_safe_mode"} & set(vars(clf))
    proba = clf.predict_proba(docs[180:])
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(again.predict_proba(docs[180:]), proba)
    assert not {"_model_keras_bytes", "_model_keras_safe_mode"} & set(vars(again.fit(docs[:60], labels[:60])))


def test_warm_start_is_named_with_what_to_do_instead():
    """EmbeddingClassifier(warm_start=True), as with MLPClassifier, was Python's bare "unexpected keyword
    argument"; make_text_classifier's error listed the parameters only."""
    from toolkit.models import EmbeddingClassifier, make_text_classifier

    with pytest.raises(TypeError, match=r"unexpected keyword argument 'warm_start'\. EmbeddingClassifier has no "
                                        r"warm_start, nor partial_fit: each fit trains a new model.*epochs.*"
                                        r"clf\.model_\.fit\(clf\.model_inputs\(X\)"):
        EmbeddingClassifier(warm_start=True)
    with pytest.raises(TypeError, match=r"'epoch'\. Did you mean 'epochs'\?"):
        EmbeddingClassifier(epoch=3)
    with pytest.raises(ValueError, match=r"Invalid parameter 'warm_start' for make_text_classifier.*EmbeddingCla"
                                         r"ssifier has no warm_start.*clf is pipe\[-1\]"):
        make_text_classifier(warm_start=True)


def test_the_warm_start_advice_trains_the_fitted_model_further(nb_folder, imdb_tokens200):
    """(guard) The advice works: the fitted Keras model, trained one more epoch on the classifier's own
    inputs and class indices, changes what the estimator predicts; clone and pickle still make the estimator
    (its __new__ checks the keyword arguments only)."""
    import pickle

    from sklearn.base import clone

    from toolkit.models import load_model

    docs, labels = imdb_tokens200
    clf = load_model(nb_folder)
    before = clf.predict_proba(docs[100:])
    clf.model_.fit(clf.model_inputs(docs[100:]), np.searchsorted(clf.classes_, labels[100:]), epochs=1, verbose=0)
    assert np.abs(clf.predict_proba(docs[100:]) - before).max() > 1e-3
    assert clone(clf).get_params() == clf.get_params()
    assert pickle.loads(pickle.dumps(clf)).get_params() == clf.get_params()
