"""Dask preload of the CLI's local workers (``toolkit grid``): TensorFlow imported with stderr muted.

Named in ``distributed.worker.preload`` while ``toolkit grid`` starts its
local cluster (:func:`toolkit.cli.grid.run_grid`), so each worker process
imports TensorFlow as the CLI's own process and its joblib workers do
(:func:`toolkit.cli._common._worker_start`): without it every worker wrote
TensorFlow's C++ start-up notices (oneDNN, a failed CUDA probe) between the
command's progress bar and its result.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def dask_setup(worker) -> None:
    """Import TensorFlow muted in this worker process (Dask calls this when the worker starts).

    Parameters
    ----------
    worker : distributed.Worker
        The starting worker (unused).
    """
    from ._common import _worker_start

    try:
        _worker_start()
    except ImportError as err:  # the fits then fail with the same error, where the user sees it
        logger.debug("TensorFlow could not be imported at worker start: %s", err)
