"""Tests of hole filling in the synthesised views."""

import time
import typing

import cv2
import numpy as np
import pytest

from evaluation.fill_metrics import fill_quality
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.inpaint import INPAINT_METHODS, fill_holes
from mom_nerfstudio.synthesis.reflect_fill import mirror_fill, push_pull_fill

FILLING_METHODS = [method for method in INPAINT_METHODS if method != "none"]

COLOUR = np.array([0.2, 0.4, 0.6], np.float32)


def constant_image(height: int, width: int) -> np.ndarray:
    return np.broadcast_to(COLOUR, (height, width, 3)).copy()


def gradient_image(height: int, width: int) -> np.ndarray:
    """Red rises to the right, green downwards, blue is constant."""
    red = np.broadcast_to(np.linspace(0.0, 1.0, width, dtype=np.float32)[None], (height, width))
    green = np.broadcast_to(np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None], (height, width))
    return np.stack([red, green, np.full((height, width), 0.5, np.float32)], axis=-1)


def punch(image: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """The image with black where the holes are, as a render leaves them."""
    broken = image.copy()
    broken[holes] = 0.0
    return broken


@pytest.mark.parametrize("method", FILLING_METHODS)
def test_constant_image_hole_is_filled_with_the_constant(method: str) -> None:
    image = constant_image(48, 64)
    holes = np.zeros((48, 64), bool)
    holes[10:30, 20:44] = True
    filled, filled_mask = fill_holes(punch(image, holes), holes, method)
    assert filled.dtype == np.float32 and filled.shape == image.shape
    # Telea extrapolates gradients on 8-bit levels, so a flat fill drifts by a few levels at most.
    error = np.abs(filled - image)
    assert error.max() <= 4.0 / 255.0
    assert error[holes].mean() <= 2.0 / 255.0
    assert np.array_equal(filled_mask, holes)


@pytest.mark.parametrize("method", FILLING_METHODS)
def test_pixels_outside_the_holes_are_untouched(method: str) -> None:
    image = np.random.default_rng(0).random((40, 50, 3)).astype(np.float32)
    holes = np.zeros((40, 50), bool)
    holes[5:9, 30:45] = True
    filled, filled_mask = fill_holes(punch(image, holes), holes, method)
    assert np.array_equal(filled_mask, holes)
    # Exactly the input values, not a uint8 round trip of them.
    assert np.array_equal(filled[~holes], image[~holes])
    assert not np.array_equal(filled[holes], np.zeros_like(filled[holes]))


def test_none_leaves_the_image_and_marks_nothing() -> None:
    image = constant_image(20, 30)
    holes = np.zeros((20, 30), bool)
    holes[5:10, 5:10] = True
    broken = punch(image, holes)
    filled, filled_mask = fill_holes(broken, holes, method="none")
    assert np.array_equal(filled, broken)
    assert filled_mask.shape == holes.shape and not filled_mask.any()


def test_no_holes_marks_nothing() -> None:
    image = gradient_image(20, 30)
    filled, filled_mask = fill_holes(image, np.zeros((20, 30), bool))
    assert np.array_equal(filled, image)
    assert not filled_mask.any()


def test_unknown_method_is_refused() -> None:
    holes = np.ones((4, 4), bool)
    with pytest.raises(ValueError, match="unknown inpainting method"):
        fill_holes(constant_image(4, 4), holes, method="diffusion")  # type: ignore[arg-type]


@pytest.mark.parametrize("method", FILLING_METHODS)
def test_gradient_hole_is_filled_close_to_the_gradient(method: str) -> None:
    image = gradient_image(120, 120)
    holes = np.zeros((120, 120), bool)
    holes[50:70, 40:80] = True
    filled, _ = fill_holes(punch(image, holes), holes, method)
    error = np.abs(filled - image)[holes]
    assert error.mean() < 0.03


def test_large_image_takes_the_reduced_path_and_still_matches_a_gradient(monkeypatch: pytest.MonkeyPatch) -> None:
    size = 480  # 230,400 pixels: over the full-resolution budget
    image = gradient_image(size, size)
    holes = np.zeros((size, size), bool)
    holes[140:340, 140:340] = True
    inpainted_sizes = []
    real_inpaint = cv2.inpaint

    def recording_inpaint(source, mask, radius, flags):
        inpainted_sizes.append(source.shape[:2])
        return real_inpaint(source, mask, radius, flags)

    monkeypatch.setattr(cv2, "inpaint", recording_inpaint)
    filled, filled_mask = fill_holes(punch(image, holes), holes, "telea")
    assert len(inpainted_sizes) == 1 and max(inpainted_sizes[0]) < size
    assert filled.shape == image.shape
    assert np.array_equal(filled_mask, holes)
    assert np.array_equal(filled[~holes], image[~holes])
    error = np.abs(filled - image)[holes]
    assert error.mean() < 0.05
    assert np.percentile(error, 95) < 0.2
    # No black seam where the reduced fill meets the image.
    border = holes & ~cv2.erode(holes.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert np.abs(filled - image)[border].max() < 0.05


def test_large_constant_image_is_filled_with_the_constant() -> None:
    size = 480
    image = constant_image(size, size)
    holes = np.zeros((size, size), bool)
    holes[100:300, 50:400] = True
    filled, _ = fill_holes(punch(image, holes), holes, "telea")
    error = np.abs(filled - image)
    assert error.max() < 0.05
    assert error[holes].mean() < 0.02


def test_every_filling_option_of_the_config_is_a_method() -> None:
    options = typing.get_args(typing.get_type_hints(SynthesisConfig)["inpaint"])
    # 'sd' grows the scene instead (mom_nerfstudio.synthesis.scene_growth); every other option is a fill_holes method.
    assert set(options) - {"sd"} == set(INPAINT_METHODS)
    assert SynthesisConfig().inpaint == "reflect"


@pytest.mark.parametrize("method", FILLING_METHODS)
def test_a_view_with_nothing_seen_is_left_as_it_is(method: str) -> None:
    image = np.zeros((12, 16, 3), np.float32)
    holes = np.ones((12, 16), bool)
    filled, filled_mask = fill_holes(image, holes, method)
    assert np.array_equal(filled, image) and not filled_mask.any()


def textured_image(height: int, width: int) -> np.ndarray:
    """Grass-like texture: noise smoothed over about a pixel, in greenish-yellow tones."""
    noise = np.random.default_rng(3).normal(0.0, 1.0, (height, width)).astype(np.float32)
    texture = cv2.GaussianBlur(noise, (0, 0), sigmaX=1.0)
    texture = 0.5 + 0.2 * texture / texture.std()
    return np.clip(np.stack([texture, 0.8 * texture, 0.3 * texture], axis=-1), 0.0, 1.0)


def border_band(height: int, width: int, columns: int) -> np.ndarray:
    """The right `columns` of the frame: the hole a view turned to the right leaves."""
    holes = np.zeros((height, width), bool)
    holes[:, width - columns :] = True
    return holes


def test_reflect_keeps_the_texture_that_telea_smears() -> None:
    image = textured_image(192, 256)
    holes = border_band(192, 256, 64)
    quality = {
        method: fill_quality(fill_holes(punch(image, holes), holes, method)[0], image, holes)
        for method in ("reflect", "telea")
    }
    # Telea leaves a smooth smear: a small fraction of the real detail, streaked along the rows.
    assert quality["telea"]["detail_ratio"] < 0.2
    assert quality["reflect"]["detail_ratio"] > max(0.4, 5.0 * quality["telea"]["detail_ratio"])
    assert quality["reflect"]["orientation_error"] < 0.5 * quality["telea"]["orientation_error"]


def test_reflect_is_deterministic() -> None:
    image = textured_image(96, 128)
    holes = border_band(96, 128, 40)
    holes[70:, :50] = True
    first, _ = fill_holes(punch(image, holes), holes, "reflect")
    second, _ = fill_holes(punch(image, holes), holes, "reflect")
    assert np.array_equal(first, second)


def test_reflect_takes_about_as_long_as_telea() -> None:
    image = textured_image(384, 512)
    holes = border_band(384, 512, 200)
    holes[300:] = True
    seconds = {}
    for method in ("reflect", "telea"):
        started = time.perf_counter()
        fill_holes(punch(image, holes), holes, method)
        seconds[method] = time.perf_counter() - started
    assert seconds["reflect"] < 3.0 * seconds["telea"] + 0.5


def test_mirror_reflects_a_border_band_and_folds_back_beyond_its_depth() -> None:
    height, width, first_hole_column = 6, 100, 60
    columns = np.random.default_rng(1).random(width).astype(np.float32)
    image = np.broadcast_to(columns[None, :, None], (height, width, 3)).copy()
    holes = border_band(height, width, width - first_hole_column)
    filled = mirror_fill(punch(image, holes), holes, depth_fraction=0.05)  # bands 5 px deep
    last_seen = first_hole_column - 1
    for column in range(first_hole_column, width):
        distance = column - last_seen
        phase = distance % 10
        source = last_seen - min(phase, 10 - phase)
        assert np.array_equal(filled[:, column], image[:, source]), column


def test_mirror_of_a_thin_seen_strip_uses_only_seen_colours() -> None:
    image = np.random.default_rng(2).random((20, 60, 3)).astype(np.float32)
    holes = np.ones((20, 60), bool)
    holes[:, 10:12] = False  # two seen columns, holes 48 deep on one side
    filled = mirror_fill(punch(image, holes), holes)
    seen_colours = {tuple(colour) for colour in image[~holes]}
    assert all(tuple(colour) in seen_colours for colour in filled[holes])


def test_push_pull_blends_the_surrounding_colours_smoothly() -> None:
    image = np.zeros((64, 64, 3), np.float32)
    image[:, 32:] = 1.0
    holes = np.zeros((64, 64), bool)
    holes[16:48, 16:48] = True
    filled = push_pull_fill(punch(image, holes), holes)
    inside = filled[holes]
    assert inside.min() >= 0.0 and inside.max() <= 1.0
    # The left of the hole stays darker than its right, and the fill has no hard step in between.
    assert filled[32, 18].mean() < 0.35 < 0.65 < filled[32, 45].mean()
    assert np.abs(np.diff(filled[32, 16:48, 0])).max() < 0.15
