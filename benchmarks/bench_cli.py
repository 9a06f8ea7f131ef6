"""How long do ``toolkit --help`` and the main job ``toolkit train`` take?

Measured in fresh processes (``python cli.py ...``), as a user runs them:

- ``cli.py --help``, median of ``--repeats`` runs, against the peer
  ``python -c "import tensorflow"`` (what every command would pay if the CLI
  imported TensorFlow eagerly);
- time to a one-line error for a missing input (``cli.py train --data
  missing.csv``, ``cli.py predict missing-model x``), median of ``--repeats``
  runs: the paths are checked before TensorFlow is imported, so the peer is the
  same ``python -c "import tensorflow"`` the error used to wait for;
- ``cli.py train`` with no options (IMDB 25k/25k + the main job's recipe,
  ``toolkit.models.recipes.MAIN_JOB``; ``--limit N`` for a quick run): wall and
  CPU time, peak memory and the test accuracy from its ``metrics.json``, next to
  the TF-IDF + LogisticRegression baseline that the same run fits on the same
  split (``metrics.json["baseline"]``, C chosen on a validation split of the
  training data).

Usage::

    TOOLKIT_DATA_DIR=../shared/data python benchmarks/bench_cli.py --seed 0
    TOOLKIT_DATA_DIR=../shared/data python benchmarks/bench_cli.py --seed 0 --limit 2000
    TOOLKIT_DATA_DIR=../shared/data python benchmarks/bench_cli.py --seed 0 --skip-train --baseline
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import print_table, timer, write_results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run_child(args: list[str]) -> dict:
    """Run a child process; wall seconds, child CPU seconds and peak RSS (MiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": after.ru_maxrss / 1024, "stdout": proc.stdout}


def bench_help(repeats: int) -> list[dict]:
    rows = []
    for name, args in [
        ("cli.py --help (toolkit)", [sys.executable, "cli.py", "--help"]),
        ("python -c 'import tensorflow' (peer)", [sys.executable, "-c", "import tensorflow"]),
    ]:
        runs = [run_child(args) for _ in range(repeats)]
        rows.append({"task": name, "wall_s": statistics.median(r["wall_s"] for r in runs),
                     "cpu_s": statistics.median(r["cpu_s"] for r in runs)})
    rows[0]["ratio_vs_peer"] = rows[0]["wall_s"] / rows[1]["wall_s"]
    return rows


def run_error(args: list[str]) -> dict:
    """Like :func:`run_child` for a command that must fail with one 'Error:' line (exit 1)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 1 or not proc.stderr.startswith("Error: "):
        raise SystemExit(f"{' '.join(args)} did not fail with one error line ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return {"wall_s": wall, "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}


def bench_errors(repeats: int, peer_wall: float) -> list[dict]:
    rows = []
    for name, args in [
        ("cli.py train --data missing.csv (error)", [sys.executable, "cli.py", "train", "--data", "missing.csv"]),
        ("cli.py predict missing-model x (error)", [sys.executable, "cli.py", "predict", "missing-model", "x"]),
    ]:
        runs = [run_error(args) for _ in range(repeats)]
        wall = statistics.median(r["wall_s"] for r in runs)
        rows.append({"task": name, "wall_s": wall, "cpu_s": statistics.median(r["cpu_s"] for r in runs),
                     "ratio_vs_peer": wall / peer_wall})
    return rows


def bench_train(limit: int | None, seed: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        args = [sys.executable, "cli.py", "-q", "train", "-o", str(out), "--random-state", str(seed)]
        if limit:
            args += ["--limit", str(limit)]
        child = run_child(args)
        metrics = json.loads((out / "metrics.json").read_text())
    toolkit_row = {
        "task": "cli.py train (main job: recipes.MAIN_JOB)", "n_train": metrics["n_train"], "n_test": metrics["n_test"],
        "wall_s": child["wall_s"], "cpu_s": child["cpu_s"], "peak_rss_mb": child["peak_rss_mb"],
        "fit_s": metrics["fit_seconds"], "test_accuracy": metrics["accuracy"], "roc_auc": metrics["roc_auc"],
        "settings": metrics["settings"],
    }
    b = metrics["baseline"]
    peer_row = {
        "task": f"{b['model']}, C={b['C']:g} (peer, same run and split)", "n_train": metrics["n_train"],
        "n_test": b["n_samples"], "wall_s": None, "cpu_s": None, "peak_rss_mb": None, "fit_s": b["fit_seconds"],
        "test_accuracy": b["accuracy"], "roc_auc": b["roc_auc"],
    }
    toolkit_row["accuracy_points_vs_peer"] = 100 * (metrics["accuracy"] - b["accuracy"])
    return [toolkit_row, peer_row]


def bench_baseline(limit: int | None, seed: int) -> list[dict]:
    """What the main job's baseline costs and scores: :func:`toolkit.cli.train.tfidf_baseline` on the same split."""
    from toolkit.cli._inputs import load_train_test
    from toolkit.cli.train import tfidf_baseline

    x_train, y_train, x_test, y_test = load_train_test("imdb", limit=limit, random_state=seed)
    with timer() as t:
        b = tfidf_baseline(x_train, y_train, x_test, y_test, random_state=seed)
    return [{"task": f"baseline: {b['model']} (C={b['C']:g} chosen on validation)", "n_train": len(x_train),
             "n_test": len(x_test), "wall_s": t.seconds, "cpu_s": t.cpu_seconds,
             "validation_accuracy": b["validation_accuracy"], "test_accuracy": b["accuracy"], "roc_auc": b["roc_auc"]}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5, help="runs of each --help measurement")
    parser.add_argument("--limit", type=int, default=None, help="train/test on N documents each (default: all)")
    parser.add_argument("--skip-train", action="store_true", help="only time --help and the errors")
    parser.add_argument("--baseline", action="store_true",
                        help="also time the main job's TF-IDF + LR baseline alone, in-process, on the same split")
    parser.add_argument("--name", default="bench_cli", help="results file name (without .json)")
    args = parser.parse_args()
    if not os.environ.get("TOOLKIT_DATA_DIR"):
        print("note: TOOLKIT_DATA_DIR is not set; data will be fetched through the cache/download", file=sys.stderr)

    rows = bench_help(args.repeats)
    rows += bench_errors(args.repeats, peer_wall=rows[1]["wall_s"])
    print_table(rows)
    if args.baseline:
        baseline_rows = bench_baseline(args.limit, args.seed)
        print_table(baseline_rows)
        rows += baseline_rows
    if not args.skip_train:
        train_rows = bench_train(args.limit, args.seed)
        print_table(train_rows)
        rows += train_rows
    path = write_results(args.name, rows, params=vars(args))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
