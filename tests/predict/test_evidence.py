"""The evidence: a self-contained HTML page with every section, and an annotated H.264 copy of the video."""

from __future__ import annotations

import json
import re
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from noisetrace.faces.video import read_frames
from noisetrace.predict import PredictSettings, predict_videos
from noisetrace.predict.evidence import select_evidence, srm_magnitude

EVIDENCE = 6


def sections(html: str) -> list[str]:
    return re.findall(r"<section id='(\w+)'>", html)


def test_html_page_has_every_section_and_the_annotated_copy_every_frame(sample_videos, image_checkpoint, tmp_path):
    video = sample_videos[1]  # FF++ Deepfakes 000_003
    settings = PredictSettings(frames=12, html=True, annotate=True, evidence_frames=EVIDENCE)
    (record,) = predict_videos([video], image_checkpoint, tmp_path / "out", settings)

    assert record["files"]["html"] == str(tmp_path / "out" / f"{record['uid']}.html")
    html = Path(record["files"]["html"]).read_text(encoding="utf-8")
    assert sections(html) == ["verdict", "timeline", "evidence", "details"]
    verdict = html.split("<section id='verdict'>")[1].split("</section>")[0]
    assert record["verdict"].upper() in verdict and f"P(fake) = {record['score']:.3f}" in verdict
    timeline = html.split("<section id='timeline'>")[1].split("</section>")[0]
    assert "<svg" in timeline and "threshold 0.5" in timeline and "<polyline" in timeline
    # Evenly spaced frames plus the most fake one, each as crop, SRM residual and Grad-CAM, all inline.
    for kind in ("face crop", "SRM residual", "Grad-CAM"):
        assert len(re.findall(rf"<img alt='{kind}, frame \d+' src='data:image/png;base64,", html)) == EVIDENCE
    assert "timings" in html and "decode" in html
    # Self-contained: no scripts, no external style sheets or images.
    assert "<script" not in html and "<link" not in html and not re.search(r"src=['\"]https?:", html)
    assert set(record["seconds"]) == {"decode", "detect", "model", "evidence", "total"}

    annotated = Path(record["files"]["annotated"])
    with av.open(str(annotated)) as container:
        stream = container.streams.video[0]
        codec, pix_fmt = stream.codec_context.name, stream.codec_context.pix_fmt
        width, height = stream.codec_context.width, stream.codec_context.height
    assert (codec, pix_fmt) == ("h264", "yuv420p") and width % 2 == 0 and height % 2 == 0
    source = read_frames(video, 12)
    copy = read_frames(annotated)
    assert len(copy) == len(source) == record["frames_decoded"]
    assert copy[0].shape == source[0].shape  # 640×480: even already, nothing cropped
    assert json.loads((tmp_path / "out" / "predictions.json").read_text()) == [record]


def test_sequence_model_page_shows_whole_sequences(sample_videos, sequence_checkpoint, tmp_path):
    settings = PredictSettings(frames=12, html=True, evidence_frames=8)
    (record,) = predict_videos([sample_videos[0]], sequence_checkpoint, tmp_path, settings)
    html = Path(record["files"]["html"]).read_text(encoding="utf-8")
    assert sections(html) == ["verdict", "timeline", "evidence", "details"]
    # 8 frames' worth of sequences of L = 4: two sequences, all four frames of each, with the sequence's score.
    groups = re.findall(r"<h3>frames (\d+)–(\d+): sequence P\(fake\) ([\d.]+)</h3>", html)
    assert len(groups) == 2 and all(int(end) - int(start) == 3 for start, end, _ in groups)
    assert len(re.findall(r"<img alt='Grad-CAM, frame \d+'", html)) == 8
    assert "annotated" not in record["files"]


def test_an_item_without_verdict_gets_a_page_that_says_why(tmp_path, image_checkpoint, video_writer):
    grey = video_writer(tmp_path / "grey.mp4", [np.full((96, 128, 3), 90, np.uint8)] * 4)
    (record,) = predict_videos([grey], image_checkpoint, tmp_path / "out", PredictSettings(frames=4, html=True))
    assert record["status"] == "no_face"
    html = Path(record["files"]["html"]).read_text(encoding="utf-8")
    assert sections(html) == ["verdict", "timeline", "evidence", "details"]
    assert "NO VERDICT" in html and "no face detected in any decoded frame" in html and "<svg" not in html


def test_srm_map_is_dark_on_flat_areas_and_bright_on_noise():
    crop = torch.full((1, 3, 64, 64), 0.5)
    crop[0, :, 20:36, 30:46] += torch.from_numpy(np.random.default_rng(0).normal(0, 0.1, (3, 16, 16))).float()
    grey = srm_magnitude(crop.clamp(0, 1))
    assert grey.shape == (1, 64, 64, 3) and grey.dtype == np.uint8
    inside = grey[0, 22:34, 32:44, 0].astype(float).mean()
    outside = grey[0, 2:16, 2:62, 0].astype(float).mean()
    assert inside > 100 and outside == 0


@pytest.mark.parametrize(
    ("scores", "count", "expected"),
    [
        ([0.1, 0.2, 0.9, 0.3, 0.2, 0.1], 3, [0, 2, 5]),
        ([0.1, 0.2, 0.3, 0.4, 0.95, 0.1, 0.2], 3, [0, 4, 6]),  # the most fake item replaces the middle pick
        ([0.4, 0.6], 10, [0, 1]),
        ([], 5, []),
    ],
)
def test_evidence_is_evenly_spaced_and_includes_the_most_fake_item(scores, count, expected):
    assert select_evidence(scores, count) == expected
