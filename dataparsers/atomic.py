"""Atomic file and folder writes: a reader sees the old content or the complete new one, never a part."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed onto `path`, on failure removed.

    The temporary name keeps the final suffix, so writers that choose a format by extension (OpenCV, Pillow,
    numpy) behave as they would on the final path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".partial{path.suffix}", dir=path.parent)
    os.close(handle)
    temp_path = Path(temp_name)
    # mkstemp creates owner-only files; give the result the permissions of an ordinary new file.
    temp_path.chmod(0o666 & ~_umask())
    try:
        yield temp_path
        os.replace(temp_path, path)
    finally:
        temp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_folder(path: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; on success it replaces `path` as a whole, on failure it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp_path = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    temp_path.chmod(0o777 & ~_umask())
    try:
        yield temp_path
        if path.exists():
            shutil.rmtree(path)
        os.replace(temp_path, path)
    finally:
        shutil.rmtree(temp_path, ignore_errors=True)
