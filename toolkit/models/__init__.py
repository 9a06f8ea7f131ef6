"""Models: Keras graph builders, ``EmbeddingClassifier``, NBSVM, stacking, semi-supervised, persistence.

Keras and TensorFlow are imported inside functions only, so importing this
package stays cheap. Modules here import ``toolkit.text``, ``toolkit.vectors``
and the top-level helpers, never ``toolkit.cli``.
"""

from . import hybrid  # noqa: F401  (registers the "nbsvm_vectors" architecture first)
from .builders import build_model, compile_model, register_layers
from .classifier import EmbeddingClassifier, make_text_classifier
from .naive_bayes import NBFeatureScaler, NBSVMClassifier, log_count_ratio
from .persistence import load_model, save_model
from .semi_supervised import PseudoLabelClassifier, labelled_scorer
from .stacking import StackedTextClassifier

__all__ = [
    "ARCHITECTURES",
    "build_model",
    "compile_model",
    "register_layers",
    "EmbeddingClassifier",
    "make_text_classifier",
    "NBFeatureScaler",
    "NBSVMClassifier",
    "log_count_ratio",
    "save_model",
    "load_model",
    "PseudoLabelClassifier",
    "labelled_scorer",
    "StackedTextClassifier",
]


def __getattr__(name):
    # ARCHITECTURES follows the registry (builders.ARCHITECTURES), also for architectures registered later
    if name == "ARCHITECTURES":
        from . import builders

        return builders.ARCHITECTURES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
