"""Simulated manipulations of real face videos, written as a FaceForensics++-shaped benchmark.

``build_benchmark`` turns any folder of real talking-face videos into
``original_sequences/`` + ``manipulated_sequences/<method>/`` that the FF++ indexer reads; the
methods (``swap``, ``selfblend``, ``resample``, ``reenact``, ``flicker``) each mimic the traces of a
family of real manipulations. See docs/synth.md.
"""

from noisetrace.synth.benchmark import build_benchmark
from noisetrace.synth.methods import Clip, FaceTrack, FakeResult, get_method, list_methods, make_rng

__all__ = ["Clip", "FaceTrack", "FakeResult", "build_benchmark", "get_method", "list_methods", "make_rng"]
