"""A benchmark's record: what it measured, the table it printed, and where and how, so every number is regenerable.

`write_record(name, ...)` writes `benchmarks/records/<name>.json`; `benchmarks/results.py` renders RESULTS.md from
all records (one section per record, anchored `#<name>`). A record is written only by the benchmark that measured
it, at the end of its run: never edit one by hand, rerun its command.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

RECORDS = Path(__file__).resolve().parent / "records"
REPO = RECORDS.parent.parent


def command_line() -> str:
    """The command that ran this process, as one would type it from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(REPO)
    except ValueError:
        pass
    return shlex.join(["python", str(script), *sys.argv[1:]])


def commit() -> str:
    """`git rev-parse HEAD`, with "-dirty" when the working tree differs from it (the record then names a commit
    that is not quite what ran)."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()

    try:
        head = git("rev-parse", "HEAD")
        return head + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


COMMIT_AT_START = commit()  # taken when the benchmark imports this module: the code that runs, not what is there later


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def host() -> dict[str, Any]:
    """The machine: CPU model and cores, its bfloat16 hardware (AVX512-BF16, AMX), the GPU if any, torch, and the
    load average over the last minute when the record was written (other work slows a timing, not a step count)."""

    def probe(name: str) -> bool | None:
        fn = getattr(torch.cpu, name, None)
        return bool(fn()) if fn else None

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "avx512_bf16": probe("_is_avx512_bf16_supported"),
        "amx": probe("_is_amx_tile_supported"),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "load_1min": round(os.getloadavg()[0], 1) if hasattr(os, "getloadavg") else None,
    }


def write_record(
    name: str,
    *,
    question: str,
    command: str | None = None,
    profile: str,
    table_markdown: str,
    numbers: dict[str, Any] | None = None,
) -> Path:
    """Write benchmarks/records/<name>.json and return its path.

    question: one line, the default or design decision the table backs; command: the exact command line (default:
    this process's); table_markdown: the table as printed; numbers: the same results, machine-readable."""
    record = {
        "name": name,
        "question": question,
        "command": command or command_line(),
        "commit": COMMIT_AT_START,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": host(),
        "profile": profile,
        "table": table_markdown.strip() + "\n",
        "numbers": numbers or {},
    }
    RECORDS.mkdir(exist_ok=True)
    path = RECORDS / f"{name}.json"
    path.write_text(json.dumps(record, indent=1, default=float) + "\n")
    print(f"wrote {path.relative_to(REPO)}; regenerate RESULTS.md with `python benchmarks/results.py`")
    return path
