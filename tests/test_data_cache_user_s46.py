"""Session 46, a user setting up the offline data folder and the cache: a damaged file:// mirror and a cache
entry that is a folder. Offline: small manifests and files of the test's own, built in tmp_path."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

from toolkit.data.datasets import fetch
from toolkit.exceptions import ChecksumError, DataError

PAYLOAD = b"toy payload\n" * 1000
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def _manifest(folder: Path, url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "toy.toml"
    path.write_text(textwrap.dedent(f"""\
        name = "toy"
        description = "test resource"
        license = "CC0"
        citation = "none"
        homepage = "http://127.0.0.1/"
        format = "text"
        checksum_source = "computed by the test"

        [[files]]
        filename = "toy.bin"
        url = "{url}"
        sha256 = "{SHA}"
        size = {len(PAYLOAD)}
        """))
    return path


def _no_download(url, output_file, pooch):  # pragma: no cover - the tests fail before any transfer
    raise AssertionError(f"downloaded {url}")


def test_damaged_file_mirror_does_not_say_try_again(tmp_path):
    """A file:// mirror whose copy is damaged: the error said "the download was corrupted or the file changed on
    the server; try again", but trying again reads the same bytes. It now says to copy the file again."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "toy.bin").write_bytes(PAYLOAD[:-1] + b"x")
    manifest = _manifest(tmp_path / "m", (mirror / "toy.bin").as_uri())
    with pytest.raises(ChecksumError) as info:
        fetch(manifest, cache_dir=tmp_path / "cache")
    message = str(info.value)
    assert f"expected {SHA}" in message and "The downloaded file was deleted" in message
    assert "try again" not in message and "server" not in message
    assert "trying again reads the same file" in message and "check the manifest's checksum" in message
    left = [p.name for p in (tmp_path / "cache" / "data" / "toy").iterdir() if not p.name.endswith(".lock")]
    assert left == []  # nothing cached from it


def test_cache_entry_that_is_a_folder_is_named_not_a_traceback(tmp_path):
    """The cache entry's name taken by a folder (an archive extracted there by hand): a bare
    "IsADirectoryError: [Errno 21] Is a directory" came out of the hashing. Now a DataError names the folder and
    what to do, and the folder is left as it was."""
    cache = tmp_path / "cache"
    entry = cache / "data" / "toy" / "toy.bin"
    entry.mkdir(parents=True)
    (entry / "kept.txt").write_text("mine")
    manifest = _manifest(tmp_path / "m", "http://127.0.0.1:9/toy.bin")
    with pytest.raises(DataError, match=r"Cannot use the cache entry .*toy\.bin: it is a folder, not the file "
                                        r"toy\.bin.*Move it away, or set cache_dir"):
        fetch(manifest, cache_dir=cache, downloader=_no_download)
    assert (entry / "kept.txt").read_text() == "mine"


@pytest.mark.parametrize("where", ["cache", "entry_folder"])
def test_cache_folder_that_is_a_file_is_named_not_a_traceback(tmp_path, where):
    """cache_dir= (or the entry's folder under it) naming a file: fetch raised a bare
    "NotADirectoryError: [Errno 20] Not a directory: '<cache>/data/toy'" (or "FileExistsError"). Now a
    DataError names the file and what to set."""
    cache = tmp_path / "cache"
    blocker = cache if where == "cache" else cache / "data" / "toy"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a folder")
    manifest = _manifest(tmp_path / "m", "http://127.0.0.1:9/toy.bin")
    with pytest.raises(DataError, match=rf"into .*toy: {blocker} is a file, not a folder\. Set cache_dir "
                                        r"\(TOOLKIT_CACHE_DIR\) to a folder"):
        fetch(manifest, cache_dir=cache, downloader=_no_download)
    assert blocker.read_text() == "not a folder"
