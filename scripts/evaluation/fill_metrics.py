"""How well filled-in pixels match the truth: fidelity, and the texture statistics that show a smear.

A fill is a guess at content nobody saw, so two kinds of measures are reported, over the filled pixels only:
- fidelity, PSNR and SSIM (`metrics.psnr`, `metrics.ssim`): a blur of the surrounding colours scores well here,
  because the mean is the best guess in squared error;
- texture, which a blur gets wrong: the detail ratio (mean gradient magnitude of the fill over that of the truth:
  1 when the fill is as detailed as the real content, near 0 for a smear, above 1 for a fill busier than the
  truth) and the orientation error (how far the balance of horizontal against vertical gradients differs from
  the truth's: streaks drawn along one direction, as diffusion inpainting leaves in a band, push it up).

Images are HxWx3 float in [0, 1], regions bool HxW. Gradients are taken on the luminance with 3x3 Sobel filters,
at the pixels of the region whose 3x3 neighbourhood lies in it, so that the step at the edge of the fill does
not count.
"""

from __future__ import annotations

import cv2
import numpy as np

from evaluation.metrics import psnr, ssim


def fill_quality(filled: np.ndarray, truth: np.ndarray, region: np.ndarray) -> dict[str, float]:
    """PSNR, SSIM, detail ratio and orientation error of `filled` against `truth` over `region`.

    Returns:
        {"psnr", "ssim", "detail_ratio", "orientation_error"}.
    """
    inner = _interior(region)
    filled_gradients, true_gradients = _gradients(filled), _gradients(truth)
    return {
        "psnr": psnr(filled, truth, region),
        "ssim": ssim(filled, truth, region),
        "detail_ratio": detail_ratio(filled_gradients, true_gradients, inner),
        "orientation_error": abs(
            orientation_balance(filled_gradients, inner) - orientation_balance(true_gradients, inner)
        ),
    }


def detail_ratio(
    gradients: tuple[np.ndarray, np.ndarray], reference: tuple[np.ndarray, np.ndarray], region: np.ndarray
) -> float:
    """Mean gradient magnitude of one image over that of a reference, inside `region` (gradients from `_gradients`)."""
    magnitude = np.hypot(*gradients)[region].mean()
    reference_magnitude = np.hypot(*reference)[region].mean()
    return float(magnitude / max(reference_magnitude, 1e-12))


def orientation_balance(gradients: tuple[np.ndarray, np.ndarray], region: np.ndarray) -> float:
    """(E[gx^2] - E[gy^2]) / (E[gx^2] + E[gy^2]) inside `region`: +1 for vertical stripes, -1 for horizontal ones,
    0 for isotropic content (or none)."""
    horizontal = float(np.mean(gradients[0][region] ** 2))
    vertical = float(np.mean(gradients[1][region] ** 2))
    total = horizontal + vertical
    return (horizontal - vertical) / total if total > 0 else 0.0


def _gradients(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel gradients (x, y) of the luminance of an RGB image in [0, 1]."""
    grey = cv2.cvtColor(np.asarray(rgb, np.float32), cv2.COLOR_RGB2GRAY)
    return cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)


def _interior(region: np.ndarray) -> np.ndarray:
    """The pixels of `region` whose 3x3 neighbourhood lies inside it (the whole region when that leaves none)."""
    eroded = cv2.erode(region.astype(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE).astype(bool)
    return eroded if eroded.any() else region.astype(bool)
