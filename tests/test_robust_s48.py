"""Session 48: bad input to the writers, caches and archive readers gets a clear error and loses nothing."""

from __future__ import annotations

import errno
import io
import os
import tarfile
import zipfile

import pytest

from toolkit._atomic import _host_tag, atomic_output, recover_moved_aside
from toolkit.data.archives import (
    UnsafeArchiveError,
    extract_tar,
    extract_zip,
    iter_tar_files,
)
from toolkit.exceptions import DataError


def _tar(path, members):
    """A .tar.gz of ``members``: (name, bytes) for a file, (name, None) for a folder."""
    with tarfile.open(path, "w:gz", format=tarfile.GNU_FORMAT, errors="surrogateescape") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


def _listing(folder):
    return sorted(os.listdir(folder))


# ---------------------------------------------------------------- archives


@pytest.mark.parametrize("members", [
    [("d/a", b"file"), ("d/a/b.txt", b"inside")],  # a file, then a member inside it
    [("d/a/b.txt", b"inside"), ("d/a", b"file")],  # a folder implied by a member, then a file of its name
    [("d/a/", None), ("d/a/b.txt", b"x"), ("d/a", b"file")],  # a listed folder (duplicate check) - guard
], ids=["file-then-inside", "inside-then-file", "listed-folder"])
def test_extract_tar_refuses_a_name_that_is_both_a_file_and_a_folder(tmp_path, members):
    """Before: "Cannot extract ...: [Errno 20] Not a directory: '.out.<pid>-<hex>.tmp/d/a/b.txt'" (or
    "Is a directory"), a plain DataError naming the temporary folder, after the members before it were written.
    Now the member is refused as unsafe, by name; the previous extraction stays, with no debris."""
    archive = _tar(tmp_path / "bad.tar.gz", [("d/ok.txt", b"ok"), *members])
    target = tmp_path / "out"
    target.mkdir()
    (target / "previous.txt").write_text("kept")
    with pytest.raises(UnsafeArchiveError, match=r"Refusing archive member 'd/a.*' in .*bad\.tar\.gz") as info:
        extract_tar(archive, target)
    assert ".tmp" not in str(info.value)
    assert _listing(tmp_path) == ["bad.tar.gz", "out"]
    assert _listing(target) == ["previous.txt"]


def test_extract_zip_refuses_a_name_that_is_both_a_file_and_a_folder_before_writing(tmp_path):
    """A zip's central directory is checked before anything is written: the clash is refused there too."""
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("d/a", "file")
        zf.writestr("d/a/b.txt", "inside")
    with pytest.raises(UnsafeArchiveError, match=r"'d/a/b\.txt'.*inside 'd/a', which the archive holds as a file"):
        extract_zip(archive, tmp_path / "out")
    assert _listing(tmp_path) == ["bad.zip"]


def test_reading_a_tar_without_extracting_still_accepts_such_names(tmp_path):
    """Guard: iter_tar_files writes nothing, so the file/folder clash is no reason to refuse the archive."""
    archive = _tar(tmp_path / "t.tar.gz", [("a", b"1"), ("a/b", b"2")])
    assert list(iter_tar_files(archive)) == [("a", b"1"), ("a/b", b"2")]


def test_extract_tar_keeps_non_utf8_names_and_refuses_a_truncated_stream(tmp_path):
    """Guard: a member name that is not UTF-8 is extracted under the same bytes; a truncated gzip stream is a
    DataError that leaves the previous extraction whole."""
    archive = _tar(tmp_path / "t.tar.gz", [("d/caf\udce9.txt", b"x"), ("d/b.txt", b"y" * 5000)])
    target = tmp_path / "out"
    written = extract_tar(archive, target)
    assert [p.name for p in written] == ["caf\udce9.txt", "b.txt"]
    assert os.fsencode(written[0].name) == b"caf\xe9.txt" and written[0].read_bytes() == b"x"
    data = archive.read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.tar\.gz"):
        extract_tar(cut, target)
    assert sorted(p.name for p in (target / "d").iterdir()) == ["b.txt", "caf\udce9.txt"]
    assert _listing(tmp_path) == ["cut.tar.gz", "out", "t.tar.gz"]


# ---------------------------------------------------------------- atomic writes


def test_atomic_output_onto_a_folder_names_it_before_the_work(tmp_path):
    """Before: the body ran (a whole vocabulary or prediction file written), then the rename failed with
    "[Errno 21] Is a directory: '.out.<pid>-<hex>.tmp' -> 'out'", naming the temporary file. Now the folder is
    named before anything is written, and it is left as it was."""
    from toolkit.text.vocabulary import Vocabulary

    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "mine.txt").write_text("kept")
    ran = []
    with pytest.raises(IsADirectoryError, match=r"Cannot write .*out: it is a folder, not a file") as info, \
            atomic_output(folder) as tmp:
        ran.append(tmp)
    assert not ran and ".tmp" not in str(info.value) and info.value.errno == errno.EISDIR
    (tmp_path / "link").symlink_to(folder)  # a link to a folder is one too: never replaced by a file
    with pytest.raises(IsADirectoryError, match=r"link: it is a folder"):
        Vocabulary.from_documents([["a", "b"]]).to_json(tmp_path / "link")
    assert (tmp_path / "link").is_symlink()
    assert _listing(tmp_path) == ["link", "out"] and _listing(folder) == ["mine.txt"]


@pytest.mark.parametrize("path", ["", ".", "..", "sub/.."])
def test_atomic_output_refuses_a_path_that_names_nothing(tmp_path, monkeypatch, path):
    """Before: "PosixPath('.') has an empty name" for "" and ".", and for ".." a rename of the temporary onto
    the parent folder ("[Errno 16] Device or resource busy: '....<pid>-<hex>.tmp' -> '..'")."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    for directory in (False, True):
        with pytest.raises(ValueError, match=rf"Cannot write {path!r}: it names no (file|folder)"), \
                atomic_output(path, directory=directory):
            pass
    assert _listing(tmp_path) == ["sub"] and _listing(tmp_path / "sub") == []


def test_writing_one_name_keeps_the_moved_aside_folder_of_a_longer_name(tmp_path):
    """A writer killed between its two renames leaves ``.run.x.<pid>-<hex>.tmp-old``, the only copy of
    ``run.x``. Before, a write of ``run`` swept it (its pattern ``.run.*.tmp*`` matched, and an old model's
    folder is old by its time): recover_moved_aside("run.x") then had nothing to put back."""
    moved = tmp_path / f".run.x.99999999-{_host_tag()}abcdef.tmp-old"
    moved.mkdir()
    (moved / "model.keras").write_text("weights")
    os.utime(moved, (0, 0))
    with atomic_output(tmp_path / "run", directory=True) as tmp:
        (tmp / "new").write_text("new")
    with atomic_output(tmp_path / "run.json") as tmp:
        tmp.write_text("{}")
    assert recover_moved_aside(tmp_path / "run.x") == tmp_path / "run.x"
    assert (tmp_path / "run.x" / "model.keras").read_text() == "weights"
    assert _listing(tmp_path) == ["run", "run.json", "run.x"]


def test_a_stale_moved_aside_folder_goes_once_its_name_is_back(tmp_path):
    """Guard: where the folder is in place again, a stale moved-aside copy of it is debris, swept as before."""
    (tmp_path / "run").mkdir()
    moved = tmp_path / f".run.99999999-{_host_tag()}abcdef.tmp-old"
    moved.mkdir()
    os.utime(moved, (0, 0))
    with atomic_output(tmp_path / "run", directory=True) as tmp:
        (tmp / "new").write_text("new")
    assert _listing(tmp_path) == ["run"]


def test_a_full_disk_or_an_interrupt_mid_write_keeps_the_previous_output(tmp_path):
    """Guard: ENOSPC part-way through a file, and Ctrl+C part-way through a folder: the old output is whole and
    no temporary is left."""
    out = tmp_path / "out.txt"
    out.write_text("old")
    with pytest.raises(OSError) as info, atomic_output(out) as tmp, open(tmp, "w") as fh:
        fh.write("part")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert info.value.errno == errno.ENOSPC
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights").write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_output(folder, directory=True) as tmp:
        (tmp / "weights").write_text("new, half")
        raise KeyboardInterrupt
    assert out.read_text() == "old" and (folder / "weights").read_text() == "old"
    assert _listing(tmp_path) == ["model", "out.txt"]


# ---------------------------------------------------------------- configuration


def test_an_empty_folder_argument_is_refused_not_the_current_folder(tmp_path, monkeypatch):
    """Before: ``cache_dir=""`` (an unset shell variable read with ``os.environ.get(..., "")``) was
    ``Path("")``, the current folder, where caches were written silently. An empty *variable* still counts as
    unset."""
    from toolkit._config import get_cache_dir, get_data_dir

    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=r"cache_dir is an empty string.*TOOLKIT_CACHE_DIR"):
        get_cache_dir("")
    with pytest.raises(DataError, match=r"data_dir is an empty string.*TOOLKIT_DATA_DIR"):
        get_data_dir("")
    monkeypatch.setenv("TOOLKIT_DATA_DIR", "")
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", "")
    assert get_data_dir() is None and get_cache_dir() != tmp_path
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", "~/c")
    assert get_cache_dir() == get_cache_dir("~/c") != tmp_path / "~" / "c"


def test_a_folder_another_writer_puts_in_place_meanwhile_is_replaced_not_an_error(tmp_path, monkeypatch):
    """Two processes writing one folder (a cache entry, a run folder): A moves the old one aside, B's new one
    lands, then A's rename onto it failed with "[Errno 39] Directory not empty: '.out.<pid>-<hex>.tmp' ->
    'out'", and A's moved-aside copy stayed behind as debris. Now A's goes in place (the last write wins, as
    for a file) and neither B's nor the old folder is left."""
    target = tmp_path / "out"
    target.mkdir()
    (target / "v").write_text("old")
    real_replace = os.replace
    landed = []

    def replace(src, dst, *args, **kwargs):
        if str(dst) == str(target) and ".tmp-old" not in str(src) and not landed:
            landed.append(dst)
            os.mkdir(target)  # writer B's complete folder lands between A's two renames
            (target / "v").write_text("B")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    with atomic_output(target, directory=True) as tmp:
        (tmp / "v").write_text("A")
    monkeypatch.setattr(os, "replace", real_replace)
    assert landed and (target / "v").read_text() == "A"
    assert _listing(tmp_path) == ["out"]


def test_a_full_disk_while_extracting_is_named_and_leaves_the_previous_version(tmp_path, monkeypatch):
    """ENOSPC on the second member: a DataError that says so, the previous extraction whole, no temporary folder.
    Before, where ``errno`` has no EDQUOT (Windows), the check itself raised AttributeError instead."""
    archive = _tar(tmp_path / "t.tar.gz", [("d/a.txt", b"a"), ("d/b.txt", b"b")])
    target = tmp_path / "out"
    extract_tar(archive, target)
    (target / "d" / "a.txt").write_text("previous")
    real_extract = tarfile.TarFile.extract

    def extract(self, member, *args, **kwargs):
        if member.name == "d/b.txt":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_extract(self, member, *args, **kwargs)

    monkeypatch.setattr(tarfile.TarFile, "extract", extract)
    for windows in (False, True):
        if windows:
            monkeypatch.delattr(errno, "EDQUOT", raising=False)
        with pytest.raises(DataError, match=r"No space left on the disk of .* while extracting .*t\.tar\.gz"):
            extract_tar(archive, target)
        assert (target / "d" / "a.txt").read_text() == "previous"
        assert _listing(tmp_path) == ["out", "t.tar.gz"]


# ---------------------------------------------------------------- file identity


def test_file_identity_tells_a_rewrite_with_its_size_and_time_put_back(tmp_path):
    """Guard: a rewrite in place that puts size and modification time back (``touch -d``, ``cp -p``) is another
    content; a hard link, a rename and a copy elsewhere are the same one (found by the SHA-256); a manifest
    rewritten that way is parsed again."""
    import shutil

    from toolkit._fileid import fingerprint, same_content, stat_id
    from toolkit.data.manifests import get_manifest

    path = tmp_path / "f.txt"
    path.write_text("aaaa")
    stat, sha = fingerprint(path)
    assert stat == stat_id(path)
    before = path.stat()
    with open(path, "r+") as fh:
        fh.write("bbbb")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert not same_content(path, stat, sha)
    path.write_text("aaaa")
    stat, sha = fingerprint(path)
    os.link(path, tmp_path / "hard.txt")
    os.rename(path, tmp_path / "renamed.txt")
    shutil.copy2(tmp_path / "renamed.txt", tmp_path / "copy.txt")
    for name in ("hard.txt", "renamed.txt", "copy.txt"):
        assert same_content(tmp_path / name, stat, sha)

    manifest = get_manifest("imdb").path.read_text(encoding="utf-8")
    mine = tmp_path / "mine.toml"
    mine.write_text(manifest.replace('name = "imdb"', 'name = "mine"'), encoding="utf-8")
    assert get_manifest(mine).name == "mine"
    held = mine.stat()
    mine.write_text(manifest.replace('name = "imdb"', 'name = "mind"'), encoding="utf-8")
    os.utime(mine, ns=(held.st_atime_ns, held.st_mtime_ns))
    assert get_manifest(mine).name == "mind"


def test_the_unsup_identity_of_doc_vectors_follows_a_relative_data_folder(tmp_path, monkeypatch):
    """TOOLKIT_DATA_DIR=data, relative: after os.chdir it names another folder, but the memo of model keys was
    keyed by the string "data", so a fit there reused the doc vectors trained on the first folder's texts."""
    from toolkit.vectors.docvec import _source_identity

    for name in ("a", "b"):
        (tmp_path / name / "data").mkdir(parents=True)
    monkeypatch.setenv("TOOLKIT_DATA_DIR", "data")
    monkeypatch.chdir(tmp_path / "a")
    first = _source_identity("unsup")
    monkeypatch.chdir(tmp_path / "b")
    assert _source_identity("unsup") != first
    assert first == ("unsup", str((tmp_path / "a" / "data").resolve()))
