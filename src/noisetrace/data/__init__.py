"""Data: torch datasets over the face cache (frames, sequences of L consecutive frames), transforms,
class weights, balanced test sets, and the Lightning data module that training uses."""

from noisetrace.data.datamodule import FaceDataModule
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
    "FaceDataModule",
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
