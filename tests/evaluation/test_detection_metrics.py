"""Tests of the metrics of masks and depth maps against ground truth."""

import numpy as np
import pytest

from evaluation.detection_metrics import (
    depth_abs_rel,
    false_positive_share,
    fine_relief,
    mask_iou,
    texture_copy,
)
from mom_nerfstudio.synthesis.depth.convention import SKY_DEPTH


def test_mask_iou_counts_overlap_over_union():
    truth = np.zeros((10, 10), dtype=bool)
    truth[:, :5] = True
    predicted = np.zeros_like(truth)
    predicted[:, 3:8] = True  # 2 of its 5 columns overlap; the union spans 8 columns
    assert mask_iou(predicted, truth) == pytest.approx(2 / 8)
    assert mask_iou(truth, truth) == 1.0
    assert mask_iou(np.zeros_like(truth), np.zeros_like(truth)) == 1.0


def test_false_positive_share_is_the_share_of_static_pixels_marked_moving():
    truth = np.zeros((10, 10), dtype=bool)
    truth[:, :5] = True
    predicted = np.zeros_like(truth)
    predicted[:, 3:8] = True  # 3 of the 5 static columns
    assert false_positive_share(predicted, truth) == pytest.approx(3 / 5)
    assert false_positive_share(truth, truth) == 0.0


def test_depth_abs_rel_ignores_the_sky_and_is_relative():
    truth = np.full((4, 4), 2.0)
    estimated = np.full((4, 4), 3.0)
    solid = np.ones((4, 4), dtype=bool)
    solid[0] = False
    estimated[0] = 1000.0  # sky row: not measured
    assert depth_abs_rel(estimated, truth, solid) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no solid pixel"):
        depth_abs_rel(estimated, truth, np.zeros((4, 4), dtype=bool))


def _ground_plane(height: int = 120, width: int = 160) -> np.ndarray:
    rows = np.arange(height, dtype=np.float64)[:, None]
    return np.repeat(1.0 / ((rows + 20.0) / (height + 19.0)), width, axis=1)


def test_a_plane_has_no_fine_relief_and_a_ridge_has_some():
    plane = _ground_plane()
    valid = np.ones(plane.shape, dtype=bool)
    assert np.abs(fine_relief(plane, valid)[10:-10, 10:-10]).max() < 1e-6
    ridge = plane.copy()
    ridge[60:63] *= 0.95  # a strip 5 % nearer
    assert fine_relief(ridge, valid)[61, 80] > 0.01  # part of the strip is inside the blur window


def test_texture_copy_measures_relief_that_follows_the_image_texture():
    truth = _ground_plane()
    solid = np.ones(truth.shape, dtype=bool)
    rng = np.random.default_rng(0)
    grey = 0.5 + 0.2 * ((np.arange(120)[:, None] // 4) % 2) + rng.normal(0, 0.02, truth.shape)  # striped planks
    rgb = np.repeat(grey[..., None], 3, axis=2).astype(np.float32)
    copied = truth * (1.0 - 0.1 * (grey - 0.6))  # bright planks 1 % nearer, dark ones 1 % farther
    unrelated = truth * (1.0 + 0.01 * rng.normal(size=truth.shape))  # 1 % noise that ignores the texture
    assert texture_copy(truth, truth, solid, rgb) < 1e-6
    assert texture_copy(copied, truth, solid, rgb) > 0.005
    assert texture_copy(unrelated, truth, solid, rgb) < 0.2 * texture_copy(copied, truth, solid, rgb)
    sky_estimate = copied.copy()
    sky_estimate[:30] = SKY_DEPTH  # pixels the estimate calls sky are left out, not scored as relief
    assert np.isfinite(texture_copy(sky_estimate, truth, solid, rgb))
