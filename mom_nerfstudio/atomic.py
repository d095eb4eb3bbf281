"""Atomic file and folder writes: a reader sees the old content or the complete new one, never a part.

A write goes to a temporary entry beside its target, named `.<target name>.<writer>.<random>.partial[<suffix>]`,
where <writer> names the writing process (its pid and a hash of its host's name). A writer that dies without
cleaning up (SIGKILL, power loss, or SIGTERM, which skips `finally`) leaves its entry behind;
`remove_stale_partials` removes such entries once their writer is gone, and never the entry of a writer that runs.
"""

import contextlib
import hashlib
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mom_nerfstudio.log import logger

_PARTIAL = ".partial"
_HOST_TAG = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_PARTIAL_NAME = re.compile(
    r"\.(?P<target>.+)\.w(?P<pid>\d+)-(?P<host>[0-9a-f]{8})\.[^.]+" + re.escape(_PARTIAL) + r"(\.[^.]+)?"
)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _writer_prefix(target_name: str) -> str:
    """The start of a temporary entry's name for `target_name`, naming this process as its writer."""
    return f".{target_name}.w{os.getpid()}-{_HOST_TAG}."


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed onto `path`, on failure removed.

    The temporary name keeps the final suffix, so writers that choose a format by extension (OpenCV, Pillow,
    numpy) behave as they would on the final path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(
        prefix=_writer_prefix(path.name), suffix=f"{_PARTIAL}{path.suffix}", dir=path.parent
    )
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
    """Yield a temporary folder beside `path`; on success it replaces `path` as a whole, on failure it is removed.

    An older folder at `path` is kept until the new one is complete: it is moved aside (under a temporary name)
    only to let the new one take its place, then deleted.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp_path = Path(tempfile.mkdtemp(prefix=_writer_prefix(path.name), suffix=_PARTIAL, dir=path.parent))
    temp_path.chmod(0o777 & ~_umask())
    discarded = temp_path.with_name(f"{temp_path.name}.old")
    try:
        yield temp_path
        if path.exists():
            os.replace(path, discarded)
        os.replace(temp_path, path)
    finally:
        shutil.rmtree(temp_path, ignore_errors=True)
        _remove(discarded)


def nearest_existing(path: Path) -> Path:
    """`path` when it exists, else its nearest ancestor that does: where creating `path` would start."""
    path = Path(path)
    return next(candidate for candidate in (path, *path.parents) if candidate.exists())


def check_can_create_in(folder: Path) -> None:
    """Raise the OSError that creating an entry in the existing folder `folder` raises, if any.

    Tried rather than predicted from permission bits: the superuser writes into a folder whose bits refuse it, and
    `os.access` calls some folders writable that refuse new entries (sysfs). The trial folder is removed at once.
    """
    Path(tempfile.mkdtemp(prefix=_writer_prefix("write-test"), suffix=_PARTIAL, dir=folder)).rmdir()


def _writer_is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists but belongs to another user
        return True
    return True


def remove_stale_partials(folder: Path, target_name: str | None = None) -> list[Path]:
    """Remove the temporary entries in `folder` that interrupted writers of this host left behind.

    An entry is removed only when its writer's process no longer runs; with `target_name` (a file's or folder's
    name), only the entries for that target are considered. Returns the removed paths.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for entry in folder.iterdir():
        match = _PARTIAL_NAME.fullmatch(entry.name)
        if match is None or match["host"] != _HOST_TAG:
            continue
        if target_name is not None and match["target"] != target_name:
            continue
        if not _writer_is_running(int(match["pid"])):
            _remove(entry)
            removed.append(entry)
    if removed:
        logger.info("Removed %d unfinished write(s) of interrupted runs from %s.", len(removed), folder)
    return removed
