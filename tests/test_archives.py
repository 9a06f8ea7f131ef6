"""Archive safety: crafted tarballs and zips must never escape the target."""

from __future__ import annotations

import errno
import gzip
import io
import logging
import os
import re
import signal
import stat
import struct
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

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


def test_archives_extract_tar_never_writes_through_existing_symlink(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "out"
    target.mkdir()
    (target / "pkg").symlink_to(outside, target_is_directory=True)
    path = _make_tar(tmp_path / "ok.tar.gz", GOOD)
    extract_tar(path, target)  # a fresh folder replaces the old one as a whole
    assert not any(outside.iterdir())
    assert not (target / "pkg").is_symlink() and (target / "pkg/sub/b.txt").read_bytes() == b"beta"


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
    with pytest.raises(DataError, match="cut.tar.gz .*Compressed file ended before the end-of-stream marker"):
        list(iter_tar_files(cut))


def test_archives_iter_tar_skips_big_members_without_reading(tmp_path):
    big = os.urandom(3 << 20)
    path = _make_tar(tmp_path / "big.tar.gz", [({"name": "big.bin"}, big), ({"name": "small.txt"}, b"s")])
    assert list(iter_tar_files(path, select=lambda n: n == "small.txt")) == [("small.txt", b"s")]
    extract_tar(path, tmp_path / "out")
    assert (tmp_path / "out" / "big.bin").read_bytes() == big


# ------------------------------------------------------------------ names, floods, duplicates (issue 14)


def _listing(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_archives_deep_path_refused_before_writing(tmp_path):
    deep = "/".join(["d"] * 40) + "/x.txt"
    path = _make_tar(tmp_path / "deep.tar.gz", [*GOOD, ({"name": deep}, b"x")])
    with pytest.raises(UnsafeArchiveError, match=r"41 folders deep, more than max_depth=32"):
        extract_tar(path, tmp_path / "out")
    assert not (tmp_path / "out").exists() and _listing(tmp_path) == ["deep.tar.gz"]
    with pytest.raises(UnsafeArchiveError, match="more than max_depth=32"):
        list(iter_tar_files(path))
    assert len(extract_tar(path, tmp_path / "out", max_depth=50)) == 3


@pytest.mark.parametrize(
    "name, match",
    [("pkg/" + "n" * 300 + ".txt", "part of its name is 304 bytes long, more than the 255 bytes"),
     ("/".join(["p" * 200] * 6), "its name is 1,205 bytes long, more than max_name_length=1,024")],
)
def test_archives_over_long_name_is_a_toolkit_error_and_writes_nothing(tmp_path, name, match):
    path = _make_tar(tmp_path / "long.tar.gz", [*GOOD, ({"name": name}, b"x")])
    target = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match=match):  # was a raw OSError after GOOD was written
        extract_tar(path, target)
    assert not target.exists() and _listing(tmp_path) == ["long.tar.gz"]


def test_archives_member_flood_refused_at_the_cap_not_at_the_end(tmp_path):
    # 300 members, then the tar is cut short: a reader that counts only at the end hits the damage first
    raw = _make_tar(tmp_path / "flood.tar", [({"name": f"f{i}"}, b"x" * 600) for i in range(300)], mode="w",
                    fmt=tarfile.USTAR_FORMAT).read_bytes()
    path = tmp_path / "flood.tar.gz"
    path.write_bytes(gzip.compress(raw[: 1536 * 250 + 512 + 100]))  # cut inside the data of member 251
    with pytest.raises(UnsafeArchiveError, match=r"more than max_members=100 members; stopped reading"):
        extract_tar(path, tmp_path / "out", max_members=100)
    with pytest.raises(UnsafeArchiveError, match=r"more than max_members=100"):
        list(iter_tar_files(path, max_members=100))
    with pytest.raises(UnsafeArchiveError, match=r"more than max_members=100"):  # not a member to skip
        list(iter_tar_files(path, max_members=100, on_unsafe="skip"))
    with pytest.raises(DataError, match="truncated inside member 'f250'"):
        extract_tar(path, tmp_path / "out")  # under the default cap: the damage itself is reported


def test_archives_duplicate_member_names_refused(tmp_path):
    path = _make_tar(tmp_path / "dup.tar.gz", [({"name": "pkg/a.txt"}, b"first"), ({"name": "pkg/b.txt"}, b"b"),
                                               ({"name": "./pkg/a.txt"}, b"second")])
    with pytest.raises(UnsafeArchiveError, match=r"'pkg/a.txt' appears twice, so one would silently replace"):
        extract_tar(path, tmp_path / "out")
    with pytest.raises(UnsafeArchiveError, match="appears twice"):
        list(iter_tar_files(path))
    assert not (tmp_path / "out").exists()
    twice_listed_folder = [({"name": "pkg", "type": tarfile.DIRTYPE}, None), ({"name": "pkg/", "type": tarfile.DIRTYPE},
                           None), ({"name": "pkg/a.txt"}, b"a")]
    ok = _make_tar(tmp_path / "dirs.tar.gz", twice_listed_folder)
    assert [p.name for p in extract_tar(ok, tmp_path / "out")] == ["a.txt"]


def test_archives_case_collision_refused_when_extracting(tmp_path):
    path = _make_tar(tmp_path / "case.tar.gz", [({"name": "pkg/A.txt"}, b"upper"), ({"name": "pkg/a.txt"}, b"lower")])
    with pytest.raises(UnsafeArchiveError, match=r"'pkg/a.txt' .*differs from 'pkg/A.txt' only in case"):
        extract_tar(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    zpath = _make_zip(tmp_path / "case.zip", [("README", b"1", None), ("readme", b"2", None)])
    with pytest.raises(UnsafeArchiveError, match="only in case"):
        extract_zip(zpath, tmp_path / "out")
    assert dict(iter_tar_files(path)) == {"pkg/A.txt": b"upper", "pkg/a.txt": b"lower"}  # reading is unambiguous


# ------------------------------------------------------------------ all-or-nothing extraction (issue 14)


V1 = [({"name": "data/a.txt"}, b"old a"), ({"name": "data/old-only.txt"}, b"old")]
V2 = [({"name": "data/a.txt"}, b"new a"), ({"name": "data/b.txt"}, b"new b"), ({"name": "data/c.txt"}, b"new c")]


def test_archives_failed_extraction_keeps_the_older_version(tmp_path):
    target = tmp_path / "out"
    extract_tar(_make_tar(tmp_path / "v1.tar.gz", V1), target)
    bad_v2 = _make_tar(tmp_path / "v2.tar.gz", [*V2, *EVIL["dotdot"][0]])
    with pytest.raises(UnsafeArchiveError):
        extract_tar(bad_v2, target)
    assert _listing(target) == ["data", "data/a.txt", "data/old-only.txt"]
    assert (target / "data/a.txt").read_bytes() == b"old a"  # not a mix of both versions
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "v1.tar.gz", "v2.tar.gz"]  # no debris
    extract_tar(_make_tar(tmp_path / "v2ok.tar.gz", V2), target)
    assert _listing(target) == ["data", "data/a.txt", "data/b.txt", "data/c.txt"]  # replaced as a whole


def test_archives_interrupted_extraction_leaves_nothing(tmp_path):
    path = _make_tar(tmp_path / "v2.tar.gz", V2)
    seen = []

    def interrupt_on_third(name):
        seen.append(name)
        if len(seen) == 3:
            raise KeyboardInterrupt
        return True

    with pytest.raises(KeyboardInterrupt):
        extract_tar(path, tmp_path / "out", select=interrupt_on_third)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v2.tar.gz"]


def test_archives_killed_extraction_leaves_the_older_version(tmp_path):
    target = tmp_path / "out"
    extract_tar(_make_tar(tmp_path / "v1.tar.gz", V1), target)
    v2 = _make_tar(tmp_path / "v2.tar.gz", V2)
    script = textwrap.dedent("""\
        import os, signal, sys
        from toolkit.data.archives import extract_tar
        seen = []
        def select(name):  # SIGKILL after two members were written
            seen.append(name)
            if len(seen) == 3:
                os.kill(os.getpid(), signal.SIGKILL)
            return True
        extract_tar(sys.argv[1], sys.argv[2], select=select)
        """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.run([sys.executable, "-c", script, str(v2), str(target)], env=env, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert _listing(target) == ["data", "data/a.txt", "data/old-only.txt"]
    assert (target / "data/a.txt").read_bytes() == b"old a"
    debris = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert len(debris) == 1 and debris[0].startswith(".out.")  # swept by remove_stale once hours old


def test_archives_full_disk_names_the_folder(tmp_path, monkeypatch):
    path = _make_tar(tmp_path / "ok.tar.gz", GOOD)

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tarfile, "copyfileobj", no_space)
    with pytest.raises(DataError, match=rf"No space left on the disk of {re.escape(str(tmp_path))} while extracting"):
        extract_tar(path, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.tar.gz"]


# ------------------------------------------------------------------ zip bombs and lying headers (issue 14)


def test_archives_zip_compression_ratio_cap(tmp_path):
    path = _make_zip(tmp_path / "bomb.zip", [("zeros.bin", bytes(20 << 20), None)])  # ~1000:1
    assert path.stat().st_size < 100_000
    with pytest.raises(UnsafeArchiveError, match=r"declares 20,971,520 bytes from [\d,]+ compressed, a ratio above "
                                                  r"max_ratio=100"):
        extract_zip(path, tmp_path / "out")
    with pytest.raises(UnsafeArchiveError, match="max_ratio=100"):
        open_zip_member(path, "zeros.bin")
    assert not (tmp_path / "out").exists()
    assert len(extract_zip(path, tmp_path / "out", max_ratio=2000)) == 1
    small = _make_zip(tmp_path / "small.zip", [("zeros.bin", bytes(100_000), None)])  # tiny members are exempt
    assert len(extract_zip(small, tmp_path / "out2")) == 1


def _patch_central_size(path, size):
    data = bytearray(path.read_bytes())
    at = data.index(b"PK\x01\x02")
    data[at + 24 : at + 28] = struct.pack("<I", size)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("declared", [1000, 300_000])
def test_archives_zip_member_with_lying_size_is_a_toolkit_error(tmp_path, declared):
    path = _make_zip(tmp_path / "lie.zip", [("vectors.txt", os.urandom(100_000).hex().encode(), None)])
    _patch_central_size(path, declared)  # really 200,000 bytes
    with pytest.raises(DataError, match=r"member 'vectors.txt' in .*lie.zip is corrupt: .*wrong size or checksum"):
        extract_zip(path, tmp_path / "out")
    assert not (tmp_path / "out").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["lie.zip"]
    with pytest.raises(DataError, match="is corrupt"), open_zip_member(path, "vectors.txt") as fh:
        fh.read()
