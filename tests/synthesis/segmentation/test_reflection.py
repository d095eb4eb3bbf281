import cv2
import numpy as np

from mom_nerfstudio.synthesis.segmentation import find_water
from mom_nerfstudio.synthesis.segmentation.features import texture_at
from mom_nerfstudio.synthesis.segmentation.reflection import calm_water, find_shoreline

HEIGHT, WIDTH = 160, 256
SHORE = 90


def mountains(rows: int, seed: int) -> np.ndarray:
    """Sky over a jagged, textured ridge: content a lake can mirror."""
    rng = np.random.default_rng(seed)
    picture = np.empty((rows, WIDTH, 3), dtype=np.float32)
    picture[:] = [0.55, 0.7, 0.95]
    ridge = (rows * (0.35 + 0.25 * np.sin(np.arange(WIDTH) / 9.0) + 0.1 * rng.random(WIDTH))).astype(int)
    rock = np.clip(0.35 + rng.normal(0.0, 0.12, (rows, WIDTH, 1)), 0, 1) * np.array([1.0, 0.95, 0.9])
    below_ridge = np.arange(rows)[:, None] >= ridge[None, :]
    picture[below_ridge] = rock[below_ridge]
    return picture


def lake_photo(blur: float) -> np.ndarray:
    """The ridge above SHORE and its reflection below it: upside down, darker and blurred by `blur` px."""
    above = mountains(SHORE, seed=3)
    mirror = above[::-1][: HEIGHT - SHORE]
    if blur > 0:
        mirror = cv2.GaussianBlur(mirror, (0, 0), blur)
    return np.concatenate([above, 0.8 * mirror]).astype(np.float32)


def sky_of(photo: np.ndarray) -> np.ndarray:
    sky = np.zeros(photo.shape[:2], dtype=bool)
    sky[:SHORE] = np.all(photo[:SHORE] == [0.55, 0.7, 0.95], axis=2)
    return sky


def test_a_lake_mirroring_a_ridge_is_found_below_its_shoreline():
    photo = lake_photo(blur=1.2)
    shoreline = find_shoreline(photo, sky_of(photo), texture_at(photo, photo.shape[:2]))
    assert shoreline is not None and abs(shoreline.row - SHORE) <= 2
    water = calm_water(photo, sky_of(photo), shoreline)
    assert water[SHORE + 3 :].mean() > 0.9 and not water[: SHORE - 2].any()


def test_a_sharp_mirror_image_is_not_a_reflection():
    """A facade's rows of windows mirror each other as sharply as they are: water blurs what it reflects."""
    photo = lake_photo(blur=0.0)
    assert find_shoreline(photo, sky_of(photo), texture_at(photo, photo.shape[:2])) is None


def test_find_water_calls_the_mirrored_lake_calm():
    photo = lake_photo(blur=1.2)
    found = find_water(photo, sky_of(photo))
    assert found.calm_water[SHORE + 3 :].mean() > 0.9
    assert np.array_equal(found.water & found.calm_water, found.calm_water)
