"""Session 47, the lead's own fixes: what a user of Keras' IMDB word ids is told."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit import BagEncoder, SequenceEncoder


@pytest.mark.parametrize("ids", [
    [[1, 14, 22, 16], [1, 194, 1153]],  # keras.datasets.imdb.load_data(): lists of word ids
    np.array([[0, 0, 1, 14], [0, 1, 194, 1153]]),  # the same through pad_sequences
])
@pytest.mark.parametrize("encoder", [BagEncoder, SequenceEncoder])
def test_integer_word_ids_are_named_with_what_to_do(ids, encoder):
    # before: "... contains an int (1)." and nothing on what to do with Keras' own IMDB arrays
    with pytest.raises(ValueError, match=rf"{encoder.__name__} expects token lists of str, but document 0 of X "
                                         r"contains an int.*Integer word ids \(keras\.datasets\.imdb, a "
                                         rf"pad_sequences array\) are not tokens: {encoder.__name__} builds its own "
                                         r"vocabulary from words, so map the ids back to their words"):
        encoder().fit(ids)


def test_booleans_are_not_called_word_ids():
    with pytest.raises(ValueError, match=r"contains a bool \(True\)\.$"):
        BagEncoder().fit([[True, False]])


def test_store_build_glob_leaves_out_the_store_it_writes(imdb_small, tmp_path, monkeypatch, in_process_build):
    # before: run again with --force, 'parts/*' matched parts/store, the store of the first run: "Input parts/store
    # is a folder; give the .txt, .csv, .tsv, .jsonl or .parquet files in it"
    from conftest import invoke_quiet, write_labelled_csv

    from toolkit.distributed import CorpusStore

    texts, labels = imdb_small
    monkeypatch.chdir(tmp_path)
    (tmp_path / "parts").mkdir()
    write_labelled_csv(tmp_path / "parts" / "a.csv", [t[:300] for t in texts[:20]], [str(y) for y in labels[:20]])
    for _ in range(2):
        result = invoke_quiet("store", "build", "parts/*", "-o", "parts/store", "--label-column", "label", "--force")
        assert result.exit_code == 0, result.output
    assert CorpusStore(tmp_path / "parts" / "store").labels().tolist() == [str(y) for y in labels[:20]]

