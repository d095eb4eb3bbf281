"""Tests of the nerfstudio dataset folder written from the synthesised views."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from dataparsers.dataset_format import (
    frame_stem,
    opengl_camera_to_world,
    to_dataset_world,
)
from mom_nerfstudio.ply import write_point_ply
from mom_nerfstudio.synthesis.cameras import (
    intrinsics_from_fov,
    look_around_pose,
    orbit_pose,
)
from mom_nerfstudio.synthesis.dataset_writer import DatasetWriter

WIDTH, HEIGHT = 12, 8
INTRINSICS = intrinsics_from_fov(WIDTH, HEIGHT, 50.0)
NUM_FRAMES = 4


def opengl_axes(pose: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World directions of an OpenGL camera's right (+x), up (+y) and forward (-z) axes."""
    rotation = np.asarray(pose)[:3, :3]
    return rotation[:, 0], rotation[:, 1], -rotation[:, 2]


def rgb_frame(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, dict]:
    """A dataset of two views: the input view with a 4-frame loop, and a turned view with its static image."""
    writer = DatasetWriter(tmp_path / "dataset", INTRINSICS, NUM_FRAMES)
    confidence = np.full((HEIGHT, WIDTH), 255, np.uint8)
    confidence[:, :3] = 128
    for frame in range(NUM_FRAMES):
        writer.add_frame("r0o0", 0, frame, torch.eye(4), rgb_frame(frame), confidence)
    writer.add_frame("r1o0", 5, 0, look_around_pose(20.0, 0.0), rgb_frame(10), confidence)
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[4:, :] = True
    writer.add_motion_mask("r0o0", mask)
    points = {
        "xyz": np.array([[0, 1, 0], [1, 2, 3], [-1, 5, 2]], np.float32),
        "rgb": np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8),
        "velocity": np.zeros((3, 3), np.float32),
        "moving": np.array([0, 1, 1], np.float32),
    }
    writer.finish(points, extra={"input_view": "r0o0"})
    return tmp_path / "dataset", points


def test_transforms_json_describes_every_frame(written: tuple[Path, dict]) -> None:
    folder, _ = written
    transforms = json.loads((folder / "transforms.json").read_text())
    frames = transforms["frames"]
    assert len(frames) == NUM_FRAMES + 1
    assert [frame["time"] for frame in frames] == [0.0, 0.25, 0.5, 0.75, 0.0]
    assert all(0.0 <= frame["time"] < 1.0 for frame in frames)
    assert [frame["file_path"] for frame in frames[:2]] == ["images/r0o0_t000.png", "images/r0o0_t001.png"]
    assert frames[4]["view"] == "r1o0" and frames[4]["view_index"] == 5 and frames[4]["frame"] == 0
    assert transforms["camera_model"] == "OPENCV"
    assert transforms["fl_x"] == pytest.approx(INTRINSICS.fx) and transforms["fl_y"] == pytest.approx(INTRINSICS.fy)
    assert (transforms["cx"], transforms["cy"], transforms["w"], transforms["h"]) == (6.0, 4.0, WIDTH, HEIGHT)
    assert transforms["ply_file_path"] == "points3D.ply"
    assert transforms["mom4d"] == {"num_frames": NUM_FRAMES, "input_view": "r0o0"}
    for frame in frames:
        assert (folder / frame["file_path"]).is_file() and (folder / frame["mask_path"]).is_file()


def test_input_view_pose_looks_forward_and_up(written: tuple[Path, dict]) -> None:
    folder, _ = written
    frames = json.loads((folder / "transforms.json").read_text())["frames"]
    pose = np.array(frames[0]["transform_matrix"])
    assert pose.shape == (4, 4)
    right, up, forward = opengl_axes(pose)
    assert np.allclose(forward, [0, 1, 0]) and np.allclose(up, [0, 0, 1]) and np.allclose(right, [1, 0, 0])
    assert np.allclose(pose[:3, 3], 0.0)
    # The turned view looks to the right of the input view, still level.
    right, up, forward = opengl_axes(np.array(frames[4]["transform_matrix"]))
    assert forward[0] > 0.3 and forward[1] > 0.9 and abs(forward[2]) < 1e-9
    assert np.allclose(up, [0, 0, 1])


def test_looking_up_and_moving_convert_to_the_dataset_world() -> None:
    _, up, forward = opengl_axes(opengl_camera_to_world(look_around_pose(0.0, 22.5).double().numpy()))
    assert forward[2] > 0.3 and forward[1] > 0.9  # looking up means towards +z
    pose = orbit_pose(5.0, 0.0, 4.0).double().numpy()
    converted = opengl_camera_to_world(pose)
    assert np.allclose(converted[:3, 3], to_dataset_world(pose[:3, 3]))
    assert np.allclose(converted[:3, :3] @ converted[:3, :3].T, np.eye(3))
    assert np.linalg.det(converted[:3, :3]) == pytest.approx(1.0)


def test_to_dataset_world_axes() -> None:
    # OpenCV (x right, y down, z forward) to (x right, y forward, z up).
    vectors = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
    assert np.allclose(to_dataset_world(vectors), [[1, 0, 0], [0, 0, 1], [0, 1, 0]])


def test_images_read_back_as_written(written: tuple[Path, dict]) -> None:
    folder, _ = written
    image = cv2.cvtColor(cv2.imread(str(folder / "images" / "r0o0_t002.png")), cv2.COLOR_BGR2RGB)
    assert np.array_equal(image, rgb_frame(2))
    confidence = cv2.imread(str(folder / "confidence" / "r0o0_t002.png"), cv2.IMREAD_UNCHANGED)
    assert confidence.shape == (HEIGHT, WIDTH) and set(np.unique(confidence)) == {128, 255}
    mask = cv2.imread(str(folder / "motion_masks" / "r0o0.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(mask[4:], np.full((HEIGHT - 4, WIDTH), 255)) and not mask[:4].any()


def test_points_are_stored(written: tuple[Path, dict]) -> None:
    folder, points = written
    with np.load(folder / "points.npz") as stored:
        assert set(stored.files) == {"xyz", "rgb", "velocity", "moving"}
        assert np.array_equal(stored["xyz"], points["xyz"]) and np.array_equal(stored["rgb"], points["rgb"])


def test_ply_header_and_vertices(written: tuple[Path, dict]) -> None:
    folder, points = written
    content = (folder / "points3D.ply").read_bytes()
    header, body = content.split(b"end_header\n", 1)
    lines = header.decode("ascii").splitlines()
    assert lines[:3] == ["ply", "format binary_little_endian 1.0", "element vertex 3"]
    assert lines[3:] == [
        "property float x",
        "property float y",
        "property float z",
        "property uchar red",
        "property uchar green",
        "property uchar blue",
    ]
    vertex = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("red", "u1"), ("green", "u1"), ("blue", "u1")])
    assert len(body) == 3 * vertex.itemsize
    vertices = np.frombuffer(body, dtype=vertex)
    assert np.array_equal(np.stack([vertices["x"], vertices["y"], vertices["z"]], axis=1), points["xyz"])
    assert np.array_equal(np.stack([vertices["red"], vertices["green"], vertices["blue"]], axis=1), points["rgb"])


def test_empty_ply(tmp_path: Path) -> None:
    write_point_ply(tmp_path / "empty.ply", np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint8))
    assert (tmp_path / "empty.ply").read_bytes().endswith(b"end_header\n")
    assert b"element vertex 0\n" in (tmp_path / "empty.ply").read_bytes()


def test_frame_stem() -> None:
    assert frame_stem("r2o4", 7) == "r2o4_t007"
    assert frame_stem("r0o0", 119) == "r0o0_t119"
