"""The shell user of the vectors and text commands (session 47).

- ``load_vectors(path, duplicates="first")`` loads ``glove.840B.300d.txt``, which repeats one of its 2.2
  million words; the vectors commands had no way to pass it, and the refusal advised a keyword no command
  takes. ``--duplicates [error|first]`` now reaches it from every command that loads vectors, and the advice
  reads ``--duplicates first``.
- ``toolkit tokenize revs.tar.gz`` (and every command reading raw text: vectorize, predict, vectors coverage
  and train) read a tar archive line by line: each member's header ("revs/0_7.txt", "0000644", "ustar")
  glued to its text, and the lines of every member, were the documents (exit 0); a zip was "not utf-8".
  Both are refused, naming the file and what to do (IMDB's tarball: 'imdb' / ``load_imdb``).

Real data: the first rows of GloVe 6B-50d with one word repeated; a few IMDB training reviews in a tar/zip.
"""

from __future__ import annotations

import gzip
import io
import re
import zipfile

import numpy as np
import pytest
from conftest import invoke_quiet, one_error, write_reviews_tar

#: the rows of GloVe 6B-50d read, and the row (0-based) rewritten as a repeat of row 0's word ("the")
N_ROWS, REPEAT_AT = 40, 30


@pytest.fixture(scope="module")
def glove_repeat(shared_data, tmp_path_factory):
    """The first 40 rows of the real GloVe 6B-50d file, row 31 (line 31) rewritten as a second "the" (its
    own vector kept): (path, the first "the" vector, the vector of the repeat, the words in order)."""
    with gzip.open(shared_data / "glove.6B.50d.txt.gz", "rt", encoding="utf-8") as fh:
        lines = [next(fh) for _ in range(N_ROWS)]
    first_word = lines[0].split(" ", 1)[0]
    assert first_word == "the"
    lines[REPEAT_AT] = first_word + " " + lines[REPEAT_AT].split(" ", 1)[1]
    path = tmp_path_factory.mktemp("glove-repeat") / "glove.repeat.50d.txt"
    path.write_text("".join(lines), encoding="utf-8")
    words = [line.split(" ", 1)[0] for line in lines]
    first, repeat = (np.asarray(lines[i].split()[1:], dtype=np.float32) for i in (0, REPEAT_AT))
    return path, first, repeat, words


def test_repeated_word_refused_with_the_option_named(glove_repeat, tmp_path):
    path, *_ = glove_repeat
    error = one_error(invoke_quiet("vectors", "info", path, "--cache-dir", tmp_path / "cache"))
    assert "line 31: the word 'the' appears a second time (first on line 1)" in error
    assert "pass --duplicates first to keep the first vector" in error, error
    assert "duplicates=" not in error  # load_vectors' keyword, which no command takes


def test_duplicates_first_keeps_the_first_vector(glove_repeat, tmp_path):
    from toolkit.vectors import load_vectors

    path, first, repeat, words = glove_repeat
    out = tmp_path / "fixed.vec"
    result = invoke_quiet("vectors", "convert", path, out, "--duplicates", "first", "--cache-dir", tmp_path / "c")
    assert result.exit_code == 0, result.output
    kv = load_vectors(out, cache=False)
    assert kv.index_to_key == words[:REPEAT_AT] + words[REPEAT_AT + 1:]  # the later line dropped, order kept
    np.testing.assert_array_equal(kv["the"], first)
    assert not np.array_equal(first, repeat)


def test_duplicates_first_in_the_query_commands(glove_repeat, tmp_path):
    path, *_ = glove_repeat
    cache = tmp_path / "cache"
    result = invoke_quiet("vectors", "info", path, "--duplicates", "first", "--cache-dir", cache)
    assert result.exit_code == 0, result.output
    assert '"n_words": 39' in result.stdout
    result = invoke_quiet("vectors", "similar", "the", "-V", path, "--duplicates", "first", "-n", "3",
                          "--cache-dir", cache)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 3
    result = invoke_quiet("vectors", "analogy", "he", "his", "they", "-V", path, "--duplicates", "first",
                          "--cache-dir", cache)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()


def test_every_vectors_loading_command_takes_duplicates():
    """Every command that reads --unicode-errors (the reader options, :func:`_load_kwargs`) takes --duplicates."""
    import typer.main

    from toolkit.cli.vectors import vectors_app

    group = typer.main.get_command(vectors_app)
    loading = {name for name, command in group.commands.items()
               if any("--unicode-errors" in p.opts for p in command.params)}
    assert loading == {"info", "similar", "analogy", "coverage", "convert", "map"}
    for name in loading:
        option = next(p for p in group.commands[name].params if "--duplicates" in p.opts)
        assert option.default == "error", name


def test_duplicates_value_checked(glove_repeat, tmp_path):
    path, *_ = glove_repeat
    error = one_error(invoke_quiet("vectors", "info", path, "--duplicates", "last", "--cache-dir", tmp_path))
    assert re.search(r"--duplicates last: give one of error, first", error), error


# --- raw text that is a tar or zip archive ------------------------------------------------------------------




@pytest.fixture
def reviews(imdb_small):
    return list(imdb_small[0][:3])


def test_tokenize_refuses_a_tarball(reviews, tmp_path):
    path = write_reviews_tar(tmp_path / "revs.tar.gz", reviews)
    result = invoke_quiet("tokenize", path)
    error = one_error(result)
    assert f"'{path}' is a tar archive (gzip-compressed), not text" in error
    assert f"tar -xf {path}" in error and "'revs/0_7.txt'" in error
    assert "ustar" not in result.stdout  # (before: '["revs/0_7.txt", "0000644", ..., "ustar", "00", ...')


def test_stdin_tar_and_zip_refused(reviews, cli, tmp_path):
    tar = write_reviews_tar(tmp_path / "revs.tar", reviews, mode="w").read_bytes()
    code, out, err = cli("tokenize", "-", stdin=tar)
    assert code == 1 and out == "" and "Standard input is a tar archive, not text" in err, err
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for i, text in enumerate(reviews):
            zf.writestr(f"revs/{i}_7.txt", text)
    (tmp_path / "revs.zip").write_bytes(buffer.getvalue())
    code, out, err = cli("tokenize", "-", stdin=buffer.getvalue())
    assert code == 1 and "Standard input is a zip archive, not text. Extract it (unzip FILE)" in err, err
    code, out, err = cli("vectorize", "revs.zip", "-o", "m.npz")
    assert code == 1 and "'revs.zip' is a zip archive" in err and not (tmp_path / "m.npz").exists(), err


def test_imdb_tarball_advice(reviews, tmp_path):
    """A tarball of IMDB's layout (aclImdb/...) is told the 'imdb' / load_imdb way."""
    from toolkit.cli._inputs import read_input
    from toolkit.exceptions import DataError

    path = write_reviews_tar(tmp_path / "aclImdb_part.tar.gz", reviews, member="aclImdb/train/pos/{i}_7.txt")
    with pytest.raises(DataError, match=r"It is IMDB's tarball: give 'imdb' instead .*load_imdb\(path="):
        read_input(path)  # (what vectors coverage and vectors train read)


def test_text_spelling_ustar_is_still_text(reviews, tmp_path):
    """Bytes 257-261 of a text file may spell "ustar" ("gustar"): no NUL before them, so no archive."""
    from toolkit.cli._inputs import read_input

    head = reviews[0].encode("ascii", "ignore").replace(b"\n", b" ")[:256]
    assert len(head) == 256
    path = tmp_path / "texts.txt"
    path.write_bytes(head + b"gustar\n" + reviews[1].encode("utf-8") + b"\n")
    assert read_input(path) == [(head + b"gustar").decode(), reviews[1]]
