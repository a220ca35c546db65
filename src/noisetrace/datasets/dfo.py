"""DeeperForensics-1.0 (Jiang et al., CVPR 2020), as its release unpacks::

    manipulated_videos/<variant>/<target>_<actor>.mp4

``<variant>`` is one of the eleven folders of the release: ``end_to_end`` (the 1,000 raw DF-VAE swaps,
the "std" set the paper uses), ``end_to_end_level_1`` … ``_5``, ``end_to_end_random_level``,
``end_to_end_mix_{2,3,4}_distortions`` and ``reenact_postprocess``. The variant is the manifest's
``method``, so a protocol picks the std set as ``dataset == "dfo" and method == "end_to_end"``.

``<target>`` is the three-digit FF++ id of the video that was manipulated, ``<actor>`` (``M004``,
``W101``) the DeeperForensics actor whose face was swapped in. So ``identity`` = ``target_id`` is the
FF++ id and ``source_id`` the actor.

Real videos: the release says its real part is *not* its actors' ``source_videos`` but the FF++
youtube "target videos" at c23 ("the 'real' part for face forensics models are the target videos");
the paper likewise splits "the real as well as the fake videos" of FF++ and DF-1.0 by the same ids.
:func:`index_dfo` therefore takes the FF++ root as ``real_root`` and adds the youtube originals of
the targets it uses, as ``dataset == "ffpp"`` rows: they are FF++ files, so indexing FF++ and DF-1.0
together yields each real video once, with one uid and one face-cache entry.

The release's own ``lists/splits`` group fakes by *actor*, not by target; this package follows the
paper (split by the FF++ target id) and records the resulting actor-face leak instead
(:mod:`noisetrace.datasets.splits`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import pandas as pd

from noisetrace.core.errors import DatasetLayoutError
from noisetrace.datasets.ffpp import check_compressions, youtube_original_rows
from noisetrace.datasets.folder import (
    absolute_root,
    named_videos,
    require_dir,
    rows_to_frame,
    video_row,
    warn_layout,
)

DFO_VARIANTS: tuple[str, ...] = (
    "end_to_end",
    "end_to_end_level_1",
    "end_to_end_level_2",
    "end_to_end_level_3",
    "end_to_end_level_4",
    "end_to_end_level_5",
    "end_to_end_random_level",
    "end_to_end_mix_2_distortions",
    "end_to_end_mix_3_distortions",
    "end_to_end_mix_4_distortions",
    "reenact_postprocess",
)
DEFAULT_REAL_COMPRESSIONS: tuple[str, ...] = ("c23",)
_FAKE_NAME = re.compile(r"^(\d+)_([A-Za-z]+\d+)$")


def index_dfo(
    root: str | os.PathLike[str],
    real_root: str | os.PathLike[str] | None = None,
    real_compressions: Sequence[str] = DEFAULT_REAL_COMPRESSIONS,
) -> pd.DataFrame:
    """Index ``manipulated_videos/<variant>/`` and, with ``real_root`` (an FF++ root), the reals.

    ``real_compressions`` selects the FF++ originals used as reals: c23, as the DF-1.0 release asks.
    Without ``real_root`` only fakes are indexed; :func:`noisetrace.datasets.index.build_joint_manifest`
    warns when the manifest it builds lacks the reals of some DF-1.0 target.
    """
    root = absolute_root(root, "DeeperForensics-1.0 root")
    manipulated = require_dir(
        root / "manipulated_videos", f"manipulated_videos/<{'|'.join(DFO_VARIANTS[:2])}|...>/", root
    )
    variant_dirs = [manipulated / v for v in DFO_VARIANTS if (manipulated / v).is_dir()]
    if not variant_dirs:
        raise DatasetLayoutError(f"expected at least one variant folder ({', '.join(DFO_VARIANTS)}) in {manipulated}")
    for other in sorted(d.name for d in manipulated.iterdir() if d.is_dir() and d.name not in DFO_VARIANTS):
        warn_layout(f"ignored {manipulated / other}: not a DeeperForensics-1.0 variant folder")

    rows = []
    for folder in variant_dirs:
        for video, match in named_videos(folder, _FAKE_NAME, "<target>_<actor>.mp4 (e.g. 000_M004.mp4)"):
            rows.append(
                video_row(
                    dataset="dfo",
                    method=folder.name,
                    video_id=video.stem,
                    target_id=match.group(1),
                    source_id=match.group(2),
                    path=video,
                )
            )

    if real_root is None:
        return rows_to_frame(rows)
    real_root = absolute_root(real_root, "FF++ root for the DeeperForensics-1.0 reals")
    targets = {str(r["target_id"]) for r in rows}
    reals = youtube_original_rows(real_root, check_compressions(real_compressions), ids=targets)
    return rows_to_frame(reals + rows)
