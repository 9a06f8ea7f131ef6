"""The CLI as a shell user meets it: pipes, signals, exit codes, where output goes, logs.

Every test runs the CLI as a real process (``python cli.py ...`` from the
repository root, so the working tree's code runs), the way a shell, ``timeout``,
a job scheduler or ``| head`` would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli_errors import _wait_for  # reads a process's stderr until a needle appears

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, str(ROOT / "cli.py")]

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="signals, /proc and pipes as on Linux")


def _env(**extra):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **extra}
    env.pop("TQDM_MININTERVAL", None)
    return env


def _run(args, *, timeout=120, env=None, **kwargs):
    """Run the CLI to its end (``env``: extra variables)."""
    return subprocess.run([*CLI, *map(str, args)], check=False, cwd=ROOT, env=_env(**(env or {})), timeout=timeout,
                          **kwargs)


def _session_processes(sid: int) -> list[str]:
    """Command lines of the live processes of session ``sid`` (the CLI and every process it started)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # session id; a zombie has ended already
            found.append(cmdline.strip())
    return found


def _wait_for_loky_workers(proc, timeout=60.0) -> None:
    """Wait until joblib's process pool (loky) of ``proc`` has started its workers."""
    deadline = time.monotonic() + timeout
    while not any("LokyProcess" in cmd for cmd in _session_processes(proc.pid)):
        if proc.poll() is not None or time.monotonic() > deadline:
            _, err = proc.communicate(timeout=30)
            pytest.fail(f"no loky worker started (rc {proc.returncode}):\n{err.decode(errors='replace')[-2000:]}")
        time.sleep(0.1)


def _kill_group(proc) -> None:
    """Kill the process group of a ``start_new_session`` process: the CLI and any worker it left."""
    import contextlib

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _cpus() -> int:
    import joblib

    return joblib.cpu_count()


#: the stack fits its members in a joblib process pool only with two CPUs or more (n_jobs=-1)
needs_a_pool = pytest.mark.skipif(_cpus() < 2, reason="one CPU: the stack's members are fitted in this process")


def _stack_training(out: Path):
    """``toolkit train --model stack`` on 200 reviews: its members are fitted in a joblib process pool."""
    return subprocess.Popen(
        [*CLI, "train", "--model", "stack", "--limit", "200", "--vectors", "none", "--no-baseline", "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=_env(), start_new_session=True,
    )


# ------------------------------------------------------------------------------ Ctrl-C and SIGTERM


def _signal_stack_training(tmp_path, sig):
    """Send ``sig`` to ``toolkit train --model stack`` once its worker pool runs; (process, stderr, run folder)."""
    out = tmp_path / "run"
    with _stack_training(out) as proc:
        try:
            _wait_for_loky_workers(proc)
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=60)
        finally:
            _kill_group(proc)
    return proc, err.decode(), out


@needs_a_pool
def test_ctrl_c_while_workers_run_ends_with_one_clean_line(tmp_path, data_dir_env):
    # Before: after "Interrupted. ...", loky's resource tracker printed a UserWarning with a file path
    # ("There appear to be 3 leaked semlock objects to clean up at shutdown"): the pool was skipped by os._exit.
    proc, stderr, out = _signal_stack_training(tmp_path, signal.SIGINT)
    assert proc.returncode == 130, stderr[-2000:]
    tail = stderr[stderr.index("\nInterrupted."):].strip()
    assert tail.startswith("Interrupted. Nothing was written to") and len(tail.splitlines()) == 1, stderr[-2000:]
    assert "leaked" not in stderr and "Warning" not in stderr and "Traceback" not in stderr
    assert not out.exists() and not list(tmp_path.glob(".run*"))


@needs_a_pool
def test_sigterm_stops_the_workers_and_says_so(tmp_path, data_dir_env):
    # Before: SIGTERM (kill, timeout, a job scheduler) ended the CLI on the spot and silently (rc -15) and left
    # its loky workers running, idle for minutes, holding stderr open: a `| tee` or this communicate() hung.
    proc, stderr, out = _signal_stack_training(tmp_path, signal.SIGTERM)
    assert proc.returncode == 143, stderr[-2000:]
    assert "\nTerminated. Nothing was written to" in stderr and "Traceback" not in stderr, stderr[-2000:]
    deadline = time.monotonic() + 10
    while _session_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _session_processes(proc.pid) == []  # no worker or tracker process left behind
    assert not out.exists() and not list(tmp_path.glob(".run*"))



@pytest.mark.parametrize("killed", [True, False])
def test_a_killed_pools_manager_thread_that_ends_in_error_prints_nothing(capfd, monkeypatch, killed):
    """Seen once under SIGTERM (test_sigterm_stops_the_workers_and_says_so, a busy machine): loky's manager
    thread, started as the signal landed, ended in threading's own bookkeeping, "Exception ignored in thread
    started by: <bound method Thread._bootstrap of <_ExecutorManagerThread ...>> Traceback ... KeyError",
    above "Terminated.". Here a thread of that class ends the same way (its entry in threading._active gone):
    with its pool killed the CLI logs it at debug only; any other such thread is printed as before."""
    import threading
    import types

    from toolkit.cli._common import _quiet_pool_teardown

    class _ExecutorManagerThread(threading.Thread):
        def __init__(self):
            super().__init__(name="ExecutorManagerThread")
            self.executor_flags = types.SimpleNamespace(kill_workers=killed)

        def run(self):
            with threading._active_limbo_lock:
                del threading._active[threading.get_ident()]  # _bootstrap_inner's _delete() then raises KeyError

    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)  # Python's printing hook, not pytest's
    capfd.readouterr()
    with _quiet_pool_teardown():
        thread = _ExecutorManagerThread()
        thread.start()
        thread.join()
    err = capfd.readouterr().err
    if killed:
        assert err == ""
    else:
        assert "Exception ignored in thread started by" in err and "KeyError" in err, err
    assert sys.unraisablehook is sys.__unraisablehook__  # put back

#: Code run before the CLI (``python -c``) to deliver the signal (FAULT_SIG) at one precise moment (FAULT), the
#: moments where a signal sent at random (a busy machine, ``_signal_stack_training``) once in a while landed.
_SIGNAL_AT = '''
import os, signal, sys, threading, time

FAULT, SIG = os.environ["FAULT"], getattr(signal, os.environ["FAULT_SIG"])

def signal_now():
    os.kill(os.getpid(), SIG)

if FAULT == "thread_start":
    # The signal lands as the main thread wakes up from starting loky's manager thread (Thread.start waits on a
    # Condition), before the Condition's lock is taken back: its handler runs at the next Python call.
    start = threading.Thread.start
    def patched_start(self):
        if self.name == "ExecutorManagerThread":
            cond = self._started._cond
            def acquire_restore(state):
                signal_now()
                (lambda: None)()
                cond._lock.acquire()
            cond._acquire_restore = acquire_restore
        return start(self)
    threading.Thread.start = patched_start
elif FAULT == "bar_update":
    # The signal lands while the progress bar is updated between two results.
    import tqdm
    update = tqdm.tqdm.update
    def patched_update(self, n=1):
        if self.desc == "stack fits":
            signal_now()
        return update(self, n)
    tqdm.tqdm.update = patched_update
elif FAULT == "result_arrives":
    # The signal lands as loky's manager thread hands over a result (and queues the next task): the pool is
    # killed before the thread moves that task to the workers.
    from joblib.externals.loky import process_executor
    process = process_executor._ExecutorManagerThread.process_result_item
    def patched_process(self, result_item):
        process(self, result_item)
        if not getattr(signal_now, "done", False):
            signal_now.done = True
            signal_now()
            deadline = time.monotonic() + 30
            while not self.executor_flags.shutdown and time.monotonic() < deadline:
                time.sleep(0.01)
    process_executor._ExecutorManagerThread.process_result_item = patched_process
else:
    raise ValueError(FAULT)

from toolkit.cli import main
main()
'''


@needs_a_pool
@pytest.mark.parametrize("fault, sig", [("thread_start", signal.SIGINT), ("thread_start", signal.SIGTERM),
                                        ("bar_update", signal.SIGINT), ("result_arrives", signal.SIGINT)])
def test_a_signal_at_any_moment_of_the_pool_ends_with_one_clean_line(tmp_path, data_dir_env, fault, sig):
    # Before (about 1 run in 25 of the two tests above on a busy machine):
    # - thread_start: "RuntimeError: release unlocked lock" (threading's Condition, left half-done by the
    #   KeyboardInterrupt), its traceback through _run_with_progress, "this is a bug in toolkit", exit 1;
    # - bar_update: joblib's "UserWarning: 4 tasks which were still being processed by the workers have been
    #   cancelled. You could benefit from adjusting the input task iterator..." above "Interrupted.";
    # - result_arrives: "Exception in thread ExecutorManagerThread: Traceback ... KeyError: 4" (loky).
    out = tmp_path / "run"
    args = ["train", "--model", "stack", "--limit", "200", "--vectors", "none", "--no-baseline", "-o", str(out)]
    with subprocess.Popen([sys.executable, "-c", _SIGNAL_AT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          cwd=ROOT, env=_env(FAULT=fault, FAULT_SIG=sig.name), start_new_session=True) as proc:
        try:
            _, err = proc.communicate(timeout=120)
            deadline = time.monotonic() + 10
            while _session_processes(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            left = _session_processes(proc.pid)
        finally:
            _kill_group(proc)
    stderr = err.decode()
    word, code = ("Interrupted", 130) if sig == signal.SIGINT else ("Terminated", 143)
    assert proc.returncode == code, stderr[-3000:]
    tail = stderr[stderr.index(f"\n{word}."):].strip()
    assert tail.startswith(f"{word}. Nothing was written to") and len(tail.splitlines()) == 1, stderr[-3000:]
    assert "Traceback" not in stderr and "Warning" not in stderr and "Exception" not in stderr, stderr[-3000:]
    assert left == []  # no worker or tracker process left behind
    assert not out.exists() and not list(tmp_path.glob(".run*"))


#: Run cli.py (argv[1] "script") or ``python -m toolkit`` (argv[1] "module") with Ctrl-C arriving as typer is imported
_CTRL_C_WHILE_LOADING = '''
import os, runpy, signal, sys

class SignalOnImport:
    def find_spec(self, name, path=None, target=None):
        if name == "typer":
            os.kill(os.getpid(), signal.SIGINT)
        return None

how, sys.argv = sys.argv[1], sys.argv[2:]
sys.meta_path.insert(0, SignalOnImport())
if how == "script":
    runpy.run_path(sys.argv[0], run_name="__main__")
elif how == "module":
    runpy.run_module("toolkit", run_name="__main__", alter_sys=True)
else:  # what pip's console script does with the entry point "module:function" (how)
    import importlib
    module, _, function = how.partition(":")
    entry = getattr(importlib.import_module(module), function)
    sys.exit(entry())
'''


def _console_entry_point() -> str:
    """The ``toolkit`` console script's entry point, as pyproject.toml declares it (what pip's script runs)."""
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["toolkit"]


@pytest.mark.parametrize("how", ["script", "module", "console"])
def test_ctrl_c_while_the_cli_loads_is_one_line(how):
    # Before: Python's traceback of the KeyboardInterrupt, through the imports of toolkit.cli (exit -2); the
    # console script's entry point was toolkit.cli:main, imported at the top of pip's script, outside any try.
    how = _console_entry_point() if how == "console" else how
    result = subprocess.run([sys.executable, "-c", _CTRL_C_WHILE_LOADING, how, str(ROOT / "cli.py"), "data", "list"],
                            capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=120, check=False)
    assert result.returncode == 130 and result.stdout == "", result.stderr
    assert result.stderr == "\nInterrupted. Nothing was written.\n", result.stderr


def test_sigterm_during_tokenize_writes_nothing(tmp_path):
    source = tmp_path / "big.txt"
    words = ["the", "good", "bad", "film", "movie", "actor", "plot", "great", "awful", "boring"]
    source.write_text("".join(" ".join(words[(i + j) % 10] for j in range(20)) + "\n" for i in range(150_000)))
    out = tmp_path / "tokens.jsonl"
    with subprocess.Popen([*CLI, "tokenize", str(source), "-o", str(out)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, cwd=ROOT, env=_env()) as proc:
        try:
            seen = _wait_for(proc, b"tokenize:", 60.0)
            proc.send_signal(signal.SIGTERM)
            _, rest = proc.communicate(timeout=60)
        finally:
            proc.kill()
    stderr = (seen + rest).decode()
    assert proc.returncode == 143, stderr[-2000:]
    assert stderr.rstrip().endswith("Terminated. Nothing was written.") and "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt"]  # no output, no temporary file


# ----------------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize("args", [["tokenize", "-", "-q"], ["data", "list", "--verbose"], ["data", "list", "--debug"]])
def test_toolkit_option_after_the_command_says_where_it_goes(args):
    # Before: "Error: No such option: -q", although `toolkit --help` lists -q.
    result = _run(args, capture_output=True, text=True, input="good film\n")
    assert result.returncode == 2 and result.stdout == "", result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    option, command = args[-1], " ".join(args[:-1]).replace(" -", "")
    expected = (f"Error: No such option: {option}. It is an option of 'toolkit' itself: give it before the "
                f"command, as in 'toolkit {option} {command} ...'.")
    assert error == [expected], result.stderr


def test_unknown_option_keeps_clicks_message():
    result = _run(["tokenize", "--bogus"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.rstrip().endswith("Error: No such option: --bogus")


# ------------------------------------------------------------------------------ pipes and log files


def test_progress_written_to_a_log_file_is_not_redrawn_ten_times_a_second(tmp_path, data_dir_env):
    # Before: `toolkit ... 2> run.log` got a redraw of each bar every 0.1 s (here ~15 for a 1.5 s load).
    log = tmp_path / "run.log"
    with log.open("w") as stderr:
        result = _run(["vectors", "info", "glove.6B.50d", "--limit", "200000"], stdout=subprocess.PIPE,
                      stderr=stderr, env={"TOOLKIT_CACHE_DIR": str(tmp_path / "cache")})
    text = log.read_bytes().decode()  # bytes: read as text, each "\r" would become a "\n"
    assert result.returncode == 0, text
    draws = [d for d in text.split("\r") if d.startswith("Loading glove")]
    assert 1 <= len(draws) <= 3, draws  # the start and the end (a tqdm close may repeat the last)
    assert "200k/200k" in draws[-1]


def test_progress_through_a_pipe_stays_live(tmp_path, data_dir_env):
    # A pipe (`2>&1 | tee`, a program that shows the progress) keeps tqdm's redraws; the user's own
    # TQDM_MININTERVAL is respected too.
    result = _run(["vectors", "info", "glove.6B.50d", "--limit", "200000"], capture_output=True,
                  env={"TOOLKIT_CACHE_DIR": str(tmp_path / "cache")})
    stderr = result.stderr.decode()  # bytes: as text, each "\r" would become a "\n"
    assert result.returncode == 0, stderr
    assert len([d for d in stderr.split("\r") if d.startswith("Loading glove")]) > 3, stderr


@pytest.mark.parametrize("args", [["data", "list", "--json"], ["tokenize", "-"], ["--version"]])
def test_closed_pipe_is_silent(args):
    # `toolkit ... | head -1` closing the pipe early: no BrokenPipeError traceback, no
    # "Exception ignored ... BrokenPipeError"; exit status 1 as Python's SIGPIPE note recommends.
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first write
    try:
        result = _run(args, stdout=write, stderr=subprocess.PIPE, input=b"good film\n" * 100)
    finally:
        os.close(write)
    stderr = result.stderr.decode()
    assert result.returncode == 1 and "BrokenPipe" not in stderr and "Traceback" not in stderr, stderr


# ------------------------------------------------------------------------------------------ grid


@pytest.fixture
def reviews_csv(tmp_path):
    path = tmp_path / "reviews.csv"
    rows = [("a good film, great acting", "pos"), ("bad plot and awful actors", "neg")] * 6
    path.write_text("text,label\n" + "".join(f'"{t}",{label}\n' for t, label in rows))
    return path


@pytest.mark.parametrize("args, option", [(["--set", "vectors=glove.6B.5d", "-g", "epochs=1,2"], "--set vectors="),
                                          (["-g", "vectors=none,glove.6B.5d"], "--grid vectors=")])
def test_grid_checks_vectors_before_reading_the_data(tmp_path, args, option):
    # Before: the data was read first (here: its missing column failed first; on IMDB, after loading 25,000
    # reviews and starting the cluster, every candidate's fit failed on the vectors name).
    data = tmp_path / "no_text_column.csv"
    data.write_text("review,label\ngood,pos\nbad,neg\n")
    result = _run(["grid", "--data", data, "--local", *args], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"Error: {option}'glove.6B.5d': no such file") \
        and len(result.stderr.splitlines()) == 1, result.stderr


def test_grid_set_vectors_none_means_no_vectors(reviews_csv):
    # Before: "--set vectors=none" was the string 'none', read as a vectors file name: "No vectors file 'none'",
    # although "--grid vectors=none" and "toolkit train --vectors none" mean no vectors.
    settings = ("vectors=none", "architecture=bag", "maxlen=8", "embedding_dim=4")
    result = _run(["-q", "grid", "--data", reviews_csv, "--local", "--cv", "2", "-g", "epochs=1",
                   *[arg for setting in settings for arg in ("--set", setting)]], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["best_params"] == {"epochs": 1} and result.stderr == ""


# ---------------------------------------------------------------------------------- a full disk


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["data", "list"], ["-q", "tokenize", "-"]])
def test_stdout_on_a_full_disk_is_one_error_line(args):
    # Before: `toolkit ... > out.jsonl` on a full disk printed a traceback and "this is a bug in toolkit"
    # (the OSError of a write to stdout has no file name, so it was not recognised as the user's).
    with open("/dev/full", "w") as full:
        result = _run(args, stdout=full, stderr=subprocess.PIPE, text=True, input="good film\n")
    assert result.returncode == 1, result.stderr
    assert result.stderr == ("Error: Cannot write the output: No space left on device. Free some space, or write it "
                             "elsewhere (--output, or another redirection).\n"), result.stderr


# --------------------------------------------------------------------------------- a closed stdout

_STDOUT_CLOSED = ("Error: Cannot write the output: standard output is closed (>&-). Give --output, or redirect it "
                  "to a file or a pipe.\n")


def _close_stdout():
    os.close(1)


@pytest.mark.parametrize("args", [["data", "list"], ["-q", "tokenize", "-"], ["-q", "vectorize", "-", "-o", "-"],
                                  ["--version"]])
def test_closed_stdout_is_one_error_line(args):
    # Before: `toolkit tokenize big.txt >&-` dropped the output silently and exited 0 (vectorize -o -: a
    # traceback, AttributeError: 'NoneType' object has no attribute 'buffer', "a bug in toolkit").
    result = _run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, input="good film\n",
                  preexec_fn=_close_stdout)
    assert result.returncode == 1 and result.stderr == _STDOUT_CLOSED, result.stderr


def test_closed_stdout_with_an_output_file_is_fine(tmp_path):
    out = tmp_path / "tokens.jsonl"
    result = _run(["-q", "tokenize", "-", "-o", out], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                  input="good film\n", preexec_fn=_close_stdout)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert json.loads(out.read_text()) == ["good", "film"]


def test_predict_to_a_closed_stdout_is_one_error_line(tmp_path, reviews_csv):
    # an "nbsvm" folder (nb_weights.npz): predict runs without importing TensorFlow (~6 s of a fresh process);
    # that a Keras folder's predict keeps stderr clear of TensorFlow's notices is
    # tests/test_cli.py::test_cli_predict_and_evaluate_of_an_nb_folder_import_no_tensorflow's
    from toolkit.cli.train import train

    output = tmp_path / "run"
    train(reviews_csv, vectors=None, settings={**_TINY_TRAINING, "architecture": "nbsvm"}, baseline=False,
          output=output, test_size=0.5)
    assert (output / "model" / "nb_weights.npz").is_file()
    result = _run(["-q", "predict", output / "model", "a good film"], stdout=subprocess.DEVNULL,
                  stderr=subprocess.PIPE, text=True, preexec_fn=_close_stdout)
    assert result.returncode == 1 and result.stderr == _STDOUT_CLOSED, result.stderr


# ------------------------------------------------------------------------------- concurrent runs

_TINY_TRAINING = {"architecture": "bag", "ngram_range": (1, 1), "epochs": 1, "maxlen": 20, "embedding_dim": 4,
                  "max_tokens": 500, "validation_split": 0.0}


@pytest.fixture
def another_run_meanwhile(monkeypatch):
    """While ``train`` fits, another process writes its run into the same output folder."""
    from toolkit.cli import train as train_module

    stage = train_module._stage_model
    written = []

    def stage_after_the_other_run(estimator, *args):
        for output in written:
            (output / "model").mkdir(parents=True)
            (output / "metrics.json").write_text('{"the other run": true}\n')
        return stage(estimator, *args)

    monkeypatch.setattr(train_module, "_stage_model", stage_after_the_other_run)
    return written


def test_a_run_written_meanwhile_into_the_same_folder_is_kept(tmp_path, reviews_csv, another_run_meanwhile, caplog):
    # Before: two `toolkit train` started in the same second (`for ... do toolkit train ... & done`) share the
    # default runs/<timestamp>; both passed the check at the start, and the last to finish replaced the other's
    # run folder, model included, silently (both printed their metrics and "model runs/...").
    from toolkit.cli.train import train

    output = tmp_path / "runs" / "20260101-120000"
    another_run_meanwhile.append(output)
    result = train(reviews_csv, vectors=None, settings=_TINY_TRAINING, baseline=False, output=output, test_size=0.5)
    assert (output / "metrics.json").read_text() == '{"the other run": true}\n'  # kept
    moved = output.with_name("20260101-120000-2")
    assert result.files["metrics.json"] == moved / "metrics.json" and (moved / "model" / "config.json").is_file()
    assert f"this run is saved in {moved}" in caplog.text


def test_force_still_replaces_the_earlier_run(tmp_path, reviews_csv):
    from toolkit.cli.train import train

    output = tmp_path / "run"
    (output / "model").mkdir(parents=True)
    (output / "metrics.json").write_text('{"earlier": true}\n')
    result = train(reviews_csv, vectors=None, settings=_TINY_TRAINING, baseline=False, output=output, test_size=0.5,
                   force=True)
    assert result.files["metrics.json"] == output / "metrics.json"
    assert "earlier" not in (output / "metrics.json").read_text() and not output.with_name("run-2").exists()


# ----------------------------------------------------------------------------------- a closed stdin


@pytest.mark.parametrize("args", [["tokenize", "-"], ["tokenize"], ["vectorize", "-", "-o", "{tmp}/x.npz"]])
def test_closed_stdin_is_one_error_line(tmp_path, args):
    # Before: `toolkit tokenize - <&-` (stdin closed) crashed with AttributeError: 'NoneType' object has no
    # attribute 'isatty', reported as "a bug in toolkit".
    args = [arg.format(tmp=tmp_path) for arg in args]
    result = _run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.close(0))
    assert result.returncode == 1 and result.stdout == "", result.stderr
    assert result.stderr == "Error: No input: standard input is closed. Give a file, a folder or texts.\n"
