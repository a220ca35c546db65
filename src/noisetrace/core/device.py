"""Device selection with a clear error instead of a CUDA stack trace."""

from __future__ import annotations

from noisetrace.core.errors import ConfigError


def resolve_device(name: str) -> str:
    """Map ``auto`` to ``cuda`` when available (else ``cpu``); refuse ``cuda`` on a machine without it."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"--device {name} was asked for, but PyTorch sees no CUDA device here; use --device cpu."
        )
    if name != "cpu" and not name.startswith("cuda"):
        raise ConfigError(f"Unknown device {name!r}; use cpu, cuda, cuda:N or auto.")
    return name
