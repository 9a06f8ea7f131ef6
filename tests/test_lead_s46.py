"""The lead's fixes of the forty-sixth session, each with a test that failed on the code before it."""

import os
import subprocess
import sys

import numpy as np

_SET_ROWS = """
import numpy as np
from gensim.models import KeyedVectors
from toolkit.vectors import build_embedding_matrix

words = [f"w{i}" for i in range(40)]
kv = KeyedVectors(3)
kv.add_vectors(words, np.arange(120, dtype=np.float32).reshape(40, 3))
matrix, _ = build_embedding_matrix(set(words), kv)
print(",".join(str(int(row[0])) for row in matrix))
"""


def test_build_embedding_matrix_of_a_set_has_the_same_rows_in_every_process(tmp_path):
    """Before: a set's rows came in its iteration order, which string hashing changes from process to process,
    so the row of a token could not be known (scikit-learn sorts a set vocabulary)."""
    rows = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", _SET_ROWS], cwd=tmp_path, env=env, capture_output=True,
                             text=True, check=True, timeout=300)
        rows.add(out.stdout.strip())
    assert len(rows) == 1
    expected = ",".join(str(3 * int(w[1:])) for w in sorted(f"w{i}" for i in range(40)))
    assert rows.pop() == expected


def test_build_embedding_matrix_of_a_list_keeps_its_order():
    """Guard: only a set is sorted; a list's row i is its item i."""
    from gensim.models import KeyedVectors

    from toolkit.vectors import build_embedding_matrix

    kv = KeyedVectors(2)
    kv.add_vectors(["b", "a"], np.array([[1, 1], [2, 2]], dtype=np.float32))
    matrix, _ = build_embedding_matrix(["b", "a"], kv)
    assert matrix[:, 0].tolist() == [1.0, 2.0]
    matrix, _ = build_embedding_matrix({"b", "a"}, kv)
    assert matrix[:, 0].tolist() == [2.0, 1.0]
