"""Tests of the depth convention, the landscape prior, the guided filter and depth files."""

import logging

import cv2
import numpy as np
import pytest

from evaluation.detection_metrics import depth_abs_rel, texture_copy
from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.synthesis.depth import (
    SKY_DEPTH,
    depth_from_disparity,
    estimate_depth,
    normalize_depth,
)
from mom_nerfstudio.synthesis.depth.from_file import load_depth_file
from mom_nerfstudio.synthesis.depth.prior import LandscapeDepthPrior, ground_disparity
from mom_nerfstudio.synthesis.guided_filter import guided_filter, rolling_guidance
from mom_nerfstudio.synthesis.horizon import horizon_row

HEIGHT, WIDTH, HORIZON = 96, 128, 30


def _landscape() -> tuple[np.ndarray, np.ndarray]:
    """A photo of textured ground under a sky whose lower edge is row HORIZON - 1, and its sky mask."""
    rng = np.random.default_rng(1)
    rgb = np.empty((HEIGHT, WIDTH, 3), dtype=np.float32)
    rgb[:HORIZON] = (0.55, 0.7, 0.95)
    rows = np.linspace(0.0, 1.0, HEIGHT - HORIZON, dtype=np.float32)[:, None]
    rgb[HORIZON:, :, 0] = 0.2 + 0.1 * rows
    rgb[HORIZON:, :, 1] = 0.5 - 0.1 * rows
    rgb[HORIZON:, :, 2] = 0.15
    rgb[HORIZON:] += rng.normal(0.0, 0.02, (HEIGHT - HORIZON, WIDTH, 3)).astype(np.float32)
    sky = np.zeros((HEIGHT, WIDTH), dtype=bool)
    sky[:HORIZON] = True
    return np.clip(rgb, 0.0, 1.0), sky


# --- convention ---------------------------------------------------------------------------------------------


def test_normalize_depth_puts_the_first_percentile_at_exactly_one():
    depth = np.random.default_rng(0).uniform(3.0, 40.0, (50, 60))
    normalized = normalize_depth(depth)
    assert normalized.dtype == np.float32
    assert np.percentile(normalized, 1, method="lower") == 1.0
    assert normalized.min() == 1.0 and normalized.max() <= SKY_DEPTH


def test_normalize_depth_is_scale_invariant_and_keeps_ratios():
    depth = np.random.default_rng(0).uniform(3.0, 40.0, (50, 60))
    np.testing.assert_allclose(normalize_depth(7.5 * depth), normalize_depth(depth), rtol=1e-6)
    normalized = normalize_depth(depth)
    near = normalized > 1.0
    ratio = normalized[near] / depth[near]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-5)


def test_normalize_depth_sends_sky_invalid_and_very_far_pixels_to_the_sky_depth():
    depth = np.full((20, 20), 2.0)
    depth[0, 0], depth[0, 1], depth[0, 2], depth[0, 3] = 0.0, -1.0, np.nan, np.inf
    depth[1, :] = 1000.0
    sky = np.zeros((20, 20), dtype=bool)
    sky[19, :] = True
    normalized = normalize_depth(depth, sky)
    assert (normalized[0, :4] == SKY_DEPTH).all()
    assert (normalized[1] == SKY_DEPTH).all()  # 500 times the nearest depth, clipped
    assert (normalized[19] == SKY_DEPTH).all()
    assert normalized[5, 5] == 1.0


def test_normalize_depth_of_only_sky_warns_and_returns_the_sky_depth(caplog):
    sky = np.ones((8, 8), dtype=bool)
    assert (normalize_depth(np.ones((8, 8)), sky) == SKY_DEPTH).all()
    assert "no valid non-sky pixel" in caplog.text


def test_depth_from_disparity_recovers_depth_up_to_scale():
    rows = np.linspace(2.0, 10.0, 100)
    z = np.repeat(rows[:, None], 30, axis=1)  # the row of smallest depth holds 1/100 of the pixels
    depth = depth_from_disparity(2.0 / z)
    np.testing.assert_allclose(depth, z / z.min(), rtol=1e-6)


def test_depth_from_disparity_treats_zero_and_negative_disparity_as_far():
    disparity = np.full((10, 10), 0.5)
    disparity[0, 0], disparity[0, 1], disparity[0, 2] = 0.0, -0.3, np.nan
    sky = np.zeros((10, 10), dtype=bool)
    sky[9, 9] = True
    depth = depth_from_disparity(disparity, sky)
    assert (depth[0, :3] == SKY_DEPTH).all() and depth[9, 9] == SKY_DEPTH
    assert depth[5, 5] == 1.0


# --- guided filter ------------------------------------------------------------------------------------------


def _noisy_step(channels: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    step = np.zeros((64, 64), dtype=np.float32)
    step[:, 32:] = 1.0
    guide = step if channels == 1 else np.stack([step, 1.0 - step, 0.5 * step], axis=-1)
    src = 0.2 + 0.6 * step + rng.normal(0.0, 0.05, step.shape).astype(np.float32)
    return guide, src


@pytest.mark.parametrize("channels", [1, 3])
def test_guided_filter_keeps_the_guides_step_and_smooths_noise(channels):
    guide, src = _noisy_step(channels)
    filtered = guided_filter(guide, src, radius=6, eps=1e-3)
    assert filtered.shape == src.shape and filtered.dtype == np.float32
    left, right = filtered[:, 4:31], filtered[:, 33:60]  # right up to the edge on each side
    np.testing.assert_allclose(left, 0.2, atol=0.03)
    np.testing.assert_allclose(right, 0.8, atol=0.03)
    assert left.std() < src[:, 4:31].std() / 4


def test_guided_filter_with_a_colour_guide_reproduces_an_affine_function_of_the_guide():
    guide = np.random.default_rng(0).uniform(0.0, 1.0, (40, 50, 3)).astype(np.float32)
    src = 0.3 * guide[..., 0] + 0.5 * guide[..., 1] - 0.2 * guide[..., 2] + 0.1
    np.testing.assert_allclose(guided_filter(guide, src, radius=3, eps=1e-8), src, atol=1e-3)


def test_guided_filter_with_a_grey_guide_averages_where_the_guide_is_flat():
    src = np.random.default_rng(0).uniform(0.0, 1.0, (40, 40)).astype(np.float32)
    filtered = guided_filter(np.full((40, 40), 0.5, dtype=np.float32), src, radius=2, eps=1e-2)
    box = cv2.boxFilter(src, -1, (5, 5), borderType=cv2.BORDER_REFLECT)
    expected = cv2.boxFilter(box, -1, (5, 5), borderType=cv2.BORDER_REFLECT)
    np.testing.assert_allclose(filtered, expected, atol=1e-5)


def test_guided_filter_ignores_pixels_of_zero_weight():
    src = np.ones((40, 40), dtype=np.float32)
    src[:, :20] = 100.0
    weights = np.ones((40, 40), dtype=np.float32)
    weights[:, :20] = 0.0
    guide = np.full((40, 40), 0.5, dtype=np.float32)
    weighted = guided_filter(guide, src, radius=5, eps=1e-2, weights=weights)
    np.testing.assert_allclose(weighted[:, 20:], 1.0, atol=1e-4)
    assert guided_filter(guide, src, radius=5, eps=1e-2)[:, 20].max() > 10  # without weights it leaks


def test_rolling_guidance_removes_stripes_and_keeps_a_large_step():
    rows = np.arange(96)[:, None, None]
    step = np.where(rows < 48, 0.8, 0.2) * np.ones((96, 96, 3))
    stripes = 0.15 * ((np.arange(96)[None, :, None] // 2) % 2)  # 2-px stripes, well under the scale
    cleared = rolling_guidance((step + stripes).astype(np.float32), scale=8)
    assert np.abs(np.diff(cleared[60:90, 10:86, 0], axis=1)).max() < 0.02  # the stripes are gone
    assert cleared[40, 48, 0] - cleared[56, 48, 0] > 0.5  # the step is still there ...
    assert cleared[46, 48, 0] - cleared[50, 48, 0] > 0.4  # ... and still sharp


# --- landscape prior ----------------------------------------------------------------------------------------


def test_prior_depth_rises_from_one_at_the_bottom_to_the_horizon_with_sky_far():
    rgb, sky = _landscape()
    depth = LandscapeDepthPrior().estimate(rgb, sky)
    assert depth.shape == (HEIGHT, WIDTH) and depth.dtype == np.float32
    assert (depth[sky] == SKY_DEPTH).all()
    ground_profile = np.median(depth[HORIZON:], axis=1)
    assert np.all(np.diff(ground_profile) <= 1e-4), "depth must grow towards the horizon"
    assert np.median(depth[-1]) == pytest.approx(1.0, abs=0.02)
    assert depth[-1].max() < 1.15
    assert ground_profile[0] > 8 * ground_profile[-1]
    assert depth[~sky].max() < SKY_DEPTH  # the ground never reaches the sky, even beside it


def test_prior_follows_the_ground_plane_law():
    rgb, sky = _landscape()
    depth = LandscapeDepthPrior().estimate(rgb, sky)
    # For a level camera, depth(y) / depth(bottom) = (bottom - horizon) / (y - horizon).
    horizon, bottom = horizon_row(sky), HEIGHT - 1
    for row in (60, 75):
        expected = (bottom - horizon) / (row - horizon)
        assert np.median(depth[row]) == pytest.approx(expected, rel=0.1)


def test_prior_without_sky_has_no_pixel_at_the_sky_depth_and_is_deterministic():
    rgb, _ = _landscape()
    no_sky = np.zeros((HEIGHT, WIDTH), dtype=bool)
    depth = LandscapeDepthPrior().estimate(rgb, no_sky)
    assert depth.min() == 1.0 and depth.max() < SKY_DEPTH
    np.testing.assert_array_equal(depth, LandscapeDepthPrior().estimate(rgb, no_sky))


def test_prior_depth_has_an_edge_where_the_colour_changes_with_height():
    # Bright ground up to row 60, dark ground beyond: the filtered disparity steps at the colour edge.
    rgb = np.full((HEIGHT, WIDTH, 3), 0.8, dtype=np.float32)
    rgb[60:] = 0.2
    depth = LandscapeDepthPrior().estimate(rgb, np.zeros((HEIGHT, WIDTH), dtype=bool))
    jumps = np.abs(np.diff(1.0 / depth[:, WIDTH // 2]))
    assert np.argmax(jumps) == 59
    assert jumps[59] > 3 * np.median(jumps)


def _planks_stain_and_grass(height: int = 192, width: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat textured ground under a sky: a boardwalk of bright and dark planks, a dark stain, grainy grass.

    Returns the photo, its sky and the true depth: the ground plane the prior assumes, so that any relief the
    prior adds is texture it copied.
    """
    rng = np.random.default_rng(3)
    sky = np.zeros((height, width), dtype=bool)
    sky[:50] = True
    rgb = np.empty((height, width, 3), dtype=np.float32)
    rgb[sky] = (0.55, 0.7, 0.95)
    rgb[50:] = (0.3, 0.45, 0.2)
    rgb[50:] += rng.normal(0.0, 0.05, (height - 50, width, 1)).astype(np.float32)
    rows = np.arange(height)[:, None]
    cols = np.arange(width)[None, :]
    boardwalk = (rows >= 90) & (np.abs(cols - width / 2) < 0.4 * (rows - 60))
    dark_plank = ((rows // 6) % 2 == 0) & boardwalk
    rgb[boardwalk] = (0.75, 0.62, 0.45)
    rgb[dark_plank] = (0.25, 0.18, 0.12)
    stain = (rows - 150) ** 2 / 15**2 + (cols - 40) ** 2 / 25**2 < 1
    rgb[stain] *= 0.35
    plane = ground_disparity(height, width, horizon_row(sky), LandscapeDepthPrior().backdrop_depth)
    true_depth = normalize_depth(1.0 / plane, sky)
    return np.clip(rgb, 0.0, 1.0), sky, true_depth


def test_prior_keeps_textured_flat_ground_smooth():
    rgb, sky, true_depth = _planks_stain_and_grass()
    depth = LandscapeDepthPrior().estimate(rgb, sky)
    # The earlier prior, which guided its depth by the photo's colours, scored 0.0087 on this scene (against the
    # ground plane it assumed).
    assert texture_copy(depth, true_depth, ~sky, rgb) < 0.003
    assert depth_abs_rel(depth, true_depth, ~sky) < 0.1


def test_texture_copy_sees_a_prior_that_follows_the_planks():
    rgb, sky, true_depth = _planks_stain_and_grass()
    grey = rgb.mean(axis=2)
    copying = true_depth * (1.0 + 0.1 * (grey - grey[~sky].mean()))  # bright planks 3 % farther, dark 3 % nearer
    copying[sky] = SKY_DEPTH
    prior = LandscapeDepthPrior().estimate(rgb, sky)
    assert texture_copy(copying, true_depth, ~sky, rgb) > 5 * texture_copy(prior, true_depth, ~sky, rgb)


def test_prior_keeps_the_depth_edge_where_a_mountain_meets_the_ground():
    # Sky, a grey mountain standing behind a green meadow whose far edge is row 64.
    height, width = 128, 192
    rng = np.random.default_rng(4)
    sky = np.zeros((height, width), dtype=bool)
    sky[:24] = True
    rgb = np.empty((height, width, 3), dtype=np.float32)
    rgb[:24] = (0.55, 0.7, 0.95)
    rgb[24:64] = (0.5, 0.52, 0.58)
    rgb[64:] = (0.3, 0.55, 0.2)
    rgb[24:] += rng.normal(0.0, 0.03, (height - 24, width, 1)).astype(np.float32)
    depth = LandscapeDepthPrior().estimate(np.clip(rgb, 0.0, 1.0), sky)
    # Below the horizon, the plane's disparity grows by a steady step per row; at the mountain's foot it jumps.
    disparity_steps = np.diff(1.0 / np.median(depth, axis=1))
    assert 62 <= np.argmax(disparity_steps[30:]) + 30 <= 64
    assert disparity_steps[62:65].max() > 2 * np.median(disparity_steps[70:])


# --- estimate_depth -----------------------------------------------------------------------------------------


def test_estimate_depth_with_the_prior_meets_the_convention():
    rgb, sky = _landscape()
    depth = estimate_depth(rgb, sky)
    assert depth.dtype == np.float32 and depth.shape == sky.shape
    assert (depth[sky] == SKY_DEPTH).all() and depth.min() == 1.0


def test_estimate_depth_with_an_unknown_method_lists_the_valid_ones():
    rgb, sky = _landscape()
    with pytest.raises(Mom4dInputError, match="'zoe'.*prior, file"):
        estimate_depth(rgb, sky, method="zoe")


def test_estimate_depth_from_file_needs_a_path():
    rgb, sky = _landscape()
    with pytest.raises(Mom4dInputError, match="--depth file needs a map: pass --depth-file"):
        estimate_depth(rgb, sky, method="file")


def test_estimate_depth_warns_that_a_file_is_ignored_by_the_prior(tmp_path, caplog):
    rgb, sky = _landscape()
    estimate_depth(rgb, sky, method="prior", depth_file=tmp_path / "depth.npy")
    assert "ignored" in caplog.text


# --- depth files --------------------------------------------------------------------------------------------


def _depth_ramp(height: int = 48, width: int = 64) -> np.ndarray:
    """Depth from 2 (bottom rows) to 12 (top rows), constant along rows."""
    rows = np.linspace(12.0, 2.0, height)
    rows[-2:] = 2.0  # a few rows at the minimum so the 1st percentile is the minimum
    return np.repeat(rows[:, None], width, axis=1)


@pytest.mark.parametrize("kind", ["depth", "disparity"])
def test_npy_file_round_trips(tmp_path, kind):
    depth = _depth_ramp()
    path = tmp_path / "map.npy"
    np.save(path, depth if kind == "depth" else 3.0 / depth)
    sky = np.zeros(depth.shape, dtype=bool)
    sky[0, :5] = True
    loaded = estimate_depth(np.zeros((*depth.shape, 3), np.float32), sky, "file", path, kind)
    expected = depth / depth.min()
    expected[sky] = SKY_DEPTH
    np.testing.assert_allclose(loaded, expected, rtol=1e-5)


@pytest.mark.parametrize("kind", ["depth", "disparity"])
def test_16_bit_png_round_trips(tmp_path, kind):
    depth = _depth_ramp()
    stored = np.round(depth * 1000) if kind == "depth" else np.round(60000 / depth)
    path = tmp_path / "map.png"
    cv2.imwrite(str(path), stored.astype(np.uint16))
    loaded = load_depth_file(path, depth.shape, kind)
    stored_depth = stored if kind == "depth" else 1.0 / stored
    np.testing.assert_allclose(loaded, stored_depth / stored_depth.min(), rtol=1e-6)


def test_8_bit_png_disparity_loads(tmp_path):
    disparity = np.tile(np.linspace(250, 25, 40)[:, None], (1, 40)).round()
    path = tmp_path / "map.png"
    cv2.imwrite(str(path), disparity.astype(np.uint8))
    loaded = load_depth_file(path, (40, 40), "disparity")
    np.testing.assert_allclose(loaded[:, 0], 250 / disparity[:, 0], rtol=1e-6)


def test_exr_file_round_trips(tmp_path):
    depth = _depth_ramp().astype(np.float32)
    path = tmp_path / "map.exr"
    cv2.imwrite(str(path), depth)  # the EXR codec is enabled by importing mom_nerfstudio.synthesis.depth.from_file
    np.testing.assert_allclose(load_depth_file(path, depth.shape), depth / depth.min(), rtol=1e-5)


def test_larger_map_is_area_resampled_without_mixing_in_missing_values(tmp_path):
    depth = np.full((80, 80), 4.0)
    depth[40:, :] = 2.0
    depth[:20, :20] = 0.0  # missing: stays missing (far), and does not dilute its neighbours
    depth[20, 20] = 0.0
    path = tmp_path / "map.npy"
    np.save(path, depth)
    loaded = load_depth_file(path, (40, 40))
    assert (loaded[:10, :10] == SKY_DEPTH).all()
    np.testing.assert_allclose(loaded[10:20], 2.0, rtol=1e-6)  # 4 / 2, including the block around (20, 20)
    np.testing.assert_allclose(loaded[20:], 1.0, rtol=1e-6)


def test_smaller_map_is_enlarged_to_the_image_size(tmp_path):
    path = tmp_path / "map.npy"
    np.save(path, _depth_ramp(24, 32))
    loaded = load_depth_file(path, (48, 64))
    assert loaded.shape == (48, 64)
    assert np.all(np.diff(loaded[:, 10]) <= 1e-6) and loaded.min() == 1.0


def test_missing_depth_file_is_an_input_error(tmp_path):
    with pytest.raises(Mom4dInputError, match="does not exist"):
        load_depth_file(tmp_path / "none.npy", (10, 10))


@pytest.mark.parametrize("name", ["broken.png", "broken.npy", "broken.exr"])
def test_unreadable_depth_file_is_an_input_error(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(Mom4dInputError, match="could not be read"):
        load_depth_file(path, (10, 10))


def test_colour_png_is_an_input_error_that_says_so(tmp_path):
    colour = np.zeros((32, 32, 3), dtype=np.uint8)
    colour[..., 2] = 200
    colour[..., 0] = np.arange(32)
    path = tmp_path / "turbo.png"
    cv2.imwrite(str(path), colour)
    with pytest.raises(Mom4dInputError, match="not a 2-D map.*colour image"):
        load_depth_file(path, (32, 32))


def test_grey_png_stored_as_three_equal_channels_is_accepted(tmp_path):
    grey = np.tile(np.linspace(200, 20, 32)[:, None], (1, 32)).astype(np.uint8)
    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), np.repeat(grey[:, :, None], 3, axis=2))
    assert load_depth_file(path, (32, 32)).shape == (32, 32)


def test_aspect_ratio_mismatch_names_both_shapes(tmp_path):
    path = tmp_path / "map.npy"
    np.save(path, np.ones((40, 40)))
    with pytest.raises(Mom4dInputError, match=r"40 x 40 .* photo is 60 x 40"):
        load_depth_file(path, (40, 60))


def test_aspect_ratio_mismatch_gives_the_photos_size_not_the_working_size(tmp_path):
    path = tmp_path / "map.npy"
    np.save(path, np.ones((40, 40)))
    with pytest.raises(Mom4dInputError, match=r"the photo is 4000 x 3000") as error:
        load_depth_file(path, (48, 64), photo_size=(3000, 4000))
    assert "64" not in str(error.value).replace(str(path), "")


def test_aspect_ratio_within_one_percent_is_accepted(tmp_path):
    path = tmp_path / "map.npy"
    np.save(path, _depth_ramp(100, 201))
    assert load_depth_file(path, (50, 100)).shape == (50, 100)


@pytest.mark.parametrize("values", [np.zeros((20, 20)), np.full((20, 20), -2.0), np.full((20, 20), np.nan)])
def test_map_without_positive_finite_values_is_an_input_error(tmp_path, values):
    path = tmp_path / "map.npy"
    np.save(path, values)
    with pytest.raises(Mom4dInputError, match="no positive finite value"):
        load_depth_file(path, (20, 20))


def test_unknown_depth_file_extension_is_an_input_error(tmp_path):
    path = tmp_path / "map.jpg"
    path.write_bytes(b"whatever")
    with pytest.raises(Mom4dInputError, match="unsupported extension '.jpg'"):
        load_depth_file(path, (10, 10))


def test_depth_file_logs_its_resampling(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="mom4d")
    path = tmp_path / "map.npy"
    np.save(path, _depth_ramp(96, 128))
    load_depth_file(path, (48, 64))
    assert "from 128x96 to 64x48" in caplog.text


def _warnings(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def test_nan_and_negative_depths_are_counted_in_a_warning_and_end_at_the_sky_depth(tmp_path, caplog):
    depth = _depth_ramp(40, 50)
    depth[0, :10] = np.nan
    depth[1, :10] = -3.0
    path = tmp_path / "map.npy"
    np.save(path, depth)
    loaded = load_depth_file(path, (40, 50))
    assert (loaded[:2, :10] == SKY_DEPTH).all()
    (message,) = [message for message in _warnings(caplog) if "map.npy" in message]
    assert "20 of 2000 pixels (1.00%) are NaN, zero or negative" in message
    assert "placed at the sky depth" in message


def test_invalid_values_of_a_resampled_map_say_that_neighbours_fill_them(tmp_path, caplog):
    disparity = np.full((80, 100), 0.5)
    disparity[10, 10] = np.nan
    path = tmp_path / "map.npy"
    np.save(path, disparity)
    load_depth_file(path, (40, 50), "disparity")
    (message,) = [message for message in _warnings(caplog) if "map.npy" in message]
    assert "1 of 8000 pixels (0.01%) are NaN, negative or infinite" in message
    assert "take no part in the resampling" in message


def test_a_valid_map_gives_no_warning(tmp_path, caplog):
    path = tmp_path / "map.npy"
    np.save(path, _depth_ramp())
    load_depth_file(path, (48, 64))
    disparity = 1.0 / _depth_ramp()
    disparity[:3] = 0.0  # zero disparity is infinitely far: valid
    np.save(path, disparity)
    load_depth_file(path, (48, 64), "disparity")
    assert _warnings(caplog) == []


def test_depths_beyond_the_sky_depth_are_clipped_with_a_warning(caplog):
    depth = np.full((10, 20), 2.0)
    depth[:3, :5] = 2.0 * SKY_DEPTH * 3  # 150 times the nearest depth
    normalized = normalize_depth(depth)
    assert (normalized[:3, :5] == SKY_DEPTH).all()
    (message,) = _warnings(caplog)
    assert f"more than {SKY_DEPTH:g} times its nearest depth" in message
    assert "15 of 200 pixels (7.50%)" in message and "clipped to the sky depth" in message


def test_sky_pixels_are_not_counted_as_clipped(caplog):
    depth = np.full((10, 20), 2.0)
    depth[:3] = 1000.0
    sky = np.zeros(depth.shape, dtype=bool)
    sky[:3] = True
    normalize_depth(depth, sky)
    assert _warnings(caplog) == []
