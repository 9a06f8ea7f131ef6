"""The data readers and the Dask input path as a user calls them: masks, BOMs, stray fields, mixed labels.

Each test pins a problem found by using the API on small real IMDB samples
and hand-made files (a UTF-8 byte order mark as Excel writes it, an unquoted
comma, a JSON lines file with blank lines, a missing label). The Dask tests
run on the synchronous scheduler, except one on a 1-worker ``LocalCluster``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from toolkit.data import load_csv, load_folder, load_imdb, load_jsonl
from toolkit.exceptions import DataError


@pytest.fixture(scope="module")
def imdb_20(shared_data):
    """20 shuffled real IMDB training reviews (10 per class)."""
    return load_imdb("train", path=shared_data / "aclImdb_v1.tar.gz", limit=20, shuffle=True, random_state=0)


def _write_jsonl(path, texts, labels, *, bom=False, blank_lines=False):
    lines = [json.dumps({"text": t, "label": y}) for t, y in zip(texts, labels)]
    body = ("\n\n" if blank_lines else "\n").join(lines) + ("\n\n" if blank_lines else "\n")
    path.write_text(body, encoding="utf-8-sig" if bom else "utf-8")
    return path


# --------------------------------------------------------------------------- TextDataset


def test_data_usage_subset_with_a_boolean_mask_keeps_the_masked_documents(imdb_20):
    ds = imdb_20
    pos = ds.subset(ds.labels == 1)
    assert len(pos) == int((ds.labels == 1).sum()) == 10
    assert (pos.labels == 1).all()
    assert pos.texts == [t for t, y in zip(ds.texts, ds.labels) if y == 1]
    assert (pos.ratings >= 7).all() and list(pos.groups) == list(ds.groups[ds.labels == 1])
    with pytest.raises(ValueError, match="one value per document"):
        ds.subset(np.ones(3, dtype=bool))


# --------------------------------------------------------------------------- readers


def test_data_usage_utf8_bom_is_not_part_of_the_first_column_record_or_text(imdb_20, tmp_path):
    texts, labels = imdb_20.texts[:4], [imdb_20.target_names[y] for y in imdb_20.labels[:4]]
    import csv

    with open(tmp_path / "excel.csv", "w", encoding="utf-8-sig", newline="") as fh:  # Excel's "CSV UTF-8"
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels))
    ds = load_csv(tmp_path / "excel.csv")
    assert ds.texts == texts and [ds.target_names[y] for y in ds.labels] == labels

    ds = load_jsonl(_write_jsonl(tmp_path / "bom.jsonl", texts, labels, bom=True))
    assert ds.texts == texts

    (tmp_path / "folder" / "pos").mkdir(parents=True)
    (tmp_path / "folder" / "pos" / "0.txt").write_text(texts[0], encoding="utf-8-sig")
    assert load_folder(tmp_path / "folder").texts == [texts[0]]


def test_data_usage_csv_row_with_more_fields_than_the_header_is_an_error(tmp_path):
    path = tmp_path / "unquoted.csv"
    path.write_text("text,label\nA fine film,pos\nI liked it, a lot,pos\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"unquoted\.csv, line 3: 3 fields, but the header has 2.*quoted"):
        load_csv(path)


def test_data_usage_csv_empty_file_and_tsv_read_as_csv_say_what_to_do(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match=r"empty\.csv is empty"):
        load_csv(tmp_path / "empty.csv")
    (tmp_path / "reviews.tsv").write_text("text\tlabel\ngood\tpos\nbad\tneg\n")
    with pytest.raises(DataError, match=r"delimiter='\\t'"):
        load_csv(tmp_path / "reviews.tsv")
    assert load_csv(tmp_path / "reviews.tsv", delimiter="\t").target_names == ["neg", "pos"]


def test_data_usage_jsonl_integer_labels_as_numbers_and_strings_are_one_class(tmp_path):
    path = tmp_path / "merged.jsonl"
    path.write_text('{"text": "a", "label": 1}\n{"text": "b", "label": "1"}\n{"text": "c", "label": 0}\n')
    ds = load_jsonl(path)
    assert ds.target_names == ["0", "1"]
    assert ds.labels.tolist() == [1, 1, 0]
    clash = tmp_path / "clash.jsonl"
    clash.write_text('{"text": "a", "label": true}\n{"text": "b", "label": "True"}\n')
    with pytest.raises(DataError, match="same name 'True'"):
        load_jsonl(clash)


# --------------------------------------------------------------------------- Dask inputs

dask = pytest.importorskip("dask")


def test_data_usage_read_texts_jsonl_skips_blank_lines_like_load_jsonl(imdb_20, tmp_path):
    from toolkit.distributed import read_texts

    labels = [imdb_20.target_names[y] for y in imdb_20.labels]
    path = _write_jsonl(tmp_path / "r.jsonl", imdb_20.texts, labels, bom=True, blank_lines=True)
    pairs = read_texts(str(path), text_column="text", label_column="label").compute(scheduler="sync")
    memory = load_jsonl(path)
    assert [t for t, _ in pairs] == memory.texts == imdb_20.texts
    assert [y for _, y in pairs] == labels

    (tmp_path / "bad.jsonl").write_text('{"text": "a", "label": 1}\n{"text": "b",}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl: not valid JSON"):
        read_texts(str(tmp_path / "bad.jsonl"), text_column="text").compute(scheduler="sync")


def test_data_usage_read_texts_columns_are_not_ignored_for_bags_and_series(imdb_20):
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd

    from toolkit.distributed import read_texts

    records = [{"text": t, "label": int(y), "id": i} for i, (t, y) in enumerate(zip(imdb_20.texts, imdb_20.labels))]
    bag = db.from_sequence(records, npartitions=3)
    pairs = read_texts(bag, text_column="text", label_column="label").compute(scheduler="sync")
    assert pairs == list(zip(imdb_20.texts, imdb_20.labels.tolist()))
    series = dd.from_pandas(pd.Series(imdb_20.texts), npartitions=2)
    with pytest.raises(ValueError, match="Series"):
        read_texts(series, label_column="label")


def test_data_usage_store_refuses_missing_labels_and_leaves_nothing(imdb_20, tmp_path):
    import dask.dataframe as dd
    import pandas as pd

    from toolkit.distributed import CorpusStore

    frame = pd.DataFrame({"text": imdb_20.texts, "label": imdb_20.labels.astype(float)})
    frame.loc[3, "label"] = np.nan  # one review without a label: NaN among numbers
    with pytest.raises(DataError, match=r"Document 3 of the input \(document 3 of partition 0\) has no label"):
        CorpusStore.build(dd.from_pandas(frame, npartitions=2), tmp_path / "store", text_column="text",
                          label_column="label", tokenizer={"remove_punct": True}, scheduler="sync")
    assert not (tmp_path / "store").exists()
    # in a later partition: numbered in the whole input, as a bad text is (it was "Document 3 of partition
    # part-00001", the user's review 13)
    frame = pd.DataFrame({"text": imdb_20.texts, "label": imdb_20.labels.astype(float)})
    frame.loc[13, "label"] = np.nan
    with pytest.raises(DataError, match=r"Document 13 of the input \(document 3 of partition 1\) has no label "
                                        r"\(nan; 1 missing in that partition\)") as info:
        CorpusStore.build(dd.from_pandas(frame, npartitions=2), tmp_path / "store", text_column="text",
                          label_column="label", tokenizer={"remove_punct": True}, scheduler="sync")
    assert info.value.document_index == 13
    assert not (tmp_path / "store").exists()
    csv_path = tmp_path / "r.csv"
    csv_path.write_text("text,label\ngood film,pos\nbad film,\n")  # an empty cell
    with pytest.raises(DataError, match="has no label"):
        CorpusStore.build(str(csv_path), tmp_path / "store", text_column="text", label_column="label",
                          scheduler="sync")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]


def test_data_usage_store_with_an_empty_partition_gives_its_labels_and_trains(imdb_20, tmp_path):
    """A filtered bag (the fix fit_from_store itself suggests for empty texts) can leave a partition empty."""
    import dask.bag as db

    from toolkit.distributed import CorpusStore, fit_from_store
    from toolkit.models import EmbeddingClassifier

    labels = [imdb_20.target_names[y] for y in imdb_20.labels]
    keep = set(range(5)) | set(range(10, 20))  # the second partition (reviews 5-9) ends up empty
    indexed = db.from_sequence(list(range(20)), npartitions=4).filter(keep.__contains__)
    filtered = indexed.map(lambda i: (imdb_20.texts[i], labels[i]))
    store = CorpusStore.build(filtered, tmp_path / "store", tokenizer={"remove_punct": True}, scheduler="sync")
    assert [p["n_documents"] for p in store.parts] == [5, 0, 5, 5]
    assert store.labels().tolist() == [labels[i] for i in sorted(keep)]
    clf = fit_from_store(EmbeddingClassifier(embedding_dim=4, epochs=1, maxlen=30, validation_split=0.0,
                                             random_state=0), store)
    assert sorted(clf.classes_) == ["neg", "pos"]


def test_data_usage_jsonl_store_on_a_cluster_equals_load_jsonl(imdb_20, tmp_path):
    """End to end on a LocalCluster: a JSON lines export (BOM, blank lines) into a store, as load_jsonl reads it."""
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    from toolkit.distributed import CorpusStore, read_texts, tokenize_partitions
    from toolkit.text import SpacyTokenizer
    from toolkit.text.vocabulary import Vocabulary

    labels = [imdb_20.target_names[y] for y in imdb_20.labels]
    path = _write_jsonl(tmp_path / "r.jsonl", imdb_20.texts, labels, bom=True, blank_lines=True)
    memory = load_jsonl(path)
    tok = {"remove_punct": True}
    tokens = SpacyTokenizer(**tok).transform(memory.texts)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0", silence_logs=50) as cluster, Client(cluster):
        bag = read_texts(str(path), text_column="text", label_column="label", blocksize=2000)
        assert bag.npartitions > 1
        assert [list(d) for d in tokenize_partitions(bag, tok).compute()] == [list(d) for d in tokens]
        store = CorpusStore.build(bag, tmp_path / "store", tokenizer=tok)
    assert store.n_documents == len(memory)
    assert store.labels().tolist() == [memory.target_names[y] for y in memory.labels]
    assert store.vocabulary.tokens == Vocabulary.from_documents(tokens).tokens


def test_data_usage_store_build_never_replaces_what_is_not_a_store(imdb_20, tmp_path):
    """CorpusStore.build(texts, path) replaced whatever was at path: a folder of the user's files was lost
    (`toolkit store build` guarded only its own calls). Now that is an error before any work; an existing
    store is still replaced, and opening a file as a store says it is a file (it said Errno 20)."""
    import dask.bag as db

    from toolkit.distributed import CorpusStore

    texts = db.from_sequence(list(imdb_20.texts[:6]), npartitions=2)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(DataError, match=r"precious exists and is not a corpus store .* never replaces it"):
        CorpusStore.build(texts, precious, scheduler="sync")
    assert [p.name for p in precious.iterdir()] == ["notes.txt"]
    afile = tmp_path / "afile"
    afile.write_text("keep me too", encoding="utf-8")
    with pytest.raises(DataError, match="never replaces it"):
        CorpusStore.build(texts, afile, scheduler="sync")
    assert afile.read_text(encoding="utf-8") == "keep me too"
    with pytest.raises(DataError, match=r"afile is not a corpus store \(no store.json; it is a file\)"):
        CorpusStore(afile)
    store = CorpusStore.build(texts, tmp_path / "store", scheduler="sync")
    again = CorpusStore.build(db.from_sequence(list(imdb_20.texts[:4]), npartitions=1), store.path, scheduler="sync")
    assert len(again) == 4  # a store is replaced by a new one


def test_data_usage_load_folder_checks_decode_errors_up_front(imdb_20, tmp_path):
    """decode_errors="bogus" was checked only when a file failed to decode (then a bare LookupError from
    codecs): a typo went unnoticed on clean folders and broke on the first odd file."""
    from toolkit._validation import InvalidParameterError

    (tmp_path / "pos").mkdir()
    (tmp_path / "pos" / "1.txt").write_text(imdb_20.texts[0], encoding="utf-8")
    with pytest.raises(InvalidParameterError, match="'decode_errors' parameter of load_folder .* Got 'bogus'"):
        load_folder(tmp_path, decode_errors="bogus")
    assert load_folder(tmp_path, decode_errors="replace").texts == [imdb_20.texts[0]]
