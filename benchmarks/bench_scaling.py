"""Scaling: tokenize + encode + one training epoch on 25k ... 4M generated documents, out of core vs in memory.

Run (corpora from ``benchmarks/make_corpus.py``)::

    TOOLKIT_DATA_DIR=/work/shared/data python benchmarks/bench_scaling.py \
        --corpus /tmp/corpora/imdb-25k.jsonl --corpus /tmp/corpora/imdb-250k.jsonl \
        --corpus /tmp/corpora/imdb-1m.jsonl --workdir /tmp/scaling

For each corpus, two fresh child processes, one after the other:

- **out of core** (``toolkit.distributed``): ``CorpusStore.build`` on a
  ``LocalCluster(n_workers=2, threads_per_worker=1)`` reading the JSON lines in
  64 MiB blocks (tokenize, merged vocabulary, encoded ids on disk), then
  ``fit_from_store`` for one epoch in the client process (streaming batches).
- **in memory** (the peer): the whole file read into a list,
  ``SpacyTokenizer(n_jobs=2)`` (the same two processes' worth of tokenizing),
  ``EmbeddingClassifier.fit`` for one epoch on the padded matrix.

Same classifier parameters on both sides (``bag``, ``maxlen=400``,
``max_tokens=20000``, ``batch_size=128``, no validation split, one epoch).
This parent samples every process of each child's tree twice a second
(``psutil``: RSS, CPU time) and reports the peak RSS of every process, the
CPU seconds of the tree (and CPU seconds per 1,000 documents next to wall
seconds per 1,000 documents, since the machine is shared) and the 1-minute
load average seen during the child; an in-memory child whose tree passes
``--peer-limit-gb`` is stopped and reported as having run out.
``--skip-peer-above N`` does not start the in-memory peer above N documents
(say in the text why: its memory estimated from the smaller rows).
``--append`` merges the rows into the existing results file (a row of the
same path and size is replaced), so a long row can run on its own; every
row records its git commit, finish time and load.

Results: ``benchmarks/results/bench_scaling.json`` and ``bench_scaling.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _common import RESULTS_DIR, print_table, write_results

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CLASSIFIER = dict(architecture="bag", maxlen=400, max_tokens=20000, batch_size=128, epochs=1,
                  validation_split=0.0, random_state=0)


# ----------------------------------------------------------------- children
def _child_out_of_core(corpus: str, workdir: str) -> dict:
    from distributed import Client, LocalCluster

    from toolkit.distributed import CorpusStore, fit_from_store
    from toolkit.models import EmbeddingClassifier

    store_dir = Path(workdir) / (Path(corpus).stem + ".store")
    t0 = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0", memory_limit=0) as cluster, Client(cluster):
        t_cluster = time.perf_counter()
        store = CorpusStore.build(corpus, store_dir, text_column="text", label_column="label")
        t_built = time.perf_counter()
    t_closed = time.perf_counter()
    clf = fit_from_store(EmbeddingClassifier(**CLASSIFIER), store)
    t_trained = time.perf_counter()
    size = sum(f.stat().st_size for f in store_dir.rglob("*") if f.is_file())
    result = {
        "n_docs": store.n_documents, "n_tokens": store.n_tokens, "parts": len(store.parts),
        "vocabulary": len(store.vocabulary), "store_mb": size / 2**20,
        "cluster_start_s": t_cluster - t0, "tokenize_encode_s": t_built - t_cluster,
        "train_epoch_s": t_trained - t_closed, "train_loss": clf.history_["loss"][-1],
    }
    shutil.rmtree(store_dir, ignore_errors=True)
    return result


def _child_in_memory(corpus: str, workdir: str) -> dict:
    from toolkit.models import EmbeddingClassifier
    from toolkit.text import SpacyTokenizer

    t0 = time.perf_counter()
    texts, labels = [], []
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            texts.append(record["text"])
            labels.append(record["label"])
    t_read = time.perf_counter()
    tokens = SpacyTokenizer(n_jobs=2).transform(texts)
    t_tokenized = time.perf_counter()
    del texts
    clf = EmbeddingClassifier(**CLASSIFIER).fit(tokens, labels)
    t_trained = time.perf_counter()
    return {
        "n_docs": len(labels), "n_tokens": tokens.n_tokens, "read_s": t_read - t0,
        "tokenize_encode_s": t_tokenized - t_read, "train_epoch_s": t_trained - t_tokenized,
        "train_loss": clf.history_["loss"][-1], "note": "encode is inside fit (train_epoch_s)",
    }


# ------------------------------------------------------------------ parent
def _watch(cmd, limit_bytes=None) -> dict:
    """Run ``cmd``; sample its process tree; peak RSS per process, CPU of the tree, last JSON line."""
    import psutil

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    root = psutil.Process(proc.pid)
    peaks: dict[int, dict] = {}
    cpu: dict[int, float] = {}
    killed = None
    loads = []
    t0 = time.perf_counter()
    while proc.poll() is None:
        loads.append(os.getloadavg()[0])
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        total = 0
        for p in tree:
            try:
                with p.oneshot():
                    rss = p.memory_info().rss
                    times = p.cpu_times()
                    name = " ".join(p.cmdline()[1:3])[:60] or p.name()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            total += rss
            entry = peaks.setdefault(p.pid, {"process": name, "peak_rss_mb": 0.0})
            entry["peak_rss_mb"] = max(entry["peak_rss_mb"], rss / 2**20)
            cpu[p.pid] = times.user + times.system
        if limit_bytes is not None and total > limit_bytes:
            killed = f"stopped: process tree passed {limit_bytes / 2**30:.0f} GB RSS"
            for p in reversed(tree):
                try:
                    p.kill()
                except psutil.NoSuchProcess:
                    pass
            break
        time.sleep(0.5)
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    result = {}
    for line in (out or "").splitlines()[::-1]:
        if line.startswith("{"):
            result = json.loads(line)
            break
    loads = np.asarray(loads or [np.nan])
    return {"result": result, "wall_s": wall, "cpu_s": sum(cpu.values()), "processes": list(peaks.values()),
            "loadavg_1min": {"min": float(loads.min()), "mean": float(loads.mean()), "max": float(loads.max())},
            "max_process_rss_mb": max((p["peak_rss_mb"] for p in peaks.values()), default=0.0),
            "returncode": proc.returncode, "stopped": killed}


def cost_exponent(rows, mode="out of core", key="tree_cpu_s"):
    """Slope of log(cost) on log(documents) over the rows of ``mode``: 1.0 is linear growth."""
    pts = [(r["n_docs"], r[key]) for r in rows if r["mode"] == mode and r.get(key)]
    if len(pts) < 2:
        return None
    x, y = np.log(np.asarray(pts, dtype=float)).T
    return float(np.polyfit(x, y, 1)[0])


def peer_rss_estimate_gb(rows, n_docs):
    """Peak RSS (GB) of the in-memory peer at ``n_docs``, a straight line through its measured rows."""
    pts = [(r["n_docs"], r["max_process_rss_mb"] / 1024) for r in rows if r["mode"] == "in memory" and r.get("total_s")]
    x, y = np.asarray(pts, dtype=float).T
    slope, intercept = np.polyfit(x, y, 1)
    return intercept + slope * np.asarray(n_docs, dtype=float)


def _plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for mode, marker, color in (("out of core", "o", "C0"), ("in memory", "s", "C1")):
        pts = sorted((r for r in rows if r["mode"] == mode and r.get("total_s")), key=lambda r: r["n_docs"])
        if not pts:
            continue
        n = np.asarray([r["n_docs"] for r in pts], dtype=float)
        ax1.plot(n, [r["tree_cpu_s"] for r in pts], marker=marker, color=color, label=f"{mode}: CPU s (all processes)")
        ax1.plot(n, [r["total_s"] for r in pts], marker=marker, color=color, linestyle="--", alpha=0.6,
                 label=f"{mode}: wall s (shared machine)")
        ax2.plot(n, [r["max_process_rss_mb"] / 1024 for r in pts], marker=marker, color=color, label=mode)
        largest = max(r["n_docs"] for r in rows)
        if mode == "in memory" and len(pts) > 1 and largest > n[-1]:
            grid = np.geomspace(n[-1], largest, 20)
            ax2.plot(grid, peer_rss_estimate_gb(rows, grid), color=color, linestyle=":",
                     label="in memory, linear extrapolation (not run)")
        if mode == "out of core" and len(pts) > 1:
            ref = pts[-1]["tree_cpu_s"] * n / n[-1]
            ax1.plot(n, ref, color="gray", linestyle=":", label="linear (through the largest row)")
    ax2.axhline(2.5, color="red", linestyle=":", label="target at 4M: 2.5 GB")
    for ax, label in ((ax1, "tokenize + encode + 1 epoch (s)"), (ax2, "peak RSS of the largest process (GB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("documents")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    slope = cost_exponent(rows)
    title = "Cost vs corpus size (generated IMDB corpora; 2 shared CPU cores)"
    if slope is not None:
        title += f"; out-of-core CPU ~ docs^{slope:.2f}"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", help="JSON-lines corpus (repeat).")
    parser.add_argument("--workdir", default="/tmp/bench_scaling")
    parser.add_argument("--peer-limit-gb", type=float, default=12.0)
    parser.add_argument("--skip-peer-above", type=int, default=None, help="Do not run the in-memory peer above N docs.")
    parser.add_argument("--results-name", default="bench_scaling", help="Name of the results JSON and PNG.")
    parser.add_argument("--append", action="store_true",
                        help="Merge into the existing results JSON (rows of the same path and size are replaced).")
    parser.add_argument("--replot", action="store_true", help="Only redraw the PNG from the results JSON.")
    parser.add_argument("--child", choices=["out-of-core", "in-memory"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.replot:
        rows = json.loads((RESULTS_DIR / f"{args.results_name}.json").read_text(encoding="utf-8"))["rows"]
        _plot(rows, RESULTS_DIR / f"{args.results_name}.png")
        return
    if not args.corpus:
        parser.error("--corpus is required (give one or more JSON-lines corpora)")
    if args.child:
        func = _child_out_of_core if args.child == "out-of-core" else _child_in_memory
        print(json.dumps(func(args.corpus[0], args.workdir)), flush=True)
        return

    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    command = "TOOLKIT_DATA_DIR=/work/shared/data python benchmarks/bench_scaling.py " + " ".join(sys.argv[1:])
    kept, earlier_commands = [], []
    results_file = RESULTS_DIR / f"{args.results_name}.json"
    if args.append and results_file.exists():
        earlier = json.loads(results_file.read_text(encoding="utf-8"))
        kept = [{"git_commit": earlier["params"].get("git_commit"), **r} for r in earlier["rows"]]
        earlier_commands = earlier["params"].get("commands", [earlier["params"].get("command")])
    def save(rows):  # after every row, skipped ones included
        fresh = {(r["mode"], r["n_docs"]) for r in rows}
        merged = sorted([r for r in kept if (r["mode"], r["n_docs"]) not in fresh] + rows,
                        key=lambda r: (r["n_docs"], r["mode"]))
        write_results(args.results_name, merged, params={
            **vars(args), "classifier": CLASSIFIER, "git_commit": commit, "command": command,
            "commands": [*earlier_commands, command] if args.append else [command],
            "cost_exponent_cpu_out_of_core": cost_exponent(merged),
            "cost_exponent_cpu_out_of_core_two_largest": cost_exponent(
                [r for r in merged if r["mode"] == "out of core" and r.get("tree_cpu_s")][-2:]),
        })
        _plot(merged, RESULTS_DIR / f"{args.results_name}.png")

    rows = []
    for corpus in args.corpus:
        for mode, child in (("out of core", "out-of-core"), ("in memory", "in-memory")):
            n_lines = sum(1 for _ in open(corpus, "rb"))
            if mode == "in memory" and args.skip_peer_above is not None and n_lines > args.skip_peer_above:
                rows.append({"mode": mode, "n_docs": n_lines, "stopped": "not run (--skip-peer-above)",
                             "git_commit": commit})
                save(rows)
                continue
            cmd = [sys.executable, __file__, "--child", child, "--corpus", corpus, "--workdir", args.workdir]
            limit = args.peer_limit_gb * 2**30 if mode == "in memory" else None
            watched = _watch(cmd, limit)
            res = watched["result"]
            total = (res.get("tokenize_encode_s", 0) + res.get("train_epoch_s", 0)) if res else None
            row = {"mode": mode, "n_docs": res.get("n_docs", n_lines), **res, "total_s": total,
                   "docs_per_s": (res["n_docs"] / total) if total else None,
                   "tree_wall_s": watched["wall_s"], "tree_cpu_s": watched["cpu_s"],
                   "docs_per_cpu_s": (res["n_docs"] / watched["cpu_s"]) if res and watched["cpu_s"] else None,
                   "max_process_rss_mb": watched["max_process_rss_mb"], "processes": watched["processes"],
                   "returncode": watched["returncode"], "stopped": watched["stopped"],
                   "wall_s_per_1k_docs": (1000 * total / res["n_docs"]) if total else None,
                   "cpu_s_per_1k_docs": (1000 * watched["cpu_s"] / res["n_docs"]) if res else None,
                   "loadavg_1min": watched["loadavg_1min"], "git_commit": commit,
                   "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": command}
            rows.append(row)
            print_table([{k: row.get(k) for k in ("mode", "n_docs", "tokenize_encode_s", "train_epoch_s", "total_s",
                                                   "tree_cpu_s", "cpu_s_per_1k_docs", "max_process_rss_mb",
                                                   "stopped")}])
            save(rows)


if __name__ == "__main__":
    main()
