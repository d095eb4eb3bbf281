"""Tests of the stage cache and of the atomic file and folder writes under it."""

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from dataparsers.atomic import atomic_file, atomic_folder
from dataparsers.cache import StageCache, file_digest, stage_key
from dataparsers.errors import Mom4dInputError


class Counter:
    """A stage computation that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def arrays(self) -> dict[str, np.ndarray]:
        self.calls += 1
        return {"depth": np.arange(12, dtype=np.float32).reshape(3, 4), "sky": np.eye(3, dtype=bool)}

    def folder(self, folder: Path) -> None:
        self.calls += 1
        (folder / "transforms.json").write_text("{}")


class Interrupted(Exception):
    """Stands for a crash or Ctrl-C in the middle of a write."""


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if ".partial" in path.name)


# ---- keys ----


def test_stage_key_is_stable_and_ignores_the_order_of_parts() -> None:
    key = stage_key("depth", {"image": "abc", "max_resolution": 96})
    assert key == stage_key("depth", {"max_resolution": 96, "image": "abc"})
    assert len(key) == 16 and int(key, 16) >= 0
    # A key is a pure function of its inputs: the same in any process.
    assert key == stage_key("depth", dict([("image", "abc"), ("max_resolution", 96)]))


def test_stage_key_changes_with_every_part_and_the_stage() -> None:
    base = {"image": "abc", "max_resolution": 96, "depth_file": None}
    key = stage_key("depth", base)
    assert stage_key("views", base) != key
    assert stage_key("depth", {**base, "image": "abd"}) != key
    assert stage_key("depth", {**base, "max_resolution": 97}) != key
    assert stage_key("depth", {**base, "depth_file": "d.npy"}) != key
    assert stage_key("depth", {**base, "extra": 1}) != key


def test_stage_key_accepts_paths() -> None:
    assert stage_key("depth", {"file": Path("a/b.npy")}) == stage_key("depth", {"file": "a/b.npy"})


def test_file_digest_follows_content_not_name(tmp_path: Path) -> None:
    first, second = tmp_path / "a.npy", tmp_path / "b.npy"
    first.write_bytes(b"depth")
    second.write_bytes(b"depth")
    assert file_digest(first) == file_digest(second)
    second.write_bytes(b"depth!")
    assert file_digest(first) != file_digest(second)
    assert file_digest(None) is None


# ---- arrays and folders ----


def test_arrays_are_computed_once_and_reused(tmp_path: Path) -> None:
    counter = Counter()
    first = StageCache(tmp_path / "cache").arrays("depth", "k1", counter.arrays)
    again = StageCache(tmp_path / "cache").arrays("depth", "k1", counter.arrays)
    assert counter.calls == 1
    assert set(again) == {"depth", "sky"}
    assert np.array_equal(again["depth"], first["depth"]) and again["depth"].dtype == np.float32
    assert np.array_equal(again["sky"], first["sky"]) and again["sky"].dtype == bool


def test_another_key_computes_again(tmp_path: Path) -> None:
    counter = Counter()
    cache = StageCache(tmp_path / "cache")
    cache.arrays("depth", "k1", counter.arrays)
    cache.arrays("depth", "k2", counter.arrays)
    cache.arrays("views", "k1", counter.arrays)
    assert counter.calls == 3


def test_force_recomputes_once_per_run(tmp_path: Path) -> None:
    counter = Counter()
    StageCache(tmp_path / "cache").arrays("depth", "k1", counter.arrays)
    forced = StageCache(tmp_path / "cache", force=True)
    forced.arrays("depth", "k1", counter.arrays)
    forced.arrays("depth", "k1", counter.arrays)
    assert counter.calls == 2
    # The next forced run recomputes again.
    StageCache(tmp_path / "cache", force=True).arrays("depth", "k1", counter.arrays)
    assert counter.calls == 3


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_corrupt_entry_is_recomputed_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    counter = Counter()
    StageCache(tmp_path / "cache").arrays("depth", "k1", counter.arrays)
    entry = tmp_path / "cache" / "depth-k1.npz"
    content = entry.read_bytes()
    damaged = {"garbage": b"not an npz file at all", "truncated": content[: len(content) // 2], "empty": b""}
    entry.write_bytes(damaged[damage])
    with caplog.at_level(logging.WARNING, logger="mom4d"):
        arrays = StageCache(tmp_path / "cache").arrays("depth", "k1", counter.arrays)
    assert counter.calls == 2
    assert np.array_equal(arrays["depth"], Counter().arrays()["depth"])
    assert any("unreadable" in record.getMessage() and "depth" in record.getMessage() for record in caplog.records)
    # The entry was rewritten whole: the next run loads it.
    StageCache(tmp_path / "cache").arrays("depth", "k1", counter.arrays)
    assert counter.calls == 2


def test_folders_are_built_once_and_reused(tmp_path: Path) -> None:
    counter = Counter()
    cache = StageCache(tmp_path / "cache")
    assert not cache.has_folder("dataset", "k1")
    folder = cache.folder_for("dataset", "k1", counter.folder)
    assert (folder / "transforms.json").is_file()
    assert cache.has_folder("dataset", "k1")
    assert StageCache(tmp_path / "cache").folder_for("dataset", "k1", counter.folder) == folder
    assert counter.calls == 1
    forced = StageCache(tmp_path / "cache", force=True)
    assert not forced.has_folder("dataset", "k1")
    forced.folder_for("dataset", "k1", counter.folder)
    forced.folder_for("dataset", "k1", counter.folder)
    assert forced.has_folder("dataset", "k1")
    assert counter.calls == 2


def test_a_failed_build_leaves_no_folder(tmp_path: Path) -> None:
    cache = StageCache(tmp_path / "cache")

    def failing_build(folder: Path) -> None:
        (folder / "images").mkdir()
        raise Interrupted

    with pytest.raises(Interrupted):
        cache.folder_for("dataset", "k1", failing_build)
    assert not cache.has_folder("dataset", "k1")
    assert sorted(path.name for path in (tmp_path / "cache").iterdir()) == []


# ---- an unwritable cache ----


def test_a_cache_under_a_file_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("not a folder")
    folder = tmp_path / "a_file" / "cache"
    with pytest.raises(Mom4dInputError, match="--cache-dir") as error:
        StageCache(folder)
    assert str(folder) in str(error.value)


def test_a_read_only_cache_folder_is_an_input_error(tmp_path: Path) -> None:
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):  # the superuser writes anyway: fall back on a path under a file
            (tmp_path / "a_file").write_text("not a folder")
            folder = tmp_path / "a_file" / "cache"
        with pytest.raises(Mom4dInputError, match="not writable") as error:
            StageCache(folder)
        assert str(folder) in str(error.value)
    finally:
        (tmp_path / "read_only").chmod(0o755)


# ---- atomic writes ----


def test_atomic_file_writes_whole_and_keeps_the_suffix(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "depth.npz"
    with atomic_file(target) as temporary:
        assert temporary.parent == target.parent and temporary.suffix == ".npz" and temporary != target
        temporary.write_bytes(b"new")
        assert not target.exists()
    assert target.read_bytes() == b"new"
    assert leftovers(target.parent) == []


def test_atomic_file_failure_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "depth.npz"
    with pytest.raises(Interrupted):
        with atomic_file(target) as temporary:
            temporary.write_bytes(b"half")
            raise Interrupted
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_file_failure_keeps_the_older_file(tmp_path: Path) -> None:
    target = tmp_path / "depth.npz"
    target.write_bytes(b"old")
    with pytest.raises(Interrupted):
        with atomic_file(target) as temporary:
            temporary.write_bytes(b"half")
            raise Interrupted
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_atomic_file_has_ordinary_permissions(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    with atomic_file(target) as temporary:
        temporary.write_text("{}")
    current_umask = os.umask(0)
    os.umask(current_umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~current_umask


def test_atomic_folder_replaces_the_old_folder_as_a_whole(tmp_path: Path) -> None:
    target = tmp_path / "dataset"
    target.mkdir()
    (target / "old.png").write_bytes(b"old")
    with atomic_folder(target) as temporary:
        (temporary / "new.png").write_bytes(b"new")
        assert (target / "old.png").exists()
    assert sorted(path.name for path in target.iterdir()) == ["new.png"]
    assert leftovers(tmp_path) == []


def test_atomic_folder_failure_keeps_the_older_folder(tmp_path: Path) -> None:
    target = tmp_path / "dataset"
    target.mkdir()
    (target / "old.png").write_bytes(b"old")
    with pytest.raises(Interrupted):
        with atomic_folder(target) as temporary:
            (temporary / "new.png").write_bytes(b"new")
            raise Interrupted
    assert sorted(path.name for path in target.iterdir()) == ["old.png"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dataset"]


def test_atomic_folder_failure_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(Interrupted):
        with atomic_folder(tmp_path / "dataset") as temporary:
            (temporary / "images").mkdir()
            raise Interrupted
    assert list(tmp_path.iterdir()) == []
