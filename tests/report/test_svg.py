"""``noisetrace.report.svg``: well-formed, fixed-size SVG with series, ticks, gaps and reference lines.

(The predict page is this module's first user, so its tests live here for now.)
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from noisetrace.report.svg import PALETTE, line_chart, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on malformed markup


def test_line_chart_draws_named_series_with_ticks_and_threshold():
    svg = line_chart(
        {"XceptionNet": [(5, 0.61), (10, 0.64), (20, 0.70)], "SRM <LSTM> & co": [(5, 0.66), (10, 0.71), (20, 0.78)]},
        title="Accuracy vs sequence length",
        x_label="L",
        y_label="accuracy",
        y_range=(0.5, 1.0),
        threshold=0.75,
        threshold_label="paper",
        width=500,
        height=300,
    )
    root = parse(svg)
    assert (root.get("width"), root.get("height")) == ("500", "300")
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "XceptionNet" in texts and "SRM <LSTM> & co" in texts  # escaped in the markup, intact when parsed
    assert "Accuracy vs sequence length" in texts and "L" in texts and "accuracy" in texts
    assert {"0.5", "0.6", "0.7", "0.8", "0.9", "1.0"} <= set(texts) and {"5", "10", "20"} <= set(texts)
    assert "paper 0.75" in texts
    lines = root.findall(f"{SVG}polyline")
    assert [line.get("stroke") for line in lines] == list(PALETTE[:2])
    assert len(root.findall(f"{SVG}line[@stroke-dasharray='6 4']")) == 1  # the threshold


def test_missing_values_break_the_line_and_lone_points_are_dots():
    svg = line_chart(
        {"score": [(0, 0.2), (1, 0.3), (2, None), (3, float("nan")), (4, 0.9), (5, None), (6, 0.5), (7, 0.4)]}
    )
    root = parse(svg)
    assert len(root.findall(f"{SVG}polyline")) == 2  # 0–1 and 6–7 ...
    assert len(root.findall(f"{SVG}circle")) == 1  # ... and the lone point at x = 4


def test_roc_style_chart_with_diagonal_and_markers():
    root = parse(
        line_chart({"ROC": [(0, 0), (0.1, 0.7), (1, 1)]}, x_range=(0, 1), y_range=(0, 1), diagonal=True, markers=True)
    )
    assert len(root.findall(f"{SVG}line[@stroke-dasharray='2 3']")) == 1
    assert len(root.findall(f"{SVG}circle")) == 3


def test_points_outside_a_fixed_range_are_clipped_to_the_plot():
    root = parse(line_chart({"s": [(0, -1.0), (1, 2.0)]}, y_range=(0, 1), width=300, height=200))
    ys = [float(pair.split(",")[1]) for pair in root.find(f"{SVG}polyline").get("points").split()]
    assert all(0 <= y <= 200 for y in ys)


@pytest.mark.parametrize(
    ("low", "high", "count", "expected"),
    [
        (0, 1, 5, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0.5, 1.0, 5, [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]),
        (3, 119, 4, [50.0, 100.0]),
    ],
)
def test_nice_ticks(low, high, count, expected):
    assert nice_ticks(low, high, count) == expected


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="low < high"):
        line_chart({"s": [(0, 1)]}, y_range=(1, 1))
    with pytest.raises(ValueError, match="at least 160"):
        line_chart({"s": [(0, 1)]}, width=50)


def test_long_legends_wrap_onto_several_rows() -> None:
    names = ["Xception-Net (RGB)", "Xception-Net (SRM)", "Xception-Net + LSTM (RGB)", "Xception-Net + LSTM (SRM)"]
    series = {name: [(0.0, 0.0), (1.0, 1.0)] for name in names}
    narrow, wide = line_chart(series, width=460, height=340), line_chart(series, width=1400, height=340)
    text_ys = [float(m) for m in re.findall(r'<text x="[\d.]+" y="([\d.]+)">Xception', narrow)]
    assert len(text_ys) == 4 and len(set(text_ys)) >= 2  # wrapped
    text_xs = [float(m) for m in re.findall(r'<text x="([\d.]+)" y="[\d.]+">Xception', narrow)]
    assert max(x + 7 * len(n) for x, n in zip(text_xs, names, strict=True)) <= 460
    assert len(set(re.findall(r'<text x="[\d.]+" y="([\d.]+)">Xception', wide))) == 1  # one row when it fits
