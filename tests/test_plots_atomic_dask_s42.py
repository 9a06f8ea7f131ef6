"""Session 42 gaps: plots that misread (an accuracy axis past 1, a normalised colour scale topped by its largest
cell, per-class metrics flattened into epochs, text columns and CJK glyphs reported without naming them), a folder
replacement killed between its two renames (the old folder hidden until swept), the Dask store's skipped
documents not counted, and Dask predictions written straight into their folder (a crash left a partial one).

Small real IMDB samples; Dask's synchronous scheduler, and one LocalCluster (processes on 127.0.0.1) where the
workers write.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("matplotlib")


# ---------------------------------------------------------------------------------------------------- plots


def test_accuracy_axis_ends_at_one_and_the_points_at_one_stay_whole():
    """A fit that reached a training accuracy of 1.0 drew its axis up to 1.02-1.04, above what accuracy can be."""
    from toolkit.plots import plot_history

    history = {"loss": [0.6, 0.3, 0.1], "val_loss": [0.5, 0.45, 0.5],
               "accuracy": [0.7, 0.95, 1.0], "val_accuracy": [0.62, 0.8, 0.81]}
    fig = plot_history(history)
    loss_ax, acc_ax = fig.axes[:2]
    bottom, top = acc_ax.get_ylim()
    assert top == 1.0 and bottom < 0.62
    assert all(not line.get_clip_on() for line in acc_ax.lines)  # the dot at 1.0 is drawn whole on the edge
    assert loss_ax.get_ylim()[1] > 0.6  # a loss axis keeps matplotlib's margin
    # accuracy 1.0 at every epoch: a small range below 1, not an empty one
    fig = plot_history({"accuracy": [1.0, 1.0]}, metrics="accuracy")
    bottom, top = fig.axes[0].get_ylim()
    assert top == 1.0 and 0.9 < bottom < 1.0


def test_normalised_confusion_matrix_colours_are_on_a_zero_to_one_scale():
    """A coin-flip classifier (every rate 0.5) was drawn as dark as a perfect one: the scale ended at 0.5."""
    from toolkit.plots import plot_confusion_matrix

    fig = plot_confusion_matrix([0, 0, 1, 1], [0, 1, 0, 1], ["neg", "pos"], normalize="true")
    assert fig.axes[0].images[0].get_clim() == (0.0, 1.0)
    # the numbers on the cells: dark text on a light cell (0.5 of a 0-1 scale is not the darkest)
    assert {t.get_color() for t in fig.axes[0].texts} == {"black"}
    fig = plot_confusion_matrix([0, 0, 1, 1], [0, 1, 0, 1], ["neg", "pos"])  # counts: their own scale
    assert fig.axes[0].images[0].get_clim() == (0.0, 1.0)  # largest count 1


def test_normalised_confusion_matrix_title_says_which_way_it_sums_and_pca_axes_their_variance(imdb_small,
                                                                                                glove_small):
    """A normalised matrix's 0.61 / 0.39 did not say whether rows (recall) or columns (precision) sum to 1; a PCA
    word map did not say how little of the vectors' spread its two axes keep."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.plots import plot_confusion_matrix, plot_word_map

    texts, labels = imdb_small
    model = make_pipeline(TfidfVectorizer(min_df=2), LogisticRegression(max_iter=200)).fit(texts[:300], labels[:300])
    predicted = model.predict(texts[300:400])
    titles = {normalize: plot_confusion_matrix(labels[300:400], predicted, ["neg", "pos"],
                                               normalize=normalize).axes[0].get_title()
              for normalize in (None, "true", "pred", "all")}
    assert titles == {None: "Confusion matrix", "true": "Confusion matrix (each row sums to 1)",
                      "pred": "Confusion matrix (each column sums to 1)",
                      "all": "Confusion matrix (share of all samples)"}
    wanted = {"good", "great", "bad", "awful", "movie", "film", "actor"}
    with open(glove_small, encoding="utf-8") as fh:  # the real GloVe rows of these words (no cache to build)
        vectors = {word: np.asarray(rest, dtype=float) for word, *rest in (line.split(" ") for line in fh)
                   if word in wanted}
    words = sorted(vectors)
    assert len(words) == len(wanted)
    ax = plot_word_map(vectors, words).axes[0]
    assert ax.get_xlabel().startswith("PC1 (") and ax.get_xlabel().endswith("% of the variance)")
    assert ax.get_ylabel().startswith("PC2 (")


def test_per_class_metric_histories_are_refused_naming_the_metric_not_flattened():
    """keras.metrics.F1Score(average=None) records one value per class and epoch: 3 epochs of 2 classes were drawn
    as 6 epochs."""
    from toolkit.plots import plot_history

    history = {"loss": [0.6, 0.4, 0.3], "f1_score": [[0.5, 0.6], [0.6, 0.7], [0.7, 0.8]]}
    with pytest.raises(ValueError, match=r"'f1_score' holds 2 values per epoch \(shape \(3, 2\)"):
        plot_history(history, metrics=["loss", "f1_score"])
    # not asked for: the other panels draw
    fig = plot_history(history)
    assert [ax.get_title() for ax in fig.axes] == ["Training loss"]
    assert len(fig.axes[0].lines[0].get_xdata()) == 3


def test_dataframe_history_with_a_text_column_names_the_column():
    """A CSVLogger file with a note column: "could not convert string to float: 'warmup'" named no column, even
    when the note was not to be drawn."""
    import pandas as pd

    from toolkit.plots import plot_history

    frame = pd.DataFrame({"epoch": [0, 1], "loss": [0.6, 0.4], "accuracy": [0.6, 0.8], "note": ["warmup", "main"]})
    fig = plot_history(frame)  # the note is no metric to draw
    assert [ax.get_title() for ax in fig.axes] == ["Training loss", "Training accuracy"]
    with pytest.raises(ValueError, match=r"column 'note' of the DataFrame holds values that are not numbers "
                                         r"\('warmup'"):
        plot_history(frame, metrics=["loss", "note"])


def test_cjk_labels_shown_in_a_notebook_warn_once_naming_the_labels_and_the_font_setting():
    """A figure returned to a notebook showed one raw "Glyph ... missing from font(s)" warning per character and
    draw, naming neither the label nor what to set. A Python warning: a notebook shows it (the toolkit's log is
    silent there unless the user configures logging)."""
    from toolkit.plots import plot_confusion_matrix

    fig = plot_confusion_matrix(["好评", "差评", "好评"], ["好评", "好评", "差评"], ["好评", "差评"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = fig._repr_png_()
        fig._repr_png_()  # shown again: no second warning
    assert png.startswith(b"\x89PNG")
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert len(caught) == 1 and caught[0].category is UserWarning
    message = str(caught[0].message)
    assert "lacks 3 characters" in message and "'好评'" in message and "'差评'" in message
    assert "rcParams['font.family']" in message


# ------------------------------------------------------------------------------------------- atomic folders


def _host_tag() -> str:
    """This machine's tag in the names of atomic_output's temporaries and moved-aside folders."""
    from toolkit._atomic import _host_tag

    return _host_tag()


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _moved_aside(target, pid):
    """The state a writer killed between atomic_output's two renames leaves: no target, the old one hidden."""
    old = target.with_name(f".{target.name}.{pid}-{_host_tag()}abcdef.tmp-old")
    os.replace(target, old)
    return old


def test_a_store_hidden_by_a_build_killed_mid_swap_is_put_back_by_the_next_reader(imdb_small, tmp_path, caplog):
    """A rebuild killed (kill -9) between its two renames: CorpusStore(path) said "not a corpus store" and the
    store stayed hidden as .store.<hex>.tmp-old until a 6-hour sweep deleted it."""
    pytest.importorskip("dask.bag")
    import dask.bag as db

    from toolkit.distributed import CorpusStore

    texts = list(imdb_small[0][:30])
    path = tmp_path / "store"
    CorpusStore.build(db.from_sequence(texts, npartitions=2), path, scheduler="sync")
    old = _moved_aside(path, _dead_pid())
    with caplog.at_level(logging.WARNING, logger="toolkit._atomic"):
        store = CorpusStore(path)
    assert store.n_documents == 30 and not old.exists()
    assert "was missing" in caplog.text and old.name in caplog.text


def test_a_writer_puts_back_the_folder_a_killed_writer_hid_before_sweeping(tmp_path):
    """The next save to the path swept the hidden old folder as stale debris (by its modification time: a model
    written a day ago) before writing; its write failing then left no model at all."""
    from toolkit._atomic import atomic_output

    target = tmp_path / "model"
    target.mkdir()
    (target / "weights.bin").write_bytes(b"old model")
    os.utime(target, (0, 0))  # written long ago: the sweep's age test took it for debris
    old = _moved_aside(target, _dead_pid())
    with pytest.raises(RuntimeError, match="disk gone"), atomic_output(target, directory=True) as tmp:
        (tmp / "weights.bin").write_bytes(b"new, half written")
        raise RuntimeError("disk gone")
    assert (target / "weights.bin").read_bytes() == b"old model"
    assert not old.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


_KILLED_BETWEEN_RENAMES = """
import os, signal, sys
from pathlib import Path
from toolkit._atomic import atomic_output

replace = os.replace
def replace_then_die(src, dst):
    replace(src, dst)
    if str(dst).endswith(".tmp-old"):  # the old folder moved aside, the new one not yet in place
        os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace_then_die
with atomic_output(Path(sys.argv[1]), directory=True) as tmp:
    (tmp / "weights.bin").write_bytes(b"new model")
"""


def test_a_writer_killed_between_its_two_renames_loses_nothing(tmp_path):
    """kill -9 of a real writer process at the worst moment: the next writer finds and keeps the old folder."""
    from toolkit._atomic import atomic_output

    target = tmp_path / "out" / "model"
    target.mkdir(parents=True)
    (target / "weights.bin").write_bytes(b"old model")
    script = tmp_path / "writer.py"
    script.write_text(_KILLED_BETWEEN_RENAMES)
    done = subprocess.run([sys.executable, str(script), str(target)], cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == -9
    assert not target.exists() and len(list(target.parent.glob(".model.*.tmp-old"))) == 1  # the state it leaves
    with atomic_output(target, directory=True) as tmp:  # the next save: the old one back first, then replaced
        assert (target / "weights.bin").read_bytes() == b"old model"
        (tmp / "weights.bin").write_bytes(b"newer model")
    assert (target / "weights.bin").read_bytes() == b"newer model"
    assert not list(target.parent.glob(".model.*.tmp-old"))  # (its unfinished .tmp folder: the stale sweep's)


def test_a_folder_moved_aside_by_a_live_writer_is_left_to_it(tmp_path):
    """A live writer is between its two renames: taking its old folder back would race with it."""
    from toolkit._atomic import recover_moved_aside

    target = tmp_path / "model"
    target.mkdir()
    old = _moved_aside(target, os.getpid())  # this process: alive
    assert recover_moved_aside(target) is None
    assert old.is_dir() and not target.exists()
    dead = target.with_name(f".{target.name}.{_dead_pid()}-{_host_tag()}abcdef.tmp-old")
    os.replace(old, dead)  # now a dead writer's
    assert recover_moved_aside(target) == target and target.is_dir() and not dead.exists()


# ------------------------------------------------------------------------------------------------ Dask store


def test_store_build_with_errors_skip_counts_and_names_the_skipped_documents(imdb_small, tmp_path, caplog):
    """SpacyTokenizer(errors='skip') gave long reviews empty token lists without a count: each worker logged
    "their indices in X" of its own partition, and the store kept no record of them."""
    pytest.importorskip("dask.bag")
    import dask.bag as db

    from toolkit.distributed import CorpusStore
    from toolkit.text import SpacyTokenizer

    texts = list(imdb_small[0][:40])
    params = {"max_length": 1200, "errors": "skip"}
    expected = SpacyTokenizer(**params).transform(texts).skipped.tolist()
    assert 3 <= len(expected) < 40
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        store = CorpusStore.build(db.from_sequence(texts, npartitions=4), tmp_path / "store", tokenizer=params,
                                  scheduler="sync")
    assert store.skipped.tolist() == expected
    assert CorpusStore(tmp_path / "store").skipped.tolist() == expected
    assert store.lengths()[expected].tolist() == [0] * len(expected)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1, warned  # one, from the client: not one per partition numbered in it
    assert f"empty token lists to {len(expected)} of 40 documents" in warned[0]
    assert f"document {expected[0]} of the input ({texts[expected[0]][:40]!r}...)" in warned[0]
    assert "CorpusStore(path).skipped" in warned[0]


def test_tokenize_partitions_names_skipped_documents_by_their_number_in_the_input(imdb_small, caplog):
    """Each partition logged "their indices in X: 0, 2" in its own numbering: documents 10 and 12 of the input
    read as 0 and 2."""
    db = pytest.importorskip("dask.bag")
    from toolkit.distributed import tokenize_partitions
    from toolkit.text import SpacyTokenizer

    texts = list(imdb_small[0][:20])
    params = {"max_length": 1200, "errors": "skip"}
    expected = SpacyTokenizer(**params).transform(texts).skipped.tolist()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        tokens = tokenize_partitions(db.from_sequence(texts, npartitions=2), params).compute(scheduler="sync")
    assert [i for i, t in enumerate(tokens) if not t] == expected
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert not [m for m in warned if "indices in X" in m]
    numbers = [int(n) for m in warned for n in m.rsplit(": ", 1)[1].split(", ")]
    assert numbers == expected


def test_store_skipped_documents_of_one_text_file_are_named_by_line(imdb_small, tmp_path, caplog):
    pytest.importorskip("dask.bag")
    from toolkit.distributed import CorpusStore

    texts = [t.replace("\n", " ") for t in imdb_small[0][:12]]
    (tmp_path / "reviews.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    long = [i for i, t in enumerate(texts) if len(t) > 1200]
    assert long
    with caplog.at_level(logging.WARNING, logger="toolkit.distributed.store"):
        store = CorpusStore.build(str(tmp_path / "reviews.txt"), tmp_path / "store",
                                  tokenizer={"max_length": 1200, "errors": "skip"}, scheduler="sync")
    assert store.skipped.tolist() == long
    assert f"line {long[0] + 1} of {tmp_path / 'reviews.txt'}" in caplog.text


# ------------------------------------------------------------------------------------------ Dask predictions


@pytest.fixture(scope="module")
def imdb_model(imdb_small):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts, labels = imdb_small
    return make_pipeline(TfidfVectorizer(min_df=2), LogisticRegression(max_iter=200)).fit(texts[:300], labels[:300])


def _crash_on(text, bad):
    if text == bad:
        raise RuntimeError("the worker crashed on this partition")
    return text


def test_predictions_written_by_cluster_workers_appear_complete_or_not_at_all(imdb_model, imdb_small, tmp_path):
    """predict(...).to_textfiles(folder) writes into the folder itself: a crash in the last partition left the
    first three written, a folder that looks complete. write_predictions writes beside it and renames."""
    pytest.importorskip("distributed")
    import dask.bag as db
    from distributed import Client, LocalCluster

    from toolkit.distributed.prediction import write_predictions

    texts = list(imdb_small[0][300:340])
    out = tmp_path / "predictions"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0",
                      silence_logs=logging.CRITICAL) as cluster, Client(cluster):
        bag = db.from_sequence(texts, npartitions=4)
        assert write_predictions(imdb_model, bag, out) == out
        rows = [json.loads(line) for i in range(4) for line in (out / f"part-{i:05d}.jsonl").read_text().splitlines()]
        assert [row["label"] for row in rows] == imdb_model.predict(texts).tolist()
        manifest = json.loads((out / "predictions.json").read_text())
        assert manifest["n_documents"] == 40 and manifest["classes"] == ["neg", "pos"]
        before = {p.name: p.read_bytes() for p in out.iterdir()}

        crashing = bag.map(_crash_on, texts[-1])  # the last partition fails, after the others were written
        with pytest.raises(RuntimeError, match="the worker crashed") as info:
            write_predictions(imdb_model, crashing, out, method="predict_proba")
        assert any("wrote nothing to" in note and "unchanged" in note for note in info.value.__notes__)
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the earlier predictions stand
        with pytest.raises(RuntimeError, match="the worker crashed"):
            write_predictions(imdb_model, crashing, tmp_path / "fresh")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["predictions"]  # no partial folder, no temporary one


def test_write_predictions_of_a_dask_series_keeps_its_index_and_refuses_other_folders(imdb_model, imdb_small,
                                                                                      tmp_path):
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    from toolkit.distributed.prediction import write_predictions

    texts = list(imdb_small[0][300:312])
    series = dd.from_pandas(pd.Series(texts, index=range(100, 112)), npartitions=3)
    out = write_predictions(imdb_model, series, tmp_path / "p", method="predict_proba", scheduler="sync")
    rows = [json.loads(line) for i in range(3) for line in (out / f"part-{i:05d}.jsonl").read_text().splitlines()]
    assert [row["index"] for row in rows] == list(range(100, 112))
    proba = imdb_model.predict_proba(texts)
    assert np.allclose([row["probabilities"]["pos"] for row in rows], proba[:, 1], atol=1e-6)
    (tmp_path / "notes").mkdir()
    with pytest.raises(FileExistsError, match="holds no predictions.json"):
        write_predictions(imdb_model, series, tmp_path / "notes", scheduler="sync")
