"""The shell user's ``--set`` given twice (session 39).

``--set epochs=3 ... --set epochs=20`` trained with the last value without a
word (``--grid`` refuses a name given twice). Two values of one key are now an
error naming both; the same value twice is allowed.
"""

from __future__ import annotations

import pytest

from toolkit.cli import main


def _run_main(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return exc.value.code, capsys.readouterr().err


def test_cli_user_s39_tokenize_set_twice_with_two_values_names_both(capsys):
    code, err = _run_main(capsys, "tokenize", "--set", "lowercase=true", "--set", "lowercase=false", "-")
    assert code == 1
    assert err == ("Error: --set 'lowercase=true' and --set 'lowercase=false' give lowercase two values; "
                   "give it once.\n")


def test_cli_user_s39_train_set_twice_fails_and_writes_nothing(capsys, tmp_path):
    code, err = _run_main(capsys, "train", "--output", str(tmp_path / "run"),
                          "--set", "epochs=3", "--set", "epochs=20")
    assert code == 1 and "--set 'epochs=3' and --set 'epochs=20' give epochs two values" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("items", [["epochs=3", "epochs=3"], ["learning_rate=1", "learning_rate=1.0"],
                                   ["ngram_range=(1, 2)", "ngram_range=(1,2)"]])
def test_cli_user_s39_the_same_value_twice_is_one_setting(items):
    from toolkit.cli._common import _settings

    key = items[0].partition("=")[0]
    assert list(_settings(items)) == [key]


def test_cli_user_s39_true_and_one_are_two_values():
    from toolkit.cli._common import _settings
    from toolkit.cli._inputs import SettingError

    with pytest.raises(SettingError, match="give trainable two values"):
        _settings(["trainable=true", "trainable=1"])


def test_cli_user_s39_train_vectors_folder_names_the_vectors_files_in_it(capsys, tmp_path):
    # it said "pass the vectors file inside it." and no more; load_vectors and `vectors coverage` list them
    (tmp_path / "vecs").mkdir()
    (tmp_path / "vecs" / "domain.vec").write_text("2 2\ngood 1 0\nbad 0 1\n")
    (tmp_path / "vecs" / "notes.md").write_text("not vectors")
    code, err = _run_main(capsys, "train", "--vectors", str(tmp_path / "vecs"), "--output", str(tmp_path / "run"))
    assert code == 1
    assert err == (f"Error: --vectors {tmp_path / 'vecs'} is a folder; pass the vectors file inside it (it holds "
                   "domain.vec).\n")
