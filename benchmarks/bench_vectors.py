"""Word-vector loading: toolkit's load_vectors against gensim's load_word2vec_format.

Measures, each in a fresh Python process (so peak memory is per step):

* first load of GloVe 6B-50d from the same ``.gz`` (toolkit with an empty
  cache, toolkit without cache, gensim), wall and CPU time, peak RSS and the
  peak above the process' RSS after its imports;
* reload in a fresh process, imports included on both sides: the toolkit
  with a warm cache (``load_vectors`` on the ``.gz``, which maps the cached
  ``.npy`` after checking the entry's SHA-256 digests) against the fair peer,
  gensim's own ``KeyedVectors.load(path, mmap="r")`` of the same vectors
  saved by ``KeyedVectors.save`` (a pickle plus a ``.npy``). Both warm (one
  untimed run each first), alternating, median of ``--reloads`` runs each;
* that two processes share the mapped vectors (RSS and PSS of the mapping of
  the cached ``.npy`` in each, from ``/proc/<pid>/smaps``);
* the coverage report of a 10,000-word IMDB vocabulary;
* optionally (``--train-unsup N``) word2vec trained on N unlabelled IMDB
  reviews, saved as word2vec binary, reloaded and its coverage.

Runs alternate toolkit and gensim (``--repeats``) and report the median.

Usage::

    python benchmarks/bench_vectors.py --seed 0
    python benchmarks/bench_vectors.py --repeats 1 --no-coverage
    python benchmarks/bench_vectors.py --only reload --reloads 15 --results-name bench_vectors_reload
    python benchmarks/bench_vectors.py --repeats 1 --train-unsup 50000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _common import machine_info, print_table, provenance, write_results

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PATH = ROOT.parent / "shared" / "data" / "glove.6B.50d.txt.gz"
DEFAULT_IMDB = ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"

_PRELUDE = textwrap.dedent(
    """
    import json, os, resource, sys, time
    def rss_mb():
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    """
)

_GENSIM = _PRELUDE + textwrap.dedent(
    """
    from gensim.models import KeyedVectors
    base = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    kv = KeyedVectors.load_word2vec_format(sys.argv[1], no_header=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"n": len(kv), "wall_s": wall, "cpu_s": cpu, "peak_mb": peak_mb(), "base_mb": base}))
    """
)

_TOOLKIT = _PRELUDE + textwrap.dedent(
    """
    import numpy as np
    from gensim.models import KeyedVectors
    from toolkit.vectors import load_vectors
    base = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    kv = load_vectors(sys.argv[1], cache=sys.argv[3] == "cache", cache_dir=sys.argv[2])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = {"n": len(kv), "wall_s": wall, "cpu_s": cpu, "peak_mb": peak_mb(), "base_mb": base,
           "mapped": isinstance(kv.vectors, np.memmap)}
    if len(sys.argv) > 4:  # sharing check: touch every vector, report, wait to be read
        out["checksum"] = float(np.asarray(kv.vectors, dtype=np.float64).sum())
        out["npy"] = getattr(kv.vectors, "filename", None)
        print(json.dumps(out), flush=True)
        sys.stdin.readline()
    else:
        print(json.dumps(out))
    """
)


# Fresh-process reloads: the clock starts before the first import, on both sides.
_RELOAD_PRELUDE = "import time\nT0, C0 = time.perf_counter(), time.process_time()\n" + _PRELUDE
_RELOAD_REPORT = textwrap.dedent(
    """
    wall, cpu = time.perf_counter() - T0, time.process_time() - C0
    import numpy as np
    print(json.dumps({"n": len(kv), "wall_s": wall, "cpu_s": cpu, "peak_mb": peak_mb(),
                      "mapped": isinstance(kv.vectors, np.memmap),
                      "check": float(np.asarray(kv.vectors[::997], dtype=np.float64).sum()),
                      "modules": len(sys.modules)}))
    """
)
_PREPARE = _PRELUDE + textwrap.dedent(
    """
    from toolkit.vectors import load_vectors
    kv = load_vectors(sys.argv[1], cache_dir=sys.argv[2])  # the toolkit's cache entry
    kv.save(sys.argv[3])  # gensim's own format: a pickle, the vectors in <name>.vectors.npy (mmap-able)
    print(json.dumps({"n": len(kv)}))
    """
)
_GENSIM_RELOAD = _RELOAD_PRELUDE + textwrap.dedent(
    """
    from gensim.models import KeyedVectors
    kv = KeyedVectors.load(sys.argv[1], mmap="r")
    """
) + _RELOAD_REPORT
_TOOLKIT_RELOAD = _RELOAD_PRELUDE + textwrap.dedent(
    """
    from toolkit.vectors import load_vectors
    kv = load_vectors(sys.argv[1], cache_dir=sys.argv[2])
    """
) + _RELOAD_REPORT


def _env() -> dict:
    """The subprocesses' environment: toolkit on the path, compiled modules cached like an installed package's.

    With ``PYTHONDONTWRITEBYTECODE`` set (as in some CI images) every fresh process would compile the
    toolkit's sources again while gensim's come precompiled from site-packages: not the same conditions.
    Both sides share one ``PYTHONPYCACHEPREFIX`` folder instead, filled by the untimed warm-up runs.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(_PYCACHE)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


_PYCACHE = Path(tempfile.gettempdir()) / "toolkit-bench-vectors-pycache"


def run(code: str, *args: str) -> dict:
    env = _env()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False)
    process_s = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{proc.stderr}")
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "process_wall_s": process_s}


def reload_vs_gensim(path: Path, cache: Path, work: Path, n: int) -> list[dict]:
    """Fresh-process reload: toolkit (warm cache) against gensim's KeyedVectors.load(mmap="r"), alternating."""
    native = work / "glove.kv"
    if not native.exists():  # in a child: vectors loaded here would raise every later child's ru_maxrss
        run(_PREPARE, str(path), str(cache), str(native))
    runs: dict[str, list[dict]] = {"gensim KeyedVectors.load(mmap='r')": [], "toolkit load_vectors (warm cache)": []}
    steps = [
        ("gensim KeyedVectors.load(mmap='r')", _GENSIM_RELOAD, (str(native),)),
        ("toolkit load_vectors (warm cache)", _TOOLKIT_RELOAD, (str(path), str(cache))),
    ]
    for _, code, args in steps:  # warm-up: page cache and .pyc files, untimed
        run(code, *args)
    for i in range(n):
        for name, code, args in steps if i % 2 == 0 else steps[::-1]:
            runs[name].append(run(code, *args))
        print(f"reload {i + 1}: " + ", ".join(f"{k} {v[-1]['wall_s']:.2f}s" for k, v in runs.items()), flush=True)
    checks = {name: {x["check"] for x in xs} for name, xs in runs.items()}
    if len({c for cs in checks.values() for c in cs}) != 1:
        raise SystemExit(f"the two loaders disagree on the vectors: {checks}")
    peer = runs["gensim KeyedVectors.load(mmap='r')"]
    rows = []
    for name, xs in runs.items():
        row = {"loader": name, "runs": len(xs)}
        for field in ("wall_s", "cpu_s", "process_wall_s", "peak_mb"):
            row[field] = statistics.median(x[field] for x in xs)
            if field != "peak_mb":
                row[f"{field}_min"] = min(x[field] for x in xs)
        row["speedup_wall_vs_gensim"] = statistics.median(x["wall_s"] for x in peer) / row["wall_s"]
        row["speedup_cpu_vs_gensim"] = statistics.median(x["cpu_s"] for x in peer) / row["cpu_s"]
        # each pair ran back to back, under the same load: the median of the pairs' ratios drifts least
        row["paired_speedup_wall"] = statistics.median(p["wall_s"] / x["wall_s"] for p, x in zip(peer, xs))
        row["paired_speedup_cpu"] = statistics.median(p["cpu_s"] / x["cpu_s"] for p, x in zip(peer, xs))
        row["mapped"] = all(x["mapped"] for x in xs)
        row["modules_imported"] = xs[0]["modules"]
        row["n_vectors"] = xs[0]["n"]
        rows.append(row)
    return rows


def _provenance() -> dict:
    """The command and the git commit (and the changed vector files) this run measured."""
    return provenance(paths=("toolkit/vectors", "benchmarks/bench_vectors.py"))


def mapping_stats(pid: int, needle: str) -> dict:
    """Rss/Pss (MiB) of the mapping of ``needle`` in process ``pid``, and the whole process."""
    rss = pss = 0
    inside = False
    with open(f"/proc/{pid}/smaps") as fh:
        for line in fh:
            first = line.split(maxsplit=1)[0]
            if "-" in first and not first.endswith(":"):  # a mapping header line
                inside = line.rstrip().endswith(needle)
            elif inside and first == "Rss:":
                rss += int(line.split()[1])
            elif inside and first == "Pss:":
                pss += int(line.split()[1])
    total = {}
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            parts = line.split()
            if parts[0] in ("Rss:", "Pss:"):
                total[parts[0][:-1].lower()] = int(parts[1]) / 1024
    return {"npy_rss_mb": rss / 1024, "npy_pss_mb": pss / 1024, "rss_mb": total.get("rss"), "pss_mb": total.get("pss")}


def sharing(path: Path, cache: Path) -> list[dict]:
    env = _env()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _TOOLKIT, str(path), str(cache), "cache", "share"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        for _ in range(2)
    ]
    try:
        infos = [json.loads(p.stdout.readline()) for p in procs]
        rows = []
        for i, (p, info) in enumerate(zip(procs, infos)):
            stats = mapping_stats(p.pid, info["npy"])
            rows.append({"process": i + 1, "mapped": info["mapped"], "checksum": info["checksum"], **stats})
        return rows
    finally:
        for p in procs:
            p.communicate("\n", timeout=60)


def coverage(path: Path, imdb: Path, cache: Path, n_docs: int | None) -> tuple[dict, str, float]:
    from toolkit.data.datasets import load_imdb
    from toolkit.text.tokenizer import SpacyTokenizer
    from toolkit.text.vocabulary import Vocabulary
    from toolkit.vectors import build_embedding_matrix, load_vectors

    t0 = time.perf_counter()
    data = load_imdb("train", path=imdb)
    texts = data.texts if n_docs is None else data.texts[:n_docs]
    tokens = SpacyTokenizer().fit_transform(texts)
    vocab = Vocabulary.from_documents(tokens, max_tokens=10_002)  # 10,000 words + PAD + OOV
    _, report = build_embedding_matrix(vocab, load_vectors(path, cache_dir=cache))
    return report.to_dict(), str(report), time.perf_counter() - t0


def domain_vectors(imdb: Path, cache: Path, n_docs: int, vocab_docs: int | None, seed: int) -> tuple[dict, str]:
    """Train word2vec on unlabelled IMDB reviews, save word2vec binary, load it back, report coverage."""
    from toolkit.data.datasets import load_imdb
    from toolkit.text.tokenizer import SpacyTokenizer
    from toolkit.text.vocabulary import Vocabulary
    from toolkit.vectors import build_embedding_matrix, load_vectors, train_word2vec

    tok = SpacyTokenizer()
    t0 = time.perf_counter()
    unsup = tok.fit_transform(load_imdb("unsup", path=imdb).texts[:n_docs])
    t_tok = time.perf_counter() - t0
    out = cache / "imdb-unsup-w2v.bin"
    t0 = time.perf_counter()
    kv = train_word2vec(unsup, vector_size=100, window=5, min_count=5, epochs=5, workers=2, seed=seed, output=out)
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    loaded = load_vectors(out, cache_dir=cache)
    t_load = time.perf_counter() - t0
    train = load_imdb("train", path=imdb).texts
    vocab = Vocabulary.from_documents(tok.transform(train if vocab_docs is None else train[:vocab_docs]), max_tokens=10_002)
    _, report = build_embedding_matrix(vocab, loaded)
    info = {
        "unsup_docs": len(unsup), "tokenize_s": t_tok, "train_s": t_train, "n_vectors": len(kv),
        "load_binary_s": t_load, "identical_after_reload": bool((loaded.vectors == kv.vectors).all()),
        "coverage": report.to_dict(),
    }
    return info, str(report)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", type=Path, default=DEFAULT_PATH, help="GloVe text file (.gz)")
    parser.add_argument("--imdb", type=Path, default=DEFAULT_IMDB, help="aclImdb_v1.tar.gz for the coverage report")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each loader (median reported)")
    parser.add_argument("--reloads", type=int, default=9, help="fresh-process reloads to time, per loader")
    parser.add_argument("--only", choices=("all", "reload"), default="all",
                        help="'reload': only the fresh-process reload against gensim's KeyedVectors.load(mmap='r')")
    parser.add_argument("--coverage-docs", type=int, default=None, help="IMDB train reviews to tokenize (default all)")
    parser.add_argument("--no-coverage", action="store_true", help="skip the IMDB coverage report")
    parser.add_argument("--train-unsup", type=int, default=0, metavar="N",
                        help="also train word2vec on N unlabelled IMDB reviews and report its coverage (0: skip)")
    parser.add_argument("--seed", type=int, default=0, help="word2vec seed (loading has no randomness)")
    parser.add_argument("--results-name", default="bench_vectors", help="results/<name>.json to write")
    args = parser.parse_args(argv)
    provenance = _provenance()  # the commit measured: taken before the run, as others may commit meanwhile
    sys.path.insert(0, str(ROOT))  # the coverage and word2vec steps run toolkit in this process

    work = Path(tempfile.mkdtemp(prefix="bench-vectors-"))
    try:
        reload_rows = reload_vs_gensim(args.path, work / "reload-cache", work, args.reloads)
        print_table(reload_rows)
        if args.only == "reload":
            path = write_results(args.results_name, reload_rows, params={**{k: str(v) for k, v in vars(args).items()},
                                                                        **provenance})
            print(f"results: {path}  ({machine_info()['date_utc']} UTC)")
            return
        runs: dict[str, list[dict]] = {"gensim": [], "toolkit first load (cache)": [], "toolkit (cache=False)": []}
        for r in range(args.repeats):
            runs["gensim"].append(run(_GENSIM, str(args.path)))
            cache = work / f"cache{r}"
            runs["toolkit first load (cache)"].append(run(_TOOLKIT, str(args.path), str(cache), "cache"))
            runs["toolkit (cache=False)"].append(run(_TOOLKIT, str(args.path), str(work / "unused"), "nocache"))
            print(f"repeat {r + 1}: " + ", ".join(f"{k} {v[-1]['wall_s']:.2f}s" for k, v in runs.items()), flush=True)

        g_wall = statistics.median(x["wall_s"] for x in runs["gensim"])
        g_peak = statistics.median(x["peak_mb"] for x in runs["gensim"])
        rows = []
        for name, xs in runs.items():
            wall = statistics.median(x["wall_s"] for x in xs)
            peak = statistics.median(x["peak_mb"] for x in xs)
            rows.append(
                {
                    "loader": name,
                    "runs": len(xs),
                    "wall_s": wall,
                    "cpu_s": statistics.median(x["cpu_s"] for x in xs),
                    "speedup_vs_gensim": g_wall / wall,
                    "peak_rss_mb": peak,
                    "peak_above_imports_mb": statistics.median(x["peak_mb"] - x["base_mb"] for x in xs),
                    "peak_vs_gensim": peak / g_peak,
                    "n_vectors": xs[0]["n"],
                }
            )
        print_table(rows)

        share = sharing(args.path, work / "cache0")
        print_table(share)

        cov = cov_text = None
        if not args.no_coverage:
            cov, cov_text, seconds = coverage(args.path, args.imdb, work / "cache0", args.coverage_docs)
            print(cov_text)
            print(f"(coverage step: {seconds:.1f}s including IMDB tokenization)")

        domain = domain_text = None
        if args.train_unsup:
            domain, domain_text = domain_vectors(args.imdb, work / "cache0", args.train_unsup, args.coverage_docs, args.seed)
            print(f"word2vec on {domain['unsup_docs']} unlabelled reviews: tokenize {domain['tokenize_s']:.1f}s, "
                  f"train {domain['train_s']:.1f}s, {domain['n_vectors']} vectors, binary reload "
                  f"{domain['load_binary_s']:.2f}s (identical: {domain['identical_after_reload']})")
            print(domain_text)

        path = write_results(
            args.results_name,
            rows + reload_rows,
            params={**{k: str(v) for k, v in vars(args).items()}, **provenance, "sharing": share, "coverage": cov,
                    "coverage_table": cov_text, "domain_word2vec": domain, "domain_coverage_table": domain_text},
        )
        print(f"results: {path}  ({machine_info()['date_utc']} UTC)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
