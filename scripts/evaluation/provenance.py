"""Where benchmark numbers come from: the machine and the repository's commit."""

from __future__ import annotations

import platform
import subprocess
import time
from pathlib import Path

import torch


def hardware() -> str:
    """The machine the numbers come from."""
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads), torch {torch.__version__}"


def commit(repository: Path | None = None) -> str:
    """The current commit of `repository` (default: the working directory's), with '+changes' when tracked files
    differ from it."""

    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", *arguments], capture_output=True, text=True, check=True, cwd=repository
        ).stdout.strip()

    try:
        sha = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return sha + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def measured_code(code: Path | None) -> dict[str, str]:
    """Where a benchmark's numbers come from: the machine, the benchmark's commit, the measured code (another checkout
    at `code`, or this one) and its commit, and the date."""
    return {
        "hardware": hardware(),
        "benchmark_commit": commit(),
        "code": str(code) if code is not None else "this checkout",
        "code_commit": commit(code or Path.cwd()),
        "date": time.strftime("%Y-%m-%d"),
    }
