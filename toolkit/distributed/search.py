"""Grid searches on Dask: scikit-learn's ``GridSearchCV`` under joblib's ``dask`` backend.

Nothing here replaces scikit-learn: :func:`grid_search` opens (or connects to)
a cluster, runs ``GridSearchCV`` with ``joblib.parallel_backend("dask")`` and
closes what it opened. Every fit is one task; the training data are scattered
to the workers once, and each task ships only the estimator's parameters
(vectors travel as a path or manifest name, opened memory-mapped by each
worker).
"""

from __future__ import annotations

import contextlib
import logging

__all__ = ["grid_search", "dask_client"]

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def dask_client(scheduler=None, *, n_workers=None):
    """A ``distributed.Client``: to ``scheduler`` when given, else on a new LocalCluster.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); the cluster is
        left running afterwards.
    n_workers : int, optional
        Worker processes of the LocalCluster (one thread each; default: the
        number of cores). It listens on 127.0.0.1 only and is closed on exit.

    Raises
    ------
    OSError
        When the scheduler cannot be reached (the message names the address).
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as err:
            raise OSError(f"Could not connect to the Dask scheduler at {scheduler}: {err}. Is it running?") from err
        with client:
            yield client
        return
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def grid_search(estimator, param_grid, X, y, *, cv=3, scoring=None, scheduler=None, n_workers=None,
                local=False, refit=True, error_score="raise"):
    """Fit ``GridSearchCV(estimator, param_grid)`` on a Dask cluster (or in this process).

    Parameters
    ----------
    estimator : estimator or Pipeline
    param_grid : dict or list of dicts
        As for ``GridSearchCV``.
    X, y : training data (in memory; each worker receives one copy)
    cv : int or cross-validation generator, default=3
    scoring : str or callable, optional
    scheduler : str, optional
        Address of a running Dask scheduler; default a LocalCluster.
    n_workers : int, optional
        Worker processes of the LocalCluster.
    local : bool, default=False
        Run with ``n_jobs=1`` in this process instead (no Dask).
    refit, error_score : see ``GridSearchCV``

    Returns
    -------
    sklearn.model_selection.GridSearchCV
        Fitted; its ``cv_results_`` equal those of ``n_jobs=1``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from toolkit.distributed import grid_search
    >>> X, y = [[0.0], [1.0], [0.1], [0.9]] * 3, [0, 1, 0, 1] * 3
    >>> grid_search(LogisticRegression(), {"C": [0.1, 1.0]}, X, y, cv=2, local=True).best_params_
    {'C': 0.1}
    """
    import joblib
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(estimator, param_grid, cv=cv, scoring=scoring, refit=refit, error_score=error_score,
                          n_jobs=1 if local else None)
    if local:
        return search.fit(X, y)
    with dask_client(scheduler, n_workers=n_workers) as client:
        logger.info("grid search on %s", client)
        with joblib.parallel_backend("dask"):
            return search.fit(X, y)
