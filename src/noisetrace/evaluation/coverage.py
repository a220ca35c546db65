"""What of a scored set became items, recorded beside its metrics (``metrics.json`` → ``coverage``).

A video is asked to be scored but can give no item: it has no face crops, a reviewer excluded it, or
(sequence models) every window of L frames crosses a frame without a face and is skipped. Such videos
are not in the predictions, so the metrics are over fewer videos than the set holds, and a balanced
generalization set (N fakes + N reals) may no longer be balanced. :func:`coverage_report` counts all of
it per class, and says so in ``warnings`` when a balanced set's scored videos are no longer balanced or
any video went unscored.

The item index is passed in as it is (anything with the ``items``, ``missing``, ``excluded`` and
``skipped_windows`` of :class:`noisetrace.data.SplitIndex`), so this module imports nothing internal
but :mod:`noisetrace.core`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

__all__ = ["coverage_report"]

_SHOWN = 5  # uids quoted in a warning


class _Item(Protocol):
    uid: str


class ItemIndex(Protocol):
    """The parts of :class:`noisetrace.data.SplitIndex` read here."""

    items: Sequence[_Item]
    missing: Sequence[str]
    excluded: Sequence[str]
    skipped_windows: int


def _per_class(uids: Sequence[str], labels: Mapping[str, int]) -> dict[str, int]:
    counts = Counter(labels[uid] for uid in uids if uid in labels)
    return {"real": int(counts.get(0, 0)), "fake": int(counts.get(1, 0))}


def _quote(uids: Sequence[str]) -> str:
    return ", ".join(uids[:_SHOWN]) + (", …" if len(uids) > _SHOWN else "")


def coverage_report(
    videos: Mapping[str, int],
    index: ItemIndex,
    *,
    seq_len: int | None = None,
    balanced: bool = False,
) -> dict[str, Any]:
    """Account for every video of ``videos`` (uid → label, the set asked to be scored) in ``index``.

    ``seq_len``: the sequence length the items were cut with (``None``: frames). ``balanced``: the set
    was drawn with as many reals as fakes, so a difference in scored videos per class is warned about.
    Returns a JSON-ready dict: videos asked and scored per class, items per class, the sequence windows
    skipped for a frame without a face, the uids that gave no item (``without_items``: with crops but
    no item; ``missing``: no crops; ``excluded``: after review), and ``warnings``.
    """
    labels = {str(uid): int(label) for uid, label in videos.items()}
    per_video = Counter(item.uid for item in index.items)
    missing = sorted(uid for uid in index.missing if uid in labels)
    excluded = sorted(uid for uid in index.excluded if uid in labels)
    without_items = sorted(set(labels) - set(per_video) - set(missing) - set(excluded))
    unscored = sorted({*without_items, *missing, *excluded})
    asked, scored = _per_class(list(labels), labels), _per_class(list(per_video), labels)
    items = Counter()
    for uid, count in per_video.items():
        items["fake" if labels.get(uid) == 1 else "real"] += count
    unit = "frame" if seq_len is None else "sequence"

    warnings = []
    if unscored:
        no_item = f"gave no {unit}"
        if seq_len is not None:
            no_item += f" (every window of {seq_len} frames crosses a frame without a face)"
        reasons = [
            f"{len(uids)} {what}"
            for uids, what in ((without_items, no_item), (missing, "have no face crops"),
                               (excluded, "were excluded after review"))
            if uids
        ]  # fmt: skip
        warnings.append(
            f"{len(unscored)} of {len(labels)} videos were not scored: {'; '.join(reasons)} ({_quote(unscored)})"
        )
    if balanced and asked["real"] == asked["fake"] and scored["real"] != scored["fake"]:
        warnings.append(
            f"the balanced test set is no longer balanced: {scored['fake']} fake and {scored['real']} real videos "
            f"were scored of {asked['fake']} + {asked['real']} drawn"
        )
    return {
        "unit": unit,
        "seq_len": seq_len,
        "videos": asked,
        "scored_videos": scored,
        "items": {"real": int(items["real"]), "fake": int(items["fake"])},
        "skipped_windows": int(index.skipped_windows),
        "without_items": without_items,
        "missing": missing,
        "excluded": excluded,
        "balanced": balanced,
        "warnings": warnings,
    }
