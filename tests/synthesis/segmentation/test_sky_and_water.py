import numpy as np
import pytest

from mom_nerfstudio.synthesis.segmentation import detect_sky, find_water

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


def test_detect_sky_leaves_out_a_smooth_mast_rising_into_it():
    """A mast of nearly the sky's colour is told from the sky by its long straight upright edges."""
    rows, width = 240, 320
    half = rows // 2
    rgb = np.concatenate([blue_sky(half, width), grass(rows - half, width)])
    rgb[20:half, 150:156] = [0.85, 0.85, 0.85]  # smooth and pale, like a hazy sky
    sky = detect_sky(rgb)
    assert sky[:half, :100].mean() > 0.95
    assert sky[20:half, 150:156].mean() < 0.3  # swallowed whole without the edges (0.99)


def streaked_water(rows: int, width: int, seed: int, streak_rows: int = 2) -> np.ndarray:
    """Bright, colourless, slightly blue water streaked across its flow (white water, ripples)."""
    rng = np.random.default_rng(seed)
    streaks = 0.75 + 0.2 * ((np.arange(rows) // streak_rows) % 2)[:, None] + rng.normal(0, 0.03, (rows, width))
    return np.clip(np.stack([streaks - 0.08, streaks - 0.04, streaks], axis=2), 0, 1).astype(np.float32)


def test_find_water_finds_a_bright_low_saturation_stripe():
    rgb = grass(HEIGHT, WIDTH, seed=3)
    rgb[:, 60:100] = streaked_water(HEIGHT, 40, seed=4)
    water = find_water(rgb, np.zeros((HEIGHT, WIDTH), dtype=bool)).water
    assert water.shape == (HEIGHT, WIDTH) and water.dtype == bool
    assert water[:, 64:96].mean() > 0.9
    outside = np.ones(WIDTH, dtype=bool)
    outside[56:104] = False
    assert water[:, outside].mean() < 0.01


def test_find_water_finds_nothing_in_grass():
    assert not find_water(grass(HEIGHT, WIDTH, seed=5), np.zeros((HEIGHT, WIDTH), dtype=bool)).water.any()


def test_find_water_finds_no_water_in_or_above_the_sky():
    rgb = grass(HEIGHT, WIDTH, seed=6)
    rgb[:, 60:100] = streaked_water(HEIGHT, 40, seed=7)
    sky = np.zeros((HEIGHT, WIDTH), dtype=bool)
    sky[:40, 60:100] = True  # pretend the top of the stripe is sky
    water = find_water(rgb, sky).water
    assert not water[:40].any()
    assert water[50:, 64:96].mean() > 0.9


def test_detectors_find_sky_and_water_at_working_resolution():
    height, width = 683, 1024
    rgb = np.concatenate([blue_sky(300, width), grass(height - 300, width, seed=8)])
    rgb[300:, 400:600] = streaked_water(height - 300, 200, seed=9, streak_rows=4)
    sky = detect_sky(rgb)
    water = find_water(rgb, sky).water
    assert sky[:290].mean() > 0.95 and water[320:, 420:580].mean() > 0.9


def fog_grey_sky(rows: int, width: int) -> np.ndarray:
    return np.clip(np.full((rows, width, 3), [0.80, 0.82, 0.86], dtype=np.float32), 0, 1)


def rippled_lake(rows: int, width: int, seed: int) -> np.ndarray:
    """Grey-blue water with wavy horizontal ripples, as a lake under a pale sky looks from its shore."""
    y, x = np.mgrid[0:rows, 0:width].astype(np.float32)
    ripples = 0.12 * np.sin(1.3 * y + 0.4 * np.sin(0.15 * x + 0.2 * y))
    ripples += np.random.default_rng(seed).normal(0.0, 0.02, (rows, width)).astype(np.float32)
    return np.clip(np.array([0.42, 0.50, 0.60], dtype=np.float32) + ripples[..., None], 0, 1)


def pier_scene(plank_colours: tuple[tuple[float, ...], tuple[float, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """A foggy lake seen from a wooden pier: pale sky, a dark far shore, rippled water, and a boardwalk of planks
    (alternate colours, spaced by perspective) narrowing from the bottom of the frame into the lake.

    Returns the photo and the pier's mask.
    """
    rgb = np.concatenate(
        [
            fog_grey_sky(36, WIDTH),
            textured((0.45, 0.48, 0.52), (8, WIDTH), 0.02, seed=11),
            rippled_lake(HEIGHT - 44, WIDTH, seed=12),
        ]
    )
    pier = np.zeros((HEIGHT, WIDTH), dtype=bool)
    for row in range(50, HEIGHT):
        nearness = (row - 50) / (HEIGHT - 50)
        half_width = 6 + 24 * nearness
        columns = slice(int(WIDTH / 2 - half_width), int(WIDTH / 2 + half_width))
        pier[row, columns] = True
        plank = int(12 / (nearness + 0.15)) % 2
        rgb[row, columns] = textured(plank_colours[plank], (1, columns.stop - columns.start), 0.02, seed=row)[0]
    return rgb, pier


PLANKS = {
    "brown wood": ((0.52, 0.45, 0.38), (0.30, 0.25, 0.21)),
    "weathered grey wood": ((0.60, 0.60, 0.60), (0.35, 0.35, 0.36)),
    "wood in a blue fog": ((0.55, 0.58, 0.62), (0.33, 0.35, 0.39)),
}


@pytest.mark.parametrize("planks", PLANKS.values(), ids=PLANKS.keys())
def test_find_water_never_animates_a_pier_and_still_finds_the_lake(planks):
    rgb, pier = pier_scene(planks)
    water = find_water(rgb, detect_sky(rgb)).water
    assert water[pier].mean() < 0.01
    lake = np.zeros_like(pier)
    lake[56:, :] = True
    lake &= ~_dilate(pier, 4)
    assert water[lake].mean() > 0.9


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    import cv2

    return cv2.dilate(mask.astype(np.uint8), np.ones((2 * radius + 1,) * 2, np.uint8)).astype(bool)


def test_find_water_leaves_smooth_and_rock_like_slabs_of_water_colour_still_and_says_why():
    rgb = np.concatenate([blue_sky(40, WIDTH), grass(HEIGHT - 40, WIDTH, seed=13)])
    road = np.zeros((HEIGHT, WIDTH), dtype=bool)
    road[60:, 10:70] = True
    rock = np.zeros_like(road)
    rock[60:, 90:150] = True
    rgb[road] = (0.50, 0.55, 0.62)  # a smooth blue-grey road
    rgb[rock] = textured((0.45, 0.50, 0.58), (HEIGHT, WIDTH), 0.08, seed=14)[rock]  # grainy blue-grey rock
    search = find_water(rgb, detect_sky(rgb))
    assert not search.water.any()
    reasons = {region.where(): region.reason for region in search.doubtful}
    assert reasons.keys() == {"lower left", "lower right"}
    assert "smooth" in reasons["lower left"] and "not streaked" in reasons["lower right"]
    assert "lower left" in search.describe_doubtful() and "% of the image" in search.describe_doubtful()


def test_find_water_ignores_a_pale_rock_slab_with_strata_beside_white_water():
    rgb = grass(HEIGHT, WIDTH, seed=15)
    rgb[:, 20:60] = streaked_water(HEIGHT, 40, seed=16)
    rgb[:, 90:150] = textured((0.72, 0.72, 0.71), (HEIGHT, 60), 0.03, seed=17)
    rgb[::5, 90:150] -= 0.15  # horizontal strata, streaked like ripples but colourless
    water = find_water(np.clip(rgb, 0, 1), np.zeros((HEIGHT, WIDTH), dtype=bool)).water
    assert water[:, 24:56].mean() > 0.9
    assert not water[:, 86:].any()


def test_find_water_finds_the_tiny_landscapes_striped_water(landscape):
    rgb = landscape.rgb()
    water = find_water(rgb, detect_sky(rgb)).water
    assert water[landscape.water_top_row + 2 :].mean() > 0.9
    assert not water[: landscape.water_top_row - 2].any()


def test_find_water_ignores_hazy_mountains_above_the_horizon():
    # Grainy blue mountains streaked by bands of haze look like rippled water, but they rise from row 50, above
    # where a camera held about level sees the ground's horizon (row 50.5 here).
    mountains = textured((0.48, 0.54, 0.65), (20, WIDTH), 0.03, seed=18)
    mountains[::3] -= 0.06
    rgb = np.clip(np.concatenate([blue_sky(30, WIDTH), mountains, grass(HEIGHT - 50, WIDTH, seed=19)]), 0, 1)
    sky = detect_sky(rgb)
    assert sky[:28].all() and not sky[32:].any()
    assert not find_water(rgb, sky).water.any()
    rgb[60:80] = rgb[30:50]  # the same streaks below the horizon pass for water
    assert find_water(rgb, sky).water[62:78].mean() > 0.9


@pytest.mark.parametrize("gap_in_the_tree_line", [False, True])
def test_detect_sky_stops_at_a_faint_tree_line_and_leaves_the_fog_below_it(gap_in_the_tree_line):
    rgb = np.concatenate(
        [
            fog_grey_sky(30, WIDTH),
            textured((0.42, 0.45, 0.43), (10, WIDTH), 0.04, seed=20),  # a tree line, dimmed by the fog
            fog_grey_sky(20, WIDTH) - 0.05,  # fog lying on the ground, as pale and smooth as the sky
            grass(HEIGHT - 60, WIDTH, seed=21),
        ]
    )
    if gap_in_the_tree_line:
        rgb[30:40, 70:80] = fog_grey_sky(10, 10)
    sky = detect_sky(np.clip(rgb, 0, 1))
    assert sky[:28].mean() > 0.97
    assert not sky[42:60].any()


def test_detect_sky_keeps_textured_clouds_inside_the_sky():
    rgb = np.concatenate([blue_sky(50, WIDTH), grass(HEIGHT - 50, WIDTH, seed=22)])
    cloud = textured((0.92, 0.92, 0.94), (12, 60), 0.06, seed=23)  # a bright cloud with a grainy texture
    rgb[15:27, 50:110] = np.clip(cloud, 0, 1)
    sky = detect_sky(rgb)
    assert sky[15:27, 50:110].mean() > 0.95
    assert sky[:48].mean() > 0.97 and sky[52:].mean() < 0.01


def test_detect_sky_finds_an_orange_dusk_sky_above_a_dark_rippled_sea():
    rows = np.linspace(0.0, 1.0, 50, dtype=np.float32)[:, None, None]
    dusk = np.array([0.55, 0.35, 0.45]) + (np.array([1.0, 0.75, 0.45]) - np.array([0.55, 0.35, 0.45])) * rows
    dusk = np.broadcast_to(dusk, (50, WIDTH, 3))
    stripes = 0.1 * np.sin(np.arange(HEIGHT - 50, dtype=np.float32) * 1.7)[:, None, None]
    sea = np.clip(textured((0.25, 0.2, 0.25), (HEIGHT - 50, WIDTH), 0.05, seed=4) + stripes, 0, 1)
    sky = detect_sky(np.concatenate([dusk, sea]).astype(np.float32))
    assert sky[:46].mean() > 0.97 and sky[54:].mean() < 0.02


def test_detect_sky_finds_no_sky_where_water_fills_the_top_of_the_frame():
    """Water seen from above: smooth, greenish and darker than the rocks below it."""
    water = textured((0.13, 0.22, 0.19), (70, WIDTH), 0.004, seed=5)
    rock = textured((0.6, 0.55, 0.5), (HEIGHT - 70, WIDTH), 0.1, seed=6)
    assert not detect_sky(np.concatenate([water, rock])).any()


def test_a_small_working_copy_is_read_like_the_photo_at_the_texture_size(tmp_path):
    """A 128-px working copy would carry less fine texture than the detectors' thresholds assume: the photo is read at
    512 px instead, and the masks brought to the working size."""
    from PIL import Image

    from mom_nerfstudio.synthesis.image_io import load_image
    from mom_nerfstudio.synthesis.segmentation import find_sky_and_water, find_sky_and_water_of

    rgb = np.concatenate([blue_sky(160, 768), grass(352, 768, seed=3)])
    rgb[300:, 200:500] = streaked_water(212, 300, seed=4, streak_rows=4)
    photo = tmp_path / "photo.png"
    Image.fromarray((rgb * 255).astype(np.uint8)).save(photo)
    small = load_image(photo, max_resolution=128).rgb
    found = find_sky_and_water_of(photo, small)
    at_texture_size = find_sky_and_water(load_image(photo, max_resolution=512).rgb).resized(small.shape[:2])
    assert found.sky.shape == small.shape[:2]
    np.testing.assert_array_equal(found.sky, at_texture_size.sky)
    np.testing.assert_array_equal(found.water.water, at_texture_size.water.water)
    assert found.water.water[60:, 40:90].mean() > 0.8


def test_find_water_leaves_a_cool_streaked_facade_crossed_by_upright_edges_still():
    """A glass facade reflecting the sky is cool and streaked by its floors, but its mullions are long upright lines."""
    rgb = np.concatenate([blue_sky(120, 480), grass(240, 480, seed=11)])
    facade = streaked_water(180, 300, seed=12, streak_rows=6)
    for offset in range(3):
        facade[:, offset::32] = 0.6  # mullions 3 px wide every 32 px, the whole height of the facade
    rgb[180:, 90:390] = facade
    found = find_water(rgb, detect_sky(rgb))
    assert not found.water[180:, 90:390].any()
    assert any("upright" in region.reason for region in found.doubtful)
    # Without the mullions the same facade would be taken for rippled water.
    rgb[180:, 90:390] = streaked_water(180, 300, seed=12, streak_rows=6)
    assert find_water(rgb, detect_sky(rgb)).water[200:, 110:370].mean() > 0.9
