"""Safe reading and extraction of tar and zip archives.

Tar archives are read with :mod:`tarfile` in streaming mode (``"r|*"``: one
pass, front to back, no random access, any compression), and extracted with
its ``data`` filter. Python 3.11's ``tarfile`` applies no filter by default
and pooch's ``Untar`` writes a ``../x`` member outside its target there, so
everything in toolkit that opens an archive goes through this module, which
adds its own checks on every member before it is read or written:

- names: refused when absolute, containing ``..``, a drive letter, a
  backslash or a NUL byte, deeper than ``max_depth`` folders, longer than
  ``max_name_length`` bytes or with a part longer than 255 bytes;
- kinds: links (symbolic and hard), devices, FIFOs and other special members
  are refused;
- duplicates: a name seen twice is refused (the second would silently
  overwrite the first), and so, when extracting, are names that differ only
  in case (``A.txt`` and ``a.txt`` are one file on macOS and Windows);
- sizes: caps on each member, on the total and on the number of members
  (checked as the archive streams, so a flood stops at the cap); for zip
  members, a cap on the compression ratio and on the bytes actually inflated
  (a header that understates a size cannot get past it).

Extraction is all-or-nothing: the archive goes into a temporary folder beside
the destination, renamed onto it only when everything succeeded (see
:func:`toolkit._atomic.atomic_output`). A refused member, a corrupt archive,
a full disk or an interrupt leaves the destination as it was.

Examples
--------
>>> from toolkit.data.archives import check_member_name
>>> check_member_name("aclImdb/train/pos/0_9.txt")
'aclImdb/train/pos/0_9.txt'
"""

from __future__ import annotations

import bz2
import gzip
import io
import logging
import lzma
import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from .._atomic import NO_SPACE_ERRNOS, atomic_output
from ..exceptions import DataError

__all__ = [
    "UnsafeArchiveError",
    "MAX_MEMBER_SIZE",
    "MAX_TOTAL_SIZE",
    "MAX_MEMBERS",
    "MAX_DEPTH",
    "MAX_NAME_LENGTH",
    "MAX_RATIO",
    "check_member_name",
    "iter_tar_files",
    "extract_tar",
    "open_zip_member",
    "extract_zip",
]

logger = logging.getLogger(__name__)

#: Default cap on one member's uncompressed size (bytes); the largest GloVe text file is 5.6 GB.
MAX_MEMBER_SIZE = 8 * 1024**3
#: Default cap on the total uncompressed size of an extraction (bytes).
MAX_TOTAL_SIZE = 16 * 1024**3
#: Default cap on the number of members (aclImdb_v1.tar.gz has about 100,000).
MAX_MEMBERS = 250_000
#: Default cap on the folder depth of a member name.
MAX_DEPTH = 32
#: Default cap on the length of a member name, in UTF-8 bytes (each part is also capped at 255).
MAX_NAME_LENGTH = 1024
#: Default cap on a zip member's compression ratio (uncompressed / compressed size).
MAX_RATIO = 100
_NAME_PART_MAX = 255  # NAME_MAX on Linux, macOS and Windows
_RATIO_FLOOR = 1 << 20  # members inflating to less than this are never refused for their ratio
_CHUNK = 1 << 20


class UnsafeArchiveError(DataError):
    """An archive member would escape the target, is a link/device, a duplicate, or too big."""


def _refuse(name: str, archive, problem: str, advice: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(f"Refusing archive member {name!r} in {archive}: {problem}. {advice}")


_MALICIOUS = "The archive is malformed or malicious; get a clean copy."


def check_member_name(
    name: str,
    *,
    archive: str | os.PathLike = "archive",
    max_depth: int = MAX_DEPTH,
    max_name_length: int = MAX_NAME_LENGTH,
) -> str:
    """Return ``name`` if it is a safe relative member path, else raise.

    Parameters
    ----------
    name : str
        Member name as stored in the archive.
    archive : path-like
        Used in the error message.
    max_depth : int, default=MAX_DEPTH
        Most folder levels (``a/b/c.txt`` has 3).
    max_name_length : int, default=MAX_NAME_LENGTH
        Longest name in UTF-8 bytes; each part of it is also capped at 255
        bytes, the longest file name file systems accept.

    Returns
    -------
    str
        ``name``, unchanged.

    Raises
    ------
    UnsafeArchiveError
        For an absolute path, a ``..`` part, a drive letter, a backslash, a
        NUL byte, or a name too deep or too long.

    Examples
    --------
    >>> check_member_name("a/b.txt")
    'a/b.txt'
    >>> try:
    ...     check_member_name("a/../../etc/passwd", archive="x.tar")
    ... except UnsafeArchiveError as err:
    ...     print(str(err)[:60])
    Refusing archive member 'a/../../etc/passwd' in x.tar: its n
    """
    problem = None
    if not name or "\x00" in name:
        problem = "its name is empty or contains a NUL byte, so it could be written outside the target folder"
    elif "\\" in name:
        problem = "its name contains a backslash, so it could be written outside the target folder"
    elif name.startswith("/"):
        problem = "its name is an absolute path, so it could be written outside the target folder"
    elif len(name) >= 2 and name[1] == ":":
        problem = "its name starts with a drive letter, so it could be written outside the target folder"
    if problem:
        raise _refuse(name, archive, problem, _MALICIOUS)
    parts = name.split("/")
    if ".." in parts:
        raise _refuse(name, archive, "its name contains '..', so it could be written outside the target folder",
                      _MALICIOUS)
    size = len(name.encode("utf-8", "surrogateescape"))
    if size > _NAME_PART_MAX or len(parts) > max_depth:  # the common short, shallow name needs no more checks
        if size > max_name_length:
            raise _refuse(name[:80] + "...", archive, f"its name is {size:,} bytes long, more than "
                          f"max_name_length={max_name_length:,}", _MALICIOUS)
        longest = max(len(p.encode("utf-8", "surrogateescape")) for p in parts)
        if longest > _NAME_PART_MAX:
            raise _refuse(name[:80] + "...", archive, f"a part of its name is {longest:,} bytes long, more than "
                          f"the {_NAME_PART_MAX} bytes file systems accept", _MALICIOUS)
        depth = sum(1 for p in parts if p not in ("", "."))
        if depth > max_depth:
            raise _refuse(name[:80] + "...", archive, f"it is {depth:,} folders deep, more than "
                          f"max_depth={max_depth:,}", _MALICIOUS)
    return name


class _Guard:
    """The toolkit's checks on each member, in archive order; raises before the member is read."""

    def __init__(self, archive, *, max_member_size=MAX_MEMBER_SIZE, max_total_size=MAX_TOTAL_SIZE,
                 max_members=MAX_MEMBERS, max_depth=MAX_DEPTH, max_name_length=MAX_NAME_LENGTH,
                 case_collisions=True):
        self.archive = archive
        self.max_member_size, self.max_total_size, self.max_members = max_member_size, max_total_size, max_members
        self.max_depth, self.max_name_length = max_depth, max_name_length
        self.case_collisions = case_collisions
        self.count = self.total = 0
        self._seen: dict[str, tuple[str, bool]] = {}  # key -> (name as stored, is a folder)
        self._folded: dict[str, str] = {}
        self._files: dict[str, str] = {}  # extracting: key -> name as stored, of the files
        self._folders: set[str] = set()  # extracting: the folders, listed or implied by a member's name

    def count_member(self) -> None:
        """Count one more member; past ``max_members`` always raise (never skipped)."""
        self.count += 1
        if self.count > self.max_members:  # while streaming: a flood stops here, not at its end
            raise UnsafeArchiveError(
                f"Archive {self.archive} has more than max_members={self.max_members:,} members; stopped reading "
                "(a member flood?). Pass a larger max_members if you trust the archive."
            )

    def check(self, name: str, kind: str, size: int, link: str = "") -> None:
        """Count the member and check it; ``kind``: "file", "dir", "symlink", "hardlink" or "special"."""
        self.count_member()
        self.check_member(name, kind, size, link)

    def check_member(self, name: str, kind: str, size: int, link: str = "") -> None:
        """The checks of one member that ``on_unsafe="skip"`` may skip."""
        check_member_name(name, archive=self.archive, max_depth=self.max_depth, max_name_length=self.max_name_length)
        if kind in ("symlink", "hardlink"):
            what = "symbolic link" if kind == "symlink" else "hard link"
            raise _refuse(name, self.archive, f"it is a {what} (to {link!r})",
                          "toolkit does not follow links inside archives.")
        if kind == "special":
            raise _refuse(name, self.archive, "it is a device, FIFO or other special file",
                          "Only regular files and folders are allowed.")
        if kind == "file" and size > self.max_member_size:
            raise _refuse(name, self.archive, f"it declares {size:,} bytes, more than "
                          f"max_member_size={self.max_member_size:,}", "Raise the cap if you trust the archive.")
        key = name.strip("/")
        if "//" in key or key.startswith("./") or "/./" in key or key.endswith("/."):
            key = "/".join(p for p in key.split("/") if p not in ("", "."))
        earlier = self._seen.get(key)
        if earlier is not None and not (earlier[1] and kind == "dir"):  # a folder may be listed twice
            raise _refuse(name, self.archive, f"the name {earlier[0]!r} appears twice, so one would silently "
                          "replace the other", _MALICIOUS)
        self._seen[key] = (name, kind == "dir")
        if self.case_collisions:
            folded = key.casefold()
            other = self._folded.setdefault(folded, key)
            if other != key:
                raise _refuse(name, self.archive, f"it differs from {other!r} only in case, and the two would be "
                              "one file on macOS and Windows", _MALICIOUS)
            self._check_file_folder(name, key, kind)
        if kind == "file":
            self.total += size
            if self.total > self.max_total_size:
                raise UnsafeArchiveError(
                    f"Archive {self.archive} declares more than max_total_size={self.max_total_size:,} bytes in "
                    "total; stopped (decompression bomb?). Raise the cap if you trust the archive."
                )

    def _check_file_folder(self, name: str, key: str, kind: str) -> None:
        """Refuse a name that is both a file and a folder: ``a`` a file and ``a/b`` a member (either order).

        Extracting it would fail half-way with a bare "Not a directory" or "Is a
        directory" naming the temporary folder; checked here, a zip archive is
        refused before anything is written, a tar one before that member.
        """
        parents = []
        end = key.rfind("/")
        while end > 0 and key[:end] not in self._folders:  # a known folder's parents are known too
            prefix = key[:end]
            if prefix in self._files:
                raise _refuse(name, self.archive, f"it lies inside {self._files[prefix]!r}, which the archive "
                              "holds as a file, and a name cannot be both a file and a folder", _MALICIOUS)
            parents.append(prefix)
            end = key.rfind("/", 0, end)
        if kind != "dir" and key in self._folders:
            raise _refuse(name, self.archive, "it is a file, but other members of the archive lie inside a folder "
                          "of that name, and a name cannot be both a file and a folder", _MALICIOUS)
        self._folders.update(parents)
        if kind == "dir":
            self._folders.add(key)
        else:
            self._files[key] = name


def _tar_kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hardlink"
    if member.isdir():
        return "dir"
    return "file" if member.isfile() else "special"


class _Progress(io.RawIOBase):
    """A read-only file that reports the bytes read to ``update``."""

    def __init__(self, fh, update):
        self._fh, self._update = fh, update

    def readable(self):
        return True

    def readinto(self, buffer):
        n = self._fh.readinto(buffer)
        if n:
            self._update(n)
        return n


#: What a corrupt or truncated compressed tar stream raises (BadGzipFile is an OSError).
_CORRUPT = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)
_TAR_ERRORS = (*_CORRUPT, OSError)
_COMPRESSIONS = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "lzma"))


def _decompressed(fh, head: bytes):
    """The archive's tar stream: ``fh`` itself, or a gzip/bz2/xz reader over it.

    The standard library's readers check what ``tarfile``'s own stream mode
    does not: a gzip or xz stream cut short, and the gzip CRC and length.
    """
    for magic, module in _COMPRESSIONS:
        if head.startswith(magic):
            if module == "gzip":
                return gzip.GzipFile(fileobj=fh, mode="rb")
            if module == "bz2":
                return bz2.BZ2File(fh)
            return lzma.LZMAFile(fh)
    return fh


def _expand(path):
    """``path`` with a leading ``~`` as the home folder (as the data and cache folders); file objects as they are."""
    return Path(path).expanduser() if isinstance(path, (str, os.PathLike)) else path


def _stream_tar(path, guard: _Guard, on_unsafe: str = "raise", progress: bool = False):
    """Yield ``(tar, member)`` for each checked member of a tar archive, streaming it once.

    :mod:`tarfile` in stream mode (``"r|"``) over the decompressed stream.
    Low-level errors become :class:`DataError` naming the archive; the caller
    reads or extracts the current member before asking for the next one.
    """
    try:
        raw = open(_expand(path), "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError as err:
        raise DataError(f"Archive {path} does not exist.") from err
    except OSError as err:
        raise DataError(f"Cannot read {path}: {err}.") from err
    bar = None
    try:
        head = raw.read(6)
        raw.seek(0)
        fh = raw
        if progress:  # tqdm.auto: a widget in a notebook, as the toolkit's other bars
            from tqdm.auto import tqdm

            bar = tqdm(total=os.fstat(raw.fileno()).st_size, unit="B", unit_scale=True, desc=Path(path).name)
            fh = io.BufferedReader(_Progress(raw, bar.update), buffer_size=_CHUNK)
        stream = _decompressed(fh, head)
        try:
            tar = tarfile.open(fileobj=stream, mode="r|")
        except _TAR_ERRORS as err:
            raise DataError(f"Cannot read {path} as a tar archive: {err}. Is the file complete?") from err
        with tar:
            while True:
                try:
                    member = tar.next()
                    if member is None:
                        while stream.read(_CHUNK):  # the rest of the compressed stream: is it whole?
                            pass
                except _TAR_ERRORS as err:
                    raise DataError(
                        f"Tar archive {path} is corrupt or truncated after {guard.count:,} members ({err}). "
                        "Download it again."
                    ) from err
                if member is None:
                    return
                tar.members = []  # stream mode still keeps every TarInfo; nothing here looks back
                guard.count_member()
                try:
                    guard.check_member(member.name, _tar_kind(member), member.size, member.linkname)
                except UnsafeArchiveError:
                    if on_unsafe == "raise":
                        raise
                    logger.warning("Skipping unsafe member %r of %s", member.name, path)
                    continue
                yield tar, member
    finally:
        raw.close()
        if bar is not None:
            bar.close()


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, path) -> bytes:
    try:
        return tar.extractfile(member).read()
    except _TAR_ERRORS as err:
        raise DataError(f"Tar archive {path} is truncated inside member {member.name!r} ({err}). "
                        "Download it again.") from err


def iter_tar_files(
    path: str | os.PathLike,
    *,
    select: Callable[[str], bool] | None = None,
    max_member_size: int = MAX_MEMBER_SIZE,
    max_members: int = MAX_MEMBERS,
    max_depth: int = MAX_DEPTH,
    max_name_length: int = MAX_NAME_LENGTH,
    on_unsafe: str = "raise",
    progress: bool = False,
) -> Iterator[tuple[str, bytes]]:
    """Stream the regular files of a tar archive as ``(name, content)`` pairs.

    The archive is read once, front to back, with :mod:`tarfile` in stream
    mode; nothing is extracted, and only members accepted by ``select`` are
    read into memory.

    Parameters
    ----------
    path : path-like
        The tar archive (``.tar``, ``.tar.gz``, ``.tgz``, ``.tar.bz2``, ``.tar.xz``).
    select : callable, optional
        ``select(name) -> bool``; members for which it is False are skipped
        without being read.
    max_member_size : int, default=MAX_MEMBER_SIZE
        Largest member (bytes).
    max_members : int, default=MAX_MEMBERS
        Most members looked at; reading stops at the first one beyond.
    max_depth, max_name_length : int
        Caps on member names, see :func:`check_member_name`.
    on_unsafe : {"raise", "skip"}
        What to do with an unsafe member (see the module docstring): raise
        :class:`UnsafeArchiveError`, or log a warning and skip it. The member
        count cap always raises.
    progress : bool, default=False
        Show a tqdm bar over the archive's (compressed) bytes.

    Yields
    ------
    name : str
    content : bytes

    Raises
    ------
    UnsafeArchiveError
    DataError
        When the file is missing or not a readable tar archive.

    Examples
    --------
    >>> import io, os, tarfile, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "t.tar.gz")
    >>> with tarfile.open(path, "w:gz") as tar:
    ...     info = tarfile.TarInfo("docs/a.txt"); info.size = 2
    ...     tar.addfile(info, io.BytesIO(b"hi"))
    >>> list(iter_tar_files(path))
    [('docs/a.txt', b'hi')]
    """
    if on_unsafe not in ("raise", "skip"):
        raise ValueError(f"on_unsafe must be 'raise' or 'skip', got {on_unsafe!r}.")
    guard = _Guard(path, max_member_size=max_member_size, max_total_size=float("inf"), max_members=max_members,
                   max_depth=max_depth, max_name_length=max_name_length, case_collisions=False)
    for tar, member in _stream_tar(path, guard, on_unsafe, progress):
        if member.isfile() and (select is None or select(member.name)):
            yield member.name, _read_member(tar, member, path)


def _disk_error(err: OSError, target: Path, path) -> DataError:
    if err.errno in NO_SPACE_ERRNOS:  # (no EDQUOT on Windows)
        return DataError(f"No space left on the disk of {target.parent} while extracting {path} ({err}). "
                         "Free some space or extract elsewhere; nothing was left behind.")
    return DataError(f"Cannot extract {path} into {target}: {err}.")


def extract_tar(
    path: str | os.PathLike,
    target: str | os.PathLike,
    *,
    select: Callable[[str], bool] | None = None,
    max_member_size: int = MAX_MEMBER_SIZE,
    max_total_size: int = MAX_TOTAL_SIZE,
    max_members: int = MAX_MEMBERS,
    max_depth: int = MAX_DEPTH,
    max_name_length: int = MAX_NAME_LENGTH,
) -> list[Path]:
    """Extract a tar archive into the folder ``target``, all or nothing.

    The archive is streamed once. Each member is checked (see the module
    docstring) before it is written, then extracted with :mod:`tarfile`'s
    ``data`` filter into a temporary folder beside ``target``; that folder
    replaces ``target`` only when the whole archive succeeded. An unsafe
    member, a corrupt archive, a full disk or an interrupt leaves ``target``
    as it was (missing, or its older version), with no temporary debris.

    Parameters
    ----------
    path : path-like
    target : path-like
        Folder to create. An existing folder is replaced as a whole, so
        files of an older version never mix with the new one.
    select : callable, optional
        ``select(name) -> bool`` to extract only some members (all are checked).
    max_member_size, max_total_size, max_members : int
        Caps against decompression bombs and member floods.
    max_depth, max_name_length : int
        Caps on member names, see :func:`check_member_name`.

    Returns
    -------
    list of pathlib.Path
        The files written, under ``target``.

    Raises
    ------
    UnsafeArchiveError
    DataError

    Examples
    --------
    >>> import io, os, tarfile, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "t.tar.gz")
    >>> with tarfile.open(path, "w:gz") as tar:
    ...     info = tarfile.TarInfo("docs/a.txt"); info.size = 2
    ...     tar.addfile(info, io.BytesIO(b"hi"))
    >>> [p.name for p in extract_tar(path, os.path.join(folder, "out"))]
    ['a.txt']
    """
    target = Path(target).expanduser()
    guard = _Guard(path, max_member_size=max_member_size, max_total_size=max_total_size, max_members=max_members,
                   max_depth=max_depth, max_name_length=max_name_length)
    names = []
    try:
        with atomic_output(target, directory=True) as tmp:
            for tar, member in _stream_tar(path, guard):
                if select is not None and not select(member.name):
                    continue
                if member.isdir():
                    (tmp / member.name).mkdir(parents=True, exist_ok=True)  # no modes from the archive on folders
                    continue
                try:
                    tar.extract(member, tmp, set_attrs=True, filter="data")
                except tarfile.FilterError as err:  # the standard filter's own refusal, as a second line
                    raise _refuse(member.name, path, str(err), _MALICIOUS) from err
                except _CORRUPT as err:
                    raise DataError(f"Tar archive {path} is truncated inside member {member.name!r} ({err}). "
                                    "Download it again.") from err
                names.append(member.name)
    except OSError as err:
        raise _disk_error(err, target, path) from err
    return [target / name for name in names]


# --------------------------------------------------------------------------- zip


def _zip_kind(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        return "symlink"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: no type recorded (DOS, writestr)
        return "special"
    return "dir" if info.is_dir() else "file"


def _zip_cap(info: zipfile.ZipInfo, max_member_size: int, max_ratio: float) -> int:
    """Most bytes ``info`` may inflate to: its size cap, and its compressed size times ``max_ratio``."""
    return min(max_member_size, max(_RATIO_FLOOR, int(info.compress_size * max_ratio)))


def _check_zip_ratio(info: zipfile.ZipInfo, archive, max_ratio: float) -> None:
    if info.file_size > max(_RATIO_FLOOR, info.compress_size * max_ratio):
        raise _refuse(info.filename, archive, f"it declares {info.file_size:,} bytes from "
                      f"{info.compress_size:,} compressed, a ratio above max_ratio={max_ratio:g}",
                      "It is probably a decompression bomb; raise max_ratio if you trust the archive.")


def _open_zip(path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(_expand(path))
    except FileNotFoundError as err:
        raise DataError(f"Archive {path} does not exist.") from err
    except (zipfile.BadZipFile, OSError) as err:
        raise DataError(f"Cannot read {path} as a zip archive: {err}. Is the file complete?") from err


_ZIP_ERRORS = (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError)


class _CappedReader(io.RawIOBase):
    """A read-only stream over a zip member: stops at a size cap, turns zipfile's errors into DataError."""

    def __init__(self, fh, name, archive, cap, declared, on_close=None):
        self._fh, self._name, self._archive, self._cap, self._on_close = fh, name, archive, cap, on_close
        self._declared = declared
        self._read = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        try:
            data = self._fh.read(len(buffer))
        except _ZIP_ERRORS as err:
            raise DataError(
                f"Archive member {self._name!r} in {self._archive} is corrupt: {err} (its header may give a wrong "
                "size or checksum). Get a clean copy of the archive."
            ) from err
        self._read += len(data)
        if not data and len(buffer) and self._read != self._declared:
            raise DataError(
                f"Archive member {self._name!r} in {self._archive} is corrupt: its header gives "
                f"{self._declared:,} bytes but it holds {self._read:,} (its header may give a wrong size or "
                "checksum). Get a clean copy of the archive."
            )
        if self._read > self._cap:
            raise UnsafeArchiveError(
                f"Archive member {self._name!r} in {self._archive} inflates beyond {self._cap:,} bytes "
                "(max_member_size, or its compressed size times max_ratio); stopped (decompression bomb, or a "
                "header that understates the size?)."
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self):
        if not self.closed:
            self._fh.close()
            if self._on_close is not None:
                self._on_close()
        super().close()


def open_zip_member(
    path: str | os.PathLike,
    member: str,
    *,
    max_member_size: int = MAX_MEMBER_SIZE,
    max_ratio: float = MAX_RATIO,
) -> io.BufferedReader:
    """Open one member of a zip archive for streaming binary reading.

    Parameters
    ----------
    path : path-like
        The zip file.
    member : str
        Member name, e.g. ``"glove.6B.50d.txt"``.
    max_member_size : int, default=MAX_MEMBER_SIZE
        Reading stops with an error past this many bytes.
    max_ratio : float, default=MAX_RATIO
        Reading also stops past the member's compressed size times this
        (members under 1 MiB are exempt).

    Returns
    -------
    io.BufferedReader
        Close it (or use ``with``) to close the archive too.

    Raises
    ------
    DataError
        When the member is missing (the message lists the members) or corrupt.
    UnsafeArchiveError
        When the member is a link/special file, too big or inflates too much.

    Examples
    --------
    >>> import os, tempfile, zipfile
    >>> path = os.path.join(tempfile.mkdtemp(), "v.zip")
    >>> with zipfile.ZipFile(path, "w") as zf:
    ...     zf.writestr("vectors.txt", "the 0.1 0.2\\n")
    >>> with open_zip_member(path, "vectors.txt") as fh:
    ...     fh.readline()
    b'the 0.1 0.2\\n'
    """
    zf = _open_zip(path)
    try:
        try:
            info = zf.getinfo(member)
        except KeyError as err:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            shown = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
            raise DataError(f"Zip archive {path} has no member {member!r}. Members: {shown}.") from err
        _Guard(path, max_member_size=max_member_size).check(info.filename, _zip_kind(info), info.file_size)
        _check_zip_ratio(info, path, max_ratio)
        try:
            fh = zf.open(info)
        except _ZIP_ERRORS as err:
            raise DataError(f"Archive member {member!r} in {path} is corrupt: {err}. Get a clean copy.") from err
    except BaseException:
        zf.close()
        raise
    cap = _zip_cap(info, max_member_size, max_ratio)
    reader = _CappedReader(fh, member, path, cap, info.file_size, on_close=zf.close)
    return io.BufferedReader(reader, buffer_size=_CHUNK)


def extract_zip(
    path: str | os.PathLike,
    target: str | os.PathLike,
    *,
    select: Callable[[str], bool] | None = None,
    max_member_size: int = MAX_MEMBER_SIZE,
    max_total_size: int = MAX_TOTAL_SIZE,
    max_members: int = MAX_MEMBERS,
    max_depth: int = MAX_DEPTH,
    max_name_length: int = MAX_NAME_LENGTH,
    max_ratio: float = MAX_RATIO,
) -> list[Path]:
    """Extract a zip archive into the folder ``target``, all or nothing (as :func:`extract_tar`).

    Every member is checked from the central directory before anything is
    written; the bytes actually inflated are counted too, so a member whose
    header understates its size is stopped at its cap.

    Parameters
    ----------
    path, target, select, max_member_size, max_total_size, max_members, max_depth, max_name_length
        As in :func:`extract_tar`.
    max_ratio : float, default=MAX_RATIO
        Largest compression ratio of a member (members under 1 MiB are exempt).

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    UnsafeArchiveError
    DataError

    Examples
    --------
    >>> import os, tempfile, zipfile
    >>> folder = tempfile.mkdtemp()
    >>> with zipfile.ZipFile(os.path.join(folder, "v.zip"), "w") as zf:
    ...     zf.writestr("d/vectors.txt", "the 0.1 0.2\\n")
    >>> [p.name for p in extract_zip(os.path.join(folder, "v.zip"), os.path.join(folder, "out"))]
    ['vectors.txt']
    """
    target = Path(target).expanduser()
    guard = _Guard(path, max_member_size=max_member_size, max_total_size=max_total_size, max_members=max_members,
                   max_depth=max_depth, max_name_length=max_name_length)
    with _open_zip(path) as zf:
        infos = zf.infolist()
        for info in infos:  # the central directory: check everything before writing anything
            guard.check(info.filename, _zip_kind(info), info.file_size)
            if not info.is_dir():
                _check_zip_ratio(info, path, max_ratio)
        names = []
        try:
            with atomic_output(target, directory=True) as tmp:
                for info in infos:
                    if select is not None and not select(info.filename):
                        continue
                    dest = tmp / info.filename
                    if info.is_dir():
                        dest.mkdir(parents=True, exist_ok=True)
                        continue
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        src = zf.open(info)
                    except _ZIP_ERRORS as err:
                        raise DataError(f"Archive member {info.filename!r} in {path} is corrupt: {err}. "
                                        "Get a clean copy.") from err
                    cap = _zip_cap(info, max_member_size, max_ratio)
                    with _CappedReader(src, info.filename, path, cap, info.file_size) as reader, open(dest, "wb") as out:
                        shutil.copyfileobj(reader, out, _CHUNK)
                    names.append(info.filename)
        except OSError as err:
            raise _disk_error(err, target, path) from err
    return [target / name for name in names]
