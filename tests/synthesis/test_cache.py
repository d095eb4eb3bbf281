"""Tests of the stage cache and of the atomic file and folder writes under it."""

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import PROJECT_ROOT

from mom_nerfstudio.atomic import atomic_file, atomic_folder, remove_stale_partials
from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.synthesis.cache import StageCache, file_digest, stage_key


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


# ---- non-finite results ----


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_arrays_are_refused_and_not_cached(tmp_path: Path, bad: float) -> None:
    velocity = np.zeros((4, 3), dtype=np.float16)
    velocity[1, 2] = bad
    cache = StageCache(tmp_path / "cache")
    with pytest.raises(Mom4dInputError, match=r"motion3d stage computed 1 NaN or infinite value\(s\) in velocity"):
        cache.arrays("motion3d", "k1", lambda: {"velocity": velocity, "moving": np.ones(4, dtype=bool)})
    assert not cache.has_arrays("motion3d", "k1")
    assert sorted(path.name for path in (tmp_path / "cache").iterdir()) == []


@pytest.mark.parametrize("writer", ["npz", "npy", "json"])
def test_a_folder_with_non_finite_numbers_is_refused_and_not_cached(tmp_path: Path, writer: str) -> None:
    def build(folder: Path) -> None:
        (folder / "images").mkdir()
        points = np.zeros((3, 3), dtype=np.float32)
        points[2, 0] = np.nan
        if writer == "npz":
            np.savez(folder / "points.npz", xyz=points)
        elif writer == "npy":
            np.save(folder / "images" / "points.npy", points)
        else:
            (folder / "transforms.json").write_text(json.dumps({"fl_x": float("nan"), "frames": [float("inf")]}))

    cache = StageCache(tmp_path / "cache")
    with pytest.raises(Mom4dInputError, match="dataset stage computed .* NaN or infinite.*nothing was cached"):
        cache.folder_for("dataset", "k1", build)
    assert not cache.has_folder("dataset", "k1")
    assert sorted(path.name for path in (tmp_path / "cache").iterdir()) == []


def test_a_finite_folder_is_cached(tmp_path: Path) -> None:
    def build(folder: Path) -> None:
        np.savez(folder / "points.npz", xyz=np.ones((3, 3), dtype=np.float32), rgb=np.zeros((3, 3), dtype=np.uint8))
        (folder / "transforms.json").write_text(json.dumps({"fl_x": 10.0, "name": "NaN"}))

    cache = StageCache(tmp_path / "cache")
    cache.folder_for("dataset", "k1", build)
    assert cache.has_folder("dataset", "k1")


# ---- what interrupted runs leave behind ----


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def killed_writer(cache: Path, folder_stage: bool) -> None:
    """Run a writer in another process and kill it (SIGKILL: no cleanup) in the middle of its write."""
    script = f"""
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {str(PROJECT_ROOT)!r})
from mom_nerfstudio.atomic import atomic_file, atomic_folder
target = Path({str(cache)!r}) / {"'dataset-k1'" if folder_stage else "'depth-k1.npz'"}
with ({"atomic_folder" if folder_stage else "atomic_file"})(target) as temporary:
    (temporary / "frame.png" if temporary.is_dir() else temporary).write_bytes(b"half")
    os.kill(os.getpid(), signal.SIGKILL)
"""
    result = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert result.returncode == -signal.SIGKILL


@pytest.mark.parametrize("folder_stage", [True, False])
def test_the_next_run_removes_what_a_killed_writer_left(tmp_path: Path, folder_stage: bool) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    killed_writer(cache, folder_stage)
    assert len(leftovers(cache)) == 1
    StageCache(cache)
    assert leftovers(cache) == []


def test_a_running_writers_partial_entry_is_kept(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with atomic_folder(cache / "dataset-k1") as temporary:
        (temporary / "frame.png").write_bytes(b"being written")
        StageCache(cache)  # another run starts while this one writes
        assert remove_stale_partials(cache) == []
        assert (temporary / "frame.png").is_file()
    assert (cache / "dataset-k1" / "frame.png").is_file()


def test_only_partial_entries_of_ended_writers_are_removed(tmp_path: Path) -> None:
    with atomic_file(tmp_path / "depth.npz") as temporary:
        # ".depth.npz.w<pid>-<host>.<random>.partial.npz": keep "<host>.<random>.partial.npz".
        host_and_rest = temporary.name.split(f".w{os.getpid()}-", 1)[1]
    dead = tmp_path / f".depth.npz.w{dead_pid()}-{host_and_rest}"
    live = tmp_path / f".views.npz.w{os.getpid()}-{host_and_rest}"
    other_host = tmp_path / f".depth.npz.w{dead_pid()}-00000000.abc.partial.npz"
    unrelated = [tmp_path / ".hidden.partial", tmp_path / "notes.partial.txt", tmp_path / "depth.npz"]
    for path in [dead, live, other_host, *unrelated]:
        path.write_bytes(b"x")
    assert remove_stale_partials(tmp_path, "views.npz") == []
    assert remove_stale_partials(tmp_path) == [dead]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        path.name for path in [live, other_host, *unrelated]
    )


# ---- an unwritable cache ----


def test_a_cache_under_a_file_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("not a folder")
    folder = tmp_path / "a_file" / "cache"
    with pytest.raises(Mom4dInputError, match="--cache-dir") as error:
        StageCache(folder)
    assert str(folder) in str(error.value)


def test_a_cache_dir_that_is_a_file_is_named_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "cache.txt"
    folder.write_text("not a folder")
    with pytest.raises(Mom4dInputError, match="is a file, not a folder.*--cache-dir") as error:
        StageCache(folder)
    assert str(folder) in str(error.value) and "File exists" not in str(error.value)
    assert folder.read_text() == "not a folder"


def test_a_read_only_cache_folder_is_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):  # the superuser writes anyway: make the write fail as it would for a user

            def refused(path: Path):
                raise PermissionError(13, "Permission denied", str(path))

            monkeypatch.setattr("mom_nerfstudio.synthesis.cache.atomic_file", refused)
        with pytest.raises(Mom4dInputError, match="not writable") as error:
            StageCache(folder)
        assert str(folder) in str(error.value)
    finally:
        folder.chmod(0o755)


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
