"""Archive safety: crafted tarballs and zips must never escape the target."""

from __future__ import annotations

import gzip
import io
import logging
import os
import stat
import tarfile
import zipfile

import pytest

from toolkit.data.archives import (
    UnsafeArchiveError,
    check_member_name,
    extract_tar,
    extract_zip,
    iter_tar_files,
    open_zip_member,
)
from toolkit.exceptions import DataError


def _make_tar(path, members, mode="w:gz", fmt=tarfile.PAX_FORMAT):
    """members: list of (TarInfo kwargs, bytes or None)."""
    with tarfile.open(path, mode, format=fmt) as tar:
        for kwargs, data in members:
            kwargs = dict(kwargs)
            info = tarfile.TarInfo(kwargs.pop("name"))
            for key, value in kwargs.items():
                setattr(info, key, value)
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return path


GOOD = [({"name": "pkg/a.txt"}, b"alpha"), ({"name": "pkg/sub", "type": tarfile.DIRTYPE}, None),
        ({"name": "pkg/sub/b.txt"}, b"beta")]

EVIL = {
    "dotdot": ([({"name": "../evil.txt"}, b"x")], "contains '..'"),
    "nested_dotdot": ([({"name": "pkg/../../evil.txt"}, b"x")], "contains '..'"),
    "absolute": ([({"name": "/tmp/toolkit-evil.txt"}, b"x")], "absolute path"),
    "symlink": ([({"name": "pkg/link", "type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}, None)], "symbolic link"),
    "hardlink": ([({"name": "pkg/hard", "type": tarfile.LNKTYPE, "linkname": "../../etc/passwd"}, None)], "hard link"),
    "device": ([({"name": "pkg/dev", "type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 3}, None)], "device, FIFO"),
    "fifo": ([({"name": "pkg/fifo", "type": tarfile.FIFOTYPE}, None)], "device, FIFO"),
    "huge": ([({"name": "pkg/bomb.txt", "size": 10**12}, None)], "declares 1,000,000,000,000 bytes"),
}


@pytest.mark.parametrize("name", ["a.txt", "aclImdb/train/pos/0_9.txt", "dir/", "a..b/c"])
def test_archives_member_name_accepts_relative(name):
    assert check_member_name(name) == name


@pytest.mark.parametrize(
    "name, match",
    [("../x", r"contains '\.\.'"), ("/abs", "absolute"), ("C:/x", "drive letter"), ("a\\..\\b", "backslash"),
     ("a\x00b", "NUL"), ("", "empty")],
)
def test_archives_member_name_refuses_unsafe(name, match):
    with pytest.raises(UnsafeArchiveError, match=match):
        check_member_name(name, archive="x.tar")


@pytest.mark.parametrize("kind", sorted(EVIL))
def test_archives_iter_tar_refuses_evil_members(tmp_path, kind):
    members, match = EVIL[kind]
    path = _make_tar(tmp_path / "evil.tar.gz", [*GOOD, *members])
    with pytest.raises(UnsafeArchiveError, match=match):
        list(iter_tar_files(path, max_member_size=1 << 20))


@pytest.mark.parametrize("kind", sorted(EVIL))
def test_archives_extract_tar_writes_nothing_for_evil_archive(tmp_path, kind):
    members, match = EVIL[kind]
    path = _make_tar(tmp_path / "evil.tar.gz", [*GOOD, *members])
    target = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match=match):
        extract_tar(path, target, max_member_size=1 << 20)
    assert not target.exists() or not any(target.rglob("*"))
    assert not (tmp_path / "evil.txt").exists()


def test_archives_iter_tar_skip_mode_logs_and_continues(tmp_path, caplog):
    path = _make_tar(tmp_path / "mixed.tar.gz", [*GOOD, *EVIL["dotdot"][0], *EVIL["symlink"][0]])
    with caplog.at_level(logging.WARNING, logger="toolkit.data.archives"):
        got = dict(iter_tar_files(path, on_unsafe="skip"))
    assert got == {"pkg/a.txt": b"alpha", "pkg/sub/b.txt": b"beta"}
    assert "Skipping unsafe member '../evil.txt'" in caplog.text


def test_archives_iter_tar_rejects_bad_on_unsafe(tmp_path):
    path = _make_tar(tmp_path / "ok.tar.gz", GOOD)
    with pytest.raises(ValueError, match="on_unsafe must be 'raise' or 'skip'"):
        list(iter_tar_files(path, on_unsafe="ignore"))


@pytest.mark.parametrize(
    "mode, fmt",
    [("w:gz", tarfile.PAX_FORMAT), ("w:gz", tarfile.GNU_FORMAT), ("w:gz", tarfile.USTAR_FORMAT),
     ("w", tarfile.PAX_FORMAT), ("w:bz2", tarfile.PAX_FORMAT), ("w:xz", tarfile.GNU_FORMAT)],
)
def test_archives_iter_tar_matches_tarfile(tmp_path, mode, fmt):
    long_dir = "d" * 90 + "/" + "e" * 60  # > 100 chars: ustar prefix, GNU 'L' or pax 'path'
    members = [*GOOD, ({"name": f"{long_dir}/long.txt"}, b"long name"), ({"name": "empty.txt"}, b""),
               ({"name": "unicode-\u00e9.txt"}, "caf\u00e9".encode()), ({"name": "big.bin"}, os.urandom(70_000))]
    path = _make_tar(tmp_path / "t.tar", members, mode=mode, fmt=fmt)
    with tarfile.open(path) as tar:
        expected = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}
    assert dict(iter_tar_files(path)) == expected


def test_archives_iter_tar_select_reads_only_wanted(tmp_path):
    path = _make_tar(tmp_path / "ok.tar.gz", GOOD)
    assert list(iter_tar_files(path, select=lambda n: n.endswith("b.txt"))) == [("pkg/sub/b.txt", b"beta")]


def test_archives_iter_tar_truncated_archive(tmp_path):
    members = [({"name": f"f{i}.bin"}, os.urandom(4096)) for i in range(20)]
    path = _make_tar(tmp_path / "full.tar", members, mode="w")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(gzip.compress(path.read_bytes()[: 512 * 40]))
    with pytest.raises(DataError, match="truncated"):
        list(iter_tar_files(cut))


def test_archives_iter_tar_missing_and_not_tar(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        list(iter_tar_files(tmp_path / "nope.tar.gz"))
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"this is not a tar file" * 10)
    with pytest.raises(DataError, match="Cannot read .*junk.tar as a tar archive"):
        list(iter_tar_files(junk))


def test_archives_extract_tar_good_archive(tmp_path):
    path = _make_tar(tmp_path / "ok.tar.gz", GOOD)
    written = extract_tar(path, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == ["pkg/a.txt", "pkg/sub/b.txt"]
    assert (tmp_path / "out/pkg/sub/b.txt").read_bytes() == b"beta"
    assert not list((tmp_path / "out").rglob(".*part*"))


def test_archives_extract_tar_refuses_write_through_existing_symlink(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "out"
    target.mkdir()
    (target / "pkg").symlink_to(outside, target_is_directory=True)
    path = _make_tar(tmp_path / "ok.tar.gz", GOOD)
    with pytest.raises(UnsafeArchiveError, match="outside the target folder"):
        extract_tar(path, target)
    assert not any(outside.iterdir())


def test_archives_extract_tar_total_size_cap(tmp_path):
    # 3 MB of zeros compress to a few KB: a small decompression bomb
    members = [({"name": f"z{i}.bin"}, bytes(1 << 20)) for i in range(3)]
    path = _make_tar(tmp_path / "bomb.tar.gz", members)
    assert path.stat().st_size < 50_000
    with pytest.raises(UnsafeArchiveError, match="max_total_size=2,097,152"):
        extract_tar(path, tmp_path / "out", max_total_size=2 << 20)
    with pytest.raises(UnsafeArchiveError, match="max_member_size=1,000"):
        extract_tar(path, tmp_path / "out", max_member_size=1000)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


def test_archives_extract_tar_member_count_cap(tmp_path):
    path = _make_tar(tmp_path / "many.tar.gz", [({"name": f"f{i}.txt"}, b"x") for i in range(5)])
    with pytest.raises(UnsafeArchiveError, match="more than max_members=3"):
        extract_tar(path, tmp_path / "out", max_members=3)
    with pytest.raises(UnsafeArchiveError, match="more than max_members=3"):
        list(iter_tar_files(path, max_members=3))


def _make_zip(path, entries):
    """entries: list of (name, data, mode or None)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


@pytest.mark.parametrize(
    "entry, match",
    [(("../evil.txt", b"x", None), r"contains '\.\.'"), (("/abs.txt", b"x", None), "absolute"),
     (("link", b"/etc/passwd", stat.S_IFLNK | 0o777), "symbolic link")],
)
def test_archives_extract_zip_refuses_evil(tmp_path, entry, match):
    path = _make_zip(tmp_path / "evil.zip", [("ok.txt", b"fine", None), entry])
    with pytest.raises(UnsafeArchiveError, match=match):
        extract_zip(path, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))
    assert not (tmp_path / "evil.txt").exists()


def test_archives_zip_extract_and_open_member(tmp_path):
    path = _make_zip(tmp_path / "v.zip", [("glove.6B.50d.txt", b"the 0.1 0.2\n", None), ("d/x.txt", b"x", None)])
    written = extract_zip(path, tmp_path / "out")
    assert {p.name for p in written} == {"glove.6B.50d.txt", "x.txt"}
    with open_zip_member(path, "glove.6B.50d.txt") as fh:
        assert fh.readline() == b"the 0.1 0.2\n"
    with pytest.raises(DataError, match=r"has no member 'glove.6B.300d.txt'. Members: glove.6B.50d.txt, d/x.txt"):
        open_zip_member(path, "glove.6B.300d.txt")


def test_archives_zip_size_caps(tmp_path):
    path = _make_zip(tmp_path / "bomb.zip", [("zeros.bin", bytes(2 << 20), None)])
    with pytest.raises(UnsafeArchiveError, match="declares 2,097,152 bytes"):
        open_zip_member(path, "zeros.bin", max_member_size=1 << 20)
    with pytest.raises(UnsafeArchiveError, match="max_total_size"):
        extract_zip(path, tmp_path / "out", max_total_size=1 << 20)


def test_archives_zip_not_a_zip(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"nope")
    with pytest.raises(DataError, match="Cannot read .*junk.zip as a zip archive"):
        open_zip_member(junk, "x")
    with pytest.raises(DataError, match="does not exist"):
        extract_zip(tmp_path / "missing.zip", tmp_path / "out")


def test_archives_iter_tar_progress_bar(tmp_path, capsys):
    path = _make_tar(tmp_path / "ok.tar.gz", GOOD)
    assert len(list(iter_tar_files(path, progress=True))) == 2
    assert "ok.tar.gz" in capsys.readouterr().err


def test_archives_iter_tar_truncated_gzip_on_header_boundary(tmp_path):
    members = [({"name": f"f{i}.txt"}, b"x" * 512) for i in range(4)]
    raw = _make_tar(tmp_path / "full.tar", members, mode="w", fmt=tarfile.USTAR_FORMAT).read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(gzip.compress(raw)[:-30])  # gzip stream cut short, tar headers still whole
    with pytest.raises(DataError, match="ends in the middle of its gzip stream"):
        list(iter_tar_files(cut))


def test_archives_iter_tar_skips_big_members_without_reading(tmp_path):
    big = os.urandom(3 << 20)
    path = _make_tar(tmp_path / "big.tar.gz", [({"name": "big.bin"}, big), ({"name": "small.txt"}, b"s")])
    assert list(iter_tar_files(path, select=lambda n: n == "small.txt")) == [("small.txt", b"s")]
    extract_tar(path, tmp_path / "out")
    assert (tmp_path / "out" / "big.bin").read_bytes() == big
