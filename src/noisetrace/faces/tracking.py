"""Choosing the subject: which detected face in a video is the person the video is about.

A face in the background, or a detector false positive, must never take over the crop. Faces are
linked across frames into tracks by IoU with the track's most recent box; the subject is the track
with the largest total of ``area × score`` over the clip, so a face that is confident, large and
present throughout wins over one that is briefly larger or briefly more confident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from noisetrace.faces.geometry import box_iou


@dataclass
class Track:
    """Detections of one face across frames: ``frame index → detection index`` in that frame."""

    members: dict[int, int] = field(default_factory=dict)
    last_box: np.ndarray | None = None
    last_frame: int = -1
    weight: float = 0.0


def link_tracks(
    boxes: Sequence[np.ndarray],
    scores: Sequence[np.ndarray],
    min_iou: float = 0.3,
    max_gap: int = 10,
) -> list[Track]:
    """Greedy IoU tracking.

    ``boxes[f]`` is an (n_f, 4) array of the faces detected in frame ``f`` and ``scores[f]`` their
    (n_f,) scores. Each detection joins the open track it overlaps most (IoU ≥ ``min_iou``, the track
    seen within ``max_gap`` frames); otherwise it opens a new track.
    """
    tracks: list[Track] = []
    for frame_index, (frame_boxes, frame_scores) in enumerate(zip(boxes, scores, strict=True)):
        taken: set[int] = set()
        order = np.argsort(-np.asarray(frame_scores)) if len(frame_scores) else []
        for det in order:
            box = frame_boxes[det]
            best, best_iou = None, min_iou
            for track_number, track in enumerate(tracks):
                if track_number in taken or frame_index - track.last_frame > max_gap:
                    continue
                iou = box_iou(track.last_box, box)
                if iou >= best_iou:
                    best, best_iou = track_number, iou
            if best is None:
                tracks.append(Track())
                best = len(tracks) - 1
            track = tracks[best]
            taken.add(best)
            track.members[frame_index] = int(det)
            track.last_box, track.last_frame = box, frame_index
            area = float((box[2] - box[0]) * (box[3] - box[1]))
            track.weight += area * float(frame_scores[det])
    return tracks


def select_subject(
    boxes: Sequence[np.ndarray], scores: Sequence[np.ndarray], min_iou: float = 0.3, max_gap: int = 10
) -> dict[int, int]:
    """Return ``frame index → detection index`` of the subject (frames absent have no subject face)."""
    tracks = link_tracks(boxes, scores, min_iou=min_iou, max_gap=max_gap)
    if not tracks:
        return {}
    return max(tracks, key=lambda track: track.weight).members
