"""Tests of the fill-quality measures: each must tell a smear, streaks and noise from the truth."""

import math

import cv2
import numpy as np

from evaluation.fill_metrics import fill_quality


def isotropic_texture(size: int = 96) -> np.ndarray:
    noise = np.random.default_rng(5).normal(0.0, 1.0, (size, size)).astype(np.float32)
    texture = 0.5 + 0.15 * cv2.GaussianBlur(noise, (0, 0), 1.5) / 0.2
    return np.clip(np.repeat(texture[..., None], 3, axis=-1), 0.0, 1.0)


def band_region(size: int = 96) -> np.ndarray:
    region = np.zeros((size, size), bool)
    region[:, size // 2 :] = True
    return region


def test_the_truth_scores_perfectly() -> None:
    truth = isotropic_texture()
    quality = fill_quality(truth, truth, band_region())
    assert math.isinf(quality["psnr"]) and quality["ssim"] > 0.999
    assert quality["detail_ratio"] == 1.0 and quality["orientation_error"] == 0.0


def test_a_smear_has_little_detail() -> None:
    truth = isotropic_texture()
    smeared = cv2.GaussianBlur(truth, (0, 0), 4.0)
    quality = fill_quality(smeared, truth, band_region())
    assert quality["detail_ratio"] < 0.3
    assert quality["psnr"] > 15.0  # a blur stays close in squared error: PSNR alone does not see the smear


def test_streaks_along_the_rows_show_as_an_orientation_error() -> None:
    truth = isotropic_texture()
    region = band_region()
    streaked = truth.copy()
    # Every hole row repeats the colour of its last seen pixel, perturbed along the column: horizontal streaks.
    streaked[:, 48:] = truth[:, 47:48] + 0.1 * np.random.default_rng(6).normal(0.0, 1.0, (96, 1, 1))
    quality = fill_quality(np.clip(streaked, 0.0, 1.0), truth, region)
    assert quality["orientation_error"] > 0.5
    assert fill_quality(np.ascontiguousarray(truth[:, ::-1]), truth, region)["orientation_error"] < 0.1


def test_added_noise_shows_as_too_much_detail() -> None:
    truth = isotropic_texture()
    noisy = np.clip(truth + np.random.default_rng(7).normal(0.0, 0.2, truth.shape), 0.0, 1.0)
    assert fill_quality(noisy, truth, band_region())["detail_ratio"] > 1.3
