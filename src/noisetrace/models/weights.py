"""Offline ImageNet weights for detector backbones: find them locally, load them, never download.

The paper starts both architectures from ImageNet-1K weights (§2.1). Training machines are often
offline, and a silent fallback to random weights would quietly change every result, so weights come
from an explicit file or a local cache, and otherwise :class:`MissingWeightsError` says which file is
needed, where it was looked for and how to obtain it. ``pretrained=None`` trains from scratch on purpose.

Where ``"auto"`` looks, in order (every place a previous ``timm.create_model(..., pretrained=True)`` on
this machine may have left the file):

1. the Hugging Face hub cache (``HF_HUB_CACHE``, else ``HF_HOME/hub``): repository ``timm/<arch>.<tag>``
   (or the pretrained cfg's ``hf_hub_id``), files ``model.safetensors`` and ``pytorch_model.bin``;
2. the torch hub cache (``TORCH_HOME/hub/checkpoints``): the file name of the pretrained cfg's URL, which
   is where timm 1.0.31 itself puts ``legacy_xception``'s ``xception-43020ad28.pth``, and for
   ``legacy_xception`` also Cadene's ``xception-b5690688.pth`` / ``xception-b0b7af25.pth``.

Two file layouts load (``.safetensors`` or a PyTorch pickle read with ``weights_only=True``, so a file
from a stranger cannot run code):

* timm: keys named after timm's modules.
* Cadene ``pretrainedmodels`` (``xception-b5690688.pth``, the file FaceForensics++ and DeepfakeBench
  load): the same key names, because timm's ``legacy_xception`` is Cadene's port, but the 1×1
  pointwise convolutions are stored as 2-D ``(out, in)`` matrices and need ``[..., None, None]``; the
  oldest files also predate BatchNorm's ``num_batches_tracked`` counters.

The ImageNet classifier (``fc``, Cadene's ``last_linear``) is dropped because the detector has its own
head. Any other key that is missing, unexpected or of the wrong shape raises :class:`CheckpointError`:
weights are never loaded with a silent ``strict=False``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import huggingface_hub
import timm
import torch
from timm.models import get_pretrained_cfg
from torch import nn

from noisetrace.core.errors import CheckpointError, ConfigError, MissingWeightsError

__all__ = [
    "PRETRAINED_AUTO",
    "LoadReport",
    "find_local_weights",
    "load_backbone_weights",
    "resolve_weights",
]

_logger = logging.getLogger(__name__)

PRETRAINED_AUTO = "auto"
_HF_FILENAMES = ("model.safetensors", "pytorch_model.bin")
# Files other projects save for the same network. FF++ and DeepfakeBench point to Cadene's b5690688.
_EXTRA_HUB_FILES: dict[str, tuple[str, ...]] = {
    "legacy_xception": ("xception-b5690688.pth", "xception-b0b7af25.pth"),
}
_EXTRA_URLS: dict[str, tuple[str, ...]] = {
    "legacy_xception": ("http://data.lip6.fr/cadene/pretrainedmodels/xception-b5690688.pth (Cadene format)",),
}
# Cadene's pretrainedmodels renames ``fc`` to ``last_linear`` after loading; re-saved files carry it.
_FOREIGN_CLASSIFIERS = ("last_linear",)


@dataclass(frozen=True)
class LoadReport:
    """What :func:`load_backbone_weights` did, for logs and checkpoint metadata."""

    path: Path
    source_format: str  # "timm" or "cadene" (2-D pointwise convolutions were reshaped)
    loaded_keys: int
    reshaped_keys: tuple[str, ...]  # Cadene 2-D pointwise weights made 4-D
    dropped_keys: tuple[str, ...]  # the ImageNet classifier, replaced by the detector's head
    filled_keys: tuple[str, ...]  # BatchNorm counters absent from old files, left at their initial value


@dataclass(frozen=True)
class _Candidates:
    hf_files: tuple[tuple[str, str], ...]  # (repo id, file name)
    hub_files: tuple[str, ...]
    urls: tuple[str, ...]


def _candidates(model_name: str) -> _Candidates:
    cfg = get_pretrained_cfg(model_name)
    if cfg is None:
        raise ConfigError(f"timm has no pretrained configuration for backbone {model_name!r}")
    repos = [cfg.hf_hub_id] if cfg.hf_hub_id else []
    default_repo = f"timm/{cfg.architecture}.{cfg.tag}" if cfg.tag else f"timm/{cfg.architecture}"
    if default_repo not in repos:
        repos.append(default_repo)
    filenames = [cfg.hf_hub_filename] if cfg.hf_hub_filename else list(_HF_FILENAMES)
    hub_files = [Path(urlparse(cfg.url).path).name] if cfg.url else []
    hub_files += _EXTRA_HUB_FILES.get(cfg.architecture, ())
    urls = [f"{cfg.url} (timm format)"] if cfg.url else []
    urls += [f"https://huggingface.co/{repos[0]}/resolve/main/{filenames[0]} (timm format)"]
    urls += _EXTRA_URLS.get(cfg.architecture, ())
    return _Candidates(
        hf_files=tuple((repo, name) for repo in repos for name in filenames),
        hub_files=tuple(hub_files),
        urls=tuple(urls),
    )


def find_local_weights(model_name: str) -> Path:
    """The first local copy of ``model_name``'s ImageNet weights, searched without any network access.

    Raises:
        MissingWeightsError: nothing found; the message lists the file names, the places searched
            and how to obtain the file.
    """
    candidates = _candidates(model_name)
    hf_cache = Path(huggingface_hub.constants.HF_HUB_CACHE)
    for repo, filename in candidates.hf_files:
        # Reads the cache folder only; returns a path string when the file is there.
        cached = huggingface_hub.try_to_load_from_cache(repo, filename, cache_dir=hf_cache)
        if isinstance(cached, str):
            return Path(cached)
    hub_dir = Path(torch.hub.get_dir()) / "checkpoints"
    for filename in candidates.hub_files:
        if (hub_dir / filename).is_file():
            return hub_dir / filename

    hf_list = ", ".join(f"{repo}/{name}" for repo, name in candidates.hf_files)
    hub_list = ", ".join(candidates.hub_files) or "(timm names no file for this model)"
    urls = "\n".join(f"    {url}" for url in candidates.urls)
    raise MissingWeightsError(
        f"No local ImageNet weights for backbone {model_name!r}; nothing is downloaded at run time.\n"
        f"Looked in:\n"
        f"  - Hugging Face cache {hf_cache} (set by HF_HUB_CACHE / HF_HOME): {hf_list}\n"
        f"  - torch hub cache {hub_dir} (set by TORCH_HOME): {hub_list}\n"
        f"To fix it, on a machine with internet download one of\n{urls}\n"
        f"and pass it with pretrained=PATH (CLI: --pretrained PATH), or put it in the torch hub cache "
        f"above; or run  python -c \"import timm; timm.create_model('{model_name}', pretrained=True)\"  "
        f"there and copy its cache folder here. To train from scratch on purpose, pass pretrained=None "
        f"(CLI: --pretrained none)."
    )


def resolve_weights(pretrained: str | Path | None, model_name: str) -> Path | None:
    """Turn a ``pretrained`` argument into a weights file, or ``None`` for training from scratch.

    ``"auto"``: :func:`find_local_weights`; ``None`` or ``"none"``: no weights, on purpose; anything
    else: the path of a weights file, which must exist.
    """
    if pretrained is None or (isinstance(pretrained, str) and pretrained.lower() == "none"):
        return None
    if isinstance(pretrained, str) and pretrained == PRETRAINED_AUTO:
        return find_local_weights(model_name)
    path = Path(pretrained).expanduser()
    if not path.is_file():
        raise MissingWeightsError(
            f"Weights file {path} does not exist. Pass an existing timm or Cadene-format file, "
            f"'auto' to search the local caches, or 'none' to train from scratch on purpose."
        )
    return path


def _classifier_prefixes(backbone: nn.Module) -> tuple[str, ...]:
    classifier = getattr(backbone, "pretrained_cfg", {}).get("classifier") or ()
    names = (classifier,) if isinstance(classifier, str) else tuple(classifier)
    return tuple(f"{name}." for name in (*names, *_FOREIGN_CLASSIFIERS))


def _preview(keys: list[str]) -> str:
    shown = ", ".join(keys[:5])
    return f"{len(keys)} ({shown}{', ...' if len(keys) > 5 else ''})"


def load_backbone_weights(backbone: nn.Module, path: str | Path) -> LoadReport:
    """Load timm- or Cadene-format ImageNet weights into a timm backbone built with ``num_classes=0``.

    Raises:
        MissingWeightsError: ``path`` does not exist.
        CheckpointError: the file cannot be read, or its tensors do not fit the backbone.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(f"Weights file {path} does not exist.")
    try:
        state = timm.models.load_state_dict(str(path), weights_only=True)
    except Exception as err:  # any reader failure means the same thing to the user
        raise CheckpointError(f"Cannot read weights file {path}: {err}") from err

    expected = backbone.state_dict()
    prefixes = _classifier_prefixes(backbone)
    dropped = sorted(key for key in state if key.startswith(prefixes) and key not in expected)
    state = {key: value for key, value in state.items() if key not in dropped}

    reshaped = []
    for key, value in state.items():
        target = expected.get(key)
        if (
            target is not None
            and value.ndim == 2
            and target.ndim == 4
            and target.shape[2:] == (1, 1)
            and value.shape == target.shape[:2]
        ):
            state[key] = value[:, :, None, None]
            reshaped.append(key)

    missing = sorted(set(expected) - set(state))
    filled = [key for key in missing if key.endswith("num_batches_tracked")]
    missing = [key for key in missing if key not in filled]
    unexpected = sorted(set(state) - set(expected))
    mismatched = sorted(
        f"{key} {tuple(state[key].shape)} vs {tuple(expected[key].shape)}"
        for key in set(state) & set(expected)
        if state[key].shape != expected[key].shape
    )
    if missing or unexpected or mismatched:
        problems = [
            f"{label}: {_preview(keys)}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", mismatched))
            if keys
        ]
        architecture = getattr(backbone, "pretrained_cfg", {}).get("architecture", type(backbone).__name__)
        raise CheckpointError(
            f"Weights file {path} does not fit backbone {architecture!r}: {'; '.join(problems)}. "
            f"Is it a file for another architecture?"
        )
    for key in filled:
        state[key] = expected[key]
    backbone.load_state_dict(state, strict=True)

    report = LoadReport(
        path=path,
        source_format="cadene" if reshaped else "timm",
        loaded_keys=len(state) - len(filled),
        reshaped_keys=tuple(reshaped),
        dropped_keys=tuple(dropped),
        filled_keys=tuple(filled),
    )
    _logger.info(
        "loaded %s-format weights from %s: %d tensors, dropped %s",
        report.source_format,
        path,
        report.loaded_keys,
        list(dropped),
    )
    return report
