"""Session 45 (h2): run_grid, the Python entry of ``toolkit grid``, checks its arguments before the data load.

Before, the command checked ``--set`` / ``--grid`` / ``--scoring`` / ``--workers`` itself and run_grid did not:
from Python a setting the grid also held was silently replaced by the grid's values, and a bad value failed in
the first fit, after the data load (and the cluster's start), or with a TypeError of an internal comparison.
"""

from __future__ import annotations

import pytest
from sklearn.model_selection import KFold


class _Loaded(Exception):
    """Raised by the stand-in data loader: run_grid got past its checks."""


@pytest.fixture
def no_load(monkeypatch):
    """run_grid's data loader, replaced: a test that reaches it gets _Loaded (no file is read, nothing fitted)."""
    import toolkit.cli._inputs as inputs

    def load_data(*args, **kwargs):
        raise _Loaded

    monkeypatch.setattr(inputs, "load_data", load_data)


@pytest.mark.parametrize("grid, settings", [
    (["epochs=1,2"], {"epochs": 5}),
    ({"classifier__epochs": [1, 2]}, {"epochs": 5}),  # GridSearchCV's names in the grid, a short one in settings
    ([{"classifier__architecture": ["bag"]}, {"classifier__epochs": [1, 2]}], {"classifier__epochs": 5}),
])
def test_a_setting_the_grid_also_searches_is_refused_in_python_terms(no_load, grid, settings):
    # before: the search ran, every candidate with the grid's epochs and settings' epochs=5 dropped without a word
    from toolkit.cli.grid import run_grid

    key = next(iter(settings))
    with pytest.raises(ValueError, match=rf"^settings \{{'{key}': 5\}} and the grid's 'classifier__epochs' name the "
                                         rf"same parameter: every candidate would take the grid's values\. Drop "
                                         rf"'{key}' from settings, or add its value to the grid's\.$"):
        run_grid("reviews.csv", grid=grid, settings=settings, cv=2, local=True)


def test_a_dict_grid_and_short_settings_that_agree_reach_the_data(no_load):
    # not over-refused: settings of other parameters, and a grid that replaces a whole step with its own names
    from toolkit.cli.grid import run_grid
    from toolkit.models import EmbeddingClassifier

    with pytest.raises(_Loaded):
        run_grid("reviews.csv", grid={"classifier__architecture": ["bag", "cnn"]}, settings={"epochs": 1}, cv=2)
    with pytest.raises(_Loaded):
        run_grid("reviews.csv", grid=[{"classifier": [EmbeddingClassifier(epochs=1)], "classifier__padding": ["pre"]}],
                 settings={"maxlen": 50}, cv=2)


def test_vectors_none_in_a_dict_grid_is_no_vectors_as_in_settings(tmp_path, monkeypatch):
    # settings={'vectors': 'none'} and --grid vectors=none meant no vectors; a dict grid's 'none' reached the
    # candidates' fit as a file name ("No vectors file 'none'"), after the data load
    import types

    import numpy as np

    import toolkit.distributed.search as search_module
    from toolkit.cli.grid import run_grid

    passed = []

    def fake(estimator, param_grid, *args, **kwargs):
        passed.append(param_grid)
        return types.SimpleNamespace(cv_results_={
            "params": [{"classifier__vectors": None}], "mean_test_score": np.array([0.5]),
            "std_test_score": np.zeros(1), "rank_test_score": np.array([1]), "mean_fit_time": np.full(1, 0.1)})

    monkeypatch.setattr(search_module, "grid_search", fake)
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "".join(f"good film {i},pos\nbad film {i},neg\n" for i in range(4)))
    run_grid(str(data), grid={"classifier__vectors": ["none"]}, cv=2, local=True)
    assert passed == [{"classifier__vectors": [None]}]


@pytest.mark.parametrize("grid, settings, error, message", [
    ({"classifier__padding": ["pre", "middle"]}, None, ValueError,
     (r"^Invalid grid value of 'classifier__padding': The 'padding' parameter of EmbeddingClassifier must be a str "
      r"among \{'post', 'pre'\}\. Got 'middle' instead\.$")),
    (["epochs=1"], {"truncating": "end"}, ValueError,
     r"^Invalid settings value: The 'truncating' parameter of EmbeddingClassifier"),
    ({"epochs": [1, 2]}, None, ValueError,  # GridSearchCV's set_params refused it in the first fit
     (r"^Invalid grid parameter 'epochs': a grid given as a dict takes the pipeline's parameter names, as "
      r"GridSearchCV does \(step__name\): 'classifier__epochs'\. Or give the grid as items: \['epochs=v1,v2'\]\.$")),
    ({"classifier__epochs": 2}, None, TypeError, r"Single values need to be wrapped in a list"),
    (["epochs=1,2"], {"epoch": 1}, ValueError, r"^Invalid parameter 'epoch' for make_text_classifier"),
    (["epochs=1,2"], ["epochs=3"], TypeError,  # dict() of it failed after the load
     r"^run_grid's settings must be a dict of parameter names and values, e.g\. \{'epochs': 5\}; got list"),
    (["epochs=1,2"], {"memory": "cache"}, ValueError,  # "got multiple values for keyword argument 'memory'"
     r"^settings holds 'memory': the cache folder of the search is run_grid's memory= parameter"),
    (["epochs=1,2"], {"vectors": "no-such-vectors.vec"}, Exception, r"^settings vectors='no-such-vectors\.vec': no such"),
])
def test_bad_settings_and_grids_are_refused_before_the_data(no_load, grid, settings, error, message):
    from toolkit.cli.grid import run_grid

    with pytest.raises(error, match=message) as info:
        run_grid("reviews.csv", grid=grid, settings=settings, cv=2, local=True)
    assert "--set" not in str(info.value) and "--grid" not in str(info.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"scheduler": "tcp://127.0.0.1:1", "local": True},
     r"^run_grid got scheduler='tcp://127\.0\.0\.1:1' and local=True, which exclude each other: give one"),
    ({"scheduler": "tcp://127.0.0.1:1", "workers": 2},  # silently ignored before
     r"^run_grid got workers=2, which sizes the local Dask cluster; with scheduler= it has no effect\. Drop workers"),
    ({"workers": 0}, r"^The 'workers' parameter of run_grid must be an int in the range \[1, inf\) or None\. Got 0"),
    ({"cv": 1}, (r"^The 'cv' parameter of run_grid must be an int in the range \[2, inf\): the number of stratified "
                 r"folds\. Got 1 instead\.$")),
    ({"cv": KFold(2)}, r"Got KFold\(.*\) instead\. For another splitter, call toolkit\.distributed\.grid_search"),
    ({"scoring": "f1-macro"}, r"^scoring='f1-macro' is not a scikit-learn scorer name \(did you mean 'f1_macro'"),
    ({"scoring": "r2"}, r"^scoring='r2' scores a regression, and the grid ranks classifiers"),
])
def test_where_the_fits_run_the_folds_and_the_scorer_are_checked_before_the_data(no_load, kwargs, message):
    from toolkit.cli.grid import run_grid

    with pytest.raises(ValueError, match=message):
        run_grid("reviews.csv", grid=["epochs=1,2"], **{"cv": 2, **kwargs})


@pytest.mark.parametrize("args, said", [
    (["--scheduler", "tcp://127.0.0.1:1", "--local"], "Error: --scheduler and --local exclude each other; give one.\n"),
    (["--set", "vectors=no-such.vec"], "Error: --set vectors='no-such.vec': no such file"),
    (["--scoring", "r2"], "Error: --scoring 'r2' scores a regression"),
])
def test_the_command_keeps_its_option_words_and_checks_before_the_search(tmp_path, monkeypatch, args, said):
    # the checks now live in run_grid; the command runs them first, in its own terms, before TensorFlow and run_grid
    from typer.testing import CliRunner

    import toolkit.cli.grid as grid_module
    from toolkit.cli import app

    def no_search(*a, **k):
        raise AssertionError("the search started")

    monkeypatch.setattr(grid_module, "run_grid", no_search)
    monkeypatch.setattr(grid_module, "_load_tensorflow_quietly", no_search)
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "".join(f"good film {i},pos\nbad film {i},neg\n" for i in range(4)))
    result = CliRunner().invoke(app, ["-q", "grid", "--data", str(data), "--grid", "epochs=1,2", "--cv", "2", *args])
    assert result.exit_code == 1 and result.stderr.startswith(said), result.stderr
    assert "Traceback" not in result.stderr
