"""The deep-learning-for-text chapter's workflow, done the way a notebook user does it.

Load IMDB, learn or load an embedding, plot the training history, save the
model and load it back, evaluate; and the dataset helpers around it (class
folders, CSV, JSON lines). Each test pins a problem found by using the API on
small real IMDB samples and hand-made files.
"""

from __future__ import annotations

import numpy as np
import pytest

from toolkit import plots
from toolkit.data import load_csv, load_folder, load_imdb, load_jsonl
from toolkit.exceptions import DataError, ModelFormatError
from toolkit.plots import plot_history


@pytest.fixture(scope="module")
def imdb_40(shared_data):
    """40 shuffled real IMDB training reviews (20 per class)."""
    return load_imdb("train", path=shared_data / "aclImdb_v1.tar.gz", limit=40, shuffle=True, random_state=0)


@pytest.fixture
def drawn_figures(monkeypatch):
    """The figures the plot functions save, captured on their way to the file."""
    figures = []
    save = plots._save_png

    def capture(fig, path, dpi):
        figures.append(fig)
        return save(fig, path, dpi)

    monkeypatch.setattr(plots, "_save_png", capture)
    return figures


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh home folder (``~``) and a separate working folder."""
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return home


@pytest.fixture(scope="module")
def tiny_pipeline(imdb_40):
    """make_text_classifier's pipeline fitted for one epoch on 40 real reviews, with a validation split."""
    from toolkit.models import make_text_classifier

    clf = make_text_classifier(architecture="flatten", maxlen=50, max_tokens=2000, embedding_dim=4, epochs=1,
                               batch_size=16, validation_split=0.25, random_state=0)
    return clf.fit(imdb_40.texts, imdb_40.labels)


# --------------------------------------------------------------------------- plot_history


def _validation_lines(fig):
    return [line for ax in fig.axes for line in ax.get_lines() if line.get_label().startswith("Validation")]


def test_chapter_history_of_one_epoch_shows_its_validation_point(tmp_path, drawn_figures):
    # one epoch (the NBSVM recipe's) with a validation split: the validation value was drawn as a line
    # through one point, which is invisible; the legend promised a curve the plot did not show
    plot_history({"loss": [0.69], "val_loss": [0.61], "accuracy": [0.52], "val_accuracy": [0.66]},
                 tmp_path / "history.png")
    lines = _validation_lines(drawn_figures[-1])
    assert len(lines) == 2
    for line in lines:
        assert len(line.get_xdata()) == 1
        assert line.get_marker() not in (None, "", "None", " ")


def test_chapter_history_of_several_epochs_keeps_the_chapter_style(tmp_path, drawn_figures):
    plot_history({"loss": [0.7, 0.5, 0.4], "val_loss": [0.6, 0.55, 0.58]}, tmp_path / "history.png")
    (line,) = _validation_lines(drawn_figures[-1])
    assert line.get_linestyle() == "-" and line.get_marker() in (None, "", "None", " ")


def test_chapter_history_epoch_axis_has_whole_epochs(tmp_path, drawn_figures):
    # a one-epoch history had its x axis labelled 0.96, 0.98, 1.00, ... epochs
    plot_history({"loss": [0.69], "val_loss": [0.61]}, tmp_path / "history.png")
    fig = drawn_figures[-1]
    fig.canvas.draw()
    ticks = fig.axes[0].get_xticks()
    visible = ticks[(ticks >= fig.axes[0].get_xlim()[0]) & (ticks <= fig.axes[0].get_xlim()[1])]
    assert len(visible) and np.allclose(visible, np.round(visible))


def test_chapter_history_of_the_make_text_classifier_pipeline(tiny_pipeline, tmp_path, drawn_figures):
    # plot_history(clf) with the pipeline make_text_classifier returns was a TypeError ("got Pipeline")
    out = plot_history(tiny_pipeline, tmp_path / "history.png")
    assert out.is_file()
    assert len(_validation_lines(drawn_figures[-1])) == 2


def test_chapter_history_of_an_unfitted_pipeline_names_the_problem(tmp_path):
    from toolkit.models import make_text_classifier

    with pytest.raises(TypeError, match=r"Pipeline.*EmbeddingClassifier.*history_"):
        plot_history(make_text_classifier(), tmp_path / "history.png")


# --------------------------------------------------------------------------- load_folder


@pytest.fixture
def class_folders(imdb_40, tmp_path):
    root = tmp_path / "reviews"
    for i, (text, label) in enumerate(zip(imdb_40.texts[:8], imdb_40.labels[:8])):
        folder = root / imdb_40.target_names[label]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}.txt").write_text(text, encoding="utf-8")
    (root / "README.txt").write_text("About these reviews.", encoding="utf-8")
    return root


def test_chapter_load_folder_refuses_a_repeated_category(class_folders):
    # categories=["pos", "pos"] read every pos review twice, once as class 0 and once as class 1
    with pytest.raises(DataError, match=r"'categories'.*'pos' twice"):
        load_folder(class_folders, categories=["pos", "pos"])


def test_chapter_load_folder_refuses_no_categories(class_folders):
    # categories=[] silently read the README beside the class folders as one unlabelled text
    with pytest.raises(DataError, match=r"'categories'.*at least one class folder.*\['neg', 'pos'\]"):
        load_folder(class_folders, categories=[])


def test_chapter_load_folder_takes_one_category_as_a_string(class_folders):
    # categories="pos" was read letter by letter: "No class folder 'p'"
    one = load_folder(class_folders, categories="pos")
    assert one.target_names == ["pos"]
    assert one.texts == load_folder(class_folders, categories=["pos"]).texts


# --------------------------------------------------------------------------- load_model


def test_chapter_load_model_on_a_file_inside_the_model_folder_names_the_folder(tiny_pipeline, tmp_path):
    from toolkit.models import load_model, save_model

    folder = save_model(tiny_pipeline, tmp_path / "imdb-model")
    # it said "No saved model folder at .../model.keras" (a FileNotFoundError for a file that exists)
    with pytest.raises(ModelFormatError, match=r"model\.keras is a file.*load_model\(.*imdb-model"):
        load_model(folder / "model.keras")


def test_chapter_load_model_on_a_keras_file_says_what_reads_it(tmp_path):
    from toolkit.models import load_model

    file = tmp_path / "chapter.keras"
    file.write_bytes(b"PK\x05\x06" + bytes(18))
    with pytest.raises(ModelFormatError, match=r"chapter\.keras is a file.*save_model.*keras\.models\.load_model"):
        load_model(file)


def test_chapter_load_model_on_a_missing_path_is_still_file_not_found(tmp_path):
    from toolkit.models import load_model

    with pytest.raises(FileNotFoundError, match=r"No saved model folder at .*nowhere"):
        load_model(tmp_path / "nowhere")


# --------------------------------------------------------------------------- "~" in paths


def test_chapter_save_and_load_model_expand_the_home_folder(tiny_pipeline, home, imdb_40):
    from toolkit.models import load_model, save_model

    # save_model("~/models/imdb") wrote ./~/models/imdb in the working folder
    out = save_model(tiny_pipeline, "~/models/imdb")
    assert out == home / "models" / "imdb"
    assert (home / "models" / "imdb" / "config.json").is_file()
    assert not (home.parent / "work" / "~").exists()
    loaded = load_model("~/models/imdb")
    np.testing.assert_allclose(loaded.predict_proba(imdb_40.texts[:4]), tiny_pipeline.predict_proba(imdb_40.texts[:4]),
                               rtol=1e-5, atol=1e-6)


def test_chapter_plots_expand_the_home_folder(home):
    out = plot_history({"loss": [0.7, 0.5]}, "~/plots/history.png")
    assert out == home / "plots" / "history.png" and out.is_file()
    assert not (home.parent / "work" / "~").exists()


def test_chapter_readers_expand_the_home_folder(imdb_40, home):
    # load_csv("~/reviews.csv") said "File ~/reviews.csv does not exist" (load_vectors and data_dir expand "~")
    imdb_40.to_frame()[["text", "label_name"]].to_csv(home / "reviews.csv", index=False)
    ds = load_csv("~/reviews.csv", label_column="label_name")
    assert ds.texts == imdb_40.texts
    frame = imdb_40.to_frame()
    (home / "reviews.jsonl").write_text(frame[["text", "label"]].to_json(orient="records", lines=True),
                                        encoding="utf-8")
    assert load_jsonl("~/reviews.jsonl").texts == imdb_40.texts
    (home / "folder" / "pos").mkdir(parents=True)
    (home / "folder" / "pos" / "1.txt").write_text("A fine film.", encoding="utf-8")
    assert load_folder("~/folder").texts == ["A fine film."]


def test_chapter_load_imdb_path_expands_the_home_folder(shared_data, home):
    (home / "aclImdb_v1.tar.gz").symlink_to(shared_data / "aclImdb_v1.tar.gz")
    ds = load_imdb("test", path="~/aclImdb_v1.tar.gz", limit=4)
    assert len(ds) == 4 and ds.target_names == ["neg", "pos"]


# --------------------------------------------------------------------------- load_imdb on an extracted folder


@pytest.fixture
def aclimdb_folder(shared_data, tmp_path):
    """A small extracted aclImdb folder: the first 3 reviews of each train class, with the real urls files."""
    import re

    from toolkit.data.archives import iter_tar_files

    keep = re.compile(r"aclImdb/train/(pos|neg)/[0-2]_\d+\.txt$|aclImdb/train/urls_(pos|neg)\.txt$")
    root = tmp_path / "extracted"
    for name, data in iter_tar_files(shared_data / "aclImdb_v1.tar.gz", select=lambda n: keep.search(n) is not None):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_chapter_load_imdb_folder_sees_files_changed_since_the_last_call(aclimdb_folder):
    first = load_imdb("train", path=aclimdb_folder)
    assert len(first) == 6
    pos = aclimdb_folder / "aclImdb" / "train" / "pos"
    # the user relabels a review (moves it to neg/) and edits another; the second call returned the first's data
    (pos / "2_9.txt").rename(aclimdb_folder / "aclImdb" / "train" / "neg" / "7_2.txt")
    (pos / "0_9.txt").write_text("Edited by hand.", encoding="utf-8")
    again = load_imdb("train", path=aclimdb_folder)
    assert dict(zip(*np.unique(again.labels, return_counts=True))) == {0: 4, 1: 2}
    assert "Edited by hand." in again.texts
    assert again.ids[again.labels == 0].tolist() == [0, 1, 2, 7]


# --------------------------------------------------------------------------- TextDataset built by hand


def test_chapter_text_dataset_from_lists_subsets_like_a_loaded_one():
    from toolkit.data import TextDataset

    # labels given as a list: ds.labels == 1 was one False ("got shape ()"), subset([0, 2]) a numpy TypeError
    ds = TextDataset(["good", "bad", "fine"], [1, 0, 1], ["neg", "pos"], ratings=[9, 2, 7], groups=["a", "b", "a"])
    assert ds.subset(ds.labels == 1).texts == ["good", "fine"]
    picked = ds.subset([2, 0])
    assert picked.texts == ["fine", "good"]
    assert picked.ratings.tolist() == [7, 9] and picked.groups.tolist() == ["a", "a"]
    assert len(TextDataset([], [], [])) == 0


def test_chapter_text_dataset_refuses_labels_that_do_not_fit():
    from toolkit._validation import InvalidParameterError
    from toolkit.data import TextDataset

    with pytest.raises(InvalidParameterError, match=r"'labels' of a TextDataset must have one value per text \(3\); "
                                                    r"got 2"):
        TextDataset(["good", "bad", "fine"], [1, 0], ["neg", "pos"])
    with pytest.raises(InvalidParameterError, match=r"'labels' of a TextDataset must be 1-D integers .*index into "
                                                    r"target_names"):
        TextDataset(["good", "bad"], ["pos", "neg"], ["neg", "pos"])
    with pytest.raises(InvalidParameterError, match=r"'groups' of a TextDataset must have one value per text \(2\); "
                                                    r"got 1"):
        TextDataset(["good", "bad"], [1, 0], ["neg", "pos"], groups=["tt01"])


def test_chapter_save_model_of_a_grid_search_points_to_its_best_estimator(imdb_40, tmp_path):
    from sklearn.model_selection import GridSearchCV

    from toolkit.models import load_model, make_text_classifier, save_model

    grid = GridSearchCV(make_text_classifier(epochs=1, maxlen=30, embedding_dim=4, max_tokens=500, random_state=0,
                                             validation_split=0.0),
                        {"classifier__dropout": [0.0]}, cv=2).fit(imdb_40.texts, imdb_40.labels)
    # the message offered only joblib.dump (a pickle) for the README's grid search
    with pytest.raises(TypeError, match=r"not the GridSearchCV.*save_model\(grid\.best_estimator_, path\)"):
        save_model(grid, tmp_path / "grid")
    assert not (tmp_path / "grid").exists()
    loaded = load_model(save_model(grid.best_estimator_, tmp_path / "best"))
    np.testing.assert_array_equal(loaded.predict(imdb_40.texts[:6]), grid.predict(imdb_40.texts[:6]))


def test_chapter_manifest_path_expands_the_home_folder(home):
    from toolkit.data import get_manifest

    source = get_manifest("imdb").path
    (home / "mine.toml").write_text(source.read_text(encoding="utf-8").replace('name = "imdb"', 'name = "mine"'),
                                    encoding="utf-8")
    # TOOLKIT_MANIFEST_DIR="~/..." was expanded, a manifest path "~/mine.toml" was not ("does not exist")
    assert get_manifest("~/mine.toml").name == "mine"


# --------------------------------------------------------------------------- plot_confusion_matrix


def test_chapter_confusion_matrix_never_reads_numeric_labels_as_codes(imdb_40, tmp_path):
    from toolkit.plots import plot_confusion_matrix

    stars = sorted(set(imdb_40.ratings.tolist()))  # a ratings model's classes_, e.g. [1, 2, 3, 4, 7, 8, 9, 10]
    # neg/pos codes (0/1) passed by mistake were drawn as stars 1 and 2, without a word
    with pytest.raises(ValueError, match=r"label\(s\) 0.* that labels=\[\d"):
        plot_confusion_matrix(imdb_40.labels, imdb_40.labels, stars, tmp_path / "cm.png")
    assert not (tmp_path / "cm.png").exists()
    # the ratings themselves, and names over codes, still plot
    assert plot_confusion_matrix(imdb_40.ratings, imdb_40.ratings, stars, tmp_path / "stars.png").is_file()
    names = plot_confusion_matrix(imdb_40.labels, 1 - imdb_40.labels, imdb_40.target_names, tmp_path / "names.png")
    assert names.is_file()


def test_chapter_extract_tar_expands_the_home_folder(home, tmp_path):
    import io
    import tarfile

    from toolkit.data.archives import extract_tar, iter_tar_files

    archive = home / "reviews.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("reviews/pos/1.txt")
        info.size = 12
        tar.addfile(info, io.BytesIO(b"A fine film."))
    # extract_tar(..., "~/data") made a folder named "~" in the working folder
    files = extract_tar("~/reviews.tar.gz", "~/data")
    assert files == [home / "data" / "reviews" / "pos" / "1.txt"] and files[0].read_bytes() == b"A fine film."
    assert not (tmp_path / "work" / "~").exists()
    assert list(iter_tar_files("~/reviews.tar.gz")) == [("reviews/pos/1.txt", b"A fine film.")]
    assert load_folder("~/data/reviews").target_names == ["pos"]
