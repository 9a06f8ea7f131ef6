"""Atomic writes: a temporary file or folder next to the target, renamed on success.

One mechanism for every output toolkit writes (run folders, plots, caches,
vocabularies, vector files), so a failed or interrupted write never leaves a
partial file under its real name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["atomic_output"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path, *, directory=False):
    """Yield a temporary path next to ``path``; move it onto ``path`` on success.

    On an exception the temporary file (or folder) is removed and ``path`` is
    left as it was, so a failed or interrupted write never leaves a partial
    output behind. Missing parent folders are created.

    Parameters
    ----------
    path : path-like
        The final file (or folder when ``directory=True``).
    directory : bool, default=False
        Yield a temporary folder instead of a file name. An existing folder at
        ``path`` is replaced only after the new one is complete.

    Examples
    --------
    >>> import tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> with atomic_output(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> from pathlib import Path
    >>> Path(target).read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    else:
        # keep the real suffix last: numpy and matplotlib choose formats by it
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, (0o777 if directory else 0o666) & ~_umask())  # mkstemp/mkdtemp make it private
        if directory:
            old = None
            if path.exists():
                old = path.with_name(f".{path.name}.old-{os.getpid()}")
                os.replace(path, old)
            os.replace(tmp, path)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise
