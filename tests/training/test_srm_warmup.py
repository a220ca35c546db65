"""The frozen warm-up of the SRM columns (issue #10, item 7; docs/decisions.md, benchmarks/srm_warmup.py).

SRM residuals are an order of magnitude smaller than normalized colour, so a frozen trunk whose
BatchNorm normalizes with statistics of colour images (ImageNet's) passes the head a mis-scaled,
offset signal. The shipped Table 1 runs its SRM columns' warm-up with batch statistics
(``optim.frozen_batchnorm=train``); RGB keeps the paper's eval-mode warm-up.
"""

from __future__ import annotations

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from noisetrace.models import create_detector
from noisetrace.protocols import list_specs, load_spec
from noisetrace.training import BackboneWarmup, DetectorTask, TrainConfig, load_config

TINY = "test_resnet"


def column_config(spec_name: str, column_id: str) -> TrainConfig:
    """A column's training config as the grid resolves it (recipe, then its structural keys and overrides)."""
    spec = load_spec(spec_name)
    column = spec.column(column_id)
    keys = [f"model.name={column.model}", f"model.domain={column.domain}"]
    if column.seq_len is not None:
        keys.append(f"data.seq_len={column.seq_len}")
    return load_config(column.recipe, [*keys, *spec.overrides, *column.overrides])


@pytest.mark.parametrize("spec_name", ["paper-table1", "paper-table2"])
def test_shipped_srm_columns_warm_up_with_batch_statistics_and_rgb_keeps_eval(spec_name: str) -> None:
    assert spec_name in list_specs()
    for column in load_spec(spec_name).columns:
        cfg = column_config(spec_name, column.id)
        expected = "train" if column.domain == "srm" else "eval"
        assert cfg.optim.frozen_batchnorm == expected, column.id
        assert cfg.optim.frozen_epochs == 3, column.id  # the paper's warm-up length, in both domains
    table1 = {c.id: c.domain for c in load_spec("paper-table1").columns}
    assert sorted(c for c, d in table1.items() if d == "srm") == ["lstm-srm", "xception-srm"]


def test_presets_keep_the_papers_eval_mode_warm_up() -> None:
    for preset in ("paper-image", "paper-sequence"):
        assert load_config(preset).optim.frozen_batchnorm == "eval"


def smooth_images(n: int, size: int = 64, seed: int = 0) -> torch.Tensor:
    """Image-like pixels in [0, 1]: smooth content plus a little sensor noise (small SRM residuals)."""
    generator = torch.Generator().manual_seed(seed)
    x = F.interpolate(torch.rand(n, 3, 6, 6, generator=generator), size=size, mode="bilinear", align_corners=False)
    return (x + 0.01 * torch.randn(x.shape, generator=generator)).clamp(0, 1)


def trunk_with_colour_statistics(domain: str) -> nn.Module:
    """A detector whose backbone's running statistics describe normalized colour images (as ImageNet's do)."""
    torch.manual_seed(0)
    rgb = create_detector("xception", backbone=TINY, pretrained=None)
    norms = [m for m in rgb.backbone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: the exact statistics of these images
    rgb.backbone.train()
    with torch.no_grad():
        rgb.frame_features(smooth_images(64, seed=1))
    for m in norms:
        m.momentum = 0.1
    model = create_detector("xception", domain=domain, backbone=TINY, pretrained=None)
    model.backbone.load_state_dict(rgb.backbone.state_dict())
    return model


def first_norm_std_during_warmup(domain: str, batchnorm: str) -> float:
    """Per-channel std of the first BatchNorm's output over the warm-up's training batches."""
    model = trunk_with_colour_statistics(domain)
    first = next(m for m in model.backbone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))
    seen: list[float] = []
    first.register_forward_hook(lambda _m, _i, out: seen.append(float(out.std(dim=(0, 2, 3)).mean())))
    loader = DataLoader(TensorDataset(smooth_images(32, seed=2), torch.arange(32) % 2), batch_size=8)
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[BackboneWarmup(1, batchnorm=batchnorm)],
    )
    trainer.fit(DetectorTask(model), loader)
    assert len(seen) == 4
    return sum(seen) / len(seen)


def test_the_srm_columns_setting_brings_residuals_to_the_frozen_trunks_scale() -> None:
    setting = column_config("paper-table1", "xception-srm").optim.frozen_batchnorm
    rgb = first_norm_std_during_warmup("rgb", "eval")
    mismatched = first_norm_std_during_warmup("srm", "eval")
    shipped = first_norm_std_during_warmup("srm", setting)
    assert 0.8 < rgb < 1.2  # colour statistics match colour input
    assert mismatched < 0.5 * rgb  # residuals under colour statistics: far below unit scale
    assert 0.95 < shipped < 1.05  # batch statistics: the residuals normalized to unit scale
