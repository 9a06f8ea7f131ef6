"""A notebook re-run saves into its model folder again: the user's own files there stay, the model's are replaced."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

from toolkit import _atomic
from toolkit.models.persistence import load_model, save_model


@pytest.fixture(scope="module")
def two_models(imdb_tokens):
    """Two NBSVM pipelines (no Keras) fitted on different real reviews, and 100 held-out token lists."""
    from sklearn.pipeline import make_pipeline

    from toolkit import BagEncoder, NBSVMClassifier

    docs, labels = imdb_tokens
    first = make_pipeline(BagEncoder(), NBSVMClassifier()).fit(docs[:200], labels[:200])
    second = make_pipeline(BagEncoder(), NBSVMClassifier()).fit(docs[200:400], labels[200:400])
    return first, second, docs[400:500]


def _user_files(folder) -> None:
    """What a notebook puts beside its model: a plot, notes, a folder of figures, a link to the data."""
    from toolkit.plots import plot_history

    plot_history({"loss": [0.7, 0.5, 0.4], "accuracy": [0.5, 0.7, 0.8]}, folder / "history.png")
    (folder / "notes.txt").write_text("trained on 200 reviews")
    (folder / "figures").mkdir()
    (folder / "figures" / "cm.txt").write_text("confusion")
    (folder / "data").symlink_to("../reviews.csv")
    (folder / ".ipynb_checkpoints").mkdir()  # Jupyter's copy of a notebook kept in the folder
    (folder / ".ipynb_checkpoints" / "analysis-checkpoint.ipynb").write_text("{}")
    (folder / ".DS_Store").write_bytes(b"Bud1")  # Finder's view of the old files: not kept


def _assert_user_files(folder, png: bytes) -> None:
    assert (folder / "history.png").read_bytes() == png
    assert (folder / "notes.txt").read_text() == "trained on 200 reviews"
    assert (folder / "figures" / "cm.txt").read_text() == "confusion"
    assert os.readlink(folder / "data") == "../reviews.csv"
    assert (folder / ".ipynb_checkpoints" / "analysis-checkpoint.ipynb").read_text() == "{}"


def _debris(parent) -> list:
    return [name for name in os.listdir(parent) if ".tmp" in name]


def test_resave_keeps_the_users_files_and_replaces_the_model(two_models, tmp_path):
    first, second, held_out = two_models
    folder = save_model(first, tmp_path / "model")
    _user_files(folder)
    png = (folder / "history.png").read_bytes()
    # was: FileExistsError "... also holds data, figures, history.png, notes.txt, which save_model did not write"
    save_model(second, folder)
    np.testing.assert_array_equal(load_model(folder).decision_function(held_out), second.decision_function(held_out))
    _assert_user_files(folder, png)
    assert not (folder / ".DS_Store").exists() and _debris(tmp_path) == []
    save_model(first, folder)  # and again: the files carried once are carried again
    np.testing.assert_array_equal(load_model(folder).decision_function(held_out), first.decision_function(held_out))
    _assert_user_files(folder, png)


def test_a_failed_resave_leaves_the_old_model_and_the_users_files(two_models, tmp_path, monkeypatch):
    first, second, held_out = two_models
    folder = save_model(first, tmp_path / "model")
    _user_files(folder)
    png = (folder / "history.png").read_bytes()
    before = sorted(os.listdir(folder))

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    # while the files are carried into the new folder
    with monkeypatch.context() as patch:
        patch.setattr(_atomic.shutil, "copytree", full_disk)
        with pytest.raises(OSError, match="the model folder there is unchanged"):
            save_model(second, folder)
    # at the swap itself: the new folder, user files and all, fails to move into place
    real_replace = os.replace

    def failing_swap(src, dst, **kwargs):
        if os.fspath(src).endswith(".tmp") and os.fspath(dst) == os.fspath(folder):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(_atomic.os, "replace", failing_swap)
        with pytest.raises(OSError, match="the model folder there is unchanged"):
            save_model(second, folder)
    assert sorted(os.listdir(folder)) == before
    _assert_user_files(folder, png)
    np.testing.assert_array_equal(load_model(folder).decision_function(held_out), first.decision_function(held_out))
    assert _debris(tmp_path) == []


def test_a_file_written_into_the_folder_during_the_save_is_kept(two_models, tmp_path, monkeypatch):
    """Another process plotting into the folder between the carry-over and the swap: its file is not lost."""
    first, second, held_out = two_models
    folder = save_model(first, tmp_path / "model")
    (folder / "notes.txt").write_text("old notes")
    real_carry = _atomic._carry_over

    def carry_then_write(old, new, keep):
        carried = real_carry(old, new, keep)
        (old / "late.txt").write_text("written meanwhile")
        (old / "notes.txt").unlink()  # rewritten by an atomic replace: a new file under the name
        (old / "notes.txt").write_text("new notes")
        return carried

    monkeypatch.setattr(_atomic, "_carry_over", carry_then_write)
    save_model(second, folder)
    assert (folder / "late.txt").read_text() == "written meanwhile"
    assert (folder / "notes.txt").read_text() == "new notes"
    np.testing.assert_array_equal(load_model(folder).decision_function(held_out), second.decision_function(held_out))


def test_files_of_the_format_not_in_checksums_are_replaced_and_clashing_folders_refused(two_models, tmp_path):
    first, second, held_out = two_models
    folder = save_model(first, tmp_path / "model")
    (folder / "model.keras").write_bytes(b"a Keras model of another save")  # unlisted: replaced, as before
    (folder / "notes.txt").write_text("mine")
    save_model(second, folder)
    assert sorted(os.listdir(folder)) == ["checksums.json", "config.json", "model.skops", "notes.txt"]
    (folder / "vocabulary.json").mkdir()  # a folder under a model file's name: the new file cannot sit beside it
    with pytest.raises(FileExistsError, match=r"also holds vocabulary\.json: no file, but the name of one"):
        save_model(first, folder)
    (folder / "vocabulary.json").rmdir()
    config = folder / "config.json"  # damaged: another program's config.json, maybe; the user's files say so
    config.write_text(config.read_text()[:20])
    # was: "... exists and is not a toolkit model folder (it holds checksums.json, config.json, model.skops, ...)"
    with pytest.raises(FileExistsError, match=r"holds a config\.json that cannot be read, and notes\.txt, which "
                                              "save_model did not write"):
        save_model(second, folder)
    (folder / "notes.txt").unlink()  # then it is replaced ("save the model again"), Jupyter's checkpoints kept
    (folder / ".ipynb_checkpoints").mkdir()
    save_model(second, folder)
    assert (folder / ".ipynb_checkpoints").is_dir()
    np.testing.assert_array_equal(load_model(folder).decision_function(held_out), second.decision_function(held_out))
    plain = tmp_path / "plots"  # the user's own folder, no model in it: still refused, untouched
    plain.mkdir()
    (plain / "history.png").write_bytes(b"png")
    # a notebook's first run, plotting before it saves: the message says which order works
    with pytest.raises(FileExistsError, match=r"is not a toolkit model folder \(it holds history\.png\).* saving "
                                              "again keeps them"):
        save_model(first, plain)
    assert os.listdir(plain) == ["history.png"]


def test_a_path_with_a_trailing_separator_is_a_folder_whatever_its_suffix(two_models, tmp_path, monkeypatch):
    first, _, held_out = two_models
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="reads as a single file.* end the path with a separator, 'exp.keras/'"):
        save_model(first, "exp.keras")
    # was: ValueError "The 'path' parameter of save_model names the folder to write, got 'exp.keras' ..."
    folder = save_model(first, "exp.keras/")
    assert folder.is_dir() and (folder / "model.skops").is_file()
    np.testing.assert_array_equal(load_model("exp.keras/").decision_function(held_out), first.decision_function(held_out))
    save_model(first, "exp.keras")  # an existing folder of such a name is replaced, as before


def test_a_tilde_of_no_such_user_is_a_name_for_save_load_and_plots(two_models, tmp_path, monkeypatch):
    """As os.path.expanduser and the shell take it; pathlib's expanduser raised a bare RuntimeError."""
    import pwd

    from toolkit.plots import plot_history

    first, _, held_out = two_models
    user = "toolkit-no-such-user-s47"
    with pytest.raises(KeyError):
        pwd.getpwnam(user)
    monkeypatch.chdir(tmp_path)
    # was: RuntimeError "Could not determine home directory." naming neither the path nor the parameter
    folder = save_model(first, f"~{user}/model")
    assert folder.resolve() == (tmp_path / f"~{user}" / "model").resolve()
    np.testing.assert_array_equal(load_model(f"~{user}/model").decision_function(held_out),
                                  first.decision_function(held_out))
    assert plot_history({"loss": [0.7, 0.5]}, f"~{user}/model/history.png").is_file()
    save_model(first, f"~{user}/model")
    assert (tmp_path / f"~{user}" / "model" / "history.png").is_file()


def test_a_users_file_that_cannot_be_kept_is_named(two_models, tmp_path, monkeypatch):
    """A file of another user, unreadable: the save fails naming it, not "Choose a folder you can write to" alone."""
    first, second, held_out = two_models
    folder = save_model(first, tmp_path / "model")
    (folder / "secret.txt").write_text("theirs")

    def refused(src, dst, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(_atomic.os, "link", refused)
    monkeypatch.setattr(_atomic.shutil, "copy2", refused)
    # was: FileExistsError "... also holds secret.txt, which save_model did not write and would delete ..."
    with pytest.raises(PermissionError, match=r"Permission denied while keeping .*secret\.txt in the new folder "
                                              r"\(move it out.*the model folder there is unchanged"):
        save_model(second, folder)
    monkeypatch.undo()
    assert (folder / "secret.txt").read_text() == "theirs" and _debris(tmp_path) == []
    np.testing.assert_array_equal(load_model(folder).decision_function(held_out), first.decision_function(held_out))
