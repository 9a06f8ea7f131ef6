"""Hostile vectors files: bounded time and memory, checked from outside the process that reads them."""

from __future__ import annotations

import gzip
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from test_vectors_load import _fresh_memo, write  # noqa: F401 (autouse fixture)

from toolkit.exceptions import VectorsFormatError
from toolkit.vectors import load_vectors
from toolkit.vectors._parse import MAX_LINE_BYTES

ROOT = Path(__file__).resolve().parents[1]
MEMORY_LIMIT = 1536 << 20  # address space of the reading process: far below the 1 GiB bomb plus a copy


def _gzip_bomb(path: Path, prefix: bytes = b"", gib: int = 1) -> Path:
    """``prefix`` then ``gib`` GiB of ``a`` without a newline, as a ~1 MB gzip (concatenated members)."""
    member = gzip.compress(b"a" * (1 << 20), compresslevel=9)
    with open(path, "wb") as fh:
        fh.write(gzip.compress(prefix))
        for _ in range(1024 * gib):
            fh.write(member)
    return path


def _limit_memory():  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _load_in_child(path: Path, cache: Path, *args: str) -> subprocess.CompletedProcess:
    code = (
        "import sys; from toolkit.vectors import load_vectors\n"
        "fmt = sys.argv[3] if len(sys.argv) > 3 else 'auto'\n"
        "load_vectors(sys.argv[1], format=fmt, cache_dir=sys.argv[2])"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(path), str(cache), *args], capture_output=True, text=True, timeout=60,
        preexec_fn=_limit_memory, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.parametrize(
    ("prefix", "fmt", "line"),
    [
        (b"", "auto", 1),                          # GloVe sniffed: the bomb is line 1
        (b"the 0.1 0.2\nof 0.3 0.4\n", "auto", 3),  # two good lines first
        (b"2 2\n", "word2vec", 2),                  # word2vec text: the header is fine, the first row is not
    ],
)
def test_vectors_gzip_bomb_without_newline_fails_fast_and_small(tmp_path, prefix, fmt, line):
    bomb = _gzip_bomb(tmp_path / "vectors.txt.gz", prefix)
    assert bomb.stat().st_size < 4 << 20
    cache = tmp_path / "cache"
    proc = _load_in_child(bomb, cache, fmt)  # subprocess.TimeoutExpired (a hang) fails the test
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "VectorsFormatError" in last and "MemoryError" not in proc.stderr
    assert f"vectors.txt.gz, line {line}: the line is longer than {MAX_LINE_BYTES:,} bytes" in last
    assert not (cache / "vectors").exists() or not any((cache / "vectors").iterdir())  # no partial entry


def test_vectors_long_line_in_plain_file(tmp_path):
    path = write(tmp_path / "long.txt", b"the 0.1\n" + b"x" * (MAX_LINE_BYTES + (2 << 20)))
    with pytest.raises(VectorsFormatError, match=r"long\.txt, line 2: the line is longer than 8,388,608 bytes.*"
                                                 r"The file is corrupt or not word-vector text"):
        load_vectors(path, cache=False)


def test_vectors_endless_blank_space_and_absurd_dimension(tmp_path):
    blank = write(tmp_path / "blank.txt.gz", gzip.compress(b" \n" * (MAX_LINE_BYTES // 2 + (1 << 20)) + b"a 1\n"))
    with pytest.raises(VectorsFormatError, match=r"blank\.txt\.gz: the file starts with more than 8,388,608 bytes "
                                                 r"of blank space"):
        load_vectors(blank, cache=False)
    wide = write(tmp_path / "wide.txt", b"w" + b" 0" * 100_001 + b"\n")
    with pytest.raises(VectorsFormatError, match=r"wide\.txt, line 1: the first line has 100,001 values, more than "
                                                 r"any embedding \(100,000 at most\)"):
        load_vectors(wide, cache=False)
