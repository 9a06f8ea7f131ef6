"""Word vectors: load, parse, cache, embedding matrix and coverage, evaluation, training, pooling.

Every function here returns or takes gensim ``KeyedVectors``. Modules import
``toolkit.text`` (vocabularies, corpora), ``toolkit.data`` (manifests and
verified fetch for vectors named by manifest) and the top-level helpers.
"""

from ..exceptions import VectorsNotFoundError
from .evaluation import analogy, evaluate_analogies, evaluate_word_pairs, most_similar
from .loading import FORMATS, cache_path, clear_memo, load_vectors, locate_vectors
from .matrix import CoverageReport, build_embedding_matrix
from .training import train_word2vec


def __getattr__(name):  # EmbeddingVectorizer imports scikit-learn: load it on first use, not with load_vectors
    if name == "EmbeddingVectorizer":
        from .pooling import EmbeddingVectorizer

        return EmbeddingVectorizer
    if name == "WordClusterer":
        from .clusters import WordClusterer

        return WordClusterer
    if name == "DocVectorizer":
        from .docvec import DocVectorizer

        return DocVectorizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FORMATS",
    "VectorsNotFoundError",
    "load_vectors",
    "locate_vectors",
    "clear_memo",
    "cache_path",
    "build_embedding_matrix",
    "CoverageReport",
    "most_similar",
    "analogy",
    "evaluate_analogies",
    "evaluate_word_pairs",
    "train_word2vec",
    "EmbeddingVectorizer",
    "DocVectorizer",
    "WordClusterer",
]
