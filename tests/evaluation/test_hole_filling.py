"""Tests of the hole-filling benchmark's pieces: the fillers it compares, and what a test path shows beyond the photo."""

import numpy as np

from dataparsers.dataset_format import opengl_camera_to_world
from evaluation.hole_filling import (
    available_fillers,
    crop_to_exclude,
    edge_runs,
    frame_coverage,
    near_band,
)
from mom_nerfstudio.synthesis.cameras import intrinsics_from_fov, look_around_pose

WIDTH, HEIGHT, FOV = 64, 48, 60.0
INTRINSICS = intrinsics_from_fov(WIDTH, HEIGHT, FOV)
INPUT_POSE = opengl_camera_to_world(np.eye(4))


def moved(offset: tuple[float, float, float]) -> np.ndarray:
    """The input camera moved by `offset` along its own axes (x right, y up, z backwards)."""
    pose = INPUT_POSE.copy()
    pose[:3, 3] += INPUT_POSE[:3, :3] @ np.asarray(offset)
    return pose


def columns_beyond_the_right_edge(shift_px: float) -> int:
    """Pixel columns whose centres land beyond the input's right edge when the content shifts by `shift_px`."""
    return sum(column + 0.5 + shift_px >= WIDTH for column in range(WIDTH))


def test_a_camera_moved_right_sees_a_band_beyond_the_right_edge_of_a_wall() -> None:
    depth, step = 2.0, 0.2
    wall = np.full((HEIGHT, WIDTH), depth, np.float32)
    coverage = frame_coverage(wall, moved((step, 0.0, 0.0)), INTRINSICS, INPUT_POSE, wall, [INPUT_POSE])
    expected = columns_beyond_the_right_edge(INTRINSICS.fx * step / depth)
    assert expected >= 4
    runs = edge_runs(coverage.outside_input)
    assert runs["right"].max() == runs["right"].min() == expected
    assert runs["left"].max() == runs["top"].max() == runs["bottom"].max() == 0
    assert crop_to_exclude(coverage.outside_input) == expected
    assert np.array_equal(coverage.outside_views, coverage.outside_input)  # the only view is the input's
    assert not coverage.hidden_in_input.any()


def test_a_view_turned_right_covers_the_band_and_an_occluder_hides_what_is_behind_it() -> None:
    wall = np.full((HEIGHT, WIDTH), 2.0, np.float32)
    occluded = wall.copy()
    occluded[16:32, 16:32] = 1.0  # the photo saw something nearer there: the wall behind it was hidden
    turned_right = opengl_camera_to_world(look_around_pose(20.0, 0.0).numpy())
    coverage = frame_coverage(
        wall, moved((0.2, 0.0, 0.0)), INTRINSICS, INPUT_POSE, occluded, [INPUT_POSE, turned_right]
    )
    assert coverage.outside_input.any() and not coverage.outside_views.any()
    hidden_rows, hidden_columns = np.nonzero(coverage.hidden_in_input)
    assert 0 < len(hidden_rows) <= 16 * 16
    assert hidden_rows.min() >= 16 and hidden_rows.max() < 32 and hidden_columns.max() < 32


def test_crop_and_runs_of_a_bottom_band() -> None:
    mask = np.zeros((40, 60), bool)
    mask[-7:] = True
    mask[-9:, :3] = True  # a deeper corner, beside the middle half of the bottom side and of the left one
    runs = edge_runs(mask)
    assert runs["bottom"].max() == runs["bottom"].min() == 7
    assert runs["left"].max() == 0  # the band along the bottom does not count as a left band
    assert crop_to_exclude(mask) == 7  # the corner pixels lie within 3 px of the left edge
    assert crop_to_exclude(np.zeros((5, 5), bool)) == 0


def test_near_band_keeps_the_hole_pixels_close_to_the_seen_ones() -> None:
    holes = np.zeros((10, 40), bool)
    holes[:, 20:] = True
    band = near_band(holes, 5.0)
    assert band[:, 20:25].all() and not band[:, 26:].any() and not band[:, :20].any()


def test_every_filler_fills_only_the_holes() -> None:
    rgb = np.random.default_rng(0).random((32, 48, 3)).astype(np.float32)
    holes = np.zeros((32, 48), bool)
    holes[:, 36:] = True
    rgb[holes] = 0.0
    for name, filler in available_fillers().items():
        filled = filler(rgb, holes)
        assert filled.shape == rgb.shape, name
        assert np.allclose(filled[~holes], rgb[~holes], atol=1.0 / 255.0), name
        assert filled[holes].mean() > 0.2, name
