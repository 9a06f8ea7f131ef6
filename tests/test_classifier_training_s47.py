"""EmbeddingClassifier as a user of Chollet's text chapter meets it (session 47, small real IMDB samples).

- A one-hot ``y`` (Keras' ``to_categorical``) warns once per process under Python's default filters, not once per
  candidate and fold of a grid search (scikit-learn resets the filters around every fit).
- A training that diverges (a learning rate far too high: the weights NaN, the logged loss NaN or still finite)
  is refused by ``fit``, naming learning_rate; before, the fit "succeeded" and the model predicted NaN (``predict``:
  the first class) or one constant probability.
- ``trainable="finetune"`` with ``frozen_epochs >= epochs`` (the chapter's 2 epochs, say) warns that the vectors are
  never trained (the fit is ``"frozen"``), once per process; before, nothing said so. Early stopping (``patience``
  or a callback) that ends training before the unfreeze logs a WARNING saying the same (it logged INFO
  "early stopping after epoch 1" alone).
- ``class_weight={0: 1.0, 1: 3.0}`` (Keras' class indices) over labels 'neg'/'pos' names the dict to pass instead.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from toolkit.models import EmbeddingClassifier

SMALL = {"max_tokens": 2000, "maxlen": 30, "embedding_dim": 8, "epochs": 1, "batch_size": 64,
         "validation_split": 0.0, "random_state": 0}


@pytest.fixture(scope="module")
def one_hot80(imdb_tokens200):
    """80 real reviews and their 'neg'/'pos' labels as a one-hot matrix (as to_categorical makes it)."""
    X, y = imdb_tokens200
    return X[:80], np.eye(2, dtype="float32")[(np.asarray(y[:80]) == "pos").astype(int)]


def test_classifier_one_hot_y_warns_once_per_grid_search(one_hot80, monkeypatch):
    import toolkit.models.classifier as classifier_module

    monkeypatch.setattr(classifier_module, "_SAID_ONCE", set(), raising=False)  # a fresh process
    X, y = one_hot80
    search = GridSearchCV(EmbeddingClassifier(**SMALL), {"learning_rate": [1e-3, 1e-2]}, cv=2, error_score="raise")
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("default")  # Python's own filters: once per place
        search.fit(X, y)
    said = [w for w in caught if "y is one-hot (2 columns" in str(w.message)]
    assert len(said) == 1, [str(w.message) for w in caught]  # 5 before: 2 candidates x 2 folds, and the refit
    with warnings.catch_warnings(record=True) as caught:  # "always" (and pytest.warns) still shows every one
        warnings.resetwarnings()
        warnings.simplefilter("always")
        EmbeddingClassifier(**SMALL).fit(X[:40], y[:40])
    said = [w for w in caught if "y is one-hot" in str(w.message)]
    assert len(said) == 1 and said[0].filename == __file__  # the user's line that called fit


def test_classifier_diverged_training_is_refused_naming_learning_rate(imdb_tokens200):
    X, y = imdb_tokens200
    params = {**SMALL, "optimizer": "sgd", "hidden_units": 8}
    clf = EmbeddingClassifier(**params).fit(X[:100], y[:100])
    before = clf.predict_proba(X[100:110])
    with pytest.raises(ValueError, match=r"The training of EmbeddingClassifier diverged: the weights it ended with are "
                                         r"not finite \(NaN or inf; loss was nan at epoch 0 \(from 0\)\), so its "
                                         r"predictions would be NaN .* Lower learning_rate \(this fit's: 1e\+30\)"):
        clf.set_params(learning_rate=1e30).fit(X[:100], y[:100])  # was: fitted, predict_proba all NaN
    np.testing.assert_array_equal(clf.predict_proba(X[100:110]), before)  # left as it was


def test_classifier_diverged_training_with_finite_losses_is_refused(imdb_tokens200):
    # the losses Keras logged stayed finite (about 12 after the first epoch) while the weights went NaN: the model
    # predicted NaN for a few documents, and one constant probability for many (Model.predict)
    X, y = imdb_tokens200
    clf = EmbeddingClassifier(architecture="cnn", filters=16, hidden_units=8, max_tokens=2000, maxlen=100, epochs=3,
                              batch_size=32, optimizer="sgd", learning_rate=100.0, random_state=0)
    with pytest.raises(ValueError, match=r"diverged: the weights it ended with are not finite .* Lower learning_rate "
                                         r"\(this fit's: 100\)"):
        clf.fit(X, y)


def test_classifier_finetune_that_never_unfreezes_warns_once(imdb_tokens200, glove_small, monkeypatch):
    import toolkit.models.classifier as classifier_module

    monkeypatch.setattr(classifier_module, "_SAID_ONCE", set(), raising=False)  # a fresh process
    X, y = imdb_tokens200
    params = {**SMALL, "embedding_dim": None, "vectors": str(glove_small), "trainable": "finetune"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("default")
        for _ in range(2):  # as the folds of a grid search
            clf = EmbeddingClassifier(**params, frozen_epochs=1).fit(X[:60], y[:60])
        EmbeddingClassifier(**{**params, "epochs": 2}, frozen_epochs=1).fit(X[:60], y[:60])  # unfreezes: silent
    said = [w for w in caught if "trainable='finetune'" in str(w.message)]
    assert len(said) == 1 and said[0].filename == __file__, [str(w.message) for w in caught]
    assert ("never trains the vectors here: they stay frozen for frozen_epochs=1 epochs and training ends after "
            "epochs=1, so this fit is trainable='frozen'") in str(said[0].message)
    assert not clf.model_.get_layer("embedding").trainable


def test_classifier_finetune_stopped_before_the_unfreeze_logs_a_warning(imdb_tokens200, glove_small, caplog):
    import keras

    class StopAtOnce(keras.callbacks.Callback):  # as an EarlyStopping whose patience ran out during the frozen epochs
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    X, y = imdb_tokens200
    params = {**SMALL, "embedding_dim": None, "vectors": str(glove_small), "trainable": "finetune", "epochs": 4,
              "frozen_epochs": 2, "callbacks": [StopAtOnce()]}
    with caplog.at_level("WARNING", logger="toolkit.models.classifier"):
        clf = EmbeddingClassifier(**params).fit(X[:60], y[:60])
    assert not clf.model_.get_layer("embedding").trainable and len(clf.history_["loss"]) == 1
    assert ("a callback stopped training after epoch 0 (epochs from 0), before trainable='finetune' unfroze the "
            "vectors at epoch frozen_epochs=2: they were never trained") in caplog.text


def test_classifier_class_weight_by_keras_indices_names_the_labels(imdb_tokens200, monkeypatch):
    import toolkit.models.classifier as classifier_module

    monkeypatch.setattr(classifier_module.EmbeddingClassifier, "_train", lambda *a, **k: pytest.fail("trained"))
    X, y = imdb_tokens200
    with pytest.raises(ValueError, match=r"class_weight has labels not in y: \[0, 1\]; the classes are \['neg', "
                                         r"'pos'\]\. Its keys are the labels of y, not class indices as in Keras' "
                                         r"model\.fit: class_weight=\{'neg': 1\.0, 'pos': 3\.0\}\."):
        EmbeddingClassifier(**SMALL, class_weight={0: 1.0, 1: 3.0}).fit(X[:40], y[:40])
    with pytest.raises(ValueError, match=r"labels not in y: \['poss'\]; the classes are \['neg', 'pos'\]\.$"):
        EmbeddingClassifier(**SMALL, class_weight={"poss": 3.0}).fit(X[:40], y[:40])  # a typo: no such hint
