"""The shell user of word-vector files (session 40).

The vectors errors gave their advice in Python terms (``unicode_errors='replace'``,
``format='glove'``, ``limit=2``), and no command took ``--unicode-errors``: a
Latin-1 vectors file had no route on the command line. The vectors commands
now take ``--unicode-errors``, the advice is written in the command's terms
(``--unicode-errors replace``; for a command without the option, a copy
written by ``toolkit vectors convert``), and the options are checked in
their own terms. Also: a truncated fastText ``.bin`` no longer hangs, ``convert
--limit`` cuts fastText vectors, and ``convert`` refuses names it would
write wrongly (``.zip``, a compressed ``.kv``).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from gensim.test.utils import datapath
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.exceptions import VectorsFormatError
from toolkit.vectors import clear_memo, load_vectors


def _cli(*args, quiet=True):
    result = CliRunner().invoke(app, ["-q"] * quiet + [*map(str, args)])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def latin1(glove_small, tmp_path):
    """20 real GloVe rows, and 'café' written in Latin-1 (byte 0xe9: not UTF-8) on line 11."""
    with open(glove_small, "rb") as src:
        rows = [next(src) for _ in range(20)]
    rows.insert(10, b"caf\xe9" + rows[0][rows[0].index(b" "):])
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"".join(rows))
    return path


def test_cli_vectors_user_s40_latin1_file_names_the_option_and_convert_repairs_it(latin1, tmp_path, imdb_tokens200):
    code, _, err = _cli("vectors", "info", latin1)
    assert code == 1
    assert err == (f"Error: {latin1}, line 11: the word b'caf\\xe9' is not valid UTF-8 (invalid continuation byte). "
                   "Convert the file to UTF-8, or pass --unicode-errors replace (or ignore) to load it anyway.\n")
    repaired = tmp_path / "repaired.vec"
    code, out, err = _cli("vectors", "convert", latin1, repaired, "--unicode-errors", "replace")
    assert (code, out) == (0, f"{repaired}\n"), err
    kv = load_vectors(repaired)  # UTF-8 now: the default strict reading takes it, as an estimator's vectors= does
    assert len(kv) == 21 and kv.index_to_key[10] == "caf\ufffd"
    from toolkit.vectors import EmbeddingVectorizer

    assert EmbeddingVectorizer(vectors=str(repaired)).fit_transform(imdb_tokens200[0][:5]).shape == (5, 50)


def test_cli_vectors_user_s40_a_command_without_the_option_advises_the_convert_route(latin1):
    """``toolkit train --vectors`` takes no --unicode-errors: its advice (OptionSpelling(options=())) is a copy."""
    from toolkit.cli.vectors import OptionSpelling
    from toolkit.vectors._parse import spelled_as

    with spelled_as(OptionSpelling(options=())), pytest.raises(VectorsFormatError) as err:
        load_vectors(latin1, cache=False)
    assert str(err.value).endswith(
        f"Convert the file to UTF-8, or write a copy with --unicode-errors replace once (toolkit vectors convert "
        f"{latin1} latin1.fixed.vec --unicode-errors replace) and pass --vectors latin1.fixed.vec.")
    with pytest.raises(VectorsFormatError, match=r"or pass unicode_errors='replace' \(or 'ignore'\) to load it "
                                                 r"anyway \(an estimator's vectors="):
        load_vectors(latin1, cache=False)  # Python keeps its keywords


def test_cli_vectors_user_s40_two_latin1_words_made_one_name_the_option(tmp_path):
    path = tmp_path / "two.txt"
    path.write_bytes(b"caf\xe9 0.1 0.2\ncaf\xe8 0.3 0.4\n")
    code, _, err = _cli("vectors", "info", path, "--unicode-errors", "replace")
    assert code == 1
    assert ("which --unicode-errors replace made the same: convert the file to UTF-8 instead of passing "
            "--unicode-errors (for a Latin-1 file" in err)


@pytest.mark.parametrize("content, fmt, advice", [
    ("2 3\nthe 0.1 0.2 0.3\ngood 0.7 0.8 0.9\n", "glove", "load it with --format word2vec or --format auto."),
    ("the 0.1 0.2 0.3\ngood 0.7 0.8 0.9\n", "word2vec", "load it with --format glove or --format auto."),
])
def test_cli_vectors_user_s40_format_advice_names_the_format_option(tmp_path, content, fmt, advice):
    path = tmp_path / "v.txt"
    path.write_text(content)
    code, _, err = _cli("vectors", "info", path, "--format", fmt)
    assert code == 1 and err.rstrip().endswith(advice) and "format=" not in err


def test_cli_vectors_user_s40_content_of_another_format_names_the_format_option():
    code, _, err = _cli("vectors", "info", datapath("lee_fasttext.bin"), "--format", "glove")
    assert code == 1
    assert err.rstrip().endswith("not glove: pass --format fasttext-bin (or --format auto, which reads it so).")


@pytest.mark.parametrize("content, advice", [
    ("2 3\nthe 0.1 0.2 0.3\ngood 0.7 0.8 0.9\nbad 0.3 0.1 0.2\n",
     "Fix the header count, or pass --limit 2 to read only the announced rows."),
    ("3 3\nthe 0.1 0.2 0.3\ngood 0.7 0.8 0.9\n",
     "download it again or fix the header, or pass --limit 2 to read the 2 it holds."),
])
def test_cli_vectors_user_s40_header_count_that_lies_advises_limit(tmp_path, content, advice):
    path = tmp_path / "v.vec"
    path.write_text(content)
    code, _, err = _cli("vectors", "info", path)
    assert code == 1 and err.rstrip().endswith(advice)
    code, out, err = _cli("vectors", "info", path, "--limit", "2")
    assert code == 0 and '"n_words": 2' in out, err


def test_cli_vectors_user_s40_binary_file_shorter_than_its_header_advises_limit(tmp_path):
    src = tmp_path / "v.vec"
    src.write_text("2 3\nthe 0.1 0.2 0.3\ngood 0.7 0.8 0.9\n")
    assert _cli("vectors", "convert", src, tmp_path / "v.bin")[0] == 0
    lying = tmp_path / "lying.bin"
    lying.write_bytes(b"5" + (tmp_path / "v.bin").read_bytes()[1:])  # "5 3": five announced, two present
    code, _, err = _cli("vectors", "info", lying)
    assert code == 1 and err.rstrip().endswith("or pass --limit 2 to read the 2 it holds.")


@pytest.mark.parametrize("args, message", [
    (["--limit", "0"], "Error: --limit 0: give the number of vectors to load, at least 1"),
    (["--limit", "-3"], "Error: --limit -3: give the number of vectors to load, at least 1"),
    (["--format", "txt"], "Error: --format txt: not a vectors format; give one of auto, glove, word2vec,"),
    (["--unicode-errors", "latin1"], "Error: --unicode-errors latin1: give one of strict, replace, ignore."),
])
def test_cli_vectors_user_s40_options_are_checked_in_their_own_terms(tmp_path, args, message):
    path = tmp_path / "v.txt"
    path.write_text("the 0.1 0.2 0.3\ngood 0.7 0.8 0.9\n")
    code, _, err = _cli("vectors", "info", path, *args)
    assert code == 1 and err.startswith(message) and "parameter of load_vectors" not in err


def test_cli_vectors_user_s40_convert_to_unknown_format_names_the_option(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("the 0.1 0.2 0.3\ngood 0.7 0.8 0.9\n")
    code, _, err = _cli("vectors", "convert", path, tmp_path / "out.vec", "--to", "text")
    assert code == 1 and err.startswith("Error: --to text: give one of word2vec, word2vec-binary, glove, native")
    assert not (tmp_path / "out.vec").exists()


def test_cli_vectors_user_s40_stdin_is_refused_in_terms_of_a_file(tmp_path):
    code, _, err = _cli("vectors", "info", "-")
    assert code == 1 and err.startswith("Error: SOURCE '-': word vectors are read from a file, not standard input")
    code, _, err = _cli("vectors", "similar", "good", "-V", "-")
    assert code == 1 and err.startswith("Error: --vectors '-': word vectors are read from a file")


def test_cli_vectors_user_s40_unknown_name_lists_vectors_manifests_only():
    with pytest.raises(FileNotFoundError) as err:
        load_vectors("no-such-vectors")
    assert "glove.6B.50d" in str(err.value) and "imdb" not in str(err.value)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("size", [10, 100, 5000, 100_000])
def test_cli_vectors_user_s40_truncated_fasttext_bin_is_refused_not_read_forever(tmp_path, size):
    """gensim's reader looped forever on a vocabulary cut short (an interrupted download)."""
    path = tmp_path / "cut.bin"
    path.write_bytes(Path(datapath("lee_fasttext.bin")).read_bytes()[:size])
    outcome = []

    def load():
        try:
            load_vectors(path, cache=False)
        except VectorsFormatError as err:
            outcome.append(err)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), "load_vectors still reading the truncated model after 20 s"
    assert len(outcome) == 1 and "the fastText .bin model is truncated" in str(outcome[0])


def test_cli_vectors_user_s40_fasttext_bin_asked_for_a_text_file_is_a_user_error(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("the 0.1 0.2 0.3\ngood 0.7 0.8 0.9\n")
    code, _, err = _cli("vectors", "info", path, "--format", "fasttext-bin")  # was struct.error: a "bug" traceback
    assert code == 1
    assert err.startswith(f"Error: {path}: is not a fastText .bin model")
    assert err.rstrip().endswith("pass --format glove (or --format auto, which reads it so).")


def test_cli_vectors_user_s40_convert_limit_cuts_fasttext_vectors(tmp_path):
    out = tmp_path / "first5.vec"
    code, _, err = _cli("vectors", "convert", datapath("lee_fasttext.bin"), out, "--limit", "5")
    assert code == 0, err
    full = load_vectors(datapath("lee_fasttext.bin"))
    first = load_vectors(out)
    assert first.index_to_key == full.index_to_key[:5]  # all 1,762 were written
    assert (first.vectors == full.vectors[:5]).all()
    code, _, err = _cli("vectors", "info", datapath("lee_fasttext.bin"), "--limit", "5", quiet=False)
    assert code == 0 and "Note: --limit 5 does not cut fastText vectors" in err


@pytest.mark.parametrize("name, to, expected", [
    ("out.zip", None, ("Cannot write {p}: it ends in .zip, but vectors are compressed with gzip (.gz) or bz2 "
                       "(.bz2), not zip. Name it {d}/out.vec.gz instead.")),
    ("out.kv.gz", None, ("Cannot write {p}: it ends in .gz, but a gensim native file (.kv) is read uncompressed. "
                         "Name it {d}/out.kv instead.")),
    ("out.bz2", "native", ("Cannot write {p}: it ends in .bz2, but a gensim native file (.kv) is read "
                           "uncompressed. Name it {d}/out instead.")),
])
def test_cli_vectors_user_s40_convert_refuses_names_it_would_write_wrongly(tmp_path, name, to, expected):
    """A .zip was plain text under that name; a compressed .kv was written, then refused by load_vectors."""
    src = tmp_path / "v.txt"
    src.write_text("the 0.1 0.2 0.3\ngood 0.7 0.8 0.9\n")
    clear_memo()
    code, _, err = _cli("vectors", "convert", src, tmp_path / name, *(["--to", to] if to else []))
    assert code == 1
    assert err == "Error: " + expected.format(p=tmp_path / name, d=tmp_path) + "\n"
    assert not (tmp_path / name).exists()


def test_cli_vectors_user_s40_zip_of_several_files_names_the_path_through_it(tmp_path):
    """The command line has no member=: the advice is the path through the archive (Python keeps member=)."""
    import zipfile

    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("a.txt", "b.txt"):
            zf.writestr(name, "the 0.1 0.2 0.3\ngood 0.7 0.8 0.9\n")
    code, _, err = _cli("vectors", "info", archive)
    assert code == 1
    assert err == (f"Error: {archive}: the zip archive holds 2 files. Pass the path through the archive to the one "
                   f"to read, such as {archive / 'a.txt'} (it holds ['a.txt', 'b.txt']).\n")
    code, _, err = _cli("vectors", "info", archive / "c.txt")
    assert code == 1 and "member=" not in err and f"in the path through the archive ({archive}/<member>)" in err
    code, out, _ = _cli("vectors", "info", archive / "b.txt")
    assert code == 0 and '"n_words": 2' in out
    with pytest.raises(VectorsFormatError, match="Pass member= to choose one of"):
        load_vectors(archive)


@pytest.mark.parametrize("name, compress", [("model.bin.gz", "gzip"), ("model.bin", "gzip"), ("model.bin.bz2", "bz2")])
def test_cli_vectors_user_s40_compressed_fasttext_bin_gives_the_model_vectors(tmp_path, name, compress):
    """gensim 4.4 read a gzipped model (fastText's own cc.*.bin.gz) into garbage, with RuntimeWarnings (overflow,
    nan); one without .gz in its name it did not decompress at all (OverflowError)."""
    import bz2
    import gzip

    import numpy as np

    plain = Path(datapath("lee_fasttext_new.bin"))
    path = tmp_path / name
    path.write_bytes((gzip if compress == "gzip" else bz2).compress(plain.read_bytes()))
    expected = load_vectors(plain, cache=False)
    kv = load_vectors(path)
    assert kv.index_to_key == expected.index_to_key
    np.testing.assert_array_equal(kv.vectors_ngrams, expected.vectors_ngrams)
    np.testing.assert_array_equal(kv.vectors, expected.vectors)
    code, out, err = _cli("vectors", "similar", "night", "-V", path, "-n", "1")
    assert code == 0 and out.startswith("night"), err


def test_cli_vectors_user_s40_tar_archive_says_to_extract_the_file(tmp_path):
    """It said "line 1: the first line has no values. Expected ... lines (GloVe text)"."""
    import tarfile

    (tmp_path / "v.txt").write_text("the 0.1 0.2 0.3\ngood 0.7 0.8 0.9\n")
    archive = tmp_path / "vectors.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(tmp_path / "v.txt", arcname="v.txt")
    code, _, err = _cli("vectors", "info", archive)
    assert code == 1
    assert err == (f"Error: {archive}: is a tar archive (such as a .tar.gz), not a word-vectors file. Extract the "
                   "vectors file from it (tar -xf vectors.tar.gz) and pass that file.\n")


def test_cli_vectors_user_s40_words_with_spaces_to_binary_names_the_to_option(tmp_path):
    src = tmp_path / "spaces.vec"
    src.write_text("2 3\nnew york 0.1 0.2 0.3\ngood 0.7 0.8 0.9\n")
    code, _, err = _cli("vectors", "convert", src, tmp_path / "spaces.bin")
    assert code == 1
    assert err.rstrip().endswith("Write word2vec text instead (a file name ending in .txt or .vec, or --to "
                                 "word2vec), or rename the token.")
    assert not (tmp_path / "spaces.bin").exists()
    code, _, err = _cli("vectors", "convert", src, tmp_path / "spaces.txt")  # following it works
    assert code == 0 and load_vectors(tmp_path / "spaces.txt").index_to_key == ["new york", "good"], err


def test_cli_vectors_user_s40_no_answer_is_said_not_an_empty_success(tmp_path):
    """`vectors similar` on a one-word file and `vectors analogy` on a file of the three query words printed
    nothing and exited 0, as if the command had not run."""
    path = tmp_path / "three.txt"
    path.write_text("man 0.1 0.2\nking 0.3 0.1\nwoman 0.2 0.4\n")
    code, out, err = _cli("vectors", "analogy", "man", "king", "woman", "--vectors", path, quiet=False)
    assert code == 0 and out == "", err
    assert "No answer: the vectors hold no word but the query's (man, king, woman)" in err
    one = tmp_path / "one.txt"
    one.write_text("film 0.1 0.2\n")
    code, out, err = _cli("vectors", "similar", "film", "--vectors", one, quiet=False)
    assert code == 0 and out == "" and "No neighbours: the vectors hold no word but 'film'." in err, err
