"""The guided filter of He, Sun and Tang (ECCV 2010, TPAMI 2013): edge-aware smoothing steered by a guide image.

Inside every (2r+1)x(2r+1) window the output is an affine function of the guide, fitted by least squares to the
input. Where the guide is flat the window's input is averaged away; where the guide has an edge the output takes
the same edge. All window sums are box filters, so the cost does not depend on the radius.

An optional per-pixel weight turns every window mean into a weighted mean: pixels of weight 0 take no part in the
fits, so a masked region (the sky, say) cannot leak into its surroundings.

`rolling_guidance` iterates the filter to clear an image of its texture while keeping the edges of its larger
structures, so that the cleared image can guide another filter without handing it the texture.
"""

import cv2
import numpy as np


def guided_filter(
    guide: np.ndarray,
    src: np.ndarray,
    radius: int,
    eps: float,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Filter `src` (HxW) edge-aware, steered by `guide` (HxW grey or HxWx3 colour, values about [0, 1]).

    `radius` is the half size of the square window in pixels; `eps` regularises the fit: guide variations whose
    variance is well below `eps` are smoothed away, those well above it are kept as edges. `weights` (HxW, >= 0)
    makes the fits weighted; pixels whose whole neighbourhood has weight 0 keep their `src` value.
    Returns float32 HxW.
    """
    src = np.asarray(src, dtype=np.float32)
    guide = np.asarray(guide, dtype=np.float32)
    if src.ndim != 2:
        raise ValueError(f"guided_filter: src must be HxW, got shape {src.shape}")
    if guide.shape[:2] != src.shape or guide.ndim not in (2, 3) or (guide.ndim == 3 and guide.shape[2] not in (1, 3)):
        raise ValueError(f"guided_filter: guide must be HxW or HxWx3 matching src {src.shape}, got {guide.shape}")
    if radius < 1 or eps <= 0:
        raise ValueError(f"guided_filter: need radius >= 1 and eps > 0, got radius={radius}, eps={eps}")
    if guide.ndim == 3 and guide.shape[2] == 1:
        guide = guide[:, :, 0]

    window_mean = _WindowMean(radius, weights, src.shape)
    if guide.ndim == 2:
        a, b = _fit_grey(guide, src, eps, window_mean)
        filtered = window_mean.of_coefficients(a) * guide + window_mean.of_coefficients(b)
    else:
        a, b = _fit_colour(guide, src, eps, window_mean)
        filtered = window_mean.of_coefficients(b)
        for channel in range(3):
            filtered += window_mean.of_coefficients(a[..., channel]) * guide[..., channel]
    return np.where(window_mean.supported, filtered, src).astype(np.float32)


class _WindowMean:
    """Box-window means, weighted when weights are given: mean(x) = box(w x) / box(w)."""

    def __init__(self, radius: int, weights: np.ndarray | None, shape: tuple[int, int]):
        self.ksize = (2 * radius + 1, 2 * radius + 1)
        if weights is None:
            self.weights = None
            self.support = np.ones(shape, dtype=np.float32)
            self.supported = np.ones(shape, dtype=bool)
            return
        weights = np.asarray(weights, dtype=np.float32)
        if weights.shape != shape:
            raise ValueError(f"guided_filter: weights must have shape {shape}, got {weights.shape}")
        self.weights = weights
        self.support = self._box(weights)
        # A window is usable when it holds a tiny fraction of one full-weight pixel or more.
        tiny = 1e-4 / (self.ksize[0] * self.ksize[1])
        self.supported = self.support > tiny
        self._safe_support = np.where(self.supported, self.support, 1.0).astype(np.float32)
        self._coefficient_support = self._box(self.support)
        self._safe_coefficient_support = np.where(self._coefficient_support > tiny, self._coefficient_support, 1.0)

    def _box(self, values: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(values, ddepth=-1, ksize=self.ksize, normalize=True, borderType=cv2.BORDER_REFLECT)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Mean of `values` over each pixel's window (weighted by the pixel weights)."""
        if self.weights is None:
            return self._box(values)
        return self._box(values * self.weights) / self._safe_support

    def of_coefficients(self, coefficients: np.ndarray) -> np.ndarray:
        """Mean of per-window coefficients over the windows that cover each pixel, weighted by window support."""
        if self.weights is None:
            return self._box(coefficients)
        return self._box(coefficients * self.support) / self._safe_coefficient_support


def _fit_grey(guide: np.ndarray, src: np.ndarray, eps: float, mean: _WindowMean) -> tuple[np.ndarray, np.ndarray]:
    """Per-window slope and offset of src ~ a * guide + b."""
    mean_guide = mean(guide)
    mean_src = mean(src)
    covariance = mean(guide * src) - mean_guide * mean_src
    variance = mean(guide * guide) - mean_guide * mean_guide
    a = covariance / (variance + eps)
    return a, mean_src - a * mean_guide


def _fit_colour(guide: np.ndarray, src: np.ndarray, eps: float, mean: _WindowMean) -> tuple[np.ndarray, np.ndarray]:
    """Per-window 3-vector a and offset b of src ~ a . guide + b, solving (Sigma + eps I) a = cov(guide, src)."""
    channels = [np.ascontiguousarray(guide[..., c]) for c in range(3)]
    means = [mean(channel) for channel in channels]
    mean_src = mean(src)
    cross = np.stack([mean(channel * src) - m * mean_src for channel, m in zip(channels, means)], axis=-1)

    def covariance(i: int, j: int) -> np.ndarray:
        return mean(channels[i] * channels[j]) - means[i] * means[j]

    rr, rg, rb = covariance(0, 0) + eps, covariance(0, 1), covariance(0, 2)
    gg, gb = covariance(1, 1) + eps, covariance(1, 2)
    bb = covariance(2, 2) + eps
    # Inverse of the symmetric 3x3 matrix by cofactors, for every pixel at once.
    inv_rr = gg * bb - gb * gb
    inv_rg = gb * rb - rg * bb
    inv_rb = rg * gb - gg * rb
    inv_gg = rr * bb - rb * rb
    inv_gb = rb * rg - rr * gb
    inv_bb = rr * gg - rg * rg
    determinant = rr * inv_rr + rg * inv_rg + rb * inv_rb
    a = (
        np.stack(
            [
                inv_rr * cross[..., 0] + inv_rg * cross[..., 1] + inv_rb * cross[..., 2],
                inv_rg * cross[..., 0] + inv_gg * cross[..., 1] + inv_gb * cross[..., 2],
                inv_rb * cross[..., 0] + inv_gb * cross[..., 1] + inv_bb * cross[..., 2],
            ],
            axis=-1,
        )
        / determinant[..., None]
    )
    b = mean_src - (a[..., 0] * means[0] + a[..., 1] * means[1] + a[..., 2] * means[2])
    return a, b


def rolling_guidance(rgb: np.ndarray, scale: float, iterations: int = 3, eps: float = 1e-2) -> np.ndarray:
    """Remove texture smaller than `scale` pixels from `rgb` (HxWx3) while keeping the edges of larger structures.

    The rolling guidance filter of Zhang, Shen, Xu and Jia (ECCV 2014), with guided filters as its joint filter:
    a Gaussian blur of standard deviation scale / 2 first wipes out everything smaller than `scale` (stripes,
    stains, grass blades) along with the edges; each iteration then filters the original image guided by the
    previous result, which brings back the edges of the structures that survived the blur, and only those.
    `eps` is the colour variance below which the guide counts as flat. Returns float32 HxWx3.
    """
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rolling_guidance: rgb must be HxWx3, got shape {rgb.shape}")
    guide = cv2.GaussianBlur(rgb, (0, 0), max(0.5, scale / 2.0))
    radius = max(1, round(scale))
    for _ in range(iterations):
        guide = np.stack([guided_filter(guide, rgb[..., channel], radius, eps) for channel in range(3)], axis=-1)
    return guide
