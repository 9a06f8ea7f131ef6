"""Safe reading and extraction of tar and zip archives.

Python 3.11's ``tarfile`` has no extraction filter by default, and pooch's
``Untar`` writes a ``../x`` member outside its target there. Everything in
toolkit that opens an archive goes through this module, which

- refuses member names that are absolute, contain ``..``, a drive letter,
  a backslash or a NUL byte;
- refuses links (symbolic and hard), devices, FIFOs and other special members;
- never writes outside the target folder (checked on the resolved path, so an
  existing symlink inside the target cannot redirect a write);
- caps the size of each member, the total size and the number of members
  (decompression bombs), counting the bytes actually written, not only the
  sizes the headers declare.

Examples
--------
>>> import io, tarfile
>>> from toolkit.data.archives import check_member_name
>>> check_member_name("aclImdb/train/pos/0_9.txt")
'aclImdb/train/pos/0_9.txt'
"""

from __future__ import annotations

import io
import logging
import os
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from ..exceptions import DataError

__all__ = [
    "UnsafeArchiveError",
    "MAX_MEMBER_SIZE",
    "MAX_TOTAL_SIZE",
    "MAX_MEMBERS",
    "check_member_name",
    "iter_tar_files",
    "extract_tar",
    "open_zip_member",
    "extract_zip",
]

logger = logging.getLogger(__name__)

#: Default cap on one member's uncompressed size (bytes).
MAX_MEMBER_SIZE = 8 * 1024**3
#: Default cap on the total uncompressed size of an extraction (bytes).
MAX_TOTAL_SIZE = 32 * 1024**3
#: Default cap on the number of members.
MAX_MEMBERS = 1_000_000
_CHUNK = 1 << 20
_MAX_META = 1 << 20  # largest long-name / pax header accepted


class UnsafeArchiveError(DataError):
    """An archive member would escape the target, is a link/device, or is too big."""


def check_member_name(name: str, *, archive: str | os.PathLike = "archive") -> str:
    """Return ``name`` if it is a safe relative member path, else raise.

    Parameters
    ----------
    name : str
        Member name as stored in the archive.
    archive : path-like
        Used in the error message.

    Raises
    ------
    UnsafeArchiveError
        For an absolute path, a ``..`` component, a drive letter, a backslash
        or a NUL byte.
    """
    problem = None
    if not name or "\x00" in name:
        problem = "is empty or contains a NUL byte"
    elif "\\" in name:
        problem = "contains a backslash"
    elif name.startswith("/"):
        problem = "is an absolute path"
    elif len(name) >= 2 and name[1] == ":":
        problem = "starts with a drive letter"
    elif ".." in name.split("/"):
        problem = "contains '..'"
    if problem:
        raise UnsafeArchiveError(
            f"Refusing archive member {name!r} in {archive}: its name {problem}, so it could be "
            "written outside the target folder. The archive is malformed or malicious; get a clean copy."
        )
    return name


def _check_tar_member(member: tarfile.TarInfo, archive, max_member_size: int) -> None:
    check_member_name(member.name, archive=archive)
    if member.issym() or member.islnk():
        kind = "symbolic link" if member.issym() else "hard link"
        raise UnsafeArchiveError(
            f"Refusing archive member {member.name!r} in {archive}: it is a {kind} "
            f"(to {member.linkname!r}); toolkit does not follow links inside archives."
        )
    if not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(
            f"Refusing archive member {member.name!r} in {archive}: it is a device, FIFO or other "
            "special file; only regular files and folders are allowed."
        )
    if member.isfile() and member.size > max_member_size:
        raise UnsafeArchiveError(
            f"Refusing archive member {member.name!r} in {archive}: it declares {member.size:,} "
            f"bytes, more than max_member_size={max_member_size:,}. Raise the cap if you trust it."
        )


class _Counter:
    """Counts bytes read and enforces the member and total caps."""

    def __init__(self, archive, max_member_size, max_total_size):
        self.archive = archive
        self.max_member_size = max_member_size
        self.max_total_size = max_total_size
        self.total = 0

    def copy(self, src, dst, name: str) -> int:
        written = 0
        while True:
            chunk = src.read(_CHUNK)
            if not chunk:
                return written
            written += len(chunk)
            self.total += len(chunk)
            if written > self.max_member_size:
                raise UnsafeArchiveError(
                    f"Archive member {name!r} in {self.archive} inflates beyond "
                    f"max_member_size={self.max_member_size:,} bytes; stopped (decompression bomb?)."
                )
            if self.total > self.max_total_size:
                raise UnsafeArchiveError(
                    f"Archive {self.archive} inflates beyond max_total_size={self.max_total_size:,} "
                    "bytes; stopped (decompression bomb?)."
                )
            dst.write(chunk)


def iter_tar_files(
    path: str | os.PathLike,
    *,
    select: Callable[[str], bool] | None = None,
    max_member_size: int = MAX_MEMBER_SIZE,
    max_members: int = MAX_MEMBERS,
    on_unsafe: str = "raise",
    progress: bool = False,
) -> Iterator[tuple[str, bytes]]:
    """Stream the regular files of a tar archive as ``(name, content)`` pairs.

    The archive is read once, front to back, nothing is extracted, and only
    members accepted by ``select`` are read into memory. Plain and gzip tar
    archives go through a fast streaming header parser (ustar, GNU long names,
    pax); bz2 and xz through :mod:`tarfile` in stream mode.

    Parameters
    ----------
    path : path-like
        The tar archive (``.tar``, ``.tar.gz``, ``.tgz``...).
    select : callable, optional
        ``select(name) -> bool``; members for which it is False are skipped
        without being read.
    max_member_size : int
        Largest member read (bytes).
    max_members : int
        Most members looked at.
    on_unsafe : {"raise", "skip"}
        What to do with an unsafe member (absolute, ``..``, link, device,
        too big): raise :class:`UnsafeArchiveError` or log a warning and skip it.
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
    """
    if on_unsafe not in ("raise", "skip"):
        raise ValueError(f"on_unsafe must be 'raise' or 'skip', got {on_unsafe!r}.")
    bar = None
    if progress:
        from tqdm import tqdm

        total = os.path.getsize(path) if os.path.isfile(path) else None
        bar = tqdm(total=total, unit="B", unit_scale=True, desc=Path(path).name)
    try:
        yield from _checked(path, _members(path, on_read=None if bar is None else bar.update), select,
                            max_member_size, max_members, on_unsafe)
    finally:
        if bar is not None:
            bar.close()


def _checked(path, members, select, max_member_size, max_members, on_unsafe):
    count = 0
    for member, open_member in members:
        count += 1
        if count > max_members:
            raise UnsafeArchiveError(f"Archive {path} has more than max_members={max_members:,} members.")
        try:
            _check_tar_member(member, path, max_member_size)
        except UnsafeArchiveError:
            if on_unsafe == "raise":
                raise
            logger.warning("Skipping unsafe member %r of %s", member.name, path)
            continue
        if member.isdir() or (select is not None and not select(member.name)):
            continue
        with open_member() as fh:
            yield member.name, fh.read()


_TAR_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error)


class _TarfileMember:
    """A tarfile member stream whose low-level errors become DataError."""

    def __init__(self, tar, member, path):
        self._fh, self._name, self._path = tar.extractfile(member), member.name, path

    def read(self, n=-1):
        try:
            return self._fh.read(n)
        except _TAR_ERRORS as err:
            raise DataError(f"Tar archive {self._path} is truncated inside member {self._name!r}: {err}.") from err

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


def _tarfile_members(path):
    """(TarInfo, open_member) pairs from the standard library (bz2/xz archives)."""
    try:
        tar = tarfile.open(path, "r|*")
    except _TAR_ERRORS as err:
        raise DataError(f"Cannot read {path} as a tar archive: {err}. Is the file complete?") from err
    with tar:
        count = 0
        while True:
            try:
                member = tar.next()
            except _TAR_ERRORS as err:
                raise DataError(
                    f"Tar archive {path} is corrupt or truncated after {count} members: {err}. Download it again."
                ) from err
            if member is None:
                return
            count += 1
            yield member, lambda member=member: _TarfileMember(tar, member, path)


class _Blocks:
    """Exact-size reads from a (possibly gzip-compressed) tar stream, decompressing 1 MiB at a time."""

    def __init__(self, fh, gzipped: bool, path, on_read=None):
        self._fh = fh
        self._path = path
        self._on_read = on_read
        self._z = zlib.decompressobj(31) if gzipped else None
        self._buf = b""
        self._pos = 0
        self.where = "(start)"  # for error messages

    def _more(self) -> bool:
        raw = self._fh.read(_CHUNK)
        if raw and self._on_read is not None:
            self._on_read(len(raw))
        try:
            if self._z is None:
                out = raw
            elif not raw:
                out = self._z.flush()
                if not out and not self._z.eof:
                    raise DataError(
                        f"Archive {self._path} ends in the middle of its gzip stream ({self.where}): "
                        "the file is truncated. Download it again."
                    )
            else:
                out = self._z.decompress(raw)
                while self._z.eof and self._z.unused_data:  # concatenated gzip members
                    rest = self._z.unused_data
                    self._z = zlib.decompressobj(31)
                    out += self._z.decompress(rest)
        except zlib.error as err:
            raise DataError(f"Archive {self._path} is corrupt (gzip error {self.where}): {err}.") from err
        if not out:
            return False
        self._buf = self._buf[self._pos :] + out
        self._pos = 0
        return True

    def _truncated(self) -> DataError:
        return DataError(f"Tar archive {self._path} is truncated {self.where}. Download it again.")

    def read(self, n: int) -> bytes:
        """Exactly ``n`` bytes (DataError at a premature end)."""
        while len(self._buf) - self._pos < n:
            if not self._more():
                raise self._truncated()
        data = self._buf[self._pos : self._pos + n]
        self._pos += n
        return data

    def header(self) -> bytes | None:
        """The next 512-byte header, or None at a clean end of file."""
        while len(self._buf) - self._pos < 512:
            if not self._more():
                if len(self._buf) == self._pos:
                    return None
                raise self._truncated()
        return self.read(512)

    def skip(self, n: int) -> None:
        """Discard ``n`` bytes without holding them all in memory."""
        while n > 0:
            if self._pos >= len(self._buf) and not self._more():
                raise self._truncated()
            take = min(n, len(self._buf) - self._pos)
            self._pos += take
            n -= take


class _FastMember:
    """A file-like view of one member's data in a :class:`_Blocks` stream."""

    def __init__(self, blocks: _Blocks, size: int, padded: int):
        self._blocks, self._left, self._pad = blocks, size, padded - size

    def read(self, n: int = -1) -> bytes:
        n = self._left if n is None or n < 0 else min(n, self._left)
        if n == 0:
            return b""
        data = self._blocks.read(n)
        self._left -= n
        return data

    def finish(self) -> None:
        self._blocks.skip(self._left + self._pad)
        self._left = self._pad = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def _octal(field: bytes, path, name) -> int:
    if field[:1] and field[0] & 0x80:  # GNU base-256
        value = int.from_bytes(field[1:], "big")
        return -value if field[0] & 0x40 else value
    text = field.split(b"\0", 1)[0].strip()
    try:
        return int(text, 8) if text else 0
    except ValueError as err:
        raise DataError(f"Tar archive {path} has a corrupt header near member {name!r}.") from err


def _pax_records(data: bytes, path, where) -> dict[str, str]:
    records, pos = {}, 0
    while pos < len(data):
        space = data.find(b" ", pos)
        try:
            length = int(data[pos:space]) if space > pos else 0
        except ValueError:
            length = 0
        if length <= 0 or pos + length > len(data):
            if data[pos:].strip(b"\0\n "):
                raise DataError(f"Tar archive {path} has a corrupt pax header {where}.")
            break
        key, _, value = data[space + 1 : pos + length - 1].partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


_TYPES = {b"0": tarfile.REGTYPE, b"\0": tarfile.AREGTYPE, b"7": tarfile.CONTTYPE, b"5": tarfile.DIRTYPE,
          b"1": tarfile.LNKTYPE, b"2": tarfile.SYMTYPE, b"3": tarfile.CHRTYPE, b"4": tarfile.BLKTYPE,
          b"6": tarfile.FIFOTYPE}
_NO_DATA = {tarfile.DIRTYPE, tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE}


def _fast_members(path, *, gzipped: bool, on_read=None):
    """(TarInfo, open_member) pairs parsed straight from the stream (ustar, GNU long names, pax).

    About 3x faster than ``tarfile`` on archives of many small files, because
    it decompresses in 1 MiB chunks and builds no member list. Members that
    are not read are skipped chunk by chunk, never held in memory.
    """
    with open(path, "rb") as fh:
        blocks = _Blocks(fh, gzipped, path, on_read)
        long_name = long_link = None
        pax: dict[str, str] = {}
        while True:
            header = blocks.header()
            if header is None:
                if blocks.where == "(start)":
                    raise DataError(f"Cannot read {path} as a tar archive: it is empty.")
                return  # end of file without the zero blocks: tolerated, like tarfile
            if header == bytes(512):
                return
            where = blocks.where
            stored = _octal(header[148:156], path, where)
            if stored != sum(header[:148]) + 256 + sum(header[156:]):
                raise DataError(f"Tar archive {path} has a corrupt header {where} (checksum mismatch).")
            typeflag = header[156:157]
            size = _octal(header[124:136], path, where)
            if typeflag in (b"L", b"K", b"x", b"g"):
                if size > _MAX_META:
                    raise UnsafeArchiveError(f"Tar archive {path} has a {size:,}-byte extended header {where}.")
                data = blocks.read((size + 511) & ~511)[:size]
                if typeflag == b"L":
                    long_name = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
                elif typeflag == b"K":
                    long_link = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
                elif typeflag == b"x":
                    pax = _pax_records(data, path, where)
                continue
            name = header[0:100].split(b"\0", 1)[0]
            if header[257:263] == b"ustar\x00" and header[345:346] != b"\0":
                name = header[345:500].split(b"\0", 1)[0] + b"/" + name
            info = tarfile.TarInfo(long_name or pax.get("path") or name.decode("utf-8", "surrogateescape"))
            info.type = _TYPES.get(typeflag, typeflag)
            try:
                info.size = int(pax["size"]) if "size" in pax else size
            except ValueError as err:
                raise DataError(f"Tar archive {path} has a corrupt pax size {where}.") from err
            info.linkname = long_link or pax.get("linkpath") or header[157:257].split(b"\0", 1)[0].decode(
                "utf-8", "surrogateescape")
            if info.type in _NO_DATA:  # tarfile stores no data for these either
                info.size = 0
            if info.size < 0:
                raise DataError(f"Tar archive {path} has a negative member size {where}.")
            long_name = long_link = None
            pax = {}
            blocks.where = f"inside member {info.name!r}"
            member = _FastMember(blocks, info.size, (info.size + 511) & ~511)
            yield info, lambda member=member: member
            member.finish()
            blocks.where = f"after member {info.name!r}"


def _safe_target(root: Path, name: str, archive) -> Path:
    dest = (root / name).resolve()
    if dest != root and root not in dest.parents:
        raise UnsafeArchiveError(
            f"Refusing archive member {name!r} in {archive}: it would be written to {dest}, "
            f"outside the target folder {root}."
        )
    return dest


def _write_member(src, dest: Path, counter: _Counter, name: str) -> None:
    tmp = dest.with_name(f".{dest.name}.part{os.getpid()}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        with os.fdopen(os.open(tmp, flags, 0o644), "wb") as out:
            counter.copy(src, out, name)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def extract_tar(
    path: str | os.PathLike,
    target: str | os.PathLike,
    *,
    select: Callable[[str], bool] | None = None,
    max_member_size: int = MAX_MEMBER_SIZE,
    max_total_size: int = MAX_TOTAL_SIZE,
    max_members: int = MAX_MEMBERS,
) -> list[Path]:
    """Extract a tar archive into ``target`` safely.

    The whole archive is checked before anything is written: one unsafe member
    (see the module docstring) and nothing is extracted. Files are written
    through a temporary name and renamed, so a failure never leaves a partial
    file under its real name.

    Parameters
    ----------
    path : path-like
    target : path-like
        Folder to extract into (created if missing).
    select : callable, optional
        ``select(name) -> bool`` to extract only some members.
    max_member_size, max_total_size, max_members : int
        Caps against decompression bombs.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    UnsafeArchiveError
    DataError
    """
    count = declared = 0
    for member, _ in _members(path):  # pass 1: check everything, write nothing
        _check_tar_member(member, path, max_member_size)
        count += 1
        declared += member.size if member.isfile() else 0
    _check_totals(path, count, declared, max_members, max_total_size)

    def items():  # pass 2: stream the (now known safe) archive
        for member, open_member in _members(path):
            _check_tar_member(member, path, max_member_size)
            yield member.name, member.isdir(), open_member

    return _write_all(path, target, items(), select, _Counter(path, max_member_size, max_total_size))


def _members(path, on_read=None):
    """(TarInfo, read) pairs of a tar archive, from the fastest reader that handles it.

    ``on_read(n)`` is called with the number of archive bytes consumed (fast reader only).
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except FileNotFoundError as err:
        raise DataError(f"Archive {path} does not exist.") from err
    except OSError as err:
        raise DataError(f"Cannot read {path}: {err}.") from err
    if head[:2] == b"\x1f\x8b" or head[257:262] == b"ustar":
        return _fast_members(path, gzipped=head[:2] == b"\x1f\x8b", on_read=on_read)
    return _tarfile_members(path)


def _check_totals(path, count: int, declared: int, max_members: int, max_total_size: int) -> None:
    if count > max_members:
        raise UnsafeArchiveError(f"Archive {path} has {count:,} members, more than max_members={max_members:,}.")
    if declared > max_total_size:
        raise UnsafeArchiveError(
            f"Archive {path} declares {declared:,} bytes in total, more than max_total_size={max_total_size:,}."
        )


def _write_all(path, target, items, select, counter: _Counter) -> list[Path]:
    """Write ``(name, is_dir, open_member)`` items under ``target``; return the files written."""
    root = Path(target)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    written = []
    folders: dict[str, Path] = {"": root}  # checked parent folders (links are refused, so they stay valid)
    for name, is_dir, open_member in items:
        if select is not None and not select(name):
            continue
        if is_dir:
            _safe_target(root, name, path).mkdir(parents=True, exist_ok=True)
            continue
        parent, _, base = name.rpartition("/")
        folder = folders.get(parent)
        if folder is None:
            _safe_target(root, parent, path).mkdir(parents=True, exist_ok=True)
            folder = folders[parent] = _safe_target(root, parent, path)  # again, now that it exists
        dest = _safe_target(root, name, path) if base in ("", ".") else folder / base
        with open_member() as src:
            _write_member(src, dest, counter, name)
        written.append(dest)
    return written


def _check_zip_info(info: zipfile.ZipInfo, archive, max_member_size: int) -> None:
    check_member_name(info.filename.rstrip("/") or info.filename, archive=archive)
    mode = info.external_attr >> 16
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: no type recorded (DOS, writestr)
        kind = "symbolic link" if stat.S_ISLNK(mode) else "special file"
        raise UnsafeArchiveError(
            f"Refusing archive member {info.filename!r} in {archive}: it is a {kind}; only regular "
            "files and folders are allowed."
        )
    if info.file_size > max_member_size:
        raise UnsafeArchiveError(
            f"Refusing archive member {info.filename!r} in {archive}: it declares {info.file_size:,} "
            f"bytes, more than max_member_size={max_member_size:,}. Raise the cap if you trust it."
        )


def _open_zip(path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError as err:
        raise DataError(f"Archive {path} does not exist.") from err
    except (zipfile.BadZipFile, OSError) as err:
        raise DataError(f"Cannot read {path} as a zip archive: {err}. Is the file complete?") from err


class _CappedReader(io.RawIOBase):
    """A read-only stream over a zip member that stops at a size cap."""

    def __init__(self, zf, fh, name, archive, cap):
        self._zf, self._fh, self._name, self._archive, self._cap = zf, fh, name, archive, cap
        self._read = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self._fh.read(len(buffer))
        self._read += len(data)
        if self._read > self._cap:
            raise UnsafeArchiveError(
                f"Archive member {self._name!r} in {self._archive} inflates beyond "
                f"max_member_size={self._cap:,} bytes; stopped (decompression bomb?)."
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self):
        if not self.closed:
            self._fh.close()
            self._zf.close()
        super().close()


def open_zip_member(
    path: str | os.PathLike, member: str, *, max_member_size: int = MAX_MEMBER_SIZE
) -> io.BufferedReader:
    """Open one member of a zip archive for streaming binary reading.

    Parameters
    ----------
    path : path-like
        The zip file.
    member : str
        Member name, e.g. ``"glove.6B.50d.txt"``.
    max_member_size : int
        Reading stops with an error past this many bytes.

    Returns
    -------
    io.BufferedReader
        Close it (or use ``with``) to close the archive too.

    Raises
    ------
    DataError
        When the member is missing (the message lists the members).
    UnsafeArchiveError
        When the member is a link/special file or too big.
    """
    zf = _open_zip(path)
    try:
        try:
            info = zf.getinfo(member)
        except KeyError as err:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            shown = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
            raise DataError(f"Zip archive {path} has no member {member!r}. Members: {shown}.") from err
        _check_zip_info(info, path, max_member_size)
        fh = zf.open(info)
    except BaseException:
        zf.close()
        raise
    return io.BufferedReader(_CappedReader(zf, fh, member, path, max_member_size), buffer_size=_CHUNK)


def extract_zip(
    path: str | os.PathLike,
    target: str | os.PathLike,
    *,
    select: Callable[[str], bool] | None = None,
    max_member_size: int = MAX_MEMBER_SIZE,
    max_total_size: int = MAX_TOTAL_SIZE,
    max_members: int = MAX_MEMBERS,
) -> list[Path]:
    """Extract a zip archive into ``target`` safely (same rules as :func:`extract_tar`)."""
    with _open_zip(path) as zf:
        infos = zf.infolist()
        for info in infos:
            _check_zip_info(info, path, max_member_size)
        _check_totals(path, len(infos), sum(i.file_size for i in infos), max_members, max_total_size)
        items = ((i.filename, i.is_dir(), lambda i=i: zf.open(i)) for i in infos)
        return _write_all(path, target, items, select, _Counter(path, max_member_size, max_total_size))

