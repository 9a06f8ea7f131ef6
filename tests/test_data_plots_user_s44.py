"""Session 44, a user on a fresh machine getting data (offline folder, cache, verified download) and a notebook
user plotting. Offline: small manifests of the test's own and real data from ../shared/data, read in place."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_fetch import PAYLOAD, SHA  # the manifests' file and its checksum
from test_fetch import _manifest as _fetch_manifest
from typer.testing import CliRunner

from toolkit.data.datasets import fetch
from toolkit.exceptions import DataError


def _manifest(folder: Path, name="toy", url="http://127.0.0.1:9/toy.bin") -> Path:
    """A one-file manifest of PAYLOAD (test_fetch's, with its url given by position or name)."""
    return _fetch_manifest(folder, name, url=url)


class _NoNetwork:
    """A pooch-style downloader that fails as an offline machine does, counting its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, url, output_file, pooch):
        self.calls += 1
        raise ConnectionError("no network in this test")


@pytest.fixture
def read_only():
    """``read_only(folder)``: make ``folder`` (and what it holds) unwritable, undone after the test.

    chmod for a user; for root, whom modes do not stop, the immutable attribute (chattr +i). Skipped where
    neither stops a write.
    """
    done = []

    def undo(folder):
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-R", "-i", str(folder)], capture_output=True, check=False)
        else:
            for path in [folder, *folder.rglob("*")]:
                if path.is_dir():
                    path.chmod(0o755)

    def make(folder: Path) -> Path:
        if os.geteuid() == 0:
            if shutil.which("chattr") is None:
                pytest.skip("root needs chattr to make a folder read-only")
            subprocess.run(["chattr", "-R", "+i", str(folder)], capture_output=True, check=False)
        else:
            for path in [*folder.rglob("*"), folder]:
                if path.is_dir():
                    path.chmod(0o555)
        done.append(folder)
        try:
            (folder / "probe").touch()
        except OSError:
            return folder
        (folder / "probe").unlink()
        pytest.skip("cannot make a folder read-only here")

    yield make
    for folder in done:
        undo(folder)


# ------------------------------------------------------------------ a cache shared read-only


def _shared_cache(tmp_path: Path, content: bytes | None) -> Path:
    """A cache filled by hand (copied, so without the stamps fetch writes): data/toy/toy.bin holds ``content``."""
    cache = tmp_path / "shared cache"
    (cache / "data" / "toy").mkdir(parents=True)
    if content is not None:
        (cache / "data" / "toy" / "toy.bin").write_bytes(content)
    return cache


def test_fetch_from_a_read_only_cache_uses_its_good_copy_without_a_lock(tmp_path, read_only):
    """Before, fetch stopped with "PermissionError: [Errno 13] Permission denied: '.../toy.bin.lock'"
    (EPERM for root): the lock file could not be made, although the file there was right."""
    manifest = _manifest(tmp_path / "m")
    cache = read_only(_shared_cache(tmp_path, PAYLOAD))
    offline = _NoNetwork()
    for _ in range(2):  # the second time from the process's memo, still without writing
        assert fetch(manifest, cache_dir=cache, downloader=offline) == cache / "data" / "toy" / "toy.bin"
    assert offline.calls == 0
    assert sorted(p.name for p in (cache / "data" / "toy").iterdir()) == ["toy.bin"]


def test_fetch_from_a_read_only_cache_with_a_damaged_or_no_copy_says_what_to_do(tmp_path, read_only):
    """Before, the same PermissionError on the lock file, naming neither the problem nor the checksum."""
    manifest = _manifest(tmp_path / "m")
    cache = read_only(_shared_cache(tmp_path, PAYLOAD[:-10]))
    with pytest.raises(DataError, match=r"(?s)Cannot download http://127.0.0.1:9/toy.bin into .*shared cache.*toy: "
                                        r"the folder cannot be written .*The copy of toy.bin there has sha256 "
                                        rf"[0-9a-f]{{64}}, not {SHA}: it is damaged.*Set cache_dir "
                                        r"\(TOOLKIT_CACHE_DIR\) to a writable folder.*its sha256 must be " + SHA):
        fetch(manifest, cache_dir=cache, downloader=_NoNetwork())
    empty = read_only(_shared_cache(tmp_path / "other", None))
    with pytest.raises(DataError, match=r"the folder cannot be written .*\)\. Set cache_dir"):
        fetch(manifest, cache_dir=empty, downloader=_NoNetwork())


def test_cli_data_fetch_from_a_read_only_cache_prints_the_path(tmp_path, read_only, monkeypatch):
    """The command's own warning says "what it already holds is used"; before, it then failed with
    "Error: [Errno 1] Operation not permitted: '.../toy.bin.lock'"."""
    from toolkit.cli import app

    _manifest(tmp_path / "m")
    monkeypatch.setenv("TOOLKIT_MANIFEST_DIR", str(tmp_path / "m"))
    cache = read_only(_shared_cache(tmp_path, PAYLOAD))
    result = CliRunner().invoke(app, ["data", "fetch", "toy", "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(cache / "data" / "toy" / "toy.bin")
    assert "Error" not in result.stderr


def test_cli_data_info_and_fetch_take_a_manifest_file_as_fetch_does(tmp_path):
    """fetch(name) takes "the path to a manifest .toml file"; before, the commands refused it as "a file, not a
    data manifest name" and sent the user to `toolkit train --data toy.toml`."""
    import json

    from toolkit.cli import app

    manifest = _manifest(tmp_path / "m")
    data = tmp_path / "offline"
    data.mkdir()
    (data / "toy.bin").write_bytes(PAYLOAD)
    runner = CliRunner()
    info = runner.invoke(app, ["data", "info", str(manifest), "--data-dir", str(data)])
    assert info.exit_code == 0, info.output
    assert json.loads(info.stdout)["status"] == "offline"
    got = runner.invoke(app, ["data", "fetch", str(manifest), "--data-dir", str(data)])
    assert got.exit_code == 0, got.output
    assert got.stdout.strip() == str(data / "toy.bin")
    (tmp_path / "notes.toml").write_text('title = "my notes"\n')
    wrong = runner.invoke(app, ["data", "info", str(tmp_path / "notes.toml")])
    assert wrong.exit_code == 1
    assert "Invalid manifest" in wrong.stderr and "field 'name' is missing" in wrong.stderr


# ------------------------------------------------------------------ a web page instead of the file


_LOGIN_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Network login</title></head>"
               b"<body>Please sign in to use the network.</body></html>\n")


@pytest.fixture
def login_page_server():
    """A loopback server on 127.0.0.1 that answers every GET with "200 OK" and an HTML login page."""
    import http.server
    import threading

    requests = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(_LOGIN_PAGE)))
            self.end_headers()
            self.wfile.write(_LOGIN_PAGE)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


def test_fetch_of_a_login_page_says_it_is_a_web_page_not_to_try_again(tmp_path, login_page_server):
    """Before, "incomplete or wrong: 109 bytes, expected 300,000 ... not retried, since the transfer ended
    without an error" (with a size) or "The download was corrupted ...; try again" (without): trying again
    fetched the same page."""
    from toolkit.data._download import download_verified
    from toolkit.exceptions import ChecksumError

    base, requests = login_page_server
    manifest = _manifest(tmp_path / "m", url=f"{base}/toy.bin")
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=rf"incomplete or wrong: 1\d\d bytes, expected {len(PAYLOAD):,}\..* The server sent a "
                                        r"web page \(HTML\), not the file: a login page .*Open the URL in a "
                                        rf"browser.*offline data folder .*its sha256 must be {SHA}\."):
        fetch(manifest, cache_dir=cache)
    with pytest.raises(ChecksumError, match=r"(?s)actual   [0-9a-f]{64}\nThe downloaded file was deleted\. The "
                                            r"server sent a web page \(HTML\)"):
        download_verified(f"{base}/f.bin", cache / "f.bin", known_hash=f"sha256:{SHA}")
    assert len(requests) == 2  # neither retried
    assert sorted(p.name for p in cache.rglob("*") if not p.name.endswith(".lock") and p.is_file()) == []


def test_fetch_of_a_wrong_file_that_is_no_web_page_keeps_its_advice(tmp_path):
    from toolkit.data._download import download_verified
    from toolkit.exceptions import ChecksumError

    def lookalike(url, output_file, pooch):
        output_file.write(b"<" + PAYLOAD[1:])  # starts with "<" but holds no <html

    with pytest.raises(ChecksumError, match=r"The download was corrupted or the file changed on the server; try "
                                            r"again") as caught:
        download_verified("http://127.0.0.1:9/f.bin", tmp_path / "f.bin", known_hash=f"sha256:{SHA}",
                          downloader=lookalike)
    assert "web page" not in str(caught.value)


# ------------------------------------------------------------------ plots: training resumed at a later epoch


class _ResumedHistory:
    """What ``model.fit(x, y, initial_epoch=3, epochs=8, validation_split=0.25, validation_freq=2)`` returns
    (checked with Keras 3: ``epoch == [3, 4, 5, 6, 7]``, 5 values of loss, 3 of val_loss: epochs 4, 6, 8)."""

    def __init__(self):
        self.epoch = [3, 4, 5, 6, 7]
        self.params = {"epochs": 8, "verbose": 0, "steps": 2}
        self.history = {"loss": [0.50, 0.46, 0.43, 0.41, 0.40], "accuracy": [0.75, 0.78, 0.80, 0.81, 0.82],
                        "val_loss": [0.52, 0.47, 0.45], "val_accuracy": [0.74, 0.77, 0.79]}


def test_plot_history_of_a_resumed_training_draws_its_own_epochs(caplog):
    """Before, epochs 4-8 of fit(initial_epoch=3) were drawn at 1-5, and their validation (at 4, 6, 8) at 1-3
    with a warning that the epochs were unknown."""
    import logging

    from toolkit.plots import plot_history

    with caplog.at_level(logging.WARNING, logger="toolkit.plots"):
        fig = plot_history(_ResumedHistory())
    for ax in fig.axes:
        train, val = ax.lines
        assert train.get_xdata().tolist() == [4, 5, 6, 7, 8]
        assert val.get_xdata().tolist() == [4, 6, 8]
    assert caplog.text == ""
    every_epoch = _ResumedHistory()
    every_epoch.history = {"loss": [0.5, 0.4, 0.3], "val_loss": [0.6, 0.5, 0.45]}
    every_epoch.epoch = [10, 11, 12]
    (ax,) = plot_history(every_epoch, metrics="loss").axes
    assert [line.get_xdata().tolist() for line in ax.lines] == [[11, 12, 13], [11, 12, 13]]


def test_plot_history_of_a_csv_logger_file_of_a_resumed_training_draws_its_epochs(tmp_path):
    """A CSVLogger file (0-based "epoch" column) of epochs 6-8: drawn at 1-3 before. Two runs in one file (the
    epochs start again) keep 1, 2, ..."""
    pd = pytest.importorskip("pandas")
    from toolkit.plots import plot_history

    (tmp_path / "log.csv").write_text("epoch,accuracy,loss,val_accuracy,val_loss\n5,0.8,0.42,0.78,0.46\n"
                                      "6,0.81,0.41,0.79,0.45\n7,0.82,0.40,0.79,0.44\n")
    fig = plot_history(pd.read_csv(tmp_path / "log.csv"))
    assert [line.get_xdata().tolist() for line in fig.axes[0].lines] == [[6, 7, 8], [6, 7, 8]]
    twice = pd.DataFrame({"epoch": [0, 1, 0, 1], "loss": [0.7, 0.6, 0.69, 0.58]})
    (ax,) = plot_history(twice, metrics="loss").axes
    assert ax.lines[0].get_xdata().tolist() == [1, 2, 3, 4]


def test_a_fetch_waiting_for_another_download_of_the_file_says_so(tmp_path, caplog):
    """A second `toolkit data fetch` of a file another process downloads sat silent for the length of that
    download (the line saying why was logged at INFO, which the command does not show without -v)."""
    import logging
    import threading
    import time

    from toolkit.data._download import file_lock

    manifest = _manifest(tmp_path / "m")
    cache = tmp_path / "cache"
    lock = cache / "data" / "toy" / "toy.bin.lock"
    results = []

    def online(url, output_file, pooch):
        output_file.write(PAYLOAD)

    caplog.set_level(logging.WARNING, logger="toolkit.data._download")
    with file_lock(lock):  # "another process" downloading it
        thread = threading.Thread(target=lambda: results.append(fetch(manifest, cache_dir=cache, downloader=online)))
        thread.start()
        deadline = time.monotonic() + 20
        while not any("Waiting" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
            time.sleep(0.02)
    thread.join(timeout=60)
    waiting = [r for r in caplog.records if "Waiting" in r.getMessage()]
    assert len(waiting) == 1 and waiting[0].levelno == logging.WARNING, caplog.text
    assert waiting[0].getMessage() == (f"Waiting for another process to finish with {lock}: it is downloading the "
                                       "same file")
    assert results == [cache / "data" / "toy" / "toy.bin"]


# ------------------------------------------------------------------ a manifest whose url is a file:// mirror


@pytest.fixture
def retry_sleeps(monkeypatch):
    """pooch's retry back-off (time.sleep in pooch.core), recorded instead of slept."""
    import types

    import pooch.core

    sleeps = []
    monkeypatch.setattr(pooch.core, "time", types.SimpleNamespace(sleep=sleeps.append))
    return sleeps


def test_fetch_copies_a_file_url_that_manifests_accept(tmp_path, retry_sleeps):
    """Manifests accept file:// URLs (a mirror on a shared drive); before, requests answered "No connection
    adapters were found for 'file:///...'", three times, and the error said to check the network."""
    mirror = tmp_path / "mirror drive"
    mirror.mkdir()
    (mirror / "toy.bin").write_bytes(PAYLOAD)
    manifest = _manifest(tmp_path / "m", url=(mirror / "toy.bin").as_uri())
    path = fetch(manifest, cache_dir=tmp_path / "cache")
    assert path == tmp_path / "cache" / "data" / "toy" / "toy.bin" and path.read_bytes() == PAYLOAD
    assert retry_sleeps == []


def test_fetch_of_a_missing_or_damaged_file_url_says_so_and_leaves_nothing(tmp_path, retry_sleeps):
    from toolkit.exceptions import ChecksumError

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    missing = _manifest(tmp_path / "m1", url=(mirror / "toy.bin").as_uri())
    with pytest.raises(DataError, match=r"Cannot read .*mirror/toy.bin, the file of the URL file://.*toy.bin: No "
                                        r"such file or directory\. Check the path in the manifest's url, and that "
                                        r"its drive is mounted"):
        fetch(missing, cache_dir=tmp_path / "cache")
    assert retry_sleeps == []  # the same path fails the same way: not retried
    (mirror / "toy.bin").write_bytes(PAYLOAD[:-1] + b"x")
    with pytest.raises(ChecksumError, match=rf"(?s)expected {SHA}\n  actual   [0-9a-f]{{64}}\nThe downloaded file "
                                            r"was deleted"):
        fetch(missing, cache_dir=tmp_path / "cache")
    assert [p.name for p in (tmp_path / "cache" / "data" / "toy").iterdir() if not p.name.endswith(".lock")] == []
