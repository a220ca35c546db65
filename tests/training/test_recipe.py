"""The paper's recipe at a small scale: schedule, frozen warm-up, loss and class weights, sequence
batches, configs and safe checkpoints."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from lightning.pytorch.strategies import DDPStrategy
from torch.utils.data import DataLoader, TensorDataset

from noisetrace.core.errors import CheckpointError, ConfigError
from noisetrace.core.io import atomic_directory, write_json_atomic
from noisetrace.data.datamodule import FaceDataModule
from noisetrace.faces.cache import META_FILE, FrameRecord, VideoFaces, crop_filename, write_crop
from noisetrace.models import create_detector
from noisetrace.models.checkpoint import load_checkpoint, save_checkpoint
from noisetrace.training import BackboneWarmup, DetectorTask, load_config, weighted_bce
from noisetrace.training.fit import _strategy

TINY = "test_resnet"  # a 0.4 M-parameter timm model with BatchNorm: fast, and it has running statistics


def tiny_trainer(max_epochs: int = 1, max_steps: int = -1, callbacks: list[L.Callback] | None = None) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu",
        max_epochs=max_epochs,
        max_steps=max_steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=callbacks or [],
    )


def random_loader(n: int = 16, batch_size: int = 4, shape: tuple[int, ...] = (3, 32, 32)) -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(n, *shape, generator=generator)
    y = torch.arange(n) % 2
    return DataLoader(TensorDataset(x, y), batch_size=batch_size)


class Recorder(L.Callback):
    """Learning rate used by every optimizer step, and parameter snapshots at every epoch end."""

    def __init__(self) -> None:
        self.lrs: list[float] = []
        self.backbone: list[dict[str, torch.Tensor]] = []
        self.head: list[dict[str, torch.Tensor]] = []
        self.backbone_training: list[bool] = []

    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module: Any, optimizer: Any) -> None:
        self.lrs.append(optimizer.param_groups[0]["lr"])
        self.backbone_training.append(pl_module.backbone.training)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        self.backbone.append({k: v.clone() for k, v in pl_module.backbone.state_dict().items()})
        self.head.append({k: v.clone() for k, v in pl_module.model.head.state_dict().items()})


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_learning_rate_is_multiplied_by_gamma_at_every_step_boundary():
    model = create_detector("xception", backbone=TINY, pretrained=None)
    task = DetectorTask(model, lr=0.01, lr_step_size=3, lr_gamma=0.8)
    recorder = Recorder()
    tiny_trainer(max_epochs=3, callbacks=[recorder]).fit(task, random_loader(n=16, batch_size=4))
    assert len(recorder.lrs) == 12  # stepped per optimizer step, across epoch boundaries
    for step, lr in enumerate(recorder.lrs):
        assert lr == pytest.approx(0.01 * 0.8 ** (step // 3)), step


def test_backbone_frozen_in_warmup_then_trains_while_head_always_trains():
    model = create_detector("xception", backbone=TINY, pretrained=None)
    initial = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    initial_head = {k: v.clone() for k, v in model.head.state_dict().items()}
    assert any("running_mean" in k for k in initial)  # BatchNorm statistics are checked too
    task = DetectorTask(model, lr=0.01)
    recorder = Recorder()
    tiny_trainer(max_epochs=3, callbacks=[BackboneWarmup(2), recorder]).fit(task, random_loader())
    after = recorder.backbone
    assert same(after[0], initial) and same(after[1], initial)  # weights and BN statistics untouched
    assert not same(after[2], initial)  # thawed at epoch 2
    assert not same(recorder.head[0], initial_head)  # the head learned during the warm-up
    assert recorder.backbone_training == [False] * 8 + [True] * 4  # BN in eval mode while frozen
    assert all(p.requires_grad for p in model.backbone.parameters())


def test_frozen_backbone_may_keep_batchnorm_in_train_mode():
    model = create_detector("xception", backbone=TINY, pretrained=None)
    weights = {k: v.clone() for k, v in model.backbone.named_parameters()}
    statistics = {k: v.clone() for k, v in model.backbone.named_buffers() if k.endswith("running_mean")}
    recorder = Recorder()
    warmup = BackboneWarmup(1, batchnorm="train")
    tiny_trainer(max_epochs=1, callbacks=[warmup, recorder]).fit(DetectorTask(model), random_loader())
    assert recorder.backbone_training == [True] * 4  # batch statistics while frozen
    assert all(torch.equal(weights[k], v) for k, v in model.backbone.named_parameters())  # weights frozen
    after = dict(model.backbone.named_buffers())
    assert not all(torch.equal(v, after[k]) for k, v in statistics.items())  # running statistics moved


def test_channels_last_changes_the_layout_not_the_result():
    model = create_detector("xception", domain="srm", backbone=TINY, pretrained=None).eval()
    reference = DetectorTask(model)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        expected = reference(x)
        nhwc = DetectorTask(model, channels_last=True)
        conv = next(m for m in model.backbone.modules() if isinstance(m, torch.nn.Conv2d))
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)
        assert torch.allclose(nhwc(x), expected, atol=1e-5)


def test_weighted_bce_is_the_class_weighted_mean_and_ce2_equals_bce1():
    logits = torch.tensor([[0.3, -1.0], [2.0, 0.5], [-0.2, 0.9]])
    labels = torch.tensor([0, 1, 1])
    weights = torch.tensor([3.0, 0.6])
    p_fake = torch.softmax(logits, dim=1)[:, 1]
    bce = -(labels * p_fake.log() + (1 - labels) * (1 - p_fake).log())
    expected = (bce * weights[labels]).mean()
    assert weighted_bce(logits, labels, weights) == pytest.approx(float(expected), rel=1e-6)
    one_logit = (logits[:, 1] - logits[:, 0]).unsqueeze(1)  # P(fake) = sigmoid(z_fake - z_real)
    assert weighted_bce(one_logit, labels, weights) == pytest.approx(float(expected), rel=1e-6)
    unweighted = F.cross_entropy(logits, labels)
    assert weighted_bce(logits, labels, torch.ones(2)) == pytest.approx(float(unweighted), rel=1e-6)


def write_coded_cache(root: Path, videos: int, frames: int) -> pd.DataFrame:
    """Videos whose crops encode (video, frame) in their red and green values."""
    rows = []
    for video in range(videos):
        uid = f"v{video:02d}"
        records = []
        with atomic_directory(root / uid) as folder:
            for frame in range(frames):
                rgb = np.zeros((16, 16, 3), np.uint8)
                rgb[..., 0], rgb[..., 1] = video, frame
                write_crop(folder / crop_filename(frame), rgb)
                records.append(FrameRecord(index=frame, file=crop_filename(frame)))
            meta = VideoFaces(uid=uid, source={}, detector={}, crop={}, frames=records)
            write_json_atomic(folder / META_FILE, meta.to_json())
        split = "val" if video >= videos - 2 else "train"
        rows.append(
            {"uid": uid, "dataset": "folder", "method": "m", "label": video % 2, "video_id": uid, "target_id": uid,
             "source_id": "", "identity": uid, "compression": "", "split": split, "path": ""}
        )  # fmt: skip
    return pd.DataFrame(rows)


def test_a_sequence_batch_holds_L_consecutive_frames_of_one_video(tmp_path):
    manifest = write_coded_cache(tmp_path, videos=6, frames=20)
    data = FaceDataModule(manifest, tmp_path, seq_len=5, image_size=16, batch_size=6, num_workers=0)
    seen = 0
    for x, _ in data.train_dataloader():
        assert x.shape[1:] == (5, 3, 16, 16)
        codes = x[:, :, :2, 0, 0].long()  # (B, L, [video, frame]); the loader delivers uint8 pixels
        for sequence in codes:
            assert len(set(sequence[:, 0].tolist())) == 1  # one video
            start = int(sequence[0, 1])
            assert start % 5 == 0 and sequence[:, 1].tolist() == list(range(start, start + 5))
            seen += 1
    assert seen == 4 * 20 // 5  # 4 training videos × 4 windows, each exactly once per epoch


def test_presets_hold_the_paper_recipes():
    image = load_config("paper-image")
    assert (image.model.name, image.data.batch_size, image.optim.lr) == ("xception", 32, 0.01)
    assert image.trainer.max_epochs == image.optim.frozen_epochs + 5 == 8
    sequence = load_config("paper-sequence")
    assert (sequence.model.name, sequence.data.batch_size, sequence.optim.lr) == ("xception_lstm", 16, 0.001)
    assert sequence.trainer.max_epochs == sequence.optim.frozen_epochs + 8 == 11
    for cfg in (image, sequence):
        assert (cfg.optim.lr_step_size, cfg.optim.lr_gamma, cfg.optim.frozen_epochs) == (2000, 0.8, 3)
        assert (cfg.loss.kind, cfg.loss.class_weights) == ("ce2", "auto")
        assert (cfg.data.seq_len, cfg.model.lstm_hidden) == (5, 256)
        assert (cfg.model.backbone, cfg.data.image_size, cfg.checkpoint.monitor) == ("legacy_xception", 224, "val/auc")


def test_overrides_are_typed_and_unknown_keys_list_the_valid_ones(tmp_path):
    cfg = load_config(
        "paper-sequence", ["optim.lr=1e-4", "data.seq_len=10", "model.pretrained=null", "trainer.devices=2"]
    )
    assert (cfg.optim.lr, cfg.data.seq_len, cfg.model.pretrained, cfg.trainer.devices) == (1e-4, 10, None, 2)
    with pytest.raises(ConfigError, match=r"unknown config key 'optim.learning_rate'.*optim\.lr,"):
        load_config("paper-image", ["optim.learning_rate=0.1"])
    with pytest.raises(ConfigError, match=r"data\.batch_size must be int"):
        load_config("paper-image", ["data.batch_size=many"])
    with pytest.raises(ConfigError, match=r"model\.domain must be one of"):
        load_config("paper-image", ["model.domain=dct"])
    experiment = tmp_path / "srm.yaml"
    experiment.write_text("base: paper-image\nmodel:\n  domain: srm\n")
    assert load_config(experiment).model.domain == "srm" and load_config(experiment).optim.lr == 0.01
    bare = tmp_path / "bare.yaml"
    bare.write_text("model:\n  name: xception\n")
    with pytest.raises(ConfigError, match=r"missing required setting\(s\) \['data.batch_size'"):
        load_config(bare)


def test_several_devices_train_with_ddp_that_tolerates_the_frozen_backbone():
    strategy = _strategy(load_config("paper-image", ["trainer.devices=4"]))
    assert isinstance(strategy, DDPStrategy) and strategy._ddp_kwargs["find_unused_parameters"] is True
    assert _strategy(load_config("paper-image")) == "auto"


def test_checkpoint_round_trip_rebuilds_the_model_from_json_and_safetensors(tmp_path):
    model = create_detector("xception_lstm", domain="srm", backbone=TINY, pretrained=None, lstm_hidden=16).eval()
    path = save_checkpoint(model, tmp_path / "best", {"global_step": 7})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.json", "best.safetensors"]
    loaded, info = load_checkpoint(tmp_path / "best.safetensors")
    x = torch.rand(2, 3, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), loaded(x))
    assert info["model"]["domain"] == "srm" and info["global_step"] == 7 and path.suffix == ".json"
    assert load_checkpoint(tmp_path / "best.json")[1]["weights_sha256"] == info["weights_sha256"]


class _Payload:
    """Unpickling this writes a file: the proof that a loader executed code from a checkpoint."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def test_loading_never_unpickles_and_rejects_foreign_checkpoints(tmp_path):
    model = create_detector("xception", backbone=TINY, pretrained=None)
    save_checkpoint(model, tmp_path / "best", {})
    marker = tmp_path / "executed"
    (tmp_path / "best.safetensors").write_bytes(pickle.dumps({"state": _Payload(marker)}))
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "best")
    assert not marker.exists()

    (tmp_path / "other.json").write_text('{"architectures": ["BertModel"]}')
    (tmp_path / "other.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match="does not describe a noisetrace detector"):
        load_checkpoint(tmp_path / "other.safetensors")
    with pytest.raises(CheckpointError, match="No checkpoint description"):
        load_checkpoint(tmp_path / "absent.safetensors")
