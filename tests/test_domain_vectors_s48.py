"""Domain vectors as a user with unlabelled text in a table meets them (session 48), on small real IMDB samples:
token lists of 40 training reviews, 100 more reviews as the unlabelled texts, tiny training settings."""

from __future__ import annotations

import csv
import gzip
import json

import pytest
from conftest import simple_tokens

from toolkit.exceptions import DataError
from toolkit.vectors.docvec import DocVectorizer
from toolkit.vectors.domain import domain_vectors

TINY = "dim=8,epochs=1,min_count=1"
#: a label value no review holds: in the vectors only if the label column was read as text
LABEL = "zzlabelzz"


@pytest.fixture(scope="module")
def reviews(imdb_small):
    """(training token lists, unlabelled raw texts), disjoint real training reviews; some texts hold line breaks."""
    texts, _ = imdb_small
    unlabelled = [t.replace("<br /><br />", "\n") for t in texts[40:140]]
    return simple_tokens(texts[:40]), unlabelled


def _write_csv(path, texts, delimiter=","):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(["text", "zzsentimentzz"])
        writer.writerows([t, LABEL] for t in texts)
    return path


def _write_jsonl(path, texts, key="text"):
    path.write_text("".join(json.dumps({key: t, "zzsentimentzz": LABEL}) + "\n" for t in texts), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["unlabelled.csv", "unlabelled.csv.gz", "unlabelled.tsv", "unlabelled.jsonl",
                                  "unlabelled.json"])
def test_a_table_source_gives_the_texts_of_its_text_column(reviews, fresh_domain_cache, tmp_path, name):
    """Before: read one line per document, the header, the label column (and JSON's keys and braces) became
    words of the vectors, and a review with a line break two documents, without a word of warning."""
    docs, texts = reviews
    path = tmp_path / name
    if ".json" in name:
        _write_jsonl(path, texts)
    else:
        _write_csv(path, texts, delimiter="\t" if ".tsv" in name else ",")
    kv = domain_vectors(("word2vec", str(path), TINY), docs)
    as_tuple = domain_vectors(("word2vec", tuple(texts), TINY), docs)
    assert LABEL not in kv and "zzsentimentzz" not in kv and "{" not in kv
    assert sorted(kv.index_to_key) == sorted(as_tuple.index_to_key)  # the same tokens as the texts themselves


def test_a_table_source_without_a_text_column_names_the_columns(reviews, fresh_domain_cache, tmp_path):
    docs, texts = reviews
    path = _write_jsonl(tmp_path / "unlabelled.jsonl", texts[:5], key="review")
    with pytest.raises(DataError, match="JSON Lines file") as info:
        domain_vectors(("word2vec", str(path), TINY), docs)
    assert "'review'" in str(info.value) and "unlabelled.jsonl" in str(info.value)


def test_docvectorizer_reads_a_csv_source_by_its_text_column(reviews, fresh_domain_cache, tmp_path):
    docs, texts = reviews
    path = _write_csv(tmp_path / "unlabelled.csv", texts)
    small = {"vector_size": 8, "epochs": 1, "min_count": 1, "workers": 1}
    from_file = DocVectorizer(unlabelled=str(path), **small).fit(docs)
    from_texts = DocVectorizer(unlabelled=tuple(texts), **small).fit(docs)
    assert from_file.model_key_ == from_texts.model_key_


# ------------------------------------------------------- options out of range: refused with the spec, before reading
def test_a_seed_past_32_bits_is_refused_naming_the_option_before_the_source_is_read(reviews, fresh_domain_cache,
                                                                                    tmp_path):
    """Before: the source was read and tokenized (minutes for 'unsup'), then gensim said only "Seed must be between
    0 and 2**32 - 1", naming neither the spec nor its option (here: a missing file was reported instead)."""
    docs, _ = reviews
    for spec in (("word2vec", str(tmp_path / "missing.txt"), "seed=4294967296"),
                 ("fasttext", str(tmp_path / "missing.txt"), {"seed": 2**40})):
        with pytest.raises(ValueError, match=r"option seed=\d+ is out of range \(at most 4,294,967,295\)") as info:
            domain_vectors(spec, docs)
        assert "'vectors' domain spec" in str(info.value)
    assert domain_vectors(("word2vec", None, "dim=4,epochs=1,min_count=1,seed=4294967295"), docs).vector_size == 4


@pytest.mark.parametrize("algorithm", ["word2vec", "fasttext"])
def test_a_dimension_past_the_limit_is_refused_as_the_specs_dim(algorithm, fresh_domain_cache):
    """Before: word2vec's message named train_word2vec's 'vector_size' (not the spec's 'dim'); fastText had no
    limit at all and allocated (bucket + words) x dim floats, a MemoryError of terabytes with the default bucket."""
    docs = [["a", "good", "film"], ["a", "bad", "film"]] * 3
    with pytest.raises(ValueError, match=r"domain spec .*option dim=100001 is out of range"):
        domain_vectors(f"{algorithm}:dim=100001,min_count=1,epochs=1,bucket=10", docs)  # (bucket: small if trained)


# ------------------------------------------------------- compressions that are not read: named, not "re-encode"
@pytest.mark.parametrize("tool", ["zstd", "lz4"])
def test_a_zstd_or_lz4_source_is_named_as_such(reviews, fresh_domain_cache, tmp_path, tool):
    """Before: "not valid UTF-8 (invalid start byte on line 1, at byte 1); re-encode it as UTF-8"."""
    import shutil
    import subprocess

    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    docs, texts = reviews
    plain = tmp_path / "unlabelled.txt"
    plain.write_text("\n".join(t.replace("\n", " ") for t in texts[:20]) + "\n", encoding="utf-8")
    packed = tmp_path / f"unlabelled.txt.{tool}"
    out = ["-o", str(packed)] if tool == "zstd" else [str(packed)]
    subprocess.run([tool, "-q", "-f", str(plain), *out], check=True, capture_output=True)
    with pytest.raises(DataError, match=rf"is {'Zstandard' if tool == 'zstd' else 'LZ4'}.*-compressed, which is not "
                                        rf"read here; decompress it \(`{tool} -d FILE`\)") as info:
        domain_vectors(("word2vec", str(packed), TINY), docs)
    assert "re-encode" not in str(info.value) and packed.name in str(info.value)


# ------------------------------------------------------- clusters: fewer words than clusters because of max_words
def test_too_many_clusters_says_max_words_cut_the_words(reviews, fresh_domain_cache, tmp_path):
    """Before: "larger than the number of words with a vector (5)" of vectors with hundreds of words, max_words
    unnamed: the user looked for missing vectors."""
    import pickle

    from toolkit.vectors.clusters import WordClusterer

    docs, _ = reviews
    spec = "word2vec:dim=4,epochs=1,min_count=1"
    n_vectors = len(domain_vectors(spec, docs))
    with pytest.raises(ValueError, match=rf"number of words with a vector \(5\); choose n_clusters <= 5 \(max_words=5 "
                                         rf"keeps the first 5 of the vectors' {n_vectors:,} words: or raise "
                                         r"max_words\)\.$") as info:
        WordClusterer(vectors=spec, n_clusters=8, max_words=5).fit(docs)
    assert str(pickle.loads(pickle.dumps(info.value))) == str(info.value)  # as from a joblib worker process
    assert "max_words" in str(info.value.naming("StackedTextClassifier", "clusters"))
