"""Data: torch datasets over the face cache (frames, sequences of L consecutive frames), transforms,
class weights, balanced test sets.

Two submodules are imported by name, not from here, so that ``import noisetrace.data`` stays light
(no Lightning, no detectors) for inference: :mod:`noisetrace.data.datamodule` (the Lightning data
module that training uses) and :mod:`noisetrace.data.inference` (:func:`predict_split`, a checkpoint
scored over one split of a manifest).
"""

from noisetrace.data.datasets import (
    FrameDataset,
    FrameItem,
    SequenceDataset,
    SequenceItem,
    SplitIndex,
    class_weights,
    index_split,
    sequence_windows,
)
from noisetrace.data.testsets import PAPER_TEST_VIDEOS, TestSet, TestSetSpec, parse_methods, select_test_set
from noisetrace.data.transforms import load_face, to_tensor, to_unit_float

__all__ = [
    "PAPER_TEST_VIDEOS",
    "FrameDataset",
    "FrameItem",
    "SequenceDataset",
    "SequenceItem",
    "SplitIndex",
    "TestSet",
    "TestSetSpec",
    "class_weights",
    "index_split",
    "load_face",
    "parse_methods",
    "select_test_set",
    "sequence_windows",
    "to_tensor",
    "to_unit_float",
]
