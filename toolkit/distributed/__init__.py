"""The toolkit on Dask: corpora larger than memory and collections spread over a cluster.

Two ways to scale, both on the engine scikit-learn users already have:

- **Grid searches too big for one machine** need nothing from this package:
  ``with joblib.parallel_backend("dask"): GridSearchCV(...).fit(...)`` runs
  every estimator of the toolkit on a ``distributed`` cluster (the tokenizer
  never starts processes inside a worker; vectors travel as a path or a
  manifest name and each worker maps the shared cache file).
  :func:`grid_search` wraps that for the CLI.
- **Corpora larger than memory**: :func:`read_texts` gives a ``dask.bag`` of
  texts (files, a ``dask.dataframe`` column, a bag); :func:`tokenize_partitions`
  and :func:`build_vocabulary` work partition by partition;
  :class:`CorpusStore` writes the tokenized corpus and its vocabulary ids to
  disk as memory-mapped ``.npy`` arrays and reopens them without loading;
  :func:`fit_from_store` trains :class:`~toolkit.models.EmbeddingClassifier`
  from the store in streaming batches (a ``keras.utils.PyDataset``); and
  :func:`predict` maps a fitted estimator over a Dask collection, returning a
  Dask collection (a large model computed often: pass
  ``client.scatter(model)``, sent once, instead of the model, sent at each
  compute); :func:`write_predictions` writes its results to a folder,
  complete or not at all.

Work that starts a cluster (:func:`grid_search`) runs on the current
``distributed.Client`` when there is one (``with Client(cluster):``), as Dask
computes, and starts a LocalCluster only when there is none.

Needs the optional extra: ``pip install -e ".[dask]"``.
"""

from __future__ import annotations

import importlib

__all__ = [
    "read_texts",
    "tokenize_partitions",
    "build_vocabulary",
    "CorpusStore",
    "StoreBatches",
    "fit_from_store",
    "predict",
    "predict_proba",
    "write_predictions",
    "grid_search",
    "worker_config",
    "local_cluster",
    "ClusterError",
]

_WHERE = {
    "read_texts": "partitions",
    "tokenize_partitions": "partitions",
    "build_vocabulary": "partitions",
    "CorpusStore": "store",
    "StoreBatches": "streaming",
    "fit_from_store": "streaming",
    "predict": "prediction",
    "predict_proba": "prediction",
    "write_predictions": "prediction",
    "grid_search": "search",
    "worker_config": "search",
    "local_cluster": "search",
    "ClusterError": "search",
}


def __getattr__(name):
    if name in _WHERE:
        module = importlib.import_module(f".{_WHERE[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
