"""Fuzz the extract and predict paths with damaged copies of real videos: no traceback, no hang.

Every file is a real video (``../shared/data/real_videos`` and ``../shared/data/samples``) with one
seeded mutation:

- ``header_bitflip``: 1 to 16 bits flipped in the first 4 KiB or, for an MP4, in its ``moov`` box
  (the index: sample tables, sizes, rates);
- ``payload_bitflip``: 1 to 64 bits flipped in the coded frames (an MP4's ``mdat``, else past 4 KiB);
- ``truncate``: the file cut at a random offset;
- ``zero_range``: 1 byte to 64 KiB set to zero at a random place;
- ``absurd_metadata``: one MP4 header field set to an absurd value: a time scale of 0 or 2³²−1, a
  duration of 2³²−1, a track or sample-entry size of 0×0 or 65535×65535, 4 billion samples in
  ``stsz`` or ``stts``, a zero sample duration (a file that is not an MP4 gets header bit flips).

Each file goes through the library's extract path (``FaceExtractor.process``, what ``noisetrace
extract`` runs per video) and predict path (``noisetrace.predict.predict_videos``, with
``--checkpoint``, default the shipped model) in a child process, one call at a time, each under a time
limit and a memory limit. A call that uses ``--limit`` seconds of CPU (it spins), or gives no answer in
ten times that (it waits forever), is a *hang*: every thread's stack is taken from the child
(``faulthandler``), the child is killed and a fresh one started. The limit counts CPU time first
because on a shared machine a child run with ``nice`` may wait long for a core without hanging.
An exception escaping the library is a *traceback*; a ``NoisetraceError`` escaping it is counted apart
(``error:<class>``: one clear line, but it stops a whole run where a per-video status was due); a
child that dies is a *crash*. The table lists the statuses by kind and the child's peak memory.

    python benchmarks/fuzz.py                                  # 50 files, both paths, seed 0
    python benchmarks/fuzz.py --files 200 --seed 3 --frames 8 --paths extract
    python benchmarks/fuzz.py --checkpoint runs/srm/checkpoints/best.json --keep fuzz-failures
    python benchmarks/fuzz.py --json summary.json              # the table as JSON too (tests read it)
    python benchmarks/fuzz.py --replay kept/*.mp4 --files 5    # each kept file 5 times: reproducible?

Exit status 1 when any call gave a traceback, a hang, a crash or went over the memory limit.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SOURCE_FOLDERS = (SHARED / "real_videos", SHARED / "samples")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
PATHS = ("extract", "predict")
FAILURES = ("traceback", "hang", "crash", "over_memory")
STARTUP_SECONDS = 300  # importing torch and building the detector, on a busy machine


# ------------------------------------------------------------------------------------------- mutations


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int, int]]:
    """MP4 boxes ``(type, offset, header size, total size)``, depth first into the container boxes."""
    end = len(data) if end is None else end
    containers = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"}
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        header = 8
        if size == 1 and offset + 16 <= end:
            size, header = struct.unpack(">Q", data[offset + 8 : offset + 16])[0], 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end or not kind.isalnum():
            return
        yield kind, offset, header, size
        if kind in containers:
            yield from _boxes(data, offset + header, offset + size)
        offset += size


def _find(data: bytes, kind: bytes) -> list[tuple[int, int, int]]:
    return [(offset, header, size) for k, offset, header, size in _boxes(data) if k == kind]


def _flip_bits(data: bytearray, rng: random.Random, low: int, high: int, count: int) -> str:
    high = max(low + 1, min(high, len(data)))
    for _ in range(count):
        position = rng.randrange(low, high)
        data[position] ^= 1 << rng.randrange(8)
    return f"{count} bit(s) flipped in bytes {low}-{high}"


def header_bitflip(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    out = bytearray(data)
    moov = _find(data, b"moov")
    if moov and rng.random() < 0.5:
        offset, _, size = moov[0]
        description = "moov: " + _flip_bits(out, rng, offset, offset + size, rng.randint(1, 16))
    else:
        description = _flip_bits(out, rng, 0, 4096, rng.randint(1, 16))
    return bytes(out), description


def payload_bitflip(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    out = bytearray(data)
    mdat = _find(data, b"mdat")
    low, high = (mdat[0][0] + mdat[0][1], mdat[0][0] + mdat[0][2]) if mdat else (min(4096, len(data) - 1), len(data))
    description = _flip_bits(out, rng, low, high, rng.randint(1, 64))
    return bytes(out), description


def truncate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    cut = rng.randrange(len(data))
    return data[:cut], f"cut at byte {cut} of {len(data)}"


def zero_range(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    length = min(len(data), int(2 ** rng.uniform(0, 16)))
    start = rng.randrange(len(data) - length + 1)
    return data[:start] + bytes(length) + data[start + length :], f"{length} byte(s) zeroed at {start}"


def _set(out: bytearray, offset: int, fmt: str, *values: int) -> None:
    struct.pack_into(fmt, out, offset, *values)


def absurd_metadata(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One header field of an MP4 set to an absurd value; header bit flips for other containers."""
    out = bytearray(data)
    edits: list[tuple[str, Callable[[], None]]] = []
    for kind in (b"mvhd", b"mdhd"):
        for offset, header, _ in _find(data, kind):
            base = offset + header
            wide = out[base] == 1  # version 1: 64-bit times
            scale_at = base + (20 if wide else 12)
            duration_at = scale_at + 4
            name = kind.decode()
            for value in (0, 0xFFFFFFFF):
                edits.append((f"{name} timescale = {value}", lambda a=scale_at, v=value: _set(out, a, ">I", v)))
            if wide:
                edits.append((f"{name} duration = 2^64-1", lambda a=duration_at: _set(out, a, ">Q", 2**64 - 1)))
            else:
                edits.append((f"{name} duration = 2^32-1", lambda a=duration_at: _set(out, a, ">I", 0xFFFFFFFF)))
    for offset, header, _ in _find(data, b"tkhd"):
        base = offset + header
        size_at = base + (88 if out[base] == 1 else 76)
        for w, h in ((0, 0), (0xFFFF, 0xFFFF)):  # 16.16 fixed point
            edits.append((f"tkhd size = {w}x{h}", lambda a=size_at, w=w, h=h: _set(out, a, ">II", w << 16, h << 16)))
    for offset, header, _ in _find(data, b"stsd"):
        entry = offset + header + 8  # version/flags, entry count
        size_at = entry + 8 + 6 + 2 + 16  # box header, reserved, data reference, pre-defined
        for w, h in ((0, 0), (0xFFFF, 0xFFFF)):
            edits.append((f"sample entry size = {w}x{h}", lambda a=size_at, w=w, h=h: _set(out, a, ">HH", w, h)))
    for offset, header, _ in _find(data, b"stsz"):
        edits.append(("stsz sample count = 2^32-1", lambda a=offset + header + 8: _set(out, a, ">I", 0xFFFFFFFF)))
    for offset, header, _ in _find(data, b"stts"):
        count_at = offset + header + 4
        edits.append(("stts entry count = 2^32-1", lambda a=count_at: _set(out, a, ">I", 0xFFFFFFFF)))
        edits.append(("stts sample delta = 0", lambda a=count_at + 8: _set(out, a, ">I", 0)))
        edits.append(("stts sample count = 2^32-1", lambda a=count_at + 4: _set(out, a, ">I", 0xFFFFFFFF)))
    if not edits:
        mutated, description = header_bitflip(data, rng)
        return mutated, "not an MP4 (no header boxes found): " + description
    name, edit = rng.choice(edits)
    edit()
    return bytes(out), name


MUTATIONS: dict[str, Callable[[bytes, random.Random], tuple[bytes, str]]] = {
    "header_bitflip": header_bitflip,
    "payload_bitflip": payload_bitflip,
    "truncate": truncate,
    "zero_range": zero_range,
    "absurd_metadata": absurd_metadata,
}


def source_videos(folders: tuple[Path, ...] = SOURCE_FOLDERS) -> list[Path]:
    videos = [p for folder in folders if folder.is_dir() for p in sorted(folder.rglob("*"))]
    return [p for p in videos if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES]


@dataclass
class Mutant:
    path: Path
    source: Path
    mutation: str
    description: str


def make_mutants(sources: list[Path], count: int, seed: int, folder: Path) -> list[Mutant]:
    """``count`` damaged copies: mutations in turn, sources and the damage drawn from ``seed``."""
    rng = random.Random(seed)
    names = list(MUTATIONS)
    mutants = []
    for number in range(count):
        source = rng.choice(sources)
        mutation = names[number % len(names)]
        data, description = MUTATIONS[mutation](source.read_bytes(), rng)
        target = folder / f"{number:04d}_{mutation}_{source.stem[:40]}{source.suffix}"
        target.write_bytes(data)
        mutants.append(Mutant(target, source, mutation, description))
    return mutants


# ---------------------------------------------------------------------------------------- the child


def worker(frames: int, paths: list[str], checkpoint: str | None, threads: int, scratch: str) -> None:
    """The child: read one job per line on stdin, answer one JSON line per job on the original stdout."""
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the libraries print goes to the log, not into the answers
    import faulthandler
    import traceback

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # a hang's stacks, into the log

    import torch

    torch.set_num_threads(threads)
    from noisetrace.core.errors import NoisetraceError
    from noisetrace.faces.extract import ExtractSettings, FaceExtractor
    from noisetrace.predict import PredictSettings, predict_videos

    extractor = FaceExtractor(ExtractSettings(frames=frames)) if "extract" in paths else None
    settings = PredictSettings(frames=frames)
    channel.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        job = json.loads(line)
        reply: dict[str, Any]
        try:
            if job["path"] == "extract":
                assert extractor is not None
                cache = Path(tempfile.mkdtemp(dir=scratch))
                try:
                    result = extractor.process("fuzz", job["file"], cache)
                finally:
                    shutil.rmtree(cache, ignore_errors=True)
                reply = {"status": result.status, "message": result.message}
            else:
                assert checkpoint is not None
                (record,) = predict_videos([job["file"]], checkpoint, settings=settings)
                reply = {"status": record["status"], "message": record["message"]}
        except NoisetraceError as exc:
            reply = {"status": f"error:{type(exc).__name__}", "message": str(exc)}
        except Exception as exc:  # what the fuzzer looks for
            reply = {
                "status": "traceback",
                "message": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
            }
        reply["message"] = str(reply["message"])[:300]
        reply["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        channel.write(json.dumps(reply) + "\n")


class Child:
    """One worker process, restarted after a hang, a crash or too much memory."""

    def __init__(self, command: list[str], log: Path) -> None:
        self.command, self.log = command, log
        self.process: subprocess.Popen[str] | None = None
        self.peak_mib = 0.0

    def _start(self) -> subprocess.Popen[str]:
        with self.log.open("a") as log:
            process = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
            )
        reply = self._read(process, STARTUP_SECONDS, None, wall_limit=STARTUP_SECONDS * 4)
        if reply is None or not reply.get("ready"):
            self._kill(process)
            raise SystemExit(f"the fuzz worker did not start; see {self.log}")
        return process

    @staticmethod
    def _rss_mib(pid: int) -> float | None:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    @staticmethod
    def _cpu_seconds(pid: int) -> float | None:
        """User + system CPU time of the process, all threads (Linux ``/proc``; ``None`` elsewhere)."""
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _read(
        self, process: subprocess.Popen[str], cpu_limit: float, max_mib: float | None, wall_limit: float | None = None
    ) -> dict[str, Any] | None:
        """The next answer; ``{"status": "hang"|"crash"|"over_memory"}`` when there is none.

        A call hangs when it has used ``cpu_limit`` seconds of CPU (it spins), or when ``wall_limit``
        seconds pass without an answer (it waits forever; default 10 × ``cpu_limit``). CPU time is what
        counts first because on a shared machine a niced child may wait long for a core without hanging.
        """
        assert process.stdout is not None
        start, cpu_start = time.monotonic(), self._cpu_seconds(process.pid)
        wall_limit = 10 * cpu_limit if wall_limit is None else wall_limit
        while True:
            wall = time.monotonic() - start
            cpu_now = self._cpu_seconds(process.pid)
            cpu = cpu_now - cpu_start if cpu_now is not None and cpu_start is not None else wall
            if cpu >= cpu_limit or wall >= wall_limit:
                return {"status": "hang", "message": f"no answer after {wall:.0f} s ({cpu:.0f} s of CPU)"}
            ready, _, _ = select.select([process.stdout], [], [], 0.2)
            if ready:
                line = process.stdout.readline()
                if not line:
                    process.wait()
                    return {"status": "crash", "message": f"the child died (exit status {process.returncode})"}
                reply = json.loads(line)
                reply["cpu_s"] = round(cpu, 2)
                return reply
            rss = self._rss_mib(process.pid)
            if rss is not None:
                self.peak_mib = max(self.peak_mib, rss)
                if max_mib is not None and rss > max_mib:
                    return {"status": "over_memory", "message": f"{rss:.0f} MiB resident, over {max_mib:.0f}"}

    @staticmethod
    def _kill(process: subprocess.Popen[str]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def start(self) -> None:
        if self.process is None:
            self.process = self._start()

    def run(self, job: dict[str, str], seconds: float, max_mib: float) -> dict[str, Any]:
        self.start()
        assert self.process is not None
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(job) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            reply: dict[str, Any] | None = {"status": "crash", "message": "the child had died"}
        else:
            reply = self._read(self.process, seconds, max_mib)
        assert reply is not None
        if reply["status"] == "hang":  # where it hangs: every thread's stack, from the child's log
            size = self.log.stat().st_size
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGUSR1)
            time.sleep(2)
            with self.log.open() as log:
                log.seek(size)
                reply["traceback"] = log.read()[-6000:]
        if reply["status"] in ("hang", "crash", "over_memory"):
            self._kill(self.process)
            self.process = None
        else:
            self.peak_mib = max(self.peak_mib, float(reply.get("maxrss_mib", 0.0)))
        return reply

    def close(self) -> None:
        if self.process is not None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._kill(self.process)
            self.process = None


# ---------------------------------------------------------------------------------------- the run


@dataclass
class Summary:
    seed: int
    files: int
    paths: list[str]
    frames: int
    limit_s: float
    statuses: dict[str, dict[str, int]] = field(default_factory=dict)  # path → status → count
    by_mutation: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # mutation → path → status
    tracebacks: int = 0
    hangs: int = 0
    crashes: int = 0
    over_memory: int = 0
    error_lines: int = 0
    peak_memory_mib: float = 0.0
    slowest_s: float = 0.0  # wall seconds of the slowest call
    most_cpu_s: float = 0.0  # CPU seconds of the call that used most
    problems: list[dict[str, Any]] = field(default_factory=list)


def run(
    files: int,
    seed: int,
    paths: list[str],
    frames: int,
    limit_s: float,
    max_memory_mib: float,
    checkpoint: str | None,
    threads: int,
    keep: Path | None,
    sources: list[Path] | None = None,
    replay: list[Path] | None = None,
) -> Summary:
    sources = sources if sources is not None else source_videos()
    if not sources:
        raise SystemExit(f"no source videos in {', '.join(map(str, SOURCE_FOLDERS))}")
    summary = Summary(seed, files, paths, frames, limit_s)
    with tempfile.TemporaryDirectory(prefix="noisetrace-fuzz-") as work:
        work_dir = Path(work)
        (work_dir / "mutants").mkdir()
        (work_dir / "scratch").mkdir()
        if replay:
            mutants = [Mutant(path, path, "replay", f"as given, run {n + 1}") for n in range(files) for path in replay]
        else:
            mutants = make_mutants(sources, files, seed, work_dir / "mutants")
        summary.files = len(mutants)
        command = [
            sys.executable, str(Path(__file__).resolve()), "--worker", "--frames", str(frames),
            "--threads", str(threads), "--paths", *paths, "--scratch", str(work_dir / "scratch"),
        ]  # fmt: skip
        if checkpoint is not None:
            command += ["--checkpoint", checkpoint]
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
        child = Child(command, (keep if keep is not None else work_dir) / "worker.log")
        try:
            child.start()  # importing torch and building the detector are not timed as a call
            for number, mutant in enumerate(mutants, start=1):
                for path in paths:
                    start = time.monotonic()
                    reply = child.run({"path": path, "file": str(mutant.path)}, limit_s, max_memory_mib)
                    seconds = time.monotonic() - start
                    summary.slowest_s = max(summary.slowest_s, seconds)
                    summary.most_cpu_s = max(summary.most_cpu_s, float(reply.get("cpu_s", 0.0)))
                    status = reply["status"]
                    summary.statuses.setdefault(path, Counter())[status] += 1  # type: ignore[index]
                    per_path = summary.by_mutation.setdefault(mutant.mutation, {})
                    per_path.setdefault(path, Counter())[status] += 1  # type: ignore[index]
                    failed = status in FAILURES or status.startswith("error:")
                    summary.tracebacks += status == "traceback"
                    summary.hangs += status == "hang"
                    summary.crashes += status == "crash"
                    summary.over_memory += status == "over_memory"
                    summary.error_lines += status.startswith("error:")
                    if failed:
                        kept = None
                        if keep is not None:
                            kept = keep / mutant.path.name
                            shutil.copyfile(mutant.path, kept)
                        summary.problems.append(
                            {
                                "file": mutant.path.name,
                                "source": str(mutant.source),
                                "mutation": f"{mutant.mutation}: {mutant.description}",
                                "path": path,
                                "status": status,
                                "seconds": round(seconds, 1),
                                "message": reply.get("message", ""),
                                "traceback": reply.get("traceback", ""),
                                "kept": str(kept) if kept else None,
                            }
                        )
                print(f"[{number}/{len(mutants)}] {mutant.path.name}: {mutant.description}", file=sys.stderr)
        finally:
            child.close()
        summary.peak_memory_mib = round(child.peak_mib, 1)
    summary.statuses = {k: dict(v) for k, v in summary.statuses.items()}
    summary.by_mutation = {m: {p: dict(c) for p, c in v.items()} for m, v in summary.by_mutation.items()}
    return summary


def _counts(counter: dict[str, int]) -> str:
    return ", ".join(f"{status} {n}" for status, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def print_table(summary: Summary) -> None:
    print(
        f"fuzz: seed {summary.seed}, {summary.files} files, paths {'+'.join(summary.paths)}, first "
        f"{summary.frames} frames, {summary.limit_s:g} s of CPU per call\n"
    )
    print("| mutation | " + " | ".join(summary.paths) + " |\n|---|" + "---|" * len(summary.paths))
    for mutation, per_path in summary.by_mutation.items():
        print(f"| {mutation} | " + " | ".join(_counts(per_path.get(p, {})) for p in summary.paths) + " |")
    print()
    print(f"files tried:  {summary.files}")
    for path in summary.paths:
        print(f"statuses ({path}): {_counts(summary.statuses.get(path, {}))}")
    print(f"tracebacks:   {summary.tracebacks} (must be 0)")
    print(
        f"hangs:        {summary.hangs} (must be 0; slowest call {summary.slowest_s:.1f} s, "
        f"most CPU in one call {summary.most_cpu_s:.1f} s)"
    )
    print(f"crashes:      {summary.crashes} (must be 0)")
    print(f"over memory:  {summary.over_memory} (must be 0)")
    print(f"error lines:  {summary.error_lines} (a NoisetraceError that stops a run where a status was due)")
    print(f"peak memory:  {summary.peak_memory_mib:.0f} MiB (the child's resident set)")
    for problem in summary.problems:
        print(f"\n{problem['status']} in {problem['path']}: {problem['file']} ({problem['mutation']})")
        print(f"  from {problem['source']}" + (f", kept as {problem['kept']}" if problem["kept"] else ""))
        print("  " + (problem["traceback"].strip().replace("\n", "\n  ") or problem["message"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=50, help="mutated files to try")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--frames", type=int, default=16, help="frames decoded per file")
    parser.add_argument(
        "--limit", type=float, default=60.0, help="CPU seconds per call before it is a hang (wall: 10 times that)"
    )
    parser.add_argument("--max-memory", type=float, default=4096, help="MiB resident before the child is killed")
    parser.add_argument("--checkpoint", default=None, help="for the predict path (default: the shipped model)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the child")
    parser.add_argument("--keep", type=Path, default=None, help="copy the files that failed into this folder")
    parser.add_argument("--json", type=Path, default=None, help="also write the summary as JSON here")
    parser.add_argument(
        "--replay", type=Path, nargs="+", default=None, help="run these files (e.g. kept failures) --files times each"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.frames, args.paths, args.checkpoint, args.threads, args.scratch)
        return
    checkpoint = args.checkpoint
    if "predict" in args.paths and checkpoint is None:
        from noisetrace.core.errors import CheckpointError
        from noisetrace.pretrained import shipped_checkpoint

        try:
            checkpoint = str(shipped_checkpoint())
        except CheckpointError as exc:
            raise SystemExit(f"error: {exc} (or fuzz the extract path only: --paths extract)") from None
    summary = run(
        args.files,
        args.seed,
        args.paths,
        args.frames,
        args.limit,
        args.max_memory,
        checkpoint,
        args.threads,
        args.keep,
        replay=args.replay,
    )
    print_table(summary)
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(summary), indent=1) + "\n")
    failed = summary.tracebacks + summary.hangs + summary.crashes + summary.over_memory
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
