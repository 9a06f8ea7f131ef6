"""Session 48 (helper h4): IMDB's extracted folder, a user's own labelled files, and the download path.

- An extracted ``aclImdb`` folder that lacks reviews (an extraction stopped part-way, files deleted) was read
  silently: ``load_imdb`` gave 21,500 training reviews instead of 25,000. It is refused, naming each short
  class folder (found and expected counts, the first missing id) and what to do (extract again, or read the
  tarball); ``load_folder`` (``toolkit train --data aclImdb/train``) reads it with that warning.
- Labels that differ only in case (``'Pos'`` beside ``'pos'``) were read as separate classes without a word;
  ``load_csv`` and ``load_jsonl`` warn, naming the file, the column and each spelling's count.
- A JSON lines file cut short said only "not valid JSON (Unterminated string starting at)"; one whose
  writer left a text's line break unescaped, "(Invalid control character at)". Each is named, with the column
  and the fix.
- A Parquet, Feather or Excel file, a zip or a tar given to ``load_csv`` / ``load_jsonl`` was read as text: "not
  valid utf-8 ...; is it in another encoding, such as latin-1?" with an ``iconv`` command. It is named, with
  the pandas call that converts it (or the command that extracts it).
- A CSV file whose first line is Excel's delimiter hint (``sep=;``) had the columns ['sep=;'], and the advice
  "pass delimiter=';'" then gave ['sep=', '']. ``load_csv`` reads the hint's delimiter and counts lines from it.
- An id column (``id_column=``) with repeated or empty values was taken without a word; results joined back by
  it match several records or none. ``load_csv`` and ``load_jsonl`` warn, counting them.
- A download was cached with mode 0o600 (pooch's temporary file's), whatever the umask: in a cache shared by a
  group, the others' runs found it verified, then failed with "Permission denied". It gets a new file's mode.
- ``load_folder`` left a linked folder inside a class folder (``pos/more -> /data/more``) out without a word,
  although it read linked files; it reads it (a link back to a parent, a loop, is not followed).
"""

from __future__ import annotations

import os
import re
import shutil

import numpy as np
import pytest
from conftest import cli_runner

from toolkit.data import load_folder, load_imdb
from toolkit.data.archives import iter_tar_files
from toolkit.exceptions import DataError

TARBALL = "aclImdb_v1.tar.gz"


def _extract(tarball, root, select, stop=None):
    """Write the members of ``tarball`` that ``select`` keeps under ``root``, in the tarball's order; after
    ``stop(name)`` is true for a written member, stop (an extraction interrupted there)."""
    for name, data in iter_tar_files(tarball, select=select):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
        if stop is not None and stop(name):
            break


def _first_of_train(shared_data, root, n_neg, n_pos):
    """``root/aclImdb`` as `tar -xzf aclImdb_v1.tar.gz aclImdb/train` leaves it with only the first ``n_neg``
    negative and ``n_pos`` positive reviews (in the tarball's order, the names' string order: 0_9.txt,
    10000_8.txt, ...) extracted."""
    counts = {"neg": 0, "pos": 0}
    keep = re.compile(r"aclImdb/(README|imdb\.vocab|train/(neg|pos)/\d+_\d+\.txt)$")

    def select(name):
        m = keep.match(name)
        if m is None:
            return False
        cls = m.group(2)
        if cls is None:
            return True
        counts[cls] += 1
        return counts[cls] <= {"neg": n_neg, "pos": n_pos}[cls]

    _extract(shared_data / TARBALL, root, select, stop=lambda name: counts["pos"] >= n_pos)
    return root / "aclImdb"


# --------------------------------------------------------------------------- a partly extracted aclImdb


@pytest.fixture(scope="module")
def partial_train(shared_data, tmp_path_factory):
    """An extracted aclImdb/train of 30 negative and 40 positive reviews (see :func:`_first_of_train`)."""
    return _first_of_train(shared_data, tmp_path_factory.mktemp("partial"), n_neg=30, n_pos=40)


@pytest.fixture
def partial(partial_train, tmp_path):
    """A copy of :func:`partial_train` in ``tmp_path / "data"``: ``tmp_path / "data" / "aclImdb"``."""
    return shutil.copytree(partial_train, tmp_path / "data" / "aclImdb")


def test_load_imdb_refuses_a_partly_extracted_folder_naming_each_short_class_folder(shared_data, partial, tmp_path):
    extracted = partial
    # before: 70 reviews, without a word (the other 24,930 of the training split missing)
    with pytest.raises(DataError) as err:
        load_imdb("train", path=extracted)
    message = str(err.value)
    assert f"The extracted aclImdb folder {extracted} is incomplete: " in message
    assert f"{extracted / 'train' / 'neg'} holds 30 of its 12,500 reviews (the first missing: 1_*.txt)" in message
    assert f"{extracted / 'train' / 'pos'} holds 40 of its 12,500 reviews (the first missing: 1_*.txt)" in message
    assert f"Extract aclImdb_v1.tar.gz again (`tar -xzf aclImdb_v1.tar.gz` in {extracted.parent.resolve()})" in message
    assert f"To read the folder as it is, use load_folder('{extracted / 'train'}', categories=['neg', 'pos'])" in message
    # the same folder found in the data folder (no tarball there): put the tarball there, where it is read first
    with pytest.raises(DataError, match=r"holds 30 of its 12,500 reviews.* put aclImdb_v1\.tar\.gz in the data "
                                        r"folder, where it is read before an extracted aclImdb/"):
        load_imdb("train", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    # the tarball beside the folder: named
    (tmp_path / "data" / TARBALL).symlink_to(shared_data / TARBALL)
    with pytest.raises(DataError, match=re.escape(f"without extracting it: load_imdb(path='{tmp_path / 'data' / TARBALL}')")):
        load_imdb("train", path=extracted)
    # with the tarball in the data folder, it is read (before the folder), as before
    assert fetch_imdb(tmp_path) == tmp_path / "data" / TARBALL
    # unsup was not extracted at all: its folder is missing, with the same advice
    with pytest.raises(DataError, match=rf"Missing folder {re.escape(str(extracted / 'train' / 'unsup'))}: .*"
                                        r"Was the extraction stopped part-way, or were files deleted\? Extract "):
        load_imdb("unsup", path=extracted)


def fetch_imdb(tmp_path):
    from toolkit.data import fetch

    return fetch("imdb", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")


def test_load_folder_reads_a_partly_extracted_split_with_a_warning(partial, tmp_path, caplog, monkeypatch):
    extracted = partial
    with caplog.at_level("WARNING", logger="toolkit"):
        ds = load_folder(extracted / "train")
    assert len(ds) == 70 and ds.target_names == ["neg", "pos"]
    assert f"{extracted / 'train' / 'pos'} holds 40 of its 12,500 reviews" in caplog.text
    assert "the missing reviews are not read" in caplog.text and "To read the folder as it is" not in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="toolkit"):
        assert len(load_folder(extracted / "train" / "neg")) == 30
    assert f"{extracted / 'train' / 'neg'} holds 30 of its 12,500 reviews" in caplog.text
    # the command line: the warning on stderr, the data read
    code, out, err = cli_runner(tmp_path, monkeypatch, quiet=False)("data", "describe", extracted / "train")
    assert code == 0 and "70 documents" in out, err
    assert "holds 40 of its 12,500 reviews" in err


def test_load_imdb_reads_a_copy_of_a_few_reviews_as_it_is(partial, caplog):
    """Guard: a copy of some reviews made by hand (no imdb.vocab, not reaching the last id) is read silently."""
    extracted = partial
    (extracted / "imdb.vocab").unlink()
    keep = {"neg": ("0_", "10000_", "10001_"), "pos": ("0_", "10000_", "10002_")}  # a gap: 10001
    for cls, names in keep.items():
        for path in (extracted / "train" / cls).iterdir():
            if not path.name.startswith(names):
                path.unlink()
    with caplog.at_level("WARNING", logger="toolkit"):
        ds = load_imdb("train", path=extracted)
        load_folder(extracted / "train")
    assert ds.ids.tolist() == [0, 10000, 10001, 0, 10000, 10002]
    assert "incomplete" not in caplog.text


@pytest.mark.slow
def test_load_imdb_extracted_train_split_whole_then_with_files_deleted(shared_data, tmp_path, caplog):
    root = tmp_path / "data"
    keep = re.compile(r"aclImdb/(README|imdb\.vocab|train/(neg|pos)/\d+_\d+\.txt|train/urls_(neg|pos)\.txt)$")
    _extract(shared_data / TARBALL, root, lambda name: keep.match(name) is not None)
    extracted = root / "aclImdb"
    # the whole split, from the folder: as from the tarball (25,000 reviews, the same order, texts and movies)
    folder, tarball = load_imdb("train", path=extracted), load_imdb("train", path=shared_data / TARBALL)
    assert len(folder) == 25_000 and folder.texts == tarball.texts
    assert np.array_equal(folder.labels, tarball.labels) and np.array_equal(folder.groups, tarball.groups)
    # train/unsup is not needed for it (and was not extracted): its own split names the missing folder
    with pytest.raises(DataError, match=r"Missing folder .*train/unsup"):
        load_imdb("unsup", path=extracted)
    # 3,500 positive reviews deleted (ids 9000 to 12499)
    for name in [n for n in os.listdir(extracted / "train" / "pos") if 9000 <= int(n.split("_")[0])]:
        (extracted / "train" / "pos" / name).unlink()
    with pytest.raises(DataError, match=r"train/pos holds 9,000 of its 12,500 reviews \(the first missing: 9000_\*\.txt\)"):
        load_imdb("train", path=extracted)
    # an extraction of train/ alone (no imdb.vocab) stopped after 2,777 positive reviews (the tarball's order is
    # the names' string order, 0_9.txt, 10000_8.txt, ..., 12499_7.txt, 1249_8.txt, ...): the last id is there
    (extracted / "imdb.vocab").unlink()
    pos = extracted / "train" / "pos"
    shutil.rmtree(pos)
    _extract(shared_data / TARBALL, root, lambda name: name.startswith("aclImdb/train/pos/"),
             stop=lambda name: len(os.listdir(pos)) >= 2_777)
    assert (pos / "12499_7.txt").is_file()
    with pytest.raises(DataError, match=r"train/pos holds 2,777 of its 12,500 reviews") as err:
        load_imdb("train", path=extracted)
    assert "train/neg holds" not in str(err.value)


# --------------------------------------------------------------------------- a user's own labelled files


@pytest.fixture(scope="module")
def reviews(imdb_small):
    """12 real IMDB training reviews (one line each) and their 'neg'/'pos' labels."""
    texts, labels = imdb_small
    return [t.replace("\n", " ") for t in texts[:12]], [str(y) for y in labels[:12]]


def test_load_csv_and_jsonl_warn_of_labels_that_differ_only_in_case(reviews, tmp_path, caplog):
    import json

    from conftest import write_labelled_csv

    from toolkit.data import load_csv, load_jsonl

    texts, labels = reviews
    cased = [y.capitalize() if i in (3, 7) else y for i, y in enumerate(labels)]  # two cells typed by hand
    path = write_labelled_csv(tmp_path / "reviews.csv", texts, cased)
    with caplog.at_level("WARNING", logger="toolkit"):
        ds = load_csv(path)
    assert len(ds.target_names) == len(set(cased))  # still read as written: they may be different classes
    counts = {y: cased.count(y) for y in set(cased)}
    spelled = [f"'{y}' ({counts[y]} record{'s' * (counts[y] != 1)})" for y in sorted(counts)
               if sum(z.lower() == y.lower() for z in counts) > 1]
    assert f"{path}: labels in column 'label' differ only in case: " in caplog.text
    assert all(s in caplog.text for s in spelled), caplog.text
    assert "df['label'] = df['label'].str.lower()" in caplog.text
    caplog.clear()
    lines = tmp_path / "reviews.jsonl"
    lines.write_text("".join(json.dumps({"body": t, "y": y}) + "\n" for t, y in zip(texts, cased)))
    with caplog.at_level("WARNING", logger="toolkit"):
        load_jsonl(lines, text_column="body", label_column="y")
    assert f"{lines}: labels in column 'y' differ only in case: " in caplog.text
    # guard: one spelling per class, no warning
    caplog.clear()
    with caplog.at_level("WARNING", logger="toolkit"):
        load_csv(write_labelled_csv(tmp_path / "clean.csv", texts, labels))
    assert "differ only in case" not in caplog.text


def test_load_folder_reads_a_linked_folder_inside_a_class_folder(reviews, tmp_path):
    texts, labels = reviews
    root = tmp_path / "reviews"
    for i, (text, label) in enumerate(zip(texts[:8], labels[:8])):
        (root / label).mkdir(parents=True, exist_ok=True)
        (root / label / f"{i}.txt").write_text(text, encoding="utf-8")
    more = tmp_path / "more_pos"  # reviews kept elsewhere, linked into the class folder
    more.mkdir()
    for i, text in enumerate(texts[8:]):
        (more / f"{i}.txt").write_text(text, encoding="utf-8")
    (root / "pos" / "more").symlink_to(more, target_is_directory=True)
    (root / "pos" / "loop").symlink_to(root, target_is_directory=True)  # a link to a parent: not followed
    ds = load_folder(root)
    # before: the 4 linked reviews were left out
    assert len(ds) == 12 and sorted(ds.texts) == sorted(texts)
    assert [n for n in ds.filenames if n.startswith("pos/more/")] == [f"pos/more/{i}.txt" for i in range(4)]
    assert not any("loop" in n for n in ds.filenames)


def test_load_jsonl_names_a_file_cut_short_and_a_line_break_written_unescaped(reviews, tmp_path):
    import json

    from toolkit.data import load_jsonl

    texts, labels = reviews
    whole = "".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts, labels))
    lines = whole.splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[:5]) + lines[5][:50])  # a copy stopped inside the 6th review
    with pytest.raises(DataError, match=r"cut\.jsonl, line 6: not valid JSON \(Unterminated string starting at "
                                        r"column 10\)\. The file ends in the middle of this record: was it cut short"):
        load_jsonl(cut)
    cut.write_text("".join(lines[:5]) + lines[5][: lines[5].rindex('"label": ') + 9])  # before the label's value
    with pytest.raises(DataError, match=r"line 6: not valid JSON \(Expecting value\)\. The file ends in the middle"):
        load_jsonl(cut)
    # a writer of its own (f'{{"text": "{text}"...}}') left a review's line break as it is
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(lines[:3]) + lines[3][:19] + "\n" + "".join([lines[3][19:], *lines[4:]]))
    with pytest.raises(DataError, match=r"raw\.jsonl, line 4: not valid JSON \(Invalid control character at column "
                                        r"20\)\. A text holds a line break as it is, .*json\.dumps"):
        load_jsonl(raw)
    # guard: the whole file reads
    assert load_jsonl(write(tmp_path / "whole.jsonl", whole)).texts == texts


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_load_csv_and_jsonl_name_a_binary_table_and_how_to_convert_it(reviews, tmp_path):
    import gzip
    import tarfile
    import zipfile

    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    from conftest import write_labelled_csv

    from toolkit.data import load_csv, load_jsonl

    frame = pd.DataFrame({"text": reviews[0], "label": reviews[1]})
    parquet = tmp_path / "reviews.parquet"
    frame.to_parquet(parquet)
    # before: "reviews.parquet, line 1: not valid utf-8 ...; is it in another encoding, such as latin-1 or cp1252?"
    with pytest.raises(DataError, match=re.escape(
            f"{parquet} is a Parquet file, not text: CSV/TSV and JSON lines files are read as text. Convert it, e.g. "
            f"in Python: import pandas as pd; pd.read_parquet('{parquet}').to_csv('{tmp_path / 'reviews.csv'}', "
            "index=False), and pass that file")):
        load_csv(parquet)
    with pytest.raises(DataError, match=re.escape(f".to_json('{tmp_path / 'reviews.jsonl'}', orient='records', "
                                                  "lines=True)")):
        load_jsonl(parquet)
    packed = tmp_path / "reviews.parquet.gz"
    packed.write_bytes(gzip.compress(parquet.read_bytes()))
    with pytest.raises(DataError, match=r"reviews\.parquet\.gz is a Parquet file, not text"):
        load_csv(packed)
    feather = tmp_path / "reviews.feather"
    frame.to_feather(feather)
    with pytest.raises(DataError, match=r"is an Arrow/Feather file, not text: .*pd\.read_feather\("):
        load_csv(feather)
    # a CSV sent zipped (or tarred): extract it; a workbook saved from Excel: pandas converts it
    csv_path = write_labelled_csv(tmp_path / "reviews.csv", *reviews)
    with zipfile.ZipFile(tmp_path / "reviews.csv.zip", "w") as archive:
        archive.write(csv_path, "reviews.csv")
    with pytest.raises(DataError, match=r"reviews\.csv\.zip is a zip archive, not text: .*Extract it \(`unzip "):
        load_csv(tmp_path / "reviews.csv.zip")
    (tmp_path / "book.xlsx").write_bytes((tmp_path / "reviews.csv.zip").read_bytes())
    with pytest.raises(DataError, match=r"book\.xlsx is a \.xlsx workbook \(a zip archive\), not text: .*"
                                        r"pd\.read_excel\("):
        load_csv(tmp_path / "book.xlsx")
    with tarfile.open(tmp_path / "reviews.tar.gz", "w:gz") as archive:
        archive.add(csv_path, "reviews.csv")
    with pytest.raises(DataError, match=r"reviews\.tar\.gz is a tar archive, not text: .*Extract it \(`tar -xf "):
        load_jsonl(tmp_path / "reviews.tar.gz")
    # guard: the CSV itself reads
    assert load_csv(csv_path).texts == reviews[0]


def test_load_csv_reads_a_file_that_starts_with_excels_delimiter_hint(reviews, tmp_path):
    import csv

    from toolkit.data import load_csv

    texts, labels = reviews
    path = tmp_path / "reviews.csv"
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:  # as Excel saves it: a BOM, CRLF, the hint
        fh.write("sep=;\r\n")
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels))
    # before: "its columns are ['sep=;'] ... pass delimiter=';'", and with it "its columns are ['sep=', '']"
    for kwargs in ({}, {"delimiter": ";"}):
        ds = load_csv(path, **kwargs)
        assert ds.texts == texts and [ds.target_names[y] for y in ds.labels] == labels
    # line numbers count the hint's line: the record after the header's is line 3
    with open(path, "a", newline="", encoding="utf-8") as fh:
        fh.write("a text and a label;pos;more\r\n")
    with pytest.raises(DataError, match=rf"reviews\.csv, line {len(texts) + 3}: 3 fields, but the header has 2"):
        load_csv(path)


def test_load_csv_and_jsonl_warn_of_repeated_or_empty_ids(reviews, tmp_path, caplog):
    import csv
    import json

    from toolkit.data import load_csv, load_jsonl

    texts, labels = reviews
    ids = [f"r{i}" for i in range(len(texts))]
    ids[4], ids[9] = ids[2], ""  # a row copied with its id, one id not filled in
    path = tmp_path / "reviews.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("id", "text", "label"), *zip(ids, texts, labels)])
    with caplog.at_level("WARNING", logger="toolkit"):
        ds = load_csv(path, id_column="id")
    assert ds.ids.tolist() == ids  # read as they are
    assert (f"{path}: the id column 'id' has 1 value(s) repeated ('r2' (2 times)) and 1 record(s) without an id; "
            "an id names one record") in caplog.text
    caplog.clear()
    lines = tmp_path / "reviews.jsonl"
    lines.write_text("".join(json.dumps({"id": i % 5, "text": t, "label": y}) + "\n"
                             for i, (t, y) in enumerate(zip(texts, labels))))
    with caplog.at_level("WARNING", logger="toolkit"):
        load_jsonl(lines, id_column="id")
    assert "the id column 'id' has 5 value(s) repeated (0 (3 times), 1 (3 times), 2 (2 times), ...)" in caplog.text
    # guard: ids of their own, or none given (record numbers), say nothing
    caplog.clear()
    with caplog.at_level("WARNING", logger="toolkit"):
        load_csv(path)
        lines.write_text("".join(json.dumps({"id": i, "text": t, "label": y}) + "\n"
                                 for i, (t, y) in enumerate(zip(texts, labels))))
        load_jsonl(lines, id_column="id")
    assert "id column" not in caplog.text


# --------------------------------------------------------------------------- downloads


@pytest.mark.parametrize("umask", [0o002, 0o022])
def test_fetch_gives_a_download_the_mode_of_a_new_file(reviews, tmp_path, umask):
    import gzip
    import hashlib
    import stat

    from conftest import write_labelled_csv

    from toolkit.data import fetch

    payload = gzip.compress(write_labelled_csv(tmp_path / "reviews.csv", *reviews).read_bytes())
    manifest = tmp_path / "reviews.toml"
    manifest.write_text(
        'name = "reviews"\ndescription = "12 IMDB reviews"\nlicense = "research"\ncitation = "Maas et al. 2011"\n'
        'homepage = "https://example.org/"\nformat = "text"\nchecksum_source = "the test"\n\n[[files]]\n'
        f'filename = "reviews.csv.gz"\nurl = "https://example.org/reviews.csv.gz"\n'
        f'sha256 = "{hashlib.sha256(payload).hexdigest()}"\nsize = {len(payload)}\n')

    def offline(url, output_file, pooch):  # the server, without a network
        output_file.write(payload)

    old = os.umask(umask)
    try:
        path = fetch(manifest, cache_dir=tmp_path / "cache", downloader=offline)
    finally:
        os.umask(old)
    assert path.read_bytes() == payload
    # before: 0o600 (a group sharing the cache could not read it); now as open() makes a file, as the stamp beside it
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    stamp = path.with_name(path.name + ".verified.json")
    assert stat.S_IMODE(stamp.stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in path.parent.iterdir()) == ["reviews.csv.gz", "reviews.csv.gz.lock",
                                                             "reviews.csv.gz.verified.json"]
