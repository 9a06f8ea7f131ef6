"""Shared fixtures. Tests run offline; real data is read in place from ../shared/data."""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

#: Under pytest-xdist (the README's ``-n 2``, one process per core) each worker, and every process it starts,
#: computes on one BLAS and one TensorFlow thread: with their default of one thread per core the two workers ran
#: four on two cores, and OpenBLAS's waiting threads spin (four test files: 264-295 instead of 367-376 CPU s).
#: A variable the user set wins; a test that needs more threads sets them itself.
ONE_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                        "TF_NUM_INTEROP_THREADS")
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _name in ONE_THREAD_VARIABLES:
        os.environ.setdefault(_name, "1")
    from threadpoolctl import threadpool_limits

    if os.environ["OPENBLAS_NUM_THREADS"].isdigit():  # numpy, loaded above, read the variable before it was set
        threadpool_limits(int(os.environ["OPENBLAS_NUM_THREADS"]), user_api="blas")

ROOT = Path(__file__).resolve().parents[1]
# Where the real data is read from: TOOLKIT_TEST_DATA_DIR, else the user's TOOLKIT_DATA_DIR, else ../shared/data.
# (Read here, at import: the session fixture below unsets TOOLKIT_DATA_DIR for the tests themselves.)
SHARED_DATA = Path(
    os.environ.get("TOOLKIT_TEST_DATA_DIR") or os.environ.get("TOOLKIT_DATA_DIR") or ROOT.parent / "shared" / "data"
).resolve()
IMDB_TARBALL = SHARED_DATA / "aclImdb_v1.tar.gz"
GLOVE_50D = SHARED_DATA / "glove.6B.50d.txt.gz"


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False,
                     help="also run the tests marked slow (CI runs them after the default run)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow (CI does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Never write to the user's cache; never read a data folder by accident."""
    cache = tmp_path_factory.mktemp("toolkit-cache")
    old = {k: os.environ.get(k) for k in ("TOOLKIT_CACHE_DIR", "TOOLKIT_DATA_DIR")}
    os.environ["TOOLKIT_CACHE_DIR"] = str(cache)
    os.environ.pop("TOOLKIT_DATA_DIR", None)
    yield cache
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(autouse=True)
def _restore_logging():
    """The CLI's root callback reconfigures logging (``-q``: the root logger at ERROR, its own handler); put it
    back after each test, so a CLI test run in-process does not silence the next test's warnings (``caplog``).
    Under ``pytest -n 2`` each worker runs its own order of test files, so any test file may come next."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def in_ci() -> bool:
    """True under continuous integration (``CI=true``, as GitHub Actions, GitLab CI and others set it)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder (IMDB tarball, GloVe 6B-50d, SHA256SUMS).

    Every test that needs real data gets it through this fixture. Without the
    data the test is skipped on a user's machine, but fails in CI (``CI=true``),
    so a CI run can never lose the real-data tests silently.
    """
    missing = [p.name for p in (IMDB_TARBALL, GLOVE_50D) if not p.is_file()]
    if missing:
        message = (
            f"real data not found in {SHARED_DATA}: missing {', '.join(missing)}. Set TOOLKIT_DATA_DIR "
            "(or TOOLKIT_TEST_DATA_DIR) to the folder that holds aclImdb_v1.tar.gz and glove.6B.50d.txt.gz."
        )
        if in_ci():
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    return SHARED_DATA


@pytest.fixture
def data_dir_env(shared_data, monkeypatch) -> Path:
    """Point TOOLKIT_DATA_DIR at the real-data folder for one test."""
    monkeypatch.setenv("TOOLKIT_DATA_DIR", str(shared_data))
    return shared_data


# Small real-data fixtures shared by the classifier, pooling, persistence and NB tests.
N_REVIEWS = 600
GLOVE_ROWS = 20000
_WORD = re.compile(r"[a-z0-9']+")


def load_and_predict_in_fresh_process(path, texts, tmp_path):
    """``load_model(path).predict_proba(texts)`` in a new Python process: (probabilities, the model's
    last step's (a pipeline's) or the model's own type name and ``member_names_`` as printed there, and whether
    Keras was imported)."""
    import json
    import subprocess
    import sys

    (tmp_path / "texts.json").write_text(json.dumps(list(texts)))
    script = (
        "import json, sys, numpy as np\n"
        "from toolkit.models import load_model\n"
        "pipe = load_model(sys.argv[1])\n"
        "np.save(sys.argv[3], pipe.predict_proba(json.load(open(sys.argv[2]))))\n"
        "last = pipe[-1] if hasattr(pipe, 'steps') else pipe\n"
        "print(type(last).__name__, getattr(last, 'member_names_', None))\n"
        "print('keras imported:', 'keras' in sys.modules or 'tensorflow' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script, str(path), str(tmp_path / "texts.json"),
                             str(tmp_path / "p.npy")], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return np.load(tmp_path / "p.npy"), result.stdout


def simple_tokens(texts):
    """Cheap lowercase word tokens (the classifier tests do not test spaCy)."""
    return [_WORD.findall(text.lower().replace("<br />", " ")) for text in texts]


@pytest.fixture(scope="session")
def imdb_small(shared_data):
    """600 shuffled IMDB training reviews, balanced: (texts, labels as 'neg'/'pos')."""
    from toolkit.data.datasets import load_imdb

    data = load_imdb("train", path=shared_data / "aclImdb_v1.tar.gz", limit=N_REVIEWS,
                     shuffle=True, random_state=0)
    labels = np.asarray(data.target_names)[data.labels]
    return list(data.texts), labels


@pytest.fixture(scope="session")
def imdb_small_ratings(shared_data):
    """The star ratings (1-4 negative, 7-10 positive) of :func:`imdb_small`'s reviews, in the same order."""
    from toolkit.data.datasets import load_imdb

    data = load_imdb("train", path=shared_data / "aclImdb_v1.tar.gz", limit=N_REVIEWS,
                     shuffle=True, random_state=0)
    return np.asarray(data.ratings)


@pytest.fixture(scope="session")
def imdb_tokens(imdb_small):
    """(token lists, labels) of :func:`imdb_small`."""
    texts, labels = imdb_small
    return simple_tokens(texts), labels


@pytest.fixture(scope="session")
def imdb_tokens200(imdb_tokens):
    """The first 200 of :func:`imdb_tokens`: token lists, and their 'neg'/'pos' labels as an array."""
    tokens, labels = imdb_tokens
    return tokens[:200], np.asarray(labels[:200])


@pytest.fixture(scope="session")
def imdb_token_array60(imdb_tokens):
    """The first 60 of :func:`imdb_tokens` as an object array of token lists (as grid_search scatters them),
    and their labels."""
    docs, labels = imdb_tokens
    X = np.empty(60, dtype=object)
    X[:] = docs[:60]
    return X, labels[:60]


@pytest.fixture(scope="session")
def split(imdb_tokens):
    """400 training and 200 held-out real reviews (token lists, 'neg'/'pos'): the stack tests' split."""
    docs, labels = imdb_tokens
    return docs[:400], labels[:400], docs[400:], labels[400:]


@pytest.fixture
def fresh_domain_cache(tmp_path, monkeypatch):
    """An empty cache folder of the test's own (``TOOLKIT_CACHE_DIR``) and fresh domain-vector and doc-model memos."""
    from toolkit.vectors import docvec, domain

    path = tmp_path / "cache"
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(path))
    domain.clear_memo()
    docvec.clear_memo()
    yield path
    domain.clear_memo()
    docvec.clear_memo()


@pytest.fixture(scope="session")
def imdb_counts_partly_labelled(imdb_small):
    """200 real reviews as counts (``CountVectorizer(min_df=2)``), an object array of their 'neg'/'pos' labels
    with the first 80 kept and the rest -1 (unlabelled), and the true labels."""
    from sklearn.feature_extraction.text import CountVectorizer

    texts, labels = imdb_small
    X = CountVectorizer(min_df=2).fit_transform(texts[:200])
    y = np.asarray(labels[:200], dtype=object)
    y[80:] = -1
    return X, y, np.asarray(labels[:200])


def rewrite_keeping_mtime(path, data: bytes):
    """``path`` rewritten with ``data`` (same size), its modification time put back (``rsync -t``, ``tar -x``).

    Through a new file renamed onto the old, so the inode changes whatever the clock's granularity.
    """
    before = path.stat()
    assert len(data) == before.st_size
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)

def invoke_quiet(*args):
    """``toolkit -q ARGS`` run in-process (typer's CliRunner); its result."""
    from typer.testing import CliRunner

    from toolkit.cli import app

    return CliRunner().invoke(app, ["-q", *map(str, args)])


def one_error(result) -> str:
    """The one line ``Error: ...`` of a CliRunner ``result`` that failed with exit code 1 (not a bug)."""
    assert result.exit_code == 1 and not isinstance(result.exception, (AssertionError, TypeError)), result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def cli_runner(tmp_path, monkeypatch, *, quiet=True):
    """``toolkit [-q] ARGS`` through typer's CliRunner with the working directory in ``tmp_path``: a function
    ``run(*args, stdin=None, quiet=quiet)`` giving (exit code, stdout, stderr); one process for the tests that
    need no real pipe (spaCy and a model load once)."""
    from typer.testing import CliRunner

    from toolkit.cli import app

    monkeypatch.chdir(tmp_path)

    def run(*args, stdin=None, quiet=quiet):
        result = CliRunner().invoke(app, ["-q"] * quiet + [*map(str, args)], input=stdin)
        return result.exit_code, result.stdout, result.stderr

    return run


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """:func:`cli_runner` in the test's ``tmp_path``, quiet (``-q``) unless a call says ``quiet=False``."""
    return cli_runner(tmp_path, monkeypatch)


def saved_nb_pipeline(texts, labels, folder):
    """A tokenizer + bag + LogisticRegression pipeline fitted on ``texts`` (no Keras: quick to fit, and to load
    in a subprocess), saved to ``folder / "model"``; the folder's path."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit import BagEncoder, SpacyTokenizer
    from toolkit.models.persistence import save_model

    pipe = make_pipeline(SpacyTokenizer(), BagEncoder(), LogisticRegression())
    pipe.fit(texts, labels)
    return save_model(pipe, folder / "model")


def toolkit_subprocess(tmp_path, *args, stdin=None, timeout=180):
    """``python -m toolkit -q ARGS`` in a subprocess in ``tmp_path`` (a real pipe): (exit code, stdout, stderr)."""
    import subprocess
    import sys

    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-m", "toolkit", "-q", *map(str, args)], input=stdin,
                            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=timeout, check=False)
    return result.returncode, result.stdout, result.stderr


@pytest.fixture
def longest_chunk_to_spacy(monkeypatch):
    """Fail at once when spaCy is handed a whitespace-free chunk longer than the tokenizer's ``_LONG_SPAN``;
    a one-item list holding the longest chunk it was handed."""
    import toolkit.text.tokenizer as tokenizer_module

    seen = [0]
    original = tokenizer_module._Engine._doc

    def recording_doc(self, text):
        longest = max(map(len, text.split()), default=0)
        assert longest <= tokenizer_module._LONG_SPAN, f"spaCy was handed a {longest:,}-character whitespace-free chunk"
        seen[0] = max(seen[0], longest)
        return original(self, text)

    monkeypatch.setattr(tokenizer_module._Engine, "_doc", recording_doc)
    return seen


def spacy_tokens(texts):
    """The tokens ``spacy.blank("en")`` gives each cleaned text (grapheme clusters joined, spaces dropped)."""
    import spacy

    import toolkit.text.tokenizer as tokenizer_module
    from toolkit.text import clean_text

    nlp = spacy.blank("en")
    return [[t.text for t in tokenizer_module._join_clusters(nlp.tokenizer(clean_text(text))) if not t.is_space]
            for text in texts]


@pytest.fixture
def predict_echoes_texts(monkeypatch):
    """``toolkit predict`` with no model: each document's "label" is its first 20 characters, so a test checks
    what the command read (no model is loaded, TensorFlow is not imported)."""
    import toolkit.cli.train as train_module

    monkeypatch.setattr(train_module, "_check_saved_model", lambda model: None)
    monkeypatch.setattr(train_module, "_load_tensorflow_for", lambda model: None)
    monkeypatch.setattr(train_module, "predict", lambda model, texts, **kw: [{"label": t[:20]} for t in texts])


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of two worker processes on 127.0.0.1 for a test file (a file may define its own)."""
    import logging

    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0", silence_logs=logging.CRITICAL) as cluster:
        yield cluster


@pytest.fixture
def client(cluster):
    """A Client of the test file's ``cluster`` (conftest's, or the file's own)."""
    from distributed import Client

    with Client(cluster) as client:
        yield client


def write_vectors(path, words, seed=0, dim=8):
    """A word2vec text file (with its header) of ``words`` with distinct random vectors; returns ``path``."""
    vectors = np.random.default_rng(seed).normal(size=(len(words), dim)).astype(np.float32)
    lines = [f"{len(words)} {dim}"] + [f"{w} " + " ".join(f"{x:.6f}" for x in v) for w, v in zip(words, vectors)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def small_fasttext_bin(docs, path):
    """A small fastText model (16 dimensions, 20,000 buckets, seeded) trained on ``docs``, saved as a Facebook
    ``.bin`` at ``path``; returns ``path``."""
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    model = FastText(vector_size=16, window=3, min_count=2, epochs=2, bucket=20_000, workers=1, seed=0)
    model.build_vocab(docs)
    model.train(docs, total_examples=len(docs), epochs=model.epochs)
    save_facebook_model(model, str(path))
    return path


@pytest.fixture(scope="session")
def fasttext_bin(imdb_tokens200, tmp_path_factory):
    """A small fastText model trained here on 200 real IMDB training reviews, saved as a Facebook .bin."""
    return small_fasttext_bin(imdb_tokens200[0], tmp_path_factory.mktemp("fasttext") / "imdb200.bin")


@pytest.fixture(scope="session")
def glove_small(shared_data, tmp_path_factory):
    """The first 20,000 rows of the real GloVe 6B-50d file, as a plain .txt path."""
    path = tmp_path_factory.mktemp("glove") / "glove.20k.50d.txt"
    with gzip.open(shared_data / "glove.6B.50d.txt.gz", "rt", encoding="utf-8") as src, \
            open(path, "w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i == GLOVE_ROWS:
                break
            dst.write(line)
    return path


@pytest.fixture
def kmeans_calls(monkeypatch, tmp_path):
    """Count WordClusterer's k-means runs, with an empty memo and an empty cache folder of the test's own
    (``tmp_path / "cache"``, as ``TOOLKIT_CACHE_DIR``)."""
    from toolkit.vectors import clusters
    from toolkit.vectors.clusters import WordClusterer

    calls = []
    real = WordClusterer._kmeans
    monkeypatch.setattr(WordClusterer, "_kmeans", lambda self, v, w: calls.append(1) or real(self, v, w))
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    clusters._MEMO.clear()
    yield calls
    clusters._MEMO.clear()


def write_reviews_tar(path, texts, member="revs/{i}_7.txt", mode="w:gz"):
    """A tar archive at ``path`` of ``texts``, one per member named ``member.format(i=i)``; returns ``path``.

    The shape of the IMDB tarball (one review per file), for the checks that refuse an archive read as text.
    """
    import io
    import tarfile

    with tarfile.open(path, mode) as tar:
        for i, text in enumerate(texts):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(member.format(i=i))
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def write_labelled_csv(path, texts, labels):
    """A CSV file at ``path`` with a ``text,label`` header and one row per (text, label); returns ``path``."""
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels))
    return path


@pytest.fixture
def in_process_build(monkeypatch):
    """``toolkit store build`` computing in this process (Dask's sync scheduler), not on a cluster it starts:
    what such a test checks is how the inputs are read, not where."""
    import contextlib

    import dask

    from toolkit.distributed import search

    @contextlib.contextmanager
    def no_cluster(scheduler=None, *, n_workers=None):
        with dask.config.set(scheduler="sync"):
            yield None

    monkeypatch.setattr(search, "dask_client", no_cluster)
