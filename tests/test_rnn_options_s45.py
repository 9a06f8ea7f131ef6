"""EmbeddingClassifier's CNN/RNN layer settings: rnn_cell, rnn_units, bidirectional, filters, kernel_size, conv_blocks.

Before, ``EmbeddingClassifier(architecture="rnn")`` was always a bidirectional LSTM of ``hidden_units or 32``
units: the one-direction ``LSTM(32)`` of the textbook chapter, or a GRU, could not be chosen, nor the CNN's
filters and kernel size.
"""

import json
import logging
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from toolkit.models import (
    EmbeddingClassifier,
    load_model,
    make_text_classifier,
    save_model,
)

NEW = {"filters": 128, "kernel_size": 5, "conv_blocks": 1, "rnn_cell": "lstm", "rnn_units": None, "bidirectional": True}
SMALL = {"max_tokens": 2000, "maxlen": 40, "embedding_dim": 8, "epochs": 1, "batch_size": 64,
         "validation_split": 0.0, "random_state": 0}


def _layers(clf):
    """(class, name, units or filters) of each layer after the embedding; a Bidirectional shows its wrapped layer."""
    out = []
    for layer in clf.model_.layers[2:]:
        inner = getattr(layer, "forward_layer", None)
        cfg = (inner or layer).get_config()
        out.append((type(layer).__name__, layer.name, type(inner).__name__ if inner else None,
                    cfg.get("units", cfg.get("filters")), cfg.get("kernel_size")))
    return out


@pytest.mark.parametrize("cell, bidirectional, units, expected", [
    ("lstm", False, 32, [("LSTM", "lstm", None, 32, None)]),  # the chapter's layer_lstm(units = 32)
    ("gru", False, 8, [("GRU", "gru", None, 8, None)]),
    ("gru", True, 8, [("Bidirectional", "birnn", "GRU", 8, None)]),
])
def test_rnn_cell_units_and_direction_are_built(imdb_tokens200, cell, bidirectional, units, expected):
    X, y = imdb_tokens200
    clf = EmbeddingClassifier(architecture="rnn", rnn_cell=cell, rnn_units=units, bidirectional=bidirectional,
                              **SMALL).fit(X, y)
    assert _layers(clf) == expected + [("Dense", "output", None, 1, None)]
    assert clf.predict_proba(X[:5]).shape == (5, 2)


def test_defaults_build_the_same_models_as_before(imdb_tokens200):
    X, y = imdb_tokens200[0][:100], imdb_tokens200[1][:100]
    assert {k: v for k, v in EmbeddingClassifier().get_params().items() if k in NEW} == NEW
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*does not use", category=UserWarning)
        rnn = EmbeddingClassifier(architecture="rnn", **SMALL).fit(X, y)
        rnn16 = EmbeddingClassifier(architecture="rnn", hidden_units=16, **SMALL).fit(X, y)
        cnn = EmbeddingClassifier(architecture="cnn", **SMALL).fit(X, y)
    # a bidirectional LSTM of hidden_units or 32 units, named as before (saved models, benchmarks)
    assert _layers(rnn) == [("Bidirectional", "birnn", "LSTM", 32, None), ("Dense", "output", None, 1, None)]
    assert _layers(rnn16) == [("Bidirectional", "birnn", "LSTM", 16, None), ("Dense", "hidden", None, 16, None),
                              ("Dense", "output", None, 1, None)]
    assert _layers(cnn)[0] == ("Conv1D", "conv0", None, 128, (5,))
    assert [layer.name for layer in cnn.model_.layers[2:]] == ["conv0", "max_pool", "output"]


def test_cnn_filters_kernel_size_and_blocks_are_built(imdb_tokens200):
    X, y = imdb_tokens200
    clf = EmbeddingClassifier(architecture="cnn", filters=np.int64(6), kernel_size=3, conv_blocks=2, **SMALL).fit(X, y)
    assert _layers(clf)[:3] == [("Conv1D", "conv0", None, 6, (3,)), ("MaxPooling1D", "pool0", None, None, None),
                                ("Conv1D", "conv1", None, 6, (3,))]


def test_params_clone_set_params_pipeline_and_cli_names():
    from toolkit.cli._inputs import parse_setting
    from toolkit.cli.train import _check_settings

    clf = EmbeddingClassifier(architecture="rnn", rnn_cell="gru", bidirectional=False, rnn_units=16)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    assert (copy.rnn_cell, copy.bidirectional, copy.rnn_units) == ("gru", False, 16)
    assert copy.set_params(filters=64, kernel_size=7).get_params()["kernel_size"] == 7
    assert "bidirectional=False" in repr(clf)
    pipe = make_text_classifier(rnn_cell="gru", bidirectional=False, filters=32)
    assert (pipe[-1].rnn_cell, pipe[-1].bidirectional, pipe[-1].filters) == ("gru", False, 32)
    settings = dict(parse_setting(s) for s in ("architecture=rnn", "rnn_cell=gru", "bidirectional=false",
                                               "rnn_units=16"))
    assert settings["bidirectional"] is False
    _check_settings("main", settings, settings)  # accepted by toolkit train --set


@pytest.mark.parametrize("name, value", [
    ("rnn_cell", "GRU"), ("rnn_cell", "simple"), ("bidirectional", "no"), ("bidirectional", 1),
    ("rnn_units", 0), ("filters", 0), ("kernel_size", 2.5), ("conv_blocks", 0),
])
def test_bad_values_name_the_parameter(imdb_tokens200, name, value):
    X, y = imdb_tokens200
    with pytest.raises(ValueError, match=f"'{name}' parameter of EmbeddingClassifier"):
        EmbeddingClassifier(architecture="rnn", **{name: value}).fit(X[:20], y[:20])


def test_setting_ignored_by_the_architecture_is_logged(imdb_tokens200, caplog):
    """An INFO line, as "nbsvm"'s ignored hidden_units (session 46: a warning came again in every fit of a grid
    search over architecture)."""
    X, y = imdb_tokens200
    with caplog.at_level(logging.INFO, logger="toolkit.models.classifier"):
        EmbeddingClassifier(rnn_cell="gru", kernel_size=3, **SMALL).fit(X[:40], y[:40])
        EmbeddingClassifier(architecture="rnn", filters=64, rnn_units=4, **SMALL).fit(X[:40], y[:40])
    assert "architecture='bag' does not use kernel_size=3, rnn_cell='gru'" in caplog.text
    assert "architecture='rnn' does not use filters=64" in caplog.text


def test_save_load_round_trip_and_a_folder_saved_without_the_new_params(imdb_tokens200, tmp_path):
    from toolkit.models.persistence import _write_checksums

    X, y = imdb_tokens200
    gru = EmbeddingClassifier(architecture="rnn", rnn_cell="gru", bidirectional=False, rnn_units=8, **SMALL).fit(X, y)
    loaded = load_model(save_model(gru, tmp_path / "gru"))
    assert loaded.get_params() == gru.get_params()
    assert _layers(loaded) == _layers(gru)
    np.testing.assert_allclose(loaded.predict_proba(X[:20]), gru.predict_proba(X[:20]), rtol=1e-6)
    assert clone(loaded).fit(X, y).model_.get_layer("gru").get_config()["units"] == 8  # refits the same model

    # a folder of the previous version: its config.json has none of the new parameters
    rnn = EmbeddingClassifier(architecture="rnn", **SMALL).fit(X, y)
    old = save_model(rnn, tmp_path / "old")
    config = json.loads((old / "config.json").read_text())
    for name in NEW:
        del config["params"][name]
    (old / "config.json").write_text(json.dumps(config))
    _write_checksums(old, tuple(json.loads((old / "checksums.json").read_text())["files"]))
    loaded = load_model(old)
    assert {k: v for k, v in loaded.get_params().items() if k in NEW} == NEW
    np.testing.assert_allclose(loaded.predict_proba(X[:20]), rnn.predict_proba(X[:20]), rtol=1e-6)
