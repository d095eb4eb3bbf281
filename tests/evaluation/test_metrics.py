"""Tests of the benchmark's image metrics: PSNR, SSIM, masked metrics, video flow and its errors, PIQE."""

import cv2
import numpy as np
import pytest
import torch
from conftest import EXAMPLE_PHOTO
from pytorch_msssim import ssim as msssim_ssim
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from evaluation.metrics import (
    flow_endpoint_error,
    masked_metrics,
    psnr,
    relative_flow_error,
    ssim,
    ssim_map,
    video_flow,
)
from evaluation.piqe import analyse_piqe, piqe


def smooth_texture(height: int, width: int, offset: tuple[float, float] = (0.0, 0.0), seed: int = 0) -> np.ndarray:
    """A grey texture in [0, 1] made of random plane waves, sampled exactly at any sub-pixel offset (dx, dy)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    x, y = cols - offset[0], rows - offset[1]
    num_waves = 24
    texture = np.zeros((height, width))
    for _ in range(num_waves):
        frequency, angle, phase = rng.uniform(0.05, 0.35), rng.uniform(0.0, np.pi), rng.uniform(0.0, 2 * np.pi)
        texture += np.cos(frequency * (np.cos(angle) * x + np.sin(angle) * y) + phase)
    return 0.5 + texture / np.sqrt(num_waves / 2) / 6  # a standard deviation of 1/6: 3 of them to each bound


def rgb_texture(height: int, width: int, offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """A colour version of `smooth_texture`, float32 HxWx3 in [0, 1]."""
    grey = np.clip(smooth_texture(height, width, offset), 0.0, 1.0)
    return np.stack([grey, grey, 0.5 * grey + 0.25], axis=-1).astype(np.float32)


def random_image(seed: int, shape: tuple[int, int] = (48, 64)) -> np.ndarray:
    """A smooth image with fine noise, float32 HxWx3 in [0, 1]."""
    rng = np.random.default_rng(seed)
    coarse = cv2.resize(rng.uniform(0.0, 1.0, (6, 8, 3)).astype(np.float32), shape[::-1])
    return np.clip(coarse + rng.normal(0.0, 0.05, (*shape, 3)), 0.0, 1.0).astype(np.float32)


def to_nchw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1)[None].double()


# PSNR -------------------------------------------------------------------------------------------------------------


def test_psnr_of_a_constant_offset_is_known():
    target = np.full((20, 30, 3), 0.4, np.float32)
    # MSE = 0.1^2 = 0.01, so PSNR = 10 log10(1 / 0.01) = 20 dB.
    assert psnr(target + 0.1, target) == pytest.approx(20.0, abs=1e-4)


def test_psnr_inside_a_mask_ignores_errors_outside_it():
    target = np.full((20, 30, 3), 0.4)
    prediction = target + 0.5
    mask = np.zeros((20, 30), bool)
    mask[5:15, 10:20] = True
    prediction[mask] = target[mask] + 0.01  # 40 dB inside the mask, 6 dB outside
    assert psnr(prediction, target, mask) == pytest.approx(40.0, abs=1e-6)
    assert psnr(prediction, target) < 10.0


def test_psnr_of_identical_images_is_infinite():
    image = random_image(0)
    assert psnr(image, image) == float("inf")


def test_psnr_matches_torchmetrics_and_takes_tensors():
    prediction, target = random_image(1), random_image(2)
    expected = peak_signal_noise_ratio(to_nchw(prediction), to_nchw(target), data_range=1.0).item()
    assert psnr(prediction, target) == pytest.approx(expected, abs=1e-6)
    assert psnr(torch.from_numpy(prediction), torch.from_numpy(target)) == pytest.approx(expected, abs=1e-6)


# SSIM -------------------------------------------------------------------------------------------------------------


def test_ssim_of_identical_images_is_one():
    image = random_image(3)
    mask = np.zeros(image.shape[:2], bool)
    mask[10:30, 10:40] = True
    assert ssim(image, image) == pytest.approx(1.0, abs=1e-9)
    assert ssim(image, image, mask) == pytest.approx(1.0, abs=1e-9)


def test_ssim_matches_pytorch_msssim_and_the_map_of_torchmetrics():
    target = random_image(4)
    prediction = np.clip(target + np.random.default_rng(5).normal(0.0, 0.1, target.shape), 0.0, 1.0)
    ours = ssim(prediction, target)
    assert 0.2 < ours < 0.9  # a real comparison, not 1 against 1
    from_msssim = msssim_ssim(to_nchw(prediction), to_nchw(target), data_range=1.0, win_size=11, win_sigma=1.5)
    assert ours == pytest.approx(from_msssim.item(), abs=1e-6)
    # torchmetrics averages its map over the whole image; the map itself is the same, and so is its interior.
    _, torchmetrics_map = structural_similarity_index_measure(
        to_nchw(prediction), to_nchw(target), data_range=1.0, return_full_image=True
    )
    torchmetrics_map = torchmetrics_map[0].permute(1, 2, 0).numpy()
    ours_map = ssim_map(prediction.astype(np.float64), target.astype(np.float64))
    np.testing.assert_allclose(ours_map, torchmetrics_map, atol=1e-6)
    assert ours == pytest.approx(torchmetrics_map[5:-5, 5:-5].mean(), abs=1e-6)


def test_ssim_inside_a_mask_averages_only_there():
    target = random_image(6, (40, 60))
    prediction = target.copy()
    prediction[:, 30:] = random_image(7, (40, 30))  # the right half differs
    left = np.zeros((40, 60), bool)
    left[:, :24] = True  # every window around these pixels stays left of column 30
    right = ~left
    right[:, :30] = False
    assert ssim(prediction, target, left) == pytest.approx(1.0, abs=1e-9)
    assert ssim(prediction, target, right) < 0.9
    assert ssim(prediction, target, np.ones((40, 60), bool)) == pytest.approx(ssim(prediction, target), abs=1e-12)


def test_ssim_rejects_a_mask_that_lies_in_the_border_only_and_a_mask_of_the_wrong_size():
    image = random_image(8)
    border_mask = np.zeros(image.shape[:2], bool)
    border_mask[:3] = True
    with pytest.raises(ValueError, match="border"):
        ssim(image, image, border_mask)
    with pytest.raises(ValueError, match="mask"):
        ssim(image, image, np.ones((10, 10), bool))


def test_masked_metrics_reports_both_scopes():
    target = random_image(9)
    prediction = np.clip(target + 0.05, 0.0, 1.0)
    mask = np.zeros(target.shape[:2], bool)
    mask[10:40, 10:50] = True
    metrics = masked_metrics(prediction, target, mask)
    assert metrics == {
        "psnr": psnr(prediction, target),
        "ssim": ssim(prediction, target),
        "psnr_masked": psnr(prediction, target, mask),
        "ssim_masked": ssim(prediction, target, mask),
    }
    assert all(isinstance(value, float) for value in metrics.values())


# Flow -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["dis", "farneback"])
@pytest.mark.parametrize("shift", [(1.5, -0.75), (4.0, 3.0)])  # px/frame: sub-pixel, and several pixels
def test_video_flow_recovers_a_known_translation(method, shift):
    height, width = 96, 128
    frames = [rgb_texture(height, width, (shift[0] * t, shift[1] * t)) for t in range(3)]
    flows = video_flow(frames, method=method)
    assert flows.shape == (2, height, width, 2) and flows.dtype == np.float32
    interior = np.zeros((height, width), bool)
    interior[16:-16, 16:-16] = True  # away from the borders, where texture enters the frame
    target = np.broadcast_to(np.array(shift, np.float32), (height, width, 2))
    assert flow_endpoint_error(flows, target, interior) < 0.1


def test_video_flow_rejects_a_single_frame_and_unknown_methods():
    frame = rgb_texture(32, 32)
    with pytest.raises(ValueError, match="2 frames"):
        video_flow([frame])
    with pytest.raises(ValueError, match="method"):
        video_flow([frame, frame], method="raft")


def test_flow_endpoint_error_is_the_mean_vector_length_inside_the_mask():
    target = np.zeros((8, 10, 2), np.float32)
    estimated = np.zeros((3, 8, 10, 2), np.float32)
    estimated[..., 0], estimated[..., 1] = 3.0, 4.0  # an error of length 5 everywhere
    mask = np.zeros((8, 10), bool)
    mask[2:6, 3:7] = True
    estimated[0, ~mask] = 100.0  # outside the mask: ignored
    assert flow_endpoint_error(estimated, target, mask) == pytest.approx(5.0)
    assert flow_endpoint_error(estimated[1], target, mask) == pytest.approx(5.0)  # one HxWx2 flow
    per_frame_target = estimated.copy()
    per_frame_target[2] = 0.0  # exact on two frame pairs, 5 px off on the third
    assert flow_endpoint_error(estimated, per_frame_target, mask) == pytest.approx(5.0 / 3.0)


def test_relative_flow_error_is_one_for_no_motion_and_zero_for_the_truth():
    target = np.zeros((8, 10, 2), np.float32)
    target[..., 0] = 0.5
    target[2:4, :, 1] = 1.2  # faster in two rows: the mean speed weighs every pixel
    mask = np.ones((8, 10), bool)
    assert relative_flow_error(np.zeros_like(target), target, mask) == pytest.approx(1.0)
    assert relative_flow_error(target, target, mask) == 0.0
    assert relative_flow_error(-target, target, mask) == pytest.approx(2.0)  # backwards: worse than still
    mean_speed = np.linalg.norm(target, axis=-1).mean()
    assert relative_flow_error(target + [0.1, 0.0], target, mask) == pytest.approx(0.1 / mean_speed, rel=1e-5)
    with pytest.raises(ValueError, match="zero"):
        relative_flow_error(target, np.zeros_like(target), mask)


def test_flow_endpoint_error_rejects_a_target_of_another_resolution():
    with pytest.raises(ValueError, match="resize"):
        flow_endpoint_error(np.zeros((2, 8, 10, 2)), np.zeros((16, 20, 2)), np.ones((8, 10), bool))


# PIQE -------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """The example landscape photo, downscaled to 256 px wide, float32 RGB in [0, 1]."""
    bgr = cv2.imread(str(EXAMPLE_PHOTO))
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    height = round(rgb.shape[0] * 256 / rgb.shape[1])
    return cv2.resize(rgb, (256, height), interpolation=cv2.INTER_AREA)


def jpeg_round_trip(rgb: np.ndarray, quality: int) -> np.ndarray:
    bgr_uint8 = np.round(rgb[..., ::-1] * 255.0).astype(np.uint8)
    _, encoded = cv2.imencode(".jpg", bgr_uint8, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255.0


def test_piqe_scores_a_clean_photo_better_than_noisy_blurred_and_blocky_copies(photo):
    noisy = np.clip(photo + np.random.default_rng(0).normal(0.0, 0.1, photo.shape), 0.0, 1.0)
    blurred = cv2.GaussianBlur(photo, (0, 0), 3.0)
    blocky = jpeg_round_trip(photo, quality=5)
    clean_score = piqe(photo)
    scores = {"noisy": piqe(noisy), "blurred": piqe(blurred), "blocky": piqe(blocky)}
    for name, score in scores.items():
        assert 0.0 <= score <= 100.0, name
        assert score > clean_score + 10.0, f"{name}: {score} vs clean {clean_score}"
    assert 0.0 <= clean_score < 50.0


def test_piqe_flags_the_distortion_it_measures(photo):
    noisy = np.clip(photo + np.random.default_rng(1).normal(0.0, 0.1, photo.shape), 0.0, 1.0)
    assert analyse_piqe(noisy).noise_mask.mean() > 1.5 * analyse_piqe(photo).noise_mask.mean()
    blocky = analyse_piqe(jpeg_round_trip(photo, quality=5))
    assert blocky.noticeable_artifacts_mask.mean() > analyse_piqe(photo).noticeable_artifacts_mask.mean()


def test_piqe_is_deterministic_and_takes_tensors(photo):
    assert piqe(photo) == piqe(photo.copy()) == piqe(torch.from_numpy(photo))


def test_piqe_matches_an_independent_port_of_the_reference():
    # 43.62756725555382 was computed by an independent Python port of MATLAB's piqe on this exact image.
    rng = np.random.default_rng(7)
    rows, cols = np.mgrid[0:72, 0:88].astype(np.float64)
    grey = 0.5 + 0.25 * np.sin(0.31 * cols + 0.17 * rows) * np.cos(0.11 * cols - 0.23 * rows)
    grey[20:44, 30:60] = 0.8  # a flat patch
    noise = rng.normal(0.0, 0.04, (72, 88, 3)) * (cols[..., None] > 44)  # noise on the right only
    image = np.clip(grey[..., None] + noise, 0.0, 1.0)
    analysis = analyse_piqe(image)
    assert analysis.score == pytest.approx(43.62756725555382, abs=1e-6)
    assert analysis.activity_mask.shape == (72, 88)  # block maps cropped back from the padded 80x96


@pytest.mark.parametrize("value", [0.0, 0.4, 1.0])
def test_piqe_of_a_flat_image_is_the_worst_score_without_nan(value):
    flat = np.full((40, 50, 3), value, np.float32)
    analysis = analyse_piqe(flat)
    assert analysis.score == 100.0
    assert not analysis.activity_mask.any()


def test_piqe_rejects_images_that_are_not_hxwx3_or_hxw():
    with pytest.raises(ValueError, match="HxWx3"):
        piqe(np.zeros((4, 16, 16)))
