"""Errors a user can act on: usage errors, user errors against toolkit bugs, checks before heavy work, Ctrl-C.

Most tests run the installed ``toolkit`` console script in a subprocess, as a
user would; the in-process ones call :func:`toolkit.cli.main` itself (not
typer's CliRunner, which bypasses ``main``).
"""

from __future__ import annotations

import errno
import http.server
import io
import json
import os
import shutil
import signal
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from toolkit.cli import main
from toolkit.exceptions import DataError

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = shutil.which("toolkit", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


def toolkit(*args, env=None, input=None, timeout=120, python_flags=()):
    """Run the installed console script (``python -X ... -m toolkit`` when interpreter flags are needed)."""
    if SCRIPT is None:
        pytest.fail("the 'toolkit' console script is not installed: pip install -e .")
    cmd = [sys.executable, *python_flags, "-m", "toolkit"] if python_flags else [SCRIPT]
    return subprocess.run(
        [*cmd, *map(str, args)], capture_output=True, text=True, input=input, timeout=timeout, cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})},
    )


def assert_one_error_line(out, pattern, rc=1):
    import re

    assert out.returncode == rc, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and re.search(pattern, errors[0]), out.stderr
    if rc == 1:
        assert out.stderr.strip() == errors[0], out.stderr  # nothing else on stderr


def imported_modules(importtime_stderr: str) -> set[str]:
    return {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in importtime_stderr.splitlines() if "|" in line}


# ------------------------------------------------------------------ usage errors


@pytest.mark.parametrize(
    "args, usage, pattern",
    [
        (["train", "--bogus"], "toolkit train [OPTIONS]", r"No such option: --bogus"),
        (["frobnicate"], "toolkit [OPTIONS] COMMAND", r"No such command 'frobnicate'"),
        (["predict"], "toolkit predict [OPTIONS]", r"Missing argument '(?i:model)'"),
        (["train", "--limit", "abc"], "toolkit train [OPTIONS]", r"Invalid value for '--limit'"),
        (["train", "--limit", "-1"], "toolkit train [OPTIONS]", r"Invalid value for '--limit'.*(greater than or equal to 1|not in the range x>=1)"),
        (["evaluate", "m", "--limit", "0"], "toolkit evaluate [OPTIONS]", r"Invalid value for '--limit'"),
        (["train", "--model", "stak"], "toolkit train [OPTIONS]",
         r"Invalid value for '--model'.*'stak' is not one of 'main', 'stack'"),
        (["vectorize", "-"], "toolkit vectorize [OPTIONS]", r"Missing option '--output'"),
        (["data", "fetch"], "toolkit data fetch [OPTIONS]", r"Missing argument '(?i:name)'"),
    ],
)
def test_usage_error_exits_2_with_usage_and_one_line(args, usage, pattern):
    """The wording is click's (typer 0.29's copy and click 8.2 under typer 0.24 both tested)."""
    out = toolkit(*args)
    assert_one_error_line(out, pattern, rc=2)
    assert out.stderr.startswith(f"Usage: {usage}") and "Try 'toolkit" in out.stderr
    assert out.stdout == ""


def test_usage_error_of_either_click_copy_is_recognised():
    """typer >= 0.29 raises its own copy of click's exceptions; older typer raises the click package's."""
    import click

    typer_click = pytest.importorskip("typer._click.exceptions", reason="typer < 0.29 has no click copy of its own")
    from toolkit.cli._common import _click_exception_types, _exit_types

    assert {click.ClickException, typer_click.ClickException} <= set(_click_exception_types())
    assert {click.exceptions.Exit, __import__("typer").Exit} <= set(_exit_types())


def test_usage_error_in_process(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--bogus"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Usage: toolkit train") and err.strip().endswith("Error: No such option: --bogus")


# ------------------------------------------------------- user errors against bugs


def _run_main(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return exc.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    "error",
    [
        DataError("reviews.csv, line 3: missing label in column 'label'."),
        FileNotFoundError(errno.ENOENT, "No such file or directory", "/data/reviews.csv"),
        OSError(errno.ENOSPC, "No space left on device", "/cache/x.tmp"),
    ],
)
def test_user_error_is_one_line(capsys, monkeypatch, error):
    def fail(**kwargs):
        raise error

    monkeypatch.setattr("toolkit.cli.data.data_status", fail)
    code, err = _run_main(capsys, "data", "list")
    assert code == 1 and err.count("\n") == 1 and err.startswith("Error: ") and "Traceback" not in err
    assert (getattr(error, "filename", None) or str(error)) in err


@pytest.mark.parametrize("error", [KeyError("idf_"), ValueError("operands could not be broadcast"), IndexError("0")])
def test_bug_keeps_traceback_and_says_how_to_report(capsys, monkeypatch, error):
    def fail(**kwargs):
        raise error

    monkeypatch.setattr("toolkit.cli.data.data_status", fail)
    code, err = _run_main(capsys, "data", "list")
    assert code == 1
    assert err.startswith("Traceback (most recent call last):") and f"{type(error).__name__}" in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("Error: this is a bug in toolkit") and "Please report it" in last
    assert type(error).__name__ in last


def test_parameter_validation_in_fit_is_a_user_error(capsys, monkeypatch):
    from toolkit._validation import validate_param

    monkeypatch.setattr("toolkit.cli.data.data_status", lambda **kw: validate_param("x", [None], name="epochs",
                                                                                    owner="EmbeddingClassifier"))
    code, err = _run_main(capsys, "data", "list")
    assert code == 1 and err == "Error: The 'epochs' parameter of EmbeddingClassifier must be None. Got 'x' instead.\n"


def test_valueerror_from_a_library_call_is_a_bug(capsys, monkeypatch):
    """A ValueError escaping from scikit-learn (here: lengths that differ) is no input mistake toolkit checked."""
    from toolkit.cli.train import compute_metrics

    monkeypatch.setattr("toolkit.cli.data.data_status", lambda **kw: compute_metrics(["a"], ["a", "b"]))
    code, err = _run_main(capsys, "data", "list")
    assert code == 1 and "Traceback" in err and err.strip().splitlines()[-1].startswith("Error: this is a bug")


def test_debug_shows_user_error_traceback_without_bug_notice(capsys):
    code, err = _run_main(capsys, "--debug", "data", "info", "nosuchdata")
    assert code == 1 and "Traceback" in err and "ManifestError: Unknown data manifest 'nosuchdata'" in err
    assert "bug" not in err


def test_bad_set_syntax_is_a_user_error(capsys):
    code, err = _run_main(capsys, "tokenize", "--set", "lowercase", "-")
    assert code == 1 and err == "Error: Invalid setting 'lowercase': expected key=value, e.g. epochs=3.\n"


# ------------------------------------------------------------- checks before work


@pytest.fixture
def run_folder(tmp_path):
    """An earlier run folder (what `toolkit train` leaves: metrics.json and more)."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text('{"accuracy": 0.9}')
    return run


@pytest.mark.parametrize(
    "case, pattern",
    [
        ("missing data", r"Input not found: '.*absent\.csv'"),
        ("missing test data", r"Input not found: '.*absent-test\.csv'"),
        ("unlabelled data file", r"Cannot read labelled data from '.*notes\.txt': give 'imdb', a class-per-folder"),
        ("missing vectors file", r"--vectors '.*nope\.vec': no such file"),
        ("unknown vectors name", r"--vectors 'glove\.6B\.51d': no such file .*no data manifest of that name"),
        ("output under a file", r"Cannot create --output .*notes\.txt.*is a file, not a folder"),
        ("existing run folder", r"Run folder .*run exists \(an earlier run\); pass --force"),
    ],
)
def test_train_checks_paths_before_importing_tensorflow(tmp_path, run_folder, case, pattern):
    (tmp_path / "notes.txt").write_text("x")
    args = {
        "missing data": ["--data", tmp_path / "absent.csv"],
        "missing test data": ["--data", "imdb", "--test-data", tmp_path / "absent-test.csv"],
        "unlabelled data file": ["--data", tmp_path / "notes.txt"],
        "missing vectors file": ["--vectors", tmp_path / "nope.vec"],
        "unknown vectors name": ["--vectors", "glove.6B.51d"],
        "output under a file": ["-o", tmp_path / "notes.txt" / "run"],
        "existing run folder": ["-o", run_folder],
    }[case]
    if "-o" not in args:
        args = [*args, "-o", tmp_path / "new-run"]
    out = toolkit("train", *args, python_flags=("-X", "importtime"))
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error: ")]
    assert out.returncode == 1 and len(errors) == 1 and __import__("re").search(pattern, errors[0]), out.stderr
    assert not imported_modules(out.stderr) & {"tensorflow", "keras", "spacy", "gensim"}
    assert not (tmp_path / "new-run").exists()
    assert (run_folder / "metrics.json").read_text() == '{"accuracy": 0.9}'


@pytest.mark.parametrize(
    "args, pattern",
    [
        (["predict", "{tmp}/absent-model", "a fine film"], r"No saved model folder at .*absent-model"),
        (["predict", "{tmp}/taken.jsonl", "a fine film"], r"is not a toolkit model folder \(no config\.json\)"),
        (["predict", "{tmp}", "a fine film"], r"is the run folder of 'toolkit train'; give its model folder, .*model"),
        (["evaluate", "{tmp}/absent-model"], r"No saved model folder at .*absent-model"),
        (["predict", "{tmp}/model", "--input", "{tmp}/absent.txt"], r"Input not found: '.*absent\.txt'"),
        (["predict", "{tmp}/model", "x", "-o", "{tmp}/taken.jsonl"], r"--output .*taken\.jsonl exists; pass --force"),
        (["evaluate", "{tmp}/model", "--plot", "{tmp}/taken.jsonl"], r"--plot .*taken\.jsonl exists; pass --force"),
    ],
)
def test_model_commands_check_paths_before_importing_tensorflow(tmp_path, args, pattern):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    (tmp_path / "taken.jsonl").write_text("keep me")
    out = toolkit(*[a.format(tmp=tmp_path) for a in args], python_flags=("-X", "importtime"))
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error: ")]
    assert out.returncode == 1 and len(errors) == 1 and __import__("re").search(pattern, errors[0]), out.stderr
    assert "tensorflow" not in imported_modules(out.stderr)
    assert (tmp_path / "taken.jsonl").read_text() == "keep me"


# -------------------------------------------------------------- outputs: --force, -o -


def test_vectorize_needs_force_to_replace(tmp_path):
    out = tmp_path / "x.npz"
    out.write_bytes(b"old")
    result = toolkit("vectorize", "-", "-o", out, input="good film\n")
    assert_one_error_line(result, r"--output .*x\.npz exists; pass --force to replace it")
    assert out.read_bytes() == b"old"

    result = toolkit("-q", "vectorize", "-", "-o", out, "--force", "--padding", "post", input="good film\nbad\n")
    assert result.returncode == 0, result.stderr
    assert np.load(out)["x"].tolist() == [[2, 3], [4, 0]]  # ids by frequency then first seen; 0 pads


def test_vectorize_refuses_to_replace_the_vocabulary_without_force(tmp_path):
    (tmp_path / "x.vocab.json").write_text("{}")
    result = toolkit("vectorize", "-", "-o", tmp_path / "x.npz", input="good film\n")
    assert_one_error_line(result, r"--vocabulary .*x\.vocab\.json exists; pass --force")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.vocab.json"]


def test_vectorize_dash_writes_npz_to_stdout(tmp_path):
    result = subprocess.run([SCRIPT, "-q", "vectorize", "-", "-o", "-", "--padding", "post"], input=b"good film\nbad\n",
                            capture_output=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert np.load(io.BytesIO(result.stdout))["x"].tolist() == [[2, 3], [4, 0]]
    assert list(tmp_path.iterdir()) == []  # no '-.npz', no '-.vocab.json'


def test_tokenize_dash_and_force(tmp_path):
    out = tmp_path / "tokens.jsonl"
    out.write_text("old\n")
    assert_one_error_line(toolkit("tokenize", "-", "-o", out, input="A film.\n"), r"tokens\.jsonl exists; pass --force")
    assert toolkit("-q", "tokenize", "-", "-o", out, "-f", input="A film.\n").returncode == 0
    assert out.read_text() == '["a", "film", "."]\n'
    result = toolkit("-q", "tokenize", "-", "-o", "-", input="A film.\n")
    assert result.stdout == '["a", "film", "."]\n' and not (ROOT / "-").exists()


# ----------------------------------------------------------------- bad documents


@pytest.fixture
def long_doc_file(tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_text("short one\n" + "word " * 40 + "\nanother short\n", encoding="utf-8")
    return path


def test_tokenize_too_long_document_is_one_line_with_its_index(long_doc_file):
    out = toolkit("-q", "tokenize", long_doc_file, "--set", "max_length=50")
    # the option, not only the Python parameter errors='skip' (and only for the commands that have it: it said
    # "--skip-bad on the command line", which `toolkit train` has not)
    assert_one_error_line(out, r"Line 2 of .*reviews\.txt has 200 characters, more than max_length=50\. Split long "
                               r"documents first, raise it with --set max_length=\.\.\. \(spaCy's own limit guards "
                               r"memory use\), or pass --skip-bad to give such documents empty token lists\.$")


def test_tokenize_skip_bad_gives_empty_tokens_and_reports_the_index(long_doc_file, tmp_path):
    out = toolkit("tokenize", long_doc_file, "--set", "max_length=50", "--skip-bad", "-o", tmp_path / "t.jsonl")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert rows == [["short", "one"], [], ["another", "short"]]
    assert "gave empty token lists to 1 of 3 documents" in out.stderr
    assert "their indices in X (also in the returned corpus' skipped): 1" in out.stderr


# ------------------------------------------------------------ data with a location


def test_csv_with_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_bytes(b"text,label\ngood,pos\nbad,neg\ncaf\xe9 au lait,pos\n")
    assert_one_error_line(toolkit("tokenize", path), r"reviews\.csv, line 4: not valid utf-8 \(byte 31 of the file")


def test_jsonl_with_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "reviews.jsonl"
    path.write_bytes(b'{"text": "good"}\n{"text": "bad \xff"}\n')
    with pytest.raises(DataError, match=r"reviews\.jsonl, line 2: not valid utf-8"):
        from toolkit.data.datasets import load_jsonl

        load_jsonl(path, label_column=None)


def test_limit_below_one_names_limit():
    from toolkit._validation import InvalidParameterError
    from toolkit.cli._inputs import load_train_test

    with pytest.raises(InvalidParameterError, match=r"The 'limit' parameter of load_train_test must be an int in "
                                                    r"the range \[1, inf\) or None. Got -1 instead."):
        load_train_test("imdb", limit=-1)


def test_evaluate_unseen_label_names_it(tmp_path):
    from sklearn.dummy import DummyClassifier

    from toolkit.cli.train import evaluate

    model = DummyClassifier(strategy="most_frequent").fit([[0], [1]], ["neg", "pos"])
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "great", "label": "pos"}\n{"text": "meh", "label": "neutral"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"d\.jsonl has label 'neutral' that the model was never trained on; its "
                                        r"classes are \['neg', 'pos'\]"):
        evaluate(model, path)


def test_train_test_data_with_a_label_training_lacks_names_it_before_fitting(tmp_path, monkeypatch):
    from toolkit.cli.train import train

    (tmp_path / "train.jsonl").write_text('{"text": "good", "label": "pos"}\n{"text": "bad", "label": "neg"}\n')
    (tmp_path / "test.jsonl").write_text('{"text": "fine", "label": "pos"}\n{"text": "so so", "label": "mixed"}\n')
    monkeypatch.setattr("toolkit.models.classifier.EmbeddingClassifier.fit", lambda *a, **k: pytest.fail("fitted"))
    with pytest.raises(DataError, match=r"The test data \(.*test\.jsonl\) has label 'mixed' that the model was "
                                        r"never trained on; its classes are \['neg', 'pos'\]"):
        train(tmp_path / "train.jsonl", test_data=tmp_path / "test.jsonl", vectors=None, baseline=False)


# ----------------------------------------------------------------------- Ctrl-C


def _wait_for(proc, needle: bytes, timeout: float) -> bytes:
    """Read the process's stderr until ``needle`` appears; the bytes read."""
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stderr, selectors.EVENT_READ)
    seen, deadline = b"", time.monotonic() + timeout
    while needle not in seen:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise AssertionError(f"{needle!r} never appeared on stderr:\n{seen.decode(errors='replace')[-2000:]}")
        if sel.select(timeout=1):
            seen += os.read(proc.stderr.fileno(), 65536)
    return seen


def _default_sigint():
    """Child-process hook: SIGINT back to its default. A test run started in the background of a
    non-interactive shell (``nohup pytest &``) inherits SIGINT *ignored*; Python then installs no
    KeyboardInterrupt handler in the child and the Ctrl-C these tests send would be lost."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_keras_epochs_stops_and_writes_nothing(tmp_path, data_dir_env):
    out = tmp_path / "run"
    settings = {"architecture": "bag", "ngram_range": (1, 1), "epochs": 500, "patience": 500, "maxlen": 40,
                "max_tokens": 2000, "embedding_dim": 8, "validation_split": 0.1}
    with subprocess.Popen(
        [SCRIPT, "train", "--limit", "300", "--vectors", "none", "--no-baseline", "-o", out,
         *[arg for k, v in settings.items() for arg in ("--set", f"{k}={v}")]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, preexec_fn=_default_sigint,
    ) as proc:
        try:
            seen = _wait_for(proc, b"| 2/500", timeout=240)  # two epochs done: Keras is training now
            proc.send_signal(signal.SIGINT)
            _, rest = proc.communicate(timeout=60)
        finally:
            proc.kill()
    stderr = (seen + rest).decode()
    assert proc.returncode == 130, stderr[-2000:]
    assert f"Interrupted. Nothing was written to {out}" in stderr and "Traceback" not in stderr
    assert "| 500/500" not in stderr  # it stopped, not trained to the end
    assert list(tmp_path.iterdir()) == []  # no run folder, no temp folder


class _SlowHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", str(10_000_000))
        self.end_headers()
        try:
            for _ in range(1000):
                self.wfile.write(b"x" * 10_000)
                time.sleep(0.05)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_ctrl_c_during_data_fetch_deletes_the_partial_download(tmp_path):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SlowHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "slow.toml").write_text(
        'name = "slow"\ndescription = "A slow download."\nlicense = "none"\ncitation = "none"\nhomepage = "http://127.0.0.1/"\nformat = "text"\n'
        f'checksum_source = "test"\n[[files]]\nfilename = "slow.bin"\n'
        f'url = "http://127.0.0.1:{server.server_address[1]}/slow.bin"\nsha256 = "{"0" * 64}"\nsize = 10000000\n'
    )
    cache = tmp_path / "cache"
    with subprocess.Popen([SCRIPT, "data", "fetch", "slow", "--cache-dir", cache], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env={**os.environ, "TOOLKIT_MANIFEST_DIR": str(manifests)},
                          preexec_fn=_default_sigint) as proc:
        try:
            deadline = time.monotonic() + 60
            while not any(p.is_file() and p.stat().st_size > 0 for p in cache.rglob("*")):
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read().decode()
                time.sleep(0.2)
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=30)
        finally:
            proc.kill()
            server.shutdown()
            server.server_close()
    stderr = stderr.decode()
    assert proc.returncode == 130, stderr
    assert "Interrupted. The download of slow was stopped and its partial file deleted" in stderr
    assert "Traceback" not in stderr
    # nothing but the download's (empty) lock file, which filelock leaves by design
    assert [p.name for p in cache.rglob("*") if p.is_file() and p.suffix != ".lock"] == []
