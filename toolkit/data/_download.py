"""Verified, atomic, locked downloads (the mechanics behind ``datasets.fetch``).

pooch does the work: ``Pooch.fetch`` streams into a temporary file beside the
target and moves it into place, retrying failed transfers (``retry_if_failed``,
sleeping 1, 2... s); its ``HTTPDownloader`` (or any swappable pooch-style
downloader) does the transfer, and ``pooch.file_hash`` the checksum. The
``filelock`` package holds an inter-process lock, so two processes fetching the
same file end with one good copy. Around the downloader, this module adds
what pooch does not:

- a transfer larger than the manifest's size is stopped at that size plus
  :data:`SIZE_MARGIN` bytes;
- the checksum is checked before the move, and a complete but wrong body (bad
  checksum, wrong size), an HTTP 4xx answer (404...) and a full or read-only
  disk are **not** retried: pooch retries every ``ValueError`` and
  ``requests`` error, so those leave its loop wrapped in a private exception;
- error messages say expected, actual, what was done, the folder, and the
  checksum a user needs to verify a copy made by hand;
- temporary files of killed runs are swept: those of the entry being downloaded
  at once, under its lock (:func:`_remove_own_temps`: pooch's names do not say
  whose they are, so each download records its own beside the entry), any
  other by :func:`toolkit._atomic.remove_stale` after :data:`STALE_SECONDS`;
- the lock files of :func:`build_once` (one per cache entry ever built) are
  swept by :func:`_sweep_locks` once unused for :data:`STALE_SECONDS`.
  ``filelock`` leaves a Unix lock file in place on release, on purpose: a
  process may be waiting on that very file, and if it were removed the
  next comer would lock a new file under the same name while the waiter
  takes the old one (two holders). So a lock file is removed only by a
  process that holds it itself and still finds it under its name.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import threading
from pathlib import Path

from .._atomic import (
    EDQUOT,
    NO_SPACE_ERRNOS,
    STALE_SECONDS,
    _create_temp,
    atomic_output,
    nearest_existing_parent,
    remove_stale,
)
from .._config import DATA_DIR_ENV
from .._fileid import stat_id
from .._hashing import hash_file
from ..exceptions import ChecksumError, DataError

__all__ = [
    "SIZE_MARGIN",
    "download_verified",
    "file_lock",
    "hash_file",
    "is_verified",
    "mark_verified",
    "parse_known_hash",
]

logger = logging.getLogger(__name__)

#: Bytes a transfer may run past the manifest's size before it is stopped.
SIZE_MARGIN = 1 << 16
#: pooch's temporary download files (``tempfile.NamedTemporaryFile`` names in the target's folder).
_POOCH_TEMP = "tmp????????"
_DISK_ERRNOS = {errno.ENOSPC, EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                errno.EFBIG}
#: beside an entry ``NAME``: ``NAME.partial`` lists (a name a line) the temporary files of its downloads in progress
_TEMPS_SUFFIX = ".partial"


def _temps_record(target: Path) -> Path:
    """The file that lists the temporary files of ``target``'s downloads in progress (:func:`_remove_own_temps`)."""
    return target.with_name(target.name + _TEMPS_SUFFIX)


def _remove_own_temps(target: Path) -> int:
    """Remove the temporary files that downloads of ``target`` left (a run killed mid-transfer), and their record.

    Called with ``target``'s lock held: no download of it runs, so every temporary file of it is stale, however
    recent. pooch names them ``tmpXXXXXXXX`` in the entry's folder, which does not say whose they are (another
    entry of the folder may be downloading now), so :class:`_Download` records each one's name in
    ``NAME.partial`` beside the entry as it starts. Only names of pooch's form, in that folder, are removed.
    Returns how many files were removed.
    """
    import fnmatch

    record = _temps_record(target)
    try:
        names = record.read_text(encoding="utf-8", errors="replace").split()
    except FileNotFoundError:
        return 0
    except OSError as err:
        logger.debug("Could not read %s: %s", record, err)
        return 0
    removed = 0
    for name in dict.fromkeys(names):
        if Path(name).name != name or not fnmatch.fnmatchcase(name, _POOCH_TEMP):
            continue  # not one of pooch's names: never removed
        try:
            (target.parent / name).unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as err:
            logger.debug("Could not remove %s: %s", target.parent / name, err)
    with contextlib.suppress(OSError):
        record.unlink()
    return removed


class _ToLogger(logging.Handler):
    """Hands each record to a logger of the ``logging`` tree, as if logged there."""

    def __init__(self, target: logging.Logger):
        super().__init__()
        self.target = target

    def emit(self, record):
        if self.target.isEnabledFor(record.levelno):
            self.target.handle(record)


_pooch_routing = {"lock": threading.Lock(), "depth": 0, "saved": None}


@contextlib.contextmanager
def _pooch_messages_to(target: logging.Logger):
    """Route pooch's messages through ``target`` while the block runs.

    pooch logs to a logger outside the ``logging`` tree (``pooch.get_logger()``)
    with its own stderr handler, so no logging configuration reached its
    "Downloading file ..." and "Failed to download ... Will attempt the
    download again" lines: they showed under ``toolkit -q`` and in a library
    user's silenced logs. During the block they go to ``target`` instead and
    obey its level and handlers; pooch's own handlers come back afterwards
    (the last of several concurrent blocks puts them back).
    """
    import pooch

    pooch_logger = pooch.get_logger()
    with _pooch_routing["lock"]:
        if _pooch_routing["depth"] == 0:
            _pooch_routing["saved"] = pooch_logger.handlers[:]
            pooch_logger.handlers = [_ToLogger(target)]
        _pooch_routing["depth"] += 1
    try:
        yield
    finally:
        with _pooch_routing["lock"]:
            _pooch_routing["depth"] -= 1
            if _pooch_routing["depth"] == 0:
                pooch_logger.handlers = _pooch_routing["saved"]
                _pooch_routing["saved"] = None


def parse_known_hash(known_hash: str) -> tuple[str, str]:
    """Split ``"alg:hex"`` (or a bare sha256 hex) into ``(alg, hex)``.

    Raises
    ------
    ValueError
        For an unknown algorithm or a malformed digest.

    Examples
    --------
    >>> parse_known_hash("md5:" + "0" * 32)
    ('md5', '00000000000000000000000000000000')
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
def file_lock(path: str | os.PathLike, *, timeout: float = 3600.0, purpose: str = "downloading the same file",
              wait_level: int = logging.INFO):
    """Hold an exclusive inter-process lock on ``path`` (a ``filelock.FileLock``).

    ``purpose`` says what the other process holding it is doing, in the
    timeout's message and in the line logged at ``wait_level`` when this one
    has to wait.

    The operating system releases it when the holder dies, on every platform,
    so a crash never leaves a lock that blocks later runs.

    Raises
    ------
    DataError
        When the lock is not obtained within ``timeout`` seconds.

    Examples
    --------
    >>> import os, tempfile
    >>> with file_lock(os.path.join(tempfile.mkdtemp(), "x.lock")):
    ...     pass
    """
    from filelock import FileLock, Timeout

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        logger.log(wait_level, "Waiting for another process to finish with %s: it is %s", path, purpose)
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise DataError(
                f"Timed out after {timeout:.0f} s waiting for the lock {path}; another process is {purpose}. "
                "Try again later."
            ) from None
    try:
        yield
    finally:
        lock.release()



def build_once(entry: Path, name: str, *, read, build, purpose: str):
    """A cache entry built by one process only: ``read()`` it, or ``build()`` it under a lock.

    Processes asking for the same entry at once (a stack's fold fits on
    joblib workers) build it once: the others wait on
    ``<cache>/locks/<name>.lock`` (:func:`file_lock`; the cache is
    ``entry``'s grandparent), then read what the first wrote. An entry found
    damaged (``read`` returns None for it, and reports it) is built again
    without a second read. Where the lock cannot be made (a read-only cache
    folder) the build runs without it: the cache then costs only the
    recomputation. Lock files unused for :data:`STALE_SECONDS` that nobody
    holds are removed by the next build (:func:`_sweep_locks`).

    Parameters
    ----------
    entry : Path
        The entry's file or folder; the lock is taken when it is missing or damaged.
    name : str
        The lock's name, unique to the entry.
    read : callable
        ``read()``: the cached value, or None when it is damaged.
    build : callable
        ``build()``: the value, written to ``entry`` where possible.
    purpose : str
        What the lock's holder is doing, for the timeout's message.

    Returns
    -------
    (value, built) : (object, bool)
        ``built`` says whether this process called ``build()``.
    """
    missing = not entry.exists()
    value = None if missing else read()
    if value is not None:
        return value, False
    lock = entry.parent.parent / "locks" / f"{name}.lock"
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(file_lock(lock, purpose=purpose))
        except OSError as err:
            logger.warning("could not lock %s (%s); going on without the lock", name, err)
        else:
            with contextlib.suppress(OSError):
                os.utime(lock)  # its last use: the sweep leaves it alone for STALE_SECONDS
            removed = _sweep_locks(lock.parent, keep=lock)
            if removed:
                logger.info("removed %d lock file(s) unused for %d hours from %s", removed, STALE_SECONDS // 3600,
                            lock.parent)
        value = read() if missing and entry.exists() else None  # written meanwhile by another process
        if value is not None:
            return value, False
        return build(), True


def _sweep_locks(folder: Path, *, keep: Path, max_age: float = STALE_SECONDS) -> int:
    """Remove the lock files in ``folder`` that nobody holds and nobody used for ``max_age`` seconds.

    Each is opened (never created), locked without waiting (``flock``, the
    lock ``filelock`` takes on Unix: a file another process holds, or this one
    through :func:`file_lock`, is skipped), and removed only if its name
    still names the file locked, while the lock is held; closing it then
    releases the lock. A process that opened the file just before and locks
    it just after holds a removed file: ``filelock`` sees that the file has
    no name left and locks the new one instead (since 3.20.4, the toolkit's
    minimum; without that check the age condition, as :func:`build_once`
    touches its lock at every use, would keep the risk to a window of
    microseconds on an entry nobody asked for in hours, at the cost of one
    duplicate build: entries are written atomically). Where
    ``flock`` is missing (Windows, where ``filelock`` removes its files
    itself), nothing is removed.

    Parameters
    ----------
    folder : Path
        The locks folder (``<cache>/locks``).
    keep : Path
        The caller's own lock, never removed.
    max_age : float, default=STALE_SECONDS
        Seconds since a lock file's last use (its modification time).

    Returns
    -------
    int
        How many lock files were removed.
    """
    import stat
    import time

    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return 0
    removed = 0
    for path in folder.glob("*.lock"):
        try:
            if path == keep or time.time() - path.lstat().st_mtime <= max_age:
                continue
            fd = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
        except OSError:  # gone meanwhile, a link, not ours to open
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = os.fstat(fd)
            if (stat.S_ISREG(held.st_mode) and os.path.samestat(held, os.lstat(path))
                    and time.time() - held.st_mtime > max_age):
                path.unlink()  # while holding it: a waiter that locks it next finds it unnamed
                removed += 1
        except OSError:  # held by another process (or by this one), replaced, or not removable
            pass
        finally:
            os.close(fd)
    return removed


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def mark_verified(path: Path, alg: str, digest: str) -> None:
    """Record that ``path`` (as it is now: its :func:`~toolkit._fileid.stat_id`) has this digest."""
    ident = stat_id(path)
    stamp = _stamp_path(path)
    with atomic_output(stamp) as tmp:  # size and mtime_ns: for the stamps' readers of earlier toolkits
        tmp.write_text(json.dumps({"size": ident[1], "mtime_ns": ident[2], "stat": ident, alg: digest}))


def is_verified(path: Path, alg: str, digest: str) -> bool:
    """True when a stamp says ``path``, unchanged since, has this digest.

    Unchanged: the same inode, size, modification and change times. Size and
    mtime alone let a file rewritten with them put back (``cp -p``, ``rsync
    -t`` or a tar extraction onto it) pass unverified. A stamp that no longer
    matches (that rewrite, a copy, a stamp of an earlier toolkit) only costs
    one hash: the caller verifies the file and records it again.
    """
    try:
        ident = stat_id(path)
        data = json.loads(_stamp_path(path).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("stat") == ident and data.get(alg) == digest


def _as_new_file(path: Path) -> None:
    """Give pooch's temporary file ``path`` the mode a plain ``open`` gives a new file (0o666 less the umask).

    ``tempfile`` makes it 0o600, and the download keeps that mode when it is moved to its name: in a cache
    shared by a group (``TOOLKIT_CACHE_DIR``), the others' runs found the file verified and then failed with
    "Permission denied". The mode is read off a file made beside it, so the umask is never changed.
    """
    try:
        probe = _create_temp(path, False)
        try:
            mode = os.stat(probe).st_mode & 0o777
        finally:
            os.unlink(probe)
        os.chmod(path, mode)
    except OSError as err:  # the download goes on; only others' access to it is at stake
        logger.debug("Could not set the mode of %s: %s", path, err)


class _Final(Exception):
    """Carries an error through pooch's retry loop, which would retry any ValueError or requests error."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


class _TooBig(Exception):
    pass


class _CappedFile:
    """The file object handed to the downloader: stops the transfer past ``limit`` bytes."""

    def __init__(self, fh, limit: int | None):
        self._fh, self._limit, self.written = fh, limit, 0

    def write(self, data) -> int:
        self.written += len(data)
        if self._limit is not None and self.written > self._limit:
            raise _TooBig
        return self._fh.write(data)

    def __getattr__(self, name):  # flush, tell, seek... as the real file
        return getattr(self._fh, name)


class _Download:
    """The pooch-style downloader wrapped around the real one: caps, checks and sorts errors."""

    def __init__(self, fetcher, *, url: str, target: Path, size: int | None, alg: str, expected: str):
        self.fetcher, self.url, self.target, self.size = fetcher, url, target, size
        self.alg, self.expected = alg, expected
        self.attempts = 0

    def __call__(self, url, output_file, pooch):
        import requests

        self.attempts += 1
        try:  # whose temporary file this is, for the next download of the entry if this run is killed
            with open(_temps_record(self.target), "a", encoding="utf-8") as record:
                record.write(Path(output_file).name + "\n")
        except OSError as err:  # then only remove_stale sweeps it, after STALE_SECONDS
            logger.debug("Could not record the temporary file %s: %s", output_file, err)
        logger.info("Downloading %s to %s (attempt %d)", url, self.target, self.attempts)
        limit = None if self.size is None else self.size + SIZE_MARGIN
        _as_new_file(Path(output_file))
        try:
            with open(output_file, "wb") as raw:
                capped = _CappedFile(raw, limit)
                self.fetcher(url, capped, pooch)
        except _TooBig:
            raise _Final(DataError(
                f"Download of {url} is larger than its manifest says: stopped after {limit:,} bytes, expected "
                f"{self.size:,}. The partial file was deleted; not retried, since the server sends a different "
                "file. Check the manifest's url and size."
            )) from None
        except requests.HTTPError as err:
            status = getattr(err.response, "status_code", None)
            if status is not None and 400 <= status < 500 and status not in (408, 425, 429):
                raise _Final(self._unavailable(f"the server answered HTTP {status} ({err}); not retried")) from err
            raise
        except OSError as err:
            if isinstance(err, requests.RequestException):
                raise  # pooch retries it
            if err.errno in _DISK_ERRNOS:
                raise _Final(self._disk_error(err)) from err
            raise requests.ConnectionError(f"{type(err).__name__}: {err}") from err  # pooch retries it
        self._check(output_file)

    def _check(self, output_file) -> None:
        import pooch

        got = os.path.getsize(output_file)
        page = "" if not _is_html_page(output_file) else (
            "The server sent a web page (HTML), not the file: a login page of a proxy or of the network, or a "
            "page saying that the file moved. Open the URL in a browser: trying again fetches the same page. A "
            f"copy downloaded by hand goes in an offline data folder ({DATA_DIR_ENV}, or data_dir=); verify it "
            f"first: its {self.alg} must be {self.expected}."
        )
        if self.size is not None and got != self.size:
            raise _Final(DataError(
                f"Download of {self.url} is incomplete or wrong: {got:,} bytes, expected {self.size:,}. "
                "The partial file was deleted; not retried, since the transfer ended without an error."
                + (page and f" {page}")
            ))
        actual = pooch.file_hash(output_file, alg=self.alg)
        if actual != self.expected:
            raise _Final(ChecksumError(
                f"{self.alg.upper()} checksum mismatch for {self.url} (would be {self.target}):\n"
                f"  expected {self.expected}\n  actual   {actual}\n"
                "The downloaded file was deleted. "
                + (page or self._mismatch_advice())
            ))

    def _mismatch_advice(self) -> str:
        if self.url.lower().startswith("file://"):  # a local mirror: trying again reads the same bytes
            return ("The mirror's copy is damaged or another file: trying again reads the same file. Copy it "
                    "again from its source, or check the manifest's checksum.")
        return ("The download was corrupted or the file changed on the server; try again, and if it persists "
                "check the manifest's checksum.")

    def _disk_error(self, err: OSError) -> DataError:
        folder = self.target.parent
        if err.errno in NO_SPACE_ERRNOS:
            need = f"{self.size:,} bytes" if self.size is not None else "more space"
            return DataError(
                f"No space left on the disk of {folder} while downloading {self.url} ({err}). This is a disk "
                f"problem, not a network one: free {need} there, or set cache_dir (TOOLKIT_CACHE_DIR) to a folder "
                "on another disk. The partial file was deleted."
            )
        return DataError(f"Cannot write the download of {self.url} into {folder} ({err}). Check that the folder "
                         "is writable, or set cache_dir (TOOLKIT_CACHE_DIR) to one that is.")

    def _unavailable(self, what: str) -> DataError:
        return DataError(
            f"Could not download {self.url}: {what}. Check the network, or put a copy of {self.target.name} made "
            f"by hand in an offline data folder ({DATA_DIR_ENV}, or data_dir=); verify it first: its "
            f"{self.alg} must be {self.expected}."
        )


def _is_html_page(path) -> bool:
    """Whether the body at ``path`` is a web page (HTML), not the file.

    A proxy's or a network's login page, a "this file moved" page or a file
    host's confirmation page come back as "200 OK" with an HTML body: the size
    or checksum error alone said to try again, which fetches the same page.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    except OSError:
        return False
    return head.startswith((b"<!doctype html", b"<html")) or (head.startswith(b"<") and b"<html" in head)


class _FileDownloader:
    """Copies the file of a ``file://`` URL (a mirror on a shared drive), which manifests accept.

    pooch has no downloader for them: ``requests`` answered "No connection adapters were found for
    'file:///...'", three times with pauses, and the error said to check the network.
    """

    def __call__(self, url, output_file, pooch):
        from urllib.parse import urlparse
        from urllib.request import url2pathname

        parts = urlparse(url)
        source = Path(url2pathname(parts.path if parts.netloc in ("", "localhost") else f"//{parts.netloc}{parts.path}"))
        try:
            fh = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as err:  # not retried: the same path fails the same way
            raise _Final(DataError(
                f"Cannot read {source}, the file of the URL {url}: {err.strerror or err}. Check the path in the "
                "manifest's url, and that its drive is mounted; or put a copy of the file in an offline data "
                f"folder ({DATA_DIR_ENV}, or data_dir=)."
            )) from err
        with fh:
            while True:
                chunk = fh.read(1 << 20)
                if not chunk:
                    break
                output_file.write(chunk)


class _HTTPDownloader:
    """``pooch.HTTPDownloader`` whose responses are closed even when a transfer is stopped midway."""

    def __init__(self, progress: bool):
        import pooch

        self._responses: list = []
        self._http = pooch.HTTPDownloader(progressbar=bool(progress), timeout=60, hooks={"response": self._keep})

    def _keep(self, response, *args, **kwargs):
        self._responses.append(response)

    def __call__(self, url, output_file, pooch):
        try:
            return self._http(url, output_file, pooch)
        finally:
            while self._responses:
                self._responses.pop().close()


def download_verified(
    url: str,
    target: str | os.PathLike,
    *,
    known_hash: str,
    size: int | None = None,
    downloader=None,
    progress: bool = False,
    retries: int = 2,
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
        Expected size in bytes. A transfer is stopped past it (plus
        :data:`SIZE_MARGIN`); a different size fails before hashing.
    downloader : callable, optional
        ``downloader(url, output_file, pooch)`` as in pooch; ``output_file`` is
        a binary file object. Default: ``pooch.HTTPDownloader``; for a
        ``file://`` URL, a copy of that file.
    progress : bool
        Show a tqdm bar (default downloader only).
    retries : int
        Extra attempts after a failed transfer (a connection error, a
        timeout, an HTTP 5xx), sleeping 1, 2... s between them (pooch's
        back-off). A complete but wrong file, an HTTP 4xx and a disk error are
        not retried.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ChecksumError
        When the downloaded file's hash differs (the file is deleted).
    DataError
        When the transfer fails (the message gives the checksum to verify a
        copy made by hand), the body is too large or of the wrong size, or the
        disk is full or not writable (the message names the folder), a parent
        of ``target`` is a file, or ``target`` is a folder.

    Examples
    --------
    >>> import hashlib, os, tempfile
    >>> def offline(url, output_file, pooch):  # any pooch-style downloader
    ...     output_file.write(b"data")
    >>> path = download_verified("https://example.org/f.txt", os.path.join(tempfile.mkdtemp(), "f.txt"),
    ...                          known_hash="sha256:" + hashlib.sha256(b"data").hexdigest(), downloader=offline)
    >>> path.read_bytes()
    b'data'
    """
    import pooch
    import requests

    alg, expected = parse_known_hash(known_hash)
    target = Path(target)
    with contextlib.ExitStack() as stack:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # a warning: a second `toolkit data fetch` sat silent for as long as the first one's download
            stack.enter_context(file_lock(target.with_name(target.name + ".lock"), wait_level=logging.WARNING))
        except OSError as err:
            blocker = nearest_existing_parent(target)
            if err.errno in (errno.ENOTDIR, errno.EEXIST) and not blocker.is_dir():
                raise DataError(  # else a bare "[Errno 20] Not a directory: '<cache>/data/imdb'"
                    f"Cannot download {url} into {target.parent}: {blocker} is a file, not a folder. Set cache_dir "
                    "(TOOLKIT_CACHE_DIR) to a folder (a missing one is created), or leave it unset to use the user "
                    "cache folder."
                ) from err
            if err.errno not in _DISK_ERRNOS:
                raise
            # a cache shared read-only: what it holds is used once verified, nothing is written there
            return _verified_in_place(url, target, alg, expected, err)
        # under the entry's lock no download of it runs: its temporary files are a killed run's, swept now
        own = _remove_own_temps(target)
        if own:
            logger.info("Removed %d partial download(s) of %s left by a run that was stopped", own, target)
        # Another process may have finished while we waited for the lock.
        if target.exists() and is_verified(target, alg, expected):
            return target
        for_killed_runs = remove_stale(target.parent, _POOCH_TEMP)
        if for_killed_runs:
            logger.info("Removed %d stale partial download(s) in %s", for_killed_runs, target.parent)
        if target.is_dir():  # hash_file: a bare "[Errno 21] Is a directory"
            raise DataError(
                f"Cannot use the cache entry {target}: it is a folder, not the file {target.name}, and toolkit "
                "never makes it one (an archive extracted there by hand?). Move it away, or set cache_dir "
                "(TOOLKIT_CACHE_DIR) to another folder; an extracted copy goes in an offline data folder "
                f"({DATA_DIR_ENV}, or data_dir=) instead."
            )
        if target.exists():
            actual = hash_file(target, alg)
            if actual == expected:
                _record_verified(target, alg, expected)
                return target
            logger.warning("Cached %s has %s %s, expected %s; downloading it again", target, alg, actual, expected)
            target.unlink()
        if downloader is None:
            downloader = _FileDownloader() if url.lower().startswith("file://") else _HTTPDownloader(progress)
        wrapped = _Download(downloader,
                            url=url, target=target, size=size, alg=alg, expected=expected)
        store = pooch.create(path=target.parent, base_url="", registry={target.name: None}, urls={target.name: url},
                             retry_if_failed=retries)
        try:
            with _pooch_messages_to(logger):
                store.fetch(target.name, downloader=wrapped)
        except _Final as err:
            raise err.error from err.error.__cause__
        except (requests.RequestException, ValueError) as err:
            raise wrapped._unavailable(f"{wrapped.attempts} attempts failed, the last with {err}") from err
        except OSError as err:
            if err.errno in _DISK_ERRNOS:
                raise wrapped._disk_error(err) from err
            raise
        finally:  # pooch moved or removed its temporary files: the record goes (with any it left), lock still held
            _remove_own_temps(target)
        _record_verified(target, alg, expected)
        return target


def _record_verified(target: Path, alg: str, digest: str) -> None:
    """:func:`mark_verified`, or only a debug line where the stamp cannot be written (the file is checked again
    at its next use)."""
    try:
        mark_verified(target, alg, digest)
    except OSError as err:
        logger.debug("Could not record that %s is verified: %s", target, err)


#: (path, inode, size, mtime_ns, ctime_ns, alg) -> digest of the files checked in a folder this process cannot write
_CHECKED_IN_PLACE: dict[tuple, str] = {}


def _verified_in_place(url: str, target: Path, alg: str, expected: str, err: OSError) -> Path:
    """``target`` where its folder cannot be written (no lock, no download, no stamp): returned if its checksum
    is ``expected``, else a :class:`DataError` naming the folder, the checksum and what to do.

    A shared cache filled by hand (a copy, ``rsync`` without times) holds its files without their
    ``.verified.json`` stamps: the lock file could not be made and ``fetch`` stopped there with
    "[Errno 13] Permission denied: '.../aclImdb_v1.tar.gz.lock'", although the file was good.
    """
    folder = target.parent
    found = ""
    if target.is_file():
        key = (str(target.resolve()), *stat_id(target), alg)
        actual = _CHECKED_IN_PLACE.get(key) or hash_file(target, alg)
        if actual == expected:
            if key not in _CHECKED_IN_PLACE:
                logger.info("Using %s: its %s is right, but its folder cannot be written (%s), so it is checked "
                            "again by each new process", target, alg, err.strerror or err)
            _CHECKED_IN_PLACE[key] = actual
            return target
        found = f" The copy of {target.name} there has {alg} {actual}, not {expected}: it is damaged or another file."
    raise DataError(
        f"Cannot download {url} into {folder}: the folder cannot be written ({err}).{found} Set cache_dir "
        f"(TOOLKIT_CACHE_DIR) to a writable folder, or put a copy of {target.name} in an offline data folder "
        f"({DATA_DIR_ENV}, or data_dir=); verify it first: its {alg} must be {expected}."
    ) from err
