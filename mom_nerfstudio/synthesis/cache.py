"""On-disk cache of the synthesis stages.

Each stage's result is stored under a key made from the image's content and every option that affects the
stage (upstream stages' keys included), so a change of option recomputes exactly the stages it touches.
Writes are atomic: an interrupted run leaves either no entry or a complete one, never one that later loads; what
an interrupted run leaves half-written is removed by the next run. A result holding NaN or infinite numbers is
never cached: it would fail every later run that reuses it.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mom_nerfstudio.atomic import atomic_file, atomic_folder, nearest_existing, remove_stale_partials
from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.log import logger


def stage_key(stage: str, parts: Mapping[str, Any]) -> str:
    """A short, stable hash of a stage's name and the JSON-serialisable values it depends on."""
    payload = json.dumps({"stage": stage, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def file_digest(path: Path | None) -> str | None:
    """sha256 of a file's bytes (None for no file), so that cache keys follow a user file's content."""
    if path is None:
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def default_cache_folder(image_path: Path) -> Path:
    """The default cache: a folder `mom4d_cache` beside the photo."""
    return Path(image_path).resolve().parent / "mom4d_cache"


def folder_entry(cache_folder: Path, stage: str, key: str) -> Path:
    """Where the folder of `stage` under `key` lies (or would lie) in the cache folder `cache_folder`."""
    return Path(cache_folder) / f"{stage}-{key}"


class StageCache:
    """A folder of stage results: arrays in `.npz` files and whole folders, each under its stage key."""

    def __init__(self, folder: Path, force: bool = False) -> None:
        self.folder = Path(folder)
        self.force = force
        self._recomputed: set[Path] = set()
        self._check_writable()
        remove_stale_partials(self.folder)

    def _check_writable(self) -> None:
        existing = nearest_existing(self.folder)
        if not existing.is_dir():
            where = "is a file" if existing == self.folder else f"lies under {existing}, which is a file"
            raise Mom4dInputError(
                f"The cache folder {self.folder} {where}, not a folder. Choose a folder with --cache-dir."
            )
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_file(self.folder / ".write-test") as probe:
                probe.write_bytes(b"ok")
            (self.folder / ".write-test").unlink()
        except OSError as error:
            raise Mom4dInputError(
                f"The cache folder {self.folder} is not writable ({error.strerror or error}). "
                "Choose a writable folder with --cache-dir."
            ) from error

    def _must_compute(self, path: Path) -> bool:
        # With --force a stage is recomputed once per run, then reused by later calls in the same run.
        return not path.exists() or (self.force and path not in self._recomputed)

    def _arrays_path(self, stage: str, key: str) -> Path:
        return self.folder / f"{stage}-{key}.npz"

    def has_arrays(self, stage: str, key: str) -> bool:
        """Whether the arrays of `stage` under `key` exist and would be reused (not recomputed)."""
        return not self._must_compute(self._arrays_path(stage, key))

    def arrays(self, stage: str, key: str, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """Load the arrays of `stage` under `key`, or compute and store them."""
        path = self._arrays_path(stage, key)
        if not self._must_compute(path):
            try:
                with np.load(path, allow_pickle=False) as stored:
                    return {name: stored[name] for name in stored.files}
            except (OSError, EOFError, ValueError, zipfile.BadZipFile) as error:  # EOFError: an empty file
                logger.warning("Cached %s at %s is unreadable (%s); recomputing it.", stage, path, error)
        arrays = compute()
        for name, array in arrays.items():
            _check_finite(stage, name, array)
        with atomic_file(path) as temporary:
            with open(temporary, "wb") as handle:
                np.savez(handle, **arrays)
        self._recomputed.add(path)
        return arrays

    def folder_path(self, stage: str, key: str) -> Path:
        """Where the folder of `stage` under `key` lies (or would lie)."""
        return folder_entry(self.folder, stage, key)

    def folder_for(self, stage: str, key: str, build: Callable[[Path], None]) -> Path:
        """The folder of `stage` under `key`, built by `build(temporary_folder)` when missing."""
        path = self.folder_path(stage, key)
        if self._must_compute(path):
            with atomic_folder(path) as temporary:
                build(temporary)
                _check_folder_finite(stage, temporary)
            self._recomputed.add(path)
        return path

    def has_folder(self, stage: str, key: str) -> bool:
        """Whether a complete folder of `stage` under `key` exists and would be reused."""
        return not self._must_compute(self.folder_path(stage, key))


def _check_finite(stage: str, name: str, array: np.ndarray) -> None:
    """Raise when a floating-point result of `stage` holds NaN or infinite values."""
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.floating):
        _refuse_non_finite(stage, name, int(array.size - np.count_nonzero(np.isfinite(array))))


def _check_folder_finite(stage: str, folder: Path) -> None:
    """Raise when an array (`.npy`, `.npz`) or a JSON number in the folder built for `stage` is not finite."""
    for path in sorted(folder.rglob("*")):
        relative = str(path.relative_to(folder))
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as stored:
                for name in stored.files:
                    _check_finite(stage, f"{relative}:{name}", stored[name])
        elif path.suffix == ".npy":
            _check_finite(stage, relative, np.load(path, allow_pickle=False))
        elif path.suffix == ".json":
            # Python writes NaN and infinities as the non-standard JSON words NaN, Infinity and -Infinity.
            words: list[str] = []
            json.loads(path.read_text(), parse_constant=words.append)
            _refuse_non_finite(stage, relative, len(words))


def _refuse_non_finite(stage: str, name: str, count: int) -> None:
    if count:
        raise Mom4dInputError(
            f"The {stage} stage computed {count} NaN or infinite value(s) in {name}, so nothing was cached; "
            "check the inputs it depends on (the photo's depth and motion options and files)."
        )
