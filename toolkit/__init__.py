"""toolkit: deep learning on text.

spaCy tokenization, gensim ``KeyedVectors`` and Keras classifiers behind
scikit-learn estimators, plus a command-line interface.

Public names are imported lazily (PEP 562), so ``import toolkit`` is cheap and
never imports TensorFlow; the heavy libraries load on first use.
"""

from __future__ import annotations

import importlib
import logging

__version__ = "0.1.0"

# A library never configures output itself (gensim/__init__.py does the same).
logging.getLogger(__name__).addHandler(logging.NullHandler())

# public name -> submodule that defines it; every name in the __all__ of
# toolkit.text, .vectors, .data and .models is here too (README, "Layout")
_LAZY = {
    # text pipeline
    "SpacyTokenizer": "text.tokenizer",
    "tokenize": "text.tokenizer",
    "clean_html": "text.tokenizer",
    "TokenizedCorpus": "text.corpus",
    "Vocabulary": "text.vocabulary",
    "pad_sequences": "text.vocabulary",
    "SequenceEncoder": "text.encoders",
    "BagEncoder": "text.encoders",
    "HashingEncoder": "text.encoders",
    "HashingSequenceEncoder": "text.encoders",
    "bag_matrix": "text.encoders",
    "smoothed_idf": "text.encoders",
    "clean_text": "text.tokenizer",
    "PAD_ID": "text.vocabulary",
    "OOV_ID": "text.vocabulary",
    "NegationMarker": "text.negation",
    "mark_negation": "text.negation",
    # vectors
    "load_vectors": "vectors.loading",
    "build_embedding_matrix": "vectors.matrix",
    "CoverageReport": "vectors.matrix",
    "train_word2vec": "vectors.training",
    "FORMATS": "vectors.loading",
    "locate_vectors": "vectors.loading",
    "clear_memo": "vectors.loading",
    "cache_path": "vectors.loading",
    "most_similar": "vectors.evaluation",
    "analogy": "vectors.evaluation",
    "evaluate_analogies": "vectors.evaluation",
    "evaluate_word_pairs": "vectors.evaluation",
    "DocVectorizer": "vectors.docvec",
    "VectorsNotFoundError": "exceptions",
    # data
    "fetch": "data.datasets",
    "load_imdb": "data.datasets",
    "load_folder": "data.datasets",
    "load_csv": "data.datasets",
    "load_jsonl": "data.datasets",
    "TextDataset": "data.datasets",
    "list_manifests": "data.manifests",
    "get_manifest": "data.manifests",
    "load_manifest": "data.manifests",
    "Manifest": "data.manifests",
    # models
    "EmbeddingClassifier": "models.classifier",
    "EmbeddingVectorizer": "vectors.pooling",
    "WordClusterer": "vectors.clusters",
    "make_text_classifier": "models.classifier",
    "save_model": "models.persistence",
    "load_model": "models.persistence",
    "build_model": "models.builders",
    "compile_model": "models.builders",
    "register_layers": "models.builders",
    "ARCHITECTURES": "models.builders",
    "NBFeatureScaler": "models.naive_bayes",
    "NBSVMClassifier": "models.naive_bayes",
    "log_count_ratio": "models.naive_bayes",
    "PseudoLabelClassifier": "models.semi_supervised",
    "labelled_scorer": "models.semi_supervised",
    "StackedTextClassifier": "models.stacking",
    # plots
    "plot_history": "plots",
    "plot_confusion_matrix": "plots",
    "plot_word_map": "plots",
    # errors
    "ToolkitError": "exceptions",
    "DataError": "exceptions",
    "DocumentError": "exceptions",
    "ChecksumError": "exceptions",
    "ManifestError": "exceptions",
    "VectorsFormatError": "exceptions",
    "ModelFormatError": "exceptions",
    "DependencyError": "exceptions",
    "ModelVersionWarning": "exceptions",
}

# read again at every lookup: the registry of architectures grows with register_architecture
_LIVE = frozenset({"ARCHITECTURES"})

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    if name not in _LIVE:
        globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
