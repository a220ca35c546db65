"""The predictions table: the contract between running a detector and measuring it.

One row per scored item, a face crop for frame models or a window of ``L`` consecutive frames for
sequence models: ``uid, label, method, frame_start, frame_end, score`` where ``score`` is ``P(fake)``.
Frame models have ``frame_start == frame_end``.
"""

PREDICTION_COLUMNS: tuple[str, ...] = ("uid", "label", "method", "frame_start", "frame_end", "score")
