"""What the workers of the CLI's local Dask cluster write on stderr when a task fails (session 37 hunt).

``toolkit -q store build multi.csv --label-column label --blocksize 10kB -o s`` on a CSV whose quoted
reviews hold line breaks fails on the workers (a partition boundary falls inside a quoted text). The CLI
reported it in one ``Error:`` line, but the worker processes, whose log levels the CLI's options did not
reach, wrote around it distributed's "Compute Failed" record, with the task's traceback, for every
partition, even under ``-q`` ("Only errors on stderr"). Now ``-q`` leaves the one line, the default keeps
the workers' warnings but not the failed tasks (the CLI reports the failure once), and ``--verbose`` shows
the workers' records of the failed tasks.

The clusters are real ``LocalCluster`` s on 127.0.0.1 with one worker process (``--workers 1``), started by
the CLI in this process; ``capfd`` reads the file descriptor 2 the worker processes inherit. The
documents are real IMDB training reviews, their paragraphs (``<br /><br />``) as real line breaks.
"""

from __future__ import annotations

import csv

import pytest

from toolkit.cli import main

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def multiline_csv(imdb_small, tmp_path_factory):
    """40 IMDB reviews with line breaks inside their quoted texts, and labels: about 50 kB of CSV."""
    texts, labels = imdb_small
    path = tmp_path_factory.mktemp("quiet_workers") / "multi.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        for text, label in zip(texts[:40], labels[:40]):
            writer.writerow([text.replace("<br /><br />", "\n\n").replace(". ", ".\n"), str(label)])
    assert path.stat().st_size > 8 * 4096  # several 4 kB partitions, most cut inside a quoted text
    return path


def _run(capfd, *args) -> tuple[int, str]:
    """``toolkit ARGS`` in this process: (exit code, everything written on file descriptor 2, workers' included)."""
    capfd.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    return exc.value.code, capfd.readouterr().err


def _lines(err: str) -> list[str]:
    """The lines of ``err`` without progress bars (tqdm redraws them with carriage returns)."""
    lines = (part.strip() for line in err.splitlines() for part in line.split("\r"))
    return [line for line in lines if line and "task/s" not in line]


def _build(capfd, root_options, csv_path, output, blocksize="4kB"):
    return _run(capfd, *root_options, "store", "build", csv_path, "--label-column", "label", "--blocksize", blocksize,
                "--workers", "1", "-o", output)


@pytest.mark.slow
def test_cli_quiet_workers_store_build_failure_is_one_error_line_under_quiet(multiline_csv, tmp_path, capfd):
    code, err = _build(capfd, ["-q"], multiline_csv, tmp_path / "store")
    assert code == 1, err
    lines = _lines(err)
    assert len(lines) == 1, err[-3000:]  # was: a "Compute Failed" record and traceback per partition around it
    # the CSV block's error names the file (and line) since the forty-fifth session (was "A CSV input ...")
    assert lines[0].startswith("Error: ") and "multi.csv" in lines[0] and "malformed CSV" in lines[0], lines
    assert "--blocksize none" in lines[0]
    assert not (tmp_path / "store").exists()


@pytest.mark.slow
def test_cli_quiet_workers_store_build_success_writes_nothing_under_quiet(multiline_csv, tmp_path, capfd):
    code, err = _build(capfd, ["-q"], multiline_csv, tmp_path / "store", blocksize="none")
    assert code in (0, None), err
    assert err == ""
    assert (tmp_path / "store" / "store.json").is_file()


@pytest.mark.slow
def test_cli_quiet_workers_store_build_failure_is_reported_once_by_default(multiline_csv, tmp_path, capfd):
    """Without -q the workers' warnings stay, but the failed tasks are the CLI's one error, not also their log."""
    code, err = _build(capfd, [], multiline_csv, tmp_path / "store")
    assert code == 1, err
    assert "Compute Failed" not in err and "Traceback" not in err, err[-3000:]
    errors = [line for line in _lines(err) if line.startswith("Error: ")]
    assert len(errors) == 1 and "--blocksize none" in errors[0], err[-3000:]


@pytest.mark.slow
def test_cli_quiet_workers_store_build_verbose_shows_the_failed_tasks(multiline_csv, tmp_path, capfd):
    """--verbose asks for details: the workers' records of the failed tasks (with their tracebacks) are shown."""
    code, err = _build(capfd, ["--verbose"], multiline_csv, tmp_path / "store")
    assert code == 1, err
    assert "Compute Failed" in err and "DataError" in err, err[-3000:]
    last = _lines(err)[-1]
    assert last.startswith("Error: ") and "multi.csv" in last and "malformed CSV" in last, err[-3000:]
