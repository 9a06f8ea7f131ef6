"""Verified, atomic, locked downloads (the mechanics behind ``datasets.fetch``).

pooch does the HTTP transfer (its ``HTTPDownloader``: streaming, a tqdm bar)
and the hashing (``pooch.file_hash``); this module adds what pooch does not:
a lock so two processes fetching the same file end with one good copy, a
temporary file that is removed whatever happens (pooch leaves it behind when
killed), size and checksum checks before the atomic rename, retries with a
capped back-off, and error messages that say expected, actual and what was done.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import uuid
from pathlib import Path

from .._atomic import atomic_output
from .._hashing import hash_file
from ..exceptions import ChecksumError, DataError

__all__ = ["hash_file", "parse_known_hash", "file_lock", "download_verified", "is_verified", "mark_verified"]

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
#: Longest sleep between download retries (seconds); tests set it to 0.
RETRY_MAX_SLEEP = 10.0


def parse_known_hash(known_hash: str) -> tuple[str, str]:
    """Split ``"alg:hex"`` (or a bare sha256 hex) into ``(alg, hex)``.

    Raises
    ------
    ValueError
        For an unknown algorithm or a malformed digest.
    """
    alg, _, digest = known_hash.rpartition(":")
    alg = (alg or "sha256").lower()
    digest = digest.strip().lower()
    if alg not in hashlib.algorithms_available:
        raise ValueError(f"Unknown hash algorithm {alg!r} in known_hash={known_hash!r}; use 'sha256:<hex>' or 'md5:<hex>'.")
    expected_len = hashlib.new(alg).digest_size * 2
    if len(digest) != expected_len or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"known_hash={known_hash!r} is not a {alg} digest ({expected_len} hexadecimal digits).")
    return alg, digest


@contextlib.contextmanager
def file_lock(path: str | os.PathLike, *, timeout: float = 3600.0, poll: float = 0.1):
    """Hold an exclusive inter-process lock on ``path`` (created if missing).

    Uses ``fcntl.flock`` where available (released by the OS if the process
    dies), else an ``O_EXCL`` lock file.

    Raises
    ------
    DataError
        When the lock is not obtained within ``timeout`` seconds.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        fcntl = None
    if fcntl is not None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            waited = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not waited:
                        logger.info("Waiting for another process to finish with %s", path)
                        waited = True
                    if time.monotonic() > deadline:
                        raise DataError(
                            f"Timed out after {timeout:.0f} s waiting for the lock {path}; another process "
                            "is downloading the same file. Try again later."
                        ) from None
                    time.sleep(poll)
            yield
        finally:
            os.close(fd)  # closing releases the flock
        return
    while True:  # pragma: no cover - Windows fallback
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            os.close(fd)
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise DataError(f"Timed out waiting for the lock {path}; delete it if no process holds it.") from None
            time.sleep(poll)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def mark_verified(path: Path, alg: str, digest: str) -> None:
    """Record that ``path`` (at its current size and mtime) has this digest."""
    st = path.stat()
    stamp = _stamp_path(path)
    with atomic_output(stamp) as tmp:
        tmp.write_text(json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns, alg: digest}))


def is_verified(path: Path, alg: str, digest: str) -> bool:
    """True when a stamp says ``path``, unchanged since, has this digest."""
    try:
        st = path.stat()
        data = json.loads(_stamp_path(path).read_text())
    except (OSError, ValueError):
        return False
    return data.get("size") == st.st_size and data.get("mtime_ns") == st.st_mtime_ns and data.get(alg) == digest


def _default_downloader(progress: bool):
    import pooch

    return pooch.HTTPDownloader(progressbar=bool(progress), timeout=60)


def download_verified(
    url: str,
    target: str | os.PathLike,
    *,
    known_hash: str,
    size: int | None = None,
    downloader=None,
    progress: bool = False,
    retries: int = 2,
    max_sleep: float | None = None,
) -> Path:
    """Download ``url`` to ``target``, verified, atomically and under a lock.

    Parameters
    ----------
    url : str
    target : path-like
        Final file name. Its folder is created.
    known_hash : str
        ``"sha256:<hex>"`` or ``"md5:<hex>"``. Required: nothing is downloaded
        unverified.
    size : int, optional
        Expected size in bytes; a different size fails before hashing.
    downloader : callable, optional
        ``downloader(url, output_file, pooch)`` as in pooch (``pooch`` is
        passed as None). Default: ``pooch.HTTPDownloader``.
    progress : bool
        Show a tqdm bar (default downloader only).
    retries : int
        Extra attempts after a failed or incomplete transfer, sleeping 1, 2,
        4... seconds (capped at ``max_sleep``, default :data:`RETRY_MAX_SLEEP`). A checksum mismatch of a
        complete file is not retried.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ChecksumError
        When the downloaded file's hash differs (the file is deleted).
    DataError
        When every attempt fails to transfer the file.
    """
    alg, expected = parse_known_hash(known_hash)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = target.with_name(target.name + ".lock")
    with file_lock(lock):
        # Another process may have finished while we waited for the lock.
        if target.exists() and is_verified(target, alg, expected):
            return target
        # We hold the lock: any temp file left here is from a killed run.
        for stale in target.parent.glob(f".{target.name}.*.part"):
            logger.info("Removing stale partial download %s", stale)
            stale.unlink(missing_ok=True)
        if target.exists():
            actual = hash_file(target, alg)
            if actual == expected:
                mark_verified(target, alg, expected)
                return target
            logger.warning("Cached %s has %s %s, expected %s; downloading it again", target, alg, actual, expected)
            target.unlink()
        fetcher = downloader if downloader is not None else _default_downloader(progress)
        last_error: BaseException | None = None
        for attempt in range(retries + 1):
            tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.part")
            try:
                logger.info("Downloading %s to %s (attempt %d)", url, target, attempt + 1)
                fetcher(url, str(tmp), None)
                if not tmp.exists():
                    raise DataError(f"The downloader wrote nothing for {url}.")
                got = tmp.stat().st_size
                if size is not None and got != size:
                    raise DataError(
                        f"Download of {url} is incomplete or wrong: {got:,} bytes, expected {size:,}. "
                        "The partial file was deleted."
                    )
                actual = hash_file(tmp, alg)
                if actual != expected:
                    raise ChecksumError(
                        f"{alg.upper()} checksum mismatch for {url} (would be {target}):\n"
                        f"  expected {expected}\n  actual   {actual}\n"
                        "The downloaded file was deleted. The download was corrupted or the file changed on "
                        "the server; try again, and if it persists check the manifest's checksum."
                    )
                os.replace(tmp, target)
                mark_verified(target, alg, expected)
                return target
            except BaseException as err:  # noqa: BLE001 - cleanup then re-raise or retry
                tmp.unlink(missing_ok=True)
                if not isinstance(err, Exception) or isinstance(err, ChecksumError):
                    raise  # nothing left behind; interrupts and bad files are not retried
                last_error = err
                if attempt < retries:
                    delay = min(RETRY_MAX_SLEEP if max_sleep is None else max_sleep, 2.0**attempt)
                    logger.warning("Download of %s failed (%s); retrying in %.0f s", url, err, delay)
                    time.sleep(delay)
        if isinstance(last_error, DataError):
            raise last_error
        raise DataError(
            f"Could not download {url} after {retries + 1} attempts: {last_error}. Check the network, or put "
            f"the file in an offline data folder (TOOLKIT_DATA_DIR)."
        ) from last_error
