"""Session 44, helper h5: serving a trained model (save_model / load_model / predict) and the moved-aside
folders of atomic_output on a folder shared between machines. Each test of a fix failed on the code before it;
the two marked "guard" pin what the fix must keep."""

import os
import subprocess
import sys

import pytest


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# ------------------------------------------------------------------------------ atomic folders, several hosts


def _other_host_tag() -> str:
    from toolkit._atomic import _host_tag

    return "abcdef" if _host_tag() != "abcdef" else "fedcba"


def test_a_folder_moved_aside_on_another_host_is_not_judged_by_its_pid_here(tmp_path):
    """A save on another machine sharing the folder (NFS) is between its two renames: its process id, dead here,
    says nothing about that machine. The folder was put back at once, and the other machine's save then failed
    (its rename of the new model found a folder in the way)."""
    from toolkit._atomic import recover_moved_aside

    target = tmp_path / "model"
    old = target.with_name(f".{target.name}.{_dead_pid()}-{_other_host_tag()}012345.tmp-old")
    old.mkdir()
    assert recover_moved_aside(target) is None
    assert old.is_dir() and not target.exists()


def test_another_hosts_moved_aside_folder_is_put_back_after_the_wait(tmp_path, monkeypatch):
    """(guard) Once it is older than a rename takes (a minute), the other machine's writer was killed: put back."""
    import toolkit._atomic as atomic

    target = tmp_path / "model"
    old = target.with_name(f".{target.name}.{_dead_pid()}-{_other_host_tag()}012345.tmp-old")
    old.mkdir()
    monkeypatch.setattr(atomic, "_UNOWNED_OLD_SECONDS", -1)
    assert atomic.recover_moved_aside(target) == target and target.is_dir() and not old.exists()


def test_this_hosts_moved_aside_folder_of_a_dead_writer_is_put_back_at_once(tmp_path):
    """(guard) This machine's writer is judged by its process id, as before: dead, its folder is put back."""
    from toolkit._atomic import _host_tag, recover_moved_aside

    target = tmp_path / "model"
    old = target.with_name(f".{target.name}.{_dead_pid()}-{_host_tag()}012345.tmp-old")
    old.mkdir()
    assert recover_moved_aside(target) == target and target.is_dir() and not old.exists()


def test_a_replaced_folder_is_moved_aside_under_a_name_with_this_hosts_tag(tmp_path, monkeypatch):
    """The name of the moved-aside folder must say which machine's process id it carries."""
    import toolkit._atomic as atomic

    target = tmp_path / "model"
    target.mkdir()
    seen = []
    replace = os.replace

    def spy(src, dst):
        seen.append(os.path.basename(dst))
        replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", spy)
    with atomic.atomic_output(target, directory=True) as tmp:
        (tmp / "f").write_text("new")
    aside = [name for name in seen if name.endswith(".tmp-old")]
    assert aside == [aside[0]] and aside[0].startswith(f".model.{os.getpid()}-{atomic._host_tag()}")
    assert (target / "f").read_text() == "new"


# ------------------------------------------------------------------------------ one loaded model, many callers


@pytest.fixture(scope="module")
def served(imdb_small, tmp_path_factory):
    """A small saved pipeline (SpacyTokenizer, BagEncoder, MultinomialNB on 200 real reviews), loaded: (the
    loaded model, its folder)."""
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline

    from toolkit.models import load_model, save_model
    from toolkit.text import BagEncoder, SpacyTokenizer

    texts, labels = imdb_small
    pipe = make_pipeline(SpacyTokenizer(), BagEncoder(), MultinomialNB()).fit(texts[:200], labels[:200])
    path = save_model(pipe, tmp_path_factory.mktemp("served") / "model")
    return load_model(path), path


def test_predict_skip_bad_leaves_a_shared_model_to_other_callers(served, imdb_small, monkeypatch):
    """predict(skip_bad=True) set errors='skip' on the loaded model's tokenizer for the time of the call: a
    predict of another thread sharing the model meanwhile (a server) had its too-long document skipped and scored
    as an empty one (a label and probabilities, no error), and overlapping calls could leave the model
    skipping for good."""
    from toolkit.cli.train import predict
    from toolkit.exceptions import DocumentError
    from toolkit.text.tokenizer import SpacyTokenizer

    model, _ = served
    too_long = "great " * 200
    monkeypatch.setattr(model[0], "max_length", 1000)
    texts = [text for text in imdb_small[0][200:] if len(text) < 1000][:4]
    expected = predict(model, texts)
    other = {}
    transform = SpacyTokenizer.transform

    def transform_meanwhile(self, X):  # another caller's predict runs while this one tokenizes
        if not other:
            other["started"] = True
            try:
                other["rows"] = predict(model, [too_long])
            except DocumentError as err:
                other["error"] = err
        return transform(self, X)

    monkeypatch.setattr(SpacyTokenizer, "transform", transform_meanwhile)
    rows = predict(model, [*texts, too_long], skip_bad=True)
    assert rows[:4] == expected and rows[4] == {"label": None, "skipped": True}
    assert "rows" not in other and "max_length=1,000" in str(other["error"])
    assert model[0].errors == "raise"


# ------------------------------------------------------------------------------ folders of another toolkit


def _resealed_copy(src, dst, edit_config, extra_files=()):
    """A copy of the model folder ``src`` with its config edited and extra files added, its checksums rewritten
    as the toolkit that wrote it would have (a genuine folder of another version, not a damaged one)."""
    import json
    import shutil

    from toolkit.models.persistence import _verify_folder, _write_checksums

    shutil.copytree(src, dst)
    content, _ = _verify_folder(dst)
    config = json.loads((dst / "config.json").read_text())
    edit_config(config)
    (dst / "config.json").write_text(json.dumps(config))
    for name in extra_files:
        (dst / name).write_text("{}")
    _write_checksums(dst, content + tuple(extra_files))
    return dst


def test_a_folder_of_a_newer_format_says_upgrade_whatever_files_it_holds(served, tmp_path):
    """A newer toolkit's folder (format_version 5) holding a file this toolkit does not know was called edited
    ("checksums.json does not list ... it was edited ... Save the model again"): the user loading it (a server
    with an older toolkit) cannot save it again; upgrading toolkit is what loads it."""
    from toolkit.exceptions import ModelFormatError
    from toolkit.models import load_model

    def newer(config):
        config.update(format_version=5, toolkit_version="0.9.0")

    folder = _resealed_copy(served[1], tmp_path / "model", newer, ("labels.json",))
    with pytest.raises(ModelFormatError, match=r"format_version 5; this toolkit reads versions 2 to 4\. Upgrade "
                                               r"toolkit to load it \(it was saved with toolkit 0\.9\.0; this is "):
        load_model(folder)


@pytest.fixture(scope="module")
def saved_keras_pipeline(imdb_small, tmp_path_factory):
    """A saved make_text_classifier pipeline (NBSVM, 200 real reviews, 1 epoch): its folder."""
    from toolkit.models import make_text_classifier, save_model

    texts, labels = imdb_small
    pipe = make_text_classifier(architecture="nbsvm", epochs=1, vectors=None, random_state=0)
    pipe.fit(texts[:200], labels[:200])
    return save_model(pipe, tmp_path_factory.mktemp("keras") / "model")


@pytest.mark.parametrize("section", ["params", "tokenizer_params"])
def test_a_parameter_of_a_newer_toolkit_names_the_version_that_saved_it(saved_keras_pipeline, tmp_path, section):
    """A folder saved by a newer toolkit whose EmbeddingClassifier (or SpacyTokenizer) has a parameter this one
    lacks: "has invalid or missing fitted settings (TypeError(... unexpected keyword argument ...)). Save the
    model again", after a warning that the toolkit versions differ."""
    import warnings

    from toolkit.exceptions import ModelFormatError
    from toolkit.models import load_model

    def newer(config):
        (config["params"] if section == "params" else config["pipeline"]["tokenizer_params"])["new_knob"] = 3
        config["toolkit_version"] = "0.1.7"

    folder = _resealed_copy(saved_keras_pipeline, tmp_path / "model", newer)
    with warnings.catch_warnings(), pytest.raises(ModelFormatError, match=r"parameter\(s\) 'new_knob', which this "
                                                  r"toolkit \(.*\) does not have: the model was saved with toolkit "
                                                  r"0\.1\.7\. Load it with that version or a newer one"):
        warnings.simplefilter("ignore")
        load_model(folder)


# ------------------------------------------------------------------------------ the commands


def test_predict_command_puts_back_a_model_a_killed_save_had_hidden(served, tmp_path):
    """A save killed between its two renames left the model as .model.<pid>-<tag><hex>.tmp-old: load_model puts
    it back, but `toolkit predict` (and evaluate) checked the folder first and said "No saved model folder"."""
    import json
    import shutil

    from typer.testing import CliRunner

    from toolkit._atomic import _host_tag
    from toolkit.cli import app

    path = tmp_path / "model"
    shutil.copytree(served[1], path)
    os.replace(path, path.with_name(f".model.{_dead_pid()}-{_host_tag()}012345.tmp-old"))
    result = CliRunner().invoke(app, ["-q", "predict", str(path), "A fine film."])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["label"] == served[0].predict(["A fine film."])[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
