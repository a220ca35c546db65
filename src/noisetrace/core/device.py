"""Device selection with a clear error instead of a CUDA stack trace."""

from __future__ import annotations

import platform
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from noisetrace.core.errors import ConfigError


def resolve_device(name: str) -> str:
    """Map ``auto`` to ``cuda`` when available (else ``cpu``); refuse ``cuda`` on a machine without it."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {name} was asked for, but PyTorch sees no CUDA device here; use --device cpu.")
    if name != "cpu" and not name.startswith("cuda"):
        raise ConfigError(f"Unknown device {name!r}; use cpu, cuda, cuda:N or auto.")
    return name


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run torch's CPU operators on ``count`` threads inside the block, then restore the setting.

    The setting is process-wide; a block changes it only while work that wants fewer threads runs
    (thin networks beside a decoding thread, or deterministic results whatever the worker count).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, count))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cpu_name() -> str:
    """The processor's marketing name where Linux tells it, else the architecture (benchmark headers)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
