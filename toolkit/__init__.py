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

# public name -> submodule that defines it
_LAZY = {
    # text pipeline
    "SpacyTokenizer": "tokenization",
    "tokenize": "tokenization",
    "clean_html": "tokenization",
    "TokenizedCorpus": "corpus",
    "Vocabulary": "vocabulary",
    "pad_sequences": "vocabulary",
    "SequenceEncoder": "encoders",
    "BagEncoder": "encoders",
    "HashingEncoder": "encoders",
    # vectors
    "load_vectors": "vectors",
    "build_embedding_matrix": "vectors",
    "CoverageReport": "vectors",
    "train_word2vec": "vectors",
    "VectorsNotFoundError": "exceptions",
    # data
    "fetch": "datasets",
    "load_imdb": "datasets",
    "load_folder": "datasets",
    "load_csv": "datasets",
    "load_jsonl": "datasets",
    "TextDataset": "datasets",
    "list_manifests": "manifests",
    "get_manifest": "manifests",
    # models
    "EmbeddingClassifier": "classifier",
    "EmbeddingVectorizer": "pooling",
    "make_text_classifier": "classifier",
    "save_model": "persistence",
    "load_model": "persistence",
    "build_model": "models",
    "NBFeatureScaler": "naive_bayes",
    "NBSVMClassifier": "naive_bayes",
    "log_count_ratio": "naive_bayes",
    "PseudoLabelClassifier": "semi_supervised",
    # plots
    "plot_history": "plots",
    "plot_confusion_matrix": "plots",
    "plot_word_map": "plots",
    # errors
    "ToolkitError": "exceptions",
    "DataError": "exceptions",
    "ChecksumError": "exceptions",
    "ManifestError": "exceptions",
    "VectorsFormatError": "exceptions",
    "ModelFormatError": "exceptions",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
