"""fetch(): offline folder, cache, verified download. Never touches the internet:
a fake downloader or a loopback HTTP server on 127.0.0.1."""

from __future__ import annotations

import errno
import hashlib
import http.server
import logging
import os
import re
import resource
import subprocess
import sys
import textwrap
import threading
import time
import types
from pathlib import Path

import pytest

import toolkit.data._download as download
from toolkit.data.datasets import fetch
from toolkit.exceptions import ChecksumError, DataError

PAYLOAD = os.urandom(300_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


@pytest.fixture(autouse=True)
def retry_sleeps(monkeypatch):
    """pooch's retry back-off (time.sleep in pooch.core), recorded instead of slept."""
    import pooch.core

    sleeps = []
    monkeypatch.setattr(pooch.core, "time", types.SimpleNamespace(sleep=sleeps.append))
    return sleeps


def _manifest(folder: Path, name="toy", *, url="http://127.0.0.1:9/toy.bin", hash_line=f'sha256 = "{SHA}"',
              size=len(PAYLOAD), local_names=("toy.bin",)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    names = ", ".join(f'"{n}"' for n in local_names)
    path.write_text(textwrap.dedent(f"""\
        name = "{name}"
        description = "test resource"
        license = "CC0"
        citation = "none"
        homepage = "http://127.0.0.1/"
        format = "text"
        checksum_source = "computed by the test"
        local_names = [{names}]

        [[files]]
        filename = "toy.bin"
        url = "{url}"
        {hash_line}
        size = {size}
        """))
    return path


def _write(output_file, data):
    """Write as pooch's downloaders do: ``output_file`` is a path or a binary file object."""
    if hasattr(output_file, "write"):
        output_file.write(data)
    else:
        with open(output_file, "ab") as fh:
            fh.write(data)


class FakeDownloader:
    """pooch-style downloader(url, output_file, pooch) writing given bytes."""

    def __init__(self, payload=PAYLOAD, fail_after=None):
        self.payload = payload
        self.fail_after = fail_after
        self.calls = []

    def __call__(self, url, output_file, pooch):
        self.calls.append((url, getattr(output_file, "name", output_file)))
        if self.fail_after is not None:
            _write(output_file, self.payload[: self.fail_after])
            raise ConnectionError("connection reset by peer")
        _write(output_file, self.payload)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".lock"))


# ------------------------------------------------------------------ offline data folder


def test_fetch_real_data_folder_verified_by_sha256sums(data_dir_env):
    assert fetch("imdb") == data_dir_env / "aclImdb_v1.tar.gz"
    assert fetch("glove.6B.50d") == data_dir_env / "glove.6B.50d.txt.gz"


def test_fetch_data_folder_checksum_mismatch(tmp_path):
    manifest = _manifest(tmp_path / "m")
    data = tmp_path / "data"
    data.mkdir()
    (data / "toy.bin").write_bytes(PAYLOAD + b"tampered")
    (data / "SHA256SUMS").write_text(f"{SHA}  toy.bin\n")
    with pytest.raises(ChecksumError, match=rf"(?s)toy.bin.*expected {SHA}\n  actual   [0-9a-f]{{64}}"):
        fetch(manifest, data_dir=data)


def test_fetch_data_folder_unlisted_file_checked_against_manifest(tmp_path, caplog):
    manifest = _manifest(tmp_path / "m")
    data = tmp_path / "data"
    data.mkdir()
    (data / "toy.bin").write_bytes(PAYLOAD)
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        assert fetch(manifest, data_dir=data) == data / "toy.bin"
    assert caplog.text == ""
    (data / "toy.bin").write_bytes(b"a repackaged copy")
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        assert fetch(manifest, data_dir=data) == data / "toy.bin"
    assert "does not match the official sha256" in caplog.text


def test_fetch_data_folder_alternative_name_unverified_warns(tmp_path, caplog):
    manifest = _manifest(tmp_path / "m", local_names=("toy.txt.gz", "toy.bin"))
    data = tmp_path / "data"
    data.mkdir()
    (data / "toy.txt.gz").write_bytes(b"x")
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        assert fetch(manifest, data_dir=data) == data / "toy.txt.gz"
    assert "using it unverified" in caplog.text


def test_fetch_data_folder_bad_sha256sums_line(tmp_path):
    manifest = _manifest(tmp_path / "m")
    data = tmp_path / "data"
    data.mkdir()
    (data / "toy.bin").write_bytes(PAYLOAD)
    (data / "SHA256SUMS").write_text("not-a-hash toy.bin\n")
    with pytest.raises(DataError, match="SHA256SUMS, line 1: expected '<64 hex digits>  <file name>'"):
        fetch(manifest, data_dir=data)


def test_fetch_missing_data_folder(tmp_path):
    with pytest.raises(DataError, match="The data folder .*nope .*data_dir.* does not exist"):
        fetch("imdb", data_dir=tmp_path / "nope")


def test_fetch_falls_back_to_download_when_not_in_folder(tmp_path):
    manifest = _manifest(tmp_path / "m")
    (tmp_path / "data").mkdir()
    fake = FakeDownloader()
    path = fetch(manifest, data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", downloader=fake)
    assert path == tmp_path / "cache" / "data" / "toy" / "toy.bin"
    assert len(fake.calls) == 1


# ------------------------------------------------------------------ download into the cache


def test_fetch_download_verified_then_cached(tmp_path):
    manifest = _manifest(tmp_path / "m")
    fake = FakeDownloader()
    path = fetch(manifest, cache_dir=tmp_path / "cache", downloader=fake)
    assert path.read_bytes() == PAYLOAD
    assert fake.calls[0][0] == "http://127.0.0.1:9/toy.bin"
    assert Path(fake.calls[0][1]).parent == path.parent  # temp file in the same folder
    assert fetch(manifest, cache_dir=tmp_path / "cache", downloader=fake) == path
    assert len(fake.calls) == 1  # second call served from the cache
    assert _leftovers(path.parent) == ["toy.bin", "toy.bin.verified.json"]


def test_fetch_md5_manifest(tmp_path):
    manifest = _manifest(tmp_path / "m", hash_line=f'md5 = "{MD5}"')
    assert fetch(manifest, cache_dir=tmp_path / "c", downloader=FakeDownloader()).read_bytes() == PAYLOAD


def test_fetch_checksum_mismatch_leaves_nothing(tmp_path):
    manifest = _manifest(tmp_path / "m")
    bad = FakeDownloader(payload=b"x" * len(PAYLOAD))
    with pytest.raises(ChecksumError, match=rf"(?s)expected {SHA}\n  actual   {hashlib.sha256(bad.payload).hexdigest()}\n"
                                             r".*downloaded file was deleted"):
        fetch(manifest, cache_dir=tmp_path / "cache", downloader=bad)
    assert len(bad.calls) == 1  # a complete but wrong file is not retried
    assert _leftovers(tmp_path / "cache") == []


def test_fetch_interrupted_transfer_leaves_nothing(tmp_path, retry_sleeps):
    manifest = _manifest(tmp_path / "m")
    broken = FakeDownloader(fail_after=1000)
    with pytest.raises(DataError, match=r"Could not download .*: 3 attempts failed, the last with "
                                        r"ConnectionError: connection reset by peer"):
        fetch(manifest, cache_dir=tmp_path / "cache", downloader=broken)
    assert len(broken.calls) == 3
    assert retry_sleeps == [1, 2]  # pooch's back-off
    assert _leftovers(tmp_path / "cache") == []
    # the next run downloads cleanly
    assert fetch(manifest, cache_dir=tmp_path / "cache", downloader=FakeDownloader()).read_bytes() == PAYLOAD


def test_fetch_size_mismatch_is_incomplete(tmp_path):
    manifest = _manifest(tmp_path / "m")
    short = FakeDownloader(payload=PAYLOAD[:-10])
    with pytest.raises(DataError, match=r"incomplete or wrong: 299,990 bytes, expected 300,000.*not retried"):
        fetch(manifest, cache_dir=tmp_path / "cache", downloader=short)
    assert len(short.calls) == 1  # the transfer ended without an error: a wrong body, not a network failure
    assert _leftovers(tmp_path / "cache") == []


def test_fetch_stale_partial_file_removed_and_tampered_cache_replaced(tmp_path):
    manifest = _manifest(tmp_path / "m")
    folder = tmp_path / "cache" / "data" / "toy"
    folder.mkdir(parents=True)
    (folder / "tmpk1lled00").write_bytes(PAYLOAD[:500])  # pooch's temp file, left by a run killed hours ago
    os.utime(folder / "tmpk1lled00", (0, 0))
    (folder / "tmpl1ve0000").write_bytes(PAYLOAD[:500])  # fresh: may be another process's live download
    (folder / "toy.bin").write_bytes(b"corrupted")  # same name, wrong content, no stamp
    path = fetch(manifest, cache_dir=tmp_path / "cache", downloader=FakeDownloader())
    assert path.read_bytes() == PAYLOAD
    assert _leftovers(folder) == ["tmpl1ve0000", "toy.bin", "toy.bin.verified.json"]


def test_fetch_no_published_checksum_refuses_unverified(tmp_path):
    manifest = _manifest(tmp_path / "m", hash_line="")
    with pytest.raises(DataError, match=r"No checksum is published for toy.bin .*Pass known_hash="):
        fetch(manifest, cache_dir=tmp_path / "cache", downloader=FakeDownloader())
    path = fetch(manifest, cache_dir=tmp_path / "cache", downloader=FakeDownloader(), known_hash=f"sha256:{SHA}")
    assert path.read_bytes() == PAYLOAD


def test_fetch_bad_known_hash(tmp_path):
    manifest = _manifest(tmp_path / "m", hash_line="")
    with pytest.raises(ValueError, match="is not a sha256 digest"):
        fetch(manifest, cache_dir=tmp_path / "c", downloader=FakeDownloader(), known_hash="sha256:abc")


# ------------------------------------------------------------------ loopback HTTP server


class _Handler(http.server.BaseHTTPRequestHandler):
    payload = PAYLOAD
    mode = "ok"  # "ok" | "truncate" | "slow" | "404" | "huge" | "endless"
    requests: list = []
    sent = 0

    def do_GET(self):  # noqa: N802 - http.server API
        type(self).requests.append(self.path)
        if self.mode == "404":
            self.send_error(404, "Not Found")
            return
        if self.mode == "endless":  # a body that never ends, until the client hangs up
            self.send_response(200)
            self.end_headers()
            try:
                while True:
                    self.wfile.write(bytes(1 << 16))
                    type(self).sent += 1 << 16
            except OSError:
                return
        if self.mode == "huge":  # a different, 50 MB file: counts what the client accepted
            self.send_response(200)
            self.send_header("Content-Length", str(50 << 20))
            self.end_headers()
            try:
                for _ in range(50 << 20 >> 16):
                    self.wfile.write(bytes(1 << 16))
                    type(self).sent += 1 << 16
            except OSError:
                pass  # the client hung up
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        if self.mode == "truncate":
            self.wfile.write(self.payload[: len(self.payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        step = 30_000
        for i in range(0, len(self.payload), step):
            self.wfile.write(self.payload[i : i + step])
            if self.mode == "slow":
                time.sleep(0.05)

    def log_message(self, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client killed mid-transfer is expected here; no traceback on stderr


@pytest.fixture
def http_server():
    """A loopback server on 127.0.0.1 that stops after the test (or after 60 s)."""
    _Handler.requests = []
    _Handler.mode = "ok"
    _Handler.sent = 0
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    server.timeout = 1
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    killer = threading.Timer(60, server.shutdown)
    killer.daemon = True
    killer.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    killer.cancel()
    server.shutdown()
    server.server_close()


def test_fetch_http_download_with_pooch(tmp_path, http_server):
    _, base = http_server
    manifest = _manifest(tmp_path / "m", url=f"{base}/toy.bin")
    path = fetch(manifest, cache_dir=tmp_path / "cache")
    assert path.read_bytes() == PAYLOAD
    assert _Handler.requests == ["/toy.bin"]


def test_fetch_http_interrupted_transfer(tmp_path, http_server):
    _, base = http_server
    _Handler.mode = "truncate"
    manifest = _manifest(tmp_path / "m", url=f"{base}/toy.bin")
    with pytest.raises(DataError, match=r"Could not download http://127.0.0.1:\d+/toy.bin: 3 attempts failed"):
        fetch(manifest, cache_dir=tmp_path / "cache")
    assert len(_Handler.requests) == 3
    assert _leftovers(tmp_path / "cache") == []


def _fetch_command(tmp_path, base, mode):
    """A ``toy`` manifest served in ``mode``, and (argv, env) of a fresh process fetching it into tmp_path/cache."""
    _Handler.mode = mode
    manifests = tmp_path / "m"
    _manifest(manifests, url=f"{base}/toy.bin")
    env = {**os.environ, "TOOLKIT_MANIFEST_DIR": str(manifests), "PYTHONPATH": str(Path(__file__).parents[1])}
    script = "import sys; from toolkit.data.datasets import fetch; print(fetch('toy', cache_dir=sys.argv[1]))"
    return [sys.executable, "-c", script, str(tmp_path / "cache")], env


def test_fetch_concurrent_processes_end_with_one_good_file(tmp_path, http_server):
    _, base = http_server
    argv, env = _fetch_command(tmp_path, base, "slow")  # ~0.5 s per download, so the two runs overlap
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    paths = {out.strip() for out, _ in outs}
    assert len(paths) == 1
    path = Path(paths.pop())
    assert path.read_bytes() == PAYLOAD
    assert _Handler.requests == ["/toy.bin"]  # the second process waited and reused the file
    assert _leftovers(path.parent) == ["toy.bin", "toy.bin.verified.json"]


def test_fetch_killed_process_leaves_nothing_mistaken_for_good(tmp_path, http_server):
    _, base = http_server
    argv, env = _fetch_command(tmp_path, base, "slow")
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    folder = tmp_path / "cache" / "data" / "toy"
    deadline = time.monotonic() + 30
    while not list(folder.glob("tmp????????")) and time.monotonic() < deadline:
        time.sleep(0.02)  # wait until the transfer has started
    assert list(folder.glob("tmp????????")), "the download never started"
    proc.kill()
    proc.wait(timeout=30)
    assert not (folder / "toy.bin").exists()  # only pooch's temporary file may remain
    _Handler.mode = "ok"
    assert fetch(tmp_path / "m" / "toy.toml", cache_dir=tmp_path / "cache").read_bytes() == PAYLOAD
    assert [n for n in _leftovers(folder) if not n.startswith("tmp")] == ["toy.bin", "toy.bin.verified.json"]


def test_fetch_data_folder_hash_remembered_in_cache(tmp_path, monkeypatch):
    import toolkit.data.datasets as datasets

    manifest = _manifest(tmp_path / "m")
    data = tmp_path / "data"
    data.mkdir()
    (data / "toy.bin").write_bytes(PAYLOAD)
    (data / "SHA256SUMS").write_text(f"{SHA} *toy.bin\n")
    assert fetch(manifest, data_dir=data, cache_dir=tmp_path / "c") == data / "toy.bin"
    assert len(list((tmp_path / "c" / "data" / "verified").glob("*.json"))) == 1
    datasets._HASH_MEMO.clear()

    def no_hashing(*args):
        raise AssertionError("hashed again")

    monkeypatch.setattr(datasets, "hash_file", no_hashing)
    assert fetch(manifest, data_dir=data, cache_dir=tmp_path / "c") == data / "toy.bin"  # a later process
    monkeypatch.undo()
    (data / "toy.bin").write_bytes(PAYLOAD[::-1])  # changed content: the stamp no longer applies
    os.utime(data / "toy.bin", ns=(1, 1))
    with pytest.raises(ChecksumError, match="SHA256 checksum mismatch"):
        fetch(manifest, data_dir=data, cache_dir=tmp_path / "c")


# ------------------------------------------------------------------ download failures (issues 14 and 15)


def test_fetch_http_404_is_not_retried_and_gives_the_checksum(tmp_path, http_server, retry_sleeps):
    _, base = http_server
    _Handler.mode = "404"
    manifest = _manifest(tmp_path / "m", url=f"{base}/gone.bin")
    with pytest.raises(DataError, match=rf"(?s)Could not download {base}/gone.bin: the server answered HTTP 404 .*"
                                        rf"not retried.*TOOLKIT_DATA_DIR.*its sha256 must be {SHA}"):
        fetch(manifest, cache_dir=tmp_path / "cache")
    assert _Handler.requests == ["/gone.bin"] and retry_sleeps == []
    assert _leftovers(tmp_path / "cache") == []


def test_fetch_http_larger_than_manifest_stops_early_and_is_not_retried(tmp_path, http_server):
    _, base = http_server
    _Handler.mode = "huge"
    manifest = _manifest(tmp_path / "m", url=f"{base}/toy.bin")
    with pytest.raises(DataError, match=r"larger than its manifest says: stopped after 365,536 bytes, expected "
                                        r"300,000.*not retried"):
        fetch(manifest, cache_dir=tmp_path / "cache")
    assert _Handler.requests == ["/toy.bin"]
    time.sleep(0.5)  # let the server notice the hang-up
    assert _Handler.sent < 20 << 20  # of 50 MB; what is left is what the sockets buffered
    assert _leftovers(tmp_path / "cache") == []


def test_fetch_endless_body_stops_bounded_in_time_and_disk(tmp_path, http_server):
    """Bounded from outside: a subprocess with a time limit and a 32 MB cap on the files it writes."""
    _, base = http_server
    argv, env = _fetch_command(tmp_path, base, "endless")

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (32 << 20, 32 << 20))

    proc = subprocess.run(argv, env=env, timeout=90, capture_output=True, text=True, preexec_fn=limit_file_size)
    assert proc.returncode == 1, proc.stderr  # not killed by SIGXFSZ, not timed out
    assert "larger than its manifest says: stopped after 365,536 bytes, expected 300,000" in proc.stderr
    assert _Handler.requests == ["/toy.bin"]
    assert _leftovers(tmp_path / "cache") == []


def test_fetch_full_disk_is_a_disk_error_naming_the_folder(tmp_path, retry_sleeps):
    manifest = _manifest(tmp_path / "m")
    calls = []

    def disk_full(url, output_file, pooch):
        calls.append(url)
        _write(output_file, PAYLOAD[:1000])
        raise OSError(errno.ENOSPC, "No space left on device")

    folder = tmp_path / "cache" / "data" / "toy"
    with pytest.raises(DataError, match=rf"No space left on the disk of {re.escape(str(folder))} while downloading "
                                        r".*not a network one: free 300,000 bytes there, or set cache_dir"):
        fetch(manifest, cache_dir=tmp_path / "cache", downloader=disk_full)
    assert len(calls) == 1 and retry_sleeps == []
    assert _leftovers(tmp_path / "cache") == []


def test_fetch_offline_with_empty_cache_gives_url_and_checksum(tmp_path):
    manifest = _manifest(tmp_path / "m", url="http://127.0.0.1:9/toy.bin")  # port 9: nothing listens

    def offline(url, output_file, pooch):
        raise ConnectionError("Failed to resolve host: no network")

    with pytest.raises(DataError, match=rf"(?s)Could not download http://127.0.0.1:9/toy.bin: 3 attempts failed.*"
                                        rf"Check the network, or put a copy of toy.bin made by hand in an offline "
                                        rf"data folder \(TOOLKIT_DATA_DIR.*its sha256 must be {SHA}\."):
        fetch(manifest, cache_dir=tmp_path / "cache", downloader=offline)


def test_fetch_lock_is_released_when_the_holder_dies(tmp_path):
    lock = tmp_path / "toy.bin.lock"
    script = "import os, sys; from toolkit.data._download import file_lock\n" \
             "with file_lock(sys.argv[1]):\n    os._exit(9)  # dies holding the lock"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    assert subprocess.run([sys.executable, "-c", script, str(lock)], env=env, timeout=60).returncode == 9
    assert lock.exists()
    start = time.monotonic()
    with download.file_lock(lock, timeout=5):
        pass
    assert time.monotonic() - start < 2
    with download.file_lock(lock):  # held: a second holder times out with a toolkit error
        with pytest.raises(DataError, match=r"Timed out after 0 s waiting for the lock .*toy.bin.lock; another"):
            with download.file_lock(lock, timeout=0.2):
                pass



def test_fetch_pooch_retry_messages_obey_the_logging_configuration(tmp_path, retry_sleeps, caplog):
    """pooch's own lines ("Downloading file ...", "Failed to download ... Will attempt the download again")
    went to pooch's private stderr handler, outside the logging tree: ``toolkit -q`` and a library user's
    silenced logs still printed them. They now go through toolkit's logger: in the log at INFO, once, and
    pooch's own handler is back afterwards (stderr at the WARNING level: the next test, in a fresh process)."""
    import pooch

    class FlakyOnce(FakeDownloader):
        def __call__(self, url, output_file, pooch):
            self.fail_after = 10 if not self.calls else None
            super().__call__(url, output_file, pooch)

    manifest = _manifest(tmp_path / "m")
    handlers = pooch.get_logger().handlers[:]
    with caplog.at_level(logging.INFO, logger="toolkit"):
        assert fetch(manifest, cache_dir=tmp_path / "loud", downloader=FlakyOnce()).read_bytes() == PAYLOAD
    retried = [r for r in caplog.records if "Will attempt the download again 2 more times" in r.getMessage()]
    assert len(retried) == 1 and retried[0].levelno == logging.INFO
    assert pooch.get_logger().handlers == handlers


def test_fetch_retry_prints_nothing_when_logging_is_at_warning(tmp_path):
    """A fresh process with logging at WARNING (what ``toolkit -q``/the default CLI and a quiet notebook set)
    whose download fails once and then succeeds writes nothing to stderr. Before, pooch's handler wrote its
    "Failed to download ... Will attempt the download again" line."""
    manifest = _manifest(tmp_path / "m")
    script = textwrap.dedent(f"""
        import logging, os, types
        import pooch.core
        from toolkit.data.datasets import fetch
        pooch.core.time = types.SimpleNamespace(sleep=lambda s: None)  # pooch's back-off, not slept
        logging.basicConfig(level=logging.WARNING)
        payload = open({str(tmp_path / "payload")!r}, "rb").read()
        calls = []
        def flaky(url, output_file, pooch):
            calls.append(url)
            output_file.write(payload[:10] if len(calls) == 1 else payload)
            if len(calls) == 1:
                raise ConnectionError("connection reset by peer")
        assert fetch({str(manifest)!r}, cache_dir={str(tmp_path / "cache")!r}, downloader=flaky).read_bytes() == payload
        assert len(calls) == 2
    """)
    (tmp_path / "payload").write_bytes(PAYLOAD)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
