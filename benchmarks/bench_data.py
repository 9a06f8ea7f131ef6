"""How fast does the data stage read IMDB from its tarball, and download a file?

Part 1, ``load_imdb("train")`` on the 25,000 training reviews. Compared in the
same run, on the same machine, interleaved repeat by repeat:

- ``toolkit load_imdb (tar.gz stream)``: reads the .tar.gz once, front to
  back, without extracting (its in-process memo is cleared before every
  repeat, the on-disk parsed cache is off);
- ``tarfile stream loop``: the peer one writes by hand,
  ``tarfile.open(path, "r|gz")`` (streaming, no random access), iterate, read
  and decode the train/pos and train/neg members;
- ``load_imdb`` again with its on-disk parsed cache warm (what a later
  process pays);
- ``sklearn.datasets.load_files`` on an extracted copy (extracted once into a
  temporary folder, not timed), and ``load_imdb`` on that same folder.

All must return the same texts and labels (checked on the full set and on
``--check`` random documents drawn with ``--seed``).

Part 2 (``--download``), the download path: a loopback HTTP server (a separate
``python -m http.server`` process on 127.0.0.1) serves the IMDB tarball;
``toolkit.data._download.download_verified`` (lock, temporary file, size and
SHA-256 checks, atomic rename) is timed against plain ``pooch.retrieve`` with
the same known hash, each into a fresh folder.

Usage::

    python benchmarks/bench_data.py --seed 0 --repeats 3 --download

The results JSON records the command line and the git commit of the code
measured (``TOOLKIT_BENCH_COMMIT`` overrides it for a copy without ``.git``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import print_table, timer, write_results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import toolkit.data.datasets as datasets  # noqa: E402
from toolkit.data.archives import extract_tar  # noqa: E402


def _clear_memo():
    memo = datasets._IMDB_MEMO
    memo.clear()


def toolkit_tarball(path):
    _clear_memo()
    ds = datasets.load_imdb("train", path=path, cache=False)
    return ds.texts, ds.labels


def toolkit_parsed_cache(path, cache_dir):
    """What a later process pays: the in-process memo is empty, the on-disk parsed cache is warm."""
    _clear_memo()
    ds = datasets.load_imdb("train", path=path, cache_dir=cache_dir)
    return ds.texts, ds.labels


def toolkit_folder(folder):
    _clear_memo()
    ds = datasets.load_imdb("train", path=folder, cache=False)
    return ds.texts, ds.labels


def tarfile_stream_loop(path):
    """The hand-written peer: one streaming pass with tarfile (``r|gz``), keep train pos/neg."""
    found = []
    with tarfile.open(path, "r|gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if member.isfile() and len(parts) == 4 and parts[1] == "train" and parts[2] in ("neg", "pos"):
                text = tar.extractfile(member).read().decode("utf-8")
                found.append((parts[2] == "pos", int(parts[3].split("_")[0]), text))
    found.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in found], np.array([int(r[0]) for r in found])


def sklearn_load_files(folder):
    from sklearn.datasets import load_files

    bunch = load_files(str(Path(folder) / "aclImdb" / "train"), categories=["neg", "pos"], encoding="utf-8",
                       shuffle=False)
    return bunch.data, bunch.target, bunch.filenames


def _summarise(times, cpu, base_name):
    base = statistics.median(times[base_name])
    return [
        {
            "reader": name,
            "median_s": statistics.median(times[name]),
            "min_s": min(times[name]),
            "cpu_s": statistics.median(cpu[name]),
            f"vs_{base_name.split()[0]}": statistics.median(times[name]) / base,
        }
        for name in times
    ]


def bench_read(tarball: Path, args, rng) -> tuple[list, object]:
    with tempfile.TemporaryDirectory(prefix="bench_data_") as tmp:
        with timer() as t_extract:
            extract_tar(tarball, Path(tmp) / "x", select=lambda n: n.startswith(("aclImdb/train/pos/", "aclImdb/train/neg/")))
        folder = Path(tmp) / "x"
        print(f"extracted train/pos+neg once in {t_extract.seconds:.2f} s (not timed below)", file=sys.stderr)

        toolkit_parsed_cache(tarball, tmp)  # warm the on-disk parsed cache (not timed)
        runs = {
            "toolkit load_imdb (tar.gz stream)": lambda: toolkit_tarball(tarball),
            "tarfile stream loop (r|gz, peer)": lambda: tarfile_stream_loop(tarball),
            "toolkit load_imdb (parsed cache, new process)": lambda: toolkit_parsed_cache(tarball, tmp),
            "toolkit load_imdb (extracted folder)": lambda: toolkit_folder(folder),
            "sklearn load_files (extracted folder)": lambda: sklearn_load_files(folder),
        }
        times = {name: [] for name in runs}
        cpu = {name: [] for name in runs}
        outputs = {}
        for _ in range(args.repeats):
            for name, fn in runs.items():  # interleaved, so load drifts hit all alike
                with timer() as t:
                    outputs[name] = fn()
                times[name].append(t.seconds)
                cpu[name].append(t.cpu_seconds)

        # same answer from all of them
        ref_texts, ref_labels = outputs["toolkit load_imdb (tar.gz stream)"]
        assert len(ref_texts) == 25_000 and np.bincount(ref_labels).tolist() == [12_500, 12_500]
        for name in ("tarfile stream loop (r|gz, peer)", "toolkit load_imdb (extracted folder)",
                     "toolkit load_imdb (parsed cache, new process)"):
            texts, labels = outputs[name]
            assert list(texts) == list(ref_texts) and np.array_equal(labels, ref_labels), name
        sk_texts, sk_labels, sk_files = outputs["sklearn load_files (extracted folder)"]
        by_file = {f"{'pos' if y else 'neg'}/{Path(f).name}": (t, y) for t, y, f in zip(sk_texts, sk_labels, sk_files)}
        _clear_memo()
        ds_names = [n.split("/", 2)[2] for n in datasets.load_imdb("train", path=tarball, cache=False).filenames]
        for i in rng.choice(len(ref_texts), size=min(args.check, len(ref_texts)), replace=False):
            assert by_file[ds_names[i]] == (ref_texts[i], ref_labels[i])
    return _summarise(times, cpu, "toolkit load_imdb (tar.gz stream)"), t_extract


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_download(tarball: Path, sha256: str, args) -> list:
    import pooch

    from toolkit.data._download import download_verified

    size = tarball.stat().st_size
    with tempfile.TemporaryDirectory(prefix="bench_download_") as tmp:
        served = Path(tmp) / "served"
        served.mkdir()
        (served / tarball.name).symlink_to(tarball)
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(served)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            url = f"http://127.0.0.1:{port}/{tarball.name}"
            runs = {
                "toolkit download_verified": lambda out: download_verified(
                    url, out / tarball.name, known_hash=f"sha256:{sha256}", size=size),
                "pooch.retrieve (peer)": lambda out: pooch.retrieve(
                    url, known_hash=f"sha256:{sha256}", fname=tarball.name, path=out, progressbar=False),
            }
            times = {name: [] for name in runs}
            cpu = {name: [] for name in runs}
            for r in range(args.repeats):
                for i, (name, fn) in enumerate(runs.items()):
                    out = Path(tmp) / f"out-{r}-{i}"
                    with timer() as t:
                        got = Path(fn(out))
                    times[name].append(t.seconds)
                    cpu[name].append(t.cpu_seconds)
                    assert got.stat().st_size == size, name
                    shutil.rmtree(out)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return _summarise(times, cpu, "toolkit download_verified")


def _commit() -> str:
    if os.environ.get("TOOLKIT_BENCH_COMMIT"):
        return os.environ["TOOLKIT_BENCH_COMMIT"]
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        measured = ["toolkit/data", "toolkit/__init__.py", "toolkit/_atomic.py", "toolkit/_config.py", "toolkit/_memo.py",
                    "toolkit/_hashing.py", "toolkit/_validation.py", "toolkit/exceptions.py", "benchmarks/bench_data.py",
                    "benchmarks/_common.py"]  # the code this script runs; other stages' edits do not count
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", *measured],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", type=int, default=200, help="random documents compared across readers")
    parser.add_argument("--download", action="store_true", help="also time the download path (loopback server)")
    parser.add_argument("--name", default="bench_data", help="results file name (benchmarks/results/<name>.json)")
    args = parser.parse_args(argv)
    tarball = Path(args.data_dir) / "aclImdb_v1.tar.gz"
    rng = np.random.RandomState(args.seed)

    rows, extract = bench_read(tarball, args, rng)
    print_table(rows)
    if args.download:
        sums = dict(line.split()[::-1] for line in (Path(args.data_dir) / "SHA256SUMS").read_text().splitlines()
                    if line.strip())
        download_rows = bench_download(tarball, sums[tarball.name], args)
        print_table(download_rows)
        rows += download_rows
    params = {**vars(args), "extract_s": extract.seconds, "extract_cpu_s": extract.cpu_seconds, "docs": 25_000, "tarball_bytes": tarball.stat().st_size,
              "command": " ".join([Path(sys.executable).name, *sys.argv]), "commit": _commit()}
    path = write_results(args.name, rows, params=params)
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
