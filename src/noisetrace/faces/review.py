"""A contact sheet for checking face crops by eye, and the exclusion list it feeds.

Paper, §3.2: "We manually verify the correct detection of the subject's face." Checking 120 crops of
thousands of videos is only practical at a glance: one row per video with a few crops spread over the
clip, the full frame with the chosen box (green) and the other faces (red), and the frames where the
subject was missing. Suspicious videos come first. Ticking a row's box and pressing the button
downloads an ``exclusions.txt``; saved into the cache folder, it makes every later stage skip those
videos (:meth:`noisetrace.faces.cache.FaceCache.exclusions`).
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

import cv2
import numpy as np

from noisetrace.core.io import write_text_atomic
from noisetrace.faces.cache import EXCLUSIONS_FILE, OVERVIEW_FILE, FaceCache, VideoFaces, read_crop

THUMBNAIL_SIZE = 96
CROPS_PER_ROW = 6


def _data_uri(rgb: np.ndarray, quality: int = 80) -> str:
    ok, buffer = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    assert ok, "JPEG encoding of a thumbnail failed"
    return "data:image/jpeg;base64," + base64.b64encode(buffer.tobytes()).decode("ascii")


def suspicion(meta: VideoFaces) -> list[str]:
    """Reasons a person should look at this video first (empty when nothing stands out)."""
    reasons = []
    if meta.status != "ok":
        reasons.append(meta.status)
    scores = [f.score for f in meta.face_frames if f.score is not None]
    if scores and min(scores) < 0.9:
        reasons.append(f"low detection score {min(scores):.2f}")
    boxes = np.array([f.box for f in meta.face_frames if f.box is not None])
    if len(boxes) > 1:
        widths = boxes[:, 2] - boxes[:, 0]
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        jump = np.linalg.norm(np.diff(centres, axis=0), axis=1) / np.maximum(widths[1:], 1)
        if jump.max() > 0.5:
            reasons.append(f"box jumps by {jump.max():.1f} face widths")
    return reasons


def _row(cache: FaceCache, meta: VideoFaces, reasons: list[str]) -> str:
    folder = cache.video_dir(meta.uid)
    faces = meta.face_frames
    picks = [
        faces[i] for i in np.linspace(0, len(faces) - 1, min(CROPS_PER_ROW, len(faces))).round().astype(int)
    ]
    crops = "".join(
        f'<figure><img src="{_data_uri(cv2.resize(read_crop(folder / f.file), (THUMBNAIL_SIZE, THUMBNAIL_SIZE)))}">'
        f"<figcaption>#{f.index} {f.score:.2f}</figcaption></figure>"
        for f in picks
        if f.file is not None
    )
    overview_path = folder / OVERVIEW_FILE
    overview = ""
    if overview_path.is_file():
        image = cv2.cvtColor(cv2.imread(str(overview_path)), cv2.COLOR_BGR2RGB)
        scale = 160 / max(image.shape[:2])
        overview = f'<img class="overview" src="{_data_uri(cv2.resize(image, None, fx=scale, fy=scale))}">'
    missing = [f for f in meta.frames if f.file is None]
    missing_text = (
        ", ".join(f"{f.index} ({f.reason})" for f in missing[:30]) + (" …" if len(missing) > 30 else "")
        if missing
        else "none"
    )
    uid = html.escape(meta.uid)
    flag = f'<span class="flag">{html.escape("; ".join(reasons))}</span>' if reasons else ""
    return (
        f'<tr><td><label><input type="checkbox" value="{uid}"> exclude</label></td>'
        f"<td><b>{uid}</b><br>{len(faces)}/{len(meta.frames)} frames with the subject{flag}"
        f"<br><small>frames without: {html.escape(missing_text)}</small></td>"
        f"<td>{overview}</td><td class='crops'>{crops}</td></tr>"
    )


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>noisetrace face review</title><style>
body{{font-family:sans-serif;margin:1em}} table{{border-collapse:collapse}}
td{{border-top:1px solid #ccc;padding:4px;vertical-align:top}}
figure{{display:inline-block;margin:2px;text-align:center}}
td.crops{{white-space:nowrap}}
figcaption{{font-size:10px;color:#555}} .flag{{display:block;color:#b00;font-size:12px}} .overview{{max-width:160px}}
</style></head><body>
<h1>Face crops to review</h1>
<p>{count} videos from <code>{root}</code>; flagged ones first. Green box: the subject; red: other faces.
Tick the videos whose crops are wrong, then <button onclick="save()">download exclusions.txt</button> and save it as
<code>{root}/{exclusions}</code>. Every later stage skips the videos it lists.</p>
<table>{rows}</table>
<script>
function save() {{
  const ids = [...document.querySelectorAll('input[type=checkbox]:checked')].map(b => b.value);
  const blob = new Blob(["# videos excluded after review\\n" + ids.join("\\n") + "\\n"], {{type: "text/plain"}});
  const link = document.createElement("a"); link.href = URL.createObjectURL(blob);
  link.download = "{exclusions}"; link.click();
}}
</script></body></html>
"""


def write_review_sheet(
    cache_root: str | os.PathLike[str], output: str | os.PathLike[str], limit: int | None = None
) -> tuple[Path, int]:
    """Write the self-contained HTML sheet; return its path and how many videos are flagged.

    Also writes ``exclusions.txt`` into the cache when there is none yet, with the flagged videos listed
    as comments, so the file exists and documents what a reviewer may want to exclude.
    """
    cache = FaceCache(cache_root)
    metas = [cache.read_meta(uid) for uid in cache.uids()]
    ranked = sorted(((suspicion(m), m) for m in metas), key=lambda item: (not item[0], item[1].uid))
    if limit is not None:
        ranked = ranked[:limit]
    rows = "".join(_row(cache, meta, reasons) for reasons, meta in ranked)
    page = _PAGE.format(
        count=len(ranked), root=html.escape(str(cache.root)), exclusions=EXCLUSIONS_FILE, rows=rows
    )
    output = Path(output)
    write_text_atomic(output, page)
    flagged = [(reasons, meta) for reasons, meta in ranked if reasons]
    exclusions = cache.root / EXCLUSIONS_FILE
    if not exclusions.exists():
        lines = ["# uids listed here (one per line, not commented) are skipped by every later stage."]
        lines += [f"# {meta.uid}    # {'; '.join(reasons)}" for reasons, meta in flagged]
        write_text_atomic(exclusions, "\n".join(lines) + "\n")
    return output, len(flagged)
