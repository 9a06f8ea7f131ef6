"""Raw text to tokens and ids: spaCy tokenization, the compact corpus, vocabulary, encoders.

The first stage of the data flow. Modules here import only the top-level helpers
(``toolkit._validation``, ``toolkit._atomic``, ``toolkit._config``,
``toolkit.exceptions``), spaCy and numpy.
"""

from .corpus import TokenizedCorpus
from .encoders import BagEncoder, HashingEncoder, HashingSequenceEncoder, SequenceEncoder, bag_matrix, smoothed_idf
from .negation import NegationMarker, mark_negation
from .tokenizer import SpacyTokenizer, clean_html, clean_text, tokenize
from .vocabulary import OOV_ID, PAD_ID, Vocabulary, pad_sequences

__all__ = [
    "SpacyTokenizer",
    "tokenize",
    "clean_html",
    "clean_text",
    "TokenizedCorpus",
    "Vocabulary",
    "pad_sequences",
    "PAD_ID",
    "OOV_ID",
    "SequenceEncoder",
    "BagEncoder",
    "HashingEncoder",
    "HashingSequenceEncoder",
    "bag_matrix",
    "smoothed_idf",
    "NegationMarker",
    "mark_negation",
]
