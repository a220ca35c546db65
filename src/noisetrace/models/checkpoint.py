"""The noisetrace checkpoint: safetensors weights + a JSON description, nothing pickled.

A checkpoint is two files side by side::

    best.safetensors   the detector's state dict (tensors only)
    best.json          what the weights are: the architecture (``detector_config``), the input the model
                       expects, how to read its output, the training config, the manifest hash, the
                       ImageNet weights file it started from (path and SHA-256), the code version,
                       the validation metric and step at which it was saved

The description names the SHA-256 of the weights (``weights_sha256``) and of its own architecture
section (``model_sha256``: the canonical JSON of ``model``, see :func:`model_sha256`), so that an edit
of either is caught on load: the weights of an RGB model load just as well into an SRM one, and only
the hash can tell. A description without ``model_sha256`` (written before it existed) is accepted.
The hash covers ``model`` alone, so a description copied beside new weights (the shipped model's:
``weights`` and ``weights_sha256`` replaced) keeps a valid one.

Loading reads JSON and safetensors only, so a checkpoint from a stranger cannot execute code (unlike
``torch.load`` of a pickle); the model is rebuilt by registered name through
:func:`noisetrace.models.create_detector`, never from serialized classes. Lightning's ``last.ckpt``,
which also holds optimizer state, exists only for ``--resume`` (a completed run removes it unless told
to keep it) and is itself loaded with ``weights_only=True``. Both files get the usual permissions of
the umask, like every other output.

The format lives with the models, not with training, so that everything that only *reads* checkpoints
(``predict``, ``evaluate``, protocols, the demo, benchmarks, scripts) needs neither Lightning nor the
training stage; :mod:`noisetrace.training` writes its checkpoints through :func:`save_checkpoint`.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

import noisetrace
from noisetrace.core.errors import CheckpointError, NoisetraceError
from noisetrace.core.io import atomic_path, file_sha256, write_json_atomic, writing
from noisetrace.models.detector import Detector
from noisetrace.models.registry import create_detector, detector_config, is_sequence_detector

__all__ = [
    "CHECKPOINT_FORMAT",
    "FRAME_FEATURE_PREFIXES",
    "checkpoint_input",
    "checkpoint_paths",
    "checkpoint_seq_len",
    "init_from_checkpoint",
    "input_description",
    "load_checkpoint",
    "model_sha256",
    "output_description",
    "pretrained_weights_record",
    "read_checkpoint_info",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = "noisetrace-detector"
DEFAULT_IMAGE_SIZE = 224
CHECKPOINT_FORMAT_VERSION = 1
MAX_IMAGE_SIZE = 4096  # pixels per side: more is a typo, not a model input


def model_sha256(model: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a description's ``model`` section (sorted keys, no spaces,
    ASCII): what ``model_sha256`` records, so that a hand-edited architecture is caught on load."""
    canonical = json.dumps(model, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def checkpoint_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(weights, description)`` for a checkpoint named by either file or by the common stem."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in {".safetensors", ".json"} else path
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


def pretrained_weights_record(requested: str | os.PathLike[str] | None, report: Any | None) -> dict[str, Any]:
    """Which ImageNet weights file a model started from, for ``best.json``: what the config asked for
    (``auto``, a path, or none), the file that was resolved and loaded (absolute path) and its SHA-256,
    so a result can be traced to the exact weights. ``report`` is the model's ``weights_report`` (a
    :class:`noisetrace.models.weights.LoadReport`, or ``None`` when no weights were loaded)."""
    path = getattr(report, "path", None)
    resolved = Path(path).resolve() if path is not None else None
    return {
        "requested": None if requested is None else str(requested),
        "path": str(resolved) if resolved is not None else None,
        "sha256": file_sha256(resolved) if resolved is not None and resolved.is_file() else None,
        "source_format": getattr(report, "source_format", None),
    }


def input_description(model: Detector, image_size: int, seq_len: int | None) -> dict[str, Any]:
    """The input contract, so a user of the checkpoint need not know the training config."""
    config = detector_config(model)
    return {
        "layout": "(B, L, 3, H, W)" if model.is_sequence else "(B, 3, H, W)",
        "image_size": image_size,
        "seq_len": seq_len if model.is_sequence else None,
        "channels": "RGB",
        "value_range": [0.0, 1.0],
        "normalization": {
            "applied_by": "model",
            "domain": model.domain,
            "mean": config.get("mean"),
            "std": config.get("std"),
            "srm_placement": config.get("srm_placement"),
        },
    }


def output_description(model: Detector) -> dict[str, Any]:
    """How logits become the fake score every later stage uses."""
    rule = "softmax(logits)[:, 1]" if model.num_logits == 2 else "sigmoid(logits)[:, 0]"
    return {"num_logits": model.num_logits, "score": "P(fake)", "score_from_logits": rule}


def save_checkpoint(model: Detector, path: str | os.PathLike[str], info: Mapping[str, Any]) -> Path:
    """Write ``<stem>.safetensors`` then ``<stem>.json`` (both atomically); return the JSON path.

    ``info`` adds training facts (config, metric, step, …) to the description; the architecture,
    format and code version are filled in here. The JSON is written last and names the weights'
    SHA-256, so a description always refers to complete weights.
    """
    weights_path, info_path = checkpoint_paths(path)
    # clone(): safetensors refuses tensors that share storage; contiguous CPU copies never do.
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    with atomic_path(weights_path) as tmp, writing(weights_path):
        mode = stat.S_IMODE(tmp.stat().st_mode)  # the umask-derived mode atomic_path gave the file
        save_file(tensors, str(tmp), metadata={"format": CHECKPOINT_FORMAT})
        os.chmod(tmp, mode)  # safetensors writes a fresh 0600 file in its place
    architecture = json.loads(json.dumps(detector_config(model)))  # as it reads back (tuples → lists)
    description = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "weights": weights_path.name,
        "weights_sha256": file_sha256(weights_path),
        "model_sha256": model_sha256(architecture),
        "model": architecture,
        "output": output_description(model),
        "code_version": noisetrace.__version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **dict(info),
    }
    write_json_atomic(info_path, description)
    return info_path


def read_checkpoint_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON description of a checkpoint; :class:`CheckpointError` unless it describes a detector."""
    _, info_path = checkpoint_paths(path)
    if not info_path.is_file():
        raise CheckpointError(
            f"No checkpoint description {info_path}. A noisetrace checkpoint is a .safetensors file with a "
            ".json beside it, as written by `noisetrace train` into RUN_DIR/checkpoints/."
        )
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"Cannot read checkpoint description {info_path}: {exc}") from exc
    if not isinstance(info, dict) or info.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{info_path} does not describe a noisetrace detector (no format {CHECKPOINT_FORMAT!r}).")
    version = info.get("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise CheckpointError(
            f"{info_path}: 'format_version' must be a whole number (this noisetrace writes "
            f"{CHECKPOINT_FORMAT_VERSION}), got {version!r}; the description was edited or is not noisetrace's."
        )
    if version > CHECKPOINT_FORMAT_VERSION:
        raise CheckpointError(
            f"{info_path} has checkpoint format version {version}, newer than this noisetrace "
            f"({noisetrace.__version__}) reads ({CHECKPOINT_FORMAT_VERSION}); upgrade noisetrace."
        )
    if not isinstance(info.get("model"), dict) or not isinstance(info["model"].get("name"), str):
        raise CheckpointError(f"{info_path} lacks the architecture ('model' with a detector 'name').")
    recorded = info.get("model_sha256")
    if recorded is not None:
        try:
            actual = model_sha256(info["model"])
        except ValueError:  # NaN or infinity in the section: not what save_checkpoint wrote
            actual = None
        if actual != recorded:
            raise CheckpointError(
                f"{info_path}: the architecture description ('model') was edited after the checkpoint was saved "
                "(its SHA-256 differs from 'model_sha256'); the weights would be read as a different model. "
                "Restore the original .json."
            )
    return info


def load_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> tuple[Detector, dict[str, Any]]:
    """Rebuild the detector a checkpoint describes and load its weights; the model is in eval mode.

    ``path`` may name the ``.safetensors`` file, the ``.json`` file, or their common stem.
    """
    info, weights_path, state = _read_weights(path, map_location)
    try:
        model = create_detector(**{**info["model"], "pretrained": None})
    except (NoisetraceError, TypeError, ValueError) as exc:
        raise CheckpointError(f"Cannot rebuild the model described by {path}: {exc}") from exc
    missing, unexpected = _compare_keys(model, state)
    if missing or unexpected:
        raise CheckpointError(
            f"Checkpoint weights {weights_path} do not fit the described {info['model']['name']} model: "
            f"missing {missing[:5]}{'…' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{'…' if len(unexpected) > 5 else ''}."
        )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # shape mismatches
        raise CheckpointError(f"Checkpoint weights {weights_path} do not fit the described model: {exc}") from exc
    return model.to(map_location).eval(), info


def _read_weights(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> tuple[dict[str, Any], Path, dict[str, torch.Tensor]]:
    """A checkpoint's description, weights file and tensors, the weights checked against their SHA-256."""
    info = read_checkpoint_info(path)
    default_weights, info_path = checkpoint_paths(path)
    # Only a file name is honoured: a description cannot point the loader outside its own folder.
    weights_path = info_path.with_name(Path(str(info.get("weights", default_weights.name))).name)
    if not weights_path.is_file():
        raise CheckpointError(f"Checkpoint weights {weights_path} are missing (described by {info_path}).")
    expected_sha = info.get("weights_sha256")
    if expected_sha is not None and file_sha256(weights_path) != expected_sha:
        raise CheckpointError(
            f"Checkpoint weights {weights_path} do not match their description {info_path} "
            "(SHA-256 differs): the two files come from different saves."
        )
    try:
        state = load_file(str(weights_path), device=str(map_location))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"Cannot read checkpoint weights {weights_path}: {exc}") from exc
    return info, weights_path, state


# What a detector learns about single frames: the input stage (the fusion domains' residual
# normalization) and the trunk. The head is the architecture's own (linear or LSTM).
FRAME_FEATURE_PREFIXES = ("input_stage.", "backbone.")


def init_from_checkpoint(model: Detector, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Start ``model``'s input stage and trunk from another detector's checkpoint; its head stays new.

    The way to give the paper's sequence model (XceptionNet + LSTM) a trunk that already knows frames
    when no ImageNet file is at hand: a frame detector trained by noisetrace (the ``wild`` recipe's, or
    the shipped one). Domain, backbone and input normalization must be the same, and every input-stage
    and trunk tensor must fit, or :class:`CheckpointError` says what differs; nothing is loaded
    partially. The record (path, weights SHA-256, tensors) is returned and kept as
    ``model.initialized_from`` for the new checkpoint's description.
    """
    info, weights_path, state = _read_weights(path)
    theirs, ours = info["model"], json.loads(json.dumps(detector_config(model)))  # tuples as JSON lists
    for key in ("domain", "backbone", "srm_truncation", "srm_placement", "mean", "std", "backbone_kwargs"):
        if theirs.get(key) != ours.get(key):
            raise CheckpointError(
                f"{path} cannot start this model: its {key} is {theirs.get(key)!r}, this model's {ours.get(key)!r}."
            )
    wanted = {key for key in model.state_dict() if key.startswith(FRAME_FEATURE_PREFIXES)}
    given = {key: value for key, value in state.items() if key.startswith(FRAME_FEATURE_PREFIXES)}
    if set(given) != wanted:
        missing, extra = sorted(wanted - set(given)), sorted(set(given) - wanted)
        raise CheckpointError(f"{path} does not fit this model's trunk: missing {missing[:5]}, unexpected {extra[:5]}.")
    try:
        model.load_state_dict(given, strict=False)
    except RuntimeError as exc:  # shape mismatches
        raise CheckpointError(f"{path} does not fit this model's trunk: {exc}") from exc
    model.initialized_from = {"path": str(path), "weights_sha256": file_sha256(weights_path), "tensors": len(given)}
    return model.initialized_from


def _compare_keys(model: torch.nn.Module, state: Mapping[str, torch.Tensor]) -> tuple[list[str], list[str]]:
    expected = set(model.state_dict())
    return sorted(expected - set(state)), sorted(set(state) - expected)


def checkpoint_input(
    info: Mapping[str, Any], is_sequence: bool, path: str | os.PathLike[str]
) -> tuple[int, int | None]:
    """``(image_size, seq_len)`` the checkpoint was trained with: its ``input`` description first,
    then its training config; sequence models must state ``L``. Inference cuts and feeds exactly
    this input, so a model sees what it learned from."""
    described = info.get("input") if isinstance(info.get("input"), Mapping) else {}
    training = info.get("training") if isinstance(info.get("training"), Mapping) else {}
    data = training.get("data") if isinstance(training.get("data"), Mapping) else {}
    image_size = _first_set(described, data, "image_size")
    image_size = DEFAULT_IMAGE_SIZE if image_size is None else _whole(image_size, "image_size", path, 8, MAX_IMAGE_SIZE)
    if not is_sequence:
        return image_size, None
    seq_len = _first_set(described, data, "seq_len")
    if seq_len is None:
        raise CheckpointError(
            f"Checkpoint {path} holds a sequence model but does not say its sequence length "
            "(neither input.seq_len nor training.data.seq_len); it was not written by `noisetrace train`."
        )
    return image_size, _whole(seq_len, "seq_len", path, 1, 10_000)


def _first_set(described: Mapping[str, Any], data: Mapping[str, Any], key: str) -> Any:
    """``input.<key>``, else ``training.data.<key>``; ``None`` when neither is set."""
    value = described.get(key)
    return data.get(key) if value is None else value


def _whole(value: Any, key: str, path: str | os.PathLike[str], low: int, high: int) -> int:
    """``value`` as a whole number in ``[low, high]``, or a :class:`CheckpointError` naming the field."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise CheckpointError(
            f"Checkpoint {path}: '{key}' must be a whole number from {low} to {high}, got {value!r}; "
            "the description was edited or is not noisetrace's."
        )
    return value


def checkpoint_seq_len(path: str | os.PathLike[str]) -> int | None:
    """The sequence length ``L`` a checkpoint's items are cut with (as :func:`checkpoint_input`);
    ``None`` for a frame model."""
    info = read_checkpoint_info(path)
    try:
        is_sequence = is_sequence_detector(str(info["model"]["name"]))
    except NoisetraceError as exc:
        raise CheckpointError(f"Checkpoint {path} describes an unknown detector: {exc}") from exc
    return checkpoint_input(info, is_sequence, path)[1]
