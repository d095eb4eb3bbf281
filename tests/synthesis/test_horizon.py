"""Tests of the horizon of a landscape photo: the sky line, and the horizon of a camera tilted slightly down."""

import math

import numpy as np
import pytest

from mom_nerfstudio.synthesis.horizon import (
    ASSUMED_TILT_DEGREES,
    HORIZON_FRACTION_WITHOUT_SKY,
    MAX_HORIZON_FRACTION,
    horizon_row,
    sky_line_row,
)

HEIGHT, WIDTH = 120, 160


def sky_down_to(row: int) -> np.ndarray:
    sky = np.zeros((HEIGHT, WIDTH), dtype=bool)
    sky[: row + 1] = True
    return sky


def tilted_camera_row(fov_degrees: float) -> float:
    focal = 0.5 * WIDTH / math.tan(math.radians(fov_degrees) / 2.0)
    return (HEIGHT - 1) / 2.0 - focal * math.tan(math.radians(ASSUMED_TILT_DEGREES))


def test_sky_line_is_the_lower_edge_of_the_sky():
    assert sky_line_row(sky_down_to(40)) == 40


def test_sky_line_ignores_a_few_columns_where_the_sky_reaches_low():
    sky = sky_down_to(40)
    sky[:90, :10] = True  # sky seen low through a gap in the trees, in 6 % of the columns
    assert sky_line_row(sky) == 40


def test_sky_line_of_an_image_without_sky_is_none():
    assert sky_line_row(np.zeros((HEIGHT, WIDTH), dtype=bool)) is None


def test_horizon_below_a_high_sky_line_is_where_a_slightly_tilted_camera_sees_it():
    # Mountains end the sky at row 20: the ground's horizon lies lower, near the middle of the frame.
    expected = tilted_camera_row(50.0)
    assert 20 < expected < (HEIGHT - 1) / 2
    assert horizon_row(sky_down_to(20), fov_degrees=50.0) == pytest.approx(expected)
    # A wider field of view puts the same tilt fewer pixels above the centre.
    assert horizon_row(sky_down_to(20), fov_degrees=80.0) == pytest.approx(tilted_camera_row(80.0))
    assert tilted_camera_row(80.0) > expected


def test_horizon_is_the_sky_line_when_the_sky_reaches_lower():
    assert horizon_row(sky_down_to(70)) == 70


def test_horizon_leaves_some_ground():
    assert horizon_row(sky_down_to(110)) == MAX_HORIZON_FRACTION * HEIGHT


def test_horizon_without_sky_is_near_the_top():
    assert horizon_row(np.zeros((HEIGHT, WIDTH), dtype=bool)) == HORIZON_FRACTION_WITHOUT_SKY * HEIGHT
