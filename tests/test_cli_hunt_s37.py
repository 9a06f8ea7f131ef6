"""What a shell user of ``tokenize``, ``vectorize``, ``vectors coverage`` and ``store build`` got wrong (session 37).

Each test failed before its fix:

- a gzipped file of lines (``reviews.txt.gz``, or piped in) was read as undecodable text ("is it in another
  encoding ... or a binary file?"), and a ``reviews.csv.gz`` got the same misleading error;
- ``vectorize --output-mode count --maxlen 5`` (or ``--padding``/``--truncating``) dropped the option silently;
- ``vectorize --max-tokens 2`` / ``--padding middle`` and ``vectors coverage --min-count 0`` failed only after
  the whole input was tokenized;
- ``store build --blocksize abc`` (or ``0``) and a CSV whose quoted texts hold line breaks ended in "this is a
  bug in toolkit" with a traceback, and the fix dask's docs give, ``blocksize=None``, had no spelling on the
  command line; an empty, UTF-16 or latin-1 input failed on a worker the same way;
- a document over spaCy's max_length was "Document 3 of X" (not line 5 of the user's file), and the
  ``--skip-bad`` that message offers existed only in ``tokenize`` (not ``vectorize``, ``vectors coverage|train``);
- ``vectorize -o -`` on a terminal printed the binary .npz; a folder of ``.md`` files said "Pass extensions=None".

The documents are small samples of real IMDB reviews.
"""

from __future__ import annotations

import csv
import gzip
import io

import pytest

from toolkit.cli import main
from toolkit.exceptions import DataError


@pytest.fixture(scope="module")
def reviews(imdb_small):
    """40 real reviews on one line each, and their labels."""
    texts, labels = imdb_small
    return [" ".join(t.split()) for t in texts[:40]], [str(label) for label in labels[:40]]


def _run(capsys, *args):
    """``toolkit -q ARGS`` in this process: (exit code, stderr)."""
    with pytest.raises(SystemExit) as exc:
        main(["-q", *map(str, args)])
    return exc.value.code, capsys.readouterr().err


def _one_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and "this is a bug" not in err, err
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    return lines[0]


# ------------------------------------------------------------------------------------------------ gzip inputs


def test_gzipped_lines_are_read_like_plain_ones(reviews, tmp_path):
    from toolkit.cli._inputs import read_input

    texts, _ = reviews
    plain = tmp_path / "reviews.txt"
    plain.write_text("\n".join(texts) + "\n", encoding="utf-8")
    packed = tmp_path / "reviews.txt.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    expected = read_input(plain)
    assert len(expected) == len(texts)
    assert read_input(packed) == expected
    piped = io.TextIOWrapper(io.BytesIO(packed.read_bytes()))  # `zcat`-less `cat reviews.txt.gz | toolkit ...`
    assert read_input("-", stdin=piped) == expected


def test_cut_gzip_file_is_named(reviews, tmp_path):
    from toolkit.cli._inputs import read_input

    cut = tmp_path / "reviews.txt.gz"
    cut.write_bytes(gzip.compress("\n".join(reviews[0]).encode())[:40])
    with pytest.raises(DataError, match=r"reviews\.txt\.gz'?: not a complete gzip file"):
        read_input(cut)


@pytest.mark.parametrize("name", ["reviews.csv.gz", "reviews.jsonl.gz"])
def test_gzipped_table_is_read(reviews, tmp_path, name):
    # refused with "gunzip -k" until session 45; now read as it is decompressed (tests/test_cli_gzip_inputs_s45.py)
    from toolkit.cli._inputs import check_labelled_path, read_input

    texts, labels = reviews
    path = tmp_path / name
    buffer = io.StringIO()
    if name.startswith("reviews.csv"):
        writer = csv.writer(buffer)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels))
    else:
        import json

        buffer.write("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts, labels)))
    path.write_bytes(gzip.compress(buffer.getvalue().encode()))
    assert read_input(path) == list(texts)
    assert check_labelled_path(path) == path  # toolkit train / evaluate --data


# ------------------------------------------------------------------------------------------- vectorize options


@pytest.mark.parametrize("mode", ["count", "multi_hot", "tf_idf", "hashing"])
@pytest.mark.parametrize("option", [{"maxlen": 5}, {"padding": "post"}, {"truncating": "post"}])
def test_vectorize_refuses_padding_options_of_bag_modes(reviews, mode, option):
    from toolkit.cli.text import vectorize

    name = next(iter(option))
    with pytest.raises(ValueError, match=rf"{name} \(--{name}\) only applies to .*output_mode='int'.*{mode!r}"):
        vectorize(reviews[0][:5], output_mode=mode, **option)


def test_vectorize_cli_refuses_maxlen_with_count(reviews, tmp_path, capsys):
    src = tmp_path / "reviews.txt"
    src.write_text("\n".join(reviews[0][:5]) + "\n", encoding="utf-8")
    out = tmp_path / "bags.npz"
    code, err = _run(capsys, "vectorize", src, "-o", out, "--output-mode", "count", "--maxlen", "5")
    assert code == 1 and "--maxlen" in _one_error(err)
    assert not out.exists() and not (tmp_path / "bags.vocab.json").exists()


@pytest.fixture
def no_tokenizing(monkeypatch):
    """Make any tokenization in the CLI's text and vectors modules fail the test."""
    import toolkit.cli.text
    import toolkit.cli.vectors

    def tokenize(*args, **kwargs):
        raise AssertionError("the texts were tokenized before the parameters were checked")

    monkeypatch.setattr(toolkit.cli.text, "tokenize_texts", tokenize)
    monkeypatch.setattr(toolkit.cli.vectors, "tokenize_texts", tokenize)


@pytest.mark.parametrize("params, name", [
    ({"max_tokens": 2}, "max_tokens"),
    ({"padding": "middle"}, "padding"),
    ({"truncating": "end"}, "truncating"),
    ({"output_mode": "count", "min_count": 0}, "min_count"),
])
def test_vectorize_checks_encoder_before_tokenizing(reviews, no_tokenizing, params, name):
    from toolkit._validation import InvalidParameterError
    from toolkit.cli.text import vectorize

    with pytest.raises(InvalidParameterError, match=rf"The '{name}' parameter"):
        vectorize(reviews[0], **params)


@pytest.mark.parametrize("params, name", [({"min_count": 0}, "min_count"), ({"max_tokens": 2}, "max_tokens")])
def test_coverage_checks_bounds_before_tokenizing(reviews, glove_small, no_tokenizing, params, name):
    from toolkit._validation import InvalidParameterError
    from toolkit.cli.vectors import coverage

    with pytest.raises(InvalidParameterError, match=rf"The '{name}' parameter of coverage"):
        coverage(glove_small, reviews[0], **params)


# ------------------------------------------------------------------------------------------------ store build


@pytest.mark.parametrize("value", ["abc", "0", "-5", "64 parsecs"])
def test_store_blocksize_refused_in_one_line(reviews, tmp_path, capsys, value):
    pytest.importorskip("dask")
    src = tmp_path / "reviews.txt"
    src.write_text("\n".join(reviews[0]) + "\n", encoding="utf-8")
    out = tmp_path / "store"
    code, err = _run(capsys, "store", "build", src, "-o", out, "--blocksize", value, "--workers", "1")
    line = _one_error(err)
    assert code == 1 and "--blocksize" in line and repr(value) in line and "'none'" in line
    assert not out.exists()


@pytest.mark.parametrize("value, expected", [("none", None), ("None", None), (None, None), ("64MiB", 64 << 20),
                                             ("100MB", 100_000_000), (4096, 4096)])
def test_store_blocksize_values(value, expected):
    pytest.importorskip("dask")
    from toolkit.cli.store import _blocksize

    assert _blocksize(value) == expected


def _unreachable_build(inputs, out, **kwargs):
    """build_store against a scheduler address nobody listens on: only a pre-flight error can come first."""
    from toolkit.cli.store import build_store

    return build_store(inputs, out, scheduler="tcp://127.0.0.1:9", **kwargs)


def test_store_refuses_unreadable_inputs_before_the_cluster(reviews, tmp_path):
    pytest.importorskip("dask")
    texts, _ = reviews
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match=r"Every input is empty \(.*empty\.txt\)"):
        _unreachable_build([empty], tmp_path / "s1")
    empty_csv = tmp_path / "empty.csv"
    empty_csv.write_bytes(b"")
    table = tmp_path / "reviews.csv"
    table.write_text("text\n" + "\n".join(f'"{t}"' for t in texts[:5] if '"' not in t) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"Input .*empty\.csv is empty: a CSV file needs a header row"):
        _unreachable_build([empty_csv, table], tmp_path / "s2")
    utf16 = tmp_path / "utf16.txt"
    utf16.write_text("\n".join(texts[:5]) + "\n", encoding="utf-16")
    with pytest.raises(DataError, match=r"utf16\.txt is UTF-16 text.*iconv -f UTF-16"):
        _unreachable_build([utf16], tmp_path / "s3")
    latin = tmp_path / "latin1.txt"
    latin.write_bytes(("\n".join(texts[:5]) + "\nCaf\u00e9 au lait, a fine film\n").encode("latin-1", "replace"))
    with pytest.raises(DataError, match=r"latin1\.txt is not UTF-8 text \(line 6, byte \d+\).*iconv -f latin1"):
        _unreachable_build([latin], tmp_path / "s4")
    assert not any((tmp_path / f"s{i}").exists() for i in range(1, 5))


@pytest.fixture(scope="module")
def cluster():
    """One worker process on 127.0.0.1, as ``toolkit store build --workers 1`` starts it."""
    pytest.importorskip("distributed")
    from toolkit.distributed.search import local_cluster

    with local_cluster(1, silence_logs=50) as local:
        yield local


def test_store_multiline_csv_names_blocksize_none(reviews, tmp_path, cluster):
    """Reviews whose paragraphs are real line breaks (the IMDB files' <br /><br />), in a CSV cut in 4 kB blocks."""
    from toolkit.cli.store import build_store

    texts, labels = reviews
    path = tmp_path / "reviews.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows((t.replace(". ", ".\n"), y) for t, y in zip(texts, labels))
    assert path.stat().st_size > 4 * 4096
    # the block that ends inside a quoted text ("EOF inside string") or the next one, which starts inside it
    # ("Expected 2 fields"), whichever the cluster reads first: both say to read each file whole
    with pytest.raises(DataError, match=r"reviews\.csv(, line \d+)?: malformed CSV .*--blocksize none"):
        build_store([path], tmp_path / "cut", label_column="label", blocksize="4kB",
                    scheduler=cluster.scheduler_address)
    assert not (tmp_path / "cut").exists()
    info = build_store([path], tmp_path / "whole", label_column="label", blocksize="none",
                       scheduler=cluster.scheduler_address)
    assert info["n_documents"] == len(texts) and info["has_labels"]


def test_store_bad_byte_past_the_sniffed_start_is_named(reviews, tmp_path, cluster):
    from toolkit.cli.store import _SNIFF_BYTES, build_store

    texts, _ = reviews
    lines = []
    while sum(map(len, lines)) <= _SNIFF_BYTES:
        lines.extend(texts)
    path = tmp_path / "reviews.txt"
    path.write_bytes("\n".join(lines).encode("utf-8") + "\nCaf\u00e9 society\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"reviews\.txt is not valid UTF-8 \(.*Caf.*iconv -f latin1"):
        build_store([path], tmp_path / "store", scheduler=cluster.scheduler_address)
    assert not (tmp_path / "store").exists()


# --------------------------------------------------------------------------- documents named as the user finds them


@pytest.fixture(scope="module")
def with_long_line(reviews, tmp_path_factory):
    """Real reviews, a blank line, then one line of them over spaCy's max_length (line 5 of the file)."""
    texts, _ = reviews
    long = " ".join(texts)
    while len(long) <= 1_500_000:  # over spaCy's 1,000,000 once the <br /> tags are stripped
        long = f"{long} {long}"
    path = tmp_path_factory.mktemp("long") / "reviews.txt"
    path.write_text(f"{texts[0]}\n{texts[1]}\n\n{texts[2]}\n{long}\n{texts[3]}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [["tokenize"], ["vectorize", "-o", "{tmp}/m.npz"],
                                     ["vectors", "coverage", "-V", "{glove}"],
                                     ["vectors", "train", "{tmp}/w.txt"]])
def test_too_long_document_is_named_by_its_line(with_long_line, glove_small, tmp_path, capsys, command):
    args = [a.format(tmp=tmp_path, glove=glove_small) for a in command]
    position = 1 if args[0] == "tokenize" else len(args)  # vectors train: the output is the second argument
    args.insert(position if args[0] != "vectors" or args[1] != "train" else 2, str(with_long_line))
    code, err = _run(capsys, *args)
    line = _one_error(err)
    assert code == 1 and f"Line 5 of {with_long_line} has " in line and "of X" not in line
    assert "--skip-bad" in line


def test_too_long_document_on_stdin_and_in_a_csv(reviews, with_long_line, tmp_path):
    from toolkit.cli.text import _documents_named, tokenize_texts
    from toolkit.exceptions import DocumentError

    lines = with_long_line.read_text(encoding="utf-8").splitlines()
    with pytest.raises(DocumentError, match=r"^Non-blank line 4 of standard input has "), _documents_named("-"):
        tokenize_texts([line for line in lines if line])
    table = tmp_path / "reviews.csv"
    with open(table, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text"])
        # header on line 1, record 0 over lines 2 to 2 + its line breaks, record 1 on the next line, then record 2
        writer.writerows([[lines[0].replace(". ", ".\n")], [lines[1]], [lines[4]]])
    from toolkit.cli._inputs import read_input

    record2 = rf"^Record 2 \(line {4 + lines[0].count('. ')}\) of {table} has "
    with pytest.raises(DocumentError, match=record2), _documents_named(table):
        tokenize_texts(read_input(table))


def test_skip_bad_in_vectorize_and_vectors_train(with_long_line, tmp_path, capsys):
    import numpy as np

    out = tmp_path / "m.npz"
    code, err = _run(capsys, "vectorize", with_long_line, "-o", out, "--skip-bad")
    assert code == 0, err
    x = np.load(out)["x"]
    assert x.shape[0] == 5 and not x[3].any() and all(x[i].any() for i in (0, 1, 2, 4))
    vectors = tmp_path / "w.txt"
    code, err = _run(capsys, "vectors", "train", with_long_line, vectors, "--skip-bad", "--set", "min_count=1",
                     "--set", "vector_size=8")
    assert code == 0, err
    from toolkit.vectors import load_vectors

    assert load_vectors(vectors, cache=False).vector_size == 8


def test_folder_without_txt_files_names_the_command_line_fix(reviews, tmp_path, capsys):
    texts, labels = reviews
    for i, (text, label) in enumerate(zip(texts[:6], labels[:6])):
        (tmp_path / "reviews" / label).mkdir(parents=True, exist_ok=True)
        (tmp_path / "reviews" / label / f"{i}.md").write_text(text, encoding="utf-8")
    code, err = _run(capsys, "tokenize", tmp_path / "reviews")
    line = _one_error(err)
    assert code == 1 and "extensions=None" not in line and "give them the .txt suffix" in line


def test_vectorize_refuses_binary_npz_on_a_terminal(reviews, tmp_path, capsys, monkeypatch):
    import sys

    src = tmp_path / "reviews.txt"
    src.write_text("\n".join(reviews[0][:5]) + "\n", encoding="utf-8")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    with pytest.raises(SystemExit) as exc:
        main(["-q", "vectorize", str(src), "-o", "-"])
    out, err = capsys.readouterr()
    assert exc.value.code == 1 and out == "" and "standard output is a terminal" in _one_error(err)
    # a pipe or a redirect still gets the .npz bytes: tests/test_cli_errors.py runs `vectorize - -o -` in a pipe


def test_vectors_train_out_of_range_setting_fails_before_tokenizing(tmp_path, monkeypatch):
    """``vectors train imdb w.txt --set vector_size=0`` tokenized 25,000 reviews (~15 s) before naming the setting."""
    from toolkit._validation import InvalidParameterError
    from toolkit.cli import vectors as cli_vectors

    def no_tokenizing(*args, **kwargs):
        raise AssertionError("tokenized before the word2vec settings were checked")

    monkeypatch.setattr(cli_vectors, "tokenize_texts", no_tokenizing)
    with pytest.raises(InvalidParameterError, match="'vector_size' parameter of train_word2vec"):
        cli_vectors.train_vectors(["a good film", "a bad film"], tmp_path / "w.txt", vector_size=0)
    assert list(tmp_path.iterdir()) == []


def test_cli_tensorflow_import_without_tensorflow(monkeypatch):
    """Every CLI command that loads a model imported TensorFlow first (to mute its C++ notices): with
    ``KERAS_BACKEND=jax`` and no TensorFlow installed, ``toolkit train`` stopped as "a bug in toolkit" with
    ModuleNotFoundError. A missing TensorFlow is now left for Keras' import to report where it needs it (it
    names the backend setting)."""
    import sys

    from toolkit.cli import _common

    monkeypatch.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` raises ImportError, as uninstalled
    _common._import_tensorflow_muted()
    assert sys.modules["tensorflow"] is None
