"""Tests of hole filling in the synthesised views."""

import cv2
import numpy as np
import pytest

from dataparsers.inpaint import fill_holes

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


def test_constant_image_hole_is_filled_with_the_constant() -> None:
    image = constant_image(48, 64)
    holes = np.zeros((48, 64), bool)
    holes[10:30, 20:44] = True
    filled, filled_mask = fill_holes(punch(image, holes), holes)
    assert filled.dtype == np.float32 and filled.shape == image.shape
    # Telea extrapolates gradients on 8-bit levels, so a flat fill drifts by a few levels at most.
    error = np.abs(filled - image)
    assert error.max() <= 4.0 / 255.0
    assert error[holes].mean() <= 2.0 / 255.0
    assert np.array_equal(filled_mask, holes)


def test_pixels_outside_the_holes_are_untouched() -> None:
    image = np.random.default_rng(0).random((40, 50, 3)).astype(np.float32)
    holes = np.zeros((40, 50), bool)
    holes[5:9, 30:45] = True
    filled, _ = fill_holes(punch(image, holes), holes)
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


def test_gradient_hole_is_filled_close_to_the_gradient() -> None:
    image = gradient_image(120, 120)
    holes = np.zeros((120, 120), bool)
    holes[50:70, 40:80] = True
    filled, _ = fill_holes(punch(image, holes), holes)
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
    filled, filled_mask = fill_holes(punch(image, holes), holes)
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
    filled, _ = fill_holes(punch(image, holes), holes)
    error = np.abs(filled - image)
    assert error.max() < 0.05
    assert error[holes].mean() < 0.02
