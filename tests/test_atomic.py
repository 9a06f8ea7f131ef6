"""toolkit._atomic: all-or-nothing writes, their file modes, and the stale-debris sweep."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from toolkit import _atomic
from toolkit._atomic import atomic_output, remove_stale


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield 0o027
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_output_modes_follow_the_umask_without_touching_it(tmp_path, umask_027, monkeypatch):
    def no_umask(mask):
        raise AssertionError("atomic_output changed the process umask (a race with other threads)")

    monkeypatch.setattr(os, "umask", no_umask)
    with atomic_output(tmp_path / "out.txt") as tmp:
        tmp.write_text("done")
    with atomic_output(tmp_path / "run", directory=True) as tmp:
        (tmp / "a.txt").write_text("a")
    monkeypatch.undo()
    assert (tmp_path / "out.txt").read_text() == "done"
    assert _mode(tmp_path / "out.txt") == 0o640  # as open() would give: 0o666 & ~0o027
    assert _mode(tmp_path / "run") == 0o750


def test_atomic_output_does_not_disturb_files_other_threads_create(tmp_path, umask_027):
    stop = threading.Event()
    modes = set()

    def create_files():
        i = 0
        while not stop.is_set():
            name = tmp_path / "other" / f"f{i}"
            with open(name, "w"):
                pass
            modes.add(_mode(name))
            i += 1

    (tmp_path / "other").mkdir()
    worker = threading.Thread(target=create_files)
    worker.start()
    try:
        for i in range(300):
            with atomic_output(tmp_path / "mine" / f"{i}.txt") as tmp:
                tmp.write_text("x")
    finally:
        stop.set()
        worker.join()
    assert modes == {0o640}


def test_atomic_output_failure_leaves_the_old_file_and_no_debris(tmp_path):
    target = tmp_path / "out.npz"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_output(target) as tmp:
            assert tmp.name.startswith(".out.npz.") and tmp.suffix == ".npz"  # formats chosen by suffix still work
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npz"]


def test_atomic_output_directory_replaces_the_old_folder_whole(tmp_path):
    target = tmp_path / "run"
    with atomic_output(target, directory=True) as tmp:
        (tmp / "old-only.txt").write_text("old")
    with atomic_output(target, directory=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_atomic_remove_stale_only_old_entries(tmp_path):
    (tmp_path / ".x.1.tmp").write_text("killed long ago")
    os.utime(tmp_path / ".x.1.tmp", (0, 0))
    (tmp_path / ".x.2.tmp").mkdir()
    os.utime(tmp_path / ".x.2.tmp", (0, 0))
    (tmp_path / ".x.3.tmp").write_text("a live writer's")
    assert remove_stale(tmp_path, ".x.*.tmp") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".x.3.tmp"]
    assert remove_stale(tmp_path / "missing", "*") == 0
    assert _atomic.STALE_SECONDS == 6 * 3600


def test_atomic_output_over_a_symlinked_folder_leaves_no_debris(tmp_path):
    """A folder output given as a symbolic link (runs/latest -> runs/run1): the new folder takes the link's
    place and the folder it pointed to is kept; the moved-aside link was left behind as '.latest.*.tmp-old'
    (shutil.rmtree refuses links, and its errors were ignored)."""
    from toolkit._atomic import atomic_output

    target = tmp_path / "run1"
    target.mkdir()
    (target / "metrics.json").write_text("old", encoding="utf-8")
    link = tmp_path / "latest"
    link.symlink_to(target, target_is_directory=True)
    with atomic_output(link, directory=True) as tmp:
        (tmp / "metrics.json").write_text("new", encoding="utf-8")
    assert not link.is_symlink() and (link / "metrics.json").read_text(encoding="utf-8") == "new"
    assert (target / "metrics.json").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "run1"]
