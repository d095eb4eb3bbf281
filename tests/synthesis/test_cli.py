"""Tests of `mom4d-synthesize`: previews and the dataset written for one photo."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import pytest
from conftest import PROJECT_ROOT

from mom_nerfstudio.command_line import parse_command_line
from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.synthesis import cli as cli_module
from mom_nerfstudio.synthesis.cli import PREVIEW_NAMES, SynthesizeCommand, entrypoint, main

if TYPE_CHECKING:
    from conftest import TinyLandscape

NUM_FRAMES = 4


@pytest.fixture(scope="module")
def synthesized(landscape: TinyLandscape, tmp_path_factory: pytest.TempPathFactory) -> SynthesizeCommand:
    """A command run once on the tiny photo; its output folder holds the previews."""
    folder = tmp_path_factory.mktemp("cli")
    photo = landscape.write(folder / "photo")
    command = SynthesizeCommand(
        image=photo, output=folder / "out", synthesis=landscape.config(folder / "cache", num_frames=NUM_FRAMES)
    )
    main(command)
    return command


def test_previews_and_dataset_are_written(synthesized: SynthesizeCommand, landscape: TinyLandscape) -> None:
    output = synthesized.output
    depth = cv2.imread(str(output / "depth.png"))
    motion = cv2.imread(str(output / "motion.png"))
    views = cv2.imread(str(output / "views.jpg"))
    assert depth is not None and depth.shape[:2] == (landscape.height, landscape.width)
    assert motion is not None and views is not None
    assert views.shape[1] > 4 * landscape.width  # a 5-column contact sheet
    loops = [path for path in (output / "loop.mp4", output / "loop.gif") if path.is_file()]
    assert len(loops) == 1 and loops[0].stat().st_size > 0
    transforms = json.loads((output / "dataset" / "transforms.json").read_text())
    assert len(transforms["frames"]) == 25 + 5 * (NUM_FRAMES - 1)
    assert all((output / "dataset" / frame["file_path"]).is_file() for frame in transforms["frames"])


def test_summary_describes_the_run(synthesized: SynthesizeCommand, landscape: TinyLandscape) -> None:
    summary = json.loads((synthesized.output / "summary.json").read_text())
    assert summary["image"] == str(synthesized.image)
    assert summary["working_size"] == [landscape.height, landscape.width]
    assert summary["motion_source"] == "labelme annotation photo.json"
    assert summary["inconsistency_after"] <= summary["inconsistency_before"] + 1e-6
    assert Path(summary["cache"]).parent == synthesized.synthesis.cache_dir
    assert {"depth", "views", "motion3d", "dataset"} <= set(summary["stage_seconds"])


def test_loop_video_has_the_loop_frames(synthesized: SynthesizeCommand) -> None:
    video = synthesized.output / "loop.mp4"
    if not video.is_file():
        pytest.skip("no mp4 encoder here; the gif fallback was written")
    capture = cv2.VideoCapture(str(video))
    try:
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == NUM_FRAMES
    finally:
        capture.release()


def test_a_non_empty_output_folder_is_refused_and_nothing_is_written(
    landscape: TinyLandscape, landscape_photo: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    (output / "notes.txt").write_text("mine")
    cache = tmp_path / "cache"
    command = SynthesizeCommand(image=landscape_photo, output=output, synthesis=landscape.config(cache))
    with pytest.raises(Mom4dInputError, match="--overwrite True") as error:
        main(command)
    assert str(output) in str(error.value)
    assert sorted(path.name for path in output.iterdir()) == ["notes.txt"]
    assert not cache.exists()


def test_an_output_that_is_a_file_is_refused(landscape: TinyLandscape, landscape_photo: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.txt"
    output.write_text("a file")
    command = SynthesizeCommand(image=landscape_photo, output=output, synthesis=landscape.config(tmp_path / "cache"))
    with pytest.raises(Mom4dInputError, match="is a file"):
        main(command)
    assert output.read_text() == "a file"


def test_overwrite_replaces_the_previews(synthesized: SynthesizeCommand) -> None:
    output = synthesized.output
    (output / "summary.json").write_text("stale")
    stale_frame = output / "dataset" / "images" / "stale.png"
    stale_frame.write_bytes(b"")
    command = SynthesizeCommand(image=synthesized.image, output=output, overwrite=True, synthesis=synthesized.synthesis)
    main(command)
    assert json.loads((output / "summary.json").read_text())["image"] == str(synthesized.image)
    assert not stale_frame.exists()
    assert {path.name for path in output.iterdir()} <= PREVIEW_NAMES
    assert [path.name for path in output.parent.iterdir() if ".partial" in path.name] == []


class Crash(Exception):
    """Stands for a crash or Ctrl-C while the previews are written."""


def crash_after_the_depth_preview(monkeypatch: pytest.MonkeyPatch) -> None:
    real_write_image = cli_module.write_image

    def write_then_crash(path: Path, image) -> Path:
        written = real_write_image(path, image)
        if path.name != "depth.png":
            raise Crash
        return written

    monkeypatch.setattr(cli_module, "write_image", write_then_crash)


def test_a_crash_leaves_no_half_written_output_and_the_next_run_succeeds(
    synthesized: SynthesizeCommand, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "out"
    command = SynthesizeCommand(image=synthesized.image, output=output, synthesis=synthesized.synthesis)
    with monkeypatch.context() as patch:
        crash_after_the_depth_preview(patch)
        with pytest.raises(Crash):
            main(command)
    assert list(tmp_path.iterdir()) == []
    main(command)  # no --overwrite needed
    assert (output / "summary.json").is_file()


def test_the_next_run_removes_what_a_killed_run_left_beside_the_output(
    synthesized: SynthesizeCommand, tmp_path: Path
) -> None:
    output = tmp_path / "out"
    killed = f"""
import os, signal, sys
sys.path.insert(0, {str(PROJECT_ROOT)!r})
from mom_nerfstudio.atomic import atomic_folder
with atomic_folder({str(output)!r}) as building:
    (building / "depth.png").write_bytes(b"half")
    os.kill(os.getpid(), signal.SIGKILL)
"""
    assert subprocess.run([sys.executable, "-c", killed], timeout=60).returncode == -signal.SIGKILL
    assert len([path for path in tmp_path.iterdir() if path.name.startswith(".out.")]) == 1
    main(SynthesizeCommand(image=synthesized.image, output=output, synthesis=synthesized.synthesis))
    assert [path for path in tmp_path.iterdir() if path.name.startswith(".out.")] == []
    assert (output / "summary.json").is_file()


def test_overwrite_keeps_the_old_previews_when_the_new_ones_fail(
    synthesized: SynthesizeCommand, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = synthesized.output
    before = {path.name: path.stat().st_mtime_ns for path in output.iterdir() if path.is_file()}
    command = SynthesizeCommand(image=synthesized.image, output=output, overwrite=True, synthesis=synthesized.synthesis)
    crash_after_the_depth_preview(monkeypatch)
    with pytest.raises(Crash):
        main(command)
    assert {path.name: path.stat().st_mtime_ns for path in output.iterdir() if path.is_file()} == before
    assert (output / "dataset" / "transforms.json").is_file()
    assert [path.name for path in output.parent.iterdir() if ".partial" in path.name] == []


def test_overwrite_refuses_a_folder_holding_other_files(
    landscape: TinyLandscape, landscape_photo: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    (output / "summary.json").write_text("{}")
    (output / "thesis.tex").write_text("mine")
    command = SynthesizeCommand(
        image=landscape_photo, output=output, overwrite=True, synthesis=landscape.config(tmp_path / "cache")
    )
    with pytest.raises(Mom4dInputError, match=r"holds thesis\.tex besides previews.*nothing was written"):
        main(command)
    assert (output / "thesis.tex").read_text() == "mine"


def test_a_static_scene_still_gets_a_loop_video(
    landscape: TinyLandscape, landscape_photo: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out"
    config = landscape.config(tmp_path / "cache", num_frames=NUM_FRAMES, motion="none")
    main(SynthesizeCommand(image=landscape_photo, output=output, synthesis=config))
    assert json.loads((output / "summary.json").read_text())["motion_source"].startswith("none")
    transforms = json.loads((output / "dataset" / "transforms.json").read_text())
    assert len(transforms["frames"]) == 25
    video = output / "loop.mp4"
    if video.is_file():
        capture = cv2.VideoCapture(str(video))
        try:
            assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == NUM_FRAMES
        finally:
            capture.release()
    else:
        assert (output / "loop.gif").is_file()


def test_booleans_are_written_as_in_ns_train(tmp_path: Path) -> None:
    arguments = ["photo.jpg", "-o", "out", "--overwrite", "True", "--force", "True"]
    command = parse_command_line(SynthesizeCommand, arguments)
    assert command.overwrite and command.synthesis.force and command.output == Path("out")
    defaults = parse_command_line(SynthesizeCommand, ["photo.jpg", "--overwrite", "False"])
    assert not defaults.overwrite and not defaults.synthesis.force


def test_entrypoint_reports_a_missing_image_on_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "[holiday]" / "missing.jpg"
    output = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", ["mom4d-synthesize", str(missing), "-o", str(output)])
    with pytest.raises(SystemExit) as exit_info:
        entrypoint()
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith("mom4d-synthesize: ")
    assert str(missing) in error and "does not exist" in error
    assert "Traceback" not in error
    assert not output.exists()


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--max-resolution", "0", "--max-resolution is 0; set it to 32 pixels or more."),
        ("--max-resolution", "-1", "--max-resolution is -1; set it to 32 pixels or more."),
        ("--num-frames", "1", "--num-frames is 1; a loop needs at least 2 frames."),
        ("--num-frames", "0", "--num-frames is 0; a loop needs at least 2 frames."),
    ],
)
def test_entrypoint_reports_an_option_refused_while_parsing_on_one_line(
    option: str,
    value: str,
    expected: str,
    landscape_photo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output, cache = tmp_path / "out", tmp_path / "cache"
    arguments = [str(landscape_photo), "-o", str(output), "--cache-dir", str(cache), option, value]
    monkeypatch.setattr(sys, "argv", ["mom4d-synthesize", *arguments])
    with pytest.raises(SystemExit) as exit_info:
        entrypoint()
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error == f"mom4d-synthesize: {expected}\n"
    assert not output.exists() and not cache.exists()


# ---- an output folder that cannot be written ----


@pytest.fixture
def no_stage_may_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the synthesis started although its output cannot be written")

    monkeypatch.setattr(cli_module, "SceneSynthesis", refuse)


def test_an_output_under_a_file_is_refused_before_any_stage(
    landscape: TinyLandscape, landscape_photo: Path, tmp_path: Path, no_stage_may_run: None
) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    output = a_file / "previews" / "out"
    command = SynthesizeCommand(image=landscape_photo, output=output, synthesis=landscape.config(tmp_path / "cache"))
    with pytest.raises(Mom4dInputError) as error:
        main(command)
    assert str(error.value) == (
        f"The output folder {output} cannot be created: {a_file} is a file, not a folder; nothing was written. "
        "Choose another folder with -o."
    )
    assert a_file.read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="the superuser writes into a folder whose permissions refuse it")
def test_an_output_in_a_folder_without_write_permission_is_refused_before_any_stage(
    landscape: TinyLandscape, landscape_photo: Path, tmp_path: Path, no_stage_may_run: None
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        command = SynthesizeCommand(
            image=landscape_photo, output=locked / "out", synthesis=landscape.config(tmp_path / "cache")
        )
        with pytest.raises(Mom4dInputError, match=r"cannot be written: .*locked is not writable \(Permission denied\)"):
            main(command)
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def _read_only_mount_command(folder: Path) -> list[str] | None:
    """The start of a command that runs `sh -c SCRIPT` with a read-only file system mounted on `folder`, in a
    mount namespace of its own (so that the superuser cannot write there either); None where that is not allowed."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    command = [unshare, "--user", "--map-root-user", "--mount", "sh", "-c"]
    mount = f"mount -t tmpfs -o ro tmpfs {shlex.quote(str(folder))}"
    trial = subprocess.run([*command, mount], capture_output=True, timeout=60)
    return command if trial.returncode == 0 else None


def test_an_output_on_a_read_only_file_system_is_refused_before_any_stage(
    landscape_photo: Path, tmp_path: Path
) -> None:
    read_only = tmp_path / "read_only"
    read_only.mkdir()
    command = _read_only_mount_command(read_only)
    if command is None:
        pytest.skip("this machine does not let a test mount a file system in a namespace of its own")
    output, cache = read_only / "previews" / "out", tmp_path / "cache"
    synthesize = shlex.join(
        [sys.executable, "-m", "mom_nerfstudio.synthesis.cli", str(landscape_photo), "-o", str(output)]
        + ["--cache-dir", str(cache)]
    )
    script = f"mount -t tmpfs -o ro tmpfs {shlex.quote(str(read_only))} && exec {synthesize}"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([*command, script], capture_output=True, text=True, env=environment, timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"mom4d-synthesize: The output folder {output} cannot be written: {read_only} is not writable (Read-only "
        "file system); nothing was written. Choose a folder you can write to with -o."
    )
    assert "Traceback" not in result.stderr
    assert not cache.exists()  # no stage ran
