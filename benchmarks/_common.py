"""Shared helpers for the benchmark scripts: timing, peak memory, tables, JSON.

Every script in ``benchmarks/`` measures something, prints a table to stdout
and writes ``benchmarks/results/<name>.json`` with the rows plus
:func:`machine_info` and :func:`provenance` (the command line and the git
commit it measured). Import it from a script run as
``python benchmarks/<script>.py`` (the folder is on ``sys.path`` then)::

    from _common import timer, peak_rss_mb, write_results, print_table, machine_info

    with timer() as t:
        model.fit(X, y)
    rows.append({"config": "tfidf+lr", "fit_s": t.seconds, "peak_mb": peak_rss_mb()})
    print_table(rows)
    write_results("bench_imdb", rows, params=vars(args))
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "RESULTS_DIR",
    "Timer",
    "timer",
    "peak_rss_mb",
    "current_rss_mb",
    "machine_info",
    "provenance",
    "format_table",
    "print_table",
    "write_results",
]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]


class Timer:
    """Wall-clock and process CPU time of a ``with`` block (see :func:`timer`)."""

    def __init__(self):
        self.seconds = float("nan")
        self.cpu_seconds = float("nan")
        self._t0 = self._c0 = 0.0

    def __repr__(self) -> str:
        return f"Timer(seconds={self.seconds:.3f}, cpu_seconds={self.cpu_seconds:.3f})"


@contextmanager
def timer():
    """Time a block: ``with timer() as t: ...`` then read ``t.seconds``.

    ``t.cpu_seconds`` is the CPU time of this process (all threads), which is
    less sensitive than wall time to other jobs sharing the machine.
    """
    t = Timer()
    t._t0, t._c0 = time.perf_counter(), time.process_time()
    try:
        yield t
    finally:
        t.seconds = time.perf_counter() - t._t0
        t.cpu_seconds = time.process_time() - t._c0


class Sampler:
    """Calls ``read()`` every ``every`` seconds in a thread while the ``with`` block runs, and once more at its
    end; the values are in ``samples`` (e.g. the resident memory, or the load average, during a fit)."""

    def __init__(self, read, every: float):
        import threading

        self.read, self.samples, self._every = read, [], every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.samples.append(self.read())
            self._stop.wait(self._every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.samples.append(self.read())
        return False


def peak_rss_mb(*, include_children: bool = False) -> float:
    """Peak resident memory of this process so far, in MiB (``ru_maxrss``).

    It is a high-water mark: it never goes down. To measure one step, run it
    in a fresh process (the scripts' ``--only`` options do that) or compare
    with :func:`current_rss_mb` before the step.
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if include_children:
        peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    # ru_maxrss is KiB on Linux, bytes on macOS
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def current_rss_mb() -> float:
    """Current resident memory of this process in MiB (Linux /proc; else the peak)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _total_memory_gb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError, AttributeError):
        return None


def machine_info() -> dict:
    """Machine, software versions and UTC date, stored next to every result."""
    import numpy
    import sklearn

    info = {
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_gb": None if _total_memory_gb() is None else round(_total_memory_gb(), 1),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scikit-learn": sklearn.__version__,
        "loadavg_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    for mod in ("spacy", "gensim", "tensorflow", "keras"):
        module = sys.modules.get(mod)  # only report what the run imported
        if module is not None:
            info[mod] = getattr(module, "__version__", "?")
    return info


def _git(*args) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True,
                              timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(paths=("toolkit", "benchmarks", "pyproject.toml")) -> dict:
    """The command line of this run and the git commit it measured.

    ``git_changed_files`` lists the tracked files under ``paths`` that differ
    from that commit (uncommitted edits the run also measured); empty means
    the commit alone reproduces the result. :func:`write_results` records
    the provenance taken when this module was imported, at the start of the
    run, so commits made while it runs are not credited with its figures.
    """
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(REPO)
    except ValueError:
        pass
    status = _git("status", "--porcelain", "--untracked-files=no", "--", *paths)
    return {
        "command": shlex.join(["python", str(script), *sys.argv[1:]]),
        "git_commit": (_git("rev-parse", "HEAD") or "").strip() or None,
        "git_changed_files": None if status is None else [line[3:] for line in status.splitlines()],
    }


_START = provenance()  # at import: what the run measures


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # nan
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:.1f}"
        return f"{value:.4g}" if abs(value) < 1 else f"{value:.2f}"
    return str(value)


def format_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """Rows (dicts) as a Markdown table; columns default to the union in order."""
    if not rows:
        return "(no rows)"
    if columns is None:
        columns = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
    cells = [[_fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(v.ljust(w) for v, w in zip(r, widths)) + " |" for r in cells]
    return "\n".join(lines)


def print_table(rows: list[dict], columns: list[str] | None = None, *, file=None) -> None:
    """Print :func:`format_table` (stdout by default) and flush."""
    out = file or sys.stdout
    print(format_table(rows, columns), file=out, flush=True)


def write_results(name: str, rows: list[dict], *, params: dict | None = None,
                  results_dir: str | os.PathLike | None = None) -> Path:
    """Write ``{"name", "provenance", "machine", "params", "rows"}`` to ``results/<name>.json``.

    The file is written to a temporary file in the same folder and moved into
    place, so an interrupted run never leaves a half-written result.
    """
    folder = Path(results_dir) if results_dir is not None else RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    payload = {"name": name, "provenance": _START, "machine": machine_info(), "params": params or {}, "rows": rows}
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".json.tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2, default=str)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
