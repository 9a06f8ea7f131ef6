"""toolkit.distributed.grid_search as a GridSearchCV user calls it (session 39).

``GridSearchCV(...).fit(X, y, classifier__sample_weight=w)`` and
``return_train_score=True`` had no counterpart: ``grid_search(..., sample_weight=w)``
stopped with "unexpected keyword argument". Both now reach the search, on the
cluster as in this process, and give scikit-learn's own ``cv_results_``. The
cluster's case is in tests/test_dask_gaps_usage.py, which has a cluster already
(test_dask_gaps_grid_search_takes_sample_weight_and_train_scores_as_gridsearchcv).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def weighted(imdb_tokens200):
    X, y = imdb_tokens200
    weights = np.random.default_rng(0).integers(1, 5, size=len(y)).astype(float)
    return np.asarray(X, dtype=object), y, weights


def weighted_pipeline():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from toolkit.text import BagEncoder

    return Pipeline([("bag", BagEncoder(output_mode="count", max_tokens=2000)),
                     ("classifier", LogisticRegression(max_iter=200))])


GRID = {"classifier__C": [0.1, 1.0]}


def _same_results(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if "time" not in key:
            assert np.array_equal(np.asarray(a[key], dtype=object), np.asarray(b[key], dtype=object)), key


def test_dask_user_s39_local_search_takes_them_too(weighted):
    from sklearn.model_selection import GridSearchCV

    from toolkit.distributed import grid_search

    X, y, w = weighted
    local = grid_search(weighted_pipeline(), GRID, X, y, cv=3, local=True, return_train_score=True,
                        classifier__sample_weight=w, refit=False)
    _same_results(local.cv_results_, GridSearchCV(weighted_pipeline(), GRID, cv=3, return_train_score=True, refit=False)
                  .fit(X, y, classifier__sample_weight=w).cv_results_)


def test_dask_user_s39_a_dask_collection_as_fit_parameter_is_refused(weighted):
    import dask.array as da

    from toolkit.distributed import grid_search

    X, y, w = weighted
    with pytest.raises(TypeError, match=r"grid_search needs classifier__sample_weight in memory .* got a Dask Array"):
        grid_search(weighted_pipeline(), GRID, X, y, local=True, classifier__sample_weight=da.from_array(w, chunks=50))
