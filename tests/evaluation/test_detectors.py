"""Tests of the detector registry and of measuring a detector against ground truth."""

import numpy as np
import pytest

from evaluation import detectors
from evaluation.detectors import DETECTORS, Detector, Truth, measure_detector, register


def test_the_heuristic_detectors_are_registered():
    assert "heuristic" in DETECTORS


def test_a_registered_detector_is_measured_against_the_truth(landscape, monkeypatch):
    monkeypatch.setattr(detectors, "DETECTORS", dict(DETECTORS))
    rgb = landscape.rgb()
    true_sky = np.zeros(rgb.shape[:2], dtype=bool)
    true_sky[: landscape.horizon_row] = True
    true_motion = true_sky.copy()
    true_motion[landscape.water_top_row :] = True

    def sky_only(image: np.ndarray) -> np.ndarray:
        return true_sky.copy()

    register(Detector(name="sky only", sky=sky_only, motion=sky_only))
    with pytest.raises(ValueError, match="already registered"):
        register(Detector(name="sky only", sky=sky_only, motion=sky_only))
    values = measure_detector(Truth("tiny", rgb, motion=true_motion, sky=true_sky), detectors.DETECTORS["sky only"])
    assert values["sky_iou"] == 1.0
    assert values["motion_iou"] == pytest.approx(true_sky.sum() / true_motion.sum())
    assert values["static_marked_moving"] == 0.0
    assert "depth_abs_rel" not in values  # no true depth, no depth score


def test_the_heuristic_detector_finds_the_tiny_landscapes_sky_and_water(landscape):
    rgb = landscape.rgb()
    true_motion = np.ones(rgb.shape[:2], dtype=bool)
    true_motion[landscape.horizon_row : landscape.water_top_row] = False
    values = measure_detector(Truth("tiny", rgb, motion=true_motion), DETECTORS["heuristic"])
    # The static grass is a band of 16 rows; the masks' edges may stray by a row or two into it.
    assert values["motion_iou"] > 0.9 and values["static_marked_moving"] < 0.2
