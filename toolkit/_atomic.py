"""Atomic writes: a temporary file or folder next to the target, renamed on success.

One mechanism for every output toolkit writes (run folders, plots, caches,
vocabularies, vector files), so a failed or interrupted write never leaves a
partial file under its real name.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import glob
import os
import re
import secrets
import shutil
from pathlib import Path

__all__ = ["atomic_output", "broken_link", "missing_folders", "nearest_existing_parent", "recover_moved_aside",
           "remove_created_folders", "remove_stale", "write_error", "STALE_SECONDS"]

#: Temporary files and folders older than this are debris of killed processes
#: (a live writer touches its own within seconds); :func:`remove_stale` sweeps them.
STALE_SECONDS = 6 * 3600


def remove_stale(folder, pattern: str, *, max_age: float = STALE_SECONDS) -> int:
    """Remove files and folders in ``folder`` matching ``pattern`` older than ``max_age`` seconds.

    The one clean-up of temporary debris (a ``kill -9`` during a write, a
    download cut short) for every writer of the toolkit. Entries that vanish
    or cannot be removed meanwhile are skipped: another process may own them.

    Parameters
    ----------
    folder : path-like
        Where to look (not recursive). A missing folder holds nothing.
    pattern : str
        A :meth:`pathlib.Path.glob` pattern, e.g. ``".model.*.tmp"``.
    max_age : float, default=STALE_SECONDS
        Minimum age in seconds, by modification time. A temporary of
        :func:`atomic_output` whose name says it was made on this machine
        (host, process namespace and boot) by a process that no longer
        exists is removed whatever its age: its writer was killed. One made
        elsewhere (another host sharing the folder) waits for ``max_age``.
        A folder :func:`atomic_output` moved aside (``.<name>.<pid>-<hex>.tmp-old``)
        is never removed while nothing is at ``<name>``: it is the last copy,
        which :func:`recover_moved_aside` puts back.

    Returns
    -------
    int
        How many entries were removed.

    Examples
    --------
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> open(os.path.join(folder, ".x.1.tmp"), "w").close()
    >>> os.utime(os.path.join(folder, ".x.1.tmp"), (0, 0))
    >>> remove_stale(folder, ".x.*.tmp")
    1
    """
    import time

    folder = Path(folder)
    if not folder.is_dir():
        return 0
    removed = 0
    now = time.time()
    for entry in folder.glob(pattern):
        moved = _OLD_NAME.fullmatch(entry.name)
        if moved is not None and not os.path.lexists(entry.parent / moved.group("name")):
            # a folder a writer killed between its two renames moved aside, with nothing in its place: the last
            # copy there is (".run.x.<pid>-<hex>.tmp-old" matched the sweep of "run"'s ".run.*.tmp*" too, and
            # an old model's folder is old by its time), put back by recover_moved_aside, never swept
            continue
        try:
            if now - entry.lstat().st_mtime <= max_age and not _writer_dead(entry.name):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed += 1
        except OSError:
            continue
    return removed


#: The end of the name of a folder :func:`atomic_output` moved aside while it renamed the new one into place:
#: ``.<name>.<pid>-<host tag, 6 hex><6 hex>.tmp-old``, as a temporary's (``.<name>.<pid>-<12 hex>.tmp-old``
#: before the machine was part of it, ``.<name>.<12 hex>.tmp-old`` before the process id was).
_OLD_SUFFIX = ".tmp-old"
_OLD_NAME = re.compile(r"\.(?P<name>.+)\.(?:(?P<pid>\d+)-)?(?P<host>[0-9a-f]{6})[0-9a-f]{6}"
                       + re.escape(_OLD_SUFFIX) + "$")

#: A moved-aside folder whose writer cannot be judged (its name has no process id, an older toolkit's, or it
#: was made on another machine) is put back once it is this old (by its change time, which the rename sets):
#: a live writer holds one for the time of a rename.
_UNOWNED_OLD_SECONDS = 60


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (a process of another user counts; a zombie does not).

    True where that cannot be told (Windows, where ``os.kill(pid, 0)`` would send Ctrl+C to ``pid``).
    """
    if pid <= 0:
        return False
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    try:  # a killed process its parent has not waited for yet: dead, though kill(pid, 0) finds it
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[:1] != [b"Z"]
    except OSError:
        return True


#: A temporary name of :func:`atomic_output`: ``.<name>.<pid>-<host tag, 6 hex><6 hex>.tmp[<suffix>]``
#: (``.<name>.<12 hex>.tmp[<suffix>]`` before the writer's process id was part of it: swept by age only).
_TMP_NAME = re.compile(r"\..+\.(?P<pid>\d+)-(?P<host>[0-9a-f]{6})[0-9a-f]{6}\.tmp(?:\..*)?")
_TMP_EXTRA = len("..-123456abcdef.tmp")  # what a temporary name adds to the final one, besides the process id


@functools.cache
def _host_tag() -> str:
    """6 hex digits naming this machine's process-id space: host name, pid namespace and boot.

    A process id in a temporary name is judged only where this matches: a
    folder shared by several hosts (NFS), containers (each its own pid
    namespace) or a reboot never lets one machine judge another's writers.
    """
    import hashlib
    import socket

    parts = [socket.gethostname()]
    for name in ("/proc/self/ns/pid", "/proc/sys/kernel/random/boot_id"):
        try:
            parts.append(str(os.stat(name).st_ino) if name.endswith("pid") else Path(name).read_text().strip())
        except OSError:
            parts.append("")
    return hashlib.sha256("\0".join(parts).encode("utf-8", "replace")).hexdigest()[:6]


def _writer_dead(name: str) -> bool:
    """Whether ``name`` is a temporary of :func:`atomic_output` made on this machine by a process now gone."""
    match = _TMP_NAME.fullmatch(name)
    if match is None or match.group("host") != _host_tag():
        return False
    return not _process_alive(int(match.group("pid")))


def recover_moved_aside(path) -> Path | None:
    """Put back the folder a killed :func:`atomic_output` had moved aside, when nothing is at ``path``.

    Replacing a folder takes two renames: the old one to
    ``.<name>.<pid>-<hex>.tmp-old``, then the new one onto ``path``. A writer
    killed between them (``kill -9``, a power cut) left no folder under
    ``path`` and the old one hidden, deleted by the stale sweep 6 hours later
    (or at once, by its modification time, if it had been written before
    that; and by the sweep of any other name it began with, ``.run.*.tmp*`` of
    ``run`` for ``run.x``'s): a model that had been saved was gone. The sweep
    now leaves it while nothing is at ``path``; readers and writers call this
    first: when ``path`` is missing and a sibling moved aside by a process that
    no longer exists is there, it is renamed back (the most recently moved one
    when there are several) and logged.

    A live writer's folder is left alone (it is between its two renames) for
    a minute, by its change time (then the process of that id is another
    one: ids are reused); so is one whose writer cannot be judged here: moved
    aside on another machine (host, process namespace or boot: a folder
    shared over NFS, another container), where a process id says nothing, or
    by an older toolkit. Two callers recovering at once: the
    second one's rename finds nothing and does nothing.

    Parameters
    ----------
    path : path-like
        The folder :func:`atomic_output` writes.

    Returns
    -------
    pathlib.Path or None
        The folder put back under ``path``, or None when nothing was done.
    """
    import logging
    import time

    path = _expand_home(path)
    if os.path.lexists(path):
        return None
    try:
        entries = list(path.parent.glob(f".{glob.escape(path.name)}.*{_OLD_SUFFIX}"))
    except OSError:
        return None
    candidates = []
    now = time.time()
    for entry in entries:
        match = _OLD_NAME.fullmatch(entry.name)
        if match is None or match.group("name") != path.name:
            continue
        try:
            stat = entry.lstat()
        except OSError:
            continue
        pid = match.group("pid")
        # a live writer (this process too: another thread) is between its two renames and puts the new folder
        # there next; after a minute the process of that id is another one (ids are reused), or there is none.
        # A process id is judged only on the machine that wrote it (_writer_dead's rule for temporaries)
        judged = pid is not None and match.group("host") == _host_tag()
        if (not judged or _process_alive(int(pid))) and now - stat.st_ctime < _UNOWNED_OLD_SECONDS:
            continue
        candidates.append((stat.st_ctime, entry))
    for _, entry in sorted(candidates, key=lambda item: item[0], reverse=True):
        if os.path.lexists(path):  # another process put one there meanwhile
            return None
        try:
            os.rename(entry, path)
        except OSError:  # recovered by another process meanwhile, or path appeared: theirs stands
            continue
        logging.getLogger(__name__).warning(
            "%s was missing: a process killed while it replaced it had left the previous version as %s; "
            "put it back.", path, entry.name)
        return path
    return None


def _expand_home(path) -> Path:
    """``path`` with a leading ``~`` or ``~user`` expanded, as ``Path.expanduser`` (unchanged where no home is known)."""
    path = Path(path)
    try:
        return path.expanduser()
    except RuntimeError:  # "~nosuchuser/...": a name, then
        return path


def broken_link(path) -> Path | None:
    """The symbolic link on the way to ``path`` (``path`` itself or a parent) that points nowhere, if any.

    Writing under it fails with a bare "[Errno 17] File exists" from ``mkdir``;
    callers name the link and its missing target instead.
    """
    path = Path(path)
    for part in (path, *path.parents):
        if os.path.lexists(part):
            return part if part.is_symlink() and not part.exists() else None
    return None


def nearest_existing_parent(path) -> Path:
    """The closest ancestor of ``path`` that exists (absolute): where :func:`atomic_output` creates folders.

    Callers check it before any work: a file there means ``path`` can never be created.
    """
    parent = _expand_home(path).absolute().parent
    while not parent.exists():
        parent = parent.parent
    return parent


def missing_folders(path) -> list:
    """The folders on the way to ``path`` that do not exist yet, deepest first (``path`` itself excluded).

    What a write of ``path`` creates: a caller takes them before its write and
    gives them to :func:`remove_created_folders` when the write fails.
    """
    path = _expand_home(path).absolute()
    if ".." in path.parts:  # "new/../old/x": "new/../old" looks missing but is old, which must never be removed
        return []
    missing = []
    for folder in path.parents:
        if os.path.lexists(folder):
            break
        missing.append(folder)
    return missing


def remove_created_folders(folders) -> None:
    """Remove ``folders`` (:func:`missing_folders`' list, deepest first) where they are empty, after a failed write.

    A failed ``save_model(clf, "runs/a/b/model")`` left ``runs/a/b`` behind,
    empty, for the user to find and delete. Only empty folders go
    (``os.rmdir``), so one that another writer has put a file in meanwhile
    stays, and so does every folder above it; folders that existed before the
    write are never in the list.
    """
    for folder in folders:
        try:
            os.rmdir(folder)
        except OSError:  # not empty (another writer's), gone already, or not ours to remove: stop there
            if os.path.lexists(folder):
                break


def _create_temp(path: Path, directory: bool) -> Path:
    """A new, unique temporary file or folder beside ``path``, with the mode a plain ``open``/``mkdir`` gives.

    Created with mode 0o666 (files) or 0o777 (folders), so the kernel applies
    the process umask, as it would to the final file: the umask itself is
    never read or changed (that would race with other threads creating files).
    """
    for _ in range(100):
        # keep the real suffix last: numpy and matplotlib choose formats by it
        # the writer's process id and machine: a writer killed (kill -9) leaves it, and the next one removes
        # it at once (remove_stale, _writer_dead) instead of 6 hours later
        tmp = path.with_name(f".{path.name}.{os.getpid()}-{_host_tag()}{secrets.token_hex(3)}.tmp"
                             f"{'' if directory else path.suffix}")
        try:
            if directory:
                os.mkdir(tmp, 0o777)
            else:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666))
            return tmp
        except FileExistsError:
            continue
        except FileNotFoundError:
            # the folder was made a moment ago, and another writer's failed write, which had made it too, removed
            # it again, empty (remove_created_folders): make it again; once the temporary is in it, it stays
            if os.path.lexists(path.parent):
                raise
            path.parent.mkdir(parents=True, exist_ok=True)
    raise FileExistsError(f"Could not create a temporary file beside {path}.")  # pragma: no cover


def _link_or_copy(src, dst) -> None:
    """Hard-link the file ``src`` as ``dst`` (no data copied, on the same file system), else copy it with its times."""
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:  # a file system without hard links (FAT, some network shares), a file of another user...
        shutil.copy2(src, dst, follow_symlinks=False)


def _carry_over(old: Path, new: Path, keep) -> dict:
    """Put the entries of the folder ``old`` that ``keep`` accepts into the folder ``new``; ``{name: identity}``.

    Files are hard-linked (copied where that fails), symbolic links made again
    and folders copied that way, so ``old`` itself is never changed: a failure
    here, or later before ``new`` is in place, leaves it whole. A name ``new``
    already holds is refused (never overwritten), and so is a pipe, socket or
    device, which cannot be carried.
    """
    carried = {}
    for entry in sorted(old.iterdir()):
        if not keep(entry):
            continue
        target = new / entry.name
        if os.path.lexists(target):
            raise FileExistsError(f"Cannot carry {entry} over into the new {old}: it writes {entry.name} itself. "
                                  "Move that one out first.")
        info = entry.lstat()
        if not (entry.is_symlink() or entry.is_dir() or entry.is_file()):
            raise FileExistsError(f"Cannot carry {entry} over into the new {old}: it is no file, folder or link "
                                  "(a pipe, socket or device). Move it out first.")
        try:
            if entry.is_symlink():
                os.symlink(os.readlink(entry), target)
            elif entry.is_dir():
                shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
            else:
                _link_or_copy(entry, target)
        except OSError as err:  # a file of another user, unreadable; a full disk (a copy): name what was kept
            if err.errno is None:  # shutil.Error of copytree: its list of failures
                raise
            raise type(err)(err.errno, f"{err.strerror} while keeping {entry} in the new folder (move it out of "
                                       "the folder, or make it readable)") from err
        carried[entry.name] = _identity(info)
    return carried


def _identity(info: os.stat_result) -> tuple:
    """What tells one version of a file from the next one written under its name (a rewrite, a replace)."""
    return info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size


def _carry_late(old: Path, new: Path, keep, carried: dict) -> None:
    """Move into ``new`` what ``keep`` accepts of ``old`` that appeared or changed after :func:`_carry_over`.

    Between the carry-over and the swap of the folders another process (a
    plot being saved into the folder) may have written a file into ``old``,
    which is deleted next: renamed into ``new`` instead (the newer version
    wins). A folder already carried is left as it was carried.
    """
    import logging

    for entry in sorted(old.iterdir()):
        try:
            if not keep(entry) or (entry.name in carried and (entry.is_dir() and not entry.is_symlink()
                                                              or _identity(entry.lstat()) == carried[entry.name])):
                continue
            os.replace(entry, new / entry.name)
        except OSError as err:  # a folder over a folder, gone meanwhile...
            logging.getLogger(__name__).warning("%s changed while %s was replaced and could not be kept (%s).",
                                                entry, new, err)


@contextlib.contextmanager
def atomic_output(path, *, directory=False, keep=None):
    """Yield a temporary path next to ``path``; move it onto ``path`` on success.

    On an exception the temporary file (or folder) is removed and ``path`` is
    left as it was, so a failed or interrupted write never leaves a partial
    output behind. Missing parent folders are created.

    Parameters
    ----------
    path : path-like
        The final file (or folder when ``directory=True``); a leading ``~``
        is the home folder, as for every path the toolkit reads.
    directory : bool, default=False
        Yield a temporary folder instead of a file name. An existing folder at
        ``path`` is replaced only after the new one is complete (and put back
        should the move of the new one fail). A folder that a writer killed
        between the two renames had moved aside is put back first
        (:func:`recover_moved_aside`). One that another writer put in place
        between them is replaced too: the last write wins, as for a file.
    keep : callable, optional
        With ``directory=True``: ``keep(entry)`` (a :class:`pathlib.Path` in
        the existing folder at ``path``) says which of its entries the new
        folder keeps, such as the user's own files in a model folder. They
        are put into the new folder (hard links, else copies) just before it
        replaces the old one, which stays whole until then: a failed write
        leaves it as it was, the kept files included. A name the new folder
        holds itself is an error, never overwritten. Without it, nothing of
        the old folder is kept.

    Raises
    ------
    NotADirectoryError
        Before anything is written, when a parent of ``path`` is a file.
    IsADirectoryError
        Before anything is written, when ``path`` is a folder (or a link to
        one) and ``directory`` is False.
    ValueError
        When ``path`` names nothing to write: empty, ``.``, ``..`` or ``/``.

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
    given = path
    path = _expand_home(path)  # "~/out.txt" as every reader takes it: never a folder named "~" in the cwd
    if path.name in ("", ".", ".."):  # else "PosixPath('.') has an empty name", or a rename onto "..": EBUSY
        raise ValueError(f"Cannot write {os.fspath(given)!r}: it names no {'folder' if directory else 'file'} "
                         "(an empty path, '.', '..' or '/'). Give the name to write, e.g. 'out/name'.")
    if not directory and path.is_dir():  # else "Is a directory: '.<name>.<pid>-<hex>.tmp' -> '<name>'", late
        raise IsADirectoryError(errno.EISDIR, f"Cannot write {path}: it is a folder, not a file; nothing was written. "
                                f"Give a file name, e.g. {path / 'name'}, or move the folder away.")
    parent = nearest_existing_parent(path)
    if not parent.is_dir():  # mkdir would say "File exists: <parent>", which reads as if path existed
        raise NotADirectoryError(f"Cannot write {path}: {parent} is a file, not a folder. Choose another path.")
    link = broken_link(path.parent)
    if link is not None:  # else mkdir's bare "[Errno 17] File exists"
        raise FileNotFoundError(f"Cannot write {path}: {link} is a symbolic link to {os.readlink(link)}, which "
                                "does not exist. Create that folder, or choose another path.")
    created = missing_folders(path)  # removed again if the write fails (remove_created_folders)
    path.parent.mkdir(parents=True, exist_ok=True)
    if directory:  # before the sweep: a folder moved aside by a killed writer is the last copy there is
        recover_moved_aside(path)
    remove_stale(path.parent, f".{glob.escape(path.name)}.*.tmp*")  # debris of killed writers
    try:
        tmp = _create_temp(path, directory)
    except BaseException:  # a name too long for the file system...
        remove_created_folders(created)
        raise
    old, carried, others = None, None, []
    try:
        yield tmp
        if directory:
            if keep is not None and path.is_dir() and not path.is_symlink():
                carried = _carry_over(path, tmp, keep)  # linked, not moved: the old folder stays whole
            if os.path.lexists(path):
                # named with our process id and machine: killed now, the next reader or writer of path on
                # this machine puts it back at once (recover_moved_aside), one elsewhere after a minute
                old = _aside(path)
                os.replace(path, old)
            for attempt in range(_RACE_TRIES):
                try:
                    os.replace(tmp, path)
                    break
                except OSError as err:
                    # another writer's complete folder landed between our two renames ("Directory not empty"):
                    # moved aside too, and ours goes in place, the last write winning as for a file
                    if err.errno not in _TAKEN or attempt == _RACE_TRIES - 1 or not os.path.lexists(path):
                        raise
                    other = _aside(path)
                    os.replace(path, other)
                    others.append(other)
            for other in others:
                if other.is_dir() and not other.is_symlink():
                    shutil.rmtree(other, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        other.unlink()
            others = []
            replaced, old = old, None
            if replaced is not None and (replaced.is_symlink() or not replaced.is_dir()):
                with contextlib.suppress(OSError):  # left, it is swept as stale debris later
                    replaced.unlink()  # a link goes (what it pointed to stays), and so does a plain file
            elif replaced is not None:
                if carried is not None:  # written into the old folder meanwhile: kept too
                    _carry_late(replaced, path, keep, carried)
                shutil.rmtree(replaced, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        for aside in (*reversed(others), old):  # moved aside, the new one not in place: put the newest back
            if aside is not None and not os.path.lexists(path):
                with contextlib.suppress(OSError):
                    os.replace(aside, path)
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        remove_created_folders(created)
        raise


#: errno of an exceeded disk quota (ENOSPC where the platform has no EDQUOT: Windows)
EDQUOT = getattr(errno, "EDQUOT", errno.ENOSPC)
#: errno values of a disk or quota that is full
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, EDQUOT})


#: What a rename of a folder onto ``path`` raises when another writer put something there after ours was moved aside.
_TAKEN = frozenset({errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR})
_RACE_TRIES = 10


def _aside(path: Path) -> Path:
    """A new name beside ``path`` to move the folder there aside to: ``.<name>.<pid>-<host tag><hex>.tmp-old``."""
    return path.with_name(f".{path.name}.{os.getpid()}-{_host_tag()}{secrets.token_hex(3)}{_OLD_SUFFIX}")


def write_error(err: OSError, path, *, action: str = "write", noun: str = "file",
                space: str = "some disk space") -> OSError | None:
    """The error to raise instead of ``err``, an ``OSError`` from writing ``path`` through :func:`atomic_output`,
    or None when ``err`` is not one a user can act on (then ``err`` itself is raised).

    For a full disk or quota, a folder not writable, a read-only file system and a name too long: the same
    class (``PermissionError``...) and errno, with a message that names ``path`` (not its temporary name,
    ``.<name>.<pid>-<12 hex>.tmp``), says whether what was there is unchanged, and what to do: "Cannot ``action``
    ``path``: <strerror>; the ``noun`` there is unchanged. <what to do>". ``space`` words the free-space advice.
    """
    hints = {
        errno.ENOSPC: f"Free {space} or choose a path on another disk.",
        errno.EACCES: "Choose a folder you can write to.",
        errno.EPERM: "Choose a folder you can write to.",
        errno.EROFS: "Choose a path on a writable file system.",
        # a name the file system takes, but not with the temporary name's 19 + len(pid) more characters
        errno.ENAMETOOLONG: f"Choose a shorter {'folder' if noun.endswith('folder') else 'file'} name: it is first "
                            f"written under a temporary name {_TMP_EXTRA + len(str(os.getpid()))} characters longer, "
                            "and most file systems allow 255 "
                            "bytes per name (a CJK character takes 3).",
    }
    for code in (errno.EFBIG, EDQUOT):
        hints[code] = hints[errno.ENOSPC]
    hint = hints.get(err.errno)
    if hint is None:
        return None
    before = f"the {noun} there is unchanged" if os.path.exists(path) else "nothing was written there"
    return type(err)(err.errno, f"Cannot {action} {path}: {err.strerror}; {before}. {hint}")
