"""Dataset folder layouts → the manifest: one row per video, with identities and a leak-free split.

One indexer per corpus (:mod:`~noisetrace.datasets.ffpp`, :mod:`~noisetrace.datasets.dfo`,
:mod:`~noisetrace.datasets.celebdf`, :mod:`~noisetrace.datasets.dfdc`,
:mod:`~noisetrace.datasets.folder`) turns its official layout into rows; :mod:`~noisetrace.datasets.splits`
assigns train/val/test so that no face crosses splits; :mod:`~noisetrace.datasets.index` ties them
together for ``noisetrace index``. This package knows folders and identities, never faces or models.
"""

from noisetrace.datasets.folder import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, LayoutWarning
from noisetrace.datasets.index import (
    DATASETS,
    SPLIT_SCHEMES,
    build_joint_manifest,
    build_manifest,
    index_dataset,
    split_report_path,
)
from noisetrace.datasets.splits import SplitReport

__all__ = [
    "DATASETS",
    "IMAGE_EXTENSIONS",
    "SPLIT_SCHEMES",
    "VIDEO_EXTENSIONS",
    "LayoutWarning",
    "SplitReport",
    "build_joint_manifest",
    "build_manifest",
    "index_dataset",
    "split_report_path",
]
