"""Atomic file writes, the one place where a failed write becomes a clear error, and the SHA-256 of a file.

Every long stage writes through these helpers so that a run killed at any instant leaves either
the old file or the complete new one, never a truncated file that a resumed run would trust.

A write that fails (disk full, permission denied, a file where a folder should be, a read-only
filesystem) raises :class:`noisetrace.core.errors.OutputError` made by :func:`output_error`: one line
that names the file and the cause and says that nothing finished was lost, which the atomic writes
guarantee. The helpers here map their own failures; code that writes inside an atomic folder wraps its
writes in :func:`writing`. :func:`check_output_folder` refuses an output folder that cannot be one
before a command starts any work.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from noisetrace.core.errors import OutputError

# errno → (the cause in words, what to do about it)
_CAUSES: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("the disk is full (no space left on device)", "free some space"),
    errno.EDQUOT: ("the disk quota is exceeded", "free some space or raise the quota"),
    errno.EFBIG: ("the file is too large for this filesystem", "write to another filesystem"),
    errno.EACCES: ("permission denied", "fix the folder's permissions or choose another output folder"),
    errno.EPERM: ("the operation is not permitted", "fix the folder's permissions or choose another output folder"),
    errno.EROFS: ("the filesystem is read-only", "choose an output folder on a writable filesystem"),
    errno.ENOTDIR: ("a part of its path is a file, not a folder", "choose another output folder"),
    errno.EEXIST: ("a file of that name is in the way", "remove it or choose another output folder"),
    errno.EISDIR: ("a folder of that name is in the way", "remove it or choose another output folder"),
    errno.ENAMETOOLONG: ("its name is too long for this filesystem", "choose a shorter output path"),
}


def output_error(exc: OSError, path: str | os.PathLike[str] | None = None) -> OutputError:
    """The one-line :class:`OutputError` for a failed write of ``path`` (default: the file ``exc`` names).

    It says which file, why (in words, from the errno), and that nothing finished was lost: every
    output is written whole or not at all, so a rerun after fixing the cause continues cleanly.
    """
    target = path if path is not None else (exc.filename if exc.filename is not None else "an output file")
    cause, remedy = _CAUSES.get(exc.errno or -1, (exc.strerror or str(exc) or type(exc).__name__, "fix the cause"))
    return OutputError(
        f"Cannot write {os.fspath(target)}: {cause}. Nothing finished was lost (outputs are written whole "
        f"or not at all): {remedy}, then run the command again."
    )


@contextmanager
def writing(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn an :class:`OSError` raised while writing ``path`` into :func:`output_error`'s one line."""
    try:
        yield
    except OSError as exc:
        raise output_error(exc, path) from exc


def check_output_folder(path: str | os.PathLike[str], option: str = "-o") -> Path:
    """Refuse, before any work, an output folder that cannot be one; return it as a :class:`Path`.

    It may exist (as a folder) or not (it is created later); a file in its place, a file among its
    parents, or a nearest existing folder that is not writable raises :class:`OutputError`.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(
            f"{option} {path} is a file, not a folder: give a folder (it is created when missing), "
            "or move the file away."
        )
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise OutputError(f"{option} {path} cannot be created: {existing} is a file, not a folder.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(
            f"{option} {path} cannot be written: {existing} is not writable (permission denied, or a "
            "read-only filesystem). Choose another output folder."
        )
    return path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success.

    The temporary file lives in the same directory so the final ``os.replace`` is atomic on POSIX.
    """
    target = Path(target)
    with writing(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
    tmp = Path(tmp_name)
    try:
        with writing(target):
            os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes 0600 files; give the usual permissions
        yield tmp
        with writing(target):
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``target`` atomically (a failure is an :class:`OutputError` naming ``target``)."""
    with atomic_path(target) as tmp, writing(target):
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(target: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``target`` atomically."""
    write_text_atomic(target, json.dumps(obj, indent=2, sort_keys=False) + "\n")


@contextmanager
def atomic_directory(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``target`` only when the block succeeds.

    Used for per-video face-cache folders: a reader sees either no folder or a complete one.
    A stale temporary folder from a killed run is removed the next time the same target is written.
    """
    target = Path(target)
    tmp = target.parent / f".{target.name}.partial"
    with writing(tmp):
        target.parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
    try:
        yield tmp
        with writing(target):
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def not_a_file_reason(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` (named like a media file) cannot be read as one, in words; ``None`` for a regular file.

    For the places that list a folder's videos, so that what they skip is named with the reason: a broken
    symbolic link, a folder with a video's name, a FIFO or device.
    """
    path = Path(path)
    if path.is_file():
        return None
    if path.is_symlink() and not path.exists():
        try:
            return f"a broken symbolic link to {os.readlink(path)}, which does not exist"
        except OSError:
            return "a broken symbolic link"
    if path.is_dir():
        return "a folder, not a file"
    if not path.exists():
        return "it vanished while the folder was read"
    return "not a regular file (a FIFO, socket or device)"


def file_sha256(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """SHA-256 of a file, read in chunks (hex digest): how a face cache traces a crop to the exact video,
    and a checkpoint its weights and the ImageNet weights file a run started from."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
