"""An annotated copy of a video: the tracked face box and the score on every analysed frame.

The copy lets a person watch what the model saw: the box shows which face was scored (and where the
tracker lost it), the text the frame's ``P(fake)`` and the video score so far, i.e. the aggregation
rule over the items completed up to that frame, which ends at the verdict in the JSON. Only the
analysed frames (the first ``--frames``) are written, so the copy and the scores cover the same span.

Encoding: H.264 (libx264) in ``yuv420p``, the combination every browser and player decodes; 4:2:0
chroma needs even dimensions, so an odd last row or column is dropped. Frames are upright (the source's
rotation is applied on decoding, as in extraction), so the copy carries no rotation metadata.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction

import av
import cv2
import numpy as np

from noisetrace.core.io import atomic_path
from noisetrace.faces.video import iter_frames, probe_video

__all__ = ["write_annotated_video"]

FAKE_COLOUR = (220, 40, 40)  # RGB
REAL_COLOUR = (40, 200, 80)
UNSCORED_COLOUR = (160, 160, 160)  # a frame without a face, or outside every complete sequence
TEXT_COLOUR = (255, 255, 255)
FALLBACK_FPS = 25  # images and streams that declare no rate


def _label(frame: np.ndarray, lines: Sequence[str], colour: tuple[int, int, int]) -> None:
    """Draw text lines in the top-left corner over a dark box, scaled with the frame's height."""
    scale = max(0.4, frame.shape[0] / 900)
    thickness = max(1, round(scale * 2))
    (_, line_height), baseline = cv2.getTextSize("Ag", cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    step = line_height + baseline + 4
    width = max(cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)[0][0] for line in lines)
    cv2.rectangle(frame, (0, 0), (width + 16, step * len(lines) + 8), (0, 0, 0), -1)
    cv2.rectangle(frame, (0, 0), (6, step * len(lines) + 8), colour, -1)
    for number, line in enumerate(lines):
        y = 4 + step * (number + 1) - baseline
        cv2.putText(frame, line, (12, y), cv2.FONT_HERSHEY_SIMPLEX, scale, TEXT_COLOUR, thickness, cv2.LINE_AA)


def write_annotated_video(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    max_frames: int,
    boxes: Mapping[int, Sequence[float]],
    items: Sequence[tuple[int, int, float]],
    aggregate: Callable[[Sequence[float]], float],
    threshold: float,
) -> int:
    """Write the annotated H.264 copy of ``source``'s first ``max_frames`` frames; return the frame count.

    Args:
        boxes: frame index → face box ``x1, y1, x2, y2`` (frame pixels); frames without one show "no face".
        items: ``(frame_start, frame_end, score)`` of every scored item, in time order.
        aggregate: the video-score rule, applied to the scores of the items finished so far.
        threshold: ``P(fake)`` at or above which a score is drawn in the "fake" colour.
    """
    info = probe_video(source)
    rate = Fraction(info.fps).limit_denominator(1001) if info.fps > 0 else Fraction(FALLBACK_FPS)
    frame_scores = {index: score for start, end, score in items for index in range(start, end + 1)}
    written = 0
    with atomic_path(target) as tmp, av.open(str(tmp), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "20", "preset": "veryfast"}
        finished: list[float] = []
        pending = iter(items)
        upcoming = next(pending, None)
        for index, rgb in iter_frames(source, max_frames):
            if written == 0:
                stream.height, stream.width = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
            while upcoming is not None and upcoming[1] <= index:
                finished.append(upcoming[2])
                upcoming = next(pending, None)
            frame = np.ascontiguousarray(rgb[: stream.height, : stream.width])
            score = frame_scores.get(index)
            colour = UNSCORED_COLOUR if score is None else FAKE_COLOUR if score >= threshold else REAL_COLOUR
            box = boxes.get(index)
            if box is not None:
                x1, y1, x2, y2 = (round(float(v)) for v in box)
                cv2.rectangle(frame, (x1, y1), (x2, y2), colour, max(2, frame.shape[0] // 300))
            lines = [f"frame {index}: " + (f"P(fake) {score:.2f}" if score is not None else "no score")]
            if box is None:
                lines[0] += " (no face)"
            if finished:
                video = aggregate(finished)
                lines.append(f"video so far {video:.2f}: {'fake' if video >= threshold else 'real'}")
            _label(frame, lines, colour)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            written += 1
        container.mux(stream.encode())
    return written
