"""Gaps of the corpus store and the Dask readers, as users met them.

A store partition damaged after its build (a copy cut short, a full disk, a
file of another build) failed late with a bare ``IndexError``; a bad
document was numbered within its partition as if in the whole input; the
build locks of the cache piled up; gzipped inputs were refused. The data are
small real IMDB samples; the tests that go through workers start their own
``distributed.LocalCluster`` on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("dask")

from toolkit.exceptions import DataError

_REBUILD = r"rebuild it .*`toolkit store build <inputs> -o .* --force`"


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0", silence_logs=50) as local:
        yield local


@pytest.fixture(scope="module")
def pairs(imdb_small):
    """61 real reviews and their labels: partitions of 31 and 30 documents."""
    texts, labels = imdb_small
    return texts[:61], labels[:61].tolist()


@pytest.fixture(scope="module")
def built(pairs, tmp_path_factory):
    """A store of the 61 reviews in two partitions, to copy and damage."""
    import dask.bag as db

    from toolkit.distributed import CorpusStore

    texts, labels = pairs
    path = tmp_path_factory.mktemp("gaps") / "store"
    CorpusStore.build(db.from_sequence(list(zip(texts, labels)), npartitions=2), path, scheduler="sync")
    return path


@pytest.fixture
def store_copy(built, tmp_path):
    path = tmp_path / "store"
    shutil.copytree(built, path)
    return path


def _use(path):
    """Everything a user reads from a store, partition 0 first."""
    from toolkit.distributed import CorpusStore

    store = CorpusStore(path)
    return (store.corpus(0).to_list(), store.ids(0)[0].tolist(), store.labels().tolist(),
            store.sequences(np.arange(store.n_documents), maxlen=20).tolist(), store.lengths().tolist())


# ------------------------------------------------------------ 1. damaged partitions
@pytest.mark.parametrize("cut", ["at a token boundary", "inside a token", "empty"])
def test_store_gaps_truncated_strings_fail_when_the_partition_is_opened(store_copy, cut):
    """A strings.bin cut short used to open fine and fail later with a bare IndexError (or decode wrongly)."""
    from toolkit.distributed import CorpusStore

    file = store_copy / "part-00000" / "strings.bin"
    data = file.read_bytes()
    keep = {"at a token boundary": data.rfind(b"\x00", 0, len(data) // 2), "inside a token": len(data) - 2,
            "empty": 0}[cut]
    file.write_bytes(data[:keep])
    store = CorpusStore(store_copy)
    message = (rf"part-00000.strings\.bin: {keep:,} bytes, store\.json records {len(data):,}; the store .* is "
               rf"damaged .*{_REBUILD}")
    with pytest.raises(DataError, match=message):
        store.corpus(0)
    assert store.corpus(1).to_list()  # the other partition is intact


def test_store_gaps_missing_strings_names_the_file(store_copy):
    from toolkit.distributed import CorpusStore

    (store_copy / "part-00001" / "strings.bin").unlink()
    with pytest.raises(DataError, match=rf"part-00001.strings\.bin is missing; the store .* is incomplete: {_REBUILD}"):
        CorpusStore(store_copy).corpus(1)


def test_store_gaps_truncated_strings_of_a_store_without_their_size(store_copy):
    """Stores built before store.json recorded the size of strings.bin: a cut that loses tokens is still caught."""
    from toolkit.distributed import CorpusStore

    meta = json.loads((store_copy / "store.json").read_text())
    for part in meta["parts"]:
        del part["strings_bytes"]
    (store_copy / "store.json").write_text(json.dumps(meta))
    file = store_copy / "part-00000" / "strings.bin"
    data = file.read_bytes()
    file.write_bytes(data[: data.rfind(b"\x00", 0, len(data) // 2)])
    with pytest.raises(DataError, match=rf"part-00000.strings\.bin: [\d,]+ strings, but tokens\.npy refers to string [\d,]+; "
                                        rf"the store .* is damaged .*{_REBUILD}"):
        CorpusStore(store_copy).corpus(0)


@pytest.mark.parametrize("name", ["tokens.npy", "offsets.npy", "ids.npy", "labels.npy", "strings.bin"])
def test_store_gaps_a_file_of_another_partition_is_refused(store_copy, name):
    """A folder mixed from two copies (an interrupted rsync of a rebuilt store): tokens and labels were read wrong."""
    shutil.copy(store_copy / "part-00001" / name, store_copy / "part-00000" / name)
    with pytest.raises(DataError, match=rf"part-00000.{name}: .*store\.json .*; the store .* is damaged .*{_REBUILD}"):
        _use(store_copy)


@pytest.mark.parametrize("name", ["tokens.npy", "offsets.npy", "ids.npy", "labels.npy"])
def test_store_gaps_arrays_cut_after_their_header_fail_when_opened(store_copy, name):
    """The header intact, the data cut: ids.npy used to fail only at the batch that reached the cut."""
    from toolkit.distributed import CorpusStore

    file = store_copy / "part-00000" / name
    data = file.read_bytes()
    file.write_bytes(data[: len(data) - 8])
    store = CorpusStore(store_copy)
    reads = {"tokens.npy": lambda: store.corpus(0), "offsets.npy": lambda: store.corpus(0),
             "ids.npy": lambda: store.sequences([0], maxlen=5), "labels.npy": store.labels}
    with pytest.raises(DataError, match=rf"part-00000.{name}: .*{_REBUILD}"):
        reads[name]()


def test_store_gaps_vocabulary_of_another_store_is_refused(store_copy, tmp_path):
    import dask.bag as db

    from toolkit.distributed import CorpusStore

    other = CorpusStore.build(db.from_sequence(["a b", "c"], npartitions=1), tmp_path / "other", scheduler="sync")
    shutil.copy(other.path / "vocabulary.json", store_copy / "vocabulary.json")
    with pytest.raises(DataError, match=rf"vocabulary\.json: 5 entries, store\.json records \d+; .*{_REBUILD}"):
        _ = CorpusStore(store_copy).vocabulary
    (store_copy / "vocabulary.json").unlink()
    with pytest.raises(DataError, match=rf"vocabulary\.json is missing; the store .* is incomplete: {_REBUILD}"):
        _ = CorpusStore(store_copy).vocabulary


def test_store_gaps_intact_store_reads_as_before(store_copy, built, pairs):
    """The checks refuse nothing a build wrote (empty partitions included)."""
    import dask.bag as db

    from toolkit.distributed import CorpusStore

    texts, labels = pairs
    corpus, _, found_labels, rows, lengths = _use(store_copy)
    assert found_labels == labels and len(rows) == 61 and len(lengths) == 61 and len(corpus) == 31
    middle = set(texts[3:6])
    bag = db.from_sequence(list(zip(texts[:9], labels[:9])), npartitions=3).filter(lambda pair: pair[0] not in middle)
    gap = CorpusStore.build(bag, store_copy.parent / "gap", scheduler="sync")
    assert [p["n_documents"] for p in gap.parts] == [3, 0, 3] and gap.corpus(1).to_list() == []
    assert gap.labels().tolist() == labels[:3] + labels[6:9] and len(gap.sequences(range(6), maxlen=5)) == 6


# --------------------------------------------------- 2. which document is bad
def _with_bad_document(texts, value):
    docs = list(texts[:40])
    docs[25] = value  # document 5 of partition 2 (partitions of 10)
    return docs


@pytest.mark.parametrize("value, problem", [(None, r"is missing \(None/NaN\)"),
                                            ("good " * 30_000, r"has 150,000 characters, more than max_length")],
                         ids=["missing", "too long"])
def test_store_gaps_tokenize_partitions_names_the_partition_of_a_bad_document(cluster, imdb_small, value, problem):
    """tokenize_partitions said "Document 5 of X" for the 26th document: X was its partition. It now gives the
    document's number in the whole input, and its place in its partition."""
    import dask.bag as db
    from distributed import Client

    from toolkit.distributed import tokenize_partitions

    texts, _ = imdb_small
    bag = db.from_sequence(_with_bad_document(texts, value), npartitions=4)
    assert bag.npartitions == 4
    tokenized = tokenize_partitions(bag, {"max_length": 100_000})
    with Client(cluster) as client, pytest.raises((ValueError, DataError),
                                                   match=rf"^Document 25 of the input \(document 5 of partition 2\) "
                                                         rf"{problem}"):
        client.compute(tokenized).result()


def test_store_gaps_store_names_the_partition_of_a_too_long_document(imdb_small, tmp_path):
    """The store named the partition of a missing text, but not of one longer than max_length ("Document 5 of X").
    Both now give the document's number in the whole input, as tokenize_partitions and the tokenizer do."""
    import dask.bag as db

    from toolkit.distributed import CorpusStore

    texts, _ = imdb_small
    bag = db.from_sequence(_with_bad_document(texts, "good " * 30_000), npartitions=4)
    with pytest.raises(DataError, match=r"^Document 25 of the input \(document 5 of partition 2\) has 150,000 "
                                        r"characters, more than max_length=100,000\. Split long documents first"):
        CorpusStore.build(bag, tmp_path / "store", tokenizer={"max_length": 100_000}, scheduler="sync")
    assert not (tmp_path / "store").exists()


def test_store_gaps_store_on_a_cluster_names_a_bad_document_by_its_number_in_the_input(cluster, imdb_small, tmp_path):
    """On a cluster the error comes back from a worker process: its partition and index travel with it."""
    import dask.bag as db
    from distributed import Client

    from toolkit.distributed import CorpusStore
    from toolkit.exceptions import DocumentError

    texts, _ = imdb_small
    bag = db.from_sequence(_with_bad_document(texts, None), npartitions=4)
    with Client(cluster), pytest.raises(DocumentError, match=r"^Document 25 of the input \(document 5 of "
                                                             r"partition 2\) is missing") as err:
        CorpusStore.build(bag, tmp_path / "store", scheduler="distributed")
    assert err.value.document_index == 25
    assert not (tmp_path / "store").exists()


def test_store_gaps_tokenize_partitions_unchanged_on_good_input(imdb_small):
    import dask.bag as db

    from toolkit.distributed import tokenize_partitions
    from toolkit.text import SpacyTokenizer

    texts, _ = imdb_small
    found = tokenize_partitions(db.from_sequence(texts[:30], npartitions=3)).compute(scheduler="sync")
    assert found == SpacyTokenizer().transform(texts[:30]).to_list()


# ----------------------------------------------------------- 3. build locks
def _old(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    os.utime(path, (0, 0))
    return path


def test_store_gaps_build_once_sweeps_unused_old_locks(tmp_path):
    """Each cache entry built left <cache>/locks/<name>.lock behind for ever."""
    from toolkit.data._download import build_once

    locks = tmp_path / "locks"
    stale = [_old(locks / f"domain_vectors-{i}.lock") for i in range(3)]
    recent = locks / "doc_vectors-recent.lock"
    recent.touch()
    entry = tmp_path / "entries" / "x"
    value, built = build_once(entry, "entry-x", read=lambda: "read", build=lambda: entry.mkdir(parents=True) or "built",
                              purpose="testing")
    assert (value, built) == ("built", True)
    assert not any(p.exists() for p in stale)
    assert recent.exists()  # used within STALE_SECONDS: kept
    assert build_once(entry, "entry-x", read=lambda: "read", build=lambda: "again", purpose="testing") == ("read", False)


def test_store_gaps_build_once_keeps_a_lock_another_process_holds(tmp_path):
    """An old lock file held (a long build elsewhere) is never removed: its waiters would lock a new file."""
    from toolkit.data._download import build_once, file_lock

    held = _old(tmp_path / "locks" / "clusters-held.lock")
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import os, sys
            from filelock import FileLock
            lock = FileLock({str(held)!r})
            lock.acquire()
            os.utime({str(held)!r}, (0, 0))
            print("held", flush=True)
            sys.stdin.read()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        entry = tmp_path / "entries" / "y"
        assert build_once(entry, "entry-y", read=lambda: None, build=lambda: "built", purpose="testing")[1]
        assert held.exists()
        # ours is still a lock: taken again while the other process holds its own
        with file_lock(tmp_path / "locks" / "entry-y.lock", timeout=5):
            pass
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()
    assert build_once(tmp_path / "entries" / "z", "entry-z", read=lambda: None, build=lambda: 1, purpose="t")[1]
    assert not held.exists()  # released and old: swept by the next build


_USER = """
import sys, time
from pathlib import Path
from filelock import FileLock
counter = Path(sys.argv[2])
for _ in range(int(sys.argv[3])):
    with FileLock(sys.argv[1]):  # read, wait, write: a second holder at once loses increments or reads ''
        value = int(counter.read_text())
        time.sleep(0.0005)
        counter.write_text(str(value + 1))
"""
_SWEEPER = """
import sys
from pathlib import Path
from toolkit.data._download import _sweep_locks
folder, removed = Path(sys.argv[1]), 0
while not (folder.parent / "done").exists():
    removed += _sweep_locks(folder, keep=folder / "none.lock", max_age=-1)  # every age: the hardest case
print(removed)
"""


def test_store_gaps_lock_sweep_keeps_the_lock_exclusive(tmp_path):
    """Removing lock files while processes take them: still one holder at a time (a plain unlink breaks this)."""
    from pathlib import Path

    lock, counter = tmp_path / "locks" / "x.lock", tmp_path / "counter"
    lock.parent.mkdir()
    counter.write_text("0")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    sweeper = subprocess.Popen([sys.executable, "-c", _SWEEPER, str(lock.parent)], stdout=subprocess.PIPE, text=True,
                               env=env)
    users = [subprocess.Popen([sys.executable, "-c", _USER, str(lock), str(counter), "150"], env=env)
             for _ in range(2)]
    try:
        assert [u.wait(timeout=120) for u in users] == [0, 0]
    finally:
        (tmp_path / "done").touch()
        removed = int(sweeper.communicate(timeout=60)[0])
    assert counter.read_text() == "300"
    assert removed > 0  # the sweep did remove the lock file between holders


def test_store_gaps_lock_sweep_skips_locks_this_process_holds(tmp_path):
    from toolkit.data._download import _sweep_locks, file_lock

    mine = _old(tmp_path / "locks" / "outer.lock")
    with file_lock(mine):  # a build that runs another build_once inside it
        assert _sweep_locks(tmp_path / "locks", keep=tmp_path / "locks" / "inner.lock") == 0
        assert mine.exists()
    assert _sweep_locks(tmp_path / "locks", keep=tmp_path / "locks" / "inner.lock") == 1


# --------------------------------------------------------- 4. gzipped inputs
@pytest.fixture(scope="module")
def imdb_files(imdb_small, tmp_path_factory):
    """40 reviews as .jsonl, .csv and .txt files, and gzipped copies of each."""
    import pandas as pd

    texts, labels = imdb_small
    texts = [t.replace("\n", " ") for t in texts[:40]]
    folder = tmp_path_factory.mktemp("inputs")
    records = [{"text": t, "label": str(y)} for t, y in zip(texts, labels)]
    plain = {
        "jsonl": "".join(json.dumps(r) + "\n" for r in records).encode("utf-8"),
        "csv": pd.DataFrame(records).to_csv(index=False).encode("utf-8"),
        "txt": "\ufeff".encode() + "".join(t + "\n" for t in texts).encode("utf-8"),  # a byte order mark first
    }
    for kind, data in plain.items():
        (folder / f"reviews.{kind}").write_bytes(data)
        with gzip.open(folder / f"reviews.{kind}.gz", "wb") as fh:
            fh.write(data)
    return folder, texts, [str(y) for y in labels[:40]]


@pytest.mark.parametrize("kind", ["jsonl", "csv", "txt"])
def test_store_gaps_read_texts_reads_gzipped_files(imdb_files, kind):
    """read_texts refused reviews.jsonl.gz: "expected .txt (one document per line), .csv or .jsonl files"."""
    from toolkit.distributed import read_texts

    folder, texts, labels = imdb_files
    columns = {} if kind == "txt" else {"text_column": "text", "label_column": "label"}
    expected = texts if kind == "txt" else list(zip(texts, labels))
    plain = read_texts(folder / f"reviews.{kind}", **columns).compute(scheduler="sync")
    assert plain == expected
    gz = read_texts(folder / f"reviews.{kind}.gz", **columns)
    assert gz.npartitions == 1  # a gzip stream cannot be cut: a partition per file
    assert gz.compute(scheduler="sync") == expected
    two = read_texts([folder / f"reviews.{kind}.gz"] * 2, **columns)
    assert two.npartitions == 2 and two.compute(scheduler="sync") == expected * 2


def test_store_gaps_store_built_from_gzipped_json_lines_equals_the_plain_one(cluster, imdb_files, tmp_path):
    from distributed import Client

    from toolkit.distributed import CorpusStore

    folder, _, labels = imdb_files
    with Client(cluster):
        plain = CorpusStore.build(folder / "reviews.jsonl", tmp_path / "plain", text_column="text",
                                  label_column="label")
        gz = CorpusStore.build(folder / "reviews.jsonl.gz", tmp_path / "gz", text_column="text",
                               label_column="label")
    assert gz.vocabulary.tokens == plain.vocabulary.tokens and gz.labels().tolist() == labels
    assert gz.sequences(range(40), maxlen=50).tolist() == plain.sequences(range(40), maxlen=50).tolist()


def test_store_gaps_read_texts_gzip_errors(imdb_files, tmp_path):
    from toolkit.distributed import read_texts

    folder, _, _ = imdb_files
    with pytest.raises(ValueError, match=r"read_texts reads one kind of file at a time; got suffixes \['\.csv', '\.jsonl\.gz'\]"):
        read_texts([folder / "reviews.csv", folder / "reviews.jsonl.gz"], text_column="text")
    (tmp_path / "reviews.jsonl.zst").write_bytes(b"")  # .bz2 and .xz are read since session 47
    with pytest.raises(ValueError, match=r"cannot read .*reviews\.jsonl\.zst.*expected \.txt .*\.tsv or \.jsonl "
                                         r"files, plain or compressed \(\.gz, \.bz2, \.xz\)"):
        read_texts(tmp_path / "reviews.jsonl.zst", text_column="text")
    for kind in ("jsonl", "csv", "txt"):  # a copy cut short: the error named no file
        data = (folder / f"reviews.{kind}.gz").read_bytes()
        (tmp_path / f"cut.{kind}.gz").write_bytes(data[: len(data) // 2])
        with pytest.raises(DataError, match=rf"cut\.{kind}\.gz: not a complete gzip file .*`gzip -t FILE`"):
            read_texts([folder / f"reviews.{kind}.gz", tmp_path / f"cut.{kind}.gz"],
                       text_column=None if kind == "txt" else "text").compute(scheduler="sync")


# ------------------------------------------------------------------ toolkit store build on gzipped inputs


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_store_gaps_store_build_checks_gzipped_tables_as_tables(imdb_files, kind):
    """`toolkit store build reviews.jsonl.gz --label-column label` said "--label-column needs .csv or .jsonl
    inputs; .txt inputs hold one document per line" (the pre-flight check read the suffix ".gz")."""
    from toolkit.cli.store import _check_inputs

    folder, _, _ = imdb_files
    _check_inputs([folder / f"reviews.{kind}.gz"], "text", "label")  # no error
    with pytest.raises(DataError, match=rf"reviews\.{kind}\.gz has no column 'stars' \(--label-column\); its "
                                        r"columns are \['(label|text)', '(label|text)'\]"):
        _check_inputs([folder / f"reviews.{kind}.gz"], "text", "stars")


def test_store_gaps_store_build_pre_flight_names_a_damaged_gzip(imdb_files, tmp_path):
    from toolkit.cli.store import _check_inputs

    folder, _, _ = imdb_files
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes((folder / "reviews.jsonl.gz").read_bytes()[:40])
    with pytest.raises(DataError, match=r"cut\.jsonl\.gz: not a complete gzip file"):
        _check_inputs([cut], "text", "label")


def test_store_gaps_cli_store_build_reads_gzipped_json_lines(cluster, imdb_files, tmp_path):
    from typer.testing import CliRunner

    from toolkit.cli import app
    from toolkit.distributed import CorpusStore

    folder, _, labels = imdb_files
    result = CliRunner().invoke(app, ["-q", "store", "build", str(folder / "reviews.jsonl.gz"), "-o",
                                      str(tmp_path / "store"), "--label-column", "label", "--scheduler",
                                      cluster.scheduler_address])
    assert result.exit_code == 0, result.output
    assert CorpusStore(tmp_path / "store").labels().tolist() == labels


# ------------------------------------------------------------------ fit_from_store: a failed refit


def test_store_gaps_failed_refit_from_a_store_keeps_the_fitted_model(built, tmp_path, data_dir_env):
    """fit_from_store set the new classes, vocabulary and maxlen before training: a refit that failed (here its
    vectors file is missing) left them beside the previous model, whose predictions then changed silently."""
    from toolkit.distributed import CorpusStore, fit_from_store
    from toolkit.exceptions import VectorsNotFoundError
    from toolkit.models import EmbeddingClassifier

    store = CorpusStore(built)
    clf = fit_from_store(EmbeddingClassifier(embedding_dim=8, epochs=1, maxlen=40, max_tokens=500,
                                             validation_split=0.0, random_state=0), store)
    docs = [list(tokens) for tokens in store.corpus(0)][:5]
    before, vocabulary, model = clf.predict_proba(docs), clf.vocabulary_, clf.model_
    clf.set_params(max_tokens=50, maxlen=10, vectors=str(tmp_path / "missing.txt"))
    with pytest.raises((VectorsNotFoundError, FileNotFoundError)):
        fit_from_store(clf, store)
    assert clf.vocabulary_ is vocabulary and clf.model_ is model and clf.maxlen_ == 40
    clf.set_params(max_tokens=500, maxlen=40, vectors=None)
    np.testing.assert_array_equal(clf.predict_proba(docs), before)


# ------------------------------------------------------------ the tokenizer's record
def test_store_gaps_corpus_of_a_partition_records_the_store_tokenizer(pairs, tmp_path):
    """A corpus read back from a store had no tokenizer record, so domain vectors trained on it tokenized their
    unlabelled texts with SpacyTokenizer's defaults (lower-cased) whatever the store's tokenizer was."""
    import dask.bag as db

    from toolkit.distributed import CorpusStore

    texts, labels = pairs
    cased = CorpusStore.build(db.from_sequence(list(zip(texts[:20], labels[:20])), npartitions=1), tmp_path / "cased",
                              tokenizer={"lowercase": False, "ngram_range": (1, 2)}, scheduler="sync")
    assert cased.corpus(0).tokenizer_params == {"lowercase": False}  # word n-grams are no part of the record
    plain = CorpusStore.build(db.from_sequence(list(zip(texts[:20], labels[:20])), npartitions=1), tmp_path / "plain",
                              scheduler="sync")
    assert plain.corpus(0).tokenizer_params == {}


def test_store_gaps_refit_from_a_store_keeps_the_served_model_until_it_is_done(built):
    """A model refitted from a store in one thread while another predicts with it: mid-training, the estimator
    still holds its previous vocabulary and model (fit_from_store trains a private copy and publishes it when
    done, as EmbeddingClassifier.fit). Before, it set the new vocabulary and maxlen before training, so a
    prediction made meanwhile encoded documents for a model that never saw those ids."""
    import keras

    from toolkit.distributed import CorpusStore, fit_from_store
    from toolkit.models import EmbeddingClassifier

    store = CorpusStore(built)
    clf = fit_from_store(EmbeddingClassifier(embedding_dim=8, epochs=2, maxlen=40, max_tokens=500,
                                             validation_split=0.0, random_state=0), store)
    vocabulary, model = clf.vocabulary_, clf.model_
    seen = {}

    def on_epoch_end(epoch, logs=None):  # mid-refit: what another thread would read now
        seen.setdefault("vocabulary", clf.vocabulary_)
        seen.setdefault("model", clf.model_)
        seen.setdefault("maxlen", clf.maxlen_)

    clf.set_params(max_tokens=50, maxlen=10, callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)])
    fit_from_store(clf, store)
    assert seen["vocabulary"] is vocabulary and seen["model"] is model and seen["maxlen"] == 40
    assert clf.vocabulary_ is not vocabulary and clf.maxlen_ == 10
