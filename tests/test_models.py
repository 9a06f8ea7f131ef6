"""Tests of toolkit.models: the Keras graph builders."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from toolkit.models import build_model, compile_model  # noqa: E402


def _data(n=64, vocab=50, length=12, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randint(1, vocab, size=(n, length)).astype("int32")
    X[:, :3] = 0  # padding
    y = (X[:, -1] > vocab // 2).astype("float32")
    return X, y


def _majority_of_low_ids(n, seed):
    """Padded id rows labelled 1 when most of their 9 tokens are ids below 25 (a learnable rule)."""
    X, _ = _data(n=n, seed=seed)
    return X, ((X[:, 3:] < 25).sum(axis=1) > 4.5).astype("float32")


@pytest.mark.parametrize(("architecture", "learning_rate", "hidden_units"),
                         [("flatten", 0.05, 4), ("bag", 0.05, 4), ("cnn", 0.01, 0), ("rnn", 0.05, 4)])
def test_models_architectures_learn_a_rule_on_held_out_rows(architecture, learning_rate, hidden_units):
    X, y = _majority_of_low_ids(256, seed=0)
    X_new, y_new = _majority_of_low_ids(200, seed=1)
    assert 0.4 < y_new.mean() < 0.6  # chance is about 0.55
    model = build_model(architecture, vocab_size=50, maxlen=12, embedding_dim=6, hidden_units=hidden_units,
                        dropout=0.1, seed=0, optimizer="adam", learning_rate=learning_rate)
    history = model.fit(X, y, epochs=6, batch_size=32, shuffle=False, verbose=0)  # seeded: deterministic
    assert set(history.history) == {"loss", "accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    proba = model.predict(X_new, verbose=0)
    assert proba.shape == (200, 1)
    assert np.mean((proba.ravel() > 0.5) == y_new) >= 0.75
    assert model.get_layer("embedding").input_dim == 50


def test_models_bag_masks_padding():
    model = build_model("bag", vocab_size=20, maxlen=6, embedding_dim=4, seed=0)
    a = np.array([[0, 0, 0, 5, 6, 7]], dtype="int32")
    b = np.array([[0, 5, 6, 7]], dtype="int32")
    short = build_model("bag", vocab_size=20, maxlen=4, embedding_dim=4, seed=0)
    short.set_weights(model.get_weights())
    np.testing.assert_allclose(model.predict(a, verbose=0), short.predict(b, verbose=0), rtol=1e-6)


def test_models_embedding_matrix_frozen_and_trainable():
    X, y = _data()
    matrix = np.random.RandomState(1).randn(50, 6).astype("float32")
    matrix[0] = 0
    frozen = build_model("bag", vocab_size=50, maxlen=12, embedding_matrix=matrix, trainable=False,
                         seed=0, optimizer="adam", learning_rate=0.05)
    frozen.fit(X, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(frozen.get_layer("embedding").get_weights()[0], matrix)
    trained = build_model("bag", vocab_size=50, maxlen=12, embedding_matrix=matrix, trainable=True,
                          seed=0, optimizer="adam", learning_rate=0.05)
    trained.fit(X, y, epochs=1, verbose=0)
    assert not np.allclose(trained.get_layer("embedding").get_weights()[0], matrix)


def test_models_outputs_multiclass_and_multilabel():
    X, _ = _data()
    multi = build_model("cnn", vocab_size=50, maxlen=12, embedding_dim=4, n_outputs=3,
                        output="multiclass", filters=8, kernel_size=3, conv_blocks=2, seed=0)
    proba = multi.predict(X, verbose=0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    labels = build_model("rnn", vocab_size=50, maxlen=12, embedding_dim=4, n_outputs=3,
                         output="multilabel", rnn_cell="gru", seed=0)
    proba = labels.predict(X, verbose=0)
    assert proba.shape == (64, 3) and not np.allclose(proba.sum(axis=1), 1.0)


def test_models_seed_makes_identical_models():
    a = build_model("flatten", vocab_size=50, maxlen=12, embedding_dim=4, hidden_units=8, seed=3)
    b = build_model("flatten", vocab_size=50, maxlen=12, embedding_dim=4, hidden_units=8, seed=3)
    c = build_model("flatten", vocab_size=50, maxlen=12, embedding_dim=4, hidden_units=8, seed=4)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


def test_models_nbsvm_scores_log_count_ratios(tmp_path):
    ratios = np.zeros((10, 1), dtype="float32")
    ratios[2], ratios[3] = 2.0, -2.0
    model = build_model("nbsvm", vocab_size=10, maxlen=4, embedding_matrix=ratios, seed=0,
                        nb_w_adj=0.4, nb_r_adj=10.0)
    X = np.array([[2, 0, 0, 0], [3, 0, 0, 0], [2, 3, 0, 0]], dtype="int32")
    logits = model.predict(X, verbose=0)
    w = model.get_layer("nb_weights").get_weights()[0].ravel()
    expected = 1 / (1 + np.exp(-np.array([(w[2] + 0.4) * 2, (w[3] + 0.4) * -2,
                                          (w[2] + 0.4) * 2 + (w[3] + 0.4) * -2]) / 10))
    np.testing.assert_allclose(logits.ravel(), expected, rtol=1e-5)
    model.save(tmp_path / "nb.keras")
    loaded = keras.saving.load_model(tmp_path / "nb.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), logits, rtol=1e-6)
    assert not loaded.get_layer("embedding").trainable


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"architecture": "lstm"}, r"'architecture' parameter of build_model must be a str among"),
        ({"output": "softmax"}, r"'output' parameter of build_model must be a str among"),
        ({"architecture": "flatten", "maxlen": None}, r"'flatten' architecture needs a fixed maxlen"),
        ({"embedding_dim": None}, r"Give embedding_dim or embedding_matrix"),
        ({"embedding_matrix": np.zeros((7, 3))}, r"must have shape \(vocab_size=10, dim\); got \(7, 3\)"),
        ({"embedding_matrix": np.zeros((10, 3)), "embedding_dim": 5},
         r"embedding_dim=5 disagrees with the embedding matrix dimension 3"),
        ({"architecture": "nbsvm"}, r"'nbsvm' architecture needs embedding_matrix"),
        ({"n_outputs": 2}, r"binary output has 1 unit; got n_outputs=2"),
    ],
)
def test_models_bad_arguments(kwargs, match):
    params = {"architecture": "bag", "vocab_size": 10, "maxlen": 5, "embedding_dim": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        build_model(params.pop("architecture"), **params)


def test_models_compile_rejects_unknown_optimizer():
    model = build_model("bag", vocab_size=10, maxlen=5, embedding_dim=4)
    with pytest.raises(ValueError, match=r"'optimizer' parameter must be a str among .* Got 'lbfgs'"):
        compile_model(model, optimizer="lbfgs")


def test_models_registry_a_new_architecture_is_one_function(imdb_tokens):
    """A registered builder is listed, built by build_model and trainable by EmbeddingClassifier."""
    from toolkit.models import EmbeddingClassifier, builders

    @builders.register_architecture("max_bag")
    def max_bag(inputs, spec):
        x = keras.layers.GlobalMaxPooling1D(name="max_pool")(builders.embed(inputs, spec))
        return builders.output_layer(x, spec)

    try:
        assert builders.ARCHITECTURES[-1] == "max_bag"
        model = build_model("max_bag", vocab_size=50, maxlen=12, embedding_dim=4, hidden_units=3, seed=0)
        assert model.name == "max_bag"
        assert [layer.name for layer in model.layers] == ["token_ids", "embedding", "max_pool", "hidden", "output"]
        docs, labels = imdb_tokens
        clf = EmbeddingClassifier(architecture="max_bag", maxlen=50, embedding_dim=8, epochs=1,
                                  random_state=0).fit(docs[:100], labels[:100])
        assert clf.model_.name == "max_bag" and clf.predict(docs[100:103]).shape == (3,)
        with pytest.raises(ValueError, match=r"The architecture 'max_bag' is already registered \(by .*max_bag\); choose another name"):
            builders.register_architecture("max_bag")(lambda inputs, spec: None)
    finally:
        builders.unregister_architecture("max_bag")
    assert "max_bag" not in builders.ARCHITECTURES
    assert builders.ARCHITECTURES[:5] == ("flatten", "bag", "cnn", "rnn", "nbsvm")
    with pytest.raises(ValueError, match=r"The 'architecture' parameter of EmbeddingClassifier must be a str among .*Got 'max_bag' instead"):
        EmbeddingClassifier(architecture="max_bag").fit([["a"], ["b"]], [0, 1])
