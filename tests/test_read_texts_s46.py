"""read_texts as a Dask user reads their own review files: Parquet, CSV files whose headers differ, a missing
text named by its file and line (session 46). Small real IMDB samples; the sync scheduler, or conftest's
LocalCluster (``client``) where the work crosses to worker processes."""

from __future__ import annotations

import gzip
import sys

import numpy as np
import pytest

from toolkit.exceptions import DataError

pytest.importorskip("dask.dataframe")

N = 40


@pytest.fixture(scope="module")
def reviews(imdb_small):
    """40 real reviews: a DataFrame of text, label ('neg'/'pos') and an integer id."""
    import pandas as pd

    texts, labels = imdb_small
    return pd.DataFrame({"id": np.arange(N), "text": list(texts[:N]), "label": list(labels[:N])})


def _pairs(frame):
    return list(zip(frame["text"], frame["label"]))


@pytest.fixture
def sync():
    import dask

    with dask.config.set(scheduler="sync"):
        yield


# ------------------------------------------------------------------------------------------------------ Parquet
def test_read_texts_parquet_files_folder_and_glob(reviews, tmp_path, sync):
    # Before: "read_texts cannot read 'reviews/*.parquet': expected .txt ... .csv or .jsonl files".
    from toolkit.distributed import read_texts

    folder = tmp_path / "reviews"
    folder.mkdir()
    reviews.iloc[:15].to_parquet(folder / "part-0.parquet", index=False)
    reviews.iloc[15:].to_parquet(folder / "part-1.parquet", index=False, row_group_size=10)  # 3 row groups
    pairs = read_texts(str(folder / "*.parquet"), text_column="text", label_column="label")
    assert pairs.npartitions == 2  # row groups of a file together up to blocksize (64MiB)
    assert pairs.compute() == _pairs(reviews)
    pairs = read_texts(str(folder / "*.parquet"), text_column="text", label_column="label", blocksize=1)
    assert pairs.npartitions == 4 and pairs.compute() == _pairs(reviews)  # a row group is never cut
    assert read_texts(str(folder / "*.parquet"), text_column="text", blocksize=None).npartitions == 2
    assert read_texts(str(folder / "*.parquet"), text_column="text").compute() == reviews["text"].tolist()
    # the same contract as the CSV path: the same pairs from the same rows written as CSV
    reviews.to_csv(tmp_path / "reviews.csv", index=False)
    assert read_texts(tmp_path / "reviews.csv", text_column="text", label_column="label").compute() == \
        _pairs(reviews)
    # labels keep their type, a number one class however it is written (1.0 is 1), as JSON lines labels
    reviews.assign(stars=np.where(reviews["label"] == "pos", 1.0, 0.0)).to_parquet(tmp_path / "stars.pq")
    got = read_texts(tmp_path / "stars.pq", text_column="text", label_column="stars").compute()
    assert [label for _, label in got] == [int(x == "pos") for x in reviews["label"]]
    assert all(type(label) is int for _, label in got)
    # a dataset folder as Dask writes it (reviews.parquet/part.0.parquet, ...): its files in order
    import dask.dataframe as dd

    dd.from_pandas(reviews, npartitions=3).to_parquet(tmp_path / "written.parquet", write_index=False)
    assert read_texts(tmp_path / "written.parquet", text_column="text", label_column="label").compute() == \
        _pairs(reviews)


def test_read_texts_parquet_refuses_naming_the_file(reviews, tmp_path, sync):
    from toolkit.distributed import read_texts

    reviews.iloc[:20].to_parquet(tmp_path / "a.parquet", index=False)
    reviews.iloc[20:][["id", "text"]].to_parquet(tmp_path / "b.parquet", index=False)
    with pytest.raises(DataError, match=r"b\.parquet has no column 'label' \(label_column\); its columns are "
                                        r"\['id', 'text'\]\. The first file, .*a\.parquet, has \['id', 'text', "
                                        r"'label'\]"):
        read_texts(str(tmp_path / "*.parquet"), text_column="text", label_column="label")
    with pytest.raises(ValueError, match=r"a\.parquet is a table: name its text column with text_column="):
        read_texts(tmp_path / "a.parquet")
    with pytest.raises(DataError, match=r"a\.parquet: the column 'id' \(text_column\) holds int64, not text"):
        read_texts(tmp_path / "a.parquet", text_column="id")
    with pytest.raises(ValueError, match=r"a folder: give its files with a glob, e\.g\. '.*\*\.csv'"):
        read_texts(tmp_path, text_column="text")  # was: "cannot read '...': expected .txt ..." alone
    (tmp_path / "c.parquet").write_text("text,label\ngood,pos\n", encoding="utf-8")  # a CSV named .parquet
    with pytest.raises(DataError, match=r"c\.parquet cannot be read as Parquet"):
        read_texts(tmp_path / "c.parquet", text_column="text")
    # a missing text: its file and row, on compute (it was a DocumentError naming a partition)
    holed = reviews.copy()
    holed.loc[13, "text"] = None
    holed.to_parquet(tmp_path / "holed.parquet", index=False, row_group_size=10)
    bag = read_texts(tmp_path / "holed.parquet", text_column="text", label_column="label", blocksize=1)
    with pytest.raises(DataError, match=r"holed\.parquet, row 13 \(from 0\): missing text \(null\) in 'text'"):
        bag.compute()


def test_read_texts_parquet_without_pyarrow_names_the_package(reviews, tmp_path, monkeypatch):
    from toolkit.distributed import read_texts

    reviews.to_parquet(tmp_path / "r.parquet", index=False)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # as if pyarrow were not installed
    with pytest.raises(ImportError, match=r"reads Parquet files with pyarrow, which is not installed: pip install "
                                          r"pyarrow"):
        read_texts(tmp_path / "r.parquet", text_column="text")


# ------------------------------------------------------------------------------------------- CSV headers differ
def test_read_texts_csv_columns_by_name_in_each_file(reviews, tmp_path, sync):
    # Before: a file whose columns come in another order failed on compute with Dask's "Order of columns does
    # not match"; an extra column with "Metadata mismatch found in from_delayed" (naming no file); a file of
    # another delimiter than the first file's was read with the first's ("malformed CSV ... Expected 4 fields").
    from toolkit.distributed import read_texts

    reviews.iloc[:10].to_csv(tmp_path / "a.csv", index=False)
    reviews.iloc[10:20][["label", "text"]].to_csv(tmp_path / "b.csv", index=False)  # another order
    reviews.iloc[20:30].assign(stars=7).to_csv(tmp_path / "c.csv", index=False)  # an extra column
    reviews.iloc[30:][["text", "label"]].to_csv(tmp_path / "d.csv", index=False, sep=";")  # Excel, German locale
    files = sorted(tmp_path.glob("*.csv"))
    for blocksize in ("64MiB", 8_000, None):
        bag = read_texts(files, text_column="text", label_column="label", blocksize=blocksize)
        assert bag.compute() == _pairs(reviews), blocksize
    assert read_texts(files, text_column="text").compute() == reviews["text"].tolist()
    for f in files[:2]:  # gzipped: each file one partition, by its own header too
        f.with_suffix(".csv.gz").write_bytes(gzip.compress(f.read_bytes()))
    gz = sorted(tmp_path.glob("*.csv.gz"))
    assert read_texts(gz, text_column="text", label_column="label").compute() == _pairs(reviews.iloc[:20])


def test_read_texts_csv_refuses_a_file_without_the_columns(reviews, tmp_path, sync):
    # Before: a file written without its header row, or without the label column, failed on compute with
    # "Metadata mismatch found in from_delayed" and a table of columns, naming no file.
    from toolkit.distributed import read_texts

    reviews.iloc[:20].to_csv(tmp_path / "a.csv", index=False)
    reviews.iloc[20:].to_csv(tmp_path / "b.csv", index=False, header=False)
    with pytest.raises(DataError, match=r"CSV input .*b\.csv has no column 'text' \(text_column\); its header is "
                                        r"\['20', .*\.\.\.', 'pos'\], but the first file, .*a\.csv, has \['id', "
                                        r"'text', 'label'\]\. Every file needs a header row .*header=False"):
        read_texts(str(tmp_path / "*.csv"), text_column="text", label_column="label")
    reviews.iloc[20:][["text"]].to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataError, match=r"b\.csv has no column 'label' \(label_column\); its header is \['text'\]"):
        read_texts(str(tmp_path / "*.csv"), text_column="text", label_column="label")
    assert len(read_texts(str(tmp_path / "*.csv"), text_column="text").compute()) == N  # texts only: fine
    (tmp_path / "b.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"CSV input .*b\.csv is empty: a CSV file needs a header row"):
        read_texts(str(tmp_path / "*.csv"), text_column="text")
    (tmp_path / "b.csv").write_text("text,label,text\nx,pos,y\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"b\.csv: the header names 2 columns 'text'"):
        read_texts(str(tmp_path / "*.csv"), text_column="text")
    (tmp_path / "b.csv").write_text("text,label\nx,pos\n", encoding="utf-16")  # was: "no column 'text'; its
    with pytest.raises(DataError, match=r"b\.csv is UTF-16 text .*iconv -f UTF-16"):  # columns are ['ÿþt\x00...']"
        read_texts(str(tmp_path / "*.csv"), text_column="text")


# ------------------------------------------------------------------------------ a missing text: file and line
def test_read_texts_csv_missing_text_named_by_file_and_line(reviews, tmp_path, sync):
    # Before: the empty cell was read as NaN; the tokenizer (or the store) named it "Document 27 of the input
    # (document 3 of partition 2)", and the user had to find which file and which line that was.
    from toolkit.distributed import read_texts, tokenize_partitions

    holed = reviews.copy()
    holed.loc[27, "text"] = None
    holed.iloc[:20].to_csv(tmp_path / "a.csv", index=False)
    holed.iloc[20:].to_csv(tmp_path / "b.csv", index=False)  # row 7 of b.csv: line 9
    files = [tmp_path / "a.csv", tmp_path / "b.csv"]
    expected = r"b\.csv, line 9: missing text \(an empty cell, which pandas also reads as a missing value, NaN\) " \
               r"in 'text'\. Fill it in or drop the record"
    for blocksize in (6_000, None):  # in a later block of its file (the lines before it counted), or whole
        bag = read_texts(files, text_column="text", label_column="label", blocksize=blocksize)
        with pytest.raises(DataError, match=expected):
            tokenize_partitions(bag).compute()
    gz = tmp_path / "b.csv.gz"
    holed.iloc[20:].to_csv(gz, index=False, compression="gzip")
    with pytest.raises(DataError, match=r"b\.csv\.gz, line 9: missing text"):
        read_texts(gz, text_column="text").compute()
    # quoted texts over several lines before it, blank lines and a row of empty fields (skipped, as load_csv
    # skips it): the line in the file, as load_csv names it
    from toolkit.data import load_csv

    rows = 'text,label\n"a review\nover two lines",pos\n\n,\n"another,\nand ""more""",neg\n,pos\n'
    (tmp_path / "odd.csv").write_text(rows, encoding="utf-8")
    with pytest.raises(DataError, match=r"odd\.csv, line 8: missing text"):
        load_csv(tmp_path / "odd.csv")
    with pytest.raises(DataError, match=r"odd\.csv, line 8: missing text"):
        read_texts(tmp_path / "odd.csv", text_column="text", label_column="label", blocksize=None).compute()


def test_read_texts_own_files_on_a_local_cluster(client, reviews, tmp_path):
    """Parquet and CSV inputs on worker processes: the same pairs, and a missing text's file and line reach
    the client."""
    from toolkit.distributed import read_texts

    reviews.iloc[:20].to_parquet(tmp_path / "a.parquet", index=False)
    reviews.iloc[20:].to_parquet(tmp_path / "b.parquet", index=False)
    bag = read_texts(str(tmp_path / "*.parquet"), text_column="text", label_column="label")
    assert client.compute(bag).result() == _pairs(reviews)
    holed = reviews.copy()
    holed.loc[3, "text"] = None
    holed.iloc[:20].to_csv(tmp_path / "a.csv", index=False)
    holed.iloc[20:][["label", "text"]].to_csv(tmp_path / "b.csv", index=False)
    bag = read_texts(str(tmp_path / "*.csv"), text_column="text", label_column="label")
    with pytest.raises(DataError, match=r"a\.csv, line 5: missing text"):
        client.compute(bag).result()
    holed.loc[3, "text"] = "fixed"
    holed.iloc[:20].to_csv(tmp_path / "a.csv", index=False)  # the file fixed: read again
    bag = read_texts(str(tmp_path / "*.csv"), text_column="text", label_column="label")
    assert client.compute(bag).result() == _pairs(holed)
