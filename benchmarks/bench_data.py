"""How fast does load_imdb("train") read the 25,000 training reviews?

Compared, in the same run, on the same machine:

- ``toolkit.load_imdb("train", path=<tarball>)``: streams the .tar.gz once
  without extracting (its in-process memo is cleared before every repeat);
- a plain ``tarfile`` loop: ``tarfile.open(path, "r:gz")``, iterate, read and
  decode the train/pos and train/neg members (what one writes by hand);
- ``load_imdb`` again with its on-disk parsed cache warm (what a later
  process pays);
- ``sklearn.datasets.load_files`` on an extracted copy (extracted once into a
  temporary folder, not timed), and ``load_imdb`` on that same folder.

All must return the same texts and labels (checked on the full set and
on ``--check`` random documents drawn with ``--seed``).

Usage::

    python benchmarks/bench_data.py --seed 0 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from _common import print_table, timer, write_results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import toolkit.data.datasets as datasets  # noqa: E402
from toolkit.data.archives import extract_tar  # noqa: E402


def toolkit_tarball(path):
    datasets._IMDB_MEMO.clear()
    ds = datasets.load_imdb("train", path=path, cache=False)
    return ds.texts, ds.labels


def toolkit_parsed_cache(path, cache_dir):
    """What a later process pays: the in-process memo is empty, the on-disk parsed cache is warm."""
    datasets._IMDB_MEMO.clear()
    ds = datasets.load_imdb("train", path=path, cache_dir=cache_dir)
    return ds.texts, ds.labels


def toolkit_folder(folder):
    datasets._IMDB_MEMO.clear()
    ds = datasets.load_imdb("train", path=folder, cache=False)
    return ds.texts, ds.labels


def tarfile_loop(path):
    """The hand-written baseline: one pass with tarfile, keep train pos/neg."""
    found = []
    with tarfile.open(path, "r:gz") as tar:
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", type=int, default=200, help="random documents compared across readers")
    args = parser.parse_args(argv)
    tarball = Path(args.data_dir) / "aclImdb_v1.tar.gz"
    rng = np.random.RandomState(args.seed)

    with tempfile.TemporaryDirectory(prefix="bench_data_") as tmp:
        with timer() as t_extract:
            extract_tar(tarball, tmp, select=lambda n: n.startswith(("aclImdb/train/pos/", "aclImdb/train/neg/")))
        print(f"extracted train/pos+neg once in {t_extract.seconds:.2f} s (not timed below)", file=sys.stderr)

        toolkit_parsed_cache(tarball, tmp)  # warm the on-disk parsed cache (not timed)
        runs = {
            "toolkit load_imdb (tar.gz stream)": lambda: toolkit_tarball(tarball),
            "toolkit load_imdb (parsed cache, new process)": lambda: toolkit_parsed_cache(tarball, tmp),
            "tarfile loop (tar.gz, baseline)": lambda: tarfile_loop(tarball),
            "toolkit load_imdb (extracted folder)": lambda: toolkit_folder(tmp),
            "sklearn load_files (extracted folder)": lambda: sklearn_load_files(tmp),
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

    # same answer from all four
    ref_texts, ref_labels = outputs["toolkit load_imdb (tar.gz stream)"]
    assert len(ref_texts) == 25_000 and np.bincount(ref_labels).tolist() == [12_500, 12_500]
    for name in ("tarfile loop (tar.gz, baseline)", "toolkit load_imdb (extracted folder)",
                 "toolkit load_imdb (parsed cache, new process)"):
        texts, labels = outputs[name]
        assert texts == ref_texts and np.array_equal(labels, ref_labels), name
    sk_texts, sk_labels, sk_files = outputs["sklearn load_files (extracted folder)"]
    by_file = {f"{'pos' if y else 'neg'}/{Path(f).name}": (t, y) for t, y, f in zip(sk_texts, sk_labels, sk_files)}
    ds_names = [n.split("/", 2)[2] for n in datasets.load_imdb("train", path=tarball, cache=False).filenames]
    for i in rng.choice(len(ref_texts), size=min(args.check, len(ref_texts)), replace=False):
        assert by_file[ds_names[i]] == (ref_texts[i], ref_labels[i])

    base = statistics.median(times["toolkit load_imdb (tar.gz stream)"])
    rows = [
        {
            "reader": name,
            "median_s": statistics.median(times[name]),
            "min_s": min(times[name]),
            "cpu_s": statistics.median(cpu[name]),
            "vs_toolkit_tar": statistics.median(times[name]) / base,
        }
        for name in runs
    ]
    print_table(rows)
    path = write_results("bench_data", rows, params={**vars(args), "extract_s": t_extract.seconds, "docs": 25_000})
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
