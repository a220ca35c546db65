"""The evidence page for one predicted video: a single self-contained HTML file.

A verdict on one video is only as useful as the reasons a person can check, so the page shows, in
order: the verdict and the numbers behind it; the score over time (does one stretch of the video drive
it, or all of it?); sampled face crops beside their SRM noise residuals (the paper's Fig. 3, the signal
an SRM-domain model reads) and their Grad-CAM heatmaps (where in the crop the model's fake evidence
lies); and the details (model, checkpoint, timings, frames without a face).

Everything is inline (PNG images as base64 ``data:`` URIs, the chart as SVG, CSS in a ``<style>``
element) so the page can be mailed, archived or opened offline and still show everything. The page
renders a prediction result (the JSON object ``noisetrace predict`` writes, see ``docs/predict.md``)
and images already computed by :mod:`noisetrace.predict`; it computes nothing about models itself.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from noisetrace.report.svg import line_chart

__all__ = ["EvidenceCard", "EvidenceGroup", "png_data_uri", "render_predict_page", "score_timeline"]


@dataclass(frozen=True)
class EvidenceCard:
    """One face crop and what the page shows of it; images are RGB ``uint8`` ``(H, W, 3)``."""

    frame: int
    score: float | None  # the frame's own P(fake); None inside a sequence (the group carries the score)
    crop: np.ndarray
    srm: np.ndarray
    gradcam: np.ndarray


@dataclass(frozen=True)
class EvidenceGroup:
    """Cards shown together: the sampled frames of a frame model, or one sequence of a sequence model."""

    title: str
    cards: Sequence[EvidenceCard]


def png_data_uri(rgb: np.ndarray) -> str:
    """An RGB (or grayscale) ``uint8`` image as a ``data:image/png;base64,…`` URI (lossless)."""
    image = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"could not encode an image of shape {rgb.shape} as PNG")
    return "data:image/png;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


def score_timeline(result: Mapping[str, Any], width: int = 900, height: int = 260) -> str:
    """The item scores over frame index as an SVG chart, with the threshold and the video score.

    A frame model's scores form one line, broken where frames have no face; a sequence model's
    scores are flat segments spanning each sequence's frames, so the chart shows which frames a
    score speaks for.
    """
    points: list[tuple[float, float | None]] = []
    previous_end: int | None = None
    for item in result.get("scores", []):
        start, end, score = int(item["frame_start"]), int(item["frame_end"]), float(item["score"])
        if previous_end is not None and (start != previous_end + 1 or end != start):
            points.append((start, None))  # break the line across a gap or between sequences
        points.extend([(start, score)] if start == end else [(start, score), (end, score)])
        previous_end = end
    decoded = int(result.get("frames_decoded") or 0)
    series: dict[str, list[tuple[float, float | None]]] = {}
    if result.get("score") is not None and decoded:  # first, so that the item scores are drawn over it
        series[f"video score ({result.get('rule')})"] = [(0, result["score"]), (max(decoded - 1, 1), result["score"])]
    series[f"P(fake) per {result.get('unit', 'frame')}"] = points
    return line_chart(
        series,
        x_label="frame index",
        y_label="P(fake)",
        x_range=(0, max(decoded - 1, 1)),
        y_range=(0.0, 1.0),
        threshold=result.get("threshold"),
        threshold_label="threshold",
        markers=len(points) <= 40,
        width=width,
        height=height,
    )


_CSS = """
body { font-family: Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1100px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
.badge { display: inline-block; padding: 6px 16px; border-radius: 6px; color: white; font-size: 26px;
         font-weight: bold; letter-spacing: 1px; }
.fake { background: #C0392B; } .real { background: #1E8449; } .none { background: #7F8C8D; }
.uncertain { background: #B9770E; }
.caveat { background: #FEF5E7; border-left: 4px solid #B9770E; padding: 8px 12px; max-width: 900px; }
.numbers { font-size: 15px; margin: 10px 0; }
table.kv td { padding: 2px 12px 2px 0; vertical-align: top; } table.kv td:first-child { color: #666; }
.group { margin: 14px 0 22px; } .group h3 { font-size: 14px; margin: 6px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { width: 150px; font-size: 12px; text-align: center; }
.card img { width: 150px; height: 150px; image-rendering: pixelated; display: block; margin-bottom: 3px; }
.legend { color: #555; font-size: 13px; max-width: 900px; }
code { font-size: 12px; }
"""


def _verdict_section(result: Mapping[str, Any]) -> str:
    verdict = result.get("verdict")
    badge_class = verdict if verdict in ("fake", "real", "uncertain") else "none"
    badge = (verdict or "no verdict").upper()
    if result.get("score") is not None:
        count = len(result.get("scores", []))
        summary = (
            f"Video score <b>P(fake) = {result['score']:.3f}</b> ({escape(str(result.get('rule')))} of {count} "
            f"{escape(str(result.get('unit')))} scores)"
        )
        band = result.get("uncertain_band")
        if band:
            numbers = (
                f"{summary}; real below {band[0]:.3f}, fake from {band[1]:.3f}, uncertain between "
                f"(a band fitted on the model's validation split; raw score {result.get('raw_score', 0):.3f})."
            )
        else:
            comparison = "≥" if verdict == "fake" else "<"
            numbers = f"{summary} {comparison} threshold {result.get('threshold')}."
    else:
        numbers = f"Status <b>{escape(str(result.get('status')))}</b>: {escape(str(result.get('message', '')))}"
    model = result.get("model", {})
    card = model.get("card") or {}
    caveat = ""
    if card:
        caveat = (
            f"<p class='caveat'><b>{escape(str(card.get('name')))}</b>: {escape(str(card.get('headline')))}<br>"
            f"{escape(str(card.get('caveat')))}</p>"
        )
    note = ""
    if result.get("score") is not None and result.get("message"):
        note = f"<p class='legend'>Note: {escape(str(result['message']))}</p>"
    return (
        "<section id='verdict'><h2>Verdict</h2>"
        f"<span class='badge {badge_class}'>{escape(badge)}</span>"
        f"<p class='numbers'>{numbers}</p>{caveat}{note}"
        "<table class='kv'>"
        f"<tr><td>model</td><td>{escape(str(model.get('name')))} ({escape(str(model.get('domain')))} domain, "
        f"backbone {escape(str(model.get('backbone')))}, {model.get('image_size')}² crops"
        + (f", sequences of {model.get('seq_len')} frames" if model.get("seq_len") else "")
        + ")</td></tr>"
        f"<tr><td>checkpoint</td><td><code>{escape(str(result.get('checkpoint')))}</code></td></tr>"
        f"<tr><td>video</td><td><code>{escape(str(result.get('path')))}</code></td></tr>"
        "</table></section>"
    )


def _timeline_section(result: Mapping[str, Any]) -> str:
    if not result.get("scores"):
        return "<section id='timeline'><h2>Score timeline</h2><p>No scores: nothing to plot.</p></section>"
    return (
        "<section id='timeline'><h2>Score timeline</h2>"
        f"{score_timeline(result)}"
        "<p class='legend'>Each point is the model's P(fake) for one "
        f"{escape(str(result.get('unit')))}; gaps are frames without the subject's face. The dashed line is the "
        "decision threshold, the flat line the video score it is compared with.</p></section>"
    )


def _card(card: EvidenceCard) -> str:
    score = f" · P(fake) {card.score:.3f}" if card.score is not None else ""
    return (
        "<div class='card'>"
        f"<img alt='face crop, frame {card.frame}' src='{png_data_uri(card.crop)}'>"
        f"<img alt='SRM residual, frame {card.frame}' src='{png_data_uri(card.srm)}'>"
        f"<img alt='Grad-CAM, frame {card.frame}' src='{png_data_uri(card.gradcam)}'>"
        f"frame {card.frame}{score}</div>"
    )


def _evidence_section(groups: Sequence[EvidenceGroup]) -> str:
    if not groups:
        return "<section id='evidence'><h2>Face crops, SRM residuals, Grad-CAM</h2><p>No face crops.</p></section>"
    body = "".join(
        f"<div class='group'><h3>{escape(group.title)}</h3><div class='cards'>"
        + "".join(_card(card) for card in group.cards)
        + "</div></div>"
        for group in groups
    )
    return (
        "<section id='evidence'><h2>Face crops, SRM residuals, Grad-CAM</h2>"
        "<p class='legend'>Each column shows one face crop as the model received it (top); the magnitude of "
        "its SRM noise residuals, the high-frequency signal left after the three SRM filters remove image "
        "content, scaled per crop so that its 99th percentile is white (middle, as in the paper's Fig. 3); and "
        "the Grad-CAM heatmap of the model's fake evidence over the crop (bottom: red where the gradient of the "
        "fake log-odds says the last convolutional features push the score towards fake).</p>"
        f"{body}</section>"
    )


def _details_section(result: Mapping[str, Any]) -> str:
    seconds = result.get("seconds", {})
    timing = ", ".join(f"{name} {value:.2f} s" for name, value in seconds.items())
    missing = result.get("frames_without_face", [])
    missing_text = (
        ", ".join(f"{m['frame']} ({m['reason']})" for m in missing[:30]) + (" …" if len(missing) > 30 else "")
        if missing
        else "none"
    )
    files = result.get("files", {})
    rows = [
        ("status", f"{result.get('status')} (face extraction: {result.get('extraction')})"),
        ("frames", f"{result.get('frames_decoded')} decoded, {result.get('frames_with_face')} with the face"),
        ("frames without the face", missing_text),
        ("timings", timing),
        *((name, str(path)) for name, path in files.items() if path),
    ]
    table = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in rows)
    raw = escape(json.dumps({k: v for k, v in result.items() if k not in ("scores", "faces")}, indent=1))
    return (
        f"<section id='details'><h2>Details</h2><table class='kv'>{table}</table>"
        f"<details><summary>Prediction record (without per-frame lists)</summary><pre>{raw}</pre></details>"
        "</section>"
    )


def render_predict_page(result: Mapping[str, Any], groups: Sequence[EvidenceGroup]) -> str:
    """The complete HTML document for one prediction ``result`` and its evidence ``groups``."""
    name = Path(str(result.get("path", "video"))).name
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>noisetrace predict: {escape(name)}</title><style>{_CSS}</style></head><body>"
        f"<h1>noisetrace predict: {escape(name)}</h1>"
        + _verdict_section(result)
        + _timeline_section(result)
        + _evidence_section(groups)
        + _details_section(result)
        + "</body></html>\n"
    )
