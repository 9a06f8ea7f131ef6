"""Data: manifests, verified fetch, safe archive reading, dataset readers.

The bottom stage: modules here import only the top-level helpers and pooch.
"""

from .datasets import TextDataset, fetch, load_csv, load_folder, load_imdb, load_jsonl
from .manifests import Manifest, get_manifest, list_manifests, load_manifest

__all__ = [
    "TextDataset",
    "fetch",
    "load_imdb",
    "load_folder",
    "load_csv",
    "load_jsonl",
    "Manifest",
    "get_manifest",
    "list_manifests",
    "load_manifest",
]
