"""The paper's test camera paths with loop times, in nerfstudio's camera-path format."""

import copy
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from nerfstudio.cameras.camera_paths import get_path_from_json

from dataparsers.dataset_format import DatasetError, InputCamera, SynthesizedDataset
from dataparsers.mom4d_dataparser import Mom4dDataParserConfig
from mom_nerfstudio.camera_path_check import check_camera_path
from mom_nerfstudio.camera_paths import (
    EYE_HEIGHT_METRES,
    TEST_TRAJECTORIES,
    camera_path,
    loop_times,
    metric_scale,
    video_length,
    write_camera_paths,
)
from mom_nerfstudio.cli import (
    CameraPathsCommand,
    load_run_config,
    write_test_camera_paths,
)
from mom_nerfstudio.errors import Mom4dInputError

WIDTH, HEIGHT, FOCAL = 120, 80, 100.0
LOOP_FRAMES = 30  # divides the native lengths (60 and 90 frames)


def yawed_pose(degrees: float, position: tuple[float, float, float]) -> np.ndarray:
    """An OpenGL camera-to-world looking along world +y (z up), turned by `degrees` about the vertical."""
    angle = math.radians(degrees)
    turn = np.array(
        [[math.cos(angle), -math.sin(angle), 0.0], [math.sin(angle), math.cos(angle), 0.0], [0.0, 0.0, 1.0]]
    )
    level = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    pose = np.eye(4)
    pose[:3, :3] = turn @ level
    pose[:3, 3] = position
    return pose


INPUT_POSE = yawed_pose(30.0, (0.1, -0.2, 0.3))


@pytest.fixture
def dataset() -> SynthesizedDataset:
    """A dataset's transforms: an input view turned 30 degrees and away from the origin, plus another view."""
    frames = [
        {"view": "other", "frame": 0, "transform_matrix": yawed_pose(-20.0, (0.0, 0.0, 0.0)).tolist(), "time": 0.0},
        {"view": "input", "frame": 0, "transform_matrix": INPUT_POSE.tolist(), "time": 0.0},
        {"view": "input", "frame": 1, "transform_matrix": INPUT_POSE.tolist(), "time": 0.5},
    ]
    transforms = {
        "w": WIDTH,
        "h": HEIGHT,
        "fl_x": FOCAL,
        "fl_y": FOCAL,
        "cx": WIDTH / 2,
        "cy": HEIGHT / 2,
        "frames": frames,
        "mom4d": {"num_frames": LOOP_FRAMES, "input_view": "input"},
    }
    return SynthesizedDataset(folder=Path("dataset"), transforms=transforms)


def path_of(name: str, dataset: SynthesizedDataset, **options) -> dict:
    trajectory = next(trajectory for trajectory in TEST_TRAJECTORIES if trajectory.name == name)
    return camera_path(trajectory, dataset.input_camera(), LOOP_FRAMES, **options)


def poses(document: dict) -> np.ndarray:
    return np.array([frame["camera_to_world"] for frame in document["camera_path"]]).reshape(-1, 4, 4)


def camera_offsets(document: dict) -> np.ndarray:
    """Positions relative to the input camera, in its frame (x right, y up, z backwards)."""
    return (poses(document)[:, :3, 3] - INPUT_POSE[:3, 3]) @ INPUT_POSE[:3, :3]


def test_frame_counts_and_lengths(dataset: SynthesizedDataset) -> None:
    counts = {name: len(path_of(name, dataset)["camera_path"]) for name in ("up_down", "side", "zoom_in", "circle")}
    assert counts == {"up_down": 60, "side": 60, "zoom_in": 60, "circle": 90}
    assert path_of("circle", dataset, fps=30.0)["seconds"] == pytest.approx(3.0)
    assert path_of("side", dataset, fps=24.0)["seconds"] == pytest.approx(60 / 24)


def test_loops_lengthen_the_video(dataset: SynthesizedDataset) -> None:
    # 5 loops of 30 frames = 150 frames, longer than every native trajectory.
    for name in ("up_down", "circle"):
        assert len(path_of(name, dataset, loops=5)["camera_path"]) == 150
    # A short request keeps the native length.
    assert len(path_of("up_down", dataset, loops=2)["camera_path"]) == 60


def test_videos_are_whole_loops_so_time_wraps_from_last_to_first_frame() -> None:
    # A 90-frame circle with a 60-frame loop becomes two loops (120 frames).
    circle = next(trajectory for trajectory in TEST_TRAJECTORIES if trajectory.name == "circle")
    assert video_length(circle, 60, 1) == 120
    assert video_length(circle, 45, 1) == 90
    times = loop_times(video_length(circle, 60, 1), 60)
    assert times[-1] + 1 / 60 == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["up_down", "circle"])
def test_times_advance_one_loop_frame_per_video_frame(dataset: SynthesizedDataset, name: str) -> None:
    times = np.array([frame["render_time"] for frame in path_of(name, dataset)["camera_path"]])
    assert np.all((times >= 0.0) & (times < 1.0))
    np.testing.assert_allclose(times, (np.arange(len(times)) % LOOP_FRAMES) / LOOP_FRAMES)
    steps = np.diff(times)
    wraps = np.arange(1, len(times)) % LOOP_FRAMES == 0
    np.testing.assert_allclose(steps[~wraps], 1.0 / LOOP_FRAMES)
    np.testing.assert_allclose(times[1:][wraps], 0.0)


def test_loop_times_wrap_exactly() -> None:
    assert loop_times(5, 2).tolist() == [0.0, 0.5, 0.0, 0.5, 0.0]


@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_linear_paths_span_the_paper_amplitudes(dataset: SynthesizedDataset, scale: float) -> None:
    expected = {
        "up_down": ((0.0, 0.08, 0.0), (0.0, -0.08, 0.0)),
        "side": ((0.09, 0.0, 0.0), (-0.09, 0.0, 0.0)),
        "zoom_in": ((0.0, 0.0, 0.0), (0.0, 0.0, -0.24)),
    }
    metres = metric_scale(dataset.input_camera())
    for name, (start, end) in expected.items():
        offsets = camera_offsets(path_of(name, dataset, scale=scale))
        np.testing.assert_allclose(offsets[0], scale * metres * np.array(start), atol=1e-9)
        np.testing.assert_allclose(offsets[-1], scale * metres * np.array(end), atol=1e-9)
        # Evenly spaced along a straight line.
        steps = np.diff(offsets, axis=0)
        np.testing.assert_allclose(steps, np.broadcast_to(steps[0], steps.shape), atol=1e-9)


def test_zoom_in_moves_along_the_viewing_direction(dataset: SynthesizedDataset) -> None:
    positions = poses(path_of("zoom_in", dataset))[:, :3, 3]
    viewing_direction = -INPUT_POSE[:3, 2]
    travel = positions[-1] - positions[0]
    metres = metric_scale(dataset.input_camera())
    np.testing.assert_allclose(travel, 0.24 * metres * viewing_direction, atol=1e-9)


def test_offsets_are_metres_at_the_distance_of_the_nearest_ground_seen_from_eye_height() -> None:
    # A camera with a 34 degree vertical field of view, 1.6 m above the ground, sees the ground at the bottom of its
    # frame 1.6 / tan(17 degrees) = 5.2 m away: mom4d's depth puts it at 1, so one metre is 1 / 5.2 units.
    camera = InputCamera(INPUT_POSE, width=WIDTH, height=HEIGHT, fov_degrees=34.0)
    assert metric_scale(camera) == pytest.approx(math.tan(math.radians(17.0)) / EYE_HEIGHT_METRES)
    assert 1.0 / metric_scale(camera) == pytest.approx(5.23, abs=0.01)


def test_circle_amplitudes_and_two_turns(dataset: SynthesizedDataset) -> None:
    offsets = camera_offsets(path_of("circle", dataset)) / metric_scale(dataset.input_camera())
    np.testing.assert_allclose(offsets[0], [0.04, 0.0, 0.09], atol=1e-9)
    # 45 frames per turn: an extreme can fall half a step (2 pi / 90) between frames, 1 - cos(2 pi / 90) = 0.0024 short.
    np.testing.assert_allclose(offsets.max(axis=0), [0.04, 0.04, 0.09], rtol=2.5e-3)
    np.testing.assert_allclose(offsets.min(axis=0), [-0.04, -0.04, -0.09], rtol=2.5e-3)
    np.testing.assert_allclose(offsets[:, 2], offsets[:, 0] * 0.09 / 0.04, atol=1e-9)
    # Two turns: the angle returns to the start halfway through, and the path is periodic (no repeated frame).
    np.testing.assert_allclose(offsets[45], offsets[0], atol=1e-9)
    assert not np.allclose(offsets[-1], offsets[0])
    angles = np.unwrap(np.arctan2(offsets[:, 1], offsets[:, 0]))
    assert angles[-1] + (angles[1] - angles[0]) == pytest.approx(4.0 * math.pi)


def test_rotation_is_the_input_cameras(dataset: SynthesizedDataset) -> None:
    for name in ("up_down", "side", "zoom_in", "circle"):
        matrices = poses(path_of(name, dataset))
        np.testing.assert_allclose(
            matrices[:, :3, :3], np.broadcast_to(INPUT_POSE[:3, :3], (len(matrices), 3, 3)), atol=1e-12
        )
        np.testing.assert_allclose(matrices[:, 3], np.broadcast_to([0.0, 0.0, 0.0, 1.0], (len(matrices), 4)))


def test_loads_in_nerfstudio_with_times_and_the_dataset_intrinsics(dataset: SynthesizedDataset) -> None:
    document = json.loads(json.dumps(path_of("circle", dataset, scale=1.5)))
    cameras = get_path_from_json(document)
    assert cameras.times is not None and cameras.times.shape == (90, 1)
    times = torch.tensor([frame["render_time"] for frame in document["camera_path"]])
    torch.testing.assert_close(cameras.times[:, 0], times)
    assert int(cameras.width[0]) == WIDTH and int(cameras.height[0]) == HEIGHT
    torch.testing.assert_close(cameras.fy, torch.full_like(cameras.fy, FOCAL))
    torch.testing.assert_close(cameras.fx, torch.full_like(cameras.fx, FOCAL))
    torch.testing.assert_close(cameras.cx, torch.full_like(cameras.cx, WIDTH / 2))
    assert document["camera_path"][0]["aspect"] == pytest.approx(WIDTH / HEIGHT)
    assert document["camera_path"][0]["fov"] == pytest.approx(math.degrees(2 * math.atan(HEIGHT / 2 / FOCAL)))


def test_write_camera_paths(dataset: SynthesizedDataset, tmp_path: Path) -> None:
    written = write_camera_paths(dataset, tmp_path / "paths", loops=2)
    assert sorted(path.name for path in written) == ["circle.json", "side.json", "up_down.json", "zoom_in.json"]
    for path in written:
        assert get_path_from_json(json.loads(path.read_text())).times is not None
        summary = check_camera_path(path)
        assert summary.untimed_frames == 0 and (summary.width, summary.height) == (WIDTH, HEIGHT)


def test_paths_that_differ_are_kept_unless_overwrite(dataset: SynthesizedDataset, tmp_path: Path) -> None:
    folder = tmp_path / "paths"
    written = write_camera_paths(dataset, folder)
    assert write_camera_paths(dataset, folder) == written  # the same content may be written again
    edited = folder / "side.json"
    edited.write_text(edited.read_text().replace('"fov"', '"fov" ', 1))
    edited_text = edited.read_text()
    with pytest.raises(Mom4dInputError, match=r"^side\.json in .*paths differs from.*--overwrite True") as error:
        write_camera_paths(dataset, folder)
    assert "up_down.json" not in str(error.value) and edited.read_text() == edited_text
    with pytest.raises(Mom4dInputError, match="up_down.json, side.json, zoom_in.json, circle.json in"):
        write_camera_paths(dataset, folder, loops=4)  # other options: nothing is written
    assert json.loads((folder / "circle.json").read_text()) == path_of("circle", dataset)
    write_camera_paths(dataset, folder, loops=4, overwrite=True)
    assert json.loads(edited.read_text()) == path_of("side", dataset, loops=4)


def test_the_command_takes_overwrite_as_ns_train_takes_booleans() -> None:
    from mom_nerfstudio.command_line import parse_command_line

    command = parse_command_line(CameraPathsCommand, ["--load-config", "run/config.yml", "--overwrite", "True"])
    assert command.overwrite and command.load_config == Path("run/config.yml")
    assert not parse_command_line(CameraPathsCommand, ["--load-config", "run/config.yml"]).overwrite


def test_missing_input_view_is_explained(dataset: SynthesizedDataset) -> None:
    dataset.transforms["mom4d"]["input_view"] = "absent"
    with pytest.raises(DatasetError, match="absent"):
        dataset.input_camera()


def test_command_reads_the_runs_own_dataset_from_anywhere(
    landscape, landscape_photo: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mom_nerfstudio.method_config import mom4d_tiny_method

    config = copy.deepcopy(mom4d_tiny_method.config)
    options = vars(landscape.config(tmp_path / "cache"))
    config.pipeline.datamanager.dataparser = Mom4dDataParserConfig(**{**options, "data": landscape_photo})
    monkeypatch.chdir(tmp_path)
    config.output_dir = Path("outputs")  # relative, as ns-train's default
    config.set_timestamp()
    config.save_config()  # as ns-train does before training: config.yml names the run's own dataset
    config.prepare_dataset()  # as the set-up does: synthesises the photo into it
    run_dir = config.get_base_dir()
    assert (run_dir / "dataset" / "transforms.json").is_file()
    shutil.rmtree(tmp_path / "cache")  # the photo's cache may go: the run keeps what it trained on
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    written = write_test_camera_paths(CameraPathsCommand(load_config=run_dir / "config.yml"))

    assert {path.parent for path in written} == {run_dir / "camera_paths"}
    document = json.loads((run_dir / "camera_paths" / "up_down.json").read_text())
    assert (document["render_width"], document["render_height"]) == (landscape.width, landscape.height)
    # The tiny landscape's loop has 4 frames.
    assert [frame["render_time"] for frame in document["camera_path"][:5]] == [0.0, 0.25, 0.5, 0.75, 0.0]
    assert "ns-render camera-path" in capsys.readouterr().out


def test_bad_config_paths_are_explained(tmp_path: Path) -> None:
    with pytest.raises(Mom4dInputError, match="missing.yml"):
        load_run_config(tmp_path / "missing.yml")
    other = tmp_path / "other.yml"
    other.write_text("just: a mapping\n")
    with pytest.raises(Mom4dInputError, match="not the config.yml of a mom4d run"):
        load_run_config(other)
