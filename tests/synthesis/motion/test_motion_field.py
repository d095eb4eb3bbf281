import time

import numpy as np
import pytest

from mom_nerfstudio.synthesis.motion.fields import (
    default_hint_sigma,
    dense_hint_field,
    resize_flow,
    smooth_flow,
)


def full_mask(height: int, width: int) -> np.ndarray:
    return np.ones((height, width), dtype=bool)


def test_field_at_a_hint_start_is_that_hints_velocity_when_hints_are_far_apart():
    starts = np.array([[20.0, 50.0], [180.0, 50.0]])
    velocities = np.array([[1.0, 0.0], [0.0, 2.0]])
    field = dense_hint_field(full_mask(100, 200), starts, velocities, sigma=10.0)
    np.testing.assert_allclose(field[50, 20], [1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(field[50, 180], [0.0, 2.0], atol=1e-6)


def test_field_is_zero_outside_the_mask():
    mask = np.zeros((60, 80), dtype=bool)
    mask[10:30, 20:50] = True
    field = dense_hint_field(mask, np.array([[30.0, 20.0]]), np.array([[1.5, -0.5]]))
    assert np.all(field[~mask] == 0)
    np.testing.assert_allclose(field[mask], np.tile([1.5, -0.5], (mask.sum(), 1)), atol=1e-6)


@pytest.mark.parametrize("sigma", [None, 15.0, 200.0])
def test_midpoint_of_two_hints_gets_their_mean(sigma):
    starts = np.array([[40.0, 50.0], [160.0, 50.0]])
    velocities = np.array([[1.0, 0.0], [-3.0, 2.0]])
    field = dense_hint_field(full_mask(100, 201), starts, velocities, sigma=sigma)
    np.testing.assert_allclose(field[50, 100], [-1.0, 1.0], atol=1e-5)


def test_field_stays_finite_and_takes_the_nearest_hint_far_from_every_hint():
    # exp(-(distance / sigma)^2) underflows to 0 for every hint here: a naive normalisation gives 0 / 0.
    starts = np.array([[0.0, 0.0], [10.0, 0.0]])
    velocities = np.array([[1.0, 2.0], [3.0, 4.0]])
    field = dense_hint_field(full_mask(300, 400), starts, velocities, sigma=1.0)
    assert np.isfinite(field).all()
    np.testing.assert_allclose(field[299, 399], [3.0, 4.0], atol=1e-6)
    np.testing.assert_allclose(field[299, 0], [1.0, 2.0], atol=1e-6)


def test_no_hints_give_a_zero_field():
    field = dense_hint_field(full_mask(20, 30), np.zeros((0, 2)), np.zeros((0, 2)))
    assert field.shape == (20, 30, 2)
    assert field.dtype == np.float32
    assert not field.any()


def test_default_sigma_is_proportional_to_the_image_size():
    for hints in (1, 3, 20):
        assert default_hint_sigma(1366, 2048, hints) == pytest.approx(2 * default_hint_sigma(683, 1024, hints))
    assert default_hint_sigma(683, 1024, 1) > default_hint_sigma(683, 1024, 4) > 0


def test_field_of_a_twice_larger_image_resized_down_matches_the_field_at_one_size():
    height, width = 60, 90
    starts = np.array([[10.0, 10.0], [70.0, 20.0], [40.0, 50.0]])
    velocities = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    small = dense_hint_field(full_mask(height, width), starts, velocities)
    # The same hints drawn on a 2x copy: pixel centres map as p -> 2 p + 0.5, motions double.
    large = dense_hint_field(full_mask(2 * height, 2 * width), 2 * starts + 0.5, 2 * velocities)
    np.testing.assert_allclose(resize_flow(large, (height, width)), small, atol=0.02)


def test_resize_flow_rescales_each_axis_by_its_own_ratio():
    flow = np.zeros((10, 20, 2), dtype=np.float32)
    flow[..., 0], flow[..., 1] = 1.0, 2.0
    resized = resize_flow(flow, (30, 10))
    assert resized.shape == (30, 10, 2)
    np.testing.assert_allclose(resized[..., 0], 0.5, atol=1e-6)  # width 20 -> 10
    np.testing.assert_allclose(resized[..., 1], 6.0, atol=1e-6)  # height 10 -> 30


def test_smooth_flow_averages_inside_the_mask_and_keeps_the_motion_at_its_border():
    mask = np.zeros((40, 40), dtype=bool)
    mask[5:35, 5:35] = True
    flow = np.zeros((40, 40, 2), dtype=np.float32)
    flow[mask] = [2.0, -1.0]
    flow[20, 20] = [2.0 + 225.0, -1.0]
    smoothed = smooth_flow(flow, mask, kernel=15)
    assert np.all(smoothed[~mask] == 0)
    # A spike spreads over the 15 x 15 window around it.
    np.testing.assert_allclose(smoothed[20, 20], [3.0, -1.0], atol=1e-5)
    np.testing.assert_allclose(smoothed[20, 27], [3.0, -1.0], atol=1e-5)
    np.testing.assert_allclose(smoothed[20, 28], [2.0, -1.0], atol=1e-5)
    # The static zeros outside do not drag the border down.
    np.testing.assert_allclose(smoothed[5, 5], [2.0, -1.0], atol=1e-5)


def test_dense_hint_field_is_fast_at_working_resolution():
    rng = np.random.default_rng(0)
    starts = rng.uniform(0, 683, size=(20, 2))
    velocities = rng.normal(size=(20, 2))
    begin = time.perf_counter()
    dense_hint_field(full_mask(683, 1024), starts, velocities)
    assert time.perf_counter() - begin < 1.0


def test_field_computed_in_bands_of_rows_equals_the_field_computed_at_once(monkeypatch):
    mask = np.zeros((50, 70), dtype=bool)
    mask[7:43, 3:66] = True
    starts = np.array([[10.0, 10.0], [60.0, 40.0], [30.0, 45.0]])
    velocities = np.array([[1.0, 0.0], [0.0, 1.0], [-0.5, 0.5]])
    at_once = dense_hint_field(mask, starts, velocities)
    monkeypatch.setattr("mom_nerfstudio.synthesis.motion.fields.MAX_CHUNK_ELEMENTS", 1000)  # about 5 rows per band
    np.testing.assert_array_equal(dense_hint_field(mask, starts, velocities), at_once)
