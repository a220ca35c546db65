"""How the detector noisetrace ships judges the demo's simulated fakes and reals (the package
docstring says why the demo ends with it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from noisetrace.core.manifest import read_manifest
from noisetrace.data.inference import predict_split
from noisetrace.evaluation.bootstrap import bootstrap_ci
from noisetrace.evaluation.calibration import calibrate
from noisetrace.evaluation.metrics import aggregate_by_video, roc_auc
from noisetrace.models.checkpoint import read_checkpoint_info
from noisetrace.predict import PredictSettings, predict_videos
from noisetrace.pretrained import SHIPPED_MODEL, shipped_checkpoint

__all__ = ["ShippedCheck", "check_shipped_model"]


@dataclass
class ShippedCheck:
    """The shipped detector on the demo's simulated videos."""

    auc: float
    low: float
    high: float
    fakes: int
    reals: int
    examples: list[dict[str, Any]]  # predict results of one real clip and one fake of it

    def describe(self) -> str:
        lines = [
            f"shipped detector {SHIPPED_MODEL} on the demo's videos (simulated fakes of footage it never saw): "
            f"video AUC {self.auc:.3f} [95% CI {self.low:.3f}, {self.high:.3f}] over {self.fakes} fake and "
            f"{self.reals} real clips",
        ]
        for example in self.examples:
            lines.append(
                f"  noisetrace predict {Path(example['path']).parent.name}/{Path(example['path']).name}: "
                f"{example['verdict']} (P(fake) {example['score']:.3f})"
            )
        return "\n".join(lines)


def check_shipped_model(manifest_path: Path, cache: Path, out: Path, frames: int) -> ShippedCheck:
    """Video AUC of the shipped detector over every clip of the demo's benchmark, and two verdicts."""
    checkpoint = shipped_checkpoint()
    manifest = read_manifest(manifest_path)
    manifest["split"] = "all"
    predictions = pd.read_csv(predict_split(checkpoint, manifest, cache, out / "predictions.csv", split="all"))
    calibrated = calibrate(predictions["score"], read_checkpoint_info(checkpoint).get("calibration"))
    uids, labels, scores = aggregate_by_video(predictions["uid"], predictions["label"], calibrated)
    interval = bootstrap_ci(roc_auc, uids, labels, scores, n_resamples=200, seed=0)
    real = manifest[manifest["label"] == 0].sort_values("uid").iloc[0]
    fake = manifest[(manifest["label"] == 1) & (manifest["target_id"] == real["target_id"])].sort_values("uid")
    examples = [real["path"]] + ([fake.iloc[0]["path"]] if len(fake) else [])
    verdicts = predict_videos(examples, checkpoint, out / "predict", PredictSettings(frames=frames))
    return ShippedCheck(
        auc=interval.point,
        low=interval.low,
        high=interval.high,
        fakes=int(labels.sum()),
        reals=int((labels == 0).sum()),
        examples=verdicts,
    )
