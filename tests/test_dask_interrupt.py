"""Ctrl-C in a terminal while a local cluster works: the program exits in seconds, not after each worker's close
timeout.

A terminal sends SIGINT to the whole process group, so the cluster's worker processes get it too, and workers busy
tokenizing no longer answer a close. ``local_cluster`` waited ``WORKER_CLOSE_TIMEOUT`` (20 s) for them before the
cluster's own close killed them: ``toolkit store build --workers 2`` took ~17 s to exit after Ctrl-C, with two
"Worker process still alive after 16.0 seconds, killing" warnings. The test runs a store build in a session of its
own (as a terminal's foreground job) and signals that process group as the terminal would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip("distributed")

SCRIPT = textwrap.dedent("""
    import glob, logging, sys
    logging.basicConfig(level=logging.WARNING)
    from toolkit.distributed import CorpusStore
    from toolkit.distributed.search import dask_client

    folder = sys.argv[1]
    try:
        with dask_client(None, n_workers=2):
            print("ready", flush=True)
            CorpusStore.build(sorted(glob.glob(folder + "/part-*.jsonl")), folder + "/store", text_column="text",
                              label_column="label")
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGINT are POSIX")
@pytest.mark.slow
def test_dask_interrupt_ctrl_c_does_not_wait_for_the_workers_close_timeout(imdb_small, tmp_path):
    texts, labels = imdb_small
    for part in range(8):  # 8 partitions of 600 reviews: tokenizing them takes the 2 workers far longer than 3 s
        with open(tmp_path / f"part-{part}.jsonl", "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps({"text": text, "label": str(label)}) + "\n" for text, label in zip(texts, labels))
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        time.sleep(3.0)  # the workers busy tokenizing
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does: the script and its workers
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert "interrupted" in out and proc.returncode == 130, err
    # the old code waited each worker's 20 s close timeout (distributed logs "after 16.0 seconds" when it gives up)
    assert "still alive after 16" not in err, err
    assert not (tmp_path / "store").exists()  # and nothing half-built was left
