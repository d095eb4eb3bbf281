"""`mom4d-camera-paths --check FILE`: a camera path is read as `ns-render camera-path` reads it, and what is wrong
with it is named in one line, before ns-render loads a model only to stop at it."""

import copy
import json
import logging
import sys
from pathlib import Path

import pytest
from nerfstudio.cameras.camera_paths import get_path_from_json

from mom_nerfstudio.camera_path_check import check_camera_path
from mom_nerfstudio.cli import CameraPathsCommand, camera_paths, camera_paths_entrypoint, report_camera_path
from mom_nerfstudio.errors import Mom4dInputError

IDENTITY = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
PATH = {
    "camera_type": "perspective",
    "render_width": 96,
    "render_height": 64,
    "seconds": 1.0,
    "crop": None,
    "camera_path": [
        {"camera_to_world": IDENTITY, "fov": 50.0, "aspect": 1.5, "render_time": 0.0},
        {"camera_to_world": IDENTITY, "fov": 50.0, "aspect": 1.5, "render_time": 0.5},
    ],
}


def write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "path.json"
    path.write_text(json.dumps(document, indent=1))
    return path


def edited(change) -> dict:
    document = copy.deepcopy(PATH)
    change(document)
    return document


def test_a_camera_path_ns_render_reads_passes(tmp_path: Path) -> None:
    path = write(tmp_path, PATH)
    summary = check_camera_path(path)
    assert (summary.frames, summary.untimed_frames, summary.seconds) == (2, 0, 1.0)
    assert (summary.width, summary.height) == (96, 64)
    assert get_path_from_json(json.loads(path.read_text())).times is not None  # and nerfstudio reads it


def test_malformed_json_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "circle.json"
    path.write_text(json.dumps(PATH, indent=1).replace('"seconds": 1.0,', '"seconds": 1.0', 1))
    line = next(number for number, text in enumerate(path.read_text().splitlines(), 1) if '"crop"' in text)
    with pytest.raises(Mom4dInputError) as error:
        check_camera_path(path)
    assert str(error.value) == f"{path}: malformed JSON at line {line}, column 2: Expecting ',' delimiter."


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("seconds"), "the camera path has no 'seconds', which ns-render reads."),
        (lambda d: d.update(render_width=0), "render_width must be a positive whole number of pixels, found 0."),
        (lambda d: d.update(camera_type=3), "camera_type must be a string such as 'perspective', found 3."),
        (lambda d: d.update(camera_path=[]), "camera_path must be a non-empty list of frames, found an empty list."),
        (lambda d: d["camera_path"][1].pop("fov"), "camera_path[1] has no 'fov', which ns-render reads."),
        (
            lambda d: d["camera_path"][1].update(camera_to_world=IDENTITY[:12]),
            "camera_path[1].camera_to_world must be 16 numbers (the 4 x 4 camera-to-world matrix, row by row).",
        ),
        (
            lambda d: d["camera_path"][0].update(render_time="0.5"),
            "camera_path[0].render_time must be a number (a loop time; times outside [0, 1) wrap around), found '0.5'.",
        ),
        (lambda d: d.update(crop={"crop_center": [0, 0, 0]}), "crop has no 'crop_bg_color', which ns-render reads."),
    ],
)
def test_what_ns_render_cannot_read_is_named(tmp_path: Path, change, message: str) -> None:
    path = write(tmp_path, edited(change))
    with pytest.raises(Mom4dInputError) as error:
        check_camera_path(path)
    assert str(error.value) == f"{path}: {message}"


def test_a_json_list_is_not_a_camera_path(tmp_path: Path) -> None:
    path = write(tmp_path, PATH["camera_path"])
    with pytest.raises(Mom4dInputError, match=r"a camera path is a JSON object .*found a JSON list\.$"):
        check_camera_path(path)


def test_other_layouts_nerfstudio_reads_pass(tmp_path: Path) -> None:
    def equirectangular_with_rows(document: dict) -> None:
        document["camera_type"] = "equirectangular"
        for frame in document["camera_path"]:
            frame.pop("fov")
            frame["camera_to_world"] = [IDENTITY[row * 4 : row * 4 + 4] for row in range(4)]

    path = write(tmp_path, edited(equirectangular_with_rows))
    assert check_camera_path(path).frames == 2
    get_path_from_json(json.loads(path.read_text()))


def test_frames_without_a_render_time_are_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, edited(lambda d: d["camera_path"][1].pop("render_time")))
    with caplog.at_level(logging.INFO, logger="mom4d"):
        summary = report_camera_path(path)
    assert summary.untimed_frames == 1
    assert [record.getMessage() for record in caplog.records] == [
        f"{path}: 2 frames of 96 x 64 over 1 s; ns-render camera-path can read it.",
        f"{path}: 1 of 2 frames have no render_time, so ns-render renders every frame at t = 0 (the scene stands "
        "still); give every frame a render_time to animate the loop.",
    ]


@pytest.mark.parametrize(
    "command",
    [CameraPathsCommand(), CameraPathsCommand(load_config=Path("run/config.yml"), check=Path("path.json"))],
)
def test_the_command_needs_exactly_one_of_load_config_and_check(command: CameraPathsCommand) -> None:
    with pytest.raises(Mom4dInputError, match=r"^Give exactly one of --load-config .* and --check FILE"):
        camera_paths(command)


def test_the_command_reports_a_malformed_path_on_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "[edited] circle.json"
    path.write_text('{"render_width": 96,\n "camera_path": [}\n')
    monkeypatch.setattr(sys, "argv", ["mom4d-camera-paths", "--check", str(path)])
    with pytest.raises(SystemExit) as exit_info:
        camera_paths_entrypoint()
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        f"mom4d-camera-paths: {path}: malformed JSON at line 2, column 18: Expecting value.\n"
    )
    assert sorted(tmp_path.iterdir()) == [path]  # nothing written
