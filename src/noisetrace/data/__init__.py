"""Data: torch datasets over the face cache (frames, sequences of L consecutive frames), transforms,
class weights, and the Lightning data module that training uses."""

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
from noisetrace.data.transforms import load_face, to_tensor, to_unit_float

__all__ = [
    "FaceDataModule",
    "FrameDataset",
    "FrameItem",
    "SequenceDataset",
    "SequenceItem",
    "SplitIndex",
    "class_weights",
    "index_split",
    "load_face",
    "sequence_windows",
    "to_tensor",
    "to_unit_float",
]
