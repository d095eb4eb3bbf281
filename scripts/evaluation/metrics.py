"""The image metrics of the benchmark: PSNR and SSIM (whole image or inside a mask), and the optical flow of
rendered videos with its end-point error against the true motion.

Images are HxWxC float in [0, 1] (numpy or torch, C = 3 for RGB), masks bool HxW, flows HxWx2 (dx, dy) in
pixels per frame. Scores are plain Python floats. PIQE, the no-reference score, is in `piqe.py`; the metrics of
a loop in `loop_metrics.py`; those of 3D motion in `motion_metrics.py`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
"""Wang et al. 2004: an 11x11 Gaussian window of sigma 1.5 and stabilising constants (K * data range)^2."""
SSIM_BORDER = SSIM_WINDOW // 2
"""Pixels lost on each side: the SSIM map covers the pixels whose whole window lies inside the image."""

FlowMethod = Literal["dis", "farneback"]
FARNEBACK_PARAMETERS = dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0)
"""OpenCV's tutorial settings for Farneback."""


def psnr(prediction: ArrayLike, target: ArrayLike, mask: ArrayLike | None = None) -> float:
    """Peak signal-to-noise ratio in dB for a data range of 1: 10 log10(1 / MSE).

    The mean squared error runs over every channel of the pixels inside `mask` (all pixels when None).
    Identical images give infinity.
    """
    prediction_array, target_array = _image_pair(prediction, target)
    squared_error = (prediction_array - target_array) ** 2
    mse = float(squared_error[checked_mask(mask, squared_error.shape[:2])].mean())
    return math.inf if mse == 0.0 else 10.0 * math.log10(1.0 / mse)


def ssim(prediction: ArrayLike, target: ArrayLike, mask: ArrayLike | None = None) -> float:
    """Structural similarity (Wang et al. 2004) for a data range of 1, 1 for identical images.

    The SSIM map of each channel is computed with an 11x11 Gaussian window of sigma 1.5 at the pixels whose
    whole window lies inside the image (5 px are lost on each side, as in Wang et al.'s code and
    pytorch_msssim), then averaged over channels and over those pixels inside `mask` (all of them when None).
    torchmetrics (1.9) averages the whole map instead, its outer pixels seeing a mirrored border, so its score
    differs slightly (by about 1e-3).
    """
    prediction_array, target_array = _image_pair(prediction, target)
    height, width = prediction_array.shape[:2]
    if min(height, width) < SSIM_WINDOW:
        raise ValueError(f"ssim: images must be at least {SSIM_WINDOW} px on each side, got {height}x{width}")
    inner = slice(SSIM_BORDER, -SSIM_BORDER)
    similarity = ssim_map(prediction_array, target_array)[inner, inner]
    inner_mask = checked_mask(mask, (height, width))[inner, inner]
    if not inner_mask.any():
        raise ValueError(f"ssim: the mask has no pixel at least {SSIM_BORDER} px away from the image border")
    return float(similarity[inner_mask].mean())


def ssim_map(prediction: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-pixel, per-channel SSIM of two float64 HxWxC images (data range 1).

    Only the pixels at least 5 px from the border have a whole window; the outer ones see the image mirrored
    about its edge pixels (the map torchmetrics averages whole, where `ssim` keeps the inner pixels only).
    """
    c1 = SSIM_K1**2
    c2 = SSIM_K2**2

    def local_mean(array: np.ndarray) -> np.ndarray:
        blurred = cv2.GaussianBlur(array, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA, borderType=cv2.BORDER_REFLECT_101)
        return blurred.reshape(array.shape)  # OpenCV drops a channel axis of length 1

    mean_p, mean_t = local_mean(prediction), local_mean(target)
    variance_p = local_mean(prediction * prediction) - mean_p**2
    variance_t = local_mean(target * target) - mean_t**2
    covariance = local_mean(prediction * target) - mean_p * mean_t
    luminance = (2.0 * mean_p * mean_t + c1) / (mean_p**2 + mean_t**2 + c1)
    contrast_structure = (2.0 * covariance + c2) / (variance_p + variance_t + c2)
    return luminance * contrast_structure


def masked_metrics(prediction: ArrayLike, target: ArrayLike, mask: ArrayLike) -> dict[str, float]:
    """PSNR and SSIM over the whole image and inside the mask.

    Returns:
        {"psnr", "ssim", "psnr_masked", "ssim_masked"}.
    """
    return {
        "psnr": psnr(prediction, target),
        "ssim": ssim(prediction, target),
        "psnr_masked": psnr(prediction, target, mask),
        "ssim_masked": ssim(prediction, target, mask),
    }


def video_flow(frames: Sequence[ArrayLike] | ArrayLike, method: FlowMethod = "dis") -> np.ndarray:
    """Optical flow from each frame of a video to the next, in pixels per frame.

    Args:
        frames: T >= 2 RGB frames HxWx3 in [0, 1] (a sequence, or an array TxHxWx3); they are converted to
            8-bit grey, the input both OpenCV estimators expect.
        method: "dis" (Dense Inverse Search, preset medium) or "farneback".

    Returns:
        Float32 (T-1)xHxWx2: element t holds (dx, dy) such that frame t at (x, y) shows up in frame t+1 at
        (x + dx, y + dy).
    """
    if method not in ("dis", "farneback"):
        raise ValueError(f"video_flow: method must be 'dis' or 'farneback', got {method!r}")
    greys = [_grey_uint8(frame) for frame in frames]
    if len(greys) < 2:
        raise ValueError(f"video_flow: need at least 2 frames, got {len(greys)}")
    if any(grey.shape != greys[0].shape for grey in greys):
        raise ValueError("video_flow: frames differ in size")
    if method == "dis":
        estimator = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        flows = [estimator.calc(previous, following, None) for previous, following in zip(greys, greys[1:])]
    else:
        flows = [
            cv2.calcOpticalFlowFarneback(previous, following, None, **FARNEBACK_PARAMETERS)
            for previous, following in zip(greys, greys[1:])
        ]
    return np.stack(flows).astype(np.float32)


def flow_endpoint_error(estimated_flows: ArrayLike, target_flow: ArrayLike, mask: ArrayLike) -> float:
    """Mean end-point error |estimated - target| (px/frame) over the frames and the pixels inside `mask`.

    Args:
        estimated_flows: the flows of a rendered video, (T-1)xHxWx2 (from `video_flow`) or one HxWx2.
        target_flow: the motion it should show, HxWx2 (one field for a stationary camera, compared with every
            frame pair) or one field per frame pair, shaped like `estimated_flows`.
        mask: bool HxW, where the motion is measured (the motion mask).
    """
    estimated = as_float64(estimated_flows)
    target = as_float64(target_flow)
    if estimated.ndim == 3:
        estimated = estimated[None]
    if estimated.ndim != 4 or estimated.shape[-1] != 2:
        raise ValueError(f"flow_endpoint_error: estimated flows must be (T)xHxWx2, got {estimated.shape}")
    if target.shape not in (estimated.shape[1:], estimated.shape):
        raise ValueError(
            f"flow_endpoint_error: target flow {target.shape} matches neither one frame pair "
            f"{estimated.shape[1:]} nor all of them {estimated.shape}; "
            "resize it first, its vectors rescaled (mom_nerfstudio.synthesis.motion.fields.resize_flow)"
        )
    errors = np.linalg.norm(estimated - target, axis=-1)
    return float(errors[:, checked_mask(mask, estimated.shape[1:3])].mean())


def relative_flow_error(estimated_flows: ArrayLike, target_flow: ArrayLike, mask: ArrayLike) -> float:
    """`flow_endpoint_error` over the mean speed of `target_flow` inside `mask`: 1 for an estimate of no motion.

    Raises ValueError when the target does not move inside the mask (there is no motion to compare with).
    """
    target = as_float64(target_flow)
    mean_speed = flow_endpoint_error(np.zeros_like(target), target, mask)
    if mean_speed == 0.0:
        raise ValueError("relative_flow_error: the target flow is zero inside the mask")
    return flow_endpoint_error(estimated_flows, target, mask) / mean_speed


def as_float64(array: ArrayLike) -> np.ndarray:
    """A float64 numpy copy of a numpy array or torch tensor (on any device)."""
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    return np.asarray(array, dtype=np.float64)


def _image_pair(first: ArrayLike, second: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Two images as float64 HxWxC arrays of the same shape (an HxW grey image becomes HxWx1)."""
    first_array, second_array = as_float64(first), as_float64(second)
    if first_array.shape != second_array.shape:
        raise ValueError(f"images differ in shape: {first_array.shape} and {second_array.shape}")
    if first_array.ndim == 2:
        return first_array[..., None], second_array[..., None]
    if first_array.ndim != 3:
        raise ValueError(f"expected HxWxC images, got shape {first_array.shape}")
    return first_array, second_array


def checked_mask(mask: ArrayLike | None, shape: tuple[int, ...]) -> np.ndarray:
    """A bool HxW mask of the given shape (all True when None); an empty mask is an error."""
    if mask is None:
        return np.ones(shape, dtype=bool)
    mask_array = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    mask_array = mask_array.astype(bool)
    if mask_array.shape != tuple(shape):
        raise ValueError(f"mask of shape {mask_array.shape} does not match the images' {tuple(shape)}")
    if not mask_array.any():
        raise ValueError("the mask is empty: no pixel to measure")
    return mask_array


def _grey_uint8(frame: ArrayLike) -> np.ndarray:
    """An RGB HxWx3 frame in [0, 1] as 8-bit grey."""
    rgb = as_float64(frame)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"video_flow: frames must be HxWx3 RGB, got shape {rgb.shape}")
    rgb_uint8 = np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)
    return cv2.cvtColor(rgb_uint8, cv2.COLOR_RGB2GRAY)
