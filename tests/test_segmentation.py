import time

import numpy as np

from dataparsers.segmentation import detect_sky, detect_water

HEIGHT, WIDTH = 120, 160


def textured(base_rgb: tuple[float, float, float], shape: tuple[int, int], amplitude: float, seed: int) -> np.ndarray:
    """A colour with per-pixel brightness noise, like grass, foliage or rock."""
    noise = np.random.default_rng(seed).normal(0.0, amplitude, size=shape)[..., None]
    return np.clip(np.array(base_rgb, dtype=np.float32) + noise, 0, 1).astype(np.float32)


def blue_sky(rows: int, width: int) -> np.ndarray:
    """A smooth sky, paler towards the horizon."""
    paleness = np.linspace(0.0, 1.0, rows, dtype=np.float32)[:, None, None]
    top, horizon = np.array([0.30, 0.50, 0.90]), np.array([0.65, 0.78, 0.95])
    return np.broadcast_to(top + (horizon - top) * paleness, (rows, width, 3)).astype(np.float32)


def grass(rows: int, width: int, seed: int = 0) -> np.ndarray:
    return textured((0.25, 0.50, 0.15), (rows, width), 0.08, seed)


def test_detect_sky_finds_a_blue_sky_above_textured_grass():
    half = HEIGHT // 2
    rgb = np.concatenate([blue_sky(half, WIDTH), grass(HEIGHT - half, WIDTH)])
    sky = detect_sky(rgb)
    assert sky.shape == (HEIGHT, WIDTH) and sky.dtype == bool
    assert sky[:half].mean() > 0.97
    assert sky[half:].mean() < 0.01


def test_detect_sky_keeps_a_pale_textured_ridge_out_of_an_overcast_sky():
    overcast = np.full((40, WIDTH, 3), [0.86, 0.87, 0.90], dtype=np.float32)
    pale_rock = textured((0.72, 0.72, 0.74), (HEIGHT - 40, WIDTH), 0.08, seed=1)
    sky = detect_sky(np.concatenate([overcast, pale_rock]))
    assert sky[:40].mean() > 0.97
    assert sky[40:].mean() < 0.01


def test_detect_sky_finds_no_sky_where_there_is_none():
    foliage = textured((0.20, 0.40, 0.15), (HEIGHT, WIDTH), 0.12, seed=2)
    assert not detect_sky(foliage).any()


def test_detect_sky_ignores_smooth_bright_patches_that_do_not_reach_the_top():
    rgb = grass(HEIGHT, WIDTH)
    rgb[50:80, 60:100] = [0.85, 0.88, 0.92]  # a smooth pale wall in the middle of the image
    assert not detect_sky(rgb).any()


def streaked_water(rows: int, width: int, seed: int, streak_rows: int = 2) -> np.ndarray:
    """Bright, colourless, slightly blue water streaked across its flow (white water, ripples)."""
    rng = np.random.default_rng(seed)
    streaks = 0.75 + 0.2 * ((np.arange(rows) // streak_rows) % 2)[:, None] + rng.normal(0, 0.03, (rows, width))
    return np.clip(np.stack([streaks - 0.08, streaks - 0.04, streaks], axis=2), 0, 1).astype(np.float32)


def test_detect_water_finds_a_bright_low_saturation_stripe():
    rgb = grass(HEIGHT, WIDTH, seed=3)
    rgb[:, 60:100] = streaked_water(HEIGHT, 40, seed=4)
    water = detect_water(rgb, np.zeros((HEIGHT, WIDTH), dtype=bool))
    assert water.shape == (HEIGHT, WIDTH) and water.dtype == bool
    assert water[:, 64:96].mean() > 0.9
    outside = np.ones(WIDTH, dtype=bool)
    outside[56:104] = False
    assert water[:, outside].mean() < 0.01


def test_detect_water_finds_nothing_in_grass():
    assert not detect_water(grass(HEIGHT, WIDTH, seed=5), np.zeros((HEIGHT, WIDTH), dtype=bool)).any()


def test_detect_water_finds_no_water_in_or_above_the_sky():
    rgb = grass(HEIGHT, WIDTH, seed=6)
    rgb[:, 60:100] = streaked_water(HEIGHT, 40, seed=7)
    sky = np.zeros((HEIGHT, WIDTH), dtype=bool)
    sky[:40, 60:100] = True  # pretend the top of the stripe is sky
    water = detect_water(rgb, sky)
    assert not water[:40].any()
    assert water[50:, 64:96].mean() > 0.9


def test_detectors_are_fast_at_working_resolution():
    height, width = 683, 1024
    rgb = np.concatenate([blue_sky(300, width), grass(height - 300, width, seed=8)])
    rgb[300:, 400:600] = streaked_water(height - 300, 200, seed=9, streak_rows=4)
    begin = time.perf_counter()
    sky = detect_sky(rgb)
    water = detect_water(rgb, sky)
    assert time.perf_counter() - begin < 1.0
    assert sky[:290].mean() > 0.95 and water[320:, 420:580].mean() > 0.9
